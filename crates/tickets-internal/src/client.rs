//! The SQL side: one pool for one of three dialects, statements written once with `?`
//! placeholders (rewritten to `$n` for PostgreSQL), arguments as a small enum, rows read through
//! one object-safe trait. Everything above this module is dialect-free except the few SQL
//! fragments that differ (text search, row locks, `RETURNING`).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, Postgres};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Connection, Row, Transaction};
use tickets_core::config::redact_url_password;
use tickets_core::{Error, Result};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::config::{DEFAULT_MAX_CONNECTIONS, InternalConfig};
use crate::error::{map, map_open};
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
            "mysql" | "mariadb" => Ok(Dialect::MySql),
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

/// A statement in the dialect of one store.
#[derive(Debug, Clone)]
pub(crate) struct Sql(Arc<str>);

impl Sql {
    /// Rewrites `?` placeholders to `$1, $2, ...` for PostgreSQL. Statements here never hold a
    /// literal `?`.
    pub(crate) fn new(dialect: Dialect, text: &str) -> Self {
        if dialect != Dialect::Postgres {
            return Self(text.into());
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut n = 0;
        for c in text.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        Self(out.into())
    }

    fn safe(&self) -> AssertSqlSafe<Arc<str>> {
        AssertSqlSafe(self.0.clone())
    }

    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// One bound value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Text(Option<String>),
    Int(i64),
    Bool(bool),
    Time(DateTime<Utc>),
    Date(Option<NaiveDate>),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(Some(s.to_owned()))
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(Some(s))
    }
}

impl From<Option<String>> for Arg {
    fn from(s: Option<String>) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<DateTime<Utc>> for Arg {
    fn from(v: DateTime<Utc>) -> Self {
        Arg::Time(v)
    }
}

/// SQLite keeps times as fixed-width RFC 3339 text (microseconds, `Z`), so text order is time
/// order and `updated_since` compares correctly.
pub(crate) fn sqlite_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

macro_rules! bind_all {
    ($q:expr, $args:expr, $time:expr, $date:expr) => {{
        let mut q = $q;
        for arg in $args {
            q = match arg {
                Arg::Text(s) => q.bind(s.as_deref()),
                Arg::Int(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
                Arg::Time(t) => q.bind($time(t)),
                Arg::Date(d) => q.bind(d.map($date)),
            };
        }
        q
    }};
}

fn same<T: Copy>(t: &T) -> T {
    *t
}

fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn id<T>(t: T) -> T {
    t
}

/// Reads columns by position from a row of any dialect.
pub(crate) trait RowRead {
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn int(&self, i: usize) -> Result<i64>;
    fn boolean(&self, i: usize) -> Result<bool>;
    fn time(&self, i: usize) -> Result<DateTime<Utc>>;
    fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>>;
}

macro_rules! native_row {
    ($row:ty) => {
        impl RowRead for $row {
            fn text(&self, i: usize) -> Result<String> {
                self.try_get(i).map_err(map)
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>> {
                self.try_get(i).map_err(map)
            }
            fn int(&self, i: usize) -> Result<i64> {
                self.try_get(i).map_err(map)
            }
            fn boolean(&self, i: usize) -> Result<bool> {
                self.try_get(i).map_err(map)
            }
            fn time(&self, i: usize) -> Result<DateTime<Utc>> {
                self.try_get(i).map_err(map)
            }
            fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>> {
                self.try_get(i).map_err(map)
            }
        }
    };
}

native_row!(sqlx::postgres::PgRow);
native_row!(sqlx::mysql::MySqlRow);

impl RowRead for sqlx::sqlite::SqliteRow {
    fn text(&self, i: usize) -> Result<String> {
        self.try_get(i).map_err(map)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.try_get(i).map_err(map)
    }
    fn int(&self, i: usize) -> Result<i64> {
        self.try_get(i).map_err(map)
    }
    fn boolean(&self, i: usize) -> Result<bool> {
        self.try_get(i).map_err(map)
    }
    fn time(&self, i: usize) -> Result<DateTime<Utc>> {
        parse_time(&self.text(i)?)
    }
    fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>> {
        self.opt_text(i)?
            .map(|s| {
                NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .map_err(|e| Error::unexpected(format!("stored date {s:?} is malformed: {e}")))
            })
            .transpose()
    }
}

fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::unexpected(format!("stored time {s:?} is malformed: {e}")))
}

/// A borrowed connection of any dialect: from the pool or inside a transaction.
pub(crate) enum Exec<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
    MySql(&'c mut MySqlConnection),
}

macro_rules! sqlite_q {
    ($sql:expr, $args:expr) => {
        bind_all!(sqlx::query($sql.safe()), $args, sqlite_time, date_text)
    };
}
macro_rules! native_q {
    ($sql:expr, $args:expr) => {
        bind_all!(sqlx::query($sql.safe()), $args, same, id)
    };
}

impl Exec<'_> {
    /// Runs a statement; returns the rows it touched.
    pub(crate) async fn execute(&mut self, sql: &Sql, args: &[Arg]) -> Result<u64> {
        let done = match self {
            Exec::Sqlite(c) => sqlite_q!(sql, args)
                .execute(&mut **c)
                .await
                .map(|r| r.rows_affected()),
            Exec::Postgres(c) => native_q!(sql, args)
                .execute(&mut **c)
                .await
                .map(|r| r.rows_affected()),
            Exec::MySql(c) => native_q!(sql, args)
                .execute(&mut **c)
                .await
                .map(|r| r.rows_affected()),
        };
        done.map_err(map)
    }

