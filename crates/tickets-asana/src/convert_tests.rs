//! Mapping tests on Asana's JSON shapes (vendor-apis.md 1.6, 1.9, 1.11).

use serde_json::json;
use tickets_core::{HistoryAction, Priority, Status, TicketId, marker};

use super::*;
use crate::config::AsanaConfig;
use crate::types::{StoryRecord, TaskRecord};

fn mapping(priority_field: Option<&str>) -> Mapping {
    let mut c = AsanaConfig::new("t", "100");
    c.sections.insert("in_progress".into(), "Doing".into());
    let maps = c
        .check(|k, p| tickets_core::Error::config(format!("{k}: {p}")))
        .unwrap();
    Mapping {
        project: "100".into(),
        maps,
        priority_field: priority_field.map(str::to_owned),
    }
}

fn task(section: Option<&str>, completed: bool, tags: &[&str]) -> TaskRecord {
    let mut v = json!({
        "gid": "1209000000000042", "name": "Printer jammed", "notes": "Tray 2",
        "completed": completed, "created_at": "2026-11-22T07:00:00.123Z",
        "modified_at": "2026-11-22T07:05:00.456Z", "due_on": null, "assignee": null,
        "memberships": [{"project": {"gid": "100", "name": "Tickets"}}],
        "tags": tags.iter().enumerate().map(|(i, n)| json!({"gid": i.to_string(), "name": n})).collect::<Vec<_>>(),
        "custom_fields": [],
        "permalink_url": "https://app.asana.com/0/0/1209000000000042"
    });
    if let Some(s) = section {
        v["memberships"][0]["section"] = json!({"gid": "7", "name": s});
    }
    serde_json::from_value(v).unwrap()
}

#[test]
fn every_status_round_trips_through_its_section() {
    let m = mapping(None);
    for s in Status::ALL {
        let t = task(Some(m.section_of(s)), !s.is_open(), &[]);
        assert_eq!(m.status(&t), s, "{s}");
    }
    assert_eq!(m.section_of(Status::InProgress), "Doing");
    assert_eq!(
        m.status(&task(Some("doing"), false, &[])),
        Status::InProgress
    );
}

#[test]
fn completion_wins_over_a_contradicting_section() {
    let m = mapping(None);
    assert_eq!(m.status(&task(Some("Triaged"), true, &[])), Status::Closed);
    assert_eq!(m.status(&task(Some("Resolved"), false, &[])), Status::New);
    assert_eq!(m.status(&task(None, false, &[])), Status::New);
    assert_eq!(m.status(&task(Some("Backlog"), true, &[])), Status::Closed);
    // A section of another project does not count.
    let mut t = task(Some("Escalated"), false, &[]);
    t.memberships[0].project.as_mut().unwrap().gid = "999".into();
    assert_eq!(m.status(&t), Status::New);
    assert!(!m.in_project(&t));
}

#[test]
fn priority_comes_from_tags_and_they_are_not_listed_as_tags() {
    let m = mapping(None);
    let t = m.ticket(task(None, false, &["ops", "high", "Low"]));
    assert_eq!(
        t.priority,
        Priority::High,
        "the most urgent priority tag wins"
    );
    assert_eq!(t.tags, vec!["ops".to_owned()]);
    assert_eq!(m.ticket(task(None, false, &[])).priority, Priority::Medium);
    for p in Priority::ALL {
        assert_eq!(m.priority_of_name(m.priority_name(p)), Some(p));
    }
}

#[test]
fn priority_from_an_enum_field_when_configured() {
    let m = mapping(Some("Priority"));
    let mut t = task(None, false, &["High"]);
    t.custom_fields = serde_json::from_value(json!([
        {"gid": "5", "name": "Priority", "resource_subtype": "enum",
         "enum_value": {"gid": "51", "name": "Critical"}, "display_value": "Critical"},
        {"gid": "6", "name": "customer", "resource_subtype": "text", "text_value": "ACME",
         "display_value": "ACME"}
    ]))
    .unwrap();
    let ticket = m.ticket(t);
    assert_eq!(ticket.priority, Priority::Critical);
    assert_eq!(
        ticket.tags,
        vec!["High".to_owned()],
        "tags are plain tags then"
    );
    assert!(!ticket.custom_fields.contains_key("Priority"));
    assert_eq!(ticket.custom_fields["customer"], json!("ACME"));
}

