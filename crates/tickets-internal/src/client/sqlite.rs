//! Opening a SQLite store: the file (and its directory) created if missing, WAL mode switched
//! on once per open, and the WAL checkpointed into the file when the store closes.

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tickets_core::{Error, Result};

use super::{Pool, SqliteTarget};
use crate::config::InternalConfig;
use crate::error::{is_busy, map_open};

/// Opens the pool for `config`'s SQLite URL; returns it and the store's location.
pub(super) async fn open(
    config: &InternalConfig,
    max: u32,
    acquire: Duration,
) -> Result<(Pool, String)> {
    let url = config.url();
    let target = SqliteTarget::parse(url);
    let location = target.location();
    let mut options = SqliteConnectOptions::from_str(url)
        .map_err(|e| map_open(e, &location))?
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(config.busy_timeout_duration());
    let mut pool = SqlitePoolOptions::new().acquire_timeout(acquire);
    match &target {
        SqliteTarget::Memory => {
            // Every connection of a shared-cache memory database sees one database, but
            // shared-cache locking is table-level and fails instead of waiting: one connection,
            // kept forever (closing it would drop the data).
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        SqliteTarget::File(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::config(format!(
                        "cannot create the directory for the SQLite file {location}: {e}"
                    ))
                })?;
            }
            // No `journal_mode` here: sqlx would send it on every new connection, and on a
            // new file that races other processes (see `enable_wal`).
            options = options.synchronous(SqliteSynchronous::Normal);
            pool = pool.max_connections(max);
        }
    }
    let pool = pool
        .connect_with(options)
        .await
        .map_err(|e| map_open(e, &location))?;
    if let SqliteTarget::File(_) = target {
        enable_wal(&pool, config.busy_timeout_duration())
            .await
            .map_err(|e| map_open(e, &location))?;
    }
    Ok((Pool::Sqlite(pool), location))
}

/// Copies every committed change from the WAL into the database file and empties the WAL
/// (`wal_checkpoint(TRUNCATE)`), so the file alone (a backup, a copy) holds every ticket.
///
/// The last connection to close does this by itself, but only when no other process has the
/// file open: a `tickets create` exiting while `tickets sync run` or another command runs
/// would leave its ticket in `tickets.db-wal`. The checkpoint waits (up to the busy timeout)
/// for writers and for readers of older snapshots; what it cannot finish stays in the WAL,
/// which is still safe, and is logged.
pub(super) async fn checkpoint(pool: &SqlitePool, location: &str) {
    let Ok(mut conn) = pool.acquire().await else {
        return; // already closed
    };
    let done = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut *conn)
        .await;
    match done {
        Ok((0, _, _)) => {}
        Ok((_, log, copied)) => tracing::debug!(
            store = location,
            log,
            copied,
            "the WAL checkpoint was blocked by another connection; the rest stays in the WAL"
        ),
        Err(e) => tracing::debug!(store = location, error = %e, "WAL checkpoint failed"),
    }
}

/// Puts a SQLite file in WAL mode (a property of the file: every connection uses it from its
/// next transaction on; a no-op when the file is in WAL mode already).
///
/// Switching a *new* file takes its exclusive lock, and SQLite answers `SQLITE_BUSY` at once,
/// without calling the busy handler, when another process holds a lock it would have to wait
/// for (it cannot tell that wait from a deadlock). Processes opening a new store together
/// therefore try again, for up to the busy timeout.
async fn enable_wal(pool: &SqlitePool, timeout: Duration) -> std::result::Result<(), sqlx::Error> {
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    loop {
        let switched = sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(&mut *conn)
            .await;
        match switched {
            Ok(mode) => {
                if !mode.eq_ignore_ascii_case("wal") {
                    // E.g. a file system without shared memory: still a working store.
                    tracing::warn!(%mode, "the SQLite file cannot use WAL mode");
                }
                return Ok(());
            }
            Err(e) if is_busy(&e) && started.elapsed() < timeout => {
                let jitter = u64::from(started.elapsed().subsec_nanos() % 20);
                tokio::time::sleep(Duration::from_millis(5 + jitter)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
