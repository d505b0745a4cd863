//! What changes a ticket.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::status::{Priority, Status};

use super::{Ticket, Value, normalize_tags, validate_subject};

/// One field of a [`TicketPatch`]: leave it, set it, or clear it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Patch<T> {
    /// Leave the field as it is.
    #[default]
    Keep,
    /// Set the field to this value.
    Set(T),
    /// Empty the field.
    Clear,
}

impl<T> Patch<T> {
    /// True for [`Patch::Keep`].
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }

    /// The value to set, if any.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Set(v) => Some(v),
            _ => None,
        }
    }

    /// Borrows the value.
    pub fn as_ref(&self) -> Patch<&T> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Set(v) => Patch::Set(v),
            Patch::Clear => Patch::Clear,
        }
    }

    /// Maps the value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Set(v) => Patch::Set(f(v)),
            Patch::Clear => Patch::Clear,
        }
    }

    /// Applies the patch to an optional field; returns true when the field changed.
    pub fn apply_to(self, field: &mut Option<T>) -> bool
    where
        T: PartialEq,
    {
        let next = match self {
            Patch::Keep => return false,
            Patch::Set(v) => Some(v),
            Patch::Clear => None,
        };
        let changed = *field != next;
        *field = next;
        changed
    }

    /// `Some(Some(v))` to set, `Some(None)` to clear, `None` to keep: handy for SQL and JSON.
    pub fn into_option(self) -> Option<Option<T>> {
        match self {
            Patch::Keep => None,
            Patch::Set(v) => Some(Some(v)),
            Patch::Clear => Some(None),
        }
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `Some(v)` sets, `None` clears.
    fn from(value: Option<T>) -> Self {
        match value {
            Some(v) => Patch::Set(v),
            None => Patch::Clear,
        }
    }
}

/// A partial change to a ticket: every field is [`Patch::Keep`] unless set.
///
/// ```
/// use tickets_core::{Patch, Priority, TicketPatch};
/// let patch = TicketPatch::new().subject("New title").priority(Priority::High).clear_assignee();
/// assert_eq!(patch.assignee, Patch::Clear);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TicketPatch {
    /// New subject (cannot be cleared).
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub subject: Patch<String>,
    /// New description; `Clear` empties it.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub description: Patch<String>,
    /// New status; checked against the backend's workflow.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub status: Patch<Status>,
    /// New priority; `Clear` resets it to the default.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub priority: Patch<Priority>,
    /// New kind.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub kind: Patch<String>,
    /// New assignee; `Clear` unassigns.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub assignee: Patch<String>,
    /// New requester.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub requester: Patch<String>,
    /// The whole watcher list.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub watchers: Patch<Vec<String>>,
    /// The whole tag list.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub tags: Patch<Vec<String>>,
    /// New due date.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub due: Patch<NaiveDate>,
    /// Custom fields to set or clear, by name; fields not named stay as they are.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_fields: BTreeMap<String, Patch<Value>>,
    /// When set, the update fails with `Conflict` unless the ticket's current
    /// [`Ticket::version`] equals this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<String>,
    /// The caller has already checked this status move against its own workflow (a sync
    /// delivery, a repair): the backend makes the ticket show [`TicketPatch::status`] from
    /// wherever it is now (including a half-applied earlier change), without its own
    /// [`Workflow`](crate::Workflow) check. Backends whose server enforces a workflow of its own
    /// (Bugzilla) still find a path through it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_workflow: bool,
}

