use std::collections::BTreeMap;

use serde_json::json;
use tickets_core::{Priority, Status, TicketId};

use super::*;
use crate::config::default_status_map;

/// A bug as 5.x renders it (vendor-apis.md 2.5 and 2.10: `resolution` "", `alias` an array,
/// `dupe_of` and `deadline` null).
fn real_bug() -> serde_json::Value {
    json!({"bugs": [{
        "id": 35, "alias": [], "summary": "Printer on fire", "status": "CONFIRMED",
        "resolution": "", "is_open": true, "is_confirmed": true, "priority": "High",
        "severity": "normal", "product": "TestProduct", "component": "TestComponent",
        "version": "unspecified", "op_sys": "All", "platform": "All",
        "assigned_to": "alice@example.com",
        "assigned_to_detail": {"id": 2, "real_name": "Alice", "name": "alice@example.com", "email": "alice@example.com"},
        "creator": "admin@example.com", "qa_contact": "", "cc": ["bob@example.com"],
        "creation_time": "2014-09-29T14:20:00Z", "last_change_time": "2014-09-29T14:25:35Z",
        "keywords": [], "whiteboard": "[hardware] [triaged] seen twice", "url": "",
        "see_also": [], "depends_on": [], "blocks": [], "dupe_of": null,
        "target_milestone": "---", "deadline": null, "groups": [], "flags": [],
        "classification": "Unclassified", "cf_customer": "ACME",
        "cf_severity": "2", "cf_other": "kept", "cf_empty": ""
    }], "faults": []})
}

fn priorities() -> PriorityMap {
    let values: Vec<String> = ["Highest", "High", "Normal", "Low", "Lowest", "---"]
        .map(String::from)
        .to_vec();
    PriorityMap::from_values(&values, &BTreeMap::new())
}

#[test]
fn a_real_bug_becomes_a_ticket() {
    let bug = first_bug(&real_bug()).unwrap();
    let statuses = StatusMap::new(default_status_map());
    let prios = priorities();
    let custom = BTreeMap::from([
        ("customer".to_owned(), "cf_customer".to_owned()),
        ("severity".to_owned(), "cf_severity".to_owned()),
    ]);
    let types = std::collections::HashMap::from([
        ("cf_customer".to_owned(), 1),
        ("cf_severity".to_owned(), 10),
    ]);
    let m = Mapping {
        kind: "bugzilla",
        statuses: &statuses,
        priorities: &prios,
        unassigned: "nobody@example.com",
        show_url: "https://bz.example/show_bug.cgi?id=".into(),
        custom: &custom,
        field_types: &types,
    };
    let t = to_ticket(&bug, "It smokes".into(), &m);
    assert_eq!(t.id.as_str(), "35");
    assert_eq!(t.number.as_deref(), Some("35"));
    assert_eq!(t.status, Status::Triaged, "CONFIRMED + [triaged] marker");
    assert_eq!(t.priority, Priority::High);
    assert_eq!(t.assignee.as_deref(), Some("alice@example.com"));
    assert_eq!(t.requester.as_deref(), Some("admin@example.com"));
    assert_eq!(t.watchers, ["bob@example.com"]);
    assert_eq!(t.tags, ["hardware"], "markers are not tags");
    assert_eq!(t.due, None);
    assert_eq!(t.custom_fields["customer"], "ACME");
    assert_eq!(
        t.custom_fields["severity"], 2,
        "integer fields come back as strings"
    );
    assert_eq!(
        t.custom_fields["cf_other"], "kept",
        "unmapped cf_ fields keep their name"
    );
    assert!(!t.custom_fields.contains_key("cf_empty"));
    assert!(!t.custom_fields.contains_key("cf_customer"));
    assert_eq!(
        t.url.as_deref(),
        Some("https://bz.example/show_bug.cgi?id=35")
    );
    assert_eq!(t.version.as_deref(), Some("2014-09-29T14:25:35Z"));
    assert!(t.updated_at > t.created_at);
}

