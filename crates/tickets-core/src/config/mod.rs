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
mod keys;
mod redact;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use figment::Figment;
use figment::providers::{Format, Json, Toml, Yaml};
use figment::value::{Dict, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};
pub(crate) use keys::Place;

pub use env::{EnvProvider, NOT_CONFIG, NOT_CONFIG_PREFIXES};
pub(crate) use keys::figment_error;
pub use keys::struct_keys;
pub use redact::{SECRET_WORDS, is_secret_key, redact_url_password};

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

/// Where configuration comes from, and how to read it.
///
/// ```no_run
/// # fn main() -> tickets_core::Result<()> {
/// // tickets.toml (or $TICKETS_CONFIG) + TICKETS_* env:
/// let config = tickets_core::ConfigLoader::new().load()?;
/// // an app's own file with the tickets section under a key:
/// let config = tickets_core::ConfigLoader::new().file("app.yaml").focus("homechoice.ticket").load()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct ConfigLoader {
    file: Option<PathBuf>,
    dir: Option<PathBuf>,
    focus: Option<String>,
    env: Option<EnvProvider>,
    named_by_env: bool,
    no_env: bool,
}

impl fmt::Debug for ConfigLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigLoader")
            .field("file", &self.file)
            .field("dir", &self.dir)
            .field("focus", &self.focus)
            .field("env", &self.env)
            .field("no_env", &self.no_env)
            .finish()
    }
}

impl ConfigLoader {
    /// The default sources: the file named by `TICKETS_CONFIG`, else the one of
    /// [`DEFAULT_FILES`] in the working directory, then `TICKETS_*` variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads this file instead (it must exist). TOML, YAML or JSON by extension.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }

    /// Looks for [`DEFAULT_FILES`] in this directory instead of the working directory.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Takes the tickets configuration from under this (dotted) key of the file, as an app that
    /// keeps it inside its own config does (`homechoice.ticket`).
    pub fn focus(mut self, key: impl Into<String>) -> Self {
        self.focus = Some(key.into());
        self
    }

    /// Ignores `TICKETS_*` variables (for tests).
    pub fn without_env(mut self) -> Self {
        self.no_env = true;
        self
    }

    /// Reads these variables instead of the process environment (for tests and embedding);
    /// `TICKETS_CONFIG` among them names the file.
    pub fn env_vars<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<std::ffi::OsString>,
        V: Into<std::ffi::OsString>,
    {
        let vars: Vec<(std::ffi::OsString, std::ffi::OsString)> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        if self.file.is_none()
            && let Some((_, path)) = vars.iter().find(|(k, _)| k == "TICKETS_CONFIG")
        {
            self.file = Some(PathBuf::from(path));
            self.named_by_env = true;
        }
        self.env = Some(EnvProvider::from_vars(vars));
        self
    }

    fn config_file(&self) -> Result<Option<(PathBuf, &'static str)>> {
        if let Some(path) = &self.file {
            let named_by = if self.named_by_env {
                "TICKETS_CONFIG"
            } else {
                "--config"
            };
            return Ok(Some((path.clone(), named_by)));
        }
        if !self.no_env
            && self.env.is_none()
            && let Some(p) = std::env::var_os("TICKETS_CONFIG")
        {
            return Ok(Some((PathBuf::from(p), "TICKETS_CONFIG")));
        }
        let dir = self.dir.clone().unwrap_or_default();
        let found: Vec<PathBuf> = DEFAULT_FILES
            .iter()
            .map(|name| dir.join(name))
            .filter(|p| p.is_file())
            .collect();
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some((one.clone(), "the working directory"))),
            several => Err(Error::config(format!(
                "found {} config files side by side: {}; keep one (or name the one to read with \
                 TICKETS_CONFIG or --config)",
                several.len(),
                several
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))),
        }
    }

    /// The merged figment, before it is read as a [`Config`].
    pub fn figment(&self) -> Result<Figment> {
        let mut figment = Figment::new();
        if let Some((path, named_by)) = self.config_file()? {
            if !path.is_file() {
                return Err(Error::config(format!(
                    "config file {} does not exist (named by {named_by})",
                    path.display(),
                )));
            }
            figment = figment.merge(file_provider(&path)?);
        }
        if let Some(key) = &self.focus {
            figment = figment.focus(key);
        }
        if !self.no_env {
            figment = figment.merge(self.env.clone().unwrap_or_default());
        }
        Ok(figment)
    }

    /// Reads the configuration.
    pub fn load(&self) -> Result<Config> {
        Config::read(self.figment()?, self.focus.as_deref().map(Arc::from))
    }
}

fn file_provider(path: &Path) -> Result<Figment> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let figment = match ext.as_str() {
        "toml" => Figment::from(Toml::file_exact(path)),
        "yaml" | "yml" => Figment::from(Yaml::file_exact(path)),
        "json" => Figment::from(Json::file_exact(path)),
        _ => {
            return Err(Error::config(format!(
                "config file {} has an unknown extension; use .toml, .yaml, .yml or .json",
                path.display()
            )));
        }
    };
    Ok(figment)
}

/// `TICKETS_*` variables as a figment provider, every value kept as text (see
/// [`EnvProvider`]). Merge it after an app's own file to configure tickets the way
/// [`ConfigLoader`] does.
pub fn env_provider() -> EnvProvider {
    EnvProvider::new()
}

/// One configured backend: its name, provider kind and config section.
#[derive(Clone)]
pub struct BackendSpec {
    /// The backend's name.
    pub name: String,
    /// The provider kind.
    pub provider: String,
    /// Its section, focused (its `Debug` shows values: do not print it).
    pub figment: Figment,
    place: Place,
    /// Keys of the section besides reserved and provider keys (the top level's, for the
    /// shorthand).
    extra_keys: &'static [&'static str],
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
    /// A spec for a section that is not part of a [`Config`] (a provider building a backend
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
