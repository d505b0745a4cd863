//! Attachments in the store (migration 0006): a record per file and its content in chunks of at
//! most 1 MiB (no statement carries more than a server's packet limit; reads stream chunk by
//! chunk, so a large file is never held whole while it is read), size-capped by
//! `max_attachment_size`. And `delete`: a ticket removed with everything it has, in one
//! transaction, with a record kept in `deletions`.

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use tickets_core::{
    Attachment, AttachmentContent, ByteStream, Error, ErrorKind, HistoryAction, HistoryEntry,
    NewAttachment, Result, TicketId,
};

use crate::client::Dialect;
use crate::convert::now;
use crate::exec::{Arg, Exec, RowRead, Sql};
use crate::outbox::Operation;
use crate::provider::InternalProvider;
use crate::tx::{Done, in_tx};

/// The size of one stored chunk.
pub(crate) const CHUNK: usize = 1024 * 1024;

const COLUMNS: &str =
    "seq, id, ticket_id, filename, content_type, size, author, idempotency_key, created_at";

fn from_row(r: &dyn RowRead) -> Result<(i64, Attachment)> {
    let mut a = Attachment::new(
        r.text(1)?,
        TicketId::new(r.text(2)?),
        r.text(3)?,
        r.text(4)?,
        u64::try_from(r.int(5)?).unwrap_or_default(),
        r.time(8)?,
    );
    a.author = r.opt_text(6)?;
    a.idempotency_key = r.opt_text(7)?;
    Ok((r.int(0)?, a))
}

fn sql(d: Dialect, text: &str) -> Sql {
    Sql::new(d, text)
}

fn not_found(id: &TicketId) -> Error {
    Error::not_found(format!("ticket {id}"))
}

impl InternalProvider {
    pub(crate) async fn attachment_add(
        &self,
        id: &TicketId,
        new: NewAttachment,
    ) -> Result<Attachment> {
        let limit = self.attachment_limit();
        new.validate(limit)?;
        // Read (bounded by the limit) before the write transaction, so a slow source never
        // holds the store's writer lock.
        let (meta, bytes) = new.into_bytes(limit).await?;
        let d = self.dialect();
        let touch = sql(d, "UPDATE tickets SET updated_at = updated_at WHERE id = ?");
        let by_key = sql(
            d,
            &format!(
                "SELECT {COLUMNS} FROM attachments WHERE ticket_id = ? AND idempotency_key = ?"
            ),
        );
        let returning = match d {
            Dialect::MySql => "",
            Dialect::Sqlite | Dialect::Postgres => " RETURNING seq",
        };
        let insert = sql(
            d,
            &format!(
                "INSERT INTO attachments (id, ticket_id, filename, content_type, size, author, \
                 idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?){returning}"
            ),
        );
        let chunk = sql(
            d,
            "INSERT INTO attachment_chunks (attachment_seq, n, data) VALUES (?, ?, ?)",
        );
        let result = in_tx!(self, |ex| async {
            if ex.execute(&touch, &[id.as_str().into()]).await? == 0 {
                return Err(not_found(id));
            }
            if let Some(key) = &meta.idempotency_key
                && let Some((_, a)) = ex
                    .fetch_optional(
                        &by_key,
                        &[id.as_str().into(), key.as_str().into()],
                        from_row,
                    )
                    .await?
            {
                return Ok(Done::Discard(a));
            }
            let at = now();
            let mut a = Attachment::new(
                uuid::Uuid::now_v7().to_string(),
                id.clone(),
                meta.filename.clone(),
                meta.content_type.clone(),
                bytes.len() as u64,
                at,
            );
            a.author = meta.author.clone();
            a.idempotency_key = meta.idempotency_key.clone();
            let args = [
                Arg::from(a.id.as_str()),
                id.as_str().into(),
                a.filename.as_str().into(),
                a.content_type.as_str().into(),
                Arg::Int(i64::try_from(a.size).unwrap_or(i64::MAX)),
                a.author.clone().into(),
                a.idempotency_key.clone().into(),
                at.into(),
            ];
            let seq = ex.insert_returning_key(&insert, &args).await?;
            for (n, part) in bytes.chunks(CHUNK).enumerate() {
                let n = i64::try_from(n).unwrap_or(i64::MAX);
                ex.execute(
                    &chunk,
                    &[Arg::Int(seq), Arg::Int(n), Arg::Blob(part.to_vec())],
                )
                .await?;
            }
            let mut entry = HistoryEntry::new(HistoryAction::AttachmentAdded, at);
            entry.actor = a.author.clone();
            entry.field = Some("attachment".into());
            entry.new_value = Some(format!("{} ({} bytes)", a.filename, a.size));
            self.insert_history(ex, id, &[entry]).await?;
            if let Some(recorder) = self.recorder_for_write() {
                let payload = serde_json::json!({
                    "attachment_id": a.id,
                    "filename": a.filename,
                    "idempotency_key": a.idempotency_key,
                });
                recorder
                    .record(ex, id, Operation::Attachment, &payload, at)
                    .await?;
            }
            Ok(Done::Commit(a))
        });
        match (result, &meta.idempotency_key) {
            // Two adds with one key raced: the loser returns the winner's attachment.
            (Err(e), Some(key)) if e.kind() == ErrorKind::AlreadyExists => {
                let mut conn = self.db().conn().await?;
                conn.exec()
                    .fetch_optional(
                        &by_key,
                        &[id.as_str().into(), key.as_str().into()],
                        from_row,
                    )
                    .await?
                    .map(|(_, a)| a)
                    .ok_or(e)
            }
            (r, _) => r,
        }
        .map_err(|e| e.with_context("ticket", id))
    }

