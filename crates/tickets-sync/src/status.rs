//! `sync status`, `sync retry` and `sync skip`: where delivery stands and why each change
//! waits, and what a person can do about a change the remote refuses.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tickets_core::{Result, TicketId};
use tickets_internal::{EntryState, Operation, OutboxEntry};

use crate::provider::SyncProvider;

/// How many waiting changes `status` explains (the oldest first).
const EXPLAINED: u32 = 500;

/// A parked entry, for `sync status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ParkedEntry {
    /// The outbox position (what `sync skip` takes).
    pub seq: i64,
    /// The local ticket.
    pub ticket_id: TicketId,
    /// What it asks the remote to do.
    pub operation: Operation,
    /// Failed attempts.
    pub attempts: u32,
    /// Why it was parked.
    pub last_error: Option<String>,
    /// When the local change was made.
    pub created_at: DateTime<Utc>,
}

/// Why a change not delivered yet is waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum WaitReason {
    /// Due now: the next worker round takes it.
    Due,
    /// Waiting after a failed attempt (or the remote's rate limit) until then.
    Backoff {
        /// When it is tried again.
        until: DateTime<Utc>,
    },
    /// A worker is delivering it; its claim lasts until then.
    Claimed {
        /// The worker (`process id-random/run`).
        by: String,
        /// When the claim runs out unless the worker renews it.
        until: DateTime<Utc>,
    },
    /// Behind an earlier change of the same ticket that is parked: it moves when that one is
    /// retried or skipped.
    BehindParked {
        /// The parked change.
        seq: i64,
    },
    /// Behind an earlier change of the same ticket (changes of one ticket go in order).
    Behind {
        /// The earlier change.
        seq: i64,
    },
    /// Parked: see `parked_entries`.
    Parked,
}

/// A change not delivered yet, and why it waits.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WaitingEntry {
    /// The outbox position.
    pub seq: i64,
    /// The local ticket.
    pub ticket_id: TicketId,
    /// What it asks the remote to do.
    pub operation: Operation,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When the local change was made.
    pub created_at: DateTime<Utc>,
    /// Why it waits.
    #[serde(flatten)]
    pub reason: WaitReason,
}

/// Where delivery stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SyncStatus {
    /// The remote backend's name (as in the link table).
    pub remote: String,
    /// The remote's provider kind.
    pub remote_kind: String,
    /// Waiting to be delivered.
    pub pending: u64,
    /// Being delivered by a worker now.
    pub delivering: u64,
    /// Set aside after a failure retrying cannot fix; see `retry` and `skip`.
    pub parked: u64,
    /// Age of the oldest change not delivered yet.
    #[serde(with = "opt_secs")]
    pub oldest_pending_age: Option<Duration>,
    /// The parked entries with their errors (the oldest first, at most 100).
    pub parked_entries: Vec<ParkedEntry>,
    /// The last error of entries still pending (the oldest first, at most 20).
    pub recent_errors: Vec<ParkedEntry>,
    /// Every change not delivered yet with why it waits (the oldest first, at most 500).
    pub waiting: Vec<WaitingEntry>,
    /// When remote changes were last pulled.
    pub last_pull: Option<DateTime<Utc>>,
    /// Local tickets whose remote ticket was deleted there (kept here; the latest first, at
    /// most 100).
    pub remote_deleted: Vec<RemoteDeleted>,
}

/// A local ticket whose remote ticket was deleted in the remote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RemoteDeleted {
    /// The local ticket (kept).
    pub ticket_id: TicketId,
    /// Its id in the remote.
    pub remote_id: String,
    /// When the deletion was seen.
    pub seen_at: Option<DateTime<Utc>>,
}

mod opt_secs {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
}

impl SyncStatus {
    /// Changes not delivered yet.
    pub fn undelivered(&self) -> u64 {
        self.pending + self.delivering + self.parked
    }
}

fn view(e: &OutboxEntry) -> ParkedEntry {
    ParkedEntry {
        seq: e.seq,
        ticket_id: e.ticket_id.clone(),
        operation: e.operation,
        attempts: e.attempts,
        last_error: e.last_error.clone(),
        created_at: e.created_at,
    }
}