#[test]
fn task_fields_map_onto_the_ticket() {
    let m = mapping(None);
    let mut t = task(Some("Doing"), false, &["ops"]);
    t.notes = marker::append("Tray 2\nis stuck", Some("key-1"));
    t.assignee =
        serde_json::from_value(json!({"gid": "2", "name": "Alice", "email": "alice@example.com"}))
            .unwrap();
    t.due_on = chrono::NaiveDate::from_ymd_opt(2031, 5, 17);
    t.custom_fields = serde_json::from_value(json!([
        {"gid": "5", "name": "severity", "resource_subtype": "number", "number_value": 2},
        {"gid": "6", "name": "customer", "type": "text", "text_value": null},
        {"gid": "7", "name": "kind", "resource_subtype": "enum", "enum_value": {"gid": "71", "name": "bug"}},
        {"gid": "8", "name": "when", "resource_subtype": "date", "display_value": "2031-01-01"}
    ]))
    .unwrap();
    let ticket = m.ticket(t);
    assert_eq!(ticket.id, TicketId::new("1209000000000042"));
    assert_eq!(ticket.provider, "asana");
    assert_eq!(ticket.subject, "Printer jammed");
    assert_eq!(
        ticket.description, "Tray 2\nis stuck",
        "the marker line is not part of it"
    );
    assert_eq!(ticket.status, Status::InProgress);
    assert_eq!(ticket.assignee.as_deref(), Some("alice@example.com"));
    assert_eq!(ticket.due.unwrap().to_string(), "2031-05-17");
    assert_eq!(ticket.custom_fields["severity"], json!(2));
    assert!(
        !ticket.custom_fields.contains_key("customer"),
        "unset values are left out"
    );
    assert_eq!(ticket.custom_fields["kind"], json!("bug"));
    assert_eq!(ticket.custom_fields["when"], json!("2031-01-01"));
    assert_eq!(ticket.number, None);
    assert_eq!(
        ticket.url.as_deref(),
        Some("https://app.asana.com/0/0/1209000000000042")
    );
    assert_eq!(ticket.links["asana"], "1209000000000042");
    assert_eq!(ticket.version.as_deref(), Some("2026-11-22T07:05:00.456Z"));
    assert!(ticket.updated_at > ticket.created_at);
}

#[test]
fn assignee_without_email_is_the_gid() {
    let m = mapping(None);
    let mut t = task(None, false, &[]);
    t.assignee = serde_json::from_value(json!({"gid": "2", "name": "Alice"})).unwrap();
    assert_eq!(m.ticket(t).assignee.as_deref(), Some("2"));
}

#[test]
fn task_notes_use_the_shared_marker_format() {
    // Tasks created before the marker moved to tickets-core carry the same line.
    let m = mapping(None);
    let mut t = task(None, false, &[]);
    t.notes = "Tray 2\n\n[tickets-key:sync-0190f3a2]".into();
    assert_eq!(m.ticket(t).description, "Tray 2");
    let mut t = task(None, false, &[]);
    t.notes = "[tickets-key:k] in the middle\nof notes".into();
    assert_eq!(
        m.ticket(t).description,
        "[tickets-key:k] in the middle\nof notes"
    );
}

#[test]
fn comment_authors_round_trip() {
    for (author, body) in [
        (Some("Alice Example"), "First: looking into it"),
        (Some("bob@example.com"), "multi\nline [x] "),
        (None, "[not an author] text"),
        (None, "\\backslash"),
        (None, "plain"),
    ] {
        let text = comment_text(author, body, None);
        let (a, b) = parse_comment(&text);
        assert_eq!((a.as_deref(), b), (author, body), "{text:?}");
    }
    assert_eq!(comment_text(Some("A"), "hi", None), "[A] hi");
}