    pub(crate) async fn attachment_list(&self, id: &TicketId) -> Result<Vec<Attachment>> {
        let d = self.dialect();
        let list = sql(
            d,
            &format!("SELECT {COLUMNS} FROM attachments WHERE ticket_id = ? ORDER BY seq"),
        );
        let exists = sql(d, "SELECT number FROM tickets WHERE id = ?");
        let mut conn = self.db().conn().await?;
        let mut ex = conn.exec();
        let rows = ex.fetch_all(&list, &[id.as_str().into()], from_row).await?;
        if rows.is_empty()
            && ex
                .fetch_optional(&exists, &[id.as_str().into()], |r| r.int(0))
                .await?
                .is_none()
        {
            return Err(not_found(id));
        }
        Ok(rows.into_iter().map(|(_, a)| a).collect())
    }

    pub(crate) async fn attachment_read(&self, attachment_id: &str) -> Result<AttachmentContent> {
        let d = self.dialect();
        let one = sql(
            d,
            &format!("SELECT {COLUMNS} FROM attachments WHERE id = ?"),
        );
        let (seq, a) = {
            let mut conn = self.db().conn().await?;
            conn.exec()
                .fetch_optional(&one, &[attachment_id.into()], from_row)
                .await?
                .ok_or_else(|| Error::not_found(format!("attachment {attachment_id}")))?
        };
        let chunks = i64::try_from(a.size.div_ceil(CHUNK as u64)).unwrap_or(i64::MAX);
        let store = self.clone();
        let read = sql(
            d,
            "SELECT data FROM attachment_chunks WHERE attachment_seq = ? AND n = ?",
        );
        // One chunk per step: only it is in memory while the caller consumes the stream.
        let body: ByteStream = stream::unfold(0i64, move |n| {
            let store = store.clone();
            let read = read.clone();
            async move {
                if n >= chunks {
                    return None;
                }
                let data = async {
                    let mut conn = store.db().conn().await?;
                    conn.exec()
                        .fetch_optional(&read, &[Arg::Int(seq), Arg::Int(n)], |r| r.blob(0))
                        .await?
                        .ok_or_else(|| {
                            Error::unexpected(format!(
                                "chunk {n} of attachment {seq} is missing from the store"
                            ))
                        })
                }
                .await
                .map(tickets_core::bytes::Bytes::from);
                Some((data, n + 1))
            }
        })
        .boxed();
        Ok(AttachmentContent::new(a, body))
    }

    pub(crate) async fn ticket_delete(&self, id: &TicketId) -> Result<()> {
        let d = self.dialect();
        let lock = match d {
            Dialect::Sqlite => "",
            Dialect::Postgres | Dialect::MySql => " FOR UPDATE",
        };
        let select = sql(
            d,
            &format!("SELECT number, subject FROM tickets WHERE id = ?{lock}"),
        );
        let record = sql(
            d,
            "INSERT INTO deletions (ticket_id, number, subject, deleted_at) VALUES (?, ?, ?, ?)",
        );
        let delete = sql(d, "DELETE FROM tickets WHERE id = ?");
        let result: Result<()> = in_tx!(self, |ex| async {
            let (number, subject) = ex
                .fetch_optional(&select, &[id.as_str().into()], |r| {
                    Ok((r.int(0)?, r.text(1)?))
                })
                .await?
                .ok_or_else(|| not_found(id))?;
            ex.execute(
                &record,
                &[
                    Arg::from(id.as_str()),
                    Arg::Int(number),
                    subject.into(),
                    now().into(),
                ],
            )
            .await?;
            // Comments, history, tags, attachments (and their chunks), outbox rows and links
            // go with it (ON DELETE CASCADE).
            ex.execute(&delete, &[id.as_str().into()]).await?;
            Ok(Done::Commit(()))
        });
        result.map_err(|e| e.with_context("ticket", id))
    }

    /// When a ticket was deleted from this store, if it was (the record `delete` keeps).
    pub async fn deleted_at(&self, id: &TicketId) -> Result<Option<DateTime<Utc>>> {
        let q = sql(
            self.dialect(),
            "SELECT deleted_at FROM deletions WHERE ticket_id = ? ORDER BY deleted_at DESC",
        );
        let mut conn = self.db().conn().await?;
        let mut ex: Exec<'_> = conn.exec();
        ex.fetch_optional(&q, &[id.as_str().into()], |r| r.time(0))
            .await
    }
}
