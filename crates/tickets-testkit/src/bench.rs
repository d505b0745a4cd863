//! One report format for every benchmark (`cargo xtask bench`), so numbers can be compared
//! across harnesses.
//!
//! A benchmark compares *ours* (a provider) with a *baseline* (hand-written sqlx, raw reqwest,
//! the internal store under sync) case by case. Every row says the same things the same way:
//! operations, ops/s of both, latency percentiles where measured, and one ratio, always
//! **time per operation, ours / baseline** (1.00 = no overhead; lower is better), checked
//! against a goal on that same ratio. Numbers that are not comparisons (a drain's share of a
//! rate limit, its 429 answers) are [`Report::metric`]s with a goal of their own.
//!
//! [`Report::finish`] prints the report as Markdown and, when `TICKETS_BENCH_OUT` names a
//! directory (`cargo xtask bench` sets it), writes it there as `<name>.json` for the summary
//! `xtask` prints at the end of a run.

use std::time::Duration;

use serde_json::{Value, json};

/// What one side of a comparison did.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// Operations done.
    pub ops: usize,
    /// Wall time for all of them.
    pub total: Duration,
    /// Median latency of one operation, where measured one by one.
    pub p50: Option<Duration>,
    /// 99th-percentile latency of one operation, where measured one by one.
    pub p99: Option<Duration>,
}

impl Side {
    /// `ops` operations in `total` wall time (throughput only, no percentiles).
    pub fn from_total(ops: usize, total: Duration) -> Self {
        Self {
            ops,
            total,
            p50: None,
            p99: None,
        }
    }

    /// One latency sample per operation, run one after the other.
    pub fn from_samples(samples: &[Duration]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        Self {
            ops: samples.len(),
            total: samples.iter().sum(),
            p50: percentile(&sorted, 0.50),
            p99: percentile(&sorted, 0.99),
        }
    }

    /// Operations per second (0 when nothing was measured).
    pub fn ops_per_sec(&self) -> f64 {
        if self.ops == 0 || self.total.is_zero() {
            return 0.0;
        }
        self.ops as f64 / self.total.as_secs_f64()
    }

    /// Mean time per operation.
    pub fn per_op(&self) -> Option<Duration> {
        u32::try_from(self.ops)
            .ok()
            .filter(|&n| n > 0)
            .map(|n| self.total / n)
    }
}

/// The value at quantile `q` (0..=1) of sorted samples.
fn percentile(sorted: &[Duration], q: f64) -> Option<Duration> {
    let last = sorted.len().checked_sub(1)?;
    let at = ((sorted.len() as f64 * q) as usize).min(last);
    Some(sorted[at])
}

/// A goal on a number: met or missed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// The number must be at most this.
    AtMost(f64),
    /// The number must be at least this.
    AtLeast(f64),
}

impl Goal {
    fn met(self, value: f64) -> bool {
        match self {
            Goal::AtMost(limit) => value <= limit,
            Goal::AtLeast(limit) => value >= limit,
        }
    }

    fn text(self) -> String {
        match self {
            Goal::AtMost(limit) => format!("<= {limit}"),
            Goal::AtLeast(limit) => format!(">= {limit}"),
        }
    }
}

/// One comparison row.
#[derive(Debug, Clone)]
struct Row {
    case: String,
    ours: Side,
    baseline: Side,
    goal: Option<f64>,
    /// Requests per operation counted at the server, and the fewest the vendor allows.
    requests: Option<(f64, f64)>,
}

impl Row {
    /// The ratio within its goal and the requests at their minimum, where either is known.
    fn met(&self) -> Option<bool> {
        let ratio = self.goal.zip(self.ratio()).map(|(g, x)| x <= g);
        let requests = self.requests.map(|(n, min)| n <= min + 1e-9);
        match (ratio, requests) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(true) && b.unwrap_or(true)),
        }
    }

    /// Time per operation, ours / baseline.
    fn ratio(&self) -> Option<f64> {
        let (ours, base) = (self.ours.per_op()?, self.baseline.per_op()?);
        (!base.is_zero()).then(|| ours.as_secs_f64() / base.as_secs_f64())
    }
}

