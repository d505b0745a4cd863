//! The HTTP side: OAuth sessions (refreshed once on `INVALID_SESSION_ID`, shared by concurrent
//! callers), REST calls, SOQL with `nextRecordsUrl` followed to the end, `Sforce-Limit-Info`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};
use tickets_core::{Error, ErrorKind, Result};
use tokio::sync::{Mutex, RwLock};

use crate::config::{Grant, Settings};
use crate::error::api_error;
use tickets_http::transport_error;

/// How errors name the vendor.
const VENDOR: &str = "salesforce";

/// The org's daily API usage from the last `Sforce-Limit-Info` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    /// Calls used in the rolling 24 hours.
    pub used: u64,
    /// The allocation.
    pub max: u64,
}

/// One OAuth session.
pub struct Session {
    access_token: SecretString,
    /// Where the REST API lives (`instance_url` of the token answer).
    pub instance_url: String,
    /// The API user's id (from the identity URL).
    pub user_id: String,
    generation: u64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("instance_url", &self.instance_url)
            .field("user_id", &self.user_id)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    access_token: String,
    instance_url: String,
    #[serde(default)]
    id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct QueryAnswer {
    #[serde(default)]
    pub(crate) records: Vec<Map<String, Value>>,
    #[serde(default)]
    pub(crate) done: bool,
    #[serde(rename = "nextRecordsUrl")]
    pub(crate) next_records_url: Option<String>,
}

/// A REST answer that succeeded.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The body, parsed (`Null` for an empty body).
    pub body: Value,
    /// The server's clock, from the `Date` header (when it sent a readable one).
    pub date: Option<chrono::DateTime<chrono::Utc>>,
}

/// The Salesforce REST client. Cheap to share behind an `Arc`.
pub struct SfClient {
    http: reqwest::Client,
    settings: Arc<Settings>,
    session: RwLock<Option<Arc<Session>>>,
    refresh: Mutex<u64>,
    used: AtomicU64,
    max: AtomicU64,
    logins: AtomicU64,
    /// The pacer in use; replaced when the daily usage moves the rate (see [`paced_rate`]).
    pacer: std::sync::RwLock<Arc<tickets_http::Pacer>>,
}

impl fmt::Debug for SfClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SfClient")
            .field("token_url", &self.settings.token_url.as_str())
            .field("credentials", &self.settings.grant)
            .field("api_version", &self.settings.api_version)
            .finish_non_exhaustive()
    }
}

/// How often one call renews a session answered with 401 before it gives up.
pub(crate) const MAX_RENEWALS: u32 = 3;

impl SfClient {
    /// A client; no call is made until the first request.
    pub fn new(settings: Arc<Settings>) -> Result<Self> {
        let http = tickets_http::build_client(&tickets_http::HttpSettings::new(
            concat!("tickets-salesforce/", env!("CARGO_PKG_VERSION")),
            settings.timeout,
        ))?;
        let pacer = pacer_for(settings.requests_per_minute);
        Ok(Self {
            http,
            settings,
            session: RwLock::new(None),
            refresh: Mutex::new(0),
            used: AtomicU64::new(0),
            max: AtomicU64::new(0),
            logins: AtomicU64::new(0),
            pacer: std::sync::RwLock::new(Arc::new(pacer)),
        })
    }

