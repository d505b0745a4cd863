//! Asana's wire conventions: the `{"data": ...}` envelope, error bodies, request bodies (JSON
//! or form), `opt_fields` projection, `limit`/`offset`/`next_page` pagination, bearer auth, and
//! the rendering of injected faults.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::App;
use crate::Fault;

const HELP: &str = "For more information on API status codes and how to handle them, read the \
                    docs on errors: https://developers.asana.com/docs/errors";

/// An Asana error answer: `{"errors":[{"message","help"(,"phrase")}]}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: message.into(),
        }
    }

    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    pub fn missing(field: &str) -> Self {
        Self::bad(format!("{field}: Missing input"))
    }

    /// 404 for an object that does not exist (or was deleted).
    pub fn unknown(what: &str, gid: &str) -> Self {
        Self::new(404, format!("{what}: Unknown object: {gid}"))
    }

    pub fn premium(what: &str) -> Self {
        Self::new(
            402,
            format!("{what} is only available to premium users of Asana."),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, &self.message)
    }
}

pub(crate) fn error_body(status: StatusCode, message: &str) -> Value {
    let mut err = json!({"message": message, "help": HELP});
    if status.is_server_error() {
        err["phrase"] = json!(phrase());
    }
    json!({"errors": [err]})
}

fn error_response(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(error_body(status, message))).into_response()
}

/// A made-up Asana error phrase ("6 sad squid snuggle softly").
fn phrase() -> String {
    const ADJ: [&str; 6] = ["sad", "happy", "sleepy", "brave", "quiet", "tiny"];
    const NOUN: [&str; 6] = ["squid", "otters", "yaks", "narwhals", "llamas", "crabs"];
    const VERB: [&str; 6] = ["snuggle", "dance", "wander", "giggle", "hum", "swim"];
    const ADV: [&str; 6] = ["softly", "boldly", "slowly", "loudly", "calmly", "gently"];
    format!(
        "{} {} {} {} {}",
        fastrand::u8(2..30),
        ADJ[fastrand::usize(..6)],
        NOUN[fastrand::usize(..6)],
        VERB[fastrand::usize(..6)],
        ADV[fastrand::usize(..6)]
    )
}

