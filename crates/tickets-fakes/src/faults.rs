//! Fault knobs shared by every fake: latency, failing the next N calls (or the writes after the
//! next few, to stop a multi-request change half-way), random failures, a
//! per-minute request budget answered with the vendor's rate-limit response, concurrent-request
//! limits, "down" (every call refused), and dropping the connection after a request was applied.
//! Random faults come from a seedable generator (`seed`), and injected 429s carry a chosen
//! `Retry-After` (`retry_after_secs`), so a chaos run can replay its faults and make a remote
//! ask for a wait longer than a worker's lease.
//!
//! Set them from Rust through [`Faults`], or over HTTP on the fake itself:
//! `POST /_fake/faults` with a JSON [`FaultConfig`] (fields left out keep their value),
//! `GET /_fake/faults` for the knobs and counters, `POST /_fake/reset` to clear knobs and
//! counters (not the data).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// A fault the middleware decided on; the vendor module turns it into its own error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The per-minute budget or a concurrency limit is used up.
    RateLimited {
        /// Seconds until a retry may succeed (the `Retry-After` value).
        retry_after_secs: u64,
        /// True for the concurrent-request limiter, false for the per-minute budget.
        concurrency: bool,
    },
    /// An injected failure with this HTTP status (500, 502, 503, 504, 401, ...).
    Status(u16),
    /// The service is down.
    Down,
}

/// Turns a [`Fault`] into the vendor's answer (status, headers and error body).
pub type FaultRenderer = fn(&Fault) -> Response;

/// The knobs, as set over HTTP. Every field is optional; absent fields are left unchanged.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Delay added to every request, in milliseconds.
    pub latency_ms: Option<u64>,
    /// Fail the next `count` requests with `status` (before applying them).
    pub fail_next: Option<FailNext>,
    /// Let `after` writes through, then fail the next `count` writes with `status` (before
    /// applying them): a change made of several requests stops half-way, as after a crash.
    pub fail_writes_after: Option<FailAfter>,
    /// Probability (0..1) that a request fails with one of `failure_statuses` before it is applied.
    pub failure_rate: Option<f64>,
    /// Statuses random failures use (default 500, 502, 503).
    pub failure_statuses: Option<Vec<u16>>,
    /// Requests allowed per minute (per fake, like a per-token limit); 0 = unlimited.
    pub requests_per_minute: Option<u32>,
    /// Reads in flight at once before answering rate-limited; 0 = unlimited.
    pub max_concurrent_reads: Option<usize>,
    /// Writes in flight at once before answering rate-limited; 0 = unlimited.
    pub max_concurrent_writes: Option<usize>,
    /// Drop the connection after applying each of the next `n` writes.
    pub drop_next: Option<u32>,
    /// Probability (0..1) that a write is applied and then its connection dropped.
    pub drop_rate: Option<f64>,
    /// Refuse every request with the vendor's "unavailable" answer.
    pub down: Option<bool>,
    /// Seed of the random faults (`failure_rate`, `drop_rate` and the status each random
    /// failure picks): setting it restarts the sequence, so the same seed and the same
    /// sequence of requests give the same faults. Unseeded fakes use a fixed seed.
    pub seed: Option<u64>,
    /// The `Retry-After` of injected 429s (`fail_next`, `fail_writes_after` or `failure_rate`
    /// with status 429), in seconds; default 1. They are answered like the vendor's rate
    /// limit, and counted in [`FaultStats::injected`] like every failure made on purpose.
    pub retry_after_secs: Option<u64>,
}

/// Fail the next `count` requests with `status`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct FailNext {
    /// How many requests.
    pub count: u32,
    /// The HTTP status to answer.
    pub status: u16,
}

/// Let `after` writes through, then fail `count` writes with `status`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct FailAfter {
    /// Writes applied normally first.
    pub after: u32,
    /// Writes failed then.
    pub count: u32,
    /// The HTTP status to answer.
    pub status: u16,
}

/// What happened so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FaultStats {
    /// Requests seen (admin calls excluded).
    pub requests: u64,
    /// Answered with the rate-limit response.
    pub rate_limited: u64,
    /// Failed on purpose (fail_next, failure_rate, down).
    pub injected: u64,
    /// Applied, then the connection dropped.
    pub dropped: u64,
}

#[derive(Debug)]
struct Knobs {
    latency: Duration,
    fail_next: VecDeque<u16>,
    fail_writes_after: Option<FailAfter>,
    failure_rate: f64,
    failure_statuses: Vec<u16>,
    requests_per_minute: u32,
    window_start: Instant,
    window_used: u32,
    max_reads: usize,
    max_writes: usize,
    drop_next: u32,
    drop_rate: f64,
    down: bool,
    retry_after_secs: u64,
    rng: fastrand::Rng,
}

