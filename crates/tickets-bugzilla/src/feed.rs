//! The change feed over search: Bugzilla has no feed endpoint, so each call asks the server's
//! clock (`GET /rest/time`) and searches the product/component for bugs changed at or after
//! the token's time (`last_change_time=`, whole seconds), ordered by change time then id
//! (`order=changeddate,bug_id`), at most [`PAGE`] new ones per answer.
//!
//! The token is `bz1;<time>;<ids>`: the time to search from and the bugs already named with
//! exactly that `last_change_time`. The search overlaps at that second and those bugs are
//! skipped, so nothing changed in the boundary second is lost and nothing is named twice for
//! one change; a bug changed again has a later time and is named again. The token's time
//! never passes the server's clock minus `feed_lag_secs`: a change that committed late (its
//! time is taken when its transaction starts) or a second change within one second is still
//! found; bugs changed within the lag are named again by the next calls (at least once).
//!
//! A comment moves `last_change_time` (checked on a real Bugzilla 5.0.6), so new comments
//! are seen. Bugzilla's API deletes nothing, so `deleted` is always empty; a bug moved to
//! another product or component, or into a group the API user cannot see, stops showing up
//! and is not reported.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::Value;
use tickets_core::{ChangeToken, Changes, Error, Result, TicketId};

use crate::client::Client;
use crate::config::BugzillaConfig;

/// The most bugs one answer names.
pub(crate) const PAGE: usize = 100;

/// Where the feed continues: bugs changed at or after `at`, except those in `seen` (named
/// already, with exactly that time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub at: DateTime<Utc>,
    pub seen: BTreeSet<u64>,
}

fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Position {
    pub(crate) fn token(&self) -> ChangeToken {
        let ids: Vec<String> = self.seen.iter().map(u64::to_string).collect();
        ChangeToken::new(format!("bz1;{};{}", fmt_time(self.at), ids.join(",")))
    }

    pub(crate) fn parse(token: &ChangeToken) -> Option<Self> {
        let mut parts = token.as_str().split(';');
        if parts.next()? != "bz1" {
            return None;
        }
        let at = parse_time(parts.next()?)?;
        let ids = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        let seen = ids
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u64>().ok())
            .collect::<Option<BTreeSet<u64>>>()?;
        Some(Self { at, seen })
    }
}

/// One search row: a bug and its change time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    pub id: u64,
    pub at: DateTime<Utc>,
}

/// What a search from `from` (at most `limit` rows, oldest change first) says, given the
/// server's clock minus the lag (`cutoff`).
pub(crate) fn step(from: &Position, rows: &[Row], limit: usize, cutoff: DateTime<Utc>) -> Changes {
    let full = rows.len() >= limit;
    let fresh: Vec<Row> = rows
        .iter()
        .copied()
        .filter(|r| !(r.at == from.at && from.seen.contains(&r.id)))
        .collect();
    // A full page that ends before the cutoff continues after its last row at once; otherwise
    // everything up to the cutoff is in this answer, so the position moves to the cutoff.
    let (at, more) = match fresh.last() {
        Some(last) if full && last.at <= cutoff => (last.at, true),
        _ => (from.at.max(cutoff), false),
    };
    let mut seen: BTreeSet<u64> = if at == from.at {
        from.seen.clone()
    } else {
        BTreeSet::new()
    };
    seen.extend(fresh.iter().filter(|r| r.at == at).map(|r| r.id));
    let changed = fresh
        .iter()
        .map(|r| TicketId::new(r.id.to_string()))
        .collect();
    Changes::new(changed, Vec::new(), Position { at, seen }.token()).with_more(more)
}

/// The server's clock (`db_time` of `GET /rest/time`).
async fn server_time(client: &Client) -> Result<DateTime<Utc>> {
    let answer = client.get("/time", &[]).await?;
    answer
        .get("db_time")
        .and_then(Value::as_str)
        .and_then(parse_time)
        .ok_or_else(|| {
            Error::unexpected(format!(
                "Bugzilla's /rest/time answer has no db_time: {answer}"
            ))
        })
}

#[derive(Deserialize)]
struct WireRow {
    id: u64,
    last_change_time: String,
}

/// The rows of a feed search answer (`{"bugs":[{"id","last_change_time"}]}`).
pub(crate) fn rows_of(answer: &Value) -> Result<Vec<Row>> {
    let wire: Vec<WireRow> = answer
        .get("bugs")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| Error::unexpected(format!("cannot read the Bugzilla search answer: {e}")))?
        .ok_or_else(|| Error::unexpected("Bugzilla's search answer has no `bugs`"))?;
    wire.into_iter()
        .map(|w| {
            parse_time(&w.last_change_time)
                .map(|at| Row { id: w.id, at })
                .ok_or_else(|| {
                    Error::unexpected(format!(
                        "bug {} has an unreadable last_change_time {:?}",
                        w.id, w.last_change_time
                    ))
                })
        })
        .collect()
}

