//! Requests per operation (issue 16), counted by the fake (`FaultStats::requests`), with the
//! metadata warm: the numbers in the README's table.

use serde_json::json;
use tickets_bugzilla::{BugzillaConfig, BugzillaProvider};
use tickets_core::{NewComment, NewTicket, Status, TicketPatch, TicketProvider, TicketQuery};
use tickets_fakes::bugzilla::FakeBugzilla;

fn config(fake: &FakeBugzilla) -> BugzillaConfig {
    let mut cfg = BugzillaConfig::new(
        fake.base_url(),
        fake.api_key(),
        fake.product(),
        fake.component(),
    );
    cfg.version = fake.version().to_owned();
    cfg.login = Some(fake.admin_login().to_owned());
    cfg
}

/// A fresh provider (nothing remembered but the metadata) and a request counter.
async fn warm(fake: &FakeBugzilla) -> BugzillaProvider {
    BugzillaProvider::connect(config(fake)).await.unwrap()
}

#[tokio::test]
async fn each_operation_sends_the_fewest_requests() {
    let fake = FakeBugzilla::start().await.unwrap();
    let count = || fake.faults().stats().requests;
    let p = warm(&fake).await;

    let start = count();
    let t = p
        .create(NewTicket::new("counted").description("  body \r\n"))
        .await
        .unwrap();
    assert_eq!(count() - start, 2, "create: POST, GET the bug");
    assert_eq!(t.description, "  body", "comment 0 as Bugzilla stores it");

    let fresh = warm(&fake).await;
    let start = count();
    let got = fresh.get(&t.id).await.unwrap();
    assert_eq!(
        count() - start,
        2,
        "get: the bug and its comments, in parallel"
    );
    assert_eq!(got, t, "create answers what get reads");

    let start = count();
    let moved = fresh
        .change_status(&t.id, Status::InProgress)
        .await
        .unwrap();
    assert_eq!(count() - start, 2, "status change: GET the bug, one PUT");
    assert_eq!(moved, fresh.get(&t.id).await.unwrap());

    let start = count();
    let closed = fresh.close(&t.id).await.unwrap();
    assert_eq!(
        count() - start,
        3,
        "close: GET the bug, PUT RESOLVED, PUT VERIFIED (Bugzilla allows no shortcut)"
    );
    assert_eq!(closed, fresh.get(&t.id).await.unwrap());

    // A cold provider also reads comment 0 once, in parallel with the bug.
    let cold = warm(&fake).await;
    let start = count();
    cold.reopen(&t.id).await.unwrap();
    assert_eq!(
        count() - start,
        3,
        "reopen, cold: GET bug + comments, one PUT"
    );

    let start = count();
    let updated = fresh
        .update(
            &t.id,
            TicketPatch::new()
                .assignee("alice@example.com")
                .watchers(vec!["bob@example.com".to_owned()])
                .subject("counted, renamed")
                .due(chrono::NaiveDate::from_ymd_opt(2030, 1, 2).unwrap())
                .tags(vec!["vip".to_owned()]),
        )
        .await
        .unwrap();
    assert_eq!(count() - start, 2, "update: GET the bug, one PUT");
    assert_eq!(updated, fresh.get(&t.id).await.unwrap());

    let start = count();
    fresh
        .add_comment(&t.id, NewComment::new("plain"))
        .await
        .unwrap();
    assert_eq!(
        count() - start,
        1,
        "comment on a bug seen in scope: one POST"
    );
    let start = count();
    fresh.comments(&t.id).await.unwrap();
    assert_eq!(count() - start, 1, "comments: one GET");
}

