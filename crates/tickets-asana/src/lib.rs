#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod attachments;
mod cache;
mod client;
mod comments;
mod config;
mod convert;
mod create;
mod disk;
mod error;
mod feed;
#[cfg(test)]
mod props;
mod provider;
mod status;
mod types;
mod values;

use std::sync::Arc;

use tickets_core::{DynProvider, ProviderFactory};

pub use config::{AsanaConfig, DEFAULT_BASE_URL};
pub use convert::KIND;
pub use provider::AsanaProvider;

/// The `opt_fields` the provider asks for on task reads (for benchmarks comparing raw calls).
#[doc(hidden)]
pub use types::TASK_FIELDS;

/// The `asana` provider's factory, registered through `inventory`.
pub static FACTORY: ProviderFactory = ProviderFactory::new(
    KIND,
    "Asana tasks in one project: sections for status, tags (or an enum field) for priority",
    env!("CARGO_PKG_NAME"),
    |ctx| {
        Box::pin(async move {
            let config = AsanaConfig::from_context(&ctx)?;
            Ok(Arc::new(AsanaProvider::new(config)?) as DynProvider)
        })
    },
)
.with_keys(AsanaConfig::KEYS);

inventory::submit!(FACTORY);
