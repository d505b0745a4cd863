//! `GET /rest/bug?...`: exact-match fields (repeats OR'ed), `summary`/`whiteboard` substrings,
//! a simplified `quicksearch` (words in summary or whiteboard; open bugs unless `ALL ...`),
//! `resolution=---`, `last_change_time`/`creation_time` at-or-after, flat boolean charts
//! (`f1/o1/v1`, `j_top`), `order`, `limit`/`offset`.

use std::cmp::Ordering;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::App;
use super::bugs::filter_fields;
use super::error::BzError;
use super::req::BzReq;
use super::state::{Bug, Db, fmt_time};

const NOT_CRITERIA: [&str; 10] = [
    "limit",
    "offset",
    "order",
    "include_fields",
    "exclude_fields",
    "api_key",
    "Bugzilla_api_key",
    "token",
    "Bugzilla_token",
    "j_top",
];

/// Bugzilla's `max_search_results` default.
const MAX_RESULTS: usize = 10_000;

fn parse_time(s: &str) -> Result<DateTime<Utc>, BzError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Ok(t.and_utc());
    }
    Err(BzError::new(
        55,
        format!("'{s}' is not a valid date/time; use YYYY-MM-DDTHH:MM:SSZ."),
    ))
}

/// The value of a chart field of a bug (DB names, as in boolean charts).
fn chart_value(db: &Db, bug: &Bug, field: &str) -> Result<Vec<String>, BzError> {
    Ok(match field {
        "short_desc" => vec![bug.summary.clone()],
        "status_whiteboard" => vec![bug.whiteboard.clone()],
        "longdesc" => db
            .comments_by_bug
            .get(&bug.id)
            .map(|ix| ix.iter().map(|i| db.comments[*i].text.clone()).collect())
            .unwrap_or_default(),
        "bug_id" => vec![bug.id.to_string()],
        "bug_status" => vec![bug.status.clone()],
        "resolution" => vec![bug.resolution.clone()],
        "assigned_to" => vec![bug.assigned_to.clone()],
        "reporter" => vec![bug.creator.clone()],
        "product" => vec![bug.product.clone()],
        "component" => vec![bug.component.clone()],
        "priority" => vec![bug.priority.clone()],
        "keywords" => bug.keywords.clone(),
        "cc" => bug.cc.clone(),
        "delta_ts" => vec![fmt_time(bug.last_change_time)],
        other => {
            return Err(BzError::new(
                108,
                format!("Can't use {other} as a field name."),
            ));
        }
    })
}

fn chart_matches(values: &[String], op: &str, v: &str) -> Result<bool, BzError> {
    let lower = v.to_lowercase();
    let num = |s: &str| s.parse::<i64>().ok();
    let cmp = |a: &str| match (num(a), num(v)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.cmp(v),
    };
    Ok(match op {
        "substring" => values.iter().any(|x| x.to_lowercase().contains(&lower)),
        "casesubstring" => values.iter().any(|x| x.contains(v)),
        "notsubstring" => !values.iter().any(|x| x.to_lowercase().contains(&lower)),
        "equals" => values.iter().any(|x| x == v),
        "notequals" => !values.iter().any(|x| x == v),
        "anyexact" => v.split(',').any(|w| values.iter().any(|x| x == w.trim())),
        "greaterthan" => values.iter().any(|x| cmp(x) == Ordering::Greater),
        "greaterthaneq" => values.iter().any(|x| cmp(x) != Ordering::Less),
        "lessthan" => values.iter().any(|x| cmp(x) == Ordering::Less),
        other => {
            return Err(BzError::new(
                32000,
                format!("Unknown search operator '{other}'."),
            ));
        }
    })
}

/// Reads one searchable field of a bug.
type FieldOf = &'static dyn Fn(&Bug) -> Vec<String>;

