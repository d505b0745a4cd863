//! Executing statements on any dialect: statements written once with `?` placeholders
//! (rewritten to `$n` for PostgreSQL), arguments as a small enum, rows read through one
//! object-safe trait, and a borrowed connection ([`Exec`]) from the pool ([`Conn`]) or a write
//! transaction ([`Tx`]).

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
#[cfg(feature = "mysql")]
use sqlx::mysql::{MySql, MySqlConnection};
use sqlx::pool::PoolConnection;
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnection, Postgres};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{AssertSqlSafe, Row, Transaction};
use tickets_core::Result;
#[cfg(feature = "sqlite")]
use tokio::sync::OwnedMutexGuard;

use crate::client::Dialect;
use crate::error::map;

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
    Blob(Vec<u8>),
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
#[cfg(feature = "sqlite")]
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
                Arg::Blob(b) => q.bind(b.as_slice()),
            };
        }
        q
    }};
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
fn same<T: Copy>(t: &T) -> T {
    *t
}

#[cfg(feature = "sqlite")]
fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
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
    fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>>;
    fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>>;
    fn blob(&self, i: usize) -> Result<Vec<u8>>;
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
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
            fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>> {
                self.try_get(i).map_err(map)
            }
            fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>> {
                self.try_get(i).map_err(map)
            }
            fn blob(&self, i: usize) -> Result<Vec<u8>> {
                self.try_get(i).map_err(map)
            }
        }
    };
}

#[cfg(feature = "postgres")]
native_row!(sqlx::postgres::PgRow);
#[cfg(feature = "mysql")]
native_row!(sqlx::mysql::MySqlRow);

#[cfg(feature = "sqlite")]
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
    fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>> {
        self.opt_text(i)?.as_deref().map(parse_time).transpose()
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>> {
        self.try_get(i).map_err(map)
    }
    fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>> {
        self.opt_text(i)?
            .map(|s| {
                NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|e| {
                    tickets_core::Error::unexpected(format!("stored date {s:?} is malformed: {e}"))
                })
            })
            .transpose()
    }
}

#[cfg(feature = "sqlite")]
fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            tickets_core::Error::unexpected(format!("stored time {s:?} is malformed: {e}"))
        })
}

/// A borrowed connection of any dialect: from the pool or inside a transaction.
pub(crate) enum Exec<'c> {
    #[cfg(feature = "sqlite")]
    Sqlite(&'c mut SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(&'c mut PgConnection),
    #[cfg(feature = "mysql")]
    MySql(&'c mut MySqlConnection),
}

#[cfg(feature = "sqlite")]
macro_rules! sqlite_q {
    ($sql:expr, $args:expr) => {
        bind_all!(sqlx::query($sql.safe()), $args, sqlite_time, date_text)
    };
}
#[cfg(any(feature = "postgres", feature = "mysql"))]
macro_rules! native_q {
    ($sql:expr, $args:expr) => {
        bind_all!(sqlx::query($sql.safe()), $args, same, id)
    };
}