/// The seed of a fake nobody seeded.
const DEFAULT_SEED: u64 = 0x7ac4e75;

impl Default for Knobs {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            fail_next: VecDeque::new(),
            fail_writes_after: None,
            failure_rate: 0.0,
            failure_statuses: vec![500, 502, 503],
            requests_per_minute: 0,
            window_start: Instant::now(),
            window_used: 0,
            max_reads: 0,
            max_writes: 0,
            drop_next: 0,
            drop_rate: 0.0,
            down: false,
            retry_after_secs: 1,
            rng: fastrand::Rng::with_seed(DEFAULT_SEED),
        }
    }
}

impl Knobs {
    /// An injected failure: a 429 is the vendor's rate limit with the chosen `Retry-After`.
    fn injected(&self, status: u16) -> Fault {
        if status == 429 {
            Fault::RateLimited {
                retry_after_secs: self.retry_after_secs,
                concurrency: false,
            }
        } else {
            Fault::Status(status)
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    rate_limited: AtomicU64,
    injected: AtomicU64,
    dropped: AtomicU64,
    reads_in_flight: AtomicUsize,
    writes_in_flight: AtomicUsize,
}

/// The fault state of one fake. Cheap to clone; clones share the knobs.
#[derive(Debug, Clone)]
pub struct Faults {
    knobs: Arc<Mutex<Knobs>>,
    counters: Arc<Counters>,
    render: FaultRenderer,
}

impl Faults {
    /// No faults; `render` makes the vendor's error answers.
    pub fn new(render: FaultRenderer) -> Self {
        Self {
            knobs: Arc::default(),
            counters: Arc::default(),
            render,
        }
    }

    fn knobs(&self) -> std::sync::MutexGuard<'_, Knobs> {
        self.knobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies the fields set in `config`.
    pub fn configure(&self, config: &FaultConfig) {
        let mut k = self.knobs();
        if let Some(ms) = config.latency_ms {
            k.latency = Duration::from_millis(ms);
        }
        if let Some(f) = config.fail_next {
            k.fail_next = std::iter::repeat_n(f.status, f.count as usize).collect();
        }
        if let Some(f) = config.fail_writes_after {
            k.fail_writes_after = (f.count > 0).then_some(f);
        }
        if let Some(r) = config.failure_rate {
            k.failure_rate = r.clamp(0.0, 1.0);
        }
        if let Some(s) = &config.failure_statuses
            && !s.is_empty()
        {
            k.failure_statuses = s.clone();
        }
        if let Some(n) = config.requests_per_minute {
            k.requests_per_minute = n;
            k.window_start = Instant::now();
            k.window_used = 0;
        }
        if let Some(n) = config.max_concurrent_reads {
            k.max_reads = n;
        }
        if let Some(n) = config.max_concurrent_writes {
            k.max_writes = n;
        }
        if let Some(n) = config.drop_next {
            k.drop_next = n;
        }
        if let Some(r) = config.drop_rate {
            k.drop_rate = r.clamp(0.0, 1.0);
        }
        if let Some(d) = config.down {
            k.down = d;
        }
        if let Some(seed) = config.seed {
            k.rng = fastrand::Rng::with_seed(seed);
        }
        if let Some(secs) = config.retry_after_secs {
            k.retry_after_secs = secs;
        }
    }

    /// Clears every knob and counter.
    pub fn reset(&self) {
        *self.knobs() = Knobs::default();
        for c in [
            &self.counters.requests,
            &self.counters.rate_limited,
            &self.counters.injected,
            &self.counters.dropped,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// Adds `latency` to every request.
    pub fn set_latency(&self, latency: Duration) {
        self.knobs().latency = latency;
    }

    /// Fails the next `count` requests with `status`.
    pub fn fail_next(&self, count: u32, status: u16) {
        self.configure(&FaultConfig {
            fail_next: Some(FailNext { count, status }),
            ..FaultConfig::default()
        });
    }

    /// Lets `after` writes through, then fails the next `count` writes with `status` (before
    /// applying them): the way to stop an update made of several requests between two of them.
    pub fn fail_writes_after(&self, after: u32, count: u32, status: u16) {
        self.configure(&FaultConfig {
            fail_writes_after: Some(FailAfter {
                after,
                count,
                status,
            }),
            ..FaultConfig::default()
        });
    }

    /// Fails a share of requests (0..1) with 500/502/503 before applying them.
    pub fn set_failure_rate(&self, rate: f64) {
        self.knobs().failure_rate = rate.clamp(0.0, 1.0);
    }

    /// Allows `n` requests per minute (0 = unlimited).
    pub fn set_requests_per_minute(&self, n: u32) {
        self.configure(&FaultConfig {
            requests_per_minute: Some(n),
            ..FaultConfig::default()
        });
    }

    /// Limits reads and writes in flight (0 = unlimited).
    pub fn set_concurrency_limits(&self, reads: usize, writes: usize) {
        let mut k = self.knobs();
        k.max_reads = reads;
        k.max_writes = writes;
    }

    /// Drops the connection after applying each of the next `n` writes.
    pub fn drop_next(&self, n: u32) {
        self.knobs().drop_next = n;
    }

    /// Drops the connection after applying a share of writes (0..1).
    pub fn set_drop_rate(&self, rate: f64) {
        self.knobs().drop_rate = rate.clamp(0.0, 1.0);
    }

    /// Refuses every request while `down` is true.
    pub fn set_down(&self, down: bool) {
        self.knobs().down = down;
    }

    /// Restarts the random faults from `seed` (see [`FaultConfig::seed`]).
    pub fn set_seed(&self, seed: u64) {
        self.knobs().rng = fastrand::Rng::with_seed(seed);
    }

    /// Sets the `Retry-After` of injected 429s, in seconds (see
    /// [`FaultConfig::retry_after_secs`]).
    pub fn set_retry_after(&self, secs: u64) {
        self.knobs().retry_after_secs = secs;
    }

    /// The counters.
    pub fn stats(&self) -> FaultStats {
        FaultStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            rate_limited: self.counters.rate_limited.load(Ordering::Relaxed),
            injected: self.counters.injected.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
        }
    }

    /// Decides, before the handler runs, whether to refuse the request. Returns the fault to
    /// answer with, or whether to drop the connection after applying it.
    fn admit(&self, write: bool) -> Result<(Duration, bool), Refusal> {
        let mut k = self.knobs();
        let latency = k.latency;
        if k.down {
            return Err(Refusal::injected(Fault::Down));
        }
        if k.requests_per_minute > 0 {
            let elapsed = k.window_start.elapsed();
            if elapsed >= Duration::from_secs(60) {
                k.window_start = Instant::now();
                k.window_used = 0;
            }
            // Rejected requests count against the budget too, as Asana documents.
            k.window_used += 1;
            if k.window_used > k.requests_per_minute {
                let left = Duration::from_secs(60).saturating_sub(k.window_start.elapsed());
                return Err(Refusal::limited(Fault::RateLimited {
                    retry_after_secs: left.as_secs().max(1),
                    concurrency: false,
                }));
            }
        }
        if let Some(status) = k.fail_next.pop_front() {
            return Err(Refusal::injected(k.injected(status)));
        }
        if write && let Some(gate) = k.fail_writes_after.as_mut() {
            if gate.after > 0 {
                gate.after -= 1;
            } else {
                let status = gate.status;
                gate.count -= 1;
                if gate.count == 0 {
                    k.fail_writes_after = None;
                }
                return Err(Refusal::injected(k.injected(status)));
            }
        }
        if k.failure_rate > 0.0 && k.rng.f64() < k.failure_rate {
            let n = k.failure_statuses.len();
            let i = k.rng.usize(..n);
            let status = k.failure_statuses[i];
            return Err(Refusal::injected(k.injected(status)));
        }
        let drop = write
            && if k.drop_next > 0 {
                k.drop_next -= 1;
                true
            } else {
                k.drop_rate > 0.0 && k.rng.f64() < k.drop_rate
            };
        Ok((latency, drop))
    }

    fn in_flight(&self, write: bool) -> (&AtomicUsize, usize) {
        let k = self.knobs();
        if write {
            (&self.counters.writes_in_flight, k.max_writes)
        } else {
            (&self.counters.reads_in_flight, k.max_reads)
        }
    }

    /// The admin routes, to merge into a fake's router.
    pub fn admin_routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let faults = self.clone();
        let get_faults = faults.clone();
        let reset = faults.clone();
        Router::new()
            .route(
                "/_fake/faults",
                post(move |Json(config): Json<FaultConfig>| async move {
                    faults.configure(&config);
                    Json(faults.stats())
                })
                .get(move || async move { Json(get_faults.stats()) }),
            )
            .route(
                "/_fake/reset",
                post(move || async move {
                    reset.reset();
                    StatusCode::NO_CONTENT
                }),
            )
            .route("/_fake/health", get(|| async { "ok" }))
    }

    /// The middleware that applies the knobs; add with
    /// `axum::middleware::from_fn_with_state(faults.clone(), Faults::middleware)`.
    pub async fn middleware(
        State(faults): State<Faults>,
        request: Request,
        next: Next,
    ) -> Response {
        if request.uri().path().starts_with("/_fake/") {
            return next.run(request).await;
        }
        faults.counters.requests.fetch_add(1, Ordering::Relaxed);
        let write = !matches!(*request.method(), Method::GET | Method::HEAD);
        let (latency, drop) = match faults.admit(write) {
            Ok(v) => v,
            Err(refusal) => return faults.refuse(refusal),
        };
        let (gauge, max) = faults.in_flight(write);
        let now = gauge.fetch_add(1, Ordering::SeqCst) + 1;
        let _guard = Decrement(gauge);
        if max > 0 && now > max {
            return faults.refuse(Refusal::limited(Fault::RateLimited {
                retry_after_secs: 1,
                concurrency: true,
            }));
        }
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let response = next.run(request).await;
        if drop && response.status().is_success() {
            faults.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return dropped_connection(response);
        }
        response
    }

    fn refuse(&self, refusal: Refusal) -> Response {
        let counter = if refusal.on_purpose {
            &self.counters.injected
        } else {
            &self.counters.rate_limited
        };
        counter.fetch_add(1, Ordering::Relaxed);
        (self.render)(&refusal.fault)
    }
}

/// A request refused before it is applied, and which counter it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    fault: Fault,
    /// Made on purpose (`fail_next`, `failure_rate`, `down`): counted in `injected`; else a
    /// limit ran out: counted in `rate_limited`.
    on_purpose: bool,
}

impl Refusal {
    fn injected(fault: Fault) -> Self {
        Self {
            fault,
            on_purpose: true,
        }
    }

