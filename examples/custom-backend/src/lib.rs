//! A tickets provider written outside the tickets repository, the way a third party would:
//! kind `"notebook"`, tickets kept in one JSON file (or only in memory when no `path` is set).
//!
//! It depends on nothing but the published `tickets-core` API. Registration is one
//! `inventory::submit!` of a [`ProviderFactory`]; an application that links this crate (and
//! names it, e.g. `use custom_backend as _;`, so the linker keeps it) can then say
//!
//! ```toml
//! [backends.notes]
//! provider = "notebook"
//! path = "tickets.json"
//! ```
//!
//! and `Tickets::load()` builds it like any built-in provider.
//!
//! | key    | default        | meaning                                                |
//! |--------|----------------|--------------------------------------------------------|
//! | `path` | none (memory)  | the JSON file; created on the first write              |
//! | `workflow` | the default | a custom status workflow table                         |

mod provider;

pub use provider::{Notebook, NotebookConfig};

use std::sync::Arc;

use tickets_core::{DynProvider, ProviderFactory};

/// The kind name configuration uses.
pub const KIND: &str = "notebook";

/// How the registry builds a notebook from its config section.
pub static FACTORY: ProviderFactory = ProviderFactory::new(
    KIND,
    "tickets in a JSON file (example third-party provider)",
    env!("CARGO_PKG_NAME"),
    |ctx| {
        Box::pin(async move {
            // Reads the section into our own struct; a key it does not have is an error
            // naming the key, where it came from and the nearest key we do have.
            let config: NotebookConfig = ctx.config()?;
            if let Some(dir) = config.path.as_ref().and_then(|p| p.parent())
                && !dir.as_os_str().is_empty()
                && !dir.is_dir()
            {
                return Err(ctx.config_error(
                    "path",
                    format!(
                        "names a file in {}, which is not a directory",
                        dir.display()
                    ),
                ));
            }
            let notebook = Notebook::open(config).map_err(|e| {
                ctx.config_error("path", format!("cannot be read: {}", e.message()))
            })?;
            Ok(Arc::new(notebook) as DynProvider)
        })
    },
);

tickets_core::inventory::submit!(FACTORY);
