//! The HTTP client: one reqwest client with connection reuse, bearer auth, the `{"data": ...}`
//! envelope, Asana's concurrency limits enforced client-side (reads and writes in flight), and
//! retries: `429` waits out `Retry-After`; `5xx`, time-outs and broken connections are retried
//! for requests that are safe to repeat (reads, and writes that set a state), and for any
//! request that certainly was not applied (refused connection, 429).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tickets_core::layers::RetryPolicy;
use tickets_core::{Error, ErrorKind, Result};
use tokio::sync::Semaphore;

use crate::config::AsanaConfig;
use crate::error::{bad_answer, from_status, from_transport, parse_retry_after};
use crate::types::Envelope;

/// Whether a request may be sent again after a failure that may have been applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Reads, and writes that set a state (PUT fields, addTask, addTag, removeTag).
    Safe,
    /// Writes that add something (POST /tasks, POST stories): only retried when certainly not
    /// applied; the caller recovers the rest.
    Once,
}

/// One request.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<serde_json::Value>,
    pub repeat: Repeat,
}

impl<'a> Call<'a> {
    pub fn get(path: &'a str) -> Self {
        Self {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
            repeat: Repeat::Safe,
        }
    }

    /// A write with `{"data": data}` as its body.
    pub fn write(method: Method, path: &'a str, data: &impl Serialize, repeat: Repeat) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: Some(json!({ "data": data })),
            repeat,
        }
    }

    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }
}

/// The Asana REST client. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: Arc<str>,
    auth: HeaderValue,
    reads: Arc<Semaphore>,
    writes: Arc<Semaphore>,
    retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("auth", &"Bearer [redacted]")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `config` (no request is made).
    pub(crate) fn new(config: &AsanaConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout())
            .connect_timeout(Duration::from_secs(10).min(config.timeout()))
            .pool_max_idle_per_host(config.max_concurrent_reads + config.max_concurrent_writes)
            .user_agent(concat!("tickets-asana/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?;
        Self::with_http(http, config)
    }

    /// A client using a prepared reqwest client (proxies, custom TLS roots, ...).
    pub(crate) fn with_http(http: reqwest::Client, config: &AsanaConfig) -> Result<Self> {
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", config.token.expose_secret()))
                .map_err(|_| Error::config("token: contains characters not allowed in a header"))?;
        auth.set_sensitive(true);
        Ok(Self {
            http,
            base: config.base_url.trim_end_matches('/').into(),
            auth,
            reads: Arc::new(Semaphore::new(config.max_concurrent_reads)),
            writes: Arc::new(Semaphore::new(config.max_concurrent_writes)),
            retry: RetryPolicy {
                max_retries: config.max_retries,
                min_delay: Duration::from_millis(50),
                max_delay: Duration::from_secs(5),
                max_retry_after: Duration::from_secs(config.max_retry_after_secs),
            },
        })
    }

    /// Sends `call`, retrying what may be retried, and decodes the envelope.
    pub(crate) async fn send<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<Envelope<T>> {
        let mut delays = self.retry.backoff();
        loop {
            let err = match self.attempt(call).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let again =
                err.is_retryable() && (call.repeat == Repeat::Safe || err.was_not_applied());
            if !again {
                return Err(err);
            }
            let Some(backoff) = delays.next() else {
                return Err(err);
            };
            let wait = match err.retry_after() {
                Some(after) if after > self.retry.max_retry_after => return Err(err),
                Some(after) => after,
                None => backoff,
            };
            tracing::debug!(
                method = %call.method, path = call.path, kind = %err.kind(),
                wait_ms = wait.as_millis() as u64, "retrying an Asana request"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<Envelope<T>> {
        let gate = if call.method == Method::GET {
            &self.reads
        } else {
            &self.writes
        };
        let _permit = gate
            .acquire()
            .await
            .map_err(|_| Error::unexpected("the request limiter was closed"))?;
        let url = format!("{}{}", self.base, call.path);
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .header(reqwest::header::AUTHORIZATION, self.auth.clone());
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(from_transport)?;
        let status = response.status();
        for change in response.headers().get_all("asana-change") {
            tracing::info!(change = ?change, "Asana announces an API change");
        }
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        let bytes = response.bytes().await.map_err(from_transport)?;
        if !status.is_success() {
            return Err(from_status(status.as_u16(), &bytes, retry_after));
        }
        if status == StatusCode::NO_CONTENT || bytes.is_empty() {
            return serde_json::from_value(json!({"data": {}}))
                .map_err(|e| bad_answer(call.path, e));
        }
        serde_json::from_slice(&bytes).map_err(|e| bad_answer(call.path, e))
    }

    /// Every item of a paginated list (`limit=100`, following `next_page` to the end).
    pub(crate) async fn all<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut offset: Option<String> = None;
        for _ in 0..100_000 {
            let mut page = Call {
                query: call.query.clone(),
                ..Call::get(call.path)
            }
            .query("limit", "100");
            if let Some(o) = &offset {
                page = page.query("offset", o.clone());
            }
            let env: Envelope<Vec<T>> = self.send(&page).await?;
            out.extend(env.data);
            match env.next_page {
                Some(next) => offset = Some(next.offset),
                None => return Ok(out),
            }
        }
        Err(Error::new(
            ErrorKind::Unexpected,
            format!("Asana kept returning pages of {}", call.path),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let c = Client::new(&AsanaConfig::new("0/very-secret", "1")).unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("very-secret"), "{d}");
    }

    #[test]
    fn bad_token_characters_are_a_config_error() {
        let err = Client::new(&AsanaConfig::new("bad\ntoken", "1")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.to_string().contains("bad\ntoken"));
    }
}
