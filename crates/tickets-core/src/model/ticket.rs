//! Tickets and their ids.

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
    /// An opaque token for optimistic concurrency (see [`TicketPatch::expected_version`](crate::TicketPatch::expected_version)).
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
