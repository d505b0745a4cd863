//! Where configuration comes from: a file (named, or the one in the working directory) and
//! `TICKETS_*` variables.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use figment::Figment;
use figment::providers::{Format, Json, Toml, Yaml};

use super::{Config, DEFAULT_FILES, EnvProvider};
use crate::error::{Error, Result};

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
            if path.is_dir() {
                return Err(Error::config(format!(
                    "config file {} is a directory (named by {named_by}); name a TOML, YAML or \
                     JSON file, e.g. {}",
                    path.display(),
                    path.join("tickets.toml").display()
                )));
            }
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