/// The [`crate::FaultRenderer`] of the fake Asana.
pub(crate) fn render_fault(fault: &Fault) -> Response {
    match fault {
        Fault::RateLimited {
            retry_after_secs, ..
        } => {
            let mut r = error_response(
                StatusCode::TOO_MANY_REQUESTS,
                "You've made too many requests and hit a rate limit. Please retry after the \
                 given amount of time.",
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Fault::Status(429) => render_fault(&Fault::RateLimited {
            retry_after_secs: 1,
            concurrency: false,
        }),
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = match *code {
                401 => "Not Authorized",
                402 => "This feature is only available to premium users of Asana.",
                403 => "Forbidden",
                404 => "Not Found",
                500 => "Server Error",
                502 => "Bad Gateway",
                503 => "Service Unavailable",
                504 => "Gateway Timeout",
                _ => status.canonical_reason().unwrap_or("Error"),
            };
            error_response(status, message)
        }
        Fault::Down => error_response(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
    }
}

/// The authenticated caller: the token's user gid.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub String);

/// Bearer auth for `/api/1.0/...`: a missing, unknown or revoked token gets Asana's 401.
pub(crate) async fn auth(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let user = token.and_then(|t| {
        let s = app.lock();
        if s.revoked.contains(t) {
            None
        } else {
            s.tokens.get(t).cloned()
        }
    });
    match user {
        Some(user) => {
            request.extensions_mut().insert(Caller(user));
            next.run(request).await
        }
        None => error_response(StatusCode::UNAUTHORIZED, "Not Authorized"),
    }
}

/// Records requests and answers (JSON bodies) while recording is on.
pub(crate) async fn record(State(app): State<App>, request: Request, next: Next) -> Response {
    if app.lock().log.is_none() {
        return next.run(request).await;
    }
    const LIMIT: usize = 64 << 20;
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, LIMIT).await.unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().trim_start_matches("/api/1.0").to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let request_json = serde_json::from_slice(&bytes).ok();
    let response = next
        .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await;
    let (rparts, rbody) = response.into_parts();
    let rbytes = axum::body::to_bytes(rbody, LIMIT).await.unwrap_or_default();
    let exchange = super::Exchange {
        method,
        path,
        query,
        request: request_json,
        status: rparts.status.as_u16(),
        response: serde_json::from_slice(&rbytes).ok(),
    };
    if let Some(log) = app.lock().log.as_mut() {
        log.push(exchange);
    }
    Response::from_parts(rparts, axum::body::Body::from(rbytes))
}

/// A request body's `data` object and the `options.fields` list, from JSON or a form.
#[derive(Debug, Default)]
pub(crate) struct Body {
    pub data: Map<String, Value>,
    pub fields: Option<Vec<String>>,
}

/// Fields whose form value is a comma-separated list.
const LIST_FIELDS: [&str; 3] = ["projects", "tags", "followers"];

pub(crate) fn parse_body(headers: &HeaderMap, bytes: &[u8]) -> Result<Body, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::default());
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(bytes);
        let mut data = Map::new();
        let mut fields = None;
        for (k, v) in pairs {
            if k == "opt_fields" {
                fields = Some(split_fields(&v));
                continue;
            }
            let value = if LIST_FIELDS.contains(&k.as_str()) {
                Value::Array(v.split(',').map(|s| json!(s.trim())).collect())
            } else if v == "true" || v == "false" {
                Value::Bool(v == "true")
            } else if v == "null" {
                Value::Null
            } else {
                Value::String(v)
            };
            data.insert(k, value);
        }
        return Ok(Body { data, fields });
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad(format!("Could not parse request data, invalid JSON: {e}")))?;
    let Value::Object(mut top) = value else {
        return Err(ApiError::bad("Request data must be a JSON object"));
    };
    let data = match top.remove("data") {
        Some(Value::Object(d)) => d,
        Some(_) => return Err(ApiError::bad("data: Value is not an object")),
        None => return Err(ApiError::bad("data: Missing input")),
    };
    let fields = top
        .get("options")
        .and_then(|o| o.get("fields"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
    Ok(Body { data, fields })
}

fn serde_urlencoded_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url_decode_pairs(&String::from_utf8_lossy(bytes))
}

/// Decodes `a=b&c=d` (with `+` and `%XX`).
pub(crate) fn url_decode_pairs(s: &str) -> Vec<(String, String)> {
    fn dec(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(v) => {
                            out.push(v);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(p), String::new()),
        })
        .collect()
}

pub(crate) fn split_fields(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `opt_fields` of a request: the query's, else the body's `options.fields`.
pub(crate) fn opt_fields(
    query: &HashMap<String, String>,
    body: Option<&Body>,
) -> Option<Vec<String>> {
    query
        .get("opt_fields")
        .map(|f| split_fields(f))
        .or_else(|| body.and_then(|b| b.fields.clone()))
}

/// The fields of a compact record, per resource type.
fn compact_keys(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "task" => &["gid", "resource_type", "name", "resource_subtype"],
        "story" => &[
            "gid",
            "resource_type",
            "created_at",
            "created_by",
            "resource_subtype",
            "text",
        ],
        "custom_field" => &[
            "gid",
            "resource_type",
            "name",
            "type",
            "enum_options",
            "enabled",
            "representation_type",
            "enum_value",
            "number_value",
            "text_value",
            "display_value",
        ],
        "enum_option" => &["gid", "resource_type", "name", "enabled", "color"],
        "custom_field_setting" => &[
            "gid",
            "resource_type",
            "is_important",
            "project",
            "parent",
            "custom_field",
        ],
        _ => &["gid", "resource_type", "name"],
    }
}

/// Fields left out of a full record unless asked for (Asana's "opt in" fields).
const OPT_IN: [&str; 3] = ["html_notes", "html_text", "num_subtasks"];

/// A nested value in its compact form.
pub(crate) fn compact(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(compact).collect()),
        Value::Object(o) => match o.get("resource_type").and_then(Value::as_str) {
            Some(rt) => {
                let mut out = Map::new();
                for k in compact_keys(rt) {
                    if let Some(x) = o.get(*k) {
                        out.insert((*k).to_owned(), compact(x));
                    }
                }
                Value::Object(out)
            }
            None => Value::Object(o.iter().map(|(k, x)| (k.clone(), compact(x))).collect()),
        },
        other => other.clone(),
    }
}

