//! Asana's answers and transport failures as [`tickets_core::Error`]s.
//!
//! The kind of an HTTP error comes from the shared table (`tickets_http::kind_for_status`:
//! 400 invalid input, 401 unauthenticated, 403/451 permission denied, 404 not found, 408/504
//! time-out, 409/412 conflict, 429 rate limited and not applied, 5xx unavailable); Asana's
//! words are put on top:
//!
//! | Asana | `ErrorKind` |
//! |---|---|
//! | 400 | `InvalidInput` (Asana's message, e.g. `assignee: Not a recognized ID`) |
//! | 401 | `Unauthenticated`, with a hint at the `token` key |
//! | 402 | `Unsupported` — **differs from the shared table** (`PermissionDenied`): Asana sends 402 only for premium-plan features, which no permission on this account unlocks; the message names the feature |
//! | 412 | `Conflict` (events: the sync token is missing or too old; the fresh token Asana sends rides in the error's `asana_sync` context) |
//! | 429 | `RateLimited`, `retry_after` from `Retry-After` (capped at an hour by `tickets_http`), not applied |
//! | 500, 502, 503 | `Unavailable` (with Asana's error `phrase`) |
//! | 408, 504 | `Timeout` |
//! | an HTML page, any status | `Config`: not Asana's API; the message says to check `base_url` |
//! | connection refused, TLS | `Unavailable`, not applied (`tickets_http::transport_error`) |
//! | time-out | `Timeout` |
//!
//! Messages come from Asana's error body (an HTML page instead becomes a hint to check
//! `base_url`), never from request headers or the URL, so a token cannot leak.

use std::time::Duration;

use serde::Deserialize;
use tickets_core::{Error, ErrorKind};

/// How errors name the vendor.
pub(crate) const VENDOR: &str = "Asana";

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

/// The context key carrying the fresh sync token of an events `412`.
pub(crate) const SYNC_CONTEXT: &str = "asana_sync";

/// The fresh `sync` token of an events `412` body.
#[derive(Debug, Deserialize)]
struct SyncBody {
    sync: String,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    #[serde(default)]
    message: String,
    #[serde(default)]
    phrase: Option<String>,
}

/// The messages (and 5xx phrase) of an Asana error body; otherwise the body as
/// `tickets_http::body_text` shows it (shortened, HTML pages replaced by a `base_url` hint).
pub(crate) fn messages(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) if !b.errors.is_empty() => b
            .errors
            .iter()
            .map(|e| match &e.phrase {
                Some(p) => format!("{} (phrase: {p})", e.message),
                None => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ")
            .chars()
            .take(1000)
            .collect(),
        _ => tickets_http::body_text(body),
    }
}

/// Maps an HTTP error answer from Asana.
pub(crate) fn from_status(status: u16, body: &[u8], retry_after: Option<Duration>) -> Error {
    let msg = messages(body);
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() && msg.contains("base_url") {
        // Asana answers errors in JSON: an HTML page is another server (a wrong `base_url`,
        // a proxy), whatever its status says.
        return Error::config(format!("{VENDOR} answered HTTP {status} with {msg}"));
    }
    let base = tickets_http::answer_error(VENDOR, status, &msg, retry_after);
    match status {
        401 => Error::new(
            ErrorKind::Unauthenticated,
            format!(
                "Asana did not accept the token ({msg}); check the `token` key (a personal access \
                 token or a current OAuth token)"
            ),
        ),
        402 => Error::new(
            ErrorKind::Unsupported,
            format!("Asana needs a premium plan for this: {msg}"),
        ),
        412 => match serde_json::from_slice::<SyncBody>(body) {
            Ok(b) => base.with_context(SYNC_CONTEXT, b.sync),
            Err(_) => base,
        },
        _ => base,
    }
}

/// Maps a transport failure (no HTTP answer).
pub(crate) fn from_transport(err: reqwest::Error) -> Error {
    tickets_http::transport_error(VENDOR, err)
}

