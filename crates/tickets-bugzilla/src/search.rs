//! List queries -> Bugzilla search parameters (what runs server-side), the client-side rest,
//! and `history` answers -> history entries.
//!
//! Server-side: product and component (always), `status` (the Bugzilla statuses the wanted
//! canonical ones live in), `assigned_to`, the first tag (`whiteboard`
//! substring `[tag]`), `text` (boolean chart: summary or any comment contains it),
//! `last_change_time` (at or after, whole seconds), `order=bug_id`, `limit`/`offset`.
//! Client-side, on each page: the exact canonical status (markers, resolutions), the requester
//! (kept in comment 0), further tags, and `text` against subject and description only.

use serde_json::Value;
use tickets_core::{HistoryEntry, Result, Status, Ticket, TicketQuery};

use crate::config::BugzillaConfig;
use crate::convert::{Bug, StatusMap, Whiteboard};
use crate::meta::Meta;

/// The query string of one page.
pub fn params(
    cfg: &BugzillaConfig,
    statuses: &StatusMap,
    q: &TicketQuery,
    limit: u32,
    offset: u64,
) -> Vec<(&'static str, String)> {
    let mut p: Vec<(&'static str, String)> = vec![
        ("product", cfg.product.clone()),
        ("component", cfg.component.clone()),
    ];
    let mut bz_statuses: Vec<String> = q
        .status
        .iter()
        .flat_map(|s| {
            let mut all = vec![statuses.target(*s).status.clone()];
            all.extend(also_reads_as(*s).iter().map(|x| (*x).to_owned()));
            all
        })
        .collect();
    bz_statuses.sort();
    bz_statuses.dedup();
    p.extend(bz_statuses.into_iter().map(|s| ("status", s)));
    if let Some(a) = &q.assignee {
        p.push(("assigned_to", a.clone()));
    }
    if let Some(tag) = q.tags.first() {
        p.push(("whiteboard", format!("[{}]", tag.trim())));
    }
    // Boolean charts, ANDed at the top; each OR goes in an `OP`/`CP` group (checked on a real
    // 5.0.6), so the filters below combine.
    let mut n = 0;
    let mut chart = |p: &mut Vec<(&'static str, String)>, f: &str, o: &str, v: String| {
        n += 1;
        let (fk, ok, vk) = chart_keys(n);
        p.push((fk, f.to_owned()));
        if !o.is_empty() {
            p.push((ok, o.to_owned()));
            p.push((vk, v));
        }
        n
    };
    let mut or_group = |p: &mut Vec<(&'static str, String)>, items: Vec<(&str, &str, String)>| {
        let open = chart(p, "OP", "", String::new());
        p.push((join_key(open), "OR".to_owned()));
        for (f, o, v) in items {
            chart(p, f, o, v);
        }
        chart(p, "CP", "", String::new());
    };
    if let Some(text) = &q.text {
        or_group(
            &mut p,
            vec![
                ("short_desc", "substring", text.clone()),
                ("longdesc", "substring", text.clone()),
            ],
        );
    }
    // Statuses told apart by a whiteboard marker (triaged, on hold, escalated): when every
    // wanted status has one, the server keeps only bugs carrying one of them.
    let markers: Vec<String> = q
        .status
        .iter()
        .map(|s| statuses.target(*s).marker.clone())
        .collect::<Option<Vec<String>>>()
        .unwrap_or_default();
    if !markers.is_empty() {
        or_group(
            &mut p,
            markers
                .iter()
                .map(|m| {
                    let token = m.trim().trim_start_matches('[').trim_end_matches(']');
                    ("status_whiteboard", "substring", format!("[{token}]"))
                })
                .collect(),
        );
    }
    // The requester: the reporter, or the `[tickets] X reported:` line of comment 0 (any
    // comment containing it, narrowed exactly on the page).
    if let Some(r) = &q.requester {
        or_group(
            &mut p,
            vec![
                ("reporter", "equals", r.trim().to_owned()),
                (
                    "longdesc",
                    "substring",
                    format!("[tickets] {} reported:", r.trim()),
                ),
            ],
        );
    }
    if let Some(since) = q.updated_since {
        p.push((
            "last_change_time",
            since.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ));
    }
    p.push(("order", "bug_id".into()));
    p.push(("limit", limit.to_string()));
    p.push(("offset", offset.to_string()));
    p
}

