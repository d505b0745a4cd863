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

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Json, Toml, Yaml};
use figment::value::Value;
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// Files looked for in the working directory when `TICKETS_CONFIG` is not set, in this order.
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
#[derive(Debug, Clone, Default)]
pub struct ConfigLoader {
    file: Option<PathBuf>,
    focus: Option<String>,
    no_env: bool,
}

impl ConfigLoader {
    /// The default sources: the file named by `TICKETS_CONFIG`, else the first of
    /// [`DEFAULT_FILES`] in the working directory, then `TICKETS_*` variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads this file instead (it must exist). TOML, YAML or JSON by extension.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
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

    /// The merged figment, before it is read as a [`Config`].
    pub fn figment(&self) -> Result<Figment> {
        let file = match &self.file {
            Some(path) => Some(path.clone()),
            None => match std::env::var_os("TICKETS_CONFIG") {
                Some(p) if !self.no_env => Some(PathBuf::from(p)),
                _ => DEFAULT_FILES
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.is_file()),
            },
        };
        let mut figment = Figment::new();
        if let Some(path) = &file {
            if !path.is_file() {
                return Err(Error::config(format!(
                    "config file {} does not exist (named by {})",
                    path.display(),
                    if self.file.is_some() {
                        "--config"
                    } else {
                        "TICKETS_CONFIG"
                    }
                )));
            }
            figment = figment.merge(file_provider(path)?);
        }
        if let Some(key) = &self.focus {
            figment = figment.focus(key);
        }
        if !self.no_env {
            figment = figment.merge(env_provider());
        }
        Ok(figment)
    }

    /// Reads the configuration.
    pub fn load(&self) -> Result<Config> {
        Config::from_figment(self.figment()?)
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

/// `TICKETS_*` variables, split on `__` into nested keys, minus the ones that steer the loader
/// or the test suites rather than configure backends.
pub fn env_provider() -> Env {
    Env::prefixed(ENV_PREFIX).split("__").filter(|key| {
        let key = key.as_str();
        key != "config" && key != "log" && !key.starts_with("test_")
    })
}

/// One configured backend: its name, provider kind and config section.
#[derive(Debug, Clone)]
pub struct BackendSpec {
    /// The backend's name.
    pub name: String,
    /// The provider kind.
    pub provider: String,
    /// Its section, focused.
    pub figment: Figment,
}

/// Configuration read and checked: named backends and which one is the default.
#[derive(Debug, Clone)]
pub struct Config {
    figment: Figment,
    default: Option<String>,
    backends: BTreeMap<String, BackendSpec>,
}

impl Config {
    /// Reads the structure of a figment: `default`, `[backends.*]`, or the shorthand.
    pub fn from_figment(figment: Figment) -> Result<Self> {
        let mut backends = BTreeMap::new();
        let default = optional_string(&figment, "default")?;

        if let Ok(value) = figment.find_value("backends") {
            let Some(dict) = value.as_dict() else {
                return Err(key_error(
                    &figment,
                    "",
                    "backends",
                    "must be a table of named backends",
                ));
            };
            for name in dict.keys() {
                check_name(&figment, name)?;
                let section = figment.clone().focus(&format!("backends.{name}"));
                let provider = optional_string(&section, "provider")?.ok_or_else(|| {
                    key_error(&figment, "", &format!("backends.{name}.provider"),
                        "is missing; say which provider serves this backend (e.g. provider = \"internal\")")
                })?;
                backends.insert(
                    name.clone(),
                    BackendSpec {
                        name: name.clone(),
                        provider,
                        figment: section,
                    },
                );
            }
        }

        if let Some(provider) = optional_string(&figment, "provider")? {
            if backends.contains_key(DEFAULT_BACKEND) {
                return Err(key_error(
                    &figment,
                    "",
                    "provider",
                    "the top-level shorthand defines the backend \"default\", which [backends.default] defines too; keep one",
                ));
            }
            backends.insert(
                DEFAULT_BACKEND.to_owned(),
                BackendSpec {
                    name: DEFAULT_BACKEND.to_owned(),
                    provider,
                    figment: figment.clone(),
                },
            );
        }

        if let Some(name) = &default
            && !backends.is_empty()
            && !backends.contains_key(name)
        {
            return Err(key_error(
                &figment,
                "",
                "default",
                format!(
                    "names backend {name:?}, which is not configured; configured: {}",
                    backends.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        Ok(Self {
            figment,
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

    /// Adds the embedded default backend when nothing is configured.
    pub fn with_fallback(mut self, provider: &str) -> Self {
        if self.backends.is_empty() {
            self.backends.insert(
                DEFAULT_BACKEND.to_owned(),
                BackendSpec {
                    name: DEFAULT_BACKEND.to_owned(),
                    provider: provider.to_owned(),
                    figment: self.figment.clone(),
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

    /// The whole figment.
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
        redact(&mut json, None);
        json
    }
}

fn check_name(figment: &Figment, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(key_error(
            figment,
            "",
            &format!("backends.{name}"),
            "backend names may hold only letters, digits, '_' and '-'",
        ))
    }
}

fn optional_string(figment: &Figment, key: &str) -> Result<Option<String>> {
    match figment.find_value(key) {
        Err(_) => Ok(None),
        Ok(Value::String(_, s)) => Ok(Some(s)),
        Ok(Value::Num(_, n)) => Ok(Some(number_to_string(n))),
        Ok(_) => Err(key_error(figment, "", key, "must be a string")),
    }
}

fn number_to_string(n: figment::value::Num) -> String {
    match n.to_u128() {
        Some(u) => u.to_string(),
        None => n
            .to_i128()
            .map(|i| i.to_string())
            .or_else(|| n.to_f64().map(|f| f.to_string()))
            .unwrap_or_default(),
    }
}

/// Where a key's value came from, for error messages: a file path, an env var name, or
/// "the defaults".
pub fn source_of(figment: &Figment, key: &str) -> Option<String> {
    let meta = figment.find_metadata(key)?;
    let path: Vec<&str> = key.split('.').collect();
    match &meta.source {
        Some(figment::Source::File(path_buf)) => Some(path_buf.display().to_string()),
        _ if meta.name.contains("environment") => {
            let named = meta
                .interpolate(figment.profile(), &path)
                .replace('.', "__")
                .to_ascii_uppercase();
            let var = if named.starts_with(ENV_PREFIX) {
                named
            } else {
                format!("{ENV_PREFIX}{named}")
            };
            Some(format!("environment variable {var}"))
        }
        _ => Some(meta.name.to_string()),
    }
}

/// A `Config` error naming the key (inside backend `backend`, if any) and its source.
pub fn key_error(figment: &Figment, backend: &str, key: &str, problem: impl fmt::Display) -> Error {
    let shown = if backend.is_empty() || backend == DEFAULT_BACKEND {
        key.to_owned()
    } else {
        format!("backends.{backend}.{key}")
    };
    let source = source_of(figment, key)
        .map(|s| format!(" (from {s})"))
        .unwrap_or_default();
    Error::config(format!("config key `{shown}`{source} {problem}"))
}

const SECRET_WORDS: [&str; 6] = [
    "token",
    "password",
    "secret",
    "api_key",
    "private_key",
    "credential",
];

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| key.contains(w))
}

fn redact(value: &mut serde_json::Value, key: Option<&str>) {
    use serde_json::Value as J;
    if key.is_some_and(is_secret_key) && !value.is_null() && !value.is_object() {
        *value = J::String("***".into());
        return;
    }
    match value {
        J::Object(map) => {
            for (k, v) in map.iter_mut() {
                redact(v, Some(k));
            }
        }
        J::Array(items) => items.iter_mut().for_each(|v| redact(v, key)),
        J::String(s) => *s = redact_url_password(s),
        _ => {}
    }
}

/// `postgres://user:pw@host/db` -> `postgres://user:***@host/db`.
pub fn redact_url_password(s: &str) -> String {
    let Some(scheme_end) = s.find("://") else {
        return s.to_owned();
    };
    let rest = &s[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return s.to_owned();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return s.to_owned();
    };
    format!(
        "{}://{}:***{}",
        &s[..scheme_end],
        &userinfo[..colon],
        &rest[at..]
    )
}

/// Deserializes a string that may have been written as a number (`project = 1209000000000000`,
/// or any all-digit env value). Use with `#[serde(deserialize_with = "...")]`.
pub fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        U(u64),
        I(i64),
        F(f64),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::S(s) => s,
        Raw::U(u) => u.to_string(),
        Raw::I(i) => i.to_string(),
        Raw::F(f) => f.to_string(),
    })
}

/// [`string_or_number`] for `Option<String>` fields.
pub fn opt_string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "string_or_number")] String);
    Ok(Option::<Wrap>::deserialize(deserializer)?.map(|w| w.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn empty_config_has_no_backends() {
        Jail::expect_with(|_jail| {
            let config = ConfigLoader::new().load().unwrap();
            assert!(config.is_empty());
            let config = config.with_fallback("memory");
            assert_eq!(config.default_name().unwrap(), "default");
            assert_eq!(config.backend("default").unwrap().provider, "memory");
            Ok(())
        });
    }

    #[test]
    fn named_backends_from_file_and_env() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "tickets.toml",
                r#"
                default = "main"
                [backends.main]
                provider = "memory"
                [backends.tracker]
                provider = "asana"
                project = 1209000000000000
                "#,
            )?;
            jail.set_env("TICKETS_BACKENDS__TRACKER__TOKEN", "s3cr3t");
            let config = ConfigLoader::new().load().unwrap();
            assert_eq!(config.default_name().unwrap(), "main");
            let tracker = config.backend("tracker").unwrap();
            assert_eq!(tracker.provider, "asana");
            let token: String = tracker.figment.extract_inner("token").unwrap();
            assert_eq!(token, "s3cr3t");
            let redacted = config.redacted().to_string();
            assert!(!redacted.contains("s3cr3t"), "{redacted}");
            Ok(())
        });
    }

    #[test]
    fn shorthand_from_env_only() {
        Jail::expect_with(|jail| {
            jail.set_env("TICKETS_PROVIDER", "asana");
            jail.set_env("TICKETS_PROJECT", "1209000000000000");
            let config = ConfigLoader::new().load().unwrap();
            assert_eq!(config.default_name().unwrap(), "default");
            let spec = config.backend("default").unwrap();
            assert_eq!(spec.provider, "asana");
            #[derive(Deserialize)]
            struct Section {
                #[serde(deserialize_with = "string_or_number")]
                project: String,
            }
            let s: Section = spec.figment.extract().unwrap();
            assert_eq!(s.project, "1209000000000000");
            Ok(())
        });
    }

    #[test]
    fn seed_layout_under_a_focus_key() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "app.yaml",
                "homechoice:\n  ticket:\n    provider: sync\n    asana_project: \"1209\"\n",
            )?;
            let config = ConfigLoader::new()
                .file("app.yaml")
                .focus("homechoice.ticket")
                .load()
                .unwrap();
            let spec = config.backend("default").unwrap();
            assert_eq!(spec.provider, "sync");
            let p: String = spec.figment.extract_inner("asana_project").unwrap();
            assert_eq!(p, "1209");
            Ok(())
        });
    }

    #[test]
    fn errors_name_key_and_source() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "tickets.toml",
                "default = \"nope\"\n[backends.a]\nprovider = \"memory\"\n",
            )?;
            let err = ConfigLoader::new().load().unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("`default`"), "{msg}");
            assert!(msg.contains("tickets.toml"), "{msg}");
            assert!(msg.contains("\"nope\""), "{msg}");

            jail.create_file("tickets.toml", "[backends.a]\nurl = \"x\"\n")?;
            let msg = ConfigLoader::new().load().unwrap_err().to_string();
            assert!(msg.contains("backends.a.provider"), "{msg}");

            jail.create_file("tickets.toml", "")?;
            jail.set_env("TICKETS_DEFAULT", "ghost");
            jail.set_env("TICKETS_BACKENDS__A__PROVIDER", "memory");
            let msg = ConfigLoader::new().load().unwrap_err().to_string();
            assert!(msg.contains("TICKETS_DEFAULT"), "{msg}");
            Ok(())
        });
    }

    #[test]
    fn missing_named_file_is_an_error() {
        Jail::expect_with(|jail| {
            jail.set_env("TICKETS_CONFIG", "nowhere.toml");
            let msg = ConfigLoader::new().load().unwrap_err().to_string();
            assert!(
                msg.contains("nowhere.toml") && msg.contains("TICKETS_CONFIG"),
                "{msg}"
            );
            Ok(())
        });
    }

    #[test]
    fn url_passwords_are_redacted() {
        assert_eq!(
            redact_url_password("postgres://app:hunter2@db:5432/t"),
            "postgres://app:***@db:5432/t"
        );
        assert_eq!(
            redact_url_password("sqlite://tickets.db"),
            "sqlite://tickets.db"
        );
    }
}
