//! Describe and sObject Collections.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::rest::{
    Res, auto_assign, create_in, object, record_id, save_result, update_in, version, writable,
};
use super::state::{Org, Ty, key_prefix};
use super::{Session, SfError, Shared};

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
