//! One configuration's run: a store and the fake Asana, the hot tickets, then the schedule
//! (faults, worker processes killed, stopped and restarted, writer processes killed) while
//! the writers write; then the faults off, the workers gone, a final drain, the comparison
//! and a pull.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::DynProvider;
use tickets_fakes::asana::FakeAsana;
use tickets_fakes::{FaultConfig, FaultStats};
use tickets_internal::testing::TestDb;
use tickets_internal::{InternalConfig, InternalProvider};
use tickets_sync::{SyncProvider, WorkerOptions};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::args::{Args, Store};
use crate::plan::{Action, FaultKind, FaultPhase, LEASE, Plan};
use crate::procs::{Cli, Workers, WriterHandle, WriterReport, write_config};
use crate::report::{Faults, Summary};
use crate::verify;

/// How long the final drain may take before what is left counts as undelivered.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// The harness's own view of the store: the same backend names as the CLI's config, no
/// worker of its own (it delivers only in the final drain).
async fn open(url: &str, fake: &FakeAsana) -> Result<SyncProvider, String> {
    let store = InternalProvider::open(InternalConfig::new(url).outbox(true))
        .await
        .map_err(|e| format!("cannot open the store {url}: {e}"))?;
    let mut config = AsanaConfig::new(fake.token(), fake.project())
        .base_url(fake.base_url())
        .workspace(fake.workspace());
    config.max_retries = 1;
    config.timeout_secs = 10;
    // Not paced against the fake: its random 429s are no spent budget.
    config.requests_per_minute = 0;
    let remote: DynProvider =
        Arc::new(AsanaProvider::new(config).map_err(|e| format!("asana config: {e}"))?);
    let options = WorkerOptions::default()
        .lease(LEASE)
        .backoff(Duration::from_millis(50), Duration::from_secs(2))
        .max_retry_after(Duration::from_secs(10))
        .max_attempts(100)
        .pull_interval(None);
    SyncProvider::new(store, remote, crate::REMOTE, options).map_err(|e| e.to_string())
}

/// Where the store lives: a file in the run directory (kept with it), or a database of its
/// own on the server the test variables name. `None`: skipped (reported by `TestDb`, an
/// error instead when `CI` is set).
async fn store(kind: Store, dir: &Path) -> Result<Option<(String, Option<TestDb>)>, String> {
    let server = match kind {
        Store::Sqlite => {
            let url = format!("sqlite://{}", dir.join("tickets.db").display());
            return Ok(Some((url, None)));
        }
        Store::Postgres => TestDb::postgres().await,
        Store::Mysql => TestDb::mysql().await,
    };
    match server.map_err(|e| format!("{kind}: {e}"))? {
        Some(db) => Ok(Some((db.url().to_owned(), Some(db)))),
        None => Ok(None),
    }
}

/// Runs one configuration; `None` when its database is not configured (outside CI).
pub async fn run(kind: Store, args: &Args, bin: &Path) -> Result<Option<Summary>, String> {
    let began = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix(&format!("chaos-sync-{kind}-"))
        .tempdir()
        .map_err(|e| format!("cannot make a run directory: {e}"))?;
    let Some((url, db)) = store(kind, dir.path()).await? else {
        return Ok(None);
    };
    let plan = Plan::new(args.seed, args.secs, kind.workers());
    let fake = FakeAsana::start()
        .await
        .map_err(|e| format!("cannot start the fake Asana: {e}"))?;
    write_config(dir.path(), &url, &fake)?;
    // Opened first, so the store is migrated before any CLI process opens it.
    let sync = open(&url, &fake).await?;
    let cli = Cli {
        bin: bin.to_owned(),
        dir: dir.path().to_owned(),
    };
    println!(
        "chaos sync [{kind}, {} worker process(es)]: seed {}, {} s of chaos, schedule {} \
         ({} fault phases, {} worker kills, {} stalls, {} writer kills planned), run dir {}",
        kind.workers(),
        plan.seed,
        plan.secs,
        plan.fingerprint(),
        plan.count(|a| matches!(a, Action::FaultOn(_))),
        plan.count(|a| matches!(a, Action::KillWorker(_))),
        plan.count(|a| matches!(a, Action::StopWorker(_))),
        plan.count(|a| matches!(a, Action::KillWriter(..))),
        dir.path().display()
    );

    let mut hot = Vec::new();
    for op in &plan.hot {
        let (code, out, err) = cli.run(&op.args("")).await?;
        let id = serde_json::from_str::<serde_json::Value>(&out)
            .ok()
            .and_then(|v| v.get("id")?.as_str().map(str::to_owned));
        match (code, id) {
            (Some(0), Some(id)) => hot.push(id),
            _ => {
                return Err(format!(
                    "{kind}: the CLI could not make the first tickets (exit {code:?}): {err}"
                ));
            }
        }
    }

    let mut ops = plan.hot.len() as u64;
    let chaos = chaos(&plan, &fake, &sync, &cli, Arc::new(hot), args.verbose).await?;
    for w in &chaos.writers {
        ops += w.ops;
    }

    // The final drain: the remote healthy, every worker process gone.
    let drained = Instant::now();
    let drain_notes = drain(&sync).await;
    let drain = drained.elapsed();
    let verdict = verify::verify(&sync)
        .await
        .map_err(|e| format!("{kind}: the comparison failed: {e}"))?;
    // A pull after the comparison: with both sides equal it must change nothing locally.
    let pull = sync.pull_changes().await.map_err(|e| e.to_string());
    let summary = Summary {
        store: kind,
        seed: plan.seed,
        secs: plan.secs,
        fingerprint: plan.fingerprint(),
        duration: began.elapsed(),
        drain,
        drain_notes,
        ops,
        writers: chaos.writers,
        worker_kills: chaos.workers.kills,
        stalls: chaos.workers.stalls,
        worker_exits: chaos.workers.exits.clone(),
        fenced: fenced_out(dir.path()),
        faults: chaos.faults,
        pull,
        verdict,
        dir: dir.path().to_owned(),
    };
    if args.keep || !summary.passed() {
        // Left for a look at the config, the worker logs and the store (a server database
        // is dropped by hand).
        let _ = dir.keep();
        if let Some(db) = db {
            std::mem::forget(db);
        }
    }
    Ok(Some(summary))
}