#[tokio::test]
async fn a_list_page_costs_two_requests_whatever_its_size() {
    let fake = FakeBugzilla::start().await.unwrap();
    let count = || fake.faults().stats().requests;
    let p = warm(&fake).await;
    for i in 0..25 {
        p.create(NewTicket::new(format!("listed {i}")).description(format!("d{i}")))
            .await
            .unwrap();
    }
    let cold = warm(&fake).await;
    let start = count();
    let page = cold.list(&TicketQuery::new().page_size(20)).await.unwrap();
    assert_eq!(page.items.len(), 20);
    assert_eq!(
        count() - start,
        2,
        "one search, one GET of all the page's descriptions"
    );
    assert!(page.items.iter().all(|t| t.description.starts_with('d')));
    let start = count();
    let again = cold.list(&TicketQuery::new().page_size(20)).await.unwrap();
    assert_eq!(
        count() - start,
        1,
        "descriptions remembered: the search alone"
    );
    assert_eq!(again.items, page.items);
    let _ = json!({});
}

/// Marker statuses and the requester are searched server-side: one page finds the one ticket
/// among many (was a read of every bug's comment 0 first).
#[tokio::test]
async fn marker_and_requester_filters_are_searched_server_side() {
    let fake = FakeBugzilla::start().await.unwrap();
    let count = || fake.faults().stats().requests;
    let p = warm(&fake).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let t = p.create(NewTicket::new(format!("many {i}"))).await.unwrap();
        ids.push(t.id);
    }
    p.change_status(&ids[17], Status::Triaged).await.unwrap();
    let carol = p
        .create(NewTicket::new("from carol").requester("carol@example.com"))
        .await
        .unwrap();
    let cold = warm(&fake).await;
    let mut q = TicketQuery::new().page_size(10);
    q.status = vec![Status::Triaged];
    let start = count();
    let page = cold.list(&q).await.unwrap();
    assert_eq!(count() - start, 2, "one search, one description read");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, ids[17]);
    assert!(page.next.is_none(), "one page, not three");
    let start = count();
    let page = cold
        .list(
            &TicketQuery::new()
                .requester("carol@example.com")
                .page_size(10),
        )
        .await
        .unwrap();
    assert_eq!(count() - start, 2);
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, carol.id);
    assert!(page.next.is_none());
    // The API user as requester: the reporter, without a requester line.
    let mine = cold
        .list(
            &TicketQuery::new()
                .requester("admin@example.com")
                .page_size(50),
        )
        .await
        .unwrap();
    assert_eq!(mine.items.len(), 30);
}

/// `requests_per_minute` paces every request (a token bucket); unset sends at once.
#[tokio::test]
async fn requests_per_minute_paces_the_client() {
    let fake = FakeBugzilla::start().await.unwrap();
    let mut cfg = config(&fake);
    cfg.requests_per_minute = Some(600); // 10 a second, bursts of 10
    cfg.priority_map = tickets_core::Priority::ALL
        .iter()
        .map(|p| (*p, "Normal".to_owned()))
        .collect();
    let p = BugzillaProvider::new(cfg).unwrap();
    let started = std::time::Instant::now();
    for _ in 0..25 {
        p.client().get("/version", &[]).await.unwrap();
    }
    let took = started.elapsed();
    // 10 at once, then 15 more at 10 a second.
    assert!(took >= std::time::Duration::from_millis(1_400), "{took:?}");
    let unpaced = BugzillaProvider::new(config(&fake)).unwrap();
    let started = std::time::Instant::now();
    for _ in 0..25 {
        unpaced.client().get("/version", &[]).await.unwrap();
    }
    assert!(started.elapsed() < std::time::Duration::from_millis(1_000));
}

