//! Naming keys in errors: the absolute key path, where its value came from (a file, an
//! environment variable), and for an unknown key the nearest known one.

use std::fmt;
use std::sync::Arc;

use figment::value::Value;
use figment::{Figment, Metadata, Source};

use super::ENV_PREFIX;
use super::de::{DeError, DeErrorKind};
use super::env::ENV_SOURCE;
use super::redact::is_secret_key;
use crate::error::Error;

/// Where a config section sits: its key path from the configuration's root (`backends.main`,
/// or empty for the top level) and the key the loader focused the file on, if any
/// (`homechoice.ticket`), so keys from a file are named as they are written in it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Place {
    pub(crate) prefix: Vec<String>,
    pub(crate) focus: Option<Arc<str>>,
}

impl Place {
    pub(crate) fn root(focus: Option<Arc<str>>) -> Self {
        Self {
            prefix: Vec::new(),
            focus,
        }
    }

    pub(crate) fn child(&self, key: &str) -> Self {
        let mut prefix = self.prefix.clone();
        prefix.push(key.to_owned());
        Self {
            prefix,
            focus: self.focus.clone(),
        }
    }

    /// The absolute path of `rel` (a path inside this section).
    pub(crate) fn absolute(&self, rel: &[String]) -> Vec<String> {
        self.prefix.iter().chain(rel).cloned().collect()
    }

    /// A `Config` error about the key at `rel` inside `section`, naming the key and the source
    /// of its value: ``config key `backends.main.url` (from tickets.toml) must not be empty``.
    pub(crate) fn error(
        &self,
        section: &Figment,
        rel: &[String],
        problem: impl fmt::Display,
    ) -> Error {
        let origin = origin(section, rel);
        let shown = self.shown(rel, origin.as_ref());
        let from = origin
            .as_ref()
            .map(|o| format!(" ({})", o.describe(&self.absolute(rel))))
            .unwrap_or_default();
        Error::config(format!("config key `{shown}`{from} {problem}"))
    }

    /// The key as the user wrote it: with the focus prefix when it came from a focused file.
    fn shown(&self, rel: &[String], origin: Option<&Origin>) -> String {
        let abs = self.absolute(rel).join(".");
        match (&self.focus, origin) {
            (Some(focus), Some(o)) if o.is_file() => {
                if abs.is_empty() {
                    focus.to_string()
                } else {
                    format!("{focus}.{abs}")
                }
            }
            _ if abs.is_empty() => "(top level)".to_owned(),
            _ => abs,
        }
    }

    /// Turns a deserialization error at `section` into a `Config` error naming the key. The
    /// value of a key whose name says it is secret (see [`is_secret_key`]) is never shown.
    pub(crate) fn de_error(&self, section: &Figment, err: DeError) -> Error {
        let rel = err.path();
        if rel.iter().any(|k| is_secret_key(k)) {
            let problem = match &err.kind {
                DeErrorKind::MissingField(_) => "is missing".to_owned(),
                DeErrorKind::UnknownField { field, expected } => {
                    unknown_problem(field, expected.iter().copied())
                }
                DeErrorKind::UnknownVariant { expected, .. } => format!(
                    "is not one of: {} (the value is not shown: the key's name says it is secret)",
                    expected.join(", ")
                ),
                DeErrorKind::Message(_) => "has a value of the wrong type or form (not shown: \
                                            the key's name says it is secret)"
                    .to_owned(),
            };
            return self.error(section, &rel, problem);
        }
        match &err.kind {
            DeErrorKind::UnknownField { field, expected } => self.error(
                section,
                &rel,
                unknown_problem(field, expected.iter().copied()),
            ),
            DeErrorKind::UnknownVariant { variant, expected } => {
                let hint = nearest(variant, expected.iter().copied())
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                self.error(
                    section,
                    &rel,
                    format!(
                        "is `{variant}`, which is not one of: {}{hint}",
                        expected.join(", ")
                    ),
                )
            }
            DeErrorKind::MissingField(_) => self.error(section, &rel, "is missing"),
            DeErrorKind::Message(m) => self.error(section, &rel, format!("is invalid: {m}")),
        }
    }

