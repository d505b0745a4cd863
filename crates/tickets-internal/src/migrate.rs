//! Embedded migrations, one directory per dialect (`migrations/{sqlite,postgres,mysql}`).
//!
//! Built into a [`sqlx::migrate::Migrator`] by hand (no sqlx `macros` feature needed), so the
//! usual `_sqlx_migrations` bookkeeping and checksums apply. A shipped migration is never
//! edited: add the next numbered file to all three directories and to the `MIGRATIONS` table in
//! this file.
//!
//! Several processes may open a new store at the same moment (twenty `tickets create` started
//! at once on a new SQLite file). On PostgreSQL and MySQL sqlx's migrator holds an advisory
//! lock (`pg_advisory_lock`, `GET_LOCK`) while it reads what is applied and applies the rest,
//! so the first process migrates and the others find nothing to do. On SQLite its lock does
//! nothing, so each process would read "nothing applied" and run `0001` again ("table tickets
//! already exists"). There the migrator runs inside one `BEGIN IMMEDIATE` transaction instead:
//! the file's write lock, waited for up to the busy timeout, taken *before* reading what is
//! applied; each migration is a savepoint in it, and the whole schema commits at once.

use std::borrow::Cow;

use sqlx::SqlStr;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use tickets_core::Result;

use crate::client::Dialect;
use crate::error::map_open;

/// `(version, description, sqlite, postgres, mysql)`.
type Step = (i64, &'static str, &'static str, &'static str, &'static str);

/// Every migration, in order.
const MIGRATIONS: &[Step] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/postgres/0001_init.sql"),
        include_str!("../migrations/mysql/0001_init.sql"),
    ),
    (
        2,
        "outbox",
        include_str!("../migrations/sqlite/0002_outbox.sql"),
        include_str!("../migrations/postgres/0002_outbox.sql"),
        include_str!("../migrations/mysql/0002_outbox.sql"),
    ),
    (
        3,
        "sync_state",
        include_str!("../migrations/sqlite/0003_sync_state.sql"),
        include_str!("../migrations/postgres/0003_sync_state.sql"),
        include_str!("../migrations/mysql/0003_sync_state.sql"),
    ),
    (
        4,
        "outbox_claims",
        include_str!("../migrations/sqlite/0004_outbox_claims.sql"),
        include_str!("../migrations/postgres/0004_outbox_claims.sql"),
        include_str!("../migrations/mysql/0004_outbox_claims.sql"),
    ),
    (
        5,
        "link_sync_state",
        include_str!("../migrations/sqlite/0005_link_sync_state.sql"),
        include_str!("../migrations/postgres/0005_link_sync_state.sql"),
        include_str!("../migrations/mysql/0005_link_sync_state.sql"),
    ),
    (
        6,
        "attachments",
        include_str!("../migrations/sqlite/0006_attachments.sql"),
        include_str!("../migrations/postgres/0006_attachments.sql"),
        include_str!("../migrations/mysql/0006_attachments.sql"),
    ),
];

