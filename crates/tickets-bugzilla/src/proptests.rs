//! No panic from any input (issue 15): arbitrary bytes and JSON through every parser of a
//! Bugzilla answer, and arbitrary text through the cursor, token and id parsers; only errors.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use serde_json::{Value, json};
use tickets_core::{ChangeToken, Cursor};

use crate::config::default_status_map;
use crate::convert::{self, Bug, PriorityMap, StatusMap, Whiteboard};
use crate::meta::{self, Meta, Transitions};

/// Any JSON value, biased towards the keys Bugzilla answers use.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("bugs".to_owned()),
        Just("comments".to_owned()),
        Just("history".to_owned()),
        Just("fields".to_owned()),
        Just("values".to_owned()),
        Just("changes".to_owned()),
        Just("id".to_owned()),
        Just("name".to_owned()),
        Just("can_change_to".to_owned()),
        Just("status".to_owned()),
        Just("summary".to_owned()),
        Just("creation_time".to_owned()),
        Just("last_change_time".to_owned()),
        Just("when".to_owned()),
        Just("field_name".to_owned()),
        Just("removed".to_owned()),
        Just("added".to_owned()),
        Just("count".to_owned()),
        Just("text".to_owned()),
        Just("sort_key".to_owned()),
        Just("error".to_owned()),
        Just("code".to_owned()),
        "[a-z_]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::from),
        Just(json!("2026-11-28T10:05:12Z")),
        Just(json!("RESOLVED")),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn meta() -> Meta {
    Meta {
        priorities: PriorityMap::from_values(&[], &BTreeMap::new()),
        transitions: crate::meta::tests::workflow(),
        unassigned: "nobody@example.com".into(),
        login: None,
        field_types: HashMap::new(),
    }
}

fn bug() -> Bug {
    serde_json::from_value(json!({
        "id": 1, "summary": "s", "status": "CONFIRMED", "resolution": "",
        "creation_time": "2026-11-28T09:00:00Z", "last_change_time": "2026-11-28T10:00:00Z"
    }))
    .unwrap()
}

/// Every parser of an answer, on one value; each may fail, none may panic.
fn parse_everything(v: &Value) {
    let _ = convert::first_bug(v);
    let _ = convert::bugs(v);
    let _ = convert::comments_of(v);
    let _ = crate::feed::rows_of(v);
    let _ = crate::attachments::records_of(v, &tickets_core::TicketId::new("1"));
    let _ = crate::attachments::content_of(v);
    let _ = convert::descriptions_of(v);
    let _ = Transitions::from_field(v);
    let _ = meta::priority_values(v);
    let statuses = StatusMap::new(default_status_map());
    let _ = crate::search::history_entries(v, &meta(), &statuses, &bug());
    if let Ok(bug) = convert::first_bug(v) {
        let m = meta();
        let custom = BTreeMap::new();
        let mapping = convert::Mapping {
            kind: "bugzilla",
            statuses: &statuses,
            priorities: &m.priorities,
            unassigned: &m.unassigned,
            show_url: "http://h/show_bug.cgi?id=".into(),
            custom: &custom,
            field_types: &m.field_types,
        };
        let _ = convert::to_ticket(&bug, String::new(), &mapping);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_json_answer_is_parsed_or_refused(v in json_value()) {
        parse_everything(&v);
        // The same value under the keys the parsers look for.
        parse_everything(&json!({"bugs": [v.clone()]}));
        parse_everything(&json!({"bugs": {"1": {"comments": v.clone()}}}));
        parse_everything(&json!({"bugs": [{"history": v.clone()}]}));
        parse_everything(&json!({"fields": [{"values": v.clone()}]}));
        parse_everything(&json!({"attachments": {"1": v.clone()}, "bugs": {"1": [v]}}));
    }

    #[test]
    fn any_bytes_with_any_status_are_an_answer_or_an_error(
        status in 100u16..600,
        bytes in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let _ = crate::client::answer(status, None, &bytes, "GET /bug", "key-key");
    }

    #[test]
    fn any_envelope_is_an_error(code in any::<i64>(), status in 100u16..600, msg in ".{0,40}") {
        let body = json!({"error": true, "code": code, "message": msg}).to_string();
        prop_assert!(crate::client::answer(status, None, body.as_bytes(), "GET /bug", "k").is_err());
    }

    #[test]
    fn any_cursor_is_an_offset_or_invalid_input(text in ".{0,30}", n in any::<u64>(), size in any::<u32>()) {
        for c in [text, n.to_string()] {
            if let Err(e) = crate::provider::parse_cursor(Some(&Cursor::new(c))) {
                prop_assert_eq!(e.kind(), tickets_core::ErrorKind::InvalidInput);
            }
        }
        let _ = crate::provider::next_cursor(n, size);
    }

    #[test]
    fn any_change_token_is_a_position_or_a_resync(text in ".{0,60}", n in any::<i64>()) {
        for t in [text.clone(), format!("bz1;{text};1,2"), format!("bz1;2026-11-28T10:00:00Z;{text}"), format!("bz1;{n};")] {
            if let Some(p) = crate::feed::Position::parse(&ChangeToken::new(t)) {
                // A parsed position renders back into a token that parses.
                prop_assert!(crate::feed::Position::parse(&p.token()).is_some());
            }
        }
    }

    #[test]
    fn any_text_is_a_whiteboard_description_comment_or_alias(text in ".{0,80}") {
        let wb = Whiteboard::parse(&text);
        let _ = wb.render();
        let _ = convert::split_description(&text);
        let _ = convert::split_comment(&text, "admin@example.com");
        let alias = convert::alias_for_key(&text);
        prop_assert!(alias.len() <= 40);
        let _ = crate::client::segment(&text);
        let _ = convert::check_tag(&text);
        let _ = crate::attachments::split_summary(&text);
    }
}

#[test]
fn a_forged_cursor_cannot_overflow_the_next_page() {
    let max = Cursor::new(u64::MAX.to_string());
    assert!(crate::provider::parse_cursor(Some(&max)).is_err());
    assert!(crate::provider::next_cursor(u64::MAX, 200).is_err());
    assert_eq!(
        crate::provider::next_cursor(100, 50).unwrap().as_str(),
        "150"
    );
}