impl Exec<'_> {
    /// Runs a statement; returns the rows it touched.
    pub(crate) async fn execute(&mut self, sql: &Sql, args: &[Arg]) -> Result<u64> {
        let done = match self {
            #[cfg(feature = "sqlite")]
            Exec::Sqlite(c) => sqlite_q!(sql, args)
                .execute(&mut **c)
                .await
                .map(|r| r.rows_affected()),
            #[cfg(feature = "postgres")]
            Exec::Postgres(c) => native_q!(sql, args)
                .execute(&mut **c)
                .await
                .map(|r| r.rows_affected()),
            #[cfg(feature = "mysql")]
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
            #[cfg(feature = "sqlite")]
            Exec::Sqlite(c) => {
                let row = sqlite_q!(sql, args)
                    .fetch_one(&mut **c)
                    .await
                    .map_err(map)?;
                row.int(0)
            }
            #[cfg(feature = "postgres")]
            Exec::Postgres(c) => {
                let row = native_q!(sql, args)
                    .fetch_one(&mut **c)
                    .await
                    .map_err(map)?;
                row.int(0)
            }
            #[cfg(feature = "mysql")]
            Exec::MySql(c) => {
                let done = native_q!(sql, args).execute(&mut **c).await.map_err(map)?;
                i64::try_from(done.last_insert_id())
                    .map_err(|_| tickets_core::Error::unexpected("auto-increment key out of range"))
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
            #[cfg(feature = "sqlite")]
            Exec::Sqlite(c) => {
                let rows = sqlite_q!(sql, args)
                    .fetch_all(&mut **c)
                    .await
                    .map_err(map)?;
                rows.iter().map(|r| decode(r)).collect()
            }
            #[cfg(feature = "postgres")]
            Exec::Postgres(c) => {
                let rows = native_q!(sql, args)
                    .fetch_all(&mut **c)
                    .await
                    .map_err(map)?;
                rows.iter().map(|r| decode(r)).collect()
            }
            #[cfg(feature = "mysql")]
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
            #[cfg(feature = "sqlite")]
            Exec::Sqlite(c) => {
                let row = sqlite_q!(sql, args)
                    .fetch_optional(&mut **c)
                    .await
                    .map_err(map)?;
                row.as_ref().map(|r| decode(r)).transpose()
            }
            #[cfg(feature = "postgres")]
            Exec::Postgres(c) => {
                let row = native_q!(sql, args)
                    .fetch_optional(&mut **c)
                    .await
                    .map_err(map)?;
                row.as_ref().map(|r| decode(r)).transpose()
            }
            #[cfg(feature = "mysql")]
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
    #[cfg(feature = "sqlite")]
    Sqlite(PoolConnection<Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(PoolConnection<Postgres>),
    #[cfg(feature = "mysql")]
    MySql(PoolConnection<MySql>),
}

impl Conn {
    pub(crate) fn exec(&mut self) -> Exec<'_> {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => Exec::Sqlite(c),
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => Exec::Postgres(c),
            #[cfg(feature = "mysql")]
            Conn::MySql(c) => Exec::MySql(c),
        }
    }
}

/// A write transaction. On SQLite it also holds the store's writer lock, so writers in this
/// process queue in order instead of spinning on `SQLITE_BUSY`.
pub(crate) enum Tx {
    #[cfg(feature = "sqlite")]
    Sqlite(Transaction<'static, Sqlite>, OwnedMutexGuard<()>),
    #[cfg(feature = "postgres")]
    Postgres(Transaction<'static, Postgres>),
    #[cfg(feature = "mysql")]
    MySql(Transaction<'static, MySql>),
}

impl Tx {
    pub(crate) fn exec(&mut self) -> Exec<'_> {
        match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(t, _) => Exec::Sqlite(t),
            #[cfg(feature = "postgres")]
            Tx::Postgres(t) => Exec::Postgres(t),
            #[cfg(feature = "mysql")]
            Tx::MySql(t) => Exec::MySql(t),
        }
    }

    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(t, _guard) => t.commit().await,
            #[cfg(feature = "postgres")]
            Tx::Postgres(t) => t.commit().await,
            #[cfg(feature = "mysql")]
            Tx::MySql(t) => t.commit().await,
        }
        .map_err(map)
    }

    pub(crate) async fn rollback(self) -> Result<()> {
        match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(t, _guard) => t.rollback().await,
            #[cfg(feature = "postgres")]
            Tx::Postgres(t) => t.rollback().await,
            #[cfg(feature = "mysql")]
            Tx::MySql(t) => t.rollback().await,
        }
        .map_err(map)
    }
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

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_times_sort_as_text() {
        let a = DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap();
        let b = DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap();
        assert!(sqlite_time(&a) < sqlite_time(&b));
        assert_eq!(parse_time(&sqlite_time(&b)).unwrap(), b);
    }
}
