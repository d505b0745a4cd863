//! The mapping tables, then the main errors provoked on real servers (PostgreSQL and MySQL when
//! `TICKETS_TEST_POSTGRES_URL` / `TICKETS_TEST_MYSQL_URL` are set).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tickets_core::{NewTicket, TicketProvider, TicketQuery};

use super::dialects::{classify_code, transient_code};
use super::*;
use crate::client::Dialect;
use crate::exec::Sql;
use crate::testing::{MYSQL_ENV, POSTGRES_ENV, TestDb, skipped};
use crate::tx::{ATTEMPTS, Done, in_tx};
use crate::{InternalConfig, InternalProvider};

fn kind_of(code: Code) -> ErrorKind {
    classify_code(&code, "message").0
}

#[test]
fn plain_errors() {
    assert_eq!(map(sqlx::Error::RowNotFound).kind(), ErrorKind::NotFound);
    let e = map(sqlx::Error::PoolTimedOut);
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.was_not_applied());
    let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    let e = map_open(sqlx::Error::Io(io), "postgres://app:***@db/t");
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.was_not_applied());
    assert!(e.message().contains("server runs"), "{e}");
}

#[test]
fn mysql_by_error_number() {
    use ErrorKind::*;
    for (number, kind) in [
        (1213, Conflict),
        (1020, Conflict),
        (1205, Timeout),
        (3024, Timeout),
        (1969, Timeout),
        (1045, Unauthenticated),
        (1698, Unauthenticated),
        (1044, PermissionDenied),
        (1142, PermissionDenied),
        (1049, Config),
        (1046, Config),
        (1146, Config),
        (1406, InvalidInput),
        (1366, InvalidInput),
        (1264, InvalidInput),
        (1290, Unavailable),
        (1836, Unavailable),
        (1040, Unavailable),
        (1053, Unavailable),
        (1927, Unavailable),
        (1114, Unavailable),
        (1064, Unexpected),
    ] {
        assert_eq!(kind_of(Code::MySql(number)), kind, "MySQL {number}");
    }
    assert!(transient_code(&Code::MySql(1213)));
    assert!(
        !transient_code(&Code::MySql(1205)),
        "a lock wait is not rerun"
    );
    assert!(!transient_code(&Code::MySql(1049)));
}

#[test]
fn postgres_by_sqlstate() {
    use ErrorKind::*;
    for (state, kind) in [
        ("40001", Conflict),
        ("40P01", Conflict),
        ("55P03", Timeout),
        ("57014", Timeout),
        ("28P01", Unauthenticated),
        ("28000", Unauthenticated),
        ("42501", PermissionDenied),
        ("3D000", Config),
        ("42P01", Config),
        ("22001", InvalidInput),
        ("22021", InvalidInput),
        ("25006", Unavailable),
        ("53300", Unavailable),
        ("57P01", Unavailable),
        ("42601", Unexpected),
    ] {
        assert_eq!(
            kind_of(Code::Postgres(state.into())),
            kind,
            "SQLSTATE {state}"
        );
    }
    assert!(transient_code(&Code::Postgres("40P01".into())));
    assert!(!transient_code(&Code::Postgres("55P03".into())));
}

#[test]
fn sqlite_by_result_code() {
    use ErrorKind::*;
    for (code, kind) in [
        (5, Unavailable),
        (517, Unavailable),
        (6, Unavailable),
        (8, PermissionDenied),
        (14, Config),
        (26, Config),
        (13, Unavailable),
        (19, Unexpected),
    ] {
        assert_eq!(kind_of(Code::Sqlite(code)), kind, "SQLite {code}");
    }
    assert!(transient_code(&Code::Sqlite(517)));
    assert!(!transient_code(&Code::Sqlite(8)));
    // A bare code of no known dialect is never read as one: "1213" is not a deadlock.
    assert!(!transient_code(&Code::Other("1213".into())));
    assert_eq!(kind_of(Code::Other("40001".into())), Unexpected);
}

/// The server URL an env var names, with its database replaced.
fn server_url(var: &str, database: &str) -> Option<String> {
    let admin = std::env::var(var).ok().filter(|v| !v.trim().is_empty())?;
    let mut url = url::Url::parse(admin.trim()).ok()?;
    url.set_path(&format!("/{database}"));
    Some(url.to_string())
}