/// The keys of boolean chart `n` (`f1`, `o1`, `v1`, ...), as static strings.
fn chart_keys(n: usize) -> (&'static str, &'static str, &'static str) {
    const F: [&str; 12] = [
        "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12",
    ];
    const O: [&str; 12] = [
        "o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8", "o9", "o10", "o11", "o12",
    ];
    const V: [&str; 12] = [
        "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
    ];
    let i = n.clamp(1, 12) - 1;
    (F[i], O[i], V[i])
}

/// The join key of chart `n` (`j1`, ...).
fn join_key(n: usize) -> &'static str {
    const J: [&str; 12] = [
        "j1", "j2", "j3", "j4", "j5", "j6", "j7", "j8", "j9", "j10", "j11", "j12",
    ];
    J[n.clamp(1, 12) - 1]
}

/// Bugzilla statuses that read as `s` without being its target (see `StatusMap::read`):
/// bugs filed or moved by people in the Bugzilla UI, and pre-4.0 workflows.
fn also_reads_as(s: Status) -> &'static [&'static str] {
    match s {
        Status::New => &["UNCONFIRMED", "CONFIRMED", "NEW", "REOPENED"],
        Status::InProgress => &["IN_PROGRESS", "ASSIGNED"],
        Status::Resolved => &["RESOLVED"],
        Status::Closed => &["VERIFIED", "CLOSED"],
        Status::Cancelled => &["RESOLVED", "VERIFIED", "CLOSED"],
        _ => &[],
    }
}

/// The filters Bugzilla cannot apply exactly. `updated_since` is left to the server on purpose:
/// it keeps whole seconds, so a finer check here would drop bugs changed in that second.
pub fn client_side_match(q: &TicketQuery, t: &Ticket) -> bool {
    if !q.status.is_empty() && !q.status.contains(&t.status) {
        return false;
    }
    if let Some(a) = &q.assignee
        && !t
            .assignee
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(a))
    {
        return false;
    }
    if let Some(r) = &q.requester
        && !t
            .requester
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(r))
    {
        return false;
    }
    if !q
        .tags
        .iter()
        .all(|tag| t.tags.iter().any(|x| x == tag.trim()))
    {
        return false;
    }
    if let Some(text) = &q.text {
        let needle = text.to_lowercase();
        if !t.subject.to_lowercase().contains(&needle)
            && !t.description.to_lowercase().contains(&needle)
        {
            return false;
        }
    }
    true
}

/// The fields a canonical status is read from (status, resolution, whiteboard markers).
#[derive(Debug, Clone, PartialEq, Eq)]
struct StatusState {
    status: String,
    resolution: String,
    whiteboard: String,
}

impl StatusState {
    fn read(&self, statuses: &StatusMap, meta: &Meta) -> Status {
        statuses.read(
            &self.status,
            &self.resolution,
            meta.transitions.is_open(&self.status),
            &Whiteboard::parse(&self.whiteboard).tokens,
        )
    }

    /// Puts a change's `removed` (or `added`) value in place; false for other fields.
    fn set(&mut self, field: &str, value: &str) -> bool {
        let slot = match field {
            "status" | "bug_status" => &mut self.status,
            "resolution" => &mut self.resolution,
            "whiteboard" | "status_whiteboard" => &mut self.whiteboard,
            _ => return false,
        };
        *slot = value.to_owned();
        true
    }
}

