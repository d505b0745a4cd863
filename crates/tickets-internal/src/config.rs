//! Config keys of the `internal` provider.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use tickets_core::config::redact_url_password;
use tickets_core::{Error, Result, Workflow};

/// The database URL used when none is configured: `tickets.db` in the working directory.
pub const DEFAULT_URL: &str = "sqlite://tickets.db";

/// Connections per pool when `max_connections` is not set.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// How long a SQLite writer waits for a lock held by another process, when not set.
pub const DEFAULT_BUSY_TIMEOUT_MS: u64 = 5_000;

/// The largest attachment stored unless `max_attachment_size` says otherwise: 25 MiB.
pub const DEFAULT_MAX_ATTACHMENT_SIZE: u64 = 25 * 1024 * 1024;
/// The largest `max_attachment_size` accepted: 1 GiB.
pub const MAX_ATTACHMENT_LIMIT: u64 = 1024 * 1024 * 1024;

/// The `[backends.NAME]` section of an `internal` backend.
///
/// ```toml
/// [backends.db]
/// provider = "internal"
/// url = "postgres://app:secret@db.example:5432/tickets"   # default: sqlite://tickets.db
/// migrate = true                                         # apply embedded migrations on open
/// max_connections = 10
/// busy_timeout_ms = 5000                                 # the longest wait for a lock
/// ```
///
/// Non-exhaustive: build one with [`InternalConfig::new`] (or `default()`) and the setters.
#[derive(Clone, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct InternalConfig {
    /// `sqlite://PATH`, `sqlite::memory:`, `postgres://...` or `mysql://...`.
    pub url: Option<String>,
    /// Apply the embedded migrations when the store is opened.
    pub migrate: bool,
    /// Connections in the pool (1 to 10000; default 10).
    pub max_connections: Option<u32>,
    /// How long a write waits for a lock another connection holds before failing, in
    /// milliseconds (0 to 3600000; default 5000): SQLite's busy timeout, PostgreSQL's
    /// `lock_timeout`, MySQL's `innodb_lock_wait_timeout` (whole seconds, at least 1). A process
    /// stopped in the middle of a transaction holds writers up at most this long.
    pub busy_timeout_ms: Option<u64>,
    /// A custom status workflow.
    pub workflow: Option<Workflow>,
    /// Record every write in the outbox table, in the same transaction (the `sync` provider
    /// turns this on; see [`crate::outbox`]).
    pub outbox: bool,
    /// The largest attachment stored, in bytes (1 to 1 GiB; default 25 MiB).
    pub max_attachment_size: Option<u64>,
}

impl Default for InternalConfig {
    fn default() -> Self {
        Self {
            url: None,
            migrate: true,
            max_connections: None,
            busy_timeout_ms: None,
            workflow: None,
            outbox: false,
            max_attachment_size: None,
        }
    }
}

impl fmt::Debug for InternalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InternalConfig")
            .field("url", &self.url.as_deref().map(redact_url_password))
            .field("migrate", &self.migrate)
            .field("max_connections", &self.max_connections)
            .field("busy_timeout_ms", &self.busy_timeout_ms)
            .field("workflow", &self.workflow)
            .field("outbox", &self.outbox)
            .field("max_attachment_size", &self.max_attachment_size)
            .finish()
    }
}

