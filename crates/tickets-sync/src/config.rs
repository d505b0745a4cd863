//! Config keys of the `sync` provider.

use std::time::Duration;

use serde::Deserialize;

/// The `[backends.NAME]` section of a `sync` backend.
///
/// ```toml
/// [backends.main]
/// provider = "sync"
/// local = "db"          # an `internal` backend: the store every call reads and writes
/// remote = "tracker"    # any backend: where changes are delivered
/// ```
///
/// The seed's shape works too: no `local`/`remote`, and the Asana keys (`asana_project`,
/// `token`, ...) beside `provider = "sync"`; then the local store is the internal default
/// (`url` if given, else `tickets.db`) and the remote is Asana built from the same section.
///
/// Non-exhaustive: start from `SyncConfig::default()` and set the public fields you need.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SyncConfig {
    /// Name of the `internal` backend holding the tickets.
    pub local: Option<String>,
    /// Name of the backend changes are delivered to.
    pub remote: Option<String>,
    /// Start a delivery worker inside the provider.
    pub worker: bool,
    /// Tickets delivered at once (each ticket's changes go one after another).
    pub concurrency: usize,
    /// How long a worker holds a claimed entry (and, on SQLite, the worker lease), in seconds.
    pub lease_secs: u64,
    /// How often an idle worker looks for work, in milliseconds (local writes wake it at once).
    pub poll_interval_ms: u64,
    /// First retry delay, in milliseconds; doubled per attempt, with jitter.
    pub backoff_base_ms: u64,
    /// Longest retry delay, in seconds.
    pub backoff_max_secs: u64,
    /// Longest wait a remote's `Retry-After` is honoured for, in seconds (a longer one is cut to
    /// this; the entry is retried then and the remote may ask again).
    pub max_retry_after_secs: u64,
    /// Attempts after which an entry failing for an unexplained reason is parked (transient
    /// failures — unavailable, time-out, rate limit — are retried without limit).
    pub max_attempts: u32,
    /// How often the worker pulls remote changes, in seconds (0 = never).
    pub pull_interval_secs: u64,
    /// Overlap of consecutive pulls, in seconds, covering clock skew between the hosts.
    pub pull_overlap_secs: u64,
    /// Who wins when both sides changed the same field since they last agreed, per field
    /// group (see [`ConflictRules`]).
    pub conflicts: ConflictRules,
}

/// Who wins a conflict: both sides changed a field since they last agreed, and the local
/// change is not delivered yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The local value stays and is delivered (the default: what the user did here last).
    #[default]
    LocalWins,
    /// The remote value is taken locally (the undelivered local change then delivers it back
    /// unchanged).
    RemoteWins,
}

/// The conflict rule per field group; `default` for groups not named. Each decision is
/// recorded in the ticket's history (action `SYNC`, field `conflict`).
///
/// ```toml
/// conflicts = { default = "local_wins", status = "remote_wins" }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ConflictRules {
    /// Groups not named below.
    pub default: Rule,
    /// Subject and description.
    pub text: Option<Rule>,
    /// Status.
    pub status: Option<Rule>,
    /// Priority.
    pub priority: Option<Rule>,
    /// Assignee, requester and watchers.
    pub people: Option<Rule>,
    /// Tags and kind.
    pub labels: Option<Rule>,
    /// Due date.
    pub dates: Option<Rule>,
    /// Custom fields.
    pub custom_fields: Option<Rule>,
}

impl ConflictRules {
    /// Every group follows `rule` unless named otherwise.
    pub fn all(rule: Rule) -> Self {
        Self {
            default: rule,
            ..Self::default()
        }
    }

    /// Sets the rule of one group (`text`, `status`, `priority`, `people`, `labels`, `dates`,
    /// `custom_fields`; `default` for the rest). An unknown group is an error naming the
    /// groups there are.
    pub fn group(mut self, group: &str, rule: Rule) -> tickets_core::Result<Self> {
        let slot = match group {
            "default" => {
                self.default = rule;
                return Ok(self);
            }
            "text" => &mut self.text,
            "status" => &mut self.status,
            "priority" => &mut self.priority,
            "people" => &mut self.people,
            "labels" => &mut self.labels,
            "dates" => &mut self.dates,
            "custom_fields" => &mut self.custom_fields,
            other => {
                return Err(tickets_core::Error::config(format!(
                    "conflict group {other:?} does not exist; groups: default, text, status, \
                     priority, people, labels, dates, custom_fields"
                )));
            }
        };
        *slot = Some(rule);
        Ok(self)
    }

