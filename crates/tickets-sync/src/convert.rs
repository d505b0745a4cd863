//! Local <-> remote: idempotency keys, requests trimmed to what the remote holds, and the
//! differences between a local and a remote ticket.

use std::collections::BTreeSet;

use tickets_core::{
    Capabilities, Comment, NewComment, NewTicket, Patch, Ticket, TicketId, TicketPatch,
};

use crate::config::{ConflictRules, Rule};

/// The idempotency key of the remote create of a local ticket: the same for every attempt, from
/// any process, so a create whose answer was lost is never made twice.
pub fn create_key(local: &TicketId) -> String {
    format!("sync-{}", local.as_str().replace('-', ""))
}

/// The idempotency key a local comment is delivered with: the same for every attempt, from
/// any process, and kept by the remote (see `Capabilities::idempotent_comment`), so the comment
/// is added once and is recognised as ours when it is read back.
pub fn comment_key(local_comment: &str) -> String {
    format!("{COMMENT_KEY_PREFIX}{}", local_comment.replace('-', ""))
}

/// The idempotency key a local attachment is delivered with (see [`comment_key`]).
pub fn attachment_key(local_attachment: &str) -> String {
    format!("sync-a-{}", local_attachment.replace('-', ""))
}

/// How [`comment_key`]s start.
pub const COMMENT_KEY_PREFIX: &str = "sync-c-";

/// The key of a comment entry recorded before entries named their local comment.
pub fn legacy_comment_key(local: &TicketId, seq: i64) -> String {
    format!("sync-{}-{seq}", local.as_str().replace('-', ""))
}

/// The key a comment pulled from the remote is stored with locally, so it is copied once and
/// never pushed back.
pub fn pull_comment_key(remote_name: &str, remote_comment: &str) -> String {
    format!("pull-{remote_name}-{remote_comment}")
}

/// The key a pulled remote ticket is created with locally (so a crash between the local create
/// and the link never makes two local copies).
pub fn pull_key(remote_name: &str, remote_id: &str) -> String {
    format!("pull-{remote_name}-{remote_id}")
}

/// A create request as the remote can take it: fields it does not hold are left out, and the
/// idempotency key is derived from the local id.
pub fn remote_new(mut new: NewTicket, caps: &Capabilities, key: String) -> NewTicket {
    if !caps.requester {
        new.requester = None;
    }
    if !caps.kind {
        new.kind = None;
    }
    if !caps.watchers {
        new.watchers.clear();
    }
    if !caps.tags {
        new.tags.clear();
    }
    if !caps.due {
        new.due = None;
    }
    if !caps.custom_fields {
        new.custom_fields.clear();
    }
    new.idempotency_key = Some(key);
    new
}

/// A create request carrying a local ticket's current state.
pub fn new_from(t: &Ticket) -> NewTicket {
    let mut new = NewTicket::new(t.subject.clone());
    new.description = t.description.clone();
    new.status = t.status;
    new.priority = t.priority;
    new.kind = t.kind.clone();
    new.assignee = t.assignee.clone();
    new.requester = t.requester.clone();
    new.watchers = t.watchers.clone();
    new.tags = t.tags.clone();
    new.due = t.due;
    new.custom_fields = t.custom_fields.clone();
    new
}

/// An update request as the remote can take it.
pub fn remote_patch(mut patch: TicketPatch, caps: &Capabilities) -> TicketPatch {
    if !caps.requester {
        patch.requester = Patch::Keep;
    }
    if !caps.kind {
        patch.kind = Patch::Keep;
    }
    if !caps.watchers {
        patch.watchers = Patch::Keep;
    }
    if !caps.tags {
        patch.tags = Patch::Keep;
    }
    if !caps.due {
        patch.due = Patch::Keep;
    }
    if !caps.edit_description {
        patch.description = Patch::Keep;
    }
    if !caps.custom_fields {
        patch.custom_fields.clear();
    }
    patch.expected_version = None;
    // The local store checked the move; the remote is told to show the status, from wherever a
    // half-applied earlier attempt left it.
    patch.skip_workflow = patch.status.as_set().is_some();
    patch
}

