#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod attachments;
mod client;
mod comments;
pub mod config;
mod convert;
mod error;
mod feed;
mod keylock;
mod meta;
#[cfg(test)]
mod proptests;
mod provider;
mod search;
mod status;
mod update;

use std::sync::Arc;

use tickets_core::{DynProvider, ProviderFactory};

pub use client::Client;
pub use config::{ApiKeyIn, BugzillaConfig, StatusTarget};
pub use convert::alias_for_key;
pub use error::kind_for_code;
pub use provider::BugzillaProvider;

/// The kind name.
pub const KIND: &str = "bugzilla";

/// The `bugzilla` provider's factory.
pub static FACTORY: ProviderFactory = ProviderFactory::new(
    KIND,
    "Bugzilla 5.x (and bugzilla.mozilla.org) bugs over REST",
    env!("CARGO_PKG_NAME"),
    |ctx| {
        Box::pin(async move {
            let config: BugzillaConfig = ctx.config()?;
            config
                .check()
                .map_err(|(key, problem)| ctx.config_error(key, problem))?;
            let provider = BugzillaProvider::new(config)?;
            // Learn the server's priorities now when it answers quickly; never fail the build
            // on it (a remote that is down must not stop an app, or a sync backend, starting).
            provider.warm_up(std::time::Duration::from_secs(3)).await;
            Ok(Arc::new(provider) as DynProvider)
        })
    },
)
.with_keys(BugzillaConfig::KEYS);

tickets_core::inventory::submit!(FACTORY);
