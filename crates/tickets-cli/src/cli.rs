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

    /// Print one JSON document instead of text (a failure too: `{"error": {...}}`).
    #[arg(long, global = true, conflicts_with = "jsonl")]
    pub json: bool,

    /// Print lists one JSON object per line, as they arrive.
    #[arg(long, global = true)]
    pub jsonl: bool,

    /// No progress display and no notes on stderr (errors are still printed).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a ticket.
    #[command(
        after_help = "Examples:\n  tickets create --subject \"Server down\" --priority critical --tag ops\n  tickets --json create -s \"Printer on fire\" --assignee alice@example.com --field site=\"berlin\""
    )]
    Create(CreateArgs),
    /// Show one ticket.
    #[command(
        after_help = "Examples:\n  tickets get 0190f3a2-7c4e-7b1a-9d2e-3f4a5b6c7d8e\n  tickets --backend tracker --json get 1209000000000001"
    )]
    Get(IdArg),
    /// List tickets (every page, unless --limit).
    #[command(
        after_help = "Examples:\n  tickets list --status new --status triaged --tag ops\n  tickets list --assignee alice@example.com --limit 20\n  tickets list --updated-since 2026-11-01 --jsonl | jq .subject"
    )]
    List(ListArgs),
    /// Change fields of a ticket.
    #[command(
        after_help = "Examples:\n  tickets update ID --subject \"API down in eu-1\" --priority high\n  tickets update ID --clear-tags --field severity=2 --expected-version 4"
    )]
    Update(UpdateArgs),
    /// Move a ticket to another status (new, triaged, in_progress, on_hold, escalated, resolved,
    /// closed, cancelled).
    #[command(
        after_help = "Examples:\n  tickets status ID in_progress\n  tickets status ID on_hold"
    )]
    Status(StatusArgs),
    /// Assign a ticket to someone.
    #[command(after_help = "Examples:\n  tickets assign ID alice@example.com")]
    Assign(AssignArgs),
    /// Remove a ticket's assignee.
    #[command(after_help = "Examples:\n  tickets unassign ID")]
    Unassign(IdArg),
    /// Add a comment to a ticket.
    #[command(
        after_help = "Examples:\n  tickets comment ID \"Restarted api-1\" --author alice@example.com\n  journalctl -u api | tail -50 | tickets comment ID -"
    )]
    Comment(CommentArgs),
    /// Show a ticket's comments, oldest first.
    #[command(after_help = "Examples:\n  tickets comments ID\n  tickets --json comments ID")]
    Comments(IdArg),
    /// Close a ticket.
    #[command(after_help = "Examples:\n  tickets close ID")]
    Close(IdArg),
    /// Resolve a ticket.
    #[command(after_help = "Examples:\n  tickets resolve ID")]
    Resolve(IdArg),
    /// Escalate a ticket.
    #[command(after_help = "Examples:\n  tickets escalate ID")]
    Escalate(IdArg),
    /// Reopen a resolved, closed or cancelled ticket.
    #[command(after_help = "Examples:\n  tickets reopen ID")]
    Reopen(IdArg),
    /// Show a ticket's change history (where the backend keeps one).
    #[command(after_help = "Examples:\n  tickets history ID")]
    History(IdArg),
    /// Attach a file to a ticket (where the backend keeps attachments).
    #[command(
        after_help = "Examples:\n  tickets attach ID crash.log\n  tickets attach ID shot.png --name before-fix.png\n  journalctl -u api | tickets attach ID - --name api.log"
    )]
    Attach(AttachArgs),
    /// List a ticket's attachments.
    #[command(after_help = "Examples:\n  tickets attachments ID\n  tickets --json attachments ID")]
    Attachments(IdArg),
    /// Save an attachment's content to a file (or stdout with `-`).
    #[command(
        after_help = "Examples:\n  tickets download ATTACHMENT_ID\n  tickets download ATTACHMENT_ID --output - | less"
    )]
    Download(DownloadArgs),
    /// Delete a ticket with its comments and attachments (asks first on a terminal).
    #[command(after_help = "Examples:\n  tickets delete ID\n  tickets delete ID --yes")]
    Delete(DeleteArgs),
    /// List the provider kinds this program knows.
    #[command(after_help = "Examples:\n  tickets providers")]
    Providers,
    /// List the configured backends.
    #[command(after_help = "Examples:\n  tickets backends\n  tickets --config prod.toml backends")]
    Backends,
    /// Print the effective configuration, secrets redacted.
    #[command(after_help = "Examples:\n  tickets config\n  TICKETS_PROVIDER=asana tickets config")]
    Config,
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    #[command(
        after_help = "Examples:\n  tickets completions bash > ~/.local/share/bash-completion/completions/tickets\n  tickets completions zsh > \"${fpath[1]}/_tickets\"\n  tickets completions fish > ~/.config/fish/completions/tickets.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
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

/// `tickets attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The ticket's id.
    pub id: String,
    /// The file to attach (`-` reads stdin; then give --name).
    pub file: PathBuf,
    /// The file name the attachment gets (default: the file's own).
    #[arg(long)]
    pub name: Option<String>,
    /// The media type (default: guessed from the name).
    #[arg(long)]
    pub content_type: Option<String>,
    /// Who attaches it.
    #[arg(long)]
    pub author: Option<String>,
}

/// `tickets download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The attachment's id (`tickets attachments ID` lists them).
    pub attachment_id: String,
    /// Where to write it: a file (default: the attachment's name, in the working directory,
    /// never overwritten) or `-` for stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

/// `tickets delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The ticket's id.
    pub id: String,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
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
    #[arg(long = "tag", short = 't', value_name = "T", value_parser = non_blank_tag)]
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
    #[arg(long = "tag", value_name = "T", value_parser = non_blank_tag)]
    pub tags: Vec<String>,
    /// Only tickets whose subject or description contains this text.
    #[arg(long, value_name = "Q")]
    pub text: Option<String>,
    /// Only tickets changed at or after this time (RFC 3339, or a date YYYY-MM-DD).
    #[arg(long, value_name = "RFC3339")]
    pub updated_since: Option<String>,
    /// Stop after this many tickets (default: all of them).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = positive_count)]
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
    #[arg(long = "tag", value_name = "T", conflicts_with = "clear_tags", value_parser = non_blank_tag)]
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

/// A tag as given to `--tag`: not empty or blank (an empty tag would be dropped silently).
fn non_blank_tag(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("a tag must not be empty; leave --tag out (or use --clear-tags)".into());
    }
    Ok(text.to_owned())
}

/// A count of at least one (`--limit`).
fn positive_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<i128>() {
        Ok(n) if n >= 1 => usize::try_from(n).map_err(|_| format!("{n} is too large")),
        Ok(n) => Err(format!("must be at least 1 (got {n})")),
        Err(_) => Err(format!(
            "must be a whole number of at least 1 (got {text:?})"
        )),
    }
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
