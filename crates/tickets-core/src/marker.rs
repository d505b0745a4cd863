//! Idempotency markers: a last line `[tickets-key:KEY]` appended to a text the remote keeps (a
//! task's notes, a comment's body), so a create or comment whose answer was lost can be found
//! again before it is sent a second time, on vendors that have no idempotency key of their own.
//!
//! Every provider uses this one format, so the sync provider recognises its own writes on any
//! remote. Providers strip the marker when reading ([`split`]) and report the key in
//! [`Comment::idempotency_key`](crate::Comment::idempotency_key).
//!
//! ```
//! use tickets_core::marker;
//! let body = marker::append("Restarted api-1", Some("sync-c-42"));
//! assert_eq!(marker::split(&body), ("Restarted api-1", Some("sync-c-42")));
//! assert_eq!(marker::split("plain text"), ("plain text", None));
//! ```

use crate::error::{Error, Result};

/// How a marker line starts; it ends with `]`.
pub const OPEN: &str = "[tickets-key:";

/// The longest key a marker carries.
pub const MAX_KEY_LEN: usize = 100;

/// `text`, then (with a key) a blank line and the marker line. An empty text is the marker
/// line alone.
pub fn append(text: &str, key: Option<&str>) -> String {
    match key {
        None => text.to_owned(),
        Some(k) if text.is_empty() => format!("{OPEN}{k}]"),
        Some(k) => format!("{text}\n\n{OPEN}{k}]"),
    }
}

/// Splits a text into what comes before its marker line and the marker's key, if its last line
/// is one. Whitespace a vendor trims from the end (Bugzilla does) is ignored.
pub fn split(text: &str) -> (&str, Option<&str>) {
    let trimmed = text.trim_end();
    let start = trimmed.rfind('\n').map_or(0, |i| i + 1);
    let last = trimmed[start..].trim_end_matches('\r');
    let Some(key) = last.strip_prefix(OPEN).and_then(|r| r.strip_suffix(']')) else {
        return (text, None);
    };
    if key.is_empty() || key.contains(']') {
        return (text, None);
    }
    let before = trimmed[..start].trim_end_matches(['\n', '\r']);
    (before, Some(key))
}

/// Checks that `key` can travel in a marker: 1 to [`MAX_KEY_LEN`] characters, none of them
/// whitespace or `]`.
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.chars().count() > MAX_KEY_LEN {
        return Err(Error::invalid_input(format!(
            "idempotency_key must be 1 to {MAX_KEY_LEN} characters"
        )));
    }
    if key.chars().any(|c| c.is_whitespace() || c == ']') {
        return Err(Error::invalid_input(
            "idempotency_key must not contain whitespace or ']'",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_any_text() {
        for text in [
            "",
            "one line",
            "two\nlines",
            "ends with newline\n",
            "  spaced  ",
        ] {
            let marked = append(text, Some("k-1"));
            let (before, key) = split(&marked);
            assert_eq!(key, Some("k-1"), "{text:?}");
            assert_eq!(before, text.trim_end_matches('\n'), "{text:?}");
        }
        assert_eq!(append("plain", None), "plain");
    }

    #[test]
    fn vendor_trimming_and_crlf_keep_the_key() {
        assert_eq!(
            split("body\r\n\r\n[tickets-key:k]\r\n"),
            ("body", Some("k"))
        );
        assert_eq!(split("body\n\n[tickets-key:k]  "), ("body", Some("k")));
    }

    #[test]
    fn only_a_whole_last_line_is_a_marker() {
        assert_eq!(split("see [tickets-key:k]").1, None);
        assert_eq!(split("[tickets-key:k]\nmore").1, None);
        assert_eq!(split("[tickets-key:]").1, None);
        assert_eq!(split("[tickets-key:a]b]").1, None);
    }

    #[test]
    fn keys_are_checked() {
        assert!(check_key("sync-0190f3a27c4e").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key("a b").is_err());
        assert!(check_key("a]").is_err());
        assert!(check_key(&"k".repeat(101)).is_err());
    }
}
