//! Each provider crate enabled by a feature is linked in and registered through `inventory`.
//! (The linker drops a crate nothing names; the facade names each one, and these tests would
//! fail if it stopped doing so.)

fn kinds() -> Vec<&'static str> {
    tickets::Registry::discover()
        .expect("no kind is registered twice")
        .kinds()
        .collect()
}

/// Exactly the kinds of the enabled features (and memory, always): a feature brings its own
/// provider and no other, unless its Cargo feature says so (`sync` turns on `internal`, where
/// it keeps its tickets; it no longer drags in `asana`).
#[test]
fn exactly_the_enabled_kinds_are_registered() {
    let mut expected = vec!["memory"];
    for (on, kind) in [
        (cfg!(feature = "internal"), "internal"),
        (cfg!(feature = "asana"), "asana"),
        (cfg!(feature = "bugzilla"), "bugzilla"),
        (cfg!(feature = "salesforce"), "salesforce"),
        (cfg!(feature = "sync"), "sync"),
    ] {
        if on {
            expected.push(kind);
        }
    }
    expected.sort_unstable();
    assert_eq!(kinds(), expected);
}

#[test]
fn memory_is_always_registered() {
    assert!(kinds().contains(&"memory"), "{:?}", kinds());
}

#[test]
fn kinds_are_listed_sorted_and_once() {
    let kinds = kinds();
    let mut sorted = kinds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(kinds, sorted);
}

#[test]
fn every_factory_has_a_summary_and_names_its_crate() {
    let registry = tickets::Registry::discover().unwrap();
    for f in registry.factories() {
        assert!(!f.summary.trim().is_empty(), "{} has no summary", f.kind);
        assert!(
            f.crate_name.starts_with("tickets"),
            "{}: {}",
            f.kind,
            f.crate_name
        );
    }
}

#[cfg(any(feature = "internal", feature = "postgres", feature = "mysql"))]
#[test]
fn internal_is_registered() {
    assert!(kinds().contains(&"internal"), "{:?}", kinds());
}

/// Each database is a feature: a URL of one this build lacks is a `Config` error naming the
/// feature to enable (here `internal` alone, so PostgreSQL and MySQL are missing).
#[cfg(all(
    feature = "internal",
    not(feature = "postgres"),
    not(feature = "mysql")
))]
#[tokio::test]
async fn a_server_url_without_its_feature_names_the_feature() {
    use tickets::internal::InternalProvider;
    for (url, feature) in [
        ("postgres://app@localhost/tickets", "`postgres`"),
        ("mysql://app@localhost/tickets", "`mysql`"),
    ] {
        let err = InternalProvider::connect(url).await.unwrap_err();
        assert_eq!(err.kind(), tickets::ErrorKind::Config, "{err}");
        assert!(err.message().contains(feature), "{err}");
    }
}

/// The same with PostgreSQL alone: the embedded SQLite default needs `internal`.
#[cfg(all(feature = "postgres", not(feature = "internal")))]
#[tokio::test]
async fn a_sqlite_url_without_the_internal_feature_names_it() {
    let err = tickets::internal::InternalProvider::connect("sqlite::memory:")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), tickets::ErrorKind::Config, "{err}");
    assert!(err.message().contains("`internal`"), "{err}");
}

#[cfg(feature = "internal")]
#[tokio::test]
async fn with_nothing_configured_the_hub_runs_on_internal() {
    let registry = tickets::Registry::discover().unwrap();
    let dir = std::env::temp_dir().join(format!("tickets-facade-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("t.db").display());
    // The fallback backend reads its keys from the (otherwise empty) top level.
    let figment = tickets::figment::Figment::from(
        tickets::figment::providers::Serialized::default("url", &url),
    );
    let config = tickets::Config::from_figment(figment).unwrap();
    assert!(config.is_empty());
    let hub = tickets::Tickets::from_config_with(config, registry)
        .await
        .unwrap();
    assert_eq!(hub.default_backend().unwrap().kind(), "internal");
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(feature = "asana")]
#[test]
fn asana_is_registered() {
    assert!(kinds().contains(&"asana"), "{:?}", kinds());
}

#[cfg(feature = "bugzilla")]
#[test]
fn bugzilla_is_registered() {
    assert!(kinds().contains(&"bugzilla"), "{:?}", kinds());
}

#[cfg(feature = "salesforce")]
#[test]
fn salesforce_is_registered() {
    assert!(kinds().contains(&"salesforce"), "{:?}", kinds());
}

#[cfg(feature = "sync")]
#[test]
fn sync_is_registered() {
    assert!(kinds().contains(&"sync"), "{:?}", kinds());
}

/// `sync` without `asana`: the seed's shape of config (Asana keys in the sync section) cannot
/// be built, and the error says which feature is missing instead of failing obscurely.
#[cfg(all(feature = "sync", not(feature = "asana")))]
#[tokio::test]
async fn the_seed_shape_without_asana_names_the_missing_feature() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
        provider = "sync"
        asana_project = "1"
        token = "t"
        url = "sqlite://{}"
        worker = false
        "#,
        dir.path().join("seed.db").display()
    );
    use tickets::figment::providers::{Format, Toml};
    let figment = tickets::figment::Figment::from(Toml::string(&toml));
    let err = tickets::Tickets::from_figment(figment)
        .await
        .expect_err("the seed shape needs the asana feature");
    let text = err.to_string();
    assert!(text.contains("`asana` feature"), "{text}");
    assert!(text.contains("remote"), "{text}");
}
