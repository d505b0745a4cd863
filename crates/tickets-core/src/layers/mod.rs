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
mod deadline;
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
    Attachment, AttachmentContent, ChangeToken, Changes, Comment, HistoryEntry, NewAttachment,
    NewComment, NewTicket, Page, Ticket, TicketId, TicketPatch, TicketQuery,
};
use crate::provider::{Capabilities, DynProvider, TicketProvider};
use crate::status::Status;
use crate::workflow::Workflow;

pub use concurrency::ConcurrencyLimit;
pub use deadline::Deadline;
pub use retry::{Retry, RetryPolicy, without_retries};
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

/// Fails a call that takes longer than `limit` in all, retries included.
pub fn with_deadline(inner: DynProvider, limit: Duration) -> DynProvider {
    Arc::new(Layered::new(inner, Deadline::new(limit)))
}

/// Retries retryable failures with jittered exponential backoff (see [`RetryPolicy`]).
pub fn with_retry(inner: DynProvider, policy: RetryPolicy) -> DynProvider {
    Arc::new(Layered::new(inner, Retry::new(policy)))
}

/// Lets at most `max` calls run at once; the rest wait their turn.
pub fn with_concurrency_limit(inner: DynProvider, max: usize) -> DynProvider {
    Arc::new(Layered::new(inner, ConcurrencyLimit::new(max)))
}

/// Extra attempts for retryable failures unless `layers.retries` says otherwise.
pub const DEFAULT_RETRIES: u32 = 2;
/// The total time one call may take unless `layers.deadline_secs` says otherwise.
pub const DEFAULT_DEADLINE_SECS: f64 = 60.0;

/// A backend's `layers` config table. Unknown keys are refused (naming the nearest known one).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LayerConfig {
    /// Per-attempt time limit in seconds (up to [`LayerConfig::MAX_TIMEOUT_SECS`]); none when
    /// unset.
    pub timeout_secs: Option<f64>,
    /// Extra attempts for retryable failures (up to [`LayerConfig::MAX_RETRIES`]); 0 turns
    /// retries off. The one place calls are retried (providers send each request once).
    pub retries: u32,
    /// The longest one call may take in all, retries and their waits included, in seconds (up
    /// to [`LayerConfig::MAX_TIMEOUT_SECS`]).
    pub deadline_secs: Option<f64>,
    /// At most this many calls at once (1 to [`LayerConfig::MAX_CONCURRENCY`]); unlimited when
    /// unset.
    pub max_concurrency: Option<usize>,
    /// A tracing span per call (on by default).
    pub tracing: bool,
}

impl Default for LayerConfig {
    fn default() -> Self {
        Self {
            timeout_secs: None,
            retries: DEFAULT_RETRIES,
            deadline_secs: Some(DEFAULT_DEADLINE_SECS),
            max_concurrency: None,
            tracing: true,
        }
    }
}

impl LayerConfig {
    /// The longest per-attempt time limit: one day.
    pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;
    /// The most retries.
    pub const MAX_RETRIES: u32 = 100;
    /// The largest concurrency limit.
    pub const MAX_CONCURRENCY: usize = 100_000;

    /// Reads the `layers` key of a backend section (defaults when absent), naming the key and
    /// its source on any problem.
    pub fn from_spec(spec: &crate::config::BackendSpec) -> Result<Self> {
        let Some(config) = spec
            .read_key::<Self>("layers")
            .map_err(|e| e.with_context("backend", &spec.name))?
        else {
            return Ok(Self::default());
        };
        for (key, value) in [
            ("layers.timeout_secs", config.timeout_secs),
            ("layers.deadline_secs", config.deadline_secs),
        ] {
            if let Some(t) = value
                && !(t.is_finite() && t > 0.0 && t <= Self::MAX_TIMEOUT_SECS)
            {
                return Err(spec.key_error(
                    key,
                    format!(
                        "is {t}; it must be a number of seconds above 0 and at most {}",
                        Self::MAX_TIMEOUT_SECS
                    ),
                ));
            }
        }
        if config.retries > Self::MAX_RETRIES {
            return Err(spec.key_error(
                "layers.retries",
                format!(
                    "is {}; it must be at most {}",
                    config.retries,
                    Self::MAX_RETRIES
                ),
            ));
        }
        if let Some(n) = config.max_concurrency
            && !(1..=Self::MAX_CONCURRENCY).contains(&n)
        {
            return Err(spec.key_error(
                "layers.max_concurrency",
                format!("is {n}; it must be from 1 to {}", Self::MAX_CONCURRENCY),
            ));
        }
        Ok(config)
    }

    /// Wraps `provider` as configured: concurrency innermost, then the per-attempt timeout,
    /// retry, the deadline of the whole call, tracing.
    pub fn apply(&self, mut provider: DynProvider, backend: &str) -> DynProvider {
        let secs = |s: f64| Duration::try_from_secs_f64(s).ok();
        if let Some(max) = self.max_concurrency {
            provider = with_concurrency_limit(provider, max);
        }
        // Checked values cannot fail here; an unchecked one out of range means no limit
        // rather than a panic.
        if let Some(limit) = self.timeout_secs.and_then(secs) {
            provider = with_timeout(provider, limit);
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
        if let Some(limit) = self.deadline_secs.and_then(secs) {
            provider = with_deadline(provider, limit);
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

    async fn add_attachment(&self, id: &TicketId, attachment: NewAttachment) -> Result<Attachment> {
        let p = &*self.inner;
        let keyed =
            attachment.idempotency_key.is_some() && self.inner.capabilities().idempotent_attachment;
        // Content in memory can be sent again; a stream only once (it is consumed).
        let idempotent = keyed && attachment.try_clone().is_some();
        let once = std::sync::Mutex::new(Some(attachment));
        let attempt = || {
            let next = {
                let mut slot = once.lock().unwrap_or_else(|e| e.into_inner());
                match slot.as_ref().and_then(NewAttachment::try_clone) {
                    Some(copy) => Some(copy),
                    None => slot.take(),
                }
            };
            match next {
                Some(a) => p.add_attachment(id, a),
                None => Box::pin(async {
                    Err(crate::Error::unexpected(
                        "a streamed attachment cannot be sent a second time",
                    ))
                }),
            }
        };
        self.interceptor
            .intercept(p, op!("add_attachment", Some(id), idempotent), &attempt)
            .await
    }

    async fn attachments(&self, id: &TicketId) -> Result<Vec<Attachment>> {
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("attachments", Some(id), true), &|| p.attachments(id))
            .await
    }

    async fn read_attachment(&self, attachment_id: &str) -> Result<AttachmentContent> {
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("read_attachment", None, true), &|| {
                p.read_attachment(attachment_id)
            })
            .await
    }

    async fn delete(&self, id: &TicketId) -> Result<()> {
        // Deleting what is gone is NotFound: not repeated after a failure that may have
        // been applied.
        let p = &*self.inner;
        self.interceptor
            .intercept(p, op!("delete", Some(id), false), &|| p.delete(id))
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
