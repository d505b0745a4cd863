//! The provider against the fake Asana: error mapping, retries (through the retry layer),
//! duplicate-free creates after dropped connections (comments: tests/comments.rs), client-side
//! concurrency limits, config from figment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::layers::{self, RetryPolicy};
use tickets_core::{
    DynProvider, ErrorKind, NewComment, NewTicket, Priority, Status, TicketId, TicketPatch,
    TicketProvider, TicketQuery,
};
use tickets_fakes::asana::FakeAsana;

/// The fake is not Asana: pace at 1,000 a second so the suites stay quick (pacing at
/// Asana's rate has its own tests).
const FAST: u32 = 60_000;

fn config(fake: &FakeAsana) -> AsanaConfig {
    AsanaConfig::new(fake.token(), fake.project())
        .base_url(fake.base_url())
        .requests_per_minute(FAST)
}

fn provider(config: AsanaConfig) -> AsanaProvider {
    AsanaProvider::new(config).unwrap()
}

/// The provider in the retry layer (the one place requests are retried).
fn retried(config: AsanaConfig, policy: RetryPolicy) -> DynProvider {
    layers::with_retry(Arc::new(provider(config)), policy)
}

#[tokio::test]
async fn a_revoked_token_is_unauthenticated_and_never_shown() {
    let fake = FakeAsana::start().await.unwrap();
    let token = fake.add_token(fake.me());
    let p = provider(
        AsanaConfig::new(token.clone(), fake.project())
            .base_url(fake.base_url())
            .requests_per_minute(FAST),
    );
    let t = p.create(NewTicket::new("works")).await.unwrap();
    fake.revoke_token(&token);
    let err = p.get(&t.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    for shown in [err.to_string(), format!("{err:?}"), format!("{p:?}")] {
        assert!(!shown.contains(&token), "token leaked: {shown}");
    }
}

#[tokio::test]
async fn unknown_ids_are_not_found_and_bad_ids_cost_no_request() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(config(&fake));
    let e = p.get(&TicketId::new("1209999999999999")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let before = fake.faults().stats().requests;
    let e = p.get(&TicketId::new("not-a-gid")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(fake.faults().stats().requests, before);
}

#[tokio::test]
async fn premium_features_are_unsupported_with_the_reason() {
    let fake = FakeAsana::start().await.unwrap();
    fake.set_premium(false);
    let p = provider(config(&fake));
    let e = p
        .create(NewTicket::new("x").custom_field("customer", "ACME"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.to_string().contains("premium"), "{e}");
}

#[tokio::test]
async fn rate_limits_wait_for_retry_after() {
    let fake = FakeAsana::start().await.unwrap();
    let p = retried(config(&fake), RetryPolicy::default());
    let t = p.create(NewTicket::new("x")).await.unwrap();
    fake.faults().fail_next(1, 429);
    let started = Instant::now();
    p.get(&t.id).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After: 1 was honoured"
    );
    assert_eq!(fake.faults().stats().injected, 1, "one 429 was answered");

    let impatient = retried(
        config(&fake),
        RetryPolicy {
            max_retry_after: Duration::ZERO,
            ..RetryPolicy::default()
        },
    );
    fake.faults().fail_next(1, 429);
    let e = impatient.get(&t.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
    assert!(e.was_not_applied());
}

#[tokio::test]
async fn the_provider_sends_each_request_once_and_the_retry_layer_retries() {
    let fake = FakeAsana::start().await.unwrap();
    let once = provider(config(&fake));
    let t = once.create(NewTicket::new("x")).await.unwrap();
    let before = fake.faults().stats().requests;
    fake.faults().fail_next(1, 502);
    let e = once.get(&t.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.to_string().contains("phrase"), "{e}");
    assert_eq!(
        fake.faults().stats().requests - before,
        1,
        "no retry inside the provider"
    );
    let p = retried(
        config(&fake),
        RetryPolicy {
            min_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        },
    );
    fake.faults().fail_next(3, 503);
    assert_eq!(p.get(&t.id).await.unwrap().id, t.id);
}

#[tokio::test]
async fn time_outs_and_refused_connections_have_their_kinds() {
    let fake = FakeAsana::start().await.unwrap();
    let mut c = config(&fake);
    c.timeout_secs = 1;
    let p = provider(c);
    let t = p.create(NewTicket::new("x")).await.unwrap();
    fake.faults().set_latency(Duration::from_millis(1500));
    let e = p.get(&t.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains("time-out"), "{e}");
    assert!(e.was_not_applied(), "a read changes nothing");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/1.0", closed.local_addr().unwrap());
    drop(closed);
    let c = AsanaConfig::new("0/secret-token", "1").base_url(url);
    let e = provider(c).get(&t.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.was_not_applied(),
        "a refused connection was certainly not applied"
    );
    assert!(!format!("{e} {e:?}").contains("secret-token"));
    assert_eq!(
        e.to_string().matches("error sending request").count(),
        0,
        "said once, in our words: {e}"
    );
}

fn named(fake: &FakeAsana, name: &str) -> usize {
    fake.project_tasks()
        .iter()
        .filter(|g| fake.task(g).is_some_and(|t| t["name"] == name))
        .count()
}

#[tokio::test]
async fn a_create_applied_before_the_connection_dropped_is_not_sent_again() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(config(&fake));
    p.create(NewTicket::new("warm up caches")).await.unwrap();
    fake.faults().drop_next(1);
    let t = p.create(NewTicket::new("dropped once")).await.unwrap();
    assert_eq!(fake.faults().stats().dropped, 1);
    assert_eq!(named(&fake, "dropped once"), 1);
    assert_eq!(p.get(&t.id).await.unwrap().subject, "dropped once");

    // A keyed create is idempotent: the retry layer sends it again, and the key is found.
    let layered = retried(config(&fake), RetryPolicy::default());
    fake.faults().drop_next(1);
    let k = layered
        .create(
            NewTicket::new("keyed")
                .description("d")
                .idempotency_key("k-1"),
        )
        .await
        .unwrap();
    assert_eq!(named(&fake, "keyed"), 1);
    assert_eq!(
        k.description, "d",
        "the key marker is not part of the description"
    );
    // Another process (no local memory of the key) finds it by its marker.
    let other = provider(config(&fake));
    let again = other
        .create(NewTicket::new("keyed").idempotency_key("k-1"))
        .await
        .unwrap();
    assert_eq!(again.id, k.id);
    assert_eq!(named(&fake, "keyed"), 1);
    let mut windowed = config(&fake);
    windowed.idempotency_window_hours = 1;
    let third = provider(windowed)
        .create(NewTicket::new("keyed").idempotency_key("k-1"))
        .await
        .unwrap();
    assert_eq!(third.id, k.id, "found within the window");
    // Comments after dropped answers: tests/comments.rs.
}

#[tokio::test]
async fn sections_and_tags_made_before_a_dropped_connection_are_not_made_twice() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(config(&fake));
    // The first write is creating the "New" section; its answer is lost.
    fake.faults().drop_next(1);
    p.create(NewTicket::new("first")).await.unwrap();
    assert_eq!(fake.faults().stats().dropped, 1);
    assert_eq!(fake.section_names(), ["Untitled section", "New"]);
    // The next write creates the "Medium" priority tag.
    let other = provider(config(&fake));
    fake.faults().drop_next(1);
    other
        .create(NewTicket::new("second").tag("fresh"))
        .await
        .unwrap();
    let tags = fake.tag_names();
    assert_eq!(tags.iter().filter(|t| *t == "fresh").count(), 1, "{tags:?}");
    assert_eq!(
        tags.iter().filter(|t| *t == "Medium").count(),
        1,
        "{tags:?}"
    );
}

#[tokio::test]
async fn client_limits_keep_writes_under_asanas_concurrency_limit() {
    let fake = FakeAsana::start().await.unwrap();
    fake.faults().set_latency(Duration::from_millis(20));
    let p: DynProvider = Arc::new(provider(config(&fake)));
    p.create(NewTicket::new("warm")).await.unwrap();
    let all = join_all((0..40).map(|i| {
        let p = p.clone();
        async move { p.create(NewTicket::new(format!("c{i}"))).await }
    }))
    .await;
    assert!(all.iter().all(Result::is_ok));
    assert_eq!(fake.faults().stats().rate_limited, 0);
}

#[tokio::test]
async fn statuses_move_sections_and_completion() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(config(&fake));
    let t = p
        .create(NewTicket::new("walk").priority(Priority::Critical))
        .await
        .unwrap();
    let t = p.change_status(&t.id, Status::InProgress).await.unwrap();
    assert_eq!(t.status, Status::InProgress);
    let t = p.change_status(&t.id, Status::Resolved).await.unwrap();
    let raw = fake.task(t.id.as_str()).unwrap();
    assert_eq!(raw["completed"], true);
    assert_eq!(raw["memberships"][0]["section"]["name"], "Resolved");
    let t = p.reopen(&t.id).await.unwrap();
    assert_eq!(t.status, Status::New);
    assert_eq!(fake.task(t.id.as_str()).unwrap()["completed"], false);
    let tags: Vec<String> = fake.task(t.id.as_str()).unwrap()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tags, ["Critical"]);
    assert!(fake.section_names().contains(&"In Progress".to_owned()));
}

