//! The shared conformance suite on every dialect: SQLite always, PostgreSQL and MySQL/MariaDB
//! when `TICKETS_TEST_POSTGRES_URL` / `TICKETS_TEST_MYSQL_URL` are set. Each run gets a database
//! of its own, dropped afterwards.

use std::sync::Arc;

use tickets_core::DynProvider;
use tickets_internal::testing::TestDb;

async fn run_on(db: TestDb) {
    let provider = db.open().await.expect("open the store");
    let report = tickets_testkit::run(Arc::new(provider.clone()) as DynProvider).await;
    assert!(!report.passed.is_empty());
    provider.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_sqlite_file() {
    run_on(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_sqlite_memory() {
    let provider = tickets_internal::InternalProvider::in_memory()
        .await
        .unwrap();
    tickets_testkit::run(Arc::new(provider) as DynProvider).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_postgres() {
    match TestDb::postgres().await.expect("create the test database") {
        Some(db) => run_on(db).await,
        None => eprintln!("TICKETS_TEST_POSTGRES_URL is not set; PostgreSQL not tested"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_mysql() {
    match TestDb::mysql().await.expect("create the test database") {
        Some(db) => run_on(db).await,
        None => eprintln!("TICKETS_TEST_MYSQL_URL is not set; MySQL not tested"),
    }
}