/// The feed (see the module docs): `GET /rest/time`, then one search.
pub(crate) async fn changes(
    client: &Client,
    cfg: &BugzillaConfig,
    since: Option<&ChangeToken>,
) -> Result<Changes> {
    let now = server_time(client).await?;
    let lag = Duration::seconds(i64::try_from(cfg.feed_lag_secs).unwrap_or(i64::MAX / 2_000));
    let cutoff = now - lag;
    let from = match since.map(|t| (t, Position::parse(t))) {
        None => None,
        Some((_, Some(p))) => Some(p),
        Some((t, None)) => {
            tracing::warn!(token = %t, "not a bugzilla change token; resyncing");
            None
        }
    };
    let Some(from) = from else {
        let start = Position {
            at: cutoff,
            seen: BTreeSet::new(),
        };
        return Ok(Changes::resync(start.token()));
    };
    let limit = PAGE + from.seen.len();
    let params: Vec<(&str, String)> = vec![
        ("product", cfg.product.clone()),
        ("component", cfg.component.clone()),
        ("last_change_time", fmt_time(from.at)),
        ("order", "changeddate,bug_id".into()),
        ("include_fields", "id,last_change_time".into()),
        ("limit", limit.to_string()),
        ("offset", "0".into()),
    ];
    let answer = client.get("/bug", &params).await?;
    let rows = rows_of(&answer)?;
    Ok(step(&from, &rows, limit, cutoff))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u32) -> DateTime<Utc> {
        parse_time("2026-11-28T08:00:00Z").unwrap() + Duration::seconds(s.into())
    }

    fn pos(at: u32, seen: &[u64]) -> Position {
        Position {
            at: t(at),
            seen: seen.iter().copied().collect(),
        }
    }

    fn rows(v: &[(u64, u32)]) -> Vec<Row> {
        v.iter().map(|(id, s)| Row { id: *id, at: t(*s) }).collect()
    }

    fn ids(c: &Changes) -> Vec<&str> {
        c.changed.iter().map(TicketId::as_str).collect()
    }

    #[test]
    fn tokens_round_trip_and_foreign_ones_are_refused() {
        for p in [pos(0, &[]), pos(5, &[3, 1, 20])] {
            assert_eq!(Position::parse(&p.token()), Some(p.clone()));
        }
        assert_eq!(
            pos(5, &[1, 3]).token().as_str(),
            "bz1;2026-11-28T08:00:05Z;1,3"
        );
        for bad in [
            "m5",
            "bz1;yesterday;",
            "bz1;2026-11-28T08:00:05Z;x",
            "bz2;2026-11-28T08:00:05Z;",
            "bz1;2026-11-28T08:00:05Z;1;2",
        ] {
            assert_eq!(Position::parse(&ChangeToken::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn the_boundary_second_is_searched_again_and_what_was_named_is_skipped() {
        // Named at second 10: bug 1. Bug 2 changed in the same second later; bug 1 changed
        // again at 12.
        let from = pos(10, &[1]);
        let c = step(&from, &rows(&[(1, 10), (2, 10), (3, 11)]), PAGE + 1, t(20));
        assert_eq!(ids(&c), ["2", "3"]);
        assert!(!c.more && c.deleted.is_empty());
        assert_eq!(
            Position::parse(&c.next),
            Some(pos(20, &[])),
            "up to the cutoff"
        );
        let c = step(&pos(10, &[1]), &rows(&[(2, 10), (1, 12)]), PAGE + 1, t(20));
        assert_eq!(ids(&c), ["2", "1"], "changed again: named again");
    }

    #[test]
    fn the_position_stays_behind_the_lag() {
        // Cutoff 15: bugs changed at 16 and 17 are named but named again next time.
        let c = step(
            &pos(10, &[]),
            &rows(&[(4, 12), (5, 16), (6, 17)]),
            PAGE,
            t(15),
        );
        assert_eq!(ids(&c), ["4", "5", "6"]);
        assert_eq!(Position::parse(&c.next), Some(pos(15, &[])));
        // A token ahead of the cutoff keeps its place and what it saw.
        let c = step(&pos(30, &[7]), &rows(&[(7, 30), (8, 30)]), PAGE + 1, t(15));
        assert_eq!(ids(&c), ["8"]);
        assert_eq!(Position::parse(&c.next), Some(pos(30, &[7, 8])));
    }

    #[test]
    fn full_pages_continue_after_their_last_row_even_within_one_second() {
        let limit = 3;
        let c = step(
            &pos(0, &[]),
            &rows(&[(1, 5), (2, 5), (3, 5)]),
            limit,
            t(100),
        );
        assert!(c.more);
        assert_eq!(Position::parse(&c.next), Some(pos(5, &[1, 2, 3])));
        // The next search asks for PAGE + 3 rows from second 5 and skips those three.
        let from = pos(5, &[1, 2, 3]);
        let c = step(
            &from,
            &rows(&[(1, 5), (2, 5), (3, 5), (4, 5), (9, 6)]),
            6,
            t(100),
        );
        assert_eq!(ids(&c), ["4", "9"]);
        assert!(!c.more);
        assert_eq!(Position::parse(&c.next), Some(pos(100, &[])));
        // A full page reaching past the cutoff does not ask for more (it would repeat).
        let c = step(
            &pos(0, &[]),
            &rows(&[(1, 5), (2, 150), (3, 160)]),
            3,
            t(100),
        );
        assert!(!c.more);
        assert_eq!(Position::parse(&c.next), Some(pos(100, &[])));
    }

    #[test]
    fn nothing_changed_keeps_what_was_seen_at_the_same_second() {
        let c = step(&pos(10, &[1]), &rows(&[(1, 10)]), PAGE + 1, t(5));
        assert!(c.changed.is_empty());
        assert_eq!(Position::parse(&c.next), Some(pos(10, &[1])));
    }
}