impl TicketPatch {
    /// An empty patch.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.subject.is_keep()
            && self.description.is_keep()
            && self.status.is_keep()
            && self.priority.is_keep()
            && self.kind.is_keep()
            && self.assignee.is_keep()
            && self.requester.is_keep()
            && self.watchers.is_keep()
            && self.tags.is_keep()
            && self.due.is_keep()
            && self.custom_fields.values().all(Patch::is_keep)
    }

    /// Checks what every backend requires: the subject cannot be cleared or blank, the status
    /// cannot be cleared, and people and kind are cleared rather than set blank.
    pub fn validate(&self) -> Result<()> {
        match &self.subject {
            Patch::Clear => {
                return Err(Error::invalid_input(
                    "subject cannot be cleared; set a new one instead",
                ));
            }
            Patch::Set(s) => validate_subject(s)?,
            Patch::Keep => {}
        }
        if self.status == Patch::Clear {
            return Err(Error::invalid_input(
                "status cannot be cleared; set a status instead",
            ));
        }
        for (field, value) in [
            ("assignee", &self.assignee),
            ("requester", &self.requester),
            ("kind", &self.kind),
        ] {
            if let Patch::Set(v) = value
                && v.trim().is_empty()
            {
                return Err(Error::invalid_input(format!(
                    "{field} must not be blank; clear it instead"
                )));
            }
        }
        Ok(())
    }

    /// Applies the patch to a ticket in memory (no workflow or version checks; callers do
    /// those). Returns the names of the fields that changed, with old and new values as text,
    /// for history.
    pub fn apply(self, ticket: &mut Ticket) -> Vec<FieldChange> {
        let mut changes = Vec::new();
        let mut record = |field: &'static str, old: Option<String>, new: Option<String>| {
            if old != new {
                changes.push(FieldChange { field, old, new });
            }
        };
        if let Patch::Set(s) = self.subject {
            record("subject", Some(ticket.subject.clone()), Some(s.clone()));
            ticket.subject = s;
        }
        if let Some(d) = self.description.into_option() {
            let d = d.unwrap_or_default();
            record(
                "description",
                some_nonempty(&ticket.description),
                some_nonempty(&d),
            );
            ticket.description = d;
        }
        if let Some(s) = self.status.into_option() {
            let s = s.unwrap_or(Status::New);
            record(
                "status",
                Some(ticket.status.to_string()),
                Some(s.to_string()),
            );
            ticket.status = s;
        }
        if let Some(p) = self.priority.into_option() {
            let p = p.unwrap_or_default();
            record(
                "priority",
                Some(ticket.priority.to_string()),
                Some(p.to_string()),
            );
            ticket.priority = p;
        }
        let mut opt = |field: &'static str, patch: Patch<String>, target: &mut Option<String>| {
            let old = target.clone();
            if patch.apply_to(target) {
                record(field, old, target.clone());
            }
        };
        opt("kind", self.kind, &mut ticket.kind);
        opt("assignee", self.assignee, &mut ticket.assignee);
        opt("requester", self.requester, &mut ticket.requester);
        if let Some(w) = self.watchers.into_option() {
            let w = w.unwrap_or_default();
            record("watchers", join(&ticket.watchers), join(&w));
            ticket.watchers = w;
        }
        if let Some(t) = self.tags.into_option() {
            let t = normalize_tags(t.unwrap_or_default());
            record("tags", join(&ticket.tags), join(&t));
            ticket.tags = t;
        }
        if let Some(d) = self.due.into_option() {
            record(
                "due",
                ticket.due.map(|d| d.to_string()),
                d.map(|d| d.to_string()),
            );
            ticket.due = d;
        }
        for (name, patch) in self.custom_fields {
            let old = ticket.custom_fields.get(&name).map(Value::to_string);
            match patch {
                Patch::Keep => continue,
                Patch::Set(v) => {
                    ticket.custom_fields.insert(name.clone(), v);
                }
                Patch::Clear => {
                    ticket.custom_fields.remove(&name);
                }
            }
            let new = ticket.custom_fields.get(&name).map(Value::to_string);
            if old != new {
                changes.push(FieldChange {
                    field: "custom_field",
                    old: old.map(|o| format!("{name}={o}")),
                    new: new.map(|n| format!("{name}={n}")),
                });
            }
        }
        changes
    }

    /// Sets the subject.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Patch::Set(subject.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Patch::Set(description.into());
        self
    }

    /// Empties the description.
    pub fn clear_description(mut self) -> Self {
        self.description = Patch::Clear;
        self
    }

    /// Sets the status.
    pub fn status(mut self, status: Status) -> Self {
        self.status = Patch::Set(status);
        self
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = Patch::Set(priority);
        self
    }

    /// Sets the kind.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Patch::Set(kind.into());
        self
    }

    /// Sets the assignee.
    pub fn assignee(mut self, assignee: impl Into<String>) -> Self {
        self.assignee = Patch::Set(assignee.into());
        self
    }

    /// Unassigns.
    pub fn clear_assignee(mut self) -> Self {
        self.assignee = Patch::Clear;
        self
    }

    /// Sets the requester.
    pub fn requester(mut self, requester: impl Into<String>) -> Self {
        self.requester = Patch::Set(requester.into());
        self
    }

    /// Replaces the watchers.
    pub fn watchers<I, S>(mut self, watchers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.watchers = Patch::Set(watchers.into_iter().map(Into::into).collect());
        self
    }

    /// Replaces the tags.
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = Patch::Set(tags.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the due date.
    pub fn due(mut self, due: NaiveDate) -> Self {
        self.due = Patch::Set(due);
        self
    }

    /// Clears the due date.
    pub fn clear_due(mut self) -> Self {
        self.due = Patch::Clear;
        self
    }

    /// Sets one custom field.
    pub fn custom_field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.custom_fields
            .insert(name.into(), Patch::Set(value.into()));
        self
    }

    /// Clears one custom field.
    pub fn clear_custom_field(mut self, name: impl Into<String>) -> Self {
        self.custom_fields.insert(name.into(), Patch::Clear);
        self
    }

    /// Requires the ticket to be at this version.
    pub fn expected_version(mut self, version: impl Into<String>) -> Self {
        self.expected_version = Some(version.into());
        self
    }

    /// Sets the status without the backend's workflow check (see
    /// [`TicketPatch::skip_workflow`]).
    pub fn skip_workflow(mut self) -> Self {
        self.skip_workflow = true;
        self
    }
}

fn some_nonempty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn join(items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| items.join(", "))
}

/// One field changed by [`TicketPatch::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The field name (`status`, `assignee`, ...).
    pub field: &'static str,
    /// The value before, as text.
    pub old: Option<String>,
    /// The value after, as text.
    pub new: Option<String>,
}
