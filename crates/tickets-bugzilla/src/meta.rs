//! What the provider learns from the server once: legal priorities, the status workflow
//! (`can_change_to`), the component's default assignee ("nobody"), and the API user.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::Value;
use tickets_core::{Error, ErrorKind, Result};

use crate::client::{Client, segment};
use crate::config::{ApiKeyIn, BugzillaConfig};
use crate::convert::{self, PriorityMap};

/// The server's workflow: which status may follow which.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transitions {
    /// `from` -> statuses it may change to.
    pub next: HashMap<String, Vec<String>>,
    /// Statuses a new bug may be filed with.
    pub initial: Vec<String>,
    /// `is_open` of each status, as the server says.
    pub open: HashMap<String, bool>,
    /// Moves `(from, to)` an admin made comment-required (a `PUT` without a comment is
    /// refused with code 32000).
    pub comment_required: HashSet<(String, String)>,
}

impl Transitions {
    /// From a `GET /rest/field/bug/bug_status` answer: the value with a null or empty name lists
    /// the initial statuses.
    pub fn from_field(answer: &Value) -> Result<Self> {
        let field = field_named(answer, "bug_status")
            .or_else(|| answer.pointer("/fields/0"))
            .ok_or_else(|| Error::unexpected("bug_status field answer without values"))?;
        let values = field
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::unexpected("bug_status field answer without values"))?;
        let mut t = Transitions::default();
        for v in values {
            let from = v.get("name").and_then(Value::as_str).unwrap_or_default();
            let mut to = Vec::new();
            for x in v
                .get("can_change_to")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(name) = x.get("name").and_then(Value::as_str) else {
                    continue;
                };
                if x.get("comment_required").and_then(Value::as_bool) == Some(true) {
                    t.comment_required
                        .insert((from.to_owned(), name.to_owned()));
                }
                to.push(name.to_owned());
            }
            match v.get("name").and_then(Value::as_str) {
                None | Some("") => t.initial = to,
                Some(name) => {
                    if let Some(open) = v.get("is_open").and_then(Value::as_bool) {
                        t.open.insert(name.to_owned(), open);
                    }
                    t.next.insert(name.to_owned(), to);
                }
            }
        }
        Ok(t)
    }

    /// The server's spelling of a status name (Bugzilla matches names case-insensitively);
    /// the name itself when the server does not list it.
    pub fn canonical(&self, status: &str) -> String {
        self.next
            .keys()
            .chain(self.initial.iter())
            .find(|k| k.eq_ignore_ascii_case(status.trim()))
            .cloned()
            .unwrap_or_else(|| status.trim().to_owned())
    }

    /// Whether a status is open: the server's `is_open`, else a guess from the 5.x names.
    pub fn is_open(&self, status: &str) -> bool {
        self.open
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(status))
            .map_or_else(|| convert::guess_open(status), |(_, open)| *open)
    }

    /// The shortest chain of statuses leading from `from` to `to` (without `from`), or `None`.
    pub fn path(&self, from: &str, to: &str) -> Option<Vec<String>> {
        if from == to {
            return Some(Vec::new());
        }
        let mut prev: HashMap<&str, &str> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(at) = queue.pop_front() {
            // On ties, avoid passing through UNCONFIRMED (it would un-confirm the bug).
            let mut nexts: Vec<&String> = self.next.get(at).into_iter().flatten().collect();
            nexts.sort_by_key(|s| *s == "UNCONFIRMED");
            for next in nexts {
                if next == from || prev.contains_key(next.as_str()) {
                    continue;
                }
                prev.insert(next, at);
                if next == to {
                    let mut chain = vec![to.to_owned()];
                    let mut cur = to;
                    while let Some(p) = prev.get(cur).copied() {
                        if p == from {
                            break;
                        }
                        chain.push(p.to_owned());
                        cur = p;
                    }
                    chain.reverse();
                    return Some(chain);
                }
                queue.push_back(next);
            }
        }
        None
    }
}

/// Everything discovered.
#[derive(Debug, Clone)]
pub struct Meta {
    pub priorities: PriorityMap,
    pub transitions: Transitions,
    pub unassigned: String,
    pub login: Option<String>,
    /// Type of each mapped custom field (`/rest/field/bug` `type`: 1 text, 10 integer, ...).
    pub field_types: HashMap<String, u64>,
}

