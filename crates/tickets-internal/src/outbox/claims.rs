//! Fenced claims: handing entries to a worker, and every write the worker makes about them.
//!
//! A claim stamps the entries it hands out with a fresh token and the worker's name. Each later
//! write about an entry (`extend`, `delivered`, `retry_later`, `release`, `park`) names the
//! token and changes nothing unless the entry is still `delivering` under it. A worker that
//! stalled past its lease (a pause, a slow remote, a suspended VM) and whose entry was handed
//! to another worker meanwhile therefore gets `false` back and records nothing; since it also
//! calls [`Outbox::extend`] right before each remote request, it does not send either.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tickets_core::{Error, Result};

use super::{ENTRY_COLUMNS, EntryState, Outbox, OutboxEntry, entry_from_row};
use crate::client::Dialect;
use crate::convert::now;
use crate::exec::{Arg, Sql};
use crate::tx::{Done, in_tx};

fn lease_delta(lease: Duration) -> Result<chrono::Duration> {
    chrono::Duration::from_std(lease).map_err(|_| Error::invalid_input("lease is too long"))
}

/// The token of an entry handed out by [`Outbox::claim`].
fn token_of(entry: &OutboxEntry) -> Result<&str> {
    entry.claim_token.as_deref().ok_or_else(|| {
        Error::invalid_input(format!(
            "outbox entry {} was not handed out by a claim (it has no claim token)",
            entry.seq
        ))
    })
}

impl Outbox<'_> {
    /// Claims up to `limit` due entries for `lease` on behalf of `owner` (a worker's name, shown
    /// by `sync status`): oldest first, at most one per ticket (its oldest undelivered entry),
    /// skipping entries other workers hold. Each returned entry carries the claim's token.
    pub async fn claim(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxEntry>> {
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
        let lease = lease_delta(lease)?;
        let store = self.store;
        let token = uuid::Uuid::new_v4().simple().to_string();
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
                "UPDATE outbox SET state = 'delivering', available_at = ?, claim_token = ?, \
                 claimed_by = ? WHERE seq IN ({marks})"
            ));
            let mut args = vec![Arg::from(until), token.as_str().into(), owner.into()];
            args.extend(entries.iter().map(|e| Arg::Int(e.seq)));
            ex.execute(&update, &args).await?;
            for e in &mut entries {
                e.state = EntryState::Delivering;
                e.available_at = until;
                e.claim_token = Some(token.clone());
                e.claimed_by = Some(owner.to_owned());
            }
            Ok(Done::Commit(entries))
        })
    }

    /// Re-checks a claim and extends its lease to `lease` from now. `false` when the claim was
    /// lost (the entry is someone else's now, or gone): the caller must not send anything for
    /// it. Call it right before each remote request.
    #[must_use = "false means the claim is lost and nothing may be sent for the entry"]
    pub async fn extend(&self, entry: &OutboxEntry, lease: Duration) -> Result<bool> {
        let sql = self.sql(
            "UPDATE outbox SET available_at = ? WHERE seq = ? AND claim_token = ? \
             AND state = 'delivering'",
        );
        let until = now() + lease_delta(lease)?;
        let args = vec![until.into(), Arg::Int(entry.seq), token_of(entry)?.into()];
        self.fenced(&sql, args).await
    }

    /// The entry reached the remote: removes it. `false` (nothing written) when the claim was
    /// lost.
    #[must_use = "false means the claim was lost and nothing was recorded"]
    pub async fn delivered(&self, entry: &OutboxEntry) -> Result<bool> {
        let sql = self
            .sql("DELETE FROM outbox WHERE seq = ? AND claim_token = ? AND state = 'delivering'");
        let args = vec![Arg::Int(entry.seq), token_of(entry)?.into()];
        self.fenced(&sql, args).await
    }

    /// The attempt failed and may work later: back to pending at `at`, attempts + 1, the error
    /// kept. `false` (nothing written) when the claim was lost.
    #[must_use = "false means the claim was lost and nothing was recorded"]
    pub async fn retry_later(
        &self,
        entry: &OutboxEntry,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let sql = self.sql(
            "UPDATE outbox SET state = 'pending', attempts = attempts + 1, last_error = ?, \
             available_at = ?, claim_token = NULL, claimed_by = NULL \
             WHERE seq = ? AND claim_token = ? AND state = 'delivering'",
        );
        let args = vec![
            error.into(),
            at.into(),
            Arg::Int(entry.seq),
            token_of(entry)?.into(),
        ];
        self.fenced(&sql, args).await
    }

    /// Gives a claimed entry back without counting an attempt, claimable again from `at`: a
    /// rate-limit pause (a worker never waits while holding a claim) or a worker stopping.
    /// `note`, when given, replaces the last error (so `sync status` says why it waits).
    /// `false` (nothing written) when the claim was lost.
    #[must_use = "false means the claim was lost and nothing was recorded"]
    pub async fn release(
        &self,
        entry: &OutboxEntry,
        at: DateTime<Utc>,
        note: Option<&str>,
    ) -> Result<bool> {
        let sql = self.sql(
            "UPDATE outbox SET state = 'pending', available_at = ?, \
             last_error = COALESCE(?, last_error), claim_token = NULL, claimed_by = NULL \
             WHERE seq = ? AND claim_token = ? AND state = 'delivering'",
        );
        let args = vec![
            at.into(),
            Arg::Text(note.map(str::to_owned)),
            Arg::Int(entry.seq),
            token_of(entry)?.into(),
        ];
        self.fenced(&sql, args).await
    }

    /// The attempt failed in a way retrying will not fix: set the entry aside (it keeps
    /// blocking later entries of its ticket) until [`Outbox::requeue_parked`] or
    /// [`Outbox::skip`]. `false` (nothing written) when the claim was lost.
    #[must_use = "false means the claim was lost and nothing was recorded"]
    pub async fn park(&self, entry: &OutboxEntry, error: &str) -> Result<bool> {
        let sql = self.sql(
            "UPDATE outbox SET state = 'parked', attempts = attempts + 1, last_error = ?, \
             claim_token = NULL, claimed_by = NULL \
             WHERE seq = ? AND claim_token = ? AND state = 'delivering'",
        );
        let args = vec![error.into(), Arg::Int(entry.seq), token_of(entry)?.into()];
        self.fenced(&sql, args).await
    }

    /// Gives back every entry `owner` holds, due now (a worker stopping, a CLI process
    /// exiting), so none sits `delivering` until its lease ends. Returns how many.
    pub async fn release_owner(&self, owner: &str) -> Result<u64> {
        let sql = self.sql(
            "UPDATE outbox SET state = 'pending', available_at = ?, claim_token = NULL, \
             claimed_by = NULL WHERE state = 'delivering' AND claimed_by = ?",
        );
        let args = [Arg::from(now()), owner.into()];
        let store = self.store;
        in_tx!(store, |ex| async {
            Ok(Done::Commit(ex.execute(&sql, &args).await?))
        })
    }

    async fn fenced(&self, sql: &Sql, args: Vec<Arg>) -> Result<bool> {
        let store = self.store;
        let changed = in_tx!(store, |ex| async {
            Ok(Done::Commit(ex.execute(sql, &args).await?))
        })?;
        Ok(changed > 0)
    }
}
