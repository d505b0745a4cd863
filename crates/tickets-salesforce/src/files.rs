//! Attachments as Salesforce Files, and deleting Cases.
//!
//! A file is a ContentVersion posted with `FirstPublishLocationId` = the Case (Salesforce then
//! links its ContentDocument to the Case), the bytes as base64 `VersionData` in JSON, which
//! Salesforce takes up to 37.5 MB. A Case's files are its ContentDocumentLinks' documents, each at its
//! latest version; content is `GET sobjects/ContentVersion/{id}/VersionData`, streamed.
//! Files over 37.5 MB (and streams of unknown size) go as a streamed `multipart/form-data`
//! body instead (`entity_content` JSON part, `VersionData` binary part), up to Salesforce's
//! 2 GB, in constant memory. An
//! attachment's id is its ContentVersion id. The author and an idempotency key ride in the
//! version's `Description` (`[from: NAME]`, `[tickets-key:KEY]`), as for comments.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Map, Value, json};
use tickets_core::Content;
use tickets_core::bytes::Bytes;
use tickets_core::{
    Attachment, AttachmentContent, Error, NewAttachment, Result, TicketId, guess_content_type,
    marker,
};

use crate::convert::{parse_datetime, soql_quote, str_field};
use crate::provider::{SalesforceProvider, case_id, not_found, on_missing};
use crate::users::is_id_with_prefix;

/// The largest file a JSON body carries: 37.5 MB ("Insert or Update Blob Data"); larger
/// files, and streams of unknown size, go as multipart.
pub const MAX_JSON_FILE: u64 = 37 * 1024 * 1024 + 512 * 1024;
/// The largest ContentVersion a multipart request carries: 2 GB.
pub const MAX_ATTACHMENT_SIZE: u64 = 2 * 1024 * 1024 * 1024;
/// Document ids per ContentVersion query.
const IDS_PER_QUERY: usize = 200;
const VERSION_FIELDS: &str = "Id, Title, PathOnClient, ContentSize, Description, CreatedById, CreatedDate, FirstPublishLocationId";

impl SalesforceProvider {
    pub(crate) async fn add_file(&self, id: &TicketId, new: NewAttachment) -> Result<Attachment> {
        let cid = case_id(id)?;
        new.validate(MAX_ATTACHMENT_SIZE)?;
        if new.author.as_deref().is_some_and(|a| a.contains('\n')) {
            return Err(Error::invalid_input("attachment author must be one line"));
        }
        if let Some(k) = &new.idempotency_key {
            marker::check_key(k)?;
        }
        let key = new.idempotency_key.clone();
        let Some(key) = key else {
            return self.post_file(id, cid, new).await;
        };
        let work = async {
            if let Some(a) = self
                .files_of(cid, id)
                .await?
                .into_iter()
                .find(|a| a.idempotency_key.as_deref() == Some(key.as_str()))
            {
                tracing::debug!(attachment = %a.id, "a file with this key exists; not adding it again");
                return Ok(a);
            }
            self.post_file(id, cid, new).await
        };
        self.key_locks.run(format!("{cid} file {key}"), work).await
    }

    /// One POST of a ContentVersion.
    async fn post_file(&self, id: &TicketId, cid: &str, new: NewAttachment) -> Result<Attachment> {
        if new.known_size().is_none_or(|n| n > MAX_JSON_FILE) {
            return self.post_multipart(id, cid, new).await;
        }
        let (meta, bytes) = new.into_bytes(MAX_JSON_FILE).await?;
        let description =
            encode_description(meta.author.as_deref(), meta.idempotency_key.as_deref());
        let mut body = json!({
            "PathOnClient": meta.filename,
            "FirstPublishLocationId": cid,
            "VersionData": base64::engine::general_purpose::STANDARD.encode(&bytes),
        });
        if !description.is_empty() {
            body["Description"] = description.into();
        }
        let a = self
            .client
            .call(Method::POST, "sobjects/ContentVersion", &[], Some(&body))
            .await
            .map_err(|e| on_missing(e, id))?;
        let version = a.body.get("id").and_then(Value::as_str).unwrap_or_default();
        let mut out = Attachment::new(
            version,
            id.clone(),
            meta.filename.clone(),
            guess_content_type(&meta.filename),
            bytes.len() as u64,
            chrono::Utc::now(),
        );
        out.author = match meta.author {
            Some(a) => Some(a),
            None => self.me_email().await?,
        };
        out.idempotency_key = meta.idempotency_key;
        Ok(out)
    }

