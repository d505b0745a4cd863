//! Comments with idempotency keys against the fake Asana: one story per key whatever fails,
//! the marker kept in the story and never in the body, and no guessing without a key.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::layers::{self, RetryPolicy};
use tickets_core::{
    DynProvider, ErrorKind, HistoryAction, NewComment, NewTicket, Ticket, TicketProvider,
};
use tickets_fakes::asana::FakeAsana;

/// The fake is not Asana: pace at 1,000 a second so the suites stay quick (pacing at
/// Asana's rate has its own tests).
const FAST: u32 = 60_000;

/// The provider alone: each request is sent once (retries are the retry layer's).
fn provider(fake: &FakeAsana) -> AsanaProvider {
    let config = AsanaConfig::new(fake.token(), fake.project())
        .base_url(fake.base_url())
        .requests_per_minute(FAST);
    AsanaProvider::new(config).unwrap()
}

/// The provider in the retry layer, as applications use it.
fn retried(p: &AsanaProvider, max_retries: u32) -> DynProvider {
    layers::with_retry(
        Arc::new(p.clone()),
        RetryPolicy {
            max_retries,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(100),
            ..RetryPolicy::default()
        },
    )
}

/// The texts of the task's comment stories, as Asana stores them.
fn stored(fake: &FakeAsana, t: &Ticket) -> Vec<String> {
    fake.stories(t.id.as_str())
        .iter()
        .filter(|s| s["resource_subtype"] == "comment_added")
        .map(|s| s["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn setup() -> (FakeAsana, AsanaProvider, Ticket) {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(&fake);
    let t = p.create(NewTicket::new("discussed")).await.unwrap();
    // Warm the token-user cache so request counts below are per comment.
    p.comments(&t.id).await.unwrap();
    (fake, p, t)
}

#[tokio::test]
async fn a_keyed_comment_added_twice_is_one_comment() {
    let (fake, p, t) = setup().await;
    let new = NewComment::new("+1").author("Alice").idempotency_key("c-1");
    let before = fake.faults().stats().requests;
    let first = p.add_comment(&t.id, new.clone()).await.unwrap();
    assert_eq!(
        fake.faults().stats().requests - before,
        3,
        "a keyed comment reads the task and its stories, then posts"
    );
    let again = p.add_comment(&t.id, new.clone()).await.unwrap();
    assert_eq!(again.id, first.id);
    // Another process, with no memory of the key, finds it on the task.
    let other = provider(&fake).add_comment(&t.id, new).await.unwrap();
    assert_eq!(other.id, first.id);
    assert_eq!(stored(&fake, &t), ["[Alice] +1\n\n[tickets-key:c-1]"]);
    // The same text under another key is another comment.
    let second = p
        .add_comment(
            &t.id,
            NewComment::new("+1").author("Alice").idempotency_key("c-2"),
        )
        .await
        .unwrap();
    assert_ne!(second.id, first.id);
    assert_eq!(p.comments(&t.id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_keyed_comment_whose_answer_was_dropped_is_one_comment() {
    // The provider alone: the dropped answer reaches the caller, who retries.
    let (fake, p, t) = setup().await;
    let new = NewComment::new("restarted api-1").idempotency_key("sync-7-1");
    fake.faults().drop_next(1);
    let e = p.add_comment(&t.id, new.clone()).await.unwrap_err();
    assert!(e.is_retryable() && !e.was_not_applied(), "{e}");
    assert_eq!(stored(&fake, &t).len(), 1, "the comment was applied");
    let c = p.add_comment(&t.id, new).await.unwrap();
    assert_eq!(c.body, "restarted api-1");
    assert_eq!(c.idempotency_key.as_deref(), Some("sync-7-1"));
    assert_eq!(stored(&fake, &t).len(), 1, "the retry found it");

    // Through the retry layer: the repeated call looks for the key before sending again.
    let p = retried(&p, 3);
    fake.faults().drop_next(1);
    let c = p
        .add_comment(&t.id, NewComment::new("second").idempotency_key("sync-7-2"))
        .await
        .unwrap();
    assert_eq!(fake.faults().stats().dropped, 2);
    assert_eq!(c.body, "second");
    assert_eq!(stored(&fake, &t).len(), 2);

    // A 5xx answered before anything was applied: looked for, not found, sent again.
    fake.faults().fail_next(1, 503);
    p.add_comment(&t.id, NewComment::new("third").idempotency_key("sync-7-3"))
        .await
        .unwrap();
    assert_eq!(stored(&fake, &t).len(), 3);
}

#[tokio::test]
async fn without_a_key_nothing_is_guessed() {
    let (fake, p, t) = setup().await;
    p.add_comment(&t.id, NewComment::new("+1")).await.unwrap();
    // An identical comment is another comment, even right after the first.
    p.add_comment(&t.id, NewComment::new("+1")).await.unwrap();
    assert_eq!(stored(&fake, &t), ["+1", "+1"]);
    // A failure that may have been applied is the caller's to judge, with its kind intact.
    fake.faults().drop_next(1);
    let e = p
        .add_comment(&t.id, NewComment::new("+1"))
        .await
        .unwrap_err();
    assert!(e.is_retryable() && !e.was_not_applied(), "{e}");
    assert_eq!(stored(&fake, &t).len(), 3, "applied, not sent again");
    // The retry layer does not re-send it either: a comment without a key is not idempotent.
    let layered = layers::with_retry(Arc::new(p.clone()), RetryPolicy::default());
    fake.faults().drop_next(1);
    let e = layered
        .add_comment(&t.id, NewComment::new("+1"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert_eq!(stored(&fake, &t).len(), 4, "applied once, not sent again");
}

#[tokio::test]
async fn a_comment_read_back_has_no_marker_and_carries_its_key() {
    let (fake, p, t) = setup().await;
    let bodies = ["[looks like an author] x", "multi\nline\n\nbody", "plain"];
    for (i, body) in bodies.iter().enumerate() {
        let c = p
            .add_comment(
                &t.id,
                NewComment::new(*body).idempotency_key(format!("k-{i}")),
            )
            .await
            .unwrap();
        assert_eq!((c.body.as_str(), c.author.as_deref()), (*body, None));
        assert_eq!(c.idempotency_key, Some(format!("k-{i}")));
    }
    p.add_comment(&t.id, NewComment::new("no key").author("Bob"))
        .await
        .unwrap();
    assert!(stored(&fake, &t)[2].ends_with("\n\n[tickets-key:k-2]"));
    let got = p.comments(&t.id).await.unwrap();
    let read: Vec<(&str, Option<&str>)> = got
        .iter()
        .map(|c| (c.body.as_str(), c.idempotency_key.as_deref()))
        .collect();
    assert_eq!(
        read,
        [
            (bodies[0], Some("k-0")),
            (bodies[1], Some("k-1")),
            (bodies[2], Some("k-2")),
            ("no key", None)
        ]
    );
    assert_eq!(got[3].author.as_deref(), Some("Bob"));
    let history = p.history(&t.id).await.unwrap();
    let comments = history
        .iter()
        .filter(|e| e.action == HistoryAction::CommentAdded)
        .count();
    assert_eq!(comments, 4);
}

#[tokio::test]
async fn bad_keys_are_invalid_input_before_any_request() {
    let (fake, p, t) = setup().await;
    let before = fake.faults().stats().requests;
    for key in ["", "has space", "has]bracket", &"k".repeat(101)] {
        let e = p
            .add_comment(&t.id, NewComment::new("x").idempotency_key(key))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{key:?}: {e}");
        assert!(e.message().contains("idempotency_key"), "{e}");
    }
    let e = p
        .create(NewTicket::new("x").idempotency_key("two\nlines"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(fake.faults().stats().requests, before);
}

/// 80 concurrent "+1" comments with distinct keys through the retry layer; returns the keys
/// each comment on the task reads back with.
async fn eighty_plus_ones(p: AsanaProvider, t: &Ticket) -> BTreeMap<String, usize> {
    let p: DynProvider = layers::with_retry(
        Arc::new(p),
        RetryPolicy {
            max_retries: 10,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(100),
            ..RetryPolicy::default()
        },
    );
    let results = join_all((0..80).map(|i| {
        let p = p.clone();
        let id = t.id.clone();
        tokio::spawn(async move {
            let new = NewComment::new("+1").idempotency_key(format!("plus-{i}"));
            p.add_comment(&id, new).await
        })
    }))
    .await;
    for r in results {
        let c = r.unwrap().unwrap();
        assert_eq!(c.body, "+1");
    }
    let mut keys = BTreeMap::new();
    for c in p.comments(&t.id).await.unwrap() {
        assert_eq!(c.body, "+1");
        *keys
            .entry(c.idempotency_key.expect("every comment has its key"))
            .or_default() += 1;
    }
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eighty_identical_comments_with_distinct_keys_are_eighty() {
    let (fake, p, t) = setup().await;
    let keys = eighty_plus_ones(p, &t).await;
    assert_eq!(keys.len(), 80);
    assert!(keys.values().all(|n| *n == 1), "{keys:?}");
    assert_eq!(stored(&fake, &t).len(), 80);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eighty_identical_comments_with_distinct_keys_are_eighty_despite_faults() {
    let (fake, p, t) = setup().await;
    fake.faults().set_latency(Duration::from_millis(2));
    fake.faults().set_failure_rate(0.15);
    // Applied, then the answer lost: only the key tells a retry it is already there.
    fake.faults().set_drop_rate(0.15);
    let keys = eighty_plus_ones(p, &t).await;
    let stats = fake.faults().stats();
    fake.faults().reset();
    assert!(stats.dropped > 0 && stats.injected > 0, "{stats:?}");
    assert_eq!(keys.len(), 80, "{stats:?}");
    assert!(keys.values().all(|n| *n == 1), "{keys:?}");
    assert_eq!(stored(&fake, &t).len(), 80);
}
