//! One way to build the HTTP client: rustls, bounded time-outs, a user agent naming the
//! provider, connection reuse.

use std::time::Duration;

use tickets_core::{Error, Result};

/// How a provider's HTTP client behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpSettings {
    /// The longest one request may take (connect, send, answer).
    pub timeout: Duration,
    /// The longest connecting may take (at most `timeout`).
    pub connect_timeout: Duration,
    /// The `User-Agent` header, e.g. `tickets-asana/0.1.0`.
    pub user_agent: String,
}

impl HttpSettings {
    /// Settings with `timeout` per request, a connect time-out of 10 s (or less), and the
    /// user agent `product/version`.
    pub fn new(user_agent: impl Into<String>, timeout: Duration) -> Self {
        Self {
            timeout,
            connect_timeout: Duration::from_secs(10).min(timeout),
            user_agent: user_agent.into(),
        }
    }
}

/// Builds the client every remote provider uses: rustls (no OpenSSL), the time-outs, the user
/// agent, idle connections kept for reuse. A zero time-out is a `Config` error.
pub fn build_client(settings: &HttpSettings) -> Result<reqwest::Client> {
    if settings.timeout.is_zero() {
        return Err(Error::config("the request time-out must be more than zero"));
    }
    reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(settings.timeout)
        .connect_timeout(settings.connect_timeout.min(settings.timeout))
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(settings.user_agent.clone())
        .build()
        .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_build_and_a_zero_timeout_is_refused() {
        let s = HttpSettings::new("tickets-test/1", Duration::from_secs(5));
        assert_eq!(s.connect_timeout, Duration::from_secs(5));
        assert!(build_client(&s).is_ok());
        let zero = HttpSettings::new("x", Duration::ZERO);
        assert_eq!(
            build_client(&zero).unwrap_err().kind(),
            tickets_core::ErrorKind::Config
        );
    }
}
