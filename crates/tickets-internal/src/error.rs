//! sqlx errors -> [`tickets_core::Error`] with the right [`ErrorKind`] and a message that says
//! what to do. Nothing here prints a connection URL: sqlx errors do not carry one, and the
//! provider only ever names the store by its redacted location.

use sqlx::error::{DatabaseError, ErrorKind as DbKind};
use tickets_core::{Error, ErrorKind};

/// Maps a sqlx error.
pub(crate) fn map(err: sqlx::Error) -> Error {
    let (kind, message, not_applied) = classify(&err);
    let mut mapped = Error::new(kind, message).with_source(err);
    if not_applied {
        mapped = mapped.with_not_applied();
    }
    mapped
}

/// Maps a connect or migrate failure, naming where the store is.
pub(crate) fn map_open(err: sqlx::Error, location: &str) -> Error {
    let (kind, message, not_applied) = classify(&err);
    let message = match kind {
        ErrorKind::Unavailable | ErrorKind::Timeout => format!(
            "cannot reach the ticket database at {location}: {message}; check that the server \
             runs and the url's host and port are right"
        ),
        _ => format!("cannot open the ticket database at {location}: {message}"),
    };
    let mut mapped = Error::new(kind, message).with_source(err);
    if not_applied {
        mapped = mapped.with_not_applied();
    }
    mapped
}

/// True for failures where running the whole transaction again is the right answer: deadlock
/// victims, serialization failures, and a busy SQLite file.
pub(crate) fn is_transient(err: &Error) -> bool {
    let Some(sqlx::Error::Database(db)) =
        std::error::Error::source(err).and_then(|s| s.downcast_ref::<sqlx::Error>())
    else {
        return false;
    };
    let code = db.code().unwrap_or_default();
    matches!(
        code.as_ref(),
        "40001" | "40P01" | "1213" | "5" | "6" | "261" | "262" | "517"
    )
}

/// True for SQLite's `SQLITE_BUSY` and `SQLITE_LOCKED` (with their extended codes): another
/// connection holds a lock this one needs.
pub(crate) fn is_busy(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    let code = db.code().unwrap_or_default();
    matches!(sqlite_primary(&code), Some(5 | 6))
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
        E::Migrate(e) => (
            ErrorKind::Config,
            format!(
                "migrating the schema failed: {e}; the database may belong to another program \
                 or a newer version of tickets"
            ),
            false,
        ),
        E::ColumnDecode { .. } | E::Decode(_) | E::ColumnNotFound(_) => (
            ErrorKind::Unexpected,
            format!("stored data cannot be read ({err}); was the schema changed by hand?"),
            false,
        ),
        other => (ErrorKind::Unexpected, other.to_string(), false),
    }
}

fn classify_db(db: &dyn DatabaseError) -> (ErrorKind, String, bool) {
    let msg = db.message().to_owned();
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
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    let (kind, message, not_applied) = match code.as_str() {
        // PostgreSQL SQLSTATEs
        "40001" | "40P01" => (
            ErrorKind::Conflict,
            format!("a concurrent transaction got in the way ({msg}); try again"),
            true,
        ),
        "55P03" => (
            ErrorKind::Timeout,
            format!("waited too long for a lock ({msg})"),
            true,
        ),
        "28P01" | "28000" => (
            ErrorKind::Unauthenticated,
            format!(
                "the database refused the credentials ({msg}); check the url's user and password"
            ),
            true,
        ),
        "42501" => (
            ErrorKind::PermissionDenied,
            format!("the database user lacks a privilege ({msg})"),
            true,
        ),
        "3D000" => (
            ErrorKind::Config,
            format!("the database does not exist ({msg}); create it or fix the url"),
            true,
        ),
        "42P01" => (
            ErrorKind::Config,
            format!("a table is missing ({msg}); open the store with migrate = true"),
            true,
        ),
        "22001" => (
            ErrorKind::InvalidInput,
            format!("a value is too long ({msg})"),
            true,
        ),
        "53300" | "57P01" | "57P02" | "57P03" => (
            ErrorKind::Unavailable,
            format!("the database server cannot serve us now ({msg})"),
            true,
        ),
        // MySQL / MariaDB error numbers
        "1213" => (
            ErrorKind::Conflict,
            format!("deadlock with a concurrent transaction ({msg}); try again"),
            true,
        ),
        "1205" => (
            ErrorKind::Timeout,
            format!("waited too long for a lock ({msg})"),
            true,
        ),
        "1045" => (
            ErrorKind::Unauthenticated,
            format!(
                "the database refused the credentials ({msg}); check the url's user and password"
            ),
            true,
        ),
        "1044" | "1142" | "1143" => (
            ErrorKind::PermissionDenied,
            format!("the database user lacks a privilege ({msg})"),
            true,
        ),
        "1049" => (
            ErrorKind::Config,
            format!("the database does not exist ({msg}); create it or fix the url"),
            true,
        ),
        "1146" => (
            ErrorKind::Config,
            format!("a table is missing ({msg}); open the store with migrate = true"),
            true,
        ),
        "1406" | "1366" => (
            ErrorKind::InvalidInput,
            format!("a value is too long or malformed for its column ({msg})"),
            true,
        ),
        "1040" | "1053" => (
            ErrorKind::Unavailable,
            format!("the database server cannot serve us now ({msg})"),
            true,
        ),
        // SQLite (extended) result codes
        c if sqlite_primary(c) == Some(5) || sqlite_primary(c) == Some(6) => (
            ErrorKind::Unavailable,
            format!(
                "the SQLite database is locked by another writer ({msg}); raise busy_timeout_ms \
                 or stop the other process"
            ),
            true,
        ),
        c if sqlite_primary(c) == Some(8) => (
            ErrorKind::PermissionDenied,
            format!("the SQLite file is read-only ({msg}); check its permissions"),
            true,
        ),
        c if sqlite_primary(c) == Some(14) => (
            ErrorKind::Config,
            format!(
                "cannot open the SQLite file ({msg}); check the path and that its directory exists"
            ),
            true,
        ),
        c if sqlite_primary(c) == Some(13) => (
            ErrorKind::Unavailable,
            format!("the disk is full ({msg})"),
            false,
        ),
        c if sqlite_primary(c) == Some(1) && msg.contains("no such table") => (
            ErrorKind::Config,
            format!("a table is missing ({msg}); open the store with migrate = true"),
            true,
        ),
        _ => (
            ErrorKind::Unexpected,
            format!("database error {code}: {msg}"),
            false,
        ),
    };
    (kind, message, not_applied)
}

fn sqlite_primary(code: &str) -> Option<i64> {
    code.parse::<i64>().ok().map(|c| c & 0xff)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn sqlite_codes() {
        assert_eq!(sqlite_primary("517"), Some(5));
        assert_eq!(sqlite_primary("5"), Some(5));
        assert_eq!(sqlite_primary("XX"), None);
    }
}
