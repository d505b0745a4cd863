//! The README's capability table says what `capabilities()` says.

use tickets_core::TicketProvider;
use tickets_internal::InternalProvider;

#[tokio::test]
async fn the_capability_table_matches_the_provider() {
    let store = InternalProvider::in_memory().await.expect("store");
    tickets_testkit::readme::check_capability_table(
        include_str!("../README.md"),
        &store.capabilities(),
    )
    .unwrap_or_else(|e| panic!("README.md's capability table drifted:\n{e}"));
}
