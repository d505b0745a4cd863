//! Attachments and delete, for backends with those capabilities.

use tickets_core::{ErrorKind, NewAttachment, TicketId};

use crate::support::{Ctx, expect_kind, ok};

/// 300 KB of bytes that are not text (every value 0..=255, in a scrambled order).
fn binary() -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    (0..300 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// A binary and a UTF-8 text file go up and come back byte for byte, listed with their names,
/// sizes and types.
pub async fn attachments_round_trip(ctx: Ctx) {
    let p = ctx.provider();
    let t = ctx.create(ctx.new_ticket("With files")).await;
    let bin = binary();
    let text = "Grüße aus der Werkstatt — 日本語のログ\nline two\n".repeat(40);
    let a = ok(
        p.add_attachment(&t.id, NewAttachment::from_bytes("dump.bin", bin.clone()))
            .await,
        "add a 300 KB binary",
    );
    assert_eq!(a.size, bin.len() as u64, "size of the binary");
    assert_eq!(a.filename, "dump.bin");
    let b = ok(
        p.add_attachment(
            &t.id,
            NewAttachment::from_bytes("notes.txt", text.clone().into_bytes()),
        )
        .await,
        "add a UTF-8 text file",
    );
    assert!(
        b.content_type.starts_with("text/plain"),
        "a .txt file is text/plain: {}",
        b.content_type
    );
    let listed = ok(p.attachments(&t.id).await, "list attachments");
    let names: Vec<&str> = listed.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(names, ["dump.bin", "notes.txt"], "oldest first");
    for (want, got) in [(&a, &listed[0]), (&b, &listed[1])] {
        assert_eq!((&want.id, want.size), (&got.id, got.size));
        assert_eq!(got.ticket_id, t.id);
    }
    let back = ok(p.read_attachment(&a.id).await, "read the binary");
    assert_eq!(back.attachment.id, a.id);
    let bytes = ok(back.bytes().await, "the binary's bytes");
    assert!(
        bytes.as_ref() == bin.as_slice(),
        "the binary comes back byte for byte"
    );
    let back = ok(p.read_attachment(&b.id).await, "read the text");
    let bytes = ok(back.bytes().await, "the text's bytes");
    assert_eq!(std::str::from_utf8(&bytes).ok(), Some(text.as_str()));
}

/// A file over the backend's limit is refused with a clear error, and nothing is added.
pub async fn too_large_attachment_is_refused(ctx: Ctx) {
    let p = ctx.provider();
    let max = ctx.caps().max_attachment_size;
    let t = ctx.create(ctx.new_ticket("Too big")).await;
    let size = usize::try_from(max + 1).expect("a limit the suite can allocate");
    let err = expect_kind(
        p.add_attachment(&t.id, NewAttachment::from_bytes("big.bin", vec![0u8; size]))
            .await,
        ErrorKind::InvalidInput,
        "an attachment over max_attachment_size",
    );
    assert!(
        err.to_string().contains(&max.to_string()),
        "the error names the limit: {err}"
    );
    assert!(
        ok(p.attachments(&t.id).await, "list").is_empty(),
        "nothing was added"
    );
}

/// Attachments of an unknown ticket, and an unknown attachment, are `NotFound`.
pub async fn attachments_of_unknown_things_are_not_found(ctx: Ctx) {
    let p = ctx.provider();
    let unknown = ctx.options().unknown_id.clone();
    expect_kind(
        p.add_attachment(&unknown, NewAttachment::from_bytes("x.txt", b"x".to_vec()))
            .await,
        ErrorKind::NotFound,
        "attach to an unknown ticket",
    );
    expect_kind(
        p.attachments(&unknown).await,
        ErrorKind::NotFound,
        "attachments of an unknown ticket",
    );
}

/// The same key twice adds one attachment.
pub async fn idempotent_attachment(ctx: Ctx) {
    let p = ctx.provider();
    let t = ctx.create(ctx.new_ticket("Attached once")).await;
    let key = format!("{}-a", ctx.token());
    let first = ok(
        p.add_attachment(
            &t.id,
            NewAttachment::from_bytes("once.txt", b"hello".to_vec()).idempotency_key(key.clone()),
        )
        .await,
        "attach",
    );
    let again = ok(
        p.add_attachment(
            &t.id,
            NewAttachment::from_bytes("once.txt", b"hello".to_vec()).idempotency_key(key.clone()),
        )
        .await,
        "attach again with the same key",
    );
    assert_eq!(first.id, again.id, "one attachment per key");
    assert_eq!(ok(p.attachments(&t.id).await, "list").len(), 1);
}

/// A deleted ticket is gone: get, comments and a second delete are `NotFound`.
pub async fn delete_then_get_is_not_found(ctx: Ctx) {
    let p = ctx.provider();
    let t = ctx.create(ctx.new_ticket("Doomed")).await;
    ok(
        p.add_comment(&t.id, ctx.comment(tickets_core::NewComment::new("bye")))
            .await,
        "comment",
    );
    ok(p.delete(&t.id).await, "delete");
    expect_kind(
        p.get(&t.id).await,
        ErrorKind::NotFound,
        "get a deleted ticket",
    );
    expect_kind(
        p.comments(&t.id).await,
        ErrorKind::NotFound,
        "comments of a deleted ticket",
    );
    expect_kind(
        p.delete(&t.id).await,
        ErrorKind::NotFound,
        "delete it again",
    );
    let unknown: TicketId = ctx.options().unknown_id.clone();
    expect_kind(
        p.delete(&unknown).await,
        ErrorKind::NotFound,
        "delete an unknown id",
    );
}