/// Legal priority values in order, from a `GET /rest/field/bug/priority` answer.
pub fn priority_values(answer: &Value) -> Vec<String> {
    let field = field_named(answer, "priority").or_else(|| answer.pointer("/fields/0"));
    let mut values: Vec<(i64, usize, String)> = field
        .and_then(|f| f.get("values"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, v)| v.get("is_active").and_then(Value::as_bool) != Some(false))
        .filter_map(|(i, v)| {
            let name = v.get("name").and_then(Value::as_str)?.to_owned();
            let key = v.get("sort_key").and_then(Value::as_i64).unwrap_or(0);
            Some((key, i, name))
        })
        .collect();
    values.sort();
    values.into_iter().map(|(_, _, n)| n).collect()
}

/// The field called `name` in a `/rest/field/bug` answer.
fn field_named<'a>(answer: &'a Value, name: &str) -> Option<&'a Value> {
    answer
        .get("fields")
        .and_then(Value::as_array)?
        .iter()
        .find(|f| f.get("name").and_then(Value::as_str) == Some(name))
}

/// What discovery reads from the server, as it answered: what the disk cache holds (no
/// secret: field definitions, a login, the default assignee).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Raw {
    /// Format version of the cached file.
    pub v: u32,
    /// When it was read (seconds since the epoch).
    pub saved: u64,
    /// The `/rest/field/bug?names=bug_status&names=priority&names=cf_..` answer.
    pub fields: Value,
    /// The component's default assignee (or the configured `unassigned`).
    pub unassigned: String,
    /// The API user's login, if known.
    pub login: Option<String>,
}

const RAW_VERSION: u32 = 1;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Asks the server: one `GET /rest/field/bug` for the workflow, the priorities and the mapped
/// custom fields at once, the product for its component's default assignee (unless
/// `unassigned` is configured), and `whoami` in header mode without a `login`.
pub async fn fetch(client: &Client, cfg: &BugzillaConfig) -> Result<Raw> {
    let mut names: Vec<(&str, String)> = vec![
        ("names", "bug_status".to_owned()),
        ("names", "priority".to_owned()),
    ];
    names.extend(cfg.custom_fields.values().map(|f| ("names", f.clone())));
    let fields = client.get("/field/bug", &names).await?;
    let unassigned = match &cfg.unassigned {
        Some(u) => u.clone(),
        None => {
            let answer = client
                .get(&format!("/product/{}", segment(&cfg.product)), &[])
                .await?;
            let product = answer.pointer("/products/0").ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "product {:?} does not exist or the API user cannot see it; check the product key",
                        cfg.product
                    ),
                )
            })?;
            product
                .get("components")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(cfg.component.as_str()))
                .and_then(|c| c.get("default_assigned_to").and_then(Value::as_str))
                .map(str::to_owned)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Config,
                        format!(
                            "component {:?} is not in product {:?}; check the component key",
                            cfg.component, cfg.product
                        ),
                    )
                })?
        }
    };
    let mut login = cfg.login.clone();
    if login.is_none() && cfg.api_key_in == ApiKeyIn::Header {
        // `whoami` exists on BMO and master only.
        login = client
            .get("/whoami", &[])
            .await
            .ok()
            .and_then(|v| v.get("name").and_then(Value::as_str).map(str::to_owned));
    }
    Ok(Raw {
        v: RAW_VERSION,
        saved: now_secs(),
        fields,
        unassigned,
        login,
    })
}

/// The metadata from what the server answered.
pub fn build(raw: &Raw, cfg: &BugzillaConfig) -> Result<Meta> {
    let priorities = PriorityMap::from_values(&priority_values(&raw.fields), &cfg.priority_map);
    let transitions = Transitions::from_field(&raw.fields)?;
    let mut field_types = HashMap::new();
    for f in raw
        .fields
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(name), Some(kind)) = (
            f.get("name").and_then(Value::as_str),
            f.get("type").and_then(Value::as_u64),
        ) && name.starts_with("cf_")
        {
            field_types.insert(name.to_owned(), kind);
        }
    }
    if let Some(missing) = cfg
        .custom_fields
        .values()
        .find(|f| !field_types.contains_key(*f))
    {
        return Err(Error::new(
            ErrorKind::Config,
            format!("custom field {missing} does not exist on the server; check custom_fields"),
        ));
    }
    Ok(Meta {
        priorities,
        field_types,
        transitions,
        unassigned: raw.unassigned.clone(),
        login: raw.login.clone(),
    })
}

