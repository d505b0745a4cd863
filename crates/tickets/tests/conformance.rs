//! The conformance suite on `memory`, through the hub built from configuration, as an
//! application would use it.

use std::sync::Arc;

use tickets::figment::Figment;
use tickets::figment::providers::{Format, Toml};
use tickets::{Config, DynProvider, Tickets};

async fn hub(toml: &str) -> Tickets {
    let config = Config::from_figment(Figment::from(Toml::string(toml))).expect("valid config");
    Tickets::from_config(config).await.expect("hub builds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_through_the_hub_passes_the_whole_suite() {
    let tickets = hub("provider = \"memory\"\n").await;
    let report = tickets_testkit::run(Arc::new(tickets) as DynProvider).await;
    assert!(
        report.skipped.is_empty(),
        "memory can do everything: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_with_configured_layers_through_a_switched_hub() {
    let tickets = hub(r#"
        default = "first"
        [backends.first]
        provider = "memory"
        [backends.second]
        provider = "memory"
        layers = { timeout_secs = 30, retries = 2, max_concurrency = 8 }
        "#)
    .await;
    tickets.use_backend("second").unwrap();
    tickets_testkit::run(Arc::new(tickets.clone()) as DynProvider).await;
    // Everything went to "second"; "first" is untouched.
    let first = tickets.backend("first").unwrap();
    let page = first.list(&tickets::TicketQuery::new()).await.unwrap();
    assert!(page.items.is_empty());
}