/// The patch that delivers a change as state: every field `touched` names, with its value in
/// `local` now (so a late or repeated delivery never sends an older value).
pub fn state_patch(touched: &TicketPatch, local: &Ticket) -> TicketPatch {
    fn opt<T: Clone>(touched: &Patch<T>, now: &Option<T>) -> Patch<T> {
        if touched.is_keep() {
            Patch::Keep
        } else {
            Patch::from(now.clone())
        }
    }
    fn set<T: Clone>(touched: &Patch<T>, now: &T) -> Patch<T> {
        if touched.is_keep() {
            Patch::Keep
        } else {
            Patch::Set(now.clone())
        }
    }
    let text = |s: &String| Some(s.clone()).filter(|s| !s.is_empty());
    let list = |v: &Vec<String>| Some(v.clone()).filter(|v| !v.is_empty());
    let mut p = TicketPatch::new();
    p.subject = set(&touched.subject, &local.subject);
    p.description = opt(&touched.description, &text(&local.description));
    p.status = set(&touched.status, &local.status);
    p.priority = set(&touched.priority, &local.priority);
    p.kind = opt(&touched.kind, &local.kind);
    p.assignee = opt(&touched.assignee, &local.assignee);
    p.requester = opt(&touched.requester, &local.requester);
    p.watchers = opt(&touched.watchers, &list(&local.watchers));
    p.tags = opt(&touched.tags, &list(&local.tags));
    p.due = opt(&touched.due, &local.due);
    for name in touched.custom_fields.keys() {
        let now = local.custom_fields.get(name).cloned();
        p.custom_fields.insert(name.clone(), Patch::from(now));
    }
    p
}

fn sorted(v: &[String]) -> BTreeSet<&str> {
    v.iter().map(String::as_str).collect()
}

/// The patch that makes `from` look like `to` in the fields the remote holds (`caps` are the
/// remote's). A status the remote cannot hold exactly is left alone when both sides agree on
/// open or not (the remote stores a neighbour, which must not be copied back).
pub fn diff(from: &Ticket, to: &Ticket, caps: &Capabilities) -> TicketPatch {
    let mut p = TicketPatch::new();
    if from.subject != to.subject {
        p.subject = Patch::Set(to.subject.clone());
    }
    if caps.edit_description && from.description.trim() != to.description.trim() {
        p.description = Patch::from(Some(to.description.clone()).filter(|d| !d.is_empty()));
    }
    if from.status != to.status {
        let exact = caps.statuses.contains(&from.status) && caps.statuses.contains(&to.status);
        if exact || from.status.is_open() != to.status.is_open() {
            p.status = Patch::Set(to.status);
        }
    }
    if from.priority != to.priority
        && caps.priorities.contains(&from.priority)
        && caps.priorities.contains(&to.priority)
    {
        p.priority = Patch::Set(to.priority);
    }
    if from.assignee != to.assignee {
        p.assignee = Patch::from(to.assignee.clone());
    }
    if caps.tags && sorted(&from.tags) != sorted(&to.tags) {
        p.tags = Patch::Set(to.tags.clone());
    }
    if caps.due && from.due != to.due {
        p.due = Patch::from(to.due);
    }
    if caps.custom_fields {
        for (name, value) in &to.custom_fields {
            if from.custom_fields.get(name) != Some(value) {
                p.custom_fields
                    .insert(name.clone(), Patch::Set(value.clone()));
            }
        }
    }
    p
}

/// A patch naming every field of `t`, with its values: delivered, it makes the remote ticket
/// show all of the local one.
pub fn all_fields(t: &Ticket) -> TicketPatch {
    let mut every = TicketPatch::new()
        .subject(t.subject.clone())
        .status(t.status)
        .priority(t.priority);
    every.description = Patch::Clear;
    every.kind = Patch::Clear;
    every.assignee = Patch::Clear;
    every.requester = Patch::Clear;
    every.watchers = Patch::Clear;
    every.tags = Patch::Clear;
    every.due = Patch::Clear;
    for name in t.custom_fields.keys() {
        every.custom_fields.insert(name.clone(), Patch::Clear);
    }
    state_patch(&every, t)
}

