//! The hub refuses what it does not understand: unknown keys (in a section, in `layers`, in
//! `workflow`), with their source and the nearest known key, before any backend is built;
//! and numbers that cannot work, without panicking.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;
use tickets_core::memory::{self, MemoryProvider};
use tickets_core::{ConfigLoader, DynProvider, ErrorKind, ProviderFactory, Registry, Tickets};

/// Builds of the `counted` kind, which only `a_mistake_in_any_backend_fails_before_any_is_built`
/// configures (tests run at once: a kind of its own keeps the count its own).
static BUILT: AtomicUsize = AtomicUsize::new(0);

static COUNTED: ProviderFactory = ProviderFactory::new("counted", "test", "strict_config", |ctx| {
    Box::pin(async move {
        let _config: NoteConfig = ctx.config()?;
        BUILT.fetch_add(1, Ordering::SeqCst);
        Ok(Arc::new(MemoryProvider::new()) as DynProvider)
    })
});

/// A third-party factory that declares no keys: `ctx.config::<T>()` checks against `T`.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct NoteConfig {
    path: Option<String>,
    #[serde(default)]
    pages: u32,
}

static NOTES: ProviderFactory = ProviderFactory::new("notes", "test", "strict_config", |ctx| {
    Box::pin(async move {
        let _config: NoteConfig = ctx.config()?;
        Ok(Arc::new(MemoryProvider::new()) as DynProvider)
    })
});

fn registry() -> Registry {
    let mut r = Registry::empty();
    r.register(memory::FACTORY).unwrap();
    r.register(NOTES).unwrap();
    r.register(COUNTED).unwrap();
    r
}

async fn build(vars: &[(&str, &str)]) -> tickets_core::Result<Tickets> {
    let config = ConfigLoader::new()
        .env_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .load()?;
    Tickets::from_config_with(config, registry()).await
}

async fn error(vars: &[(&str, &str)]) -> String {
    let err = build(vars).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    err.to_string()
}

#[tokio::test]
async fn unknown_keys_of_a_declared_provider() {
    let msg = error(&[
        ("TICKETS_BACKENDS__MAIN__PROVIDER", "memory"),
        ("TICKETS_BACKENDS__MAIN__WORKFLOW", "{}"),
        ("TICKETS_BACKENDS__MAIN__WORKFLOWS", "{}"),
    ])
    .await;
    assert!(msg.contains("`backends.main.workflows`"), "{msg}");
    assert!(msg.contains("TICKETS_BACKENDS__MAIN__WORKFLOWS"), "{msg}");
    assert!(msg.contains("did you mean `workflow`"), "{msg}");
}

#[tokio::test]
async fn unknown_keys_of_an_undeclared_provider_are_checked_against_its_struct() {
    let msg = error(&[("TICKETS_PROVIDER", "notes"), ("TICKETS_PAGE", "3")]).await;
    assert!(msg.contains("`page`"), "{msg}");
    assert!(msg.contains("did you mean `pages`"), "{msg}");
    let hub = build(&[("TICKETS_PROVIDER", "notes"), ("TICKETS_PAGES", "3")]).await;
    assert!(hub.is_ok(), "{hub:?}");
}

#[tokio::test]
async fn layers_and_workflow_keys_are_checked() {
    let msg = error(&[
        ("TICKETS_PROVIDER", "memory"),
        ("TICKETS_LAYERS__RETIRES", "3"),
    ])
    .await;
    assert!(msg.contains("`layers.retires`"), "{msg}");
    assert!(msg.contains("did you mean `retries`"), "{msg}");
    let msg = error(&[
        ("TICKETS_PROVIDER", "memory"),
        ("TICKETS_WORKFLOW__REOPEN", "new"),
    ])
    .await;
    assert!(msg.contains("`workflow.reopen`"), "{msg}");
    assert!(msg.contains("did you mean `reopen_to`"), "{msg}");
}

#[tokio::test]
async fn layer_numbers_that_cannot_work_are_errors() {
    for (key, value) in [
        ("TIMEOUT_SECS", "1e20"),
        ("TIMEOUT_SECS", "NaN"),
        ("TIMEOUT_SECS", "-1"),
        ("TIMEOUT_SECS", "inf"),
        ("RETRIES", "4294967296"),
        ("RETRIES", "1000"),
        ("MAX_CONCURRENCY", "0"),
        ("MAX_CONCURRENCY", "18446744073709551615"),
    ] {
        let var = format!("TICKETS_LAYERS__{key}");
        let msg = error(&[("TICKETS_PROVIDER", "memory"), (&var, value)]).await;
        assert!(
            msg.contains(&format!("`layers.{}`", key.to_ascii_lowercase())),
            "{var}={value}: {msg}"
        );
    }
    let hub = build(&[
        ("TICKETS_PROVIDER", "memory"),
        ("TICKETS_LAYERS__TIMEOUT_SECS", "2.5"),
        ("TICKETS_LAYERS__RETRIES", "2"),
    ])
    .await;
    assert!(hub.is_ok(), "{hub:?}");
}

#[tokio::test]
async fn a_mistake_in_any_backend_fails_before_any_is_built() {
    let before = BUILT.load(Ordering::SeqCst);
    let msg = error(&[
        ("TICKETS_DEFAULT", "a"),
        ("TICKETS_BACKENDS__A__PROVIDER", "counted"),
        ("TICKETS_BACKENDS__Z__PROVIDER", "memory"),
        ("TICKETS_BACKENDS__Z__LAYERS__TRACING", "maybe"),
    ])
    .await;
    assert!(msg.contains("`backends.z.layers.tracing`"), "{msg}");
    assert_eq!(BUILT.load(Ordering::SeqCst), before, "nothing was built");
}

#[tokio::test]
async fn debug_of_the_hub_shows_no_values() {
    let hub = build(&[
        ("TICKETS_PROVIDER", "notes"),
        ("TICKETS_PATH", "/very/secret/place"),
    ])
    .await
    .unwrap();
    let shown = format!("{hub:?}");
    assert!(!shown.contains("/very/secret/place"), "{shown}");
    assert!(
        shown.contains("TICKETS_PATH"),
        "names the key's source: {shown}"
    );
}
