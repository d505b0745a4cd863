//! Bugzilla-specific behaviour against the fake: what the shared suite does not check.

use std::sync::Arc;
use std::time::Duration;

use tickets_bugzilla::{ApiKeyIn, BugzillaConfig, BugzillaProvider};
use tickets_core::figment::providers::Format;
use tickets_core::layers::{self, RetryPolicy};
use tickets_core::{
    DynProvider, ErrorKind, HistoryAction, NewComment, NewTicket, Status, TicketId, TicketPatch,
    TicketProvider,
};
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

async fn setup() -> (FakeBugzilla, BugzillaProvider) {
    let fake = FakeBugzilla::start().await.unwrap();
    let p = BugzillaProvider::new(config(&fake)).unwrap();
    (fake, p)
}

fn bug_id(id: &TicketId) -> u64 {
    id.as_str().parse().unwrap()
}

#[tokio::test]
async fn status_changes_walk_the_workflow_and_reopen_clears_the_resolution() {
    let (fake, p) = setup().await;
    let t = p.create(NewTicket::new("walk")).await.unwrap();
    assert_eq!(fake.bug(bug_id(&t.id)).unwrap()["status"], "CONFIRMED");
    // CONFIRMED -> VERIFIED needs RESOLVED in between.
    let closed = p.close(&t.id).await.unwrap();
    assert_eq!(closed.status, Status::Closed);
    let bug = fake.bug(bug_id(&t.id)).unwrap();
    assert_eq!(
        (bug["status"].as_str(), bug["resolution"].as_str()),
        (Some("VERIFIED"), Some("FIXED"))
    );
    let reopened = p.reopen(&t.id).await.unwrap();
    assert_eq!(reopened.status, Status::New);
    let bug = fake.bug(bug_id(&t.id)).unwrap();
    assert_eq!(
        (bug["status"].as_str(), bug["resolution"].as_str()),
        (Some("CONFIRMED"), Some(""))
    );
    // Escalation: marker plus the highest priority.
    let e = p.escalate(&t.id).await.unwrap();
    assert_eq!(e.status, Status::Escalated);
    let bug = fake.bug(bug_id(&t.id)).unwrap();
    assert_eq!(bug["priority"], "Highest");
    assert!(bug["whiteboard"].as_str().unwrap().contains("[escalated]"));
    let cancelled = p.change_status(&t.id, Status::Cancelled).await.unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    let bug = fake.bug(bug_id(&t.id)).unwrap();
    assert_eq!(bug["resolution"], "WONTFIX");
    assert!(!bug["whiteboard"].as_str().unwrap().contains("[escalated]"));
    // A move the core workflow refuses never reaches Bugzilla.
    let err = p.change_status(&t.id, Status::Resolved).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTransition);
    // History reads back the moves with model field names and model statuses (issue 12),
    // never Bugzilla's raw ones.
    let h = p.history(&t.id).await.unwrap();
    assert_eq!(h[0].action, HistoryAction::Created);
    let moves: Vec<(Option<&str>, Option<&str>)> = h
        .iter()
        .filter(|e| e.action == HistoryAction::StatusChange)
        .map(|e| (e.old_value.as_deref(), e.new_value.as_deref()))
        .collect();
    // Changes made within one second fold into one group, in no fixed order (as on a real
    // Bugzilla), so the steps in between are a best reading; the chain is exact: it starts at
    // new, each move starts where the last ended, and it ends where the bug is.
    assert_eq!(moves.first().map(|m| m.0), Some(Some("new")), "{moves:?}");
    assert_eq!(
        moves.last().map(|m| m.1),
        Some(Some("cancelled")),
        "{moves:?}"
    );
    assert!(moves.windows(2).all(|w| w[0].1 == w[1].0), "{moves:?}");
    assert!(moves.iter().any(|m| m.1 == Some("closed")), "{moves:?}");
    let raw = [
        "CONFIRMED",
        "RESOLVED",
        "VERIFIED",
        "IN_PROGRESS",
        "FIXED",
        "WONTFIX",
    ];
    assert!(
        moves
            .iter()
            .all(|(a, b)| !raw.contains(&a.unwrap_or("")) && !raw.contains(&b.unwrap_or(""))),
        "{moves:?}"
    );
}

