//! Many opens of a store that does not exist yet, at the same moment: every one must succeed
//! (schema created once, WAL switched once) and the store must end up with every ticket.
//! The CLI runs the same with twenty real processes (crates/tickets-cli/tests/store.rs).

use tickets_core::{NewTicket, TicketProvider, TicketQuery};
use tickets_internal::InternalProvider;
use tickets_internal::migrate::latest_version;
use tickets_internal::testing::TestDb;

const OPENS: usize = 12;

/// Opens the database `OPENS` times at once, each on its own runtime thread, and creates one
/// ticket through each. Returns the stores.
async fn open_all_at_once(db: &TestDb) -> Vec<InternalProvider> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(OPENS));
    let mut handles = Vec::new();
    for i in 0..OPENS {
        let config = db.config().max_connections(2);
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let store = InternalProvider::open(config)
                .await
                .unwrap_or_else(|e| panic!("open {i} failed: {e}"));
            store
                .create(NewTicket::new(format!("opened by {i}")).tag("first-open"))
                .await
                .unwrap_or_else(|e| panic!("create through open {i} failed: {e}"));
            store
        }));
    }
    let mut stores = Vec::new();
    for h in handles {
        stores.push(h.await.expect("an open panicked"));
    }
    stores
}

async fn check(db: &TestDb) {
    let stores = open_all_at_once(db).await;
    let listed = stores[0]
        .list(&TicketQuery::new().tag("first-open").page_size(100))
        .await
        .unwrap()
        .items;
    assert_eq!(
        listed.len(),
        OPENS,
        "{:?}: every open created its ticket",
        db.dialect()
    );
    for store in &stores {
        store.shutdown().await;
    }
    // The schema was applied exactly once: a new open finds nothing to do and works.
    let again = db.open().await.expect("reopen");
    assert_eq!(
        again.list(&TicketQuery::new()).await.unwrap().items.len(),
        OPENS
    );
    assert!(latest_version() >= 5);
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_opens_of_a_new_sqlite_file() {
    // Several rounds: the window is a few milliseconds wide.
    for _ in 0..3 {
        let db = TestDb::sqlite();
        check(&db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_opens_of_a_new_server_database() {
    for db in TestDb::servers().await.unwrap() {
        check(&db).await;
    }
}
