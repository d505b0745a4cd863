//! Running a parsed command line.
//!
//! [`run`] loads the configuration, builds the hub (only for commands that need a backend),
//! and hands each command to its module: [`ticket`] for ticket operations, [`info`] for
//! `providers`, `backends` and `config`. A new group (`tickets sync ...`) gets its own module
//! and one arm in [`on_backend`].

pub mod files;
pub mod info;
pub mod parse;
pub mod store;
pub mod sync;
pub mod ticket;

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tickets::{Config, ConfigLoader, EMBEDDED_DEFAULT, Error, ErrorKind, Registry, Tickets};

use crate::cli::{Cli, Command, IdArg};
use crate::output::Printer;
use ticket::Shortcut;

/// Where the embedded default keeps its tickets when nothing is configured.
pub const LOCAL_STORE: &str = "tickets.db";

/// Why a command failed: the library said no, or writing the output failed.
#[derive(Debug)]
pub enum Failure {
    /// An error from `tickets` (or from parsing a value for it).
    Tickets(Error),
    /// Writing to stdout (or reading stdin) failed.
    Io(io::Error),
    /// `tickets sync verify` found this many differences (already printed).
    Differences(usize),
}

impl Failure {
    /// The process exit code: 2 usage or config, 3 not found, 4 invalid input or transition
    /// (and conflicts), 5 remote unavailable, rate limited or timed out, 6 `sync verify` found
    /// differences, 1 anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Tickets(e) => exit_code(e.kind()),
            Failure::Io(_) => 1,
            Failure::Differences(_) => 6,
        }
    }

    /// True when stdout was closed early (`tickets list | head`), which is not an error.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Failure::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// The exit code for an error kind.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Config => 2,
        ErrorKind::NotFound => 3,
        ErrorKind::InvalidInput
        | ErrorKind::InvalidTransition
        | ErrorKind::Conflict
        | ErrorKind::AlreadyExists => 4,
        ErrorKind::Unavailable | ErrorKind::RateLimited | ErrorKind::Timeout => 5,
        _ => 1,
    }
}

