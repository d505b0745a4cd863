//! The figures of one configuration's run, and how they read.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use tickets_sync::PullReport;

use crate::args::Store;
use crate::plan::FaultKind;
use crate::procs::WriterReport;
use crate::verify::Verdict;

/// What the fake injected, by kind.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Phases of each kind.
    pub phases: BTreeMap<FaultKind, u64>,
    /// Requests each kind failed (for slow phases: requests slowed past the time-out; for
    /// dropped answers: writes applied whose answer was dropped).
    pub injected: BTreeMap<FaultKind, u64>,
    /// 429s from the fake's concurrency limits (Asana's 50 reads / 15 writes).
    pub limit_429: u64,
    /// The shortest and longest `Retry-After` asked for.
    pub retry_after: Option<(u64, u64)>,
    /// The shortest and longest latency of slow phases.
    pub latency: Option<(Duration, Duration)>,
    /// Requests the fake saw.
    pub requests: u64,
}

/// One configuration's run.
#[derive(Debug)]
pub struct Summary {
    /// Where the store was.
    pub store: Store,
    /// The seed.
    pub seed: u64,
    /// Seconds of chaos.
    pub secs: u64,
    /// The schedule's digest.
    pub fingerprint: String,
    /// The whole run, setup to comparison.
    pub duration: Duration,
    /// The final drain.
    pub drain: Duration,
    /// What slowed the drain down.
    pub drain_notes: Vec<String>,
    /// CLI write processes run (the first tickets included).
    pub ops: u64,
    /// Each writer's figures.
    pub writers: Vec<WriterReport>,
    /// Worker processes killed.
    pub worker_kills: u64,
    /// Worker processes stopped past their lease.
    pub stalls: u64,
    /// Worker processes that ended by themselves.
    pub worker_exits: Vec<String>,
    /// Deliveries whose claim had passed to another worker when their worker came back (from
    /// the worker logs): fenced out, nothing sent or recorded after that.
    pub fenced: u64,
    /// Faults injected.
    pub faults: Faults,
    /// The pull after the comparison.
    pub pull: Result<PullReport, String>,
    /// The comparison.
    pub verdict: Verdict,
    /// The run directory (kept when the run failed or with `--keep`).
    pub dir: PathBuf,
}

impl Summary {
    /// Whether the pull after a clean comparison changed local tickets (it must not).
    fn pull_disagrees(&self) -> bool {
        self.verdict.is_clean()
            && self
                .pull
                .as_ref()
                .is_ok_and(|p| p.imported + p.updated + p.comments > 0)
    }

    /// No loss, duplicate, difference, park or undelivered change; no worker ended by itself;
    /// the pull agreed.
    pub fn passed(&self) -> bool {
        self.verdict.is_clean()
            && self.worker_exits.is_empty()
            && !self.pull_disagrees()
            && self.pull.is_ok()
    }

    /// What failed, in a few words (empty when it passed).
    pub fn failures(&self) -> Vec<String> {
        let v = &self.verdict;
        let mut f = Vec::new();
        for (n, what) in [
            (v.lost, "lost"),
            (v.duplicated, "duplicated"),
            (v.different, "different"),
            (v.parked, "parked"),
            (v.undelivered, "undelivered"),
        ] {
            if n > 0 {
                f.push(format!("{n} {what}"));
            }
        }
        if !self.worker_exits.is_empty() {
            f.push(format!(
                "{} worker(s) ended by themselves",
                self.worker_exits.len()
            ));
        }
        if self.pull_disagrees() {
            f.push("the final pull changed local tickets".into());
        }
        if let Err(e) = &self.pull {
            f.push(format!("the final pull failed: {e}"));
        }
        f
    }
}

