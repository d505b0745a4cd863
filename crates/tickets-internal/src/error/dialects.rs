//! Each dialect's codes -> kinds: PostgreSQL SQLSTATEs, MySQL/MariaDB error numbers, SQLite
//! extended result codes. Pure functions of the code and the server's message, so every row is
//! unit-tested; `tests.rs` also provokes the main ones on real servers.

use tickets_core::ErrorKind;

use super::Code;

/// `(kind, message, not_applied)`.
type Classified = (ErrorKind, String, bool);

/// True for a deadlock victim or a serialization failure (run the transaction again), and a
/// busy or locked SQLite file.
pub(crate) fn transient_code(code: &Code) -> bool {
    match code {
        // serialization_failure, deadlock_detected
        Code::Postgres(state) => matches!(state.as_str(), "40001" | "40P01"),
        // ER_LOCK_DEADLOCK; ER_CHECKREAD (MariaDB: "record has changed since last read",
        // raised under innodb_snapshot_isolation where MySQL would have serialized)
        Code::MySql(number) => matches!(number, 1213 | 1020),
        Code::Sqlite(c) => matches!(c & 0xff, 5 | 6),
        Code::Other(_) => false,
    }
}

pub(crate) fn classify_code(code: &Code, msg: &str) -> Classified {
    match code {
        Code::Postgres(state) => postgres(state, msg),
        Code::MySql(number) => mysql(*number, msg),
        Code::Sqlite(c) => sqlite(*c, msg),
        Code::Other(c) => unexpected(c, msg),
    }
}

fn conflict(msg: &str) -> Classified {
    (
        ErrorKind::Conflict,
        format!("a concurrent transaction got in the way ({msg}); try again"),
        true,
    )
}

fn lock_timeout(msg: &str) -> Classified {
    (
        ErrorKind::Timeout,
        format!("waited too long for a lock held by another transaction ({msg})"),
        true,
    )
}

fn statement_timeout(msg: &str) -> Classified {
    (
        ErrorKind::Timeout,
        format!("the statement ran past the server's time limit ({msg})"),
        true,
    )
}

fn credentials(msg: &str) -> Classified {
    (
        ErrorKind::Unauthenticated,
        format!("the database refused the credentials ({msg}); check the url's user and password"),
        true,
    )
}

fn privilege(msg: &str) -> Classified {
    (
        ErrorKind::PermissionDenied,
        format!("the database user lacks a privilege ({msg})"),
        true,
    )
}

fn no_database(msg: &str) -> Classified {
    (
        ErrorKind::Config,
        format!("the database does not exist ({msg}); create it or fix the url"),
        true,
    )
}

fn no_table(msg: &str) -> Classified {
    (
        ErrorKind::Config,
        format!(
            "a table of the store is missing ({msg}): if it was opened with `migrate = false`, \
             open it once with `migrate = true`; if migrations already ran, the database was \
             changed behind the store's back (a table dropped, or another program's database \
             at this url) and migrating again will not bring it back: restore it from a backup \
             or point `url` at a fresh database"
        ),
        true,
    )
}

fn bad_value(msg: &str) -> Classified {
    (
        ErrorKind::InvalidInput,
        format!("a value is too long or malformed for its column ({msg})"),
        true,
    )
}

fn server_unavailable(msg: &str) -> Classified {
    (
        ErrorKind::Unavailable,
        format!("the database server cannot serve us now ({msg})"),
        true,
    )
}

fn read_only(msg: &str) -> Classified {
    (
        ErrorKind::Unavailable,
        format!(
            "the database server accepts no writes now, e.g. a replica or read-only mode ({msg})"
        ),
        true,
    )
}

fn disk_full(msg: &str) -> Classified {
    (
        ErrorKind::Unavailable,
        format!("the database's disk is full ({msg})"),
        false,
    )
}

fn unexpected(code: impl std::fmt::Display, msg: &str) -> Classified {
    (
        ErrorKind::Unexpected,
        format!("database error {code}: {msg}"),
        false,
    )
}

