//! The outbox and the link table: what the `sync` provider builds on.
//!
//! When a store is opened with `outbox = true` ([`InternalConfig::outbox`]), every write
//! (create, update — including status changes and assignment — and comment) also inserts an
//! outbox row **in the same transaction**: the ticket id, the operation, and the request as JSON
//! ([`NewTicket`], [`TicketPatch`] without `expected_version`, [`NewComment`]). Either both the
//! change and its outbox row are stored, or neither is. Idempotent repeats and no-op patches
//! record nothing.
//!
//! A worker then pushes entries to the remote:
//!
//! 1. [`Outbox::claim`] hands out due entries, oldest first, and **only the oldest undelivered
//!    entry of each ticket**, so one ticket's changes reach the remote in order. A claimed entry
//!    is `delivering` until its lease ends and carries a **claim token** ([`OutboxEntry::claim_token`]).
//!    If the worker dies, the entry becomes claimable again when the lease runs out (delivery is
//!    at-least-once), with a new token. On PostgreSQL and MySQL the claim uses
//!    `FOR UPDATE SKIP LOCKED`, so several workers can share the outbox; on SQLite claims are
//!    serialized by the writer lock.
//! 2. **Fencing:** every write about a claimed entry is conditional on its token.
//!    [`Outbox::extend`] re-checks the claim and pushes its lease out (a worker calls it right
//!    before each remote request); [`Outbox::delivered`] (the row is deleted),
//!    [`Outbox::retry_later`] (back to `pending` at a later time, error kept, attempts + 1),
//!    [`Outbox::release`] (back to `pending` without counting an attempt: a rate-limit pause, a
//!    worker stopping) and [`Outbox::park`] (kept aside with its error; it keeps blocking that
//!    ticket's later entries, so order is never broken) all answer `false` and write nothing
//!    when the claim was lost, so a worker that outlived its lease can never record over the
//!    entry's new holder.
//! 3. People act on parked entries: [`Outbox::requeue_parked`] (pending again, attempts reset),
//!    [`Outbox::skip`] (dropped, with a history record on the ticket, so later changes flow).
//!    [`Outbox::stats`] and [`Outbox::entries`] show what is waiting, for `sync status`.
//!
//! [`Links`](crate::Links) maps a local ticket to its id in each remote (`(ticket, remote name) -> remote
//! id`, unique both ways). With the outbox on, [`Ticket::links`](tickets_core::Ticket) is
//! filled from it, keyed by the remote's kind.
//!
//! [`InternalConfig::outbox`]: crate::InternalConfig::outbox

mod admin;
mod claims;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tickets_core::{Error, NewComment, NewTicket, Result, TicketId, TicketPatch};

use crate::client::Dialect;
use crate::exec::{Arg, Exec, RowRead, Sql};
use crate::provider::InternalProvider;

/// What an outbox entry asks the remote to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Create the ticket; the payload is a [`NewTicket`].
    Create,
    /// Change fields (status and assignee included); the payload is a [`TicketPatch`].
    Update,
    /// Add a comment; the payload is a [`NewComment`].
    Comment,
    /// Add an attachment; the payload names the local attachment (`attachment_id`) and its
    /// idempotency key; the content is read from the store when delivered.
    Attachment,
}

impl Operation {
    /// `create`, `update` or `comment`, as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Comment => "comment",
            Operation::Attachment => "attachment",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "create" => Operation::Create,
            "update" => Operation::Update,
            "comment" => Operation::Comment,
            "attachment" => Operation::Attachment,
            other => {
                return Err(Error::unexpected(format!(
                    "unknown outbox operation {other:?}"
                )));
            }
        })
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an outbox entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Waiting for its `available_at`.
    Pending,
    /// Claimed by a worker until `available_at` (the lease).
    Delivering,
    /// Set aside after a failure nobody should retry blindly; see [`Outbox::requeue_parked`].
    Parked,
}

