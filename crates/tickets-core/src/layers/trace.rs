//! A span per operation, and errors that name backend, operation and ticket.

use async_trait::async_trait;
use tracing::Instrument;

use super::{Attempt, Interceptor, Operation};
use crate::error::Result;
use crate::provider::TicketProvider;

/// The tracing layer: `tickets.op` span with `backend`, `provider`, `op` and `ticket` fields;
/// failures logged at `debug` (callers decide what is worth a warning).
#[derive(Debug, Clone)]
pub struct Trace {
    backend: String,
}

impl Trace {
    /// Traces calls of the backend named `backend`.
    pub fn new(backend: impl Into<String>) -> Self {
        Self {
            backend: backend.into(),
        }
    }
}

#[async_trait]
impl Interceptor for Trace {
    async fn intercept<'a, T: Send + 'a>(
        &'a self,
        provider: &'a dyn TicketProvider,
        op: Operation<'a>,
        attempt: Attempt<'a, T>,
    ) -> Result<T> {
        let span = tracing::debug_span!(
            "tickets.op",
            backend = %self.backend,
            provider = provider.kind(),
            op = op.name,
            ticket = op.ticket.map(|t| t.as_str()).unwrap_or(""),
        );
        let started = std::time::Instant::now();
        let result = attempt().instrument(span.clone()).await;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let _entered = span.enter();
        match result {
            Ok(v) => {
                tracing::trace!(elapsed_ms, "ok");
                Ok(v)
            }
            Err(e) => {
                tracing::debug!(elapsed_ms, kind = %e.kind(), error = %e, "failed");
                let mut e = e.with_provider(provider.kind()).with_operation(op.name);
                if let Some(ticket) = op.ticket {
                    e = e.with_context("ticket", ticket);
                }
                Err(e)
            }
        }
    }
}
