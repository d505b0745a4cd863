//! sqlx errors -> [`tickets_core::Error`] with the right [`ErrorKind`] and a message that says
//! what to do. Nothing here prints a connection URL: sqlx errors do not carry one, and the
//! provider only ever names the store by its redacted location.
//!
//! A database error is read by the code its own dialect uses ([`Code`]): PostgreSQL by its
//! SQLSTATE, MySQL/MariaDB by its error number (sqlx's `DatabaseError::code()` is the SQLSTATE
//! there too, which is far coarser: `42000` covers both an unknown database and a syntax
//! error), SQLite by its extended result code.

mod dialects;

use sqlx::error::{DatabaseError, ErrorKind as DbKind};
use tickets_core::{Error, ErrorKind};

use dialects::{classify_code, transient_code};

/// A database error's code, in its dialect's own terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Code {
    /// A MySQL/MariaDB server error number (`1213` deadlock, `1049` unknown database, ...).
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    MySql(u16),
    /// A PostgreSQL SQLSTATE (`40P01` deadlock, `3D000` unknown database, ...).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres(String),
    /// A SQLite extended result code (`5` busy, `517` busy snapshot, ...).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Sqlite(i64),
    /// A dialect not compiled in, or a code that could not be read.
    Other(String),
}

impl Code {
    fn of(db: &dyn DatabaseError) -> Self {
        #[cfg(feature = "mysql")]
        if let Some(e) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
            return Code::MySql(e.number());
        }
        #[cfg(feature = "postgres")]
        if let Some(e) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            return Code::Postgres(e.code().to_owned());
        }
        let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
        #[cfg(feature = "sqlite")]
        if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
            && let Ok(n) = code.parse()
        {
            return Code::Sqlite(n);
        }
        Code::Other(code)
    }
}

/// Attaches `err` as the source, without Display repeating a database message `message`
/// already quotes.
fn with_cause(mapped: Error, message: &str, err: sqlx::Error) -> Error {
    let quoted = matches!(&err, sqlx::Error::Database(db) if message.contains(db.message()));
    if quoted {
        mapped.with_source_described(err)
    } else {
        mapped.with_source(err)
    }
}

/// Maps a sqlx error.
pub(crate) fn map(err: sqlx::Error) -> Error {
    let (kind, message, not_applied) = classify(&err);
    let mut mapped = with_cause(Error::new(kind, &message), &message, err);
    if not_applied {
        mapped = mapped.with_not_applied();
    }
    mapped
}

/// Maps a connect or migrate failure, naming where the store is.
pub(crate) fn map_open(err: sqlx::Error, location: &str) -> Error {
    let (kind, message, not_applied) = classify(&err);
    let unreachable = matches!(
        err,
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut
    );
    let message = if unreachable {
        format!(
            "cannot reach the ticket database at {location}: {message}; check that the server \
             runs and the url's host and port are right"
        )
    } else {
        format!("cannot open the ticket database at {location}: {message}")
    };
    let mut mapped = with_cause(Error::new(kind, &message), &message, err);
    if not_applied {
        mapped = mapped.with_not_applied();
    }
    mapped
}

/// True for failures where running the whole transaction again is the right answer: deadlock
/// victims, serialization failures, and a busy SQLite file.
pub(crate) fn is_transient(err: &Error) -> bool {
    match std::error::Error::source(err).and_then(|s| s.downcast_ref::<sqlx::Error>()) {
        Some(sqlx::Error::Database(db)) => transient_code(&Code::of(db.as_ref())),
        _ => false,
    }
}

/// True for SQLite's `SQLITE_BUSY` and `SQLITE_LOCKED` (with their extended codes): another
/// connection holds a lock this one needs.
#[cfg(feature = "sqlite")]
pub(crate) fn is_busy(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            matches!(Code::of(db.as_ref()), Code::Sqlite(c) if matches!(c & 0xff, 5 | 6))
        }
        _ => false,
    }
}

fn classify(err: &sqlx::Error) -> (ErrorKind, String, bool) {
    use sqlx::Error as E;
    match err {
        E::Database(db) => classify_db(db.as_ref()),
        E::RowNotFound => (ErrorKind::NotFound, "no such row".into(), false),
        E::Configuration(e) => (
            ErrorKind::Config,
            format!(
                "bad database url or option ({e}); use sqlite://PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB"
            ),
            true,
        ),
        E::Io(e) => {
            let refused = matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
            );
            (
                ErrorKind::Unavailable,
                format!("database connection failed: {e}"),
                refused,
            )
        }
        E::Tls(e) => (
            ErrorKind::Unavailable,
            format!("TLS to the database failed: {e}"),
            true,
        ),
        E::PoolTimedOut => (
            ErrorKind::Unavailable,
            "no database connection became free in time; the server may be down or the pool \
             (max_connections) too small for the load"
                .into(),
            true,
        ),
        E::PoolClosed => (
            ErrorKind::Unavailable,
            "the connection pool was closed".into(),
            true,
        ),
        E::Migrate(e) => classify_migrate(e),
        E::ColumnDecode { .. } | E::Decode(_) | E::ColumnNotFound(_) => (
            ErrorKind::Unexpected,
            format!("stored data cannot be read ({err}); was the schema changed by hand?"),
            false,
        ),
        other => (ErrorKind::Unexpected, other.to_string(), false),
    }
}

/// A failed migration is a schema problem (`Config`) unless the database itself failed in a way
/// that has its own kind: a busy file, a lost server, a refused login, a deadlock.
fn classify_migrate(e: &sqlx::migrate::MigrateError) -> (ErrorKind, String, bool) {
    use sqlx::migrate::MigrateError as M;
    if let M::Execute(inner) | M::ExecuteMigration(inner, _) = e {
        let (kind, message, not_applied) = classify(inner);
        if matches!(
            kind,
            ErrorKind::Unavailable
                | ErrorKind::Timeout
                | ErrorKind::Conflict
                | ErrorKind::Unauthenticated
                | ErrorKind::PermissionDenied
        ) {
            return (
                kind,
                format!("migrating the schema failed: {message}"),
                not_applied,
            );
        }
    }
    (
        ErrorKind::Config,
        format!(
            "migrating the schema failed: {e}; the database may belong to another program or a \
             newer version of tickets"
        ),
        false,
    )
}

fn classify_db(db: &dyn DatabaseError) -> (ErrorKind, String, bool) {
    let msg = db.message().to_owned();
    // sqlx reads these four from each dialect's own code (MySQL's by number).
    match db.kind() {
        DbKind::UniqueViolation => {
            return (
                ErrorKind::AlreadyExists,
                format!("a record with this key already exists ({msg})"),
                false,
            );
        }
        DbKind::ForeignKeyViolation => {
            return (
                ErrorKind::NotFound,
                format!("the ticket referred to does not exist ({msg})"),
                false,
            );
        }
        DbKind::NotNullViolation | DbKind::CheckViolation => {
            return (
                ErrorKind::InvalidInput,
                format!("value rejected ({msg})"),
                false,
            );
        }
        _ => {}
    }
    classify_code(&Code::of(db), &msg)
}

#[cfg(test)]
mod tests;
