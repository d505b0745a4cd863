//! Config keys of the `salesforce` provider, and their checked form.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use tickets_core::{BuildContext, Error, Result, Workflow};
use url::Url;

use crate::convert::{PriorityMap, StatusMap};

mod builder;

/// Requests a minute when `requests_per_minute` is not set. Salesforce documents no
/// per-minute limit, only the daily allowance (`Sforce-Limit-Info`, which slows this down near
/// its end) and 25 concurrent long requests.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 1000;

/// The API version used when `api_version` is not set.
pub const DEFAULT_API_VERSION: &str = "v62.0";

/// How the provider obtains access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// OAuth client credentials (server-to-server; runs as the app's integration user).
    #[default]
    ClientCredentials,
    /// A refresh token obtained once through a web-server flow.
    RefreshToken,
    /// JWT bearer: an RS256 assertion signed with `private_key`, for `username`.
    JwtBearer,
    /// Username and password (plus security token). Only for developer orgs.
    Password,
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flow::ClientCredentials => "client_credentials",
            Flow::RefreshToken => "refresh_token",
            Flow::JwtBearer => "jwt_bearer",
            Flow::Password => "password",
        })
    }
}

/// The backend's config section, as written (see the crate README for every key).
///
/// Non-exhaustive: build one with [`SalesforceConfig::client_credentials`] (or `default()`)
/// and the setters, or set its public fields on a value you have.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SalesforceConfig {
    /// Token endpoint host (`https://login.salesforce.com`, `https://test.salesforce.com` or
    /// the org's My Domain); `instance_url` is used when this is unset.
    pub login_url: Option<String>,
    /// The org's My Domain URL; the token endpoint host when `login_url` is unset.
    pub instance_url: Option<String>,
    /// `client_credentials` (default), `refresh_token`, `jwt_bearer` or `password`.
    pub flow: Flow,
    /// The connected app's consumer key.
    pub client_id: Option<String>,
    /// The connected app's consumer secret.
    pub client_secret: Option<SecretString>,
    /// The user for `jwt_bearer` and `password`.
    pub username: Option<String>,
    /// Password plus security token, for `password`.
    pub password: Option<SecretString>,
    /// For `refresh_token`.
    pub refresh_token: Option<SecretString>,
    /// PEM file with the RSA private key for `jwt_bearer`.
    pub private_key: Option<PathBuf>,
    /// JWT `aud`; defaults from `login_url` (`https://test.salesforce.com` for sandboxes,
    /// else `https://login.salesforce.com`).
    pub audience: Option<String>,
    /// REST API version, `v62.0` or `62.0`.
    pub api_version: Option<String>,
    /// External-ID field (External ID + Unique) used for idempotent creates via upsert.
    pub external_id_field: Option<String>,
    /// Status -> Case Status picklist value overrides (`in_progress = "Working"`).
    pub statuses: BTreeMap<String, String>,
    /// Priority -> Case Priority picklist value overrides (`critical = "Critical"`).
    pub priorities: BTreeMap<String, String>,
    /// A Case field telling Resolved/Cancelled/Closed apart (all are the Closed status).
    pub close_reason_field: Option<String>,
    /// A Text(255) Case field holding tags, `;`-separated.
    pub tags_field: Option<String>,
    /// A Date Case field holding the due date.
    pub due_field: Option<String>,
    /// Custom field name -> Case field API name (`customer = "Customer__c"`).
    pub custom_fields: BTreeMap<String, String>,
    /// `Origin` of created Cases (default `Web`; empty string = leave unset).
    pub origin: Option<String>,
    /// Run Case assignment rules on create (`Sforce-Auto-Assign: TRUE`); default false.
    pub auto_assign: bool,
    /// The owner that means "unassigned" (User or Queue id); default: the API user.
    pub unassigned_owner: Option<String>,
    /// Per-request time limit in seconds (above 0, at most 86400; default 30).
    pub timeout_secs: Option<f64>,
    /// A custom workflow table.
    pub workflow: Option<Workflow>,
    /// Requests a minute this backend sends at most (default 1000; slowed further as the
    /// org's daily allowance runs out).
    pub requests_per_minute: Option<u32>,
    /// How long looked-up users are kept, in seconds (default 3600; 0 keeps nothing).
    pub metadata_ttl_secs: Option<u64>,
    /// Keep looked-up users in the user's cache directory for the next process (default true).
    pub metadata_cache: Option<bool>,
    /// Where that cache lives (default: the user's cache directory, then `tickets/`).
    pub cache_dir: Option<PathBuf>,
}

