//! The suite against the reference provider, directly and through every layer.

use std::sync::Arc;
use std::time::Duration;

use tickets_core::{DynProvider, layers, memory::MemoryProvider};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_passes_the_whole_suite() {
    let provider: DynProvider = Arc::new(MemoryProvider::new());
    let report = tickets_testkit::run(provider).await;
    assert!(
        report.skipped.is_empty(),
        "memory has every capability: {report}"
    );
    assert_eq!(report.passed.len(), tickets_testkit::cases::ALL.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_passes_with_keyed_comments() {
    let provider: DynProvider = Arc::new(MemoryProvider::new());
    let options = tickets_testkit::SuiteOptions::default().keyed_comments(true);
    let report = tickets_testkit::run_with(provider, options).await;
    assert!(report.passed.contains(&"comments_in_order_with_author"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_passes_through_all_layers() {
    let p: DynProvider = Arc::new(MemoryProvider::new());
    let p = layers::with_concurrency_limit(p, 8);
    let p = layers::with_timeout(p, Duration::from_secs(10));
    let p = layers::with_retry(p, layers::RetryPolicy::default());
    let p = layers::traced(p, "layered");
    tickets_testkit::run(p).await;
}

#[tokio::test]
async fn a_broken_provider_fails_with_every_case_named() {
    // A provider that loses every update must fail the suite, naming the cases.
    let report = tickets_testkit::try_run_with(
        Arc::new(forgetful::Forgetful::default()),
        tickets_testkit::SuiteOptions::default()
            .only(["partial_update_keeps_other_fields", "assign_and_unassign"]),
    )
    .await;
    assert_eq!(report.failed.len(), 2, "{report}");
    assert!(
        report.to_string().contains("FAILED assign_and_unassign"),
        "{report}"
    );
}

mod forgetful {
    use tickets_core::*;

    /// Memory, except that updates are acknowledged and dropped.
    #[derive(Debug, Default)]
    pub struct Forgetful(memory::MemoryProvider);

    #[async_trait]
    impl TicketProvider for Forgetful {
        fn kind(&self) -> &'static str {
            "forgetful"
        }
        fn capabilities(&self) -> Capabilities {
            self.0.capabilities()
        }
        async fn create(&self, t: NewTicket) -> Result<Ticket> {
            let mut t = self.0.create(t).await?;
            t.provider = "forgetful".into();
            Ok(t)
        }
        async fn get(&self, id: &TicketId) -> Result<Ticket> {
            self.0.get(id).await
        }
        async fn update(&self, id: &TicketId, _patch: TicketPatch) -> Result<Ticket> {
            self.0.get(id).await
        }
        async fn add_comment(&self, id: &TicketId, c: NewComment) -> Result<Comment> {
            self.0.add_comment(id, c).await
        }
        async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
            self.0.comments(id).await
        }
        async fn list(&self, q: &TicketQuery) -> Result<Page<Ticket>> {
            self.0.list(q).await
        }
    }
}

#[test]
fn layers_hand_out_the_concrete_provider() {
    let p: DynProvider = Arc::new(MemoryProvider::new());
    let p = layers::traced(layers::with_timeout(p, Duration::from_secs(1)), "x");
    let any = p.as_any().expect("memory opts in and layers forward");
    assert!(any.downcast_ref::<MemoryProvider>().is_some());
}
