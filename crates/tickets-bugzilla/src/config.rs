//! Config keys of the `bugzilla` provider (see the crate README for the table).

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;
use serde::Deserialize;
use tickets_core::{Priority, Status, Workflow};

/// Where the API key travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyIn {
    /// `api_key` in the query string of GETs and in the JSON body of POST/PUT: what upstream
    /// Bugzilla 5.0/5.2 understands (it ignores the header).
    #[default]
    QueryOrBody,
    /// The `X-BUGZILLA-API-KEY` header: bugzilla.mozilla.org and Bugzilla master (Harmony).
    Header,
}

/// Where one canonical status lives in Bugzilla. Unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StatusTarget {
    /// The Bugzilla `status` (`CONFIRMED`, `RESOLVED`, ...).
    pub status: String,
    /// The `resolution` for closed statuses (`FIXED`, `WONTFIX`, ...); empty for open ones.
    #[serde(default)]
    pub resolution: String,
    /// A whiteboard token (`[triaged]`) that tells statuses sharing one Bugzilla status apart.
    #[serde(default)]
    pub marker: Option<String>,
}

impl StatusTarget {
    /// A Bugzilla status, with a resolution (empty for open statuses) and an optional
    /// whiteboard marker.
    pub fn new(status: &str, resolution: &str, marker: Option<&str>) -> Self {
        Self {
            status: status.into(),
            resolution: resolution.into(),
            marker: marker.map(Into::into),
        }
    }
}

/// The default status map (see the README).
pub fn default_status_map() -> BTreeMap<Status, StatusTarget> {
    BTreeMap::from([
        (Status::New, StatusTarget::new("CONFIRMED", "", None)),
        (
            Status::Triaged,
            StatusTarget::new("CONFIRMED", "", Some("[triaged]")),
        ),
        (
            Status::InProgress,
            StatusTarget::new("IN_PROGRESS", "", None),
        ),
        (
            Status::OnHold,
            StatusTarget::new("CONFIRMED", "", Some("[on-hold]")),
        ),
        (
            Status::Escalated,
            StatusTarget::new("IN_PROGRESS", "", Some("[escalated]")),
        ),
        (
            Status::Resolved,
            StatusTarget::new("RESOLVED", "FIXED", None),
        ),
        (Status::Closed, StatusTarget::new("VERIFIED", "FIXED", None)),
        (
            Status::Cancelled,
            StatusTarget::new("RESOLVED", "WONTFIX", None),
        ),
    ])
}

fn default_version() -> String {
    "unspecified".into()
}

fn default_all() -> String {
    "All".into()
}

fn default_true() -> bool {
    true
}

fn default_timeout() -> u64 {
    30
}

fn default_max_attachment() -> u64 {
    1000 * 1024
}

fn default_metadata_ttl() -> u64 {
    3_600
}

fn default_feed_lag() -> u64 {
    10
}

