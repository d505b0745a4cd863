//! Behaviour specific to the internal store, on every configured dialect.

use std::time::Duration;

use tickets_core::{
    ErrorKind, NewTicket, Status, TicketPatch, TicketProvider, TicketQuery, Tickets,
};
use tickets_internal::testing::TestDb;
use tickets_internal::{Dialect, InternalConfig, InternalProvider};

async fn each_dialect<F, Fut>(f: F)
where
    F: Fn(InternalProvider) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in TestDb::all().await.expect("test databases") {
        let store = db.open().await.expect("open");
        eprintln!("dialect {:?}", store.dialect());
        f(store.clone()).await;
        store.shutdown().await;
    }
}

#[tokio::test]
async fn text_search_is_an_exact_case_insensitive_substring() {
    each_dialect(|s| async move {
        let word = format!("Zq{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let a = s
            .create(NewTicket::new(format!("Broken {word}fish tank")))
            .await
            .unwrap();
        let b = s
            .create(NewTicket::new("Other").description(format!("see {}", word.to_uppercase())))
            .await
            .unwrap();
        let c = s
            .create(NewTicket::new(format!("{} fish", &word[..5])))
            .await
            .unwrap();
        let found = |q: &str| {
            let s = s.clone();
            let q = q.to_owned();
            async move {
                let mut ids: Vec<_> = s
                    .list(&TicketQuery::new().text(q))
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|t| t.id)
                    .collect();
                ids.sort();
                ids
            }
        };
        let mut ab = vec![a.id.clone(), b.id.clone()];
        ab.sort();
        assert_eq!(found(&word.to_lowercase()).await, ab);
        assert_eq!(found(&word.to_uppercase()).await, ab);
        assert_eq!(found(&format!("{word}FISH")).await, vec![a.id.clone()]);
        assert!(found(&format!("{word} fish")).await.is_empty());
        assert_eq!(
            found(&format!("{} fish", &word[..5])).await,
            vec![c.id.clone()]
        );
        // LIKE wildcards in the needle are literal.
        assert!(found(&format!("{}%fish", &word[..5])).await.is_empty());
        let pct = s
            .create(NewTicket::new(format!("{word} 50%_off!")))
            .await
            .unwrap();
        assert_eq!(
            found(&format!("{word} 50%_OFF!")).await,
            vec![pct.id.clone()]
        );
        // Non-ASCII folds too.
        let u = s
            .create(NewTicket::new(format!("Ärger mit {word} Übergabe")))
            .await
            .unwrap();
        assert_eq!(
            found(&format!("{} übergabe", word.to_lowercase())).await,
            vec![u.id]
        );
        // A quote in the needle does not break the query.
        assert!(found(&format!("{word}\"x")).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn tag_filter_follows_tag_changes() {
    each_dialect(|s| async move {
        let tag = format!("t{}", uuid::Uuid::new_v4().simple());
        let t = s
            .create(NewTicket::new("tagged").tag(&tag).tag("x"))
            .await
            .unwrap();
        let q = TicketQuery::new().tag(&tag);
        assert_eq!(s.list(&q).await.unwrap().items.len(), 1);
        s.update(&t.id, TicketPatch::new().tags(["y"]))
            .await
            .unwrap();
        assert!(s.list(&q).await.unwrap().items.is_empty());
        let got = s.get(&t.id).await.unwrap();
        assert_eq!(got.tags, vec!["y".to_owned()]);
        assert_eq!(
            s.list(&TicketQuery::new().tag("y").tag(&tag))
                .await
                .unwrap()
                .items
                .len(),
            0
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_updates_with_one_version_let_exactly_one_win() {
    each_dialect(|s| async move {
        let t = s.create(NewTicket::new("race")).await.unwrap();
        let version = t.version.clone().unwrap();
        let mut handles = Vec::new();
        for i in 0..6 {
            let s = s.clone();
            let id = t.id.clone();
            let v = version.clone();
            handles.push(tokio::spawn(async move {
                s.update(
                    &id,
                    TicketPatch::new()
                        .subject(format!("winner {i}"))
                        .expected_version(v),
                )
                .await
            }));
        }
        let mut ok = 0;
        for h in handles {
            match h.await.unwrap() {
                Ok(_) => ok += 1,
                Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict, "{e}"),
            }
        }
        assert_eq!(ok, 1);
        let now = s.get(&t.id).await.unwrap();
        assert_eq!(now.version.as_deref(), Some("2"));
        assert!(now.updated_at > t.updated_at);
    })
    .await;
}

#[tokio::test]
async fn concurrent_updates_without_a_version_are_all_applied() {
    each_dialect(|s| async move {
        let t = s.create(NewTicket::new("counter")).await.unwrap();
        let mut handles = Vec::new();
        for i in 0..10 {
            let s = s.clone();
            let id = t.id.clone();
            handles.push(tokio::spawn(async move {
                s.update(&id, TicketPatch::new().custom_field(format!("f{i}"), i))
                    .await
                    .unwrap()
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let now = s.get(&t.id).await.unwrap();
        assert_eq!(now.custom_fields.len(), 10, "no update lost");
        assert_eq!(now.version.as_deref(), Some("11"));
    })
    .await;
}

#[tokio::test]
async fn status_change_checks_the_workflow_on_the_stored_row() {
    each_dialect(|s| async move {
        let t = s.create(NewTicket::new("flow")).await.unwrap();
        s.close(&t.id).await.unwrap();
        let err = s.change_status(&t.id, Status::OnHold).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidTransition);
        let err = s
            .update(&t.id, TicketPatch::new().status(Status::Escalated))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidTransition);
        assert_eq!(s.reopen(&t.id).await.unwrap().status, Status::New);
        let h = s.history(&t.id).await.unwrap();
        assert_eq!(h.len(), 3, "created, closed, reopened: {h:?}");
    })
    .await;
}

#[tokio::test]
async fn pages_stay_stable_while_tickets_are_added() {
    each_dialect(|s| async move {
        let tag = format!("p{}", uuid::Uuid::new_v4().simple());
        for i in 0..5 {
            s.create(NewTicket::new(format!("p{i}")).tag(&tag))
                .await
                .unwrap();
        }
        let first = s
            .list(&TicketQuery::new().tag(&tag).page_size(2))
            .await
            .unwrap();
        for i in 5..8 {
            s.create(NewTicket::new(format!("p{i}")).tag(&tag))
                .await
                .unwrap();
        }
        let mut seen: Vec<String> = first.items.iter().map(|t| t.subject.clone()).collect();
        let mut cursor = first.next;
        while let Some(c) = cursor {
            let page = s
                .list(&TicketQuery::new().tag(&tag).page_size(2).cursor(c))
                .await
                .unwrap();
            seen.extend(page.items.iter().map(|t| t.subject.clone()));
            cursor = page.next;
        }
        let expected: Vec<String> = (0..8).map(|i| format!("p{i}")).collect();
        assert_eq!(seen, expected);
        let err = s
            .list(&TicketQuery::new().cursor(tickets_core::Cursor::new("bogus")))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    })
    .await;
}

#[tokio::test]
async fn sqlite_file_is_created_with_its_directory_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/store.db");
    let url = format!("sqlite://{}", path.display());
    let store = InternalProvider::connect(&url).await.unwrap();
    assert_eq!(store.location(), path.display().to_string());
    assert_eq!(store.dialect(), Dialect::Sqlite);
    let t = store.create(NewTicket::new("kept")).await.unwrap();
    store.shutdown().await;
    assert!(path.exists());
    let again = InternalProvider::connect(&url).await.unwrap();
    again.migrate().await.unwrap();
    assert_eq!(again.get(&t.id).await.unwrap().subject, "kept");
    assert_eq!(
        again
            .create(NewTicket::new("next"))
            .await
            .unwrap()
            .number
            .as_deref(),
        Some("2")
    );
}

#[tokio::test]
async fn without_migrations_a_fresh_store_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bare.db").display());
    let store = InternalProvider::open(InternalConfig::new(url).migrate(false))
        .await
        .unwrap();
    let err = store.create(NewTicket::new("x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("migrate = true"), "{err}");
}

#[tokio::test]
async fn bad_urls_and_unreachable_servers() {
    let err = InternalProvider::connect("oracle://x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);

    let started = std::time::Instant::now();
    let err = InternalProvider::open(
        InternalConfig::new("postgres://app:hunter2@127.0.0.1:1/tickets")
            .busy_timeout(Duration::from_millis(10)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());
    let text = format!("{err} {err:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("app:***@127.0.0.1:1"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5), "fails fast");

    let err = InternalProvider::connect("mysql://root@127.0.0.1:1/x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn unknown_database_on_a_server_is_a_config_error() {
    let Ok(url) = std::env::var(tickets_internal::testing::POSTGRES_ENV) else {
        tickets_testkit::skipped(
            "a database missing on PostgreSQL (TICKETS_TEST_POSTGRES_URL is not set)",
        )
        .unwrap();
        return;
    };
    let mut url = url::Url::parse(&url).unwrap();
    url.set_path("/tickets_no_such_database");
    let err = InternalProvider::connect(url.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn built_from_config_through_the_registry() {
    use tickets_core::figment::{Figment, providers::Serialized};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let figment = Figment::from(Serialized::defaults(serde_json::json!({
        "default": "db",
        "backends": { "db": {
            "provider": "internal",
            "url": url,
            "max_connections": 2,
            "workflow": { "transitions": { "new": ["triaged"] } }
        }}
    })));
    let hub = Tickets::from_figment(figment).await.unwrap();
    let t = hub.create(NewTicket::new("via the hub")).await.unwrap();
    assert_eq!(t.provider, "internal");
    let err = hub.change_status(&t.id, Status::Closed).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidTransition,
        "custom workflow applies"
    );

    let bad = Figment::from(Serialized::defaults(serde_json::json!({
        "provider": "internal",
        "max_connections": 0
    })));
    let err = Tickets::from_figment(bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("max_connections"), "{err}");
}

#[tokio::test]
async fn racing_creates_and_comments_with_one_key_make_one() {
    each_dialect(|s| async move {
        let key = format!("k{}", uuid::Uuid::new_v4().simple());
        let mut handles = Vec::new();
        for _ in 0..8 {
            let s = s.clone();
            let key = key.clone();
            handles.push(tokio::spawn(async move {
                s.create(NewTicket::new("once").idempotency_key(key))
                    .await
                    .unwrap()
            }));
        }
        let mut ids = Vec::new();
        for h in handles {
            ids.push(h.await.unwrap().id);
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "one ticket for one key");
        let id = ids.remove(0);
        let mut handles = Vec::new();
        for _ in 0..8 {
            let s = s.clone();
            let id = id.clone();
            handles.push(tokio::spawn(async move {
                s.add_comment(
                    &id,
                    tickets_core::NewComment::new("hello").idempotency_key("c1"),
                )
                .await
                .unwrap()
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(s.comments(&id).await.unwrap().len(), 1);
        assert_eq!(
            s.history(&id).await.unwrap().len(),
            2,
            "created + one comment"
        );
    })
    .await;
}

#[tokio::test]
async fn a_sqlite_file_locked_by_another_process_is_unavailable_then_recovers() {
    use sqlx::Connection;
    let db = TestDb::sqlite();
    let store = InternalProvider::open(db.config().busy_timeout(Duration::from_millis(100)))
        .await
        .unwrap();
    let mut other = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let err = store.create(NewTicket::new("blocked")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    // The store already ran it again a few times: exhausted, so the retry layer above does
    // not multiply the attempts (the sync outbox still sees a transient kind).
    assert!(err.attempts().is_some() && !err.is_retryable(), "{err}");
    assert!(err.message().contains("busy_timeout_ms"), "{err}");
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    store.create(NewTicket::new("free again")).await.unwrap();
}

#[tokio::test]
async fn values_too_long_for_a_column_are_invalid_input() {
    let Some(db) = TestDb::mysql().await.unwrap() else {
        eprintln!("TICKETS_TEST_MYSQL_URL is not set; MySQL not tested");
        return;
    };
    let s = db.open().await.unwrap();
    let err = s
        .create(NewTicket::new("long assignee").assignee("a".repeat(300)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("too long"), "{err}");
    // Nothing half-written: the failed create left no ticket behind.
    let page = s.list(&TicketQuery::new()).await.unwrap();
    assert!(page.items.is_empty());
    s.shutdown().await;
}
