//! A connection stopped inside a transaction (a paused process holding a row lock) holds a
//! writer up for at most `busy_timeout_ms`, on the servers too (PostgreSQL's `lock_timeout`,
//! MySQL's `innodb_lock_wait_timeout`, 50 s by default), and the writer fails with a time-out.

use std::time::{Duration, Instant};

use sqlx::Connection;
use tickets_core::{ErrorKind, NewTicket, TicketPatch, TicketProvider};
use tickets_internal::testing::TestDb;
use tickets_internal::{Dialect, InternalProvider};

#[tokio::test]
async fn a_lock_held_by_a_stopped_peer_holds_writers_up_for_the_busy_timeout_only() {
    for db in TestDb::servers().await.expect("test servers") {
        eprintln!("dialect {:?}", db.dialect());
        let store = InternalProvider::open(db.config().busy_timeout(Duration::from_millis(1500)))
            .await
            .expect("open");
        let t = store.create(NewTicket::new("locked")).await.unwrap();
        let lock = format!(
            "SELECT subject FROM tickets WHERE id = '{}' FOR UPDATE",
            t.id
        );
        let started;
        let result = match db.dialect() {
            Dialect::Postgres => {
                let mut peer = sqlx::PgConnection::connect(db.url()).await.unwrap();
                let mut tx = peer.begin().await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(lock))
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                started = Instant::now();
                let r = store
                    .update(&t.id, TicketPatch::new().subject("blocked"))
                    .await;
                tx.rollback().await.unwrap();
                r
            }
            Dialect::MySql => {
                let mut peer = sqlx::MySqlConnection::connect(db.url()).await.unwrap();
                let mut tx = peer.begin().await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(lock))
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                started = Instant::now();
                let r = store
                    .update(&t.id, TicketPatch::new().subject("blocked"))
                    .await;
                tx.rollback().await.unwrap();
                r
            }
            Dialect::Sqlite => unreachable!("servers only"),
        };
        let waited = started.elapsed();
        let err = result.expect_err("the row stayed locked");
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(
            waited < Duration::from_secs(10),
            "waited {waited:?}, not the server's default"
        );
        assert_eq!(store.get(&t.id).await.unwrap().subject, "locked");
        store.shutdown().await;
    }
}

/// SQLite's writer lock held by a stopped peer: the store runs the transaction again a few
/// times (a busy database is transient), then gives up with an error marked as exhausted, so
/// the retry layer above does not multiply the attempts (issue 15: one retry policy).
#[tokio::test]
async fn a_transaction_that_stays_busy_gives_up_marked_as_exhausted() {
    let db = TestDb::sqlite();
    let store = InternalProvider::open(db.config().busy_timeout(Duration::from_millis(50)))
        .await
        .expect("open");
    let t = store.create(NewTicket::new("locked")).await.unwrap();
    let mut peer = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut peer)
        .await
        .unwrap();
    let err = store
        .update(&t.id, TicketPatch::new().subject("blocked"))
        .await
        .expect_err("the database stayed locked");
    sqlx::query("ROLLBACK").execute(&mut peer).await.unwrap();
    assert!(err.attempts().is_some_and(|n| n > 1), "{err:?}");
    assert!(!err.is_retryable(), "{err}");
    assert!(err.to_string().contains("gave up after"), "{err}");
    assert_eq!(store.get(&t.id).await.unwrap().subject, "locked");
    store.shutdown().await;
}
