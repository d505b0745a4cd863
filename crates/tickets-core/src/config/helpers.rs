//! Helpers for provider crates reading and checking their settings.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// Deserializes a string that may have been written as a whole number (`project =
/// 1209000000000000`). Use with `#[serde(deserialize_with = "...")]` where a struct is read
/// with figment directly; [`crate::BuildContext::config`] reads whole numbers into text
/// fields without it. A number with a fraction or exponent is refused: its text is lost.
pub fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        U(u64),
        I(i64),
        F(f64),
    }
    match Raw::deserialize(deserializer)? {
        Raw::S(s) => Ok(s),
        Raw::U(u) => Ok(u.to_string()),
        Raw::I(i) => Ok(i.to_string()),
        Raw::F(f) => Err(serde::de::Error::custom(format!(
            "expected text or a whole number, found the number {f:?}; put it in quotes"
        ))),
    }
}

/// [`string_or_number`] for `Option<String>` fields.
pub fn opt_string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "string_or_number")] String);
    Ok(Option::<Wrap>::deserialize(deserializer)?.map(|w| w.0))
}

/// Checks a number against the range a setting allows, for providers' checks after reading:
/// `Err("is 0; it must be from 1 to 86400 seconds")` outside `min..=max`. `unit` follows the
/// range (`"seconds"`, or `""`).
///
/// ```
/// use tickets_core::config::check_range;
/// assert!(check_range(30u64, 1, 86_400, "seconds").is_ok());
/// assert_eq!(
///     check_range(0u64, 1, 86_400, "seconds").unwrap_err(),
///     "is 0; it must be from 1 to 86400 seconds"
/// );
/// ```
pub fn check_range<T: PartialOrd + fmt::Display>(
    value: T,
    min: T,
    max: T,
    unit: &str,
) -> std::result::Result<(), String> {
    if value >= min && value <= max {
        Ok(())
    } else {
        let unit = if unit.is_empty() {
            String::new()
        } else {
            format!(" {unit}")
        };
        Err(format!("is {value}; it must be from {min} to {max}{unit}"))
    }
}