#[derive(Debug, Clone)]
struct Metric {
    name: String,
    value: f64,
    unit: String,
    goal: Option<Goal>,
}

/// A benchmark's report. Build it, then [`finish`](Report::finish) it.
#[derive(Debug, Clone)]
pub struct Report {
    name: String,
    title: String,
    ours: String,
    baseline: String,
    rows: Vec<Row>,
    metrics: Vec<Metric>,
    values: Vec<(String, f64)>,
    notes: Vec<String>,
}

impl Report {
    /// A report for benchmark `name` (`internal`, `asana`, ...), comparing `ours` with
    /// `baseline` (both short names, used as column headings).
    pub fn new(
        name: impl Into<String>,
        title: impl Into<String>,
        ours: impl Into<String>,
        baseline: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            title: title.into(),
            ours: ours.into(),
            baseline: baseline.into(),
            rows: Vec::new(),
            metrics: Vec::new(),
            values: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A comparison, with an optional goal on the time ratio (ours / baseline, at most).
    pub fn compare(
        &mut self,
        case: impl Into<String>,
        ours: Side,
        baseline: Side,
        goal: Option<f64>,
    ) -> &mut Self {
        self.rows.push(Row {
            case: case.into(),
            ours,
            baseline,
            goal,
            requests: None,
        });
        self
    }

    /// The requests per operation the last comparison made (counted at the server) and the
    /// fewest the vendor's API allows; a row with more than the minimum misses its goal.
    pub fn requests(&mut self, requests: f64, min_requests: f64) -> &mut Self {
        if let Some(row) = self.rows.last_mut() {
            row.requests = Some((requests, min_requests));
        }
        self
    }

    /// A named number at the top level of the JSON (`share_of_limit`, `rate_limited_share`).
    pub fn value(&mut self, key: impl Into<String>, value: f64) -> &mut Self {
        self.values.push((key.into(), value));
        self
    }

    /// A number that is not a comparison (`"share of the limit"`, 97.2, `"%"`).
    pub fn metric(
        &mut self,
        name: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
        goal: Option<Goal>,
    ) -> &mut Self {
        self.metrics.push(Metric {
            name: name.into(),
            value,
            unit: unit.into(),
            goal,
        });
        self
    }

    /// A line printed under the tables (setup, sizes, caveats).
    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        self.notes.push(note.into());
        self
    }

    /// Every goal set was met.
    pub fn all_met(&self) -> bool {
        self.rows.iter().all(|r| r.met().unwrap_or(true))
            && self
                .metrics
                .iter()
                .all(|m| m.goal.is_none_or(|g| g.met(m.value)))
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = format!("\n## {}: {}\n\n", self.name, self.title);
        if !self.rows.is_empty() {
            out.push_str(&format!(
                "| case | ops | {o} ops/s | {b} ops/s | {o} p50 | {o} p99 | {b} p99 | time {o}/{b} | goal | requests (min) | verdict |\n",
                o = self.ours,
                b = self.baseline
            ));
            out.push_str("|---|--:|--:|--:|--:|--:|--:|--:|:-:|--:|:-:|\n");
            for r in &self.rows {
                let ratio = r.ratio();
                out.push_str(&format!(
                    "| {} | {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} |\n",
                    r.case,
                    r.ours.ops,
                    r.ours.ops_per_sec(),
                    r.baseline.ops_per_sec(),
                    ms(r.ours.p50),
                    ms(r.ours.p99),
                    ms(r.baseline.p99),
                    ratio.map_or("-".to_owned(), |x| format!("{x:.2}")),
                    r.goal.map_or("-".to_owned(), |g| format!("<= {g}")),
                    r.requests
                        .map_or("-".to_owned(), |(n, min)| format!("{n:.2} ({min})")),
                    match r.met() {
                        Some(true) => "met",
                        Some(false) => "MISSED",
                        None => "-",
                    },
                ));
            }
            out.push('\n');
        }
        if !self.metrics.is_empty() {
            out.push_str("| measure | value | goal | verdict |\n|---|--:|:-:|:-:|\n");
            for m in &self.metrics {
                out.push_str(&format!(
                    "| {} | {:.2} {} | {} | {} |\n",
                    m.name,
                    m.value,
                    m.unit,
                    m.goal.map_or("-".to_owned(), Goal::text),
                    verdict(m.goal, Some(m.value)),
                ));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "time {o}/{b} is the mean time per operation of {o} over {b}: 1.00 = no overhead, lower is better.\n",
            o = self.ours,
            b = self.baseline
        ));
        for n in &self.notes {
            out.push_str(n);
            out.push('\n');
        }
        out
    }

