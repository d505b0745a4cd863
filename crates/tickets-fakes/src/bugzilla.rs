//! The fake Bugzilla (being written; see the Bugzilla provider issue).

use crate::FakeServer;

/// Starts a seeded fake Bugzilla on `port` and returns it with the JSON line the binary prints.
pub async fn start_seeded(port: u16) -> std::io::Result<(FakeServer, serde_json::Value)> {
    let _ = port;
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "the bugzilla fake is not available in this build yet",
    ))
}
