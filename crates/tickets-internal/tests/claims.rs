//! Fenced outbox claims on every configured dialect: a worker whose claim was handed to another
//! records nothing; releases, skips and `make_due` do what `sync` needs.

use std::time::Duration;

use chrono::Utc;
use tickets_core::{ErrorKind, HistoryAction, NewComment, NewTicket, TicketPatch, TicketProvider};
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
        eprintln!("dialect {:?}", store.dialect());
        f(store.clone()).await;
        store.shutdown().await;
    }
}

/// The window of the lost-update bug: worker 1 stalls past its lease, worker 2 takes the entry
/// over; whatever worker 1 then tries to record is refused and changes nothing.
#[tokio::test]
async fn a_claim_handed_to_another_worker_fences_out_the_first() {
    each_dialect(|s| async move {
        let t = s.create(NewTicket::new("fenced")).await.unwrap();
        let ob = s.outbox();
        let stale = ob.claim("w1", 1, Duration::ZERO).await.unwrap();
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].claimed_by.as_deref(), Some("w1"));
        assert!(stale[0].claim_token.is_some());
        tokio::time::sleep(Duration::from_millis(5)).await;
        let fresh = ob.claim("w2", 1, LEASE).await.unwrap();
        assert_eq!(
            fresh[0].seq, stale[0].seq,
            "the expired claim is handed out again"
        );
        assert_ne!(fresh[0].claim_token, stale[0].claim_token);

        assert!(!ob.extend(&stale[0], LEASE).await.unwrap());
        assert!(!ob.delivered(&stale[0]).await.unwrap());
        assert!(!ob.retry_later(&stale[0], "late", Utc::now()).await.unwrap());
        assert!(
            !ob.release(&stale[0], Utc::now(), Some("late"))
                .await
                .unwrap()
        );
        assert!(!ob.park(&stale[0], "late").await.unwrap());
        let now = ob.entries(None, 10).await.unwrap();
        assert_eq!(now.len(), 1);
        assert_eq!(
            (now[0].state, now[0].attempts, now[0].last_error.as_deref()),
            (EntryState::Delivering, 0, None),
            "nothing the fenced-out worker tried was written"
        );
        assert_eq!(now[0].claimed_by.as_deref(), Some("w2"));

        assert!(ob.extend(&fresh[0], LEASE).await.unwrap());
        assert!(ob.delivered(&fresh[0]).await.unwrap());
        assert_eq!(ob.undelivered(&t.id).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn extending_a_claim_keeps_it_from_other_workers() {
    each_dialect(|s| async move {
        s.create(NewTicket::new("kept")).await.unwrap();
        let ob = s.outbox();
        let mine = ob.claim("w1", 1, Duration::from_millis(1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        // Expired but not taken yet: still ours, and extending makes it ours for a lease.
        assert!(ob.extend(&mine[0], LEASE).await.unwrap());
        assert!(ob.claim("w2", 10, LEASE).await.unwrap().is_empty());
        let mut forged = ob.entries(None, 1).await.unwrap().remove(0);
        assert_eq!(forged.claimed_by.as_deref(), Some("w1"));
        forged.claim_token = None;
        let err = ob.extend(&forged, LEASE).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    })
    .await;
}

#[tokio::test]
async fn a_release_gives_the_entry_back_without_counting_an_attempt() {
    each_dialect(|s| async move {
        s.create(NewTicket::new("paused")).await.unwrap();
        let ob = s.outbox();
        let claimed = ob.claim("w1", 1, LEASE).await.unwrap();
        let later = Utc::now() + chrono::Duration::seconds(60);
        assert!(
            ob.release(&claimed[0], later, Some("rate limited until later"))
                .await
                .unwrap()
        );
        let e = ob.entries(None, 1).await.unwrap().remove(0);
        assert_eq!(e.state, EntryState::Pending);
        assert_eq!(e.attempts, 0);
        assert_eq!(e.claimed_by, None);
        assert_eq!(e.last_error.as_deref(), Some("rate limited until later"));
        assert!(
            ob.claim("w2", 1, LEASE).await.unwrap().is_empty(),
            "not claimable before its not-before time"
        );
        // `sync run --once`: everything in backoff is due now.
        assert_eq!(ob.make_due().await.unwrap(), 1);
        assert_eq!(ob.claim("w2", 1, LEASE).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_stopping_worker_releases_all_its_claims() {
    each_dialect(|s| async move {
        for i in 0..3 {
            s.create(NewTicket::new(format!("t{i}"))).await.unwrap();
        }
        let ob = s.outbox();
        assert_eq!(ob.claim("cli-1", 2, LEASE).await.unwrap().len(), 2);
        assert_eq!(ob.claim("other", 1, LEASE).await.unwrap().len(), 1);
        assert_eq!(ob.release_owner("cli-1").await.unwrap(), 2);
        let stats = ob.stats().await.unwrap();
        assert_eq!((stats.pending, stats.delivering), (2, 1));
        assert_eq!(
            ob.claim("w", 10, LEASE).await.unwrap().len(),
            2,
            "due at once, not after the lease"
        );
    })
    .await;
}

#[tokio::test]
async fn skipping_a_parked_change_lets_later_ones_flow_and_is_recorded() {
    each_dialect(|s| async move {
        let t = s.create(NewTicket::new("poison")).await.unwrap();
        s.assign(&t.id, Some("nobody@nowhere.invalid"))
            .await
            .unwrap();
        s.add_comment(&t.id, NewComment::new("after"))
            .await
            .unwrap();
        let ob = s.outbox();
        let create = ob.claim("w", 10, LEASE).await.unwrap().remove(0);
        assert!(ob.delivered(&create).await.unwrap());
        let assign = ob.claim("w", 10, LEASE).await.unwrap().remove(0);
        assert_eq!(assign.operation, Operation::Update);
        assert!(
            ob.park(&assign, "InvalidInput: unknown assignee")
                .await
                .unwrap()
        );
        assert!(
            ob.claim("w", 10, LEASE).await.unwrap().is_empty(),
            "blocked"
        );

        let pending = ob.entries(Some(EntryState::Pending), 10).await.unwrap();
        let err = ob.skip(pending[0].seq).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("not parked"), "{err}");
        assert_eq!(
            ob.skip(999_999).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );

        let skipped = ob.skip(assign.seq).await.unwrap();
        assert_eq!(skipped.seq, assign.seq);
        let next = ob.claim("w", 10, LEASE).await.unwrap();
        assert_eq!(next.len(), 1, "the later comment flows");
        assert_eq!(next[0].operation, Operation::Comment);
        let history = s.history(&t.id).await.unwrap();
        let record = history
            .iter()
            .find(|h| h.action == HistoryAction::Sync)
            .expect("a SYNC history entry");
        assert_eq!(record.field.as_deref(), Some("skipped"));
        assert!(
            record
                .old_value
                .as_deref()
                .is_some_and(|v| v.contains("unknown assignee")),
            "{record:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_retry_by_hand_resets_the_attempt_count() {
    each_dialect(|s| async move {
        let t = s.create(NewTicket::new("stubborn")).await.unwrap();
        let ob = s.outbox();
        for _ in 0..3 {
            let e = ob.claim("w", 1, LEASE).await.unwrap().remove(0);
            assert!(ob.retry_later(&e, "odd", Utc::now()).await.unwrap());
        }
        let e = ob.claim("w", 1, LEASE).await.unwrap().remove(0);
        assert_eq!(e.attempts, 3);
        assert!(ob.park(&e, "gave up").await.unwrap());
        assert_eq!(ob.requeue_parked(Some(&t.id)).await.unwrap(), 1);
        let e = ob.claim("w", 1, LEASE).await.unwrap().remove(0);
        assert_eq!(e.attempts, 0);
    })
    .await;
}

#[tokio::test]
async fn comment_entries_name_the_local_comment() {
    each_dialect(|s| async move {
        let t = s.create(NewTicket::new("c")).await.unwrap();
        let c = s
            .add_comment(&t.id, NewComment::new("hello"))
            .await
            .unwrap();
        s.update(&t.id, TicketPatch::new().subject("d"))
            .await
            .unwrap();
        let entries = s.outbox().entries(None, 10).await.unwrap();
        assert_eq!(entries[1].comment_id(), Some(c.id.as_str()));
        assert_eq!(entries[1].comment().unwrap().body, "hello");
        assert_eq!(entries[0].comment_id(), None);
        assert_eq!(entries[2].comment_id(), None);
    })
    .await;
}
