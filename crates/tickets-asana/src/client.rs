//! The HTTP client: one reqwest client from `tickets_http` (rustls, time-outs, connection
//! reuse), bearer auth, the `{"data": ...}` envelope, and Asana's concurrency limits enforced
//! client-side (reads and writes in flight). Each request is sent once: retries are the
//! `tickets` retry layer's (`layers.retries`), which reads the errors' kind, `retry_after` and
//! "not applied" marks set here.

use std::collections::HashMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tickets_core::{Error, Result};
use tickets_http::{HttpSettings, Pacer, PageGuard};
use tokio::sync::Semaphore;

use crate::config::AsanaConfig;
use crate::error::{VENDOR, bad_answer, from_status, from_transport};
use crate::types::Envelope;

/// One request.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<serde_json::Value>,
    /// A body that is not JSON: its content type and bytes (attachment uploads).
    pub raw: Option<(String, Vec<u8>)>,
}

impl<'a> Call<'a> {
    pub fn get(path: &'a str) -> Self {
        Self {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
            raw: None,
        }
    }

    /// A write with `{"data": data}` as its body.
    pub fn write(method: Method, path: &'a str, data: &impl Serialize) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: Some(json!({ "data": data })),
            raw: None,
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
    /// Shared by every client of one token and base URL in the process (Asana's limits are
    /// per token); `None` when `requests_per_minute` is 0.
    pacer: Option<Arc<Pacer>>,
}

/// Base URL, token fingerprint, rate.
type PacerKey = (String, u64, u32);

/// The pacers of the process.
static PACERS: LazyLock<Mutex<HashMap<PacerKey, Arc<Pacer>>>> = LazyLock::new(Mutex::default);

/// The process's pacer for `config`'s token and base URL.
fn pacer(config: &AsanaConfig) -> Option<Arc<Pacer>> {
    let rate = config.requests_per_minute;
    if rate == 0 {
        return None;
    }
    // A fingerprint, so the map holds no copy of the token.
    let mut h = DefaultHasher::new();
    config.token.expose_secret().hash(&mut h);
    let key = (config.base_url.clone(), h.finish(), rate);
    let mut map = PACERS.lock().unwrap_or_else(|p| p.into_inner());
    Some(
        map.entry(key)
            .or_insert_with(|| Arc::new(Pacer::new(rate, (rate / 150).max(1))))
            .clone(),
    )
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("auth", &"Bearer [redacted]")
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `config` (no request is made).
    pub(crate) fn new(config: &AsanaConfig) -> Result<Self> {
        let settings = HttpSettings::new(
            concat!("tickets-asana/", env!("CARGO_PKG_VERSION")),
            config.timeout(),
        );
        Self::with_http(tickets_http::build_client(&settings)?, config)
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
            pacer: pacer(config),
        })
    }

    /// Sends `call` once and decodes the envelope. A failed `GET` is marked as not applied: it
    /// changes nothing, so a call that failed on a read may be made again.
    pub(crate) async fn send<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<Envelope<T>> {
        let out = self.send_once(call).await;
        if call.method == Method::GET {
            out.map_err(Error::with_not_applied)
        } else {
            out
        }
    }

    async fn send_once<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<Envelope<T>> {
        // Paced before taking a slot, so a waiting request holds no concurrency permit.
        if let Some(p) = &self.pacer {
            p.admit(VENDOR).await?;
        }
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
        if let Some((content_type, bytes)) = &call.raw {
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                .body(bytes.clone());
        }
        let response = request.send().await.map_err(from_transport)?;
        let status = response.status();
        for change in response.headers().get_all("asana-change") {
            tracing::info!(change = ?change, "Asana announces an API change");
        }
        let mut retry_after = tickets_http::retry_after(response.headers());
        if status == StatusCode::TOO_MANY_REQUESTS
            && let Some(p) = &self.pacer
        {
            retry_after = Some(p.rate_limited(retry_after));
        }
        let bytes = response.bytes().await.map_err(from_transport)?;
        if !status.is_success() {
            return Err(from_status(status.as_u16(), &bytes, retry_after));
        }
        decode(call.path, status, &bytes)
    }

    /// Every item of a paginated list (`limit=100`, following `next_page` to the end; a
    /// repeated `next_page` or an endless listing ends with an error).
    pub(crate) async fn all<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut offset: Option<String> = None;
        let mut guard = PageGuard::new(format!("Asana {}", call.path));
        loop {
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
                Some(next) => {
                    guard.next(&next.offset)?;
                    offset = Some(next.offset);
                }
                None => return Ok(out),
            }
        }
    }
}

impl Client {
    /// A `GET` of a file's `download_url`: a pre-signed URL on another host, so it is sent
    /// without the token (and without pacing: it is not Asana's API).
    pub(crate) async fn download(&self, url: &str) -> Result<reqwest::Response> {
        let response = self.http.get(url).send().await.map_err(from_transport)?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response.bytes().await.map_err(from_transport)?;
            return Err(from_status(status.as_u16(), &bytes, None).with_not_applied());
        }
        Ok(response)
    }
}

/// A success answer's envelope (`204` and empty bodies are `{"data": {}}`).
pub(crate) fn decode<T: DeserializeOwned>(
    what: &str,
    status: StatusCode,
    bytes: &[u8],
) -> Result<Envelope<T>> {
    if status == StatusCode::NO_CONTENT || bytes.is_empty() {
        return serde_json::from_value(json!({"data": {}})).map_err(|e| bad_answer(what, e));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let shown = tickets_http::body_text(bytes);
        if shown.contains("base_url") {
            bad_answer(what, shown)
        } else {
            bad_answer(what, e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickets_core::ErrorKind;

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

    #[test]
    fn an_html_success_page_hints_at_the_base_url() {
        let e = decode::<serde_json::Value>(
            "/tasks/1",
            StatusCode::OK,
            b"<!doctype html><html><body>Asana - Log in</body></html>",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unexpected);
        assert!(e.message().contains("base_url"), "{e}");
    }
}
