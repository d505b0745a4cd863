//! The delivery worker: claims outbox entries, delivers them concurrently across tickets (one
//! at a time per ticket), and acknowledges, reschedules or parks each.
//!
//! - **Fenced claims.** A claim holds an entry for the lease and carries a token; every outcome
//!   write is conditional on it, and right before each remote request the worker re-checks its
//!   claim and extends the lease. Each remote request is bounded to
//!   half the lease, so a claim never runs out under a request in flight. A worker that stalls
//!   past its lease loses the entry to the next worker and then neither sends nor records
//!   anything for it.
//! - **No sleeping on a claim.** A rate limit pauses this worker's deliveries until its
//!   `Retry-After` (capped by `max_retry_after_secs`) has passed; an entry met by the pause is
//!   given back with that not-before time instead of being held while waiting.
//! - **Stopping gives work back.** A worker that stops (Ctrl-C, the end of `run_for`, a CLI
//!   process exiting through `TicketProvider::shutdown`) releases
//!   the entries it claimed and the SQLite worker lease at once, so nothing sits `delivering`
//!   for a lease after the process is gone.
//! - On SQLite one worker process at a time holds the store's worker lease (renewed while it
//!   runs, also while it waits for deliveries in flight); on PostgreSQL and MySQL any number
//!   share the outbox (`FOR UPDATE SKIP LOCKED`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use tickets_core::{Error, ErrorKind, Result};
use tickets_internal::{Dialect, OutboxEntry};
use tokio::time::Instant;

use crate::config::HookPoint;
use crate::deliver::{Failure, Outcome};
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
    /// Entries given back unsent because the remote asked to wait (rate limit).
    pub paused: u64,
    /// Entries whose claim passed to another worker before this one finished (it delivers
    /// them; nothing was sent or recorded after the loss).
    pub claims_lost: u64,
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
            Tally::Paused => self.paused += 1,
            Tally::Lost => self.claims_lost += 1,
        }
    }

    fn did_something(&self) -> bool {
        self.delivered + self.skipped + self.retried + self.parked + self.paused > 0
    }
}

#[derive(Debug, Clone, Copy)]
enum Tally {
    Delivered,
    Skipped,
    Retried,
    Parked,
    Paused,
    /// The claim was lost (or the outcome could not be recorded); the entry is another
    /// worker's, or handed out again when its lease ends.
    Lost,
}

fn lease_name(remote: &str) -> String {
    format!("worker:{remote}")
}

/// How a drain ends and waits.
#[derive(Debug, Clone, Copy)]
struct DrainMode {
    /// Stop at this instant: deliveries in flight are cut off and their entries given back.
    deadline: Option<Instant>,
    /// Wait out a rate-limit pause (holding no claim) instead of returning.
    wait_pauses: bool,
}

impl Shared {
    /// A name for one worker run, unique across processes: its claims are released by it.
    fn runner_name(&self) -> String {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        format!("{}/{}", self.owner, RUNS.fetch_add(1, Ordering::Relaxed))
    }

    /// How long one remote request may take: half the lease the claim was just extended to.
    pub(crate) fn call_limit(&self) -> Duration {
        self.options.lease / 2
    }

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

