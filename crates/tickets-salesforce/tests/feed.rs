//! The change feed against the fake Salesforce's replication resources, with the fake's clock
//! moved forward instead of waiting: resync first, each change once (fields, status, comments,
//! new Cases), windows of a day with `more`, deletions, expired windows and purged delete logs
//! resync, and nothing but Cases shows up.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use tickets_core::{
    ChangeToken, Changes, NewComment, NewTicket, Status, TicketId, TicketPatch, TicketProvider,
};
use tickets_salesforce::SalesforceProvider;

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(24 * 3600);

fn ids(v: &[TicketId]) -> BTreeSet<String> {
    v.iter().map(|i| i.as_str().to_owned()).collect()
}

fn once_each(c: &Changes) {
    let all: Vec<&TicketId> = c.changed.iter().chain(&c.deleted).collect();
    let set: BTreeSet<&TicketId> = all.iter().copied().collect();
    assert_eq!(set.len(), all.len(), "an id twice in one answer: {c:?}");
}

/// Follows the feed from `token` while it says `more`.
async fn drain(p: &SalesforceProvider, mut token: ChangeToken) -> (Vec<Changes>, ChangeToken) {
    let mut answers = Vec::new();
    for _ in 0..50 {
        let c = p.changes(Some(&token)).await.unwrap();
        assert!(!c.resync, "{c:?}");
        once_each(&c);
        token = c.next.clone();
        let more = c.more;
        answers.push(c);
        if !more {
            return (answers, token);
        }
    }
    panic!("the feed keeps asking for more");
}

fn changed(answers: &[Changes]) -> BTreeSet<String> {
    answers.iter().flat_map(|c| ids(&c.changed)).collect()
}

#[tokio::test]
async fn first_call_resyncs_then_each_change_shows_once() {
    let sf = common::fake().await;
    let p = common::provider(common::full_config(&sf));
    assert!(p.capabilities().change_feed);
    let edited = p.create(NewTicket::new("edit me")).await.unwrap();
    let moved = p.create(NewTicket::new("move me")).await.unwrap();
    let discussed = p.create(NewTicket::new("talk about me")).await.unwrap();
    let quiet = p.create(NewTicket::new("leave me")).await.unwrap();
    sf.advance_clock(5 * MINUTE);
    let first = p.changes(None).await.unwrap();
    assert!(first.resync && first.changed.is_empty(), "{first:?}");

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

    let early = p.changes(Some(&first.next)).await.unwrap();
    assert!(
        early.changed.is_empty() && early.next == first.next,
        "less than two minutes: nothing asked yet: {early:?}"
    );
    sf.advance_clock(3 * MINUTE);
    let (answers, next) = drain(&p, first.next).await;
    assert_eq!(
        changed(&answers),
        ids(&[edited.id, moved.id, discussed.id, created.id]),
        "not {}",
        quiet.id
    );
    assert!(answers.iter().all(|c| c.deleted.is_empty()));
    sf.advance_clock(3 * MINUTE);
    let (later, _) = drain(&p, next).await;
    assert!(changed(&later).is_empty(), "once: {later:?}");
}

#[tokio::test]
async fn a_long_gap_comes_a_day_at_a_time() {
    let sf = common::fake().await;
    let p = common::provider(common::minimal_config(&sf));
    let token = p.changes(None).await.unwrap().next;
    let early = p.create(NewTicket::new("day one")).await.unwrap();
    sf.advance_clock(DAY + DAY / 2);
    let late = p.create(NewTicket::new("day two")).await.unwrap();
    sf.advance_clock(DAY);
    let (answers, _) = drain(&p, token).await;
    assert!(answers.len() >= 3, "{answers:?}");
    assert!(answers[0].more);
    assert_eq!(
        ids(&answers[0].changed),
        ids(std::slice::from_ref(&early.id))
    );
    assert_eq!(changed(&answers), ids(&[early.id, late.id]));
}

#[tokio::test]
async fn deleted_cases_are_deleted_and_comments_go_with_them() {
    let sf = common::fake().await;
    let p = common::provider(common::minimal_config(&sf));
    let doomed = p.create(NewTicket::new("delete me")).await.unwrap();
    let kept = p.create(NewTicket::new("keep me")).await.unwrap();
    sf.advance_clock(5 * MINUTE);
    let token = p.changes(None).await.unwrap().next;
    p.add_comment(&doomed.id, NewComment::new("last words"))
        .await
        .unwrap();
    p.add_comment(&kept.id, NewComment::new("still here"))
        .await
        .unwrap();
    p.client()
        .call(
            Method::DELETE,
            &format!("sobjects/Case/{}", doomed.id),
            &[],
            None,
        )
        .await
        .unwrap();
    sf.advance_clock(3 * MINUTE);
    let (answers, _) = drain(&p, token).await;
    let deleted: BTreeSet<String> = answers.iter().flat_map(|c| ids(&c.deleted)).collect();
    assert_eq!(deleted, ids(std::slice::from_ref(&doomed.id)));
    assert_eq!(
        changed(&answers),
        ids(&[kept.id]),
        "a deleted Case is not changed"
    );
}

#[tokio::test]
async fn old_tokens_and_purged_delete_logs_resync() {
    let sf = common::fake().await;
    let p = common::provider(common::minimal_config(&sf));
    let token = p.changes(None).await.unwrap().next;
    sf.advance_clock(16 * DAY);
    let c = p.changes(Some(&token)).await.unwrap();
    assert!(c.resync, "deletions are kept 15 days: {c:?}");
    let fresh = c.next;
    sf.advance_clock(5 * MINUTE);
    let c = p.changes(Some(&fresh)).await.unwrap();
    assert!(!c.resync, "{c:?}");
    sf.purge_delete_log();
    sf.advance_clock(5 * MINUTE);
    let c = p.changes(Some(&c.next)).await.unwrap();
    assert!(c.resync, "the delete log was purged: {c:?}");
    for foreign in ["m42", "sf1;yesterday", "bz1;2026-01-01T00:00:00Z;"] {
        let c = p.changes(Some(&ChangeToken::new(foreign))).await.unwrap();
        assert!(c.resync, "{foreign}");
    }
}

#[tokio::test]
async fn only_cases_show_up() {
    let sf = common::fake().await;
    let p = common::provider(common::minimal_config(&sf));
    sf.advance_clock(5 * MINUTE);
    let token = p.changes(None).await.unwrap().next;
    sf.add_user("carol@example.com", "carol@example.com");
    sf.advance_clock(3 * MINUTE);
    let (answers, _) = drain(&p, token).await;
    assert!(changed(&answers).is_empty(), "{answers:?}");
    assert!(answers.iter().all(|c| c.deleted.is_empty()));
}
