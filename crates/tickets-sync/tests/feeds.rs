//! A sync provider over the fake Asana pulls through the events feed: the first pull resyncs,
//! remote edits, comments and new tasks come home once each, and a task deleted in Asana is
//! recorded on its link (the local ticket is kept).

mod common;

use std::time::Duration;

use tickets_core::{NewComment, NewTicket, Status, TicketId, TicketPatch, TicketProvider};
use tickets_fakes::asana::FakeAsana;

fn rid(t: &tickets_core::Ticket) -> TicketId {
    TicketId::new(t.links.get("asana").expect("linked to asana").clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn remote_changes_come_home_once_through_the_events_feed() {
    let fake = FakeAsana::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sync = common::sync(&dir, common::asana(&fake, 3), common::options()).await;
    assert!(sync.remote().capabilities().change_feed);
    let edited = sync.create(NewTicket::new("edit me there")).await.unwrap();
    let discussed = sync
        .create(NewTicket::new("discuss me there"))
        .await
        .unwrap();
    let doomed = sync
        .create(NewTicket::new("delete me there"))
        .await
        .unwrap();
    let quiet = sync.create(NewTicket::new("leave me")).await.unwrap();
    common::drain(&sync, Duration::from_secs(30)).await;

    let first = sync.pull_changes().await.unwrap();
    assert!(first.resynced, "the first pull lists everything: {first:?}");
    assert_eq!(first.imported, 0, "{first:?}");
    let nothing = sync.pull_changes().await.unwrap();
    assert!(!nothing.resynced && nothing.seen == 0, "{nothing:?}");

    // People at work in Asana.
    let remote = sync.remote().clone();
    let (edited, discussed, doomed, quiet) = (
        sync.get(&edited.id).await.unwrap(),
        sync.get(&discussed.id).await.unwrap(),
        sync.get(&doomed.id).await.unwrap(),
        sync.get(&quiet.id).await.unwrap(),
    );
    remote
        .update(&rid(&edited), TicketPatch::new().subject("edited in asana"))
        .await
        .unwrap();
    remote
        .change_status(&rid(&edited), Status::InProgress)
        .await
        .unwrap();
    remote
        .add_comment(
            &rid(&discussed),
            NewComment::new("said in asana").author("Alice"),
        )
        .await
        .unwrap();
    assert!(fake.delete_task(rid(&doomed).as_str()));
    let born = remote
        .create(NewTicket::new("born in asana"))
        .await
        .unwrap();

    let pulled = sync.pull_changes().await.unwrap();
    assert!(!pulled.resynced, "{pulled:?}");
    assert_eq!(pulled.imported, 1, "{pulled:?}");
    assert_eq!(pulled.comments, 1, "{pulled:?}");
    assert_eq!(pulled.deleted, 1, "{pulled:?}");

    let local = sync.get(&edited.id).await.unwrap();
    assert_eq!(local.subject, "edited in asana");
    assert_eq!(local.status, Status::InProgress);
    let comments = sync.comments(&discussed.id).await.unwrap();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].body.trim(), "said in asana");
    assert_eq!(comments[0].author.as_deref(), Some("Alice"));
    let kept = sync.get(&doomed.id).await.unwrap();
    assert_eq!(kept.subject, "delete me there", "kept locally");
    let st = sync.status().await.unwrap();
    let gone: Vec<&TicketId> = st.remote_deleted.iter().map(|d| &d.ticket_id).collect();
    assert_eq!(gone, [&doomed.id], "recorded as deleted in asana");
    let imported = sync
        .list(&tickets_core::TicketQuery::new().text("born in asana"))
        .await
        .unwrap();
    assert_eq!(imported.items.len(), 1);
    assert_eq!(rid(&imported.items[0]), born.id);
    assert_eq!(
        sync.get(&quiet.id).await.unwrap().subject,
        "leave me",
        "untouched"
    );

    // Nothing comes twice, and nothing goes back out.
    let again = sync.pull_changes().await.unwrap();
    assert_eq!(
        (again.seen, again.imported, again.comments, again.deleted),
        (0, 0, 0, 0),
        "{again:?}"
    );
    common::drain(&sync, Duration::from_secs(30)).await;
    assert_eq!(sync.comments(&discussed.id).await.unwrap().len(), 1);
    assert_eq!(remote.comments(&rid(&discussed)).await.unwrap().len(), 1);
    assert_eq!(fake.project_tasks().len(), 4, "3 pushed + 1 born there");
    let st = sync.status().await.unwrap();
    assert_eq!(st.remote_deleted.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_events_token_resyncs_the_pull() {
    let fake = FakeAsana::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sync = common::sync(&dir, common::asana(&fake, 3), common::options()).await;
    assert!(sync.pull_changes().await.unwrap().resynced);
    let remote = sync.remote().clone();
    remote
        .create(NewTicket::new("made while the token expired"))
        .await
        .unwrap();
    fake.expire_sync_tokens();
    let pulled = sync.pull_changes().await.unwrap();
    assert!(pulled.resynced, "{pulled:?}");
    assert_eq!(pulled.imported, 1, "the listing brings it home: {pulled:?}");
    let again = sync.pull_changes().await.unwrap();
    assert!(!again.resynced && again.imported == 0, "{again:?}");
}
