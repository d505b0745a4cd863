//! Rows <-> model: column lists, how each field is stored, and the decoders.
//!
//! | model field      | column (all dialects)       | stored as                                |
//! |------------------|-----------------------------|------------------------------------------|
//! | `id`             | `id`                        | UUIDv7 text                              |
//! | `number`         | `number`                    | auto-increment integer, shown as text    |
//! | `status`         | `status`                    | snake_case name (`in_progress`)          |
//! | `priority`       | `priority`                  | lower-case name (`high`)                 |
//! | `watchers`       | `watchers`                  | JSON array text                          |
//! | `tags`           | `tags` + `ticket_tags` rows | JSON array text, one row per tag         |
//! | `custom_fields`  | `custom_fields`             | JSON object text                         |
//! | `due`            | `due`                       | DATE (SQLite: `YYYY-MM-DD` text)         |
//! | `created_at`...  | `created_at`, `updated_at`  | TIMESTAMPTZ / DATETIME(6) / RFC 3339 text, microseconds |
//! | `version`        | `version`                   | integer, +1 per change, shown as text    |

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use tickets_core::{
    Comment, Error, HistoryAction, HistoryEntry, Priority, Result, Status, Ticket, TicketId, Value,
};

use crate::exec::RowRead;

/// The provider kind.
pub const KIND: &str = "internal";

/// The ticket columns every ticket query selects, in [`ticket_from_row`] order.
pub(crate) const TICKET_COLUMNS: &str = "t.number, t.id, t.subject, t.description, t.status, \
     t.priority, t.kind, t.assignee, t.requester, t.watchers, t.tags, t.due, t.custom_fields, \
     t.created_at, t.updated_at, t.version";

/// The comment columns, in [`comment_from_row`] order.
pub(crate) const COMMENT_COLUMNS: &str =
    "id, ticket_id, author, body, public, created_at, idempotency_key";

/// The history columns, in [`history_from_row`] order.
pub(crate) const HISTORY_COLUMNS: &str = "action, field, old_value, new_value, actor, created_at";

/// Now, at the microsecond precision every dialect keeps, so what `create` returns equals what
/// `get` reads back.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub(crate) fn ticket_from_row(row: &dyn RowRead) -> Result<Ticket> {
    let number = row.int(0)?;
    let id = row.text(1)?;
    let created_at = row.time(13)?;
    let mut t = Ticket::new(TicketId::new(id), KIND, row.text(2)?, created_at);
    t.number = Some(number.to_string());
    t.description = row.text(3)?;
    t.status = parse_status(&row.text(4)?)?;
    t.priority = parse_priority(&row.text(5)?)?;
    t.kind = row.opt_text(6)?;
    t.assignee = row.opt_text(7)?;
    t.requester = row.opt_text(8)?;
    t.watchers = from_json(&row.text(9)?, "watchers")?;
    t.tags = from_json(&row.text(10)?, "tags")?;
    t.due = row.opt_date(11)?;
    t.custom_fields = from_json::<BTreeMap<String, Value>>(&row.text(12)?, "custom_fields")?;
    t.updated_at = row.time(14)?;
    t.version = Some(row.int(15)?.to_string());
    Ok(t)
}

pub(crate) fn comment_from_row(row: &dyn RowRead) -> Result<Comment> {
    let mut c = Comment::new(
        row.text(0)?,
        TicketId::new(row.text(1)?),
        row.text(3)?,
        row.time(5)?,
    );
    c.author = row.opt_text(2)?;
    c.public = row.boolean(4)?;
    c.idempotency_key = row.opt_text(6)?;
    Ok(c)
}

pub(crate) fn history_from_row(row: &dyn RowRead) -> Result<HistoryEntry> {
    let action = parse_action(&row.text(0)?)?;
    let mut e = HistoryEntry::new(action, row.time(5)?);
    e.field = row.opt_text(1)?;
    e.old_value = row.opt_text(2)?;
    e.new_value = row.opt_text(3)?;
    e.actor = row.opt_text(4)?;
    Ok(e)
}

pub(crate) fn int_from_row(row: &dyn RowRead) -> Result<i64> {
    row.int(0)
}

pub(crate) fn parse_status(s: &str) -> Result<Status> {
    Status::from_str(s).map_err(|_| Error::unexpected(format!("stored status {s:?} is unknown")))
}

pub(crate) fn parse_priority(s: &str) -> Result<Priority> {
    Priority::from_str(s)
        .map_err(|_| Error::unexpected(format!("stored priority {s:?} is unknown")))
}

pub(crate) fn parse_action(s: &str) -> Result<HistoryAction> {
    Ok(match s {
        "CREATED" => HistoryAction::Created,
        "UPDATED" => HistoryAction::Updated,
        "STATUS_CHANGE" => HistoryAction::StatusChange,
        "ASSIGNED" => HistoryAction::Assigned,
        "COMMENT_ADDED" => HistoryAction::CommentAdded,
        "ATTACHMENT_ADDED" => HistoryAction::AttachmentAdded,
        "SYNC" => HistoryAction::Sync,
        other => {
            return Err(Error::unexpected(format!(
                "stored history action {other:?} is unknown"
            )));
        }
    })
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    // Vec<String> and BTreeMap<String, Value> always serialize.
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str, column: &str) -> Result<T> {
    serde_json::from_str(s)
        .map_err(|e| Error::unexpected(format!("stored {column} is not valid JSON: {e}")))
}

/// The version as stored, from a ticket read back.
pub(crate) fn version_of(t: &Ticket) -> i64 {
    t.version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip() {
        for a in [
            HistoryAction::Created,
            HistoryAction::Updated,
            HistoryAction::StatusChange,
            HistoryAction::Assigned,
            HistoryAction::CommentAdded,
        ] {
            assert_eq!(parse_action(a.as_str()).unwrap(), a);
        }
        assert!(parse_action("X").is_err());
    }

    #[test]
    fn statuses_and_priorities_round_trip() {
        for s in Status::ALL {
            assert_eq!(parse_status(s.as_str()).unwrap(), s);
        }
        for p in Priority::ALL {
            assert_eq!(parse_priority(p.as_str()).unwrap(), p);
        }
    }

    #[test]
    fn now_is_microseconds() {
        assert_eq!(now().timestamp_subsec_nanos() % 1000, 0);
    }
}
