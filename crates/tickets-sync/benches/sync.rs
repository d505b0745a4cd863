//! `cargo xtask bench sync` (or `cargo bench -p tickets-sync --bench sync`).
//!
//! 1. Local write latency (create, update, comment; p50 and p99) through the sync provider with
//!    the remote down and its worker running, next to the internal provider alone on the same
//!    kind of SQLite file, in the same run. Goal: mean time per write within 1.2x.
//! 2. Delivery throughput against the fake Asana with 50 ms latency and a 1,500 requests/minute
//!    limit: successful requests per minute over whole rate-limit windows, and the 429s met.
//!    Goal: at least 95% of the limit, at most 1% of the answers 429 (the remote's client
//!    paces itself).
//!
//! Env: `SYNC_BENCH_OPS` (writes per provider in part 1, default 1500), `SYNC_BENCH_WINDOWS`
//! (rate-limit minutes measured in part 2, default 1), `SYNC_BENCH_SKIP_THROUGHPUT=1`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::{DynProvider, NewComment, NewTicket, TicketPatch, TicketProvider};
use tickets_fakes::asana::FakeAsana;
use tickets_internal::{InternalConfig, InternalProvider};
use tickets_sync::{SyncProvider, WorkerOptions};
use tickets_testkit::bench::{Goal, Report, Side};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn asana(fake: &FakeAsana) -> DynProvider {
    let config = AsanaConfig::new(fake.token(), fake.project())
        .base_url(fake.base_url())
        .workspace(fake.workspace());
    Arc::new(AsanaProvider::new(config).expect("asana config"))
}

async fn store(dir: &tempfile::TempDir, name: &str, outbox: bool) -> InternalProvider {
    let url = format!("sqlite://{}", dir.path().join(name).display());
    InternalProvider::open(InternalConfig::new(url).outbox(outbox))
        .await
        .expect("store")
}

#[derive(Default)]
struct Lat(Vec<Duration>);

/// `ops` writes in rounds of create, update, comment; latencies per kind.
async fn writes(p: &dyn TicketProvider, ops: u64) -> [Lat; 3] {
    let mut lat: [Lat; 3] = Default::default();
    let mut i = 0;
    while i < ops {
        let t0 = Instant::now();
        let t = p
            .create(NewTicket::new(format!("bench {i}")).tag("bench"))
            .await
            .expect("create");
        lat[0].0.push(t0.elapsed());
        let t0 = Instant::now();
        p.update(&t.id, TicketPatch::new().subject(format!("bench {i} v2")))
            .await
            .expect("update");
        lat[1].0.push(t0.elapsed());
        let t0 = Instant::now();
        p.add_comment(&t.id, NewComment::new("looking"))
            .await
            .expect("comment");
        lat[2].0.push(t0.elapsed());
        i += 3;
    }
    lat
}

async fn latency(report: &mut Report) {
    let ops = env("SYNC_BENCH_OPS", 1500);
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeAsana::start().await.expect("fake");
    fake.faults().set_down(true);

    let internal = store(&dir, "internal.db", false).await;
    let sync = SyncProvider::new(
        store(&dir, "sync.db", true).await,
        asana(&fake),
        "asana",
        WorkerOptions::default().poll_interval(Duration::from_millis(200)),
    )
    .expect("sync")
    .start_worker();
    // Warm both up, then alternate so neither gets a quieter machine.
    writes(&internal, 60).await;
    writes(&sync, 60).await;
    let mut a: [Lat; 3] = Default::default();
    let mut b: [Lat; 3] = Default::default();
    for _ in 0..3 {
        for (k, l) in writes(&internal, ops / 3).await.into_iter().enumerate() {
            a[k].0.extend(l.0);
        }
        for (k, l) in writes(&sync, ops / 3).await.into_iter().enumerate() {
            b[k].0.extend(l.0);
        }
    }
    report.note(format!(
        "latency: {ops} local writes each, remote down (worker retrying); sync = internal store + outbox entry"
    ));
    for (k, name) in ["create", "update", "comment"].iter().enumerate() {
        report.compare(
            format!("{name} (remote down)"),
            Side::from_samples(&b[k].0),
            Side::from_samples(&a[k].0),
            Some(1.2),
        );
    }
    let st = sync.status().await.expect("status");
    report.metric(
        "changes waiting for the remote, none lost",
        st.undelivered() as f64,
        "entries",
        None,
    );
}

async fn throughput(report: &mut Report) {
    let windows = env("SYNC_BENCH_WINDOWS", 1).max(1);
    let limit = 1500u32;
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = FakeAsana::start().await.expect("fake");
    let sync = SyncProvider::new(
        store(&dir, "throughput.db", true).await,
        asana(&fake),
        "asana",
        WorkerOptions::default()
            .concurrency(8)
            .lease(Duration::from_secs(120))
            .pull_interval(None),
    )
    .expect("sync");
    // A backlog larger than the measured windows can take.
    let tickets = 260 * windows;
    for i in 0..tickets {
        let t = sync
            .create(NewTicket::new(format!("throughput {i}")))
            .await
            .expect("create");
        sync.add_comment(&t.id, NewComment::new("first"))
            .await
            .expect("comment");
        sync.update(&t.id, TicketPatch::new().description("more"))
            .await
            .expect("update");
    }
    fake.faults().set_latency(Duration::from_millis(50));
    let before = fake.faults().stats();
    // Starts the fake's first one-minute window now; the worker runs for whole windows.
    fake.faults().set_requests_per_minute(limit);
    let span = Duration::from_secs(60 * windows);
    let start = Instant::now();
    sync.run_worker(tokio::time::sleep(span))
        .await
        .expect("worker");
    let elapsed = start.elapsed();
    let after = fake.faults().stats();
    let requests = after.requests - before.requests;
    let limited = after.rate_limited - before.rate_limited;
    let ok = requests - limited;
    let per_min = ok as f64 / elapsed.as_secs_f64() * 60.0;
    let m = sync.metrics();
    let st = sync.status().await.expect("status");
    report.note(format!(
        "drain: fake Asana, 50 ms latency, {limit} requests/min, {windows} window(s) of 60 s; \
         {ok} requests ok in {:.1} s, {} entries delivered, {} left",
        elapsed.as_secs_f64(),
        m.delivered + m.skipped,
        st.undelivered()
    ));
    report
        .value("share_of_limit", per_min / f64::from(limit))
        .value(
            "rate_limited_share",
            limited as f64 / (requests.max(1) as f64),
        );
    report.metric(
        "drain: share of the rate limit used",
        per_min / f64::from(limit) * 100.0,
        "%",
        Some(Goal::AtLeast(95.0)),
    );
    report.metric(
        "drain: answers that were 429",
        limited as f64 / (requests.max(1) as f64) * 100.0,
        "%",
        Some(Goal::AtMost(1.0)),
    );
}

#[tokio::main]
async fn main() {
    let mut report = Report::new(
        "sync",
        "sync provider vs the internal store alone; delivery under a rate limit",
        "sync",
        "internal",
    );
    latency(&mut report).await;
    if env("SYNC_BENCH_SKIP_THROUGHPUT", 0) == 0 {
        throughput(&mut report).await;
    }
    report.finish();
}