    /// Runs an `INSERT` into a table with an auto-increment key and returns the new key: from
    /// `RETURNING` on SQLite and PostgreSQL (the statement must end with one), from
    /// `LAST_INSERT_ID()` on MySQL (the statement must not).
    pub(crate) async fn insert_returning_key(&mut self, sql: &Sql, args: &[Arg]) -> Result<i64> {
        match self {
            Exec::Sqlite(c) => {
                let row = sqlite_q!(sql, args)
                    .fetch_one(&mut **c)
                    .await
                    .map_err(map)?;
                row.int(0)
            }
            Exec::Postgres(c) => {
                let row = native_q!(sql, args)
                    .fetch_one(&mut **c)
                    .await
                    .map_err(map)?;
                row.int(0)
            }
            Exec::MySql(c) => {
                let done = native_q!(sql, args).execute(&mut **c).await.map_err(map)?;
                i64::try_from(done.last_insert_id())
                    .map_err(|_| Error::unexpected("auto-increment key out of range"))
            }
        }
    }

    /// Every row, decoded.
    pub(crate) async fn fetch_all<T>(
        &mut self,
        sql: &Sql,
        args: &[Arg],
        decode: fn(&dyn RowRead) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Exec::Sqlite(c) => {
                let rows = sqlite_q!(sql, args)
                    .fetch_all(&mut **c)
                    .await
                    .map_err(map)?;
                rows.iter().map(|r| decode(r)).collect()
            }
            Exec::Postgres(c) => {
                let rows = native_q!(sql, args)
                    .fetch_all(&mut **c)
                    .await
                    .map_err(map)?;
                rows.iter().map(|r| decode(r)).collect()
            }
            Exec::MySql(c) => {
                let rows = native_q!(sql, args)
                    .fetch_all(&mut **c)
                    .await
                    .map_err(map)?;
                rows.iter().map(|r| decode(r)).collect()
            }
        }
    }

    /// The first row, if any, decoded.
    pub(crate) async fn fetch_optional<T>(
        &mut self,
        sql: &Sql,
        args: &[Arg],
        decode: fn(&dyn RowRead) -> Result<T>,
    ) -> Result<Option<T>> {
        match self {
            Exec::Sqlite(c) => {
                let row = sqlite_q!(sql, args)
                    .fetch_optional(&mut **c)
                    .await
                    .map_err(map)?;
                row.as_ref().map(|r| decode(r)).transpose()
            }
            Exec::Postgres(c) => {
                let row = native_q!(sql, args)
                    .fetch_optional(&mut **c)
                    .await
                    .map_err(map)?;
                row.as_ref().map(|r| decode(r)).transpose()
            }
            Exec::MySql(c) => {
                let row = native_q!(sql, args)
                    .fetch_optional(&mut **c)
                    .await
                    .map_err(map)?;
                row.as_ref().map(|r| decode(r)).transpose()
            }
        }
    }
}

