//! The core of `tickets`: one API for tickets, whatever system holds them.
//!
//! - the model: [`Ticket`], [`NewTicket`], [`TicketPatch`] with tri-state [`Patch`] fields,
//!   [`Comment`], [`Status`], [`Priority`], [`TicketQuery`] and [`Page`];
//! - the [`TicketProvider`] trait every backend implements, and its [`Capabilities`];
//! - one [`Error`] type with an [`ErrorKind`] and retry hints;
//! - the status [`Workflow`];
//! - the plugin [`Registry`] fed by `inventory`, and figment [`config`];
//! - the [`Tickets`] hub of named backends, and [`layers`] (tracing, timeout, retry,
//!   concurrency limit);
//! - the [`memory`] provider, always compiled.
//!
//! Applications normally depend on the `tickets` facade crate, which re-exports all of this
//! and links the provider crates chosen by Cargo features.

#![warn(missing_docs)]

pub mod config;
mod error;
mod hub;
pub mod layers;
pub mod marker;
pub mod memory;
mod model;
mod provider;
mod registry;
mod status;
mod workflow;

pub use config::{Config, ConfigLoader};
pub use error::{Error, ErrorKind, Result};
pub use hub::{BackendInfo, EMBEDDED_DEFAULT, Tickets};
pub use model::{
    ChangeToken, Changes, Comment, Cursor, FieldChange, HistoryAction, HistoryEntry, NewComment,
    NewTicket, Page, Patch, Ticket, TicketId, TicketPatch, TicketQuery, Value, normalize_tags,
    validate_subject,
};
pub use provider::{Capabilities, DynProvider, TicketProvider, TicketProviderExt, list_stream};
pub use registry::{BuildContext, ProviderFactory, Registry};
pub use status::{Priority, Status};
pub use workflow::Workflow;

/// Re-exported so provider crates use the same versions as the core.
pub use async_trait::async_trait;
pub use chrono;
pub use figment;
pub use futures;
pub use inventory;
pub use secrecy;
pub use serde_json;