/// History changes -> entries, with Bugzilla field names turned into model ones where there is
/// one (`assigned_to` -> `assignee`, `cc` -> `watchers`, `summary` -> `subject`, ...) and
/// values mapped as the ticket reads them: a canonical status comes from status, resolution
/// and whiteboard markers together, so the states are replayed backwards from the bug as it is
/// now, and each change of status, resolution or marker that moves the canonical status is one
/// `status` entry with model values (`resolved`, not `RESOLVED` + `FIXED`).
pub fn history_entries(
    answer: &Value,
    meta: &Meta,
    statuses: &StatusMap,
    bug: &Bug,
) -> Result<Vec<HistoryEntry>> {
    let history = answer
        .pointer("/bugs/0/history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // A real 5.0.6 folds the changes one user made within one second into one group, so one
    // group may hold two status changes in order (CONFIRMED -> RESOLVED, RESOLVED -> VERIFIED):
    // a group is cut into steps where a field repeats, and each step is one move.
    let changes_of = |h: &Value| -> Vec<Value> {
        h.get("changes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let field_of = |c: &Value| {
        c.get("field_name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let mut steps: Vec<(usize, Vec<Value>)> = Vec::new();
    for (i, h) in history.iter().enumerate() {
        let mut step: Vec<Value> = Vec::new();
        for c in changes_of(h) {
            if step.iter().any(|x| field_of(x) == field_of(&c)) {
                steps.push((i, std::mem::take(&mut step)));
            }
            step.push(c);
        }
        steps.push((i, step));
    }
    // The status state after each step, from the newest back.
    let mut after = StatusState {
        status: bug.status.clone(),
        resolution: bug.resolution.clone(),
        whiteboard: bug.whiteboard.clone(),
    };
    let mut status_moves = vec![None; steps.len()];
    for (i, (_, step)) in steps.iter().enumerate().rev() {
        let mut before = after.clone();
        for c in step {
            let removed = c.get("removed").and_then(Value::as_str).unwrap_or("");
            before.set(&field_of(c), removed);
        }
        let (from, to) = (before.read(statuses, meta), after.read(statuses, meta));
        if from != to {
            status_moves[i] = Some((from, to));
        }
        after = before;
    }
    let mut out = Vec::new();
    for ((group, step), status_move) in steps.iter().zip(status_moves) {
        let h = &history[*group];
        let at = h
            .get("when")
            .and_then(Value::as_str)
            .and_then(|w| chrono::DateTime::parse_from_rfc3339(w).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let who = h.get("who").and_then(Value::as_str).map(str::to_owned);
        let mut entries = Vec::new();
        if let Some((from, to)) = status_move {
            entries.push(HistoryEntry::change(
                "status",
                Some(from.to_string()),
                Some(to.to_string()),
                at,
            ));
        }
        for c in step {
            let field = field_of(c);
            let text = |k: &str| {
                c.get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            let (mut old, mut new) = (text("removed"), text("added"));
            let name = match field.as_str() {
                // Folded into the one status entry above.
                "status" | "bug_status" | "resolution" => continue,
                "assigned_to" => {
                    let nobody =
                        |v: Option<String>| v.filter(|x| !x.eq_ignore_ascii_case(&meta.unassigned));
                    old = nobody(old);
                    new = nobody(new);
                    "assignee"
                }
                "cc" => "watchers",
                // The whiteboard holds the tags (and the status markers, read above): an entry
                // for the tags only when they changed.
                "whiteboard" | "status_whiteboard" => {
                    let markers = statuses.marker_tokens();
                    let tags = |v: &Option<String>| -> Vec<String> {
                        tickets_core::normalize_tags(
                            Whiteboard::parse(v.as_deref().unwrap_or_default())
                                .tokens
                                .into_iter()
                                .filter(|t| !markers.contains(t)),
                        )
                    };
                    let (before, after) = (tags(&old), tags(&new));
                    if before == after {
                        continue;
                    }
                    let joined = |t: Vec<String>| Some(t.join(", ")).filter(|s| !s.is_empty());
                    old = joined(before);
                    new = joined(after);
                    "tags"
                }
                "summary" | "short_desc" => "subject",
                "deadline" => "due",
                "priority" => {
                    old = old.map(|v| meta.priorities.read_bz(&v).to_string());
                    new = new.map(|v| meta.priorities.read_bz(&v).to_string());
                    "priority"
                }
                other => other,
            };
            entries.push(HistoryEntry::change(name, old, new, at));
        }
        for mut e in entries {
            if let Some(w) = &who {
                e = e.actor(w.clone());
            }
            out.push(e);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use chrono::TimeZone;
    use serde_json::json;
    use tickets_core::{HistoryAction, Priority, Status, Ticket, TicketQuery};

    use super::*;
    use crate::config::default_status_map;
    use crate::convert::PriorityMap;
    use crate::meta::{Meta, Transitions};

    fn cfg() -> BugzillaConfig {
        BugzillaConfig::new("http://h/rest", "k", "Prod", "Comp")
    }

    #[test]
    fn query_parameters() {
        let statuses = StatusMap::new(default_status_map());
        let mut q = TicketQuery::new()
            .assignee("alice@example.com")
            .tag("first")
            .tag("second")
            .text("zebra")
            .updated_since(chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap());
        q.status = vec![Status::New, Status::Triaged, Status::Closed];
        let p = params(&cfg(), &statuses, &q, 25, 50);
        let has = |k: &str, v: &str| p.iter().any(|(a, b)| *a == k && b == v);
        assert!(has("product", "Prod") && has("component", "Comp"));
        assert!(has("status", "CONFIRMED") && has("status", "VERIFIED") && has("status", "CLOSED"));
        assert!(
            has("status", "UNCONFIRMED"),
            "bugs filed in the UI read as new"
        );
        assert!(has("assigned_to", "alice@example.com"));
        assert!(has("whiteboard", "[first]"));
        assert!(
            !p.iter().any(|(_, v)| v == "[second]"),
            "one whiteboard value only"
        );
        // Text: summary OR any comment, in a group ANDed with the rest.
        assert!(has("f1", "OP") && has("j1", "OR") && !p.iter().any(|(k, _)| *k == "j_top"));
        assert!(has("f2", "short_desc") && has("v2", "zebra") && has("f3", "longdesc"));
        assert!(has("f4", "CP"));
        // New and closed have no marker: no marker chart.
        assert!(!p.iter().any(|(_, v)| v == "status_whiteboard"));

        assert!(has("last_change_time", "2026-01-02T03:04:05Z"));
        assert!(has("order", "bug_id") && has("limit", "25") && has("offset", "50"));
        // Marker statuses only: their markers are searched server-side (issue 16).
        let mut q = TicketQuery::new().requester("carol@example.com");
        q.status = vec![Status::Triaged, Status::OnHold];
        let p2 = params(&cfg(), &statuses, &q, 25, 0);
        let has = |k: &str, v: &str| p2.iter().any(|(a, b)| *a == k && b == v);
        assert!(has("f1", "OP") && has("j1", "OR"));
        assert!(has("f2", "status_whiteboard") && has("o2", "substring") && has("v2", "[triaged]"));
        assert!(has("f3", "status_whiteboard") && has("v3", "[on-hold]"));
        assert!(has("f4", "CP"));
        // The requester: reporter, or the requester line of comment 0.
        assert!(has("f5", "OP") && has("j5", "OR"));
        assert!(has("f6", "reporter") && has("v6", "carol@example.com"));
        assert!(has("f7", "longdesc") && has("v7", "[tickets] carol@example.com reported:"));
        assert!(has("f8", "CP"));
    }

    #[test]
    fn client_side_rest() {
        let mut t = Ticket::new("1", "bugzilla", "Printer", chrono::Utc::now());
        t.description = "giraffe inside".into();
        t.tags = vec!["a".into(), "b".into()];
        t.requester = Some("carol@example.com".into());
        t.status = Status::Triaged;
        assert!(client_side_match(&TicketQuery::new().text("GIRAFFE"), &t));
        assert!(client_side_match(&TicketQuery::new().tag("a").tag("b"), &t));
        assert!(!client_side_match(
            &TicketQuery::new().tag("a").tag("c"),
            &t
        ));
        assert!(client_side_match(
            &TicketQuery::new().requester("carol@example.com"),
            &t
        ));
        assert!(!client_side_match(
            &TicketQuery::new().status(Status::New),
            &t
        ));
        assert!(!client_side_match(&TicketQuery::new().text("zebra"), &t));
    }

    #[test]
    fn real_history_answer() {
        // vendor-apis.md 2.5: `GET /rest/bug/{id}/history`.
        let answer = json!({"bugs": [{"id": 35, "alias": [], "history": [
            {"when": "2014-09-29T14:25:35Z", "who": "admin@example.com", "changes": [
                {"field_name": "status", "removed": "CONFIRMED", "added": "IN_PROGRESS"},
                {"field_name": "assigned_to", "removed": "nobody@example.com", "added": "alice@example.com"},
                {"field_name": "priority", "removed": "---", "added": "Highest"},
                {"field_name": "cc", "removed": "", "added": "bob@example.com"}
            ]}
        ]}]});
        let values: Vec<String> = ["Highest", "High", "Normal", "Low", "Lowest", "---"]
            .map(String::from)
            .to_vec();
        let meta = Meta {
            priorities: PriorityMap::from_values(&values, &BTreeMap::new()),
            transitions: Transitions::default(),
            unassigned: "nobody@example.com".into(),
            login: None,
            field_types: HashMap::new(),
        };
        let statuses = StatusMap::new(default_status_map());
        let bug: Bug = serde_json::from_value(json!({
            "id": 35, "summary": "s", "status": "IN_PROGRESS", "resolution": "",
            "whiteboard": "", "creation_time": "2014-09-29T14:00:00Z",
            "last_change_time": "2014-09-29T14:25:35Z"
        }))
        .unwrap();
        let h = history_entries(&answer, &meta, &statuses, &bug).unwrap();
        assert_eq!(h.len(), 4);
        assert_eq!(h[0].action, HistoryAction::StatusChange);
        // Model values, not Bugzilla's (issue 12).
        assert_eq!(h[0].old_value.as_deref(), Some("new"));
        assert_eq!(h[0].new_value.as_deref(), Some("in_progress"));
        assert_eq!(h[1].action, HistoryAction::Assigned);
        assert_eq!(h[1].old_value, None, "the default assignee is nobody");
        assert_eq!(h[1].new_value.as_deref(), Some("alice@example.com"));
        assert_eq!(h[2].new_value.as_deref(), Some(Priority::Critical.as_str()));
        assert_eq!(h[3].field.as_deref(), Some("watchers"));
        assert_eq!(h[3].old_value, None);
        assert_eq!(h[0].actor.as_deref(), Some("admin@example.com"));
    }

    #[test]
    fn history_replays_status_resolution_and_markers_into_model_statuses() {
        // A real 5.0.6 answer (field names `status`, `resolution`, `whiteboard`).
        let answer = json!({"bugs": [{"id": 1, "alias": [], "history": [
            {"when": "2026-11-28T10:00:00Z", "who": "admin@example.com", "changes": [
                {"field_name": "whiteboard", "removed": "", "added": "[on-hold] [x]"}]},
            {"when": "2026-11-28T10:05:12Z", "who": "admin@example.com", "changes": [
                {"field_name": "status", "removed": "CONFIRMED", "added": "RESOLVED"},
                {"field_name": "whiteboard", "removed": "[on-hold] [x]", "added": "[x]"},
                {"field_name": "resolution", "removed": "", "added": "WONTFIX"}]},
            {"when": "2026-11-28T10:06:00Z", "who": "admin@example.com", "changes": [
                {"field_name": "cf_customer", "removed": "", "added": "ACME"}]}
        ]}]});
        let meta = Meta {
            priorities: PriorityMap::from_values(&[], &BTreeMap::new()),
            transitions: crate::meta::tests::workflow(),
            unassigned: "nobody@example.com".into(),
            login: None,
            field_types: HashMap::new(),
        };
        let statuses = StatusMap::new(default_status_map());
        let bug: Bug = serde_json::from_value(json!({
            "id": 1, "summary": "s", "status": "RESOLVED", "resolution": "WONTFIX",
            "whiteboard": "[x]", "creation_time": "2026-11-28T09:00:00Z",
            "last_change_time": "2026-11-28T10:06:00Z"
        }))
        .unwrap();
        let h = history_entries(&answer, &meta, &statuses, &bug).unwrap();
        let moves: Vec<(Option<&str>, Option<&str>)> = h
            .iter()
            .filter(|e| e.field.as_deref() == Some("status"))
            .map(|e| (e.old_value.as_deref(), e.new_value.as_deref()))
            .collect();
        assert_eq!(
            moves,
            [
                (Some("new"), Some("on_hold")),
                (Some("on_hold"), Some("cancelled"))
            ]
        );
        assert!(
            h.iter().all(|e| e.field.as_deref() != Some("resolution")),
            "{h:?}"
        );
        assert!(h.iter().any(|e| e.field.as_deref() == Some("cf_customer")));
        // Whiteboards read as tags, markers left out; a marker-only change adds no entry.
        let tags: Vec<(Option<&str>, Option<&str>)> = h
            .iter()
            .filter(|e| e.field.as_deref() == Some("tags"))
            .map(|e| (e.old_value.as_deref(), e.new_value.as_deref()))
            .collect();
        assert_eq!(tags, [(None, Some("x"))]);
        assert!(h.iter().all(|e| e.field.as_deref() != Some("whiteboard")));

        // Two PUTs in one second fold into one group on a real 5.0.6.
        let answer = json!({"bugs": [{"id": 2, "history": [
            {"when": "2026-11-28T10:10:40Z", "who": "admin@example.com", "changes": [
                {"field_name": "status", "added": "RESOLVED", "removed": "CONFIRMED"},
                {"field_name": "resolution", "added": "FIXED", "removed": ""},
                {"field_name": "status", "added": "VERIFIED", "removed": "RESOLVED"}]}
        ]}]});
        let bug: Bug = serde_json::from_value(json!({
            "id": 2, "summary": "s", "status": "VERIFIED", "resolution": "FIXED",
            "creation_time": "2026-11-28T09:00:00Z", "last_change_time": "2026-11-28T10:10:40Z"
        }))
        .unwrap();
        let h = history_entries(&answer, &meta, &statuses, &bug).unwrap();
        let moves: Vec<(Option<&str>, Option<&str>)> = h
            .iter()
            .map(|e| (e.old_value.as_deref(), e.new_value.as_deref()))
            .collect();
        assert_eq!(
            moves,
            [
                (Some("new"), Some("resolved")),
                (Some("resolved"), Some("closed"))
            ]
        );
    }
}
