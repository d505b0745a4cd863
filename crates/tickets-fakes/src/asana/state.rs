//! The fake Asana's data: users and tokens, workspaces, projects, sections, tags, custom fields,
//! tasks, stories and the event log, plus the rules that change them (system stories,
//! `modified_at`, events).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::wire::ApiError;

/// First gid handed out; Asana gids are long numeric strings.
const FIRST_GID: u64 = 1_209_000_000_000_001;

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub gid: String,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub gid: String,
    pub name: String,
    /// Premium workspaces get search and custom fields; others answer 402.
    pub premium: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Project {
    pub gid: String,
    pub name: String,
    pub workspace: String,
    pub created_at: DateTime<Utc>,
    /// Custom field settings: (setting gid, field gid).
    pub settings: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub gid: String,
    pub name: String,
    pub project: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Tag {
    pub gid: String,
    pub name: String,
    pub workspace: String,
    pub color: Option<String>,
    pub notes: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct EnumOption {
    pub gid: String,
    pub name: String,
    pub enabled: bool,
    pub color: String,
}

#[derive(Debug, Clone)]
pub(crate) struct CustomField {
    pub gid: String,
    pub name: String,
    pub workspace: String,
    /// `text`, `number` or `enum`.
    pub subtype: String,
    pub options: Vec<EnumOption>,
}

#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub gid: String,
    pub name: String,
    pub notes: String,
    pub completed: bool,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub modified_at: DateTime<Utc>,
    pub due_on: Option<String>,
    pub due_at: Option<String>,
    pub assignee: Option<String>,
    pub workspace: String,
    /// (project, section) in membership order.
    pub memberships: Vec<(String, Option<String>)>,
    pub tags: Vec<String>,
    pub followers: Vec<String>,
    /// Field gid -> the stored value (text string, number, or enum option gid).
    pub values: BTreeMap<String, Value>,
    pub stories: Vec<String>,
    pub external: Option<Value>,
    pub resource_subtype: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Story {
    pub gid: String,
    pub task: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub subtype: String,
    pub text: String,
    pub is_pinned: bool,
    /// Structured fields of system stories (`new_section`, `assignee`, ...), rendered.
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub seq: u64,
    /// The resources whose event stream sees it (the resource itself and its parents).
    pub scope: Vec<String>,
    pub json: Value,
}

/// Everything the fake holds.
#[derive(Debug)]
pub(crate) struct State {
    next_gid: u64,
    clock: DateTime<Utc>,
    /// Uploaded files by gid (see `attachments.rs`).
    pub attachments: BTreeMap<String, super::attachments::Stored>,
    pub tokens: HashMap<String, String>,
    pub revoked: HashSet<String>,
    pub users: BTreeMap<String, User>,
    pub workspaces: BTreeMap<String, Workspace>,
    pub projects: BTreeMap<String, Project>,
    pub sections: BTreeMap<String, Section>,
    pub tags: BTreeMap<String, Tag>,
    pub fields: BTreeMap<String, CustomField>,
    pub tasks: BTreeMap<String, Task>,
    pub stories: BTreeMap<String, Story>,
    pub events: Vec<Event>,
    pub event_seq: u64,
    /// Sync tokens before this event position answer 412 (see `FakeAsana::expire_sync_tokens`).
    pub sync_floor: u64,
    /// Recorded exchanges, while recording is on.
    pub log: Option<Vec<super::Exchange>>,
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl State {
    pub fn new() -> Self {
        Self {
            // Each fake starts at its own gid (still below 1209999999999999, the suites'
            // unknown id), so a client cache kept on disk for an earlier fake on the same
            // port can never name this one's objects.
            next_gid: FIRST_GID + (uuid::Uuid::new_v4().as_u128() % 900_000_000) as u64 * 1000,
            clock: DateTime::<Utc>::MIN_UTC,
            attachments: BTreeMap::new(),
            tokens: HashMap::new(),
            revoked: HashSet::new(),
            users: BTreeMap::new(),
            workspaces: BTreeMap::new(),
            projects: BTreeMap::new(),
            sections: BTreeMap::new(),
            tags: BTreeMap::new(),
            fields: BTreeMap::new(),
            tasks: BTreeMap::new(),
            stories: BTreeMap::new(),
            events: Vec::new(),
            event_seq: 0,
            sync_floor: 0,
            log: None,
        }
    }

    pub fn gid(&mut self) -> String {
        let g = self.next_gid;
        self.next_gid += 1;
        g.to_string()
    }

    /// Millisecond timestamps (Asana's resolution), strictly increasing, so `modified_since`
    /// and story order are exact.
    pub fn now(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        self.clock = if now > self.clock {
            now
        } else {
            self.clock + chrono::Duration::milliseconds(1)
        };
        self.clock
    }

    /// Adds a project to `workspace` with the section every Asana project has from the
    /// start, "Untitled section"; returns the project's gid.
    pub fn add_project(&mut self, name: &str, workspace: &str) -> String {
        let gid = self.gid();
        let created_at = self.now();
        self.projects.insert(
            gid.clone(),
            Project {
                gid: gid.clone(),
                name: name.into(),
                workspace: workspace.into(),
                created_at,
                settings: Vec::new(),
            },
        );
        self.add_section(&gid, "Untitled section");
        gid
    }

    /// Adds a section at the end of `project`; returns its gid.
    pub fn add_section(&mut self, project: &str, name: &str) -> String {
        let gid = self.gid();
        let created_at = self.now();
        self.sections.insert(
            gid.clone(),
            Section {
                gid: gid.clone(),
                name: name.into(),
                project: project.into(),
                created_at,
            },
        );
        gid
    }

    /// The project's first section, where a task added without one lands.
    pub fn first_section(&self, project: &str) -> Option<String> {
        // Gids grow with time, so the map's order is creation order.
        self.sections
            .values()
            .find(|x| x.project == project)
            .map(|x| x.gid.clone())
    }

    pub fn add_user(&mut self, name: &str, email: &str) -> String {
        let gid = self.gid();
        self.users.insert(
            gid.clone(),
            User {
                gid: gid.clone(),
                name: name.into(),
                email: email.into(),
            },
        );
        gid
    }

    /// A user by gid, email or `me`.
    pub fn find_user(&self, me: &str, key: &str) -> Option<&User> {
        if key == "me" {
            return self.users.get(me);
        }
        self.users.get(key).or_else(|| {
            self.users
                .values()
                .find(|u| u.email.eq_ignore_ascii_case(key))
        })
    }

    pub fn task(&self, gid: &str) -> Result<&Task, ApiError> {
        self.tasks
            .get(gid)
            .ok_or_else(|| ApiError::unknown("task", gid))
    }

    pub fn task_mut(&mut self, gid: &str) -> Result<&mut Task, ApiError> {
        self.tasks
            .get_mut(gid)
            .ok_or_else(|| ApiError::unknown("task", gid))
    }

    pub fn workspace_premium(&self, gid: &str) -> bool {
        self.workspaces.get(gid).is_some_and(|w| w.premium)
    }

    /// Adds a system or comment story to a task; a new story changes the task's `modified_at`.
    pub fn add_story(
        &mut self,
        task: &str,
        by: &str,
        subtype: &str,
        text: String,
        extra: Map<String, Value>,
    ) -> String {
        let gid = self.gid();
        let now = self.now();
        let story = Story {
            gid: gid.clone(),
            task: task.into(),
            created_at: now,
            created_by: by.into(),
            subtype: subtype.into(),
            text,
            is_pinned: false,
            extra,
        };
        self.stories.insert(gid.clone(), story);
        if let Some(t) = self.tasks.get_mut(task) {
            t.stories.push(gid.clone());
            t.modified_at = now;
        }
        let json = json!({"gid": gid, "resource_type": "story", "resource_subtype": subtype});
        let parent = self.compact_task(task);
        self.event(task, by, "added", json, parent, None);
        gid
    }

    /// Records an event for `resource_of` (a task gid) and its projects.
    pub fn event(
        &mut self,
        task: &str,
        by: &str,
        action: &str,
        resource: Value,
        parent: Value,
        change: Option<Value>,
    ) {
        self.event_seq += 1;
        let mut scope = vec![task.to_owned()];
        if let Some(t) = self.tasks.get(task) {
            scope.extend(t.memberships.iter().map(|(p, _)| p.clone()));
        }
        if let Some(gid) = resource.get("gid").and_then(Value::as_str)
            && gid != task
        {
            scope.push(gid.to_owned());
        }
        let now = self.now();
        // Events name resources as AsanaNamedResource: gid, resource_type, name.
        let named = |v: &Value| match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| matches!(k.as_str(), "gid" | "resource_type" | "name"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            other => other.clone(),
        };
        let (resource, parent) = (named(&resource), named(&parent));
        let mut json = json!({
            "user": self.compact_user(by),
            "resource": resource,
            "type": resource.get("resource_type").cloned().unwrap_or(Value::Null),
            "action": action,
            "parent": parent,
            "created_at": ts(now),
        });
        if let Some(change) = change {
            json["change"] = change;
        }
        self.events.push(Event {
            seq: self.event_seq,
            scope,
            json,
        });
    }

    pub fn compact_user(&self, gid: &str) -> Value {
        match self.users.get(gid) {
            Some(u) => json!({"gid": u.gid, "resource_type": "user", "name": u.name}),
            None => Value::Null,
        }
    }

    pub fn compact_task(&self, gid: &str) -> Value {
        match self.tasks.get(gid) {
            Some(t) => json!({"gid": t.gid, "resource_type": "task", "name": t.name,
                "resource_subtype": t.resource_subtype}),
            None => Value::Null,
        }
    }

    // ---- rich renderings (every field; wire.rs projects them down) ----

    pub fn user_json(&self, gid: &str) -> Value {
        match self.users.get(gid) {
            Some(u) => json!({
                "gid": u.gid, "resource_type": "user", "name": u.name, "email": u.email,
                "photo": null,
                "workspaces": self.workspaces.values()
                    .map(|w| json!({"gid": w.gid, "resource_type": "workspace", "name": w.name}))
                    .collect::<Vec<_>>(),
            }),
            None => Value::Null,
        }
    }

    pub fn workspace_json(&self, gid: &str) -> Value {
        match self.workspaces.get(gid) {
            Some(w) => json!({"gid": w.gid, "resource_type": "workspace", "name": w.name,
                "email_domains": ["example.com"], "is_organization": true}),
            None => Value::Null,
        }
    }

    pub fn project_json(&self, gid: &str) -> Value {
        match self.projects.get(gid) {
            Some(p) => json!({
                "gid": p.gid, "resource_type": "project", "name": p.name,
                "archived": false, "color": null, "created_at": ts(p.created_at),
                "notes": "", "public": true,
                "workspace": self.workspace_json(&p.workspace),
                "permalink_url": format!("https://app.asana.com/0/{}/list", p.gid),
            }),
            None => Value::Null,
        }
    }

    pub fn section_json(&self, gid: &str) -> Value {
        match self.sections.get(gid) {
            Some(s) => json!({
                "gid": s.gid, "resource_type": "section", "name": s.name,
                "created_at": ts(s.created_at), "project": self.project_json(&s.project),
                "projects": [self.project_json(&s.project)],
            }),
            None => Value::Null,
        }
    }

    pub fn tag_json(&self, gid: &str) -> Value {
        match self.tags.get(gid) {
            Some(t) => json!({
                "gid": t.gid, "resource_type": "tag", "name": t.name, "color": t.color,
                "notes": t.notes, "created_at": ts(t.created_at), "followers": [],
                "workspace": self.workspace_json(&t.workspace),
                "permalink_url": format!("https://app.asana.com/0/{}/list", t.gid),
            }),
            None => Value::Null,
        }
    }

    pub fn option_json(o: &EnumOption) -> Value {
        json!({"gid": o.gid, "resource_type": "enum_option", "name": o.name,
            "enabled": o.enabled, "color": o.color})
    }

    pub fn field_json(&self, gid: &str) -> Value {
        let Some(f) = self.fields.get(gid) else {
            return Value::Null;
        };
        let mut v = json!({
            "gid": f.gid, "resource_type": "custom_field", "name": f.name,
            "type": f.subtype, "resource_subtype": f.subtype, "enabled": true,
            "description": "", "is_global_to_workspace": true, "has_notifications_enabled": false,
            "representation_type": f.subtype,
        });
        if f.subtype == "enum" {
            v["enum_options"] = f.options.iter().map(Self::option_json).collect();
        }
        if f.subtype == "number" {
            v["precision"] = json!(2);
        }
        v
    }

    /// A custom field as it appears on a task: metadata plus the typed value.
    pub fn field_value_json(&self, field: &str, value: Option<&Value>) -> Value {
        let mut v = self.field_json(field);
        let Some(f) = self.fields.get(field) else {
            return v;
        };
        let value = value.filter(|v| !v.is_null());
        match f.subtype.as_str() {
            "text" => {
                v["text_value"] = value.cloned().unwrap_or(Value::Null);
                v["display_value"] = value.cloned().unwrap_or(Value::Null);
            }
            "number" => {
                v["number_value"] = value.cloned().unwrap_or(Value::Null);
                v["display_value"] = value.map_or(Value::Null, |n| json!(n.to_string()));
            }
            _ => {
                let opt = value
                    .and_then(Value::as_str)
                    .and_then(|g| f.options.iter().find(|o| o.gid == g));
                v["enum_value"] = opt.map_or(Value::Null, Self::option_json);
                v["display_value"] = opt.map_or(Value::Null, |o| json!(o.name));
            }
        }
        v
    }

    pub fn setting_json(&self, setting: &str, project: &str, field: &str) -> Value {
        json!({
            "gid": setting, "resource_type": "custom_field_setting", "is_important": false,
            "project": self.project_json(project), "parent": self.project_json(project),
            "custom_field": self.field_json(field),
        })
    }

    pub fn task_json(&self, t: &Task) -> Value {
        let user = |g: &Option<String>| g.as_deref().map_or(Value::Null, |g| self.user_json(g));
        let mut fields: Vec<Value> = Vec::new();
        let mut seen = HashSet::new();
        for (project, _) in &t.memberships {
            if let Some(p) = self.projects.get(project) {
                for (_, f) in &p.settings {
                    if seen.insert(f.clone()) {
                        fields.push(self.field_value_json(f, t.values.get(f)));
                    }
                }
            }
        }
        let mut v = json!({
            "gid": t.gid, "resource_type": "task", "name": t.name,
            "resource_subtype": t.resource_subtype,
            "created_by": {"gid": t.created_by, "resource_type": "user"},
            "approval_status": "pending",
            "assignee_status": "upcoming",
            "completed": t.completed,
            "completed_at": t.completed_at.map(ts),
            "completed_by": user(&t.completed_by),
            "created_at": ts(t.created_at),
            "dependencies": [], "dependents": [],
            "due_at": t.due_at, "due_on": t.due_on,
            "hearted": false, "hearts": [], "num_hearts": 0,
            "html_notes": format!("<body>{}</body>", escape_html(&t.notes)),
            "is_rendered_as_separator": false,
            "liked": false, "likes": [], "num_likes": 0,
            "memberships": t.memberships.iter().map(|(p, s)| {
                let mut m = json!({"project": self.project_json(p)});
                if let Some(s) = s {
                    m["section"] = self.section_json(s);
                }
                m
            }).collect::<Vec<_>>(),
            "modified_at": ts(t.modified_at),
            "notes": t.notes,
            "num_subtasks": 0,
            "start_at": null, "start_on": null,
            "assignee": user(&t.assignee),
            "assignee_section": null,
            "custom_fields": fields,
            "followers": t.followers.iter().map(|f| self.user_json(f)).collect::<Vec<_>>(),
            "parent": null,
            "projects": t.memberships.iter().map(|(p, _)| self.project_json(p)).collect::<Vec<_>>(),
            "tags": t.tags.iter().map(|g| self.tag_json(g)).collect::<Vec<_>>(),
            "workspace": self.workspace_json(&t.workspace),
            "permalink_url": format!("https://app.asana.com/0/0/{}", t.gid),
        });
        if let Some(ext) = &t.external {
            v["external"] = ext.clone();
        }
        v
    }

    pub fn story_json(&self, s: &Story) -> Value {
        let kind = if s.subtype == "comment_added" {
            "comment"
        } else {
            "system"
        };
        let mut v = json!({
            "gid": s.gid, "resource_type": "story", "created_at": ts(s.created_at),
            "created_by": self.user_json(&s.created_by),
            "resource_subtype": s.subtype, "text": s.text, "type": kind,
            "html_text": format!("<body>{}</body>", escape_html(&s.text)),
            "is_pinned": s.is_pinned, "is_editable": kind == "comment", "is_edited": false,
            "hearted": false, "hearts": [], "num_hearts": 0,
            "liked": false, "likes": [], "num_likes": 0, "previews": [],
            "source": "api",
            "target": self.compact_task(&s.task),
        });
        for (k, val) in &s.extra {
            v[k] = val.clone();
        }
        v
    }
}

pub(crate) fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Plain text of Asana rich text (`<body>...</body>`): tags dropped, entities decoded.
pub(crate) fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_strictly_increasing_in_milliseconds() {
        let mut s = State::new();
        let a = s.now();
        let b = s.now();
        assert!(b > a);
        assert_eq!(b.timestamp_subsec_nanos() % 1_000_000, 0);
        assert!(ts(b).ends_with('Z'));
    }

    #[test]
    fn html_round_trip() {
        assert_eq!(strip_html("<body>a &lt;b&gt; &amp; c</body>"), "a <b> & c");
        assert_eq!(escape_html("a<b>&"), "a&lt;b&gt;&amp;");
    }

    #[test]
    fn users_by_gid_email_or_me() {
        let mut s = State::new();
        let a = s.add_user("Alice", "alice@example.com");
        assert_eq!(
            s.find_user(&a, "me").map(|u| u.gid.clone()),
            Some(a.clone())
        );
        assert_eq!(
            s.find_user("x", "ALICE@example.com").map(|u| u.gid.clone()),
            Some(a.clone())
        );
        assert!(s.find_user("x", "nobody@example.com").is_none());
    }
}