impl InternalConfig {
    /// The keys of an `internal` backend section (besides `provider` and `layers`): the fields
    /// above.
    pub const KEYS: &'static [&'static str] = &[
        "url",
        "migrate",
        "max_connections",
        "busy_timeout_ms",
        "workflow",
        "outbox",
        "max_attachment_size",
    ];

    /// A config for this URL, everything else default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// The URL to open: the configured one or [`DEFAULT_URL`].
    pub fn url(&self) -> &str {
        self.url.as_deref().unwrap_or(DEFAULT_URL)
    }

    /// Where the store is, for people, without opening it: the absolute path of a SQLite file,
    /// `sqlite::memory:`, or a server URL with its password replaced by `***`. (The same text
    /// [`InternalProvider::location`](crate::InternalProvider::location) gives once open.)
    pub fn location(&self) -> String {
        let url = self.url();
        match crate::client::Dialect::of_url(url) {
            Ok(crate::client::Dialect::Sqlite) => {
                crate::client::SqliteTarget::parse(url).location()
            }
            _ => redact_url_password(url),
        }
    }

    /// The SQLite file this config opens, as an absolute path (`None` for servers and memory).
    /// A caller can check whether it exists yet, to tell people when a new store is created.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        let url = self.url();
        match crate::client::Dialect::of_url(url) {
            Ok(crate::client::Dialect::Sqlite) => match crate::client::SqliteTarget::parse(url) {
                crate::client::SqliteTarget::File(p) => Some(crate::client::absolute(&p)),
                crate::client::SqliteTarget::Memory => None,
            },
            _ => None,
        }
    }

    /// Sets whether migrations run on open.
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Sets the pool size.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = Some(n);
        self
    }

    /// Sets the SQLite busy timeout.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout_ms = Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Sets a custom workflow.
    pub fn workflow(mut self, workflow: Workflow) -> Self {
        self.workflow = Some(workflow);
        self
    }

    /// Turns the outbox on or off.
    pub fn outbox(mut self, on: bool) -> Self {
        self.outbox = on;
        self
    }

    /// Checks values that deserialized but cannot work. Returns `(key, problem)`.
    pub(crate) fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        if let Some(n) = self.max_connections {
            tickets_core::config::check_range(n, 1, 10_000, "")
                .map_err(|p| ("max_connections", p))?;
        }
        if let Some(ms) = self.busy_timeout_ms {
            tickets_core::config::check_range(ms, 0, 3_600_000, "milliseconds (an hour)")
                .map_err(|p| ("busy_timeout_ms", p))?;
        }
        if let Some(n) = self.max_attachment_size {
            tickets_core::config::check_range(n, 1, MAX_ATTACHMENT_LIMIT, "bytes (1 GiB)")
                .map_err(|p| ("max_attachment_size", p))?;
        }
        if let Some(url) = &self.url {
            if url.trim().is_empty() {
                return Err((
                    "url",
                    "must not be empty; leave it unset for sqlite://tickets.db".into(),
                ));
            }
            let dialect =
                crate::client::Dialect::of_url(url).map_err(|e| ("url", e.message().to_owned()))?;
            if !dialect.is_compiled() {
                return Err(("url", dialect.not_compiled().message().to_owned()));
            }
        }
        Ok(())
    }

    /// The largest attachment stored, in bytes.
    pub fn attachment_limit(&self) -> u64 {
        self.max_attachment_size
            .unwrap_or(DEFAULT_MAX_ATTACHMENT_SIZE)
    }

    pub(crate) fn busy_timeout_duration(&self) -> Duration {
        Duration::from_millis(self.busy_timeout_ms.unwrap_or(DEFAULT_BUSY_TIMEOUT_MS))
    }

    pub(crate) fn checked(self) -> Result<Self> {
        self.check()
            .map_err(|(key, problem)| Error::config(format!("{key}: {problem}")))?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = InternalConfig::default();
        assert_eq!(c.url(), DEFAULT_URL);
        assert!(c.migrate);
        assert!(c.check().is_ok());
    }

    #[test]
    fn locations_without_opening() {
        let c = InternalConfig::default();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(c.sqlite_path(), Some(cwd.join("tickets.db")));
        assert_eq!(c.location(), cwd.join("tickets.db").display().to_string());
        let pg = InternalConfig::new("postgres://app:hunter2@db/t");
        assert_eq!(pg.location(), "postgres://app:***@db/t");
        assert_eq!(pg.sqlite_path(), None);
        assert_eq!(InternalConfig::new("sqlite::memory:").sqlite_path(), None);
    }

    #[test]
    fn debug_hides_password() {
        let c = InternalConfig::new("postgres://app:hunter2@db/t");
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("app:***@db"), "{s}");
    }

    #[test]
    fn rejects_bad_values() {
        assert_eq!(
            InternalConfig::default()
                .max_connections(0)
                .check()
                .unwrap_err()
                .0,
            "max_connections"
        );
        let err = InternalConfig::new("oracle://x").check().unwrap_err();
        assert_eq!(err.0, "url");
        assert!(err.1.contains("sqlite://"), "{}", err.1);
    }

    #[test]
    fn deserializes_from_toml_keys() {
        let c: InternalConfig = serde_json::from_value(serde_json::json!({
            "provider": "internal",
            "url": "sqlite://x.db",
            "migrate": false,
            "max_connections": 3,
            "busy_timeout_ms": 100,
            "workflow": {"reopen_to": "in_progress"}
        }))
        .unwrap();
        assert_eq!(c.url(), "sqlite://x.db");
        assert!(!c.migrate);
        assert_eq!(c.max_connections, Some(3));
        assert_eq!(c.busy_timeout_duration(), Duration::from_millis(100));
        assert!(c.workflow.is_some());
    }

    #[test]
    fn keys_are_the_fields_of_the_struct() {
        let mut fields = tickets_core::config::struct_keys::<InternalConfig>()
            .expect("a plain struct")
            .to_vec();
        let mut keys = InternalConfig::KEYS.to_vec();
        fields.sort_unstable();
        keys.sort_unstable();
        assert_eq!(
            keys, fields,
            "KEYS must list exactly the fields serde reads"
        );
    }

    #[test]
    fn huge_numbers_name_their_key() {
        let c = InternalConfig::default().max_connections(u32::MAX);
        assert_eq!(c.check().unwrap_err().0, "max_connections");
        let c = InternalConfig::default().busy_timeout(Duration::MAX);
        let (key, problem) = c.check().unwrap_err();
        assert_eq!(key, "busy_timeout_ms");
        assert!(problem.contains("3600000"), "{problem}");
    }
}