/// A 429 from the server holds the paced client until its `Retry-After`: meanwhile requests
/// are refused at once, unsent, with the rest of the hold as their `retry_after`.
#[tokio::test]
async fn a_429_holds_the_paced_client() {
    let fake = FakeBugzilla::start().await.unwrap();
    let mut cfg = config(&fake);
    cfg.requests_per_minute = Some(60_000);
    let p = BugzillaProvider::new(cfg).unwrap();
    fake.faults().fail_next(1, 429);
    let err = p.client().get("/version", &[]).await.unwrap_err();
    assert_eq!(err.kind(), tickets_core::ErrorKind::RateLimited);
    let wait = err.retry_after().expect("the fake sends Retry-After");
    let sent = fake.faults().stats().requests;
    let held = p.client().get("/version", &[]).await.unwrap_err();
    assert_eq!(held.kind(), tickets_core::ErrorKind::RateLimited, "{held}");
    assert!(held.was_not_applied());
    assert!(held.retry_after().is_some_and(|d| d <= wait), "{held:?}");
    assert_eq!(fake.faults().stats().requests, sent, "nothing was sent");
    tokio::time::sleep(held.retry_after().unwrap()).await;
    p.client().get("/version", &[]).await.unwrap();
}

/// Attachments: one POST (on a bug seen in scope), one GET to list, one to read; a keyed one
/// lists first and is found the second time.
#[tokio::test]
async fn attachments_cost_one_request_each() {
    use tickets_core::NewAttachment;
    let fake = FakeBugzilla::start().await.unwrap();
    let count = || fake.faults().stats().requests;
    let p = warm(&fake).await;
    let t = p.create(NewTicket::new("files")).await.unwrap();
    let start = count();
    let a = p
        .add_attachment(&t.id, NewAttachment::from_bytes("a.txt", b"hi".to_vec()))
        .await
        .unwrap();
    assert_eq!(count() - start, 1, "one POST");
    let start = count();
    let listed = p.attachments(&t.id).await.unwrap();
    assert_eq!(count() - start, 1);
    assert_eq!(listed[0].id, a.id);
    let start = count();
    let back = p.read_attachment(&a.id).await.unwrap();
    assert_eq!(count() - start, 1);
    assert_eq!(back.bytes().await.unwrap().as_ref(), b"hi");
    let keyed = || NewAttachment::from_bytes("k.bin", vec![1, 2, 3]).idempotency_key("key-1");
    let start = count();
    let first = p.add_attachment(&t.id, keyed()).await.unwrap();
    assert_eq!(count() - start, 2, "list, then POST");
    let start = count();
    let again = p.add_attachment(&t.id, keyed()).await.unwrap();
    assert_eq!(count() - start, 1, "found by its key");
    assert_eq!(
        (first.id, first.idempotency_key),
        (again.id, again.idempotency_key)
    );
    // Too large: refused before anything is sent, naming the limit.
    let start = count();
    let err = p
        .add_attachment(&t.id, NewAttachment::from_bytes("big", vec![0; 1_024_001]))
        .await
        .unwrap_err();
    assert_eq!(count() - start, 0);
    assert_eq!(err.kind(), tickets_core::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("1024000"), "{err}");
    // Attachments of a bug in another component are out of reach.
    let mut other_cfg = config(&fake);
    other_cfg.component = "Other".into();
    let other = BugzillaProvider::new(other_cfg).unwrap();
    let elsewhere = other.create(NewTicket::new("elsewhere")).await.unwrap();
    let theirs = other
        .add_attachment(
            &elsewhere.id,
            NewAttachment::from_bytes("x.txt", b"x".to_vec()),
        )
        .await
        .unwrap();
    for e in [
        p.read_attachment(&theirs.id).await.map(|_| ()).unwrap_err(),
        p.attachments(&elsewhere.id).await.map(|_| ()).unwrap_err(),
        p.add_attachment(
            &elsewhere.id,
            NewAttachment::from_bytes("y.txt", b"y".to_vec()),
        )
        .await
        .map(|_| ())
        .unwrap_err(),
    ] {
        assert_eq!(e.kind(), tickets_core::ErrorKind::NotFound, "{e}");
    }
    assert_eq!(
        p.read_attachment("nope")
            .await
            .map(|_| ())
            .unwrap_err()
            .kind(),
        tickets_core::ErrorKind::NotFound
    );
}
