#![doc = include_str!("../README.md")]
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
pub use registry::{BuildContext, BuildFn, ProviderFactory, Registry};
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
