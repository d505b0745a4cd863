//! `tickets sync run|status|retry|push|pull`: delivery to the remote of a `sync` backend.
//!
//! After a write on a sync backend, [`settle`] tries a short bounded delivery, and says on
//! stderr how many changes still wait (and that `tickets sync run` delivers them), so a one-shot
//! command never leaves its change silently behind.

use std::io::Write;
use std::time::Duration;

use serde_json::json;
use tickets::sync::{SyncProvider, SyncStatus};
use tickets::{DynProvider, Error, TicketId, Tickets};

use super::Failure;
use crate::cli::{Command, SyncCommand};
use crate::output::Printer;

/// How long a write command waits for its change to reach the remote before exiting.
const SETTLE: Duration = Duration::from_secs(3);

/// The default backend, which must be of kind `sync`.
fn backend(tickets: &Tickets) -> Result<DynProvider, Error> {
    let name = tickets
        .default_name()
        .ok_or_else(|| Error::config("no backend is configured"))?;
    let p = tickets.backend(&name)?;
    if as_sync(&p).is_none() {
        return Err(Error::config(format!(
            "backend {name:?} is a {:?} backend; `tickets sync` works on a \"sync\" backend \
             (choose one with --backend NAME)",
            p.kind()
        )));
    }
    Ok(p)
}

fn as_sync(p: &DynProvider) -> Option<&SyncProvider> {
    p.as_any()?.downcast_ref::<SyncProvider>()
}

/// Runs one `tickets sync` command.
pub async fn run<W: Write>(
    command: &SyncCommand,
    tickets: &Tickets,
    out: &mut Printer<W>,
) -> Result<(), Failure> {
    let p = backend(tickets)?;
    let sync = as_sync(&p).expect("checked by backend()");
    match command {
        SyncCommand::Run { once: true } => {
            let report = sync.run_once().await?;
            let status = sync.status().await?;
            let text = format!(
                "delivered {}, already there {}, retried {}, parked {}\n{}",
                report.delivered,
                report.skipped,
                report.retried,
                report.parked,
                status_text(&status)
            );
            out.report(&json!({"run": report, "status": status}), &text)?;
        }
        SyncCommand::Run { once: false } => {
            eprintln!(
                "delivering changes to {} ({}); Ctrl-C stops",
                sync.remote_name(),
                sync.remote().kind()
            );
            sync.run_worker(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
            let m = sync.metrics();
            out.report(
                &json!({ "metrics": m }),
                &format!(
                    "stopped: delivered {}, retried {}, parked {}, pulled {}\n",
                    m.delivered, m.retried, m.parked, m.pulled
                ),
            )?;
        }
        SyncCommand::Status => {
            let status = sync.status().await?;
            out.report(&json!(status), &status_text(&status))?;
        }
        SyncCommand::Retry { id } => {
            let id = id.as_deref().map(TicketId::new);
            let n = sync.retry(id.as_ref()).await?;
            out.report(
                &json!({ "requeued": n }),
                &format!("re-queued {n} parked change(s); `tickets sync run` delivers them\n"),
            )?;
        }
        SyncCommand::Push { id } => {
            let t = sync.push(&TicketId::new(id.as_str())).await?;
            out.ticket(&t)?;
        }
        SyncCommand::Pull { remote_id } => {
            let t = sync.pull(remote_id).await?;
            out.ticket(&t)?;
        }
    }
    Ok(())
}

fn status_text(s: &SyncStatus) -> String {
    let mut text = format!(
        "remote      {} ({})\npending     {}\ndelivering  {}\nparked      {}\n",
        s.remote, s.remote_kind, s.pending, s.delivering, s.parked
    );
    if let Some(age) = s.oldest_pending_age {
        text.push_str(&format!("oldest      {}s ago\n", age.as_secs()));
    }
    if let Some(t) = s.last_pull {
        text.push_str(&format!(
            "last pull   {}\n",
            t.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    for e in &s.parked_entries {
        text.push_str(&format!(
            "parked #{} {} of ticket {} after {} attempt(s): {}\n",
            e.seq,
            e.operation,
            e.ticket_id,
            e.attempts,
            e.last_error.as_deref().unwrap_or("-")
        ));
    }
    for e in &s.recent_errors {
        text.push_str(&format!(
            "retrying #{} {} of ticket {} ({} attempt(s)): {}\n",
            e.seq,
            e.operation,
            e.ticket_id,
            e.attempts,
            e.last_error.as_deref().unwrap_or("-")
        ));
    }
    if s.parked > 0 {
        text.push_str("`tickets sync retry [ID]` re-queues parked changes\n");
    }
    text
}

/// After a write on a sync backend: deliver for a moment, then say on stderr what still waits.
pub async fn settle(command: &Command, tickets: &Tickets) {
    let writes = matches!(
        command,
        Command::Create(_)
            | Command::Update(_)
            | Command::Status(_)
            | Command::Assign(_)
            | Command::Unassign(_)
            | Command::Comment(_)
            | Command::Close(_)
            | Command::Resolve(_)
            | Command::Escalate(_)
            | Command::Reopen(_)
    );
    if !writes {
        return;
    }
    let Ok(p) = backend(tickets) else { return };
    let Some(sync) = as_sync(&p) else { return };
    // Bounded twice: the run stops claiming at SETTLE, and the whole wait is cut off soon after.
    let _ = tokio::time::timeout(SETTLE + Duration::from_secs(2), sync.run_for(SETTLE)).await;
    match sync.status().await {
        Ok(s) if s.undelivered() > 0 => eprintln!(
            "note: {} change(s) not yet delivered to {} ({}); `tickets sync run` delivers them, \
             `tickets sync status` shows why",
            s.undelivered(),
            s.remote,
            s.remote_kind
        ),
        Ok(_) => {}
        Err(e) => eprintln!("note: could not read the sync outbox: {e}"),
    }
}