    /// Fails on the first key of `dict` (this section's table) that `allowed` does not hold,
    /// naming its source and the nearest allowed key.
    pub(crate) fn check_keys<'k>(
        &self,
        section: &Figment,
        dict: &figment::value::Dict,
        allowed: impl Iterator<Item = &'k str> + Clone,
        what: &str,
    ) -> crate::Result<()> {
        let unknown: Vec<&String> = dict
            .keys()
            .filter(|k| !allowed.clone().any(|a| a == k.as_str()))
            .collect();
        let Some(first) = unknown.first() else {
            return Ok(());
        };
        let mut problem = format!("is not a key {what}");
        let hint = unknown_problem(first, allowed);
        problem.push_str(hint.strip_prefix("is not a known key").unwrap_or(&hint));
        if unknown.len() > 1 {
            let others: Vec<String> = unknown[1..].iter().map(|k| format!("`{k}`")).collect();
            problem.push_str(&format!(" (also unknown here: {})", others.join(", ")));
        }
        Err(self.error(section, &[(*first).clone()], problem))
    }
}

/// "is not a known key; did you mean `retries`?" or "... known keys: a, b".
fn unknown_problem<'k>(field: &str, known: impl Iterator<Item = &'k str> + Clone) -> String {
    match nearest(field, known.clone()) {
        Some(n) => format!("is not a known key; did you mean `{n}`?"),
        None => {
            let mut all: Vec<&str> = known.collect();
            all.sort_unstable();
            if all.is_empty() {
                "is not a known key; this table takes no keys".to_owned()
            } else {
                format!("is not a known key; known keys: {}", all.join(", "))
            }
        }
    }
}

/// Where a value came from.
enum Origin {
    /// A file.
    File(String),
    /// This crate's `TICKETS_*` variables.
    Env,
    /// Another figment provider (an app's own `Env`, `Serialized`, ...): its name and key.
    Other(String),
    /// The key is missing; this is where the table holding it came from.
    Parent(Box<Origin>, Vec<String>),
}

impl Origin {
    fn is_file(&self) -> bool {
        match self {
            Origin::File(_) => true,
            Origin::Parent(o, _) => o.is_file(),
            _ => false,
        }
    }

    fn describe(&self, abs: &[String]) -> String {
        match self {
            Origin::File(path) => format!("from {path}"),
            Origin::Env => format!("from environment variable {}", env_var(abs)),
            Origin::Other(name) => format!("from {name}"),
            Origin::Parent(o, parent) => match &**o {
                Origin::File(path) => format!("in {path}"),
                Origin::Env => format!("among the {}__* environment variables", env_var(parent)),
                Origin::Other(name) => format!("in {name}"),
                Origin::Parent(..) => String::new(),
            },
        }
    }
}

/// `TICKETS_BACKENDS__MAIN__TOKEN` for `backends.main.token`.
pub(crate) fn env_var(abs: &[String]) -> String {
    format!("{ENV_PREFIX}{}", abs.join("__").to_ascii_uppercase())
}

fn origin(section: &Figment, rel: &[String]) -> Option<Origin> {
    let found = |path: &[String]| -> Option<&Metadata> {
        if path.is_empty() {
            return None;
        }
        section.find_metadata(&path.join("."))
    };
    let of = |meta: &Metadata| -> Origin {
        match &meta.source {
            Some(Source::File(p)) => Origin::File(p.display().to_string()),
            _ if meta.name == ENV_SOURCE => Origin::Env,
            _ => Origin::Other(meta.name.to_string()),
        }
    };
    if let Some(meta) = found(rel) {
        return Some(of(meta));
    }
    (1..rel.len()).rev().find_map(|n| {
        found(&rel[..n]).map(|meta| Origin::Parent(Box::new(of(meta)), rel[..n].to_vec()))
    })
}

