//! The README's capability table says what `capabilities()` says (against the fake, so the
//! priorities are discovered as on a server).

use tickets_bugzilla::{BugzillaConfig, BugzillaProvider};
use tickets_core::TicketProvider;
use tickets_fakes::bugzilla::FakeBugzilla;

#[tokio::test]
async fn the_capability_table_matches_the_provider() {
    let fake = FakeBugzilla::start().await.expect("fake");
    let cfg = BugzillaConfig::new(
        fake.base_url(),
        fake.api_key(),
        fake.product(),
        fake.component(),
    );
    let p = BugzillaProvider::connect(cfg).await.expect("provider");
    tickets_testkit::readme::check_capability_table(
        include_str!("../README.md"),
        &p.capabilities(),
    )
    .unwrap_or_else(|e| panic!("README.md's capability table drifted:\n{e}"));
}
