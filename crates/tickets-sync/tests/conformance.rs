//! The conformance suite on the sync provider (local store on a temp SQLite file, remote = the
//! fake Asana with the worker running), then everything written is delivered and equal.

mod common;

use std::time::Duration;

use tickets_fakes::asana::FakeAsana;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_the_sync_provider() {
    let fake = FakeAsana::start().await.expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let sync = std::sync::Arc::new(
        common::sync(&dir, common::asana(&fake, 3), common::options())
            .await
            .start_worker(),
    );
    tickets_testkit::run(sync.clone()).await;
    common::drain(&sync, Duration::from_secs(120)).await;
    let m = sync.metrics();
    assert!(m.delivered > 0, "{m:?}");
    assert_eq!(m.parked, 0, "{m:?}");
}
