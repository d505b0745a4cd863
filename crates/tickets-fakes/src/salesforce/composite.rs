//! `POST /composite`: up to 25 subrequests in one call (one call against the API limits),
//! later ones naming earlier answers as `@{referenceId.field}`; with `allOrNone` a failure
//! rolls back every subrequest and the others answer `PROCESSING_HALTED`.
//!
//! Answers `{"compositeResponse": [{"body", "httpHeaders", "httpStatusCode", "referenceId"}]}`
//! (vendor-apis.md 3.7). Not confirmed against a real org, the fake's choice: the request
//! headers (`Sforce-Auto-Assign`) apply to every subrequest; the error for more than 25
//! subrequests (400 `INVALID_INPUT` here); the exact `PROCESSING_HALTED` texts.

use std::collections::HashMap;

use axum::body::{Body, to_bytes};
use axum::extract::{Extension, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::rest::version;
use super::{Session, SfError, Shared};
use std::sync::Arc;

/// The resources the subrequests run against (without the session layer).
#[derive(Clone)]
pub(crate) struct Resources(pub Router);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompositeBody {
    #[serde(default)]
    all_or_none: bool,
    composite_request: Vec<Sub>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sub {
    method: String,
    url: String,
    reference_id: String,
    #[serde(default)]
    body: Option<Value>,
}

const HALTED: &str =
    "The transaction was rolled back since another operation in the same transaction failed.";

fn halted(message: &str) -> Value {
    json!([{"errorCode": "PROCESSING_HALTED", "message": message}])
}

/// Replaces every `@{ref.field}` with the field of an earlier answer; `None` when one names
/// nothing.
fn resolve(text: &str, answers: &HashMap<String, Value>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("@{") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('}')? + at;
        let path = &rest[at + 2..end];
        let mut parts = path.split('.');
        let mut v = answers.get(parts.next()?)?;
        for p in parts {
            v = match p.parse::<usize>() {
                Ok(i) => v.get(i)?,
                Err(_) => v.get(p)?,
            };
        }
        match v {
            Value::String(s) => out.push_str(s),
            Value::Null => return None,
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn resolve_value(v: &Value, answers: &HashMap<String, Value>) -> Option<Value> {
    Some(match v {
        Value::String(s) => Value::String(resolve(s, answers)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| resolve_value(x, answers))
                .collect::<Option<_>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Some((k.clone(), resolve_value(x, answers)?)))
                .collect::<Option<_>>()?,
        ),
        other => other.clone(),
    })
}

pub(crate) async fn run(
    State(shared): State<Arc<Shared>>,
    Path(v): Path<String>,
    Extension(session): Extension<Session>,
    Extension(Resources(resources)): Extension<Resources>,
    request: Request,
) -> Result<Response, SfError> {
    version(&v)?;
    let auto_assign = request.headers().get("sforce-auto-assign").cloned();
    let bytes = to_bytes(request.into_body(), usize::MAX)
        .await
        .map_err(|e| SfError::bad("JSON_PARSER_ERROR", e.to_string(), &[]))?;
    let body: CompositeBody = serde_json::from_slice(&bytes).map_err(|e| {
        SfError::bad(
            "JSON_PARSER_ERROR",
            format!("Cannot deserialize the composite request: {e}"),
            &[],
        )
    })?;
    if body.composite_request.is_empty() || body.composite_request.len() > 25 {
        return Err(SfError::bad(
            "INVALID_INPUT",
            "A composite request takes 1 to 25 subrequests",
            &[],
        ));
    }
    // allOrNone: the org as it was, put back when a subrequest fails.
    let snapshot = body.all_or_none.then(|| shared.org().clone());
    let mut answers: HashMap<String, Value> = HashMap::new();
    let mut out: Vec<Value> = Vec::new();
    let mut failed = false;
    for sub in &body.composite_request {
        let entry = |status: u16, body: Value| {
            json!({"body": body, "httpHeaders": {}, "httpStatusCode": status,
                "referenceId": sub.reference_id})
        };
        if failed && body.all_or_none {
            out.push(entry(400, halted(HALTED)));
            continue;
        }
        let url = resolve(&sub.url, &answers);
        let sent = sub.body.as_ref().map(|b| resolve_value(b, &answers));
        let (Some(url), Some(sent)) = (url, sent.map_or(Some(None), |b| b.map(Some))) else {
            failed = true;
            out.push(entry(
                400,
                halted(&format!(
                    "Invalid reference specified in subrequest {}",
                    sub.reference_id
                )),
            ));
            continue;
        };
        let method = Method::from_bytes(sub.method.as_bytes()).unwrap_or(Method::GET);
        let mut req = Request::builder().method(method).uri(url.as_str());
        if let Some(a) = &auto_assign {
            req = req.header("sforce-auto-assign", a.clone());
        }
        let req = match sent {
            Some(b) => req
                .header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        let Ok(mut req) = req else {
            failed = true;
            out.push(entry(400, halted("Invalid subrequest URL")));
            continue;
        };
        req.extensions_mut().insert(session.clone());
        let answer = match resources.clone().oneshot(req).await {
            Ok(a) => a,
            Err(never) => match never {},
        };
        let status = answer.status().as_u16();
        let bytes = to_bytes(answer.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status >= 400 {
            failed = true;
        } else {
            answers.insert(sub.reference_id.clone(), value.clone());
        }
        out.push(entry(status, value));
    }
    if failed && let Some(org) = snapshot {
        *shared.org() = org;
        let first_failure = out
            .iter()
            .position(|e| e["httpStatusCode"].as_u64().is_some_and(|s| s >= 400))
            .unwrap_or(out.len());
        // Answers before the failure were rolled back too (a 300, which changed nothing,
        // stays as it was).
        for e in out.iter_mut().take(first_failure) {
            if e["httpStatusCode"].as_u64().is_some_and(|s| s < 300) {
                e["httpStatusCode"] = 400.into();
                e["body"] = halted(HALTED);
            }
        }
    }
    Ok((StatusCode::OK, Json(json!({"compositeResponse": out}))).into_response())
}
