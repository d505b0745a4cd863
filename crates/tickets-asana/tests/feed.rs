//! The change feed against the fake Asana's events API: resync on the first call and on an
//! expired token, each changed task once per answer, paging with `more`, deletions and tasks
//! leaving the project, and nothing from other projects.

use std::collections::BTreeSet;

use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::{
    ChangeToken, Changes, ErrorKind, NewComment, NewTicket, Status, TicketId, TicketPatch,
    TicketProvider,
};
use tickets_fakes::asana::FakeAsana;

/// The fake is not Asana: pace at 1,000 a second so the suites stay quick (pacing at
/// Asana's rate has its own tests).
const FAST: u32 = 60_000;

fn provider(fake: &FakeAsana, project: &str) -> AsanaProvider {
    AsanaProvider::new(
        AsanaConfig::new(fake.token(), project)
            .base_url(fake.base_url())
            .requests_per_minute(FAST),
    )
    .unwrap()
}

fn ids(v: &[TicketId]) -> BTreeSet<String> {
    v.iter().map(|i| i.as_str().to_owned()).collect()
}

fn once_each(c: &Changes) {
    let all: Vec<&TicketId> = c.changed.iter().chain(&c.deleted).collect();
    let set: BTreeSet<&TicketId> = all.iter().copied().collect();
    assert_eq!(set.len(), all.len(), "an id twice in one answer: {c:?}");
}

#[tokio::test]
async fn first_call_resyncs_then_each_change_shows_once() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(&fake, fake.project());
    assert!(p.capabilities().change_feed);
    let edited = p.create(NewTicket::new("edit me")).await.unwrap();
    let moved = p.create(NewTicket::new("move me")).await.unwrap();
    let discussed = p.create(NewTicket::new("talk about me")).await.unwrap();
    let quiet = p.create(NewTicket::new("leave me")).await.unwrap();

    let first = p.changes(None).await.unwrap();
    assert!(first.resync, "no token: list everything once");
    assert!(first.changed.is_empty() && first.deleted.is_empty());

    p.update(&edited.id, TicketPatch::new().subject("edited"))
        .await
        .unwrap();
    p.change_status(&moved.id, Status::InProgress)
        .await
        .unwrap();
    p.add_comment(&discussed.id, NewComment::new("a comment"))
        .await
        .unwrap();
    let created = p.create(NewTicket::new("new")).await.unwrap();

    let page = p.changes(Some(&first.next)).await.unwrap();
    assert!(!page.resync && !page.more, "{page:?}");
    once_each(&page);
    assert_eq!(
        ids(&page.changed),
        ids(&[edited.id, moved.id, discussed.id, created.id])
    );
    assert!(!ids(&page.changed).contains(quiet.id.as_str()));
    assert!(page.deleted.is_empty());

    let again = p.changes(Some(&page.next)).await.unwrap();
    assert!(again.changed.is_empty() && again.deleted.is_empty() && !again.resync);
}

#[tokio::test]
async fn many_changes_come_in_pages() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(&fake, fake.project());
    let mut token = p.changes(None).await.unwrap().next;
    let mut made = BTreeSet::new();
    for i in 0..60 {
        let t = p.create(NewTicket::new(format!("t{i}"))).await.unwrap();
        p.add_comment(&t.id, NewComment::new("c")).await.unwrap();
        made.insert(t.id.as_str().to_owned());
    }
    let mut seen = BTreeSet::new();
    let mut answers = 0;
    loop {
        let c = p.changes(Some(&token)).await.unwrap();
        once_each(&c);
        answers += 1;
        seen.extend(ids(&c.changed));
        token = c.next;
        if !c.more {
            break;
        }
        assert!(answers < 50, "the feed keeps asking for more");
    }
    assert!(
        answers >= 2,
        "more than 100 events need more than one answer"
    );
    assert_eq!(seen, made);
}

#[tokio::test]
async fn an_expired_or_foreign_token_resyncs() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(&fake, fake.project());
    let old = p.changes(None).await.unwrap().next;
    fake.expire_sync_tokens();
    let c = p.changes(Some(&old)).await.unwrap();
    assert!(c.resync, "Asana answered 412");
    assert_ne!(c.next, old);
    let t = p.create(NewTicket::new("after")).await.unwrap();
    let c = p.changes(Some(&c.next)).await.unwrap();
    assert!(!c.resync);
    assert_eq!(ids(&c.changed), ids(&[t.id]));
    let c = p.changes(Some(&ChangeToken::new("m42"))).await.unwrap();
    assert!(c.resync, "a token Asana never issued");
}

#[tokio::test]
async fn deleted_tasks_and_tasks_leaving_the_project_are_deleted() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(&fake, fake.project());
    let gone = p.create(NewTicket::new("to delete")).await.unwrap();
    let left = p.create(NewTicket::new("to move away")).await.unwrap();
    let token = p.changes(None).await.unwrap().next;
    p.add_comment(&gone.id, NewComment::new("last words"))
        .await
        .unwrap();
    assert!(fake.delete_task(gone.id.as_str()));
    assert!(fake.remove_from_project(left.id.as_str(), fake.project()));
    let c = p.changes(Some(&token)).await.unwrap();
    once_each(&c);
    assert_eq!(ids(&c.deleted), ids(&[gone.id.clone(), left.id.clone()]));
    assert!(c.changed.is_empty(), "{c:?}");
    let e = p.get(&left.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "not in the project any more");
}

#[tokio::test]
async fn other_projects_do_not_show() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(&fake, fake.project());
    let other = provider(&fake, &fake.add_project("Elsewhere"));
    let token = p.changes(None).await.unwrap().next;
    let there = other.create(NewTicket::new("not ours")).await.unwrap();
    other
        .add_comment(&there.id, NewComment::new("still not ours"))
        .await
        .unwrap();
    other
        .update(&there.id, TicketPatch::new().subject("renamed"))
        .await
        .unwrap();
    let c = p.changes(Some(&token)).await.unwrap();
    assert!(c.changed.is_empty() && c.deleted.is_empty(), "{c:?}");
    let mine = other.changes(None).await.unwrap();
    assert!(mine.resync, "each project has its own stream");
}

#[tokio::test]
async fn an_unknown_project_is_a_config_error() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(&fake, "1209999999999999");
    let e = p.changes(None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
}
