//! Data replication: `GET /sobjects/{object}/updated/?start=&end=` and
//! `GET /sobjects/{object}/deleted/?start=&end=` (REST "sObject Get Updated / Get Deleted").
//!
//! As Salesforce documents them: `start` and `end` are ISO 8601 date-times (UTC) whose seconds
//! are ignored (12:30:15 is 12:30:00); `start` must precede `end` (for `deleted`, by more than
//! one minute), else 400 `INVALID_REPLICATION_DATE`. Updates are kept 30 days back from the
//! org's clock, deletions 15 days (and not before the delete log was last purged); an older
//! `start` is 400 `INVALID_REPLICATION_DATE` too. A record counts as updated by its
//! `SystemModstamp`. Answers: `{"ids":[...], "latestDateCovered"}` and
//! `{"deletedRecords":[{"id","deletedDate"}], "earliestDateAvailable", "latestDateCovered"}`,
//! where `latestDateCovered` is `end` or the org's clock (to the minute), whichever is earlier.
//! The error texts are the fake's own.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Value, json};

use super::rest::{Res, object, version};
use super::state::{parse_datetime, sf_datetime};
use super::{SfError, Shared};
use axum::response::IntoResponse;

/// How far back updates are answered.
const UPDATED_DAYS: i64 = 30;
/// How far back deletions are answered.
const DELETED_DAYS: i64 = 15;

fn replication_error(message: impl Into<String>) -> SfError {
    SfError::bad("INVALID_REPLICATION_DATE", message, &[])
}

fn minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::minutes(1)).unwrap_or(t)
}

/// The window `[start, latestDateCovered)`, checked.
fn window(
    q: &HashMap<String, String>,
    now: DateTime<Utc>,
    days: i64,
    min_gap: Duration,
) -> Result<(DateTime<Utc>, DateTime<Utc>), SfError> {
    let read = |k: &str| {
        let v = q
            .get(k)
            .ok_or_else(|| replication_error(format!("{k}: a date/time is required")))?;
        parse_datetime(v).map(minute).ok_or_else(|| {
            replication_error(format!(
                "{k}: {v:?} is not an ISO 8601 date/time (YYYY-MM-DDThh:mm:ss+hh:mm)"
            ))
        })
    };
    let (start, end) = (read("start")?, read("end")?);
    if end - start < min_gap || end <= start {
        return Err(replication_error(if min_gap > Duration::zero() {
            "startDate must chronologically precede endDate by more than one minute"
        } else {
            "startDate must chronologically precede endDate"
        }));
    }
    if start < minute(now) - Duration::days(days) {
        return Err(replication_error(format!(
            "startDate cannot be more than {days} days ago"
        )));
    }
    Ok((start, end.min(minute(now))))
}

/// `GET /services/data/vNN.N/sobjects/{object}/updated/`.
pub(crate) async fn updated(
    State(shared): State<Arc<Shared>>,
    Path((v, obj)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Res {
    version(&v)?;
    let org = shared.org();
    let object = object(&org, &obj)?;
    let (start, latest) = window(&q, org.clock(), UPDATED_DAYS, Duration::zero())?;
    let ids: Vec<Value> = org
        .table(object)
        .filter(|r| {
            r.get("SystemModstamp")
                .and_then(Value::as_str)
                .and_then(parse_datetime)
                .is_some_and(|t| start <= t && t < latest)
        })
        .filter_map(|r| r.get("Id").cloned())
        .collect();
    Ok(Json(json!({"ids": ids, "latestDateCovered": sf_datetime(latest)})).into_response())
}

/// `GET /services/data/vNN.N/sobjects/{object}/deleted/`.
pub(crate) async fn deleted(
    State(shared): State<Arc<Shared>>,
    Path((v, obj)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Res {
    version(&v)?;
    let org = shared.org();
    let object = object(&org, &obj)?;
    let (start, latest) = window(&q, org.clock(), DELETED_DAYS, Duration::minutes(2))?;
    if start <= org.purged_before {
        return Err(replication_error(
            "the delete log was purged after startDate; replicate the whole object again",
        ));
    }
    let records: Vec<Value> = org
        .delete_log
        .iter()
        .filter(|(o, _, at)| *o == object && start <= *at && *at < latest)
        .map(|(_, id, at)| json!({"id": id, "deletedDate": sf_datetime(*at)}))
        .collect();
    Ok(Json(json!({
        "deletedRecords": records,
        "earliestDateAvailable": sf_datetime(org.purged_before),
        "latestDateCovered": sf_datetime(latest),
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(start: &str, end: &str) -> HashMap<String, String> {
        HashMap::from([("start".into(), start.into()), ("end".into(), end.into())])
    }

    #[test]
    fn windows_drop_seconds_and_follow_the_rules() {
        let now = parse_datetime("2026-03-10T12:34:56Z").unwrap();
        let (s, l) = window(
            &q("2026-03-10T12:00:59+00:00", "2026-03-10T13:00:00Z"),
            now,
            30,
            Duration::zero(),
        )
        .unwrap();
        assert_eq!(sf_datetime(s), "2026-03-10T12:00:00.000+0000");
        assert_eq!(
            sf_datetime(l),
            "2026-03-10T12:34:00.000+0000",
            "capped at now"
        );
        for (start, end, gap) in [
            ("2026-03-10T12:30:00Z", "2026-03-10T12:30:59Z", 0),
            ("2026-03-10T12:31:00Z", "2026-03-10T12:30:00Z", 0),
            ("2026-03-10T12:30:00Z", "2026-03-10T12:31:00Z", 2),
            ("2026-02-01T12:30:00Z", "2026-03-10T12:31:00Z", 0),
            ("yesterday", "2026-03-10T12:31:00Z", 0),
        ] {
            let e = window(&q(start, end), now, 30, Duration::minutes(gap)).unwrap_err();
            assert_eq!(e.errors[0].0, "INVALID_REPLICATION_DATE", "{start} {end}");
        }
    }
}
