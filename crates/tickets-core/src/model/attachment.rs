//! Attachments: files on a ticket (screenshots, logs, crash dumps), added from bytes or a
//! stream and read back as a stream, so a large file never has to sit in memory.

use std::fmt;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use super::TicketId;

/// A stream of an attachment's bytes, in chunks.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// A file on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Attachment {
    /// The backend's attachment id (what [`read_attachment`] takes).
    ///
    /// [`read_attachment`]: crate::TicketProvider::read_attachment
    pub id: String,
    /// The ticket it is on.
    pub ticket_id: TicketId,
    /// The file name, as given.
    pub filename: String,
    /// The media type (`image/png`, `text/plain; charset=utf-8`, ...).
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Who added it, where the backend keeps that.
    pub author: Option<String>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// The [`NewAttachment::idempotency_key`] it was added with, where the backend keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

impl Attachment {
    /// An attachment record.
    pub fn new(
        id: impl Into<String>,
        ticket_id: TicketId,
        filename: impl Into<String>,
        content_type: impl Into<String>,
        size: u64,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.into(),
            ticket_id,
            filename: filename.into(),
            content_type: content_type.into(),
            size,
            author: None,
            created_at,
            idempotency_key: None,
        }
    }
}

/// The content of a new attachment.
pub enum Content {
    /// All of it, in memory.
    Bytes(Bytes),
    /// A stream of chunks, with its length when known (backends that need the size first
    /// read the stream to the end when it is not given).
    Stream {
        /// The chunks.
        stream: ByteStream,
        /// The total length, if known.
        size: Option<u64>,
    },
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Content::Stream { size, .. } => write!(f, "Stream(size {size:?})"),
        }
    }
}

/// An attachment to add.
#[derive(Debug)]
#[non_exhaustive]
pub struct NewAttachment {
    /// The file name (not blank; no path separators or control characters).
    pub filename: String,
    /// The media type; guessed from the file name when not given.
    pub content_type: Option<String>,
    /// Who adds it.
    pub author: Option<String>,
    /// A caller-chosen key: backends with
    /// [`Capabilities::idempotent_attachment`](crate::Capabilities::idempotent_attachment) add
    /// an attachment with the same key only once.
    pub idempotency_key: Option<String>,
    /// The bytes.
    pub content: Content,
}

impl NewAttachment {
    /// An attachment of these bytes.
    pub fn from_bytes(filename: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self {
            filename: filename.into(),
            content_type: None,
            author: None,
            idempotency_key: None,
            content: Content::Bytes(bytes.into()),
        }
    }

    /// An attachment read from a stream (of `size` bytes, if known).
    pub fn from_stream(filename: impl Into<String>, stream: ByteStream, size: Option<u64>) -> Self {
        Self {
            filename: filename.into(),
            content_type: None,
            author: None,
            idempotency_key: None,
            content: Content::Stream { stream, size },
        }
    }

    /// Sets the media type.
    pub fn content_type(mut self, t: impl Into<String>) -> Self {
        self.content_type = Some(t.into());
        self
    }

    /// Sets the author.
    pub fn author(mut self, who: impl Into<String>) -> Self {
        self.author = Some(who.into());
        self
    }

    /// Sets the idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The size when known without reading the content.
    pub fn known_size(&self) -> Option<u64> {
        match &self.content {
            Content::Bytes(b) => Some(b.len() as u64),
            Content::Stream { size, .. } => *size,
        }
    }

    /// The media type given, or one guessed from the file name.
    pub fn media_type(&self) -> String {
        self.content_type
            .clone()
            .unwrap_or_else(|| guess_content_type(&self.filename).to_owned())
    }

    /// A copy for another attempt, when the content is in memory (a stream can be sent once).
    pub fn try_clone(&self) -> Option<Self> {
        match &self.content {
            Content::Bytes(b) => Some(Self {
                filename: self.filename.clone(),
                content_type: self.content_type.clone(),
                author: self.author.clone(),
                idempotency_key: self.idempotency_key.clone(),
                content: Content::Bytes(b.clone()),
            }),
            Content::Stream { .. } => None,
        }
    }

