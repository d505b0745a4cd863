//! The conformance suite against the fake Asana: plain, and with latency and a 10% failure
//! rate injected (the provider's own retries must cope).

use std::sync::Arc;
use std::time::Duration;

use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::DynProvider;
use tickets_fakes::asana::FakeAsana;
use tickets_testkit::SuiteOptions;

fn provider(fake: &FakeAsana, max_retries: u32) -> DynProvider {
    let mut config = AsanaConfig::new(fake.token(), fake.project())
        .base_url(fake.base_url())
        .workspace(fake.workspace());
    config.max_retries = max_retries;
    Arc::new(AsanaProvider::new(config).expect("valid config"))
}

fn options() -> SuiteOptions {
    // An id of Asana's format (a numeric gid) that does not exist.
    SuiteOptions::default().unknown_id("1209999999999999")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_against_the_fake() {
    let fake = FakeAsana::start().await.expect("fake starts");
    let report = tickets_testkit::run_with(provider(&fake, 3), options()).await;
    assert!(report.passed.contains(&"idempotent_comment"), "{report}");
    assert_eq!(
        fake.faults().stats().rate_limited,
        0,
        "client-side limits keep under Asana's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_with_latency_and_failures() {
    let fake = FakeAsana::start().await.expect("fake starts");
    fake.faults().set_latency(Duration::from_millis(2));
    fake.faults().set_failure_rate(0.10);
    // Some writes are applied and then lose their answer: no duplicates may follow. Comments
    // carry keys, as only a key makes such a comment safe to send again.
    fake.faults().set_drop_rate(0.03);
    let options = options().concurrency(20).keyed_comments(true);
    let report = tickets_testkit::run_with(provider(&fake, 10), options).await;
    assert!(report.passed.contains(&"idempotent_comment"), "{report}");
    let stats = fake.faults().stats();
    assert!(
        stats.injected > 10,
        "the run met injected failures: {stats:?}"
    );
}
