//! A total deadline per call, retries and their waits included.

use std::time::Duration;

use async_trait::async_trait;

use super::{Attempt, Interceptor, Operation};
use crate::error::{Error, ErrorKind, Result};
use crate::provider::TicketProvider;

/// Fails a call (every attempt of it, and the waits between them) that runs longer than the
/// deadline with [`ErrorKind::Timeout`], saying after how long. The call may have been applied.
/// The error is marked exhausted: an outer loop must not start the whole call over.
#[derive(Debug, Clone)]
pub struct Deadline {
    limit: Duration,
}

impl Deadline {
    /// Limits each call to `limit` in all.
    pub fn new(limit: Duration) -> Self {
        Self { limit }
    }
}

#[async_trait]
impl Interceptor for Deadline {
    async fn intercept<'a, T: Send + 'a>(
        &'a self,
        provider: &'a dyn TicketProvider,
        op: Operation<'a>,
        attempt: Attempt<'a, T>,
    ) -> Result<T> {
        match tokio::time::timeout(self.limit, attempt()).await {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "timed out after {} s (the deadline of the whole call, retries included; \
                     `layers.deadline_secs` sets it); the change may or may not have been applied",
                    fmt_secs(self.limit)
                ),
            )
            .exhausted(0)
            .with_provider(provider.kind())
            .with_operation(op.name)),
        }
    }
}

fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}
