//! The `sync` provider: the trait on the local store, plus push, pull, status and retry.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use serde::Serialize;
use tickets_core::{
    Attachment, AttachmentContent, Capabilities, Comment, DynProvider, Error, HistoryEntry,
    NewAttachment, NewComment, NewTicket, Page, Result, Ticket, TicketId, TicketPatch,
    TicketProvider, TicketQuery, Workflow,
};
use tickets_internal::InternalProvider;
use tokio::sync::{Notify, watch};

use crate::config::WorkerOptions;
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

/// Stops the background worker when the provider is dropped (or shut down).
struct WorkerGuard {
    stop: watch::Sender<bool>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) delivered: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) parked: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) paused: AtomicU64,
    pub(crate) pulled: AtomicU64,
}

/// Reads a sync provider's counters from anywhere (see [`SyncProvider::metrics_handle`]).
#[derive(Clone)]
pub struct MetricsHandle(Arc<Shared>);

impl MetricsHandle {
    /// The counters now.
    pub fn read(&self) -> Metrics {
        self.0.metrics.read()
    }
}

impl fmt::Debug for MetricsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MetricsHandle").field(&self.read()).finish()
    }
}

impl Counters {
    pub(crate) fn read(&self) -> Metrics {
        Metrics {
            delivered: self.delivered.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            parked: self.parked.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            paused: self.paused.load(Ordering::Relaxed),
            pulled: self.pulled.load(Ordering::Relaxed),
        }
    }
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
    /// Entries given back unsent while the remote asked to wait (rate limit).
    pub paused: u64,
    /// Remote tickets applied locally by pulls.
    pub pulled: u64,
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
            max_retry_after: options.max_retry_after,
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
    /// dropped or [shut down](TicketProvider::shutdown). Calling it again does nothing.
    pub fn start_worker(mut self) -> Self {
        if self.worker.is_none() {
            let (tx, rx) = watch::channel(false);
            let shared = self.shared.clone();
            let task = tokio::spawn(async move {
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
            self.worker = Some(WorkerGuard {
                stop: tx,
                task: std::sync::Mutex::new(Some(task)),
            });
        }
        self
    }

    /// Stops the background worker, if any, and waits until it has given back the changes it
    /// claimed and the SQLite worker lease. The provider stays usable (writes are stored and
    /// wait in the outbox; `run_once` still delivers).
    pub async fn stop_worker(&self) {
        let Some(guard) = &self.worker else { return };
        let _ = guard.stop.send(true);
        let task = guard.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task
            && let Err(e) = task.await
            && e.is_panic()
        {
            tracing::error!(target: "tickets_sync", error = %e, "the sync worker panicked");
        }
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
        self.shared.metrics.read()
    }

    /// A handle that reads the counters while the provider is busy elsewhere (a progress
    /// display during `run_worker`).
    pub fn metrics_handle(&self) -> MetricsHandle {
        MetricsHandle(self.shared.clone())
    }

    /// Runs a delivery worker until `stop` completes (see [`crate::worker`]).
    pub async fn run_worker(
        &self,
        stop: impl std::future::Future<Output = ()> + Send,
    ) -> Result<()> {
        self.shared.run_worker(stop).await
    }

    /// Delivers every change that is not parked, now (`tickets sync run --once`): changes
    /// waiting in backoff are made due first, and a rate-limit pause is waited out (holding no
    /// claim). Each change gets at most one attempt per ticket in a row; one that fails is
    /// rescheduled, not retried in a loop.
    pub async fn run_once(&self) -> Result<crate::RunReport> {
        self.shared.run_once(None).await
    }

    /// Delivers what is due for at most `limit` (the CLI's short delivery after a write).
    /// Deliveries still in flight then are cut off and their changes given back at once, so
    /// none waits for a lease to end; a change cut off mid-request is sent again later, which
    /// the idempotency keys make harmless.
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

    /// How many changes of one ticket are not delivered yet.
    pub async fn undelivered(&self, id: &TicketId) -> Result<u64> {
        self.shared.local.outbox().undelivered(id).await
    }
}

/// Tickets read through the sync provider name it as their provider.
pub(crate) fn ours(mut t: Ticket) -> Ticket {
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
}

#[async_trait]
impl TicketProvider for SyncProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = self.shared.local.capabilities();
        // A delete is not delivered to the remote (yet): refusing it keeps both sides equal.
        caps.delete = false;
        caps
    }

    fn workflow(&self) -> &Workflow {
        self.shared.local.workflow()
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }

    async fn shutdown(&self) -> Result<()> {
        self.stop_worker().await;
        self.shared.remote.shutdown().await?;
        TicketProvider::shutdown(&self.shared.local).await
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

    async fn add_attachment(&self, id: &TicketId, a: NewAttachment) -> Result<Attachment> {
        let added = self.shared.local.add_attachment(id, a).await?;
        self.shared.written();
        Ok(added)
    }

    async fn attachments(&self, id: &TicketId) -> Result<Vec<Attachment>> {
        self.shared.local.attachments(id).await
    }

    async fn read_attachment(&self, attachment_id: &str) -> Result<AttachmentContent> {
        self.shared.local.read_attachment(attachment_id).await
    }
}
