//! Shared setup: a fake Salesforce and providers configured against it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use tickets_core::{DynProvider, TicketId, secrecy::SecretString};
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
    SalesforceConfig {
        login_url: Some(sf.url()),
        client_id: Some(sf.client_id().into()),
        client_secret: Some(SecretString::from(sf.client_secret())),
        ..SalesforceConfig::default()
    }
}

/// Every optional mapping the fake's seeded org supports.
pub fn full_config(sf: &FakeSalesforce) -> SalesforceConfig {
    SalesforceConfig {
        external_id_field: Some("Ticket_Key__c".into()),
        tags_field: Some("Tags__c".into()),
        due_field: Some("Due_Date__c".into()),
        close_reason_field: Some("Close_Reason__c".into()),
        custom_fields: BTreeMap::from([
            ("customer".into(), "Customer__c".into()),
            ("severity".into(), "Severity__c".into()),
        ]),
        ..minimal_config(sf)
    }
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
