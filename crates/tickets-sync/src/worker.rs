//! The delivery worker: claims outbox entries, delivers them concurrently across tickets (one
//! at a time per ticket), and acknowledges, reschedules or parks each.
//!
//! - Claims hold an entry for the lease; a delivery is cut off at 3/4 of it, so an entry is
//!   never delivered by two workers at once. A worker that dies leaves its entries to be
//!   claimed again when the lease ends (at-least-once; the idempotency keys and the comment
//!   check make the repeat harmless).
//! - On SQLite one worker process at a time holds the store's worker lease (renewed while it
//!   runs); on PostgreSQL and MySQL any number share the outbox (`FOR UPDATE SKIP LOCKED`).
//! - A rate limit pauses every delivery of this worker until its `Retry-After` has passed.

use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use std::sync::Arc;
use tickets_core::{Error, ErrorKind, Result};
use tickets_internal::{Dialect, OutboxEntry};
use tokio::time::Instant;

use crate::deliver::Outcome;
use crate::error::Verdict;
use crate::provider::Shared;

/// The `tracing` target of the metric events.
pub const METRICS: &str = "tickets_sync::metrics";

/// What one run of the worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RunReport {
    /// Entries the remote took.
    pub delivered: u64,
    /// Entries with nothing to send (already there, or not holdable by the remote).
    pub skipped: u64,
    /// Failed attempts rescheduled.
    pub retried: u64,
    /// Entries parked.
    pub parked: u64,
    /// The run stopped at its time limit with work left.
    pub timed_out: bool,
}

impl RunReport {
    fn add(&mut self, t: Tally) {
        match t {
            Tally::Delivered => self.delivered += 1,
            Tally::Skipped => self.skipped += 1,
            Tally::Retried => self.retried += 1,
            Tally::Parked => self.parked += 1,
            Tally::Lost => {}
        }
    }

    fn did_something(&self) -> bool {
        self.delivered + self.skipped + self.retried + self.parked > 0
    }
}

#[derive(Debug, Clone, Copy)]
enum Tally {
    Delivered,
    Skipped,
    Retried,
    Parked,
    /// The outcome could not be recorded; the lease will hand the entry out again.
    Lost,
}

fn lease_name(remote: &str) -> String {
    format!("worker:{remote}")
}

impl Shared {
    /// On SQLite, takes or renews the worker lease; `Ok(false)` when another worker holds it.
    async fn hold_lease(&self) -> Result<bool> {
        if self.local.dialect() != Dialect::Sqlite {
            return Ok(true);
        }
        let holder = self
            .local
            .state()
            .try_lease(
                &lease_name(&self.remote_name),
                &self.owner,
                self.options.lease,
            )
            .await?;
        if let Some(h) = &holder {
            tracing::debug!(
                target: "tickets_sync",
                holder = %h.owner,
                until = %h.expires_at,
                "another sync worker holds the SQLite store's lease; waiting"
            );
        }
        Ok(holder.is_none())
    }

    async fn release_lease(&self) {
        if self.local.dialect() == Dialect::Sqlite
            && let Err(e) = self
                .local
                .state()
                .release(&lease_name(&self.remote_name), &self.owner)
                .await
        {
            tracing::debug!(target: "tickets_sync", error = %e, "could not release the worker lease");
        }
    }

