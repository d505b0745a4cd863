//! Serves the tickets API of `app.toml` (or the file named as the first argument).
//!
//! ```text
//! cargo run -p embed-axum -- examples/embed-axum/app.toml
//! curl -s localhost:3000/tickets -H 'content-type: application/json' -d '{"subject":"Server down"}'
//! ```

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/app.toml").to_owned());
    let figment = embed_axum::app_figment(path.as_ref());
    let listen: SocketAddr = figment
        .extract_inner("server.listen")
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 3000)));
    let tickets = embed_axum::tickets_from(&figment).await?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("serving tickets on http://{}", listener.local_addr()?);
    axum::serve(listener, embed_axum::router(tickets)).await?;
    Ok(())
}
