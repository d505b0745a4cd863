//! The pull side: stale snapshots and racing local writes never overwrite local changes, change
//! feeds are followed (and resynced when they ask), remote deletions are recorded and shown,
//! conflicts follow the configured rules, and `verify` finds exactly what differs.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use tickets_core::memory::MemoryProvider;
use tickets_core::{
    Capabilities, ChangeToken, Changes, Comment, DynProvider, HistoryAction, NewComment, NewTicket,
    Page, Priority, Result, Status, Ticket, TicketId, TicketPatch, TicketProvider, TicketQuery,
};
use tickets_internal::LinkState;
use tickets_sync::{ConflictRules, HookPoint, Repair, Rule, SyncProvider, WorkerOptions};

/// The memory provider as a remote whose listing can be frozen (a stale snapshot), with or
/// without its change feed, reporting deletions on demand and counting listings.
#[derive(Debug, Default)]
struct Remote {
    inner: MemoryProvider,
    feed: bool,
    /// Listings (and reads of the tickets in it) answer this old state: a stale snapshot, as
    /// from a listing read earlier or an eventually consistent vendor read.
    frozen: Mutex<Option<Vec<Ticket>>>,
    deleted: Mutex<Vec<TicketId>>,
    listings: AtomicU64,
}

impl Remote {
    fn new(feed: bool) -> Arc<Self> {
        Arc::new(Self {
            feed,
            ..Self::default()
        })
    }
}

#[async_trait]
impl TicketProvider for Remote {
    fn kind(&self) -> &'static str {
        "memory"
    }
    fn capabilities(&self) -> Capabilities {
        let mut c = self.inner.capabilities();
        c.change_feed = self.feed;
        c.attachments = false;
        c
    }
    async fn create(&self, t: NewTicket) -> Result<Ticket> {
        self.inner.create(t).await
    }
    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        if self.deleted.lock().unwrap().contains(id) {
            return Err(tickets_core::Error::not_found(format!("ticket {id}")));
        }
        let frozen = self.frozen.lock().unwrap().clone();
        if let Some(old) = frozen.and_then(|f| f.into_iter().find(|t| &t.id == id)) {
            return Ok(old);
        }
        self.inner.get(id).await
    }
    async fn update(&self, id: &TicketId, p: TicketPatch) -> Result<Ticket> {
        self.inner.update(id, p).await
    }
    async fn add_comment(&self, id: &TicketId, c: NewComment) -> Result<Comment> {
        self.inner.add_comment(id, c).await
    }
    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        self.inner.comments(id).await
    }
    async fn list(&self, q: &TicketQuery) -> Result<Page<Ticket>> {
        self.listings.fetch_add(1, Ordering::Relaxed);
        if let Some(frozen) = self.frozen.lock().unwrap().clone() {
            return Ok(Page::new(frozen, None));
        }
        self.inner.list(q).await
    }
    async fn changes(&self, since: Option<&ChangeToken>) -> Result<Changes> {
        let mut page = self.inner.changes(since).await?;
        page.deleted = std::mem::take(&mut *self.deleted.lock().unwrap());
        Ok(page)
    }
}

fn options() -> WorkerOptions {
    common::options()
}

async fn sync_on(
    dir: &tempfile::TempDir,
    remote: Arc<Remote>,
    opts: WorkerOptions,
) -> SyncProvider {
    SyncProvider::new(common::store(dir).await, remote as DynProvider, "mem", opts).expect("sync")
}

async fn remote_id(sync: &SyncProvider, id: &TicketId) -> TicketId {
    TicketId::new(sync.get(id).await.unwrap().links["memory"].clone())
}

