//! The `sync` provider: the trait on the local store, plus push, pull, status and retry.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tickets_core::{
    Capabilities, Comment, DynProvider, Error, HistoryEntry, NewComment, NewTicket, Page, Result,
    Ticket, TicketId, TicketPatch, TicketProvider, TicketQuery, Workflow,
};
use tickets_internal::{EntryState, InternalProvider, Operation};
use tokio::sync::{Notify, watch};

use crate::config::WorkerOptions;
use crate::convert;
use crate::error::Backoff;

/// The provider kind.
pub const KIND: &str = "sync";

/// Tickets kept in the internal store and delivered to a remote tracker.
///
/// Every write commits to the local store together with its outbox entry and returns; a
/// delivery worker pushes entries to the remote afterwards (see the crate docs). Reads come
/// from the local store, with [`Ticket::links`] naming the remote id.
pub struct SyncProvider {
    pub(crate) shared: Arc<Shared>,
    worker: Option<WorkerGuard>,
}

/// What the provider and its workers share.
pub(crate) struct Shared {
    pub(crate) local: InternalProvider,
    pub(crate) remote: DynProvider,
    pub(crate) remote_name: String,
    pub(crate) remote_caps: Capabilities,
    pub(crate) options: WorkerOptions,
    pub(crate) backoff: Backoff,
    pub(crate) wake: Notify,
    pub(crate) metrics: Counters,
    /// This process's worker id (for the SQLite worker lease).
    pub(crate) owner: String,
    /// After a rate limit, no delivery starts before this instant.
    pub(crate) pause: std::sync::Mutex<Option<tokio::time::Instant>>,
}

/// Stops the background worker when the provider is dropped.
struct WorkerGuard(watch::Sender<bool>);

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) delivered: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) parked: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) pulled: AtomicU64,
}

/// Counters since the provider was made (also sent as `tracing` events with target
/// `tickets_sync::metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Metrics {
    /// Entries delivered.
    pub delivered: u64,
    /// Failed attempts rescheduled.
    pub retried: u64,
    /// Entries parked.
    pub parked: u64,
    /// Entries with nothing to send (already on the remote, or a private comment the remote
    /// cannot keep private).
    pub skipped: u64,
    /// Remote tickets applied locally by pulls.
    pub pulled: u64,
}

/// A parked entry, for `sync status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ParkedEntry {
    /// The outbox position.
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
    /// Set aside after a failure retrying cannot fix; see `retry`.
    pub parked: u64,
    /// Age of the oldest change not delivered yet.
    #[serde(with = "opt_secs")]
    pub oldest_pending_age: Option<Duration>,
    /// The parked entries with their errors (the oldest first, at most 100).
    pub parked_entries: Vec<ParkedEntry>,
    /// The last error of entries still pending (the oldest first, at most 20).
    pub recent_errors: Vec<ParkedEntry>,
    /// When remote changes were last pulled.
    pub last_pull: Option<DateTime<Utc>>,
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

impl fmt::Debug for SyncProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncProvider")
            .field("local", &self.shared.local)
            .field("remote", &self.shared.remote_name)
            .field("remote_kind", &self.shared.remote.kind())
            .field("worker", &self.worker.is_some())
            .finish()
    }
}

impl SyncProvider {
    /// Joins a local store (opened with its outbox on) and a remote provider known in the link
    /// table as `remote_name`. No worker runs until [`SyncProvider::start_worker`] (or call
    /// [`run_worker`](Self::run_worker) / [`run_once`](Self::run_once) yourself).
    pub fn new(
        local: InternalProvider,
        remote: DynProvider,
        remote_name: impl Into<String>,
        options: WorkerOptions,
    ) -> Result<Self> {
        if !local.outbox_enabled() {
            return Err(Error::config(
                "the sync provider needs a local store opened with its outbox on \
                 (InternalConfig::outbox(true))",
            ));
        }
        let remote_caps = remote.capabilities();
        let backoff = Backoff {
            base: options.backoff_base,
            max: options.backoff_max,
            max_attempts: options.max_attempts,
        };
        Ok(Self {
            shared: Arc::new(Shared {
                local,
                remote,
                remote_name: remote_name.into(),
                remote_caps,
                options,
                backoff,
                wake: Notify::new(),
                metrics: Counters::default(),
                owner: format!("{}-{}", std::process::id(), uuid_like()),
                pause: std::sync::Mutex::new(None),
            }),
            worker: None,
        })
    }

