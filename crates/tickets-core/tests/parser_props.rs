//! Property tests over the parsers every provider feeds vendor text into (issue 15.3): any
//! input gives a value or an error, never a panic, and what is written reads back.

use proptest::prelude::*;
use tickets_core::{Priority, Status, marker};

/// Keys a marker may carry: 1 to 100 characters, no whitespace, no `]`.
fn key() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9._:/-]{1,100}").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any text a vendor returns splits without panicking, and what comes before the marker
    /// is a prefix of it.
    #[test]
    fn marker_split_takes_any_text(text in any::<String>()) {
        let (before, key) = marker::split(&text);
        prop_assert!(text.starts_with(before));
        if let Some(k) = key {
            prop_assert!(marker::check_key(k).is_ok() || k.chars().any(char::is_whitespace));
        }
    }

    /// A marker appended to any text is found again, with the text before it as written
    /// (less the line breaks that separate them).
    #[test]
    fn a_marker_appended_is_split_off_again(text in any::<String>(), key in key()) {
        prop_assert!(marker::check_key(&key).is_ok());
        let body = marker::append(&text, Some(&key));
        let (before, found) = marker::split(&body);
        prop_assert_eq!(found, Some(key.as_str()));
        prop_assert_eq!(before, text.trim_end_matches(['\n', '\r']));
    }

    /// Vendor text trimmed at its end (Bugzilla trims) keeps the marker.
    #[test]
    fn a_marker_survives_trailing_whitespace(text in "[^\\[\\]]{0,40}", key in key(), tail in "[ \t\r\n]{0,5}") {
        let body = format!("{}{tail}", marker::append(&text, Some(&key)));
        prop_assert_eq!(marker::split(&body).1, Some(key.as_str()));
    }

    #[test]
    fn check_key_takes_any_text(key in any::<String>()) {
        let _ = marker::check_key(&key);
    }

    /// Statuses and priorities parse from any text to a value or an error naming the text.
    #[test]
    fn status_and_priority_parse_any_text(text in any::<String>()) {
        if let Err(e) = text.parse::<Status>() {
            prop_assert!(e.to_string().contains("unknown status"), "{e}");
        }
        let _ = text.parse::<Priority>();
    }
}

#[test]
fn every_status_and_priority_reads_back_from_its_name() {
    for s in Status::ALL {
        assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
        assert_eq!(s.as_str().to_uppercase().parse::<Status>().unwrap(), s);
    }
    for p in Priority::ALL {
        assert_eq!(p.as_str().parse::<Priority>().unwrap(), p);
    }
}
