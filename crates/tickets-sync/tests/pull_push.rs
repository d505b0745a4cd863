//! push, pull, the incremental pull with its local-wins rule, parking and retry, and building
//! the provider from configuration (named backends, and the seed's shape).

mod common;

use std::time::Duration;

use figment::providers::Format;
use tickets_core::{
    ErrorKind, HistoryAction, NewComment, NewTicket, Status, TicketId, TicketPatch, TicketProvider,
    Tickets,
};
use tickets_fakes::asana::FakeAsana;
use tickets_sync::{SyncProvider, WaitReason};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_imports_then_local_wins_until_delivered() {
    let fake = FakeAsana::start().await.expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let sync = common::sync(&dir, common::asana(&fake, 3), common::options()).await;
    let remote = sync.remote().clone();

    // Made in Asana, pulled in.
    let task = remote
        .create(NewTicket::new("from asana").description("d"))
        .await
        .expect("remote create");
    remote
        .add_comment(
            &task.id,
            NewComment::new("hello").author("alice@example.com"),
        )
        .await
        .expect("remote comment");
    let local = sync.pull(task.id.as_str()).await.expect("pull");
    assert_eq!(local.subject, "from asana");
    assert_eq!(local.links.get("asana"), Some(&task.id.to_string()));
    assert_eq!(
        sync.undelivered(&local.id).await.unwrap(),
        0,
        "pulls are not pushed back"
    );
    sync.pull(task.id.as_str()).await.expect("pull again");
    let comments = sync.comments(&local.id).await.unwrap();
    assert_eq!(comments.len(), 1, "no comment copied twice");
    assert_eq!(comments[0].author.as_deref(), Some("alice@example.com"));

    // A local change not yet delivered wins over a remote one.
    sync.update(&local.id, TicketPatch::new().subject("local edit"))
        .await
        .unwrap();
    remote
        .update(&task.id, TicketPatch::new().subject("remote edit"))
        .await
        .unwrap();
    let report = sync.pull_changes().await.expect("pull changes");
    assert_eq!(report.kept_local, 1, "{report:?}");
    assert_eq!(sync.get(&local.id).await.unwrap().subject, "local edit");
    common::drain(&sync, Duration::from_secs(30)).await;
    assert_eq!(remote.get(&task.id).await.unwrap().subject, "local edit");

    // Delivered: the next remote change comes in.
    remote
        .update(
            &task.id,
            TicketPatch::new()
                .subject("remote again")
                .status(Status::InProgress),
        )
        .await
        .unwrap();
    remote
        .add_comment(&task.id, NewComment::new("from the UI"))
        .await
        .unwrap();
    let report = sync.pull_changes().await.expect("pull changes");
    assert!(report.updated >= 1, "{report:?}");
    let t = sync.get(&local.id).await.unwrap();
    assert_eq!(
        (t.subject.as_str(), t.status),
        ("remote again", Status::InProgress)
    );
    assert_eq!(sync.comments(&local.id).await.unwrap().len(), 2);
    assert!(sync.status().await.unwrap().last_pull.is_some());
    assert_eq!(sync.undelivered(&local.id).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_then_the_outbox_sends_nothing_twice() {
    let fake = FakeAsana::start().await.expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let sync = common::sync(&dir, common::asana(&fake, 3), common::options()).await;
    let t = sync.create(NewTicket::new("pushed by hand")).await.unwrap();
    sync.add_comment(&t.id, NewComment::new("same"))
        .await
        .unwrap();
    sync.add_comment(&t.id, NewComment::new("same"))
        .await
        .unwrap();
    let pushed = sync.push(&t.id).await.expect("push");
    let rid = TicketId::new(pushed.links["asana"].clone());
    assert_eq!(sync.remote().comments(&rid).await.unwrap().len(), 2);
    // The outbox then delivers the same create and comments: the create is linked already,
    // and the comments carry the keys the push sent them with, so the remote keeps one each.
    let report = sync.run_once().await.expect("run");
    assert_eq!(report.delivered + report.skipped, 3, "{report:?}");
    assert_eq!(sync.remote().comments(&rid).await.unwrap().len(), 2);
    common::assert_equal(&sync, &fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_parks_visibly_and_blocks_only_its_ticket() {
    let fake = FakeAsana::start().await.expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let sync = common::sync(&dir, common::asana(&fake, 3), common::options()).await;
    let bad = sync.create(NewTicket::new("bad")).await.unwrap();
    let good = sync.create(NewTicket::new("good")).await.unwrap();
    sync.assign(&bad.id, Some("nobody@nowhere.invalid"))
        .await
        .expect("local accepts");
    sync.add_comment(&bad.id, NewComment::new("after"))
        .await
        .unwrap();
    sync.add_comment(&good.id, NewComment::new("fine"))
        .await
        .unwrap();
    for _ in 0..3 {
        sync.run_once().await.expect("run");
    }
    let st = sync.status().await.unwrap();
    assert_eq!((st.parked, st.pending), (1, 1), "{st:?}");
    let parked = &st.parked_entries[0];
    assert_eq!(parked.ticket_id, bad.id);
    assert!(
        parked
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("InvalidInput"),
        "{parked:?}"
    );
    assert_eq!(sync.metrics().parked, 1);
    assert!(
        sync.get(&good.id)
            .await
            .unwrap()
            .links
            .contains_key("asana")
    );

    assert_eq!(sync.retry(Some(&bad.id)).await.unwrap(), 1);
    assert_eq!(sync.status().await.unwrap().parked, 0);
    sync.run_once().await.expect("run");
    let st = sync.status().await.unwrap();
    assert_eq!(st.parked, 1, "still wrong, parked again");
    assert_eq!(
        st.parked_entries[0].attempts, 1,
        "a retry by hand starts the attempt count afresh"
    );
    assert!(
        st.waiting
            .iter()
            .any(|w| w.reason == (WaitReason::BehindParked { seq: parked.seq })),
        "the comment says what it waits for: {:?}",
        st.waiting
    );

    // The remote will never take it: skip it, and the ticket's later change flows.
    let skipped = sync.skip(parked.seq).await.expect("skip");
    assert_eq!(skipped.ticket_id, bad.id);
    sync.run_once().await.expect("run");
    assert_eq!(sync.status().await.unwrap().undelivered(), 0);
    let rid = TicketId::new(sync.get(&bad.id).await.unwrap().links["asana"].clone());
    let remote_comments = sync.remote().comments(&rid).await.unwrap();
    assert_eq!(remote_comments.len(), 1);
    assert_eq!(remote_comments[0].body, "after");
    let history = sync.history(&bad.id).await.unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.action == HistoryAction::Sync && h.field.as_deref() == Some("skipped")),
        "{history:?}"
    );
    let err = sync.skip(parked.seq).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_from_config_named_backends_and_the_seed_shape() {
    let fake = FakeAsana::start().await.expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("named.db");
    let toml = format!(
        r#"
        default = "main"
        [backends.main]
        provider = "sync"
        local = "db"
        remote = "tracker"
        worker = false
        [backends.db]
        provider = "internal"
        url = "sqlite://{}"
        [backends.tracker]
        provider = "asana"
        token = "{}"
        project = "{}"
        base_url = "{}"
        "#,
        db.display(),
        fake.token(),
        fake.project(),
        fake.base_url()
    );
    let hub = Tickets::from_figment(figment::Figment::from(figment::providers::Toml::string(
        &toml,
    )))
    .await
    .expect("hub");
    let t = hub
        .create(NewTicket::new("via the hub"))
        .await
        .expect("create");
    let p = hub.backend("main").expect("backend");
    let sync = p
        .as_any()
        .and_then(|a| a.downcast_ref::<SyncProvider>())
        .expect("sync");
    assert_eq!(sync.remote_name(), "tracker");
    assert_eq!(sync.run_once().await.unwrap().delivered, 1);
    assert!(hub.get(&t.id).await.unwrap().links.contains_key("asana"));

    // The seed's shape: provider sync with asana_project beside it.
    let seed = format!(
        r#"
        [homechoice.ticket]
        provider = "sync"
        asana_project = "{}"
        token = "{}"
        base_url = "{}"
        url = "sqlite://{}"
        worker = false
        "#,
        fake.project(),
        fake.token(),
        fake.base_url(),
        dir.path().join("seed.db").display()
    );
    let fig =
        figment::Figment::from(figment::providers::Toml::string(&seed)).focus("homechoice.ticket");
    let hub = Tickets::from_figment(fig).await.expect("seed-shaped hub");
    hub.create(NewTicket::new("seed shape"))
        .await
        .expect("create");
    let p = hub.backend("default").expect("default backend");
    let sync = p
        .as_any()
        .and_then(|a| a.downcast_ref::<SyncProvider>())
        .expect("sync");
    assert_eq!(sync.remote().kind(), "asana");
    assert_eq!(sync.run_once().await.unwrap().delivered, 1);

    // Half a pair is a config error naming the key.
    let bad = "provider = \"sync\"\nlocal = \"db\"\n";
    let err = Tickets::from_figment(figment::Figment::from(figment::providers::Toml::string(
        bad,
    )))
    .await
    .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("remote"), "{err}");
}