/// The fields a patch sets or clears: `subject`, `status`, ..., `custom:NAME`.
pub fn patch_fields(p: &TicketPatch) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let named = [
        ("subject", p.subject.is_keep()),
        ("description", p.description.is_keep()),
        ("status", p.status.is_keep()),
        ("priority", p.priority.is_keep()),
        ("kind", p.kind.is_keep()),
        ("assignee", p.assignee.is_keep()),
        ("requester", p.requester.is_keep()),
        ("watchers", p.watchers.is_keep()),
        ("tags", p.tags.is_keep()),
        ("due", p.due.is_keep()),
    ];
    for (name, keep) in named {
        if !keep {
            out.insert(name.to_owned());
        }
    }
    for (name, v) in &p.custom_fields {
        if !v.is_keep() {
            out.insert(format!("custom:{name}"));
        }
    }
    out
}

/// Leaves in `p` only the fields `keep` accepts (names as in [`patch_fields`]).
pub fn retain_fields(p: &mut TicketPatch, keep: impl Fn(&str) -> bool) {
    if !keep("subject") {
        p.subject = Patch::Keep;
    }
    if !keep("description") {
        p.description = Patch::Keep;
    }
    if !keep("status") {
        p.status = Patch::Keep;
    }
    if !keep("priority") {
        p.priority = Patch::Keep;
    }
    if !keep("kind") {
        p.kind = Patch::Keep;
    }
    if !keep("assignee") {
        p.assignee = Patch::Keep;
    }
    if !keep("requester") {
        p.requester = Patch::Keep;
    }
    if !keep("watchers") {
        p.watchers = Patch::Keep;
    }
    if !keep("tags") {
        p.tags = Patch::Keep;
    }
    if !keep("due") {
        p.due = Patch::Keep;
    }
    p.custom_fields
        .retain(|name, _| keep(&format!("custom:{name}")));
}

/// A field's value on a ticket, as text for history and `sync verify`.
pub fn field_text(t: &Ticket, field: &str) -> Option<String> {
    let list = |v: &[String]| (!v.is_empty()).then(|| v.join(", "));
    match field {
        "subject" => Some(t.subject.clone()),
        "description" => (!t.description.is_empty()).then(|| t.description.clone()),
        "status" => Some(t.status.to_string()),
        "priority" => Some(t.priority.to_string()),
        "kind" => t.kind.clone(),
        "assignee" => t.assignee.clone(),
        "requester" => t.requester.clone(),
        "watchers" => list(&t.watchers),
        "tags" => list(&t.tags),
        "due" => t.due.map(|d| d.to_string()),
        f => f
            .strip_prefix("custom:")
            .and_then(|name| t.custom_fields.get(name))
            .map(|v| v.to_string()),
    }
}

/// A field both sides changed since they last agreed, and how it was settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The field (`status`, `custom:NAME`, ...).
    pub field: String,
    /// The local value.
    pub local: Option<String>,
    /// The remote value.
    pub remote: Option<String>,
    /// The rule applied.
    pub rule: Rule,
}

/// What a pull applies to one local ticket: the remote's changes since the two sides last
/// agreed (`base`: the remote ticket as last delivered or pulled; without one, every field
/// that differs counts as a remote change), except those the local side also changed and has
/// not delivered (`pending`) where the rule says the local value wins.
pub fn merge(
    base: Option<&Ticket>,
    local: &Ticket,
    remote: &Ticket,
    pending: &BTreeSet<String>,
    rules: &ConflictRules,
    caps: &Capabilities,
) -> (TicketPatch, Vec<Conflict>) {
    let remote_changed = patch_fields(&diff(base.unwrap_or(local), remote, caps));
    let mut patch = diff(local, remote, caps);
    let differs = patch_fields(&patch);
    let mut conflicts = Vec::new();
    let mut take = BTreeSet::new();
    for field in differs.intersection(&remote_changed) {
        if pending.contains(field) {
            let rule = rules.for_field(field);
            conflicts.push(Conflict {
                field: field.clone(),
                local: field_text(local, field),
                remote: field_text(remote, field),
                rule,
            });
            if rule == Rule::LocalWins {
                continue;
            }
        }
        take.insert(field.clone());
    }
    retain_fields(&mut patch, |f| take.contains(f));
    (patch, conflicts)
}

