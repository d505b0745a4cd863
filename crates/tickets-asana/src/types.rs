//! Typed Asana records (as read with this crate's `opt_fields`) and request bodies.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{"data": ..., "next_page": ...}` (the events API adds `sync` and `has_more`).
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    pub data: T,
    #[serde(default)]
    pub next_page: Option<NextPage>,
    #[serde(default)]
    pub sync: Option<String>,
    #[serde(default)]
    pub has_more: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NextPage {
    pub offset: String,
}

/// Any object by gid, with its name when asked for.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct Named {
    pub gid: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub(crate) struct UserRef {
    pub gid: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl UserRef {
    /// The email when known, else the gid: how tickets name users.
    pub fn key(&self) -> String {
        self.email.clone().unwrap_or_else(|| self.gid.clone())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Membership {
    #[serde(default)]
    pub project: Option<Named>,
    #[serde(default)]
    pub section: Option<Named>,
}

/// A custom field value on a task.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FieldValue {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub resource_subtype: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub text_value: Option<String>,
    #[serde(default)]
    pub number_value: Option<serde_json::Number>,
    #[serde(default)]
    pub enum_value: Option<Named>,
    #[serde(default)]
    pub display_value: Option<String>,
}

/// The task fields this crate asks for on every task read.
pub const TASK_FIELDS: &str = "name,notes,completed,created_at,modified_at,due_on,\
    assignee.name,memberships.project.name,memberships.section.name,tags.name,\
    custom_fields.name,custom_fields.resource_subtype,custom_fields.type,\
    custom_fields.text_value,custom_fields.number_value,custom_fields.enum_value.name,\
    custom_fields.display_value,permalink_url,created_by";

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TaskRecord {
    pub gid: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub completed: bool,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub modified_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub due_on: Option<NaiveDate>,
    #[serde(default)]
    pub assignee: Option<UserRef>,
    #[serde(default)]
    pub memberships: Vec<Membership>,
    #[serde(default)]
    pub tags: Vec<Named>,
    #[serde(default)]
    pub custom_fields: Vec<FieldValue>,
    #[serde(default)]
    pub permalink_url: Option<String>,
    #[serde(default)]
    pub created_by: Option<Named>,
}

/// The story fields this crate asks for.
pub(crate) const STORY_FIELDS: &str = "created_at,created_by.name,\
    resource_subtype,text,assignee.name,new_section.name,old_section.name,\
    tag.name,custom_field.name,old_name,new_name,old_text_value,new_text_value,\
    old_number_value,new_number_value,old_enum_value.name,new_enum_value.name,\
    old_dates.due_on,new_dates.due_on";

#[derive(Debug, Clone, Deserialize, Default)]
pub(crate) struct Dates {
    #[serde(default)]
    pub due_on: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct StoryRecord {
    pub gid: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub created_by: Option<UserRef>,
    #[serde(default)]
    pub resource_subtype: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub assignee: Option<UserRef>,
    #[serde(default)]
    pub new_section: Option<Named>,
    #[serde(default)]
    pub old_section: Option<Named>,
    #[serde(default)]
    pub tag: Option<Named>,
    #[serde(default)]
    pub custom_field: Option<Named>,
    #[serde(default)]
    pub old_name: Option<String>,
    #[serde(default)]
    pub new_name: Option<String>,
    #[serde(default)]
    pub old_text_value: Option<String>,
    #[serde(default)]
    pub new_text_value: Option<String>,
    #[serde(default)]
    pub old_number_value: Option<Value>,
    #[serde(default)]
    pub new_number_value: Option<Value>,
    #[serde(default)]
    pub old_enum_value: Option<Named>,
    #[serde(default)]
    pub new_enum_value: Option<Named>,
    #[serde(default)]
    pub old_dates: Option<Dates>,
    #[serde(default)]
    pub new_dates: Option<Dates>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EnumOptionRecord {
    pub gid: String,
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FieldDef {
    pub gid: String,
    pub name: String,
    #[serde(default)]
    pub resource_subtype: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub enum_options: Vec<EnumOptionRecord>,
}

impl FieldDef {
    pub fn subtype(&self) -> &str {
        self.resource_subtype
            .as_deref()
            .or(self.kind.as_deref())
            .unwrap_or("text")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FieldSetting {
    pub custom_field: FieldDef,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ProjectRecord {
    pub workspace: Named,
}

// ---- request bodies (wrapped in {"data": ...} by the client) ----

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MembershipWrite {
    pub project: String,
    pub section: String,
}

/// `POST /tasks` and `PUT /tasks/{gid}`: only the fields that are set are sent.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct TaskWrite {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_on: Option<Option<NaiveDate>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<BTreeMap<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memberships: Option<Vec<MembershipWrite>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

impl TaskWrite {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.notes.is_none()
            && self.assignee.is_none()
            && self.due_on.is_none()
            && self.completed.is_none()
            && self.custom_fields.as_ref().is_none_or(BTreeMap::is_empty)
            && self.workspace.is_none()
            && self.memberships.is_none()
            && self.tags.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_write_sends_only_what_is_set_and_null_to_clear() {
        let w = TaskWrite {
            name: Some("n".into()),
            assignee: Some(None),
            due_on: Some(NaiveDate::from_ymd_opt(2031, 5, 17)),
            ..TaskWrite::default()
        };
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::json!({"name": "n", "assignee": null, "due_on": "2031-05-17"})
        );
        assert!(TaskWrite::default().is_empty());
    }

    #[test]
    fn task_record_reads_asanas_shape() {
        // The shape of GET /tasks/{gid} with this crate's opt_fields (vendor-apis.md 1.6).
        let v = serde_json::json!({
            "gid": "1209000000000042", "name": "Printer jammed", "notes": "Tray 2",
            "completed": false, "created_at": "2026-11-22T07:00:00.123Z",
            "modified_at": "2026-11-22T07:05:00.456Z", "due_on": "2031-05-17",
            "assignee": {"gid": "1209000000000002", "name": "Alice", "email": "alice@example.com"},
            "memberships": [{"project": {"gid": "1", "name": "Tickets"},
                             "section": {"gid": "7", "name": "In Progress"}}],
            "tags": [{"gid": "9", "name": "High"}],
            "custom_fields": [{"gid": "5", "name": "severity", "resource_subtype": "number",
                               "number_value": 2, "display_value": "2"}],
            "permalink_url": "https://app.asana.com/0/0/1209000000000042",
            "created_by": {"gid": "3"}
        });
        let t: TaskRecord = serde_json::from_value(v).unwrap();
        assert_eq!(t.assignee.unwrap().key(), "alice@example.com");
        assert_eq!(
            t.memberships[0].section.as_ref().unwrap().name.as_deref(),
            Some("In Progress")
        );
        assert_eq!(
            t.custom_fields[0].number_value.as_ref().unwrap().as_i64(),
            Some(2)
        );
    }
}
