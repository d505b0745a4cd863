//! `tickets sync run|status|retry|skip|verify|push|pull`: delivery to the remote of a `sync`
//! backend.
//!
//! After a write on a sync backend, [`settle`] tries a short bounded delivery, and says on
//! stderr how many changes still wait (and that `tickets sync run` delivers them), so a one-shot
//! command never leaves its change silently behind.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use serde_json::json;
use tickets::sync::{Repair, SyncProvider, SyncStatus, VerifyReport, WaitReason};
use tickets::{DynProvider, Error, TicketId, Tickets};

use super::Failure;
use crate::cli::{Command, RepairSide, SyncCommand};
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
            let live = Live::start(sync, out.is_json());
            let report = sync.run_once().await;
            live.finish();
            let report = report?;
            let status = sync.status().await?;
            let text = format!(
                "delivered {}, already there {}, retried {}, parked {}, waiting for a rate limit {}\n{}",
                report.delivered,
                report.skipped,
                report.retried,
                report.parked,
                report.paused,
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
            let live = Live::start(sync, out.is_json());
            let result = sync
                .run_worker(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await;
            live.finish();
            result?;
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
        SyncCommand::Skip { seq } => {
            let e = sync.skip(*seq).await?;
            out.report(
                &json!({ "skipped": e }),
                &format!(
                    "skipped #{} ({} of ticket {}); the ticket's later changes are delivered now, \
                     its history records the skip\n",
                    e.seq, e.operation, e.ticket_id
                ),
            )?;
        }
        SyncCommand::Verify { repair } => {
            let repair = repair.map(|r| match r {
                RepairSide::Local => Repair::Local,
                RepairSide::Remote => Repair::Remote,
            });
            let bar = (!out.is_json() && std::io::stderr().is_terminal()).then(|| {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.enable_steady_tick(Duration::from_millis(120));
                bar.set_message("comparing tickets with the remote");
                bar
            });
            let progress = |n: u64| {
                if let Some(bar) = &bar {
                    bar.set_message(format!("compared {n} ticket(s) with the remote"));
                }
            };
            let report = sync.verify(repair, &progress).await;
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            let report = report?;
            out.report(&json!(report), &verify_text(&report, repair))?;
            if !report.is_clean() && repair.is_none() {
                return Err(Failure::Differences(report.differences.len()));
            }
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
    let waiting: Vec<_> = s
        .waiting
        .iter()
        .filter(|w| w.reason != WaitReason::Parked)
        .collect();
    if !waiting.is_empty() {
        text.push_str("waiting:\n");
    }
    for w in waiting.iter().take(50) {
        let why = match &w.reason {
            WaitReason::Due => "due now".to_owned(),
            WaitReason::Backoff { until } => format!("retry at {}", clock(until)),
            WaitReason::Claimed { by, until } => {
                format!(
                    "being delivered by worker {by} (claim until {})",
                    clock(until)
                )
            }
            WaitReason::BehindParked { seq } => format!("behind parked #{seq}"),
            WaitReason::Behind { seq } => format!("behind #{seq} of the same ticket"),
            other => format!("{other:?}"),
        };
        text.push_str(&format!(
            "  #{} {} of ticket {}: {why}",
            w.seq, w.operation, w.ticket_id
        ));
        if let Some(err) = &w.last_error {
            text.push_str(&format!(" (after {} attempt(s): {err})", w.attempts));
        }
        text.push('\n');
    }
    if waiting.len() > 50 {
        text.push_str(&format!(
            "  ... and {} more (--json lists them)\n",
            waiting.len() - 50
        ));
    }
    if s.parked > 0 {
        text.push_str(
            "`tickets sync retry [ID]` re-queues parked changes; `tickets sync skip N` drops one\n",
        );
    }
    for d in &s.remote_deleted {
        text.push_str(&format!(
            "deleted in the remote: ticket {} ({} {}), kept here\n",
            d.ticket_id, s.remote, d.remote_id
        ));
    }
    text
}

fn verify_text(r: &VerifyReport, repair: Option<Repair>) -> String {
    let mut text = format!(
        "checked {} ticket(s): {} equal, {} with changes not delivered yet, {} deleted in the remote\n",
        r.checked, r.equal, r.pending, r.remote_deleted
    );
    for d in &r.differences {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        text.push_str(&format!(
            "  ticket {} {}: local {} | remote {}{}\n",
            d.ticket_id,
            d.field,
            show(&d.local),
            show(&d.remote),
            if repair.is_some() && !d.repairable {
                " (cannot be repaired from this side)"
            } else {
                ""
            }
        ));
    }
    match repair {
        None if r.is_clean() => text.push_str("both sides are equal\n"),
        None => text.push_str(&format!(
            "{} difference(s); `tickets sync verify --repair remote|local` repairs them\n",
            r.differences.len()
        )),
        Some(Repair::Remote) => text.push_str(&format!(
            "queued {} repair(s) for the remote; `tickets sync run --once` delivers them\n",
            r.repaired
        )),
        Some(_) => text.push_str(&format!("repaired {} difference(s) locally\n", r.repaired)),
    }
    text
}

fn clock(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%H:%M:%S UTC").to_string()
}

/// Live counts on stderr while a worker runs, on a terminal only (never with `--json`).
struct Live {
    bar: Option<indicatif::ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Live {
    fn start(sync: &SyncProvider, json: bool) -> Self {
        if json || !std::io::stderr().is_terminal() {
            return Self {
                bar: None,
                task: None,
            };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        let before = sync.metrics();
        let shared = bar.clone();
        // The provider is borrowed here; the counters are read through a clone of its handle.
        let metrics = sync.metrics_handle();
        let task = tokio::spawn(async move {
            loop {
                let m = metrics.read();
                shared.set_message(format!(
                    "delivered {}, retrying {}, parked {}, already there {}",
                    m.delivered - before.delivered,
                    m.retried - before.retried,
                    m.parked - before.parked,
                    m.skipped - before.skipped,
                ));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        Self {
            bar: Some(bar),
            task: Some(task),
        }
    }

    fn finish(self) {
        if let Some(t) = self.task {
            t.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// After a write on a sync backend: deliver for a moment, then say on stderr what still waits.
pub async fn settle(command: &Command, tickets: &Tickets, quiet: bool) {
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
            | Command::Attach(_)
    );
    if !writes {
        return;
    }
    let Ok(p) = backend(tickets) else { return };
    let Some(sync) = as_sync(&p) else { return };
    // Bounded twice: the run stops claiming at SETTLE, and the whole wait is cut off soon after.
    let _ = tokio::time::timeout(SETTLE + Duration::from_secs(2), sync.run_for(SETTLE)).await;
    if quiet {
        return;
    }
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
