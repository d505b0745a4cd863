//! Configuration through figment: built-in defaults, then a file, then `TICKETS_*` variables.
//!
//! ```toml
//! default = "main"                 # the backend call sites use
//! [backends.main]
//! provider = "sync"
//! local = "db"
//! remote = "tracker"
//! [backends.db]
//! provider = "internal"
//! url = "sqlite://tickets.db"
//! [backends.tracker]
//! provider = "asana"
//! token = "..."                    # better: TICKETS_BACKENDS__TRACKER__TOKEN
//! project = "1209000000000000"
//! ```
//!
//! Shorthand: `provider = "asana"` at the top level, with that provider's keys beside it, is one
//! backend named `default` (`TICKETS_PROVIDER=asana TICKETS_TOKEN=... TICKETS_PROJECT=...`).
//! With no file and no variables at all, the one backend is the embedded default (internal
//! SQLite when linked, else memory).
//!
//! The configuration is strict and reads the same from every source:
//!
//! - every key must be known: the top level takes `default`, `backends` and (shorthand)
//!   `provider`; a backend section takes `provider`, `layers` and its provider's own keys
//!   (declared by its [`ProviderFactory`](crate::ProviderFactory)); nested tables (`layers`,
//!   `workflow`, ...) take their own. An unknown key is an error naming it, where it came from
//!   and the nearest known key (`retires`: did you mean `retries`?);
//! - environment values are text, parsed by the field that reads them: `TICKETS_VERSION=1.0`
//!   stays `"1.0"` for a text field and is `1.0` for a number field (see [`EnvProvider`]);
//!   text fields also take whole numbers (ids may be written as numbers);
//! - errors name keys by their absolute path (`backends.main.max_connections`) and their
//!   source (a file path, or the variable `TICKETS_BACKENDS__MAIN__MAX_CONNECTIONS`);
//! - two config files side by side in the working directory are an error naming both.
//!
//! `Debug` of [`Config`] and [`BackendSpec`] shows names, kinds, key names and where each key
//! came from, never a value. [`Config::redacted`] shows values with secrets hidden.

mod de;
mod env;
mod helpers;
mod keys;
mod loader;
mod redact;
mod spec;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use figment::Figment;
use figment::value::{Dict, Value};

use crate::error::{Error, Result};
pub(crate) use keys::Place;

pub use env::{EnvProvider, NOT_CONFIG, NOT_CONFIG_PREFIXES};
pub use helpers::{check_range, opt_string_or_number, string_or_number};
pub(crate) use keys::figment_error;
pub use keys::struct_keys;
pub use loader::{ConfigLoader, env_provider};
pub use redact::{SECRET_WORDS, is_secret_key, redact_url_password};
pub use spec::BackendSpec;

/// Files looked for in the working directory when `TICKETS_CONFIG` is not set. Only one of
/// them may exist.
pub const DEFAULT_FILES: [&str; 4] = [
    "tickets.toml",
    "tickets.yaml",
    "tickets.yml",
    "tickets.json",
];

/// The environment prefix.
pub const ENV_PREFIX: &str = "TICKETS_";

/// The name of the backend the shorthand form (and an empty config) defines.
pub const DEFAULT_BACKEND: &str = "default";

/// Keys every backend section may carry besides its provider's own: `provider` and `layers`.
pub const RESERVED_KEYS: [&str; 2] = ["provider", "layers"];

/// Keys of the configuration's top level besides a shorthand backend's own.
pub const TOP_KEYS: [&str; 2] = ["default", "backends"];

/// Configuration read and checked: named backends and which one is the default.
#[derive(Clone)]
pub struct Config {
    figment: Figment,
    focus: Option<Arc<str>>,
    default: Option<String>,
    backends: BTreeMap<String, BackendSpec>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("focus", &self.focus)
            .field("default", &self.default)
            .field("backends", &self.backends.values().collect::<Vec<_>>())
            .finish()
    }
}

impl Config {
    /// Reads the structure of a figment: `default`, `[backends.*]`, or the shorthand.
    pub fn from_figment(figment: Figment) -> Result<Self> {
        Self::read(figment, None)
    }

