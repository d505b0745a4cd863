//! The fake's data: users, products, bugs, comments, history, and the 5.x default workflow.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{Value, json};

use super::error::BzError;

/// Open statuses of the 5.x default workflow, in sort order.
pub const OPEN_STATUSES: [&str; 3] = ["UNCONFIRMED", "CONFIRMED", "IN_PROGRESS"];
/// Closed statuses of the 5.x default workflow.
pub const CLOSED_STATUSES: [&str; 2] = ["RESOLVED", "VERIFIED"];
/// Statuses a new bug may be filed with.
pub const INITIAL_STATUSES: [&str; 3] = ["UNCONFIRMED", "CONFIRMED", "IN_PROGRESS"];
/// Resolutions (the empty one is "open").
pub const RESOLUTIONS: [&str; 5] = ["FIXED", "INVALID", "WONTFIX", "DUPLICATE", "WORKSFORME"];
/// Priorities of 5.x, highest first; `---` is "unset" and the default.
pub const PRIORITIES: [&str; 6] = ["Highest", "High", "Normal", "Low", "Lowest", "---"];
/// Severities of 5.x.
pub const SEVERITIES: [&str; 7] = [
    "blocker",
    "critical",
    "major",
    "normal",
    "minor",
    "trivial",
    "enhancement",
];
/// Operating systems.
pub const OP_SYS: [&str; 5] = ["All", "Windows", "Mac OS", "Linux", "Other"];
/// Platforms.
pub const PLATFORMS: [&str; 4] = ["All", "PC", "Macintosh", "Other"];
/// Legal keywords.
pub const KEYWORDS: [&str; 2] = ["crash", "regression"];

/// The default workflow (`Bugzilla::Install::STATUS_WORKFLOW`).
pub fn can_change_to(from: &str) -> &'static [&'static str] {
    match from {
        "" => &INITIAL_STATUSES,
        "UNCONFIRMED" => &["CONFIRMED", "IN_PROGRESS", "RESOLVED"],
        "CONFIRMED" => &["IN_PROGRESS", "RESOLVED"],
        "IN_PROGRESS" => &["CONFIRMED", "RESOLVED"],
        "RESOLVED" => &["UNCONFIRMED", "CONFIRMED", "VERIFIED"],
        "VERIFIED" => &["UNCONFIRMED", "CONFIRMED"],
        _ => &[],
    }
}

/// Whether `status` is one of the open ones.
pub fn is_open(status: &str) -> bool {
    OPEN_STATUSES.contains(&status)
}

/// Now, at Bugzilla's one-second resolution.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A user account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub login: String,
    pub real_name: String,
    pub api_key: Option<String>,
    pub can_login: bool,
    /// In `editbugs` (and `canconfirm`).
    pub editbugs: bool,
    /// In the insider group (private comments).
    pub insider: bool,
}

/// A component.
#[derive(Debug, Clone)]
pub struct Component {
    pub id: u64,
    pub name: String,
    pub default_assignee: String,
}

/// A product.
#[derive(Debug, Clone)]
pub struct Product {
    pub id: u64,
    pub name: String,
    pub components: Vec<Component>,
    pub versions: Vec<String>,
}

/// A bug as stored.
#[derive(Debug, Clone)]
pub struct Bug {
    pub id: u64,
    pub alias: Vec<String>,
    pub summary: String,
    pub status: String,
    pub resolution: String,
    /// Bugzilla's `everconfirmed`: cleared by a move to UNCONFIRMED, set by a move to any
    /// other open status, kept by a move to a closed one.
    pub is_confirmed: bool,
    pub priority: String,
    pub severity: String,
    pub product: String,
    pub component: String,
    pub version: String,
    pub op_sys: String,
    pub platform: String,
    pub assigned_to: String,
    pub creator: String,
    pub qa_contact: String,
    pub cc: Vec<String>,
    pub keywords: Vec<String>,
    pub whiteboard: String,
    pub url: String,
    pub deadline: Option<String>,
    pub dupe_of: Option<u64>,
    pub target_milestone: String,
    /// Groups restricting who may see the bug (`security`: insiders, reporter, assignee).
    pub groups: Vec<String>,
    /// Custom field values by name, as Bugzilla stores them (text).
    pub custom: BTreeMap<String, String>,
    pub creation_time: DateTime<Utc>,
    pub last_change_time: DateTime<Utc>,
}

