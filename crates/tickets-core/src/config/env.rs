//! `TICKETS_*` environment variables as a figment provider that keeps every value as the text
//! it was written as (figment's own `Env` guesses types: `TICKETS_VERSION=1.0` would become the
//! float `1`). The typed field reading a value parses it (see [`super::de`]).

use std::ffi::OsString;

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

use super::ENV_PREFIX;

/// The name of this provider's metadata, which error messages recognise to name the variable.
pub(crate) const ENV_SOURCE: &str = "TICKETS_* environment variables";

/// Variables that steer programs rather than configure backends: never read as config keys.
pub const NOT_CONFIG: [&str; 2] = ["TICKETS_CONFIG", "TICKETS_LOG"];

/// Prefixes of variables for test suites and benchmarks, also never read as config keys.
pub const NOT_CONFIG_PREFIXES: [&str; 2] = ["TICKETS_TEST_", "TICKETS_BENCH_"];

/// `TICKETS_*` variables, split on `__` into nested keys (`TICKETS_BACKENDS__DB__URL` is
/// `backends.db.url`; names are lower-cased), every value kept as text. Variables in
/// [`NOT_CONFIG`] and with a prefix in [`NOT_CONFIG_PREFIXES`] are left out.
///
/// Reads the process environment when the figment is built, unless given variables with
/// [`EnvProvider::from_vars`].
#[derive(Clone, Default)]
pub struct EnvProvider {
    vars: Option<Vec<(OsString, OsString)>>,
}

impl std::fmt::Debug for EnvProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: values may be secrets.
        let names: Option<Vec<String>> = self.vars.as_ref().map(|v| {
            v.iter()
                .map(|(k, _)| k.to_string_lossy().into_owned())
                .collect()
        });
        f.debug_struct("EnvProvider")
            .field(
                "vars",
                &names.map_or("the process environment".into(), |n| n.join(", ")),
            )
            .finish()
    }
}

impl EnvProvider {
    /// The process environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// These variables instead of the process environment (for tests and embedding).
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        Self {
            vars: Some(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    fn dict(&self) -> Result<Dict, Error> {
        let vars: Vec<(OsString, OsString)> = match &self.vars {
            Some(v) => v.clone(),
            None => std::env::vars_os().collect(),
        };
        let mut dict = Dict::new();
        let mut from: Map<Vec<String>, String> = Map::new();
        for (name, value) in vars {
            let Some(name) = name.to_str() else {
                continue; // not ours: ours are ASCII
            };
            let upper = name.to_ascii_uppercase();
            if !upper.starts_with(ENV_PREFIX)
                || NOT_CONFIG.contains(&upper.as_str())
                || NOT_CONFIG_PREFIXES.iter().any(|p| upper.starts_with(p))
            {
                continue;
            }
            let key = name[ENV_PREFIX.len()..].to_ascii_lowercase();
            let path: Vec<String> = key.split("__").map(str::to_owned).collect();
            if path.iter().any(String::is_empty) {
                return Err(Error::from(format!(
                    "environment variable {name} does not name a config key: its name has an \
                     empty part between `__` separators"
                )));
            }
            let Some(text) = value.to_str() else {
                return Err(Error::from(format!(
                    "environment variable {name} is not valid UTF-8"
                )));
            };
            insert(&mut dict, &path, text.to_owned(), name, &mut from)?;
        }
        Ok(dict)
    }
}

/// Puts `text` at `path`, refusing a variable that sets a key another one makes a table of.
fn insert(
    dict: &mut Dict,
    path: &[String],
    text: String,
    name: &str,
    from: &mut Map<Vec<String>, String>,
) -> Result<(), Error> {
    let clash = |other: &str| {
        Error::from(format!(
            "environment variables {other} and {name} clash: one sets a value where the other \
             needs a table"
        ))
    };
    let mut at = dict;
    for (i, segment) in path.iter().enumerate() {
        let here = path[..=i].to_vec();
        if i + 1 == path.len() {
            if at.contains_key(segment) {
                let other = descendant_var(from, &here).unwrap_or_default();
                return Err(clash(&other));
            }
            at.insert(segment.clone(), Value::from(text));
            from.insert(here, name.to_owned());
            return Ok(());
        }
        if let Some(other) = from.get(&here) {
            return Err(clash(other));
        }
        let entry = at
            .entry(segment.clone())
            .or_insert_with(|| Value::from(Dict::new()));
        at = match entry {
            Value::Dict(_, d) => d,
            _ => return Err(clash(from.get(&here).map(String::as_str).unwrap_or(""))),
        };
    }
    Ok(())
}

fn descendant_var(from: &Map<Vec<String>, String>, prefix: &[String]) -> Option<String> {
    from.iter()
        .find(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v.clone())
}

impl Provider for EnvProvider {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_SOURCE).interpolater(|_: &Profile, keys: &[&str]| {
            let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
            super::keys::env_var(&keys)
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        Ok(Profile::Default.collect(self.dict()?))
    }
}
