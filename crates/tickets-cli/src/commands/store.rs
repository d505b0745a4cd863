//! Commands that only read or change existing tickets do not create a store.
//!
//! Opening a SQLite store creates its file, so `tickets list` in the wrong folder would leave
//! an empty `tickets.db` behind and answer "no tickets". Before the backends are built, a
//! command that cannot add tickets looks at the store it would read (the chosen backend, or the
//! local store of a `sync` backend) and, when that is a SQLite file that does not exist, says
//! so instead (`NotFound`, exit 3), without opening anything.

use tickets::internal::InternalConfig;
use tickets::{Config, EMBEDDED_DEFAULT, Error, ErrorKind, Registry};

use crate::cli::{Command, SyncCommand};

/// True for commands that may start a new store: `create`, and the sync commands that bring
/// remote tickets in (`sync run`, `sync pull`).
pub fn may_create(command: &Command) -> bool {
    matches!(
        command,
        Command::Create(_) | Command::Sync(SyncCommand::Run { .. } | SyncCommand::Pull { .. })
    )
}

/// The error to answer with when the store `command` reads is a SQLite file that does not
/// exist; `None` when it exists, may be created by this command, or is not a SQLite file.
/// A configuration this cannot read is left to building the backends, which reports it.
pub fn missing(
    command: &Command,
    config: &Config,
    registry: &Registry,
    chosen: Option<&str>,
) -> Option<Error> {
    if may_create(command) || !registry.contains(EMBEDDED_DEFAULT) {
        return None;
    }
    let embedded = config.is_empty();
    let config = config.clone().with_fallback(EMBEDDED_DEFAULT);
    let name = match chosen {
        Some(name) => name.to_owned(),
        None => config.default_name().ok()?,
    };
    let spec = config.backend(&name).ok()?;
    let (store_backend, store) = match spec.provider.as_str() {
        "internal" => (name.clone(), spec.figment.extract::<InternalConfig>().ok()?),
        "sync" => match spec.figment.extract_inner::<String>("local") {
            Ok(local) => {
                let local_spec = config.backend(&local).ok()?;
                if local_spec.provider != "internal" {
                    return None;
                }
                (local, local_spec.figment.extract::<InternalConfig>().ok()?)
            }
            // The seed's shape: the sync section holds the store's keys itself.
            Err(_) => (name.clone(), spec.figment.extract::<InternalConfig>().ok()?),
        },
        _ => return None,
    };
    let path = store.sqlite_path()?;
    if path.exists() {
        return None;
    }
    let message = if embedded {
        format!(
            "no ticket store here: {} does not exist (with nothing configured, tickets keeps \
             its tickets in ./tickets.db, which the first `tickets create` starts)",
            path.display()
        )
    } else {
        format!(
            "no ticket store at {} (backend {store_backend:?}): the file does not exist; the \
             first `tickets create` starts it, or fix the backend's url",
            path.display()
        )
    };
    Some(Error::new(ErrorKind::NotFound, message))
}
