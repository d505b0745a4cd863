//! Sessions revoked between their login and their first use: a call renews again, a bounded
//! number of times, instead of failing the moment a fresh session is refused (found by the
//! conformance run with sessions revoked every 250 ms on a loaded machine: a call renewed,
//! then met a session another caller had obtained and that had been revoked since).

mod common;

use tickets_core::{ErrorKind, NewTicket, TicketProvider};

use common::*;

#[tokio::test]
async fn a_renewed_session_revoked_before_use_is_renewed_again() {
    let sf = fake().await;
    let p = provider(minimal_config(&sf));
    let t = p.create(NewTicket::new("renew me twice")).await.unwrap();
    let issued = sf.tokens_issued();
    sf.expire_tokens();
    // The next two sessions are refused at first use; the third works.
    sf.revoke_next_sessions(2);
    assert_eq!(p.get(&t.id).await.unwrap().id, t.id);
    assert_eq!(sf.tokens_issued(), issued + 3);
}

#[tokio::test]
async fn sessions_refused_every_time_give_up_after_a_few_renewals() {
    let sf = fake().await;
    let p = provider(minimal_config(&sf));
    let t = p.create(NewTicket::new("never renewed")).await.unwrap();
    let issued = sf.tokens_issued();
    sf.expire_tokens();
    sf.revoke_next_sessions(100);
    let e = p.get(&t.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert_eq!(
        sf.tokens_issued(),
        issued + 3,
        "three renewals, then it gives up"
    );
    sf.revoke_next_sessions(0);
    assert_eq!(p.get(&t.id).await.unwrap().id, t.id);
}
