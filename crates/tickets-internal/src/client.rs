//! The SQL side: one pool for one of three dialects, opened, migrated, and handing out
//! connections and write transactions (see [`crate::exec`] for running statements on them).
//! Everything above these two modules is dialect-free except the few SQL fragments that differ
//! (text search, row locks, `RETURNING`).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tickets_core::config::redact_url_password;
use tickets_core::{Error, Result};
use tokio::sync::Mutex;

use crate::config::{DEFAULT_MAX_CONNECTIONS, InternalConfig};
use crate::error::{is_busy, map, map_open};
use crate::exec::{Conn, Tx};
use crate::migrate;

/// The SQL dialect of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (file or memory), bundled.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Dialect {
    /// The dialect a URL names.
    pub fn of_url(url: &str) -> Result<Self> {
        let scheme = url
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Ok(Dialect::Sqlite),
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            "mysql" => Ok(Dialect::MySql),
            _ => Err(Error::config(format!(
                "unsupported database url {:?}; use sqlite://PATH, postgres://USER@HOST/DB or \
                 mysql://USER@HOST/DB",
                redact_url_password(url)
            ))),
        }
    }

    /// `sqlite`, `postgres` or `mysql`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::MySql => "mysql",
        }
    }
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// One store: a pool, its dialect, and where it is (password redacted).
#[derive(Debug, Clone)]
pub(crate) struct Db {
    pool: Pool,
    dialect: Dialect,
    location: String,
    /// A SQLite `:memory:` store (no file, no WAL).
    in_memory: bool,
    writer: Arc<Mutex<()>>,
}

impl Db {
    /// Connects (creating a SQLite file if missing) and, if asked, migrates.
    pub(crate) async fn open(config: &InternalConfig) -> Result<Self> {
        let url = config.url();
        let dialect = Dialect::of_url(url)?;
        let max = config.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        let acquire = Duration::from_secs(10);
        let (pool, location) = match dialect {
            Dialect::Sqlite => {
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
                        // Every connection of a shared-cache memory database sees one database,
                        // but shared-cache locking is table-level and fails instead of waiting:
                        // one connection, kept forever (closing it would drop the data).
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
                        // No `journal_mode` here: sqlx would send it on every new connection,
                        // and on a new file that races other processes (see `enable_wal`).
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
                (Pool::Sqlite(pool), location)
            }
            Dialect::Postgres => {
                let location = redact_url_password(url);
                let options =
                    PgConnectOptions::from_str(url).map_err(|e| map_open(e, &location))?;
                probe::<sqlx::PgConnection>(&options, &location).await?;
                let pool = PgPoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(acquire)
                    .connect_with(options)
                    .await
                    .map_err(|e| map_open(e, &location))?;
                (Pool::Postgres(pool), location)
            }
            Dialect::MySql => {
                let location = redact_url_password(url);
                let options =
                    MySqlConnectOptions::from_str(url).map_err(|e| map_open(e, &location))?;
                probe::<sqlx::MySqlConnection>(&options, &location).await?;
                let pool = MySqlPoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(acquire)
                    .connect_with(options)
                    .await
                    .map_err(|e| map_open(e, &location))?;
                (Pool::MySql(pool), location)
            }
        };
        let in_memory =
            dialect == Dialect::Sqlite && SqliteTarget::parse(url) == SqliteTarget::Memory;
        let db = Self {
            pool,
            dialect,
            location,
            in_memory,
            writer: Arc::new(Mutex::new(())),
        };
        if config.migrate {
            db.migrate().await?;
        }
        Ok(db)
    }