    /// Checks what every backend requires: a usable file name and, when known, a size
    /// within `max` bytes (0 = no limit).
    pub fn validate(&self, max: u64) -> Result<()> {
        let name = self.filename.trim();
        if name.is_empty() {
            return Err(Error::invalid_input("an attachment needs a file name"));
        }
        if name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err(Error::invalid_input(format!(
                "attachment file name {:?} must not contain path separators or control characters",
                self.filename
            )));
        }
        if name.chars().count() > 255 {
            return Err(Error::invalid_input(
                "an attachment's file name must be at most 255 characters",
            ));
        }
        if let Some(size) = self.known_size() {
            check_size(size, max)?;
        }
        Ok(())
    }

    /// The whole content in memory, refusing more than `max` bytes (0 = no limit) while
    /// reading, so a stream larger than the backend takes fails early.
    pub async fn into_bytes(self, max: u64) -> Result<(NewAttachmentMeta, Bytes)> {
        let meta = NewAttachmentMeta {
            content_type: self.media_type(),
            filename: self.filename,
            author: self.author,
            idempotency_key: self.idempotency_key,
        };
        match self.content {
            Content::Bytes(b) => {
                check_size(b.len() as u64, max)?;
                Ok((meta, b))
            }
            Content::Stream { mut stream, .. } => {
                let mut buf = bytes::BytesMut::new();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk?;
                    check_size((buf.len() + chunk.len()) as u64, max)?;
                    buf.extend_from_slice(&chunk);
                }
                Ok((meta, buf.freeze()))
            }
        }
    }
}

/// What a new attachment says besides its content (see [`NewAttachment::into_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewAttachmentMeta {
    /// The file name.
    pub filename: String,
    /// The media type (given or guessed).
    pub content_type: String,
    /// Who adds it.
    pub author: Option<String>,
    /// The idempotency key.
    pub idempotency_key: Option<String>,
}

/// `InvalidInput` when `size` is over `max` (0 = no limit).
pub fn check_size(size: u64, max: u64) -> Result<()> {
    if max > 0 && size > max {
        return Err(Error::invalid_input(format!(
            "the attachment is {size} bytes; this backend takes at most {max} bytes"
        )));
    }
    Ok(())
}

/// A stream of one in-memory buffer, in chunks of 64 KiB.
pub fn bytes_stream(bytes: Bytes) -> ByteStream {
    const CHUNK: usize = 64 * 1024;
    let chunks: Vec<Result<Bytes>> = (0..bytes.len().div_ceil(CHUNK))
        .map(|i| Ok(bytes.slice(i * CHUNK..((i + 1) * CHUNK).min(bytes.len()))))
        .collect();
    stream::iter(chunks).boxed()
}

/// A media type for a file name, by its extension (`application/octet-stream` otherwise).
pub fn guess_content_type(filename: &str) -> &'static str {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "html" | "htm" => "text/html; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

/// An attachment's record and its bytes.
#[non_exhaustive]
pub struct AttachmentContent {
    /// The record.
    pub attachment: Attachment,
    /// The bytes.
    pub body: ByteStream,
}

impl fmt::Debug for AttachmentContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentContent")
            .field("attachment", &self.attachment)
            .finish_non_exhaustive()
    }
}

impl AttachmentContent {
    /// A record with its bytes.
    pub fn new(attachment: Attachment, body: ByteStream) -> Self {
        Self { attachment, body }
    }

    /// Reads the whole content (for small files and tests).
    pub async fn bytes(self) -> Result<Bytes> {
        let mut buf = bytes::BytesMut::new();
        let mut body = self.body;
        while let Some(chunk) = body.next().await {
            buf.extend_from_slice(&chunk?);
        }
        Ok(buf.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn content_in_memory_or_streamed_is_size_checked() {
        let a = NewAttachment::from_bytes("log.txt", vec![1u8; 10]);
        assert_eq!(a.media_type(), "text/plain; charset=utf-8");
        assert!(a.validate(10).is_ok());
        assert!(
            a.validate(9)
                .unwrap_err()
                .to_string()
                .contains("at most 9 bytes")
        );
        assert!(a.try_clone().is_some());
        let s = NewAttachment::from_stream(
            "dump.bin",
            bytes_stream(Bytes::from(vec![7u8; 200_000])),
            None,
        );
        assert!(s.try_clone().is_none());
        assert_eq!(s.media_type(), "application/octet-stream");
        let err = s.into_bytes(100_000).await.unwrap_err();
        assert!(err.to_string().contains("at most 100000"), "{err}");
        let s = NewAttachment::from_stream(
            "dump.bin",
            bytes_stream(Bytes::from(vec![7u8; 200_000])),
            None,
        );
        let (meta, b) = s.into_bytes(0).await.unwrap();
        assert_eq!((meta.filename.as_str(), b.len()), ("dump.bin", 200_000));
    }

    #[test]
    fn file_names_are_checked() {
        for bad in ["", "  ", "a/b", "a\\\\b", "a\nb"] {
            assert!(
                NewAttachment::from_bytes(bad, vec![]).validate(0).is_err(),
                "{bad:?}"
            );
        }
        assert!(
            NewAttachment::from_bytes("ok name.png", vec![])
                .validate(0)
                .is_ok()
        );
    }
}