#[test]
fn the_default_assignee_reads_as_unassigned() {
    let mut v = real_bug();
    v["bugs"][0]["assigned_to"] = json!("nobody@example.com");
    let bug = first_bug(&v).unwrap();
    let statuses = StatusMap::new(default_status_map());
    let prios = priorities();
    let m = Mapping {
        kind: "bugzilla",
        statuses: &statuses,
        priorities: &prios,
        unassigned: "nobody@example.com",
        show_url: String::new(),
        custom: &BTreeMap::new(),
        field_types: &std::collections::HashMap::new(),
    };
    assert_eq!(to_ticket(&bug, String::new(), &m).assignee, None);
}

#[test]
fn statuses_read_back_from_status_resolution_and_markers() {
    let map = StatusMap::new(default_status_map());
    let tok = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(map.read("CONFIRMED", "", true, &[]), Status::New);
    assert_eq!(map.read("UNCONFIRMED", "", true, &[]), Status::New);
    assert_eq!(
        map.read("CONFIRMED", "", true, &tok(&["on-hold"])),
        Status::OnHold
    );
    assert_eq!(
        map.read("IN_PROGRESS", "", true, &tok(&["escalated"])),
        Status::Escalated
    );
    // A marker without its Bugzilla status does not count.
    assert_eq!(
        map.read("IN_PROGRESS", "", true, &tok(&["triaged"])),
        Status::InProgress
    );
    assert_eq!(map.read("RESOLVED", "FIXED", false, &[]), Status::Resolved);
    assert_eq!(map.read("VERIFIED", "FIXED", false, &[]), Status::Closed);
    assert_eq!(
        map.read("RESOLVED", "WONTFIX", false, &[]),
        Status::Cancelled
    );
    assert_eq!(
        map.read("RESOLVED", "DUPLICATE", false, &[]),
        Status::Cancelled
    );
    // Pre-4.0 names (BMO still uses NEW/ASSIGNED).
    assert_eq!(map.read("ASSIGNED", "", true, &[]), Status::InProgress);
    assert_eq!(map.read("NEW", "", true, &[]), Status::New);
    assert_eq!(map.read("CLOSED", "FIXED", false, &[]), Status::Closed);
    // Every canonical status round-trips through its target.
    for (status, target) in default_status_map() {
        let tokens: Vec<String> = target
            .marker
            .iter()
            .map(|m| m.trim_matches(|c| c == '[' || c == ']').to_owned())
            .collect();
        assert_eq!(
            map.read(
                &target.status,
                &target.resolution,
                status.is_open(),
                &tokens
            ),
            status
        );
    }
}

#[test]
fn priorities_spread_by_order_and_treat_dashes_as_unset() {
    let p = priorities();
    assert_eq!(p.bz_value(Priority::Critical), Some("Highest"));
    assert_eq!(p.bz_value(Priority::Medium), Some("Normal"));
    assert_eq!(p.bz_value(Priority::Info), Some("Lowest"));
    assert_eq!(p.read_bz("---"), Priority::Medium);
    assert_eq!(p.exact(), Priority::ALL.to_vec());
    // BMO style: "--" plus P1..P5.
    let bmo: Vec<String> = ["--", "P1", "P2", "P3", "P4", "P5"]
        .map(String::from)
        .to_vec();
    let p = PriorityMap::from_values(&bmo, &BTreeMap::new());
    assert_eq!(p.bz_value(Priority::Critical), Some("P1"));
    assert_eq!(p.read_bz("P5"), Priority::Info);
    // Three levels: only some canonical ones round-trip.
    let three: Vec<String> = ["High", "Normal", "Low"].map(String::from).to_vec();
    let p = PriorityMap::from_values(&three, &BTreeMap::new());
    assert_eq!(
        p.exact(),
        [Priority::Critical, Priority::Medium, Priority::Info]
    );
    // Overrides win.
    let over = BTreeMap::from([(Priority::High, "Highest".to_owned())]);
    let p = PriorityMap::from_values(&three, &over);
    assert_eq!(p.bz_value(Priority::High), Some("Highest"));
    assert_eq!(p.read_bz("Highest"), Priority::High);
}