/// Why each entry waits, from the entries in outbox order (the oldest first).
pub(crate) fn explain(entries: &[OutboxEntry], now: DateTime<Utc>) -> Vec<WaitingEntry> {
    // The oldest undelivered entry of each ticket seen so far, and whether it is parked.
    let mut heads: HashMap<&TicketId, (i64, bool)> = HashMap::new();
    entries
        .iter()
        .map(|e| {
            let reason = match heads.get(&e.ticket_id) {
                Some(&(seq, true)) => WaitReason::BehindParked { seq },
                Some(&(seq, false)) => WaitReason::Behind { seq },
                None => match e.state {
                    EntryState::Parked => WaitReason::Parked,
                    EntryState::Delivering if e.available_at > now => WaitReason::Claimed {
                        by: e.claimed_by.clone().unwrap_or_else(|| "?".into()),
                        until: e.available_at,
                    },
                    EntryState::Pending if e.available_at > now => WaitReason::Backoff {
                        until: e.available_at,
                    },
                    // Due, or a claim that ran out (the next worker takes it over).
                    EntryState::Pending | EntryState::Delivering => WaitReason::Due,
                },
            };
            heads
                .entry(&e.ticket_id)
                .or_insert((e.seq, e.state == EntryState::Parked));
            WaitingEntry {
                seq: e.seq,
                ticket_id: e.ticket_id.clone(),
                operation: e.operation,
                attempts: e.attempts,
                last_error: e.last_error.clone(),
                created_at: e.created_at,
                reason,
            }
        })
        .collect()
}

impl SyncProvider {
    /// Counts, the oldest pending change's age, parked entries with their errors, and why
    /// each change not delivered yet waits.
    pub async fn status(&self) -> Result<SyncStatus> {
        let shared = &self.shared;
        let outbox = shared.local.outbox();
        let stats = outbox.stats().await?;
        let parked = outbox.entries(Some(EntryState::Parked), 100).await?;
        let all = outbox.entries(None, EXPLAINED).await?;
        let now = Utc::now();
        let age = stats.oldest.map(|t| (now - t).to_std().unwrap_or_default());
        Ok(SyncStatus {
            remote: shared.remote_name.clone(),
            remote_kind: shared.remote.kind().to_owned(),
            pending: stats.pending,
            delivering: stats.delivering,
            parked: stats.parked,
            oldest_pending_age: age,
            parked_entries: parked.iter().map(view).collect(),
            recent_errors: all
                .iter()
                .filter(|e| e.state == EntryState::Pending && e.last_error.is_some())
                .take(20)
                .map(view)
                .collect(),
            waiting: explain(&all, now),
            last_pull: shared.cursor().await?,
            remote_deleted: shared
                .local
                .links()
                .remote_deleted(&shared.remote_name, 100)
                .await?
                .into_iter()
                .map(|l| RemoteDeleted {
                    ticket_id: l.ticket_id,
                    remote_id: l.remote_id,
                    seen_at: l.state_at,
                })
                .collect(),
        })
    }

    /// Makes parked entries (of one ticket, or all) pending again with their attempt count
    /// reset, and wakes the worker. Returns how many.
    pub async fn retry(&self, id: Option<&TicketId>) -> Result<u64> {
        let n = self.shared.local.outbox().requeue_parked(id).await?;
        self.shared.wake.notify_one();
        Ok(n)
    }

    /// Drops one parked change for good (`tickets sync skip SEQ`), so its ticket's later
    /// changes flow again; the ticket's history records what was skipped and why it had
    /// parked. The local ticket keeps the change: only its delivery is given up (a later
    /// change of the same fields delivers their current values anyway). Returns the skipped
    /// entry.
    pub async fn skip(&self, seq: i64) -> Result<ParkedEntry> {
        let e = self.shared.local.outbox().skip(seq).await?;
        tracing::info!(target: crate::worker::METRICS, seq, ticket = %e.ticket_id, operation = %e.operation, "parked change skipped by hand");
        self.shared.wake.notify_one();
        Ok(view(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, ticket: &str, state: EntryState, at: DateTime<Utc>) -> OutboxEntry {
        let mut e: OutboxEntry = serde_json::from_value(serde_json::json!({
            "seq": seq, "ticket_id": ticket, "operation": "update", "payload": {},
            "state": state.as_str(), "attempts": 0, "last_error": null,
            "available_at": at, "created_at": at, "claimed_by": null, "claim_token": null,
        }))
        .expect("entry");
        if state == EntryState::Delivering {
            e.claimed_by = Some("w".into());
        }
        e
    }

    #[test]
    fn every_waiting_change_says_why() {
        let now = Utc::now();
        let later = now + chrono::Duration::seconds(30);
        let entries = [
            entry(1, "a", EntryState::Parked, now),
            entry(2, "a", EntryState::Pending, now),
            entry(3, "b", EntryState::Delivering, later),
            entry(4, "b", EntryState::Pending, now),
            entry(5, "c", EntryState::Pending, later),
            entry(6, "d", EntryState::Pending, now),
            entry(
                7,
                "e",
                EntryState::Delivering,
                now - chrono::Duration::seconds(1),
            ),
        ];
        let reasons: Vec<WaitReason> = explain(&entries, now)
            .into_iter()
            .map(|w| w.reason)
            .collect();
        assert_eq!(
            reasons,
            [
                WaitReason::Parked,
                WaitReason::BehindParked { seq: 1 },
                WaitReason::Claimed {
                    by: "w".into(),
                    until: later
                },
                WaitReason::Behind { seq: 3 },
                WaitReason::Backoff { until: later },
                WaitReason::Due,
                WaitReason::Due,
            ]
        );
    }
}
