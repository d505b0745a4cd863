//! One error type for every provider: a kind to branch on, retry hints, and context.
//!
//! Modelled on OpenDAL: callers match on [`ErrorKind`], layers ask [`Error::is_retryable`] and
//! [`Error::retry_after`], people read the `Display` form, which names the operation, the
//! provider and the ticket: `NotFound at get (provider asana, ticket 1209): task does not exist`.
//!
//! Nothing secret goes in here: providers build messages from vendor error bodies, never from
//! request headers or config values holding tokens.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// The result type of every fallible call in `tickets`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms a caller can act on. More kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The ticket (or comment, user, ...) does not exist.
    NotFound,
    /// The input was rejected: empty subject, unknown user, value too long, bad filter.
    InvalidInput,
    /// The workflow does not allow this status change.
    InvalidTransition,
    /// Somebody else changed the ticket first (stale version), or the store refused a race.
    Conflict,
    /// A ticket with this identity (idempotency key, alias, external id) already exists.
    AlreadyExists,
    /// No credentials, bad credentials, or expired ones that could not be refreshed.
    Unauthenticated,
    /// Authenticated, but not allowed to do this.
    PermissionDenied,
    /// The backend asked us to slow down; see [`Error::retry_after`].
    RateLimited,
    /// The backend could not be reached or failed on its side (5xx, connection refused).
    Unavailable,
    /// The call took too long; it may or may not have been applied.
    Timeout,
    /// The backend cannot do this (see its [`Capabilities`](crate::Capabilities)).
    Unsupported,
    /// The configuration is missing or wrong.
    Config,
    /// Anything else: a vendor answer we did not expect, a bug.
    Unexpected,
}

