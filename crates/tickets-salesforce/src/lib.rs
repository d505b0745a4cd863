#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod cache;
mod client;
mod comments;
mod composite;
mod config;
mod convert;
mod error;
mod feed;
mod files;
mod jwt;
mod keylock;
mod provider;
mod requests;
mod users;

#[cfg(test)]
mod parse_tests;

use std::sync::Arc;

use tickets_core::{DynProvider, ProviderFactory};

pub use client::{ApiUsage, SfClient, paced_rate};
pub use config::{
    DEFAULT_API_VERSION, DEFAULT_REQUESTS_PER_MINUTE, Flow, SalesforceConfig, Settings,
};
pub use convert::{
    PriorityMap, StatusMap, decode_comment, decode_keyed, encode_comment, encode_keyed, soql_like,
    soql_quote,
};
pub use error::{ApiError, api_error};
pub use provider::SalesforceProvider;

/// The kind name.
pub const KIND: &str = "salesforce";

/// The `salesforce` provider's factory.
pub static FACTORY: ProviderFactory = ProviderFactory::new(
    KIND,
    "Salesforce Service Cloud Cases (REST API, OAuth 2.0)",
    env!("CARGO_PKG_NAME"),
    |ctx| {
        Box::pin(async move {
            let config: SalesforceConfig = ctx.config()?;
            let settings = config.settings(Some(&ctx))?;
            Ok(Arc::new(SalesforceProvider::new(settings)?) as DynProvider)
        })
    },
)
.with_keys(SalesforceConfig::KEYS);

tickets_core::inventory::submit!(FACTORY);