    /// Applies the embedded migrations that are not applied yet.
    pub(crate) async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => migrate::run_sqlite(p, &self.location).await,
            Pool::Postgres(p) => migrate::run_postgres(p, &self.location).await,
            Pool::MySql(p) => migrate::run_mysql(p, &self.location).await,
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    /// A connection for reads.
    pub(crate) async fn conn(&self) -> Result<Conn> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Conn::Sqlite(p.acquire().await.map_err(map)?),
            Pool::Postgres(p) => Conn::Postgres(p.acquire().await.map_err(map)?),
            Pool::MySql(p) => Conn::MySql(p.acquire().await.map_err(map)?),
        })
    }

    /// A write transaction (`BEGIN IMMEDIATE` behind the writer lock on SQLite).
    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => {
                let guard = self.writer.clone().lock_owned().await;
                let tx = p.begin_with("BEGIN IMMEDIATE").await;
                Tx::Sqlite(tx.map_err(map)?, guard)
            }
            Pool::Postgres(p) => Tx::Postgres(p.begin().await.map_err(map)?),
            Pool::MySql(p) => Tx::MySql(p.begin().await.map_err(map)?),
        })
    }

    /// Closes the pool, waiting for connections to be returned. A SQLite file's WAL is
    /// checkpointed into the database file first (see [`checkpoint`]).
    pub(crate) async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => {
                if !self.in_memory {
                    checkpoint(p, &self.location).await;
                }
                p.close().await
            }
            Pool::Postgres(p) => p.close().await,
            Pool::MySql(p) => p.close().await,
        }
    }

    /// Checks the store answers.
    pub(crate) async fn ping(&self) -> Result<()> {
        let mut conn = self.conn().await?;
        match &mut conn {
            Conn::Sqlite(c) => c.ping().await,
            Conn::Postgres(c) => c.ping().await,
            Conn::MySql(c) => c.ping().await,
        }
        .map_err(map)
    }
}

/// Copies every committed change from the WAL into the database file and empties the WAL
/// (`wal_checkpoint(TRUNCATE)`), so the file alone (a backup, a copy) holds every ticket.
///
/// The last connection to close does this by itself, but only when no other process has the
/// file open: a `tickets create` exiting while `tickets sync run` or another command runs
/// would leave its ticket in `tickets.db-wal`. The checkpoint waits (up to the busy timeout)
/// for writers and for readers of older snapshots; what it cannot finish stays in the WAL,
/// which is still safe, and is logged.
async fn checkpoint(pool: &SqlitePool, location: &str) {
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

/// One plain connection before the pool: a pool retries refused connections until its acquire
/// timeout, while a server that is down or a wrong password should be reported at once.
async fn probe<C: Connection>(options: &C::Options, location: &str) -> Result<()> {
    let conn = C::connect_with(options)
        .await
        .map_err(|e| map_open(e, location))?;
    let _ = conn.close().await;
    Ok(())
}

/// Where a `sqlite:` URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqliteTarget {
    Memory,
    File(PathBuf),
}

impl SqliteTarget {
    pub(crate) fn parse(url: &str) -> Self {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let path = rest.split('?').next().unwrap_or_default();
        let memory = path.is_empty() || path == ":memory:" || url.contains("mode=memory");
        if memory {
            SqliteTarget::Memory
        } else {
            SqliteTarget::File(PathBuf::from(path))
        }
    }

    pub(crate) fn location(&self) -> String {
        match self {
            SqliteTarget::Memory => "sqlite::memory:".into(),
            SqliteTarget::File(p) => absolute(p).display().to_string(),
        }
    }
}

pub(crate) fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    std::env::current_dir()
        .map(|d| d.join(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects_from_urls() {
        assert_eq!(Dialect::of_url("sqlite://x.db").unwrap(), Dialect::Sqlite);
        assert_eq!(Dialect::of_url("sqlite::memory:").unwrap(), Dialect::Sqlite);
        assert_eq!(
            Dialect::of_url("postgresql://h/d").unwrap(),
            Dialect::Postgres
        );
        assert_eq!(Dialect::of_url("mysql://h/d").unwrap(), Dialect::MySql);
        let err = Dialect::of_url("redis://u:secret@h").unwrap_err();
        assert!(!err.message().contains("secret"), "{err}");
    }

    #[test]
    fn sqlite_targets() {
        assert_eq!(SqliteTarget::parse("sqlite::memory:"), SqliteTarget::Memory);
        assert_eq!(
            SqliteTarget::parse("sqlite://:memory:"),
            SqliteTarget::Memory
        );
        assert_eq!(
            SqliteTarget::parse("sqlite://tickets.db?mode=rwc"),
            SqliteTarget::File("tickets.db".into())
        );
        assert_eq!(
            SqliteTarget::parse("sqlite:///var/lib/t.db"),
            SqliteTarget::File("/var/lib/t.db".into())
        );
        assert!(
            SqliteTarget::parse("sqlite://t.db")
                .location()
                .ends_with("/t.db")
        );
    }
}