impl fmt::Debug for SalesforceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |s: &Option<SecretString>| if s.is_some() { "[redacted]" } else { "unset" };
        f.debug_struct("SalesforceConfig")
            .field("login_url", &self.login_url)
            .field("instance_url", &self.instance_url)
            .field("flow", &self.flow)
            .field("client_id", &self.client_id)
            .field("client_secret", &set(&self.client_secret))
            .field("username", &self.username)
            .field("password", &set(&self.password))
            .field("refresh_token", &set(&self.refresh_token))
            .field("private_key", &self.private_key)
            .field("audience", &self.audience)
            .field("api_version", &self.api_version)
            .field("external_id_field", &self.external_id_field)
            .field("timeout_secs", &self.timeout_secs)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("metadata_ttl_secs", &self.metadata_ttl_secs)
            .field("metadata_cache", &self.metadata_cache)
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
}

/// How to authenticate, checked.
#[derive(Clone)]
pub enum Grant {
    /// Client credentials.
    ClientCredentials {
        /// Consumer key.
        client_id: String,
        /// Consumer secret.
        client_secret: SecretString,
    },
    /// Refresh token.
    RefreshToken {
        /// Consumer key.
        client_id: String,
        /// Consumer secret, when the app requires it.
        client_secret: Option<SecretString>,
        /// The refresh token.
        refresh_token: SecretString,
    },
    /// JWT bearer.
    JwtBearer {
        /// Consumer key (`iss`).
        client_id: String,
        /// The user (`sub`).
        username: String,
        /// `aud`.
        audience: String,
        /// The signing key.
        key: crate::jwt::SigningKey,
    },
    /// Username-password.
    Password {
        /// Consumer key.
        client_id: String,
        /// Consumer secret.
        client_secret: SecretString,
        /// The user.
        username: String,
        /// Password plus security token.
        password: SecretString,
    },
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            Grant::RefreshToken { client_id, .. } => f
                .debug_struct("RefreshToken")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            Grant::JwtBearer {
                client_id,
                username,
                audience,
                ..
            } => f
                .debug_struct("JwtBearer")
                .field("client_id", client_id)
                .field("username", username)
                .field("audience", audience)
                .finish_non_exhaustive(),
            Grant::Password {
                client_id,
                username,
                ..
            } => f
                .debug_struct("Password")
                .field("client_id", client_id)
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

/// Everything the provider needs, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `{login host}/services/oauth2/token`.
    pub token_url: Url,
    /// How to get tokens.
    pub grant: Grant,
    /// `v62.0`.
    pub api_version: String,
    /// Idempotent creates through this external-ID field.
    pub external_id_field: Option<String>,
    /// Status mapping.
    pub statuses: StatusMap,
    /// Priority mapping.
    pub priorities: PriorityMap,
    /// Tags field.
    pub tags_field: Option<String>,
    /// Due date field.
    pub due_field: Option<String>,
    /// Model custom field -> Case field.
    pub custom_fields: BTreeMap<String, String>,
    /// Origin for new Cases.
    pub origin: Option<String>,
    /// `Sforce-Auto-Assign`.
    pub auto_assign: bool,
    /// The owner meaning "unassigned", when not the API user.
    pub unassigned_owner: Option<String>,
    /// Request time limit.
    pub timeout: Duration,
    /// Workflow.
    pub workflow: Workflow,
    /// The most requests a minute (before the daily-usage slow-down).
    pub requests_per_minute: u32,
    /// How long looked-up users are kept.
    pub metadata_ttl: Duration,
    /// The folder looked-up users are kept in between processes (`None`: not kept).
    pub metadata_cache_dir: Option<PathBuf>,
}

