//! The ticket model: what a ticket is, what creates and changes one, and how lists are asked for.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::status::{Priority, Status};

/// A JSON value, as held in custom fields.
pub type Value = serde_json::Value;

/// A ticket's identifier in the system that holds it: the internal store's UUIDv7, an Asana gid,
/// a Bugzilla bug id, a Salesforce 18-character Id. Always a string; deserializes from numbers
/// too, because config files and environment variables type all-digit ids as numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TicketId(String);

impl TicketId {
    /// Wraps a provider id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for TicketId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for TicketId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&String> for TicketId {
    fn from(s: &String) -> Self {
        Self(s.clone())
    }
}

impl AsRef<str> for TicketId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TicketId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::config::string_or_number(deserializer).map(TicketId)
    }
}

/// A ticket as a provider holds it.
///
/// Fields a backend does not have stay empty (`number` on Asana, `watchers` on Salesforce);
/// [`Capabilities`](crate::Capabilities) says which ones a backend keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Ticket {
    /// The provider's own id.
    pub id: TicketId,
    /// The human number (internal sequence, Salesforce CaseNumber), where there is one.
    pub number: Option<String>,
    /// The kind of the provider that holds it (`internal`, `asana`, ...).
    pub provider: String,
    /// One-line summary; never empty.
    pub subject: String,
    /// Longer text; empty when there is none.
    pub description: String,
    /// Where it stands.
    pub status: Status,
    /// How urgent it is.
    pub priority: Priority,
    /// A free classification (incident, question, ...), where the backend has one.
    pub kind: Option<String>,
    /// Who works on it (email, login or vendor user id).
    pub assignee: Option<String>,
    /// Who asked for it.
    pub requester: Option<String>,
    /// Who follows it.
    pub watchers: Vec<String>,
    /// Labels, sorted and without duplicates.
    pub tags: Vec<String>,
    /// When it is due.
    pub due: Option<NaiveDate>,
    /// Backend-specific fields by name.
    pub custom_fields: BTreeMap<String, Value>,
    /// The same ticket's ids in other systems (`{"asana": "1209..."}`).
    pub links: BTreeMap<String, String>,
    /// A link for people, where the backend has one.
    pub url: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// An opaque token for optimistic concurrency (see [`TicketPatch::expected_version`]).
    pub version: Option<String>,
}

impl Ticket {
    /// A ticket with the given identity and subject and every other field empty or default;
    /// providers fill in the rest field by field.
    pub fn new(
        id: impl Into<TicketId>,
        provider: impl Into<String>,
        subject: impl Into<String>,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.into(),
            number: None,
            provider: provider.into(),
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
            links: BTreeMap::new(),
            url: None,
            created_at,
            updated_at: created_at,
            version: None,
        }
    }
}

/// Checks a subject: not empty or whitespace only. Returns it trimmed of surrounding whitespace
/// only for the check; the stored subject is what the caller gave.
pub fn validate_subject(subject: &str) -> Result<()> {
    if subject.trim().is_empty() {
        return Err(Error::invalid_input(
            "subject must not be empty or whitespace only",
        ));
    }
    Ok(())
}

/// Sorts and de-duplicates tags, dropping empty ones, so every provider reports them alike.
pub fn normalize_tags(tags: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut tags: Vec<String> = tags
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

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

/// A comment on a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Comment {
    /// The provider's comment id.
    pub id: String,
    /// The ticket it belongs to.
    pub ticket_id: TicketId,
    /// Who wrote it, as the caller gave it (see
    /// [`Capabilities::comment_author`](crate::Capabilities::comment_author)).
    pub author: Option<String>,
    /// The text.
    pub body: String,
    /// Visible to the requester (customer), not only to staff.
    pub public: bool,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl Comment {
    /// A public comment with no author.
    pub fn new(
        id: impl Into<String>,
        ticket_id: TicketId,
        body: impl Into<String>,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.into(),
            ticket_id,
            author: None,
            body: body.into(),
            public: true,
            created_at,
        }
    }
}

/// What to comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewComment {
    /// The text; not blank.
    pub body: String,
    /// Who writes it; kept visible even where the API user differs.
    #[serde(default)]
    pub author: Option<String>,
    /// Visible to the requester; true unless set otherwise.
    #[serde(default = "default_true")]
    pub public: bool,
    /// A caller-chosen key: backends with
    /// [`Capabilities::idempotent_comment`](crate::Capabilities::idempotent_comment) add a comment
    /// with the same key only once.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

fn default_true() -> bool {
    true
}

impl NewComment {
    /// A public comment with this text.
    pub fn new(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            author: None,
            public: true,
            idempotency_key: None,
        }
    }

    /// Sets the author.
    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }

    /// Makes it visible to staff only.
    pub fn private(mut self) -> Self {
        self.public = false;
        self
    }

    /// Sets the idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Checks the body is not blank.
    pub fn validate(&self) -> Result<()> {
        if self.body.trim().is_empty() {
            return Err(Error::invalid_input(
                "comment body must not be empty or whitespace only",
            ));
        }
        Ok(())
    }
}

