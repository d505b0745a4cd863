//! Asana's answers and transport failures as [`tickets_core::Error`]s.
//!
//! | Asana | `ErrorKind` |
//! |---|---|
//! | 400 | `InvalidInput` (Asana's message, e.g. `assignee: Not a recognized ID`) |
//! | 401 | `Unauthenticated` |
//! | 402 | `Unsupported` (a premium feature; the message says which) |
//! | 403, 451 | `PermissionDenied` |
//! | 404 | `NotFound` |
//! | 412 | `Conflict` (events: the sync token is missing or too old; the fresh token Asana sends rides in the error's `asana_sync` context) |
//! | 429 | `RateLimited`, `retry_after` from `Retry-After`, not applied |
//! | 500, 502, 503, 504 | `Unavailable` (with Asana's error `phrase`) |
//! | connection refused | `Unavailable`, not applied |
//! | time-out | `Timeout` |
//! | anything else | `Unexpected` |
//!
//! Messages come from Asana's error body, never from request headers, so a token cannot leak.

use std::time::Duration;

use serde::Deserialize;
use tickets_core::{Error, ErrorKind};

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

/// The messages (and 5xx phrase) of an Asana error body; the raw text when it is not one.
fn messages(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) if !b.errors.is_empty() => b
            .errors
            .iter()
            .map(|e| match &e.phrase {
                Some(p) => format!("{} (phrase: {p})", e.message),
                None => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                "no error message".to_owned()
            } else {
                text.chars().take(300).collect()
            }
        }
    }
}

/// The `Retry-After` value in seconds (Asana sends whole seconds).
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let secs: f64 = value?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// Maps an HTTP error answer from Asana.
pub(crate) fn from_status(status: u16, body: &[u8], retry_after: Option<Duration>) -> Error {
    let msg = messages(body);
    match status {
        400 => Error::new(
            ErrorKind::InvalidInput,
            format!("Asana refused the request: {msg}"),
        ),
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
        403 => Error::new(
            ErrorKind::PermissionDenied,
            format!("the token's user may not do this in Asana: {msg}"),
        ),
        451 => Error::new(
            ErrorKind::PermissionDenied,
            format!("Asana blocks this request for legal reasons: {msg}"),
        ),
        404 => Error::new(
            ErrorKind::NotFound,
            format!("Asana has no such object: {msg}"),
        ),
        412 => {
            let e = Error::new(
                ErrorKind::Conflict,
                format!("Asana refused the events sync token: {msg}"),
            );
            match serde_json::from_slice::<SyncBody>(body) {
                Ok(b) => e.with_context(SYNC_CONTEXT, b.sync),
                Err(_) => e,
            }
        }
        429 => {
            let mut e = Error::new(
                ErrorKind::RateLimited,
                format!("Asana rate limit hit: {msg}"),
            )
            .with_not_applied();
            if let Some(after) = retry_after {
                e = e.with_retry_after(after);
            }
            e
        }
        500..=599 => Error::new(
            ErrorKind::Unavailable,
            format!("Asana failed with HTTP {status}: {msg}"),
        ),
        _ => Error::unexpected(format!("Asana answered HTTP {status}: {msg}")),
    }
}

/// Maps a transport failure. reqwest errors name the URL, which holds no secret (the token
/// travels in a header).
pub(crate) fn from_transport(err: reqwest::Error) -> Error {
    if err.is_timeout() {
        Error::new(
            ErrorKind::Timeout,
            "Asana did not answer in time; the request may or may not have been applied",
        )
        .with_source(err)
    } else if err.is_connect() {
        Error::new(ErrorKind::Unavailable, "cannot connect to Asana")
            .with_not_applied()
            .with_source(err)
    } else {
        Error::new(
            ErrorKind::Unavailable,
            "the connection to Asana failed during the request; it may have been applied",
        )
        .with_source(err)
    }
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
            (504, ErrorKind::Unavailable),
            (418, ErrorKind::Unexpected),
        ] {
            assert_eq!(from_status(status, body, None).kind(), kind, "{status}");
        }
    }

    #[test]
    fn rate_limit_carries_retry_after_and_is_not_applied() {
        let body = br#"{"errors":[{"message":"You've made too many requests and hit a rate limit. Please retry after the given amount of time."}]}"#;
        let e = from_status(429, body, parse_retry_after(Some("30")));
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
    fn retry_after_parses_seconds() {
        assert_eq!(parse_retry_after(Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(Some("0.5")),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_retry_after(Some("soon")), None);
        assert_eq!(parse_retry_after(None), None);
    }
}