    /// The rule for a field (`subject`, `status`, ..., `custom:NAME`).
    pub fn for_field(&self, field: &str) -> Rule {
        let group = match field {
            "subject" | "description" => self.text,
            "status" => self.status,
            "priority" => self.priority,
            "assignee" | "requester" | "watchers" => self.people,
            "tags" | "kind" => self.labels,
            "due" => self.dates,
            f if f.starts_with("custom:") => self.custom_fields,
            _ => None,
        };
        group.unwrap_or(self.default)
    }
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            local: None,
            remote: None,
            worker: true,
            concurrency: 8,
            lease_secs: 120,
            poll_interval_ms: 1_000,
            backoff_base_ms: 1_000,
            backoff_max_secs: 300,
            max_retry_after_secs: 300,
            max_attempts: 10,
            pull_interval_secs: 60,
            pull_overlap_secs: 5,
            conflicts: ConflictRules::default(),
        }
    }
}

impl SyncConfig {
    /// The keys of a `sync` section that joins two named backends (`local`, `remote`): the
    /// fields above.
    pub const NAMED_KEYS: &'static [&'static str] = &[
        "local",
        "remote",
        "worker",
        "concurrency",
        "lease_secs",
        "poll_interval_ms",
        "backoff_base_ms",
        "backoff_max_secs",
        "max_retry_after_secs",
        "max_attempts",
        "pull_interval_secs",
        "pull_overlap_secs",
        "conflicts",
    ];

    /// Every key a `sync` section may hold: its own, plus, for the seed's shape (no `local` and
    /// `remote`), those of the internal store and the Asana remote it builds from the same
    /// section. A section with `local` and `remote` is then held to [`SyncConfig::NAMED_KEYS`].
    pub const KEYS: &'static [&'static str] = &[
        // sync
        "local",
        "remote",
        "worker",
        "concurrency",
        "lease_secs",
        "poll_interval_ms",
        "backoff_base_ms",
        "backoff_max_secs",
        "max_retry_after_secs",
        "max_attempts",
        "pull_interval_secs",
        "pull_overlap_secs",
        "conflicts",
        // internal
        "url",
        "migrate",
        "max_connections",
        "busy_timeout_ms",
        "workflow",
        "outbox",
        "max_attachment_size",
        // asana
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
        "idempotency_window_hours",
        "requests_per_minute",
        "disk_cache",
        "cache_dir",
        "cache_ttl_secs",
    ];

    /// Checks the values; `Err((key, problem))`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        use tickets_core::config::check_range;
        const DAY: u64 = 86_400;
        let ranges: [(&'static str, u64, u64, u64, &str); 9] = [
            ("concurrency", self.concurrency as u64, 1, 1000, ""),
            ("lease_secs", self.lease_secs, 2, DAY, "seconds"),
            (
                "poll_interval_ms",
                self.poll_interval_ms,
                1,
                1000 * DAY,
                "milliseconds",
            ),
            (
                "backoff_base_ms",
                self.backoff_base_ms,
                0,
                1000 * DAY,
                "milliseconds",
            ),
            ("backoff_max_secs", self.backoff_max_secs, 0, DAY, "seconds"),
            (
                "max_retry_after_secs",
                self.max_retry_after_secs,
                1,
                DAY,
                "seconds",
            ),
            (
                "max_attempts",
                u64::from(self.max_attempts),
                1,
                1_000_000,
                "",
            ),
            (
                "pull_interval_secs",
                self.pull_interval_secs,
                0,
                DAY,
                "seconds",
            ),
            (
                "pull_overlap_secs",
                self.pull_overlap_secs,
                0,
                DAY,
                "seconds",
            ),
        ];
        for (key, value, min, max, unit) in ranges {
            check_range(value, min, max, unit).map_err(|p| (key, p))?;
        }
        for (key, name) in [("local", &self.local), ("remote", &self.remote)] {
            if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
                return Err((key, "must name a backend".into()));
            }
        }
        if self.local.is_some() != self.remote.is_some() {
            return Err((
                if self.local.is_some() {
                    "remote"
                } else {
                    "local"
                },
                "set both `local` and `remote`, or neither (then the local store is the \
                 internal default and the remote is Asana from this section's keys)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The worker's options from this config.
    pub fn worker_options(&self) -> WorkerOptions {
        WorkerOptions {
            concurrency: self.concurrency,
            lease: Duration::from_secs(self.lease_secs),
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            backoff_base: Duration::from_millis(self.backoff_base_ms),
            backoff_max: Duration::from_secs(self.backoff_max_secs),
            max_retry_after: Duration::from_secs(self.max_retry_after_secs),
            max_attempts: self.max_attempts,
            pull_interval: (self.pull_interval_secs > 0)
                .then(|| Duration::from_secs(self.pull_interval_secs)),
            pull_overlap: Duration::from_secs(self.pull_overlap_secs),
            conflicts: self.conflicts,
            test_hook: None,
        }
    }
}

/// How a delivery worker runs (see [`SyncConfig`] for each key).
#[derive(Clone)]
#[non_exhaustive]
pub struct WorkerOptions {
    /// Tickets delivered at once.
    pub concurrency: usize,
    /// Claim lease (and SQLite worker lease).
    pub lease: Duration,
    /// Idle poll interval.
    pub poll_interval: Duration,
    /// First retry delay.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// Attempts before an unexplained failure is parked.
    pub max_attempts: u32,
    /// Pull interval (`None`: no pulls).
    pub pull_interval: Option<Duration>,
    /// Pull overlap.
    pub pull_overlap: Duration,
    /// Conflict rules of pulls.
    pub conflicts: ConflictRules,
    /// Called at fixed points of each delivery (tests pause a worker there to open a race
    /// window on purpose). Not part of the stable API.
    #[doc(hidden)]
    pub test_hook: Option<TestHook>,
}

impl std::fmt::Debug for WorkerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerOptions")
            .field("concurrency", &self.concurrency)
            .field("lease", &self.lease)
            .field("poll_interval", &self.poll_interval)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field("max_retry_after", &self.max_retry_after)
            .field("max_attempts", &self.max_attempts)
            .field("pull_interval", &self.pull_interval)
            .field("pull_overlap", &self.pull_overlap)
            .field("conflicts", &self.conflicts)
            .field("test_hook", &self.test_hook.is_some())
            .finish()
    }
}