struct Chaos {
    writers: Vec<WriterReport>,
    workers: Workers,
    faults: Faults,
}

/// The schedule, while the writers write; ends with the faults off, the writers done and no
/// worker process left.
async fn chaos(
    plan: &Plan,
    fake: &FakeAsana,
    sync: &SyncProvider,
    cli: &Cli,
    hot: Arc<Vec<String>>,
    verbose: bool,
) -> Result<Chaos, String> {
    let (stop, stopped) = watch::channel(false);
    let writers: Vec<WriterHandle> = plan
        .writers
        .iter()
        .enumerate()
        .map(|(w, ops)| {
            WriterHandle::start(w, ops.clone(), hot.clone(), cli.clone(), stopped.clone())
        })
        .collect();
    let mut workers = Workers::new(cli.clone(), plan.workers);
    let mut faults = FaultDriver::new(fake);
    let start = Instant::now();
    let end = start + Duration::from_secs(plan.secs);
    let mut events = plan.events.iter().peekable();
    let mut progress = start + Duration::from_secs(5);
    let mut failure = None;
    while Instant::now() < end {
        let next = events.peek().map_or(end, |e| start + e.at);
        tokio::time::sleep_until(next.min(progress).min(end)).await;
        workers.reap();
        while let Some(e) = events.next_if(|e| start + e.at <= Instant::now()) {
            if verbose {
                println!("  [{:6.2}s] {:?}", e.at.as_secs_f64(), e.action);
            }
            let done = match &e.action {
                Action::FaultOn(phase) => {
                    faults.on(phase);
                    Ok(())
                }
                Action::FaultOff => {
                    faults.off();
                    Ok(())
                }
                Action::StartWorker(s) => workers.start(*s),
                Action::KillWorker(s) => workers.kill(*s).await,
                Action::StopWorker(s) => workers.stop(*s),
                Action::ContinueWorker(s) => workers.resume(*s),
                Action::KillWriter(w, after) => {
                    writers[*w].kill_next(*after);
                    Ok(())
                }
            };
            if let Err(e) = done {
                failure = Some(e);
                break;
            }
        }
        if failure.is_some() {
            break;
        }
        if Instant::now() >= progress {
            progress += Duration::from_secs(5);
            if let Ok(st) = sync.status().await {
                println!(
                    "  [{:3}s] worker kills {}, stalls {}; outbox: pending {}, delivering {}, parked {}",
                    start.elapsed().as_secs(),
                    workers.kills,
                    workers.stalls,
                    st.pending,
                    st.delivering,
                    st.parked
                );
            }
        }
    }
    // Wind down: writers finish the command they run; the remote heals; workers go.
    let _ = stop.send(true);
    let mut reports = Vec::new();
    for w in writers {
        reports.push(w.join().await);
    }
    faults.off();
    workers.shutdown().await?;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(Chaos {
        writers: reports,
        workers,
        faults: faults.finish(),
    })
}