#[test]
fn comment_text_carries_the_key_after_the_author_and_body() {
    assert_eq!(
        comment_text(Some("Alice"), "+1", Some("sync-c-1")),
        "[Alice] +1\n\n[tickets-key:sync-c-1]"
    );
    assert_eq!(
        comment_text(None, "[x] y", Some("k")),
        "\\[x] y\n\n[tickets-key:k]"
    );
    for (author, body) in [
        (Some("Alice Example"), "+1"),
        (None, "multi\nline\n\nwith a gap"),
        (None, "[not an author] text"),
        (Some("bob"), "[tickets-key:fake] as the first line"),
        (None, "see [tickets-key:other] inline"),
    ] {
        let s = story(json!({"gid": "9", "created_at": "2026-11-22T07:00:00.000Z",
            "created_by": {"gid": "3"}, "resource_subtype": "comment_added",
            "text": comment_text(author, body, Some("key-7"))}));
        let c = comment(&TicketId::new("1"), &s, Some("3"));
        assert_eq!(
            (
                c.author.as_deref(),
                c.body.as_str(),
                c.idempotency_key.as_deref()
            ),
            (author, body, Some("key-7")),
            "{:?}",
            s.text
        );
        assert!(has_key(&s, "key-7"));
        assert!(!has_key(&s, "key-70") && !has_key(&s, "key-"));
    }
}

#[test]
fn comments_without_a_marker_have_no_key() {
    let s = story(json!({"gid": "9", "created_at": "2026-11-22T07:00:00.000Z",
        "resource_subtype": "comment_added", "text": "[Alice] +1"}));
    let c = comment(&TicketId::new("1"), &s, None);
    assert_eq!((c.body.as_str(), c.idempotency_key), ("+1", None));
    assert!(!has_key(&s, "+1"));
    // Asana may trim what follows the marker; a system story never matches.
    let trimmed = story(json!({"gid": "9", "created_at": "2026-11-22T07:00:00.000Z",
        "resource_subtype": "comment_added", "text": "+1\n\n[tickets-key:k]  \n"}));
    assert!(has_key(&trimmed, "k"));
    let system = story(json!({"gid": "9", "created_at": "2026-11-22T07:00:00.000Z",
        "resource_subtype": "name_changed", "text": "x\n\n[tickets-key:k]"}));
    assert!(!has_key(&system, "k"));
}

fn story(v: serde_json::Value) -> StoryRecord {
    serde_json::from_value(v).unwrap()
}

#[test]
fn comment_stories_keep_the_written_author_else_a_human_author() {
    let id = TicketId::new("1");
    let bot = json!({"gid": "3", "name": "Bot", "email": "bot@example.com"});
    let c = comment(
        &id,
        &story(json!({"gid": "9", "created_at": "2026-11-22T07:00:00.000Z",
        "created_by": bot, "resource_subtype": "comment_added", "text": "[Alice] hi"})),
        Some("3"),
    );
    assert_eq!(
        (c.author.as_deref(), c.body.as_str(), c.public),
        (Some("Alice"), "hi", true)
    );
    let c = comment(
        &id,
        &story(json!({"gid": "9", "created_at": "2026-11-22T07:00:00.000Z",
        "created_by": bot, "resource_subtype": "comment_added", "text": "hi"})),
        Some("3"),
    );
    assert_eq!(c.author, None, "the API user is not a person");
    let c = comment(
        &id,
        &story(json!({"gid": "9", "created_at": "2026-11-22T07:00:00.000Z",
        "created_by": {"gid": "4", "email": "carol@example.com"},
        "resource_subtype": "comment_added", "text": "from the web"})),
        Some("3"),
    );
    assert_eq!(c.author.as_deref(), Some("carol@example.com"));
}

