//! The conformance suite against the fake Asana: plain, and with latency and a 10% failure
//! rate injected (the retry layer, the one place requests are retried, must cope).

use std::sync::Arc;
use std::time::Duration;

use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::DynProvider;
use tickets_core::layers::{self, RetryPolicy};
use tickets_fakes::FaultConfig;
use tickets_fakes::asana::FakeAsana;
use tickets_testkit::SuiteOptions;

/// The fake is not Asana: pace at 1,000 a second so the suites stay quick (pacing at
/// Asana's rate has its own tests).
const FAST: u32 = 60_000;

fn provider(fake: &FakeAsana, max_retries: u32) -> DynProvider {
    let config = AsanaConfig::new(fake.token(), fake.project())
        .base_url(fake.base_url())
        .requests_per_minute(FAST)
        .workspace(fake.workspace());
    let p: DynProvider = Arc::new(AsanaProvider::new(config).expect("valid config"));
    layers::with_retry(
        p,
        RetryPolicy {
            max_retries,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(200),
            ..RetryPolicy::default()
        },
    )
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
    assert!(
        report.passed.contains(&"delete_then_get_is_not_found"),
        "{report}"
    );
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
    // Every tenth request is refused with a 429 (certainly not applied), which the retry layer
    // sends again whatever the call. Answers that may have been applied (5xx, dropped
    // connections) are retried only for idempotent calls; tests/provider.rs and
    // tests/comments.rs (80 keyed comments with 15% dropped answers) hold those cases.
    fake.faults().configure(&FaultConfig {
        failure_rate: Some(0.10),
        failure_statuses: Some(vec![429]),
        retry_after_secs: Some(0),
        ..FaultConfig::default()
    });
    let options = options().concurrency(20).keyed_comments(true);
    let report = tickets_testkit::run_with(provider(&fake, 10), options).await;
    assert!(report.passed.contains(&"idempotent_comment"), "{report}");
    let stats = fake.faults().stats();
    assert!(
        stats.injected > 10,
        "the run met injected failures: {stats:?}"
    );
}
