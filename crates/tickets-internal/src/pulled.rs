//! Applying a remote ticket's state locally (the `sync` provider's pull), in one transaction.

use chrono::{DateTime, Utc};
use tickets_core::{Error, ErrorKind, HistoryEntry, Result, Ticket, TicketId, TicketPatch};

use crate::client::Dialect;
use crate::exec::Sql;
use crate::links::record_remote_in;
use crate::provider::InternalProvider;
use crate::tx::{Done, in_tx};

/// The remote side of a pull: which remote, and the state of its ticket being applied.
#[derive(Debug, Clone, Copy)]
pub struct PulledState<'a> {
    /// The remote backend's name (as in the link table).
    pub remote_name: &'a str,
    /// The remote ticket's modification time.
    pub remote_updated_at: DateTime<Utc>,
    /// The remote ticket as read (recorded on the link as what both sides now agree on).
    pub snapshot: &'a serde_json::Value,
    /// The ticket's undelivered outbox entries the caller decided on (their `seq`s): if these
    /// changed (one was delivered, or a worker claimed one and may be sending the local values
    /// of now) the pull is refused with `Conflict` so the caller decides again.
    pub undelivered: &'a [i64],
}

impl InternalProvider {
    /// Applies a pulled remote state to a local ticket, in one transaction: the patch (with
    /// `patch.expected_version` set to the version the caller computed it from, so a local
    /// write since makes it `Conflict` and nothing at all is written), history `notes` (e.g.
    /// the conflicts the caller settled), and the link's record of the remote state (never
    /// replacing a newer one). No outbox entry is written: a pulled change is not pushed back.
    /// The ticket's outbox entries are locked for the transaction, so no worker claims one
    /// meanwhile. Returns the ticket as stored afterwards.
    pub async fn apply_pulled(
        &self,
        id: &TicketId,
        patch: &TicketPatch,
        notes: &[HistoryEntry],
        remote: PulledState<'_>,
    ) -> Result<Ticket> {
        patch.validate()?;
        let quiet = self.without_outbox();
        let dialect = self.dialect();
        let lock = match dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres | Dialect::MySql => " FOR UPDATE",
        };
        let entries = Sql::new(
            dialect,
            &format!("SELECT seq, state FROM outbox WHERE ticket_id = ? ORDER BY seq{lock}"),
        );
        let result: Result<Ticket> = in_tx!(self, |ex| async {
            // The ticket row first, then its outbox rows: the order local writes take them in.
            let ticket = match quiet.update_in(ex, id, patch).await? {
                Done::Commit(t) | Done::Discard(t) => t,
            };
            let now: Vec<(i64, String)> = ex
                .fetch_all(&entries, &[id.as_str().into()], |r| {
                    Ok((r.int(0)?, r.text(1)?))
                })
                .await?;
            let seqs: Vec<i64> = now.iter().map(|(s, _)| *s).collect();
            if seqs != remote.undelivered || now.iter().any(|(_, st)| st == "delivering") {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "the ticket's undelivered changes moved while the pull was applied; \
                     decide again",
                ));
            }
            quiet.insert_history(ex, id, notes).await?;
            record_remote_in(
                ex,
                dialect,
                id,
                remote.remote_name,
                remote.remote_updated_at,
                remote.snapshot,
            )
            .await?;
            Ok(Done::Commit(ticket))
        });
        result.map_err(|e| e.with_context("ticket", id))
    }
}
