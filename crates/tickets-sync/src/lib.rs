#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod apply;
mod config;
pub mod convert;
mod deliver;
mod error;
mod provider;
mod pull;
mod push;
mod status;
mod verify;
pub mod worker;

use std::sync::Arc;

use tickets_core::{BuildContext, DynProvider, ProviderFactory, Result};
use tickets_internal::{InternalConfig, InternalProvider};

pub use config::{ConflictRules, HookPoint, Rule, SyncConfig, TestHook, WorkerOptions};
pub use provider::{KIND, Metrics, MetricsHandle, SyncProvider};
pub use pull::PullReport;
pub use status::{ParkedEntry, RemoteDeleted, SyncStatus, WaitReason, WaitingEntry};
pub use verify::{Difference, Repair, VerifyReport};
pub use worker::RunReport;

/// The `sync` provider's factory, registered through `inventory`.
pub static FACTORY: ProviderFactory = ProviderFactory::new(
    KIND,
    "internal store first, then durable delivery of every change to a remote tracker",
    env!("CARGO_PKG_NAME"),
    |ctx| Box::pin(build(ctx)),
)
.with_keys(SyncConfig::KEYS);

inventory::submit!(FACTORY);

/// Builds a sync backend from its config section (see [`SyncConfig`]).
async fn build(ctx: BuildContext) -> Result<DynProvider> {
    let config: SyncConfig = ctx.config()?;
    if let Err((key, problem)) = config.check() {
        return Err(ctx.config_error(key, problem));
    }
    let (local_config, remote, remote_name) = match (&config.local, &config.remote) {
        (Some(local), Some(remote)) => {
            ctx.check_keys(SyncConfig::NAMED_KEYS)?;
            let kind = ctx.backend_kind(local)?;
            if kind != tickets_internal::KIND {
                return Err(ctx.config_error(
                    "local",
                    format!(
                        "backend {local:?} is a {kind:?} backend; sync keeps its tickets in an \
                         \"internal\" one"
                    ),
                ));
            }
            let local_config: InternalConfig = ctx.backend_config(local)?;
            (local_config, ctx.backend(remote).await?, remote.clone())
        }
        _ => {
            // The seed's shape: the internal default store (or `url`), and Asana from this
            // section's keys (`asana_project`, `token`, ...). Built directly, so this
            // section's layers wrap the sync provider only.
            let local_config: InternalConfig = ctx.config()?;
            (local_config, seed_shape_remote(&ctx)?, "asana".to_owned())
        }
    };
    let local = InternalProvider::open(local_config.outbox(true)).await?;
    let provider = SyncProvider::new(local, remote, remote_name, config.worker_options())?;
    let provider = if config.worker {
        provider.start_worker()
    } else {
        provider
    };
    Ok(Arc::new(provider) as DynProvider)
}

/// The seed's shape builds its Asana remote from the sync section's own keys.
#[cfg(feature = "asana")]
fn seed_shape_remote(ctx: &BuildContext) -> Result<DynProvider> {
    let asana = tickets_asana::AsanaConfig::from_context(ctx)?;
    Ok(Arc::new(tickets_asana::AsanaProvider::new(asana)?) as DynProvider)
}

/// Without the `asana` feature the seed's shape cannot be built: say which feature is missing
/// and how to name the backends instead.
#[cfg(not(feature = "asana"))]
fn seed_shape_remote(ctx: &BuildContext) -> Result<DynProvider> {
    Err(ctx.config_error(
        "remote",
        "no `local`/`remote` backends are named, and the seed's shape (Asana from this \
         section's keys) needs the `asana` feature (tickets-sync/asana, or the `tickets` \
         facade's `asana` feature); enable it, or name `local` and `remote` backends"
            .to_owned(),
    ))
}
