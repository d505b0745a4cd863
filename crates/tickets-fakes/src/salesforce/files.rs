//! Salesforce Files: `POST /sobjects/ContentVersion` with the file as base64 `VersionData` in
//! JSON creates the version, its ContentDocument, and ContentDocumentLinks to the record named
//! by `FirstPublishLocationId` and to the owner; `GET /sobjects/ContentVersion/{id}/VersionData`
//! answers the bytes; `(SELECT ContentDocumentId FROM ContentDocumentLinks)` lists a Case's
//! files. Deleting a Case removes its links; the files stay with their owner.
//!
//! From the REST guide ("Insert or Update Blob Data"): a JSON (non-multipart) body holds at
//! most 50 MB of text or 37.5 MB of base64-encoded data; multipart uploads take up to 2 GB for
//! ContentVersion, with a part named `entity_content` (the JSON fields) and one named
//! `VersionData` (the bytes). The fake takes both, up to those sizes. Not confirmed against a
//! real org (the fake's choice, said here): the error for a larger JSON body (the fake answers
//! 400 `STRING_TOO_LONG` naming the limit), for `VersionData` that is not base64 (400
//! `JSON_PARSER_ERROR`), that `Title` defaults to `PathOnClient` without its extension, that
//! the `FileType` values are the upper-case extension (`UNKNOWN` without one), and that the
//! Case's deletion leaves the file in its owner's library.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::state::{Org, not_found};
use super::{SfError, Shared};

/// The largest file a JSON body carries (37.5 MB).
pub const MAX_JSON_FILE: usize = 37 * 1024 * 1024 + 512 * 1024;
/// The largest file a multipart body carries (2 GB).
pub const MAX_MULTIPART_FILE: usize = 2 * 1024 * 1024 * 1024;

/// `POST /sobjects/ContentVersion` with a JSON body (`VersionData` in base64): the new
/// version's id.
pub(crate) fn create_version(
    org: &mut Org,
    version: &str,
    mut body: Map<String, Value>,
    user: &str,
) -> Result<String, SfError> {
    let data = match body.remove("VersionData") {
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(SfError::bad(
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of base64 from a value that is not a string",
                &["VersionData"],
            ));
        }
        None => {
            return Err(SfError::bad(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [VersionData]",
                &["VersionData"],
            ));
        }
    };
    // base64 is 4/3 of the bytes: refuse before decoding what is far too large.
    if data.len() / 4 * 3 > MAX_JSON_FILE + 3 {
        return Err(too_large(data.len() / 4 * 3));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| {
            SfError::bad(
                "JSON_PARSER_ERROR",
                format!("Cannot deserialize instance of base64 from VALUE_STRING value: {e}"),
                &["VersionData"],
            )
        })?;
    if bytes.len() > MAX_JSON_FILE {
        return Err(too_large(bytes.len()));
    }
    insert_version(org, version, body, bytes, user)
}

/// `POST /sobjects/ContentVersion` as `multipart/form-data`: a part named `entity_content`
/// (JSON fields) and a part named `VersionData` (the bytes).
pub(crate) fn create_version_multipart(
    org: &mut Org,
    version: &str,
    content_type: &str,
    raw: &[u8],
    user: &str,
) -> Result<String, SfError> {
    let bad = |m: &str| SfError::bad("JSON_PARSER_ERROR", m.to_owned(), &[]);
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
        .ok_or_else(|| bad("multipart request without a boundary"))?;
    let mut entity: Option<Map<String, Value>> = None;
    let mut data: Option<Vec<u8>> = None;
    for (headers, content) in parts(raw, boundary.as_bytes()) {
        let headers = String::from_utf8_lossy(headers).to_ascii_lowercase();
        if headers.contains("name=\"entity_content\"") {
            match serde_json::from_slice::<Value>(content) {
                Ok(Value::Object(m)) => entity = Some(m),
                _ => return Err(bad("entity_content is not a JSON object")),
            }
        } else if headers.contains("name=\"versiondata\"") {
            data = Some(content.to_vec());
        }
    }
    let body = entity.ok_or_else(|| bad("multipart request without an entity_content part"))?;
    let bytes = data.ok_or_else(|| {
        SfError::bad(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [VersionData]",
            &["VersionData"],
        )
    })?;
    if bytes.len() > MAX_MULTIPART_FILE {
        return Err(SfError::bad(
            "STRING_TOO_LONG",
            format!(
                "VersionData: data value too large: {} bytes (max={MAX_MULTIPART_FILE})",
                bytes.len()
            ),
            &["VersionData"],
        ));
    }
    insert_version(org, version, body, bytes, user)
}

