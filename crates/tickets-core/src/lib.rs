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
    Attachment, AttachmentContent, ByteStream, ChangeToken, Changes, Comment, Content, Cursor,
    FieldChange, HistoryAction, HistoryEntry, NewAttachment, NewAttachmentMeta, NewComment,
    NewTicket, Page, Patch, Ticket, TicketId, TicketPatch, TicketQuery, Value, bytes_stream,
    check_size, guess_content_type, normalize_tags, validate_subject,
};
pub use provider::{Capabilities, DynProvider, TicketProvider, TicketProviderExt, list_stream};
pub use registry::{BuildContext, BuildFn, ProviderFactory, Registry};
pub use status::{Priority, Status};
pub use workflow::Workflow;

/// Re-exported so provider crates use the same versions as the core.
pub use async_trait::async_trait;
pub use bytes;
pub use chrono;
pub use figment;
pub use futures;
pub use inventory;
pub use secrecy;
pub use serde_json;
