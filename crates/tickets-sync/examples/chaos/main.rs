//! Chaos test of sync delivery (`cargo xtask chaos sync [--seed N] [--secs N] [--only
//! sqlite|postgres|mysql]`; `--ci` is the bounded run `cargo xtask ci` does).
//!
//! For each configuration — SQLite with one worker process at a time, PostgreSQL and
//! MySQL/MariaDB with three — the harness starts the fake Asana in this process and a store,
//! and then, for `--secs` seconds, follows a schedule drawn from the seed:
//!
//! - **writers**: three processes at a time of the `tickets` CLI (`create`, `update`,
//!   `status`, `assign`/`unassign`, `comment` with repeated identical `+1`s, private comments),
//!   on tickets of their own and on three tickets all of them change; each CLI process stores
//!   its change with its outbox entry and then delivers for up to 3 s before exiting; some are
//!   killed (SIGKILL) mid-way;
//! - **workers**: `tickets sync run` processes, killed (SIGKILL) at random points while they
//!   deliver and restarted, or stopped (SIGSTOP) for longer than their 3 s lease and continued
//!   (SIGCONT) later: by then another process holds their claims, and they must neither send
//!   nor record anything for them;
//! - **faults** of the fake, one kind at a time with calm between: 5xx, 429 with a
//!   `Retry-After` longer than the lease, writes applied with the answer dropped, latency past
//!   the client's 1 s time-out, short outages.
//!
//! Then the faults stop, the workers go, a final drain delivers what is left, and every local
//! ticket is compared with the remote (fields, status, comments in order by author and body,
//! no duplicate task or comment, nothing parked or left undelivered; see [`verify`]), and a
//! pull must change nothing. One summary per configuration gives the seed, ops, kills, stalls,
//! faults by kind and the lost, duplicated, different and parked counts; the exit code is
//! non-zero when any configuration fails. A configuration whose database is not configured
//! (`TICKETS_TEST_POSTGRES_URL`, `TICKETS_TEST_MYSQL_URL`) is skipped, or fails when `CI` is
//! set. The same seed replays the same schedule (its digest is printed) as far as the OS
//! allows.

mod args;
mod plan;
mod procs;
mod report;
mod run;
mod verify;

use std::process::ExitCode;
use std::time::Instant;

use args::Args;

/// The remote backend's name in the CLI config (and so in the link table).
pub const REMOTE: &str = "tracker";

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1), |k| std::env::var(k).ok()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("chaos sync: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let bin = match args::tickets_bin() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("chaos sync: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "chaos sync: seed {} ({} s of chaos per configuration{}); repeat with --seed {}",
        args.seed,
        args.secs,
        if args.ci { ", CI run" } else { "" },
        args.seed
    );
    let began = Instant::now();
    let mut results = Vec::new();
    let mut failed = false;
    for store in &args.stores {
        match run::run(*store, &args, &bin).await {
            Ok(Some(summary)) => {
                print!("{summary}");
                failed |= !summary.passed();
                let outcome = if summary.passed() {
                    "passed".to_owned()
                } else {
                    format!("FAILED ({})", summary.failures().join(", "))
                };
                results.push(format!(
                    "{store} {outcome} in {:.0} s",
                    summary.duration.as_secs_f64()
                ));
            }
            Ok(None) => results.push(format!("{store} skipped (no database configured)")),
            Err(e) => {
                eprintln!("chaos sync [{store}]: {e}");
                failed = true;
                results.push(format!("{store} FAILED to run: {e}"));
            }
        }
    }
    println!(
        "chaos sync: seed {}: {} ({:.0} s in all)",
        args.seed,
        results.join("; "),
        began.elapsed().as_secs_f64()
    );
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