/// The migrator for one dialect.
pub fn migrator(dialect: Dialect) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, description, sqlite, postgres, mysql)| {
            let sql = match dialect {
                Dialect::Sqlite => sqlite,
                Dialect::Postgres => postgres,
                Dialect::MySql => mysql,
            };
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                SqlStr::from_static(sql),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// The table sqlx keeps applied migrations in.
#[cfg(feature = "sqlite")]
const TABLE: &str = "_sqlx_migrations";

/// How long an open waits for another process migrating the same MySQL database.
#[cfg(feature = "mysql")]
const MYSQL_LOCK_WAIT_SECS: i64 = 300;

fn failed(e: MigrateError) -> sqlx::Error {
    sqlx::Error::Migrate(Box::new(e))
}

/// Applies what is pending on a SQLite store, safely against other processes doing the same
/// (see the module docs).
#[cfg(feature = "sqlite")]
pub(crate) async fn run_sqlite(pool: &sqlx::SqlitePool, location: &str) -> Result<()> {
    use sqlx::Connection;
    let apply = async {
        let migrator = migrator(Dialect::Sqlite);
        let mut conn = pool.acquire().await?;
        // Every open after the first: a read, no write lock (a long write elsewhere does not
        // delay `tickets get`).
        if up_to_date(&migrator, &mut conn).await {
            return Ok(());
        }
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        migrator
            .run_direct(None, &mut *tx, false)
            .await
            .map_err(failed)?;
        tx.commit().await
    };
    apply.await.map_err(|e| map_open(e, location))
}

/// True when exactly this build's migrations are applied, successfully and unchanged. Anything
/// else (no table yet, pending, failed, edited or unknown migrations) goes to the migrator,
/// which applies what is missing or reports the problem.
#[cfg(feature = "sqlite")]
async fn up_to_date(migrator: &Migrator, conn: &mut sqlx::SqliteConnection) -> bool {
    let sql = format!("SELECT version, checksum, success FROM {TABLE} ORDER BY version");
    let Ok(applied) = sqlx::query_as::<_, (i64, Vec<u8>, bool)>(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
    else {
        return false;
    };
    let wanted: Vec<&Migration> = migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .collect();
    applied.len() == wanted.len()
        && applied
            .iter()
            .zip(&wanted)
            .all(|((version, checksum, ok), m)| {
                *ok && *version == m.version && checksum.as_slice() == &*m.checksum
            })
}

/// Applies what is pending on PostgreSQL: sqlx's migrator, under its `pg_advisory_lock`.
#[cfg(feature = "postgres")]
pub(crate) async fn run_postgres(pool: &sqlx::PgPool, location: &str) -> Result<()> {
    let migrator = migrator(Dialect::Postgres);
    migrator
        .run(pool)
        .await
        .map_err(|e| map_open(failed(e), location))
}

/// Applies what is pending on MySQL/MariaDB under a named lock of our own. sqlx's migrator
/// asks for `GET_LOCK(name, -1)`, which MySQL reads as "wait forever" but MariaDB rejects
/// (warning 1411, result NULL, no lock), and sqlx does not look at the result: on MariaDB
/// concurrent first opens would each apply `0001`. Here the wait is bounded and the answer
/// checked.
#[cfg(feature = "mysql")]
pub(crate) async fn run_mysql(pool: &sqlx::MySqlPool, location: &str) -> Result<()> {
    let mut migrator = migrator(Dialect::MySql);
    migrator.set_locking(false);
    let mut conn = pool.acquire().await.map_err(|e| map_open(e, location))?;
    let database: Option<String> = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| map_open(e, location))?;
    // Without a database in the URL there is nothing to lock; the migrator reports it.
    let lock = database.as_deref().map(mysql_lock_name);
    if let Some(name) = &lock {
        let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
            .bind(name)
            .bind(MYSQL_LOCK_WAIT_SECS)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| map_open(e, location))?;
        if got != Some(1) {
            return Err(tickets_core::Error::new(
                tickets_core::ErrorKind::Timeout,
                format!(
                    "cannot open the ticket database at {location}: another process has been \
                     migrating its schema for {MYSQL_LOCK_WAIT_SECS} s (lock {name}); try again \
                     when it is done"
                ),
            ));
        }
    }
    let done = migrator.run_direct(None, &mut *conn, false).await;
    if let Some(name) = &lock {
        let released = sqlx::query("SELECT RELEASE_LOCK(?)")
            .bind(name)
            .execute(&mut *conn)
            .await;
        if released.is_err() {
            // Closing the session releases it too.
            conn.close_on_drop();
        }
    }
    done.map_err(|e| map_open(failed(e), location))
}

/// `tickets_migrate.<FNV-1a of the database name>`: at most 64 characters, as MySQL requires.
#[cfg(feature = "mysql")]
fn mysql_lock_name(database: &str) -> String {
    let hash = database.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("tickets_migrate.{hash:016x}")
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_and_all_dialects_have_each() {
        let mut last = 0;
        for (version, _, sqlite, postgres, mysql) in MIGRATIONS {
            assert!(*version > last);
            last = *version;
            for sql in [sqlite, postgres, mysql] {
                assert!(
                    sql.contains("CREATE") || sql.contains("ALTER"),
                    "migration {version} is empty"
                );
            }
        }
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            assert_eq!(migrator(d).iter().count(), MIGRATIONS.len());
        }
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn mysql_lock_names_fit_and_differ() {
        let long = "d".repeat(64);
        for db in ["tickets", "tickets2", long.as_str()] {
            let name = mysql_lock_name(db);
            assert!(name.len() <= 64, "{name}");
            assert_eq!(name, mysql_lock_name(db), "stable");
        }
        assert_ne!(mysql_lock_name("tickets"), mysql_lock_name("tickets2"));
    }
}