    /// One multipart POST, the content streamed through (counted, and cut off past 2 GB).
    async fn post_multipart(
        &self,
        id: &TicketId,
        cid: &str,
        new: NewAttachment,
    ) -> Result<Attachment> {
        let size = new.known_size();
        let filename = new.filename.clone();
        let author = new.author.clone();
        let key = new.idempotency_key.clone();
        let content = match new.content {
            Content::Bytes(b) => tickets_core::bytes_stream(b),
            Content::Stream { stream, .. } => stream,
        };
        let description = encode_description(author.as_deref(), key.as_deref());
        let mut entity = json!({"PathOnClient": filename, "FirstPublishLocationId": cid});
        if !description.is_empty() {
            entity["Description"] = description.into();
        }
        let boundary = boundary();
        let quoted = filename.replace(['"', '\\', '\r', '\n'], "_");
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"entity_content\"\r\n\
             Content-Type: application/json\r\n\r\n{entity}\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"VersionData\"; filename=\"{quoted}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        );
        let tail = format!("\r\n--{boundary}--\r\n");
        let length = size.map(|n| head.len() as u64 + n + tail.len() as u64);
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        let counted = content.map(move |chunk| {
            let chunk = chunk?;
            let total =
                counter.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
            tickets_core::check_size(total, MAX_ATTACHMENT_SIZE)?;
            Ok::<_, Error>(chunk)
        });
        let body = futures::stream::once(async move { Ok(Bytes::from(head)) })
            .chain(counted)
            .chain(futures::stream::once(async move { Ok(Bytes::from(tail)) }));
        let answer = self
            .client
            .upload(
                "sobjects/ContentVersion",
                &format!("multipart/form-data; boundary={boundary}"),
                length,
                reqwest::Body::wrap_stream(body),
            )
            .await
            .map_err(|e| on_missing(e, id))?;
        let version = answer
            .body
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut out = Attachment::new(
            version,
            id.clone(),
            filename.clone(),
            guess_content_type(&filename),
            sent.load(Ordering::Relaxed),
            chrono::Utc::now(),
        );
        out.author = match author {
            Some(a) => Some(a),
            None => self.me_email().await?,
        };
        out.idempotency_key = key;
        Ok(out)
    }

    async fn me_email(&self) -> Result<Option<String>> {
        let me = self.client.session().await?.user_id.clone();
        self.users.load(&self.client, [me.clone()]).await?;
        Ok(self.users.emails().await.get(&me).cloned())
    }

    /// A Case's files, oldest first: the Case with its ContentDocumentLinks (one query, which
    /// also tells a missing Case), then the documents' latest versions.
    pub(crate) async fn files_of(&self, cid: &str, ticket: &TicketId) -> Result<Vec<Attachment>> {
        let q = format!(
            "SELECT Id, (SELECT ContentDocumentId FROM ContentDocumentLinks) FROM Case WHERE Id = {}",
            soql_quote(cid)
        );
        let mut cases = self.client.query(&q).await?;
        let Some(mut case) = cases.pop() else {
            return Err(not_found(ticket));
        };
        let links = match case.remove("ContentDocumentLinks") {
            None | Some(Value::Null) => Vec::new(),
            Some(set) => self.client.follow(set).await?,
        };
        let mut docs: Vec<String> = links
            .iter()
            .filter_map(|l| str_field(l, "ContentDocumentId"))
            .filter(|d| is_id_with_prefix(d, &["069"]))
            .map(str::to_owned)
            .collect();
        docs.sort();
        docs.dedup();
        let mut rows = Vec::new();
        for chunk in docs.chunks(IDS_PER_QUERY) {
            let list: Vec<String> = chunk.iter().map(|d| soql_quote(d)).collect();
            let q = format!(
                "SELECT {VERSION_FIELDS} FROM ContentVersion WHERE ContentDocumentId IN ({}) AND IsLatest = true ORDER BY CreatedDate, Id",
                list.join(", ")
            );
            rows.extend(self.client.query(&q).await?);
        }
        rows.sort_by(|a, b| {
            (str_field(a, "CreatedDate"), str_field(a, "Id"))
                .cmp(&(str_field(b, "CreatedDate"), str_field(b, "Id")))
        });
        self.to_attachments(&rows, Some(ticket)).await
    }

