//! Attachments, as a real Bugzilla 5.0.6 answers them (checked on one; the 5.0 docs agree):
//!
//! - `POST /rest/bug/{id}/attachment` `{"data": base64, "file_name", "summary",
//!   "content_type", "is_private"?, "comment"?}` -> **201** `{"ids":[N]}`, and a comment
//!   `Created attachment N\n<summary>` (with `attachment_id`) on the bug, which moves its
//!   `last_change_time`. Errors: anonymous 410 (HTTP 401); unknown bug 101 (404); empty data
//!   606; no `file_name` 603; no `summary` 604; a content type not `foo/bar` with a known `foo`
//!   601; over `maxattachmentsize` (default 1000 KB = 1,024,000 bytes; exactly that is
//!   accepted) 600, all HTTP 400. `data` is decoded leniently, as Perl's `decode_base64` does:
//!   characters outside the alphabet are skipped (`"!!!notbase64***"` stores 6 bytes).
//! - `GET /rest/bug/{id}/attachment` -> `{"bugs":{"<id>":[...]},"attachments":{}}`, oldest
//!   first; `GET /rest/bug/attachment/{aid}` -> `{"attachments":{"<aid>":{...}},"bugs":{}}`,
//!   and an unknown attachment id is **not an error**: HTTP 200 with both maps empty.
//!   Each attachment: `id, bug_id, file_name, summary, content_type, size, data,
//!   creation_time, last_change_time, creator, is_private, is_obsolete, is_patch, flags`
//!   (flags as 0/1); `exclude_fields=data` leaves the content out.
//! - Private attachments are hidden from users outside the insider group.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::App;
use super::error::BzError;
use super::req::BzReq;
use super::state::{AttachmentRec, fmt_time, now};

/// Bugzilla's default `maxattachmentsize`: 1000 KB.
pub const MAX_ATTACHMENT_BYTES: usize = 1000 * 1024;

/// Decodes like Perl's `MIME::Base64::decode_base64`: skips what is not in the alphabet.
fn lenient_base64(text: &str) -> Vec<u8> {
    let mut clean: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
        .collect();
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    engine.decode(clean).unwrap_or_default()
}

/// `foo/bar` with a known top-level type and no special characters in `bar` (parameters such
/// as `; charset=utf-8` are accepted, as 5.0.6 does).
fn valid_content_type(t: &str) -> bool {
    let base = t.split(';').next().unwrap_or_default().trim();
    let Some((top, sub)) = base.split_once('/') else {
        return false;
    };
    matches!(
        top,
        "application" | "audio" | "image" | "message" | "model" | "multipart" | "text" | "video"
    ) && !sub.is_empty()
        && sub
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-+._".contains(c))
}

fn render(a: &AttachmentRec, with_data: bool) -> Value {
    let mut v = json!({
        "id": a.id, "bug_id": a.bug_id, "file_name": a.file_name, "summary": a.summary,
        "content_type": a.content_type, "size": a.data.len(),
        "creation_time": fmt_time(a.time), "last_change_time": fmt_time(a.time),
        "creator": a.creator, "is_private": u8::from(a.is_private), "is_obsolete": 0,
        "is_patch": 0, "flags": [],
    });
    if with_data {
        v["data"] = json!(base64::engine::general_purpose::STANDARD.encode(&a.data));
    }
    v
}