    /// The report as JSON (what `xtask bench` reads back for its summary).
    pub fn to_json(&self) -> Value {
        let side = |s: &Side| {
            json!({
                "ops": s.ops,
                "total_secs": s.total.as_secs_f64(),
                "ops_per_sec": s.ops_per_sec(),
                "p50_ms": s.p50.map(|d| d.as_secs_f64() * 1e3),
                "p99_ms": s.p99.map(|d| d.as_secs_f64() * 1e3),
            })
        };
        let round = |x: f64| (x * 100.0).round() / 100.0;
        let mut out = json!({
            "name": self.name,
            "title": self.title,
            "ours": self.ours,
            "baseline": self.baseline,
            // The issue-16 row shape first (op, ratio, requests, min_requests, p99_ms), then
            // the rest of what was measured.
            "rows": self.rows.iter().map(|r| json!({
                "op": r.case,
                "ratio": r.ratio().map(round),
                "requests": r.requests.map(|(n, _)| round(n)),
                "min_requests": r.requests.map(|(_, min)| min),
                "p99_ms": r.ours.p99.map(|d| round(d.as_secs_f64() * 1e3)),
                "ours": side(&r.ours),
                "baseline": side(&r.baseline),
                "goal_ratio_at_most": r.goal,
                "met": r.met(),
            })).collect::<Vec<_>>(),
            "metrics": self.metrics.iter().map(|m| json!({
                "name": m.name,
                "value": m.value,
                "unit": m.unit,
                "goal": m.goal.map(Goal::text),
                "met": m.goal.map(|g| g.met(m.value)),
            })).collect::<Vec<_>>(),
            "notes": self.notes,
        });
        for (key, value) in &self.values {
            out[key.as_str()] = json!(value);
        }
        out
    }

    /// One line per row and metric, tab-separated: bench, case, value, goal, verdict (what
    /// `xtask bench`, plain std, sums up at the end of a run).
    pub fn tsv(&self) -> String {
        let mut out = String::new();
        for r in &self.rows {
            let ratio = r.ratio();
            out.push_str(&format!(
                "{}\t{}\ttime {}/{} {}\t{}\t{}\n",
                self.name,
                r.case,
                self.ours,
                self.baseline,
                ratio.map_or("-".to_owned(), |x| format!("{x:.2}")),
                r.goal.map_or("-".to_owned(), |g| format!("<= {g}")),
                match r.met() {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "-",
                },
            ));
        }
        for m in &self.metrics {
            out.push_str(&format!(
                "{}\t{}\t{:.2} {}\t{}\t{}\n",
                self.name,
                m.name,
                m.value,
                m.unit,
                m.goal.map_or("-".to_owned(), Goal::text),
                verdict(m.goal, Some(m.value)),
            ));
        }
        out
    }

