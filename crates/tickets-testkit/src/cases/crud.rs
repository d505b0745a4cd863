//! Create, read, update, assign, comment, history and version cases.

use chrono::NaiveDate;
use tickets_core::{
    ErrorKind, HistoryAction, NewComment, NewTicket, Patch, Priority, Status, Ticket, TicketPatch,
};

use crate::support::{Ctx, expect_kind, ok};

/// A subject with unicode, quotes, SQL and HTML metacharacters.
fn nasty_subject(token: &str) -> String {
    format!(
        "Ünïcødé ✓ 日本語 \"double\" 'single' `tick`; DROP TABLE tickets; -- <b>bold</b> &amp; %_ \\ {token}"
    )
}

/// About 10 kB of description with newlines, tabs, backslashes, quotes, markup and emoji.
fn long_description() -> String {
    let line = "Line with \"quotes\", 'apostrophes', back\\slashes, <tags attr=\"x\">, &entities; \t tab, emoji 🚀, SQL ' OR '1'='1\n";
    let mut out = String::from("First paragraph.\n\n");
    while out.len() < 10_000 {
        out.push_str(line);
    }
    out.push_str("Last line.");
    out
}

fn due_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2031, 5, 17).expect("valid date")
}

/// A ticket with every field the backend keeps set to a non-default value.
fn full_ticket(ctx: &Ctx, subject: String) -> NewTicket {
    let caps = ctx.caps();
    let opts = ctx.options();
    let priority = if caps.priorities.contains(&Priority::High) {
        Priority::High
    } else {
        caps.priorities.first().copied().unwrap_or_default()
    };
    let mut t = ctx
        .new_ticket(subject)
        .description(long_description())
        .priority(priority)
        .assignee(opts.assignees[0].clone());
    if caps.tags {
        t = t.tag("second-tag");
    }
    if caps.kind {
        t = t.kind("incident");
    }
    if caps.requester {
        t = t.requester(opts.requester.clone());
    }
    if caps.watchers {
        t = t.watcher(opts.assignees[1].clone());
    }
    if caps.due {
        t = t.due(due_date());
    }
    if caps.custom_fields {
        for (k, v) in &opts.custom_fields {
            t = t.custom_field(k.clone(), v.clone());
        }
    }
    t
}

fn assert_same_fields(ctx: &Ctx, want: &NewTicket, got: &Ticket, what: &str) {
    let caps = ctx.caps();
    assert_eq!(got.subject, want.subject, "{what}: subject");
    assert_eq!(got.description, want.description, "{what}: description");
    if caps.priorities.contains(&want.priority) {
        assert_eq!(got.priority, want.priority, "{what}: priority");
    }
    ctx.assert_status(got, want.status, what);
    assert_eq!(got.assignee, want.assignee, "{what}: assignee");
    if caps.tags {
        let mut want_tags = want.tags.clone();
        want_tags.sort();
        want_tags.dedup();
        assert_eq!(got.tags, want_tags, "{what}: tags (sorted, deduplicated)");
    }
    if caps.kind {
        assert_eq!(got.kind, want.kind, "{what}: kind");
    }
    if caps.requester {
        assert_eq!(got.requester, want.requester, "{what}: requester");
    }
    if caps.watchers {
        assert_eq!(got.watchers, want.watchers, "{what}: watchers");
    }
    if caps.due {
        assert_eq!(got.due, want.due, "{what}: due");
    }
    if caps.custom_fields {
        for (k, v) in &want.custom_fields {
            assert_eq!(
                got.custom_fields.get(k),
                Some(v),
                "{what}: custom field {k}"
            );
        }
    }
}

