#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod client;
mod pacer;
mod pages;
mod retry_after;
mod status;
mod transport;

pub use client::{HttpSettings, build_client};
pub use pacer::Pacer;
pub use pages::PageGuard;
pub use retry_after::{MAX_RETRY_AFTER, parse_retry_after, retry_after};
pub use status::{answer_error, body_text, kind_for_status};
pub use transport::transport_error;

/// Re-exported so providers build requests with the same reqwest as this layer.
pub use reqwest;
