//! Building a [`SalesforceConfig`] in code: constructors and setters.

use std::path::PathBuf;

use secrecy::SecretString;
use tickets_core::Workflow;

use super::{Flow, SalesforceConfig};

/// Setters, for configs built in code.
impl SalesforceConfig {
    /// Client credentials (the default flow) against `login_url`.
    pub fn client_credentials(
        login_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            login_url: Some(login_url.into()),
            client_id: Some(client_id.into()),
            client_secret: Some(SecretString::from(client_secret.into())),
            ..Self::default()
        }
    }

    /// Switches to the username-password flow (keeps client id and secret).
    pub fn password(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.flow = Flow::Password;
        self.username = Some(username.into());
        self.password = Some(SecretString::from(password.into()));
        self
    }

    /// Switches to the refresh-token flow (keeps the client id, and the secret if set).
    pub fn refresh_token(mut self, token: impl Into<String>) -> Self {
        self.flow = Flow::RefreshToken;
        self.refresh_token = Some(SecretString::from(token.into()));
        self
    }

    /// Switches to the JWT bearer flow, signing with the PEM key at `private_key` for `username`.
    pub fn jwt_bearer(
        mut self,
        username: impl Into<String>,
        private_key: impl Into<PathBuf>,
    ) -> Self {
        self.flow = Flow::JwtBearer;
        self.username = Some(username.into());
        self.private_key = Some(private_key.into());
        self
    }

    /// Drops the client secret (flows that do not need one).
    pub fn without_client_secret(mut self) -> Self {
        self.client_secret = None;
        self
    }

    /// Sets the org's My Domain URL.
    pub fn instance_url(mut self, url: impl Into<String>) -> Self {
        self.instance_url = Some(url.into());
        self
    }

    /// Sets the REST API version (`v62.0` or `62.0`).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Creates idempotently through this External ID field.
    pub fn external_id_field(mut self, field: impl Into<String>) -> Self {
        self.external_id_field = Some(field.into());
        self
    }

    /// Keeps tags in this Text(255) field.
    pub fn tags_field(mut self, field: impl Into<String>) -> Self {
        self.tags_field = Some(field.into());
        self
    }

    /// Keeps due dates in this Date field.
    pub fn due_field(mut self, field: impl Into<String>) -> Self {
        self.due_field = Some(field.into());
        self
    }

    /// Tells Resolved, Cancelled and Closed apart in this field.
    pub fn close_reason_field(mut self, field: impl Into<String>) -> Self {
        self.close_reason_field = Some(field.into());
        self
    }

    /// Maps a custom field name to a Case field API name.
    pub fn custom_field(mut self, name: impl Into<String>, field: impl Into<String>) -> Self {
        self.custom_fields.insert(name.into(), field.into());
        self
    }

    /// Maps a status (`in_progress`) to a Case Status picklist value.
    pub fn status(mut self, status: impl Into<String>, value: impl Into<String>) -> Self {
        self.statuses.insert(status.into(), value.into());
        self
    }

    /// Maps a priority (`critical`) to a Case Priority picklist value.
    pub fn priority(mut self, priority: impl Into<String>, value: impl Into<String>) -> Self {
        self.priorities.insert(priority.into(), value.into());
        self
    }

    /// Sets the `Origin` of created Cases (empty: leave unset).
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Runs Case assignment rules on create.
    pub fn auto_assign(mut self, on: bool) -> Self {
        self.auto_assign = on;
        self
    }

    /// The owner that means "unassigned".
    pub fn unassigned_owner(mut self, id: impl Into<String>) -> Self {
        self.unassigned_owner = Some(id.into());
        self
    }

    /// Sets the per-request time limit in seconds.
    pub fn timeout_secs(mut self, secs: f64) -> Self {
        self.timeout_secs = Some(secs);
        self
    }

    /// Sets the most requests a minute.
    pub fn requests_per_minute(mut self, n: u32) -> Self {
        self.requests_per_minute = Some(n);
        self
    }

    /// Sets how long looked-up users are kept (seconds).
    pub fn metadata_ttl_secs(mut self, secs: u64) -> Self {
        self.metadata_ttl_secs = Some(secs);
        self
    }

    /// Turns the on-disk cache of looked-up users on or off.
    pub fn metadata_cache(mut self, on: bool) -> Self {
        self.metadata_cache = Some(on);
        self
    }

    /// Sets the folder of the on-disk cache.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Sets a custom workflow.
    pub fn workflow(mut self, workflow: Workflow) -> Self {
        self.workflow = Some(workflow);
        self
    }
}
