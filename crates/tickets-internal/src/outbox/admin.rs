//! What people (and `sync run --once`) do to the outbox: re-queue or skip parked entries, and
//! make entries waiting in backoff due now.

use tickets_core::{
    Comment, Error, ErrorKind, HistoryAction, NewComment, Result, TicketId, TicketPatch,
};

use super::{ENTRY_COLUMNS, EntryState, Operation, Outbox, OutboxEntry, Recorder, entry_from_row};
use crate::client::Dialect;
use crate::convert::now;
use crate::exec::Arg;
use crate::query;
use crate::tx::{Done, in_tx};

impl Outbox<'_> {
    /// Makes parked entries (of one ticket, or all) pending again, due now, with their attempt
    /// count reset (the last error stays visible until the next attempt). Returns how many.
    pub async fn requeue_parked(&self, ticket: Option<&TicketId>) -> Result<u64> {
        let (sql, mut args) = match ticket {
            Some(id) => (
                self.sql(
                    "UPDATE outbox SET state = 'pending', available_at = ?, attempts = 0 \
                     WHERE state = 'parked' AND ticket_id = ?",
                ),
                vec![Arg::from(id.as_str())],
            ),
            None => (
                self.sql(
                    "UPDATE outbox SET state = 'pending', available_at = ?, attempts = 0 \
                     WHERE state = 'parked'",
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

    /// Drops one parked entry for good, so its ticket's later changes flow again, and records
    /// that on the ticket's history (action `SYNC`, field `skipped`, the change and its error).
    /// Only a parked entry can be skipped: `NotFound` for an unknown `seq`, `InvalidInput` for
    /// one that is pending or being delivered. Returns the entry as it was.
    pub async fn skip(&self, seq: i64) -> Result<OutboxEntry> {
        let lock = match self.store.dialect() {
            Dialect::Sqlite => "",
            Dialect::Postgres | Dialect::MySql => " FOR UPDATE",
        };
        let select = self.sql(&format!(
            "SELECT {ENTRY_COLUMNS} FROM outbox o WHERE o.seq = ?{lock}"
        ));
        let delete = self.sql("DELETE FROM outbox WHERE seq = ? AND state = 'parked'");
        let history = query::insert_history(self.store.dialect(), 1);
        let store = self.store;
        in_tx!(store, |ex| async {
            let entry = ex
                .fetch_optional(&select, &[Arg::Int(seq)], entry_from_row)
                .await?
                .ok_or_else(|| Error::not_found(format!("outbox entry {seq}")))?;
            if entry.state != EntryState::Parked {
                return Err(Error::invalid_input(format!(
                    "outbox entry {seq} is {}, not parked; only a parked change can be skipped",
                    entry.state.as_str()
                )));
            }
            if ex.execute(&delete, &[Arg::Int(seq)]).await? == 0 {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("outbox entry {seq} changed while it was being skipped; try again"),
                ));
            }
            let what = match &entry.last_error {
                Some(err) => format!("{} change #{seq} (parked: {err})", entry.operation),
                None => format!("{} change #{seq}", entry.operation),
            };
            let args = [
                Arg::from(entry.ticket_id.as_str()),
                HistoryAction::Sync.as_str().into(),
                Arg::from("skipped"),
                what.into(),
                Arg::from("not delivered to the remote"),
                Arg::Text(None),
                now().into(),
            ];
            ex.execute(&history, &args).await?;
            Ok(Done::Commit(entry))
        })
    }

    /// Records an update entry for `ticket` without changing it: the fields `touched` names
    /// are delivered with their current values (what `sync verify --repair remote` does for
    /// fields that differ). `NotFound` for an unknown ticket.
    pub async fn enqueue_update(&self, ticket: &TicketId, touched: &TicketPatch) -> Result<()> {
        let recorder = Recorder::new(self.store.dialect());
        let exists = self.sql("SELECT number FROM tickets WHERE id = ?");
        let mut payload = touched.clone();
        payload.expected_version = None;
        let store = self.store;
        in_tx!(store, |ex| async {
            if ex
                .fetch_optional(&exists, &[ticket.as_str().into()], |r| r.int(0))
                .await?
                .is_none()
            {
                return Err(Error::not_found(format!("ticket {ticket}")));
            }
            recorder
                .record(ex, ticket, Operation::Update, &payload, now())
                .await?;
            Ok(Done::Commit(()))
        })
    }

    /// Records a comment entry delivering an existing local comment again (with the key
    /// derived from it, so a remote that has it keeps one): `sync verify --repair remote` for a
    /// comment missing there.
    pub async fn enqueue_comment(&self, comment: &Comment) -> Result<()> {
        let recorder = Recorder::new(self.store.dialect());
        let mut new = NewComment::new(comment.body.clone());
        new.author = comment.author.clone();
        new.public = comment.public;
        new.idempotency_key = comment.idempotency_key.clone();
        let store = self.store;
        in_tx!(store, |ex| async {
            recorder
                .record_comment(ex, &comment.ticket_id, &comment.id, &new, now())
                .await?;
            Ok(Done::Commit(()))
        })
    }

    /// Makes every pending entry waiting in backoff due now (what `sync run --once` does
    /// first: deliver everything that is not parked, now). Returns how many.
    pub async fn make_due(&self) -> Result<u64> {
        let sql = self
            .sql("UPDATE outbox SET available_at = ? WHERE state = 'pending' AND available_at > ?");
        let at = now();
        let args = [Arg::from(at), at.into()];
        let store = self.store;
        in_tx!(store, |ex| async {
            Ok(Done::Commit(ex.execute(&sql, &args).await?))
        })
    }
}
