//! The REST resources: sobjects, upsert, query, collections, describe, limits, versions.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::state::{Org, key_prefix, normalize_id, not_found, with_attributes};
use super::{Session, SfError, Shared, VERSIONS, lock, soql};

pub(crate) type Res = Result<Response, SfError>;

pub(crate) fn version(v: &str) -> Result<String, SfError> {
    let number = v.strip_prefix('v').ok_or_else(not_found)?;
    if VERSIONS.contains(&number) {
        Ok(v.to_owned())
    } else {
        Err(not_found())
    }
}

pub(crate) fn object(org: &Org, name: &str) -> Result<&'static str, SfError> {
    org.object(name).ok_or_else(|| {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
            &[],
        )
    })
}

pub(crate) fn writable(object: &'static str) -> Result<&'static str, SfError> {
    if matches!(object, "Case" | "CaseComment") {
        Ok(object)
    } else {
        Err(SfError::bad(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            format!("insufficient access rights on object {object}"),
            &[],
        ))
    }
}

/// Resolves the `{id}` path segment of `object`.
pub(crate) fn record_id(object: &str, seg: &str) -> Result<String, SfError> {
    let id_shaped = matches!(seg.len(), 15 | 18) && seg.bytes().all(|b| b.is_ascii_alphanumeric());
    if !id_shaped {
        return Err(SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {seg}"),
            &[],
        ));
    }
    match normalize_id(seg) {
        Some(id) if key_prefix(object).is_some_and(|p| id.starts_with(p)) => Ok(id),
        _ => Err(SfError::bad(
            "MALFORMED_ID",
            format!("{object} ID: id value of incorrect type: {seg}"),
            &["Id"],
        )),
    }
}

fn json_body(body: &Bytes) -> Result<Map<String, Value>, SfError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(SfError::bad(
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of sObject from a non-object value",
            &[],
        )),
        Err(e) => Err(SfError::bad(
            "JSON_PARSER_ERROR",
            format!("Unexpected character in request body: {e}"),
            &[],
        )),
    }
}

pub(crate) fn save_result(id: &str, created: Option<bool>) -> Value {
    let mut v = json!({"id": id, "success": true, "errors": []});
    if let Some(c) = created {
        v["created"] = c.into();
    }
    v
}

pub(crate) fn auto_assign(shared: &Shared, headers: &HeaderMap) -> Option<String> {
    let off = headers
        .get("sforce-auto-assign")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    if off {
        None
    } else {
        lock(&shared.assignment_owner).clone()
    }
}

/// Creates one record in `org`; returns its id.
pub(crate) fn create_in(
    org: &mut Org,
    object: &'static str,
    body: &Map<String, Value>,
    user: &str,
    owner_rule: Option<&str>,
) -> Result<String, SfError> {
    let mut rec = Map::new();
    org.save(object, &mut rec, body, true, user)?;
    if object == "Case"
        && let Some(owner) = owner_rule
    {
        rec.insert("OwnerId".into(), owner.into());
    }
    Ok(org.insert(object, Value::Object(rec)))
}

pub(crate) fn update_in(
    org: &mut Org,
    object: &'static str,
    id: &str,
    body: &Map<String, Value>,
    user: &str,
) -> Result<(), SfError> {
    let mut rec = org.get(object, id).cloned().ok_or_else(not_found)?;
    org.save(object, &mut rec, body, false, user)?;
    org.insert(object, Value::Object(rec));
    Ok(())
}

pub(crate) async fn versions() -> Json<Value> {
    let labels = [
        "Summer '23",
        "Winter '24",
        "Spring '24",
        "Summer '24",
        "Winter '25",
    ];
    Json(Value::Array(
        VERSIONS
            .iter()
            .zip(labels)
            .map(|(v, label)| json!({"label": label, "url": format!("/services/data/v{v}"), "version": v}))
            .collect(),
    ))
}

pub(crate) async fn resources(Path(v): Path<String>) -> Res {
    let v = version(&v)?;
    let base = format!("/services/data/{v}");
    Ok(Json(json!({
        "sobjects": format!("{base}/sobjects"),
        "query": format!("{base}/query"),
        "composite": format!("{base}/composite"),
        "limits": format!("{base}/limits"),
    }))
    .into_response())
}

