//! No panic from any input (issue 15): every parser of Salesforce answers (Case records,
//! query pages, CaseComment bodies, the replication feeds, token answers, error bodies,
//! composite answers, the `Sforce-Limit-Info` header) and of ids and cursors takes arbitrary text or JSON and answers
//! a value or an error.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{Map, Value};
use tickets_core::{ChangeToken, TicketId};

use crate::client::{next_records_url, parse_limit_info, parse_query_page, parse_token};
use crate::convert::{PriorityMap, ReadContext, StatusMap, case_to_ticket, decode_keyed};
use crate::error::{api_error, parse_errors};
use crate::feed::{Deleted, Updated, parse_sf_time, read};
use crate::provider::case_id;
use crate::users::is_id_with_prefix;

/// Any JSON value, a few levels deep, with the keys Salesforce answers in it often enough to
/// reach the code behind them.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("Id".to_owned()),
        Just("CreatedDate".to_owned()),
        Just("LastModifiedDate".to_owned()),
        Just("Status".to_owned()),
        Just("OwnerId".to_owned()),
        Just("records".to_owned()),
        Just("done".to_owned()),
        Just("nextRecordsUrl".to_owned()),
        Just("ids".to_owned()),
        Just("deletedRecords".to_owned()),
        Just("latestDateCovered".to_owned()),
        Just("access_token".to_owned()),
        Just("instance_url".to_owned()),
        Just("errorCode".to_owned()),
        Just("compositeResponse".to_owned()),
        Just("httpStatusCode".to_owned()),
        Just("body".to_owned()),
        ".{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,24}".prop_map(Value::from),
        Just(Value::from("2024-01-15T10:20:30.000+0000")),
        Just(Value::from("/services/data/v62.0/query/01g-2")),
    ];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn read_case(rec: &Map<String, Value>) {
    let statuses = StatusMap::new(&BTreeMap::new(), Some("Close_Reason__c".into())).unwrap();
    let priorities = PriorityMap::new(&BTreeMap::new()).unwrap();
    let custom: BTreeMap<String, String> = [("n".to_owned(), "Severity__c".to_owned())].into();
    let emails = HashMap::new();
    let cx = ReadContext {
        statuses: &statuses,
        priorities: &priorities,
        tags_field: Some("Tags__c"),
        due_field: Some("Due_Date__c"),
        custom_fields: &custom,
        unassigned_owner: "005000000000000AAA",
        emails: &emails,
        instance_url: "https://x.my.salesforce.com",
    };
    let _ = case_to_ticket(rec, &cx);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn case_records_and_query_pages(v in json()) {
        if let Value::Object(rec) = &v {
            read_case(rec);
        }
        if let Ok(mut page) = parse_query_page(v.clone()) {
            for rec in &page.records {
                read_case(rec);
            }
            if let Ok(Some(next)) = next_records_url(&mut page) {
                prop_assert!(next.starts_with("/services/data/"));
            }
        }
        if let Ok(answers) = crate::composite::parse_composite(v.clone()) {
            let _ = crate::composite::failure(&answers);
        }
        let _ = read::<Updated>("Case/updated", v.clone());
        let _ = read::<Deleted>("Case/deleted", v.clone());
        let text = v.to_string();
        let _ = parse_token(&text);
        let _ = parse_errors(&text);
    }

    #[test]
    fn any_text_answer(text in ".{0,200}", status in 100u16..600) {
        let _ = parse_token(&text);
        let _ = parse_errors(&text);
        let _ = parse_sf_time(&text);
        let _ = decode_keyed(&text);
        let _ = parse_limit_info(&text);
        if let Ok(status) = StatusCode::from_u16(status) {
            let e = api_error(status, &text, None);
            prop_assert!(!e.to_string().is_empty());
        }
        let _ = crate::feed::parse_token(&ChangeToken::new(text.clone()));
    }

    #[test]
    fn any_bytes_answer(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_errors(&text);
        let _ = parse_token(&text);
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            let _ = parse_query_page(v);
        }
    }

    #[test]
    fn limit_info_headers(used in any::<u64>(), max in any::<u64>(), junk in "[ -~]{0,20}") {
        prop_assert_eq!(parse_limit_info(&format!("api-usage={used}/{max}")), Some((used, max)));
        prop_assert_eq!(
            parse_limit_info(&format!("per-app-api-usage=1/2(appName=x), api-usage={used}/{max}")),
            Some((used, max))
        );
        let _ = parse_limit_info(&format!("api-usage={junk}"));
        let _ = parse_limit_info(&junk);
    }

    #[test]
    fn ids_and_cursors(id in "[0-9A-Za-z'\\\\ %]{0,20}") {
        let ok = case_id(&TicketId::new(id.clone())).is_ok();
        prop_assert_eq!(ok, is_id_with_prefix(&id, &["500"]));
        if ok {
            prop_assert!(matches!(id.len(), 15 | 18));
            prop_assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }
}