    /// Starts the delivery worker on the current tokio runtime; it stops when the provider is
    /// dropped. Calling it again does nothing.
    pub fn start_worker(mut self) -> Self {
        if self.worker.is_none() {
            let (tx, rx) = watch::channel(false);
            let shared = self.shared.clone();
            tokio::spawn(async move {
                // A short-lived process (one CLI command) is usually gone before this: it does
                // not claim entries (or the SQLite worker lease) only to abandon them.
                let first = shared.options.poll_interval;
                tokio::select! {
                    () = tokio::time::sleep(first) => {}
                    () = stopped(rx.clone()) => return,
                }
                if let Err(e) = shared.run_worker(stopped(rx)).await {
                    tracing::error!(target: "tickets_sync", error = %e, "sync worker stopped");
                }
            });
            self.worker = Some(WorkerGuard(tx));
        }
        self
    }

    /// The local store.
    pub fn local(&self) -> &InternalProvider {
        &self.shared.local
    }

    /// The remote provider.
    pub fn remote(&self) -> &DynProvider {
        &self.shared.remote
    }

    /// The remote's name in the link table.
    pub fn remote_name(&self) -> &str {
        &self.shared.remote_name
    }

    /// Counters since the provider was made.
    pub fn metrics(&self) -> Metrics {
        let m = &self.shared.metrics;
        Metrics {
            delivered: m.delivered.load(Ordering::Relaxed),
            retried: m.retried.load(Ordering::Relaxed),
            parked: m.parked.load(Ordering::Relaxed),
            skipped: m.skipped.load(Ordering::Relaxed),
            pulled: m.pulled.load(Ordering::Relaxed),
        }
    }

    /// Runs a delivery worker until `stop` completes (see [`crate::worker`]).
    pub async fn run_worker(
        &self,
        stop: impl std::future::Future<Output = ()> + Send,
    ) -> Result<()> {
        self.shared.run_worker(stop).await
    }

    /// Delivers every entry due now and returns; entries that fail are rescheduled, not
    /// waited for.
    pub async fn run_once(&self) -> Result<crate::RunReport> {
        self.shared.run_once(None).await
    }

    /// Like [`run_once`](Self::run_once), but gives up after `limit` (entries in flight then
    /// stay claimed until their lease ends and are delivered by the next worker).
    pub async fn run_for(&self, limit: Duration) -> Result<crate::RunReport> {
        self.shared
            .run_once(Some(tokio::time::Instant::now() + limit))
            .await
    }

    /// Makes the remote ticket match the local one now (the seed's `sync_to_asana`): creates it
    /// there if it has no link yet (with the same idempotency key the outbox uses), or updates
    /// the fields that differ; then adds local comments missing there. Returns the local ticket
    /// with its links.
    pub async fn push(&self, id: &TicketId) -> Result<Ticket> {
        self.shared.push(id).await
    }

    /// Imports or refreshes one remote ticket locally (the seed's `sync_from_asana`). A linked
    /// ticket with undelivered local changes is left as it is (local wins until delivered).
    pub async fn pull(&self, remote_id: &str) -> Result<Ticket> {
        self.shared.pull(remote_id).await.map(ours)
    }

    /// Pulls every remote ticket changed since the last pull (see the crate docs).
    pub async fn pull_changes(&self) -> Result<crate::PullReport> {
        self.shared.pull_changes().await
    }

    /// Counts, the oldest pending change's age, and parked entries with their errors.
    pub async fn status(&self) -> Result<SyncStatus> {
        let outbox = self.shared.local.outbox();
        let stats = outbox.stats().await?;
        let parked = outbox.entries(Some(EntryState::Parked), 100).await?;
        let pending = outbox.entries(Some(EntryState::Pending), 200).await?;
        let age = stats
            .oldest
            .map(|t| (Utc::now() - t).to_std().unwrap_or_default());
        let last_pull = self.shared.cursor().await?;
        let to_view = |e: tickets_internal::OutboxEntry| ParkedEntry {
            seq: e.seq,
            ticket_id: e.ticket_id,
            operation: e.operation,
            attempts: e.attempts,
            last_error: e.last_error,
            created_at: e.created_at,
        };
        Ok(SyncStatus {
            remote: self.shared.remote_name.clone(),
            remote_kind: self.shared.remote.kind().to_owned(),
            pending: stats.pending,
            delivering: stats.delivering,
            parked: stats.parked,
            oldest_pending_age: age,
            parked_entries: parked.into_iter().map(to_view).collect(),
            recent_errors: pending
                .into_iter()
                .filter(|e| e.last_error.is_some())
                .take(20)
                .map(to_view)
                .collect(),
            last_pull,
        })
    }

