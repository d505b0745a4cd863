//! What a failed delivery means: try again later, or park it for a person.

use std::time::Duration;

use tickets_core::{Error, ErrorKind};

/// What the worker does with an entry whose delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Try again after this delay.
    Retry(Duration),
    /// Set it aside with the error.
    Park,
}

/// How the worker retries (see [`crate::WorkerOptions`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub base: Duration,
    pub max: Duration,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    pub max_attempts: u32,
}

impl Backoff {
    /// `base * 2^attempts`, capped at `max`, with the upper half jittered ("equal jitter").
    pub(crate) fn delay(&self, attempts: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempts.min(20))
            .min(self.max);
        let half = exp / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// The verdict for an entry that failed with `err` after `attempts` earlier failures.
    /// Transient failures (rate limit, unavailable, time-out) are retried without limit,
    /// honouring `Retry-After`; failures a retry cannot fix (bad input, refused transition,
    /// missing remote ticket, no permission, bad config) are parked at once; anything else is
    /// retried up to `max_attempts` and then parked.
    pub(crate) fn verdict(&self, err: &Error, attempts: u32) -> Verdict {
        match err.kind() {
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout => {
                let wait = match err.retry_after() {
                    // Honour the server's wait (capped: a bogus or hostile value must not stall
                    // a ticket for days), plus a little jitter so workers do not return together.
                    Some(after) => {
                        let after = after.min(self.max_retry_after);
                        after + after.mul_f64(fastrand::f64() * 0.1)
                    }
                    None => self.delay(attempts),
                };
                Verdict::Retry(wait)
            }
            ErrorKind::NotFound
            | ErrorKind::InvalidInput
            | ErrorKind::InvalidTransition
            | ErrorKind::AlreadyExists
            | ErrorKind::Unauthenticated
            | ErrorKind::PermissionDenied
            | ErrorKind::Unsupported
            | ErrorKind::Config => Verdict::Park,
            _ if attempts + 1 >= self.max_attempts => Verdict::Park,
            _ => Verdict::Retry(self.delay(attempts)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            max_attempts: 3,
        }
    }

    #[test]
    fn delays_grow_jittered_and_capped() {
        let b = backoff();
        for attempts in 0..30 {
            let d = b.delay(attempts);
            let exp = (Duration::from_millis(100) * 2u32.pow(attempts.min(20))).min(b.max);
            assert!(d >= exp / 2 && d <= exp, "{attempts}: {d:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured() {
        let e = Error::new(ErrorKind::RateLimited, "slow down")
            .with_retry_after(Duration::from_secs(7));
        match backoff().verdict(&e, 0) {
            Verdict::Retry(d) => {
                assert!(d >= Duration::from_secs(7) && d <= Duration::from_millis(7700))
            }
            Verdict::Park => panic!("a 429 must be retried"),
        }
    }

    #[test]
    fn a_huge_retry_after_is_capped() {
        let e = Error::new(ErrorKind::RateLimited, "slow down")
            .with_retry_after(Duration::from_secs(1_000_000_000));
        match backoff().verdict(&e, 0) {
            Verdict::Retry(d) => assert!(d <= Duration::from_secs(66), "{d:?}"),
            Verdict::Park => panic!("a 429 must be retried"),
        }
    }

    #[test]
    fn transient_failures_never_park_and_permanent_ones_do_at_once() {
        let b = backoff();
        let down = Error::new(ErrorKind::Unavailable, "503");
        assert!(matches!(b.verdict(&down, 1000), Verdict::Retry(_)));
        let bad = Error::invalid_input("no such assignee");
        assert_eq!(b.verdict(&bad, 0), Verdict::Park);
        let odd = Error::unexpected("garbled answer");
        assert!(matches!(b.verdict(&odd, 0), Verdict::Retry(_)));
        assert_eq!(b.verdict(&odd, 2), Verdict::Park);
    }
}