fn matches(db: &Db, req: &BzReq, bug: &Bug) -> Result<bool, BzError> {
    let exact: [(&str, FieldOf); 16] = [
        ("id", &|b| vec![b.id.to_string()]),
        ("alias", &|b| b.alias.clone()),
        ("product", &|b| vec![b.product.clone()]),
        ("component", &|b| vec![b.component.clone()]),
        ("status", &|b| vec![b.status.clone()]),
        ("priority", &|b| vec![b.priority.clone()]),
        ("severity", &|b| vec![b.severity.clone()]),
        ("assigned_to", &|b| vec![b.assigned_to.clone()]),
        ("creator", &|b| vec![b.creator.clone()]),
        ("reporter", &|b| vec![b.creator.clone()]),
        ("qa_contact", &|b| vec![b.qa_contact.clone()]),
        ("op_sys", &|b| vec![b.op_sys.clone()]),
        ("platform", &|b| vec![b.platform.clone()]),
        ("version", &|b| vec![b.version.clone()]),
        ("target_milestone", &|b| vec![b.target_milestone.clone()]),
        ("url", &|b| vec![b.url.clone()]),
    ];
    for (name, get) in exact {
        let wanted: Vec<String> = req
            .all(name)
            .iter()
            .flat_map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let have = get(bug);
        if !wanted
            .iter()
            .any(|w| have.iter().any(|h| h.eq_ignore_ascii_case(w)))
        {
            return Ok(false);
        }
    }
    let resolutions = req.all("resolution");
    if !resolutions.is_empty()
        && !resolutions.iter().any(|r| {
            (r == "---" && bug.resolution.is_empty()) || r.eq_ignore_ascii_case(&bug.resolution)
        })
    {
        return Ok(false);
    }
    for (name, hay) in [("summary", &bug.summary), ("whiteboard", &bug.whiteboard)] {
        let wanted = req.all(name);
        if !wanted.is_empty()
            && !wanted
                .iter()
                .any(|w| hay.to_lowercase().contains(&w.to_lowercase()))
        {
            return Ok(false);
        }
    }
    if let Some(t) = req.one("last_change_time")
        && bug.last_change_time < parse_time(&t)?
    {
        return Ok(false);
    }
    if let Some(t) = req.one("creation_time")
        && bug.creation_time < parse_time(&t)?
    {
        return Ok(false);
    }
    // Quicksearch, simplified: every word in the summary or whiteboard; open bugs only unless
    // the query starts with `ALL` (as on 5.x).
    if let Some(qs) = req.one("quicksearch") {
        let mut words: Vec<&str> = qs.split_whitespace().collect();
        let all = words.first() == Some(&"ALL");
        if all {
            words.remove(0);
        }
        if !all && !super::state::is_open(&bug.status) {
            return Ok(false);
        }
        let hay = format!("{} {}", bug.summary, bug.whiteboard).to_lowercase();
        if !words.iter().all(|w| hay.contains(&w.to_lowercase())) {
            return Ok(false);
        }
    }
    charts(db, req, bug)
}