/// The window that lost a status in both stores: a listing read before a local change was
/// delivered is applied after it (and even a re-read answers the old state, as an eventually
/// consistent vendor may).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_listing_never_overwrites_a_delivered_change() {
    let remote = Remote::new(false);
    let dir = tempfile::tempdir().unwrap();
    let sync = sync_on(&dir, remote.clone(), options()).await;
    let t = sync.create(NewTicket::new("printer")).await.unwrap();
    sync.run_once().await.unwrap();
    let rid = remote_id(&sync, &t.id).await;
    sync.pull_changes().await.unwrap();

    // The listing is read now (status New) ...
    let stale = remote.inner.get(&rid).await.unwrap();
    *remote.frozen.lock().unwrap() = Some(vec![stale]);
    // ... then the local change is made and delivered ...
    sync.change_status(&t.id, Status::InProgress).await.unwrap();
    assert_eq!(sync.run_once().await.unwrap().delivered, 1);
    assert_eq!(
        remote.inner.get(&rid).await.unwrap().status,
        Status::InProgress
    );
    // ... and the stale listing is applied afterwards.
    sync.pull_changes().await.unwrap();
    assert_eq!(
        sync.get(&t.id).await.unwrap().status,
        Status::InProgress,
        "the older listed status did not come back"
    );
    // Setting the same status again is a no-op; nothing can copy the old one over it later.
    sync.change_status(&t.id, Status::InProgress).await.unwrap();
    sync.pull_changes().await.unwrap();
    assert_eq!(sync.get(&t.id).await.unwrap().status, Status::InProgress);
    *remote.frozen.lock().unwrap() = None;
    let report = sync.verify(None, &|_| {}).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
}

