//! Attachments as Salesforce Files and deleting Cases: requests per operation (the README's
//! table), what the fake org holds afterwards, and errors.

mod common;

use futures::StreamExt;
use tickets_core::bytes::Bytes;
use tickets_core::{ErrorKind, NewAttachment, NewComment, NewTicket, TicketProvider};

use common::*;

#[tokio::test]
async fn files_cost_what_the_readme_says_and_land_as_content_versions() {
    let sf = fake().await;
    let p = provider(minimal_config(&sf));
    let count = || sf.faults().stats().requests;
    let t = p.create(NewTicket::new("with files")).await.unwrap();

    let start = count();
    assert!(p.attachments(&t.id).await.unwrap().is_empty());
    assert_eq!(
        count() - start,
        1,
        "list, no files: the Case with its links"
    );

    let start = count();
    let a = p
        .add_attachment(
            &t.id,
            NewAttachment::from_bytes("crash.log", b"boom\n".to_vec()).author("Ann"),
        )
        .await
        .unwrap();
    assert_eq!(count() - start, 1, "add: one POST");
    assert!(a.id.starts_with("068"), "{}", a.id);
    assert_eq!(a.author.as_deref(), Some("Ann"));
    let stored = sf.record("ContentVersion", &a.id).unwrap();
    assert_eq!(stored["FirstPublishLocationId"], t.id.as_str());
    assert_eq!(stored["PathOnClient"], "crash.log");
    assert_eq!(stored["ContentSize"], 5);

    let start = count();
    let listed = p.attachments(&t.id).await.unwrap();
    assert_eq!(count() - start, 2, "list: links, then versions");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].filename.as_str(), listed[0].size),
        ("crash.log", 5)
    );
    assert_eq!(listed[0].author.as_deref(), Some("Ann"));
    assert!(listed[0].content_type.starts_with("text/plain"));

    let start = count();
    let back = p.read_attachment(&a.id).await.unwrap();
    assert_eq!(back.attachment.ticket_id, t.id);
    assert_eq!(back.bytes().await.unwrap().as_ref(), b"boom\n");
    assert_eq!(count() - start, 2, "read: the record, then VersionData");

    let keyed = || NewAttachment::from_bytes("once.txt", b"x".to_vec()).idempotency_key("f-1");
    let start = count();
    let first = p.add_attachment(&t.id, keyed()).await.unwrap();
    assert_eq!(count() - start, 3, "keyed add: list (2), POST");
    let start = count();
    let again = p.add_attachment(&t.id, keyed()).await.unwrap();
    assert_eq!(count() - start, 2, "keyed add again: the listing finds it");
    assert_eq!(first.id, again.id);
    assert_eq!(again.idempotency_key.as_deref(), Some("f-1"));
    // The marker is in the Description, the file name stays as given.
    let stored = sf.record("ContentVersion", &first.id).unwrap();
    assert!(
        stored["Description"]
            .as_str()
            .unwrap()
            .contains("[tickets-key:f-1]")
    );

    p.add_comment(&t.id, NewComment::new("bye")).await.unwrap();
    let start = count();
    p.delete(&t.id).await.unwrap();
    assert_eq!(count() - start, 1, "delete: one DELETE");
    assert_eq!(p.get(&t.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(
        sf.comments_of(t.id.as_str()).is_empty(),
        "comments go with it"
    );
    // The file stays with its owner, without its link to the Case.
    assert!(sf.record("ContentVersion", &a.id).is_some());
    assert_eq!(
        p.attachments(&t.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn bad_ids_and_large_files_are_refused_before_any_request() {
    let sf = fake().await;
    let p = provider(minimal_config(&sf));
    let t = p.create(NewTicket::new("limits")).await.unwrap();
    let count = || sf.faults().stats().requests;
    let start = count();
    for bad in [
        "",
        "nope",
        "500Dn000000001WIAQ",
        "068'; DROP",
        "069Dn000000001WIAQ",
    ] {
        let e = p.read_attachment(bad).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{bad}: {e}");
    }
    let max = p.capabilities().max_attachment_size;
    assert_eq!(max, 2 * 1024 * 1024 * 1024, "2 GB, multipart");
    // A stream that says it is larger is refused before anything is read or sent.
    let stream = futures::stream::empty().boxed();
    let e = p
        .add_attachment(
            &t.id,
            NewAttachment::from_stream("huge.bin", stream, Some(max + 1)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains(&max.to_string()), "{e}");
    let e = p
        .add_attachment(&t.id, NewAttachment::from_bytes("a/b.txt", b"x".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(count() - start, 0, "nothing was sent");
    // A well-formed id of no file: NotFound from the query.
    let e = p.read_attachment("068Dn0000000zzzIAA").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // A missing Case.
    let e = p
        .add_attachment(
            &unknown_case_id(),
            NewAttachment::from_bytes("x.txt", b"x".to_vec()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(
        p.delete(&unknown_case_id()).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn large_files_and_streams_of_unknown_size_go_as_multipart() {
    let sf = fake().await;
    let p = provider(minimal_config(&sf));
    let t = p.create(NewTicket::new("big files")).await.unwrap();
    let count = || sf.faults().stats().requests;

    // A stream of unknown size, in chunks: one multipart POST.
    let chunks: Vec<tickets_core::Result<Bytes>> =
        (0..5u8).map(|i| Ok(Bytes::from(vec![i; 10_000]))).collect();
    let start = count();
    let a = p
        .add_attachment(
            &t.id,
            NewAttachment::from_stream("parts.bin", futures::stream::iter(chunks).boxed(), None)
                .author("Ann")
                .idempotency_key("m-1"),
        )
        .await
        .unwrap();
    assert_eq!(
        count() - start,
        2,
        "keyed, no files yet: the links, one multipart POST"
    );
    assert_eq!(a.size, 50_000);
    let back = p
        .read_attachment(&a.id)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(back.len(), 50_000);
    assert!(back[..10_000].iter().all(|b| *b == 0) && back[40_000..].iter().all(|b| *b == 4));
    let listed = p.attachments(&t.id).await.unwrap();
    let stored = sf.record("ContentVersion", &a.id).unwrap();
    assert_eq!(listed[0].author.as_deref(), Some("Ann"), "{stored}");
    assert_eq!(listed[0].idempotency_key.as_deref(), Some("m-1"));

    // Over the 37.5 MB a JSON body takes: multipart, byte for byte.
    let big: Vec<u8> = (0..38 * 1024 * 1024)
        .map(|i: usize| (i % 251) as u8)
        .collect();
    let b = p
        .add_attachment(&t.id, NewAttachment::from_bytes("big.bin", big.clone()))
        .await
        .unwrap();
    assert_eq!(b.size, big.len() as u64);
    let back = p
        .read_attachment(&b.id)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        back.as_ref() == big.as_slice(),
        "38 MB come back byte for byte"
    );
}