impl EntryState {
    /// `pending`, `delivering` or `parked`, as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            EntryState::Pending => "pending",
            EntryState::Delivering => "delivering",
            EntryState::Parked => "parked",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "pending" => EntryState::Pending,
            "delivering" => EntryState::Delivering,
            "parked" => EntryState::Parked,
            other => return Err(Error::unexpected(format!("unknown outbox state {other:?}"))),
        })
    }
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutboxEntry {
    /// Its position; entries are delivered in this order per ticket.
    pub seq: i64,
    /// The local ticket.
    pub ticket_id: TicketId,
    /// What to do.
    pub operation: Operation,
    /// The request, as JSON (see [`Operation`]).
    pub payload: serde_json::Value,
    /// Where it stands.
    pub state: EntryState,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When it may be claimed (pending), or when its lease ends (delivering).
    pub available_at: DateTime<Utc>,
    /// When the local change was made.
    pub created_at: DateTime<Utc>,
    /// The worker holding it (delivering), as it named itself to [`Outbox::claim`].
    pub claimed_by: Option<String>,
    /// The token of the claim that handed it out (delivering): every outcome write about the
    /// entry is conditional on it.
    pub claim_token: Option<String>,
}

impl OutboxEntry {
    /// The payload of a `create`.
    pub fn new_ticket(&self) -> Result<NewTicket> {
        self.payload_as(Operation::Create)
    }

    /// The payload of an `update`.
    pub fn patch(&self) -> Result<TicketPatch> {
        self.payload_as(Operation::Update)
    }

    /// The payload of a `comment`.
    pub fn comment(&self) -> Result<NewComment> {
        self.payload_as(Operation::Comment)
    }

    /// The local attachment an `attachment` entry delivers.
    pub fn attachment_id(&self) -> Option<&str> {
        (self.operation == Operation::Attachment)
            .then(|| self.payload.get("attachment_id").and_then(|v| v.as_str()))
            .flatten()
    }

    /// The local comment a `comment` entry delivers (entries recorded before this was kept
    /// have none).
    pub fn comment_id(&self) -> Option<&str> {
        (self.operation == Operation::Comment)
            .then(|| self.payload.get(COMMENT_ID).and_then(|v| v.as_str()))
            .flatten()
    }

    fn payload_as<T: serde::de::DeserializeOwned>(&self, op: Operation) -> Result<T> {
        if self.operation != op {
            return Err(Error::invalid_input(format!(
                "outbox entry {} is a {}, not a {op}",
                self.seq, self.operation
            )));
        }
        serde_json::from_value(self.payload.clone()).map_err(|e| {
            Error::unexpected(format!("outbox entry {} has a bad payload: {e}", self.seq))
        })
    }
}

/// Counts by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OutboxStats {
    /// Waiting to be delivered.
    pub pending: u64,
    /// Claimed by a worker.
    pub delivering: u64,
    /// Set aside after failures.
    pub parked: u64,
    /// When the oldest entry not yet delivered was made.
    pub oldest: Option<DateTime<Utc>>,
}

impl OutboxStats {
    /// Entries not delivered yet.
    pub fn total(&self) -> u64 {
        self.pending + self.delivering + self.parked
    }
}

pub(super) const ENTRY_COLUMNS: &str = "o.seq, o.ticket_id, o.operation, o.payload, o.state, o.attempts, \
     o.last_error, o.available_at, o.created_at, o.claimed_by, o.claim_token";

/// The payload key of a comment entry naming the local comment.
const COMMENT_ID: &str = "comment_id";

/// Inserts outbox rows inside a provider's write transactions.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    insert: Sql,
}

impl Recorder {
    pub(crate) fn new(d: Dialect) -> Self {
        Self {
            insert: Sql::new(
                d,
                "INSERT INTO outbox (ticket_id, operation, payload, state, attempts, last_error, \
                 available_at, created_at) VALUES (?, ?, ?, 'pending', 0, NULL, ?, ?)",
            ),
        }
    }

    pub(crate) async fn record(
        &self,
        ex: &mut Exec<'_>,
        id: &TicketId,
        op: Operation,
        payload: &impl Serialize,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let payload = serde_json::to_string(payload)
            .map_err(|e| Error::unexpected(format!("cannot encode the outbox payload: {e}")))?;
        self.insert(ex, id, op, payload, at).await
    }

    /// Records a comment entry naming the local comment, so its delivery carries an identity
    /// derived from it.
    pub(crate) async fn record_comment(
        &self,
        ex: &mut Exec<'_>,
        id: &TicketId,
        comment_id: &str,
        new: &NewComment,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut payload = serde_json::to_value(new)
            .map_err(|e| Error::unexpected(format!("cannot encode the outbox payload: {e}")))?;
        if let Some(map) = payload.as_object_mut() {
            map.insert(COMMENT_ID.to_owned(), comment_id.into());
        }
        self.insert(ex, id, Operation::Comment, payload.to_string(), at)
            .await
    }

