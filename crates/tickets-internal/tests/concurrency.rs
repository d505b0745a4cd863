//! Many writers at once, on every dialect: 8 tasks x 500 creates, and 8 tasks x 500 comments on
//! one ticket. Nothing may be lost, numbers must be unique, and no "database is locked".

use std::collections::HashSet;

use tickets_core::{NewComment, NewTicket, TicketProvider, TicketProviderExt, TicketQuery};
use tickets_internal::InternalProvider;
use tickets_internal::testing::TestDb;

const TASKS: usize = 8;
const PER_TASK: usize = 500;

async fn many_creates(store: InternalProvider) {
    let tag = format!("burst-{}", uuid::Uuid::new_v4().simple());
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = store.clone();
        let tag = tag.clone();
        handles.push(tokio::spawn(async move {
            let mut made = Vec::with_capacity(PER_TASK);
            for i in 0..PER_TASK {
                let t = store
                    .create(NewTicket::new(format!("task {task} ticket {i}")).tag(&tag))
                    .await
                    .unwrap_or_else(|e| panic!("create {task}/{i} failed: {e}"));
                made.push(t);
            }
            made
        }));
    }
    let mut ids = HashSet::new();
    let mut numbers = HashSet::new();
    for h in handles {
        for t in h.await.expect("task panicked") {
            assert!(ids.insert(t.id.clone()), "duplicate id {}", t.id);
            let number = t.number.clone().expect("a number");
            assert!(numbers.insert(number.clone()), "duplicate number {number}");
        }
    }
    assert_eq!(ids.len(), TASKS * PER_TASK);
    let listed: Vec<_> = store
        .list_all(TicketQuery::new().tag(&tag).page_size(1000))
        .collect_all()
        .await;
    assert_eq!(
        listed.len(),
        TASKS * PER_TASK,
        "every created ticket is listed"
    );
    let listed_ids: HashSet<_> = listed.into_iter().map(|t| t.id).collect();
    assert_eq!(listed_ids, ids);
}

async fn many_comments(store: InternalProvider) {
    let ticket = store.create(NewTicket::new("busy thread")).await.unwrap();
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = store.clone();
        let id = ticket.id.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                store
                    .add_comment(&id, NewComment::new(format!("{task}/{i}")).author("w"))
                    .await
                    .unwrap_or_else(|e| panic!("comment {task}/{i} failed: {e}"));
            }
        }));
    }
    for h in handles {
        h.await.expect("task panicked");
    }
    let comments = store.comments(&ticket.id).await.unwrap();
    assert_eq!(comments.len(), TASKS * PER_TASK);
    let bodies: HashSet<_> = comments.iter().map(|c| c.body.clone()).collect();
    assert_eq!(bodies.len(), TASKS * PER_TASK, "no comment lost or doubled");
    // Each task's comments keep their order.
    for task in 0..TASKS {
        let mine: Vec<usize> = comments
            .iter()
            .filter_map(|c| c.body.strip_prefix(&format!("{task}/")))
            .map(|i| i.parse().unwrap())
            .collect();
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "task {task} out of order"
        );
    }
    let history = store.history(&ticket.id).await.unwrap();
    assert_eq!(history.len(), 1 + TASKS * PER_TASK);
}

trait CollectAll {
    async fn collect_all(self) -> Vec<tickets_core::Ticket>;
}

impl CollectAll for futures::stream::BoxStream<'_, tickets_core::Result<tickets_core::Ticket>> {
    async fn collect_all(self) -> Vec<tickets_core::Ticket> {
        use futures::TryStreamExt;
        self.try_collect().await.expect("list")
    }
}

async fn both(db: TestDb) {
    let store = db.open().await.expect("open");
    many_creates(store.clone()).await;
    many_comments(store.clone()).await;
    store.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_writers() {
    both(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_writers() {
    match TestDb::postgres().await.expect("test database") {
        Some(db) => both(db).await,
        None => eprintln!("TICKETS_TEST_POSTGRES_URL is not set; PostgreSQL not tested"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_writers() {
    match TestDb::mysql().await.expect("test database") {
        Some(db) => both(db).await,
        None => eprintln!("TICKETS_TEST_MYSQL_URL is not set; MySQL not tested"),
    }
}

/// Two pools (as two processes would) writing one SQLite file: the busy timeout makes the
/// second writer wait instead of failing with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_share_one_sqlite_file() {
    let db = TestDb::sqlite();
    let a = db.open().await.unwrap();
    let b = db.open().await.unwrap();
    let mut handles = Vec::new();
    for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        handles.push(tokio::spawn(async move {
            for i in 0..100 {
                store
                    .create(NewTicket::new(format!("pool {n} #{i}")).tag("shared"))
                    .await
                    .unwrap_or_else(|e| panic!("create failed: {e}"));
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let page = a
        .list(&TicketQuery::new().tag("shared").page_size(1000))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 400);
}