/// Every field survives create and get: unicode, quotes, SQL and HTML metacharacters, 10 kB.
pub async fn create_get_round_trip(ctx: Ctx) {
    let want = full_ticket(&ctx, nasty_subject(ctx.token()));
    let created = ctx.create(want.clone()).await;
    assert!(
        !created.id.as_str().is_empty(),
        "created ticket has an empty id"
    );
    assert_eq!(created.provider, ctx.provider().kind(), "provider field");
    assert_same_fields(&ctx, &want, &created, "create's answer");
    assert!(
        created.updated_at >= created.created_at,
        "updated_at before created_at"
    );
    if ctx.caps().number {
        assert!(
            created.number.is_some(),
            "backend has numbers, but the ticket has none"
        );
    }
    let got = ok(ctx.provider().get(&created.id).await, "get");
    assert_same_fields(&ctx, &want, &got, "get");
    assert_eq!(got.id, created.id, "get returns the same id");
    assert_eq!(got.number, created.number, "number is stable");
    assert_eq!(got.created_at, created.created_at, "created_at is stable");
}

/// Unknown ids are `NotFound` for every operation on a ticket.
pub async fn unknown_id_is_not_found(ctx: Ctx) {
    let p = ctx.provider();
    let id = ctx.options().unknown_id.clone();
    expect_kind(p.get(&id).await, ErrorKind::NotFound, "get unknown id");
    expect_kind(
        p.update(&id, TicketPatch::new().subject("x")).await,
        ErrorKind::NotFound,
        "update unknown id",
    );
    expect_kind(
        p.comments(&id).await,
        ErrorKind::NotFound,
        "comments of unknown id",
    );
    expect_kind(
        p.add_comment(&id, NewComment::new("hello")).await,
        ErrorKind::NotFound,
        "comment on unknown id",
    );
    expect_kind(
        p.change_status(&id, Status::Closed).await,
        ErrorKind::NotFound,
        "change_status of unknown id",
    );
}

/// Empty or whitespace subjects are refused on create and update, and nothing changes.
pub async fn blank_subject_is_invalid_input(ctx: Ctx) {
    let p = ctx.provider();
    for subject in ["", "   ", " \t\n "] {
        let err = expect_kind(
            p.create(NewTicket::new(subject)).await,
            ErrorKind::InvalidInput,
            &format!("create with subject {subject:?}"),
        );
        assert!(
            err.to_string().contains("subject"),
            "error should name the subject: {err}"
        );
    }
    let t = ctx.create(ctx.new_ticket("Keeps its subject")).await;
    expect_kind(
        p.update(&t.id, TicketPatch::new().subject("  ")).await,
        ErrorKind::InvalidInput,
        "update to a blank subject",
    );
    let mut clear = TicketPatch::new();
    clear.subject = Patch::Clear;
    expect_kind(
        p.update(&t.id, clear).await,
        ErrorKind::InvalidInput,
        "clear the subject",
    );
    let got = ok(p.get(&t.id).await, "get after refused updates");
    assert_eq!(
        got.subject, t.subject,
        "a refused update changed the subject"
    );
    expect_kind(
        p.add_comment(&t.id, NewComment::new(" \n ")).await,
        ErrorKind::InvalidInput,
        "blank comment",
    );
}