#[test]
fn system_stories_become_history() {
    let m = mapping(None);
    let t = task(None, false, &[]);
    let by = json!({"gid": "3", "email": "bot@example.com"});
    let at = "2026-11-22T07:01:00.000Z";
    let stories: Vec<StoryRecord> = [
        json!({"resource_subtype": "section_changed", "old_section": {"gid": "1", "name": "New"},
               "new_section": {"gid": "2", "name": "Doing"}}),
        json!({"resource_subtype": "assigned", "assignee": {"gid": "2", "email": "alice@example.com"}}),
        json!({"resource_subtype": "unassigned"}),
        json!({"resource_subtype": "comment_added", "text": "[Alice] noted\n\n[tickets-key:k]"}),
        json!({"resource_subtype": "marked_complete"}),
        json!({"resource_subtype": "name_changed", "old_name": "a", "new_name": "b"}),
        json!({"resource_subtype": "due_date_changed", "old_dates": {"due_on": null},
               "new_dates": {"due_on": "2031-05-17"}}),
        json!({"resource_subtype": "added_to_tag", "tag": {"gid": "8", "name": "High"}}),
        json!({"resource_subtype": "removed_from_tag", "tag": {"gid": "8", "name": "High"}}),
        json!({"resource_subtype": "added_to_tag", "tag": {"gid": "9", "name": "ops"}}),
        json!({"resource_subtype": "number_custom_field_changed", "custom_field": {"gid": "5", "name": "severity"},
               "old_number_value": null, "new_number_value": 2}),
        json!({"resource_subtype": "added_to_project"}),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, mut v)| {
        v["gid"] = json!(i.to_string());
        v["created_at"] = json!(at);
        v["created_by"] = by.clone();
        story(v)
    })
    .collect();
    let h = m.history(&t, &stories);
    type Row<'a> = (
        HistoryAction,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let summary: Vec<Row<'_>> = h
        .iter()
        .map(|e| {
            (
                e.action,
                e.field.as_deref(),
                e.old_value.as_deref(),
                e.new_value.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (HistoryAction::Created, None, None, None),
            (
                HistoryAction::StatusChange,
                Some("status"),
                Some("new"),
                Some("in_progress")
            ),
            (
                HistoryAction::Assigned,
                Some("assignee"),
                None,
                Some("alice@example.com")
            ),
            (HistoryAction::Assigned, Some("assignee"), None, None),
            (HistoryAction::CommentAdded, None, None, None),
            (
                HistoryAction::Updated,
                Some("completed"),
                Some("false"),
                Some("true")
            ),
            (
                HistoryAction::Updated,
                Some("subject"),
                Some("a"),
                Some("b")
            ),
            (
                HistoryAction::Updated,
                Some("due"),
                None,
                Some("2031-05-17")
            ),
            (HistoryAction::Updated, Some("priority"), None, Some("high")),
            (HistoryAction::Updated, Some("tags"), None, Some("ops")),
            (
                HistoryAction::Updated,
                Some("custom_field"),
                None,
                Some("severity=2")
            ),
        ]
    );
    assert_eq!(
        h[4].actor.as_deref(),
        Some("Alice"),
        "comment actor is the written author"
    );
    assert_eq!(h[1].actor.as_deref(), Some("bot@example.com"));
}

#[test]
fn field_values_by_type() {
    let f = |v: serde_json::Value| field_value(&serde_json::from_value(v).unwrap());
    assert_eq!(
        f(json!({"gid": "1", "resource_subtype": "text", "text_value": "x"})),
        Some(json!("x"))
    );
    assert_eq!(
        f(json!({"gid": "1", "resource_subtype": "number", "number_value": 2.5})),
        Some(json!(2.5))
    );
    assert_eq!(
        f(json!({"gid": "1", "resource_subtype": "enum", "enum_value": null})),
        None
    );
    assert_eq!(
        f(json!({"gid": "1", "resource_subtype": "people", "display_value": "A, B"})),
        Some(json!("A, B"))
    );
}
