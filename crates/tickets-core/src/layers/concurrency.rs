//! A cap on calls in flight.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use super::{Attempt, Interceptor, Operation};
use crate::error::{Error, Result};
use crate::provider::TicketProvider;

/// Lets at most `max` calls run at once; later ones wait (fairly, in arrival order).
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit {
    permits: Arc<Semaphore>,
}

impl ConcurrencyLimit {
    /// At most `max` (at least 1) calls at once.
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }
}

#[async_trait]
impl Interceptor for ConcurrencyLimit {
    async fn intercept<'a, T: Send + 'a>(
        &'a self,
        _provider: &'a dyn TicketProvider,
        _op: Operation<'a>,
        attempt: Attempt<'a, T>,
    ) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::unexpected("concurrency limiter closed"))?;
        attempt().await
    }
}
