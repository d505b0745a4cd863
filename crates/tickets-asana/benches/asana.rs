//! `cargo xtask bench asana`: create/get/list throughput of the provider against the fake
//! Asana, next to a baseline of raw reqwest calls making the same requests in the same run.
//!
//! The fake runs on its own runtime thread; both sides share it, so the ratio shows what the
//! provider adds (typed decoding, mapping, limits, caches). Environment:
//! - `ASANA_BENCH_OPS`: operations per measurement (default 1500);
//! - `ASANA_BENCH_CONCURRENCY`: requests in flight (default 8, at most 15 so writes stay
//!   under Asana's limit);
//! - `ASANA_BENCH_LATENCY_MS`: latency the fake adds to every request (default 0);
//! - `ASANA_BENCH_ROUNDS`: rounds (default 5); the best round of each side counts, and the
//!   sides take turns going first, so load from other processes hits both alike.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tickets_asana::{AsanaConfig, AsanaProvider, TASK_FIELDS};
use tickets_core::{NewTicket, TicketId, TicketProvider, TicketQuery};
use tickets_fakes::asana::FakeAsana;
use tickets_testkit::bench::{Report, Side};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Target {
    base: String,
    token: String,
    project: String,
}

/// Serves the fake from its own thread and runtime until the process ends.
fn start_fake() -> Target {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let fake = FakeAsana::start().await.expect("fake starts");
            // Limits are the client's business here; the baseline has none of its own.
            fake.faults().set_concurrency_limits(0, 0);
            let latency = env("ASANA_BENCH_LATENCY_MS", 0) as u64;
            fake.faults().set_latency(Duration::from_millis(latency));
            tx.send(Target {
                base: fake.base_url(),
                token: fake.token().to_owned(),
                project: fake.project().to_owned(),
            })
            .expect("bench alive");
            futures::future::pending::<()>().await;
        });
    });
    rx.recv().expect("fake started")
}

async fn timed<F, Fut>(n: usize, concurrency: usize, op: F) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    futures::stream::iter(0..n)
        .for_each_concurrent(concurrency, op)
        .await;
    started.elapsed()
}

struct Raw {
    http: reqwest::Client,
    t: Arc<Target>,
}

impl Raw {
    async fn send(&self, r: reqwest::RequestBuilder) -> Value {
        let resp = r
            .bearer_auth(&self.t.token)
            .send()
            .await
            .expect("raw request");
        assert!(
            resp.status().is_success(),
            "raw request failed: {}",
            resp.status()
        );
        resp.json::<Value>().await.expect("raw json")
    }
}