/// A record in full: every field but the opt-in ones, nested objects compact.
pub(crate) fn full(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| !OPT_IN.contains(&k.as_str()))
                .map(|(k, x)| (k.clone(), compact(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[derive(Debug, Default)]
struct FieldTree(BTreeMap<String, FieldTree>);

fn tree(fields: &[String]) -> FieldTree {
    let mut root = FieldTree::default();
    for f in fields {
        let mut node = &mut root;
        for part in f.split('.') {
            node = node.0.entry(part.to_owned()).or_default();
        }
    }
    root
}

fn project(v: &Value, t: &FieldTree) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(|i| project(i, t)).collect()),
        Value::Object(o) => {
            let mut out = Map::new();
            if let Some(g) = o.get("gid") {
                out.insert("gid".into(), g.clone());
            }
            for (k, sub) in &t.0 {
                if let Some(x) = o.get(k) {
                    let x = if sub.0.is_empty() {
                        compact(x)
                    } else {
                        project(x, sub)
                    };
                    out.insert(k.clone(), x);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Renders a rich record: projected to `opt_fields` when given, else full or compact.
pub(crate) fn shape(v: &Value, fields: Option<&[String]>, compact_default: bool) -> Value {
    match fields {
        Some(f) => project(v, &tree(f)),
        None if compact_default => compact(v),
        None => full(v),
    }
}

/// `200 {"data": v}`.
pub(crate) fn ok(v: Value) -> Response {
    axum::Json(json!({ "data": v })).into_response()
}

/// `201 {"data": v}` with a `Location` header naming the new object at `path`
/// (`tasks/123`) under the request's base URL.
pub(crate) fn created(v: Value, headers: &HeaderMap, path: &str) -> Response {
    let location = format!("{}/{path}", base(headers));
    let mut r = (StatusCode::CREATED, axum::Json(json!({ "data": v }))).into_response();
    if let Ok(l) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

/// `http://host/api/1.0`, from the request's Host header.
pub(crate) fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}/api/1.0")
}

/// Parses an ISO-8601 date-time query value (`2012-02-22T02:06:58.147Z`).
pub(crate) fn parse_time(field: &str, s: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .map_err(|_| ApiError::bad(format!("{field}: Not a valid date-time: {s}")))
}

/// A gid path or body value must be numeric.
pub(crate) fn check_gid(field: &str, gid: &str) -> Result<(), ApiError> {
    if !gid.is_empty() && gid.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::bad(format!("{field}: Not a Long: {gid}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_keeps_gid_and_asked_paths() {
        let v = json!({"gid": "1", "resource_type": "task", "name": "n", "notes": "x",
            "assignee": {"gid": "2", "resource_type": "user", "name": "A", "email": "a@x"}});
        let p = shape(&v, Some(&["assignee.email".into(), "name".into()]), false);
        assert_eq!(
            p,
            json!({"gid": "1", "name": "n", "assignee": {"gid": "2", "email": "a@x"}})
        );
        let c = shape(&v, None, true);
        assert_eq!(c, json!({"gid": "1", "resource_type": "task", "name": "n"}));
        let f = shape(&v, None, false);
        assert_eq!(
            f["assignee"],
            json!({"gid": "2", "resource_type": "user", "name": "A"})
        );
    }

    #[test]
    fn form_bodies_parse() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let b = parse_body(&h, b"name=a+b%21&projects=1,2&completed=true").unwrap();
        assert_eq!(b.data["name"], json!("a b!"));
        assert_eq!(b.data["projects"], json!(["1", "2"]));
        assert_eq!(b.data["completed"], json!(true));
        assert!(parse_body(&HeaderMap::new(), b"{\"name\":1}").is_err());
    }

    #[test]
    fn server_errors_carry_a_phrase() {
        let b = error_body(StatusCode::INTERNAL_SERVER_ERROR, "x");
        assert!(b["errors"][0]["phrase"].is_string());
        let b = error_body(StatusCode::NOT_FOUND, "x");
        assert!(b["errors"][0].get("phrase").is_none());
    }
}