/// An answer that is not the JSON we expect.
pub(crate) fn bad_answer(what: &str, err: impl std::fmt::Display) -> Error {
    Error::unexpected(format!(
        "Asana's answer to {what} is not what the API documents: {err}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_maps_to_its_kind() {
        let body = br#"{"errors":[{"message":"x","help":"h"}]}"#;
        for (status, kind) in [
            (400, ErrorKind::InvalidInput),
            (401, ErrorKind::Unauthenticated),
            (402, ErrorKind::Unsupported),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (429, ErrorKind::RateLimited),
            (451, ErrorKind::PermissionDenied),
            (500, ErrorKind::Unavailable),
            (502, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
            (504, ErrorKind::Timeout),
            (408, ErrorKind::Timeout),
            (409, ErrorKind::Conflict),
            (418, ErrorKind::Unexpected),
        ] {
            assert_eq!(from_status(status, body, None).kind(), kind, "{status}");
        }
    }

    #[test]
    fn rate_limit_carries_retry_after_and_is_not_applied() {
        let body = br#"{"errors":[{"message":"You've made too many requests and hit a rate limit. Please retry after the given amount of time."}]}"#;
        let e = from_status(429, body, Some(Duration::from_secs(30)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
        assert!(e.was_not_applied());
        assert!(e.message().contains("too many requests"));
    }

    #[test]
    fn server_errors_keep_the_phrase() {
        let body =
            br#"{"errors":[{"message":"Server Error","phrase":"6 sad squid snuggle softly"}]}"#;
        let e = from_status(500, body, None);
        assert!(e.message().contains("6 sad squid snuggle softly"), "{e}");
        assert!(!e.was_not_applied());
    }

    #[test]
    fn premium_reason_is_kept() {
        let body =
            br#"{"errors":[{"message":"Search is only available to premium users of Asana."}]}"#;
        let e = from_status(402, body, None);
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.message().contains("premium"));
    }

    #[test]
    fn non_json_bodies_are_shown_shortened() {
        let e = from_status(502, &[b'x'; 1000], None);
        assert!(e.message().len() < 400);
        assert_eq!(messages(b""), "no error message");
    }

    #[test]
    fn an_events_412_carries_the_fresh_sync_token() {
        let body = br#"{"errors":[{"message":"Sync token invalid or too old."}],"sync":"de4774f6915eae04714ca93bb2f5ee81"}"#;
        let e = from_status(412, body, None);
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(
            e.context(),
            [(SYNC_CONTEXT, "de4774f6915eae04714ca93bb2f5ee81".to_owned())]
        );
        let bare = from_status(412, br#"{"errors":[{"message":"x"}]}"#, None);
        assert!(bare.context().is_empty());
    }

    #[test]
    fn html_answers_hint_at_the_base_url() {
        let e = from_status(
            404,
            b"<!DOCTYPE html><html><body>Sign in</body></html>",
            None,
        );
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("base_url"), "{e}");
        assert!(!e.message().contains("Sign in"), "{e}");
    }

    #[test]
    fn a_408_is_a_time_out_and_was_not_applied() {
        let e = from_status(408, br#"{"errors":[{"message":"Request Timeout"}]}"#, None);
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.was_not_applied());
    }

    proptest::proptest! {
        #[test]
        fn any_error_body_and_status_is_an_error(
            status in 100u16..1000,
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
        ) {
            let e = from_status(status, &body, None);
            proptest::prop_assert!(e.message().len() < 4000);
        }

        #[test]
        fn any_json_error_body_is_an_error(text in r#"\{"errors":\[\{"message":".{0,40}"(,"phrase":".{0,20}")?\}\],?("sync":".{0,10}")?\}"#) {
            let _ = from_status(412, text.as_bytes(), None);
            let _ = from_status(500, text.as_bytes(), None);
        }
    }
}
