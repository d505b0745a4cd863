//! Retries with jittered exponential backoff that honour `retry_after` and never re-send a call
//! that may have been applied unless it is idempotent. This is the one place a call is
//! retried: providers send each request once.

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

tokio::task_local! {
    static NO_RETRIES: ();
}

/// Runs `call` with the retry layer turned off for every provider call made inside it: the
/// first failure comes back at once. For callers that are a retry queue themselves (the sync
/// worker, which must never wait while it holds a claim on a change).
pub async fn without_retries<F: std::future::Future>(call: F) -> F::Output {
    NO_RETRIES.scope((), call).await
}

fn retries_suppressed() -> bool {
    NO_RETRIES.try_with(|_| ()).is_ok()
}

/// The retry layer.
///
/// Retries an error when [`Error::is_retryable`](crate::Error::is_retryable) and either the
/// operation is idempotent or the error says the request was certainly not applied
/// ([`Error::was_not_applied`](crate::Error::was_not_applied), e.g. a 429). So a create
/// without an idempotency key that timed out is never sent twice. An error it gave up on after
/// its last retry is marked [exhausted](crate::Error::exhausted), so no outer loop retries it
/// again. Inside [`without_retries`] it passes every failure straight through.
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
            if !err.is_retryable() || !safe || retries_suppressed() {
                return Err(err);
            }
            let Some(backoff) = delays.next() else {
                return Err(err.exhausted(tries));
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
    use crate::error::{Error, ErrorKind};
    use crate::memory::MemoryProvider;

    #[tokio::test]
    async fn a_retry_loop_that_gives_up_says_so_and_is_not_retried_again() {
        let retry = Retry::new(RetryPolicy {
            max_retries: 2,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            ..RetryPolicy::default()
        });
        let calls = std::sync::atomic::AtomicU32::new(0);
        let p = MemoryProvider::new();
        let op = Operation {
            name: "get",
            ticket: None,
            idempotent: true,
        };
        let attempt = || -> futures::future::BoxFuture<'_, Result<()>> {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Box::pin(async { Err(Error::new(ErrorKind::Unavailable, "down")) })
        };
        let err = retry.intercept(&p, op, &attempt).await.unwrap_err();
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 3);
        assert!(!err.is_retryable(), "exhausted");
        assert_eq!(err.attempts(), Some(3));
        assert!(
            err.to_string().contains("gave up after 3 attempts"),
            "{err}"
        );

        // A retry queue turns the layer off around its calls.
        calls.store(0, std::sync::atomic::Ordering::Relaxed);
        let err = without_retries(retry.intercept(&p, op, &attempt))
            .await
            .unwrap_err();
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert!(
            err.is_retryable(),
            "not exhausted: the queue retries it later"
        );
    }

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
