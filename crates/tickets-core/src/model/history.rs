//! Audit history.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HistoryAction {
    /// The ticket was created.
    Created,
    /// A field other than status or assignee changed.
    Updated,
    /// The status changed.
    StatusChange,
    /// The assignee changed.
    Assigned,
    /// A comment was added.
    CommentAdded,
    /// A file was attached (`new_value` names it).
    AttachmentAdded,
    /// Something the sync provider decided about this ticket: a parked change skipped, a
    /// conflict settled, a remote deletion seen (`field` says which, the values say what).
    Sync,
}

impl HistoryAction {
    /// The name, in the seed's upper-case style (`STATUS_CHANGE`).
    pub const fn as_str(self) -> &'static str {
        match self {
            HistoryAction::Created => "CREATED",
            HistoryAction::Updated => "UPDATED",
            HistoryAction::StatusChange => "STATUS_CHANGE",
            HistoryAction::Assigned => "ASSIGNED",
            HistoryAction::CommentAdded => "COMMENT_ADDED",
            HistoryAction::AttachmentAdded => "ATTACHMENT_ADDED",
            HistoryAction::Sync => "SYNC",
        }
    }

    /// The action that a change of `field` is recorded as.
    pub fn for_field(field: &str) -> Self {
        match field {
            "status" => HistoryAction::StatusChange,
            "assignee" => HistoryAction::Assigned,
            _ => HistoryAction::Updated,
        }
    }
}

impl fmt::Display for HistoryAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a ticket's audit history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// What happened.
    pub action: HistoryAction,
    /// The field that changed, if one did.
    pub field: Option<String>,
    /// The value before, as text.
    pub old_value: Option<String>,
    /// The value after, as text.
    pub new_value: Option<String>,
    /// Who did it, where known.
    pub actor: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl HistoryEntry {
    /// An entry without field, values or actor.
    pub fn new(action: HistoryAction, at: DateTime<Utc>) -> Self {
        Self {
            action,
            field: None,
            old_value: None,
            new_value: None,
            actor: None,
            at,
        }
    }

    /// An entry for a field change.
    pub fn change(
        field: impl Into<String>,
        old_value: Option<String>,
        new_value: Option<String>,
        at: DateTime<Utc>,
    ) -> Self {
        let field = field.into();
        Self {
            action: HistoryAction::for_field(&field),
            field: Some(field),
            old_value,
            new_value,
            actor: None,
            at,
        }
    }

    /// Sets the actor.
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }
}
