//! Faithful local emulators of the Asana, Bugzilla and Salesforce REST APIs.
//!
//! Each fake is stateful and in memory, serves on `127.0.0.1` (port 0 in tests), answers with
//! the vendor's status codes, envelopes and error bodies (see `shared/vendor-apis.md`), and has
//! [fault knobs](faults) for latency, injected errors, rate limits, expired tokens and dropped
//! connections. The `tickets-fake` binary runs one for people trying the CLI without an account:
//!
//! ```text
//! $ tickets-fake asana --port 0
//! {"base_url":"http://127.0.0.1:40123/api/1.0","token":"...","workspace":"...","project":"..."}
//! ```

pub mod asana;
pub mod bugzilla;
pub mod faults;
pub mod salesforce;
mod server;

pub use faults::{FailAfter, FailNext, Fault, FaultConfig, FaultStats, Faults};
pub use server::FakeServer;
