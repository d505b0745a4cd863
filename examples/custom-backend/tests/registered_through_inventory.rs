//! Proof that an outside crate plugs in through `inventory`: nothing here calls the provider
//! directly; the hub is built from a configuration that names the kind `"notebook"`, and the
//! conformance suite runs on what the registry built.

// Name the crate so the linker keeps it (and with it the `inventory` registration), exactly as
// an application linking a third-party provider does.
use custom_backend as _;

use tickets_core::figment::Figment;
use tickets_core::figment::providers::{Format, Serialized, Toml};
use tickets_core::{Config, DynProvider, ErrorKind, NewTicket, Registry, Tickets};

#[test]
fn the_kind_is_discovered() {
    let registry = Registry::discover().unwrap();
    let kinds: Vec<_> = registry.kinds().collect();
    assert!(kinds.contains(&"notebook"), "{kinds:?}");
    assert!(kinds.contains(&"memory"), "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_built_from_config_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notebook.json");
    // A tickets.toml, as an application would ship it.
    let toml =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tickets.toml")).unwrap();
    let figment =
        Figment::from(Toml::string(&toml)).merge(Serialized::default("backends.notes.path", &path));
    let tickets = Tickets::from_config(Config::from_figment(figment).unwrap())
        .await
        .unwrap();
    assert_eq!(tickets.default_backend().unwrap().kind(), "notebook");

    tickets_testkit::run(std::sync::Arc::new(tickets.clone()) as DynProvider).await;
    assert!(
        path.is_file(),
        "the notebook was written to {}",
        path.display()
    );

    // A second hub on the same file sees what the first one wrote.
    let t = tickets.create(NewTicket::new("Still here?")).await.unwrap();
    let figment = Figment::from(Serialized::default("provider", "notebook"))
        .merge(Serialized::default("path", &path));
    let reopened = Tickets::from_figment(figment).await.unwrap();
    assert_eq!(reopened.get(&t.id).await.unwrap().subject, "Still here?");
}

#[tokio::test]
async fn a_bad_path_names_the_key() {
    let figment = Figment::from(Serialized::default("provider", "notebook"))
        .merge(Serialized::default("path", "/no/such/dir/book.json"));
    let err = Tickets::from_figment(figment).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let msg = err.to_string();
    assert!(
        msg.contains("`path`") && msg.contains("/no/such/dir"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_misspelt_key_names_the_nearest_one() {
    // The factory declares no keys: `ctx.config::<NotebookConfig>()` checks the section
    // against the struct's fields.
    let figment = Figment::from(Toml::string(
        "[backends.notes]\nprovider = \"notebook\"\npth = \"book.json\"\n",
    ));
    let err = Tickets::from_config(Config::from_figment(figment).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let msg = err.to_string();
    assert!(
        msg.contains("`backends.notes.pth`") && msg.contains("did you mean `path`"),
        "{msg}"
    );
}