/// Where a delivery calls a [`TestHook`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HookPoint {
    /// Before a claimed entry's claim is re-checked for a remote request (`call` names the
    /// provider method about to be called).
    BeforeRemoteCall {
        /// `create`, `update`, `add_comment`, ...
        call: &'static str,
    },
    /// After the remote took a change, before its outcome is recorded.
    BeforeOutcome,
    /// A pull has read a linked ticket's undelivered changes and is about to read the local
    /// ticket and decide what to apply (no entry is passed).
    PullDecides,
}

/// A test hook: awaited at each [`HookPoint`] (with the entry being delivered, if any).
#[doc(hidden)]
pub type TestHook = std::sync::Arc<
    dyn Fn(
            HookPoint,
            Option<&tickets_internal::OutboxEntry>,
        ) -> futures::future::BoxFuture<'static, ()>
        + Send
        + Sync,
>;

impl Default for WorkerOptions {
    fn default() -> Self {
        SyncConfig::default().worker_options()
    }
}

impl WorkerOptions {
    /// Sets the concurrency.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Sets the lease.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_secs(1));
        self
    }

    /// Sets the idle poll interval.
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d.max(Duration::from_millis(1));
        self
    }

    /// Sets the backoff bounds.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_max = max.max(base);
        self
    }

    /// Sets the longest `Retry-After` honoured.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d.max(Duration::from_millis(1));
        self
    }

    /// Installs a test hook (see [`HookPoint`]). Not part of the stable API.
    #[doc(hidden)]
    pub fn test_hook(mut self, hook: TestHook) -> Self {
        self.test_hook = Some(hook);
        self
    }

    /// Sets the attempts before an unexplained failure is parked.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets the conflict rules of pulls.
    pub fn conflicts(mut self, rules: ConflictRules) -> Self {
        self.conflicts = rules;
        self
    }

    /// Sets the pull interval (`None`: no pulls).
    pub fn pull_interval(mut self, d: Option<Duration>) -> Self {
        self.pull_interval = d;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_half_a_pair_is_refused() {
        assert!(SyncConfig::default().check().is_ok());
        let c = SyncConfig {
            local: Some("db".into()),
            ..SyncConfig::default()
        };
        assert_eq!(c.check().unwrap_err().0, "remote");
        let c = SyncConfig {
            concurrency: 0,
            ..SyncConfig::default()
        };
        assert_eq!(c.check().unwrap_err().0, "concurrency");
    }

    #[test]
    fn conflict_rules_per_group_with_a_default() {
        let rules: ConflictRules =
            serde_json::from_value(serde_json::json!({"status": "remote_wins"})).unwrap();
        assert_eq!(rules.for_field("status"), Rule::RemoteWins);
        assert_eq!(rules.for_field("subject"), Rule::LocalWins);
        let rules: ConflictRules = serde_json::from_value(
            serde_json::json!({"default": "remote_wins", "custom_fields": "local_wins"}),
        )
        .unwrap();
        assert_eq!(rules.for_field("custom:team"), Rule::LocalWins);
        assert_eq!(rules.for_field("assignee"), Rule::RemoteWins);
        assert!(
            serde_json::from_value::<ConflictRules>(serde_json::json!({"colour": "local_wins"}))
                .is_err(),
            "an unknown group is refused"
        );
    }

    #[test]
    fn pull_interval_zero_turns_pulls_off() {
        let c = SyncConfig {
            pull_interval_secs: 0,
            ..SyncConfig::default()
        };
        assert!(c.worker_options().pull_interval.is_none());
        assert_eq!(
            SyncConfig::default().worker_options().pull_interval,
            Some(Duration::from_secs(60))
        );
    }

    #[cfg(feature = "asana")] // the seed-shape keys are Asana's
    #[test]
    fn keys_are_the_fields_of_the_structs_read() {
        use tickets_core::config::struct_keys;
        let sorted = |v: &[&'static str]| {
            let mut v = v.to_vec();
            v.sort_unstable();
            v.dedup();
            v
        };
        let own = struct_keys::<SyncConfig>().expect("a plain struct");
        assert_eq!(sorted(SyncConfig::NAMED_KEYS), sorted(own));
        let mut all = own.to_vec();
        all.extend(struct_keys::<tickets_internal::InternalConfig>().expect("a plain struct"));
        all.extend(struct_keys::<tickets_asana::AsanaConfig>().expect("a plain struct"));
        assert_eq!(sorted(SyncConfig::KEYS), sorted(&all));
    }

    #[test]
    fn every_number_has_a_range_naming_its_key() {
        let c = SyncConfig {
            concurrency: usize::MAX,
            ..SyncConfig::default()
        };
        assert_eq!(c.check().unwrap_err().0, "concurrency");
        for key in [
            "lease_secs",
            "poll_interval_ms",
            "backoff_base_ms",
            "backoff_max_secs",
            "max_retry_after_secs",
            "pull_interval_secs",
            "pull_overlap_secs",
        ] {
            let mut c = SyncConfig::default();
            let field = match key {
                "lease_secs" => &mut c.lease_secs,
                "poll_interval_ms" => &mut c.poll_interval_ms,
                "backoff_base_ms" => &mut c.backoff_base_ms,
                "backoff_max_secs" => &mut c.backoff_max_secs,
                "max_retry_after_secs" => &mut c.max_retry_after_secs,
                "pull_interval_secs" => &mut c.pull_interval_secs,
                _ => &mut c.pull_overlap_secs,
            };
            *field = u64::MAX;
            let (got, problem) = c.check().unwrap_err();
            assert_eq!(got, key, "{problem}");
            assert!(problem.contains("must be from"), "{problem}");
        }
        let c = SyncConfig {
            max_attempts: u32::MAX,
            ..SyncConfig::default()
        };
        assert_eq!(c.check().unwrap_err().0, "max_attempts");
    }

    #[test]
    fn conflict_groups_by_name() {
        let rules = ConflictRules::all(Rule::RemoteWins)
            .group("status", Rule::LocalWins)
            .unwrap();
        assert_eq!(rules.for_field("status"), Rule::LocalWins);
        assert_eq!(rules.for_field("subject"), Rule::RemoteWins);
        let e = ConflictRules::default()
            .group("colour", Rule::LocalWins)
            .unwrap_err();
        assert!(e.to_string().contains("custom_fields"), "{e}");
    }
}
