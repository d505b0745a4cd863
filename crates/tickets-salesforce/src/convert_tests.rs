//! Mapping tests on Salesforce's JSON shapes (vendor-apis.md 3.4, 3.5).

use super::*;
use serde_json::json;

fn statuses(reason: bool) -> StatusMap {
    StatusMap::new(
        &BTreeMap::new(),
        reason.then(|| "Close_Reason__c".to_owned()),
    )
    .unwrap()
}

#[test]
fn default_status_map_round_trips_only_what_it_can() {
    let m = statuses(false);
    assert_eq!(
        m.round_trip(),
        [
            Status::New,
            Status::InProgress,
            Status::Escalated,
            Status::Closed
        ]
    );
    assert_eq!(m.read("Closed", true, false, None), Status::Closed);
    assert_eq!(m.read("Working", false, true, None), Status::Escalated);
    assert_eq!(
        m.read("Waiting on Customer", false, false, None),
        Status::InProgress
    );
    assert_eq!(
        m.read("Solved Elsewhere", true, false, None),
        Status::Closed
    );
    let mut body = Map::new();
    m.write(Status::Escalated, &mut body);
    assert_eq!(
        Value::Object(body),
        json!({"Status": "Escalated", "IsEscalated": true})
    );
}

#[test]
fn reason_field_tells_closed_statuses_apart() {
    let m = statuses(true);
    assert_eq!(
        m.round_trip(),
        [
            Status::New,
            Status::InProgress,
            Status::Escalated,
            Status::Resolved,
            Status::Closed,
            Status::Cancelled
        ]
    );
    let mut body = Map::new();
    m.write(Status::Cancelled, &mut body);
    assert_eq!(body["Status"], "Closed");
    assert_eq!(body["Close_Reason__c"], "Cancelled");
    m.write(Status::New, &mut body);
    assert_eq!(body["Close_Reason__c"], Value::Null);
}

#[test]
fn overrides_extend_what_round_trips() {
    let o = BTreeMap::from([("on_hold".to_owned(), "On Hold".to_owned())]);
    let m = StatusMap::new(&o, None).unwrap();
    assert!(m.round_trip().contains(&Status::OnHold));
    assert!(StatusMap::new(&BTreeMap::from([("nope".into(), "x".into())]), None).is_err());
    let p = PriorityMap::new(&BTreeMap::from([(
        "critical".to_owned(),
        "Critical".to_owned(),
    )]))
    .unwrap();
    assert_eq!(
        p.round_trip(),
        [
            Priority::Critical,
            Priority::High,
            Priority::Medium,
            Priority::Low
        ]
    );
}

#[test]
fn default_priorities() {
    let p = PriorityMap::new(&BTreeMap::new()).unwrap();
    assert_eq!(p.label(Priority::Critical), "High");
    assert_eq!(p.label(Priority::Info), "Low");
    assert_eq!(p.read(Some("High")), Priority::High);
    assert_eq!(p.read(None), Priority::Medium);
    assert_eq!(
        p.round_trip(),
        [Priority::High, Priority::Medium, Priority::Low]
    );
}

