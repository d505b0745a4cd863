//! The command line: global options and one subcommand per operation.
//!
//! Values with a meaning in the ticket model (statuses, priorities, dates, custom field JSON)
//! are taken as text here and parsed by the commands with the core's own parsers, so a bad value
//! is an `InvalidInput` error (exit 4) worded like the library's, while a malformed command line
//! (unknown flag, missing argument) is a usage error (exit 2) from clap.
//!
//! To add a group of subcommands (e.g. `tickets sync run|status|retry|push|pull`): add a variant
//! holding a `#[command(subcommand)]` enum here, and a module under `commands/` that runs it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// One API for tickets, whatever system holds them.
///
/// Configuration comes from --config FILE, else $TICKETS_CONFIG, else tickets.toml (or .yaml,
/// .yml, .json) in the working directory, then TICKETS_* environment variables. With nothing
/// configured, tickets are kept in a local SQLite file, ./tickets.db.
#[derive(Debug, Parser)]
#[command(
    name = "tickets",
    version,
    max_term_width = 100,
    after_long_help = "Exit codes: 0 done, 1 other failure, 2 usage or configuration, 3 not found, \
                       4 invalid input, refused transition or conflict, 5 remote unavailable, \
                       rate limited or timed out.\n\nLogs: TICKETS_LOG (or RUST_LOG), e.g. \
                       TICKETS_LOG=debug; to stderr, off by default."
)]
pub struct Cli {
    /// Read the configuration from this file (TOML, YAML or JSON) instead of the defaults.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Run on this configured backend instead of the default one.
    #[arg(long, global = true, value_name = "NAME")]
    pub backend: Option<String>,

    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a ticket.
    Create(CreateArgs),
    /// Show one ticket.
    Get(IdArg),
    /// List tickets (every page, unless --limit).
    List(ListArgs),
    /// Change fields of a ticket.
    Update(UpdateArgs),
    /// Move a ticket to another status (new, triaged, in_progress, on_hold, escalated, resolved,
    /// closed, cancelled).
    Status(StatusArgs),
    /// Assign a ticket to someone.
    Assign(AssignArgs),
    /// Remove a ticket's assignee.
    Unassign(IdArg),
    /// Add a comment to a ticket.
    Comment(CommentArgs),
    /// Show a ticket's comments, oldest first.
    Comments(IdArg),
    /// Close a ticket.
    Close(IdArg),
    /// Resolve a ticket.
    Resolve(IdArg),
    /// Escalate a ticket.
    Escalate(IdArg),
    /// Reopen a resolved, closed or cancelled ticket.
    Reopen(IdArg),
    /// Show a ticket's change history (where the backend keeps one).
    History(IdArg),
    /// List the provider kinds this program knows.
    Providers,
    /// List the configured backends.
    Backends,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Delivery to the remote of a `sync` backend: run, status, retry, skip, verify, push, pull.
    #[command(subcommand)]
    Sync(SyncCommand),
}

/// `tickets sync ...` (on a backend of kind `sync`).
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Deliver pending changes to the remote (until Ctrl-C, or with --once until none is due).
    Run {
        /// Deliver what is due now, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Show pending, delivering and parked changes, why each waits, and parked errors.
    Status,
    /// Re-queue parked changes (of one ticket, or all), their attempt counts reset.
    Retry {
        /// Only this local ticket's parked changes.
        id: Option<String>,
    },
    /// Drop one parked change for good (recorded in the ticket's history), so the ticket's
    /// later changes flow again. The local ticket keeps the change; only its delivery is
    /// given up.
    Skip {
        /// The change's number (`#N` in `tickets sync status`).
        seq: i64,
    },
    /// Compare every local ticket with its remote ticket, field by field and comment by
    /// comment, and print the differences; with --repair, make one side match the other.
    Verify {
        /// Repair the differences: `remote` sends the local values through the outbox,
        /// `local` takes the remote values as a pull would.
        #[arg(long, value_enum)]
        repair: Option<RepairSide>,
    },
    /// Make the remote ticket match a local one now (create it there if needed).
    Push {
        /// The local ticket id.
        id: String,
    },
    /// Import or refresh a remote ticket locally.
    Pull {
        /// The ticket's id in the remote system.
        remote_id: String,
    },
}

/// Which side `tickets sync verify --repair` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RepairSide {
    /// Make the local tickets match the remote ones.
    Local,
    /// Make the remote tickets match the local ones.
    Remote,
}

/// A ticket id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The ticket's id, as the backend gives it.
    pub id: String,
}