/// Problems with a config, as (key, problem).
type Problem = (&'static str, String);

fn field_name(key: &'static str, value: &str) -> std::result::Result<String, Problem> {
    let ok = !value.is_empty()
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(value.to_owned())
    } else {
        Err((
            key,
            format!(
                "{value:?} is not a Salesforce field API name (letters, digits, _; e.g. Ticket_Key__c)"
            ),
        ))
    }
}

fn required<T: Clone>(
    value: &Option<T>,
    key: &'static str,
    flow: Flow,
) -> std::result::Result<T, Problem> {
    value
        .clone()
        .ok_or_else(|| (key, format!("is required for flow = \"{flow}\"")))
}

impl SalesforceConfig {
    /// The keys of a `salesforce` backend section (besides `provider` and `layers`): the
    /// fields above.
    pub const KEYS: &'static [&'static str] = &[
        "login_url",
        "instance_url",
        "flow",
        "client_id",
        "client_secret",
        "username",
        "password",
        "refresh_token",
        "private_key",
        "audience",
        "api_version",
        "external_id_field",
        "statuses",
        "priorities",
        "close_reason_field",
        "tags_field",
        "due_field",
        "custom_fields",
        "origin",
        "auto_assign",
        "unassigned_owner",
        "timeout_secs",
        "workflow",
        "requests_per_minute",
        "metadata_ttl_secs",
        "metadata_cache",
        "cache_dir",
    ];

    /// Checks the config and builds [`Settings`], naming the key on any problem.
    pub fn settings(&self, ctx: Option<&BuildContext>) -> Result<Settings> {
        self.check().map_err(|(key, problem)| match ctx {
            Some(ctx) => ctx.config_error(key, problem),
            None => Error::config(format!("salesforce config key `{key}`: {problem}")),
        })
    }

    fn check(&self) -> std::result::Result<Settings, Problem> {
        let (host_key, host) = match (&self.login_url, &self.instance_url) {
            (Some(l), _) => ("login_url", l.clone()),
            (None, Some(i)) => ("instance_url", i.clone()),
            (None, None) => {
                return Err((
                    "login_url",
                    "is required (or instance_url): the host of the token endpoint, e.g. https://login.salesforce.com".into(),
                ));
            }
        };
        let base = Url::parse(host.trim_end_matches('/'))
            .map_err(|e| (host_key, format!("{host:?} is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err((host_key, "must be an http(s) URL".into()));
        }
        let token_url = base
            .join("/services/oauth2/token")
            .map_err(|e| (host_key, e.to_string()))?;
        let flow = self.flow;
        let client_id = required(&self.client_id, "client_id", flow)?;
        let grant = match flow {
            Flow::ClientCredentials => Grant::ClientCredentials {
                client_id,
                client_secret: required(&self.client_secret, "client_secret", flow)?,
            },
            Flow::RefreshToken => Grant::RefreshToken {
                client_id,
                client_secret: self.client_secret.clone(),
                refresh_token: required(&self.refresh_token, "refresh_token", flow)?,
            },
            Flow::Password => Grant::Password {
                client_id,
                client_secret: required(&self.client_secret, "client_secret", flow)?,
                username: required(&self.username, "username", flow)?,
                password: required(&self.password, "password", flow)?,
            },
            Flow::JwtBearer => {
                let path = required(&self.private_key, "private_key", flow)?;
                let pem = std::fs::read(&path).map_err(|e| {
                    (
                        "private_key",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                let key = crate::jwt::SigningKey::from_pem(&pem).map_err(|e| {
                    (
                        "private_key",
                        format!(
                            "{} is not an RSA private key in PEM form: {e}",
                            path.display()
                        ),
                    )
                })?;
                let host = base.host_str().unwrap_or_default();
                let audience = self.audience.clone().unwrap_or_else(|| {
                    if host.contains("test.salesforce.com") || host.contains(".sandbox.") {
                        "https://test.salesforce.com".into()
                    } else {
                        "https://login.salesforce.com".into()
                    }
                });
                Grant::JwtBearer {
                    client_id,
                    username: required(&self.username, "username", flow)?,
                    audience,
                    key,
                }
            }
        };
        let api_version = match &self.api_version {
            None => DEFAULT_API_VERSION.to_owned(),
            Some(v) => {
                let number = v.trim().trim_start_matches(['v', 'V']);
                let ok = number
                    .split_once('.')
                    .is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok());
                if !ok {
                    return Err(("api_version", format!("{v:?} is not a version like v62.0")));
                }
                format!("v{number}")
            }
        };
        let opt_field = |key: &'static str, v: &Option<String>| {
            v.as_deref().map(|v| field_name(key, v)).transpose()
        };
        let external_id_field = opt_field("external_id_field", &self.external_id_field)?;
        let close_reason_field = opt_field("close_reason_field", &self.close_reason_field)?;
        let tags_field = opt_field("tags_field", &self.tags_field)?;
        let due_field = opt_field("due_field", &self.due_field)?;
        let mut custom_fields = BTreeMap::new();
        for (name, api) in &self.custom_fields {
            custom_fields.insert(name.clone(), field_name("custom_fields", api)?);
        }
        let statuses =
            StatusMap::new(&self.statuses, close_reason_field).map_err(|e| ("statuses", e))?;
        let priorities = PriorityMap::new(&self.priorities).map_err(|e| ("priorities", e))?;
        let origin = match &self.origin {
            None => Some("Web".to_owned()),
            Some(o) if o.trim().is_empty() => None,
            Some(o) => Some(o.clone()),
        };
        let timeout = match self.timeout_secs {
            None => Duration::from_secs(30),
            // try_from: `Duration::from_secs_f64` panics on values it cannot hold (1e20).
            Some(s) if s > 0.0 && s <= 86_400.0 => Duration::try_from_secs_f64(s)
                .map_err(|e| ("timeout_secs", format!("is {s}: {e}")))?,
            Some(s) => {
                return Err((
                    "timeout_secs",
                    format!("is {s}; it must be a number of seconds above 0 and at most 86400"),
                ));
            }
        };
        let requests_per_minute = match self.requests_per_minute {
            None => DEFAULT_REQUESTS_PER_MINUTE,
            Some(n) if (1..=1_000_000).contains(&n) => n,
            Some(n) => {
                return Err((
                    "requests_per_minute",
                    format!("is {n}; it must be from 1 to 1000000"),
                ));
            }
        };
        let metadata_ttl = match self.metadata_ttl_secs {
            None => Duration::from_secs(3600),
            Some(n) if n <= 30 * 86_400 => Duration::from_secs(n),
            Some(n) => {
                return Err((
                    "metadata_ttl_secs",
                    format!("is {n}; it must be at most 2592000 (30 days)"),
                ));
            }
        };
        Ok(Settings {
            requests_per_minute,
            metadata_ttl,
            metadata_cache_dir: if self.metadata_cache.unwrap_or(true) {
                self.cache_dir.clone().or_else(crate::cache::default_dir)
            } else {
                None
            },
            token_url,
            grant,
            api_version,
            external_id_field,
            statuses,
            priorities,
            tags_field,
            due_field,
            custom_fields,
            origin,
            auto_assign: self.auto_assign,
            unassigned_owner: self.unassigned_owner.clone(),
            timeout,
            workflow: self.workflow.clone().unwrap_or_default(),
        })
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
