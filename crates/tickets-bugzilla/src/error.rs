//! Bugzilla answers -> [`tickets_core::Error`].
//!
//! Bugzilla puts `{"error":true,"code","message"}` in the body; the HTTP status is derived from
//! the code (and 5.2 on PostgreSQL even answers HTTP 200 with `error: true`), so the code decides
//! the kind, never the status alone.

use std::time::Duration;

use tickets_core::{Error, ErrorKind};

/// The kind for a Bugzilla error code (`Bugzilla/WebService/Constants.pm`).
pub fn kind_for_code(code: i64) -> ErrorKind {
    match code {
        // Bug id not found, or not a bug number nor an alias.
        100 | 101 => ErrorKind::NotFound,
        // Access to a bug, editing, private comments, field permissions, groups, users.
        102 | 106 | 109 | 110 | 113 | 115 | 120 | 505 => ErrorKind::PermissionDenied,
        // Workflow: resolution required / resolution on open status / illegal transition.
        121..=123 => ErrorKind::InvalidTransition,
        // Login, password, account, API key, token problems; login required.
        300..=307 | 410 => ErrorKind::Unauthenticated,
        // PostgreSQL serialization failure surfaced by 5.2 under concurrent updates: nothing
        // was applied, a retry will do.
        100_500 => ErrorKind::Unavailable,
        // No REST resource: wrong base_url, or a route this Bugzilla version lacks.
        32614 => ErrorKind::Config,
        // Unknown errors ("transient" 32000, fatal -32000).
        32000 | -32000 => ErrorKind::Unexpected,
        // Parameters, values, aliases, comments, dependencies, flags, search without criteria,
        // unknown users (51, 504), ...
        _ => ErrorKind::InvalidInput,
    }
}

/// An error from Bugzilla's envelope; `what` names the call (`PUT /bug/12`).
pub fn from_envelope(code: i64, message: &str, what: &str) -> Error {
    let kind = kind_for_code(code);
    let hint = match code {
        100_500 => "; the change was not applied, retry it",
        306 => "; check the api_key (Preferences > API Keys)",
        410 => {
            "; the server saw no credentials: upstream 5.x ignores the X-BUGZILLA-API-KEY \
             header, use api_key_in = \"query_or_body\""
        }
        32614 => "; check base_url (it must be the REST root, ending in /rest)",
        _ => "",
    };
    let mut err = Error::new(
        kind,
        format!("Bugzilla error {code} at {what}: {message}{hint}"),
    )
    .with_context("code", code);
    if code == 100_500 {
        err = err.with_not_applied();
    }
    err
}

/// An error for a non-2xx answer that carried no Bugzilla envelope (a proxy page, a 429).
pub fn from_status(status: u16, retry_after: Option<Duration>, body: &str, what: &str) -> Error {
    let snippet: String = body.chars().take(200).collect();
    let snippet = snippet.split_whitespace().collect::<Vec<_>>().join(" ");
    let (kind, text) = match status {
        429 => (ErrorKind::RateLimited, "rate limited"),
        401 => (ErrorKind::Unauthenticated, "not authenticated"),
        403 => (ErrorKind::PermissionDenied, "forbidden"),
        404 => (
            ErrorKind::Config,
            "no such resource; check base_url (it must be the REST root, ending in /rest)",
        ),
        408 => (ErrorKind::Timeout, "request timed out"),
        500..=599 => (ErrorKind::Unavailable, "server error"),
        _ => (ErrorKind::Unexpected, "unexpected answer"),
    };
    let mut err = Error::new(kind, format!("HTTP {status} at {what}: {text} ({snippet})"))
        .with_context("http_status", status);
    if status == 429 {
        err = err
            .with_retry_after(retry_after.unwrap_or(Duration::from_secs(1)))
            .with_not_applied();
    }
    err
}