    async fn to_attachments(
        &self,
        rows: &[Map<String, Value>],
        ticket: Option<&TicketId>,
    ) -> Result<Vec<Attachment>> {
        let creators = rows
            .iter()
            .filter_map(|r| str_field(r, "CreatedById").map(str::to_owned));
        self.users.load(&self.client, creators).await?;
        let emails = self.users.emails().await;
        rows.iter()
            .map(|r| {
                let created = str_field(r, "CreatedDate")
                    .and_then(parse_datetime)
                    .ok_or_else(|| {
                        Error::unexpected(
                            "salesforce answered a ContentVersion without CreatedDate",
                        )
                    })?;
                let name = str_field(r, "PathOnClient")
                    .or_else(|| str_field(r, "Title"))
                    .unwrap_or("file");
                let ticket = ticket.cloned().unwrap_or_else(|| {
                    TicketId::new(str_field(r, "FirstPublishLocationId").unwrap_or_default())
                });
                let size = r.get("ContentSize").and_then(Value::as_u64).unwrap_or(0);
                let mut a = Attachment::new(
                    str_field(r, "Id").unwrap_or_default(),
                    ticket,
                    name,
                    guess_content_type(name),
                    size,
                    created,
                );
                let (author, key) = decode_description(str_field(r, "Description").unwrap_or(""));
                a.author = author
                    .or_else(|| str_field(r, "CreatedById").and_then(|u| emails.get(u).cloned()));
                a.idempotency_key = key;
                Ok(a)
            })
            .collect()
    }

    /// The version's record (one query) and its content, streamed (one GET).
    pub(crate) async fn read_file(&self, attachment_id: &str) -> Result<AttachmentContent> {
        let missing = || {
            Error::not_found(format!(
                "no Salesforce file version has id {attachment_id:?}"
            ))
            .with_context("attachment", attachment_id)
        };
        if !is_id_with_prefix(attachment_id, &["068"]) {
            return Err(missing());
        }
        let q = format!(
            "SELECT {VERSION_FIELDS} FROM ContentVersion WHERE Id = {}",
            soql_quote(attachment_id)
        );
        let rows = self.client.query(&q).await?;
        let Some(attachment) = self.to_attachments(&rows, None).await?.pop() else {
            return Err(missing());
        };
        let resp = self
            .client
            .download(&format!(
                "sobjects/ContentVersion/{}/VersionData",
                attachment.id
            ))
            .await
            .map_err(|e| {
                if e.kind() == tickets_core::ErrorKind::NotFound {
                    missing()
                } else {
                    e
                }
            })?;
        let body = futures::stream::unfold(Some(resp), |resp| async move {
            let mut resp = resp?;
            match resp.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(resp))),
                Ok(None) => None,
                Err(e) => Some((Err(tickets_http::transport_error("salesforce", e)), None)),
            }
        })
        .boxed();
        Ok(AttachmentContent::new(attachment, body))
    }

    /// `DELETE sobjects/Case/{id}` (its CaseComments go with it; its files lose their link).
    pub(crate) async fn delete_case(&self, id: &TicketId) -> Result<()> {
        let cid = case_id(id)?;
        self.client
            .call(Method::DELETE, &format!("sobjects/Case/{cid}"), &[], None)
            .await
            .map_err(|e| on_missing(e, id))?;
        Ok(())
    }
}

/// A multipart boundary that will not occur in the content by chance.
fn boundary() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "tickets-{nanos:x}-{:x}-{:x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A version's `Description`: `[from: NAME]`, then the key's marker line.
fn encode_description(author: Option<&str>, key: Option<&str>) -> String {
    let author = author.map(|a| format!("[from: {a}]")).unwrap_or_default();
    marker::append(&author, key)
}

/// `(author, key)` of a `Description` (anyone else's text: neither).
fn decode_description(text: &str) -> (Option<String>, Option<String>) {
    let (text, key) = marker::split(text);
    let author = text
        .trim()
        .strip_prefix("[from: ")
        .and_then(|r| r.strip_suffix(']'))
        .filter(|a| !a.is_empty() && !a.contains('\n'))
        .map(str::to_owned);
    (author, key.map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_carry_author_and_key() {
        for (author, key) in [
            (Some("Ann"), Some("k-1")),
            (Some("Ann"), None),
            (None, Some("k-1")),
            (None, None),
        ] {
            let d = encode_description(author, key);
            assert_eq!(
                decode_description(&d),
                (author.map(str::to_owned), key.map(str::to_owned)),
                "{d:?}"
            );
        }
        assert_eq!(decode_description("a file someone uploaded"), (None, None));
    }
}
