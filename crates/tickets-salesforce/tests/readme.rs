//! The README's capability table says what `capabilities()` says.

mod common;

use tickets_core::TicketProvider;

#[tokio::test]
async fn the_capability_table_matches_the_provider() {
    let fake = common::fake().await;
    let p = common::provider(common::full_config(&fake));
    tickets_testkit::readme::check_capability_table(
        include_str!("../README.md"),
        &p.capabilities(),
    )
    .unwrap_or_else(|e| panic!("README.md's capability table drifted:\n{e}"));
}
