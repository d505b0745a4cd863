//! The outbox and link table (phase 2, for the sync provider), on every configured dialect.

use std::collections::HashMap;
use std::time::Duration;

use tickets_core::{ErrorKind, NewComment, NewTicket, Patch, Status, TicketPatch, TicketProvider};
use tickets_internal::testing::TestDb;
use tickets_internal::{EntryState, InternalProvider, Operation};

const LEASE: Duration = Duration::from_secs(60);

async fn each_dialect<F, Fut>(f: F)
where
    F: Fn(InternalProvider) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in TestDb::all().await.expect("test databases") {
        let store = InternalProvider::open(db.config().outbox(true))
            .await
            .expect("open");
        assert!(store.outbox_enabled());
        eprintln!("dialect {:?}", store.dialect());
        f(store.clone()).await;
        store.shutdown().await;
    }
}

#[tokio::test]
async fn every_write_records_one_entry_in_order() {
    each_dialect(|s| async move {
        let t = s
            .create(NewTicket::new("pushed").tag("a").idempotency_key("k1"))
            .await
            .unwrap();
        s.change_status(&t.id, Status::InProgress).await.unwrap();
        s.assign(&t.id, Some("alice@example.com")).await.unwrap();
        s.add_comment(&t.id, NewComment::new("hi").author("bob"))
            .await
            .unwrap();

        // Nothing is recorded for writes that change nothing or fail.
        s.create(NewTicket::new("pushed").idempotency_key("k1"))
            .await
            .unwrap();
        s.update(&t.id, TicketPatch::new().subject("pushed"))
            .await
            .unwrap();
        let stale = TicketPatch::new().subject("x").expected_version("1");
        assert_eq!(
            s.update(&t.id, stale).await.unwrap_err().kind(),
            ErrorKind::Conflict
        );
        s.close(&t.id).await.unwrap();
        let err = s.change_status(&t.id, Status::OnHold).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidTransition);

        let entries = s.outbox().entries(None, 100).await.unwrap();
        let ops: Vec<Operation> = entries.iter().map(|e| e.operation).collect();
        assert_eq!(
            ops,
            [
                Operation::Create,
                Operation::Update,
                Operation::Update,
                Operation::Comment,
                Operation::Update
            ]
        );
        assert!(entries.iter().all(|e| e.ticket_id == t.id));
        assert!(entries.windows(2).all(|w| w[0].seq < w[1].seq));
        assert!(
            entries
                .iter()
                .all(|e| e.state == EntryState::Pending && e.attempts == 0)
        );
        assert_eq!(entries[0].new_ticket().unwrap().subject, "pushed");
        assert_eq!(
            entries[0].new_ticket().unwrap().idempotency_key.as_deref(),
            Some("k1")
        );
        assert_eq!(
            entries[1].patch().unwrap().status,
            Patch::Set(Status::InProgress)
        );
        assert_eq!(
            entries[2].patch().unwrap().assignee,
            Patch::Set("alice@example.com".to_owned())
        );
        assert_eq!(entries[3].comment().unwrap().author.as_deref(), Some("bob"));
        assert!(
            entries[3].patch().is_err(),
            "typed access checks the operation"
        );
        let stats = s.outbox().stats().await.unwrap();
        assert_eq!((stats.pending, stats.delivering, stats.parked), (5, 0, 0));
        assert_eq!(stats.total(), 5);
        assert!(stats.oldest.is_some());
    })
    .await;
}

