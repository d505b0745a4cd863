//! Attachments against the fake Asana beyond the conformance cases: Asana's 100 MB limit
//! refused before anything is sent, non-ASCII names, and files of tasks outside the project.

use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::{ErrorKind, NewAttachment, NewTicket, TicketProvider};
use tickets_fakes::asana::FakeAsana;

fn provider(fake: &FakeAsana, project: &str) -> AsanaProvider {
    let config = AsanaConfig::new(fake.token(), project)
        .base_url(fake.base_url())
        .workspace(fake.workspace())
        .requests_per_minute(60_000);
    AsanaProvider::new(config).unwrap()
}

#[tokio::test]
async fn over_100_mb_is_refused_before_sending() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(&fake, fake.project());
    assert_eq!(p.capabilities().max_attachment_size, 100 * 1024 * 1024);
    let t = p.create(NewTicket::new("big")).await.unwrap();
    let before = fake.faults().stats().requests;
    let big = vec![0u8; 100 * 1024 * 1024 + 1];
    let e = p
        .add_attachment(&t.id, NewAttachment::from_bytes("big.bin", big))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("104857600"), "names the limit: {e}");
    assert_eq!(fake.faults().stats().requests, before, "nothing sent");
}

#[tokio::test]
async fn names_round_trip_and_other_projects_files_are_not_ours() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(&fake, fake.project());
    let t = p.create(NewTicket::new("files")).await.unwrap();
    let name = "résumé \"final\" 日本.txt";
    let a = p
        .add_attachment(&t.id, NewAttachment::from_bytes(name, b"hello".to_vec()))
        .await
        .unwrap();
    assert_eq!(a.filename, name);
    assert!(
        a.content_type.starts_with("text/plain"),
        "{}",
        a.content_type
    );
    let listed = p.attachments(&t.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].filename, name);
    let back = p.read_attachment(&a.id).await.unwrap();
    assert_eq!(back.bytes().await.unwrap().as_ref(), b"hello");
    // A provider on another project sees neither the task's files nor the file itself.
    let other_project = fake.add_project("Other");
    let other = provider(&fake, &other_project);
    let e = other.attachments(&t.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = other.read_attachment(&a.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = p.read_attachment("not-a-gid").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}
