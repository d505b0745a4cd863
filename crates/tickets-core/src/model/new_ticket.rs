//! What creates a ticket.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::status::{Priority, Status};

use super::{Value, validate_subject};

/// What to create. Built with [`NewTicket::new`] and the chained setters:
///
/// ```
/// use tickets_core::{NewTicket, Priority};
/// let t = NewTicket::new("Server down")
///     .description("api-1 does not answer")
///     .priority(Priority::Critical)
///     .tag("ops")
///     .idempotency_key("incident-4711");
/// assert_eq!(t.subject, "Server down");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewTicket {
    /// Required, not blank.
    pub subject: String,
    /// Longer text.
    #[serde(default)]
    pub description: String,
    /// Initial status; `New` unless set.
    #[serde(default = "default_status")]
    pub status: Status,
    /// Initial priority; `Medium` unless set.
    #[serde(default)]
    pub priority: Priority,
    /// A free classification.
    #[serde(default)]
    pub kind: Option<String>,
    /// Who works on it.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Who asked for it.
    #[serde(default)]
    pub requester: Option<String>,
    /// Who follows it.
    #[serde(default)]
    pub watchers: Vec<String>,
    /// Labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// When it is due.
    #[serde(default)]
    pub due: Option<NaiveDate>,
    /// Backend-specific fields by name.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, Value>,
    /// A caller-chosen key: creating twice with the same key yields one ticket on backends with
    /// [`Capabilities::idempotent_create`](crate::Capabilities::idempotent_create).
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

fn default_status() -> Status {
    Status::New
}

impl NewTicket {
    /// A new ticket with this subject and everything else default.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            description: String::new(),
            status: Status::New,
            priority: Priority::default(),
            kind: None,
            assignee: None,
            requester: None,
            watchers: Vec::new(),
            tags: Vec::new(),
            due: None,
            custom_fields: BTreeMap::new(),
            idempotency_key: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the initial status.
    pub fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the kind.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Sets the assignee.
    pub fn assignee(mut self, assignee: impl Into<String>) -> Self {
        self.assignee = Some(assignee.into());
        self
    }

    /// Sets the requester.
    pub fn requester(mut self, requester: impl Into<String>) -> Self {
        self.requester = Some(requester.into());
        self
    }

    /// Adds a watcher.
    pub fn watcher(mut self, watcher: impl Into<String>) -> Self {
        self.watchers.push(watcher.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Adds several tags.
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Sets the due date.
    pub fn due(mut self, due: NaiveDate) -> Self {
        self.due = Some(due);
        self
    }

    /// Sets a custom field.
    pub fn custom_field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.custom_fields.insert(name.into(), value.into());
        self
    }

    /// Sets the idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Checks what every backend requires: a subject that is not blank, an idempotency key that is
    /// not blank. Providers call this first.
    pub fn validate(&self) -> Result<()> {
        validate_subject(&self.subject)?;
        if let Some(key) = &self.idempotency_key
            && key.trim().is_empty()
        {
            return Err(Error::invalid_input(
                "idempotency_key must not be empty when given",
            ));
        }
        Ok(())
    }
}
