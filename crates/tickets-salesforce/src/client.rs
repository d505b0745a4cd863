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
use crate::error::{api_error, transport_error};

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
struct TokenAnswer {
    access_token: String,
    instance_url: String,
    #[serde(default)]
    id: String,
}

#[derive(Debug, Deserialize)]
struct QueryAnswer {
    #[serde(default)]
    records: Vec<Map<String, Value>>,
    #[serde(default)]
    done: bool,
    #[serde(rename = "nextRecordsUrl")]
    next_records_url: Option<String>,
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

impl SfClient {
    /// A client; no call is made until the first request.
    pub fn new(settings: Arc<Settings>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(std::time::Duration::from_secs(10)))
            .user_agent(concat!("tickets-salesforce/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            settings,
            session: RwLock::new(None),
            refresh: Mutex::new(0),
            used: AtomicU64::new(0),
            max: AtomicU64::new(0),
            logins: AtomicU64::new(0),
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
                let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
                let jwt = jsonwebtoken::encode(&header, &claims, key).map_err(|e| {
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
            .send()
            .await
            .map_err(|e| transport_error(e, "salesforce token endpoint"))?;
        let status = resp.status();
        self.note_limits(resp.headers());
        let text = resp
            .text()
            .await
            .map_err(|e| transport_error(e, "salesforce token endpoint"))?;
        if !status.is_success() {
            let e = api_error(status, &text);
            let kind = if status.is_server_error() || e.kind() == ErrorKind::RateLimited {
                e.kind()
            } else {
                ErrorKind::Unauthenticated
            };
            return Err(Error::new(
                kind,
                format!("login failed ({} flow): {}", self.flow_name(), e.message()),
            ));
        }
        serde_json::from_str(&text).map_err(|e| {
            Error::unexpected(format!(
                "the token endpoint answered something that is not a token: {e}"
            ))
        })
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
        let Some((used, max)) = v
            .split(',')
            .find_map(|p| p.trim().strip_prefix("api-usage="))
            .and_then(|u| u.split_once('/'))
            .and_then(|(a, b)| {
                Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?))
            })
        else {
            return;
        };
        self.used.store(used, Ordering::Relaxed);
        self.max.store(max, Ordering::Relaxed);
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

    /// Sends one REST call; on 401 `INVALID_SESSION_ID` renews the session once and retries
    /// once. Non-2xx answers other than 300 become errors.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer> {
        let mut session = self.session().await?;
        let mut renewed = false;
        loop {
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
            let resp = req
                .send()
                .await
                .map_err(|e| transport_error(e, "salesforce request"))?;
            let status = resp.status();
            self.note_limits(resp.headers());
            let date = resp
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
                .map(|d| d.with_timezone(&chrono::Utc));
            let text = resp
                .text()
                .await
                .map_err(|e| transport_error(e, "salesforce answer"))?;
            if status == StatusCode::UNAUTHORIZED && !renewed {
                tracing::debug!("salesforce session expired; renewing once");
                session = self.renew(session.generation).await?;
                renewed = true;
                continue;
            }
            if status.is_success() || status == StatusCode::MULTIPLE_CHOICES {
                let body = if text.trim().is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&text).map_err(|e| {
                        Error::unexpected(format!(
                            "salesforce answered {status} with a body that is not JSON: {e}"
                        ))
                    })?
                };
                return Ok(Answer { status, body, date });
            }
            return Err(api_error(status, &text));
        }
    }

    /// Runs a SOQL query and follows `nextRecordsUrl` to the end.
    pub async fn query(&self, soql: &str) -> Result<Vec<Map<String, Value>>> {
        let first = self
            .call(Method::GET, "query", &[("q", soql)], None)
            .await?;
        let mut page: QueryAnswer = serde_json::from_value(first.body)
            .map_err(|e| Error::unexpected(format!("unexpected query answer: {e}")))?;
        let mut records = std::mem::take(&mut page.records);
        while !page.done {
            let Some(next) = page.next_records_url.take() else {
                return Err(Error::unexpected(
                    "query answer says not done but has no nextRecordsUrl",
                ));
            };
            if !next.starts_with("/services/data/") {
                return Err(Error::unexpected(format!(
                    "unexpected nextRecordsUrl {next:?}"
                )));
            }
            let more = self.call(Method::GET, &next, &[], None).await?;
            page = serde_json::from_value(more.body)
                .map_err(|e| Error::unexpected(format!("unexpected query answer: {e}")))?;
            records.append(&mut page.records);
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limit_info() {
        let settings = crate::config::SalesforceConfig {
            login_url: Some("http://127.0.0.1:9".into()),
            client_id: Some("id".into()),
            client_secret: Some(SecretString::from("x")),
            ..Default::default()
        }
        .settings(None)
        .unwrap();
        let c = SfClient::new(Arc::new(settings)).unwrap();
        assert_eq!(c.api_usage(), None);
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("sforce-limit-info", "api-usage=18/5000".parse().unwrap());
        c.note_limits(&h);
        assert_eq!(
            c.api_usage(),
            Some(ApiUsage {
                used: 18,
                max: 5000
            })
        );
        let shown = format!("{c:?}");
        assert!(!shown.contains("\"x\""), "{shown}");
    }
}