fn main() {
    let ops = env("ASANA_BENCH_OPS", 1500);
    let concurrency = env("ASANA_BENCH_CONCURRENCY", 8).clamp(1, 15);
    let rounds = env("ASANA_BENCH_ROUNDS", 5).max(1);
    let target = Arc::new(start_fake());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        // Unpaced: this measures the provider's own cost next to the same requests sent raw
        // (pacing to Asana's 1,500/min is the sync bench's drain measure).
        let mut config = AsanaConfig::new(target.token.clone(), target.project.clone()).base_url(target.base.clone());
        config.requests_per_minute = 0;
        let provider = Arc::new(AsanaProvider::new(config).expect("config"));
        let raw = Arc::new(Raw { http: reqwest::Client::new(), t: target.clone() });
        // Warm up: sections and tags exist and are cached, connections are open.
        let first = provider.create(NewTicket::new("warm-up")).await.expect("create");
        let raw_task = raw
            .send(raw.http.get(format!("{}/tasks/{}", target.base, first.id)).query(&[("opt_fields", "memberships.section,tags")]))
            .await;
        let section = raw_task["data"]["memberships"][0]["section"]["gid"].clone();
        let tags = raw_task["data"]["tags"].clone();
        let create_body = |i: usize| {
            json!({"data": {"name": format!("raw {i}"), "notes": "", "custom_fields": {},
                "memberships": [{"project": target.project, "section": section}],
                "tags": tags.as_array().unwrap().iter().map(|t| t["gid"].clone()).collect::<Vec<_>>()}})
        };
        let ids: Vec<TicketId> = futures::stream::iter(0..200)
            .then(|i| {
                let p = provider.clone();
                async move { p.create(NewTicket::new(format!("seed {i}"))).await.expect("seed").id }
            })
            .collect()
            .await;
        let ids = Arc::new(ids);

        let run_raw = async |op: &str, n: usize| -> Duration {
            match op {
                    "create" => timed(n, concurrency, |i| {
                        let raw = raw.clone();
                        let body = create_body(i);
                        async move {
                            let url = format!("{}/tasks", raw.t.base);
                            raw.send(raw.http.post(url).query(&[("opt_fields", TASK_FIELDS)]).json(&body)).await;
                        }
                    })
                    .await,
                    "get" => timed(n, concurrency, |i| {
                        let (raw, ids) = (raw.clone(), ids.clone());
                        async move {
                            let url = format!("{}/tasks/{}", raw.t.base, ids[i % ids.len()]);
                            raw.send(raw.http.get(url).query(&[("opt_fields", TASK_FIELDS)])).await;
                        }
                    })
                    .await,
                    _ => timed(n, concurrency, |_| {
                        let raw = raw.clone();
                        async move {
                            let url = format!("{}/tasks", raw.t.base);
                            let q = [("project", raw.t.project.as_str()), ("limit", "50"), ("opt_fields", TASK_FIELDS)];
                            raw.send(raw.http.get(url).query(&q)).await;
                        }
                    })
                    .await,
                }
        };
        let run_provider = async |op: &str, n: usize| -> Duration {
            match op {
                    "create" => timed(n, concurrency, |i| {
                        let p = provider.clone();
                        async move {
                            p.create(NewTicket::new(format!("provider {i}"))).await.expect("create");
                        }
                    })
                    .await,
                    "get" => timed(n, concurrency, |i| {
                        let (p, ids) = (provider.clone(), ids.clone());
                        async move {
                            p.get(&ids[i % ids.len()]).await.expect("get");
                        }
                    })
                    .await,
                    _ => timed(n, concurrency, |_| {
                        let p = provider.clone();
                        async move {
                            p.list(&TicketQuery::new().page_size(50)).await.expect("list");
                        }
                    })
                    .await,
                }
        };
        let mut rows = Vec::new();
        for op in ["create", "get", "list"] {
            let n = if op == "list" { (ops / 10).max(20) } else { ops };
            let (mut best_p, mut best_r) = (Duration::MAX, Duration::MAX);
            for round in 0..rounds {
                let (p, r) = if round % 2 == 0 {
                    let r = run_raw(op, n).await;
                    (run_provider(op, n).await, r)
                } else {
                    let p = run_provider(op, n).await;
                    (p, run_raw(op, n).await)
                };
                best_p = best_p.min(p);
                best_r = best_r.min(r);
            }
            rows.push((op, n, best_p, best_r));
        }

        let latency = env("ASANA_BENCH_LATENCY_MS", 0);
        let mut report = Report::new(
            "asana",
            format!(
                "asana provider vs raw reqwest, in-process fake Asana (concurrency {concurrency}, \
                 best of {rounds} rounds, {latency} ms added latency)"
            ),
            "provider",
            "raw",
        );
        for (op, n, p, r) in rows {
            // Goals of issue 16: <= 1.10 for remote reads, <= 1.25 otherwise.
            let goal = if op == "create" { 1.25 } else { 1.10 };
            report.compare(
                op,
                Side::from_total(n, p),
                Side::from_total(n, r),
                Some(goal),
            );
        }
        report.note("list = one page of 50 tasks; the raw side sends the same requests");
        report.finish();
    });
}
