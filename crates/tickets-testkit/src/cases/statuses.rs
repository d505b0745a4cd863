//! Status moves and the close/resolve/escalate/reopen shortcuts.

use tickets_core::{ErrorKind, Status, Ticket};

use crate::support::{Ctx, expect_kind, ok};

/// Creates a ticket and walks it from `New` to `status` along allowed moves.
async fn ticket_at(ctx: &Ctx, status: Status, label: &str) -> Ticket {
    let t = ctx.create(ctx.new_ticket(format!("Status {label}"))).await;
    if status == Status::New {
        return t;
    }
    let wf = ctx.provider().workflow();
    assert!(
        wf.allows(Status::New, status),
        "workflow cannot reach {status} from new; the suite needs New to reach every status"
    );
    ok(
        ctx.provider().change_status(&t.id, status).await,
        &format!("move new -> {status}"),
    )
}

/// Every move of the backend's workflow between the statuses it keeps: allowed ones succeed
/// and stick, refused ones are `InvalidTransition` naming the allowed moves and change nothing.
pub async fn status_moves_follow_workflow(ctx: Ctx) {
    let p = ctx.provider().clone();
    let statuses = ctx.caps().statuses.clone();
    let wf = p.workflow().clone();
    for &from in &statuses {
        // One ticket for all refused moves from `from` (they change nothing) ...
        let base = ticket_at(&ctx, from, &format!("{from} refusals")).await;
        ctx.assert_status(&base, from, &format!("reach {from}"));
        for &to in &statuses {
            if to == from || wf.allows(from, to) {
                continue;
            }
            let err = expect_kind(
                p.change_status(&base.id, to).await,
                ErrorKind::InvalidTransition,
                &format!("refused move {from} -> {to}"),
            );
            assert!(
                err.to_string().contains("allowed"),
                "refusal should name the allowed moves: {err}"
            );
            let got = ok(p.get(&base.id).await, "get after refusal");
            assert_eq!(
                got.status, from,
                "refused move {from} -> {to} changed the status"
            );
        }
        // ... and one ticket per allowed move.
        for &to in &statuses {
            if to == from || !wf.allows(from, to) {
                continue;
            }
            let t = ticket_at(&ctx, from, &format!("{from} to {to}")).await;
            let moved = ok(
                p.change_status(&t.id, to).await,
                &format!("allowed move {from} -> {to}"),
            );
            assert_eq!(moved.status, to, "status after {from} -> {to}");
            let got = ok(p.get(&t.id).await, "get after move");
            assert_eq!(got.status, to, "stored status after {from} -> {to}");
        }
        // Moving to the status a ticket has is a no-op, not an error.
        let same = ok(
            p.change_status(&base.id, from).await,
            "move to the same status",
        );
        assert_eq!(same.status, from, "no-op move changed the status");
    }
}

/// `escalate`, `resolve`, `close` and `reopen` do what they say; reopening an open ticket is
/// refused.
pub async fn lifecycle_shortcuts(ctx: Ctx) {
    let p = ctx.provider().clone();
    let reopen_to = p.workflow().reopen_to();
    let t = ctx.create(ctx.new_ticket("Lifecycle")).await;
    let e = ok(p.escalate(&t.id).await, "escalate");
    ctx.assert_status(&e, Status::Escalated, "escalate");
    let r = ok(p.resolve(&t.id).await, "resolve");
    ctx.assert_status(&r, Status::Resolved, "resolve");
    let o = ok(p.reopen(&t.id).await, "reopen a resolved ticket");
    ctx.assert_status(&o, reopen_to, "reopen");
    assert!(o.status.is_open(), "reopened ticket is not open");
    let c = ok(p.close(&t.id).await, "close");
    ctx.assert_status(&c, Status::Closed, "close");
    let got = ok(p.get(&t.id).await, "get closed");
    ctx.assert_status(&got, Status::Closed, "get after close");
    let o2 = ok(p.reopen(&t.id).await, "reopen a closed ticket");
    ctx.assert_status(&o2, reopen_to, "reopen after close");
    expect_kind(
        p.reopen(&t.id).await,
        ErrorKind::InvalidTransition,
        "reopen an open ticket",
    );
}
