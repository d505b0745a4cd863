//! `cargo xtask bench internal`: the internal provider next to hand-written sqlx running the
//! same SQL, on SQLite (a file) and PostgreSQL, in the same run.
//!
//! Environment:
//! - `TICKETS_BENCH_LARGE=1`: seed 1 000 000 tickets instead of 10 000;
//! - `TICKETS_BENCH_OPS=N`: operations per measurement (default 1000);
//! - `TICKETS_BENCH_BACKENDS=sqlite,postgres`: which backends to measure (default both);
//! - `TICKETS_TEST_POSTGRES_URL`: the PostgreSQL server (default
//!   `postgres://postgres@127.0.0.1:5432/postgres`; skipped when unreachable). The bench works
//!   in a database of its own, dropped at the end.
//!
//! Rounds alternate provider and baseline so drift (cache warm-up, autovacuum) hits both alike.
//! The ratio is provider time / baseline time (1.00 = no overhead).

use std::time::{Duration, Instant};

use tickets_core::{
    NewComment, NewTicket, Priority, Status, TicketPatch, TicketProvider, TicketQuery,
};
use tickets_internal::Dialect;
use tickets_internal::testing::TestDb;
use tickets_testkit::bench::{Report, Side};

#[path = "internal/baseline.rs"]
mod baseline;

use baseline::Baseline;

const ROUNDS: usize = 10;
const SEED_BATCH: usize = 500;
/// The provider may spend at most this much more time per operation than the same SQL
/// written by hand (it also checks input, maps errors and keeps history).
const RATIO_GOAL: f64 = 1.25;

#[derive(Default)]
struct Timing {
    provider: Vec<Duration>,
    baseline: Vec<Duration>,
}

struct Row {
    backend: String,
    op: &'static str,
    timing: Timing,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let large = std::env::var("TICKETS_BENCH_LARGE").is_ok_and(|v| v == "1");
    let tickets = if large { 1_000_000 } else { 10_000 };
    let ops: usize = std::env::var("TICKETS_BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let started = Instant::now();
    let mut rows = Vec::new();

    let backends =
        std::env::var("TICKETS_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    if backends.contains("sqlite") {
        let sqlite = TestDb::sqlite();
        rows.extend(bench_one("sqlite", &sqlite, tickets, ops).await);
    }
    if backends.contains("postgres") {
        let pg_url = std::env::var(tickets_internal::testing::POSTGRES_ENV)
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        match TestDb::on(Dialect::Postgres, &pg_url).await {
            Ok(pg) => rows.extend(bench_one("postgres", &pg, tickets, ops).await),
            Err(e) => println!("PostgreSQL skipped: {e}"),
        }
    }

    let mut report = Report::new(
        "internal",
        format!("internal provider vs hand-written sqlx, {tickets} tickets, {ops} ops per case"),
        "provider",
        "sqlx",
    );
    for r in &rows {
        report.compare(
            format!("{} {}", r.backend, r.op),
            Side::from_samples(&r.timing.provider),
            Side::from_samples(&r.timing.baseline),
            Some(RATIO_GOAL),
        );
    }
    report.note(format!(
        "peak memory (VmHWM): {}; total time {:.1}s",
        peak_memory(),
        started.elapsed().as_secs_f64()
    ));
    report.finish();
}

async fn bench_one(name: &str, db: &TestDb, tickets: usize, ops: usize) -> Vec<Row> {
    let provider = db.open().await.expect("open the store");
    let base = Baseline::connect(db.dialect(), db.url()).await;
    let t = Instant::now();
    base.seed(tickets, SEED_BATCH).await;
    println!(
        "{name}: seeded {tickets} tickets in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let ids = base.sample_ids(2000).await;
    let per_round = (ops / ROUNDS).max(1);
    let mut create = Timing::default();
    let mut get = Timing::default();
    let mut update = Timing::default();
    let mut comment = Timing::default();
    let mut list = Timing::default();

    let query = TicketQuery::new()
        .status(Status::InProgress)
        .assignee("user7@example.com")
        .page_size(50);
    let mut n = 0usize;
    for round in 0..ROUNDS {
        for i in 0..per_round {
            let subject = format!("bench ticket {round}/{i}");
            let s = Instant::now();
            provider
                .create(
                    NewTicket::new(&subject)
                        .description("created by the bench")
                        .tag("bench")
                        .tag("new"),
                )
                .await
                .expect("create");
            create.provider.push(s.elapsed());
            let s = Instant::now();
            base.create(&subject).await;
            create.baseline.push(s.elapsed());
        }
        for _ in 0..per_round {
            n += 1;
            let id = &ids[n % ids.len()];
            let s = Instant::now();
            provider.get(&id.as_str().into()).await.expect("get");
            get.provider.push(s.elapsed());
            let s = Instant::now();
            base.get(id).await;
            get.baseline.push(s.elapsed());
        }
        for i in 0..per_round {
            let id = &ids[(n + i) % ids.len()];
            let priority = if i % 2 == 0 {
                Priority::High
            } else {
                Priority::Low
            };
            let s = Instant::now();
            provider
                .update(&id.as_str().into(), TicketPatch::new().priority(priority))
                .await
                .expect("update");
            update.provider.push(s.elapsed());
            let s = Instant::now();
            base.update_priority(id, if i % 2 == 0 { "low" } else { "high" })
                .await;
            update.baseline.push(s.elapsed());
        }
        for i in 0..per_round {
            let id = &ids[(n + 7 * i) % ids.len()];
            let s = Instant::now();
            provider
                .add_comment(
                    &id.as_str().into(),
                    NewComment::new("bench comment").author("b"),
                )
                .await
                .expect("comment");
            comment.provider.push(s.elapsed());
            let s = Instant::now();
            base.comment(id, "bench comment", "b").await;
            comment.baseline.push(s.elapsed());
        }
        for _ in 0..per_round {
            let s = Instant::now();
            let page = provider.list(&query).await.expect("list");
            list.provider.push(s.elapsed());
            let s = Instant::now();
            let rows = base
                .filtered_page("in_progress", "user7@example.com", 50)
                .await;
            list.baseline.push(s.elapsed());
            assert_eq!(
                page.items.len(),
                rows,
                "provider and baseline see the same page"
            );
        }
    }
    provider.shutdown().await;
    base.close().await;
    [
        ("create", create),
        ("get", get),
        ("update", update),
        ("comment", comment),
        ("list", list),
    ]
    .into_iter()
    .map(|(op, timing)| Row {
        backend: name.to_owned(),
        op,
        timing,
    })
    .collect()
}

fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