#[tokio::test]
async fn closed_on_create_and_description_updates_become_comments() {
    let (fake, p) = setup().await;
    let t = p
        .create(
            NewTicket::new("born done")
                .description("original")
                .status(Status::Resolved),
        )
        .await
        .unwrap();
    assert_eq!(t.status, Status::Resolved);
    let after = p
        .update(&t.id, TicketPatch::new().description("new words"))
        .await
        .unwrap();
    assert_eq!(after.description, "original", "comment 0 cannot change");
    let comments = p.comments(&t.id).await.unwrap();
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains("new words"));
    assert!(!p.capabilities().edit_description);
    assert_eq!(fake.comments(bug_id(&t.id)).len(), 2);
}

#[tokio::test]
async fn comment_authors_stay_visible_in_bugzilla() {
    let (fake, p) = setup().await;
    let t = p.create(NewTicket::new("talk")).await.unwrap();
    p.add_comment(
        &t.id,
        NewComment::new("from the portal").author("Carol Customer"),
    )
    .await
    .unwrap();
    p.add_comment(&t.id, NewComment::new("mine")).await.unwrap();
    let raw = fake.comments(bug_id(&t.id));
    assert_eq!(
        raw[1]["text"],
        "[tickets] Carol Customer wrote:\n\nfrom the portal"
    );
    assert_eq!(raw[2]["text"], "mine");
    let got = p.comments(&t.id).await.unwrap();
    assert_eq!(got[0].author.as_deref(), Some("Carol Customer"));
    assert_eq!(got[1].author.as_deref(), Some("admin@example.com"));
}

#[tokio::test]
async fn idempotent_create_survives_a_dropped_answer() {
    let (fake, p) = setup().await;
    let p: DynProvider = Arc::new(p);
    let p = layers::with_retry(
        p,
        RetryPolicy {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        },
    );
    // The create is applied, then its connection drops: the retry hits alias_in_use (103)
    // and gets the existing bug.
    fake.faults().drop_next(1);
    let t = p
        .create(NewTicket::new("once").idempotency_key("order-42"))
        .await
        .unwrap();
    assert_eq!(fake.bug_count(), 1);
    assert_eq!(fake.faults().stats().dropped, 1);
    let again = p
        .create(NewTicket::new("once").idempotency_key("order-42"))
        .await
        .unwrap();
    assert_eq!(again.id, t.id);
    assert_eq!(fake.bug_count(), 1);
}

