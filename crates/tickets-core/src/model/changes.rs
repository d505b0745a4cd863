//! Change feeds: what changed on a backend since a token (see
//! [`TicketProvider::changes`](crate::TicketProvider::changes)).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::TicketId;

/// An opaque position in a backend's change feed, handed back by [`Changes::next`]. Store it
/// as text ([`ChangeToken::as_str`]) to continue after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeToken(String);

impl ChangeToken {
    /// Wraps a backend's feed position.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChangeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What changed since a [`ChangeToken`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Changes {
    /// Tickets created or changed since the token (fields, status or comments), each once.
    /// The feed names them; read each one to see its state.
    pub changed: Vec<TicketId>,
    /// Tickets deleted since the token.
    pub deleted: Vec<TicketId>,
    /// Where the next call continues.
    pub next: ChangeToken,
    /// More changes are waiting: call again with [`Changes::next`] now.
    pub more: bool,
    /// The token was absent, unknown or too old, so what changed since it is not known: list
    /// everything once (a full resync), then continue from [`Changes::next`].
    pub resync: bool,
}

impl Changes {
    /// A page of changes.
    pub fn new(changed: Vec<TicketId>, deleted: Vec<TicketId>, next: ChangeToken) -> Self {
        Self {
            changed,
            deleted,
            next,
            more: false,
            resync: false,
        }
    }

    /// The answer to an absent or expired token: resync, then continue from `next`.
    pub fn resync(next: ChangeToken) -> Self {
        Self {
            changed: Vec::new(),
            deleted: Vec::new(),
            next,
            more: false,
            resync: true,
        }
    }

    /// Marks that more changes wait.
    pub fn with_more(mut self, more: bool) -> Self {
        self.more = more;
        self
    }
}
