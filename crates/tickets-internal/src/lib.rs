#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!(
    "tickets-internal needs at least one database: enable its feature `sqlite`, `postgres` or \
     `mysql` (through the `tickets` crate: `internal`, `postgres` or `mysql`)"
);

mod attachments;
mod client;
mod config;
mod convert;
mod error;
mod exec;
pub mod links;
pub mod migrate;
pub mod outbox;
mod provider;
mod pulled;
mod query;
pub mod state;
pub mod testing;
mod tx;

use std::sync::Arc;

use tickets_core::{DynProvider, ProviderFactory};

pub use client::Dialect;
pub use config::{
    DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_MAX_ATTACHMENT_SIZE, DEFAULT_MAX_CONNECTIONS, DEFAULT_URL,
    InternalConfig,
};
pub use convert::KIND;
pub use links::{Link, LinkState, Links};
pub use outbox::{EntryState, Operation, Outbox, OutboxEntry, OutboxStats};
pub use provider::InternalProvider;
pub use pulled::PulledState;
pub use query::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use state::{LeaseHolder, SyncState};

/// The `internal` provider's factory, registered through `inventory`.
pub static FACTORY: ProviderFactory = ProviderFactory::new(
    KIND,
    "our own ticket store: SQLite file (default tickets.db), PostgreSQL or MySQL/MariaDB",
    env!("CARGO_PKG_NAME"),
    |ctx| {
        Box::pin(async move {
            let config: InternalConfig = ctx.config()?;
            if let Err((key, problem)) = config.check() {
                return Err(ctx.config_error(key, problem));
            }
            let provider = InternalProvider::open(config).await?;
            Ok(Arc::new(provider) as DynProvider)
        })
    },
)
.with_keys(InternalConfig::KEYS);

inventory::submit!(FACTORY);
