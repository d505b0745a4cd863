//! Throwaway stores for tests (this crate's, and crates built on it such as `tickets-sync`).
//!
//! ```no_run
//! # async fn demo() -> tickets_core::Result<()> {
//! use tickets_internal::testing::TestDb;
//! for db in TestDb::all().await? {
//!     let store = db.open().await?;
//!     // ... SQLite always; PostgreSQL / MySQL when TICKETS_TEST_POSTGRES_URL /
//!     // TICKETS_TEST_MYSQL_URL are set, each in a database of its own, dropped with `db`.
//! }
//! # Ok(()) }
//! ```

use std::path::PathBuf;

#[cfg(any(feature = "postgres", feature = "mysql"))]
use sqlx::Connection;
use tickets_core::{Error, Result};

use crate::client::Dialect;
use crate::config::InternalConfig;
use crate::provider::InternalProvider;

/// The variable naming a PostgreSQL server for tests (its database is only used to connect).
pub const POSTGRES_ENV: &str = "TICKETS_TEST_POSTGRES_URL";
/// The variable naming a MySQL/MariaDB server for tests.
pub const MYSQL_ENV: &str = "TICKETS_TEST_MYSQL_URL";

/// Reports a skipped part of a test visibly, and fails instead when `CI` is set (see
/// [`tickets_testkit::skipped`], where this now lives for every crate's tests).
pub use tickets_testkit::skipped;

/// A database of its own for one test: a temporary SQLite file, or a `tickets_test_<random>`
/// database on a server. Dropped (file deleted, `DROP DATABASE`) when the value is dropped.
#[derive(Debug)]
pub struct TestDb {
    dialect: Dialect,
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(PathBuf),
    Server { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh SQLite file in the temp directory.
    pub fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("tickets_test_{}.db", unique()));
        Self {
            dialect: Dialect::Sqlite,
            url: format!("sqlite://{}", path.display()),
            cleanup: Cleanup::File(path),
        }
    }

    /// A fresh database on the server `TICKETS_TEST_POSTGRES_URL` names, if it is set.
    pub async fn postgres() -> Result<Option<Self>> {
        Self::on_server(Dialect::Postgres, POSTGRES_ENV).await
    }

    /// A fresh database on the server `TICKETS_TEST_MYSQL_URL` names, if it is set.
    pub async fn mysql() -> Result<Option<Self>> {
        Self::on_server(Dialect::MySql, MYSQL_ENV).await
    }

    /// SQLite (when compiled in), plus PostgreSQL and MySQL where configured.
    pub async fn all() -> Result<Vec<Self>> {
        let mut dbs = Vec::new();
        if Dialect::Sqlite.is_compiled() {
            dbs.push(Self::sqlite());
        }
        dbs.extend(Self::postgres().await?);
        dbs.extend(Self::mysql().await?);
        Ok(dbs)
    }

    /// A fresh database on the server at `admin_url` (any database there the user may connect
    /// to); the new one is named `tickets_test_<random>`.
    pub async fn on(dialect: Dialect, admin_url: &str) -> Result<Self> {
        if !dialect.is_compiled() {
            return Err(dialect.not_compiled());
        }
        let name = format!("tickets_test_{}", unique());
        let mut url = url::Url::parse(admin_url)
            .map_err(|e| Error::config(format!("test database url is malformed: {e}")))?;
        admin(dialect, admin_url, &format!("CREATE DATABASE {name}")).await?;
        url.set_path(&format!("/{name}"));
        Ok(Self {
            dialect,
            url: url.to_string(),
            cleanup: Cleanup::Server {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    /// PostgreSQL and MySQL where configured (for tests that need a server, e.g. several
    /// workers sharing one outbox). Each missing one is reported as skipped (see [`skipped`]).
    pub async fn servers() -> Result<Vec<Self>> {
        let mut dbs = Vec::new();
        dbs.extend(Self::postgres().await?);
        dbs.extend(Self::mysql().await?);
        Ok(dbs)
    }

    async fn on_server(dialect: Dialect, var: &str) -> Result<Option<Self>> {
        match std::env::var(var) {
            Ok(_) if !dialect.is_compiled() => {
                skipped(&format!(
                    "the {dialect:?} tests ({var} is set, but this build of tickets-internal \
                     lacks its `{}` feature)",
                    dialect.as_str()
                ))?;
                Ok(None)
            }
            Ok(url) if !url.trim().is_empty() => Self::on(dialect, url.trim()).await.map(Some),
            _ => {
                skipped(&format!("the {dialect:?} tests ({var} is not set)"))?;
                Ok(None)
            }
        }
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A config for this database.
    pub fn config(&self) -> InternalConfig {
        InternalConfig::new(self.url.clone())
    }

    /// Opens (and migrates) a provider on this database.
    pub async fn open(&self) -> Result<InternalProvider> {
        InternalProvider::open(self.config()).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Server { admin_url, name } => {
                let sql = match self.dialect {
                    Dialect::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    _ => format!("DROP DATABASE IF EXISTS {name}"),
                };
                let (dialect, admin_url) = (self.dialect, admin_url.clone());
                // Drop may run inside a runtime; a thread of its own can block on a new one.
                let done = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    rt.block_on(admin(dialect, &admin_url, &sql)).ok()
                })
                .join();
                if !matches!(done, Ok(Some(()))) {
                    tracing::warn!(database = %name, "could not drop the test database");
                }
            }
        }
    }
}

#[cfg_attr(
    not(any(feature = "postgres", feature = "mysql")),
    allow(unused_variables)
)]
async fn admin(dialect: Dialect, url: &str, sql: &str) -> Result<()> {
    match dialect {
        #[cfg(feature = "postgres")]
        Dialect::Postgres => {
            let sql = sqlx::AssertSqlSafe(sql.to_owned());
            let mut c = sqlx::PgConnection::connect(url)
                .await
                .map_err(crate::error::map)?;
            sqlx::query(sql)
                .execute(&mut c)
                .await
                .map_err(crate::error::map)?;
            let _ = c.close().await;
        }
        #[cfg(feature = "mysql")]
        Dialect::MySql => {
            let sql = sqlx::AssertSqlSafe(sql.to_owned());
            let mut c = sqlx::MySqlConnection::connect(url)
                .await
                .map_err(crate::error::map)?;
            sqlx::query(sql)
                .execute(&mut c)
                .await
                .map_err(crate::error::map)?;
            let _ = c.close().await;
        }
        Dialect::Sqlite => {}
        #[allow(unreachable_patterns)]
        other => return Err(other.not_compiled()),
    }
    Ok(())
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()
}
