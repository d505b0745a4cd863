//! Requests per operation (issue 16), counted at the fake: the numbers in the README's
//! "Requests per operation" table. Also the on-disk user cache and the pacing.

mod common;

use std::time::{Duration, Instant};

use tickets_core::{
    ErrorKind, NewComment, NewTicket, Status, TicketPatch, TicketProvider, TicketQuery,
};

use common::*;

#[tokio::test]
async fn each_operation_costs_what_the_readme_says() {
    let sf = fake().await;
    let p = provider(full_config(&sf).custom_field("x", "Customer__c"));
    let count = || sf.faults().stats().requests;
    // Warm: log in and learn the API user (1 token + the first create).
    let warm = p.create(NewTicket::new("warm")).await.unwrap();
    p.get(&warm.id).await.unwrap();

    let start = count();
    let t = p.create(NewTicket::new("plain")).await.unwrap();
    assert_eq!(count() - start, 1, "create: POST and read in one composite");

    let start = count();
    let keyed = NewTicket::new("keyed").idempotency_key("k-1");
    p.create(keyed.clone()).await.unwrap();
    assert_eq!(
        count() - start,
        2,
        "keyed create: read by key, upsert + read"
    );
    let start = count();
    p.create(keyed).await.unwrap();
    assert_eq!(count() - start, 1, "keyed create again: read by key");

    let start = count();
    p.get(&t.id).await.unwrap();
    assert_eq!(count() - start, 1, "get");

    let start = count();
    p.update(&t.id, TicketPatch::new().subject("renamed"))
        .await
        .unwrap();
    assert_eq!(count() - start, 1, "update: PATCH + read");

    let start = count();
    p.change_status(&t.id, Status::InProgress).await.unwrap();
    assert_eq!(count() - start, 2, "status: read, PATCH + read");

    let start = count();
    p.add_comment(&t.id, NewComment::new("hi").author("Ann"))
        .await
        .unwrap();
    assert_eq!(count() - start, 1, "comment: POST");
    let start = count();
    p.add_comment(&t.id, NewComment::new("keyed").idempotency_key("c-1"))
        .await
        .unwrap();
    assert_eq!(count() - start, 2, "keyed comment: read comments, POST");

    let start = count();
    assert_eq!(p.comments(&t.id).await.unwrap().len(), 2);
    assert_eq!(
        count() - start,
        1,
        "comments: the Case with its CaseComments"
    );
    let start = count();
    let e = p.comments(&unknown_case_id()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(count() - start, 1, "comments of a missing Case");

    let start = count();
    let page = p.list(&TicketQuery::new().page_size(2)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    // The fake's batch is 3 rows: LIMIT 3 comes back in one.
    assert_eq!(count() - start, 1, "a page of a list");
}

#[tokio::test]
async fn looked_up_users_are_kept_on_disk_for_the_next_process() {
    let sf = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let config = minimal_config(&sf)
        .metadata_cache(true)
        .cache_dir(dir.path());
    let first = provider(config.clone());
    let id = first
        .create(NewTicket::new("owned").assignee("alice@example.com"))
        .await
        .unwrap()
        .id;
    let count = || sf.faults().stats().requests;

    // A new process: log in, read the Case; the owner's email comes from the cache.
    let start = count();
    let second = provider(config.clone());
    let t = second.get(&id).await.unwrap();
    assert_eq!(t.assignee.as_deref(), Some("alice@example.com"));
    assert_eq!(count() - start, 2, "token + the Case, no user lookup");
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert!(text.contains("alice@example.com"));
    for secret in [sf.client_secret(), "access_token", "!AQfake"] {
        assert!(!text.contains(secret), "no secret on disk: {text}");
    }

    // Corrupt: ignored, looked up again.
    let path = files[0].as_ref().unwrap().path();
    std::fs::write(&path, b"\x00garbage").unwrap();
    let start = count();
    let third = provider(config.clone());
    assert_eq!(
        third.get(&id).await.unwrap().assignee.as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(count() - start, 3, "token + the Case + the user lookup");

    // Turned off: nothing read or written.
    let start = count();
    let off = provider(config.metadata_cache(false));
    off.get(&id).await.unwrap();
    assert_eq!(count() - start, 3);

    // A zero TTL keeps nothing in the process either.
    let p = provider(minimal_config(&sf).metadata_ttl_secs(0));
    p.get(&id).await.unwrap();
    let start = count();
    p.get(&id).await.unwrap();
    assert_eq!(count() - start, 2, "the Case + the user lookup again");
}

#[tokio::test]
async fn requests_are_paced_to_the_configured_rate() {
    let sf = fake().await;
    // 300 a minute: 5 a second, bursts of 5.
    let p = provider(minimal_config(&sf).requests_per_minute(300));
    let id = p.create(NewTicket::new("paced")).await.unwrap().id; // token, POST, GET (+ user)
    let start = Instant::now();
    for _ in 0..10 {
        p.get(&id).await.unwrap();
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1_000) && took < Duration::from_secs(5),
        "10 reads at 5/s after a spent burst: {took:?}"
    );
}

#[tokio::test]
async fn the_pace_follows_the_daily_allowance_and_a_limit_answer_holds_requests() {
    let sf = fake().await;
    let p = provider(minimal_config(&sf).requests_per_minute(6000));
    let id = p.create(NewTicket::new("limits")).await.unwrap().id;
    assert_eq!(p.paced_per_minute(), 6000);
    // 1 % of the allowance left: a tenth of the rate.
    sf.set_api_usage(14_849, 15_000);
    p.get(&id).await.unwrap();
    assert_eq!(p.paced_per_minute(), 600, "{:?}", p.api_usage());
    sf.set_api_usage(0, 15_000);
    p.get(&id).await.unwrap();
    assert_eq!(p.paced_per_minute(), 6000);

    // REQUEST_LIMIT_EXCEEDED holds the account (Salesforce gives no Retry-After: 1 s): the
    // next request is refused at once, unsent, and the retry layer waits the hold out.
    sf.faults().fail_next(1, 429);
    let e = p.get(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    let sent = sf.faults().stats().requests;
    let held = p.get(&id).await.unwrap_err();
    assert_eq!(held.kind(), ErrorKind::RateLimited, "{held}");
    assert!(
        held.was_not_applied() && held.retry_after().is_some(),
        "{held:?}"
    );
    assert_eq!(sf.faults().stats().requests, sent, "nothing was sent");
    let start = Instant::now();
    let retried = tickets_core::layers::with_retry(
        std::sync::Arc::new(p) as tickets_core::DynProvider,
        tickets_core::layers::RetryPolicy::default(),
    );
    retried.get(&id).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(800),
        "{:?}",
        start.elapsed()
    );
}
