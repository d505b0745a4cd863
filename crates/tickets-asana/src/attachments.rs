//! Attachments as Asana file attachments of the task: `POST /attachments` (multipart:
//! `parent` = the task, `file`), listed with `GET /attachments?parent=`, read through the
//! record's `download_url` (a short-lived pre-signed URL on another host: fetched without
//! the token, streamed). Asana keeps no content type, so it is guessed from the file name.
//! Asana's limit is 100 MB per file; larger ones are refused before anything is sent.
//!
//! Not idempotent: an attachment has no text of its own to carry a key marker (its name is
//! the file's name), so `idempotent_attachment` is false and the retry layer re-sends an
//! upload only when it certainly was not applied.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use reqwest::Method;
use serde::Deserialize;
use tickets_core::{
    Attachment, AttachmentContent, Error, NewAttachment, Result, TicketId, guess_content_type,
};

use crate::client::Call;
use crate::config::is_gid;
use crate::error::bad_answer;
use crate::provider::{AsanaProvider, not_found, task_gid};
use crate::types::Named;

/// Asana's upload limit, 100 MB.
pub(crate) const MAX_SIZE: u64 = 100 * 1024 * 1024;

/// The attachment fields read (all in the spec's `opt_fields` enums).
const FIELDS: &str = "name,size,created_at,parent,resource_subtype";

#[derive(Debug, Deserialize)]
pub(crate) struct AttachmentRecord {
    pub gid: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub parent: Option<Named>,
    #[serde(default)]
    pub download_url: Option<String>,
}

impl AttachmentRecord {
    fn attachment(&self, ticket: &TicketId) -> Attachment {
        let mut a = Attachment::new(
            self.gid.clone(),
            ticket.clone(),
            self.name.clone(),
            guess_content_type(&self.name),
            self.size.unwrap_or_default(),
            self.created_at.unwrap_or_default(),
        );
        a.author = None;
        a
    }
}

/// `%XX` for every byte outside unreserved ASCII (RFC 5987 `filename*`).
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A `multipart/form-data` body with `parent` and `file`; returns its content type too.
/// Non-ASCII names go URL-encoded, as Asana asks.
fn multipart(parent: &str, filename: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = format!("tickets-{}", uuid_like());
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encode(filename);
    let mut body = Vec::with_capacity(bytes.len() + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"parent\"\r\n\r\n{parent}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"{ascii}\"; filename*=UTF-8''{encoded}\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A boundary that does not occur in practice (time and a counter).
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{t:x}{:x}", N.fetch_add(1, Ordering::Relaxed))
}

impl AsanaProvider {
    pub(crate) async fn attach(&self, id: &TicketId, new: NewAttachment) -> Result<Attachment> {
        new.validate(MAX_SIZE)?;
        let gid = task_gid(id)?;
        self.record(gid).await?;
        let (meta, bytes) = new.into_bytes(MAX_SIZE).await?;
        let (content_type, body) = multipart(gid, &meta.filename, &meta.content_type, &bytes);
        let call = Call {
            method: Method::POST,
            raw: Some((content_type, body)),
            ..Call::get("/attachments")
        }
        .query("opt_fields", FIELDS);
        let record: AttachmentRecord = self
            .c()
            .send(&call)
            .await
            .map_err(|e| not_found(e, gid))?
            .data;
        let mut a = record.attachment(id);
        // Asana keeps no type: the caller's stays true for this answer.
        a.content_type = meta.content_type;
        Ok(a)
    }

    pub(crate) async fn list_attachments(&self, id: &TicketId) -> Result<Vec<Attachment>> {
        let gid = task_gid(id)?;
        self.record(gid).await?;
        let call = Call::get("/attachments")
            .query("parent", gid)
            .query("opt_fields", FIELDS);
        let list: Vec<AttachmentRecord> =
            self.c().all(call).await.map_err(|e| not_found(e, gid))?;
        Ok(list.iter().map(|r| r.attachment(id)).collect())
    }

    pub(crate) async fn read(&self, attachment_id: &str) -> Result<AttachmentContent> {
        let unknown = || Error::not_found(format!("attachment {attachment_id}"));
        let gone = |e: Error| {
            if e.kind() == tickets_core::ErrorKind::NotFound {
                unknown()
            } else {
                e
            }
        };
        if !is_gid(attachment_id) {
            return Err(unknown());
        }
        let path = format!("/attachments/{attachment_id}");
        let call = Call::get(&path).query("opt_fields", "name,size,created_at,parent,download_url");
        let record: AttachmentRecord = self
            .c()
            .send(&call)
            .await
            .map_err(|e| {
                if e.kind() == tickets_core::ErrorKind::NotFound {
                    unknown()
                } else {
                    e
                }
            })?
            .data;
        // Only attachments of the project's tasks are ours.
        let parent = record
            .parent
            .as_ref()
            .map(|p| p.gid.clone())
            .ok_or_else(unknown)?;
        self.record(&parent).await.map_err(gone)?;
        let url = record
            .download_url
            .clone()
            .ok_or_else(|| bad_answer(&path, "no download_url"))?;
        let response = self.c().download(&url).await?;
        let body = futures::stream::unfold(Some(response), |r| async move {
            let mut r = r?;
            match r.chunk().await {
                Ok(Some(chunk)) => Some((Ok::<Bytes, Error>(chunk), Some(r))),
                Ok(None) => None,
                Err(e) => Some((Err(crate::error::from_transport(e)), None)),
            }
        })
        .boxed();
        Ok(AttachmentContent::new(
            record.attachment(&TicketId::new(parent)),
            body,
        ))
    }
}
