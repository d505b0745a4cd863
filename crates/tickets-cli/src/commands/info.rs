//! Commands about the program and its configuration; none of them opens a backend.

use std::io::Write;

use serde_json::Value;
use tickets::{Config, EMBEDDED_DEFAULT, Registry};

use super::Failure;
use crate::output::{BackendRow, Printer};

/// The kind the hub falls back to when nothing is configured.
pub fn fallback_kind(registry: &Registry) -> &'static str {
    if registry.contains(EMBEDDED_DEFAULT) {
        EMBEDDED_DEFAULT
    } else {
        tickets::memory::KIND
    }
}

/// `tickets providers`: registered kinds, sorted, with their summaries.
pub fn providers<W: Write>(registry: &Registry, out: &mut Printer<W>) -> Result<(), Failure> {
    out.providers(registry.factories())?;
    Ok(())
}

/// `tickets backends`: configured names and kinds, and which one commands run on (`--backend`,
/// else the configured default).
pub fn backends<W: Write>(
    config: &Config,
    registry: &Registry,
    chosen: Option<&str>,
    out: &mut Printer<W>,
) -> Result<(), Failure> {
    let config = config.clone().with_fallback(fallback_kind(registry));
    let default = match chosen {
        Some(name) => {
            config.backend(name)?;
            name.to_owned()
        }
        None => config.default_name()?,
    };
    let rows: Vec<BackendRow> = config
        .backends()
        .map(|spec| BackendRow {
            name: spec.name.clone(),
            kind: spec.provider.clone(),
            is_default: spec.name == default,
        })
        .collect();
    out.backends(&rows)?;
    Ok(())
}

/// `tickets config`: the effective configuration with secrets redacted. With nothing
/// configured, that is the embedded default's `provider`.
pub fn config<W: Write>(
    config: &Config,
    registry: &Registry,
    out: &mut Printer<W>,
) -> Result<(), Failure> {
    out.config(&effective(config, registry))?;
    Ok(())
}

/// The redacted configuration, plus the fallback provider when nothing names one.
pub fn effective(config: &Config, registry: &Registry) -> Value {
    let mut value = config.redacted();
    if config.is_empty() {
        if !value.is_object() {
            value = Value::Object(Default::default());
        }
        if let Value::Object(map) = &mut value {
            map.insert("provider".into(), fallback_kind(registry).into());
        }
    }
    value
}