fn servers() -> Vec<(&'static str, Option<String>)> {
    [POSTGRES_ENV, MYSQL_ENV]
        .into_iter()
        .map(|var| (var, server_url(var, "tickets_no_such_db_7f3a")))
        .collect()
}

#[tokio::test]
async fn an_unknown_database_is_a_config_error_naming_it() {
    for (var, url) in servers() {
        let Some(url) = url else {
            skipped(&format!("an unknown database ({var} is not set)")).unwrap();
            continue;
        };
        let err = InternalProvider::connect(&url).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{var}: {err}");
        assert!(err.message().contains("tickets_no_such_db_7f3a"), "{err}");
        assert!(err.message().contains("does not exist"), "{err}");
    }
}

#[tokio::test]
async fn an_unknown_user_is_unauthenticated() {
    for (var, _) in servers() {
        let Some(mut url) = server_url(var, "postgres").and_then(|u| url::Url::parse(&u).ok())
        else {
            skipped(&format!("an unknown user ({var} is not set)")).unwrap();
            continue;
        };
        url.set_username("tickets_nobody_7f3a").unwrap();
        let err = InternalProvider::connect(url.as_str()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{var}: {err}");
    }
}

#[tokio::test]
async fn missing_tables_without_migrations_are_a_config_error() {
    for db in TestDb::all().await.unwrap() {
        let store = InternalProvider::open(db.config().migrate(false))
            .await
            .unwrap();
        let err = store.list(&TicketQuery::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{:?}: {err}", db.dialect());
        assert!(err.message().contains("migrate = true"), "{err}");
    }
}

#[tokio::test]
async fn bad_values_are_invalid_input() {
    for db in TestDb::servers().await.unwrap() {
        let store = db.open().await.unwrap();
        let bad = match db.dialect() {
            // A NUL character in text (SQLSTATE 22021).
            Dialect::Postgres => NewTicket::new("nul \0 inside"),
            // Longer than the VARCHAR(255) column (1406).
            _ => NewTicket::new("long assignee").assignee("a".repeat(300)),
        };
        let err = store.create(bad).await.unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidInput,
            "{:?}: {err}",
            db.dialect()
        );
    }
}

async fn exec(
    ex: &mut crate::exec::Exec<'_>,
    dialect: Dialect,
    sql: &str,
) -> tickets_core::Result<u64> {
    ex.execute(&Sql::new(dialect, sql), &[]).await
}

/// A scratch table `t (id, v)` with rows 1 and 2, and `ballast (id)`.
async fn scratch(store: &InternalProvider) {
    let d = store.dialect();
    let mut conn = store.db().conn().await.unwrap();
    let mut ex = conn.exec();
    exec(
        &mut ex,
        d,
        "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)",
    )
    .await
    .unwrap();
    exec(&mut ex, d, "INSERT INTO t (id, v) VALUES (1, 0), (2, 0)")
        .await
        .unwrap();
    exec(&mut ex, d, "CREATE TABLE ballast (id INT PRIMARY KEY)")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_duplicate_key_is_already_exists() {
    for db in TestDb::all().await.unwrap() {
        let store = db.open().await.unwrap();
        scratch(&store).await;
        let mut conn = store.db().conn().await.unwrap();
        let err = exec(
            &mut conn.exec(),
            db.dialect(),
            "INSERT INTO t (id, v) VALUES (1, 5)",
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::AlreadyExists,
            "{:?}: {err}",
            db.dialect()
        );
        assert!(!is_transient(&err));
    }
}

#[tokio::test]
async fn a_lock_wait_past_the_limit_is_a_timeout() {
    for db in TestDb::servers().await.unwrap() {
        let store = db.open().await.unwrap();
        let d = store.dialect();
        scratch(&store).await;
        let mut holder = store.db().begin().await.unwrap();
        exec(&mut holder.exec(), d, "UPDATE t SET v = 1 WHERE id = 1")
            .await
            .unwrap();
        let mut waiter = store.db().begin().await.unwrap();
        let limit = match d {
            Dialect::Postgres => "SET LOCAL lock_timeout = '200ms'",
            _ => "SET SESSION innodb_lock_wait_timeout = 1",
        };
        exec(&mut waiter.exec(), d, limit).await.unwrap();
        let err = exec(&mut waiter.exec(), d, "UPDATE t SET v = 2 WHERE id = 1")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{d:?}: {err}");
        assert!(!is_transient(&err), "a lock wait is not rerun by the store");
        let _ = waiter.rollback().await;
        holder.rollback().await.unwrap();
    }
}

/// Takes row 2, tells `locked`, then waits for row 1 (held by the transaction under test), and
/// rolls back once it gets it. Heavier than the transaction under test (MySQL picks the lighter
/// one as the deadlock victim) and slow to look for deadlocks (on PostgreSQL the transaction
/// that looks first is the one aborted).
async fn partner(store: InternalProvider, locked: tokio::sync::oneshot::Sender<()>) {
    let d = store.dialect();
    let mut tx = store.db().begin().await.unwrap();
    {
        let mut ex = tx.exec();
        if d == Dialect::Postgres {
            exec(&mut ex, d, "SET LOCAL deadlock_timeout = '10s'")
                .await
                .unwrap();
        }
        let rows: Vec<String> = (1..=50).map(|i| format!("({i})")).collect();
        let ballast = format!("INSERT INTO ballast (id) VALUES {}", rows.join(", "));
        exec(&mut ex, d, &ballast).await.unwrap();
        exec(&mut ex, d, "UPDATE t SET v = v + 1 WHERE id = 2")
            .await
            .unwrap();
        let _ = locked.send(());
        exec(&mut ex, d, "UPDATE t SET v = v + 1 WHERE id = 1")
            .await
            .unwrap();
    }
    tx.rollback().await.unwrap();
}

/// Runs one write transaction through the store's retry loop (`in_tx!`) in which the first
/// `deadlocks` attempts end as a deadlock victim. Returns its result and the attempts made.
async fn deadlocking_write(
    store: &InternalProvider,
    deadlocks: u32,
) -> (tickets_core::Result<()>, u32) {
    let d = store.dialect();
    let attempts = AtomicU32::new(0);
    let partners = Mutex::new(Vec::new());
    let result: tickets_core::Result<()> = in_tx!(store, |ex| async {
        let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
        if d == Dialect::Postgres {
            exec(ex, d, "SET LOCAL deadlock_timeout = '20ms'").await?;
        }
        exec(ex, d, "UPDATE t SET v = v + 1 WHERE id = 1").await?;
        if attempt <= deadlocks {
            let (tx, rx) = tokio::sync::oneshot::channel();
            partners
                .lock()
                .unwrap()
                .push(tokio::spawn(partner(store.clone(), tx)));
            rx.await.expect("the partner took row 2");
            // Let the partner start waiting for row 1 before asking for row 2.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        exec(ex, d, "UPDATE t SET v = v + 1 WHERE id = 2").await?;
        Ok(Done::Commit(()))
    });
    let partners = std::mem::take(&mut *partners.lock().unwrap());
    for p in partners {
        p.await
            .expect("the partner transaction works once the victim rolled back");
    }
    (result, attempts.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_victim_is_run_again_then_reported_as_a_conflict() {
    for db in TestDb::servers().await.unwrap() {
        let store = db.open().await.unwrap();
        scratch(&store).await;

        let (result, attempts) = deadlocking_write(&store, 1).await;
        result.unwrap_or_else(|e| panic!("{:?}: the second attempt succeeds: {e}", db.dialect()));
        assert_eq!(attempts, 2, "{:?}", db.dialect());

        let (result, attempts) = deadlocking_write(&store, ATTEMPTS).await;
        let err = result.unwrap_err();
        assert_eq!(attempts, ATTEMPTS, "{:?}: {err}", db.dialect());
        assert_eq!(err.kind(), ErrorKind::Conflict, "{:?}: {err}", db.dialect());
        assert!(is_transient(&err), "{err}");
        assert_eq!(err.attempts(), Some(ATTEMPTS), "says it was retried: {err}");
        assert!(
            !err.is_retryable(),
            "the retry layer must not run it again: {err}"
        );
    }
}

#[tokio::test]
async fn a_wrong_scheme_or_missing_sqlite_directory_is_config() {
    let err = InternalProvider::open(InternalConfig::new("sqlite:///proc/no/such/dir/t.db"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"this is not a database, just some text").unwrap();
    let err = InternalProvider::connect(&format!("sqlite://{}", file.path().display()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("not a SQLite database"), "{err}");
}
