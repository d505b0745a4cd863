//! List filters and paging.

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use tickets_core::{
    Cursor, ErrorKind, Status, Ticket, TicketId, TicketPatch, TicketProviderExt, TicketQuery,
};

use crate::support::{Ctx, expect_kind, ok};

fn ids(tickets: &[Ticket]) -> HashSet<TicketId> {
    tickets.iter().map(|t| t.id.clone()).collect()
}

fn set(items: &[&Ticket]) -> HashSet<TicketId> {
    items.iter().map(|t| t.id.clone()).collect()
}

/// Status, assignee, tag, text and updated_since filters each select exactly the right tickets.
pub async fn list_filters(ctx: Ctx) {
    let p = ctx.provider().clone();
    let caps = ctx.caps().clone();
    let opts = ctx.options().clone();
    let tok = ctx.token().to_owned();
    let (a, b) = (opts.assignees[0].clone(), opts.assignees[1].clone());

    let mut n1 = ctx
        .new_ticket(format!("Printer zebra{tok} jammed"))
        .assignee(a.clone());
    if caps.requester {
        n1 = n1.requester(opts.requester.clone());
    }
    let mut n2 = ctx
        .new_ticket("Mail is slow")
        .description(format!("Users report giraffe{tok} delays"))
        .assignee(b.clone());
    let n3 = ctx.new_ticket("Unowned question");
    if caps.tags {
        n1 = n1.tag(format!("alpha-{tok}"));
        n2 = n2.tag(format!("beta-{tok}"));
    }
    let t1 = ctx.create(n1).await;
    let t2 = ctx.create(n2).await;
    let t3 = ctx.create(n3).await;
    let t2 = ok(
        p.change_status(&t2.id, Status::InProgress).await,
        "move t2 to in_progress",
    );
    let t3 = ok(
        p.change_status(&t3.id, Status::Closed).await,
        "move t3 to closed",
    );

    let all = ctx.collect(TicketQuery::new()).await;
    assert_eq!(
        ids(&all),
        set(&[&t1, &t2, &t3]),
        "unfiltered list of the case's tickets"
    );

    // status
    let q = |s: &[Status]| {
        let mut q = TicketQuery::new();
        q.status = s.to_vec();
        q
    };
    if caps.statuses.contains(&Status::InProgress) {
        let got = ctx.collect(q(&[Status::InProgress])).await;
        assert_eq!(ids(&got), set(&[&t2]), "status = in_progress");
    }
    if caps.statuses.contains(&Status::New) && caps.statuses.contains(&Status::Closed) {
        let got = ctx.collect(q(&[Status::New, Status::Closed])).await;
        assert_eq!(ids(&got), set(&[&t1, &t3]), "status in (new, closed)");
    }

    // assignee
    let got = ctx.collect(TicketQuery::new().assignee(a.clone())).await;
    assert_eq!(ids(&got), set(&[&t1]), "assignee = {a}");

    // requester
    if caps.requester {
        let got = ctx
            .collect(TicketQuery::new().requester(opts.requester.clone()))
            .await;
        assert_eq!(ids(&got), set(&[&t1]), "requester = {}", opts.requester);
    }

    // tags (each must be present)
    if caps.tags {
        let got = ctx
            .collect(TicketQuery::new().tag(format!("beta-{tok}")))
            .await;
        assert_eq!(ids(&got), set(&[&t2]), "tag beta");
        let got = ctx
            .collect(
                TicketQuery::new()
                    .tag(format!("alpha-{tok}"))
                    .tag(format!("beta-{tok}")),
            )
            .await;
        assert!(got.is_empty(), "two tags must both be present: {got:?}");
    }

    // text, in subject or description, any case
    if caps.text_search {
        let got = ctx
            .collect(TicketQuery::new().text(format!("ZEBRA{tok}")))
            .await;
        assert_eq!(ids(&got), set(&[&t1]), "text in subject, other case");
        let got = ctx
            .collect(TicketQuery::new().text(format!("giraffe{tok}")))
            .await;
        assert_eq!(ids(&got), set(&[&t2]), "text in description");
    }

    // updated_since: wait past the backend's clock step, change t1, ask from t1's new time.
    if caps.updated_since {
        let step = caps.time_resolution.max(Duration::from_millis(20));
        tokio::time::sleep(step + step / 2).await;
        let t1b = ok(
            p.update(
                &t1.id,
                TicketPatch::new().subject(format!("Printer zebra{tok} fixed")),
            )
            .await,
            "touch t1",
        );
        assert!(
            t1b.updated_at > t3.updated_at,
            "updated_at did not advance after an update"
        );
        let got = ctx
            .collect(TicketQuery::new().updated_since(t1b.updated_at))
            .await;
        assert_eq!(ids(&got), set(&[&t1b]), "updated_since = t1's new time");
    }
}

/// A page size of 0 and a cursor the provider never issued are refused.
pub async fn list_rejects_bad_input(ctx: Ctx) {
    let p = ctx.provider();
    expect_kind(
        p.list(&TicketQuery::new().page_size(0)).await,
        ErrorKind::InvalidInput,
        "page_size 0",
    );
    expect_kind(
        p.list(
            &ctx.scoped(TicketQuery::new())
                .cursor(Cursor::new("not-a-cursor-%%%")),
        )
        .await,
        ErrorKind::InvalidInput,
        "a cursor the provider never issued",
    );
}

/// Pages of 2 over 25 tickets: every ticket exactly once, no page larger than asked; the
/// `list_all` stream agrees.
pub async fn paging_has_no_gaps_or_duplicates(ctx: Ctx) {
    let mut created = Vec::new();
    for i in 0..25 {
        created.push(ctx.create(ctx.new_ticket(format!("Paged {i:02}"))).await);
    }
    let want = ids(&created);
    let got = ctx.collect(TicketQuery::new().page_size(2)).await;
    assert_eq!(
        got.len(),
        25,
        "paging returned {} of the 25 tickets",
        got.len()
    );
    assert_eq!(ids(&got), want, "paging lost or invented tickets");

    let streamed: Vec<_> = ctx
        .provider()
        .list_all(ctx.scoped(TicketQuery::new().page_size(3)))
        .collect()
        .await;
    let streamed: Vec<Ticket> = streamed
        .into_iter()
        .map(|r| ok(r, "list_all"))
        .filter(|t| want.contains(&t.id))
        .collect();
    assert_eq!(
        streamed.len(),
        25,
        "list_all returned {} of the 25",
        streamed.len()
    );
    assert_eq!(ids(&streamed), want, "list_all lost or invented tickets");
}