pub(crate) async fn limits(State(shared): State<Arc<Shared>>, Path(v): Path<String>) -> Res {
    version(&v)?;
    let used = shared.api_used.load(Ordering::Relaxed);
    let max = shared.api_max.load(Ordering::Relaxed);
    Ok(
        Json(json!({"DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(used)}}))
            .into_response(),
    )
}

pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path((v, obj)): Path<(String, String)>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    let v = version(&v)?;
    let rule = auto_assign(&shared, &headers);
    let mut org = shared.org();
    let object = object(&org, &obj)?;
    if object == "ContentVersion" {
        let content_type = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let id = if content_type.starts_with("multipart/form-data") {
            super::files::create_version_multipart(
                &mut org,
                &v,
                content_type,
                &body,
                &session.user_id,
            )?
        } else {
            super::files::create_version(&mut org, &v, json_body(&body)?, &session.user_id)?
        };
        return Ok((StatusCode::CREATED, Json(save_result(&id, None))).into_response());
    }
    let object = writable(object)?;
    let body = json_body(&body)?;
    let id = create_in(&mut org, object, &body, &session.user_id, rule.as_deref())?;
    Ok((StatusCode::CREATED, Json(save_result(&id, None))).into_response())
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct FieldsParam {
    fields: Option<String>,
}

fn project(org: &Org, object: &str, fields: Option<&str>) -> Result<Option<Vec<String>>, SfError> {
    let Some(list) = fields else { return Ok(None) };
    list.split(',')
        .map(|f| {
            org.field(object, f.trim())
                .map(|d| d.name.clone())
                .ok_or_else(|| {
                    SfError::bad(
                        "INVALID_FIELD",
                        format!("No such column '{}' on sobject of type {object}", f.trim()),
                        &[],
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

pub(crate) async fn read(
    State(shared): State<Arc<Shared>>,
    Path((v, obj, seg)): Path<(String, String, String)>,
    Query(params): Query<FieldsParam>,
) -> Res {
    let v = version(&v)?;
    let org = shared.org();
    let object = object(&org, &obj)?;
    let id = record_id(object, &seg)?;
    let rec = org.get(object, &id).ok_or_else(not_found)?;
    let fields = project(&org, object, params.fields.as_deref())?;
    Ok(Json(with_attributes(object, &v, rec, fields.as_deref())).into_response())
}

pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Path((v, obj, seg)): Path<(String, String, String)>,
    Extension(session): Extension<Session>,
    body: Bytes,
) -> Res {
    version(&v)?;
    let mut org = shared.org();
    let object = writable(object(&org, &obj)?)?;
    let id = record_id(object, &seg)?;
    let body = json_body(&body)?;
    update_in(&mut org, object, &id, &body, &session.user_id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((v, obj, seg)): Path<(String, String, String)>,
) -> Res {
    version(&v)?;
    let mut org = shared.org();
    let object = writable(object(&org, &obj)?)?;
    let id = record_id(object, &seg)?;
    let table = org.records.entry(object).or_default();
    table.remove(&id).ok_or_else(not_found)?;
    let mut gone = vec![(object, id.clone())];
    if object == "Case" {
        let comments = org.records.entry("CaseComment").or_default();
        let children: Vec<String> = comments
            .iter()
            .filter(|(_, c)| c.get("ParentId").and_then(Value::as_str) == Some(id.as_str()))
            .map(|(k, _)| k.clone())
            .collect();
        for c in children {
            comments.remove(&c);
            gone.push(("CaseComment", c));
        }
        super::files::unlink(&mut org, &id);
    }
    // Into the delete log that `/sobjects/{object}/deleted/` reads.
    let at = org.now();
    org.delete_log
        .extend(gone.into_iter().map(|(o, id)| (o, id, at)));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Ids of records whose external-id `field` equals `value` (case-insensitively).
fn by_external_id(
    org: &Org,
    object: &str,
    field: &str,
    value: &str,
) -> Result<(String, Vec<String>), SfError> {
    let def = org
        .field(object, field)
        .filter(|d| d.external_id || d.name == "Id")
        .ok_or_else(|| {
            SfError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {field}"),
                &[],
            )
        })?;
    let name = def.name.clone();
    let ids = org
        .table(object)
        .filter(|r| {
            r.get(&name)
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(value))
        })
        .filter_map(|r| r.get("Id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    Ok((name, ids))
}

fn multiple_choices(v: &str, object: &str, ids: &[String]) -> Response {
    let urls: Vec<String> = ids
        .iter()
        .map(|id| format!("/services/data/{v}/sobjects/{object}/{id}"))
        .collect();
    (StatusCode::MULTIPLE_CHOICES, Json(json!(urls))).into_response()
}

pub(crate) async fn read_by_external_id(
    State(shared): State<Arc<Shared>>,
    Path((v, obj, field, value)): Path<(String, String, String, String)>,
    Query(params): Query<FieldsParam>,
) -> Res {
    let v = version(&v)?;
    let org = shared.org();
    let object = object(&org, &obj)?;
    if object == "ContentVersion" && value == "VersionData" {
        let id = record_id(object, &field)?;
        drop(org);
        return super::files::version_data(&shared, &id);
    }
    let (_, ids) = by_external_id(&org, object, &field, &value)?;
    match ids.as_slice() {
        [] => Err(not_found()),
        [id] => {
            let fields = project(&org, object, params.fields.as_deref())?;
            let rec = org.get(object, id).ok_or_else(not_found)?;
            Ok(Json(with_attributes(object, &v, rec, fields.as_deref())).into_response())
        }
        many => Ok(multiple_choices(&v, object, many)),
    }
}

pub(crate) async fn upsert(
    State(shared): State<Arc<Shared>>,
    Path((v, obj, field, value)): Path<(String, String, String, String)>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    let v = version(&v)?;
    let rule = auto_assign(&shared, &headers);
    let mut org = shared.org();
    let object = writable(object(&org, &obj)?)?;
    let mut body = json_body(&body)?;
    let (name, ids) = by_external_id(&org, object, &field, &value)?;
    if let Some(sent) = body.get(&name)
        && sent.as_str() != Some(value.as_str())
    {
        return Err(SfError::bad(
            "INVALID_FIELD",
            format!(
                "The {name} field should not be specified in the sobject data when upserting on it."
            ),
            &[&name],
        ));
    }
    match ids.as_slice() {
        [] => {
            body.insert(name, value.into());
            let id = create_in(&mut org, object, &body, &session.user_id, rule.as_deref())?;
            Ok((StatusCode::CREATED, Json(save_result(&id, Some(true)))).into_response())
        }
        [id] => {
            body.remove(&name);
            update_in(&mut org, object, id, &body, &session.user_id)?;
            Ok((StatusCode::OK, Json(save_result(id, Some(false)))).into_response())
        }
        many => Ok(multiple_choices(&v, object, many)),
    }
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct QueryParam {
    q: Option<String>,
}

fn batch_size(shared: &Shared, headers: &HeaderMap) -> usize {
    let asked = headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|kv| kv.trim().strip_prefix("batchSize="))
        })
        .and_then(|n| n.trim().parse::<usize>().ok())
        .map(|n| n.clamp(200, 2000))
        .unwrap_or(2000);
    asked.min(shared.batch_size.load(Ordering::Relaxed))
}

/// Answers one batch of `rows`, parking the rest behind a `nextRecordsUrl`.
fn batch(shared: &Shared, v: &str, mut rows: Vec<Value>, total: usize, size: usize) -> Response {
    let rest = if rows.len() > size {
        rows.split_off(size)
    } else {
        Vec::new()
    };
    let mut answer = json!({"totalSize": total, "done": rest.is_empty(), "records": rows});
    if !rest.is_empty() {
        let n = shared.next_cursor.fetch_add(1, Ordering::Relaxed) + 1;
        let offset = total - rest.len();
        let locator = format!("01gDn{n:013}-{offset}");
        answer["nextRecordsUrl"] = format!("/services/data/{v}/query/{locator}").into();
        lock(&shared.cursors).insert(
            locator,
            super::Pending {
                rows: rest,
                total,
                version: v.to_owned(),
            },
        );
    }
    Json(answer).into_response()
}

pub(crate) async fn query(
    State(shared): State<Arc<Shared>>,
    Path(v): Path<String>,
    Query(params): Query<QueryParam>,
    headers: HeaderMap,
) -> Res {
    let v = version(&v)?;
    let Some(q) = params.q.filter(|q| !q.trim().is_empty()) else {
        return Err(SfError::bad(
            "MALFORMED_QUERY",
            "A query string has to be specified",
            &[],
        ));
    };
    let rows = {
        let org = shared.org();
        let parsed = soql::parse(&org, &q)?;
        let mut rows: Vec<Map<String, Value>> = org
            .table(parsed.object)
            .filter(|r| {
                parsed
                    .filter
                    .as_ref()
                    .is_none_or(|c| soql::matches(&org, parsed.object, r, c))
            })
            .cloned()
            .collect();
        soql::sort(&org, &parsed, &mut rows);
        rows.into_iter()
            .skip(parsed.offset)
            .take(parsed.limit.unwrap_or(usize::MAX))
            .map(|r| {
                let mut out = with_attributes(parsed.object, &v, &r, Some(&parsed.fields));
                for (name, set) in soql::children(&org, &parsed, &r, &v) {
                    out[name] = set;
                }
                out
            })
            .collect::<Vec<_>>()
    };
    let total = rows.len();
    Ok(batch(
        &shared,
        &v,
        rows,
        total,
        batch_size(&shared, &headers),
    ))
}

pub(crate) async fn query_more(
    State(shared): State<Arc<Shared>>,
    Path((v, locator)): Path<(String, String)>,
    headers: HeaderMap,
) -> Res {
    let v = version(&v)?;
    if shared.repeat_locator.load(Ordering::Relaxed) {
        // A broken server (or proxy) handing back the page it was asked for, forever.
        let rows = lock(&shared.cursors)
            .get(&locator)
            .map(|p| (p.rows.clone(), p.total));
        let (rows, total) = rows
            .ok_or_else(|| SfError::bad("INVALID_QUERY_LOCATOR", "invalid query locator", &[]))?;
        let size = batch_size(&shared, &headers).min(rows.len());
        return Ok(Json(json!({
            "totalSize": total,
            "done": false,
            "records": rows[..size].to_vec(),
            "nextRecordsUrl": format!("/services/data/{v}/query/{locator}"),
        }))
        .into_response());
    }
    let pending = lock(&shared.cursors).remove(&locator);
    let Some(p) = pending else {
        return Err(SfError::bad(
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
            &[],
        ));
    };
    // Keep it for a retry of the same page (a dropped connection, say).
    let answer = batch(
        &shared,
        &p.version,
        p.rows.clone(),
        p.total,
        batch_size(&shared, &headers),
    );
    lock(&shared.cursors).insert(locator, p);
    let _ = v;
    Ok(answer)
}
