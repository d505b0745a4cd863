//! What the provider learns from the server once: legal priorities, the status workflow
//! (`can_change_to`), the component's default assignee ("nobody"), and the API user.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::Value;
use tickets_core::{Error, ErrorKind, Priority, Result};

use crate::client::{Client, segment};
use crate::config::{ApiKeyIn, BugzillaConfig};
use crate::convert::{self, PriorityMap};

/// The server's workflow: which status may follow which.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transitions {
    /// `from` -> statuses it may change to.
    pub next: HashMap<String, Vec<String>>,
    /// Statuses a new bug may be filed with.
    pub initial: Vec<String>,
    /// `is_open` of each status, as the server says.
    pub open: HashMap<String, bool>,
    /// Moves `(from, to)` an admin made comment-required (a `PUT` without a comment is
    /// refused with code 32000).
    pub comment_required: HashSet<(String, String)>,
}

impl Transitions {
    /// From a `GET /rest/field/bug/bug_status` answer: the value with a null or empty name lists
    /// the initial statuses.
    pub fn from_field(answer: &Value) -> Result<Self> {
        let values = answer
            .pointer("/fields/0/values")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::unexpected("bug_status field answer without values"))?;
        let mut t = Transitions::default();
        for v in values {
            let from = v.get("name").and_then(Value::as_str).unwrap_or_default();
            let mut to = Vec::new();
            for x in v
                .get("can_change_to")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(name) = x.get("name").and_then(Value::as_str) else {
                    continue;
                };
                if x.get("comment_required").and_then(Value::as_bool) == Some(true) {
                    t.comment_required
                        .insert((from.to_owned(), name.to_owned()));
                }
                to.push(name.to_owned());
            }
            match v.get("name").and_then(Value::as_str) {
                None | Some("") => t.initial = to,
                Some(name) => {
                    if let Some(open) = v.get("is_open").and_then(Value::as_bool) {
                        t.open.insert(name.to_owned(), open);
                    }
                    t.next.insert(name.to_owned(), to);
                }
            }
        }
        Ok(t)
    }

    /// The server's spelling of a status name (Bugzilla matches names case-insensitively);
    /// the name itself when the server does not list it.
    pub fn canonical(&self, status: &str) -> String {
        self.next
            .keys()
            .chain(self.initial.iter())
            .find(|k| k.eq_ignore_ascii_case(status.trim()))
            .cloned()
            .unwrap_or_else(|| status.trim().to_owned())
    }

    /// Whether a status is open: the server's `is_open`, else a guess from the 5.x names.
    pub fn is_open(&self, status: &str) -> bool {
        self.open
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(status))
            .map_or_else(|| convert::guess_open(status), |(_, open)| *open)
    }

    /// The shortest chain of statuses leading from `from` to `to` (without `from`), or `None`.
    pub fn path(&self, from: &str, to: &str) -> Option<Vec<String>> {
        if from == to {
            return Some(Vec::new());
        }
        let mut prev: HashMap<&str, &str> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(at) = queue.pop_front() {
            // On ties, avoid passing through UNCONFIRMED (it would un-confirm the bug).
            let mut nexts: Vec<&String> = self.next.get(at).into_iter().flatten().collect();
            nexts.sort_by_key(|s| *s == "UNCONFIRMED");
            for next in nexts {
                if next == from || prev.contains_key(next.as_str()) {
                    continue;
                }
                prev.insert(next, at);
                if next == to {
                    let mut chain = vec![to.to_owned()];
                    let mut cur = to;
                    while let Some(p) = prev.get(cur).copied() {
                        if p == from {
                            break;
                        }
                        chain.push(p.to_owned());
                        cur = p;
                    }
                    chain.reverse();
                    return Some(chain);
                }
                queue.push_back(next);
            }
        }
        None
    }
}

/// Everything discovered.
#[derive(Debug, Clone)]
pub struct Meta {
    pub priorities: PriorityMap,
    pub transitions: Transitions,
    pub unassigned: String,
    pub login: Option<String>,
    /// Type of each mapped custom field (`/rest/field/bug` `type`: 1 text, 10 integer, ...).
    pub field_types: HashMap<String, u64>,
}