    /// Prints the Markdown and, when `TICKETS_BENCH_OUT` is set, writes `<name>.json` there.
    pub fn finish(&self) {
        println!("{}", self.markdown());
        let Some(dir) = std::env::var_os("TICKETS_BENCH_OUT") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        let path = dir.join(format!("{}.json", self.name));
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| {
                std::fs::write(
                    &path,
                    serde_json::to_vec_pretty(&self.to_json()).unwrap_or_default(),
                )
            })
            .and_then(|()| std::fs::write(dir.join(format!("{}.tsv", self.name)), self.tsv()));
        if let Err(e) = written {
            eprintln!("bench: could not write {}: {e}", path.display());
        }
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".to_owned(), |d| {
        format!("{:.3} ms", d.as_secs_f64() * 1e3)
    })
}

fn verdict(goal: Option<Goal>, value: Option<f64>) -> &'static str {
    match (goal, value) {
        (Some(g), Some(v)) if g.met(v) => "met",
        (Some(_), Some(_)) => "MISSED",
        _ => "-",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_is_time_per_operation_ours_over_baseline() {
        let mut r = Report::new("x", "t", "provider", "raw");
        // Ours: 100 ops in 2 s (20 ms each); baseline: 100 ops in 1 s (10 ms each).
        r.compare(
            "get",
            Side::from_total(100, Duration::from_secs(2)),
            Side::from_total(100, Duration::from_secs(1)),
            Some(1.5),
        );
        let json = r.to_json();
        assert_eq!(json["rows"][0]["ratio"], 2.0);
        assert_eq!(json["rows"][0]["op"], "get");
        assert_eq!(json["rows"][0]["met"], false);
        assert!(!r.all_met());
        let md = r.markdown();
        assert!(md.contains("| get | 100 | 50 | 100 |"), "{md}");
        assert!(md.contains("| 2.00 | <= 1.5 | - | MISSED |"), "{md}");
        assert_eq!(r.tsv(), "x\tget\ttime provider/raw 2.00\t<= 1.5\tMISSED\n");
    }

    #[test]
    fn percentiles_come_from_samples_and_metrics_have_goals() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Side::from_samples(&samples);
        assert_eq!(s.p50, Some(Duration::from_millis(51)));
        assert_eq!(s.p99, Some(Duration::from_millis(100)));
        assert_eq!(Side::from_samples(&[]).p99, None);
        assert_eq!(Side::from_samples(&[]).ops_per_sec(), 0.0);

        let mut r = Report::new("sync", "drain", "sync", "internal");
        r.metric("share of the limit", 97.0, "%", Some(Goal::AtLeast(95.0)))
            .metric("429 answers", 0.5, "%", Some(Goal::AtMost(1.0)));
        assert!(r.all_met());
        r.metric("429 answers (burst)", 3.0, "%", Some(Goal::AtMost(1.0)));
        assert!(!r.all_met());
        assert!(
            r.markdown()
                .contains("| 429 answers (burst) | 3.00 % | <= 1 | MISSED |")
        );
    }

    #[test]
    fn requests_above_the_minimum_miss_and_values_sit_at_the_top() {
        let mut r = Report::new("sf", "t", "provider", "raw");
        let side = Side::from_total(10, Duration::from_secs(1));
        r.compare("get", side.clone(), side.clone(), Some(1.25))
            .requests(1.0, 1.0)
            .compare("create", side.clone(), side, Some(1.25))
            .requests(2.0, 1.0)
            .value("share_of_limit", 0.97);
        let json = r.to_json();
        assert_eq!(json["rows"][0]["met"], true);
        assert_eq!(json["rows"][1]["requests"], 2.0);
        assert_eq!(json["rows"][1]["min_requests"], 1.0);
        assert_eq!(json["rows"][1]["met"], false);
        assert_eq!(json["share_of_limit"], 0.97);
        assert!(!r.all_met());
        assert!(
            r.markdown().contains("| 2.00 (1) | MISSED |"),
            "{}",
            r.markdown()
        );
    }
}
