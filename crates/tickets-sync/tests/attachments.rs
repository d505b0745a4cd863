//! Attachments through sync: stored locally first, delivered through the outbox exactly once
//! even when the remote applied the first upload and lost its answer; remote attachments come
//! home on pull, once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tickets_core::memory::MemoryProvider;
use tickets_core::{
    Attachment, AttachmentContent, Capabilities, Comment, DynProvider, Error, ErrorKind,
    NewAttachment, NewComment, NewTicket, Page, Result, Ticket, TicketId, TicketPatch,
    TicketProvider, TicketQuery,
};
use tickets_sync::SyncProvider;

/// The memory provider, losing the answer of its first attachment upload after storing it.
#[derive(Debug, Default)]
struct Lossy {
    inner: MemoryProvider,
    uploads: AtomicU32,
}

#[async_trait]
impl TicketProvider for Lossy {
    fn kind(&self) -> &'static str {
        "memory"
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn create(&self, t: NewTicket) -> Result<Ticket> {
        self.inner.create(t).await
    }
    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        self.inner.get(id).await
    }
    async fn update(&self, id: &TicketId, p: TicketPatch) -> Result<Ticket> {
        self.inner.update(id, p).await
    }
    async fn add_comment(&self, id: &TicketId, c: NewComment) -> Result<Comment> {
        self.inner.add_comment(id, c).await
    }
    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        self.inner.comments(id).await
    }
    async fn list(&self, q: &TicketQuery) -> Result<Page<Ticket>> {
        self.inner.list(q).await
    }
    async fn add_attachment(&self, id: &TicketId, a: NewAttachment) -> Result<Attachment> {
        let stored = self.inner.add_attachment(id, a).await?;
        if self.uploads.fetch_add(1, Ordering::Relaxed) == 0 {
            return Err(Error::new(
                ErrorKind::Unavailable,
                "the connection dropped after the upload was stored",
            ));
        }
        Ok(stored)
    }
    async fn attachments(&self, id: &TicketId) -> Result<Vec<Attachment>> {
        self.inner.attachments(id).await
    }
    async fn read_attachment(&self, id: &str) -> Result<AttachmentContent> {
        self.inner.read_attachment(id).await
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_whose_upload_answer_was_lost_arrives_once() {
    let remote = Arc::new(Lossy::default());
    let dir = tempfile::tempdir().unwrap();
    let sync = SyncProvider::new(
        common::store(&dir).await,
        remote.clone() as DynProvider,
        "mem",
        common::options(),
    )
    .unwrap();
    let t = sync.create(NewTicket::new("with a dump")).await.unwrap();
    let bytes = pattern(300 * 1024);
    let local = sync
        .add_attachment(&t.id, NewAttachment::from_bytes("core.dump", bytes.clone()))
        .await
        .expect("stored locally, remote or not");
    assert_eq!(
        sync.undelivered(&t.id).await.unwrap(),
        2,
        "create and attachment"
    );
    common::drain(&sync, Duration::from_secs(10)).await;
    assert!(
        remote.uploads.load(Ordering::Relaxed) >= 2,
        "the upload was sent again"
    );
    let rid = TicketId::new(sync.get(&t.id).await.unwrap().links["memory"].clone());
    let there = remote.inner.attachments(&rid).await.unwrap();
    assert_eq!(there.len(), 1, "exactly one attachment on the remote");
    let back = remote
        .inner
        .read_attachment(&there[0].id)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(back.as_ref() == bytes.as_slice(), "byte for byte");
    assert_eq!(there[0].filename, local.filename);

    // A pull does not copy our own attachment back.
    sync.pull(rid.as_str()).await.unwrap();
    assert_eq!(sync.attachments(&t.id).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_added_on_the_remote_come_home_once() {
    let remote = Arc::new(Lossy::default());
    remote.uploads.store(1, Ordering::Relaxed); // no lost answers here
    let dir = tempfile::tempdir().unwrap();
    let sync = SyncProvider::new(
        common::store(&dir).await,
        remote.clone() as DynProvider,
        "mem",
        common::options(),
    )
    .unwrap();
    let r = remote.inner.create(NewTicket::new("remote")).await.unwrap();
    remote
        .inner
        .add_attachment(&r.id, NewAttachment::from_bytes("shot.png", pattern(5000)))
        .await
        .unwrap();
    let local = sync.pull(r.id.as_str()).await.unwrap();
    sync.pull(r.id.as_str()).await.unwrap();
    let here = sync.attachments(&local.id).await.unwrap();
    assert_eq!(here.len(), 1, "copied once");
    assert_eq!(here[0].content_type, "image/png");
    let bytes = sync
        .read_attachment(&here[0].id)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(bytes.as_ref() == pattern(5000).as_slice());
    assert_eq!(
        sync.undelivered(&local.id).await.unwrap(),
        0,
        "not pushed back"
    );
}