/// Turns fault phases on and off and counts what each injected.
struct FaultDriver<'a> {
    fake: &'a FakeAsana,
    current: Option<(FaultKind, FaultStats)>,
    counts: Faults,
}

impl<'a> FaultDriver<'a> {
    fn new(fake: &'a FakeAsana) -> Self {
        Self {
            fake,
            current: None,
            counts: Faults::default(),
        }
    }

    fn on(&mut self, p: &FaultPhase) {
        self.off();
        let rate = Some(f64::from(p.percent) / 100.0);
        let mut c = FaultConfig {
            seed: Some(p.seed),
            ..FaultConfig::default()
        };
        match p.kind {
            FaultKind::ServerErrors => {
                c.failure_rate = rate;
                c.failure_statuses = Some(vec![500, 502, 503, 504]);
            }
            FaultKind::RateLimited => {
                c.failure_rate = rate;
                c.failure_statuses = Some(vec![429]);
                c.retry_after_secs = Some(p.retry_after_secs);
                let r = &mut self.counts.retry_after;
                *r = Some(
                    r.map_or((p.retry_after_secs, p.retry_after_secs), |(lo, hi)| {
                        (lo.min(p.retry_after_secs), hi.max(p.retry_after_secs))
                    }),
                );
            }
            FaultKind::Dropped => c.drop_rate = rate,
            FaultKind::Slow => {
                c.latency_ms = Some(u64::try_from(p.latency.as_millis()).unwrap_or(u64::MAX));
                let l = &mut self.counts.latency;
                *l = Some(l.map_or((p.latency, p.latency), |(lo, hi)| {
                    (lo.min(p.latency), hi.max(p.latency))
                }));
            }
            FaultKind::Down => c.down = Some(true),
        }
        self.current = Some((p.kind, self.fake.faults().stats()));
        *self.counts.phases.entry(p.kind).or_default() += 1;
        self.fake.faults().configure(&c);
    }

    fn off(&mut self) {
        self.fake.faults().configure(&FaultConfig {
            failure_rate: Some(0.0),
            drop_rate: Some(0.0),
            latency_ms: Some(0),
            down: Some(false),
            ..FaultConfig::default()
        });
        let Some((kind, before)) = self.current.take() else {
            return;
        };
        let now = self.fake.faults().stats();
        let n = match kind {
            FaultKind::ServerErrors | FaultKind::RateLimited | FaultKind::Down => {
                now.injected - before.injected
            }
            FaultKind::Dropped => now.dropped - before.dropped,
            FaultKind::Slow => now.requests - before.requests,
        };
        *self.counts.injected.entry(kind).or_default() += n;
    }

    fn finish(mut self) -> Faults {
        self.off();
        let stats = self.fake.faults().stats();
        // Injected 429s count as injected; these are the fake's own limits.
        self.counts.limit_429 = stats.rate_limited;
        self.counts.requests = stats.requests;
        self.counts
    }
}

/// Delivers everything that is not parked (or behind a parked change), waiting out the leases
/// of killed workers; returns what got in the way (each line once).
async fn drain(sync: &SyncProvider) -> Vec<String> {
    let end = Instant::now() + DRAIN_LIMIT;
    let mut notes: BTreeMap<String, u32> = BTreeMap::new();
    loop {
        match sync.run_once().await {
            Ok(_) => {}
            // On SQLite a killed worker's lease is held until it runs out.
            Err(e) if e.kind() == tickets_core::ErrorKind::Conflict => {
                *notes
                    .entry("waited for a killed worker's SQLite worker lease to run out".into())
                    .or_default() += 1;
            }
            Err(e) => *notes.entry(e.to_string()).or_default() += 1,
        }
        match sync.status().await {
            Ok(st) if verify::waiting(&st).0 == 0 => break,
            Ok(_) => {}
            Err(e) => *notes.entry(format!("status: {e}")).or_default() += 1,
        }
        if Instant::now() >= end {
            notes.insert(format!("gave up after {} s", DRAIN_LIMIT.as_secs()), 1);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    notes
        .into_iter()
        .map(|(n, times)| {
            if times > 1 {
                format!("{n} ({times} times)")
            } else {
                n
            }
        })
        .collect()
}

/// How often a worker found, after a stall or a slow request, that its claim had passed to
/// another worker (its logs say so at info level), so it sent and recorded nothing more.
fn fenced_out(dir: &Path) -> u64 {
    let Ok(files) = std::fs::read_dir(dir) else {
        return 0;
    };
    files
        .flatten()
        .filter(|f| f.file_name().to_string_lossy().starts_with("worker-"))
        .filter_map(|f| std::fs::read_to_string(f.path()).ok())
        .map(|log| log.matches("passed to another worker").count() as u64)
        .sum()
}
