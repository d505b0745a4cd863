//! The config keys of an `asana` backend.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use tickets_core::config::{check_range, opt_string_or_number};
use tickets_core::{BuildContext, Priority, Result, Status, Workflow};

/// The real API.
pub const DEFAULT_BASE_URL: &str = "https://app.asana.com/api/1.0";

/// Keys of an `asana` backend section. See the crate README for the table with defaults.
///
/// Non-exhaustive: build one with [`AsanaConfig::new`] and the setters (or set its public
/// fields on a value you have).
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct AsanaConfig {
    /// A personal access token or OAuth access token.
    pub token: SecretString,
    /// The workspace gid; read from the project when left out.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub workspace: Option<String>,
    /// The project gid that holds the tickets.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub project: Option<String>,
    /// The seed's name for `project`.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub asana_project: Option<String>,
    /// The API base, `https://app.asana.com/api/1.0` unless set (the fake's URL in tests).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Section name per status (`in_progress = "Doing"`); unnamed statuses use their label.
    #[serde(default)]
    pub sections: BTreeMap<String, String>,
    /// Tag name per priority (`critical = "P1"`); unnamed priorities use their label.
    #[serde(default)]
    pub priority_tags: BTreeMap<String, String>,
    /// Keep the priority in this enum custom field (options named like the priority tags)
    /// instead of in tags.
    #[serde(default)]
    pub priority_field: Option<String>,
    /// Create missing sections, tags, custom fields and enum options (default true).
    #[serde(default = "yes")]
    pub create_missing: bool,
    /// Tasks per list request (1 to 100, default 50).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Time-out of one HTTP request, in seconds (1 to 86400, default 30).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Reads in flight at once (1 to 1000, default 50, Asana's limit).
    #[serde(default = "default_reads")]
    pub max_concurrent_reads: usize,
    /// Writes in flight at once (1 to 1000, default 15, Asana's limit).
    #[serde(default = "default_writes")]
    pub max_concurrent_writes: usize,
    /// Keep the token's user, the workspace and the project's sections in the user's cache
    /// directory, so the next process does not read them again (default true).
    #[serde(default = "yes")]
    pub disk_cache: bool,
    /// Where that cache lives (default: `$XDG_CACHE_HOME/tickets/asana`, else
    /// `~/.cache/tickets/asana`).
    #[serde(default)]
    pub cache_dir: Option<String>,
    /// How long cached sections, user and workspace are trusted, in seconds, on disk and in
    /// the process (0 to 604800, default 900).
    #[serde(default = "default_cache_ttl")]
    pub cache_ttl_secs: u64,
    /// Requests per minute this process sends on one token (0 to 100000, default 1500,
    /// Asana's limit on paid plans; 150 on free ones; 0: not paced). Requests wait for a
    /// token of a bucket refilled at this rate (bursts of rate/150, at least 1); a 429 holds
    /// every request of the token until its `Retry-After`.
    #[serde(default = "default_rate")]
    pub requests_per_minute: u32,
    /// Accepted for older configs and checked (0 to 100), but no longer used: a request is
    /// sent once, and retries are the retry layer's (`layers.retries`).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// Accepted for older configs and checked (0 to 86400), but no longer used: the retry
    /// layer decides how long a `Retry-After` is waited for.
    #[serde(default = "default_max_wait")]
    pub max_retry_after_secs: u64,
    /// A keyed create looks for its marker only on tasks changed in the last this many hours
    /// (`modified_since`), so its cost does not grow with the project (0 to 87600, default
    /// 24; 0: the whole project). A keyed create repeated later than this after a first try
    /// that was applied but not answered makes a second task.
    #[serde(default = "default_key_window")]
    pub idempotency_window_hours: u32,
    /// The allowed status moves.
    #[serde(default)]
    pub workflow: Workflow,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}
fn yes() -> bool {
    true
}
fn default_page_size() -> u32 {
    50
}
fn default_timeout() -> u64 {
    30
}
fn default_reads() -> usize {
    50
}
fn default_writes() -> usize {
    15
}
fn default_retries() -> u32 {
    3
}
fn default_cache_ttl() -> u64 {
    900
}
fn default_rate() -> u32 {
    1500
}
fn default_key_window() -> u32 {
    24
}
fn default_max_wait() -> u64 {
    60
}

