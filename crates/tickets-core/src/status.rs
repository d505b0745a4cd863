//! Canonical statuses and priorities, shared by every provider.
//!
//! Each vendor maps these onto its own vocabulary (Asana sections, Bugzilla status plus
//! resolution, Salesforce picklists); the mapping lives in each provider's `convert.rs`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, ErrorKind};

/// Where a ticket stands in its life.
///
/// Serialized in `snake_case` (`in_progress`). Parsing is forgiving: it accepts any case,
/// spaces, hyphens or underscores (`In Progress`, `IN_PROGRESS`, `in-progress`), `open` as
/// [`Status::New`] and `canceled` as [`Status::Cancelled`], so values written by older tools and
/// by people both work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Just filed, nobody looked at it yet.
    New,
    /// Looked at and accepted, not yet worked on.
    Triaged,
    /// Someone is working on it.
    InProgress,
    /// Waiting on something outside the team.
    OnHold,
    /// Raised to a higher level of support.
    Escalated,
    /// Fixed or answered; may still be reopened or closed.
    Resolved,
    /// Done for good (reopen is the only way back).
    Closed,
    /// Will not be done (reopen is the only way back).
    Cancelled,
}

impl Status {
    /// Every status, in life-cycle order.
    pub const ALL: [Status; 8] = [
        Status::New,
        Status::Triaged,
        Status::InProgress,
        Status::OnHold,
        Status::Escalated,
        Status::Resolved,
        Status::Closed,
        Status::Cancelled,
    ];

    /// The `snake_case` name used in JSON, config and the CLI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Triaged => "triaged",
            Status::InProgress => "in_progress",
            Status::OnHold => "on_hold",
            Status::Escalated => "escalated",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }

    /// A human label (`In Progress`), also the default Asana section name.
    pub const fn label(self) -> &'static str {
        match self {
            Status::New => "New",
            Status::Triaged => "Triaged",
            Status::InProgress => "In Progress",
            Status::OnHold => "On Hold",
            Status::Escalated => "Escalated",
            Status::Resolved => "Resolved",
            Status::Closed => "Closed",
            Status::Cancelled => "Cancelled",
        }
    }

    /// True while work may still happen: everything but Resolved, Closed and Cancelled.
    pub const fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed | Status::Cancelled)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lower-cases and drops separators so `In Progress`, `IN_PROGRESS` and `in-progress` compare equal.
fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl FromStr for Status {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let status = match normalize(s).as_str() {
            "new" | "open" => Status::New,
            "triaged" => Status::Triaged,
            "inprogress" => Status::InProgress,
            "onhold" => Status::OnHold,
            "escalated" => Status::Escalated,
            "resolved" => Status::Resolved,
            "closed" => Status::Closed,
            "cancelled" | "canceled" => Status::Cancelled,
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "unknown status {s:?}; expected one of: {}",
                        Status::ALL.map(Status::as_str).join(", ")
                    ),
                ));
            }
        };
        Ok(status)
    }
}

/// How urgent a ticket is. The default is [`Priority::Medium`].
///
/// Parsing accepts any case and also `P1`..`P5` (P1 = Critical).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Priority {
    /// Drop everything.
    Critical,
    /// Soon.
    High,
    /// Normal work.
    #[default]
    Medium,
    /// When there is time.
    Low,
    /// For information only.
    Info,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 5] = [
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Low,
        Priority::Info,
    ];

    /// The `snake_case` name used in JSON, config and the CLI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
            Priority::Info => "info",
        }
    }

    /// A human label (`Critical`), also the default Asana tag name.
    pub const fn label(self) -> &'static str {
        match self {
            Priority::Critical => "Critical",
            Priority::High => "High",
            Priority::Medium => "Medium",
            Priority::Low => "Low",
            Priority::Info => "Info",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let priority = match normalize(s).as_str() {
            "critical" | "p1" | "urgent" => Priority::Critical,
            "high" | "p2" => Priority::High,
            "medium" | "normal" | "p3" => Priority::Medium,
            "low" | "p4" => Priority::Low,
            "info" | "p5" | "informational" => Priority::Info,
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "unknown priority {s:?}; expected one of: {}",
                        Priority::ALL.map(Priority::as_str).join(", ")
                    ),
                ));
            }
        };
        Ok(priority)
    }
}

macro_rules! serde_via_str {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                raw.parse()
                    .map_err(|e: Error| serde::de::Error::custom(e.message()))
            }
        }
    };
}

serde_via_str!(Status);
serde_via_str!(Priority);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_parses_seed_and_human_spellings() {
        assert_eq!("IN_PROGRESS".parse::<Status>().unwrap(), Status::InProgress);
        assert_eq!("In Progress".parse::<Status>().unwrap(), Status::InProgress);
        assert_eq!("on-hold".parse::<Status>().unwrap(), Status::OnHold);
        assert_eq!("open".parse::<Status>().unwrap(), Status::New);
        assert_eq!("CANCELED".parse::<Status>().unwrap(), Status::Cancelled);
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
            assert_eq!(s.label().parse::<Status>().unwrap(), s);
        }
    }

    #[test]
    fn unknown_status_names_the_choices() {
        let err = "done-ish".parse::<Status>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("in_progress"), "{err}");
    }

    #[test]
    fn serde_is_snake_case() {
        assert_eq!(
            serde_json::to_string(&Status::OnHold).unwrap(),
            "\"on_hold\""
        );
        assert_eq!(
            serde_json::from_str::<Status>("\"ESCALATED\"").unwrap(),
            Status::Escalated
        );
        assert_eq!(serde_json::to_string(&Priority::Info).unwrap(), "\"info\"");
        assert_eq!("P1".parse::<Priority>().unwrap(), Priority::Critical);
        assert_eq!(Priority::default(), Priority::Medium);
    }

    #[test]
    fn open_statuses() {
        let open: Vec<_> = Status::ALL.into_iter().filter(|s| s.is_open()).collect();
        assert_eq!(
            open,
            [
                Status::New,
                Status::Triaged,
                Status::InProgress,
                Status::OnHold,
                Status::Escalated
            ]
        );
    }
}