/// The parts of a multipart body: (headers, content) each.
fn parts<'a>(raw: &'a [u8], boundary: &[u8]) -> Vec<(&'a [u8], &'a [u8])> {
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(boundary);
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let mut out = Vec::new();
    let Some(mut at) = find(raw, &delimiter, 0) else {
        return out;
    };
    loop {
        let start = at + delimiter.len();
        if raw.get(start..start + 2) == Some(b"--") {
            break;
        }
        let Some(next) = find(raw, &delimiter, start) else {
            break;
        };
        let part = &raw[start..next];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        if let Some(split) = find(part, b"\r\n\r\n", 0) {
            out.push((&part[..split], &part[split + 4..]));
        }
        at = next;
    }
    out
}

/// Stores a version with its bytes, its ContentDocument and its links.
fn insert_version(
    org: &mut Org,
    version: &str,
    mut body: Map<String, Value>,
    bytes: Vec<u8>,
    user: &str,
) -> Result<String, SfError> {
    body.remove("VersionData");
    let path = body
        .get("PathOnClient")
        .and_then(Value::as_str)
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            SfError::bad(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [PathOnClient]",
                &["PathOnClient"],
            )
        })?
        .to_owned();
    let (stem, ext) = match path.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_owned(), e.to_ascii_lowercase()),
        _ => (path.clone(), String::new()),
    };
    if body.get("Title").is_none_or(Value::is_null) {
        body.insert("Title".into(), stem.clone().into());
    }
    let mut rec = Map::new();
    org.save("ContentVersion", &mut rec, &body, true, user)?;
    let id = rec
        .get("Id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let file_type = if ext.is_empty() {
        "UNKNOWN".to_owned()
    } else {
        ext.to_ascii_uppercase()
    };
    let doc = org.new_id("ContentDocument");
    let created = rec.get("CreatedDate").cloned().unwrap_or(Value::Null);
    let title = rec.get("Title").cloned().unwrap_or(Value::Null);
    for (k, v) in [
        ("ContentDocumentId", Value::from(doc.clone())),
        ("ContentSize", bytes.len().into()),
        ("FileType", file_type.clone().into()),
        ("FileExtension", ext.clone().into()),
        ("VersionNumber", "1".into()),
        ("IsLatest", true.into()),
        ("OwnerId", user.into()),
        (
            "VersionData",
            format!("/services/data/{version}/sobjects/ContentVersion/{id}/VersionData").into(),
        ),
    ] {
        rec.insert(k.into(), v);
    }
    let location = rec
        .get("FirstPublishLocationId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    org.insert("ContentVersion", Value::Object(rec));
    org.insert(
        "ContentDocument",
        json!({"Id": doc, "Title": title, "LatestPublishedVersionId": id,
            "ContentSize": bytes.len(), "FileType": file_type, "FileExtension": ext,
            "OwnerId": user, "CreatedDate": created, "CreatedById": user,
            "LastModifiedDate": created, "LastModifiedById": user, "SystemModstamp": created,
            "IsDeleted": false}),
    );
    let mut linked = vec![(user.to_owned(), "I")];
    if let Some(loc) = location.filter(|l| l != user) {
        linked.push((loc, "V"));
    }
    for (entity, share) in linked {
        let link = org.new_id("ContentDocumentLink");
        org.insert(
            "ContentDocumentLink",
            json!({"Id": link, "LinkedEntityId": entity, "ContentDocumentId": doc,
                "ShareType": share, "Visibility": "AllUsers", "SystemModstamp": created,
                "IsDeleted": false}),
        );
    }
    org.blobs.insert(id.clone(), Bytes::from(bytes));
    Ok(id)
}

fn too_large(size: usize) -> SfError {
    SfError::bad(
        "STRING_TOO_LONG",
        format!(
            "VersionData: data value too large: {size} bytes (max={MAX_JSON_FILE} in a JSON \
             body; larger files need a multipart request)"
        ),
        &["VersionData"],
    )
}

/// `GET /sobjects/ContentVersion/{id}/VersionData`: the bytes.
pub(crate) fn version_data(shared: &Arc<Shared>, id: &str) -> Result<Response, SfError> {
    let org = shared.org();
    let bytes = org.blobs.get(id).cloned().ok_or_else(not_found)?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        bytes,
    )
        .into_response())
}

/// A deleted Case's files lose their link to it (they stay with their owner).
pub(crate) fn unlink(org: &mut Org, entity: &str) {
    if let Some(links) = org.records.get_mut("ContentDocumentLink") {
        links.retain(|_, l| l.get("LinkedEntityId").and_then(Value::as_str) != Some(entity));
    }
}
