#![doc = include_str!("../README.md")]
pub mod asana;
pub mod bugzilla;
pub mod faults;
pub mod salesforce;
mod server;

pub use faults::{FailAfter, FailNext, Fault, FaultConfig, FaultStats, Faults};
pub use server::FakeServer;
