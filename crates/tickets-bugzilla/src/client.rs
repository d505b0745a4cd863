//! The HTTP client: one `reqwest::Client` (connection reuse), credentials placed as configured,
//! and every answer checked for Bugzilla's `error: true` whatever the HTTP status.

use std::fmt;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tickets_core::{Error, ErrorKind, Result};
use tickets_http::HttpSettings;

use crate::config::ApiKeyIn;
use crate::error;

/// A Bugzilla REST client.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: SecretString,
    key_in: ApiKeyIn,
    /// Client-side pacing (`requests_per_minute`), shared by clones.
    pacer: Option<std::sync::Arc<tickets_http::Pacer>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("key", &"***")
            .field("key_in", &self.key_in)
            .field(
                "requests_per_minute",
                &self.pacer.as_ref().map(|p| p.per_minute()),
            )
            .finish()
    }
}

/// `https://host/rest/` -> `https://host/rest`; a base without `/rest` (or `/rest.cgi`) gets it.
pub fn normalize_base(base: &str) -> String {
    let base = base.trim().trim_end_matches('/');
    if base.ends_with("/rest") || base.ends_with("/rest.cgi") {
        base.to_owned()
    } else {
        format!("{base}/rest")
    }
}

/// Percent-encodes one path segment (ids and aliases).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// A client for the REST root `base`.
    pub fn new(base: &str, key: SecretString, key_in: ApiKeyIn, timeout: Duration) -> Result<Self> {
        let http = tickets_http::build_client(&HttpSettings::new(
            concat!("tickets-bugzilla/", env!("CARGO_PKG_VERSION")),
            timeout,
        ))?;
        Ok(Self {
            http,
            base: normalize_base(base),
            key,
            key_in,
            pacer: None,
        })
    }

    /// Paces every request to at most `per_minute` (bursts of a second's worth); a 429 holds
    /// all requests until its `Retry-After`.
    pub fn with_pacing(mut self, per_minute: u32) -> Self {
        let burst = (per_minute / 60).max(1);
        self.pacer = Some(std::sync::Arc::new(tickets_http::Pacer::new(
            per_minute, burst,
        )));
        self
    }

    /// The REST root, e.g. `https://bugzilla.example.com/rest`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path?query`.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        self.call(Method::GET, path, query, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.call(Method::POST, path, &[], Some(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: Value) -> Result<Value> {
        self.call(Method::PUT, path, &[], Some(body)).await
    }

    /// One call. Errors name `METHOD path` but never the query string or the key.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<Value> {
        let what = format!("{method} {path}");
        let key = self.key.expose_secret();
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header(ACCEPT, "application/json");
        let mut query: Vec<(&str, String)> = query.to_vec();
        let mut body = body;
        match self.key_in {
            ApiKeyIn::Header => {
                let mut v = HeaderValue::from_str(key).map_err(|_| {
                    Error::config("api_key contains characters that cannot go in a header")
                })?;
                v.set_sensitive(true);
                req = req.header("X-BUGZILLA-API-KEY", v);
            }
            ApiKeyIn::QueryOrBody => match body.as_mut() {
                Some(Value::Object(map)) => {
                    map.insert("api_key".into(), Value::String(key.to_owned()));
                }
                _ => query.push(("api_key", key.to_owned())),
            },
        }
        if !query.is_empty() {
            req = req.query(&query);
        }
        if let Some(body) = &body {
            req = req.json(body);
        }
        if let Some(p) = &self.pacer {
            p.admit("Bugzilla").await?;
        }
        let started = std::time::Instant::now();
        let resp = req.send().await.map_err(|e| {
            let err = tickets_http::transport_error("Bugzilla", e).with_context("call", &what);
            tracing::debug!(call = %what, error = %err, "bugzilla request failed");
            err
        })?;
        let status = resp.status().as_u16();
        // The path only: the query may carry the key.
        tracing::debug!(
            call = %what,
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "bugzilla answered"
        );
        let mut retry_after = tickets_http::retry_after(resp.headers());
        if status == 429
            && let Some(p) = &self.pacer
        {
            retry_after = Some(p.rate_limited(retry_after));
        }
        let bytes = resp.bytes().await.map_err(|e| {
            tickets_http::transport_error("Bugzilla", e).with_context("call", &what)
        })?;
        answer(status, retry_after, &bytes, &what, key)
    }
}

/// One answer as a result: Bugzilla's `error: true` envelope wins whatever the HTTP status
/// (5.2 answers HTTP 200 with code 100500); otherwise a non-2xx status goes through the shared
/// status table; a 2xx must be JSON.
pub(crate) fn answer(
    status: u16,
    retry_after: Option<Duration>,
    bytes: &[u8],
    what: &str,
    key: &str,
) -> Result<Value> {
    let parsed: Option<Value> = serde_json::from_slice(bytes).ok();
    if let Some(v) = &parsed
        && v.get("error").and_then(Value::as_bool) == Some(true)
    {
        let code = v.get("code").and_then(Value::as_i64).unwrap_or(-32000);
        let message = v
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("(no message)");
        let mut err = error::from_envelope(code, status, &error::redact(message, key), what);
        if status == 429 {
            err = err.with_kind(ErrorKind::RateLimited).with_not_applied();
            if let Some(after) = retry_after {
                err = err.with_retry_after(after);
            }
        }
        return Err(err);
    }
    if !(200..300).contains(&status) {
        let text = error::redact(&tickets_http::body_text(bytes), key);
        return Err(
            tickets_http::answer_error("Bugzilla", status, &text, retry_after)
                .with_context("call", what)
                .with_context("http_status", status),
        );
    }
    parsed.ok_or_else(|| {
        Error::unexpected(format!(
            "{what}: the answer was not JSON ({}); is base_url the REST root of a Bugzilla 5 \
             server?",
            tickets_http::body_text(bytes)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized() {
        assert_eq!(normalize_base("http://h/rest/"), "http://h/rest");
        assert_eq!(normalize_base("http://h"), "http://h/rest");
        assert_eq!(
            normalize_base("http://h/bugzilla/rest.cgi"),
            "http://h/bugzilla/rest.cgi"
        );
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(segment("123"), "123");
        assert_eq!(segment("tk-ab_c.d"), "tk-ab_c.d");
        assert_eq!(segment("a/b?c d"), "a%2Fb%3Fc%20d");
    }

    #[test]
    fn debug_hides_the_key() {
        let c = Client::new(
            "http://h",
            SecretString::from("s3cret-key"),
            ApiKeyIn::QueryOrBody,
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("s3cret-key"));
    }
}
