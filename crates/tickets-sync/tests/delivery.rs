//! The delivery windows that used to lose or reorder changes, each opened on purpose:
//! a worker stalled past its lease, a rate limit longer than the lease, changes waiting in
//! backoff when `run --once` is asked to deliver, and claims left behind by a process that
//! stops. Every test here failed on the unfenced worker.

mod common;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use futures::FutureExt;
use tickets_core::{DynProvider, NewTicket, TicketId, TicketPatch, TicketProvider};
use tickets_fakes::asana::FakeAsana;
use tickets_internal::testing::TestDb;
use tickets_internal::{EntryState, InternalProvider};
use tickets_sync::{HookPoint, SyncProvider, WaitReason, WorkerOptions};

const LEASE: Duration = Duration::from_secs(1);

fn fast() -> WorkerOptions {
    common::options().lease(LEASE).concurrency(4)
}

/// Worker A claims a change and then stalls (its whole process: no lease renewal, nothing)
/// past its lease. Worker B takes the change over and delivers it and the next one. When A
/// wakes, it must not send its stale copy: the remote would go back to the older value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stalled_past_its_lease_sends_nothing_once_fenced_out() {
    for db in TestDb::all().await.expect("test databases") {
        eprintln!("dialect {:?}", db.dialect());
        let remote = Arc::new(common::Recording::default());
        let open = || async {
            InternalProvider::open(db.config().outbox(true))
                .await
                .expect("open")
        };
        let b = SyncProvider::new(open().await, remote.clone() as DynProvider, "mem", fast())
            .expect("worker b");
        let t = b.create(NewTicket::new("v0")).await.expect("create");
        b.run_once().await.expect("create delivered");
        let rid = TicketId::new(b.get(&t.id).await.unwrap().links["memory"].clone());
        b.update(&t.id, TicketPatch::new().subject("v1"))
            .await
            .unwrap();

        // Worker A runs on a runtime of its own in a thread of its own; its hook blocks that
        // whole thread right before its first update request, as a stopped process would.
        let (at_hook_tx, at_hook) = mpsc::channel::<()>();
        let (go_tx, go) = mpsc::channel::<()>();
        let go = std::sync::Mutex::new(Some(go));
        let at_hook_tx = std::sync::Mutex::new(at_hook_tx);
        let hook: tickets_sync::TestHook = Arc::new(move |point, _entry| {
            if point == (HookPoint::BeforeRemoteCall { call: "update" })
                && let Some(go) = go.lock().unwrap().take()
            {
                let _ = at_hook_tx.lock().unwrap().send(());
                let _ = go.recv();
            }
            async {}.boxed()
        });
        let url = db.config();
        let remote_a = remote.clone() as DynProvider;
        let a = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let store = InternalProvider::open(url.outbox(true))
                    .await
                    .expect("open");
                let a = SyncProvider::new(store, remote_a, "mem", fast().test_hook(hook))
                    .expect("worker a");
                a.run_once().await.expect("worker a runs")
            })
        });
        at_hook.recv().expect("worker A reached its update");
        tokio::time::sleep(LEASE + Duration::from_millis(300)).await;

        b.update(&t.id, TicketPatch::new().subject("v2"))
            .await
            .unwrap();
        let report = b.run_once().await.expect("worker b delivers");
        assert_eq!(
            report.delivered, 2,
            "B took over v1's change and delivered v2's: {report:?}"
        );
        assert_eq!(remote.inner.get(&rid).await.unwrap().subject, "v2");

        go_tx.send(()).expect("wake worker A");
        let a_report = a.join().expect("worker A thread");
        assert_eq!(a_report.claims_lost, 1, "{a_report:?}");
        assert_eq!(a_report.delivered, 0, "{a_report:?}");
        assert_eq!(
            remote.inner.get(&rid).await.unwrap().subject,
            "v2",
            "the remote never went back"
        );
        let updates: Vec<String> = remote
            .sent()
            .into_iter()
            .filter(|l| l.starts_with("update"))
            .collect();
        assert_eq!(
            updates,
            [
                format!("update {rid} subject=v2"),
                format!("update {rid} subject=v2")
            ],
            "each change was sent as the state at send time, and nothing from the stalled worker"
        );
        assert_eq!(b.status().await.unwrap().undelivered(), 0);
    }
}