/// Where the value at `key` (inside `section`, at `place`) came from, for messages.
pub(crate) fn source_text(section: &Figment, place: &Place, rel: &[String]) -> Option<String> {
    origin(section, rel).map(|o| o.describe(&place.absolute(rel)))
}

/// The known key nearest to `typed`, if one is near enough to be a likely typo: within an
/// edit distance of about a third of its length (a swap of two letters counts as one edit),
/// or the same words with one added or left out (`timeout` for `timeout_secs`).
pub(crate) fn nearest<'k>(typed: &str, known: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    let typed_l = typed.to_ascii_lowercase();
    let limit = 1 + typed.chars().count() / 3;
    known
        .filter_map(|k| {
            let kl = k.to_ascii_lowercase();
            let d = distance(&typed_l, &kl);
            let words = kl.starts_with(&format!("{typed_l}_"))
                || typed_l.starts_with(&format!("{kl}_"))
                || kl.ends_with(&format!("_{typed_l}"));
            (d <= limit || words).then_some((d, k))
        })
        .min_by_key(|(d, k)| (*d, *k))
        .map(|(_, k)| k)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters, each one edit.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[n][m]
}

/// The keys a `#[derive(Deserialize)]` struct reads (its serde field names, renames applied),
/// found by asking its `Deserialize` impl; `None` for types that do not deserialize as a plain
/// struct (maps, `#[serde(flatten)]`, hand-written impls).
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Section { url: String, #[serde(rename = "max")] max_connections: u32 }
/// assert_eq!(tickets_core::config::struct_keys::<Section>(), Some(&["url", "max"][..]));
/// ```
pub fn struct_keys<T: serde::de::DeserializeOwned>() -> Option<&'static [&'static str]> {
    use serde::de::{self, Visitor};

    #[derive(Debug)]
    struct Found(Option<&'static [&'static str]>);
    impl fmt::Display for Found {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("struct keys probe")
        }
    }
    impl std::error::Error for Found {}
    impl de::Error for Found {
        fn custom<M: fmt::Display>(_: M) -> Self {
            Found(None)
        }
    }

    struct Probe;
    impl<'de> de::Deserializer<'de> for Probe {
        type Error = Found;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
            Err(Found(None))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Found> {
            Err(Found(Some(fields)))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    match T::deserialize(Probe) {
        Err(Found(found)) => found,
        Ok(_) => None,
    }
}

/// Turns a figment error into a `Config` error naming the key (without figment's profile
/// prefix) and its source.
pub(crate) fn figment_error(err: figment::Error) -> Error {
    let messages: Vec<String> = err
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let source = e.metadata.as_ref().map(|m| match &m.source {
                Some(Source::File(p)) => format!(" (from {})", p.display()),
                _ if m.name == ENV_SOURCE => {
                    format!(" (from environment variable {})", env_var(&e.path))
                }
                _ => format!(" (from {})", m.name),
            });
            if key.is_empty() {
                format!("{}{}", e.kind, source.unwrap_or_default())
            } else {
                format!(
                    "config key `{key}`{} is invalid: {}",
                    source.unwrap_or_default(),
                    e.kind
                )
            }
        })
        .collect();
    Error::config(messages.join("; "))
}

/// Reads one value at `rel` of `section` as `T`, naming the key on failure.
pub(crate) fn read<T: serde::de::DeserializeOwned>(
    section: &Figment,
    place: &Place,
    value: &Value,
    rel: &[String],
) -> crate::Result<T> {
    super::de::from_value(value).map_err(|mut e| {
        // The error was raised inside the value at `rel`.
        for segment in rel.iter().rev() {
            e = e.at(segment.clone());
        }
        place.de_error(section, e)
    })
}
