//! The error of reading a config value: what went wrong and at which key.

use std::fmt;

use serde::de;

/// What went wrong while reading a value, and where.
#[derive(Debug)]
pub(crate) struct DeError {
    /// Path segments, innermost first (each level adds its own on the way out).
    rev_path: Vec<String>,
    pub(crate) kind: DeErrorKind,
}

#[derive(Debug)]
pub(crate) enum DeErrorKind {
    Message(String),
    UnknownField {
        field: String,
        expected: &'static [&'static str],
    },
    UnknownVariant {
        variant: String,
        expected: &'static [&'static str],
    },
    MissingField(&'static str),
}

impl DeError {
    pub(crate) fn msg(message: impl Into<String>) -> Self {
        Self {
            rev_path: Vec::new(),
            kind: DeErrorKind::Message(message.into()),
        }
    }

    /// Adds the segment of the level the error passes on its way out.
    pub(crate) fn at(mut self, segment: impl Into<String>) -> Self {
        self.rev_path.push(segment.into());
        self
    }

    /// The path of the key the error is about, outermost first (a missing field included).
    pub(crate) fn path(&self) -> Vec<String> {
        let mut path: Vec<String> = self.rev_path.iter().rev().cloned().collect();
        if let DeErrorKind::MissingField(field) = &self.kind {
            path.push((*field).to_owned());
        }
        path
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DeErrorKind::Message(m) => f.write_str(m),
            DeErrorKind::UnknownField { field, .. } => write!(f, "unknown key `{field}`"),
            DeErrorKind::UnknownVariant { variant, expected } => {
                write!(f, "`{variant}` is not one of: {}", expected.join(", "))
            }
            DeErrorKind::MissingField(field) => write!(f, "`{field}` is missing"),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::msg(msg.to_string())
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self {
            rev_path: Vec::new(),
            kind: DeErrorKind::UnknownField {
                field: field.to_owned(),
                expected,
            },
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self {
            rev_path: Vec::new(),
            kind: DeErrorKind::UnknownVariant {
                variant: variant.to_owned(),
                expected,
            },
        }
    }

    fn missing_field(field: &'static str) -> Self {
        Self {
            rev_path: Vec::new(),
            kind: DeErrorKind::MissingField(field),
        }
    }
}
