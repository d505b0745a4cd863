//! The README's capability table says what `capabilities()` says.

use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::TicketProvider;

#[test]
fn the_capability_table_matches_the_provider() {
    let p = AsanaProvider::new(AsanaConfig::new("0/token", "1209000000000000")).expect("provider");
    tickets_testkit::readme::check_capability_table(
        include_str!("../README.md"),
        &p.capabilities(),
    )
    .unwrap_or_else(|e| panic!("README.md's capability table drifted:\n{e}"));
}