impl fmt::Debug for AsanaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsanaConfig")
            .field("token", &"[redacted]")
            .field("workspace", &self.workspace)
            .field("project", &self.project())
            .field("base_url", &self.base_url)
            .field("sections", &self.sections)
            .field("priority_tags", &self.priority_tags)
            .field("priority_field", &self.priority_field)
            .field("create_missing", &self.create_missing)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl AsanaConfig {
    /// The keys of an `asana` backend section (besides `provider` and `layers`): the fields
    /// above.
    pub const KEYS: &'static [&'static str] = &[
        "token",
        "workspace",
        "project",
        "asana_project",
        "base_url",
        "sections",
        "priority_tags",
        "priority_field",
        "create_missing",
        "page_size",
        "timeout_secs",
        "max_concurrent_reads",
        "max_concurrent_writes",
        "max_retries",
        "max_retry_after_secs",
        "idempotency_window_hours",
        "requests_per_minute",
        "disk_cache",
        "cache_dir",
        "cache_ttl_secs",
        "workflow",
    ];

    /// A config for `project` with `token` and every other key at its default.
    pub fn new(token: impl Into<String>, project: impl Into<String>) -> Self {
        Self {
            token: SecretString::from(token.into()),
            workspace: None,
            project: Some(project.into()),
            asana_project: None,
            base_url: default_base_url(),
            sections: BTreeMap::new(),
            priority_tags: BTreeMap::new(),
            priority_field: None,
            create_missing: true,
            page_size: default_page_size(),
            timeout_secs: default_timeout(),
            max_concurrent_reads: default_reads(),
            max_concurrent_writes: default_writes(),
            max_retries: default_retries(),
            max_retry_after_secs: default_max_wait(),
            idempotency_window_hours: default_key_window(),
            requests_per_minute: default_rate(),
            disk_cache: true,
            cache_dir: None,
            cache_ttl_secs: default_cache_ttl(),
            workflow: Workflow::default(),
        }
    }

    /// Sets the API base URL.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Sets the workspace gid.
    pub fn workspace(mut self, gid: impl Into<String>) -> Self {
        self.workspace = Some(gid.into());
        self
    }

    /// Sets the request time-out in seconds.
    pub fn timeout_secs(mut self, secs: u64) -> Self {
        self.timeout_secs = secs;
        self
    }

    /// Sets the tasks per list request.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = n;
        self
    }

    /// Sets `max_retries` (no longer used: see the field).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the requests per minute sent on the token (0: not paced).
    pub fn requests_per_minute(mut self, n: u32) -> Self {
        self.requests_per_minute = n;
        self
    }

    /// Keeps the disk cache in `dir` (`None`: turns it off).
    pub fn disk_cache(mut self, dir: Option<impl Into<String>>) -> Self {
        self.disk_cache = dir.is_some();
        self.cache_dir = dir.map(Into::into);
        self
    }

    /// Sets the reads and writes in flight at once.
    pub fn max_concurrent(mut self, reads: usize, writes: usize) -> Self {
        self.max_concurrent_reads = reads;
        self.max_concurrent_writes = writes;
        self
    }

    /// Names the section of one status.
    pub fn section(mut self, status: Status, name: impl Into<String>) -> Self {
        self.sections
            .insert(status.as_str().to_owned(), name.into());
        self
    }

    /// Names the tag (or enum option) of one priority.
    pub fn priority_tag(mut self, priority: Priority, name: impl Into<String>) -> Self {
        self.priority_tags
            .insert(priority.as_str().to_owned(), name.into());
        self
    }

    /// Keeps the priority in this enum custom field instead of in tags.
    pub fn priority_field(mut self, name: impl Into<String>) -> Self {
        self.priority_field = Some(name.into());
        self
    }

    /// Sets whether missing sections, tags, fields and options are created.
    pub fn create_missing(mut self, on: bool) -> Self {
        self.create_missing = on;
        self
    }

    /// Sets a custom workflow.
    pub fn workflow(mut self, workflow: Workflow) -> Self {
        self.workflow = workflow;
        self
    }

    /// The project gid (`project`, else `asana_project`).
    pub fn project(&self) -> Option<&str> {
        self.project.as_deref().or(self.asana_project.as_deref())
    }

    /// The request time-out.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// Checks the values; `bad(key, problem)` builds the error (naming where the key came from).
    pub(crate) fn check(&self, bad: impl Fn(&str, String) -> tickets_core::Error) -> Result<Maps> {
        let project = self.project().ok_or_else(|| {
            bad(
                "project",
                "is required: the gid of the Asana project that holds the tickets".into(),
            )
        })?;
        if !is_gid(project) {
            return Err(bad(
                "project",
                format!("{project:?} is not an Asana gid (digits only)"),
            ));
        }
        if let Some(w) = &self.workspace
            && !is_gid(w)
        {
            return Err(bad(
                "workspace",
                format!("{w:?} is not an Asana gid (digits only)"),
            ));
        }
        match url::Url::parse(&self.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            Ok(_) | Err(_) => {
                return Err(bad(
                    "base_url",
                    format!("{:?} is not an http(s) URL", self.base_url),
                ));
            }
        }
        check_range(self.page_size, 1, 100, "(Asana's limit range)")
            .map_err(|p| bad("page_size", p))?;
        check_range(self.timeout_secs, 1, 86_400, "seconds").map_err(|p| bad("timeout_secs", p))?;
        check_range(self.max_concurrent_reads, 1, 1000, "")
            .map_err(|p| bad("max_concurrent_reads", p))?;
        check_range(self.max_concurrent_writes, 1, 1000, "")
            .map_err(|p| bad("max_concurrent_writes", p))?;
        check_range(self.cache_ttl_secs, 0, 604_800, "seconds (a week)")
            .map_err(|p| bad("cache_ttl_secs", p))?;
        check_range(self.requests_per_minute, 0, 100_000, "per minute")
            .map_err(|p| bad("requests_per_minute", p))?;
        check_range(self.max_retries, 0, 100, "").map_err(|p| bad("max_retries", p))?;
        check_range(self.max_retry_after_secs, 0, 86_400, "seconds")
            .map_err(|p| bad("max_retry_after_secs", p))?;
        check_range(
            self.idempotency_window_hours,
            0,
            87_600,
            "hours (ten years)",
        )
        .map_err(|p| bad("idempotency_window_hours", p))?;
        let mut sections = BTreeMap::new();
        for s in Status::ALL {
            sections.insert(s, s.label().to_owned());
        }
        for (k, v) in &self.sections {
            let status: Status = k
                .parse()
                .map_err(|e: tickets_core::Error| bad("sections", e.message().to_owned()))?;
            if v.trim().is_empty() {
                return Err(bad(
                    "sections",
                    format!("the section name for {status} is empty"),
                ));
            }
            sections.insert(status, v.trim().to_owned());
        }
        let mut priorities = BTreeMap::new();
        for p in Priority::ALL {
            priorities.insert(p, p.label().to_owned());
        }
        for (k, v) in &self.priority_tags {
            let p: Priority = k
                .parse()
                .map_err(|e: tickets_core::Error| bad("priority_tags", e.message().to_owned()))?;
            if v.trim().is_empty() {
                return Err(bad(
                    "priority_tags",
                    format!("the tag name for {p} is empty"),
                ));
            }
            priorities.insert(p, v.trim().to_owned());
        }
        let names: std::collections::HashSet<String> =
            sections.values().map(|s| s.to_lowercase()).collect();
        if names.len() != sections.len() {
            return Err(bad(
                "sections",
                "two statuses share a section name; each status needs its own section".into(),
            ));
        }
        let names: std::collections::HashSet<String> =
            priorities.values().map(|s| s.to_lowercase()).collect();
        if names.len() != priorities.len() {
            return Err(bad(
                "priority_tags",
                "two priorities share a tag name".into(),
            ));
        }
        Ok(Maps {
            sections,
            priorities,
        })
    }

    /// Reads and checks the config of a backend section.
    pub fn from_context(ctx: &BuildContext) -> Result<Self> {
        let config: Self = ctx.config()?;
        config.check(|k, p| ctx.config_error(k, p))?;
        config.warn_retired_keys();
        Ok(config)
    }
}

