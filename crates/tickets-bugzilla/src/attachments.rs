//! Attachments: `POST /rest/bug/{id}/attachment` (base64 `data`), `GET /rest/bug/{id}/attachment`
//! and `GET /rest/bug/attachment/{id}`, shapes and errors as a real Bugzilla 5.0.6 answers.
//!
//! Bugzilla requires a `summary`: it is the file name, plus the marker token
//! `[tickets-key:KEY]` when the attachment has an idempotency key (the summary is one line, so
//! the token ends it after a space). Before posting a keyed attachment the bug's attachments are
//! listed once (without their content) and one carrying the key is returned instead, as for
//! comments. The content is sent once, whole (the REST API takes it base64 in a JSON body), so
//! `max_attachment_size` bounds memory; reading decodes the whole answer and hands it out as a
//! stream.

use base64::Engine as _;
use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{Value, json};
use tickets_core::{
    Attachment, AttachmentContent, Error, NewAttachment, Result, TicketId, bytes_stream, marker,
};

use crate::client::segment;
use crate::provider::BugzillaProvider;

/// `name [tickets-key:KEY]` -> (`name`, `KEY`).
pub(crate) fn split_summary(summary: &str) -> (&str, Option<&str>) {
    let summary = summary.trim_end();
    if let Some((name, last)) = summary.rsplit_once(' ')
        && let Some(key) = last
            .strip_prefix(marker::OPEN)
            .and_then(|r| r.strip_suffix(']'))
        && !key.is_empty()
    {
        return (name.trim_end(), Some(key));
    }
    (summary, None)
}

/// One attachment of an answer (`exclude_fields=data` or not).
fn record(v: &Value, ticket: Option<&TicketId>) -> Result<Attachment> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
    let id = v
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::unexpected("a Bugzilla attachment without an id"))?;
    let bug = v.get("bug_id").and_then(Value::as_u64).unwrap_or_default();
    let ticket = ticket
        .cloned()
        .unwrap_or_else(|| TicketId::new(bug.to_string()));
    let created = DateTime::parse_from_rfc3339(text("creation_time"))
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    let (_, key) = split_summary(text("summary"));
    let mut a = Attachment::new(
        id.to_string(),
        ticket,
        text("file_name"),
        text("content_type"),
        v.get("size").and_then(Value::as_u64).unwrap_or_default(),
        created,
    );
    a.author = Some(text("creator").to_owned()).filter(|c| !c.is_empty());
    a.idempotency_key = key.map(str::to_owned);
    Ok(a)
}

/// The attachments of a `GET /rest/bug/{id}/attachment` answer, oldest first.
pub(crate) fn records_of(answer: &Value, ticket: &TicketId) -> Result<Vec<Attachment>> {
    let bugs = answer
        .get("bugs")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::unexpected("attachments answer without a `bugs` map"))?;
    let mut out = bugs
        .values()
        .next()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| record(v, Some(ticket)))
        .collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|a| a.id.parse::<u64>().unwrap_or(u64::MAX));
    Ok(out)
}

/// The record and bytes of a `GET /rest/bug/attachment/{id}` answer; `None` when the map is
/// empty (Bugzilla's answer for an unknown attachment, HTTP 200).
pub(crate) fn content_of(answer: &Value) -> Result<Option<(Attachment, Vec<u8>)>> {
    let Some(v) = answer
        .get("attachments")
        .and_then(Value::as_object)
        .and_then(|m| m.values().next())
    else {
        return Ok(None);
    };
    let a = record(v, None)?;
    let data = v.get("data").and_then(Value::as_str).unwrap_or_default();
    let clean: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|e| Error::unexpected(format!("attachment {} is not base64: {e}", a.id)))?;
    Ok(Some((a, bytes)))
}