/// The `[backends.<name>]` section of a `bugzilla` backend.
///
/// Non-exhaustive: build one with [`BugzillaConfig::new`] and set the public fields you need.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct BugzillaConfig {
    /// The REST root, e.g. `https://bugzilla.example.com/rest` (`/rest` is added when missing).
    pub base_url: String,
    /// The API key (Preferences > API Keys). Secret.
    pub api_key: SecretString,
    /// `query_or_body` (default, Bugzilla 5.x) or `header` (bugzilla.mozilla.org, master).
    #[serde(default)]
    pub api_key_in: ApiKeyIn,
    /// The API user's login, so comments written as that user carry no author line.
    #[serde(default)]
    pub login: Option<String>,
    /// Product new bugs go to, and the only product listed.
    #[serde(deserialize_with = "tickets_core::config::string_or_number")]
    pub product: String,
    /// Component new bugs go to, and the only component listed.
    #[serde(deserialize_with = "tickets_core::config::string_or_number")]
    pub component: String,
    /// Version new bugs get.
    #[serde(
        default = "default_version",
        deserialize_with = "tickets_core::config::string_or_number"
    )]
    pub version: String,
    /// `op_sys` of new bugs (required by installs without a default).
    #[serde(default = "default_all")]
    pub op_sys: String,
    /// `platform` of new bugs (required by installs without a default).
    #[serde(default = "default_all")]
    pub platform: String,
    /// `severity` of new bugs; unset leaves the server's default.
    #[serde(default)]
    pub severity: Option<String>,
    /// Overrides of the status map, by canonical status (`resolved = { status = "RESOLVED",
    /// resolution = "FIXED" }`); unnamed statuses keep their defaults.
    #[serde(default)]
    pub status_map: BTreeMap<Status, StatusTarget>,
    /// Bugzilla priority per canonical priority; unset means discovered from
    /// `/rest/field/bug/priority` by order.
    #[serde(default)]
    pub priority_map: BTreeMap<Priority, String>,
    /// Custom fields by model name -> Bugzilla field (`customer = "cf_customer"`); only mapped
    /// names can be written. Types come from `/rest/field/bug` (integers read back as numbers).
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
    /// Escalating also sets the highest priority (unless the same update sets one).
    #[serde(default = "default_true")]
    pub escalate_priority: bool,
    /// The login that means "nobody"; default: the component's default assignee.
    #[serde(default)]
    pub unassigned: Option<String>,
    /// Per-request timeout in seconds (1 to 86400, default 30).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// How many seconds behind the server's clock the change feed's position stays: changes
    /// younger than this are named again by the next call (at least once), so a change that
    /// commits late, or a second change in the same second, is never skipped.
    #[serde(default = "default_feed_lag")]
    pub feed_lag_secs: u64,
    /// The allowed status moves (the core default unless set).
    #[serde(default)]
    pub workflow: Workflow,
    /// Client-side pacing: at most this many requests a minute to this server (a token
    /// bucket, bursts of up to a second's worth). Upstream Bugzilla documents no limit, so
    /// unset (the default) sends without pacing; set it for bugzilla.mozilla.org-style servers
    /// that answer 429.
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    /// How long the server's metadata (priorities, workflow, default assignee, custom field
    /// types) is trusted before it is read again, in seconds (0 to 86400, default 3600).
    #[serde(default = "default_metadata_ttl")]
    pub metadata_ttl_secs: u64,
    /// Keep the metadata in the user's cache directory too (`$XDG_CACHE_HOME/tickets`, ...), so
    /// short-lived processes such as the CLI do not read it each time. Keyed by base URL and
    /// account; holds no secret; a corrupt or stale file is ignored. Default `true` from
    /// configuration; [`BugzillaConfig::new`] leaves it off (an app building the config in code
    /// keeps one long-lived provider, which holds the metadata in memory).
    #[serde(default = "default_true")]
    pub metadata_cache: bool,
    /// Where the metadata cache lives instead of the user's cache directory.
    #[serde(default)]
    pub metadata_cache_dir: Option<std::path::PathBuf>,
    /// The largest attachment sent, in bytes: the server's `maxattachmentsize` (Bugzilla's
    /// default is 1000 KB = 1,024,000 bytes; 1 to 2^31).
    #[serde(default = "default_max_attachment")]
    pub max_attachment_size: u64,
}

impl fmt::Debug for BugzillaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BugzillaConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"***")
            .field("api_key_in", &self.api_key_in)
            .field("login", &self.login)
            .field("product", &self.product)
            .field("component", &self.component)
            .field("version", &self.version)
            .field("status_map", &self.status_map)
            .field("priority_map", &self.priority_map)
            .finish_non_exhaustive()
    }
}

