//! Client-side pacing: a token bucket per remote account, so a busy caller (a sync drain)
//! spends the vendor's documented request budget evenly instead of bursting into 429s.

use std::sync::Mutex;
use std::time::Duration;

use tickets_core::{Error, ErrorKind, Result};
use tokio::time::Instant;

/// Paces requests to `per_minute`, allowing bursts of `burst`. Cheap to share (`Arc<Pacer>`);
/// every request of one account should go through the same one.
#[derive(Debug)]
pub struct Pacer {
    per_minute: u32,
    burst: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    last: Instant,
    /// After a 429: no request before this.
    hold_until: Option<Instant>,
}

impl Pacer {
    /// A pacer for `per_minute` requests (at least 1), with bursts of up to `burst` (at least
    /// 1) requests.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            per_minute: per_minute.max(1),
            burst,
            state: Mutex::new(State {
                tokens: burst,
                last: Instant::now(),
                hold_until: None,
            }),
        }
    }

    /// The requests per minute it allows.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    fn rate_per_sec(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }

    /// Takes a token for one request, waiting for the bucket to refill (a short, even wait),
    /// but not for a 429's hold: while one holds the account, the request is refused at once
    /// with a `RateLimited` error that carries the rest of the hold as its `retry_after` and is
    /// marked not applied. Whoever called decides how to wait: the retry layer sleeps it out
    /// and sends again; the sync worker gives its changes back with a not-before time instead
    /// of sleeping while it holds them.
    pub async fn admit(&self, vendor: &str) -> Result<()> {
        let held = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            match s.hold_until {
                Some(until) if until > now => Some(until - now),
                Some(_) => {
                    s.hold_until = None;
                    None
                }
                None => None,
            }
        };
        if let Some(rest) = held {
            return Err(Error::new(
                ErrorKind::RateLimited,
                format!(
                    "{vendor} is rate limiting this account for another {:.1} s (the \
                     Retry-After of an earlier 429); the request was not sent",
                    rest.as_secs_f64()
                ),
            )
            .with_retry_after(rest)
            .with_not_applied());
        }
        self.acquire().await;
        Ok(())
    }

    /// Waits until a request may be sent, then takes its token; waits out a 429's hold too
    /// (see [`Pacer::admit`] for the call path, which does not).
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                if let Some(until) = s.hold_until {
                    if until > now {
                        Some(until - now)
                    } else {
                        s.hold_until = None;
                        None
                    }
                } else {
                    None
                }
                .or_else(|| {
                    let elapsed = now.saturating_duration_since(s.last).as_secs_f64();
                    s.tokens = (s.tokens + elapsed * self.rate_per_sec()).min(self.burst);
                    s.last = now;
                    if s.tokens >= 1.0 {
                        s.tokens -= 1.0;
                        None
                    } else {
                        let missing = 1.0 - s.tokens;
                        Some(Duration::from_secs_f64(missing / self.rate_per_sec()))
                    }
                })
            };
            match wait {
                None => return,
                Some(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// How long requests are still held after a 429 (`None`: not held). A caller that must
    /// not wait that long (one holding a claim on work) can fail fast instead.
    pub fn held_for(&self) -> Option<Duration> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        s.hold_until.filter(|t| *t > now).map(|t| t - now)
    }

    /// The vendor said "too many" (a 429 with `retry_after`): hold every request until then,
    /// and start again from an empty bucket. Returns the hold (1 s when the vendor named
    /// none), which the caller puts on its error so whoever repeats the call waits as long.
    pub fn rate_limited(&self, retry_after: Option<Duration>) -> Duration {
        let hold = retry_after.unwrap_or(Duration::from_secs(1));
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let until = now + hold;
        if s.hold_until.is_none_or(|t| t < until) {
            s.hold_until = Some(until);
        }
        s.tokens = 0.0;
        s.last = until;
        hold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spread_over_the_minute_after_a_burst() {
        let p = Pacer::new(600, 5); // 10 a second
        let start = Instant::now();
        for _ in 0..5 {
            p.acquire().await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(1),
            "the burst goes at once"
        );
        for _ in 0..20 {
            p.acquire().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1_990) && took <= Duration::from_millis(2_100),
            "20 more at 10/s: {took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn admit_refuses_at_once_while_held_and_says_how_long() {
        let p = Pacer::new(6000, 10);
        p.admit("Asana").await.unwrap();
        p.rate_limited(Some(Duration::from_secs(30)));
        let start = Instant::now();
        let e = p.admit("Asana").await.unwrap_err();
        assert!(start.elapsed() < Duration::from_millis(1), "no sleeping");
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.was_not_applied());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
        assert!(e.to_string().contains("Asana is rate limiting"), "{e}");
        tokio::time::advance(Duration::from_secs(31)).await;
        p.admit("Asana").await.expect("the hold is over");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_holds_everything_until_its_retry_after() {
        let p = Pacer::new(6000, 10);
        p.acquire().await;
        p.rate_limited(Some(Duration::from_secs(3)));
        assert_eq!(p.held_for(), Some(Duration::from_secs(3)));
        let start = Instant::now();
        p.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(3));
        assert_eq!(p.held_for(), None);
    }
}
