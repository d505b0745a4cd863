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
//!    entry of each ticket**, so one ticket's changes reach the remote in order. Claimed entries
//!    are `delivering` for a lease; if the worker dies, they become claimable again when the
//!    lease runs out (delivery is at-least-once). On PostgreSQL and MySQL the claim uses
//!    `FOR UPDATE SKIP LOCKED`, so several workers can share the outbox; on SQLite claims are
//!    serialized by the writer lock (run one worker).
//! 2. After trying, the worker calls [`Outbox::delivered`] (the row is deleted),
//!    [`Outbox::retry_later`] (back to `pending` at a later time, error kept, attempts + 1) or
//!    [`Outbox::park`] (kept aside with its error until [`Outbox::requeue_parked`]; it keeps
//!    blocking that ticket's later entries, so order is never broken).
//! 3. [`Outbox::stats`] and [`Outbox::entries`] show what is waiting, for `sync status`.
//!
//! [`Links`](crate::Links) maps a local ticket to its id in each remote (`(ticket, remote name) -> remote
//! id`, unique both ways). With the outbox on, [`Ticket::links`](tickets_core::Ticket) is
//! filled from it, keyed by the remote's kind.
//!
//! [`InternalConfig::outbox`]: crate::InternalConfig::outbox

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tickets_core::{Error, NewComment, NewTicket, Result, TicketId, TicketPatch};

use crate::client::Dialect;
use crate::convert::now;
use crate::exec::{Arg, Exec, RowRead, Sql};
use crate::provider::InternalProvider;
use crate::tx::{Done, in_tx};

/// What an outbox entry asks the remote to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Create the ticket; the payload is a [`NewTicket`].
    Create,
    /// Change fields (status and assignee included); the payload is a [`TicketPatch`].
    Update,
    /// Add a comment; the payload is a [`NewComment`].
    Comment,
}

impl Operation {
    /// `create`, `update` or `comment`, as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Comment => "comment",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "create" => Operation::Create,
            "update" => Operation::Update,
            "comment" => Operation::Comment,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

const ENTRY_COLUMNS: &str = "o.seq, o.ticket_id, o.operation, o.payload, o.state, o.attempts, \
     o.last_error, o.available_at, o.created_at";

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

    /// Claims up to `limit` due entries for `lease`: oldest first, at most one per ticket (its
    /// oldest undelivered entry), skipping entries other workers hold.
    pub async fn claim(&self, limit: u32, lease: Duration) -> Result<Vec<OutboxEntry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lock = match self.store.dialect() {
            Dialect::Sqlite => "",
            Dialect::Postgres | Dialect::MySql => " FOR UPDATE SKIP LOCKED",
        };
        let select = self.sql(&format!(
            "SELECT {ENTRY_COLUMNS} FROM outbox o \
             WHERE o.state IN ('pending', 'delivering') AND o.available_at <= ? \
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.ticket_id = o.ticket_id AND p.seq < o.seq) \
             ORDER BY o.seq LIMIT ?{lock}"
        ));
        let lease = chrono::Duration::from_std(lease)
            .map_err(|_| Error::invalid_input("lease is too long"))?;
        let store = self.store;
        in_tx!(store, |ex| async {
            let at = now();
            let mut entries = ex
                .fetch_all(
                    &select,
                    &[at.into(), Arg::Int(i64::from(limit))],
                    entry_from_row,
                )
                .await?;
            if entries.is_empty() {
                return Ok(Done::Discard(entries));
            }
            let until = at + lease;
            let marks = vec!["?"; entries.len()].join(", ");
            let update = self.sql(&format!(
                "UPDATE outbox SET state = 'delivering', available_at = ? WHERE seq IN ({marks})"
            ));
            let mut args = vec![Arg::from(until)];
            args.extend(entries.iter().map(|e| Arg::Int(e.seq)));
            ex.execute(&update, &args).await?;
            for e in &mut entries {
                e.state = EntryState::Delivering;
                e.available_at = until;
            }
            Ok(Done::Commit(entries))
        })
    }

    /// The entry reached the remote: removes it.
    pub async fn delivered(&self, seq: i64) -> Result<()> {
        let sql = self.sql("DELETE FROM outbox WHERE seq = ?");
        self.change_one(&sql, vec![Arg::Int(seq)], seq).await
    }

    /// The attempt failed and may work later: back to pending at `at`, with the error kept.
    pub async fn retry_later(&self, seq: i64, error: &str, at: DateTime<Utc>) -> Result<()> {
        let sql = self.sql(
            "UPDATE outbox SET state = 'pending', attempts = attempts + 1, last_error = ?, \
             available_at = ? WHERE seq = ?",
        );
        self.change_one(&sql, vec![error.into(), at.into(), Arg::Int(seq)], seq)
            .await
    }

    /// The attempt failed in a way retrying will not fix: set the entry aside (it keeps
    /// blocking later entries of its ticket) until [`Outbox::requeue_parked`].
    pub async fn park(&self, seq: i64, error: &str) -> Result<()> {
        let sql = self.sql(
            "UPDATE outbox SET state = 'parked', attempts = attempts + 1, last_error = ? \
             WHERE seq = ?",
        );
        self.change_one(&sql, vec![error.into(), Arg::Int(seq)], seq)
            .await
    }

    /// Makes parked entries (of one ticket, or all) pending again, due now. Returns how many.
    pub async fn requeue_parked(&self, ticket: Option<&TicketId>) -> Result<u64> {
        let (sql, mut args) = match ticket {
            Some(id) => (
                self.sql(
                    "UPDATE outbox SET state = 'pending', available_at = ? \
                     WHERE state = 'parked' AND ticket_id = ?",
                ),
                vec![Arg::from(id.as_str())],
            ),
            None => (
                self.sql(
                    "UPDATE outbox SET state = 'pending', available_at = ? WHERE state = 'parked'",
                ),
                Vec::new(),
            ),
        };
        args.insert(0, now().into());
        let store = self.store;
        in_tx!(store, |ex| async {
            Ok(Done::Commit(ex.execute(&sql, &args).await?))
        })
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

    async fn change_one(&self, sql: &Sql, args: Vec<Arg>, seq: i64) -> Result<()> {
        let store = self.store;
        let changed = in_tx!(store, |ex| async {
            Ok(Done::Commit(ex.execute(sql, &args).await?))
        })?;
        if changed == 0 {
            return Err(Error::not_found(format!("outbox entry {seq}")));
        }
        Ok(())
    }
}

fn entry_from_row(r: &dyn RowRead) -> Result<OutboxEntry> {
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
    })
}