/// The status and priority name maps, defaults filled in.
#[derive(Debug, Clone)]
pub(crate) struct Maps {
    pub sections: BTreeMap<Status, String>,
    pub priorities: BTreeMap<Priority, String>,
}

impl AsanaConfig {
    /// Says so when a retired retry key is set to something else than its old default: it
    /// is still accepted (older configs keep loading) but changes nothing now.
    fn warn_retired_keys(&self) {
        if self.max_retries != default_retries() {
            tracing::warn!(
                max_retries = self.max_retries,
                "asana: max_retries is no longer used; retries are the retry layer's (layers.retries)"
            );
        }
        if self.max_retry_after_secs != default_max_wait() {
            tracing::warn!(
                max_retry_after_secs = self.max_retry_after_secs,
                "asana: max_retry_after_secs is no longer used; the retry layer decides how long a Retry-After is waited for"
            );
        }
    }
}

pub(crate) fn is_gid(s: &str) -> bool {
    !s.is_empty() && s.len() <= 40 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(k: &str, p: String) -> tickets_core::Error {
        tickets_core::Error::config(format!("{k}: {p}"))
    }

    #[test]
    fn defaults_follow_the_seed() {
        let c = AsanaConfig::new("t", "1209");
        let maps = c.check(bad).unwrap();
        assert_eq!(maps.sections[&Status::InProgress], "In Progress");
        assert_eq!(maps.sections[&Status::Cancelled], "Cancelled");
        assert_eq!(maps.priorities[&Priority::Critical], "Critical");
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        assert_eq!((c.max_concurrent_reads, c.max_concurrent_writes), (50, 15));
        assert!(c.create_missing);
    }

    #[test]
    fn numbers_and_the_seed_key_are_accepted() {
        let c: AsanaConfig = serde_json::from_value(serde_json::json!({
            "token": "secret", "asana_project": 1209000000000001u64, "workspace": 42,
            "sections": {"IN_PROGRESS": "Doing"}, "priority_tags": {"p1": "Sev1"}
        }))
        .unwrap();
        assert_eq!(c.project(), Some("1209000000000001"));
        assert_eq!(c.workspace.as_deref(), Some("42"));
        let maps = c.check(bad).unwrap();
        assert_eq!(maps.sections[&Status::InProgress], "Doing");
        assert_eq!(maps.priorities[&Priority::Critical], "Sev1");
    }

    #[test]
    fn bad_values_name_the_key() {
        let mut c = AsanaConfig::new("t", "abc");
        assert!(c.check(bad).unwrap_err().to_string().contains("project"));
        c.project = Some("1".into());
        c.page_size = 101;
        assert!(c.check(bad).unwrap_err().to_string().contains("page_size"));
        c.page_size = 10;
        c.base_url = "ftp://x".into();
        assert!(c.check(bad).unwrap_err().to_string().contains("base_url"));
        c.base_url = DEFAULT_BASE_URL.into();
        c.sections.insert("doing".into(), "X".into());
        assert!(c.check(bad).unwrap_err().to_string().contains("sections"));
        c.sections.clear();
        c.sections.insert("new".into(), "Closed".into());
        assert!(c.check(bad).unwrap_err().to_string().contains("share"));
        let none = AsanaConfig {
            project: None,
            ..AsanaConfig::new("t", "1")
        };
        assert!(
            none.check(bad)
                .unwrap_err()
                .to_string()
                .contains("required")
        );
    }

    #[test]
    fn debug_hides_the_token() {
        let c = AsanaConfig::new("super-secret-token", "1");
        let d = format!("{c:?}");
        assert!(!d.contains("super-secret-token"), "{d}");
        assert!(d.contains("redacted"));
    }

    #[test]
    fn keys_are_the_fields_of_the_struct() {
        let mut fields = tickets_core::config::struct_keys::<AsanaConfig>()
            .expect("a plain struct")
            .to_vec();
        let mut keys = AsanaConfig::KEYS.to_vec();
        fields.sort_unstable();
        keys.sort_unstable();
        assert_eq!(
            keys, fields,
            "KEYS must list exactly the fields serde reads"
        );
    }

    #[test]
    fn numbers_outside_their_range_name_the_key() {
        let base = || AsanaConfig::new("t", "1");
        let cases: [(&str, AsanaConfig); 7] = [
            ("timeout_secs", base().timeout_secs(u64::MAX)),
            ("max_concurrent_reads", base().max_concurrent(usize::MAX, 1)),
            ("max_concurrent_writes", base().max_concurrent(1, 0)),
            ("max_retries", base().max_retries(u32::MAX)),
            ("page_size", base().page_size(0)),
            ("max_retry_after_secs", {
                let mut c = base();
                c.max_retry_after_secs = u64::MAX;
                c
            }),
            ("idempotency_window_hours", {
                let mut c = base();
                c.idempotency_window_hours = u32::MAX;
                c
            }),
        ];
        for (key, c) in cases {
            let e = c.check(bad).unwrap_err();
            let e = e.message();
            assert!(
                e.starts_with(key) && e.contains("must be from"),
                "{key}: {e}"
            );
        }
    }
}
