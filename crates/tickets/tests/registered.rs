//! Each provider crate enabled by a feature is linked in and registered through `inventory`.
//! (The linker drops a crate nothing names; the facade names each one, and these tests would
//! fail if it stopped doing so.)

fn kinds() -> Vec<&'static str> {
    tickets::Registry::discover()
        .expect("no kind is registered twice")
        .kinds()
        .collect()
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
