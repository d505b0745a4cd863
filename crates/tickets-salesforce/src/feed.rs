//! The change feed over Salesforce's data replication resources: per call, the server's clock
//! (`GET /services/data/`, which does not count against the API limits), then for one time
//! window `GET sobjects/Case/updated/`, `GET sobjects/Case/deleted/` and
//! `GET sobjects/CaseComment/updated/` (at once), plus one SOQL query for the Cases of changed
//! comments when there are any (200 comment ids per query).
//!
//! The token (`sf1;<time>`) is the start of the next window, a whole minute: Salesforce
//! ignores the seconds of `start` and `end`, wants `start` before `end` (the delete log: by
//! more than one minute), and answers changes 30 days back (deletions 15 days, less if the
//! delete log was purged). The window ends at the server's clock (to the minute), or a day
//! after its start, whichever is first (`more` when a day was cut off); the next one starts at
//! the `latestDateCovered` Salesforce answers (the earliest of the three), which stays before
//! any transaction still running, so windows overlap rather than leave gaps: a Case may be
//! named again by the next answer. While less than two minutes have passed since the token's
//! time, a call asks nothing (only the clock) and names nothing: changes show up one to three
//! minutes after they are made.
//!
//! A new CaseComment is not documented to touch its Case, so comments are read from
//! CaseComment's own replication and named by their `ParentId`. A token older than the
//! windows (or purged, or not this provider's) answers `resync`, from the server's clock minus
//! a minute. Every Case of the org is seen (the provider has no narrower scope); deleted Cases
//! are in `deleted` (their comments go with them).

use std::collections::HashSet;

use chrono::{DateTime, Duration, DurationRound, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use tickets_core::{ChangeToken, Changes, Error, Result, TicketId};

use crate::convert::{soql_quote, str_field};
use crate::provider::SalesforceProvider;
use crate::users::is_id_with_prefix;

/// The longest window one answer covers.
const WINDOW: Duration = Duration::days(1);
/// The shortest window asked for (the delete log wants more than one minute).
const MIN_WINDOW: Duration = Duration::minutes(2);
/// Comment ids per SOQL query for their Cases.
const IDS_PER_QUERY: usize = 200;

fn minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::minutes(1)).unwrap_or(t)
}

/// `2024-01-15T10:20:00.000+0000` (Salesforce) or RFC 3339.
pub(crate) fn parse_sf_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub(crate) fn token(at: DateTime<Utc>) -> ChangeToken {
    ChangeToken::new(format!("sf1;{}", minute(at).format("%Y-%m-%dT%H:%M:%SZ")))
}

pub(crate) fn parse_token(t: &ChangeToken) -> Option<DateTime<Utc>> {
    let at = t.as_str().strip_prefix("sf1;")?;
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| minute(*t) == *t)
}

