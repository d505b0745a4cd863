//! One configured backend: its section, read and checked with keys named by absolute path and
//! source.

use std::fmt;

use figment::Figment;
use figment::value::{Dict, Value};
use serde::de::DeserializeOwned;

use super::RESERVED_KEYS;
use super::keys::{self, Place};
use crate::error::{Error, Result};

/// One configured backend: its name, provider kind and config section.
#[derive(Clone)]
pub struct BackendSpec {
    /// The backend's name.
    pub name: String,
    /// The provider kind.
    pub provider: String,
    /// Its section, focused (its `Debug` shows values: do not print it).
    pub figment: Figment,
    pub(super) place: Place,
    /// Keys of the section besides reserved and provider keys (the top level's, for the
    /// shorthand).
    pub(super) extra_keys: &'static [&'static str],
}

impl fmt::Debug for BackendSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendSpec")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("path", &self.path())
            .field("keys", &KeySources(self))
            .finish()
    }
}

/// `{key: "from tickets.toml", ...}`: names and sources, no values.
struct KeySources<'a>(&'a BackendSpec);

impl fmt::Debug for KeySources<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spec = self.0;
        let mut map = f.debug_map();
        if let Ok(dict) = spec.dict() {
            for key in dict.keys() {
                let rel = [key.clone()];
                let source = keys::source_text(&spec.figment, &spec.place, &rel)
                    .unwrap_or_else(|| "source unknown".into());
                map.entry(key, &source);
            }
        }
        map.finish()
    }
}

impl BackendSpec {
    /// A spec for a section that is not part of a [`Config`](super::Config) (a provider building a backend
    /// of its own from part of its section): keys are named relative to it.
    pub fn inline(name: impl Into<String>, provider: impl Into<String>, figment: Figment) -> Self {
        Self {
            name: name.into(),
            provider: provider.into(),
            figment,
            place: Place::default(),
            extra_keys: &[],
        }
    }

    /// The section's key path from the configuration's root (`backends.main`; empty for the
    /// shorthand at the top level).
    pub fn path(&self) -> String {
        self.place.prefix.join(".")
    }

    fn dict(&self) -> Result<Dict> {
        match self.figment.find_value("") {
            Ok(Value::Dict(_, d)) => Ok(d),
            Ok(_) => Ok(Dict::new()),
            Err(e) => Err(keys::figment_error(e)),
        }
    }

    /// The section's keys, sorted.
    pub fn keys(&self) -> Result<Vec<String>> {
        Ok(self.dict()?.into_keys().collect())
    }

    /// Fails on a key of the section that is neither reserved (`provider`, `layers`) nor one of
    /// `allowed`, naming it, its source and the nearest allowed key. `kind` names the provider
    /// in the message.
    pub fn check_keys(&self, allowed: &[&str], kind: &str) -> Result<()> {
        let dict = self.dict()?;
        let all = RESERVED_KEYS
            .iter()
            .chain(self.extra_keys)
            .chain(allowed)
            .copied();
        self.place
            .check_keys(&self.figment, &dict, all, &format!("of `{kind}` backends"))
    }

    /// Reads the whole section (minus `provider`, `layers` and top-level keys) as `T`.
    pub fn read<T: DeserializeOwned>(&self) -> Result<T> {
        let mut dict = self.dict()?;
        for key in RESERVED_KEYS.iter().chain(self.extra_keys) {
            dict.remove(*key);
        }
        keys::read(&self.figment, &self.place, &Value::from(dict), &[])
    }

    /// Reads the value at `key` (dotted) as `T`; `None` when it is not set.
    pub fn read_key<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let rel: Vec<String> = key.split('.').map(str::to_owned).collect();
        match self.figment.find_value(key) {
            Ok(value) => keys::read(&self.figment, &self.place, &value, &rel).map(Some),
            Err(e) if e.missing() => Ok(None),
            Err(e) => Err(keys::figment_error(e)),
        }
    }

    /// A `Config` error for the key at `key` (dotted, inside this section): names its absolute
    /// path and where its value came from.
    pub fn key_error(&self, key: &str, problem: impl fmt::Display) -> Error {
        let rel: Vec<String> = key.split('.').map(str::to_owned).collect();
        self.place.error(&self.figment, &rel, problem)
    }

    /// Where the value at `key` (dotted, inside this section) came from: `from tickets.toml`,
    /// `from environment variable TICKETS_BACKENDS__MAIN__TOKEN`, ...
    pub fn source_of(&self, key: &str) -> Option<String> {
        let rel: Vec<String> = key.split('.').map(str::to_owned).collect();
        keys::source_text(&self.figment, &self.place, &rel)
    }
}
