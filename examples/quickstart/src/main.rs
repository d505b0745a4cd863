//! The tickets quick start: the whole flow an application goes through, on two in-memory
//! backends (swap `provider = "memory"` for `"internal"`, `"asana"`, ... in the config and
//! nothing else changes).
//!
//! ```text
//! cargo run -p quickstart
//! ```

use std::io::{self, Write};
use std::sync::Arc;

use tickets::figment::Figment;
use tickets::figment::providers::{Format, Toml};
use tickets::memory::MemoryProvider;
use tickets::{ErrorKind, NewComment, NewTicket, Priority, Status, TicketQuery, Tickets};

/// What an application's `tickets.toml` would hold.
const CONFIG: &str = r#"
default = "helpdesk"

[backends.helpdesk]
provider = "memory"
layers = { timeout_secs = 10, retries = 2 }
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    demo(&mut io::stdout().lock()).await
}

/// The flow, narrated to `out`.
async fn demo(out: &mut impl Write) -> Result<(), Box<dyn std::error::Error>> {
    // 1. Backends: from configuration (usually `Tickets::load()`, which reads tickets.toml and
    //    TICKETS_* variables) ...
    let tickets = Tickets::from_figment(Figment::from(Toml::string(CONFIG))).await?;
    // ... and registered by hand, for one more.
    tickets.register("archive", Arc::new(MemoryProvider::new()));
    for b in tickets.backends() {
        let default = if b.is_default { " (default)" } else { "" };
        writeln!(out, "backend {} -> {}{default}", b.name, b.kind)?;
    }

    // 2. Create. Application code never names a vendor.
    let ticket = tickets
        .create(
            NewTicket::new("Server down")
                .description("The API answers 502 since 09:00")
                .priority(Priority::High)
                .requester("ops@example.com")
                .tag("outage"),
        )
        .await?;
    writeln!(
        out,
        "created {} on {}: {:?} [{}]",
        ticket.id, ticket.provider, ticket.subject, ticket.status
    )?;

    // 3. Comment, then read the comments back.
    tickets
        .add_comment(
            &ticket.id,
            NewComment::new("Restarted the load balancer").author("alice@example.com"),
        )
        .await?;
    for c in tickets.comments(&ticket.id).await? {
        let author = c.author.as_deref().unwrap_or("?");
        writeln!(out, "comment by {author}: {}", c.body)?;
    }

    // 4. Change status: assign, work, resolve. The workflow refuses moves it does not allow.
    tickets
        .assign(&ticket.id, Some("alice@example.com"))
        .await?;
    tickets
        .change_status(&ticket.id, Status::InProgress)
        .await?;
    let resolved = tickets.resolve(&ticket.id).await?;
    writeln!(
        out,
        "{} is {} (assigned to {})",
        resolved.id,
        resolved.status,
        resolved.assignee.as_deref().unwrap_or("nobody")
    )?;
    tickets.close(&ticket.id).await?;
    match tickets.change_status(&ticket.id, Status::OnHold).await {
        Err(e) if e.kind() == ErrorKind::InvalidTransition => writeln!(out, "refused: {e}")?,
        other => return Err(format!("closed -> on_hold should be refused, got {other:?}").into()),
    }

    // 5. Read it back, and list.
    let again = tickets.get(&ticket.id).await?;
    writeln!(out, "read back: {:?} is {}", again.subject, again.status)?;
    let closed = tickets
        .list(&TicketQuery::new().status(Status::Closed))
        .await?;
    writeln!(
        out,
        "{} closed ticket(s) on the default backend",
        closed.items.len()
    )?;

    // 6. Switch backend at run time: every clone of the hub follows.
    tickets.use_backend("archive")?;
    match tickets.get(&ticket.id).await {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            writeln!(out, "switched to archive: {} is not there", ticket.id)?;
        }
        other => return Err(format!("expected NotFound on archive, got {other:?}").into()),
    }
    let archived = tickets
        .create(NewTicket::new("Post-mortem: server down"))
        .await?;
    writeln!(out, "created {} on archive", archived.id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_quick_start_runs_through() {
        let mut out = Vec::new();
        super::demo(&mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("backend helpdesk -> memory (default)"),
            "{text}"
        );
        assert!(
            text.contains("comment by alice@example.com: Restarted"),
            "{text}"
        );
        assert!(
            text.contains("is resolved (assigned to alice@example.com)"),
            "{text}"
        );
        assert!(text.contains("refused: InvalidTransition"), "{text}");
        assert!(
            text.contains("read back: \"Server down\" is closed"),
            "{text}"
        );
        assert!(text.contains("1 closed ticket(s)"), "{text}");
        assert!(text.contains("is not there"), "{text}");
        assert!(text.contains("on archive"), "{text}");
    }
}