/// An opaque position in a list, handed back by [`Page::next`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a provider's position token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which tickets to list. Empty filters match everything; filters combine with AND; several
/// statuses match any of them; several tags must all be present.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TicketQuery {
    /// Any of these statuses.
    #[serde(default)]
    pub status: Vec<Status>,
    /// Assigned to this user.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Requested by this user.
    #[serde(default)]
    pub requester: Option<String>,
    /// Carrying all of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Containing this text (case-insensitive) in subject or description.
    #[serde(default)]
    pub text: Option<String>,
    /// Changed at or after this time.
    #[serde(default)]
    pub updated_since: Option<DateTime<Utc>>,
    /// Tickets per page; the provider's default when unset, capped at its maximum.
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Where to continue, from a previous [`Page::next`].
    #[serde(default)]
    pub cursor: Option<Cursor>,
}

impl TicketQuery {
    /// Matches every ticket.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a status to match.
    pub fn status(mut self, status: Status) -> Self {
        self.status.push(status);
        self
    }

    /// Matches the assignee.
    pub fn assignee(mut self, assignee: impl Into<String>) -> Self {
        self.assignee = Some(assignee.into());
        self
    }

    /// Matches the requester.
    pub fn requester(mut self, requester: impl Into<String>) -> Self {
        self.requester = Some(requester.into());
        self
    }

    /// Requires a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Matches text in subject or description.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Matches tickets changed at or after `since`.
    pub fn updated_since(mut self, since: DateTime<Utc>) -> Self {
        self.updated_since = Some(since);
        self
    }

    /// Sets the page size.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Continues from a cursor.
    pub fn cursor(mut self, cursor: Cursor) -> Self {
        self.cursor = Some(cursor);
        self
    }

    /// Checks the filters: page size at least 1, text not blank.
    pub fn validate(&self) -> Result<()> {
        if self.page_size == Some(0) {
            return Err(Error::invalid_input("page_size must be at least 1"));
        }
        if let Some(text) = &self.text
            && text.trim().is_empty()
        {
            return Err(Error::invalid_input(
                "text filter must not be empty; leave it unset to match everything",
            ));
        }
        Ok(())
    }

    /// True when `ticket` passes every filter (used by providers that filter client-side).
    pub fn matches(&self, ticket: &Ticket) -> bool {
        if !self.status.is_empty() && !self.status.contains(&ticket.status) {
            return false;
        }
        if let Some(a) = &self.assignee
            && ticket.assignee.as_deref() != Some(a.as_str())
        {
            return false;
        }
        if let Some(r) = &self.requester
            && ticket.requester.as_deref() != Some(r.as_str())
        {
            return false;
        }
        if !self.tags.iter().all(|t| ticket.tags.contains(t)) {
            return false;
        }
        if let Some(text) = &self.text {
            let needle = text.to_lowercase();
            if !ticket.subject.to_lowercase().contains(&needle)
                && !ticket.description.to_lowercase().contains(&needle)
            {
                return false;
            }
        }
        if let Some(since) = self.updated_since
            && ticket.updated_at < since
        {
            return false;
        }
        true
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page.
    pub fn new(items: Vec<T>, next: Option<Cursor>) -> Self {
        Self { items, next }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Ticket {
        let mut t = Ticket::new("1", "memory", "Subject", Utc::now());
        t.assignee = Some("alice".into());
        t.description = "text".into();
        t
    }

    #[test]
    fn patch_keeps_what_it_does_not_name() {
        let mut t = ticket();
        let changes = TicketPatch::new().subject("Other").apply(&mut t);
        assert_eq!(t.subject, "Other");
        assert_eq!(t.assignee.as_deref(), Some("alice"));
        assert_eq!(t.description, "text");
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "subject");
    }

    #[test]
    fn patch_clear_clears() {
        let mut t = ticket();
        let changes = TicketPatch::new()
            .clear_assignee()
            .clear_description()
            .apply(&mut t);
        assert_eq!(t.assignee, None);
        assert_eq!(t.description, "");
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn patch_rejects_blank_subject() {
        assert!(TicketPatch::new().subject("  ").validate().is_err());
        let mut p = TicketPatch::new();
        p.subject = Patch::Clear;
        assert!(p.validate().is_err());
        assert!(TicketPatch::new().subject("ok").validate().is_ok());
    }

    #[test]
    fn patch_serde_round_trip() {
        let p = TicketPatch::new()
            .subject("x")
            .clear_assignee()
            .custom_field("sev", 2);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"subject":{"set":"x"},"assignee":"clear","custom_fields":{"sev":{"set":2}}}"#
        );
        assert_eq!(serde_json::from_str::<TicketPatch>(&json).unwrap(), p);
    }

    #[test]
    fn ticket_id_from_number() {
        let id: TicketId = serde_json::from_str("1209000000000000").unwrap();
        assert_eq!(id.as_str(), "1209000000000000");
    }

    #[test]
    fn query_matches() {
        let mut t = ticket();
        t.tags = vec!["ops".into()];
        assert!(TicketQuery::new().tag("ops").text("SUBJ").matches(&t));
        assert!(!TicketQuery::new().tag("dev").matches(&t));
        assert!(!TicketQuery::new().status(Status::Closed).matches(&t));
        assert!(TicketQuery::new().page_size(0).validate().is_err());
    }

    #[test]
    fn new_ticket_validates() {
        assert!(NewTicket::new(" \t").validate().is_err());
        assert!(
            NewTicket::new("ok")
                .idempotency_key(" ")
                .validate()
                .is_err()
        );
        assert!(NewTicket::new("ok").validate().is_ok());
    }
}