#[tokio::test]
async fn priority_in_an_enum_field_when_configured() {
    let fake = FakeAsana::start().await.unwrap();
    let mut c = config(&fake);
    c.priority_field = Some("Priority".into());
    let p = provider(c);
    let t = p
        .create(NewTicket::new("x").priority(Priority::Critical).tag("High"))
        .await
        .unwrap();
    assert_eq!(t.priority, Priority::Critical);
    assert_eq!(
        t.tags,
        ["High"],
        "tags are plain tags with a priority field"
    );
    assert!(t.custom_fields.is_empty());
    let t = p
        .update(&t.id, TicketPatch::new().priority(Priority::Low))
        .await
        .unwrap();
    assert_eq!(t.priority, Priority::Low);
    let raw = fake.task(t.id.as_str()).unwrap();
    assert_eq!(raw["custom_fields"][0]["enum_value"]["name"], "Low");
}

#[tokio::test]
async fn what_asana_cannot_hold_is_refused() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(config(&fake));
    let e = p
        .create(NewTicket::new("x").requester("carol@example.com"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let t = p.create(NewTicket::new("x")).await.unwrap();
    let e = p
        .add_comment(&t.id, NewComment::new("secret").private())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let e = p
        .create(NewTicket::new("x").assignee("nobody@example.com"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let e = p.create(NewTicket::new("x").tag("Low")).await.unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidInput,
        "priority tag names are reserved"
    );
}

#[tokio::test]
async fn without_create_missing_a_missing_section_is_a_config_error() {
    let fake = FakeAsana::start().await.unwrap();
    let mut c = config(&fake);
    c.create_missing = false;
    let e = provider(c).create(NewTicket::new("x")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("New"), "{e}");
    let wrong = AsanaConfig::new(fake.token(), "1")
        .base_url(fake.base_url())
        .requests_per_minute(FAST);
    let e = provider(wrong)
        .create(NewTicket::new("x"))
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Config,
        "a missing project is a config problem: {e}"
    );
}

#[tokio::test]
async fn lists_follow_pages_and_an_unknown_tag_lists_nothing() {
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(config(&fake));
    for i in 0..7 {
        p.create(NewTicket::new(format!("t{i}")).tag("batch"))
            .await
            .unwrap();
    }
    let mut q = TicketQuery::new().tag("batch").page_size(3);
    let mut seen = 0;
    loop {
        let page = p.list(&q).await.unwrap();
        seen += page.items.len();
        match page.next {
            Some(c) => q = q.cursor(c),
            None => break,
        }
    }
    assert_eq!(seen, 7);
    let none = p.list(&TicketQuery::new().tag("never-used")).await.unwrap();
    assert!(none.items.is_empty() && none.next.is_none());
}

#[tokio::test]
async fn built_from_config_with_numeric_ids() {
    use tickets_core::figment::{Figment, providers::Serialized};
    let fake = FakeAsana::start().await.unwrap();
    let project: u64 = fake.project().parse().unwrap();
    let figment = Figment::from(Serialized::defaults(serde_json::json!({
        "provider": "asana", "token": fake.token(), "asana_project": project,
        "base_url": fake.base_url(), "page_size": 20,
    })));
    let hub = tickets_core::Tickets::from_figment(figment).await.unwrap();
    let t = hub.create(NewTicket::new("via config")).await.unwrap();
    assert_eq!(t.provider, "asana");
    let bad = Figment::from(Serialized::defaults(serde_json::json!({
        "provider": "asana", "token": "t", "project": 1, "page_size": 500,
    })));
    let e = tickets_core::Tickets::from_figment(bad).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("page_size"), "{e}");
}

#[tokio::test]
async fn a_prepared_reqwest_client_can_be_used() {
    let fake = FakeAsana::start().await.unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let p = AsanaProvider::with_http(config(&fake), http).unwrap();
    let t = p.create(NewTicket::new("through my client")).await.unwrap();
    assert_eq!(p.get(&t.id).await.unwrap().subject, "through my client");
    let bad = AsanaConfig::new(fake.token(), "x")
        .base_url(fake.base_url())
        .requests_per_minute(FAST);
    let e = AsanaProvider::with_http(bad, reqwest::Client::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
}
