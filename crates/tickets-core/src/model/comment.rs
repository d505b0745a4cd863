//! Comments.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use super::TicketId;

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
    /// The [`NewComment::idempotency_key`] it was added with, where the backend keeps one
    /// (backends with [`Capabilities::idempotent_comment`](crate::Capabilities::idempotent_comment)
    /// do); how the sync provider recognises its own comments on the remote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
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
            idempotency_key: None,
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