impl Failure {
    /// The failure as one JSON object, for `--json`: `{"error": {"kind": "not_found",
    /// "message": ..., "provider": ..., "operation": ..., "exit_code": 3, ...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut error = serde_json::Map::new();
        match self {
            Failure::Tickets(e) => {
                error.insert("kind".into(), e.kind().code().into());
                error.insert("message".into(), e.message().into());
                error.insert("provider".into(), e.provider().into());
                error.insert("operation".into(), e.operation().into());
                error.insert("retryable".into(), e.is_retryable().into());
                if let Some(after) = e.retry_after() {
                    error.insert("retry_after_secs".into(), after.as_secs_f64().into());
                }
                for (k, v) in e.context() {
                    error.insert((*k).to_owned(), v.clone().into());
                }
            }
            Failure::Io(e) => {
                error.insert("kind".into(), "io".into());
                error.insert("message".into(), e.to_string().into());
            }
            Failure::Differences(n) => {
                error.insert("kind".into(), "differences".into());
                error.insert("message".into(), self.to_string().into());
                error.insert("differences".into(), (*n).into());
            }
        }
        error.insert("exit_code".into(), self.exit_code().into());
        error.insert("text".into(), self.to_string().into());
        serde_json::json!({ "error": error })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Failure::Tickets(e) => e.to_string(),
            Failure::Io(e) => format!("I/O error: {e}"),
            Failure::Differences(n) => {
                format!("the local store and the remote differ in {n} place(s)")
            }
        };
        // One line, whatever the message holds.
        let one_line: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        f.write_str(&one_line.join(" "))
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Tickets(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

/// Runs the command line, writing results to `out`.
pub async fn run<W: Write>(cli: &Cli, out: &mut Printer<W>) -> Result<(), Failure> {
    if let Command::Completions { shell } = &cli.command {
        use clap::CommandFactory;
        let mut command = Cli::command();
        // Into a buffer first: the generator panics on a write error (a closed pipe).
        let mut script = Vec::new();
        clap_complete::generate(*shell, &mut command, "tickets", &mut script);
        out.raw().write_all(&script)?;
        return Ok(());
    }
    if let Command::Providers = cli.command {
        // Works even when the configuration is broken.
        return info::providers(&Registry::discover()?, out);
    }
    let config = load_config(cli)?;
    let registry = Registry::discover()?;
    match &cli.command {
        Command::Backends => info::backends(&config, &registry, cli.backend.as_deref(), out),
        Command::Config => info::config(&config, &registry, out),
        command => {
            if let Some(e) = store::missing(command, &config, &registry, cli.backend.as_deref()) {
                return Err(e.into());
            }
            let first_use = FirstUse::check(&config, &registry);
            let tickets = Tickets::from_config_with(config, registry).await?;
            let result = async {
                if let Some(name) = &cli.backend {
                    tickets.use_backend(name)?;
                }
                on_backend(command, &tickets, out).await
            }
            .await;
            if result.is_ok() {
                sync::settle(command, &tickets, cli.quiet).await;
            }
            // Whatever happened once the backends are built: stop sync workers (giving back
            // what they claimed) and close stores, so a SQLite WAL is checkpointed into the
            // database file instead of being left beside it.
            if let Err(e) = tickets.shutdown().await {
                tracing::warn!(error = %e, "shutting the backends down failed");
            }
            if !cli.quiet {
                first_use.report();
            }
            result
        }
    }
}

fn load_config(cli: &Cli) -> Result<Config, Error> {
    let mut loader = ConfigLoader::new();
    if let Some(path) = &cli.config {
        loader = loader.file(path);
    }
    loader.load()
}

/// Runs a command that works on tickets, on the hub's default backend.
pub async fn on_backend<W: Write>(
    command: &Command,
    tickets: &Tickets,
    out: &mut Printer<W>,
) -> Result<(), Failure> {
    match command {
        Command::Create(a) => ticket::create(tickets, a, out).await,
        Command::Get(IdArg { id }) => ticket::get(tickets, id, out).await,
        Command::List(a) => ticket::list(tickets, a, out).await,
        Command::Update(a) => ticket::update(tickets, a, out).await,
        Command::Status(a) => ticket::status(tickets, a, out).await,
        Command::Assign(a) => ticket::assign_to(tickets, a, out).await,
        Command::Unassign(IdArg { id }) => ticket::assign(tickets, id, None, out).await,
        Command::Comment(a) => ticket::comment(tickets, a, out).await,
        Command::Comments(IdArg { id }) => ticket::comments(tickets, id, out).await,
        Command::Close(IdArg { id }) => ticket::shortcut(tickets, Shortcut::Close, id, out).await,
        Command::Resolve(IdArg { id }) => {
            ticket::shortcut(tickets, Shortcut::Resolve, id, out).await
        }
        Command::Escalate(IdArg { id }) => {
            ticket::shortcut(tickets, Shortcut::Escalate, id, out).await
        }
        Command::Reopen(IdArg { id }) => ticket::shortcut(tickets, Shortcut::Reopen, id, out).await,
        Command::History(IdArg { id }) => ticket::history(tickets, id, out).await,
        Command::Attach(a) => files::attach(tickets, a, out).await,
        Command::Attachments(IdArg { id }) => files::list(tickets, id, out).await,
        Command::Download(a) => files::download(tickets, a, out).await,
        Command::Delete(a) => files::delete(tickets, a, out).await,
        Command::Sync(c) => sync::run(c, tickets, out).await,
        Command::Providers => info::providers(tickets.registry(), out),
        // Answered before any backend is built (see `run`).
        Command::Completions { .. } => Ok(()),
        Command::Config => info::config(hub_config(tickets)?, tickets.registry(), out),
        Command::Backends => {
            let chosen = tickets.default_name();
            info::backends(
                hub_config(tickets)?,
                tickets.registry(),
                chosen.as_deref(),
                out,
            )
        }
    }
}

fn hub_config(tickets: &Tickets) -> Result<&Config, Error> {
    tickets
        .config()
        .ok_or_else(|| Error::config("this hub was not built from a configuration"))
}

/// Notices the embedded store being created by this command, to say where it is, once.
#[derive(Debug)]
struct FirstUse(Option<PathBuf>);

impl FirstUse {
    fn check(config: &Config, registry: &Registry) -> Self {
        let path = Path::new(LOCAL_STORE);
        let embedded = config.is_empty() && registry.contains(EMBEDDED_DEFAULT);
        Self((embedded && !path.exists()).then(|| path.to_owned()))
    }

    fn report(&self) {
        if let Some(path) = &self.0
            && path.exists()
        {
            eprintln!("tickets: created local store ./{}", path.display());
        }
    }
}

#[cfg(test)]
mod tests;