    /// The last `Sforce-Limit-Info` seen, if any.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        let max = self.max.load(Ordering::Relaxed);
        (max > 0).then(|| ApiUsage {
            used: self.used.load(Ordering::Relaxed),
            max,
        })
    }

    /// A rate-limit answer holds every request of this account for its `Retry-After` (1 s
    /// when there is none, as Salesforce sends none). The concurrency variant
    /// (`ConcurrentPerOrgLongTxn`: too many long requests at once) is not a rate: it holds
    /// nothing, the retry layer sends that call again.
    /// The error comes back with the hold as its `retry_after`, so whoever repeats the call
    /// (the retry layer, the sync queue) waits exactly that long.
    fn note_refusal(&self, e: Error) -> Error {
        if e.kind() == ErrorKind::RateLimited && !e.message().contains("ConcurrentPerOrgLongTxn") {
            let hold = self.pacer().rate_limited(e.retry_after());
            return e.with_retry_after(hold);
        }
        e
    }

    /// The API version paths are under (`v62.0`).
    pub fn api_version(&self) -> &str {
        &self.settings.api_version
    }

    /// The requests per minute this client sends at most, now (see [`paced_rate`]).
    pub fn paced_per_minute(&self) -> u32 {
        self.pacer().per_minute()
    }

    fn pacer(&self) -> Arc<tickets_http::Pacer> {
        self.pacer.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many tokens this client obtained (first login plus refreshes).
    pub fn logins(&self) -> u64 {
        self.logins.load(Ordering::Relaxed)
    }

    /// The current session, logging in first if there is none.
    pub async fn session(&self) -> Result<Arc<Session>> {
        if let Some(s) = self.session.read().await.clone() {
            return Ok(s);
        }
        self.renew(0).await
    }

    /// Replaces the session whose generation is `stale` (0: none yet). Concurrent callers that
    /// saw the same stale session wait for one login and share its result.
    async fn renew(&self, stale: u64) -> Result<Arc<Session>> {
        let mut generation = self.refresh.lock().await;
        if let Some(s) = self.session.read().await.clone()
            && s.generation != stale
        {
            return Ok(s);
        }
        let answer = self.login().await?;
        *generation += 1;
        let user_id = answer.id.rsplit('/').next().unwrap_or_default().to_owned();
        let session = Arc::new(Session {
            access_token: SecretString::from(answer.access_token),
            instance_url: answer.instance_url.trim_end_matches('/').to_owned(),
            user_id,
            generation: *generation,
        });
        self.logins.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(generation = *generation, instance_url = %session.instance_url, "salesforce session obtained");
        *self.session.write().await = Some(session.clone());
        Ok(session)
    }

    async fn login(&self) -> Result<TokenAnswer> {
        let mut form: Vec<(&str, String)> = Vec::new();
        match &self.settings.grant {
            Grant::ClientCredentials {
                client_id,
                client_secret,
            } => {
                form.push(("grant_type", "client_credentials".into()));
                form.push(("client_id", client_id.clone()));
                form.push(("client_secret", client_secret.expose_secret().to_owned()));
            }
            Grant::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
            } => {
                form.push(("grant_type", "refresh_token".into()));
                form.push(("client_id", client_id.clone()));
                form.push(("refresh_token", refresh_token.expose_secret().to_owned()));
                if let Some(s) = client_secret {
                    form.push(("client_secret", s.expose_secret().to_owned()));
                }
            }
            Grant::Password {
                client_id,
                client_secret,
                username,
                password,
            } => {
                form.push(("grant_type", "password".into()));
                form.push(("client_id", client_id.clone()));
                form.push(("client_secret", client_secret.expose_secret().to_owned()));
                form.push(("username", username.clone()));
                form.push(("password", password.expose_secret().to_owned()));
            }
            Grant::JwtBearer {
                client_id,
                username,
                audience,
                key,
            } => {
                #[derive(serde::Serialize)]
                struct Claims<'a> {
                    iss: &'a str,
                    sub: &'a str,
                    aud: &'a str,
                    exp: i64,
                }
                let claims = Claims {
                    iss: client_id,
                    sub: username,
                    aud: audience,
                    exp: chrono::Utc::now().timestamp() + 170,
                };
                let jwt = key.assertion(&claims).map_err(|e| {
                    Error::config(format!(
                        "cannot sign the JWT bearer assertion with private_key: {e}"
                    ))
                })?;
                form.push((
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                ));
                form.push(("assertion", jwt));
            }
        }
        let resp = self
            .http
            .post(self.settings.token_url.clone())
            .form(&form)
            .send();
        self.pacer().admit(VENDOR).await?;
        let resp = resp.await.map_err(|e| transport_error(VENDOR, e))?;
        let status = resp.status();
        self.note_limits(resp.headers());
        let retry_after = tickets_http::retry_after(resp.headers());
        let text = resp.text().await.map_err(|e| transport_error(VENDOR, e))?;
        if !status.is_success() {
            let e = api_error(status, &text, retry_after);
            let kind = if status.is_server_error() || e.kind() == ErrorKind::RateLimited {
                e.kind()
            } else {
                ErrorKind::Unauthenticated
            };
            let mut err = Error::new(
                kind,
                format!("login failed ({} flow): {}", self.flow_name(), e.message()),
            );
            if let Some(after) = e.retry_after() {
                err = err.with_retry_after(after);
            }
            return Err(err);
        }
        parse_token(&text)
    }

    fn flow_name(&self) -> &'static str {
        match self.settings.grant {
            Grant::ClientCredentials { .. } => "client_credentials",
            Grant::RefreshToken { .. } => "refresh_token",
            Grant::JwtBearer { .. } => "jwt_bearer",
            Grant::Password { .. } => "password",
        }
    }

    fn note_limits(&self, headers: &reqwest::header::HeaderMap) {
        let Some(v) = headers
            .get("sforce-limit-info")
            .and_then(|v| v.to_str().ok())
        else {
            return;
        };
        let Some((used, max)) = parse_limit_info(v) else {
            return;
        };
        self.used.store(used, Ordering::Relaxed);
        self.max.store(max, Ordering::Relaxed);
        let rate = paced_rate(self.settings.requests_per_minute, used, max);
        if rate != self.pacer().per_minute() {
            tracing::debug!(
                rate,
                used,
                max,
                "salesforce pacing changed with the daily usage"
            );
            let mut p = self.pacer.write().unwrap_or_else(|p| p.into_inner());
            *p = Arc::new(pacer_for(rate));
        }
        if max > 0 && used.saturating_mul(10) >= max.saturating_mul(9) {
            tracing::warn!(
                used,
                max,
                "salesforce API usage above 90% of the daily allocation"
            );
        } else {
            tracing::debug!(used, max, "salesforce API usage");
        }
    }

    /// `path` is relative to `/services/data/vNN.N/` (or absolute, starting with `/services/`).
    fn url(&self, session: &Session, path: &str) -> String {
        if path.starts_with("/services/") {
            format!("{}{path}", session.instance_url)
        } else {
            format!(
                "{}/services/data/{}/{path}",
                session.instance_url, self.settings.api_version
            )
        }
    }

    /// Sends one REST call; on 401 `INVALID_SESSION_ID` renews the session and sends it again,
    /// up to `MAX_RENEWALS` (3) times (a session can be revoked again between its login and its
    /// first use: by an admin, a parallel logout, or while many calls share it). A 401 is
    /// never applied, so sending again is safe; wrong credentials fail at the login itself.
    /// Non-2xx answers other than 300 become errors.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer> {
        let mut renewals = 0;
        loop {
            // Paced first, then the newest session: a wait in the pacer (a 429 holds every
            // call of the account) must not send a session revoked while waiting. A resend
            // after a renewal reuses the slot of the refused request (a 401 spends no API
            // allowance), so the fresh session is used at once, not after another wait.
            if renewals == 0 {
                self.pacer().admit(VENDOR).await?;
            }
            let session = self.session().await?;
            let mut req = self
                .http
                .request(method.clone(), self.url(&session, path))
                .bearer_auth(session.access_token.expose_secret())
                .header(
                    "Sforce-Auto-Assign",
                    if self.settings.auto_assign {
                        "TRUE"
                    } else {
                        "FALSE"
                    },
                );
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(|e| transport_error(VENDOR, e))?;
            let status = resp.status();
            self.note_limits(resp.headers());
            let retry_after = tickets_http::retry_after(resp.headers());
            let date = resp
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
                .map(|d| d.with_timezone(&chrono::Utc));
            let text = resp.text().await.map_err(|e| transport_error(VENDOR, e))?;
            if status == StatusCode::UNAUTHORIZED && renewals < MAX_RENEWALS {
                renewals += 1;
                tracing::debug!(renewals, "salesforce session expired; renewing");
                self.renew(session.generation).await?;
                continue;
            }
            if status.is_success() || status == StatusCode::MULTIPLE_CHOICES {
                let body = if text.trim().is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&text).map_err(|e| {
                        Error::unexpected(format!(
                            "salesforce answered {status} with a body that is not JSON ({e}): {}",
                            tickets_http::body_text(text.as_bytes())
                        ))
                    })?
                };
                return Ok(Answer { status, body, date });
            }
            return Err(self.note_refusal(api_error(status, &text, retry_after)));
        }
    }

    /// A GET whose answer body is read by the caller (file content): the session handling,
    /// pacing and error mapping of [`SfClient::call`], the body left unread on success.
    pub async fn download(&self, path: &str) -> Result<reqwest::Response> {
        let mut renewed = false;
        loop {
            if !renewed {
                self.pacer().admit(VENDOR).await?;
            }
            let session = self.session().await?;
            let resp = self
                .http
                .get(self.url(&session, path))
                .bearer_auth(session.access_token.expose_secret())
                .send()
                .await
                .map_err(|e| transport_error(VENDOR, e))?;
            let status = resp.status();
            self.note_limits(resp.headers());
            if status.is_success() {
                return Ok(resp);
            }
            let retry_after = tickets_http::retry_after(resp.headers());
            let text = resp.text().await.map_err(|e| transport_error(VENDOR, e))?;
            if status == StatusCode::UNAUTHORIZED && !renewed {
                self.renew(session.generation).await?;
                renewed = true;
                continue;
            }
            return Err(self.note_refusal(api_error(status, &text, retry_after)));
        }
    }

    /// A POST of a body that cannot be sent twice (a streamed upload): paced, with the
    /// current session. A 401 renews the session and answers an error marked not applied (the
    /// body is gone, the caller sends again).
    pub async fn upload(
        &self,
        path: &str,
        content_type: &str,
        length: Option<u64>,
        body: reqwest::Body,
    ) -> Result<Answer> {
        self.pacer().admit(VENDOR).await?;
        let session = self.session().await?;
        let mut req = self
            .http
            .post(self.url(&session, path))
            .bearer_auth(session.access_token.expose_secret())
            .header(reqwest::header::CONTENT_TYPE, content_type);
        if let Some(n) = length {
            req = req.header(reqwest::header::CONTENT_LENGTH, n);
        }
        let resp = req
            .body(body)
            .send()
            .await
            .map_err(|e| transport_error(VENDOR, e))?;
        let status = resp.status();
        self.note_limits(resp.headers());
        let retry_after = tickets_http::retry_after(resp.headers());
        let text = resp.text().await.map_err(|e| transport_error(VENDOR, e))?;
        if status == StatusCode::UNAUTHORIZED {
            self.renew(session.generation).await?;
            return Err(Error::new(
                ErrorKind::Unavailable,
                "the salesforce session expired during the upload; it was renewed, send the file again",
            )
            .with_not_applied());
        }
        if !status.is_success() {
            return Err(self.note_refusal(api_error(status, &text, retry_after)));
        }
        let body = serde_json::from_str(&text).map_err(|e| {
            Error::unexpected(format!(
                "salesforce answered {status} with a body that is not JSON ({e}): {}",
                tickets_http::body_text(text.as_bytes())
            ))
        })?;
        Ok(Answer {
            status,
            body,
            date: None,
        })
    }

    /// Runs a SOQL query and follows `nextRecordsUrl` to the end; a server handing back a
    /// `nextRecordsUrl` it gave before (or an endless series) ends with an error.
    pub async fn query(&self, soql: &str) -> Result<Vec<Map<String, Value>>> {
        let first = self
            .call(Method::GET, "query", &[("q", soql)], None)
            .await?;
        self.follow(first.body).await
    }

    /// The records of a query answer (or of a subquery's child set, which has the same
    /// shape), following `nextRecordsUrl` to the end under a [`tickets_http::PageGuard`].
    pub async fn follow(&self, answer: Value) -> Result<Vec<Map<String, Value>>> {
        let mut page = parse_query_page(answer)?;
        let mut records = std::mem::take(&mut page.records);
        let mut guard = tickets_http::PageGuard::new("the records of a salesforce SOQL query");
        while let Some(next) = next_records_url(&mut page)? {
            guard.next(&next)?;
            let more = self.call(Method::GET, &next, &[], None).await?;
            page = parse_query_page(more.body)?;
            records.append(&mut page.records);
        }
        Ok(records)
    }
}