/// A patch changes only what it names; `Clear` clears.
pub async fn partial_update_keeps_other_fields(ctx: Ctx) {
    let p = ctx.provider();
    let caps = ctx.caps().clone();
    let want = full_ticket(&ctx, format!("Partial update {}", ctx.token()));
    let t = ctx.create(want.clone()).await;

    let after = ok(
        p.update(&t.id, TicketPatch::new().subject("Renamed")).await,
        "rename",
    );
    let mut expected = want.clone();
    expected.subject = "Renamed".into();
    assert_same_fields(&ctx, &expected, &after, "after renaming");
    let got = ok(p.get(&t.id).await, "get after rename");
    assert_same_fields(&ctx, &expected, &got, "get after renaming");

    let unchanged = ok(p.update(&t.id, TicketPatch::new()).await, "empty patch");
    assert_same_fields(&ctx, &expected, &unchanged, "after an empty patch");

    let mut patch = TicketPatch::new().clear_assignee();
    expected.assignee = None;
    if caps.requester && caps.edit_requester {
        patch.requester = Patch::Clear;
        expected.requester = None;
    }
    if caps.kind {
        patch.kind = Patch::Clear;
        expected.kind = None;
    }
    if caps.due {
        patch = patch.clear_due();
        expected.due = None;
    }
    if caps.edit_description {
        patch = patch.description("Short now");
        expected.description = "Short now".into();
    }
    if let Some(other) = caps.priorities.iter().find(|p| **p != want.priority) {
        patch = patch.priority(*other);
        expected.priority = *other;
    }
    if caps.tags {
        let mut tags: Vec<String> = ctx.scope_tag().map(str::to_owned).into_iter().collect();
        tags.push("replaced-tag".into());
        patch = patch.tags(tags.clone());
        expected.tags = tags;
    }
    let after = ok(p.update(&t.id, patch).await, "clear and set");
    assert_same_fields(&ctx, &expected, &after, "after clearing");
    let got = ok(p.get(&t.id).await, "get after clearing");
    assert_same_fields(&ctx, &expected, &got, "get after clearing");

    if caps.edit_description {
        let got = ok(
            p.update(&t.id, TicketPatch::new().clear_description())
                .await,
            "clear description",
        );
        assert_eq!(got.description, "", "cleared description");
    }
    if caps.custom_fields
        && let Some(name) = ctx.options().custom_fields.keys().next()
    {
        let got = ok(
            p.update(&t.id, TicketPatch::new().clear_custom_field(name.clone()))
                .await,
            "clear a custom field",
        );
        assert!(
            got.custom_fields.get(name).is_none_or(|v| v.is_null()),
            "custom field {name} still set after Clear: {:?}",
            got.custom_fields.get(name)
        );
    }
}

/// Assign, reassign, unassign; a blank assignee is refused.
pub async fn assign_and_unassign(ctx: Ctx) {
    let p = ctx.provider();
    let [a, b] = [&ctx.options().assignees[0], &ctx.options().assignees[1]];
    let t = ctx.create(ctx.new_ticket("Needs an owner")).await;
    assert_eq!(t.assignee, None, "new ticket without assignee");
    let t1 = ok(p.assign(&t.id, Some(a)).await, "assign");
    assert_eq!(t1.assignee.as_deref(), Some(a.as_str()), "after assign");
    let t2 = ok(p.assign(&t.id, Some(b)).await, "reassign");
    assert_eq!(t2.assignee.as_deref(), Some(b.as_str()), "after reassign");
    assert_eq!(
        ok(p.get(&t.id).await, "get").assignee.as_deref(),
        Some(b.as_str()),
        "get after reassign"
    );
    let t3 = ok(p.assign(&t.id, None).await, "unassign");
    assert_eq!(t3.assignee, None, "after unassign");
    assert_eq!(
        ok(p.get(&t.id).await, "get").assignee,
        None,
        "get after unassign"
    );
    expect_kind(
        p.assign(&t.id, Some("  ")).await,
        ErrorKind::InvalidInput,
        "blank assignee",
    );
}