/// Legal priority values in order, from a `GET /rest/field/bug/priority` answer.
pub fn priority_values(answer: &Value) -> Vec<String> {
    let mut values: Vec<(i64, usize, String)> = answer
        .pointer("/fields/0/values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, v)| v.get("is_active").and_then(Value::as_bool) != Some(false))
        .filter_map(|(i, v)| {
            let name = v.get("name").and_then(Value::as_str)?.to_owned();
            let key = v.get("sort_key").and_then(Value::as_i64).unwrap_or(0);
            Some((key, i, name))
        })
        .collect();
    values.sort();
    values.into_iter().map(|(_, _, n)| n).collect()
}

/// Asks the server.
pub async fn discover(client: &Client, cfg: &BugzillaConfig) -> Result<Meta> {
    let priorities = if Priority::ALL
        .iter()
        .all(|p| cfg.priority_map.contains_key(p))
    {
        PriorityMap::from_values(&[], &cfg.priority_map)
    } else {
        let answer = client.get("/field/bug/priority", &[]).await?;
        PriorityMap::from_values(&priority_values(&answer), &cfg.priority_map)
    };
    let transitions = Transitions::from_field(&client.get("/field/bug/bug_status", &[]).await?)?;
    let unassigned = match &cfg.unassigned {
        Some(u) => u.clone(),
        None => {
            let answer = client
                .get(&format!("/product/{}", segment(&cfg.product)), &[])
                .await?;
            let product = answer.pointer("/products/0").ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "product {:?} does not exist or the API user cannot see it; check the product key",
                        cfg.product
                    ),
                )
            })?;
            product
                .get("components")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(cfg.component.as_str()))
                .and_then(|c| c.get("default_assigned_to").and_then(Value::as_str))
                .map(str::to_owned)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Config,
                        format!(
                            "component {:?} is not in product {:?}; check the component key",
                            cfg.component, cfg.product
                        ),
                    )
                })?
        }
    };
    let mut login = cfg.login.clone();
    if login.is_none() && cfg.api_key_in == ApiKeyIn::Header {
        // `whoami` exists on BMO and master only.
        login = client
            .get("/whoami", &[])
            .await
            .ok()
            .and_then(|v| v.get("name").and_then(Value::as_str).map(str::to_owned));
    }
    let mut field_types = HashMap::new();
    if !cfg.custom_fields.is_empty() {
        let names: Vec<(&str, String)> = cfg
            .custom_fields
            .values()
            .map(|f| ("names", f.clone()))
            .collect();
        let answer = client.get("/field/bug", &names).await?;
        for f in answer
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(name), Some(kind)) = (
                f.get("name").and_then(Value::as_str),
                f.get("type").and_then(Value::as_u64),
            ) {
                field_types.insert(name.to_owned(), kind);
            }
        }
        if let Some(missing) = cfg
            .custom_fields
            .values()
            .find(|f| !field_types.contains_key(*f))
        {
            return Err(Error::new(
                ErrorKind::Config,
                format!("custom field {missing} does not exist on the server; check custom_fields"),
            ));
        }
    }
    Ok(Meta {
        priorities,
        field_types,
        transitions,
        unassigned,
        login,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn workflow() -> Transitions {
        // The shape of `GET /rest/field/bug/bug_status` on 5.x (default workflow).
        let answer = json!({"fields": [{"name": "bug_status", "values": [
            {"name": null, "sort_key": 0, "is_open": null, "can_change_to": [
                {"name": "UNCONFIRMED", "comment_required": false},
                {"name": "CONFIRMED", "comment_required": false},
                {"name": "IN_PROGRESS", "comment_required": false}]},
            {"name": "UNCONFIRMED", "is_open": true, "can_change_to": [
                {"name": "CONFIRMED"}, {"name": "IN_PROGRESS"}, {"name": "RESOLVED"}]},
            {"name": "CONFIRMED", "is_open": true, "can_change_to": [
                {"name": "IN_PROGRESS"}, {"name": "RESOLVED"}]},
            {"name": "IN_PROGRESS", "is_open": true, "can_change_to": [
                {"name": "CONFIRMED"}, {"name": "RESOLVED"}]},
            {"name": "RESOLVED", "is_open": false, "can_change_to": [
                {"name": "UNCONFIRMED"}, {"name": "CONFIRMED"}, {"name": "VERIFIED"}]},
            {"name": "VERIFIED", "is_open": false, "can_change_to": [
                {"name": "UNCONFIRMED"}, {"name": "CONFIRMED"}]}
        ]}]});
        Transitions::from_field(&answer).unwrap()
    }

    #[test]
    fn paths_through_the_default_workflow() {
        let t = workflow();
        assert_eq!(t.initial, ["UNCONFIRMED", "CONFIRMED", "IN_PROGRESS"]);
        assert_eq!(t.path("CONFIRMED", "RESOLVED").unwrap(), ["RESOLVED"]);
        assert_eq!(
            t.path("CONFIRMED", "VERIFIED").unwrap(),
            ["RESOLVED", "VERIFIED"]
        );
        assert_eq!(
            t.path("VERIFIED", "IN_PROGRESS").unwrap(),
            ["CONFIRMED", "IN_PROGRESS"]
        );
        assert_eq!(
            t.path("RESOLVED", "RESOLVED").unwrap(),
            Vec::<String>::new()
        );
        assert!(t.path("CONFIRMED", "REOPENED").is_none());
    }

    #[test]
    fn priority_values_in_sort_order() {
        let answer = json!({"fields": [{"name": "priority", "values": [
            {"name": "High", "sort_key": 200}, {"name": "Highest", "sort_key": 100},
            {"name": "Normal", "sort_key": 300}, {"name": "Low", "sort_key": 400},
            {"name": "Lowest", "sort_key": 500}, {"name": "---", "sort_key": 600},
            {"name": "Old", "sort_key": 700, "is_active": false}]}]});
        assert_eq!(
            priority_values(&answer),
            ["Highest", "High", "Normal", "Low", "Lowest", "---"]
        );
    }
}