/// PostgreSQL, by SQLSTATE (<https://www.postgresql.org/docs/current/errcodes-appendix.html>).
fn postgres(state: &str, msg: &str) -> Classified {
    match state {
        "40001" | "40P01" => conflict(msg),
        "55P03" => lock_timeout(msg),
        "57014" => statement_timeout(msg),
        "28P01" | "28000" => credentials(msg),
        "42501" => privilege(msg),
        "3D000" => no_database(msg),
        "42P01" => no_table(msg),
        // string_data_right_truncation, numeric_value_out_of_range, invalid_text_representation,
        // character_not_in_repertoire (a NUL character in text)
        "22001" | "22003" | "22P02" | "22021" => bad_value(msg),
        "25006" => read_only(msg),
        "53100" => disk_full(msg),
        "53300" | "57P01" | "57P02" | "57P03" => server_unavailable(msg),
        other => unexpected(other, msg),
    }
}

/// MySQL and MariaDB, by error number
/// (<https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html>).
fn mysql(number: u16, msg: &str) -> Classified {
    match number {
        // ER_LOCK_DEADLOCK, ER_CHECKREAD
        1213 | 1020 => conflict(msg),
        // ER_LOCK_WAIT_TIMEOUT (the statement was rolled back; the transaction is rolled back
        // after it, so nothing of it stays)
        1205 => lock_timeout(msg),
        // ER_QUERY_TIMEOUT (MySQL max_execution_time), ER_STATEMENT_TIMEOUT (MariaDB
        // max_statement_time)
        3024 | 1969 => statement_timeout(msg),
        // ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR
        1045 | 1698 => credentials(msg),
        // ER_DBACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR, ER_COLUMNACCESS_DENIED_ERROR,
        // ER_SPECIFIC_ACCESS_DENIED_ERROR
        1044 | 1142 | 1143 | 1227 => privilege(msg),
        // ER_BAD_DB_ERROR
        1049 => no_database(msg),
        // ER_NO_DB_ERROR
        1046 => (
            ErrorKind::Config,
            format!("the url names no database ({msg}); end it with /DATABASE"),
            true,
        ),
        // ER_NO_SUCH_TABLE
        1146 => no_table(msg),
        // ER_DATA_TOO_LONG, ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, ER_WARN_DATA_OUT_OF_RANGE
        1406 | 1366 | 1264 => bad_value(msg),
        // ER_OPTION_PREVENTS_STATEMENT (--read-only), ER_READ_ONLY_MODE
        1290 | 1836 => read_only(msg),
        // ER_DISK_FULL, ER_RECORD_FILE_FULL
        1021 | 1114 => disk_full(msg),
        // ER_CON_COUNT_ERROR, ER_TOO_MANY_USER_CONNECTIONS, ER_SERVER_SHUTDOWN,
        // ER_CONNECTION_KILLED (MariaDB)
        1040 | 1203 | 1053 | 1927 => server_unavailable(msg),
        other => unexpected(other, msg),
    }
}

/// SQLite, by extended result code (<https://www.sqlite.org/rescode.html>), read by its primary
/// code (the low byte).
fn sqlite(code: i64, msg: &str) -> Classified {
    match code & 0xff {
        5 | 6 => (
            ErrorKind::Unavailable,
            format!(
                "the SQLite database is locked by another writer ({msg}); raise busy_timeout_ms \
                 or stop the other process"
            ),
            true,
        ),
        8 => (
            ErrorKind::PermissionDenied,
            format!("the SQLite file is read-only ({msg}); check its permissions"),
            true,
        ),
        14 => (
            ErrorKind::Config,
            format!(
                "cannot open the SQLite file ({msg}); check the path and that its directory exists"
            ),
            true,
        ),
        13 => disk_full(msg),
        // SQLITE_CORRUPT, SQLITE_NOTADB
        11 | 26 => (
            ErrorKind::Config,
            format!("the file is not a SQLite database or is damaged ({msg}); check the url"),
            true,
        ),
        1 if msg.contains("no such table") => no_table(msg),
        _ => unexpected(code, msg),
    }
}