    fn limited(fault: Fault) -> Self {
        Self {
            fault,
            on_purpose: false,
        }
    }
}

struct Decrement<'a>(&'a AtomicUsize);

impl Drop for Decrement<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The request was applied; the client sees its connection fail mid-answer.
fn dropped_connection(applied: Response) -> Response {
    let (parts, _) = applied.into_parts();
    let failing = futures::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fake dropped the connection after applying the request",
        ))
    });
    let mut response = Response::from_parts(parts, Body::from_stream(failing));
    // No length: the client must read the body, and the body fails.
    response
        .headers_mut()
        .remove(axum::http::header::CONTENT_LENGTH);
    response.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults() -> Faults {
        Faults::new(|_| StatusCode::IM_A_TEAPOT.into_response())
    }

    /// What `n` requests (alternating reads and writes) meet.
    fn outcomes(f: &Faults, n: usize) -> Vec<Result<bool, Fault>> {
        (0..n)
            .map(|i| {
                f.admit(i % 2 == 1)
                    .map(|(_, drop)| drop)
                    .map_err(|r| r.fault)
            })
            .collect()
    }

    /// The fault the next read meets.
    fn next(f: &Faults) -> Result<(), Fault> {
        f.admit(false).map(drop).map_err(|r| {
            assert!(r.on_purpose, "an injected fault counts as injected");
            r.fault
        })
    }

    #[test]
    fn the_same_seed_replays_the_same_random_faults() {
        let config = FaultConfig {
            failure_rate: Some(0.3),
            failure_statuses: Some(vec![500, 502, 503, 504]),
            drop_rate: Some(0.3),
            seed: Some(42),
            ..FaultConfig::default()
        };
        let (a, b) = (faults(), faults());
        a.configure(&config);
        b.configure(&config);
        let first = outcomes(&a, 200);
        assert_eq!(first, outcomes(&b, 200));
        assert!(first.iter().any(|o| o.is_err()) && first.contains(&Ok(true)));
        // Seeding again restarts the sequence; another seed gives another one.
        a.set_seed(42);
        assert_eq!(outcomes(&a, 200), first);
        a.set_seed(43);
        assert_ne!(outcomes(&a, 200), first);
    }

    #[test]
    fn injected_429s_carry_the_chosen_retry_after() {
        let f = faults();
        f.fail_next(1, 429);
        assert_eq!(
            next(&f),
            Err(Fault::RateLimited {
                retry_after_secs: 1,
                concurrency: false
            }),
            "one second unless set"
        );
        f.configure(&FaultConfig {
            retry_after_secs: Some(7),
            failure_rate: Some(1.0),
            failure_statuses: Some(vec![429]),
            ..FaultConfig::default()
        });
        assert_eq!(
            next(&f),
            Err(Fault::RateLimited {
                retry_after_secs: 7,
                concurrency: false
            })
        );
        f.set_retry_after(3);
        f.fail_next(1, 503);
        assert_eq!(
            next(&f),
            Err(Fault::Status(503)),
            "other statuses as they are"
        );
        f.set_failure_rate(0.0);
        f.fail_next(1, 429);
        assert!(matches!(
            next(&f),
            Err(Fault::RateLimited {
                retry_after_secs: 3,
                ..
            })
        ));
        f.reset();
        f.fail_next(1, 429);
        assert!(matches!(
            next(&f),
            Err(Fault::RateLimited {
                retry_after_secs: 1,
                ..
            })
        ));
    }
}