#[derive(Debug, Deserialize)]
pub(crate) struct Updated {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(rename = "latestDateCovered", default)]
    latest: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeletedRecord {
    id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Deleted {
    #[serde(rename = "deletedRecords", default)]
    records: Vec<DeletedRecord>,
    #[serde(rename = "earliestDateAvailable", default)]
    earliest: Option<String>,
    #[serde(rename = "latestDateCovered", default)]
    latest: Option<String>,
}

pub(crate) fn read<T: serde::de::DeserializeOwned>(what: &str, body: Value) -> Result<T> {
    serde_json::from_value(body).map_err(|e| {
        Error::unexpected(format!(
            "salesforce answered {what} with something else than documented: {e}"
        ))
    })
}

fn is_replication_error(e: &Error) -> bool {
    e.message().contains(" INVALID_REPLICATION_DATE:")
}

/// Where the next window starts: the earliest `latestDateCovered`, kept within the window.
fn next_start(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    latest: &[Option<&String>],
) -> DateTime<Utc> {
    latest
        .iter()
        .map(|l| l.and_then(|s| parse_sf_time(s)).unwrap_or(end))
        .min()
        .unwrap_or(end)
        .clamp(start, end)
}

/// Changed Case ids (Cases first, then the Cases of changed comments), each once, without the
/// deleted ones.
fn merge(cases: Vec<String>, parents: Vec<String>, deleted: &[String]) -> Vec<TicketId> {
    let mut seen: HashSet<String> = deleted.iter().cloned().collect();
    cases
        .into_iter()
        .chain(parents)
        .filter(|id| seen.insert(id.clone()))
        .map(TicketId::new)
        .collect()
}

impl SalesforceProvider {
    /// The server's clock (the `Date` of `GET /services/data/`; the local one if it sends none).
    async fn server_now(&self) -> Result<DateTime<Utc>> {
        let answer = self
            .client
            .call(Method::GET, "/services/data/", &[], None)
            .await?;
        Ok(answer.date.unwrap_or_else(|| {
            tracing::warn!("salesforce sent no Date header; the change feed uses the local clock");
            Utc::now()
        }))
    }

    /// The Cases of these CaseComments.
    async fn comment_parents(&self, comments: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for chunk in comments.chunks(IDS_PER_QUERY) {
            let ids: Vec<String> = chunk.iter().map(|c| soql_quote(c)).collect();
            let q = format!(
                "SELECT ParentId FROM CaseComment WHERE Id IN ({})",
                ids.join(", ")
            );
            for row in self.client.query(&q).await? {
                if let Some(p) = str_field(&row, "ParentId") {
                    out.push(p.to_owned());
                }
            }
        }
        Ok(out)
    }

    /// The feed (see the module docs).
    pub(crate) async fn replication_changes(&self, since: Option<&ChangeToken>) -> Result<Changes> {
        let now = self.server_now().await?;
        let resync = || Changes::resync(token(minute(now) - Duration::minutes(1)));
        let start = match since.map(|t| (t, parse_token(t))) {
            None => return Ok(resync()),
            Some((_, Some(start))) => start,
            Some((t, None)) => {
                tracing::warn!(token = %t, "not a salesforce change token; resyncing");
                return Ok(resync());
            }
        };
        let cap = minute(now);
        if cap - start < MIN_WINDOW {
            return Ok(Changes::new(Vec::new(), Vec::new(), token(start)));
        }
        let end = (start + WINDOW).min(cap);
        let iso = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
        let (s, e) = (iso(start), iso(end));
        let window: [(&str, &str); 2] = [("start", &s), ("end", &e)];
        let c = &self.client;
        let answers = futures::try_join!(
            c.call(Method::GET, "sobjects/Case/updated/", &window, None),
            c.call(Method::GET, "sobjects/Case/deleted/", &window, None),
            c.call(Method::GET, "sobjects/CaseComment/updated/", &window, None),
        );
        let (cases, deleted, comments) = match answers {
            Ok(a) => a,
            Err(e) if is_replication_error(&e) => {
                tracing::info!(error = %e, "salesforce no longer answers for the token's time; resyncing");
                return Ok(resync());
            }
            Err(e) => return Err(e),
        };
        let cases: Updated = read("Case/updated", cases.body)?;
        let deleted: Deleted = read("Case/deleted", deleted.body)?;
        let comments: Updated = read("CaseComment/updated", comments.body)?;
        if let Some(earliest) = deleted.earliest.as_deref().and_then(parse_sf_time)
            && earliest > start
        {
            tracing::info!(%earliest, "salesforce purged deletions after the token's time; resyncing");
            return Ok(resync());
        }
        let next = next_start(
            start,
            end,
            &[
                cases.latest.as_ref(),
                deleted.latest.as_ref(),
                comments.latest.as_ref(),
            ],
        );
        let parents = if comments.ids.is_empty() {
            Vec::new()
        } else {
            self.comment_parents(&comments.ids).await?
        };
        let gone: Vec<String> = deleted
            .records
            .into_iter()
            .map(|r| r.id)
            .filter(|id| is_id_with_prefix(id, &["500"]))
            .collect();
        let cases: Vec<String> = cases
            .ids
            .into_iter()
            .filter(|id| is_id_with_prefix(id, &["500"]))
            .collect();
        let changed = merge(cases, parents, &gone);
        let deleted = gone.into_iter().map(TicketId::new).collect();
        // More waits when a day was cut off, unless Salesforce held the position back.
        let more = end < cap && next > start;
        Ok(Changes::new(changed, deleted, token(next)).with_more(more))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_sf_time(s).unwrap()
    }

    #[test]
    fn tokens_are_whole_minutes() {
        let t = token(at("2026-03-10T12:34:56Z"));
        assert_eq!(t.as_str(), "sf1;2026-03-10T12:34:00Z");
        assert_eq!(parse_token(&t), Some(at("2026-03-10T12:34:00Z")));
        for bad in [
            "m5",
            "sf1;",
            "sf1;2026-03-10T12:34:56Z",
            "sf1;tomorrow",
            "bz1;2026-03-10T12:34:00Z;",
        ] {
            assert_eq!(parse_token(&ChangeToken::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn the_next_window_starts_at_the_earliest_latest_date_covered() {
        let (s, e) = (at("2026-03-10T12:00:00Z"), at("2026-03-10T13:00:00Z"));
        let a = "2026-03-10T12:40:00.000+0000".to_owned();
        let b = "2026-03-10T12:50:00.000+0000".to_owned();
        assert_eq!(
            next_start(s, e, &[Some(&a), Some(&b), None]),
            at("2026-03-10T12:40:00Z")
        );
        assert_eq!(next_start(s, e, &[None, None, None]), e);
        let late = "2026-03-10T14:00:00.000+0000".to_owned();
        assert_eq!(next_start(s, e, &[Some(&late)]), e, "never past the window");
        let early = "2026-03-10T11:00:00.000+0000".to_owned();
        assert_eq!(next_start(s, e, &[Some(&early)]), s, "never back");
    }

    #[test]
    fn cases_and_comment_parents_merge_once_without_deleted_ones() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let got = merge(
            ids(&["500A", "500B", "500C"]),
            ids(&["500B", "500D", "500D", "500E"]),
            &ids(&["500C", "500E"]),
        );
        let got: Vec<&str> = got.iter().map(TicketId::as_str).collect();
        assert_eq!(got, ["500A", "500B", "500D"]);
    }
}
