//! Concurrent writers and idempotency keys.

use std::collections::HashSet;

use futures::future::join_all;
use tickets_core::{NewComment, TicketQuery};

use crate::support::{Ctx, ok};

/// N creates at once give N distinct tickets (and distinct numbers where there are numbers).
pub async fn concurrent_creates(ctx: Ctx) {
    let n = ctx.options().concurrency;
    let results = join_all((0..n).map(|i| {
        let p = ctx.provider().clone();
        let t = ctx.new_ticket(format!("Concurrent create {i}"));
        tokio::spawn(async move { p.create(t).await })
    }))
    .await;
    let mut ids = HashSet::new();
    let mut numbers = HashSet::new();
    for (i, r) in results.into_iter().enumerate() {
        let t = ok(
            r.expect("create task panicked"),
            &format!("concurrent create {i}"),
        );
        ctx.remember(&t.id);
        assert!(
            ids.insert(t.id.clone()),
            "two creates returned the same id {}",
            t.id
        );
        if let Some(num) = t.number {
            assert!(
                numbers.insert(num.clone()),
                "two tickets share number {num}"
            );
        }
    }
    assert_eq!(ids.len(), n, "distinct tickets");
    if ctx.caps().number {
        assert_eq!(numbers.len(), n, "every ticket has a distinct number");
    }
    let listed = ctx.collect(TicketQuery::new()).await;
    assert_eq!(
        listed.len(),
        n,
        "the list shows every concurrently created ticket"
    );
}

/// N comments at once on one ticket are all kept.
pub async fn concurrent_comments(ctx: Ctx) {
    let n = ctx.options().concurrency;
    let t = ctx.create(ctx.new_ticket("Busy discussion")).await;
    let results = join_all((0..n).map(|i| {
        let p = ctx.provider().clone();
        let id = t.id.clone();
        let c = ctx.comment(NewComment::new(format!("comment number {i}")).author("Load Tester"));
        tokio::spawn(async move { p.add_comment(&id, c).await })
    }))
    .await;
    for (i, r) in results.into_iter().enumerate() {
        ok(
            r.expect("comment task panicked"),
            &format!("concurrent comment {i}"),
        );
    }
    let comments = ok(ctx.provider().comments(&t.id).await, "comments");
    assert_eq!(comments.len(), n, "comments kept");
    let bodies: HashSet<_> = comments.iter().map(|c| c.body.as_str()).collect();
    for i in 0..n {
        assert!(
            bodies.contains(format!("comment number {i}").as_str()),
            "comment {i} lost"
        );
    }
}

/// The same idempotency key, sequentially and concurrently, yields one ticket.
pub async fn idempotent_create(ctx: Ctx) {
    let key = format!("{}-idem", ctx.token());
    let first = ctx
        .create(ctx.new_ticket("Created once").idempotency_key(key.clone()))
        .await;
    let again = ctx
        .create(ctx.new_ticket("Created once").idempotency_key(key.clone()))
        .await;
    assert_eq!(
        again.id, first.id,
        "same key, second create made another ticket"
    );
    let racing = join_all((0..5).map(|_| {
        let p = ctx.provider().clone();
        let t = ctx.new_ticket("Created once").idempotency_key(key.clone());
        tokio::spawn(async move { p.create(t).await })
    }))
    .await;
    for r in racing {
        let t = ok(
            r.expect("create task panicked"),
            "racing create with the same key",
        );
        assert_eq!(
            t.id, first.id,
            "same key, racing create made another ticket"
        );
    }
    let other = ctx
        .create(
            ctx.new_ticket("Created once")
                .idempotency_key(format!("{key}-other")),
        )
        .await;
    assert_ne!(
        other.id, first.id,
        "a different key must make another ticket"
    );
    let listed = ctx.collect(TicketQuery::new()).await;
    assert_eq!(
        listed.len(),
        2,
        "one ticket per key in the list: {listed:#?}"
    );
}

/// The same comment idempotency key yields one comment.
pub async fn idempotent_comment(ctx: Ctx) {
    let p = ctx.provider();
    let t = ctx.create(ctx.new_ticket("Commented once")).await;
    let key = format!("{}-c", ctx.token());
    let c1 = ok(
        p.add_comment(
            &t.id,
            NewComment::new("only once").idempotency_key(key.clone()),
        )
        .await,
        "comment",
    );
    let c2 = ok(
        p.add_comment(
            &t.id,
            NewComment::new("only once").idempotency_key(key.clone()),
        )
        .await,
        "same comment again",
    );
    assert_eq!(c1.id, c2.id, "same key, second comment has another id");
    let all = ok(p.comments(&t.id).await, "comments");
    assert_eq!(all.len(), 1, "one comment per key: {all:#?}");
    assert_eq!(
        all[0].body, "only once",
        "the body reads back without the key"
    );
    assert_eq!(
        all[0].idempotency_key.as_deref(),
        Some(key.as_str()),
        "the comment reads back with its key"
    );
    let other = ok(
        p.add_comment(
            &t.id,
            NewComment::new("only once").idempotency_key(format!("{key}-other")),
        )
        .await,
        "same text, another key",
    );
    assert_ne!(other.id, c1.id, "another key must make another comment");
    let all = ok(p.comments(&t.id).await, "comments");
    assert_eq!(all.len(), 2, "one comment per key: {all:#?}");
}
