//! Answering parent-to-child subqueries.

use serde_json::{Map, Value};

use super::super::state::{Org, with_attributes};
use super::{Query, matches, sort};

/// The child sets of `record` for the subqueries of `q`, as the REST API answers them.
pub fn children(
    org: &Org,
    q: &Query,
    record: &Map<String, Value>,
    version: &str,
) -> Vec<(String, Value)> {
    let id = record.get("Id").and_then(Value::as_str).unwrap_or("");
    q.children
        .iter()
        .map(|c| {
            let mut rows: Vec<Map<String, Value>> = org
                .table(c.query.object)
                .filter(|r| r.get(c.parent_field).and_then(Value::as_str) == Some(id))
                .filter(|r| {
                    c.query
                        .filter
                        .as_ref()
                        .is_none_or(|f| matches(org, c.query.object, r, f))
                })
                .cloned()
                .collect();
            sort(org, &c.query, &mut rows);
            let records: Vec<Value> = rows
                .iter()
                .skip(c.query.offset)
                .take(c.query.limit.unwrap_or(usize::MAX))
                .map(|r| with_attributes(c.query.object, version, r, Some(&c.query.fields)))
                .collect();
            let value = if records.is_empty() {
                Value::Null
            } else {
                serde_json::json!({"totalSize": records.len(), "done": true, "records": records})
            };
            (c.relationship.to_owned(), value)
        })
        .collect()
}
