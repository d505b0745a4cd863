//! Turning command-line text into model values. Every failure is `InvalidInput` (exit 4) and
//! names the flag and what would be accepted.

use chrono::{DateTime, NaiveDate, Utc};
use tickets::{Error, Priority, Result, Status, TicketId, Value};

/// A ticket id; not blank.
pub fn id(text: &str) -> Result<TicketId> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid_input("ticket id must not be empty"));
    }
    Ok(TicketId::new(trimmed))
}

/// A status name (`in_progress`, `In Progress`, `open`, ...).
pub fn status(text: &str) -> Result<Status> {
    text.parse()
}

/// A priority name (`high`, `P2`, ...).
pub fn priority(text: &str) -> Result<Priority> {
    text.parse()
}

/// A date, `YYYY-MM-DD`.
pub fn date(flag: &str, text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        Error::invalid_input(format!(
            "{flag} {text:?} is not a date; use YYYY-MM-DD (e.g. 2026-03-31)"
        ))
    })
}

/// A point in time: RFC 3339 (`2026-03-31T12:00:00Z`), or a date meaning its midnight UTC.
pub fn instant(flag: &str, text: &str) -> Result<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(Error::invalid_input(format!(
        "{flag} {text:?} is not a time; use RFC 3339 (2026-03-31T12:00:00Z) or a date (2026-03-31)"
    )))
}

/// `KEY=JSON`; a value that is not JSON is taken as a string (`sev=high` = `sev="high"`).
pub fn field(text: &str) -> Result<(String, Value)> {
    let Some((key, raw)) = text.split_once('=') else {
        return Err(Error::invalid_input(format!(
            "--field {text:?} has no '='; write KEY=JSON, e.g. --field severity=2"
        )));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(Error::invalid_input(format!(
            "--field {text:?} has no key before '='"
        )));
    }
    // Text that looks like JSON must be JSON: a typo (or nesting past the parser's limit) is
    // an error, not a string silently stored in its place.
    let looks_like_json = matches!(raw.trim_start().chars().next(), Some('{' | '[' | '"'));
    let value = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) if looks_like_json => {
            return Err(Error::invalid_input(format!(
                "--field {key}: the value looks like JSON but is not valid JSON ({e}); quote it \
                 as a JSON string to store text"
            )));
        }
        Err(_) => Value::String(raw.to_owned()),
    };
    Ok((key.to_owned(), value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickets::ErrorKind;

    #[test]
    fn field_values_that_look_like_json_must_be_json() {
        assert_eq!(field("n=2").unwrap().1, Value::from(2));
        assert_eq!(field("s=plain text").unwrap().1, Value::from("plain text"));
        let deep = format!("d={}1{}", "[".repeat(200), "]".repeat(200));
        let err = field(&deep).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        assert!(field("o={broken").is_err());
    }

    #[test]
    fn statuses_and_priorities_use_the_core_parsers() {
        assert_eq!(status("In Progress").unwrap(), Status::InProgress);
        assert_eq!(status("open").unwrap(), Status::New);
        let err = status("bogus").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("in_progress"), "{err}");
        assert_eq!(priority("P2").unwrap(), Priority::High);
        assert_eq!(priority("nah").unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn fields_are_json_or_text() {
        assert_eq!(field("n=2").unwrap(), ("n".into(), serde_json::json!(2)));
        assert_eq!(
            field("tags=[\"a\",1]").unwrap().1,
            serde_json::json!(["a", 1])
        );
        assert_eq!(field("sev=high").unwrap().1, serde_json::json!("high"));
        assert_eq!(field("eq=a=b").unwrap().1, serde_json::json!("a=b"));
        assert_eq!(field("empty=").unwrap().1, serde_json::json!(""));
        assert_eq!(
            field("novalue").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(field("=1").unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn times_accept_rfc3339_and_dates() {
        let at = instant("--updated-since", "2026-03-31T12:00:00+02:00").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-03-31T10:00:00+00:00");
        let day = instant("--updated-since", "2026-03-31").unwrap();
        assert_eq!(day.to_rfc3339(), "2026-03-31T00:00:00+00:00");
        let err = instant("--updated-since", "yesterday").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("--updated-since"), "{err}");
        assert!(date("--due", "31/03/2026").is_err());
        assert_eq!(
            date("--due", "2026-03-31").unwrap().to_string(),
            "2026-03-31"
        );
    }

    #[test]
    fn ids_are_trimmed_and_not_blank() {
        assert_eq!(id(" 42 ").unwrap().as_str(), "42");
        assert_eq!(id("  ").unwrap_err().kind(), ErrorKind::InvalidInput);
    }
}
