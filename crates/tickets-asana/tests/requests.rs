//! Requests per operation (issue 16), counted against the fake Asana with warm caches: the
//! table in the README is held here. Also the keyed create's bounded marker scan and the
//! client-side pacing at `requests_per_minute`.

use std::time::{Duration, Instant};

use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::{
    NewAttachment, NewComment, NewTicket, Status, TicketPatch, TicketProvider, TicketQuery,
};
use tickets_fakes::asana::FakeAsana;

fn config(fake: &FakeAsana) -> AsanaConfig {
    AsanaConfig::new(fake.token(), fake.project())
        .base_url(fake.base_url())
        .workspace(fake.workspace())
        .requests_per_minute(60_000)
}

/// Requests `work` sends.
async fn count<T>(fake: &FakeAsana, work: impl std::future::Future<Output = T>) -> (T, u64) {
    let before = fake.faults().stats().requests;
    let out = work.await;
    (out, fake.faults().stats().requests - before)
}

#[tokio::test]
async fn each_operation_costs_what_the_readme_says() {
    let fake = FakeAsana::start().await.unwrap();
    let p = AsanaProvider::new(config(&fake)).unwrap();
    // Warm the caches: the user, the sections, the priority tags, the assignee's email.
    let warm = p
        .create(NewTicket::new("warm").assignee("alice@example.com"))
        .await
        .unwrap();
    p.get(&warm.id).await.unwrap();
    p.comments(&warm.id).await.unwrap();
    p.change_status(&warm.id, Status::InProgress).await.unwrap();
    p.change_status(&warm.id, Status::Resolved).await.unwrap();

    let (t, n) = count(&fake, p.create(NewTicket::new("one"))).await;
    let t = t.unwrap();
    assert_eq!(n, 1, "create: POST /tasks");
    let (_, n) = count(
        &fake,
        p.create(NewTicket::new("keyed").idempotency_key("req-1")),
    )
    .await;
    assert_eq!(n, 2, "keyed create: marker scan + POST /tasks");
    let (_, n) = count(&fake, p.get(&t.id)).await;
    assert_eq!(n, 1, "get");
    let (_, n) = count(&fake, p.update(&t.id, TicketPatch::new().subject("two"))).await;
    assert_eq!(n, 2, "update a field: GET + PUT");
    let (_, n) = count(&fake, p.change_status(&t.id, Status::Resolved)).await;
    assert_eq!(n, 4, "change_status: get + GET + addTask + PUT");
    let (_, n) = count(&fake, p.add_comment(&t.id, NewComment::new("hi"))).await;
    assert_eq!(n, 2, "comment: GET task + POST story");
    let (_, n) = count(
        &fake,
        p.add_comment(&t.id, NewComment::new("keyed").idempotency_key("c-1")),
    )
    .await;
    assert_eq!(n, 3, "keyed comment: GET task + GET stories + POST story");
    let (_, n) = count(&fake, p.comments(&t.id)).await;
    assert_eq!(n, 2, "comments: GET task + GET stories");
    let (_, n) = count(&fake, p.history(&t.id)).await;
    assert_eq!(n, 2, "history: GET task + GET stories");
    let (_, n) = count(&fake, p.list(&TicketQuery::new().page_size(10))).await;
    assert_eq!(n, 1, "a list page");
    let (c, n) = count(&fake, p.changes(None)).await;
    assert_eq!(n, 1, "changes");
    let (_, n) = count(&fake, p.changes(Some(&c.unwrap().next))).await;
    assert_eq!(n, 1, "changes since a token");
    let (a, n) = count(
        &fake,
        p.add_attachment(&t.id, NewAttachment::from_bytes("a.txt", b"a".to_vec())),
    )
    .await;
    assert_eq!(n, 2, "add_attachment: GET task + POST /attachments");
    let (_, n) = count(&fake, p.attachments(&t.id)).await;
    assert_eq!(n, 2, "attachments: GET task + GET /attachments");
    let (c, n) = count(&fake, p.read_attachment(&a.unwrap().id)).await;
    c.unwrap().bytes().await.unwrap();
    // The download itself is on the fake's admin path, which its counter leaves out.
    assert_eq!(n, 2, "read_attachment: record + task (+ the download)");
    let (d, n) = count(&fake, p.delete(&t.id)).await;
    d.unwrap();
    assert_eq!(n, 2, "delete: GET + DELETE");
    assert!(fake.task(t.id.as_str()).is_none(), "deleted in Asana");
}

#[tokio::test]
async fn a_keyed_create_scans_only_recent_tasks_not_the_project() {
    let fake = FakeAsana::start().await.unwrap();
    let p = AsanaProvider::new(config(&fake)).unwrap();
    for i in 0..250 {
        p.create(NewTicket::new(format!("old {i}"))).await.unwrap();
    }
    // Made two days ago: outside the default 24-hour window.
    fake.age_tasks(Duration::from_secs(48 * 3600));
    let (t, n) = count(
        &fake,
        p.create(NewTicket::new("keyed").idempotency_key("bounded-1")),
    )
    .await;
    let t = t.unwrap();
    assert_eq!(
        n, 2,
        "one page of recent tasks + POST, whatever the project's size"
    );
    // Another process (no memory of the key) finds it in the window: scan + read.
    let other = AsanaProvider::new(config(&fake)).unwrap();
    let (again, n) = count(
        &fake,
        other.create(NewTicket::new("keyed").idempotency_key("bounded-1")),
    )
    .await;
    assert_eq!(again.unwrap().id, t.id);
    assert_eq!(n, 2, "scan + GET of the task found");
    // The whole project (window 0) pages through every task's notes.
    let mut whole = config(&fake);
    whole.idempotency_window_hours = 0;
    let whole = AsanaProvider::new(whole).unwrap();
    let (_, n) = count(
        &fake,
        whole.create(NewTicket::new("keyed").idempotency_key("bounded-1")),
    )
    .await;
    assert!(n >= 4, "3 pages of 100 + GET: {n}");
}