/// Boolean charts `fN/oN/vN`, joined by `j_top` (AND unless `OR`), with `fN=OP` ... `fM=CP`
/// groups joined by their own `jN`, as Bugzilla's advanced search nests them.
fn charts(db: &Db, req: &BzReq, bug: &Bug) -> Result<bool, BzError> {
    let join = |key: &str| req.one(key).is_some_and(|j| j.eq_ignore_ascii_case("OR"));
    let combine = |or: bool, hits: &[bool]| {
        hits.is_empty()
            || if or {
                hits.iter().any(|h| *h)
            } else {
                hits.iter().all(|h| *h)
            }
    };
    let mut stack: Vec<(bool, Vec<bool>)> = vec![(join("j_top"), Vec::new())];
    for n in 1..=99 {
        let Some(field) = req.one(&format!("f{n}")) else {
            continue;
        };
        match field.as_str() {
            "noop" => {}
            "OP" => stack.push((join(&format!("j{n}")), Vec::new())),
            "CP" if stack.len() > 1 => {
                if let Some((or, hits)) = stack.pop() {
                    let hit = combine(or, &hits);
                    if let Some(parent) = stack.last_mut() {
                        parent.1.push(hit);
                    }
                }
            }
            "CP" => {}
            _ => {
                let op = req.one(&format!("o{n}")).unwrap_or_else(|| "equals".into());
                let v = req.one(&format!("v{n}")).unwrap_or_default();
                let hit = chart_matches(&chart_value(db, bug, &field)?, &op, &v)?;
                if let Some(top) = stack.last_mut() {
                    top.1.push(hit);
                }
            }
        }
    }
    // Groups left open close at the end.
    while stack.len() > 1 {
        if let Some((or, hits)) = stack.pop() {
            let hit = combine(or, &hits);
            if let Some(parent) = stack.last_mut() {
                parent.1.push(hit);
            }
        }
    }
    Ok(stack.pop().is_none_or(|(or, hits)| combine(or, &hits)))
}

fn order(req: &BzReq, bugs: &mut [&Bug]) {
    let spec = req.one("order").unwrap_or_else(|| "bug_id".into());
    let keys: Vec<(String, bool)> = spec
        .split(',')
        .map(|k| {
            let mut parts = k.split_whitespace();
            let field = parts.next().unwrap_or("bug_id").to_owned();
            let desc = parts.next().is_some_and(|d| d.eq_ignore_ascii_case("DESC"));
            (field, desc)
        })
        .collect();
    bugs.sort_by(|a, b| {
        for (field, desc) in &keys {
            let o = match field.as_str() {
                // Buglist column names; a real 5.0.6 ignores `last_change_time` here.
                "changeddate" | "delta_ts" => a.last_change_time.cmp(&b.last_change_time),
                "opendate" | "creation_ts" | "creation_time" => {
                    a.creation_time.cmp(&b.creation_time)
                }
                "priority" => a.priority.cmp(&b.priority),
                "bug_status" | "status" => a.status.cmp(&b.status),
                _ => a.id.cmp(&b.id),
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.id.cmp(&b.id)
    });
}

/// `GET /rest/bug` with criteria -> `{"bugs":[...]}`.
pub async fn search(State(app): State<Arc<App>>, req: BzReq) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    let caller = req.caller(&db, app.opts.bmo)?;
    let has_criteria = req
        .query
        .iter()
        .any(|(k, _)| !NOT_CRITERIA.contains(&k.as_str()));
    if !has_criteria && !app.opts.search_allow_no_criteria {
        return Err(BzError::new(
            1000,
            "You may not search, or create saved searches, without any search terms.",
        ));
    }
    let limit = match req.one("limit") {
        Some(l) => Some(l.parse::<usize>().map_err(|_| {
            BzError::new(
                52,
                format!("Invalid parameter 'limit': '{l}' is not a number."),
            )
        })?),
        None => None,
    };
    let offset = match req.one("offset") {
        Some(_) if limit.is_none() => return Err(BzError::param_required("limit")),
        Some(o) => o.parse::<usize>().map_err(|_| {
            BzError::new(
                52,
                format!("Invalid parameter 'offset': '{o}' is not a number."),
            )
        })?,
        None => 0,
    };
    let mut hits = Vec::new();
    for bug in db.bugs.values() {
        if !db.visible(bug.id, caller.as_deref()) {
            continue;
        }
        if matches(&db, &req, bug)? {
            hits.push(bug);
        }
    }
    order(&req, &mut hits);
    let take = match limit {
        None | Some(0) => MAX_RESULTS,
        Some(l) => l.min(MAX_RESULTS),
    };
    let bugs: Vec<Value> = hits
        .into_iter()
        .skip(offset)
        .take(take)
        .map(|b| filter_fields(&req, db.render_bug(b, caller.is_some())))
        .collect();
    Ok(Json(json!({ "bugs": bugs })))
}
