//! A status update with `skip_workflow` makes the Case show the status (Status picklist,
//! IsEscalated and the close-reason field) from whatever the fake Salesforce holds now, and a
//! repeat writes nothing.

mod common;

use reqwest::Method;
use serde_json::{Value, json};
use tickets_core::{ErrorKind, NewTicket, Status, TicketId, TicketPatch, TicketProvider};
use tickets_fakes::salesforce::FakeSalesforce;
use tickets_salesforce::{SalesforceConfig, SalesforceProvider};

use common::*;

/// Writes fields straight onto a Case, as a hand in Salesforce (or another integration) would.
async fn plant(p: &SalesforceProvider, id: &TicketId, fields: &Value) {
    if fields.as_object().is_some_and(|f| !f.is_empty()) {
        p.client()
            .call(
                Method::PATCH,
                &format!("sobjects/Case/{id}"),
                &[],
                Some(fields),
            )
            .await
            .unwrap();
    }
}

/// What a no-op must leave alone.
fn mark(sf: &FakeSalesforce, id: &TicketId) -> Value {
    sf.record("Case", id.as_str()).unwrap()["LastModifiedDate"].clone()
}

/// States outside hands or other tools leave on a Case (the org also has a closed
/// `Duplicate` status of its own).
fn half_states() -> Vec<(&'static str, Value)> {
    vec![
        ("new", json!({})),
        (
            "working and escalated",
            json!({"Status": "Working", "IsEscalated": true}),
        ),
        (
            "closed and escalated",
            json!({"Status": "Closed", "IsEscalated": true}),
        ),
        (
            "closed as cancelled",
            json!({"Status": "Closed", "Close_Reason__c": "Cancelled"}),
        ),
        (
            "open with a stale close reason",
            json!({"Close_Reason__c": "Resolved"}),
        ),
        (
            "escalated status without the flag",
            json!({"Status": "Escalated"}),
        ),
        (
            "the org's own closed status",
            json!({"Status": "Duplicate"}),
        ),
    ]
}

/// What `to` reads back as where the maps cannot hold it (`Capabilities::statuses`).
fn neighbour(p: &SalesforceProvider, to: Status) -> Status {
    if p.capabilities().statuses.contains(&to) {
        return to;
    }
    match to {
        Status::Triaged => Status::New,
        Status::OnHold => Status::InProgress,
        _ => Status::Closed,
    }
}

async fn every_half_state_to_every_status(sf: &FakeSalesforce, config: SalesforceConfig) {
    let p = provider(config);
    for (state, fields) in half_states() {
        for to in Status::ALL {
            let what = format!("from {state} to {to}");
            let id = p.create(NewTicket::new(what.clone())).await.unwrap().id;
            plant(&p, &id, &fields).await;
            let patch = TicketPatch::new().status(to).skip_workflow();
            let t = p
                .update(&id, patch.clone())
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let want = neighbour(&p, to);
            assert_eq!(t.status, want, "{what}");
            assert_eq!(p.get(&id).await.unwrap().status, want, "{what}");
            let rec = sf.record("Case", id.as_str()).unwrap();
            assert_eq!(rec["IsClosed"], !to.is_open(), "{what}");
            assert_eq!(rec["IsEscalated"], to == Status::Escalated, "{what}");
            let before = mark(sf, &id);
            let requests = sf.faults().stats().requests;
            let again = p.update(&id, patch).await.unwrap();
            assert_eq!(again.status, want, "{what}, again");
            assert_eq!(mark(sf, &id), before, "{what}: the repeat wrote");
            assert_eq!(
                sf.faults().stats().requests - requests,
                1,
                "{what}: one read"
            );
        }
    }
}

#[tokio::test]
async fn every_half_state_converges_with_a_close_reason_field() {
    let sf = fake().await;
    sf.add_case_status("Duplicate", true);
    every_half_state_to_every_status(&sf, full_config(&sf)).await;
}