    /// Makes parked entries (of one ticket, or all) pending again and wakes the worker.
    /// Returns how many.
    pub async fn retry(&self, id: Option<&TicketId>) -> Result<u64> {
        let n = self.shared.local.outbox().requeue_parked(id).await?;
        self.shared.wake.notify_one();
        Ok(n)
    }

    /// How many changes of one ticket are not delivered yet.
    pub async fn undelivered(&self, id: &TicketId) -> Result<u64> {
        self.shared.local.outbox().undelivered(id).await
    }
}

/// Tickets read through the sync provider name it as their provider.
fn ours(mut t: Ticket) -> Ticket {
    t.provider = KIND.to_owned();
    t
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

fn uuid_like() -> String {
    format!("{:016x}", fastrand::u64(..))
}

impl Shared {
    fn written(&self) {
        self.wake.notify_one();
    }

    /// The ticket's remote id, creating the remote ticket from the local state if it has no
    /// link yet (a ticket made before sync was on, or pulled and then unlinked).
    pub(crate) async fn ensure_remote(&self, id: &TicketId) -> Result<String> {
        if let Some(rid) = self.local.links().remote_id(id, &self.remote_name).await? {
            return Ok(rid);
        }
        let local = self.local.get(id).await?;
        self.create_remote(id, convert::new_from(&local)).await
    }

    /// Creates the remote ticket (idempotently: the key comes from the local id) and links it.
    pub(crate) async fn create_remote(&self, id: &TicketId, new: NewTicket) -> Result<String> {
        if !self.remote_caps.idempotent_create {
            tracing::warn!(
                target: "tickets_sync",
                remote = %self.remote_name,
                "the remote has no idempotent create: a create whose answer is lost may be made twice"
            );
        }
        let new = convert::remote_new(new, &self.remote_caps, convert::create_key(id));
        let created = self.remote.create(new).await?;
        self.local
            .links()
            .set(
                id,
                &self.remote_name,
                self.remote.kind(),
                created.id.as_str(),
            )
            .await?;
        Ok(created.id.to_string())
    }

    async fn push(&self, id: &TicketId) -> Result<Ticket> {
        let local = self.local.get(id).await?;
        let rid = match self.local.links().remote_id(id, &self.remote_name).await? {
            None => self.create_remote(id, convert::new_from(&local)).await?,
            Some(rid) => {
                let remote = self.remote.get(&TicketId::new(rid.clone())).await?;
                let patch = convert::diff(&remote, &local, &self.remote_caps);
                if !patch.is_empty() {
                    self.remote.update(&remote.id, patch).await?;
                }
                rid
            }
        };
        let rid = TicketId::new(rid);
        let remote_comments = self.remote.comments(&rid).await?;
        let local_comments = self.local.comments(id).await?;
        for (i, c) in local_comments.iter().enumerate() {
            if !convert::travels(c.public, &self.remote_caps) {
                continue;
            }
            let same = |x: &Comment| {
                convert::same_comment(x, c.author.as_deref(), &c.body, &self.remote_caps)
            };
            let wanted = local_comments[..=i]
                .iter()
                .filter(|x| convert::travels(x.public, &self.remote_caps) && same(x))
                .count();
            if remote_comments.iter().filter(|x| same(x)).count() < wanted {
                self.remote
                    .add_comment(&rid, convert::new_comment_from(c))
                    .await?;
            }
        }
        self.local.get(id).await.map(ours)
    }
}

#[async_trait]
impl TicketProvider for SyncProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        self.shared.local.capabilities()
    }

    fn workflow(&self) -> &Workflow {
        self.shared.local.workflow()
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }

    async fn create(&self, ticket: NewTicket) -> Result<Ticket> {
        let t = self.shared.local.create(ticket).await?;
        self.shared.written();
        Ok(ours(t))
    }

    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        self.shared.local.get(id).await.map(ours)
    }

    async fn update(&self, id: &TicketId, patch: TicketPatch) -> Result<Ticket> {
        let t = self.shared.local.update(id, patch).await?;
        self.shared.written();
        Ok(ours(t))
    }

    async fn add_comment(&self, id: &TicketId, comment: NewComment) -> Result<Comment> {
        let c = self.shared.local.add_comment(id, comment).await?;
        self.shared.written();
        Ok(c)
    }

    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        self.shared.local.comments(id).await
    }

    async fn list(&self, query: &TicketQuery) -> Result<Page<Ticket>> {
        let mut page = self.shared.local.list(query).await?;
        for t in &mut page.items {
            t.provider = KIND.to_owned();
        }
        Ok(page)
    }

    async fn history(&self, id: &TicketId) -> Result<Vec<HistoryEntry>> {
        self.shared.local.history(id).await
    }
}