fn wants_data(req: &BzReq) -> bool {
    let excluded = req
        .all("exclude_fields")
        .iter()
        .flat_map(|f| {
            f.split(',')
                .map(|x| x.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .any(|f| f == "data");
    let included = req.all("include_fields");
    !excluded
        && (included.is_empty()
            || included
                .iter()
                .flat_map(|f| {
                    f.split(',')
                        .map(|x| x.trim().to_owned())
                        .collect::<Vec<_>>()
                })
                .any(|f| f == "data" || f == "_all" || f == "_default"))
}

/// `POST /rest/bug/{id}/attachment` -> 201 `{"ids":[N]}`.
pub async fn add(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    req: BzReq,
) -> Result<(StatusCode, Json<Value>), BzError> {
    let mut db = app.lock();
    let who = req.login(&db, app.opts.bmo)?;
    let (user, bug_id) = db.writer_on_bug(&who, &id)?;
    let data = lenient_base64(&req.one("data").unwrap_or_default());
    if data.is_empty() {
        return Err(BzError::new(
            606,
            "The file you are trying to attach is empty, does not exist, or you don't have \
             permission to read it.",
        ));
    }
    if data.len() > MAX_ATTACHMENT_BYTES {
        return Err(BzError::new(
            600,
            format!(
                "The file you are trying to attach is {} kilobytes (KB) in size. Attachments \
                 cannot be more than {} KB.",
                data.len() / 1024,
                MAX_ATTACHMENT_BYTES / 1024
            ),
        ));
    }
    let file_name = req.one("file_name").unwrap_or_default().trim().to_owned();
    if file_name.is_empty() {
        return Err(BzError::new(603, "You did not specify a file to attach."));
    }
    let summary = req.one("summary").unwrap_or_default().trim().to_owned();
    if summary.is_empty() {
        return Err(BzError::new(
            604,
            "You must enter a description for the attachment.",
        ));
    }
    let content_type = req
        .one("content_type")
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !valid_content_type(&content_type) {
        return Err(BzError::new(
            601,
            format!(
                "The content type {content_type} is invalid. Valid types must be of the form \
                 foo/bar where foo is one of application, audio, image, message, model, \
                 multipart, text, video and bar must not contain any special characters (such \
                 as \"=\", \"?\", ...)."
            ),
        ));
    }
    let is_private = req
        .field("is_private")
        .is_some_and(|v| v == json!(true) || v == json!(1) || v == json!("1"));
    let at = now();
    let aid = db.attachments.keys().next_back().map_or(1, |n| n + 1);
    db.attachments.insert(
        aid,
        AttachmentRec {
            id: aid,
            bug_id,
            file_name,
            summary: summary.clone(),
            content_type,
            data,
            creator: user.login.clone(),
            time: at,
            is_private,
        },
    );
    let mut text = format!("Created attachment {aid}\n{summary}");
    if let Some(c) = req.one("comment").filter(|c| !c.trim().is_empty()) {
        text = format!("{text}\n\n{c}");
    }
    let cid = db.push_comment(bug_id, text, &user.login, is_private, at);
    if let Some(c) = db.comments.iter_mut().find(|c| c.id == cid) {
        c.attachment_id = Some(aid);
    }
    if let Some(bug) = db.bugs.get_mut(&bug_id) {
        bug.last_change_time = at;
    }
    Ok((StatusCode::CREATED, Json(json!({ "ids": [aid] }))))
}

/// `GET /rest/bug/{id}/attachment` -> `{"bugs":{"<id>":[...]},"attachments":{}}`.
pub async fn of_bug(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    req: BzReq,
) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    let caller = req.caller(&db, app.opts.bmo)?;
    let insider = caller
        .as_deref()
        .and_then(|c| db.user(c))
        .is_some_and(|u| u.insider);
    let bug_id = db.resolve(&id)?;
    db.check_visible(bug_id, caller.as_deref())?;
    let with_data = wants_data(&req);
    let list: Vec<Value> = db
        .attachments
        .values()
        .filter(|a| a.bug_id == bug_id && (insider || !a.is_private))
        .map(|a| render(a, with_data))
        .collect();
    let mut bugs = Map::new();
    bugs.insert(bug_id.to_string(), Value::Array(list));
    Ok(Json(json!({ "bugs": bugs, "attachments": {} })))
}

/// `GET /rest/bug/attachment/{aid}` -> `{"attachments":{"<aid>":{...}},"bugs":{}}`; an unknown
/// (or hidden) attachment leaves the map empty, HTTP 200.
pub async fn one(
    State(app): State<Arc<App>>,
    Path(aid): Path<String>,
    req: BzReq,
) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    let caller = req.caller(&db, app.opts.bmo)?;
    let insider = caller
        .as_deref()
        .and_then(|c| db.user(c))
        .is_some_and(|u| u.insider);
    let with_data = wants_data(&req);
    let mut attachments = Map::new();
    if let Some(a) = aid.parse::<u64>().ok().and_then(|n| db.attachments.get(&n))
        && (insider || !a.is_private)
        && db.check_visible(a.bug_id, caller.as_deref()).is_ok()
    {
        attachments.insert(a.id.to_string(), render(a, with_data));
    }
    Ok(Json(json!({ "attachments": attachments, "bugs": {} })))
}