/// The narrower window: a local write lands after the pull read the ticket's undelivered
/// changes and before it writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_write_racing_a_pull_is_not_overwritten() {
    let remote = Remote::new(false);
    let dir = tempfile::tempdir().unwrap();
    let store = common::store(&dir).await;
    let writer = store.clone();
    let target: Arc<Mutex<Option<TicketId>>> = Arc::default();
    let armed = target.clone();
    let hook: tickets_sync::TestHook = Arc::new(move |point, _| {
        let id = (point == HookPoint::PullDecides)
            .then(|| armed.lock().unwrap().take())
            .flatten();
        let writer = writer.clone();
        async move {
            if let Some(id) = id {
                writer
                    .update(&id, TicketPatch::new().subject("local, racing the pull"))
                    .await
                    .expect("racing local write");
            }
        }
        .boxed()
    });
    let sync = SyncProvider::new(
        store,
        remote.clone() as DynProvider,
        "mem",
        options().test_hook(hook),
    )
    .unwrap();
    let t = sync.create(NewTicket::new("original")).await.unwrap();
    sync.run_once().await.unwrap();
    let rid = remote_id(&sync, &t.id).await;
    remote
        .inner
        .update(&rid, TicketPatch::new().subject("remote edit"))
        .await
        .unwrap();
    *target.lock().unwrap() = Some(t.id.clone());
    sync.pull(rid.as_str()).await.unwrap();
    assert_eq!(
        sync.get(&t.id).await.unwrap().subject,
        "local, racing the pull",
        "the undelivered local write won"
    );
    assert_eq!(sync.undelivered(&t.id).await.unwrap(), 1);
    sync.run_once().await.unwrap();
    assert_eq!(
        remote.inner.get(&rid).await.unwrap().subject,
        "local, racing the pull"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_feed_is_followed_and_resyncs_when_it_asks() {
    let remote = Remote::new(true);
    let a = remote
        .inner
        .create(NewTicket::new("made remotely"))
        .await
        .unwrap();
    remote
        .inner
        .add_comment(&a.id, NewComment::new("hello").author("alice@example.com"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sync = sync_on(&dir, remote.clone(), options()).await;

    let first = sync.pull_changes().await.unwrap();
    assert!(first.resynced, "{first:?}");
    assert_eq!(first.imported, 1, "{first:?}");
    assert_eq!(remote.listings.load(Ordering::Relaxed), 1);

    let b = remote.inner.create(NewTicket::new("later")).await.unwrap();
    remote
        .inner
        .update(&a.id, TicketPatch::new().priority(Priority::High))
        .await
        .unwrap();
    remote
        .inner
        .add_comment(&a.id, NewComment::new("from the web"))
        .await
        .unwrap();
    let second = sync.pull_changes().await.unwrap();
    assert!(!second.resynced);
    assert_eq!(
        remote.listings.load(Ordering::Relaxed),
        1,
        "the feed is used, not a listing"
    );
    assert_eq!((second.imported, second.updated), (1, 1), "{second:?}");
    let local_a = sync
        .list(&TicketQuery::new().text("made remotely"))
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(local_a.priority, Priority::High);
    assert_eq!(sync.comments(&local_a.id).await.unwrap().len(), 2);
    assert!(
        sync.list(&TicketQuery::new().text("later"))
            .await
            .unwrap()
            .items
            .iter()
            .any(|t| t.links.get("memory") == Some(&b.id.to_string()))
    );

    // A local comment is delivered and not copied back by the next pull.
    sync.add_comment(&local_a.id, NewComment::new("ours"))
        .await
        .unwrap();
    sync.run_once().await.unwrap();
    let third = sync.pull_changes().await.unwrap();
    assert_eq!(third.comments, 0, "{third:?}");
    assert_eq!(sync.comments(&local_a.id).await.unwrap().len(), 3);
    assert_eq!(remote.inner.comments(&a.id).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_deletion_is_recorded_and_shown_never_applied() {
    let remote = Remote::new(true);
    let dir = tempfile::tempdir().unwrap();
    let sync = sync_on(&dir, remote.clone(), options()).await;
    sync.pull_changes().await.unwrap();
    let t = sync
        .create(NewTicket::new("doomed remotely"))
        .await
        .unwrap();
    sync.run_once().await.unwrap();
    let rid = remote_id(&sync, &t.id).await;
    remote.deleted.lock().unwrap().push(rid.clone());

    let report = sync.pull_changes().await.unwrap();
    assert_eq!(report.deleted, 1, "{report:?}");
    assert_eq!(sync.get(&t.id).await.unwrap().subject, "doomed remotely");
    let link = sync
        .local()
        .links()
        .get(&t.id, "mem")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.state, LinkState::DeletedRemotely);
    let st = sync.status().await.unwrap();
    assert_eq!(st.remote_deleted.len(), 1);
    assert_eq!(st.remote_deleted[0].ticket_id, t.id);
    let history = sync.history(&t.id).await.unwrap();
    assert!(
        history.iter().any(
            |h| h.action == HistoryAction::Sync && h.field.as_deref() == Some("remote_deleted")
        )
    );
    // Seen again: recorded once.
    remote.deleted.lock().unwrap().push(rid);
    assert_eq!(sync.pull_changes().await.unwrap().deleted, 0);
    let verify = sync.verify(None, &|_| {}).await.unwrap();
    assert_eq!(verify.remote_deleted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_follow_the_configured_rule_and_are_recorded() {
    for rule in [Rule::LocalWins, Rule::RemoteWins] {
        let remote = Remote::new(false);
        let dir = tempfile::tempdir().unwrap();
        let rules = ConflictRules::default().group("priority", rule).unwrap();
        let sync = sync_on(&dir, remote.clone(), options().conflicts(rules)).await;
        let t = sync.create(NewTicket::new("both edit")).await.unwrap();
        sync.run_once().await.unwrap();
        let rid = remote_id(&sync, &t.id).await;
        // Both sides change the priority; the remote also changes the subject.
        sync.update(&t.id, TicketPatch::new().priority(Priority::High))
            .await
            .unwrap();
        remote
            .inner
            .update(
                &rid,
                TicketPatch::new()
                    .priority(Priority::Low)
                    .subject("renamed remotely"),
            )
            .await
            .unwrap();
        let report = sync.pull_changes().await.unwrap();
        assert_eq!(report.conflicts, 1, "{rule:?}: {report:?}");
        let local = sync.get(&t.id).await.unwrap();
        assert_eq!(local.subject, "renamed remotely", "no conflict there");
        let expected = match rule {
            Rule::LocalWins => Priority::High,
            Rule::RemoteWins => Priority::Low,
        };
        assert_eq!(local.priority, expected, "{rule:?}");
        let history = sync.history(&t.id).await.unwrap();
        assert!(
            history
                .iter()
                .any(|h| h.action == HistoryAction::Sync && h.field.as_deref() == Some("conflict")),
            "{history:?}"
        );
        // The undelivered local change then delivers the local value: both sides equal.
        common::drain(&sync, Duration::from_secs(10)).await;
        assert_eq!(remote.inner.get(&rid).await.unwrap().priority, expected);
        let verify = sync.verify(None, &|_| {}).await.unwrap();
        assert!(verify.is_clean(), "{rule:?}: {verify:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_finds_exactly_the_planted_differences_and_repairs_them() {
    let remote = Remote::new(false);
    let dir = tempfile::tempdir().unwrap();
    let sync = sync_on(&dir, remote.clone(), options()).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let t = sync.create(NewTicket::new(format!("t{i}"))).await.unwrap();
        sync.add_comment(&t.id, NewComment::new("first"))
            .await
            .unwrap();
        ids.push(t.id);
    }
    common::drain(&sync, Duration::from_secs(10)).await;
    let clean = sync.verify(None, &|_| {}).await.unwrap();
    assert!(clean.is_clean(), "{clean:?}");
    assert_eq!((clean.checked, clean.equal), (5, 5));

    // One difference planted on each side, of each kind.
    let r1 = remote_id(&sync, &ids[1]).await;
    remote
        .inner
        .update(&r1, TicketPatch::new().subject("remote only"))
        .await
        .unwrap();
    let r2 = remote_id(&sync, &ids[2]).await;
    remote
        .inner
        .add_comment(&r2, NewComment::new("remote comment"))
        .await
        .unwrap();
    let quiet = sync.local().without_outbox();
    quiet
        .update(&ids[3], TicketPatch::new().description("local only"))
        .await
        .unwrap();
    quiet
        .add_comment(&ids[4], NewComment::new("local comment"))
        .await
        .unwrap();
    let seen = AtomicU64::new(0);
    let report = sync
        .verify(None, &|n| {
            seen.store(n, Ordering::Relaxed);
        })
        .await
        .unwrap();
    assert_eq!(
        seen.load(Ordering::Relaxed),
        5,
        "progress reached every ticket"
    );
    let found: Vec<(TicketId, String, Option<String>, Option<String>)> = report
        .differences
        .iter()
        .map(|d| {
            (
                d.ticket_id.clone(),
                d.field.clone(),
                d.local.clone(),
                d.remote.clone(),
            )
        })
        .collect();
    let mut expected = vec![
        (
            ids[1].clone(),
            "subject".to_owned(),
            Some("t1".to_owned()),
            Some("remote only".to_owned()),
        ),
        (
            ids[2].clone(),
            "comment".to_owned(),
            None,
            Some("remote comment".to_owned()),
        ),
        (
            ids[3].clone(),
            "description".to_owned(),
            Some("local only".to_owned()),
            None,
        ),
        (
            ids[4].clone(),
            "comment".to_owned(),
            Some("local comment".to_owned()),
            None,
        ),
    ];
    expected.sort();
    let mut found_sorted = found.clone();
    found_sorted.sort();
    assert_eq!(found_sorted, expected, "exactly the planted differences");

    // Repair the remote side through the outbox: what the remote can take from here.
    let repaired = sync.verify(Some(Repair::Remote), &|_| {}).await.unwrap();
    assert_eq!(repaired.repaired, 3, "{repaired:?}");
    common::drain(&sync, Duration::from_secs(10)).await;
    let after = sync.verify(None, &|_| {}).await.unwrap();
    assert_eq!(
        after.differences.len(),
        1,
        "only the remote-only comment: {after:?}"
    );
    assert_eq!(after.differences[0].ticket_id, ids[2]);

    // Repair the local side: the remote comment comes home.
    let repaired = sync.verify(Some(Repair::Local), &|_| {}).await.unwrap();
    assert_eq!(repaired.repaired, 1, "{repaired:?}");
    let last = sync.verify(None, &|_| {}).await.unwrap();
    assert!(last.is_clean(), "{last:?}");
    assert_eq!(
        sync.status().await.unwrap().undelivered(),
        0,
        "pulled comments are not pushed back"
    );
}