/// A rate limit whose Retry-After is longer than the lease: the worker holds no claim while it
/// waits (each change it had is given back with a not-before time), and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_longer_than_the_lease_is_waited_out_without_holding_claims() {
    let fake = FakeAsana::start().await.expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = fast().lease(Duration::from_secs(2)).concurrency(8);
    // Paced as by default: a 429's hold must refuse the worker's calls at once, never make
    // it sleep inside a call while it holds claims.
    let sync = common::sync(&dir, common::asana_paced(&fake, 1500), opts).await;
    for i in 0..6 {
        sync.create(NewTicket::new(format!("burst {i}")))
            .await
            .unwrap();
    }
    // A few requests pass; then the minute's budget is spent (Retry-After up to 60 s).
    fake.faults().set_requests_per_minute(4);
    let sync = sync.start_worker();
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    while fake.faults().stats().rate_limited == 0 {
        assert!(tokio::time::Instant::now() < until, "no 429 was met");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Over more than a lease: nothing held, everything waiting past the lease.
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let st = sync.status().await.unwrap();
        assert_eq!(
            st.delivering, 0,
            "no claim held while paused: {:?}",
            st.waiting
        );
        assert!(st.pending > 0);
        let now = chrono::Utc::now();
        for w in &st.waiting {
            match &w.reason {
                WaitReason::Backoff { until } => assert!(
                    *until > now + chrono::Duration::seconds(2),
                    "waits for the remote's Retry-After, past the lease: {w:?}"
                ),
                WaitReason::Behind { .. } | WaitReason::BehindParked { .. } => {}
                other => panic!("unexpected wait reason {other:?}"),
            }
        }
    }
    sync.stop_worker().await;
    // A fresh worker (no pause in memory) delivers it all once the remote allows it again.
    fake.faults().reset();
    let store = sync.local().clone();
    let again = SyncProvider::new(store, common::asana(&fake, 0), "asana", common::options())
        .expect("sync");
    common::drain(&again, Duration::from_secs(30)).await;
    common::assert_equal(&again, &fake).await;
}

/// `run --once` after an outage delivers what waits in backoff, now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_delivers_changes_waiting_in_backoff() {
    let fake = FakeAsana::start().await.expect("fake");
    fake.faults().set_down(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = common::options().backoff(Duration::from_secs(600), Duration::from_secs(600));
    let sync = common::sync(&dir, common::asana(&fake, 0), opts).await;
    for i in 0..3 {
        sync.create(NewTicket::new(format!("outage {i}")))
            .await
            .unwrap();
    }
    let report = sync.run_once().await.unwrap();
    assert_eq!(report.retried, 3, "{report:?}");
    let st = sync.status().await.unwrap();
    assert!(
        st.waiting
            .iter()
            .all(|w| matches!(w.reason, WaitReason::Backoff { .. })),
        "{:?}",
        st.waiting
    );

    fake.faults().set_down(false);
    let report = sync.run_once().await.unwrap();
    assert_eq!(report.delivered, 3, "{report:?}");
    assert_eq!(sync.status().await.unwrap().undelivered(), 0);
    common::assert_equal(&sync, &fake).await;
}