#[test]
fn soql_escaping() {
    assert_eq!(soql_quote(r"O'Brien \ AND 1=1"), r"'O\'Brien \\ AND 1=1'");
    assert_eq!(soql_quote("a\"b\nc\td"), r#"'a\"b\nc\td'"#);
    assert_eq!(soql_like("%", "50%_off", "%"), r"'%50\%\_off%'");
    assert_eq!(soql_like("%;", "x'y", ""), r"'%;x\'y'");
    let at = DateTime::parse_from_rfc3339("2024-01-15T10:20:30.123Z")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(soql_datetime(at), "2024-01-15T10:20:30Z");
}

#[test]
fn comment_authors_round_trip() {
    for (author, body) in [
        (Some("Alice Example"), "hello"),
        (Some("a]b"), "multi\nline ]\n body"),
        (None, "plain"),
        (None, "[from: not an author]\nbody"),
        (Some("x"), ""),
    ] {
        let text = encode_comment(author, body);
        assert_eq!(
            decode_comment(&text),
            (author.map(str::to_owned), body.to_owned()),
            "{text:?}"
        );
    }
    assert!(encode_comment(Some("Alice"), "hi").starts_with("[from: Alice]"));
}

#[test]
fn keyed_comments_carry_the_marker_after_the_author_line_and_body() {
    assert_eq!(
        encode_keyed(Some("Alice"), "+1", Some("sync-c-1")),
        "[from: Alice]\n+1\n\n[tickets-key:sync-c-1]"
    );
    assert_eq!(encode_keyed(None, "+1", None), "+1");
    for (author, body) in [
        (Some("Alice Example"), "+1"),
        (Some("a]b"), "multi\nline ]\n body"),
        (None, "plain"),
        (None, "[from: not an author]\nbody"),
        (None, "[tickets-key:looks-like] a marker\nbut is not last"),
        (Some("x"), "see [tickets-key:y]"),
    ] {
        let text = encode_keyed(author, body, Some("k-9"));
        assert_eq!(
            decode_keyed(&text),
            (
                author.map(str::to_owned),
                body.to_owned(),
                Some("k-9".into())
            ),
            "{text:?}"
        );
        assert_eq!(
            decode_keyed(&encode_keyed(author, body, None)),
            (author.map(str::to_owned), body.to_owned(), None),
            "{body:?} without a key"
        );
    }
    // A body written in Salesforce's UI: no author line, no key.
    assert_eq!(
        decode_keyed("Called the customer\r\n"),
        (None, "Called the customer\r\n".to_owned(), None)
    );
}

#[test]
fn case_record_to_ticket() {
    // The shape of GET /sobjects/Case/{id} (vendor-apis.md 3.4).
    let rec = json!({
        "attributes": {"type": "Case", "url": "/services/data/v62.0/sobjects/Case/500Dn000000ABCDIA2"},
        "Id": "500Dn000000ABCDIA2", "CaseNumber": "00001026", "Subject": "Printer on fire",
        "Description": null, "Status": "Working", "Priority": "High", "Type": "Electrical",
        "OwnerId": "005Dn000000USERIA2", "SuppliedEmail": "carol@example.com",
        "IsClosed": false, "IsEscalated": false, "Tags__c": "b;a", "Due_Date__c": "2031-05-17",
        "Severity__c": 2.0, "CreatedDate": "2024-01-15T10:20:30.000+0000",
        "LastModifiedDate": "2024-01-16T08:00:00.000+0000"
    });
    let statuses = statuses(false);
    let priorities = PriorityMap::new(&BTreeMap::new()).unwrap();
    let custom = BTreeMap::from([("severity".to_owned(), "Severity__c".to_owned())]);
    let emails = std::collections::HashMap::from([(
        "005Dn000000USERIA2".to_owned(),
        "alice@example.com".to_owned(),
    )]);
    let cx = ReadContext {
        statuses: &statuses,
        priorities: &priorities,
        tags_field: Some("Tags__c"),
        due_field: Some("Due_Date__c"),
        custom_fields: &custom,
        unassigned_owner: "005Dn000000APIUIA2",
        emails: &emails,
        instance_url: "https://acme.my.salesforce.com",
    };
    let t = case_to_ticket(rec.as_object().unwrap(), &cx).unwrap();
    assert_eq!(t.number.as_deref(), Some("00001026"));
    assert_eq!(t.status, Status::InProgress);
    assert_eq!(t.priority, Priority::High);
    assert_eq!(t.assignee.as_deref(), Some("alice@example.com"));
    assert_eq!(t.tags, ["a", "b"]);
    assert_eq!(t.kind.as_deref(), Some("Electrical"));
    assert_eq!(t.custom_fields["severity"], json!(2));
    assert_eq!(t.due, NaiveDate::from_ymd_opt(2031, 5, 17));
    assert_eq!(t.description, "");
    assert_eq!(
        t.url.as_deref(),
        Some("https://acme.my.salesforce.com/lightning/r/Case/500Dn000000ABCDIA2/view")
    );
    assert!(t.updated_at > t.created_at);
}