/// The pace for `configured` requests a minute when `used` of the daily `max` are spent:
/// the configured rate while more than a tenth of the allowance is left; below that, falling
/// in proportion to what is left, to 1 a minute when it is used up. So a long drain slows
/// down before Salesforce answers `REQUEST_LIMIT_EXCEEDED` and leaves the org's other
/// integrations some room.
pub fn paced_rate(configured: u32, used: u64, max: u64) -> u32 {
    if max == 0 {
        return configured;
    }
    let left = max.saturating_sub(used);
    let reserve = (max / 10).max(1);
    if left >= reserve {
        return configured;
    }
    let rate = u64::from(configured).saturating_mul(left) / reserve;
    u32::try_from(rate)
        .unwrap_or(configured)
        .clamp(1, configured.max(1))
}

/// A pacer for `per_minute`, with bursts of a second's worth.
fn pacer_for(per_minute: u32) -> tickets_http::Pacer {
    tickets_http::Pacer::new(per_minute, (per_minute / 60).max(1))
}

/// Reads a token endpoint answer.
pub(crate) fn parse_token(text: &str) -> Result<TokenAnswer> {
    let t: TokenAnswer = serde_json::from_str(text).map_err(|e| {
        Error::unexpected(format!(
            "the token endpoint answered something that is not a token ({e}): {}",
            tickets_http::body_text(text.as_bytes())
        ))
    })?;
    if t.access_token.is_empty() || !t.instance_url.starts_with("http") {
        return Err(Error::unexpected(
            "the token endpoint answered without an access_token or an http(s) instance_url",
        ));
    }
    Ok(t)
}

