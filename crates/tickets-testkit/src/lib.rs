#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod bench;
pub mod cases;
pub mod readme;
mod skip;
mod support;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use tickets_core::{Capabilities, DynProvider, TicketId, Value};

pub use skip::{CI_ENV, on_ci, skipped};
pub use support::Ctx;

/// Options for a run. Start from `SuiteOptions::default()` and set what your backend needs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SuiteOptions {
    /// Two (or more) users that exist in the backend and can be assigned, in the form the
    /// provider reads them back (emails by default).
    pub assignees: Vec<String>,
    /// A requester the backend accepts.
    pub requester: String,
    /// An id in the provider's format that does not exist.
    pub unknown_id: TicketId,
    /// Custom fields the backend accepts (used when `custom_fields` is a capability).
    pub custom_fields: BTreeMap<String, Value>,
    /// Case names to leave out (with the reason printed), e.g. heavy cases in a faulted run.
    pub skip: Vec<String>,
    /// When set, run only these cases.
    pub only: Option<Vec<String>>,
    /// How many tasks the concurrency cases start (50 by default).
    pub concurrency: usize,
    /// Give every comment the cases add a unique idempotency key (on backends with
    /// `idempotent_comment`), as a caller that retries through ambiguous failures must: for
    /// runs with faults that may apply a write and lose its answer. Cases then also check that
    /// each comment reads back with its key. Off by default, so plain runs cover comments
    /// without keys.
    pub keyed_comments: bool,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        let mut custom_fields = BTreeMap::new();
        custom_fields.insert(
            "customer".to_owned(),
            Value::from("ACME \"Ltd\" <b>&amp;</b>"),
        );
        custom_fields.insert("severity".to_owned(), Value::from(2));
        Self {
            assignees: vec!["alice@example.com".into(), "bob@example.com".into()],
            requester: "carol@example.com".into(),
            unknown_id: TicketId::new(uuid::Uuid::now_v7().to_string()),
            custom_fields,
            skip: Vec::new(),
            only: None,
            concurrency: 50,
            keyed_comments: false,
        }
    }
}

impl SuiteOptions {
    /// Sets the assignable users.
    pub fn assignees<I: IntoIterator<Item = S>, S: Into<String>>(mut self, users: I) -> Self {
        self.assignees = users.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the requester.
    pub fn requester(mut self, requester: impl Into<String>) -> Self {
        self.requester = requester.into();
        self
    }

    /// Sets the id that does not exist.
    pub fn unknown_id(mut self, id: impl Into<TicketId>) -> Self {
        self.unknown_id = id.into();
        self
    }

    /// Sets the custom fields to round-trip.
    pub fn custom_fields(mut self, fields: BTreeMap<String, Value>) -> Self {
        self.custom_fields = fields;
        self
    }

    /// Leaves out a case.
    pub fn skip(mut self, case: impl Into<String>) -> Self {
        self.skip.push(case.into());
        self
    }

    /// Runs only these cases.
    pub fn only<I: IntoIterator<Item = S>, S: Into<String>>(mut self, cases: I) -> Self {
        self.only = Some(cases.into_iter().map(Into::into).collect());
        self
    }

    /// Gives every comment a unique idempotency key (see [`SuiteOptions::keyed_comments`]).
    pub fn keyed_comments(mut self, on: bool) -> Self {
        self.keyed_comments = on;
        self
    }

    /// Sets how many tasks the concurrency cases start.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(2);
        self
    }
}

/// One conformance case.
#[derive(Clone, Copy)]
pub struct Case {
    /// Its name (the function name in [`cases`]).
    pub name: &'static str,
    /// Why it does not apply to a backend with these capabilities, or `None` when it does.
    pub skip_reason: fn(&Capabilities) -> Option<&'static str>,
    /// Runs it; panics on failure.
    pub run: fn(Ctx) -> BoxFuture<'static, ()>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case").field("name", &self.name).finish()
    }
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Cases that passed.
    pub passed: Vec<&'static str>,
    /// Cases left out, with why.
    pub skipped: Vec<(&'static str, String)>,
    /// Cases that failed, with the failure.
    pub failed: Vec<(&'static str, String)>,
}

impl Report {
    /// True when nothing failed.
    pub fn is_ok(&self) -> bool {
        self.failed.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "conformance: {} passed, {} failed, {} skipped",
            self.passed.len(),
            self.failed.len(),
            self.skipped.len()
        )?;
        for (name, why) in &self.skipped {
            writeln!(f, "  skipped {name}: {why}")?;
        }
        for (name, failure) in &self.failed {
            writeln!(f, "  FAILED {name}: {failure}")?;
        }
        Ok(())
    }
}

/// Runs every applicable case with default options; panics listing the failures.
pub async fn run(provider: DynProvider) -> Report {
    run_with(provider, SuiteOptions::default()).await
}

/// Runs every applicable case; panics listing the failures.
pub async fn run_with(provider: DynProvider, options: SuiteOptions) -> Report {
    let report = try_run_with(provider, options).await;
    println!("{report}");
    assert!(report.is_ok(), "{report}");
    report
}

/// Runs every applicable case and returns the report without panicking.
pub async fn try_run_with(provider: DynProvider, options: SuiteOptions) -> Report {
    assert!(
        options.assignees.len() >= 2,
        "SuiteOptions.assignees needs at least two users"
    );
    let caps = provider.capabilities();
    let options = Arc::new(options);
    let mut report = Report::default();
    for case in cases::ALL {
        if let Some(only) = &options.only
            && !only.iter().any(|n| n == case.name)
        {
            continue;
        }
        if options.skip.iter().any(|n| n == case.name) {
            report
                .skipped
                .push((case.name, "skipped by SuiteOptions".into()));
            continue;
        }
        if let Some(why) = (case.skip_reason)(&caps) {
            report.skipped.push((case.name, why.into()));
            continue;
        }
        let ctx = Ctx::new(provider.clone(), options.clone(), caps.clone(), case.name);
        let started = std::time::Instant::now();
        match tokio::spawn((case.run)(ctx)).await {
            Ok(()) => report.passed.push(case.name),
            Err(e) => {
                let msg = match e.try_into_panic() {
                    Ok(panic) => panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_else(|| "panicked".into()),
                    Err(e) => e.to_string(),
                };
                report.failed.push((case.name, msg));
            }
        }
        println!(
            "conformance case {} finished in {:.2}s",
            case.name,
            started.elapsed().as_secs_f64()
        );
    }
    report
}
