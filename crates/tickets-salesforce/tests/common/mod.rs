//! Shared setup: a fake Salesforce and providers configured against it.
#![allow(dead_code)]

use std::sync::Arc;

use tickets_core::{DynProvider, TicketId};
use tickets_fakes::salesforce::{FakeOptions, FakeSalesforce, state::normalize_id};
use tickets_salesforce::{SalesforceConfig, SalesforceProvider};

/// A fake with a small query batch, so lists follow `nextRecordsUrl`.
pub async fn fake() -> FakeSalesforce {
    FakeSalesforce::start_with(FakeOptions {
        batch_size: 3,
        ..FakeOptions::default()
    })
    .await
    .expect("fake salesforce starts")
}

/// Client credentials, no optional fields.
pub fn minimal_config(sf: &FakeSalesforce) -> SalesforceConfig {
    // Tests run unpaced and keep nothing on disk; tests/requests.rs checks both.
    SalesforceConfig::client_credentials(sf.url(), sf.client_id(), sf.client_secret())
        .requests_per_minute(1_000_000)
        .metadata_cache(false)
}

/// Every optional mapping the fake's seeded org supports.
pub fn full_config(sf: &FakeSalesforce) -> SalesforceConfig {
    minimal_config(sf)
        .external_id_field("Ticket_Key__c")
        .tags_field("Tags__c")
        .due_field("Due_Date__c")
        .close_reason_field("Close_Reason__c")
        .custom_field("customer", "Customer__c")
        .custom_field("severity", "Severity__c")
}

pub fn provider(config: SalesforceConfig) -> SalesforceProvider {
    SalesforceProvider::new(config.settings(None).expect("valid config")).expect("provider")
}

pub fn dyn_provider(config: SalesforceConfig) -> DynProvider {
    Arc::new(provider(config))
}

/// A well-formed Case id that does not exist.
pub fn unknown_case_id() -> TicketId {
    TicketId::new(normalize_id("500Dn0000zzzzzz").expect("valid id"))
}