    async fn insert(
        &self,
        ex: &mut Exec<'_>,
        id: &TicketId,
        op: Operation,
        payload: String,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let args = [
            Arg::from(id.as_str()),
            op.as_str().into(),
            payload.into(),
            at.into(),
            at.into(),
        ];
        ex.execute(&self.insert, &args).await.map(drop)
    }
}

/// The outbox of one store; see the [module docs](self). Get one with
/// [`InternalProvider::outbox`].
#[derive(Debug, Clone, Copy)]
pub struct Outbox<'a> {
    store: &'a InternalProvider,
}

impl<'a> Outbox<'a> {
    pub(crate) fn new(store: &'a InternalProvider) -> Self {
        Self { store }
    }

    fn sql(&self, text: &str) -> Sql {
        Sql::new(self.store.dialect(), text)
    }

    /// Counts by state, and the oldest undelivered entry's time.
    pub async fn stats(&self) -> Result<OutboxStats> {
        let sql = self.sql("SELECT state, COUNT(*), MIN(created_at) FROM outbox GROUP BY state");
        let mut conn = self.store.db().conn().await?;
        let rows = conn
            .exec()
            .fetch_all(&sql, &[], |r| Ok((r.text(0)?, r.int(1)?, r.opt_time(2)?)))
            .await?;
        let mut stats = OutboxStats::default();
        for (state, count, oldest) in rows {
            let count = u64::try_from(count).unwrap_or_default();
            match EntryState::parse(&state)? {
                EntryState::Pending => stats.pending = count,
                EntryState::Delivering => stats.delivering = count,
                EntryState::Parked => stats.parked = count,
            }
            stats.oldest = match (stats.oldest, oldest) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(stats)
    }

    /// How many entries of one ticket are not delivered yet (any state).
    pub async fn undelivered(&self, ticket: &TicketId) -> Result<u64> {
        let sql = self.sql("SELECT COUNT(*) FROM outbox WHERE ticket_id = ?");
        let mut conn = self.store.db().conn().await?;
        let n = conn
            .exec()
            .fetch_optional(&sql, &[ticket.as_str().into()], |r| r.int(0))
            .await?;
        Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
    }

    /// The undelivered entries of one ticket, in order.
    pub async fn of_ticket(&self, ticket: &TicketId) -> Result<Vec<OutboxEntry>> {
        let sql = self.sql(&format!(
            "SELECT {ENTRY_COLUMNS} FROM outbox o WHERE o.ticket_id = ? ORDER BY o.seq"
        ));
        let mut conn = self.store.db().conn().await?;
        conn.exec()
            .fetch_all(&sql, &[ticket.as_str().into()], entry_from_row)
            .await
    }

    /// Entries in order, optionally of one state, at most `limit`.
    pub async fn entries(&self, state: Option<EntryState>, limit: u32) -> Result<Vec<OutboxEntry>> {
        let mut args = Vec::new();
        let filter = match state {
            Some(s) => {
                args.push(Arg::from(s.as_str()));
                "WHERE o.state = ? "
            }
            None => "",
        };
        args.push(Arg::Int(i64::from(limit)));
        let sql = self.sql(&format!(
            "SELECT {ENTRY_COLUMNS} FROM outbox o {filter}ORDER BY o.seq LIMIT ?"
        ));
        let mut conn = self.store.db().conn().await?;
        conn.exec().fetch_all(&sql, &args, entry_from_row).await
    }
}

pub(super) fn entry_from_row(r: &dyn RowRead) -> Result<OutboxEntry> {
    let payload = r.text(3)?;
    Ok(OutboxEntry {
        seq: r.int(0)?,
        ticket_id: TicketId::new(r.text(1)?),
        operation: Operation::parse(&r.text(2)?)?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| Error::unexpected(format!("outbox payload is not JSON: {e}")))?,
        state: EntryState::parse(&r.text(4)?)?,
        attempts: u32::try_from(r.int(5)?).unwrap_or(u32::MAX),
        last_error: r.opt_text(6)?,
        available_at: r.time(7)?,
        created_at: r.time(8)?,
        claimed_by: r.opt_text(9)?,
        claim_token: r.opt_text(10)?,
    })
}
