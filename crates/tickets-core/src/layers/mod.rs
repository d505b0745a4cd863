//! Layers wrap any provider with behaviour of their own: tracing, time-outs, retries, a
//! concurrency limit. Each is an [`Interceptor`] run around every call by one generic wrapper,
//! so every trait method, provided ones included, is forwarded to the inner provider.
//!
//! ```
//! use std::time::Duration;
//! use tickets_core::{layers, memory::MemoryProvider, DynProvider};
//! let p: DynProvider = std::sync::Arc::new(MemoryProvider::new());
//! let p = layers::with_concurrency_limit(p, 16);
//! let p = layers::with_timeout(p, Duration::from_secs(30));
//! let p = layers::with_retry(p, layers::RetryPolicy::default());
//! let p = layers::traced(p, "main");
//! ```
//!
//! In configuration, a backend's `layers` table turns them on:
//! `layers = { timeout_secs = 30, retries = 3, max_concurrency = 16 }`.

mod concurrency;
mod retry;
mod timeout;
mod trace;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use serde::Deserialize;

use crate::error::Result;
use crate::model::{
    ChangeToken, Changes, Comment, HistoryEntry, NewComment, NewTicket, Page, Ticket, TicketId,
    TicketPatch, TicketQuery,
};
use crate::provider::{Capabilities, DynProvider, TicketProvider};
use crate::status::Status;
use crate::workflow::Workflow;

pub use concurrency::ConcurrencyLimit;
pub use retry::{Retry, RetryPolicy};
pub use timeout::Timeout;
pub use trace::Trace;

/// What a layer knows about the call it wraps.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    /// The trait method (`create`, `get`, ...).
    pub name: &'static str,
    /// The ticket it concerns, if any.
    pub ticket: Option<&'a TicketId>,
    /// True when sending the call twice has the same effect as once, so a retry is safe even
    /// if the first attempt may have been applied.
    pub idempotent: bool,
}

/// A call to make (again): each invocation starts a fresh attempt.
pub type Attempt<'a, T> = &'a (dyn Fn() -> BoxFuture<'a, Result<T>> + Send + Sync);

/// Behaviour run around every provider call.
#[async_trait]
pub trait Interceptor: Send + Sync + std::fmt::Debug + 'static {
    /// Runs `attempt` (once or more) for `op`.
    async fn intercept<'a, T: Send + 'a>(
        &'a self,
        provider: &'a dyn TicketProvider,
        op: Operation<'a>,
        attempt: Attempt<'a, T>,
    ) -> Result<T>;
}

/// A provider wrapped by an interceptor.
#[derive(Debug)]
pub struct Layered<I> {
    inner: DynProvider,
    interceptor: I,
}

impl<I: Interceptor> Layered<I> {
    /// Wraps `inner`.
    pub fn new(inner: DynProvider, interceptor: I) -> Self {
        Self { inner, interceptor }
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &DynProvider {
        &self.inner
    }
}

/// Wraps `inner` in a tracing span per operation and names backend, operation and ticket in
/// its errors.
pub fn traced(inner: DynProvider, backend: &str) -> DynProvider {
    Arc::new(Layered::new(inner, Trace::new(backend)))
}

/// Fails each attempt that takes longer than `limit` with `Timeout`.
pub fn with_timeout(inner: DynProvider, limit: Duration) -> DynProvider {
    Arc::new(Layered::new(inner, Timeout::new(limit)))
}

/// Retries retryable failures with jittered exponential backoff (see [`RetryPolicy`]).
pub fn with_retry(inner: DynProvider, policy: RetryPolicy) -> DynProvider {
    Arc::new(Layered::new(inner, Retry::new(policy)))
}

/// Lets at most `max` calls run at once; the rest wait their turn.
pub fn with_concurrency_limit(inner: DynProvider, max: usize) -> DynProvider {
    Arc::new(Layered::new(inner, ConcurrencyLimit::new(max)))
}

/// A backend's `layers` config table.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LayerConfig {
    /// Per-attempt time limit in seconds; none when unset.
    pub timeout_secs: Option<f64>,
    /// Extra attempts for retryable failures; 0 turns retries off.
    pub retries: u32,
    /// At most this many calls at once; unlimited when unset.
    pub max_concurrency: Option<usize>,
    /// A tracing span per call (on by default).
    pub tracing: bool,
}

impl Default for LayerConfig {
    fn default() -> Self {
        Self {
            timeout_secs: None,
            retries: 0,
            max_concurrency: None,
            tracing: true,
        }
    }
}

