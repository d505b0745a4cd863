//! Which status changes are allowed.
//!
//! The default table: every status except `Closed` and `Cancelled` may move to any other;
//! `Closed` and `Cancelled` are terminal except for an explicit reopen to `New` or `InProgress`.
//! A backend (or the config) can replace the table. Moving to the status a ticket already has is
//! always allowed and changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::status::Status;

/// A table of allowed status moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WorkflowTable", into = "WorkflowTable")]
pub struct Workflow {
    allowed: BTreeMap<Status, BTreeSet<Status>>,
    reopen_to: Status,
}

/// The config form of a workflow: `{ transitions = { closed = ["new"] , ...}, reopen_to = "new" }`.
/// Statuses not named in `transitions` keep the default table's moves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkflowTable {
    #[serde(default)]
    transitions: BTreeMap<Status, Vec<Status>>,
    #[serde(default = "default_reopen")]
    reopen_to: Status,
}

fn default_reopen() -> Status {
    Status::New
}

impl TryFrom<WorkflowTable> for Workflow {
    type Error = Error;

    fn try_from(table: WorkflowTable) -> Result<Self> {
        let mut wf = Workflow::default();
        for (from, to) in table.transitions {
            wf = wf.with_moves(from, to);
        }
        wf.with_reopen_to(table.reopen_to)
    }
}

impl From<Workflow> for WorkflowTable {
    fn from(wf: Workflow) -> Self {
        WorkflowTable {
            transitions: wf
                .allowed
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().collect()))
                .collect(),
            reopen_to: wf.reopen_to,
        }
    }
}

static DEFAULT: LazyLock<Workflow> = LazyLock::new(Workflow::standard);

impl Default for Workflow {
    fn default() -> Self {
        DEFAULT.clone()
    }
}

impl Workflow {
    fn standard() -> Self {
        let mut allowed = BTreeMap::new();
        for from in Status::ALL {
            let to: BTreeSet<Status> = if matches!(from, Status::Closed | Status::Cancelled) {
                [Status::New, Status::InProgress].into()
            } else {
                Status::ALL.into_iter().filter(|s| *s != from).collect()
            };
            allowed.insert(from, to);
        }
        Self {
            allowed,
            reopen_to: Status::New,
        }
    }

    /// The shared default table (no allocation).
    pub fn default_ref() -> &'static Workflow {
        &DEFAULT
    }

    /// A table where nothing may move; add moves with [`Workflow::with_moves`].
    pub fn empty() -> Self {
        Self {
            allowed: Status::ALL
                .into_iter()
                .map(|s| (s, BTreeSet::new()))
                .collect(),
            reopen_to: Status::New,
        }
    }

    /// Replaces the moves allowed from `from`.
    pub fn with_moves(mut self, from: Status, to: impl IntoIterator<Item = Status>) -> Self {
        self.allowed
            .insert(from, to.into_iter().filter(|s| *s != from).collect());
        self
    }

    /// Sets where [`reopen`](crate::TicketProvider::reopen) moves a ticket; it must be open.
    pub fn with_reopen_to(mut self, status: Status) -> Result<Self> {
        if !status.is_open() {
            return Err(Error::config(format!(
                "workflow reopen_to must be an open status, not {status}"
            )));
        }
        self.reopen_to = status;
        Ok(self)
    }

    /// Where reopen moves a ticket.
    pub fn reopen_to(&self) -> Status {
        self.reopen_to
    }

    /// The statuses `from` may move to, in life-cycle order.
    pub fn allowed_from(&self, from: Status) -> Vec<Status> {
        self.allowed
            .get(&from)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// True when `from -> to` is allowed (or a no-op).
    pub fn allows(&self, from: Status, to: Status) -> bool {
        from == to || self.allowed.get(&from).is_some_and(|s| s.contains(&to))
    }

    /// `Ok` when allowed, else `InvalidTransition` naming from, to and what is allowed.
    pub fn check(&self, from: Status, to: Status) -> Result<()> {
        if self.allows(from, to) {
            return Ok(());
        }
        let allowed = self.allowed_from(from);
        let allowed = if allowed.is_empty() {
            "nothing (terminal)".to_owned()
        } else {
            allowed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        Err(Error::new(
            ErrorKind::InvalidTransition,
            format!("cannot move from {from} to {to}; allowed from {from}: {allowed}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_table() {
        let wf = Workflow::default();
        for from in Status::ALL {
            for to in Status::ALL {
                let expected = from == to
                    || !matches!(from, Status::Closed | Status::Cancelled)
                    || matches!(to, Status::New | Status::InProgress);
                assert_eq!(wf.allows(from, to), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn refused_move_names_allowed_ones() {
        let err = Workflow::default()
            .check(Status::Closed, Status::OnHold)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidTransition);
        assert_eq!(
            err.message(),
            "cannot move from closed to on_hold; allowed from closed: new, in_progress"
        );
    }

    #[test]
    fn custom_table_from_config() {
        let wf: Workflow = serde_json::from_str(
            r#"{"transitions": {"new": ["triaged"], "triaged": ["in_progress", "cancelled"]},
                "reopen_to": "triaged"}"#,
        )
        .unwrap();
        assert!(wf.allows(Status::New, Status::Triaged));
        assert!(!wf.allows(Status::New, Status::Closed));
        assert_eq!(wf.reopen_to(), Status::Triaged);
        // untouched rows keep the default
        assert!(wf.allows(Status::InProgress, Status::Closed));
        let bad = serde_json::from_str::<Workflow>(r#"{"reopen_to": "closed"}"#);
        assert!(bad.is_err());
    }

    #[test]
    fn terminal_table_says_so() {
        let wf = Workflow::empty();
        let err = wf.check(Status::New, Status::Closed).unwrap_err();
        assert!(err.message().contains("nothing (terminal)"));
    }
}
