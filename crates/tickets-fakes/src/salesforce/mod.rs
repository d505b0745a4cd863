//! The fake Salesforce (being written; see the Salesforce provider issue).

use crate::FakeServer;

/// Starts a seeded fake Salesforce on `port` and returns it with the JSON line the binary prints.
pub async fn start_seeded(port: u16) -> std::io::Result<(FakeServer, serde_json::Value)> {
    let _ = port;
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "the salesforce fake is not available in this build yet",
    ))
}