impl LayerConfig {
    /// Reads the `layers` key of a backend section (defaults when absent).
    pub fn from_figment(figment: &figment::Figment, backend: &str) -> Result<Self> {
        if figment.find_value("layers").is_err() {
            return Ok(Self::default());
        }
        let config: Self = figment
            .extract_inner("layers")
            .map_err(|e| crate::Error::from(e).with_context("backend", backend))?;
        if let Some(t) = config.timeout_secs
            && !(t.is_finite() && t > 0.0)
        {
            return Err(crate::config::key_error(
                figment,
                backend,
                "layers.timeout_secs",
                "must be a positive number of seconds",
            ));
        }
        if config.max_concurrency == Some(0) {
            return Err(crate::config::key_error(
                figment,
                backend,
                "layers.max_concurrency",
                "must be at least 1",
            ));
        }
        Ok(config)
    }

    /// Wraps `provider` as configured: concurrency innermost, then timeout, retry, tracing.
    pub fn apply(&self, mut provider: DynProvider, backend: &str) -> DynProvider {
        if let Some(max) = self.max_concurrency {
            provider = with_concurrency_limit(provider, max);
        }
        if let Some(secs) = self.timeout_secs {
            provider = with_timeout(provider, Duration::from_secs_f64(secs));
        }
        if self.retries > 0 {
            provider = with_retry(
                provider,
                RetryPolicy {
                    max_retries: self.retries,
                    ..RetryPolicy::default()
                },
            );
        }
        if self.tracing {
            provider = traced(provider, backend);
        }
        provider
    }
}

macro_rules! op {
    ($name:literal, $ticket:expr, $idem:expr) => {
        Operation {
            name: $name,
            ticket: $ticket,
            idempotent: $idem,
        }
    };
}

#[async_trait]
impl<I: Interceptor> TicketProvider for Layered<I> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn workflow(&self) -> &Workflow {
        self.inner.workflow()
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        self.inner.as_any()
    }

    async fn shutdown(&self) -> Result<()> {
        self.inner.shutdown().await
    }

    async fn create(&self, ticket: NewTicket) -> Result<Ticket> {
        let idempotent =
            ticket.idempotency_key.is_some() && self.inner.capabilities().idempotent_create;
        let p = &*self.inner;
        // Each attempt sends a fresh copy of the input.
        let attempt = || p.create(ticket.clone());
        self.interceptor
            .intercept(p, op!("create", None, idempotent), &attempt)
            .await
    }

    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("get", Some(id), true), &|| p.get(id))
            .await
    }

    async fn update(&self, id: &TicketId, patch: TicketPatch) -> Result<Ticket> {
        // With a version guard, a re-sent update that was applied the first time would fail
        // with Conflict; only unguarded updates are safe to send twice.
        let idempotent = patch.expected_version.is_none();
        let p = &*self.inner;
        let attempt = || p.update(id, patch.clone());
        self.interceptor
            .intercept(p, op!("update", Some(id), idempotent), &attempt)
            .await
    }

    async fn add_comment(&self, id: &TicketId, comment: NewComment) -> Result<Comment> {
        let idempotent =
            comment.idempotency_key.is_some() && self.inner.capabilities().idempotent_comment;
        let p = &*self.inner;
        let attempt = || p.add_comment(id, comment.clone());
        self.interceptor
            .intercept(p, op!("add_comment", Some(id), idempotent), &attempt)
            .await
    }

    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("comments", Some(id), true), &|| p.comments(id))
            .await
    }

    async fn list(&self, query: &TicketQuery) -> Result<Page<Ticket>> {
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("list", None, true), &|| p.list(query))
            .await
    }

    async fn changes(&self, since: Option<&ChangeToken>) -> Result<Changes> {
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("changes", None, true), &|| p.changes(since))
            .await
    }

    async fn history(&self, id: &TicketId) -> Result<Vec<HistoryEntry>> {
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("history", Some(id), true), &|| p.history(id))
            .await
    }

    async fn change_status(&self, id: &TicketId, to: Status) -> Result<Ticket> {
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("change_status", Some(id), true), &|| {
                p.change_status(id, to)
            })
            .await
    }

    async fn assign(&self, id: &TicketId, who: Option<&str>) -> Result<Ticket> {
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("assign", Some(id), true), &|| p.assign(id, who))
            .await
    }

    async fn close(&self, id: &TicketId) -> Result<Ticket> {
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("close", Some(id), true), &|| p.close(id))
            .await
    }

    async fn resolve(&self, id: &TicketId) -> Result<Ticket> {
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("resolve", Some(id), true), &|| p.resolve(id))
            .await
    }

    async fn escalate(&self, id: &TicketId) -> Result<Ticket> {
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("escalate", Some(id), true), &|| p.escalate(id))
            .await
    }

    async fn reopen(&self, id: &TicketId) -> Result<Ticket> {
        // A second reopen of a reopened ticket is refused (already open): not idempotent.
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("reopen", Some(id), false), &|| p.reopen(id))
            .await
    }
}
