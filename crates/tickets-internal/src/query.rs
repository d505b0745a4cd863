//! Statements: the fixed ones, prepared once per store, and the list query built per filter set.
//!
//! Lists use keyset pagination on `number` (the auto-increment key): `WHERE number > last ORDER
//! BY number LIMIT n+1`. The cursor is the last number seen, so pages never repeat or skip a
//! ticket while others are inserted (new tickets get larger numbers and show up at the end).

use tickets_core::{Cursor, Error, Result, TicketQuery};

use crate::client::Dialect;
use crate::convert::{COMMENT_COLUMNS, HISTORY_COLUMNS, TICKET_COLUMNS};
use crate::exec::{Arg, Sql};

/// Tickets per page when the query does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest page.
pub const MAX_PAGE_SIZE: u32 = 1000;

const TICKET_INSERT_COLUMNS: &str = "id, subject, description, status, priority, kind, \
     assignee, requester, watchers, tags, due, custom_fields, idempotency_key, created_at, \
     updated_at, version";

/// The fixed statements of one store.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    pub insert_ticket: Sql,
    pub ticket_by_id: Sql,
    pub ticket_by_id_for_update: Sql,
    pub ticket_by_key: Sql,
    pub update_ticket: Sql,
    pub touch_ticket: Sql,
    pub ticket_exists: Sql,
    pub tag_sample: Sql,
    pub delete_tags: Sql,
    pub insert_comment: Sql,
    pub comment_by_key: Sql,
    pub comments: Sql,
    pub history: Sql,
}

impl Statements {
    pub(crate) fn new(d: Dialect) -> Self {
        let returning = match d {
            Dialect::MySql => "",
            Dialect::Sqlite | Dialect::Postgres => " RETURNING number",
        };
        let lock = match d {
            // SQLite writers already hold the database (BEGIN IMMEDIATE).
            Dialect::Sqlite => "",
            Dialect::Postgres | Dialect::MySql => " FOR UPDATE",
        };
        let s = |text: &str| Sql::new(d, text);
        Self {
            insert_ticket: s(&format!(
                "INSERT INTO tickets ({TICKET_INSERT_COLUMNS}) VALUES \
                 (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?){returning}"
            )),
            ticket_by_id: s(&format!(
                "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?"
            )),
            ticket_by_id_for_update: s(&format!(
                "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?{lock}"
            )),
            ticket_by_key: s(&format!(
                "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.idempotency_key = ?"
            )),
            update_ticket: s(
                "UPDATE tickets SET subject = ?, description = ?, status = ?, \
                 priority = ?, kind = ?, assignee = ?, requester = ?, watchers = ?, tags = ?, \
                 due = ?, custom_fields = ?, updated_at = ?, version = ? \
                 WHERE id = ? AND version = ?",
            ),
            touch_ticket: s("UPDATE tickets SET updated_at = ? WHERE id = ?"),
            ticket_exists: s("SELECT number FROM tickets WHERE id = ?"),
            tag_sample: s(&format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM ticket_tags WHERE tag = ? LIMIT {RARE_TAG}) x"
            )),
            delete_tags: s("DELETE FROM ticket_tags WHERE ticket_id = ?"),
            insert_comment: s("INSERT INTO comments \
                 (id, ticket_id, author, body, public, idempotency_key, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)"),
            comment_by_key: s(&format!(
                "SELECT {COMMENT_COLUMNS} FROM comments WHERE ticket_id = ? AND idempotency_key = ?"
            )),
            comments: s(&format!(
                "SELECT {COMMENT_COLUMNS} FROM comments WHERE ticket_id = ? ORDER BY seq"
            )),
            history: s(&format!(
                "SELECT {HISTORY_COLUMNS} FROM history WHERE ticket_id = ? ORDER BY seq"
            )),
        }
    }
}

/// `INSERT INTO ticket_tags` for `n` rows of `(ticket_id, tag)`.
pub(crate) fn insert_tags(d: Dialect, n: usize) -> Sql {
    Sql::new(d, &multi_insert("ticket_tags (ticket_id, tag)", 2, n))
}

