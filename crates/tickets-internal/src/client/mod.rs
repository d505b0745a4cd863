//! The SQL side: one pool for one of three dialects, opened, migrated, and handing out
//! connections and write transactions (see [`crate::exec`] for running statements on them).
//! Everything above these two modules is dialect-free except the few SQL fragments that differ
//! (text search, row locks, `RETURNING`).

#[cfg(any(feature = "postgres", feature = "mysql"))]
mod server;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::path::{Path, PathBuf};
#[cfg(feature = "sqlite")]
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
#[cfg(feature = "mysql")]
use sqlx::mysql::MySqlPool;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgPool;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqlitePool;
use tickets_core::config::redact_url_password;
use tickets_core::{Error, Result};
#[cfg(feature = "sqlite")]
use tokio::sync::Mutex;

use crate::config::{DEFAULT_MAX_CONNECTIONS, InternalConfig};
use crate::error::map;
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

    /// True when this build has the dialect's driver (its Cargo feature of `tickets-internal`
    /// is on).
    pub fn is_compiled(self) -> bool {
        match self {
            Dialect::Sqlite => cfg!(feature = "sqlite"),
            Dialect::Postgres => cfg!(feature = "postgres"),
            Dialect::MySql => cfg!(feature = "mysql"),
        }
    }

    /// The `Config` error for a URL of a dialect this build lacks, naming the feature to turn
    /// on.
    pub(crate) fn not_compiled(self) -> Error {
        let (name, facade) = match self {
            Dialect::Sqlite => ("SQLite", "internal"),
            Dialect::Postgres => ("PostgreSQL", "postgres"),
            Dialect::MySql => ("MySQL/MariaDB", "mysql"),
        };
        Error::config(format!(
            "this build of tickets has no {name} support; enable the Cargo feature `{facade}` of \
             the `tickets` crate (or `{}` of `tickets-internal`)",
            self.as_str()
        ))
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

/// A pool of one of the dialects compiled in (a URL of another is a `Config` error naming the
/// feature to enable).
#[derive(Debug, Clone)]
enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
    #[cfg(feature = "mysql")]
    MySql(MySqlPool),
}

/// One store: a pool, its dialect, and where it is (password redacted).
#[derive(Debug, Clone)]
pub(crate) struct Db {
    pool: Pool,
    dialect: Dialect,
    location: String,
    /// A SQLite `:memory:` store (no file, no WAL).
    #[cfg(feature = "sqlite")]
    in_memory: bool,
    /// SQLite: writers in this process take turns (see [`Db::begin`]).
    #[cfg(feature = "sqlite")]
    writer: Arc<Mutex<()>>,
}

impl Db {
    /// Connects (creating a SQLite file if missing) and, if asked, migrates.
    pub(crate) async fn open(config: &InternalConfig) -> Result<Self> {
        let url = config.url();
        let dialect = Dialect::of_url(url)?;
        if !dialect.is_compiled() {
            return Err(dialect.not_compiled());
        }
        let max = config.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        let acquire = Duration::from_secs(10);
        let (pool, location) = match dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => sqlite::open(config, max, acquire).await?,
            #[cfg(feature = "postgres")]
            Dialect::Postgres => {
                server::open_postgres(url, max, acquire, config.busy_timeout_duration()).await?
            }
            #[cfg(feature = "mysql")]
            Dialect::MySql => {
                server::open_mysql(url, max, acquire, config.busy_timeout_duration()).await?
            }
            #[allow(unreachable_patterns)]
            other => return Err(other.not_compiled()),
        };
        let db = Self {
            pool,
            dialect,
            location,
            #[cfg(feature = "sqlite")]
            in_memory: dialect == Dialect::Sqlite
                && SqliteTarget::parse(url) == SqliteTarget::Memory,
            #[cfg(feature = "sqlite")]
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
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => migrate::run_sqlite(p, &self.location).await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => migrate::run_postgres(p, &self.location).await,
            #[cfg(feature = "mysql")]
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
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => Conn::Sqlite(p.acquire().await.map_err(map)?),
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => Conn::Postgres(p.acquire().await.map_err(map)?),
            #[cfg(feature = "mysql")]
            Pool::MySql(p) => Conn::MySql(p.acquire().await.map_err(map)?),
        })
    }

    /// A write transaction (`BEGIN IMMEDIATE` behind the writer lock on SQLite).
    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => {
                let guard = self.writer.clone().lock_owned().await;
                let tx = p.begin_with("BEGIN IMMEDIATE").await;
                Tx::Sqlite(tx.map_err(map)?, guard)
            }
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => Tx::Postgres(p.begin().await.map_err(map)?),
            #[cfg(feature = "mysql")]
            Pool::MySql(p) => Tx::MySql(p.begin().await.map_err(map)?),
        })
    }

    /// Closes the pool, waiting for connections to be returned. A SQLite file's WAL is
    /// checkpointed into the database file first (see `sqlite::checkpoint`).
    pub(crate) async fn close(&self) {
        match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => {
                if !self.in_memory {
                    sqlite::checkpoint(p, &self.location).await;
                }
                p.close().await
            }
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => p.close().await,
            #[cfg(feature = "mysql")]
            Pool::MySql(p) => p.close().await,
        }
    }

    /// Checks the store answers.
    pub(crate) async fn ping(&self) -> Result<()> {
        let mut conn = self.conn().await?;
        match &mut conn {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => c.ping().await,
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => c.ping().await,
            #[cfg(feature = "mysql")]
            Conn::MySql(c) => c.ping().await,
        }
        .map_err(map)
    }
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
    fn a_missing_dialect_names_its_feature() {
        for (d, facade, own) in [
            (Dialect::Sqlite, "`internal`", "`sqlite`"),
            (Dialect::Postgres, "`postgres`", "`postgres`"),
            (Dialect::MySql, "`mysql`", "`mysql`"),
        ] {
            let err = d.not_compiled();
            assert_eq!(err.kind(), tickets_core::ErrorKind::Config);
            assert!(err.message().contains(facade), "{err}");
            assert!(err.message().contains(own), "{err}");
        }
        // This crate's tests are built with every dialect.
        assert!(Dialect::Sqlite.is_compiled());
        assert!(Dialect::Postgres.is_compiled() && Dialect::MySql.is_compiled());
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