#[tokio::test]
async fn writes_without_the_outbox_record_nothing() {
    let db = TestDb::sqlite();
    let plain = db.open().await.unwrap();
    assert!(!plain.outbox_enabled());
    plain.create(NewTicket::new("local only")).await.unwrap();
    assert!(plain.outbox().entries(None, 10).await.unwrap().is_empty());

    let synced = InternalProvider::open(db.config().outbox(true))
        .await
        .unwrap();
    let pulled = synced.without_outbox();
    assert!(!pulled.outbox_enabled());
    let t = pulled
        .create(NewTicket::new("from the remote"))
        .await
        .unwrap();
    pulled
        .add_comment(&t.id, NewComment::new("remote comment"))
        .await
        .unwrap();
    assert!(synced.outbox().entries(None, 10).await.unwrap().is_empty());
    synced
        .add_comment(&t.id, NewComment::new("local comment"))
        .await
        .unwrap();
    assert_eq!(synced.outbox().entries(None, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn claims_go_in_order_one_entry_per_ticket() {
    each_dialect(|s| async move {
        let a = s.create(NewTicket::new("A")).await.unwrap();
        let b = s.create(NewTicket::new("B")).await.unwrap();
        s.add_comment(&a.id, NewComment::new("a2")).await.unwrap();
        s.add_comment(&b.id, NewComment::new("b2")).await.unwrap();
        s.add_comment(&a.id, NewComment::new("a3")).await.unwrap();
        let ob = s.outbox();

        let first = ob.claim("w1", 10, LEASE).await.unwrap();
        let got: Vec<_> = first
            .iter()
            .map(|e| (e.ticket_id.clone(), e.operation))
            .collect();
        assert_eq!(
            got,
            [
                (a.id.clone(), Operation::Create),
                (b.id.clone(), Operation::Create)
            ]
        );
        assert!(first.iter().all(|e| e.state == EntryState::Delivering));
        assert!(
            ob.claim("w1", 10, LEASE).await.unwrap().is_empty(),
            "heads are leased"
        );

        assert!(ob.delivered(&first[0]).await.unwrap());
        let next = ob.claim("w1", 10, LEASE).await.unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].comment().unwrap().body, "a2");

        // B's create failed for now: it comes back after its time, with the error.
        assert!(
            ob.retry_later(&first[1], "remote said 503", chrono::Utc::now())
                .await
                .unwrap()
        );
        let again = ob.claim("w1", 10, LEASE).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].seq, first[1].seq);
        assert_eq!(again[0].attempts, 1);
        assert_eq!(again[0].last_error.as_deref(), Some("remote said 503"));

        // A's comment is parked: A's later entries wait behind it.
        assert!(ob.park(&next[0], "remote said 400").await.unwrap());
        assert!(ob.delivered(&again[0]).await.unwrap());
        let only_b = ob.claim("w1", 10, LEASE).await.unwrap();
        assert_eq!(only_b.len(), 1);
        assert_eq!(only_b[0].ticket_id, b.id);
        assert!(ob.delivered(&only_b[0]).await.unwrap());
        assert!(ob.claim("w1", 10, LEASE).await.unwrap().is_empty());
        let stats = ob.stats().await.unwrap();
        assert_eq!((stats.pending, stats.delivering, stats.parked), (1, 0, 1));
        let parked = ob.entries(Some(EntryState::Parked), 10).await.unwrap();
        assert_eq!(parked[0].last_error.as_deref(), Some("remote said 400"));

        assert_eq!(ob.requeue_parked(Some(&b.id)).await.unwrap(), 0);
        assert_eq!(ob.requeue_parked(Some(&a.id)).await.unwrap(), 1);
        let requeued = ob.claim("w1", 10, LEASE).await.unwrap();
        assert_eq!(requeued[0].seq, next[0].seq);
        assert_eq!(
            requeued[0].attempts, 0,
            "a retry by hand starts the count afresh"
        );
        assert!(ob.delivered(&requeued[0]).await.unwrap());
        let last = ob.claim("w1", 10, LEASE).await.unwrap();
        assert_eq!(last[0].comment().unwrap().body, "a3");
        assert!(ob.delivered(&last[0]).await.unwrap());
        assert_eq!(ob.stats().await.unwrap().total(), 0);

        assert!(
            !ob.delivered(&last[0]).await.unwrap(),
            "a delivered entry is gone: recording it again writes nothing"
        );
        assert!(ob.claim("w1", 0, LEASE).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn an_expired_lease_makes_the_entry_claimable_again() {
    each_dialect(|s| async move {
        s.create(NewTicket::new("lost worker")).await.unwrap();
        let claimed = s.outbox().claim("w1", 1, Duration::ZERO).await.unwrap();
        assert_eq!(claimed.len(), 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let again = s.outbox().claim("w2", 1, LEASE).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].seq, claimed[0].seq);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_deliver_each_entry_once_in_ticket_order() {
    each_dialect(|s| async move {
        let mut ids = Vec::new();
        for i in 0..20 {
            let t = s.create(NewTicket::new(format!("t{i}"))).await.unwrap();
            for c in 0..3 {
                s.add_comment(&t.id, NewComment::new(format!("{c}")))
                    .await
                    .unwrap();
            }
            ids.push(t.id);
        }
        let clock = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut workers = Vec::new();
        for _ in 0..4 {
            let s = s.clone();
            let clock = clock.clone();
            workers.push(tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut idle = 0;
                while idle < 20 {
                    let batch = s.outbox().claim("worker", 5, LEASE).await.unwrap();
                    if batch.is_empty() {
                        idle += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    idle = 0;
                    for e in batch {
                        // Stamped before the delete: the ticket's next entry cannot be
                        // claimed until the delete has committed.
                        let at = clock.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        assert!(s.outbox().delivered(&e).await.unwrap());
                        seen.push((e.ticket_id.clone(), e.seq, at));
                    }
                }
                seen
            }));
        }
        let mut per_ticket: HashMap<_, Vec<(usize, i64)>> = HashMap::new();
        let mut total = 0;
        for w in workers {
            for (id, seq, at) in w.await.unwrap() {
                per_ticket.entry(id).or_default().push((at, seq));
                total += 1;
            }
        }
        assert_eq!(total, 20 * 4, "every entry delivered exactly once");
        for id in &ids {
            let mut delivered = per_ticket[id].clone();
            delivered.sort();
            let seqs: Vec<i64> = delivered.iter().map(|d| d.1).collect();
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "one ticket's entries are delivered in order, each once: {seqs:?}"
            );
            assert_eq!(seqs.len(), 4);
        }
        assert_eq!(s.outbox().stats().await.unwrap().total(), 0);
    })
    .await;
}

#[tokio::test]
async fn links_map_both_ways_and_show_on_tickets() {
    each_dialect(|s| async move {
        let t = s.create(NewTicket::new("linked")).await.unwrap();
        let other = s.create(NewTicket::new("other")).await.unwrap();
        let links = s.links();
        assert_eq!(links.remote_id(&t.id, "tracker").await.unwrap(), None);
        links.set(&t.id, "tracker", "asana", "1209").await.unwrap();
        links.set(&t.id, "tracker", "asana", "1209").await.unwrap();
        assert_eq!(
            links.remote_id(&t.id, "tracker").await.unwrap().as_deref(),
            Some("1209")
        );
        assert_eq!(
            links.local_id("tracker", "1209").await.unwrap(),
            Some(t.id.clone())
        );
        let err = links
            .set(&t.id, "tracker", "asana", "1300")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        let err = links
            .set(&other.id, "tracker", "asana", "1209")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        let unknown = tickets_core::TicketId::new(uuid::Uuid::now_v7().to_string());
        let err = links
            .set(&unknown, "tracker", "asana", "1")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

        let got = s.get(&t.id).await.unwrap();
        assert_eq!(got.links.get("asana").map(String::as_str), Some("1209"));
        let listed = s.list(&tickets_core::TicketQuery::new()).await.unwrap();
        let listed = listed.items.iter().find(|x| x.id == t.id).unwrap();
        assert_eq!(listed.links.get("asana").map(String::as_str), Some("1209"));
        let updated = s
            .update(&t.id, TicketPatch::new().subject("renamed"))
            .await
            .unwrap();
        assert_eq!(updated.links.len(), 1);

        assert_eq!(
            links.of_ticket(&t.id).await.unwrap()[0].remote_kind,
            "asana"
        );
        assert!(links.remove(&t.id, "tracker").await.unwrap());
        assert!(!links.remove(&t.id, "tracker").await.unwrap());
        assert!(s.get(&t.id).await.unwrap().links.is_empty());
    })
    .await;
}

#[tokio::test]
async fn outbox_flag_from_config() {
    use tickets_core::figment::{Figment, providers::Serialized};
    let db = TestDb::sqlite();
    let figment = Figment::from(Serialized::defaults(serde_json::json!({
        "provider": "internal",
        "url": db.url(),
        "outbox": true,
    })));
    let hub = tickets_core::Tickets::from_figment(figment).await.unwrap();
    hub.create(NewTicket::new("configured")).await.unwrap();
    let store = db.open().await.unwrap();
    assert_eq!(store.outbox().stats().await.unwrap().pending, 1);
}