/// A pooled connection, not in a transaction.
pub(crate) enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
    MySql(PoolConnection<MySql>),
}

impl Conn {
    pub(crate) fn exec(&mut self) -> Exec<'_> {
        match self {
            Conn::Sqlite(c) => Exec::Sqlite(c),
            Conn::Postgres(c) => Exec::Postgres(c),
            Conn::MySql(c) => Exec::MySql(c),
        }
    }
}

/// A write transaction. On SQLite it also holds the store's writer lock, so writers in this
/// process queue in order instead of spinning on `SQLITE_BUSY`.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>, OwnedMutexGuard<()>),
    Postgres(Transaction<'static, Postgres>),
    MySql(Transaction<'static, MySql>),
}

impl Tx {
    pub(crate) fn exec(&mut self) -> Exec<'_> {
        match self {
            Tx::Sqlite(t, _) => Exec::Sqlite(t),
            Tx::Postgres(t) => Exec::Postgres(t),
            Tx::MySql(t) => Exec::MySql(t),
        }
    }

    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t, _guard) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
            Tx::MySql(t) => t.commit().await,
        }
        .map_err(map)
    }

    pub(crate) async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(t, _guard) => t.rollback().await,
            Tx::Postgres(t) => t.rollback().await,
            Tx::MySql(t) => t.rollback().await,
        }
        .map_err(map)
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
                        options = options
                            .journal_mode(SqliteJournalMode::Wal)
                            .synchronous(SqliteSynchronous::Normal);
                        pool = pool.max_connections(max);
                    }
                }
                let pool = pool
                    .connect_with(options)
                    .await
                    .map_err(|e| map_open(e, &location))?;
                (Pool::Sqlite(pool), location)
            }
            Dialect::Postgres => {
                let location = redact_url_password(url);
                let options =
                    PgConnectOptions::from_str(url).map_err(|e| map_open(e, &location))?;
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
                let pool = MySqlPoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(acquire)
                    .connect_with(options)
                    .await
                    .map_err(|e| map_open(e, &location))?;
                (Pool::MySql(pool), location)
            }
        };
        let db = Self {
            pool,
            dialect,
            location,
            writer: Arc::new(Mutex::new(())),
        };
        if config.migrate {
            db.migrate().await?;
        }
        Ok(db)
    }

    /// Applies the embedded migrations that are not applied yet.
    pub(crate) async fn migrate(&self) -> Result<()> {
        let migrator = migrate::migrator(self.dialect);
        let done = match &self.pool {
            Pool::Sqlite(p) => migrator.run(p).await,
            Pool::Postgres(p) => migrator.run(p).await,
            Pool::MySql(p) => migrator.run(p).await,
        };
        done.map_err(|e| map_open(sqlx::Error::Migrate(Box::new(e)), &self.location))
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

    /// Closes the pool, waiting for connections to be returned.
    pub(crate) async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
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

    fn location(&self) -> String {
        match self {
            SqliteTarget::Memory => "sqlite::memory:".into(),
            SqliteTarget::File(p) => absolute(p).display().to_string(),
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
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
    fn placeholders_for_postgres() {
        let q = "SELECT a FROM t WHERE b = ? AND c IN (?, ?)";
        assert_eq!(Sql::new(Dialect::Sqlite, q).as_str(), q);
        assert_eq!(Sql::new(Dialect::MySql, q).as_str(), q);
        assert_eq!(
            Sql::new(Dialect::Postgres, q).as_str(),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
        );
    }

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

    #[test]
    fn sqlite_times_sort_as_text() {
        let a = DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap();
        let b = DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap();
        assert!(sqlite_time(&a) < sqlite_time(&b));
        assert_eq!(parse_time(&sqlite_time(&b)).unwrap(), b);
    }
}