/// Reads one page of a SOQL query answer.
pub(crate) fn parse_query_page(body: Value) -> Result<QueryAnswer> {
    serde_json::from_value(body)
        .map_err(|e| Error::unexpected(format!("unexpected salesforce query answer: {e}")))
}

/// The next page's URL of a query answer, `None` when it is done; a `nextRecordsUrl` that is
/// missing while not done, or that leaves the REST API, is an error.
pub(crate) fn next_records_url(page: &mut QueryAnswer) -> Result<Option<String>> {
    if page.done {
        return Ok(None);
    }
    let Some(next) = page.next_records_url.take() else {
        return Err(Error::unexpected(
            "salesforce query answer says not done but has no nextRecordsUrl",
        ));
    };
    if !next.starts_with("/services/data/") || next.contains("..") || next.contains("://") {
        return Err(Error::unexpected(format!(
            "unexpected nextRecordsUrl {:?}",
            next.chars().take(100).collect::<String>()
        )));
    }
    Ok(Some(next))
}

/// Reads `Sforce-Limit-Info: api-usage=USED/MAX` (other entries, e.g. `per-app-api-usage`,
/// may come first or after).
pub(crate) fn parse_limit_info(value: &str) -> Option<(u64, u64)> {
    value
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("api-usage="))
        .find_map(|u| {
            let (a, b) = u.split_once('/')?;
            Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?))
        })
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