/// `tickets create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// One-line summary (required, not blank).
    #[arg(long, short = 's')]
    pub subject: String,
    /// Longer text.
    #[arg(long, short = 'd')]
    pub description: Option<String>,
    /// critical, high, medium (default), low or info.
    #[arg(long, short = 'p')]
    pub priority: Option<String>,
    /// Who should work on it.
    #[arg(long, short = 'a')]
    pub assignee: Option<String>,
    /// Who asked.
    #[arg(long, short = 'r')]
    pub requester: Option<String>,
    /// Starting status (default new).
    #[arg(long)]
    pub status: Option<String>,
    /// Ticket type, where the backend keeps one (incident, question, ...).
    #[arg(long)]
    pub kind: Option<String>,
    /// Due date, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    pub due: Option<String>,
    /// A tag (repeat for more).
    #[arg(long = "tag", short = 't', value_name = "T")]
    pub tags: Vec<String>,
    /// Someone to keep informed (repeat for more).
    #[arg(long = "watcher", value_name = "W")]
    pub watchers: Vec<String>,
    /// A custom field, its value as JSON (bare text is taken as a string). Repeat for more.
    #[arg(long = "field", value_name = "KEY=JSON")]
    pub fields: Vec<String>,
    /// Create at most once for this key, where the backend supports it.
    #[arg(long, value_name = "K")]
    pub idempotency_key: Option<String>,
}

/// `tickets list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only tickets in this status (repeat for any of several).
    #[arg(long = "status", value_name = "S")]
    pub statuses: Vec<String>,
    /// Only tickets assigned to this person.
    #[arg(long)]
    pub assignee: Option<String>,
    /// Only tickets asked for by this person.
    #[arg(long)]
    pub requester: Option<String>,
    /// Only tickets carrying this tag (repeat: all of them).
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// Only tickets whose subject or description contains this text.
    #[arg(long, value_name = "Q")]
    pub text: Option<String>,
    /// Only tickets changed at or after this time (RFC 3339, or a date YYYY-MM-DD).
    #[arg(long, value_name = "RFC3339")]
    pub updated_since: Option<String>,
    /// Stop after this many tickets (default: all of them).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

/// `tickets update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The ticket's id.
    pub id: String,
    /// New subject.
    #[arg(long)]
    pub subject: Option<String>,
    /// New description.
    #[arg(long)]
    pub description: Option<String>,
    /// New priority.
    #[arg(long)]
    pub priority: Option<String>,
    /// New status (the workflow must allow the move).
    #[arg(long)]
    pub status: Option<String>,
    /// New assignee.
    #[arg(long, conflicts_with = "unassign")]
    pub assignee: Option<String>,
    /// Remove the assignee.
    #[arg(long)]
    pub unassign: bool,
    /// New requester.
    #[arg(long)]
    pub requester: Option<String>,
    /// New ticket type.
    #[arg(long)]
    pub kind: Option<String>,
    /// New due date, YYYY-MM-DD.
    #[arg(long, value_name = "DATE", conflicts_with = "clear_due")]
    pub due: Option<String>,
    /// Remove the due date.
    #[arg(long)]
    pub clear_due: bool,
    /// Replace the tags with these (repeat for more).
    #[arg(long = "tag", value_name = "T", conflicts_with = "clear_tags")]
    pub tags: Vec<String>,
    /// Remove every tag.
    #[arg(long)]
    pub clear_tags: bool,
    /// Set a custom field, its value as JSON (bare text is taken as a string). Repeatable.
    #[arg(long = "field", value_name = "KEY=JSON")]
    pub fields: Vec<String>,
    /// Remove a custom field. Repeatable.
    #[arg(long = "clear-field", value_name = "KEY")]
    pub clear_fields: Vec<String>,
    /// Refuse the change (Conflict) if the ticket is no longer at this version.
    #[arg(long, value_name = "V")]
    pub expected_version: Option<String>,
}

/// `tickets status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The ticket's id.
    pub id: String,
    /// The status to move to.
    pub status: String,
}

/// `tickets assign`.
#[derive(Debug, Args)]
pub struct AssignArgs {
    /// The ticket's id.
    pub id: String,
    /// Who should work on it.
    pub user: String,
}

/// `tickets comment`.
#[derive(Debug, Args)]
pub struct CommentArgs {
    /// The ticket's id.
    pub id: String,
    /// The comment's text ("-" reads it from standard input).
    pub text: String,
    /// Who wrote it.
    #[arg(long)]
    pub author: Option<String>,
    /// Visible to staff only, not to the requester.
    #[arg(long)]
    pub private: bool,
    /// Add at most once for this key, where the backend supports it.
    #[arg(long, value_name = "K")]
    pub idempotency_key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_command() {
        let cli =
            Cli::try_parse_from(["tickets", "get", "42", "--json", "--backend", "b"]).unwrap();
        assert!(cli.json);
        assert_eq!(cli.backend.as_deref(), Some("b"));
        assert!(matches!(cli.command, Command::Get(IdArg { ref id }) if id == "42"));
    }

    #[test]
    fn assignee_and_unassign_conflict() {
        let err = Cli::try_parse_from(["tickets", "update", "1", "--assignee", "a", "--unassign"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn repeated_flags_collect() {
        let cli = Cli::try_parse_from([
            "tickets",
            "create",
            "--subject",
            "S",
            "--tag",
            "a",
            "-t",
            "b",
            "--field",
            "x=1",
        ])
        .unwrap();
        let Command::Create(args) = cli.command else {
            panic!("not create")
        };
        assert_eq!(args.tags, ["a", "b"]);
        assert_eq!(args.fields, ["x=1"]);
    }
}
