//! Retries with jittered exponential backoff that honour `retry_after` and never re-send a call
//! that may have been applied unless it is idempotent.

use std::time::Duration;

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};

use super::{Attempt, Interceptor, Operation};
use crate::error::Result;
use crate::provider::TicketProvider;

/// When and how often to retry.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Extra attempts after the first.
    pub max_retries: u32,
    /// The first backoff delay (doubled each time, with jitter).
    pub min_delay: Duration,
    /// The longest backoff delay.
    pub max_delay: Duration,
    /// A `retry_after` longer than this is not waited for: the error is returned instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The jittered exponential delays this policy waits between attempts.
    pub fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries as usize)
            .with_jitter()
            .build()
    }
}

/// The retry layer.
///
/// Retries an error when [`Error::is_retryable`](crate::Error::is_retryable) and either the
/// operation is idempotent or the error says the request was certainly not applied
/// ([`Error::was_not_applied`](crate::Error::was_not_applied), e.g. a 429). So a create
/// without an idempotency key that timed out is never sent twice.
#[derive(Debug, Clone)]
pub struct Retry {
    policy: RetryPolicy,
}

impl Retry {
    /// Retries by `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        Self { policy }
    }
}

#[async_trait]
impl Interceptor for Retry {
    async fn intercept<'a, T: Send + 'a>(
        &'a self,
        provider: &'a dyn TicketProvider,
        op: Operation<'a>,
        attempt: Attempt<'a, T>,
    ) -> Result<T> {
        let mut delays = self.policy.backoff();
        let mut tries = 1u32;
        loop {
            let err = match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let safe = op.idempotent || err.was_not_applied();
            if !err.is_retryable() || !safe {
                return Err(err);
            }
            let Some(backoff) = delays.next() else {
                return Err(err);
            };
            let wait = match err.retry_after() {
                Some(after) if after > self.policy.max_retry_after => return Err(err),
                Some(after) => after,
                None => backoff,
            };
            tracing::debug!(
                provider = provider.kind(),
                op = op.name,
                attempt = tries,
                wait_ms = wait.as_millis() as u64,
                error = %err,
                "retrying"
            );
            tokio::time::sleep(wait).await;
            tries += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_counted() {
        let policy = RetryPolicy {
            max_retries: 5,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        };
        let delays: Vec<_> = policy.backoff().collect();
        assert_eq!(delays.len(), 5);
        // jitter adds at most one more min_delay-scaled step on top of the cap
        assert!(
            delays.iter().all(|d| *d <= Duration::from_millis(100)),
            "{delays:?}"
        );
    }
}