/// The metadata cache file of this server and account, in the user's cache directory:
/// `tickets/bugzilla-meta-<hash>.json`, the hash over the base URL, the account (the login,
/// else a hash of the key: the file never holds a secret), product, component and mapped
/// fields. `None` where the platform has no cache directory.
pub fn cache_file(base: &str, cfg: &BugzillaConfig) -> Option<std::path::PathBuf> {
    use secrecy::ExposeSecret;
    use std::hash::{Hash, Hasher};
    let dir = match &cfg.metadata_cache_dir {
        Some(d) => d.clone(),
        None => cache_dir()?,
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    base.hash(&mut h);
    match &cfg.login {
        Some(l) => l.hash(&mut h),
        None => cfg.api_key.expose_secret().hash(&mut h),
    }
    cfg.product.hash(&mut h);
    cfg.component.hash(&mut h);
    cfg.custom_fields.hash(&mut h);
    cfg.unassigned.hash(&mut h);
    Some(dir.join(format!("bugzilla-meta-{:016x}.json", h.finish())))
}

/// `$XDG_CACHE_HOME/tickets`, else `~/.cache/tickets` (`~/Library/Caches/tickets` on macOS,
/// `%LOCALAPPDATA%\tickets` on Windows).
fn cache_dir() -> Option<std::path::PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    };
    let base = if cfg!(windows) {
        env("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library").join("Caches"))
    } else {
        env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")))
    }?;
    Some(base.join("tickets"))
}

/// The cached answers if the file is there, readable, of this format and younger than `ttl`;
/// anything else is ignored (never an error).
pub fn load(path: &std::path::Path, ttl: u64) -> Option<Raw> {
    let bytes = std::fs::read(path).ok()?;
    let raw: Raw = serde_json::from_slice(&bytes).ok()?;
    let age = now_secs().checked_sub(raw.saved)?;
    (raw.v == RAW_VERSION && age < ttl).then_some(raw)
}

/// Writes the answers (a temporary file, then a rename); failures are only logged.
pub fn store(path: &std::path::Path, raw: &Raw) {
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(
            &tmp,
            serde_json::to_vec(raw).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        tracing::debug!(error = %e, "cannot write the bugzilla metadata cache; going on without it");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn workflow() -> Transitions {
        // The shape of `GET /rest/field/bug/bug_status` on 5.x (default workflow).
        let answer = json!({"fields": [{"name": "bug_status", "values": [
            {"name": null, "sort_key": 0, "is_open": null, "can_change_to": [
                {"name": "UNCONFIRMED", "comment_required": false},
                {"name": "CONFIRMED", "comment_required": false},
                {"name": "IN_PROGRESS", "comment_required": false}]},
            {"name": "UNCONFIRMED", "is_open": true, "can_change_to": [
                {"name": "CONFIRMED"}, {"name": "IN_PROGRESS"}, {"name": "RESOLVED"}]},
            {"name": "CONFIRMED", "is_open": true, "can_change_to": [
                {"name": "IN_PROGRESS"}, {"name": "RESOLVED"}]},
            {"name": "IN_PROGRESS", "is_open": true, "can_change_to": [
                {"name": "CONFIRMED"}, {"name": "RESOLVED"}]},
            {"name": "RESOLVED", "is_open": false, "can_change_to": [
                {"name": "UNCONFIRMED"}, {"name": "CONFIRMED"}, {"name": "VERIFIED"}]},
            {"name": "VERIFIED", "is_open": false, "can_change_to": [
                {"name": "UNCONFIRMED"}, {"name": "CONFIRMED"}]}
        ]}]});
        Transitions::from_field(&answer).unwrap()
    }

    #[test]
    fn paths_through_the_default_workflow() {
        let t = workflow();
        assert_eq!(t.initial, ["UNCONFIRMED", "CONFIRMED", "IN_PROGRESS"]);
        assert_eq!(t.path("CONFIRMED", "RESOLVED").unwrap(), ["RESOLVED"]);
        assert_eq!(
            t.path("CONFIRMED", "VERIFIED").unwrap(),
            ["RESOLVED", "VERIFIED"]
        );
        assert_eq!(
            t.path("VERIFIED", "IN_PROGRESS").unwrap(),
            ["CONFIRMED", "IN_PROGRESS"]
        );
        assert_eq!(
            t.path("RESOLVED", "RESOLVED").unwrap(),
            Vec::<String>::new()
        );
        assert!(t.path("CONFIRMED", "REOPENED").is_none());
    }

    #[test]
    fn priority_values_in_sort_order() {
        let answer = json!({"fields": [{"name": "priority", "values": [
            {"name": "High", "sort_key": 200}, {"name": "Highest", "sort_key": 100},
            {"name": "Normal", "sort_key": 300}, {"name": "Low", "sort_key": 400},
            {"name": "Lowest", "sort_key": 500}, {"name": "---", "sort_key": 600},
            {"name": "Old", "sort_key": 700, "is_active": false}]}]});
        assert_eq!(
            priority_values(&answer),
            ["Highest", "High", "Normal", "Low", "Lowest", "---"]
        );
    }
}
