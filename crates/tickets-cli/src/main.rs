#![doc = include_str!("../README.md")]

mod cli;
mod commands;
mod listing;
mod output;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

/// `--version`: the version and the provider kinds compiled in.
fn version() -> String {
    let kinds = tickets::Registry::discover()
        .map(|r| r.kinds().collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|e| format!("(registry error: {e})"));
    format!("{} (providers: {kinds})", env!("CARGO_PKG_VERSION"))
}

fn main() -> ExitCode {
    // Built once per process; clap keeps the text for the whole run.
    let version: &'static str = Box::leak(version().into_boxed_str());
    let command = cli::Cli::command().version(version);
    let cli = match cli::Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tickets: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let json = cli.json;
    let stdout = io::stdout();
    let columns = io::stdout()
        .is_terminal()
        .then(|| {
            console::Term::stdout()
                .size_checked()
                .map(|(_, c)| usize::from(c))
        })
        .flatten();
    let mut printer = output::Printer::new(stdout.lock(), cli.json)
        .json_lines(cli.jsonl)
        .columns(columns)
        .progress(!cli.quiet && io::stderr().is_terminal());
    let result = runtime
        .block_on(commands::run(&cli, &mut printer))
        .and_then(|()| io::stdout().flush().map_err(commands::Failure::Io));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) if failure.is_broken_pipe() => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("tickets: {failure}");
            if json && !matches!(failure, commands::Failure::Differences(_)) {
                // One JSON object on stdout, so scripts tell failures apart without parsing
                // prose; the exit code is the same.
                let mut out = io::stdout().lock();
                let _ = serde_json::to_writer_pretty(&mut out, &failure.to_json());
                let _ = writeln!(out);
            }
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Logs go to stderr, filtered by `TICKETS_LOG` (else `RUST_LOG`); nothing is logged when
/// neither is set.
fn init_logging() {
    let Some(filter) = ["TICKETS_LOG", "RUST_LOG"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.trim().is_empty()))
    else {
        return;
    };
    match tracing_subscriber::EnvFilter::try_new(&filter) {
        Ok(filter) => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(io::stderr)
            .with_ansi(io::stderr().is_terminal())
            .init(),
        Err(e) => eprintln!("tickets: ignoring the log filter {filter:?}: {e}"),
    }
}
