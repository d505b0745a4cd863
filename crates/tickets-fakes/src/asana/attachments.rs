//! Attachments: `POST /attachments` (multipart: `parent`, `file`, optional `name`),
//! `GET /attachments?parent=`, `GET/DELETE /attachments/{gid}`, and the file behind each
//! `download_url` (served without auth, as Asana's short-lived pre-signed URLs are).
//!
//! From the spec and Asana's reference: the upload answers `200` with the record; a file
//! over 100 MB is refused ("The 100MB size limit on attachments in Asana is enforced on this
//! endpoint"); non-ASCII file names arrive URL-encoded (`filename*=UTF-8''...`). Records have
//! no content type. Not confirmed, so chosen here: the status of a too-large upload (`400`,
//! the code Asana documents for a malformed parameter) and its message.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::App;
use super::paging::page;
use super::state::{State as Data, ts};
use super::wire::{ApiError, check_gid, ok, opt_fields, shape};

/// Asana's upload limit.
pub const MAX_SIZE: usize = 100 * 1024 * 1024;

/// One uploaded file.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub gid: String,
    pub name: String,
    pub parent: String,
    pub created_at: DateTime<Utc>,
    pub bytes: Bytes,
}

type Q = Query<HashMap<String, String>>;
type Res = Result<Response, ApiError>;

/// The record as Asana renders it in full.
fn record(s: &Data, a: &Stored, headers: &HeaderMap) -> Value {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let parent = s
        .tasks
        .get(&a.parent)
        .map(|t| json!({"gid": t.gid, "resource_type": "task", "name": t.name, "resource_subtype": "default_task"}))
        .unwrap_or(json!({"gid": a.parent, "resource_type": "task"}));
    let download = format!("http://{host}/_fake/asana/files/{}", a.gid);
    json!({
        "gid": a.gid,
        "resource_type": "attachment",
        "name": a.name,
        "resource_subtype": "asana",
        "created_at": ts(a.created_at),
        "download_url": download,
        "permanent_url": format!("http://{host}/app/asana/-/get_asset?asset_id={}", a.gid),
        "host": "asana",
        "size": a.bytes.len(),
        "parent": parent,
        "view_url": download,
        "connected_to_app": false,
    })
}

/// One part of a `multipart/form-data` body: its field name, file name, and content.
struct Part {
    name: String,
    filename: Option<String>,
    body: Bytes,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// `%XX` decoding of a file name (lossy on bad escapes).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `key="value"` or `key*=UTF-8''value` parameter of a Content-Disposition line.
fn disposition_param(line: &str, key: &str) -> Option<String> {
    let star = format!("{key}*=");
    let plain = format!("{key}=");
    let mut found = None;
    for p in line.split(';').map(str::trim) {
        if let Some(v) = p.strip_prefix(&star) {
            let v = v.split_once("''").map_or(v, |(_, v)| v);
            return Some(percent_decode(v.trim_matches('"')));
        }
        if let Some(v) = p.strip_prefix(&plain) {
            found = Some(v.trim_matches('"').to_owned());
        }
    }
    found
}

fn parse_multipart(headers: &HeaderMap, body: &Bytes) -> Result<Vec<Part>, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ct.starts_with("multipart/form-data") {
        return Err(ApiError::bad(
            "file: This endpoint expects a multipart/form-data request",
        ));
    }
    let boundary = ct
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
        .ok_or_else(|| ApiError::bad("multipart body without a boundary"))?;
    let delim = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut at = find(body, &delim, 0).ok_or_else(|| ApiError::bad("malformed multipart body"))?;
    loop {
        let start = at + delim.len();
        if body.get(start..start + 2) == Some(b"--") {
            return Ok(parts);
        }
        let head_end = find(body, b"\r\n\r\n", start)
            .ok_or_else(|| ApiError::bad("malformed multipart part"))?;
        let head = String::from_utf8_lossy(&body[start..head_end]).into_owned();
        let next = find(body, &delim, head_end + 4)
            .ok_or_else(|| ApiError::bad("unterminated multipart body"))?;
        // The part's content ends with the CRLF before the next delimiter.
        let content_end = next.saturating_sub(2).max(head_end + 4);
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .unwrap_or_default();
        parts.push(Part {
            name: disposition_param(disposition, "name").unwrap_or_default(),
            filename: disposition_param(disposition, "filename"),
            body: body.slice(head_end + 4..content_end),
        });
        at = next;
    }
}

/// `POST /attachments`.
pub(crate) async fn upload(
    State(app): State<App>,
    Query(q): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    let parts = parse_multipart(&headers, &body)?;
    let field = |n: &str| parts.iter().find(|p| p.name == n);
    let parent = field("parent")
        .map(|p| String::from_utf8_lossy(&p.body).trim().to_owned())
        .ok_or_else(|| ApiError::missing("parent"))?;
    check_gid("parent", &parent)?;
    let file = field("file").ok_or_else(|| ApiError::missing("file"))?;
    if file.body.len() > MAX_SIZE {
        return Err(ApiError::bad(format!(
            "file: File is too large; the limit is 100MB ({MAX_SIZE} bytes)"
        )));
    }
    let name = field("name")
        .map(|p| String::from_utf8_lossy(&p.body).into_owned())
        .or_else(|| file.filename.clone())
        .unwrap_or_else(|| "file".to_owned());
    let mut s = app.lock();
    s.task(&parent)?;
    let gid = s.gid();
    let created_at = s.now();
    let a = Stored {
        gid: gid.clone(),
        name,
        parent,
        created_at,
        bytes: file.body.clone(),
    };
    let v = record(&s, &a, &headers);
    s.attachments.insert(gid, a);
    Ok(ok(shape(&v, opt_fields(&q, None).as_deref(), false)))
}

/// `GET /attachments?parent=`: compact records, oldest first.
pub(crate) async fn list(State(app): State<App>, Query(q): Q, headers: HeaderMap) -> Res {
    let parent = q
        .get("parent")
        .cloned()
        .ok_or_else(|| ApiError::missing("parent"))?;
    check_gid("parent", &parent)?;
    let s = app.lock();
    s.task(&parent)?;
    let fields = opt_fields(&q, None);
    let items = s
        .attachments
        .values()
        .filter(|a| a.parent == parent)
        .map(|a| {
            (
                a.gid.clone(),
                shape(&record(&s, a, &headers), fields.as_deref(), true),
            )
        })
        .collect();
    page(items, &q, "/attachments", &headers)
}

/// `GET /attachments/{gid}`.
pub(crate) async fn get(
    State(app): State<App>,
    Path(g): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    check_gid("attachment", &g)?;
    let s = app.lock();
    let a = s
        .attachments
        .get(&g)
        .ok_or_else(|| ApiError::unknown("attachment", &g))?;
    Ok(ok(shape(
        &record(&s, a, &headers),
        opt_fields(&q, None).as_deref(),
        false,
    )))
}

/// `DELETE /attachments/{gid}`.
pub(crate) async fn delete(State(app): State<App>, Path(g): Path<String>) -> Res {
    check_gid("attachment", &g)?;
    app.lock()
        .attachments
        .remove(&g)
        .ok_or_else(|| ApiError::unknown("attachment", &g))?;
    Ok(ok(json!({})))
}

/// The bytes behind a `download_url`.
pub(crate) async fn download(State(app): State<App>, Path(g): Path<String>) -> Response {
    match app.lock().attachments.get(&g) {
        Some(a) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            a.bytes.clone(),
        )
            .into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