/// Removes the API key from any text that may carry it (URLs in transport errors, echoes).
pub fn redact(text: &str, key: &str) -> String {
    let mut out = if key.len() >= 4 {
        text.replace(key, "***")
    } else {
        text.to_owned()
    };
    for param in ["api_key=", "Bugzilla_api_key="] {
        let mut from = 0;
        while let Some(pos) = out[from..].find(param) {
            let start = from + pos + param.len();
            let end = out[start..]
                .find(['&', ' ', ')', '"', '\''])
                .map_or(out.len(), |e| start + e);
            out.replace_range(start..end, "***");
            from = start + 3;
        }
    }
    out
}

/// A transport failure (no answer, or the answer broke off) as an error, without the URL.
pub fn from_transport(err: reqwest::Error, what: &str, key: &str, sent: bool) -> Error {
    let timeout = err.is_timeout();
    let connect = err.is_connect();
    let text = redact(&err.without_url().to_string(), key);
    if timeout {
        return Error::new(
            ErrorKind::Timeout,
            format!("{what} timed out; it may or may not have been applied ({text})"),
        );
    }
    if connect {
        return Error::new(
            ErrorKind::Unavailable,
            format!("cannot connect to Bugzilla for {what} ({text})"),
        )
        .with_not_applied();
    }
    let tail = if sent {
        "the connection broke after the request was sent; it may have been applied"
    } else {
        "the request failed"
    };
    Error::new(ErrorKind::Unavailable, format!("{what}: {tail} ({text})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real bodies from vendor-apis.md section 2.4 and 2.10.
    #[test]
    fn real_bodies_map_to_kinds() {
        let cases: [(&str, ErrorKind); 8] = [
            (
                r#"{"documentation":"https://bmo.readthedocs.io/en/latest/api/","error":true,"code":102,"message":"You are not authorized to access bug 1595329. To see this bug, you must first log in to an account with the appropriate permissions."}"#,
                ErrorKind::PermissionDenied,
            ),
            (
                r#"{"error":true,"code":101,"message":"Bug #999 does not exist.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                ErrorKind::NotFound,
            ),
            (
                r#"{"error":true,"code":306,"message":"The API key you specified is invalid. Please check that you typed it correctly.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                ErrorKind::Unauthenticated,
            ),
            (
                r#"{"error":true,"code":410,"message":"You must log in before using this part of Bugzilla.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                ErrorKind::Unauthenticated,
            ),
            (
                r#"{"error":true,"code":32614,"message":"A REST API resource was not found for 'POST /bug/1030911'.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                ErrorKind::Config,
            ),
            (
                r#"{"error":true,"code":123,"message":"You are not allowed to change the bug status from CONFIRMED to VERIFIED.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                ErrorKind::InvalidTransition,
            ),
            (
                r#"{"error":true,"code":51,"message":"There is no user named 'ghost@example.com'.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                ErrorKind::InvalidInput,
            ),
            (
                r#"{"error":true,"code":100500,"message":"could not serialize access due to concurrent update","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                ErrorKind::Unavailable,
            ),
        ];
        for (body, kind) in cases {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            let err = from_envelope(
                v["code"].as_i64().unwrap(),
                v["message"].as_str().unwrap(),
                "GET /bug/1",
            );
            assert_eq!(err.kind(), kind, "{body}");
            assert!(err.to_string().contains(v["message"].as_str().unwrap()));
        }
    }

    #[test]
    fn serialization_failure_is_retryable_and_not_applied() {
        let err = from_envelope(100_500, "could not serialize access", "PUT /bug/1");
        assert!(err.is_retryable());
        assert!(err.was_not_applied());
        let conflict = from_envelope(103, "alias in use", "POST /bug");
        assert!(!conflict.is_retryable());
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let err = from_status(429, Some(Duration::from_secs(7)), "", "GET /bug");
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        let err = from_status(
            503,
            None,
            "<html><h1>Service Unavailable</h1></html>",
            "GET /bug",
        );
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn redact_removes_keys() {
        let s = "error sending request for url (http://h/rest/bug?api_key=abcd1234&x=1)";
        let r = redact(s, "abcd1234");
        assert!(!r.contains("abcd1234"), "{r}");
        let r = redact("GET /bug?Bugzilla_api_key=zzzz9999", "other-key");
        assert_eq!(r, "GET /bug?Bugzilla_api_key=***");
    }
}
