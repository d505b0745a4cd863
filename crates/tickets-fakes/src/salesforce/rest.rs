//! The REST resources: sobjects, upsert, query, collections, describe, limits, versions.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::state::{Org, Ty, key_prefix, normalize_id, not_found, with_attributes};
use super::{Session, SfError, Shared, VERSIONS, lock, soql};

type Res = Result<Response, SfError>;

fn version(v: &str) -> Result<String, SfError> {
    let number = v.strip_prefix('v').ok_or_else(not_found)?;
    if VERSIONS.contains(&number) {
        Ok(v.to_owned())
    } else {
        Err(not_found())
    }
}

fn object(org: &Org, name: &str) -> Result<&'static str, SfError> {
    org.object(name).ok_or_else(|| {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
            &[],
        )
    })
}

fn writable(object: &'static str) -> Result<&'static str, SfError> {
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
fn record_id(object: &str, seg: &str) -> Result<String, SfError> {
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

fn save_result(id: &str, created: Option<bool>) -> Value {
    let mut v = json!({"id": id, "success": true, "errors": []});
    if let Some(c) = created {
        v["created"] = c.into();
    }
    v
}

fn auto_assign(shared: &Shared, headers: &HeaderMap) -> Option<String> {
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
fn create_in(
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

fn update_in(
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
    version(&v)?;
    let rule = auto_assign(&shared, &headers);
    let mut org = shared.org();
    let object = writable(object(&org, &obj)?)?;
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
    if object == "Case" {
        org.records
            .entry("CaseComment")
            .or_default()
            .retain(|_, c| c.get("ParentId").and_then(Value::as_str) != Some(id.as_str()));
    }
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
            .map(|r| with_attributes(parsed.object, &v, &r, Some(&parsed.fields)))
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

pub(crate) async fn describe(
    State(shared): State<Arc<Shared>>,
    Path((v, obj)): Path<(String, String)>,
) -> Res {
    let v = version(&v)?;
    let org = shared.org();
    let object = object(&org, &obj)?;
    let default_status = org
        .statuses
        .iter()
        .find(|s| s.is_default)
        .map(|s| s.label.clone());
    let fields: Vec<Value> = org.schemas[object]
        .iter()
        .map(|f| {
            let (ty, length) = match f.ty {
                Ty::Id => ("id", 18),
                Ty::Reference => ("reference", 18),
                Ty::Text(n) => ("string", n),
                Ty::TextArea(n) => ("textarea", n),
                Ty::Picklist => ("picklist", 255),
                Ty::Bool => ("boolean", 0),
                Ty::DateTime => ("datetime", 0),
                Ty::Date => ("date", 0),
                Ty::Int => ("int", 0),
            };
            let (values, restricted) = f.picklist.clone().unwrap_or_default();
            let picklist: Vec<Value> = values
                .iter()
                .map(|p| {
                    let default = (object == "Case" && f.name == "Status" && default_status.as_deref() == Some(p))
                        || (f.name == "Priority" && p == "Medium");
                    json!({"value": p, "label": p, "active": true, "defaultValue": default, "validFor": null})
                })
                .collect();
            json!({
                "name": f.name, "label": f.name.trim_end_matches("__c").replace('_', " "),
                "type": ty, "length": length, "custom": f.custom, "externalId": f.external_id,
                "unique": f.unique, "nillable": f.writable && f.ty != Ty::Bool,
                "createable": f.writable, "updateable": f.writable, "filterable": f.filterable(),
                "restrictedPicklist": restricted, "picklistValues": picklist,
            })
        })
        .collect();
    Ok(Json(json!({
        "name": object, "label": object, "custom": false,
        "keyPrefix": key_prefix(object), "createable": true, "updateable": true, "queryable": true,
        "fields": fields,
        "urls": {"sobject": format!("/services/data/{v}/sobjects/{object}"),
                 "describe": format!("/services/data/{v}/sobjects/{object}/describe")},
    }))
    .into_response())
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct Collection {
    #[serde(default, rename = "allOrNone")]
    all_or_none: bool,
    records: Vec<Map<String, Value>>,
}

fn item_error(e: &SfError) -> Value {
    let errors: Vec<Value> = e
        .errors
        .iter()
        .map(|(code, message, fields)| json!({"statusCode": code, "message": message, "fields": fields}))
        .collect();
    json!({"success": false, "errors": errors})
}

fn run_collection(
    shared: &Shared,
    body: &Bytes,
    mut apply: impl FnMut(&mut Org, &Map<String, Value>) -> Result<String, SfError>,
) -> Res {
    let coll: Collection = serde_json::from_slice(body).map_err(|e| {
        SfError::bad(
            "JSON_PARSER_ERROR",
            format!("Malformed request body: {e}"),
            &[],
        )
    })?;
    if coll.records.len() > 200 {
        return Err(SfError::bad(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
            &[],
        ));
    }
    let mut org = shared.org();
    let mut results: Vec<Result<String, SfError>> = Vec::new();
    if coll.all_or_none {
        let mut staged = org.clone();
        results = coll.records.iter().map(|r| apply(&mut staged, r)).collect();
        if results.iter().all(Result::is_ok) {
            *org = staged;
        }
    } else {
        for r in &coll.records {
            results.push(apply(&mut org, r));
        }
    }
    let failed = results.iter().any(Result::is_err);
    let out: Vec<Value> = results
        .iter()
        .map(|r| match r {
            Ok(id) if coll.all_or_none && failed => json!({"id": null, "success": false, "errors": [{
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
                "fields": []}], "rolledBackId": id}),
            Ok(id) => save_result(id, None),
            Err(e) => item_error(e),
        })
        .map(|mut v| {
            if let Some(m) = v.as_object_mut() {
                m.remove("rolledBackId");
            }
            v
        })
        .collect();
    Ok(Json(Value::Array(out)).into_response())
}

fn record_type(org: &Org, r: &Map<String, Value>) -> Result<&'static str, SfError> {
    let ty = r
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .ok_or_else(|| SfError::bad("INVALID_TYPE", "Must send a concrete entity type.", &[]))?;
    writable(org.object(ty).ok_or_else(|| {
        SfError::bad(
            "INVALID_TYPE",
            format!("sObject type '{ty}' is not supported."),
            &[],
        )
    })?)
}

pub(crate) async fn collection_create(
    State(shared): State<Arc<Shared>>,
    Path(v): Path<String>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    version(&v)?;
    let rule = auto_assign(&shared, &headers);
    run_collection(&shared, &body, |org, r| {
        let object = record_type(org, r)?;
        if r.keys().any(|k| k.eq_ignore_ascii_case("id")) {
            return Err(SfError::bad(
                "INVALID_FIELD",
                "cannot specify Id in an insert call",
                &["Id"],
            ));
        }
        create_in(org, object, r, &session.user_id, rule.as_deref())
    })
}

pub(crate) async fn collection_update(
    State(shared): State<Arc<Shared>>,
    Path(v): Path<String>,
    Extension(session): Extension<Session>,
    body: Bytes,
) -> Res {
    version(&v)?;
    run_collection(&shared, &body, |org, r| {
        let object = record_type(org, r)?;
        let raw = r
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("id"))
            .and_then(|(_, v)| v.as_str())
            .ok_or_else(|| {
                SfError::bad(
                    "MISSING_ARGUMENT",
                    "Id not specified in an update call",
                    &[],
                )
            })?;
        let id = record_id(object, raw)?;
        let mut fields: HashMap<&String, &Value> = r.iter().collect();
        fields.retain(|k, _| !k.eq_ignore_ascii_case("id"));
        let body: Map<String, Value> = fields
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        update_in(org, object, &id, &body, &session.user_id)?;
        Ok(id)
    })
}