impl BugzillaConfig {
    /// The keys of a `bugzilla` backend section (besides `provider` and `layers`): the fields
    /// above.
    pub const KEYS: &'static [&'static str] = &[
        "base_url",
        "api_key",
        "api_key_in",
        "login",
        "product",
        "component",
        "version",
        "op_sys",
        "platform",
        "severity",
        "status_map",
        "priority_map",
        "custom_fields",
        "escalate_priority",
        "unassigned",
        "timeout_secs",
        "feed_lag_secs",
        "workflow",
        "requests_per_minute",
        "metadata_ttl_secs",
        "metadata_cache",
        "metadata_cache_dir",
        "max_attachment_size",
    ];

    /// A config for `base_url` with `api_key`, filing into product/component.
    pub fn new(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        product: impl Into<String>,
        component: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: SecretString::from(api_key.into()),
            api_key_in: ApiKeyIn::default(),
            login: None,
            product: product.into(),
            component: component.into(),
            version: default_version(),
            op_sys: default_all(),
            platform: default_all(),
            severity: None,
            status_map: BTreeMap::new(),
            priority_map: BTreeMap::new(),
            custom_fields: BTreeMap::new(),
            escalate_priority: true,
            unassigned: None,
            timeout_secs: default_timeout(),
            feed_lag_secs: default_feed_lag(),
            workflow: Workflow::default(),
            requests_per_minute: None,
            metadata_ttl_secs: default_metadata_ttl(),
            metadata_cache: false,
            metadata_cache_dir: None,
            max_attachment_size: default_max_attachment(),
        }
    }

    /// The status map with the overrides applied.
    pub fn effective_status_map(&self) -> BTreeMap<Status, StatusTarget> {
        let mut map = default_status_map();
        map.extend(self.status_map.clone());
        map
    }

    /// Problems a config can have before anything is sent: `(key, problem)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let url = url::Url::parse(self.base_url.trim())
            .map_err(|e| ("base_url", format!("not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(("base_url", "must be an http or https URL".into()));
        }
        if secrecy::ExposeSecret::expose_secret(&self.api_key)
            .trim()
            .is_empty()
        {
            return Err(("api_key", "must not be empty".into()));
        }
        for (key, value) in [("product", &self.product), ("component", &self.component)] {
            if value.trim().is_empty() {
                return Err((key, "must not be empty".into()));
            }
        }
        let map = self.effective_status_map();
        for (status, target) in &map {
            if target.status.trim().is_empty() {
                return Err((
                    "status_map",
                    format!("{status} has an empty Bugzilla status"),
                ));
            }
            if !status.is_open() && target.resolution.is_empty() {
                return Err((
                    "status_map",
                    format!("{status} is a closed status and needs a resolution"),
                ));
            }
            if let Some(m) = &target.marker
                && (m.trim().is_empty() || m.contains(char::is_whitespace))
            {
                return Err((
                    "status_map",
                    format!("marker of {status} must be one word like [triaged]"),
                ));
            }
        }
        for (name, field) in &self.custom_fields {
            if !field.starts_with("cf_") || name.trim().is_empty() {
                return Err((
                    "custom_fields",
                    format!(
                        "{name} must map to a Bugzilla custom field named cf_..., not {field:?}"
                    ),
                ));
            }
        }
        tickets_core::config::check_range(self.timeout_secs, 1, 86_400, "seconds")
            .map_err(|p| ("timeout_secs", p))?;
        tickets_core::config::check_range(self.feed_lag_secs, 0, 3_600, "seconds")
            .map_err(|p| ("feed_lag_secs", p))?;
        tickets_core::config::check_range(self.metadata_ttl_secs, 0, 86_400, "seconds")
            .map_err(|p| ("metadata_ttl_secs", p))?;
        tickets_core::config::check_range(self.max_attachment_size, 1, 1 << 31, "bytes")
            .map_err(|p| ("max_attachment_size", p))?;
        if let Some(rpm) = self.requests_per_minute {
            tickets_core::config::check_range(u64::from(rpm), 1, 1_000_000, "requests a minute")
                .map_err(|p| ("requests_per_minute", p))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let c = BugzillaConfig::new("http://x/rest", "very-secret-key", "P", "C");
        let text = format!("{c:?}");
        assert!(!text.contains("very-secret-key"), "{text}");
        assert!(text.contains("***"));
    }

    #[test]
    fn check_names_the_bad_key() {
        let mut c = BugzillaConfig::new("ftp://x", "k", "P", "C");
        assert_eq!(c.check().unwrap_err().0, "base_url");
        c.base_url = "http://x/rest".into();
        c.product = " ".into();
        assert_eq!(c.check().unwrap_err().0, "product");
        c.product = "P".into();
        c.status_map
            .insert(Status::Closed, StatusTarget::new("VERIFIED", "", None));
        assert_eq!(c.check().unwrap_err().0, "status_map");
    }

    #[test]
    fn overrides_keep_other_defaults() {
        let mut c = BugzillaConfig::new("http://x/rest", "k", "P", "C");
        c.status_map
            .insert(Status::New, StatusTarget::new("UNCONFIRMED", "", None));
        let map = c.effective_status_map();
        assert_eq!(map[&Status::New].status, "UNCONFIRMED");
        assert_eq!(map[&Status::Cancelled].resolution, "WONTFIX");
    }

    #[test]
    fn readme_example_deserializes() {
        use tickets_core::figment::providers::{Format, Toml};
        let toml = r#"
            base_url = "https://bugzilla.example.com/rest"
            api_key = "k"
            product = 1234
            component = "Tickets"
            api_key_in = "header"
            custom_fields = { customer = "cf_customer" }
            [status_map]
            new = { status = "UNCONFIRMED" }
            cancelled = { status = "RESOLVED", resolution = "INVALID" }
            on_hold = { status = "CONFIRMED", marker = "[waiting]" }
            [priority_map]
            critical = "P1"
            high = "P2"
        "#;
        let c: BugzillaConfig = tickets_core::figment::Figment::from(Toml::string(toml))
            .extract()
            .unwrap();
        assert_eq!(c.product, "1234", "all-digit ids deserialize from numbers");
        assert_eq!(c.api_key_in, ApiKeyIn::Header);
        assert_eq!(c.version, "unspecified");
        let map = c.effective_status_map();
        assert_eq!(map[&Status::New].status, "UNCONFIRMED");
        assert_eq!(map[&Status::Cancelled].resolution, "INVALID");
        assert_eq!(map[&Status::OnHold].marker.as_deref(), Some("[waiting]"));
        assert_eq!(c.priority_map[&Priority::Critical], "P1");
        assert_eq!(c.custom_fields["customer"], "cf_customer");
        assert!(c.check().is_ok());
        // Issue 16 and 14 defaults, from configuration: the CLI keeps the metadata on disk.
        assert!(c.metadata_cache);
        assert_eq!(c.metadata_ttl_secs, 3_600);
        assert_eq!(
            c.requests_per_minute, None,
            "no pacing: Bugzilla documents no limit"
        );
        assert_eq!(c.max_attachment_size, 1_024_000);
        assert!(!BugzillaConfig::new("http://x/rest", "k", "P", "C").metadata_cache);
    }

    #[test]
    fn pacing_ttl_and_attachment_limits_name_their_key() {
        let base = || BugzillaConfig::new("http://x/rest", "k", "P", "C");
        let mut c = base();
        c.requests_per_minute = Some(0);
        assert_eq!(c.check().unwrap_err().0, "requests_per_minute");
        let mut c = base();
        c.metadata_ttl_secs = 86_401;
        assert_eq!(c.check().unwrap_err().0, "metadata_ttl_secs");
        let mut c = base();
        c.max_attachment_size = 0;
        assert_eq!(c.check().unwrap_err().0, "max_attachment_size");
        let mut c = base();
        c.requests_per_minute = Some(1_500);
        assert!(c.check().is_ok());
    }

    #[test]
    fn keys_are_the_fields_of_the_struct() {
        let mut fields = tickets_core::config::struct_keys::<BugzillaConfig>()
            .expect("a plain struct")
            .to_vec();
        let mut keys = BugzillaConfig::KEYS.to_vec();
        fields.sort_unstable();
        keys.sort_unstable();
        assert_eq!(
            keys, fields,
            "KEYS must list exactly the fields serde reads"
        );
    }

    #[test]
    fn a_huge_timeout_names_the_key() {
        let mut c = BugzillaConfig::new("http://x/rest", "k", "P", "C");
        c.timeout_secs = u64::MAX;
        let (key, problem) = c.check().unwrap_err();
        assert_eq!(key, "timeout_secs");
        assert!(problem.contains("86400"), "{problem}");
    }
}