/// `INSERT INTO history` for `n` rows.
pub(crate) fn insert_history(d: Dialect, n: usize) -> Sql {
    Sql::new(
        d,
        &multi_insert(
            "history (ticket_id, action, field, old_value, new_value, actor, created_at)",
            7,
            n,
        ),
    )
}

fn multi_insert(target: &str, width: usize, rows: usize) -> String {
    let one = format!("({})", vec!["?"; width].join(", "));
    format!("INSERT INTO {target} VALUES {}", vec![one; rows].join(", "))
}

/// Parses a cursor handed out by [`next_cursor`].
pub(crate) fn parse_cursor(cursor: &Cursor) -> Result<i64> {
    cursor
        .as_str()
        .strip_prefix('n')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            Error::invalid_input(format!(
                "cursor {:?} was not issued by the internal provider; start the list without one",
                cursor.as_str()
            ))
        })
}

/// The cursor after the ticket with this number.
pub(crate) fn next_cursor(number: i64) -> Cursor {
    Cursor::new(format!("n{number}"))
}

/// Escapes `%`, `_` and the escape character `!` for `LIKE ... ESCAPE '!'`.
fn like_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '!') {
            p.push('!');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// An FTS5 phrase: the text in double quotes, inner quotes doubled.
fn fts_phrase(needle: &str) -> String {
    format!("\"{}\"", needle.replace('"', "\"\""))
}

/// Below this many tickets a tag counts as rare (see [`list`]).
pub(crate) const RARE_TAG: i64 = 5000;

/// The page query for `query`: its SQL, arguments, and the page size (the query fetches one
/// more row to learn whether another page follows).
///
/// `rare_tags` are tags known to be on fewer than [`RARE_TAG`] tickets: those are filtered with
/// `id IN (tickets with the tag)` instead of an `EXISTS` probe per ticket. PostgreSQL and MySQL
/// choose a semi-join strategy from their statistics either way; SQLite follows the SQL as
/// written, so the provider samples the tag index first there.
pub(crate) fn list(
    d: Dialect,
    query: &TicketQuery,
    rare_tags: &[&str],
) -> Result<(Sql, Vec<Arg>, usize)> {
    let size = query
        .page_size
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE) as usize;
    let mut sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE 1 = 1");
    let mut args: Vec<Arg> = Vec::new();
    if !query.status.is_empty() {
        let marks = vec!["?"; query.status.len()].join(", ");
        sql.push_str(&format!(" AND t.status IN ({marks})"));
        args.extend(query.status.iter().map(|s| Arg::from(s.as_str())));
    }
    if let Some(a) = &query.assignee {
        sql.push_str(" AND t.assignee = ?");
        args.push(a.as_str().into());
    }
    if let Some(r) = &query.requester {
        sql.push_str(" AND t.requester = ?");
        args.push(r.as_str().into());
    }
    for tag in &query.tags {
        if rare_tags.contains(&tag.as_str()) {
            // Few tickets carry it: look them up from the tag index and sort those.
            sql.push_str(" AND t.id IN (SELECT g.ticket_id FROM ticket_tags g WHERE g.tag = ?)");
        } else {
            // Many do: walk tickets in order and probe, the page fills quickly.
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag = ?)",
            );
        }
        args.push(tag.as_str().into());
    }
    if let Some(text) = &query.text {
        match d {
            // The trigram index needs three characters; shorter needles scan with LIKE (which
            // folds ASCII case only).
            Dialect::Sqlite if text.chars().count() >= 3 => {
                sql.push_str(
                    " AND t.number IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)",
                );
                args.push(fts_phrase(text).into());
            }
            Dialect::Sqlite => {
                sql.push_str(
                    " AND (t.subject LIKE ? ESCAPE '!' OR t.description LIKE ? ESCAPE '!')",
                );
                let p = like_pattern(text);
                args.push(p.clone().into());
                args.push(p.into());
            }
            Dialect::Postgres => {
                sql.push_str(
                    " AND (t.subject ILIKE ? ESCAPE '!' OR t.description ILIKE ? ESCAPE '!')",
                );
                let p = like_pattern(text);
                args.push(p.clone().into());
                args.push(p.into());
            }
            Dialect::MySql => {
                sql.push_str(
                    " AND (LOWER(t.subject) LIKE ? ESCAPE '!' OR LOWER(t.description) LIKE ? ESCAPE '!')",
                );
                let p = like_pattern(&text.to_lowercase());
                args.push(p.clone().into());
                args.push(p.into());
            }
        }
    }
    if let Some(since) = query.updated_since {
        sql.push_str(" AND t.updated_at >= ?");
        args.push(since.into());
    }
    if let Some(cursor) = &query.cursor {
        sql.push_str(" AND t.number > ?");
        args.push(parse_cursor(cursor)?.into());
    }
    sql.push_str(" ORDER BY t.number LIMIT ?");
    args.push(Arg::Int(size as i64 + 1));
    Ok((Sql::new(d, &sql), args, size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickets_core::Status;

    #[test]
    fn cursor_round_trip() {
        assert_eq!(parse_cursor(&next_cursor(42)).unwrap(), 42);
        assert!(parse_cursor(&Cursor::new("42")).is_err());
        assert!(parse_cursor(&Cursor::new("n-1")).is_err());
        assert!(parse_cursor(&Cursor::new("nx")).is_err());
    }

    proptest::proptest! {
        /// A cursor from anywhere (a user's shell, another provider) is a number or a clear
        /// error, never a panic; every cursor handed out reads back.
        #[test]
        fn any_cursor_parses_or_is_refused(text in proptest::prelude::any::<String>(), n in 0..i64::MAX) {
            if let Err(e) = parse_cursor(&Cursor::new(text.clone())) {
                proptest::prop_assert!(e.to_string().contains("was not issued"), "{e}");
            }
            proptest::prop_assert_eq!(parse_cursor(&next_cursor(n)).unwrap(), n);
        }
    }

    #[test]
    fn like_escapes() {
        assert_eq!(like_pattern("50%_off!"), "%50!%!_off!!%");
        assert_eq!(fts_phrase(r#"say "hi""#), r#""say ""hi""""#);
    }

    #[test]
    fn list_sql_has_every_filter() {
        let q = TicketQuery::new()
            .status(Status::New)
            .status(Status::Triaged)
            .assignee("a")
            .requester("r")
            .tag("x")
            .tag("y")
            .text("needle")
            .updated_since(chrono::Utc::now())
            .page_size(5000)
            .cursor(next_cursor(7));
        let (sql, args, size) = list(Dialect::Postgres, &q, &[]).unwrap();
        assert_eq!(size, MAX_PAGE_SIZE as usize);
        assert_eq!(args.len(), 2 + 1 + 1 + 2 + 2 + 1 + 1 + 1);
        assert_eq!(args.len(), 11);
        assert!(sql.as_str().contains("$10"), "{}", sql.as_str());
        assert!(sql.as_str().ends_with("ORDER BY t.number LIMIT $11"));
        let (sql, _, _) = list(Dialect::Sqlite, &q, &["y"]).unwrap();
        assert!(sql.as_str().contains("MATCH ?"));
        assert!(
            sql.as_str().contains("g.ticket_id = t.id AND g.tag = ?"),
            "x probes"
        );
        assert!(
            sql.as_str().contains("t.id IN (SELECT g.ticket_id"),
            "rare y is looked up"
        );
        let (sql, _, _) = list(Dialect::Sqlite, &TicketQuery::new().text("ab"), &[]).unwrap();
        assert!(sql.as_str().contains("LIKE ?"));
    }

    #[test]
    fn multi_row_inserts() {
        assert_eq!(
            insert_tags(Dialect::Postgres, 2).as_str(),
            "INSERT INTO ticket_tags (ticket_id, tag) VALUES ($1, $2), ($3, $4)"
        );
    }
}