#[tokio::test]
async fn soft_errors_are_retryable_and_not_applied() {
    let (fake, p) = setup().await;
    let t = p.create(NewTicket::new("soft")).await.unwrap();
    fake.soft_errors(1, 100_500);
    let err = p
        .update(&t.id, TicketPatch::new().subject("changed"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_retryable() && err.was_not_applied(), "{err}");
    assert_eq!(fake.bug(bug_id(&t.id)).unwrap()["summary"], "soft");
}

#[tokio::test]
async fn errors_map_and_never_show_the_key() {
    let (fake, p) = setup().await;
    let err = p.get(&TicketId::new("424242")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = p.get(&TicketId::new("no-such-alias")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = p
        .update(
            &TicketId::new("1"),
            TicketPatch::new().assignee("ghost@example.com"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "bug 1 does not exist yet");
    let t = p.create(NewTicket::new("x")).await.unwrap();
    let err = p
        .update(&t.id, TicketPatch::new().assignee("ghost@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    let mut bad = config(&fake);
    bad.api_key = "wrong-key-123456".to_owned().into();
    let err = BugzillaProvider::new(bad)
        .unwrap()
        .get(&t.id)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(!err.to_string().contains("wrong-key-123456"), "{err}");

    // 5.x ignores the header: writes come back as 410, login required.
    let mut header = config(&fake);
    header.api_key_in = ApiKeyIn::Header;
    let err = BugzillaProvider::new(header)
        .unwrap()
        .create(NewTicket::new("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(err.to_string().contains("query_or_body"), "{err}");

    // A wrong REST root: 32614 -> Config.
    let mut wrong = config(&fake);
    wrong.base_url = format!("{}/rest/nope", fake.url());
    let err = BugzillaProvider::new(wrong)
        .unwrap()
        .get(&t.id)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");

    // Nobody listening: Unavailable, not applied, and no key in the text.
    let mut down = config(&fake);
    down.base_url = "http://127.0.0.1:9/rest".into();
    let err = BugzillaProvider::new(down)
        .unwrap()
        .get(&t.id)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.was_not_applied());
    let text = format!("{err} {err:?}");
    assert!(!text.contains(fake.api_key()), "{text}");
}

#[tokio::test]
async fn unknown_product_is_a_config_error() {
    let fake = FakeBugzilla::start().await.unwrap();
    let mut cfg = config(&fake);
    cfg.product = "Nope".into();
    let err = BugzillaProvider::new(cfg)
        .unwrap()
        .create(NewTicket::new("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("product"));
    let mut cfg = config(&fake);
    cfg.component = "Nope".into();
    let err = BugzillaProvider::connect(cfg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("component"), "{err}");
    let ok = BugzillaProvider::connect(config(&fake)).await.unwrap();
    assert_eq!(ok.capabilities().priorities.len(), 5);
}

#[tokio::test]
async fn built_from_config_through_the_registry() {
    let fake = FakeBugzilla::start().await.unwrap();
    let toml = format!(
        "default = \"bz\"\n[backends.bz]\nprovider = \"bugzilla\"\nbase_url = \"{}\"\napi_key = \"{}\"\nproduct = \"{}\"\ncomponent = \"{}\"\n[backends.bz.status_map.new]\nstatus = \"UNCONFIRMED\"\n",
        fake.base_url(),
        fake.api_key(),
        fake.product(),
        fake.component()
    );
    let fig =
        tickets_core::figment::Figment::from(tickets_core::figment::providers::Toml::string(&toml));
    let hub = tickets_core::Tickets::from_figment(fig).await.unwrap();
    let t = hub.create(NewTicket::new("via config")).await.unwrap();
    assert_eq!(t.provider, "bugzilla");
    assert_eq!(t.status, Status::New);
    assert_eq!(fake.bug(bug_id(&t.id)).unwrap()["status"], "UNCONFIRMED");
    let backend = hub.backend("bz").unwrap();
    assert!(!format!("{backend:?}").contains(fake.api_key()));

    let bad = tickets_core::figment::Figment::from(tickets_core::figment::providers::Toml::string(
        "default = \"bz\"\n[backends.bz]\nprovider = \"bugzilla\"\nbase_url = \"ftp://x\"\napi_key = \"k\"\nproduct = \"P\"\ncomponent = \"C\"\n",
    ));
    let err = tickets_core::Tickets::from_figment(bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("base_url"), "{err}");
}

#[tokio::test]
async fn the_requester_is_kept_in_the_description_and_filtered_client_side() {
    let (fake, p) = setup().await;
    let t = p
        .create(
            NewTicket::new("from a customer")
                .description("my printer")
                .requester("carol@example.com"),
        )
        .await
        .unwrap();
    assert_eq!(t.requester.as_deref(), Some("carol@example.com"));
    assert_eq!(t.description, "my printer");
    assert_eq!(
        fake.comments(bug_id(&t.id))[0]["text"],
        "[tickets] carol@example.com reported:\n\nmy printer"
    );
    let mine = p.create(NewTicket::new("internal")).await.unwrap();
    assert_eq!(mine.requester.as_deref(), Some("admin@example.com"));
    let page = p
        .list(&tickets_core::TicketQuery::new().requester("carol@example.com"))
        .await
        .unwrap();
    let ids: Vec<_> = page.items.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids, vec![t.id.clone()]);
    let mut patch = TicketPatch::new();
    patch.requester = tickets_core::Patch::Set("dave@example.com".into());
    let err = p.update(&t.id, patch).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn a_refused_field_change_moves_no_status() {
    let (fake, p) = setup().await;
    let t = p.create(NewTicket::new("atomic-ish")).await.unwrap();
    // Closing takes two steps; the bad assignee rides with the first, so nothing moves.
    let err = p
        .update(
            &t.id,
            TicketPatch::new()
                .status(Status::Closed)
                .assignee("ghost@example.com"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(fake.bug(bug_id(&t.id)).unwrap()["status"], "CONFIRMED");
    let ok = p
        .update(
            &t.id,
            TicketPatch::new()
                .status(Status::Closed)
                .assignee("alice@example.com"),
        )
        .await
        .unwrap();
    assert_eq!(ok.status, Status::Closed);
    assert_eq!(ok.assignee.as_deref(), Some("alice@example.com"));
}

#[tokio::test]
async fn a_bug_the_user_may_not_see_is_permission_denied() {
    let fake = FakeBugzilla::start().await.unwrap();
    let body = serde_json::json!({
        "api_key": fake.api_key(), "product": fake.product(), "component": fake.component(),
        "version": fake.version(), "summary": "secret", "op_sys": "All", "platform": "All",
        "groups": ["security"],
    });
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/bug", fake.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = TicketId::new(answer["id"].to_string());
    let mut cfg = config(&fake);
    cfg.api_key = fake.user_key("bob@example.com").unwrap().to_owned().into();
    cfg.login = Some("bob@example.com".into());
    let bob = BugzillaProvider::new(cfg).unwrap();
    let err = bob.get(&id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    let err = bob
        .add_comment(&id, NewComment::new("let me in"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
}

/// Issue 12: a bug of another component is out of reach for every by-id operation, as for
/// `list`: `NotFound`, and nothing is written to it.
#[tokio::test]
async fn bugs_outside_the_product_and_component_are_not_found() {
    let (fake, p) = setup().await;
    let mut other_cfg = config(&fake);
    other_cfg.component = "Other".into();
    let other = BugzillaProvider::new(other_cfg).unwrap();
    let t = other.create(NewTicket::new("elsewhere")).await.unwrap();
    let before = fake.bug(bug_id(&t.id)).unwrap();
    let kinds = [
        p.get(&t.id).await.map(|_| ()).unwrap_err(),
        p.update(&t.id, TicketPatch::new().subject("taken over"))
            .await
            .map(|_| ())
            .unwrap_err(),
        p.close(&t.id).await.map(|_| ()).unwrap_err(),
        p.comments(&t.id).await.map(|_| ()).unwrap_err(),
        p.add_comment(&t.id, NewComment::new("hello"))
            .await
            .map(|_| ())
            .unwrap_err(),
        p.add_comment(&t.id, NewComment::new("hello").idempotency_key("k-1"))
            .await
            .map(|_| ())
            .unwrap_err(),
        p.history(&t.id).await.map(|_| ()).unwrap_err(),
    ];
    for e in kinds {
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert!(e.to_string().contains("not in product"), "{e}");
    }
    let after = fake.bug(bug_id(&t.id)).unwrap();
    assert_eq!(before, after, "nothing was written out of scope");
    assert_eq!(
        fake.comments(bug_id(&t.id)).len(),
        1,
        "only the description"
    );
    // The other provider still reaches it.
    assert_eq!(other.get(&t.id).await.unwrap().subject, "elsewhere");
}

/// Issue 12: Bugzilla's generic user error (32000, HTTP 400) for a non-integer in an integer
/// custom field is `InvalidInput`; an unset integer field reads as 0, as a real 5.0.6 does.
#[tokio::test]
async fn integer_custom_fields_refuse_text_and_read_zero_when_unset() {
    let fake = FakeBugzilla::start().await.unwrap();
    let mut cfg = config(&fake);
    cfg.custom_fields = [("severity".to_owned(), "cf_severity".to_owned())]
        .into_iter()
        .collect();
    let p = BugzillaProvider::new(cfg).unwrap();
    let t = p.create(NewTicket::new("ints")).await.unwrap();
    assert_eq!(t.custom_fields.get("severity"), Some(&serde_json::json!(0)));
    let err = p
        .update(
            &t.id,
            TicketPatch::new().custom_field("severity", serde_json::json!("lots")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("not an integer"), "{err}");
    let set = p
        .update(
            &t.id,
            TicketPatch::new().custom_field("severity", serde_json::json!(3)),
        )
        .await
        .unwrap();
    assert_eq!(
        set.custom_fields.get("severity"),
        Some(&serde_json::json!(3))
    );
    let cleared = p
        .update(&t.id, TicketPatch::new().clear_custom_field("severity"))
        .await
        .unwrap();
    assert_eq!(
        cleared.custom_fields.get("severity"),
        Some(&serde_json::json!(0))
    );
}
