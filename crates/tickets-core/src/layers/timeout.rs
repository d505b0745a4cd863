//! A time limit per attempt.

use std::time::Duration;

use async_trait::async_trait;

use super::{Attempt, Interceptor, Operation};
use crate::error::{Error, ErrorKind, Result};
use crate::provider::TicketProvider;

/// Fails an attempt that runs longer than the limit with [`ErrorKind::Timeout`]. The attempt may
/// still have been applied by the backend, so the error is not marked as "not applied".
#[derive(Debug, Clone)]
pub struct Timeout {
    limit: Duration,
}

impl Timeout {
    /// Limits each attempt to `limit`.
    pub fn new(limit: Duration) -> Self {
        Self { limit }
    }
}

#[async_trait]
impl Interceptor for Timeout {
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
                    "no answer within {:.1}s; the change may or may not have been applied",
                    self.limit.as_secs_f64()
                ),
            )
            .with_provider(provider.kind())
            .with_operation(op.name)),
        }
    }
}