/// Comments come back oldest first, with body, author and visibility.
pub async fn comments_in_order_with_author(ctx: Ctx) {
    let p = ctx.provider();
    let caps = ctx.caps().clone();
    let t = ctx
        .create(
            ctx.new_ticket("Discussed")
                .description("The description is not a comment"),
        )
        .await;
    assert!(
        ok(p.comments(&t.id).await, "comments of a new ticket").is_empty(),
        "a new ticket has no comments"
    );
    let inputs = [
        NewComment::new("First: looking into it").author("Alice Example"),
        NewComment::new("Second, multi-line:\n  \"quoted\" <b>markup</b> & ünïcødé 🚀")
            .author("Bob Example"),
        NewComment::new("Third, internal note")
            .author("Alice Example")
            .private(),
    ];
    let mut keys = Vec::new();
    for input in &inputs {
        let input = if caps.private_comments || input.public {
            input.clone()
        } else {
            let mut c = input.clone();
            c.public = true;
            c
        };
        let input = ctx.comment(input);
        let c = ok(p.add_comment(&t.id, input.clone()).await, "add comment");
        assert_eq!(
            c.body, input.body,
            "comment body as returned by add_comment"
        );
        if ctx.keys_comments() {
            assert_eq!(
                c.idempotency_key, input.idempotency_key,
                "comment key as returned by add_comment"
            );
            keys.push(input.idempotency_key.clone());
        }
        assert_eq!(c.ticket_id, t.id, "comment's ticket id");
        assert!(!c.id.is_empty(), "comment id is empty");
    }
    let got = ok(p.comments(&t.id).await, "comments");
    assert_eq!(got.len(), inputs.len(), "number of comments: {got:#?}");
    for (i, (c, want)) in got.iter().zip(&inputs).enumerate() {
        assert_eq!(
            c.body, want.body,
            "comment {i} body (order must be oldest first)"
        );
        if caps.comment_author {
            assert_eq!(c.author, want.author, "comment {i} author");
        }
        if caps.private_comments {
            assert_eq!(c.public, want.public, "comment {i} visibility");
        }
        if let Some(key) = keys.get(i) {
            assert_eq!(&c.idempotency_key, key, "comment {i} key read back");
        }
    }
    for pair in got.windows(2) {
        assert!(
            pair[0].created_at <= pair[1].created_at,
            "comments not oldest first"
        );
    }
}

/// Status changes, assignments and comments show up in the history, oldest first.
pub async fn history_records_changes(ctx: Ctx) {
    let p = ctx.provider();
    let t = ctx.create(ctx.new_ticket("Audited")).await;
    ok(
        p.change_status(&t.id, Status::InProgress).await,
        "change status",
    );
    ok(
        p.assign(&t.id, Some(&ctx.options().assignees[0])).await,
        "assign",
    );
    ok(
        p.add_comment(
            &t.id,
            ctx.comment(NewComment::new("noted").author("Alice Example")),
        )
        .await,
        "comment",
    );
    let history = ok(p.history(&t.id).await, "history");
    let has = |action| history.iter().any(|e| e.action == action);
    assert!(
        has(HistoryAction::StatusChange),
        "no STATUS_CHANGE entry: {history:#?}"
    );
    assert!(
        has(HistoryAction::Assigned),
        "no ASSIGNED entry: {history:#?}"
    );
    for pair in history.windows(2) {
        assert!(
            pair[0].at <= pair[1].at,
            "history not oldest first: {history:#?}"
        );
    }
    let status = history
        .iter()
        .find(|e| e.action == HistoryAction::StatusChange)
        .expect("checked above");
    assert!(
        status.new_value.is_some(),
        "status change without a new value: {status:?}"
    );
    expect_kind(
        p.history(&ctx.options().unknown_id).await,
        ErrorKind::NotFound,
        "history of unknown id",
    );
}

/// An update guarded by a stale version is refused with `Conflict` and changes nothing.
pub async fn stale_version_is_conflict(ctx: Ctx) {
    let p = ctx.provider();
    let t = ctx.create(ctx.new_ticket("Versioned")).await;
    let v1 = t
        .version
        .clone()
        .expect("optimistic_concurrency, but no version on the ticket");
    let t2 = ok(
        p.update(
            &t.id,
            TicketPatch::new()
                .subject("First writer")
                .expected_version(v1.clone()),
        )
        .await,
        "update with the current version",
    );
    let v2 = t2.version.clone().expect("version after update");
    assert_ne!(v1, v2, "version did not change after an update");
    expect_kind(
        p.update(
            &t.id,
            TicketPatch::new()
                .subject("Second writer")
                .expected_version(v1),
        )
        .await,
        ErrorKind::Conflict,
        "update with a stale version",
    );
    let got = ok(p.get(&t.id).await, "get");
    assert_eq!(got.subject, "First writer", "a refused update was applied");
    assert_eq!(
        got.version,
        Some(v2),
        "a refused update changed the version"
    );
}