#[tokio::test]
async fn every_half_state_converges_to_a_neighbour_without_one() {
    // Without a reason field, Resolved and Cancelled are written as Closed and read so.
    let sf = fake().await;
    sf.add_case_status("Duplicate", true);
    // The planted states still write the reason field; this provider does not map it.
    let p = provider(minimal_config(&sf));
    for (state, fields) in half_states() {
        for to in [
            Status::Resolved,
            Status::Cancelled,
            Status::OnHold,
            Status::New,
        ] {
            let what = format!("from {state} to {to}");
            let id = p.create(NewTicket::new(what.clone())).await.unwrap().id;
            plant(&p, &id, &fields).await;
            let patch = TicketPatch::new().status(to).skip_workflow();
            let t = p.update(&id, patch.clone()).await.unwrap();
            assert_eq!(t.status, neighbour(&p, to), "{what}");
            let before = mark(&sf, &id);
            p.update(&id, patch).await.unwrap();
            assert_eq!(mark(&sf, &id), before, "{what}: the repeat wrote");
        }
    }
}

#[tokio::test]
async fn a_refused_patch_converges_when_repeated() {
    let sf = fake().await;
    let p = provider(full_config(&sf));
    let patch = TicketPatch::new().status(Status::Cancelled).skip_workflow();
    // Refused before it is applied (503, rate limit), then repeated.
    for fault in [503, 403] {
        let id = p.create(NewTicket::new("refused")).await.unwrap().id;
        sf.faults().fail_writes_after(0, 1, fault);
        let e = p.update(&id, patch.clone()).await.unwrap_err();
        assert_eq!(sf.record("Case", id.as_str()).unwrap()["Status"], "New");
        // Repeated as the retry layer or the sync queue would: after the wait asked for.
        tokio::time::sleep(e.retry_after().unwrap_or_default()).await;
        let t = p.update(&id, patch.clone()).await.unwrap();
        assert_eq!(t.status, Status::Cancelled);
    }
    // A PATCH answers 204 without a body, so an answer cannot be half-lost; a process that
    // died after it finds the Case there on its repeat, which writes nothing (see the costs).
}

#[tokio::test]
async fn requests_a_status_update_costs() {
    let sf = fake().await;
    let p = provider(full_config(&sf));
    let id = p.create(NewTicket::new("costs")).await.unwrap().id;
    let count = || sf.faults().stats().requests;
    let patch = TicketPatch::new().status(Status::Resolved).skip_workflow();
    let start = count();
    p.update(&id, patch.clone()).await.unwrap();
    // Read the Case, then PATCH Status + IsEscalated + reason and read it back in one
    // composite request.
    assert_eq!(count() - start, 2);
    let start = count();
    p.update(&id, patch).await.unwrap();
    assert_eq!(count() - start, 1, "already there: the read only");
    // The same PATCH carries other fields along.
    let start = count();
    let t = p
        .update(
            &id,
            TicketPatch::new()
                .status(Status::Resolved)
                .subject("renamed")
                .skip_workflow(),
        )
        .await
        .unwrap();
    assert_eq!(
        (t.subject.as_str(), t.status),
        ("renamed", Status::Resolved)
    );
    assert_eq!(count() - start, 2);
}

#[tokio::test]
async fn without_skip_workflow_the_canonical_check_still_refuses() {
    let sf = fake().await;
    let p = provider(full_config(&sf));
    let id = p.create(NewTicket::new("terminal")).await.unwrap().id;
    // Closed by another hand, with the Cancelled reason: terminal except a reopen.
    plant(
        &p,
        &id,
        &json!({"Status": "Closed", "Close_Reason__c": "Cancelled"}),
    )
    .await;
    let before = mark(&sf, &id);
    let err = p
        .update(&id, TicketPatch::new().status(Status::Resolved))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTransition, "{err}");
    let err = p.change_status(&id, Status::Escalated).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTransition, "{err}");
    assert_eq!(mark(&sf, &id), before, "nothing was written");
    let t = p
        .update(
            &id,
            TicketPatch::new().status(Status::Resolved).skip_workflow(),
        )
        .await
        .unwrap();
    assert_eq!(t.status, Status::Resolved);
    // The lifecycle shortcuts still work, and one on a Case already there writes nothing.
    assert_eq!(p.reopen(&id).await.unwrap().status, Status::New);
    assert_eq!(p.escalate(&id).await.unwrap().status, Status::Escalated);
    let before = mark(&sf, &id);
    assert_eq!(p.escalate(&id).await.unwrap().status, Status::Escalated);
    assert_eq!(mark(&sf, &id), before);
    assert_eq!(p.close(&id).await.unwrap().status, Status::Closed);
}