    /// Runs until `stop` completes: delivers what is due, pulls remote changes when due, and
    /// sleeps until a local write, the poll interval or a rescheduled entry.
    pub(crate) async fn run_worker(
        self: &Arc<Self>,
        stop: impl std::future::Future<Output = ()> + Send,
    ) -> Result<()> {
        tokio::pin!(stop);
        let mut next_pull = Instant::now();
        let mut failures = 0u32;
        loop {
            let step = async {
                if !self.hold_lease().await? {
                    tokio::time::sleep(self.options.lease / 4).await;
                    return Ok(false);
                }
                if let Some(every) = self.options.pull_interval
                    && Instant::now() >= next_pull
                {
                    next_pull = Instant::now() + every;
                    if let Err(e) = self.pull_changes().await {
                        tracing::warn!(target: "tickets_sync", error = %e, "pulling remote changes failed; trying again later");
                    }
                }
                let report = self.drain(None).await?;
                Ok::<_, Error>(report.did_something())
            };
            let busy = tokio::select! {
                r = step => r,
                () = &mut stop => break,
            };
            let idle = match busy {
                Ok(busy) => {
                    failures = 0;
                    !busy
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(target: "tickets_sync", error = %e, "sync worker step failed; backing off");
                    tokio::select! {
                        () = tokio::time::sleep(self.backoff.delay(failures.min(8))) => {}
                        () = &mut stop => break,
                    }
                    continue;
                }
            };
            if idle {
                let mut wait = self.options.poll_interval;
                if self.options.pull_interval.is_some() {
                    wait = wait.min(next_pull.saturating_duration_since(Instant::now()));
                }
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                    () = &mut stop => break,
                }
            }
        }
        self.release_lease().await;
        Ok(())
    }

    /// Delivers what is due now (until `deadline`, if any), then releases the worker lease.
    pub(crate) async fn run_once(self: &Arc<Self>, deadline: Option<Instant>) -> Result<RunReport> {
        if !self.hold_lease().await? {
            return Err(Error::new(
                ErrorKind::Conflict,
                "another sync worker is running against this SQLite store (it holds the \
                 worker lease); it delivers the pending changes",
            ));
        }
        let report = self.drain(deadline).await;
        self.release_lease().await;
        report
    }

    /// Claims and delivers until nothing is due (or the deadline passes; entries in flight are
    /// finished first).
    async fn drain(self: &Arc<Self>, deadline: Option<Instant>) -> Result<RunReport> {
        let opts = &self.options;
        let mut report = RunReport::default();
        // Deliveries run as tasks of their own: they take the store's writer lock, which must
        // never wait on this loop polling them.
        let mut inflight = tokio::task::JoinSet::new();
        let mut exhausted = false;
        let mut renewed = Instant::now();
        loop {
            let late = deadline.is_some_and(|d| Instant::now() >= d);
            if late && !report.timed_out {
                report.timed_out = true;
            }
            if !late && !exhausted && inflight.len() < opts.concurrency {
                if renewed.elapsed() > opts.lease / 3 {
                    if !self.hold_lease().await? {
                        exhausted = true;
                        continue;
                    }
                    renewed = Instant::now();
                }
                let want = opts.concurrency - inflight.len();
                let claimed = self
                    .local
                    .outbox()
                    .claim(u32::try_from(want).unwrap_or(u32::MAX), opts.lease)
                    .await?;
                exhausted = claimed.len() < want;
                // An entry handed out again here was rescheduled by an attempt that has already
                // recorded its outcome (deliveries end at 3/4 of the lease, so a claim never
                // returns one still being delivered).
                let added = !claimed.is_empty();
                for e in claimed {
                    let this = self.clone();
                    inflight.spawn(async move { this.attempt(e).await });
                }
                if added && !exhausted {
                    continue;
                }
            }
            match inflight.join_next().await {
                None => {
                    if late {
                        report.timed_out = self.local.outbox().stats().await?.pending > 0;
                    }
                    break;
                }
                Some(Ok((_, tally))) => {
                    report.add(tally);
                    exhausted = false;
                }
                Some(Err(e)) => {
                    // A delivery task panicked; its entry comes back when the lease ends.
                    tracing::error!(target: "tickets_sync", error = %e, "a delivery task failed");
                    exhausted = false;
                }
            }
        }
        if report.did_something() {
            tracing::info!(
                target: METRICS,
                delivered = report.delivered,
                skipped = report.skipped,
                retried = report.retried,
                parked = report.parked,
                "sync delivery round"
            );
        }
        Ok(report)
    }

    async fn wait_pause(&self) {
        loop {
            let until = *self.pause.lock().unwrap_or_else(|p| p.into_inner());
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }

    fn set_pause(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut p = self.pause.lock().unwrap_or_else(|p| p.into_inner());
        if p.is_none_or(|t| t < until) {
            *p = Some(until);
        }
    }

    /// One delivery attempt of one entry, and its bookkeeping.
    async fn attempt(&self, e: OutboxEntry) -> (i64, Tally) {
        use std::sync::atomic::Ordering::Relaxed;
        self.wait_pause().await;
        let limit = self.options.lease * 3 / 4;
        let result = match tokio::time::timeout(limit, self.deliver(&e)).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("delivery took longer than {limit:?} (3/4 of the lease)"),
            )),
        };
        let outbox = self.local.outbox();
        let lag_ms = (Utc::now() - e.created_at).num_milliseconds().max(0);
        let (tally, recorded) = match result {
            Ok(outcome) => {
                let r = outbox.delivered(e.seq).await;
                match outcome {
                    Outcome::Sent => {
                        self.metrics.delivered.fetch_add(1, Relaxed);
                        tracing::debug!(target: METRICS, delivered = 1u64, lag_ms, seq = e.seq, ticket = %e.ticket_id, operation = %e.operation, "delivered");
                        (Tally::Delivered, r)
                    }
                    Outcome::Skipped(why) => {
                        self.metrics.skipped.fetch_add(1, Relaxed);
                        tracing::debug!(target: METRICS, skipped = 1u64, lag_ms, seq = e.seq, ticket = %e.ticket_id, operation = %e.operation, why, "nothing to send");
                        (Tally::Skipped, r)
                    }
                }
            }
            Err(err) => {
                let message = err.to_string();
                match self.backoff.verdict(&err, e.attempts) {
                    Verdict::Retry(wait) => {
                        if err.kind() == ErrorKind::RateLimited {
                            self.set_pause(wait);
                        }
                        self.metrics.retried.fetch_add(1, Relaxed);
                        tracing::debug!(target: METRICS, retried = 1u64, lag_ms, seq = e.seq, ticket = %e.ticket_id, attempts = e.attempts + 1, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), error = %message, "delivery failed; will retry");
                        let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                        (
                            Tally::Retried,
                            outbox.retry_later(e.seq, &message, at).await,
                        )
                    }
                    Verdict::Park => {
                        self.metrics.parked.fetch_add(1, Relaxed);
                        tracing::warn!(target: METRICS, parked = 1u64, lag_ms, seq = e.seq, ticket = %e.ticket_id, operation = %e.operation, error = %message, "delivery parked; `tickets sync retry` re-queues it");
                        (Tally::Parked, outbox.park(e.seq, &message).await)
                    }
                }
            }
        };
        match recorded {
            Ok(()) => (e.seq, tally),
            Err(err) => {
                tracing::warn!(target: "tickets_sync", seq = e.seq, error = %err, "could not record a delivery outcome; the entry is handed out again when its lease ends");
                (e.seq, Tally::Lost)
            }
        }
    }
}