#[tokio::test]
async fn requests_are_paced_at_requests_per_minute_and_a_429_holds_them() {
    let fake = FakeAsana::start().await.unwrap();
    let p = AsanaProvider::new(config(&fake)).unwrap();
    let t = p.create(NewTicket::new("paced")).await.unwrap();
    // 600 a minute: bursts of 4, then one every 100 ms.
    let paced = AsanaProvider::new(config(&fake).requests_per_minute(600)).unwrap();
    let started = Instant::now();
    for _ in 0..14 {
        paced.get(&t.id).await.unwrap();
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "14 at 10/s after 4: {took:?}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    // A 429 (Retry-After: 1) holds the next request of every client of the token.
    let fresh = AsanaProvider::new(config(&fake).requests_per_minute(6_000)).unwrap();
    fake.faults().fail_next(1, 429);
    assert!(fresh.get(&t.id).await.is_err());
    // While held, a request is refused at once, unsent, with the rest of the hold as its
    // retry_after (a caller holding sync claims must not sleep inside the call)...
    let same_token = AsanaProvider::new(config(&fake).requests_per_minute(6_000)).unwrap();
    let sent = fake.faults().stats().requests;
    let e = same_token.get(&t.id).await.unwrap_err();
    assert_eq!(e.kind(), tickets_core::ErrorKind::RateLimited, "{e}");
    assert!(e.was_not_applied());
    assert!(
        e.retry_after().is_some_and(|d| d <= Duration::from_secs(1)),
        "{e:?}"
    );
    assert_eq!(fake.faults().stats().requests, sent, "nothing was sent");
    // ...and the retry layer waits it out.
    let started = Instant::now();
    let retried = tickets_core::layers::with_retry(
        std::sync::Arc::new(same_token) as tickets_core::DynProvider,
        tickets_core::layers::RetryPolicy::default(),
    );
    retried.get(&t.id).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "waited for Retry-After: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_user_and_sections_are_kept_across_processes_in_the_cache_dir() {
    let fake = FakeAsana::start().await.unwrap();
    let dir = std::env::temp_dir().join(format!("asana-cache-{}", fake.project()));
    let cached = || config(&fake).disk_cache(Some(dir.display().to_string()));
    // The first "process" reads the sections and the user, and keeps them.
    let first = AsanaProvider::new(cached()).unwrap();
    let t = first.create(NewTicket::new("one")).await.unwrap();
    first.comments(&t.id).await.unwrap();
    // The next one reads neither: a create is its POST, comments the task and stories.
    let next = AsanaProvider::new(cached()).unwrap();
    let (_, n) = count(&fake, next.create(NewTicket::new("two"))).await;
    assert_eq!(n, 1, "POST /tasks only");
    let (_, n) = count(&fake, next.comments(&t.id)).await;
    assert_eq!(n, 2, "GET task + GET stories");
    // Without the disk cache, a new process reads the sections and tags again.
    let off = AsanaProvider::new(config(&fake).disk_cache(None::<String>)).unwrap();
    let (_, n) = count(&fake, off.create(NewTicket::new("three"))).await;
    assert_eq!(n, 3, "sections + tags + POST");
    // Nothing of the token is on disk; a corrupt file is ignored.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(fake.token()), "{text}");
        std::fs::write(&path, b"\x00garbage").unwrap();
    }
    let after = AsanaProvider::new(cached()).unwrap();
    let (t, n) = count(&fake, after.create(NewTicket::new("four"))).await;
    assert!(t.is_ok());
    assert_eq!(n, 3, "corrupt cache ignored: sections + tags + POST");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_long_rate_limit_hold_fails_at_once_instead_of_sleeping_in_the_call() {
    let fake = FakeAsana::start().await.unwrap();
    let p = AsanaProvider::new(config(&fake)).unwrap();
    let t = p.create(NewTicket::new("held")).await.unwrap();
    fake.faults().set_retry_after(30);
    fake.faults().fail_next(1, 429);
    assert!(p.get(&t.id).await.is_err());
    // Another client of the token: refused at once, nothing sent, the wait in the error.
    let other = AsanaProvider::new(config(&fake)).unwrap();
    let started = Instant::now();
    let (e, n) = count(&fake, other.get(&t.id)).await;
    let e = e.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(n, 0, "nothing sent while held");
    assert_eq!(e.kind(), tickets_core::ErrorKind::RateLimited, "{e}");
    assert!(e.was_not_applied());
    let wait = e.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
        "{wait:?}"
    );
}