    fn read(figment: Figment, focus: Option<Arc<str>>) -> Result<Self> {
        let root_place = Place::root(focus.clone());
        let root = match figment.find_value("") {
            Ok(Value::Dict(_, d)) => d,
            Ok(_) => Dict::new(),
            Err(e) => return Err(keys::figment_error(e)),
        };
        let string_at = |key: &str| -> Result<Option<String>> {
            root.get(key)
                .map(|v| keys::read::<String>(&figment, &root_place, v, &[key.to_owned()]))
                .transpose()
        };
        let default = string_at("default")?;
        let shorthand = string_at("provider")?;
        let mut backends = BTreeMap::new();

        if let Some(value) = root.get("backends") {
            let Value::Dict(_, dict) = value else {
                return Err(root_place.error(
                    &figment,
                    &["backends".into()],
                    "must be a table of named backends ([backends.NAME])",
                ));
            };
            for (name, section) in dict {
                let rel = ["backends".to_owned(), name.clone()];
                check_name(&figment, &root_place, name)?;
                let Value::Dict(_, keys) = section else {
                    return Err(root_place.error(
                        &figment,
                        &rel,
                        "must be a table of the backend's keys (provider = \"...\", ...)",
                    ));
                };
                let place = root_place.child("backends").child(name);
                let provider = match keys.get("provider") {
                    Some(v) => keys::read::<String>(
                        &figment,
                        &root_place,
                        v,
                        &[rel[0].clone(), rel[1].clone(), "provider".into()],
                    )?,
                    None => {
                        return Err(root_place.error(
                            &figment,
                            &[rel[0].clone(), rel[1].clone(), "provider".into()],
                            "is missing; say which provider serves this backend (e.g. provider = \"internal\")",
                        ));
                    }
                };
                backends.insert(
                    name.clone(),
                    BackendSpec {
                        name: name.clone(),
                        provider,
                        figment: figment.focus(&format!("backends.{name}")),
                        place,
                        extra_keys: &[],
                    },
                );
            }
        }

        if let Some(provider) = shorthand {
            if backends.contains_key(DEFAULT_BACKEND) {
                return Err(root_place.error(
                    &figment,
                    &["provider".into()],
                    "defines (as the top-level shorthand) the backend \"default\", which \
                     [backends.default] defines too; keep one",
                ));
            }
            backends.insert(
                DEFAULT_BACKEND.to_owned(),
                BackendSpec {
                    name: DEFAULT_BACKEND.to_owned(),
                    provider,
                    figment: figment.clone(),
                    place: root_place.clone(),
                    extra_keys: &TOP_KEYS,
                },
            );
        } else if !backends.is_empty() {
            // No shorthand: the top level holds only `default` and `backends`.
            root_place.check_keys(
                &figment,
                &root,
                TOP_KEYS.iter().copied().chain(["provider"]),
                "of the top level (a backend's keys go under [backends.NAME], or beside \
                 provider = \"...\" for the one-backend shorthand)",
            )?;
        }

        if let Some(name) = &default
            && !backends.is_empty()
            && !backends.contains_key(name)
        {
            return Err(root_place.error(
                &figment,
                &["default".into()],
                format!(
                    "names backend {name:?}, which is not configured; configured: {}",
                    backends.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        Ok(Self {
            figment,
            focus,
            default,
            backends,
        })
    }

    /// Reads the default sources (see [`ConfigLoader::new`]).
    pub fn load() -> Result<Self> {
        ConfigLoader::new().load()
    }

    /// True when nothing configures a backend, so the embedded default applies.
    pub fn is_empty(&self) -> bool {
        self.backends.is_empty()
    }

    /// Adds the embedded default backend when nothing is configured; the top level's keys
    /// (`TICKETS_URL=...`, say) are then its keys.
    pub fn with_fallback(mut self, provider: &str) -> Self {
        if self.backends.is_empty() {
            self.backends.insert(
                DEFAULT_BACKEND.to_owned(),
                BackendSpec {
                    name: DEFAULT_BACKEND.to_owned(),
                    provider: provider.to_owned(),
                    figment: self.figment.clone(),
                    place: Place::root(self.focus.clone()),
                    extra_keys: &TOP_KEYS,
                },
            );
        }
        self
    }

    /// The default backend's name: `default` if set, else the only backend, else the one named
    /// `default`.
    pub fn default_name(&self) -> Result<String> {
        if let Some(name) = &self.default {
            return Ok(name.clone());
        }
        if self.backends.len() == 1 {
            return Ok(self.backends.keys().next().cloned().unwrap_or_default());
        }
        if self.backends.contains_key(DEFAULT_BACKEND) {
            return Ok(DEFAULT_BACKEND.to_owned());
        }
        Err(Error::config(format!(
            "several backends are configured ({}) but none is the default; set `default = \"NAME\"` (or TICKETS_DEFAULT)",
            self.backends.keys().cloned().collect::<Vec<_>>().join(", ")
        )))
    }

    /// A backend by name.
    pub fn backend(&self, name: &str) -> Result<&BackendSpec> {
        self.backends.get(name).ok_or_else(|| {
            Error::config(format!(
                "backend {name:?} is not configured; configured: {}",
                if self.backends.is_empty() {
                    "none".to_owned()
                } else {
                    self.backends.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            ))
        })
    }

    /// All backends, sorted by name.
    pub fn backends(&self) -> impl Iterator<Item = &BackendSpec> {
        self.backends.values()
    }

    /// The whole figment (its `Debug` shows values, secrets included: do not print it).
    pub fn figment(&self) -> &Figment {
        &self.figment
    }

    /// The effective configuration as JSON with every secret replaced by `"***"` (keys that name
    /// tokens, passwords, secrets or keys; passwords inside URLs).
    pub fn redacted(&self) -> serde_json::Value {
        let mut json = self
            .figment
            .extract::<serde_json::Value>()
            .unwrap_or_else(|_| serde_json::json!({}));
        redact::redact(&mut json, None);
        json
    }

    /// Checks everything that can be checked without building a backend: each backend's kind
    /// is registered, its keys are known to its provider (where the provider declares them)
    /// and its `layers` table is valid. Building checks the same, backend by backend; this
    /// finds a mistake in any backend before the first one is built.
    pub fn validate(&self, registry: &crate::Registry) -> Result<()> {
        for spec in self.backends.values() {
            let factory = registry
                .get(&spec.provider)
                .map_err(|e| e.with_context("backend", &spec.name))?;
            if let Some(keys) = factory.keys {
                spec.check_keys(keys, factory.kind)?;
            }
            crate::layers::LayerConfig::from_spec(spec)?;
        }
        Ok(())
    }
}

fn check_name(figment: &Figment, place: &Place, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(place.error(
            figment,
            &["backends".into(), name.into()],
            "is not a valid backend name: names may hold only letters, digits, '_' and '-'",
        ))
    }
}

/// Where the value at `key` (dotted, from the root) of `figment` came from: `from
/// tickets.toml`, `from environment variable TICKETS_DEFAULT`, ...
pub fn source_of(figment: &Figment, key: &str) -> Option<String> {
    let rel: Vec<String> = key.split('.').map(str::to_owned).collect();
    keys::source_text(figment, &Place::default(), &rel)
}