fn label(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::ServerErrors => "5xx",
        FaultKind::RateLimited => "429 (Retry-After > lease)",
        FaultKind::Dropped => "answers dropped",
        FaultKind::Slow => "past the client time-out",
        FaultKind::Down => "down (refused)",
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.verdict;
        let sum = |g: fn(&WriterReport) -> u64| self.writers.iter().map(g).sum::<u64>();
        let failed: Vec<&String> = self.writers.iter().flat_map(|w| &w.failed).collect();
        writeln!(
            f,
            "== chaos sync [{}, {} worker process(es)]: {} ==",
            self.store,
            self.store.workers(),
            if self.passed() { "PASSED" } else { "FAILED" }
        )?;
        writeln!(
            f,
            "  seed {}  schedule {}  chaos {} s  whole run {:.1} s  final drain {:.1} s",
            self.seed,
            self.fingerprint,
            self.secs,
            self.duration.as_secs_f64(),
            self.drain.as_secs_f64()
        )?;
        let cli_ops = sum(|w| w.ops).max(1);
        let busy: Duration = self.writers.iter().map(|w| w.busy).sum();
        writeln!(
            f,
            "  ops {} ({:.2} s per CLI process; refused by the local workflow {}, writer \
             processes killed {}, skipped for a killed create {}, failed {})",
            self.ops,
            busy.as_secs_f64() / cli_ops as f64,
            sum(|w| w.refused),
            sum(|w| w.killed),
            sum(|w| w.skipped),
            failed.len()
        )?;
        writeln!(
            f,
            "  kills {} (SIGKILL of worker processes)  stalls {} (SIGSTOP past the lease, then \
             SIGCONT)  claims found lost and fenced out {}",
            self.worker_kills, self.stalls, self.fenced
        )?;
        let fl = &self.faults;
        let mut parts = Vec::new();
        for kind in FaultKind::ALL {
            let n = fl.injected.get(&kind).copied().unwrap_or(0);
            let phases = fl.phases.get(&kind).copied().unwrap_or(0);
            parts.push(format!("{} {n} in {phases} phase(s)", label(kind)));
        }
        writeln!(f, "  faults injected: {}", parts.join(", "))?;
        let mut extra = format!(
            "    plus {} 429s from the fake's concurrency limits; {} requests in all",
            fl.limit_429, fl.requests
        );
        if let Some((lo, hi)) = fl.retry_after {
            extra.push_str(&format!("; Retry-After {lo}-{hi} s"));
        }
        if let Some((lo, hi)) = fl.latency {
            extra.push_str(&format!(
                "; latency {:.1}-{:.1} s",
                lo.as_secs_f64(),
                hi.as_secs_f64()
            ));
        }
        writeln!(f, "{extra}")?;
        writeln!(
            f,
            "  tickets {} (equal by sync verify {}), remote tasks {}: lost {}, duplicated {}, \
             different {}, parked {} (changes behind them {}), undelivered {}",
            v.tickets,
            v.equal,
            v.remote_tasks,
            v.lost,
            v.duplicated,
            v.different,
            v.parked,
            v.behind_parked,
            v.undelivered
        )?;
        match &self.pull {
            Ok(p) => writeln!(
                f,
                "  final pull: seen {}, imported {}, updated {}, comments copied {}",
                p.seen, p.imported, p.updated, p.comments
            )?,
            Err(e) => writeln!(f, "  final pull failed: {e}")?,
        }
        for n in &self.drain_notes {
            writeln!(f, "  drain: {n}")?;
        }
        for e in &self.worker_exits {
            writeln!(f, "  {e}")?;
        }
        for e in failed.iter().take(5) {
            writeln!(f, "  {e}")?;
        }
        const SHOWN: usize = 25;
        for line in v.findings.iter().take(SHOWN) {
            writeln!(f, "  {line}")?;
        }
        if v.findings.len() > SHOWN {
            writeln!(f, "  ... and {} more findings", v.findings.len() - SHOWN)?;
        }
        if !self.passed() {
            writeln!(
                f,
                "  run directory kept: {} (config, worker logs)",
                self.dir.display()
            )?;
        }
        Ok(())
    }
}
