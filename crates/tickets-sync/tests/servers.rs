//! Several workers (each with its own pool, as in separate processes) share one PostgreSQL or
//! MySQL outbox: everything is delivered, and no create or comment is ever sent twice. Runs on
//! the servers `TICKETS_TEST_POSTGRES_URL` / `TICKETS_TEST_MYSQL_URL` name (a missing one is
//! reported as skipped, and is an error when `CI` is set).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tickets_core::memory::MemoryProvider;
use tickets_core::{
    Capabilities, Comment, DynProvider, NewComment, NewTicket, Page, Result, Ticket, TicketId,
    TicketPatch, TicketProvider, TicketQuery,
};
use tickets_internal::InternalProvider;
use tickets_internal::testing::TestDb;
use tickets_sync::{SyncProvider, WorkerOptions};

/// The memory provider, counting every create and comment it is sent.
#[derive(Debug, Default)]
struct Counting {
    inner: MemoryProvider,
    sent: Mutex<HashMap<String, u32>>,
}

impl Counting {
    fn count(&self, key: String) {
        *self.sent.lock().unwrap().entry(key).or_default() += 1;
    }
}

#[async_trait]
impl TicketProvider for Counting {
    fn kind(&self) -> &'static str {
        "memory"
    }
    fn capabilities(&self) -> Capabilities {
        let mut c = self.inner.capabilities();
        c.attachments = false;
        c
    }
    async fn create(&self, t: NewTicket) -> Result<Ticket> {
        self.count(format!("create {}", t.subject));
        self.inner.create(t).await
    }
    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        self.inner.get(id).await
    }
    async fn update(&self, id: &TicketId, p: TicketPatch) -> Result<Ticket> {
        self.inner.update(id, p).await
    }
    async fn add_comment(&self, id: &TicketId, c: NewComment) -> Result<Comment> {
        self.count(format!("comment {id} {}", c.body));
        self.inner.add_comment(id, c).await
    }
    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        self.inner.comments(id).await
    }
    async fn list(&self, q: &TicketQuery) -> Result<Page<Ticket>> {
        self.inner.list(q).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_workers_share_a_server_outbox_and_send_nothing_twice() {
    for db in TestDb::servers().await.expect("test servers") {
        eprintln!("dialect {:?}", db.dialect());
        three_workers(&db).await;
    }
}

async fn three_workers(db: &TestDb) {
    let remote = Arc::new(Counting::default());
    let opts = WorkerOptions::default()
        .concurrency(8)
        .backoff(Duration::from_millis(10), Duration::from_millis(100))
        .poll_interval(Duration::from_millis(20))
        .pull_interval(None);
    let mut workers = Vec::new();
    for _ in 0..3 {
        let store = InternalProvider::open(db.config().outbox(true))
            .await
            .expect("open");
        workers.push(Arc::new(
            SyncProvider::new(store, remote.clone() as DynProvider, "mem", opts.clone())
                .expect("sync"),
        ));
    }
    let writer = &workers[0];
    let mut ids = Vec::new();
    for i in 0..60 {
        let t = writer
            .create(NewTicket::new(format!("t{i}")))
            .await
            .expect("create");
        writer
            .add_comment(&t.id, NewComment::new(format!("c{i}")))
            .await
            .expect("comment");
        writer
            .update(&t.id, TicketPatch::new().subject(format!("t{i}!")))
            .await
            .expect("update");
        ids.push(t.id);
    }
    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut running = Vec::new();
    for w in &workers {
        let w = w.clone();
        let mut stop = stop_tx.subscribe();
        running.push(tokio::spawn(async move {
            w.run_worker(async move {
                let _ = stop.recv().await;
            })
            .await
        }));
    }
    let end = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let st = writer.status().await.expect("status");
        if st.undelivered() == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < end, "not delivered: {st:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_tx.send(());
    for r in running {
        r.await.expect("worker task").expect("worker");
    }
    let delivered: u64 = workers.iter().map(|w| w.metrics().delivered).sum();
    assert_eq!(delivered, 180, "every entry delivered once");
    assert!(
        workers.iter().filter(|w| w.metrics().delivered > 0).count() >= 2,
        "the work was shared"
    );
    let sent = remote.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 120, "60 creates and 60 comments");
    assert!(
        sent.values().all(|&n| n == 1),
        "nothing sent twice: {sent:?}"
    );
    for id in &ids {
        let t = writer.get(id).await.expect("get");
        let rid = TicketId::new(t.links["memory"].clone());
        assert_eq!(remote.get(&rid).await.expect("remote").subject, t.subject);
    }
}

/// 80 identical "+1" comments written at once on one ticket, delivered by three workers to the
/// fake Asana: each is its own comment there (they used to be counted by text and time, and
/// 77 arrived).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eighty_identical_concurrent_comments_arrive_as_eighty() {
    for db in TestDb::servers().await.expect("test servers") {
        eprintln!("dialect {:?}", db.dialect());
        eighty_plus_ones(&db).await;
    }
}

async fn eighty_plus_ones(db: &TestDb) {
    let fake = tickets_fakes::asana::FakeAsana::start()
        .await
        .expect("fake");
    let opts = WorkerOptions::default()
        .concurrency(8)
        .backoff(Duration::from_millis(10), Duration::from_millis(100))
        .poll_interval(Duration::from_millis(20))
        .pull_interval(None);
    let mut workers = Vec::new();
    for _ in 0..3 {
        let store = InternalProvider::open(db.config().outbox(true))
            .await
            .expect("open");
        workers.push(Arc::new(
            SyncProvider::new(store, common::asana(&fake, 1), "asana", opts.clone()).expect("sync"),
        ));
    }
    let t = workers[0]
        .create(NewTicket::new("popular"))
        .await
        .expect("create");
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..80 {
        let w = workers[i % 3].clone();
        let id = t.id.clone();
        writers.spawn(async move { w.add_comment(&id, NewComment::new("+1")).await });
    }
    while let Some(r) = writers.join_next().await {
        r.expect("writer").expect("comment");
    }
    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut running = Vec::new();
    for w in &workers {
        let w = w.clone();
        let mut stop = stop_tx.subscribe();
        running.push(tokio::spawn(async move {
            w.run_worker(async move {
                let _ = stop.recv().await;
            })
            .await
        }));
    }
    let end = tokio::time::Instant::now() + Duration::from_secs(120);
    while workers[0].status().await.expect("status").undelivered() > 0 {
        assert!(tokio::time::Instant::now() < end, "not delivered in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_tx.send(());
    for r in running {
        r.await.expect("worker task").expect("worker");
    }
    let local = workers[0].get(&t.id).await.expect("get");
    let rid = TicketId::new(local.links["asana"].clone());
    let remote = workers[0].remote().comments(&rid).await.expect("comments");
    assert_eq!(remote.iter().filter(|c| c.body == "+1").count(), 80);
    assert_eq!(workers[0].comments(&t.id).await.expect("local").len(), 80);
}
