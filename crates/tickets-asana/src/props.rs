//! Property tests: no Asana answer, however malformed, and no cursor or id makes the crate
//! panic; they parse, or they are errors (issue 15).

use proptest::prelude::*;
use serde_json::{Map, Value};
use tickets_core::{ChangeToken, Cursor, TicketId};

use crate::AsanaConfig;
use crate::client::decode;
use crate::config::is_gid;
use crate::convert::comment;
use crate::feed::{Event, fold};
use crate::provider::{AsanaProvider, task_gid};
use crate::types::{Named, StoryRecord, TaskRecord};

/// Keys Asana's records use, so generated objects often parse and reach the conversions.
const KEYS: &[&str] = &[
    "gid",
    "name",
    "notes",
    "completed",
    "created_at",
    "modified_at",
    "due_on",
    "assignee",
    "email",
    "memberships",
    "project",
    "section",
    "tags",
    "custom_fields",
    "resource_subtype",
    "type",
    "text_value",
    "number_value",
    "enum_value",
    "display_value",
    "permalink_url",
    "created_by",
    "text",
    "new_section",
    "old_section",
    "tag",
    "custom_field",
    "old_name",
    "new_name",
    "old_text_value",
    "new_text_value",
    "old_number_value",
    "new_number_value",
    "old_enum_value",
    "new_enum_value",
    "old_dates",
    "new_dates",
    "action",
    "resource",
    "parent",
    "resource_type",
    "data",
    "next_page",
    "offset",
    "sync",
    "has_more",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("2026-01-02T03:04:05.678Z".to_owned()),
            Just("2026-02-30".to_owned()),
            Just("1209000000000001".to_owned()),
            Just("comment_added".to_owned()),
            Just("section_changed".to_owned()),
            Just("task".to_owned()),
            Just("[tickets-key:k]\n".to_owned()),
            ".{0,24}",
        ]
        .prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                let mut m = Map::new();
                for (k, v) in kv {
                    m.insert(k.to_owned(), v);
                }
                Value::Object(m)
            }),
        ]
    })
}

fn provider() -> AsanaProvider {
    AsanaProvider::new(AsanaConfig::new("t", "1")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn task_answers_parse_or_fail_and_convert(v in json()) {
        let p = provider();
        let bytes = serde_json::to_vec(&serde_json::json!({"data": v})).unwrap();
        if let Ok(env) = decode::<TaskRecord>("/tasks/1", reqwest::StatusCode::OK, &bytes) {
            let _ = p.inner.map.in_project(&env.data);
            let _ = p.inner.map.ticket(env.data);
        }
        if let Ok(t) = serde_json::from_value::<TaskRecord>(v) {
            let _ = p.inner.map.ticket(t);
        }
    }

    #[test]
    fn story_answers_parse_or_fail_and_convert(task in json(), stories in json()) {
        let p = provider();
        let stories = serde_json::json!({"data": stories, "next_page": null});
        let bytes = serde_json::to_vec(&stories).unwrap();
        let parsed = decode::<Vec<StoryRecord>>("/tasks/1/stories", reqwest::StatusCode::OK, &bytes);
        if let Ok(env) = parsed {
            for s in &env.data {
                let _ = comment(&TicketId::new("1"), s, Some("2"));
            }
            if let Ok(t) = serde_json::from_value::<TaskRecord>(task) {
                let _ = p.inner.map.history(&t, &env.data);
            }
        }
    }

    #[test]
    fn section_and_page_answers_parse_or_fail(v in json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        let _ = decode::<Vec<Named>>("/projects/1/sections", reqwest::StatusCode::OK, &bytes);
        let _ = decode::<Named>("/sections/1", reqwest::StatusCode::OK, &bytes);
    }

    #[test]
    fn event_answers_parse_or_fail_and_fold(v in json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        if let Ok(env) = decode::<Vec<Event>>("/events", reqwest::StatusCode::OK, &bytes) {
            let _ = fold(&env.data, "1", ChangeToken::new("s"));
        }
    }

    #[test]
    fn arbitrary_bytes_are_errors_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode::<TaskRecord>("/tasks/1", reqwest::StatusCode::OK, &bytes);
        let _ = decode::<Vec<Event>>("/events", reqwest::StatusCode::OK, &bytes);
        let _ = crate::error::from_status(400, &bytes, None);
    }

    #[test]
    fn cursors_and_ids_parse_or_are_errors(text in ".{0,64}") {
        let _ = AsanaProvider::parse_cursor(&Cursor::new(text.clone()));
        let _ = AsanaProvider::parse_cursor(&Cursor::new(format!("a1.{text}")));
        let id = TicketId::new(text.clone());
        prop_assert_eq!(task_gid(&id).is_ok(), is_gid(&text));
    }
}