/// A comment; `count` 0 is the description.
#[derive(Debug, Clone)]
pub struct CommentRec {
    pub id: u64,
    pub bug_id: u64,
    pub count: u64,
    pub text: String,
    pub creator: String,
    pub time: DateTime<Utc>,
    pub is_private: bool,
    /// The attachment a "Created attachment N" comment announces.
    pub attachment_id: Option<u64>,
}

/// An attachment (`POST /rest/bug/{id}/attachment`).
#[derive(Debug, Clone)]
pub struct AttachmentRec {
    pub id: u64,
    pub bug_id: u64,
    pub file_name: String,
    pub summary: String,
    pub content_type: String,
    pub data: Vec<u8>,
    pub creator: String,
    pub time: DateTime<Utc>,
    pub is_private: bool,
}

/// One history entry: who changed what when.
#[derive(Debug, Clone)]
pub struct HistRec {
    pub when: DateTime<Utc>,
    pub who: String,
    pub changes: Vec<(String, String, String)>,
}

/// Everything the fake knows.
#[derive(Debug, Default)]
pub struct Db {
    pub users: Vec<User>,
    pub products: Vec<Product>,
    pub bugs: BTreeMap<u64, Bug>,
    pub comments: Vec<CommentRec>,
    pub comments_by_bug: HashMap<u64, Vec<usize>>,
    pub history: HashMap<u64, Vec<HistRec>>,
    pub aliases: HashMap<String, u64>,
    pub next_bug: u64,
    /// Custom fields: name, display name, type (1 free text, 10 integer).
    pub custom_fields: Vec<(String, String, u64)>,
    /// Status moves `(from, to)` an admin set to require a comment.
    pub comment_required: HashSet<(String, String)>,
    /// Attachments, by id (from 1).
    pub attachments: BTreeMap<u64, AttachmentRec>,
}

/// The seed: who and what exists at start.
#[derive(Debug, Clone)]
pub struct Seed {
    pub admin_login: String,
    pub admin_key: String,
    pub product: String,
    pub component: String,
    pub version: String,
    pub default_assignee: String,
    pub user_keys: Vec<(String, String)>,
}

impl Db {
    /// An admin with an API key, `TestProduct`/`TestComponent`/`unspecified`, alice, bob, and
    /// `nobody@example.com` as the component's default assignee.
    pub fn seeded() -> (Self, Seed) {
        let key = |who: &str| format!("{who}-{:032x}", fastrand::u128(..));
        let seed = Seed {
            admin_login: "admin@example.com".into(),
            admin_key: key("admin"),
            product: "TestProduct".into(),
            component: "TestComponent".into(),
            version: "unspecified".into(),
            default_assignee: "nobody@example.com".into(),
            user_keys: vec![
                ("alice@example.com".into(), key("alice")),
                ("bob@example.com".into(), key("bob")),
            ],
        };
        let mut db = Db {
            next_bug: 1,
            comment_required: HashSet::new(),
            custom_fields: vec![
                ("cf_customer".into(), "Customer".into(), 1),
                ("cf_severity".into(), "Customer severity".into(), 10),
            ],
            ..Db::default()
        };
        let user = |id, login: &str, name: &str, api_key: Option<String>, admin| User {
            id,
            login: login.into(),
            real_name: name.into(),
            api_key,
            can_login: true,
            editbugs: admin,
            insider: admin,
        };
        db.users.push(user(
            1,
            &seed.admin_login,
            "Admin",
            Some(seed.admin_key.clone()),
            true,
        ));
        db.users.push(user(
            2,
            "alice@example.com",
            "Alice",
            Some(seed.user_keys[0].1.clone()),
            false,
        ));
        db.users.push(user(
            3,
            "bob@example.com",
            "Bob",
            Some(seed.user_keys[1].1.clone()),
            false,
        ));
        let mut nobody = user(
            4,
            &seed.default_assignee,
            "Nobody; OK to take it",
            None,
            false,
        );
        nobody.can_login = false;
        db.users.push(nobody);
        db.products.push(Product {
            id: 1,
            name: seed.product.clone(),
            components: vec![
                Component {
                    id: 1,
                    name: seed.component.clone(),
                    default_assignee: seed.default_assignee.clone(),
                },
                Component {
                    id: 2,
                    name: "Other".into(),
                    default_assignee: seed.default_assignee.clone(),
                },
            ],
            versions: vec![seed.version.clone(), "1.0".into()],
        });
        (db, seed)
    }

