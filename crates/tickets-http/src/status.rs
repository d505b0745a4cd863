//! One table from HTTP status to [`ErrorKind`], for every vendor. Providers map their vendor's
//! error bodies on top of it (a message, a vendor code that says more), never a different kind
//! for the same status without saying why in their error module.

use std::time::Duration;

use tickets_core::{Error, ErrorKind};

/// The kind an HTTP error status means:
///
/// | status | kind |
/// |---|---|
/// | 400, 413, 414, 415, 422 | `InvalidInput` |
/// | 401 | `Unauthenticated` |
/// | 402, 403, 451 | `PermissionDenied` |
/// | 404, 410 | `NotFound` |
/// | 405, 501 | `Unsupported` |
/// | 408, 504 | `Timeout` |
/// | 409, 412 | `Conflict` |
/// | 429 | `RateLimited` |
/// | 500, 502, 503, other 5xx | `Unavailable` |
/// | anything else | `Unexpected` |
pub fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        400 | 413 | 414 | 415 | 422 => ErrorKind::InvalidInput,
        401 => ErrorKind::Unauthenticated,
        402 | 403 | 451 => ErrorKind::PermissionDenied,
        404 | 410 => ErrorKind::NotFound,
        405 | 501 => ErrorKind::Unsupported,
        408 | 504 => ErrorKind::Timeout,
        409 | 412 => ErrorKind::Conflict,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Unexpected,
    }
}

/// The error for an HTTP error answer from `vendor`: the kind from [`kind_for_status`],
/// `message` (the vendor's own words, from its error body), the `Retry-After` wait, and — for
/// 408 and 429, which say the request was not processed — marked as not applied, so even a
/// non-idempotent call may be sent again.
pub fn answer_error(
    vendor: &str,
    status: u16,
    message: &str,
    retry_after: Option<Duration>,
) -> Error {
    let kind = kind_for_status(status);
    let mut e = Error::new(kind, format!("{vendor} answered HTTP {status}: {message}"));
    if let Some(after) = retry_after {
        e = e.with_retry_after(after);
    }
    if matches!(status, 408 | 429) {
        e = e.with_not_applied();
    }
    e
}

/// An answer body as text for an error message: trimmed, at most 300 characters, and when it
/// is an HTML page (a proxy, a login page, the wrong `base_url`) a hint saying so instead of
/// the markup.
pub fn body_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "no error message".to_owned();
    }
    let lower: String = text
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return "an HTML page instead of the API's JSON (check `base_url`: it should name the \
                API, not a web page or a proxy's login)"
            .to_owned();
    }
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        for (status, kind) in [
            (400, ErrorKind::InvalidInput),
            (401, ErrorKind::Unauthenticated),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (408, ErrorKind::Timeout),
            (409, ErrorKind::Conflict),
            (412, ErrorKind::Conflict),
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
            (504, ErrorKind::Timeout),
            (302, ErrorKind::Unexpected),
        ] {
            assert_eq!(kind_for_status(status), kind, "{status}");
        }
    }

    #[test]
    fn answers_carry_the_wait_and_whether_they_were_applied() {
        let e = answer_error("Asana", 429, "slow down", Some(Duration::from_secs(3)));
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(e.was_not_applied());
        assert!(
            e.to_string().contains("Asana answered HTTP 429: slow down"),
            "{e}"
        );
        assert!(!answer_error("Asana", 500, "x", None).was_not_applied());
    }

    #[test]
    fn html_bodies_become_a_hint() {
        assert!(body_text(b"<!DOCTYPE html><html>login</html>").contains("base_url"));
        assert_eq!(body_text(b"  plain  "), "plain");
        assert_eq!(body_text(b""), "no error message");
        assert_eq!(body_text(&[b'x'; 1000]).len(), 300);
    }
}