/// The CLI's short delivery after a write stops at its limit and gives back what it claimed,
/// so nothing sits "delivering" for a lease after the process is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_run_gives_back_what_it_claimed() {
    let fake = FakeAsana::start().await.expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = common::options().lease(Duration::from_secs(60));
    let sync = common::sync(&dir, common::asana(&fake, 0), opts).await;
    for i in 0..3 {
        sync.create(NewTicket::new(format!("slow {i}")))
            .await
            .unwrap();
    }
    fake.faults().set_latency(Duration::from_secs(5));
    let started = tokio::time::Instant::now();
    let report = sync.run_for(Duration::from_millis(300)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "bounded");
    assert!(report.timed_out, "{report:?}");
    let st = sync.status().await.unwrap();
    assert_eq!(st.delivering, 0, "claims given back: {:?}", st.waiting);
    assert!(
        st.waiting.iter().all(|w| w.reason == WaitReason::Due),
        "due at once for the next worker: {:?}",
        st.waiting
    );
    fake.faults().set_latency(Duration::ZERO);
    common::drain(&sync, Duration::from_secs(30)).await;
    common::assert_equal(&sync, &fake).await;
}

/// A background worker stopped mid-delivery (a process shutting down) gives its claims and the
/// SQLite worker lease back at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_background_worker_gives_back_its_claims_and_lease() {
    let fake = FakeAsana::start().await.expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = common::options().lease(Duration::from_secs(60));
    let sync = common::sync(&dir, common::asana(&fake, 0), opts).await;
    sync.create(NewTicket::new("in flight")).await.unwrap();
    fake.faults().set_latency(Duration::from_secs(5));
    let sync = sync.start_worker();
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while sync.status().await.unwrap().delivering == 0 {
        assert!(
            tokio::time::Instant::now() < until,
            "the worker never claimed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sync.stop_worker().await;
    let entries = sync.local().outbox().entries(None, 10).await.unwrap();
    assert!(
        entries
            .iter()
            .all(|e| e.state == EntryState::Pending && e.claimed_by.is_none()),
        "{entries:?}"
    );
    // Another worker process can start delivering at once (the SQLite lease is free).
    fake.faults().set_latency(Duration::ZERO);
    let other = SyncProvider::new(
        sync.local().clone(),
        common::asana(&fake, 0),
        "asana",
        common::options(),
    )
    .expect("sync");
    assert_eq!(other.run_once().await.unwrap().delivered, 1);
    TicketProvider::shutdown(&sync).await.expect("shutdown");
}

/// Asana's status change is two writes (the task's fields with `completed`, then the section
/// move). Stopped between them, the task reads as closed in its old section; the repeated
/// delivery must make it show the local status, not run a workflow step from "closed" (which
/// the default workflow refuses, and the change would park for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_change_stopped_half_way_on_asana_converges() {
    let fake = FakeAsana::start().await.expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let sync = common::sync(&dir, common::asana(&fake, 0), common::options()).await;
    let t = sync.create(NewTicket::new("two writes")).await.unwrap();
    // Another ticket cancelled first, so the Cancelled section exists: the change below is
    // then exactly its two writes.
    let other = sync
        .create(NewTicket::new("cancelled before"))
        .await
        .unwrap();
    sync.change_status(&other.id, tickets_core::Status::Cancelled)
        .await
        .unwrap();
    sync.run_once().await.unwrap();
    sync.update(
        &t.id,
        TicketPatch::new()
            .subject("renamed and cancelled")
            .status(tickets_core::Status::Cancelled),
    )
    .await
    .unwrap();
    // The first write goes through, the section move after it fails.
    fake.faults().fail_writes_after(1, 1, 503);
    let report = sync.run_once().await.unwrap();
    assert_eq!(report.retried, 1, "{report:?}");
    let rid = TicketId::new(sync.get(&t.id).await.unwrap().links["asana"].clone());
    let half = sync.remote().get(&rid).await.unwrap();
    assert_eq!(half.subject, "renamed and cancelled");
    assert_ne!(half.status, tickets_core::Status::Cancelled, "half applied");

    let report = sync.run_once().await.unwrap();
    assert_eq!((report.delivered, report.parked), (1, 0), "{report:?}");
    assert_eq!(
        sync.remote().get(&rid).await.unwrap().status,
        tickets_core::Status::Cancelled
    );
    common::assert_equal(&sync, &fake).await;
}
