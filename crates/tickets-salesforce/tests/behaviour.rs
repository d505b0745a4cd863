//! Salesforce-specific behaviour against the fake: OAuth flows, session renewal, limits,
//! SOQL escaping in every filter, assignment, mapping and error kinds.

mod common;

use std::sync::Arc;

use futures::future::join_all;
use serde_json::json;
use tickets_core::{
    ErrorKind, NewComment, NewTicket, Priority, Status, TicketId, TicketPatch, TicketProvider,
    TicketProviderExt, TicketQuery,
};
use tickets_fakes::salesforce::TEST_JWT_PRIVATE_KEY;

use common::*;

#[tokio::test]
async fn jwt_bearer_password_and_refresh_token_flows() {
    let sf = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("jwt.pem");
    std::fs::write(&key, TEST_JWT_PRIVATE_KEY).unwrap();
    let base = minimal_config(&sf);
    let flows = [
        base.clone()
            .jwt_bearer(sf.username(), key.clone())
            .without_client_secret(),
        base.clone().password(sf.username(), sf.password()),
        base.clone()
            .refresh_token(sf.refresh_token())
            .without_client_secret(),
    ];
    let admin = sf.user_id(sf.username()).unwrap();
    for config in flows {
        let flow = config.flow;
        let p = provider(config);
        let t = p
            .create(NewTicket::new(format!("via {flow}")))
            .await
            .unwrap();
        // These flows run as the admin user, who therefore owns "unassigned" Cases.
        assert_eq!(t.assignee, None, "{flow}");
        assert_eq!(
            sf.record("Case", t.id.as_str()).unwrap()["CreatedById"],
            admin.as_str()
        );
    }

    // A key the fake does not trust is refused as Unauthenticated.
    let other = dir.path().join("other.pem");
    let foreign = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
    std::fs::write(&other, foreign).unwrap();
    let bad = base.clone().jwt_bearer(sf.username(), other);
    let e = bad.settings(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("private_key"), "{e}");
    let wrong = base.password(sf.username(), "wrong-password");
    let e = provider(wrong).get(&unknown_case_id()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert!(e.to_string().contains("invalid_grant"), "{e}");
    assert!(!e.to_string().contains("wrong-password"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_sessions_are_renewed_once_for_all_callers() {
    let sf = fake().await;
    let p = Arc::new(provider(minimal_config(&sf)));
    let t = p.create(NewTicket::new("renew me")).await.unwrap();
    assert_eq!(p.client().logins(), 1);
    sf.expire_tokens();
    let issued = sf.tokens_issued();
    let gets = join_all((0..20).map(|_| {
        let p = p.clone();
        let id = t.id.clone();
        tokio::spawn(async move { p.get(&id).await })
    }))
    .await;
    for g in gets {
        assert_eq!(g.unwrap().unwrap().id, t.id);
    }
    assert_eq!(p.client().logins(), 2, "one renewal shared by 20 callers");
    assert_eq!(sf.tokens_issued(), issued + 1);
}

#[tokio::test]
async fn a_session_refused_twice_is_unauthenticated_without_looping() {
    let sf = fake().await;
    let p = provider(minimal_config(&sf));
    let t = p.create(NewTicket::new("x")).await.unwrap();
    let before = sf.faults().stats().requests;
    // The GET, the token request and the retried GET all fail.
    sf.faults().fail_next(50, 401);
    let e = p.get(&t.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    let sent = sf.faults().stats().requests - before;
    assert!(sent <= 3, "{sent} requests for one get: the client loops");
    sf.faults().reset();
    // A later call logs in again and works.
    assert_eq!(p.get(&t.id).await.unwrap().id, t.id);
}

#[tokio::test]
async fn daily_limit_is_rate_limited_and_usage_is_exposed() {
    let sf = fake().await;
    let p = provider(minimal_config(&sf));
    let t = p.create(NewTicket::new("x")).await.unwrap();
    let usage = p.api_usage().expect("Sforce-Limit-Info seen");
    assert!(usage.used >= 2 && usage.max == 15_000, "{usage:?}");
    sf.set_api_usage(500, 500);
    let e = p.get(&t.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert!(e.was_not_applied());
    assert!(e.to_string().contains("REQUEST_LIMIT_EXCEEDED"));
    assert_eq!(p.api_usage().unwrap().used, 500);
}

/// Values with quotes, backslashes, LIKE wildcards and SOQL keywords, in every filter.
#[tokio::test]
async fn soql_filters_escape_every_value() {
    let sf = fake().await;
    let nasty_email = r"o'hara\x OR Id != null@example.com";
    sf.add_user(nasty_email, nasty_email);
    let p = provider(full_config(&sf));
    let scope = "scope-esc";
    let nasty = [
        r"it's",
        r"back\slash",
        r"50%_off",
        r"' OR Subject != '",
        r"\' OR IsClosed = false OR Subject = \'",
        "AND LIMIT 1 ORDER BY Id",
        "line\nbreak\ttab \"dq\"",
    ];
    let mut ids = Vec::new();
    for (i, v) in nasty.iter().enumerate() {
        let t = p
            .create(
                NewTicket::new(format!("subject {v}"))
                    .description(format!("body {v}"))
                    .requester(format!("{v}@example.com"))
                    .tag(scope)
                    .tag(v.replace('\n', " "))
                    .assignee(if i % 2 == 0 {
                        nasty_email
                    } else {
                        "bob@example.com"
                    }),
            )
            .await
            .unwrap_or_else(|e| panic!("create with {v:?}: {e}"));
        ids.push(t.id);
    }
    let decoy = p
        .create(NewTicket::new("decoy").tag(scope).tag("50xxoff"))
        .await
        .unwrap();
    let list = |q: TicketQuery| {
        let p = &p;
        async move {
            let got: Vec<_> = p.list_all(q.tag(scope)).collect::<Vec<_>>().await;
            let mut got: Vec<TicketId> = got.into_iter().map(|t| t.unwrap().id).collect();
            got.sort();
            got
        }
    };
    use futures::StreamExt;
    for (i, v) in nasty.iter().enumerate() {
        let want = vec![ids[i].clone()];
        let by_requester = list(TicketQuery::new().requester(format!("{v}@example.com"))).await;
        assert_eq!(by_requester, want, "requester {v:?}");
        let by_tag = list(TicketQuery::new().tag(v.replace('\n', " "))).await;
        assert_eq!(by_tag, want, "tag {v:?}");
        let by_text = list(TicketQuery::new().text(format!("subject {v}"))).await;
        assert_eq!(by_text, want, "text {v:?}");
    }
    let mut evens: Vec<TicketId> = ids.iter().step_by(2).cloned().collect();
    evens.sort();
    assert_eq!(list(TicketQuery::new().assignee(nasty_email)).await, evens);
    // An injection attempt through a filter value matches nothing.
    assert!(
        list(TicketQuery::new().requester("x' OR SuppliedEmail != '"))
            .await
            .is_empty()
    );
    assert!(
        list(TicketQuery::new().assignee("nobody' OR IsActive = true OR Email = '"))
            .await
            .is_empty()
    );
    let all = list(TicketQuery::new()).await;
    assert_eq!(all.len(), nasty.len() + 1);
    assert!(all.contains(&decoy.id));
}

#[tokio::test]
async fn assignment_by_email_user_id_and_queue_and_rules() {
    let sf = fake().await;
    let p = provider(minimal_config(&sf));
    let bob = sf.user_id("bob@example.com").unwrap();
    let queue = sf.queue_id();
    let t = p
        .create(NewTicket::new("assign").assignee("alice@example.com"))
        .await
        .unwrap();
    assert_eq!(t.assignee.as_deref(), Some("alice@example.com"));
    let t = p.assign(&t.id, Some(&bob)).await.unwrap();
    assert_eq!(
        t.assignee.as_deref(),
        Some("bob@example.com"),
        "a User id reads back as its email"
    );
    let t = p.assign(&t.id, Some(&queue)).await.unwrap();
    assert_eq!(
        t.assignee.as_deref(),
        Some(queue.as_str()),
        "a Queue reads back as its id"
    );
    let e = p
        .assign(&t.id, Some("ghost@example.com"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);

    // An active assignment rule only runs when auto_assign is on; the create re-reads.
    sf.set_assignment_rule(Some(queue.clone()));
    let off = p.create(NewTicket::new("rules off")).await.unwrap();
    assert_eq!(off.assignee, None);
    let on = provider(minimal_config(&sf).auto_assign(true));
    let t = on
        .create(NewTicket::new("rules on").assignee("alice@example.com"))
        .await
        .unwrap();
    assert_eq!(
        t.assignee.as_deref(),
        Some(queue.as_str()),
        "owner set by the rule"
    );
}

#[tokio::test]
async fn mapping_and_comments_as_stored_in_salesforce() {
    let sf = fake().await;
    let p = provider(full_config(&sf));
    let t = p
        .create(
            NewTicket::new("mapped")
                .priority(Priority::Critical)
                .status(Status::Escalated)
                .kind("Electrical")
                .requester("carol@example.com")
                .tags(["b", "a"])
                .idempotency_key("TK-1")
                .custom_field("severity", 3),
        )
        .await
        .unwrap();
    let rec = sf.record("Case", t.id.as_str()).unwrap();
    assert_eq!(rec["Priority"], "High");
    assert_eq!(rec["Status"], "Escalated");
    assert_eq!(rec["IsEscalated"], true);
    assert_eq!(rec["Origin"], "Web");
    assert_eq!(rec["Type"], "Electrical");
    assert_eq!(rec["Tags__c"], "a;b");
    assert_eq!(rec["Ticket_Key__c"], "TK-1");
    assert_eq!(rec["Severity__c"], 3);
    assert_eq!(t.number.as_deref(), rec["CaseNumber"].as_str());
    assert_eq!(t.priority, Priority::High, "Critical is written as High");

    let t = p.resolve(&t.id).await.unwrap();
    let rec = sf.record("Case", t.id.as_str()).unwrap();
    assert_eq!(
        (rec["Status"].as_str(), rec["Close_Reason__c"].as_str()),
        (Some("Closed"), Some("Resolved"))
    );
    assert_eq!(
        (rec["IsClosed"].as_bool(), rec["IsEscalated"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(t.status, Status::Resolved);
    let t = p.reopen(&t.id).await.unwrap();
    assert!(sf.record("Case", t.id.as_str()).unwrap()["Close_Reason__c"].is_null());

    p.add_comment(
        &t.id,
        NewComment::new("internal\nnote")
            .author("Alice Example")
            .private(),
    )
    .await
    .unwrap();
    let plain = p
        .add_comment(&t.id, NewComment::new("[from: looks like a header]\nbody"))
        .await
        .unwrap();
    assert_eq!(
        plain.author.as_deref(),
        Some("integration@example.com"),
        "defaults to the API user"
    );
    let stored = sf.comments_of(t.id.as_str());
    assert_eq!(
        stored[0]["CommentBody"],
        "[from: Alice Example]\ninternal\nnote"
    );
    assert_eq!(stored[0]["IsPublished"], false);
    let read = p.comments(&t.id).await.unwrap();
    assert_eq!(read[0].author.as_deref(), Some("Alice Example"));
    assert_eq!(read[1].body, "[from: looks like a header]\nbody");
    assert_eq!(read[1].author.as_deref(), Some("integration@example.com"));
    assert!(!read[0].public && read[1].public);
}

#[tokio::test]
async fn errors_have_the_right_kind() {
    let sf = fake().await;
    let p = provider(full_config(&sf));
    let t = p.create(NewTicket::new("errors")).await.unwrap();
    let kind = |r: tickets_core::Result<tickets_core::Ticket>| r.unwrap_err().kind();
    assert_eq!(
        kind(
            p.create(NewTicket::new("x").watcher("bob@example.com"))
                .await
        ),
        ErrorKind::Unsupported
    );
    assert_eq!(
        kind(p.create(NewTicket::new("x").custom_field("nope", 1)).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(p.create(NewTicket::new("x").tag("a;b")).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(
            p.update(&t.id, TicketPatch::new().subject("y").expected_version("1"))
                .await
        ),
        ErrorKind::Unsupported
    );
    assert_eq!(
        kind(p.get(&TicketId::new("005Dn000000USERIA2")).await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(p.create(NewTicket::new("x".repeat(300))).await),
        ErrorKind::InvalidInput
    );
    let long = "é".repeat(2100);
    let e = p
        .add_comment(&t.id, NewComment::new(long))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(sf.comments_of(t.id.as_str()).is_empty());

    // A status map naming a value the picklist does not have.
    let bad_map = provider(minimal_config(&sf).status("in_progress", "Doing"));
    let e = bad_map
        .change_status(&t.id, Status::InProgress)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string()
            .contains("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        "{e}"
    );

    // Two Cases share a non-unique external id: an idempotent create cannot pick one.
    let dup = provider(minimal_config(&sf).external_id_field("External_Ref__c"));
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{}/services/oauth2/token", sf.url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", sf.client_id()),
            ("client_secret", sf.client_secret()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for _ in 0..2 {
        http.post(format!("{}/services/data/v62.0/sobjects/Case", sf.url()))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .json(&json!({"Subject": "dup", "External_Ref__c": "K"}))
            .send()
            .await
            .unwrap();
    }
    let e = dup
        .create(NewTicket::new("x").idempotency_key("K"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
}

#[tokio::test]
async fn built_from_config_through_the_registry() {
    let sf = fake().await;
    let toml = format!(
        r#"
        default = "cases"
        [backends.cases]
        provider = "salesforce"
        login_url = "{}"
        client_id = "{}"
        client_secret = "{}"
        api_version = "61.0"
        tags_field = "Tags__c"
        statuses = {{ on_hold = "Working" }}
        requests_per_minute = 600
        metadata_ttl_secs = 60
        metadata_cache = false
        "#,
        sf.url(),
        sf.client_id(),
        sf.client_secret()
    );
    use tickets_core::figment::providers::{Format, Toml};
    let hub = tickets_core::Tickets::from_figment(tickets_core::figment::Figment::from(
        Toml::string(&toml),
    ))
    .await
    .unwrap();
    let p = hub.backend("cases").unwrap();
    assert_eq!(p.kind(), "salesforce");
    let caps = p.capabilities();
    assert!(caps.tags && caps.number && !caps.idempotent_create && !caps.custom_fields);
    assert_eq!(
        caps.statuses,
        [
            Status::New,
            Status::InProgress,
            Status::Escalated,
            Status::Closed
        ]
    );
    assert_eq!(
        caps.priorities,
        [Priority::High, Priority::Medium, Priority::Low]
    );
    let t = hub
        .create(NewTicket::new("from config").tag("cfg"))
        .await
        .unwrap();
    assert_eq!(t.provider, "salesforce");
    assert!(t.url.unwrap().ends_with("/view"));

    let broken = tickets_core::figment::Figment::from(Toml::string(
        "provider = \"salesforce\"\nlogin_url = \"http://127.0.0.1:1\"\nclient_id = \"x\"\n",
    ));
    let e = tickets_core::Tickets::from_figment(broken)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("client_secret"), "{e}");
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_retried_into_the_same_case() {
    let sf = fake().await;
    let p = tickets_core::layers::with_retry(
        dyn_provider(full_config(&sf)),
        tickets_core::layers::RetryPolicy {
            min_delay: std::time::Duration::from_millis(5),
            ..Default::default()
        },
    );
    // The upsert is applied, then its connection drops; the retry finds the Case by key.
    sf.faults().drop_next(1);
    let t = p
        .create(NewTicket::new("lost answer").idempotency_key("LOST-1"))
        .await
        .unwrap();
    assert_eq!(sf.faults().stats().dropped, 1);
    assert_eq!(sf.case_count(), 1);
    assert_eq!(
        sf.record("Case", t.id.as_str()).unwrap()["Ticket_Key__c"],
        "LOST-1"
    );
    // Without a key the create is not re-sent: the caller sees the failure.
    sf.faults().drop_next(1);
    let e = p.create(NewTicket::new("no key")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert_eq!(sf.case_count(), 2, "applied once, not sent twice");
}

#[tokio::test]
async fn status_overrides_for_a_customised_picklist() {
    let sf = fake().await;
    sf.add_case_status("On Hold", false);
    sf.add_case_status("Rejected", true);
    let p = provider(
        minimal_config(&sf)
            .status("on_hold", "On Hold")
            .status("cancelled", "Rejected"),
    );
    let caps = p.capabilities();
    assert!(caps.statuses.contains(&Status::OnHold) && caps.statuses.contains(&Status::Cancelled));
    assert!(
        !caps.statuses.contains(&Status::Resolved),
        "resolved still reads back as closed"
    );
    let t = p.create(NewTicket::new("custom picklist")).await.unwrap();
    let t = p.change_status(&t.id, Status::OnHold).await.unwrap();
    assert_eq!(t.status, Status::OnHold);
    assert_eq!(
        sf.record("Case", t.id.as_str()).unwrap()["Status"],
        "On Hold"
    );
    let t = p.change_status(&t.id, Status::Cancelled).await.unwrap();
    assert_eq!(t.status, Status::Cancelled);
    assert_eq!(sf.record("Case", t.id.as_str()).unwrap()["IsClosed"], true);
    let listed: Vec<_> = p
        .list(&TicketQuery::new().status(Status::Cancelled))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, vec![t.id]);
}