#[test]
fn whiteboard_round_trip() {
    let wb = Whiteboard::parse("[a] free [b c] text [unclosed");
    assert_eq!(wb.tokens, ["a", "b c"]);
    assert_eq!(wb.text, "free text [unclosed");
    assert_eq!(wb.render(), "[a] [b c] free text [unclosed");
    assert!(check_tag("x]").is_err());
    assert!(check_tag("ok-tag").is_ok());
}

#[test]
fn comments_keep_their_author_line() {
    let text = comment_text(
        Some("Alice Example"),
        Some("admin@example.com"),
        "hi\nthere",
    );
    assert_eq!(text, "[tickets] Alice Example wrote:\n\nhi\nthere");
    assert_eq!(
        split_comment(&text, "admin@example.com"),
        (Some("Alice Example".into()), "hi\nthere".into())
    );
    // The API user itself gets no line; a plain comment reads as its creator's.
    assert_eq!(
        comment_text(Some("admin@example.com"), Some("admin@example.com"), "x"),
        "x"
    );
    assert_eq!(
        split_comment("x", "bob@example.com"),
        (Some("bob@example.com".into()), "x".into())
    );
}

#[test]
fn keyed_comments_end_with_the_marker_after_author_and_body() {
    let text = stored_comment(
        Some("Alice Example"),
        Some("admin@example.com"),
        "+1\r\nsecond line  \n\n",
        Some("sync-c-1"),
    );
    assert_eq!(
        text,
        "[tickets] Alice Example wrote:\n\n+1\nsecond line\n\n[tickets-key:sync-c-1]"
    );
    assert_eq!(
        stored_comment(None, Some("admin@example.com"), "x  ", None),
        "x",
        "without a key: as Bugzilla stores it"
    );
    assert_eq!(
        stored_comment(None, None, "trailing spaces   ", Some("k")),
        "trailing spaces\n\n[tickets-key:k]",
        "trimmed before the marker, as it would be without one"
    );
}

#[test]
fn keyed_comments_read_back_without_the_marker() {
    // Texts as the real Bugzilla 5.0.6 returned them (trailing whitespace trimmed, CRLF -> LF).
    for (text, creator, author, body, key) in [
        (
            "[tickets] Alice wrote:\n\n+1\n\n[tickets-key:sync-c-1]",
            "admin@example.com",
            Some("Alice"),
            "+1",
            Some("sync-c-1"),
        ),
        (
            "crlf body\nline2  \n\n[tickets-key:k-2]",
            "admin@example.com",
            Some("admin@example.com"),
            "crlf body\nline2  ",
            Some("k-2"),
        ),
        (
            "[tickets-key:k-4]\nnot last",
            "bob@example.com",
            Some("bob@example.com"),
            "[tickets-key:k-4]\nnot last",
            None,
        ),
        (
            "see [tickets-key:k-5]",
            "bob@example.com",
            Some("bob@example.com"),
            "see [tickets-key:k-5]",
            None,
        ),
    ] {
        let c = BzComment {
            id: 7,
            count: 1,
            text: text.into(),
            creator: creator.into(),
            is_private: false,
            creation_time: None,
            time: Some(chrono::Utc::now()),
        };
        let got = to_comment(&c, &TicketId::new("35"));
        assert_eq!(
            (
                got.author.as_deref(),
                got.body.as_str(),
                got.idempotency_key.as_deref()
            ),
            (author, body, key),
            "{text:?}"
        );
        assert_eq!(has_key(&c, "k-2"), key == Some("k-2"));
    }
    // The description (comment 0) is never a keyed comment.
    let description = BzComment {
        id: 1,
        count: 0,
        text: "d\n\n[tickets-key:k]".into(),
        creator: String::new(),
        is_private: false,
        creation_time: None,
        time: None,
    };
    assert!(!has_key(&description, "k"));
    // Every stored text reads back as the body given, normalised as Bugzilla stores it.
    for body in [
        "+1",
        "a\r\nb",
        "ends with spaces  ",
        "[tickets] x wrote:\n\nnot me",
    ] {
        let text = stored_comment(Some("Bob"), Some("admin@example.com"), body, Some("k"));
        let c = BzComment {
            text,
            ..description.clone()
        };
        let c = BzComment { count: 3, ..c };
        let got = to_comment(&c, &TicketId::new("35"));
        assert_eq!(got.body, as_stored(body), "{body:?}");
        assert_eq!(got.author.as_deref(), Some("Bob"));
        assert!(has_key(&c, "k"));
    }
}