impl BugzillaProvider {
    pub(crate) async fn bz_add_attachment(
        &self,
        id: &TicketId,
        new: NewAttachment,
    ) -> Result<Attachment> {
        let max = self.cfg.max_attachment_size;
        new.validate(max)?;
        if let Some(k) = &new.idempotency_key {
            marker::check_key(k)?;
        }
        let (meta_new, bytes) = new.into_bytes(max).await?;
        if bytes.is_empty() {
            return Err(Error::invalid_input(
                "an attachment must not be empty (Bugzilla refuses empty files)",
            ));
        }
        let key = meta_new.idempotency_key.clone();
        let name = meta_new.filename.trim().to_owned();
        let summary = match &key {
            Some(k) => format!("{name} {}{k}]", marker::OPEN),
            None => name.clone(),
        };
        let post = async {
            let answer = self
                .client
                .post(
                    &format!("/bug/{}/attachment", segment(id.as_str())),
                    json!({
                        "data": base64::engine::general_purpose::STANDARD.encode(&bytes),
                        "file_name": name,
                        "summary": summary,
                        "content_type": meta_new.content_type,
                        "is_private": false,
                    }),
                )
                .await
                .map_err(|e| e.with_context("ticket", id))?;
            let aid = answer
                .pointer("/ids/0")
                .and_then(Value::as_u64)
                .ok_or_else(|| Error::unexpected("attachment answer without an id"))?;
            let meta = self.meta().await?;
            let mut a = Attachment::new(
                aid.to_string(),
                id.clone(),
                name.clone(),
                meta_new.content_type.clone(),
                bytes.len() as u64,
                Utc::now().trunc_subsecs(0),
            );
            a.author = meta.login.clone();
            a.idempotency_key = key.clone();
            Ok::<_, Error>(a)
        };
        let Some(k) = key.clone() else {
            self.ensure_in_scope(id.as_str())
                .await
                .map_err(|e| e.with_context("ticket", id))?;
            return post.await;
        };
        let work = async {
            let (existing, ()) =
                futures::try_join!(self.list_attachments(id), self.ensure_in_scope(id.as_str()))
                    .map_err(|e| e.with_context("ticket", id))?;
            if let Some(a) = existing
                .into_iter()
                .find(|a| a.idempotency_key.as_deref() == Some(k.as_str()))
            {
                return Ok(a);
            }
            post.await
        };
        self.key_locks
            .run(format!("{id} attachment {k}"), work)
            .await
    }

    async fn list_attachments(&self, id: &TicketId) -> Result<Vec<Attachment>> {
        let answer = self
            .client
            .get(
                &format!("/bug/{}/attachment", segment(id.as_str())),
                &[("exclude_fields", "data".to_owned())],
            )
            .await?;
        records_of(&answer, id)
    }

    pub(crate) async fn bz_attachments(&self, id: &TicketId) -> Result<Vec<Attachment>> {
        let (list, ()) =
            futures::try_join!(self.list_attachments(id), self.ensure_in_scope(id.as_str()))
                .map_err(|e| e.with_context("ticket", id))?;
        Ok(list)
    }

    pub(crate) async fn bz_read_attachment(&self, aid: &str) -> Result<AttachmentContent> {
        let not_found =
            || Error::not_found(format!("attachment {aid:?}")).with_context("attachment", aid);
        if aid.is_empty() || !aid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_found());
        }
        let answer = self
            .client
            .get(&format!("/bug/attachment/{aid}"), &[])
            .await
            .map_err(|e| e.with_context("attachment", aid))?;
        let Some((a, bytes)) = content_of(&answer)? else {
            return Err(not_found());
        };
        // Only attachments of bugs in the configured product and component.
        self.ensure_in_scope(a.ticket_id.as_str())
            .await
            .map_err(|_| not_found())?;
        Ok(AttachmentContent::new(a, bytes_stream(bytes.into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_carry_the_key_after_the_name() {
        assert_eq!(
            split_summary("dump.bin [tickets-key:sync-a-1]"),
            ("dump.bin", Some("sync-a-1"))
        );
        assert_eq!(split_summary("dump.bin"), ("dump.bin", None));
        assert_eq!(split_summary("a b.txt"), ("a b.txt", None));
        assert_eq!(split_summary("[tickets-key:]"), ("[tickets-key:]", None));
    }

    /// A real 5.0.6 answer.
    #[test]
    fn real_answers_read() {
        let list = serde_json::json!({"attachments":{},"bugs":{"635":[{"size":11,"data":"aGVsbG8Ad29ybGQ=","last_change_time":"2026-11-28T10:28:42Z","is_patch":0,"is_private":0,"file_name":"h.bin","summary":"a file","is_obsolete":0,"id":1,"creation_time":"2026-11-28T10:28:42Z","flags":[],"creator":"admin@example.com","content_type":"application/octet-stream","bug_id":635}]}});
        let t = TicketId::new("635");
        let got = records_of(&list, &t).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].id.as_str(), got[0].size), ("1", 11));
        assert_eq!(got[0].author.as_deref(), Some("admin@example.com"));
        let one =
            serde_json::json!({"attachments": {"1": list["bugs"]["635"][0].clone()}, "bugs": {}});
        let (a, bytes) = content_of(&one).unwrap().unwrap();
        assert_eq!(a.ticket_id.as_str(), "635");
        assert_eq!(bytes, b"hello\0world");
        assert!(
            content_of(&serde_json::json!({"bugs":{},"attachments":{}}))
                .unwrap()
                .is_none()
        );
    }
}
