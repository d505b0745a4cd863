//! Bugzilla answers -> [`tickets_core::Error`].
//!
//! Bugzilla puts `{"error":true,"code","message"}` in the body; the HTTP status is derived from
//! the code (and 5.2 on PostgreSQL even answers HTTP 200 with `error: true`), so a code that
//! names a problem decides the kind; a generic code (32000, -32000, unknown ones) and answers
//! without an envelope go through the shared status table of `tickets-http`.

use tickets_core::{Error, ErrorKind};

/// The kind for a Bugzilla error code (`Bugzilla/WebService/Constants.pm`), or `None` for a
/// code that says nothing by itself (32000 "transient"/-32000 "fatal" carry any user error,
/// e.g. a non-integer for an integer custom field, and unknown codes): the HTTP status then
/// decides through the shared table (`tickets_http::kind_for_status`).
pub fn kind_for_code(code: i64) -> Option<ErrorKind> {
    Some(match code {
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
        // Parameters and values (51 is an unknown user, component or version given by the
        // caller, HTTP 404 but about the input, not the ticket), aliases, comments, fields,
        // dependencies, flags, attachments, search without criteria.
        50..=58
        | 103..=105
        | 107
        | 108
        | 111
        | 114
        | 116..=119
        | 129..=134
        | 504
        | 600..=607
        | 1000 => ErrorKind::InvalidInput,
        _ => return None,
    })
}

/// An error from Bugzilla's envelope; `what` names the call (`PUT /bug/12`).
pub fn from_envelope(code: i64, status: u16, message: &str, what: &str) -> Error {
    let kind = kind_for_code(code).unwrap_or_else(|| tickets_http::kind_for_status(status));
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
    .with_context("code", code)
    .with_context("http_status", status);
    if code == 100_500 {
        err = err.with_not_applied();
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Real bodies (vendor-apis.md 2.4 and 2.10, and a real 5.0.6) with their HTTP status.
    #[test]
    fn real_bodies_map_to_kinds() {
        let cases: [(&str, u16, ErrorKind); 10] = [
            (
                r#"{"documentation":"https://bmo.readthedocs.io/en/latest/api/","error":true,"code":102,"message":"You are not authorized to access bug 1595329. To see this bug, you must first log in to an account with the appropriate permissions."}"#,
                401,
                ErrorKind::PermissionDenied,
            ),
            (
                r#"{"error":true,"code":101,"message":"Bug #999 does not exist.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                404,
                ErrorKind::NotFound,
            ),
            (
                r#"{"error":true,"code":306,"message":"The API key you specified is invalid. Please check that you typed it correctly.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                400,
                ErrorKind::Unauthenticated,
            ),
            (
                r#"{"error":true,"code":410,"message":"You must log in before using this part of Bugzilla.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                401,
                ErrorKind::Unauthenticated,
            ),
            (
                r#"{"error":true,"code":32614,"message":"A REST API resource was not found for 'POST /bug/1030911'.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                404,
                ErrorKind::Config,
            ),
            (
                r#"{"error":true,"code":123,"message":"You are not allowed to change the bug status from CONFIRMED to VERIFIED.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                400,
                ErrorKind::InvalidTransition,
            ),
            (
                r#"{"error":true,"code":51,"message":"There is no user named 'ghost@example.com'.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                404,
                ErrorKind::InvalidInput,
            ),
            (
                r#"{"error":true,"code":100500,"message":"could not serialize access due to concurrent update","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                200,
                ErrorKind::Unavailable,
            ),
            // Issue 12: Bugzilla's generic user error (a non-integer in an integer field).
            (
                r#"{"error":true,"code":32000,"message":"The value for cf_severity must be an integer.","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                400,
                ErrorKind::InvalidInput,
            ),
            (
                r#"{"error":true,"code":-32000,"message":"DBD::SQLite::db do failed: disk I/O error","documentation":"https://bugzilla.readthedocs.org/en/5.0/api/"}"#,
                500,
                ErrorKind::Unavailable,
            ),
        ];
        for (body, status, kind) in cases {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            let err = from_envelope(
                v["code"].as_i64().unwrap(),
                status,
                v["message"].as_str().unwrap(),
                "GET /bug/1",
            );
            assert_eq!(err.kind(), kind, "{body}");
            assert!(err.to_string().contains(v["message"].as_str().unwrap()));
        }
    }

    #[test]
    fn serialization_failure_is_retryable_and_not_applied() {
        let err = from_envelope(100_500, 200, "could not serialize access", "PUT /bug/1");
        assert!(err.is_retryable());
        assert!(err.was_not_applied());
        let conflict = from_envelope(103, 400, "alias in use", "POST /bug");
        assert!(!conflict.is_retryable());
    }

    #[test]
    fn answers_without_an_envelope_go_through_the_shared_table() {
        let a = |status, body: &[u8], after| {
            crate::client::answer(status, after, body, "GET /bug", "k3y-k3y")
        };
        let err = a(429, b"", Some(Duration::from_secs(7))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert!(err.was_not_applied());
        let err = a(503, b"<html><h1>Service Unavailable</h1></html>", None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        // Was Config before issue 15: a plain 404 is NotFound everywhere, with the HTML hint.
        let err = a(404, b"<!DOCTYPE html><html>Not Found</html>", None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("base_url"), "{err}");
        let err = a(408, b"", None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        // An echo of the key is scrubbed.
        let err = a(400, b"bad request api_key=k3y-k3y", None).unwrap_err();
        assert!(!err.to_string().contains("k3y-k3y"), "{err}");
        // A 2xx that is not JSON is an error, not a panic.
        assert_eq!(
            a(200, b"<html>", None).unwrap_err().kind(),
            ErrorKind::Unexpected
        );
        // An envelope with a 429 is rate limited whatever its code.
        let body = br#"{"error":true,"code":32000,"message":"too many requests"}"#;
        let err = a(429, body, Some(Duration::from_secs(2))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
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