/// True when a comment read from one side is `new` written on the other. Without
/// `comment_author` on the remote, only bodies are compared.
pub fn same_comment(c: &Comment, author: Option<&str>, body: &str, caps: &Capabilities) -> bool {
    c.body.trim() == body.trim() && (!caps.comment_author || c.author.as_deref() == author)
}

/// A comment request copying `c`.
pub fn new_comment_from(c: &Comment) -> NewComment {
    let mut n = NewComment::new(c.body.clone());
    n.author = c.author.clone();
    n.public = c.public;
    n
}

/// Whether a comment goes to the remote: private ones stay local when the remote has no
/// private comments (sending them would publish them).
pub fn travels(public: bool, caps: &Capabilities) -> bool {
    public || caps.private_comments
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use tickets_core::{Priority, Status};

    use super::*;

    fn ticket(subject: &str) -> Ticket {
        Ticket::new(TicketId::new("1"), "x", subject, Utc::now())
    }

    #[test]
    fn keys_are_stable_and_short() {
        let id = TicketId::new("0190f3a2-7c4e-7b1a-9d2e-3f4a5b6c7d8e");
        assert_eq!(create_key(&id), create_key(&id.clone()));
        assert!(create_key(&id).len() <= 40);
        assert_ne!(legacy_comment_key(&id, 1), legacy_comment_key(&id, 2));
        let c = "0190f3a2-7c4e-7b1a-9d2e-3f4a5b6c7d8f";
        assert_eq!(comment_key(c), comment_key(c));
        assert!(comment_key(c).starts_with(COMMENT_KEY_PREFIX));
        assert!(tickets_core::marker::check_key(&comment_key(c)).is_ok());
        assert!(tickets_core::marker::check_key(&create_key(&id)).is_ok());
    }

    #[test]
    fn requests_lose_what_the_remote_cannot_hold() {
        let mut caps = Capabilities::full();
        caps.requester = false;
        caps.custom_fields = false;
        caps.watchers = false;
        let new = NewTicket::new("a")
            .requester("r@x")
            .custom_field("c", 1)
            .watcher("w");
        let out = remote_new(new, &caps, "k".into());
        assert_eq!(out.requester, None);
        assert!(out.custom_fields.is_empty() && out.watchers.is_empty());
        assert_eq!(out.idempotency_key.as_deref(), Some("k"));
        let p = remote_patch(TicketPatch::new().requester("r").subject("s"), &caps);
        assert_eq!(p.requester, Patch::Keep);
        assert_eq!(p.subject, Patch::Set("s".into()));
    }

    #[test]
    fn a_change_is_delivered_as_the_current_local_state() {
        let mut local = ticket("now");
        local.status = Status::Closed;
        local.assignee = None;
        local.tags = vec!["b".into()];
        local.custom_fields.insert("n".into(), 2.into());
        // The change that was recorded set older values; what is sent is what is there now.
        let touched = TicketPatch::new()
            .subject("then")
            .status(Status::InProgress)
            .assignee("alice")
            .custom_field("n", 1)
            .custom_field("gone", 1);
        let p = state_patch(&touched, &local);
        assert_eq!(p.subject, Patch::Set("now".into()));
        assert_eq!(p.status, Patch::Set(Status::Closed));
        assert_eq!(p.assignee, Patch::Clear);
        assert_eq!(p.custom_fields["n"], Patch::Set(2.into()));
        assert_eq!(p.custom_fields["gone"], Patch::Clear);
        assert_eq!(
            p.tags,
            Patch::Keep,
            "fields the change did not touch are not sent"
        );
        assert_eq!(p.priority, Patch::Keep);
        let sent = remote_patch(p, &Capabilities::full());
        assert!(
            sent.skip_workflow,
            "a delivered status is set, not stepped to"
        );
        let no_status = remote_patch(
            state_patch(&TicketPatch::new().subject("x"), &local),
            &Capabilities::full(),
        );
        assert!(!no_status.skip_workflow);
    }

    #[test]
    fn diff_sets_only_what_differs() {
        let caps = Capabilities::full();
        let mut a = ticket("a");
        let mut b = ticket("b");
        a.tags = vec!["x".into(), "y".into()];
        b.tags = vec!["y".into(), "x".into()];
        b.status = Status::InProgress;
        b.priority = Priority::High;
        b.assignee = Some("alice@example.com".into());
        let p = diff(&a, &b, &caps);
        assert_eq!(p.subject, Patch::Set("b".into()));
        assert_eq!(p.tags, Patch::Keep);
        assert_eq!(p.status, Patch::Set(Status::InProgress));
        assert_eq!(p.priority, Patch::Set(Priority::High));
        assert_eq!(p.assignee, Patch::Set("alice@example.com".into()));
        assert!(diff(&b, &b, &caps).is_empty());
    }

    #[test]
    fn inexact_statuses_are_not_copied_back() {
        let mut caps = Capabilities::full();
        caps.statuses = vec![Status::New, Status::Closed];
        let mut local = ticket("a");
        local.status = Status::Triaged;
        let remote = ticket("a");
        assert_eq!(diff(&local, &remote, &caps).status, Patch::Keep);
        let mut closed = ticket("a");
        closed.status = Status::Closed;
        assert_eq!(
            diff(&local, &closed, &caps).status,
            Patch::Set(Status::Closed)
        );
    }

    #[test]
    fn a_pull_takes_remote_changes_and_settles_conflicts_by_rule() {
        let caps = Capabilities::full();
        let mut base = ticket("agreed");
        base.priority = Priority::Low;
        base.assignee = Some("alice".into());
        let mut local = base.clone();
        local.subject = "local edit".into();
        local.priority = Priority::High;
        let mut remote = base.clone();
        remote.priority = Priority::Critical;
        remote.assignee = Some("bob".into());
        remote.status = Status::InProgress;
        // Local changed subject and priority (priority not delivered yet); remote changed
        // priority, assignee and status.
        let pending: BTreeSet<String> = ["priority".to_owned()].into();
        let (patch, conflicts) = merge(
            Some(&base),
            &local,
            &remote,
            &pending,
            &ConflictRules::default(),
            &caps,
        );
        assert_eq!(
            patch.subject,
            Patch::Keep,
            "only the local side changed the subject"
        );
        assert_eq!(patch.priority, Patch::Keep, "local wins by default");
        assert_eq!(patch.assignee, Patch::Set("bob".into()));
        assert_eq!(patch.status, Patch::Set(Status::InProgress));
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].field, "priority");
        assert_eq!(conflicts[0].rule, Rule::LocalWins);

        let rules = ConflictRules {
            priority: Some(Rule::RemoteWins),
            ..ConflictRules::default()
        };
        let (patch, conflicts) = merge(Some(&base), &local, &remote, &pending, &rules, &caps);
        assert_eq!(patch.priority, Patch::Set(Priority::Critical));
        assert_eq!(conflicts[0].rule, Rule::RemoteWins);

        // A stale remote state equal to what was agreed changes nothing.
        let (patch, conflicts) = merge(
            Some(&base),
            &local,
            &base,
            &pending,
            &ConflictRules::default(),
            &caps,
        );
        assert!(patch.is_empty() && conflicts.is_empty(), "{patch:?}");
    }

    #[test]
    fn fields_are_named_and_retained() {
        let mut p = TicketPatch::new()
            .subject("s")
            .clear_assignee()
            .custom_field("team", "ops");
        let names: Vec<String> = patch_fields(&p).into_iter().collect();
        assert_eq!(names, ["assignee", "custom:team", "subject"]);
        retain_fields(&mut p, |f| f == "custom:team");
        assert_eq!(patch_fields(&p).len(), 1);
    }

    #[test]
    fn comments_match_on_body_and_author() {
        let caps = Capabilities::full();
        let mut c = Comment::new("1", TicketId::new("t"), "hello ", Utc::now());
        c.author = Some("a".into());
        assert!(same_comment(&c, Some("a"), "hello", &caps));
        assert!(!same_comment(&c, Some("b"), "hello", &caps));
        let mut no_author = caps.clone();
        no_author.comment_author = false;
        assert!(same_comment(&c, None, "hello", &no_author));
        let mut public_only = caps;
        public_only.private_comments = false;
        assert!(!travels(false, &public_only));
    }
}