#[test]
fn real_comment_answers_are_keyed_by_bug_id_string() {
    // vendor-apis.md 2.5: `bugs` keyed by the id as a string, count 0 is the description.
    let answer = json!({"bugs": {"35": {"comments": [
        {"id": 790, "bug_id": 35, "count": 1, "text": "[tickets] Bob wrote:\n\nsecond",
         "creator": "admin@example.com", "author": "admin@example.com",
         "time": "2014-09-29T14:30:00Z", "creation_time": "2014-09-29T14:30:00Z",
         "is_private": true, "attachment_id": null, "tags": []},
        {"id": 789, "bug_id": 35, "count": 0, "text": "It smokes",
         "creator": "admin@example.com", "author": "admin@example.com",
         "time": "2014-09-29T14:20:00Z", "creation_time": "2014-09-29T14:20:00Z",
         "is_private": false, "attachment_id": null}
    ]}}, "comments": {}});
    let list = comments_of(&answer).unwrap();
    assert_eq!(list[0].count, 0, "sorted by count");
    let c = to_comment(&list[1], &TicketId::new("35"));
    assert_eq!(c.author.as_deref(), Some("Bob"));
    assert_eq!(c.body, "second");
    assert!(!c.public);
    assert_eq!(c.id, "790");
}

#[test]
fn aliases_from_keys_fit_bugzilla_rules() {
    let a = alias_for_key("order-42 retry, with spaces and a very long tail that goes on and on");
    assert!(a.len() <= 40, "{a}");
    assert!(!a.contains(',') && !a.contains(' '));
    assert!(!a.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(
        a,
        alias_for_key("order-42 retry, with spaces and a very long tail that goes on and on")
    );
    assert_ne!(alias_for_key("a"), alias_for_key("b"));
}

#[test]
fn search_answers_and_missing_bugs() {
    assert!(bugs(&json!({"bugs": []})).unwrap().is_empty());
    let err = first_bug(&json!({"bugs": [], "faults": []})).unwrap_err();
    assert_eq!(err.kind(), tickets_core::ErrorKind::NotFound);
}

#[test]
fn custom_values_are_written_as_text() {
    assert_eq!(write_custom(&json!(2)), json!("2"));
    assert_eq!(write_custom(&json!("x")), json!("x"));
    assert_eq!(write_custom(&json!(null)), json!(""));
    assert_eq!(write_custom(&json!(["a", "b"])), json!(["a", "b"]));
    assert_eq!(read_custom(&json!("0042"), 10), Some(json!(42)));
    assert_eq!(read_custom(&json!("n/a"), 10), Some(json!("n/a")));
    assert_eq!(read_custom(&json!(""), 1), None);
}

#[test]
fn the_requester_rides_in_comment_zero() {
    let text = description_text(
        Some("carol@example.com"),
        Some("admin@example.com"),
        "Help!",
    );
    assert_eq!(text, "[tickets] carol@example.com reported:\n\nHelp!");
    assert_eq!(
        split_description(&text),
        (Some("carol@example.com".into()), "Help!".into())
    );
    assert_eq!(
        description_text(Some("admin@example.com"), Some("admin@example.com"), "x"),
        "x"
    );
    assert_eq!(description_text(None, None, "x"), "x");
    assert_eq!(split_description("plain"), (None, "plain".into()));
}
