//! Crash test of the sync worker (`cargo xtask chaos sync`, or
//! `cargo run --release -p tickets-sync --example chaos`).
//!
//! The parent starts the fake Asana and a SQLite store, writes tickets, comments and changes
//! locally, and then, round after round, runs the delivery worker as a child process (this
//! binary re-executed with `worker ...`) and kills it (SIGKILL) at a random moment while it
//! delivers, writing more changes between rounds. At the end a last worker runs to completion
//! and the remote must equal the local store: every ticket once, same fields, same comments in
//! the same order. Bounded in time: `CHAOS_SECS` (default 40) of kill rounds.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::{
    DynProvider, NewComment, NewTicket, Priority, Status, Ticket, TicketId, TicketPatch,
    TicketProvider, TicketProviderExt, TicketQuery,
};
use tickets_fakes::asana::FakeAsana;
use tickets_internal::{InternalConfig, InternalProvider};
use tickets_sync::{SyncProvider, WorkerOptions};

const LEASE: Duration = Duration::from_secs(2);

fn remote(base_url: &str, token: &str, project: &str, workspace: &str) -> DynProvider {
    let mut config = AsanaConfig::new(token, project)
        .base_url(base_url)
        .workspace(workspace);
    config.max_retries = 1;
    config.timeout_secs = 5;
    Arc::new(AsanaProvider::new(config).expect("asana config"))
}

fn options() -> WorkerOptions {
    WorkerOptions::default()
        .concurrency(8)
        .lease(LEASE)
        .poll_interval(Duration::from_millis(50))
        .backoff(Duration::from_millis(20), Duration::from_millis(300))
        .pull_interval(None)
        .max_attempts(100)
}

async fn open(url: &str, remote: DynProvider) -> SyncProvider {
    let store = InternalProvider::open(InternalConfig::new(url).outbox(true))
        .await
        .expect("store");
    SyncProvider::new(store, remote, "asana", options()).expect("sync")
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("worker") {
        // The child: deliver until killed.
        let [url, base, token, project, workspace] = [2, 3, 4, 5, 6].map(|i| args[i].clone());
        let sync = open(&url, remote(&base, &token, &project, &workspace)).await;
        sync.run_worker(std::future::pending())
            .await
            .expect("worker");
        return;
    }
    if let Err(e) = parent().await {
        eprintln!("chaos sync: FAILED: {e}");
        std::process::exit(1);
    }
}

async fn write_some(sync: &SyncProvider, round: usize, tickets: usize) -> Vec<TicketId> {
    let mut ids = Vec::new();
    for t in 0..tickets {
        let ticket = sync
            .create(NewTicket::new(format!("round {round} ticket {t}")).tag("chaos"))
            .await
            .expect("create");
        ids.push(ticket.id);
    }
    for (t, id) in ids.iter().enumerate() {
        sync.add_comment(id, NewComment::new("+1"))
            .await
            .expect("comment");
        sync.update(
            id,
            TicketPatch::new()
                .priority(Priority::High)
                .description(format!("d{t}")),
        )
        .await
        .expect("update");
        sync.add_comment(id, NewComment::new("+1"))
            .await
            .expect("comment");
        sync.change_status(id, Status::InProgress)
            .await
            .expect("status");
        sync.add_comment(
            id,
            NewComment::new(format!("note {t}")).author("alice@example.com"),
        )
        .await
        .expect("comment");
        sync.assign(id, Some("bob@example.com"))
            .await
            .expect("assign");
    }
    ids
}

async fn parent() -> Result<(), String> {
    let secs: u64 = std::env::var("CHAOS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let fake = FakeAsana::start().await.map_err(|e| e.to_string())?;
    fake.faults().set_latency(Duration::from_millis(10));
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = format!("sqlite://{}", dir.path().join("chaos.db").display());
    let rem = remote(
        &fake.base_url(),
        fake.token(),
        fake.project(),
        fake.workspace(),
    );
    let sync = open(&url, rem).await;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let child_args = [
        "worker".to_owned(),
        url.clone(),
        fake.base_url(),
        fake.token().to_owned(),
        fake.project().to_owned(),
        fake.workspace().to_owned(),
    ];

    let start = Instant::now();
    let mut rounds = 0;
    let mut kills = 0;
    write_some(&sync, 0, 30).await;
    while start.elapsed() < Duration::from_secs(secs) {
        rounds += 1;
        let mut child = Command::new(&exe)
            .args(&child_args)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the worker: {e}"))?;
        // Past the dead worker's lease (2 s) often enough to deliver, short enough to die mid-way.
        let delay = Duration::from_millis(fastrand::u64(200..3000));
        tokio::time::sleep(delay).await;
        let before = sync.status().await.map_err(|e| e.to_string())?;
        child.kill().map_err(|e| e.to_string())?;
        let _ = child.wait();
        kills += 1;
        println!(
            "round {rounds}: killed the worker after {delay:?} ({} undelivered, {} delivering)",
            before.undelivered(),
            before.delivering
        );
        write_some(&sync, rounds, 8).await;
    }

    // A last worker runs to the end (waiting out the dead workers' leases).
    println!("final delivery");
    let mut child = Command::new(&exe)
        .args(&child_args)
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let st = sync.status().await.map_err(|e| e.to_string())?;
        if st.undelivered() == 0 {
            break;
        }
        if st.parked > 0 {
            let _ = child.kill();
            return Err(format!("entries were parked: {:?}", st.parked_entries));
        }
        if Instant::now() > end {
            let _ = child.kill();
            return Err(format!("not delivered in time: {st:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let n = check(&sync, &fake).await?;
    println!(
        "chaos sync: OK: {kills} workers killed over {rounds} rounds; {n} tickets and their \
         comments equal on the remote, no duplicates ({:?})",
        fake.faults().stats()
    );
    Ok(())
}

fn view(t: &Ticket) -> String {
    let tags: BTreeSet<&str> = t.tags.iter().map(String::as_str).collect();
    format!(
        "{} | {} | {} | {} | {:?} | {:?}",
        t.subject,
        t.description.trim(),
        t.status,
        t.priority,
        t.assignee,
        tags
    )
}

async fn check(sync: &SyncProvider, fake: &FakeAsana) -> Result<usize, String> {
    let locals: Vec<Ticket> = sync
        .list_all(TicketQuery::new().page_size(500))
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    let tasks = fake.project_tasks();
    if tasks.len() != locals.len() {
        return Err(format!(
            "{} local tickets but {} remote tasks",
            locals.len(),
            tasks.len()
        ));
    }
    for l in &locals {
        let rid = l
            .links
            .get("asana")
            .ok_or_else(|| format!("ticket {} has no link", l.id))?;
        let r = sync
            .remote()
            .get(&TicketId::new(rid.clone()))
            .await
            .map_err(|e| e.to_string())?;
        if view(l) != view(&r) {
            return Err(format!(
                "ticket {} differs: {} vs {}",
                l.id,
                view(l),
                view(&r)
            ));
        }
        let lc: Vec<_> = sync
            .comments(&l.id)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|c| (c.author, c.body))
            .collect();
        let rc: Vec<_> = sync
            .remote()
            .comments(&r.id)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|c| (c.author, c.body))
            .collect();
        if lc != rc {
            return Err(format!(
                "comments of ticket {} differ: {lc:?} vs {rc:?}",
                l.id
            ));
        }
    }
    Ok(locals.len())
}