    /// The user with this API key.
    pub fn user_by_key(&self, key: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.api_key.as_deref() == Some(key) && u.can_login)
    }

    /// The user with this login (case-insensitive, as Bugzilla).
    pub fn user(&self, login: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }

    /// The user, or code 51 naming it.
    pub fn check_user(&self, login: &str) -> Result<&User, BzError> {
        self.user(login).ok_or_else(|| {
            BzError::new(
                51,
                format!(
                    "There is no user named '{login}'. Either you mis-typed the name or that user has not yet registered for a Bugzilla account."
                ),
            )
        })
    }

    /// Finds a bug by id or alias: 100 for a malformed id, 101 for a missing one.
    pub fn resolve(&self, id_or_alias: &str) -> Result<u64, BzError> {
        if let Ok(id) = id_or_alias.trim().parse::<u64>() {
            return if self.bugs.contains_key(&id) {
                Ok(id)
            } else {
                Err(BzError::no_bug(id))
            };
        }
        self.aliases.get(id_or_alias).copied().ok_or_else(|| {
            BzError::new(
                100,
                format!("'{id_or_alias}' is not a valid bug number nor an alias to a bug."),
            )
        })
    }

    /// The logged-in `who` and the bug `id_or_alias` names, checked in Bugzilla's order: a
    /// known user, an existing bug, one this user may see (what every write on a bug does
    /// first).
    pub fn writer_on_bug(&self, who: &str, id_or_alias: &str) -> Result<(User, u64), BzError> {
        let user = self.check_user(who)?.clone();
        let bug_id = self.resolve(id_or_alias)?;
        self.check_visible(bug_id, Some(&user.login))?;
        Ok((user, bug_id))
    }

    /// Code 102 unless `caller` may see the bug (group-restricted bugs: insiders, the
    /// reporter and the assignee only).
    pub fn check_visible(&self, id: u64, caller: Option<&str>) -> Result<(), BzError> {
        if self.visible(id, caller) {
            return Ok(());
        }
        Err(BzError::new(
            102,
            match caller {
                None => format!(
                    "You are not authorized to access bug #{id}. To see this bug, you must first log in to an account with the appropriate permissions."
                ),
                Some(_) => format!("You are not authorized to access bug #{id}."),
            },
        ))
    }

    /// Whether `caller` may see bug `id`.
    pub fn visible(&self, id: u64, caller: Option<&str>) -> bool {
        let Some(bug) = self.bugs.get(&id) else {
            return false;
        };
        if bug.groups.is_empty() {
            return true;
        }
        caller.is_some_and(|c| {
            self.user(c).is_some_and(|u| u.insider)
                || bug.creator.eq_ignore_ascii_case(c)
                || bug.assigned_to.eq_ignore_ascii_case(c)
        })
    }

    /// Adds a comment and returns its id.
    pub fn push_comment(
        &mut self,
        bug_id: u64,
        text: String,
        creator: &str,
        is_private: bool,
        time: DateTime<Utc>,
    ) -> u64 {
        // `Bugzilla::Bug::_check_comment`: no trailing whitespace, no carriage returns.
        let text = text
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .trim_end()
            .to_owned();
        let id = self.comments.len() as u64 + 1;
        let list = self.comments_by_bug.entry(bug_id).or_default();
        let count = list.len() as u64;
        list.push(self.comments.len());
        self.comments.push(CommentRec {
            id,
            bug_id,
            count,
            text,
            creator: creator.to_owned(),
            time,
            is_private,
            attachment_id: None,
        });
        id
    }

    /// A user detail object.
    pub fn detail(&self, login: &str, with_email: bool) -> Value {
        match self.user(login) {
            Some(u) => {
                let mut v = json!({"id": u.id, "real_name": u.real_name, "name": u.login});
                if with_email {
                    v["email"] = json!(u.login);
                }
                v
            }
            None => json!({"id": 0, "real_name": "", "name": login}),
        }
    }

    /// Checks a custom field value: integers must be integers. A real 5.0.6 answers a
    /// non-integer with its generic user error, code 32000 and HTTP 400 (not 52, which is for
    /// API parameters); an empty value stores 0, as Bugzilla has no empty integer.
    pub fn check_custom(&self, name: &str, value: &Value) -> Result<Option<String>, BzError> {
        let Some((_, display, kind)) = self.custom_fields.iter().find(|(n, _, _)| n == name) else {
            return Ok(None);
        };
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            other => other.to_string(),
        };
        if *kind == 10 {
            let text = if text.trim().is_empty() {
                "0".to_owned()
            } else {
                text
            };
            return text
                .trim()
                .parse::<i64>()
                .map(|n| Some(n.to_string()))
                .map_err(|_| {
                    BzError::new(
                        32000,
                        format!(
                            "The value '{text}' in the {display} field is not an integer value \
                             (i.e. a whole number)."
                        ),
                    )
                });
        }
        Ok(Some(text))
    }

    /// The bug as `GET /rest/bug` renders it.
    pub fn render_bug(&self, bug: &Bug, logged_in: bool) -> Value {
        let mut v = self.render_core(bug, logged_in);
        // Custom fields come back as strings (integers too), every defined one on every bug.
        for (name, _, kind) in &self.custom_fields {
            let default = if *kind == 10 { "0" } else { "" };
            let value = bug.custom.get(name).map_or(default, String::as_str);
            v[name.as_str()] = json!(value);
        }
        v
    }

    fn render_core(&self, bug: &Bug, logged_in: bool) -> Value {
        json!({
            "id": bug.id,
            "alias": bug.alias,
            "summary": bug.summary,
            "status": bug.status,
            "resolution": bug.resolution,
            "is_open": is_open(&bug.status),
            "is_confirmed": bug.is_confirmed,
            "priority": bug.priority,
            "severity": bug.severity,
            "product": bug.product,
            "component": bug.component,
            "version": bug.version,
            "op_sys": bug.op_sys,
            "platform": bug.platform,
            "assigned_to": bug.assigned_to,
            "assigned_to_detail": self.detail(&bug.assigned_to, logged_in),
            "creator": bug.creator,
            "creator_detail": self.detail(&bug.creator, logged_in),
            "qa_contact": bug.qa_contact,
            "cc": bug.cc,
            "cc_detail": bug.cc.iter().map(|c| self.detail(c, logged_in)).collect::<Vec<_>>(),
            "creation_time": fmt_time(bug.creation_time),
            "last_change_time": fmt_time(bug.last_change_time),
            "keywords": bug.keywords,
            "whiteboard": bug.whiteboard,
            "url": bug.url,
            "see_also": [],
            "depends_on": [],
            "blocks": [],
            "dupe_of": bug.dupe_of,
            "target_milestone": bug.target_milestone,
            "deadline": bug.deadline,
            "groups": bug.groups,
            "flags": [],
            "classification": "Unclassified",
            "is_cc_accessible": true,
            "is_creator_accessible": true,
        })
    }

    /// A comment as `GET /rest/bug/{id}/comment` renders it.
    pub fn render_comment(c: &CommentRec) -> Value {
        json!({
            "id": c.id,
            "bug_id": c.bug_id,
            "count": c.count,
            "text": c.text,
            "creator": c.creator,
            "author": c.creator,
            "time": fmt_time(c.time),
            "creation_time": fmt_time(c.time),
            "is_private": c.is_private,
            "attachment_id": c.attachment_id,
            "tags": [],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_is_the_5x_default() {
        assert!(can_change_to("CONFIRMED").contains(&"RESOLVED"));
        assert!(!can_change_to("CONFIRMED").contains(&"VERIFIED"));
        assert!(!can_change_to("UNCONFIRMED").contains(&"VERIFIED"));
        assert!(can_change_to("VERIFIED").contains(&"CONFIRMED"));
        assert!(can_change_to("REOPENED").is_empty());
    }

    #[test]
    fn resolve_by_id_and_alias() {
        let (mut db, _) = Db::seeded();
        assert_eq!(db.resolve("9").unwrap_err().code, 101);
        assert_eq!(db.resolve("nope").unwrap_err().code, 100);
        db.aliases.insert("x".into(), 9);
        assert_eq!(db.resolve("x").unwrap(), 9);
    }
}