    /// Gives back every entry `runner` still holds (its deliveries were cut off).
    async fn release_claims(&self, runner: &str) {
        match self.local.outbox().release_owner(runner).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(target: "tickets_sync", released = n, "gave back the changes this worker had claimed")
            }
            Err(e) => tracing::warn!(
                target: "tickets_sync",
                error = %e,
                "could not give back claimed changes; they are handed out again when their lease ends"
            ),
        }
    }

    /// The instant a rate-limit pause ends, if one is on.
    pub(crate) fn paused_until(&self) -> Option<Instant> {
        let p = *self.pause.lock().unwrap_or_else(|p| p.into_inner());
        p.filter(|t| *t > Instant::now())
    }

    fn set_pause(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut p = self.pause.lock().unwrap_or_else(|p| p.into_inner());
        if p.is_none_or(|t| t < until) {
            *p = Some(until);
        }
    }

    /// Runs until `stop` completes: delivers what is due, pulls remote changes when due, and
    /// sleeps until a local write, the poll interval or a rescheduled entry. On stop, gives
    /// back what it claimed and the SQLite worker lease.
    pub(crate) async fn run_worker(
        self: &Arc<Self>,
        stop: impl std::future::Future<Output = ()> + Send,
    ) -> Result<()> {
        tokio::pin!(stop);
        let runner = self.runner_name();
        let mode = DrainMode {
            deadline: None,
            wait_pauses: false,
        };
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
                let report = self.drain(&runner, mode).await?;
                Ok::<_, Error>(report.did_something())
            };
            // Dropping `step` on stop aborts the deliveries in flight; their claims are given
            // back below.
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
                if let Some(until) = self.paused_until() {
                    wait = wait.max(until.saturating_duration_since(Instant::now()));
                }
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                    () = &mut stop => break,
                }
            }
        }
        self.release_claims(&runner).await;
        self.release_lease().await;
        Ok(())
    }

    /// Delivers what is not parked, then releases the worker lease. Without a deadline
    /// (`sync run --once`), entries waiting in backoff are made due first and rate-limit
    /// pauses are waited out (holding no claim); with one (the CLI's delivery after a write),
    /// deliveries still in flight at the deadline are cut off and their entries given back.
    pub(crate) async fn run_once(self: &Arc<Self>, deadline: Option<Instant>) -> Result<RunReport> {
        if !self.hold_lease().await? {
            return Err(Error::new(
                ErrorKind::Conflict,
                "another sync worker is running against this SQLite store (it holds the \
                 worker lease); it delivers the pending changes",
            ));
        }
        let runner = self.runner_name();
        let result = async {
            if deadline.is_none() {
                self.local.outbox().make_due().await?;
            }
            let mode = DrainMode {
                deadline,
                wait_pauses: deadline.is_none(),
            };
            self.drain(&runner, mode).await
        }
        .await;
        self.release_claims(&runner).await;
        self.release_lease().await;
        result
    }

    /// Claims and delivers until nothing is due (or the deadline passes).
    async fn drain(self: &Arc<Self>, runner: &str, mode: DrainMode) -> Result<RunReport> {
        let opts = &self.options;
        let mut report = RunReport::default();
        // Deliveries run as tasks of their own: they take the store's writer lock, which must
        // never wait on this loop polling them. Dropping the set aborts them.
        let mut inflight = tokio::task::JoinSet::new();
        let mut exhausted = false;
        let mut lease_lost = false;
        let mut renewed = Instant::now();
        let tick = (opts.lease / 4).max(Duration::from_millis(10));
        loop {
            if mode.deadline.is_some_and(|d| Instant::now() >= d) {
                // Cut off what is in flight; `run_once` gives the claims back.
                let cut_off = !inflight.is_empty();
                inflight.abort_all();
                while let Some(done) = inflight.join_next().await {
                    if let Ok(tally) = done {
                        report.add(tally);
                    }
                }
                report.timed_out = cut_off || self.local.outbox().stats().await?.pending > 0;
                break;
            }
            if renewed.elapsed() >= opts.lease / 3 {
                // Renewed while deliveries run too: the lease must not run out under them.
                lease_lost = !self.hold_lease().await?;
                renewed = Instant::now();
            }
            let paused = self.paused_until();
            if paused.is_none() && !exhausted && !lease_lost && inflight.len() < opts.concurrency {
                let want = opts.concurrency - inflight.len();
                let claimed = self
                    .local
                    .outbox()
                    .claim(runner, u32::try_from(want).unwrap_or(u32::MAX), opts.lease)
                    .await?;
                exhausted = claimed.len() < want;
                let added = !claimed.is_empty();
                for e in claimed {
                    let this = self.clone();
                    inflight.spawn(async move { this.attempt(e).await });
                }
                if added && !exhausted {
                    continue;
                }
            }
            if inflight.is_empty() {
                match paused {
                    Some(until) if mode.wait_pauses => {
                        let until = mode.deadline.map_or(until, |d| d.min(until));
                        tracing::info!(
                            target: "tickets_sync",
                            wait_ms = u64::try_from(until.saturating_duration_since(Instant::now()).as_millis()).unwrap_or(u64::MAX),
                            "the remote asked to wait (rate limit); waiting without holding any change"
                        );
                        tokio::time::sleep_until(until).await;
                        exhausted = false;
                        continue;
                    }
                    _ => break,
                }
            }
            let wake = mode
                .deadline
                .map_or(Instant::now() + tick, |d| d.min(Instant::now() + tick));
            tokio::select! {
                done = inflight.join_next() => match done {
                    Some(Ok(tally)) => {
                        report.add(tally);
                        exhausted = false;
                    }
                    Some(Err(e)) => {
                        // A delivery task panicked; its entry comes back when the lease ends.
                        tracing::error!(target: "tickets_sync", error = %e, "a delivery task failed");
                        exhausted = false;
                    }
                    None => {}
                },
                () = tokio::time::sleep_until(wake) => {}
            }
        }
        if report.did_something() {
            tracing::info!(
                target: METRICS,
                delivered = report.delivered,
                skipped = report.skipped,
                retried = report.retried,
                parked = report.parked,
                paused = report.paused,
                claims_lost = report.claims_lost,
                "sync delivery round"
            );
        }
        Ok(report)
    }

    /// One delivery attempt of one claimed entry, and its bookkeeping (every write fenced by
    /// the claim's token).
    async fn attempt(&self, e: OutboxEntry) -> Tally {
        use std::sync::atomic::Ordering::Relaxed;
        let outbox = self.local.outbox();
        let lag_ms = (Utc::now() - e.created_at).num_milliseconds().max(0);
        let recorded = match self.deliver(&e).await {
            Ok(outcome) => {
                crate::deliver::Fence::claimed(self, &e)
                    .hook(HookPoint::BeforeOutcome)
                    .await;
                let r = outbox.delivered(&e).await;
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
            Err(Failure::ClaimLost) => {
                tracing::info!(target: "tickets_sync", seq = e.seq, ticket = %e.ticket_id, "the claim on this change passed to another worker; leaving it to that worker");
                return Tally::Lost;
            }
            Err(Failure::Paused(until)) => {
                self.metrics.paused.fetch_add(1, Relaxed);
                let wait = until.saturating_duration_since(Instant::now());
                let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                let note = format!(
                    "waiting for the remote's rate limit until {}",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                (Tally::Paused, outbox.release(&e, at, Some(&note)).await)
            }
            Err(Failure::Error(err)) => {
                let message = err.to_string();
                match self.backoff.verdict(&err, e.attempts) {
                    Verdict::Retry(wait) => {
                        if err.kind() == ErrorKind::RateLimited {
                            self.set_pause(wait);
                        }
                        self.metrics.retried.fetch_add(1, Relaxed);
                        tracing::debug!(target: METRICS, retried = 1u64, lag_ms, seq = e.seq, ticket = %e.ticket_id, attempts = e.attempts + 1, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), error = %message, "delivery failed; will retry");
                        let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                        (Tally::Retried, outbox.retry_later(&e, &message, at).await)
                    }
                    Verdict::Park => {
                        self.metrics.parked.fetch_add(1, Relaxed);
                        tracing::warn!(target: METRICS, parked = 1u64, lag_ms, seq = e.seq, ticket = %e.ticket_id, operation = %e.operation, error = %message, "delivery parked; `tickets sync retry` re-queues it, `tickets sync skip` drops it");
                        (Tally::Parked, outbox.park(&e, &message).await)
                    }
                }
            }
        };
        match recorded {
            (tally, Ok(true)) => tally,
            (_, Ok(false)) => {
                tracing::info!(target: "tickets_sync", seq = e.seq, ticket = %e.ticket_id, "the claim on this change passed to another worker before its outcome was recorded");
                Tally::Lost
            }
            (_, Err(err)) => {
                tracing::warn!(target: "tickets_sync", seq = e.seq, error = %err, "could not record a delivery outcome; the change is handed out again when its lease ends");
                Tally::Lost
            }
        }
    }
}
