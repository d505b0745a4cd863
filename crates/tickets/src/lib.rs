#![doc = include_str!("../README.md")]
//!
//! This facade re-exports [`tickets_core`] and links the provider crates chosen with Cargo
//! features, so that configuration can name them.

pub use tickets_core::*;

// The linker drops a crate that no code names, and with it the provider's `inventory`
// registration; naming each enabled provider crate here keeps it.
#[cfg(feature = "asana")]
pub use tickets_asana as asana;
#[cfg(feature = "bugzilla")]
pub use tickets_bugzilla as bugzilla;
#[cfg(any(feature = "internal", feature = "postgres", feature = "mysql"))]
pub use tickets_internal as internal;
#[cfg(feature = "salesforce")]
pub use tickets_salesforce as salesforce;
#[cfg(feature = "sync")]
pub use tickets_sync as sync;
