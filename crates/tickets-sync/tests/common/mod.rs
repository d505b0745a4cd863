//! What the sync tests share: the fake Asana, a store on a temp SQLite file, and the equality
//! check between the local store and the remote.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::{DynProvider, Ticket, TicketId, TicketProvider, TicketProviderExt, TicketQuery};
use tickets_fakes::asana::FakeAsana;
use tickets_internal::{InternalConfig, InternalProvider};
use tickets_sync::{SyncProvider, WorkerOptions};

/// Logs to stderr when RUST_LOG is set (e.g. `RUST_LOG=tickets_sync=debug`).
pub fn logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

pub fn asana(fake: &FakeAsana, max_retries: u32) -> DynProvider {
    let mut config = asana_config(fake);
    config.max_retries = max_retries;
    // The fake is not Asana: drains of thousands of changes are not paced at Asana's
    // 1,500 a minute, and the 429s it injects at random are no spent budget to hold every
    // request for (tickets-asana tests its pacing).
    config.requests_per_minute = 0;
    Arc::new(AsanaProvider::new(config).expect("valid asana config"))
}

/// Asana paced as configured by default (`requests_per_minute`), for the tests of what a
/// 429's hold does to delivery.
pub fn asana_paced(fake: &FakeAsana, requests_per_minute: u32) -> DynProvider {
    let mut config = asana_config(fake);
    config.requests_per_minute = requests_per_minute;
    Arc::new(AsanaProvider::new(config).expect("valid asana config"))
}

fn asana_config(fake: &FakeAsana) -> AsanaConfig {
    logs();
    let mut config = AsanaConfig::new(fake.token(), fake.project())
        .base_url(fake.base_url())
        .workspace(fake.workspace());
    config.timeout_secs = 10;
    config
}

pub async fn store(dir: &tempfile::TempDir) -> InternalProvider {
    let url = format!("sqlite://{}", dir.path().join("tickets.db").display());
    InternalProvider::open(InternalConfig::new(url).outbox(true))
        .await
        .expect("store opens")
}

/// Fast retries for tests.
pub fn options() -> WorkerOptions {
    WorkerOptions::default()
        .concurrency(16)
        .backoff(Duration::from_millis(20), Duration::from_millis(500))
        .poll_interval(Duration::from_millis(50))
        .pull_interval(None)
        .max_attempts(50)
}

pub async fn sync(
    dir: &tempfile::TempDir,
    remote: DynProvider,
    opts: WorkerOptions,
) -> SyncProvider {
    SyncProvider::new(store(dir).await, remote, "asana", opts).expect("sync provider")
}

/// Runs the worker until nothing is undelivered (pending retries included), or panics after
/// `limit`.
pub async fn drain(sync: &SyncProvider, limit: Duration) {
    let end = tokio::time::Instant::now() + limit;
    loop {
        sync.run_once().await.expect("run_once");
        let st = sync.status().await.expect("status");
        assert_eq!(st.parked, 0, "nothing parks: {:?}", st.parked_entries);
        if st.undelivered() == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "still undelivered after {limit:?}: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn view(t: &Ticket) -> String {
    let tags: BTreeSet<&str> = t.tags.iter().map(String::as_str).collect();
    format!(
        "{} | {} | {} | {} | {:?} | {:?} | {:?}",
        t.subject,
        t.description.trim(),
        t.status,
        t.priority,
        t.assignee,
        tags,
        t.due
    )
}

/// Every local ticket is linked, the remote has exactly those tickets, with the same fields
/// and the same comments in the same order.
pub async fn assert_equal(sync: &SyncProvider, fake: &FakeAsana) {
    let locals: Vec<Ticket> = sync
        .list_all(TicketQuery::new().page_size(500))
        .try_collect()
        .await
        .expect("local list");
    let remote = sync.remote();
    let tasks = fake.project_tasks();
    assert_eq!(
        tasks.len(),
        locals.len(),
        "one remote task per local ticket, no duplicates"
    );
    let mut seen = BTreeSet::new();
    for l in &locals {
        let rid = l
            .links
            .get("asana")
            .unwrap_or_else(|| panic!("ticket {} has no asana link", l.id));
        assert!(seen.insert(rid.clone()), "two tickets linked to {rid}");
        let r = remote
            .get(&TicketId::new(rid.clone()))
            .await
            .expect("remote get");
        assert_eq!(view(l), view(&r), "ticket {} vs task {rid}", l.id);
        let lc: Vec<(Option<String>, String)> = sync
            .comments(&l.id)
            .await
            .expect("local comments")
            .into_iter()
            .map(|c| (c.author, c.body.trim().to_owned()))
            .collect();
        let rc: Vec<(Option<String>, String)> = remote
            .comments(&r.id)
            .await
            .expect("remote comments")
            .into_iter()
            .map(|c| (c.author, c.body.trim().to_owned()))
            .collect();
        assert_eq!(lc, rc, "comments of ticket {} vs task {rid}", l.id);
    }
}

/// The memory provider as a remote that logs every write it is sent (`create SUBJECT`,
/// `update REMOTE_ID subject=...`, `comment REMOTE_ID KEY BODY`), so tests can say exactly what
/// reached the remote and in which order.
#[derive(Debug, Default)]
pub struct Recording {
    pub inner: tickets_core::memory::MemoryProvider,
    pub log: std::sync::Mutex<Vec<String>>,
}

impl Recording {
    pub fn sent(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn push(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
}

#[async_trait::async_trait]
impl TicketProvider for Recording {
    fn kind(&self) -> &'static str {
        "memory"
    }
    fn capabilities(&self) -> tickets_core::Capabilities {
        let mut c = self.inner.capabilities();
        c.attachments = false;
        c
    }
    async fn create(&self, t: tickets_core::NewTicket) -> tickets_core::Result<Ticket> {
        self.push(format!("create {}", t.subject));
        self.inner.create(t).await
    }
    async fn get(&self, id: &TicketId) -> tickets_core::Result<Ticket> {
        self.inner.get(id).await
    }
    async fn update(
        &self,
        id: &TicketId,
        p: tickets_core::TicketPatch,
    ) -> tickets_core::Result<Ticket> {
        let mut line = format!("update {id}");
        if let tickets_core::Patch::Set(s) = &p.subject {
            line.push_str(&format!(" subject={s}"));
        }
        if let tickets_core::Patch::Set(s) = &p.status {
            line.push_str(&format!(" status={s}"));
        }
        self.push(line);
        self.inner.update(id, p).await
    }
    async fn add_comment(
        &self,
        id: &TicketId,
        c: tickets_core::NewComment,
    ) -> tickets_core::Result<tickets_core::Comment> {
        self.push(format!(
            "comment {id} {} {}",
            c.idempotency_key.as_deref().unwrap_or("-"),
            c.body
        ));
        self.inner.add_comment(id, c).await
    }
    async fn comments(&self, id: &TicketId) -> tickets_core::Result<Vec<tickets_core::Comment>> {
        self.inner.comments(id).await
    }
    async fn list(&self, q: &TicketQuery) -> tickets_core::Result<tickets_core::Page<Ticket>> {
        self.inner.list(q).await
    }
}
