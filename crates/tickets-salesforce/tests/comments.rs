//! CaseComments with idempotency keys against the fake Salesforce: one comment per key
//! whatever fails, the marker kept in CommentBody and never in the body, and no guessing
//! without a key.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use tickets_core::layers::{self, RetryPolicy};
use tickets_core::{DynProvider, ErrorKind, NewComment, NewTicket, Ticket, TicketProvider};
use tickets_fakes::salesforce::FakeSalesforce;
use tickets_salesforce::SalesforceProvider;

use common::*;

fn retrying(p: DynProvider) -> DynProvider {
    layers::with_retry(
        p,
        RetryPolicy {
            max_retries: 10,
            min_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(2),
        },
    )
}

/// CommentBody of the Case's comments, as Salesforce stores them.
fn stored(sf: &FakeSalesforce, t: &Ticket) -> Vec<String> {
    sf.comments_of(t.id.as_str())
        .iter()
        .map(|c| c["CommentBody"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn setup() -> (FakeSalesforce, SalesforceProvider, Ticket) {
    let sf = fake().await;
    let p = provider(minimal_config(&sf));
    let t = p.create(NewTicket::new("discussed")).await.unwrap();
    // Log in and learn the API user, so request counts below are per comment.
    p.add_comment(&t.id, NewComment::new("warm up"))
        .await
        .unwrap();
    (sf, p, t)
}

/// The comments added after the warm-up one.
fn after_warm_up(sf: &FakeSalesforce, t: &Ticket) -> Vec<String> {
    stored(sf, t).into_iter().skip(1).collect()
}

#[tokio::test]
async fn a_keyed_comment_added_twice_is_one_comment() {
    let (sf, p, t) = setup().await;
    let new = NewComment::new("+1").author("Alice").idempotency_key("c-1");
    let before = sf.faults().stats().requests;
    let first = p.add_comment(&t.id, new.clone()).await.unwrap();
    assert_eq!(
        sf.faults().stats().requests - before,
        2,
        "a keyed comment queries the Case's comments, then posts"
    );
    assert_eq!(
        (first.body.as_str(), first.author.as_deref()),
        ("+1", Some("Alice"))
    );
    assert_eq!(first.idempotency_key.as_deref(), Some("c-1"));
    let again = p.add_comment(&t.id, new.clone()).await.unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.body, "+1");
    // Another process, with no memory of the key, finds it on the Case.
    let other = provider(minimal_config(&sf));
    assert_eq!(other.add_comment(&t.id, new).await.unwrap().id, first.id);
    assert_eq!(
        after_warm_up(&sf, &t),
        ["[from: Alice]\n+1\n\n[tickets-key:c-1]"]
    );
    let second = p
        .add_comment(
            &t.id,
            NewComment::new("+1").author("Alice").idempotency_key("c-2"),
        )
        .await
        .unwrap();
    assert_ne!(second.id, first.id, "another key is another comment");
    // Racing calls with one key in one process send one comment.
    let racing = join_all(
        (0..5).map(|_| p.add_comment(&t.id, NewComment::new("race").idempotency_key("c-3"))),
    )
    .await;
    let ids: std::collections::BTreeSet<String> =
        racing.into_iter().map(|r| r.unwrap().id).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(after_warm_up(&sf, &t).len(), 3);
}

#[tokio::test]
async fn a_keyed_comment_whose_answer_was_dropped_is_one_comment() {
    let (sf, p, t) = setup().await;
    let new = NewComment::new("restarted api-1").idempotency_key("sync-7-1");
    sf.faults().drop_next(1);
    let e = p.add_comment(&t.id, new.clone()).await.unwrap_err();
    assert!(e.is_retryable() && !e.was_not_applied(), "{e}");
    assert_eq!(after_warm_up(&sf, &t).len(), 1, "the comment was applied");
    let c = p.add_comment(&t.id, new).await.unwrap();
    assert_eq!(c.body, "restarted api-1");
    assert_eq!(after_warm_up(&sf, &t).len(), 1, "the retry found it");

    // Through the retry layer: a keyed comment is idempotent, so it is retried, and the retry
    // looks for the key before sending.
    let p = retrying(std::sync::Arc::new(p));
    sf.faults().drop_next(1);
    let c = p
        .add_comment(&t.id, NewComment::new("second").idempotency_key("sync-7-2"))
        .await
        .unwrap();
    assert_eq!(sf.faults().stats().dropped, 2);
    assert_eq!(c.idempotency_key.as_deref(), Some("sync-7-2"));
    assert_eq!(after_warm_up(&sf, &t).len(), 2);
}

#[tokio::test]
async fn without_a_key_nothing_is_guessed() {
    let (sf, p, t) = setup().await;
    p.add_comment(&t.id, NewComment::new("+1")).await.unwrap();
    p.add_comment(&t.id, NewComment::new("+1")).await.unwrap();
    assert_eq!(after_warm_up(&sf, &t), ["+1", "+1"]);
    let before = sf.faults().stats().requests;
    p.add_comment(&t.id, NewComment::new("+1")).await.unwrap();
    assert_eq!(sf.faults().stats().requests - before, 1, "just the POST");
    // Applied, answer lost: an error, and the retry layer does not send it again.
    let p = retrying(std::sync::Arc::new(p));
    sf.faults().drop_next(1);
    let e = p
        .add_comment(&t.id, NewComment::new("+1"))
        .await
        .unwrap_err();
    assert!(e.is_retryable() && !e.was_not_applied(), "{e}");
    assert_eq!(
        after_warm_up(&sf, &t).len(),
        4,
        "applied once, not sent again"
    );
}

#[tokio::test]
async fn a_comment_read_back_has_no_marker_and_carries_its_key() {
    let (sf, p, t) = setup().await;
    let bodies = [
        "+1",
        "multi\nline\n\nbody",
        "[from: not an author]\nbody",
        "[tickets-key:looks-like] a marker",
    ];
    for (i, body) in bodies.iter().enumerate() {
        let c = p
            .add_comment(
                &t.id,
                NewComment::new(*body).idempotency_key(format!("k-{i}")),
            )
            .await
            .unwrap();
        assert_eq!(c.body, *body);
        assert_eq!(c.author.as_deref(), Some("integration@example.com"));
    }
    p.add_comment(&t.id, NewComment::new("private").author("Bob").private())
        .await
        .unwrap();
    let got = p.comments(&t.id).await.unwrap();
    let read: Vec<(&str, Option<&str>)> = got
        .iter()
        .skip(1)
        .map(|c| (c.body.as_str(), c.idempotency_key.as_deref()))
        .collect();
    assert_eq!(
        read,
        [
            (bodies[0], Some("k-0")),
            (bodies[1], Some("k-1")),
            (bodies[2], Some("k-2")),
            (bodies[3], Some("k-3")),
            ("private", None),
        ]
    );
    assert_eq!(got[3].author.as_deref(), Some("integration@example.com"));
    assert!(!got[5].public);
    assert!(after_warm_up(&sf, &t)[2].ends_with("body\n\n[tickets-key:k-2]"));
}

#[tokio::test]
async fn bad_keys_and_oversized_comments_are_invalid_input_before_any_request() {
    let (sf, p, t) = setup().await;
    let before = sf.faults().stats().requests;
    for key in ["", "has space", "has]bracket", &"k".repeat(101)] {
        let e = p
            .add_comment(&t.id, NewComment::new("x").idempotency_key(key))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{key:?}: {e}");
        assert!(e.message().contains("idempotency_key"), "{e}");
    }
    // 3,990 bytes fit alone but not with the marker.
    let body = "x".repeat(3990);
    let e = p
        .add_comment(&t.id, NewComment::new(body.clone()).idempotency_key("k"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("key marker"), "{e}");
    assert_eq!(sf.faults().stats().requests, before);
    p.add_comment(&t.id, NewComment::new(body)).await.unwrap();
}

/// 80 concurrent "+1" comments with distinct keys through the retry layer; returns how often
/// each key reads back.
async fn eighty_plus_ones(p: DynProvider, t: &Ticket) -> BTreeMap<String, usize> {
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
        assert_eq!(r.unwrap().unwrap().body, "+1");
    }
    let mut keys = BTreeMap::new();
    for c in p.comments(&t.id).await.unwrap().into_iter().skip(1) {
        assert_eq!(c.body, "+1");
        *keys.entry(c.idempotency_key.expect("keyed")).or_default() += 1;
    }
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eighty_identical_comments_with_distinct_keys_are_eighty() {
    let (sf, p, t) = setup().await;
    let keys = eighty_plus_ones(retrying(std::sync::Arc::new(p)), &t).await;
    assert_eq!(keys.len(), 80);
    assert!(keys.values().all(|n| *n == 1), "{keys:?}");
    assert_eq!(after_warm_up(&sf, &t).len(), 80);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eighty_identical_comments_with_distinct_keys_are_eighty_despite_faults() {
    let (sf, p, t) = setup().await;
    // Salesforce's default query batch (2,000): the lookup is one request, as in a real org.
    // (A failure on any page fails the whole attempt, which the retry layer repeats.)
    sf.set_batch_size(2000);
    sf.faults().set_latency(Duration::from_millis(1));
    sf.faults().set_failure_rate(0.15);
    sf.faults().set_drop_rate(0.15);
    let keys = eighty_plus_ones(retrying(std::sync::Arc::new(p)), &t).await;
    let stats = sf.faults().stats();
    sf.faults().reset();
    assert!(stats.dropped > 0 && stats.injected > 0, "{stats:?}");
    assert_eq!(keys.len(), 80, "{stats:?}");
    assert!(keys.values().all(|n| *n == 1), "{keys:?}");
    assert_eq!(after_warm_up(&sf, &t).len(), 80);
}
