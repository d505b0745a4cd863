//! Lists: queries, cursors and pages.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::status::Status;

use super::Ticket;

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