impl ErrorKind {
    /// The kind's name as written in messages (`NotFound`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "NotFound",
            ErrorKind::InvalidInput => "InvalidInput",
            ErrorKind::InvalidTransition => "InvalidTransition",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::AlreadyExists => "AlreadyExists",
            ErrorKind::Unauthenticated => "Unauthenticated",
            ErrorKind::PermissionDenied => "PermissionDenied",
            ErrorKind::RateLimited => "RateLimited",
            ErrorKind::Unavailable => "Unavailable",
            ErrorKind::Timeout => "Timeout",
            ErrorKind::Unsupported => "Unsupported",
            ErrorKind::Config => "Config",
            ErrorKind::Unexpected => "Unexpected",
        }
    }

    /// The kind's name for machines (`not_found`), as in JSON error objects.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::InvalidTransition => "invalid_transition",
            ErrorKind::Conflict => "conflict",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Config => "config",
            ErrorKind::Unexpected => "unexpected",
        }
    }

    /// Kinds that may succeed if the same call is made again later.
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error of every `tickets` operation.
///
/// Build one with [`Error::new`] (or a shorthand such as [`Error::not_found`]) and add what is
/// known with the `with_*` methods; layers add the provider and operation on the way out.
pub struct Error {
    kind: ErrorKind,
    message: String,
    retry_after: Option<Duration>,
    not_applied: bool,
    provider: Option<Cow<'static, str>>,
    operation: Option<&'static str>,
    context: Vec<(&'static str, String)>,
    source: Option<BoxError>,
    /// The message already says what the source says: Display does not repeat it.
    source_described: bool,
    /// Attempts made before giving up, when a retry loop gave up on this error.
    exhausted: Option<u32>,
}

impl Error {
    /// An error of `kind` with a message saying what went wrong (and, where it helps, what to do).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
            not_applied: false,
            provider: None,
            operation: None,
            context: Vec::new(),
            source: None,
            source_described: false,
            exhausted: None,
        }
    }

    /// `NotFound` for a ticket id.
    pub fn not_found(what: impl fmt::Display) -> Self {
        Self::new(ErrorKind::NotFound, format!("{what} does not exist"))
    }

    /// `InvalidInput` with a message naming the bad field.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// `Unsupported` for an operation this backend cannot do.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// `Config` naming the bad key.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// `Unexpected`, for answers a provider cannot make sense of.
    pub fn unexpected(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unexpected, message)
    }

    /// The kind, to branch on.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The bare message, without kind, operation or context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when trying again later may succeed (rate limits, outages, time-outs) and no retry
    /// loop has given up on it yet (see [`Error::exhausted`]): an outer loop must not retry
    /// what an inner one already retried to its limit.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable() && self.exhausted.is_none()
    }

    /// Marks the error as what a retry loop gave up on after `attempts` attempts: it is no
    /// longer [`retryable`](Error::is_retryable), and its Display says so. The kind stays, so
    /// a queue that reschedules work (the sync outbox) still sees a transient failure.
    pub fn exhausted(mut self, attempts: u32) -> Self {
        self.exhausted = Some(attempts);
        self
    }

    /// The attempts made before a retry loop gave up on this error, if one did.
    pub fn attempts(&self) -> Option<u32> {
        self.exhausted
    }

    /// How long the backend asked us to wait before trying again, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// True when the request certainly had no effect (refused before being processed: a 429,
    /// a refused connection). Such calls can be re-sent even when they are not idempotent.
    pub fn was_not_applied(&self) -> bool {
        self.not_applied || self.kind == ErrorKind::RateLimited
    }

    /// The provider kind or backend name the error came from.
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// The operation that failed (`create`, `get`, ...).
    pub fn operation(&self) -> Option<&'static str> {
        self.operation
    }

    /// Extra facts, such as `("ticket", "1209")`.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    /// Sets the wait the backend asked for.
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Marks the request as certainly not applied (see [`Error::was_not_applied`]).
    pub fn with_not_applied(mut self) -> Self {
        self.not_applied = true;
        self
    }

    /// Names the provider, unless one is already named (the innermost knows best).
    pub fn with_provider(mut self, provider: impl Into<Cow<'static, str>>) -> Self {
        if self.provider.is_none() {
            self.provider = Some(provider.into());
        }
        self
    }

    /// Names the operation, unless one is already named.
    pub fn with_operation(mut self, operation: &'static str) -> Self {
        if self.operation.is_none() {
            self.operation = Some(operation);
        }
        self
    }

    /// Adds a context pair, unless that key is already there.
    pub fn with_context(mut self, key: &'static str, value: impl fmt::Display) -> Self {
        if !self.context.iter().any(|(k, _)| *k == key) {
            self.context.push((key, value.to_string()));
        }
        self
    }

    /// Attaches the underlying error (Display appends its text, unless the message holds it).
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self.source_described = false;
        self
    }

    /// Attaches the underlying error whose causes the message already describes: it is kept
    /// for [`std::error::Error::source`] and Debug, and Display does not repeat it.
    pub fn with_source_described(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self.source_described = true;
        self
    }

    /// Replaces the kind, keeping everything else.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(op) = self.operation {
            write!(f, " at {op}")?;
        }
        let mut parts = Vec::new();
        if let Some(p) = &self.provider {
            parts.push(format!("provider {p}"));
        }
        parts.extend(self.context.iter().map(|(k, v)| format!("{k} {v}")));
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(after) = self.retry_after {
            write!(f, " (retry after {}s)", after.as_secs_f64())?;
        }
        if let Some(n) = self.exhausted {
            write!(f, " (gave up after {n} attempts)")?;
        }
        if let Some(source) = &self.source
            && !self.source_described
        {
            let text = source.to_string();
            if !self.message.contains(&text) {
                write!(f, ": {text}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(p) = &self.provider {
            d.field("provider", p);
        }
        if let Some(op) = self.operation {
            d.field("operation", &op);
        }
        if !self.context.is_empty() {
            d.field("context", &self.context);
        }
        if let Some(r) = self.retry_after {
            d.field("retry_after", &r);
        }
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<figment::Error> for Error {
    /// A `Config` error naming each failing key (as figment sees it, relative to the figment
    /// it was read from, without figment's profile prefix) and where its value came from.
    fn from(err: figment::Error) -> Self {
        crate::config::figment_error(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_operation_provider_and_ticket() {
        let err = Error::not_found("task")
            .with_operation("get")
            .with_provider("asana")
            .with_context("ticket", "1209");
        assert_eq!(
            err.to_string(),
            "NotFound at get (provider asana, ticket 1209): task does not exist"
        );
    }

    #[test]
    fn inner_names_win() {
        let err = Error::unexpected("x")
            .with_provider("asana")
            .with_provider("hub")
            .with_operation("get")
            .with_operation("create");
        assert_eq!(err.provider(), Some("asana"));
        assert_eq!(err.operation(), Some("get"));
    }

    #[test]
    fn retry_status() {
        assert!(Error::new(ErrorKind::RateLimited, "slow down").is_retryable());
        assert!(Error::new(ErrorKind::RateLimited, "slow down").was_not_applied());
        assert!(Error::new(ErrorKind::Timeout, "slow").is_retryable());
        assert!(!Error::new(ErrorKind::Timeout, "slow").was_not_applied());
        assert!(!Error::not_found("x").is_retryable());
        let e = Error::new(ErrorKind::Unavailable, "down").with_retry_after(Duration::from_secs(3));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(e.to_string().contains("retry after 3s"));
    }
}
