//! Status changes on a bug: the `PUT`s that take it from whatever the server shows now
//! (including what an interrupted or refused earlier change left behind: a closed bug with a
//! stale marker, a marker without its status, another resolution) to where a canonical status
//! lives, walking the server's own workflow (`can_change_to`).

use serde_json::{Map, Value, json};
use tickets_core::{Error, ErrorKind, Result, Status};

use crate::convert::{Bug, StatusMap, Whiteboard};
use crate::meta::Transitions;

/// The whiteboard for these tags (`None`: the current ones) and the marker of `status`, other
/// free text kept; every other status's marker is dropped, so a stale one never survives.
pub fn whiteboard(
    statuses: &StatusMap,
    current: &str,
    tags: Option<&[String]>,
    status: Status,
) -> String {
    let markers = statuses.marker_tokens();
    let mut wb = Whiteboard::parse(current);
    let tags: Vec<String> = match tags {
        Some(t) => tickets_core::normalize_tags(t.iter().cloned()),
        None => wb
            .tokens
            .iter()
            .filter(|t| !markers.contains(t))
            .cloned()
            .collect(),
    };
    wb.tokens = tags;
    if status.is_open()
        && let Some(m) = &statuses.target(status).marker
    {
        wb.tokens.push(
            m.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        );
    }
    wb.render()
}

/// The `{status, resolution}` bodies that make `bug` read as `to`, given the whiteboard tokens
/// it will carry after this update (`tokens`; the first `PUT` writes them). None when the bug
/// reads as `to` with those tokens already (a marker added or removed is then the whole
/// change), otherwise [`status_steps`] from the server's current status and resolution.
pub fn plan(
    statuses: &StatusMap,
    transitions: &Transitions,
    bug: &Bug,
    to: Status,
    tokens: &[String],
) -> Result<Vec<Map<String, Value>>> {
    let open = bug
        .is_open
        .unwrap_or_else(|| transitions.is_open(&bug.status));
    if statuses.read(&bug.status, &bug.resolution, open, tokens) == to {
        return Ok(Vec::new());
    }
    status_steps(statuses, transitions, bug, to)
}

/// The status steps from `bug` to where `to` lives, each a `{status, resolution}` body:
/// several when the workflow needs a path (`CONFIRMED -> RESOLVED -> VERIFIED`), one when a
/// single move (or only a resolution change) does, none when nothing changes. Names are
/// matched the way Bugzilla matches them (case-insensitively) and sent in the server's spelling.
pub fn status_steps(
    statuses: &StatusMap,
    transitions: &Transitions,
    bug: &Bug,
    to: Status,
) -> Result<Vec<Map<String, Value>>> {
    let target = statuses.target(to);
    let target_status = transitions.canonical(&target.status);
    let path = transitions
        .path(&bug.status, &target_status)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidTransition,
                format!(
                    "Bugzilla's workflow has no path from {} to {} (for {to}); allowed from {}: {}",
                    bug.status,
                    target_status,
                    bug.status,
                    transitions
                        .next
                        .get(&bug.status)
                        .map(|v| v.join(", "))
                        .unwrap_or_default()
                ),
            )
        })?;
    // Closed steps get the target's resolution (FIXED on the way to an open target);
    // reopening clears it (5.x has no REOPENED: `{"status":"CONFIRMED","resolution":""}`).
    let resolution_for = |status: &str| {
        if transitions.is_open(status) {
            String::new()
        } else if target.resolution.is_empty() {
            "FIXED".to_owned()
        } else {
            target.resolution.clone()
        }
    };
    let mut from = bug.status.as_str();
    let mut steps: Vec<Map<String, Value>> = Vec::with_capacity(path.len());
    for status in &path {
        let mut m = Map::new();
        m.insert("status".into(), json!(status));
        m.insert("resolution".into(), json!(resolution_for(status)));
        // A move the admin made comment-required carries one, or Bugzilla refuses it.
        if transitions
            .comment_required
            .contains(&(from.to_owned(), status.clone()))
        {
            m.insert(
                "comment".into(),
                json!({"body": format!("Status changed from {from} to {status}.")}),
            );
        }
        steps.push(m);
        from = status;
    }
    let final_resolution = resolution_for(&target_status);
    if steps.is_empty() && !final_resolution.eq_ignore_ascii_case(&bug.resolution) {
        let mut m = Map::new();
        m.insert("resolution".into(), json!(final_resolution));
        steps.push(m);
    }
    Ok(steps)
}

/// Adds `fields` to a step's body; when both carry a comment, one comment holds both texts
/// (a `PUT` takes one).
pub fn merge_into_step(step: &mut Map<String, Value>, mut fields: Map<String, Value>) {
    let text = |v: Option<&Value>| {
        v.and_then(|c| c.get("body").or(Some(c)))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if let (Some(mine), Some(theirs)) = (text(step.get("comment")), text(fields.get("comment"))) {
        fields.insert(
            "comment".into(),
            json!({"body": format!("{theirs}\n\n{mine}")}),
        );
    }
    step.extend(fields);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{StatusTarget, default_status_map};
    use crate::meta::tests::workflow;

    fn bug(status: &str, resolution: &str, whiteboard: &str) -> Bug {
        serde_json::from_value(json!({
            "id": 1, "summary": "s", "status": status, "resolution": resolution,
            "whiteboard": whiteboard, "is_open": !matches!(status, "RESOLVED" | "VERIFIED"),
            "creation_time": "2026-01-01T00:00:00Z", "last_change_time": "2026-01-01T00:00:00Z",
        }))
        .unwrap()
    }

    fn bodies(steps: Vec<Map<String, Value>>) -> Value {
        Value::from(steps.into_iter().map(Value::Object).collect::<Vec<_>>())
    }

    #[test]
    fn status_steps_carry_resolutions() {
        let t = workflow();
        let map = StatusMap::new(default_status_map());
        let steps = status_steps(&map, &t, &bug("CONFIRMED", "", ""), Status::Closed).unwrap();
        assert_eq!(
            bodies(steps),
            json!([{"status": "RESOLVED", "resolution": "FIXED"},
                   {"status": "VERIFIED", "resolution": "FIXED"}])
        );
        let steps =
            status_steps(&map, &t, &bug("RESOLVED", "FIXED", ""), Status::Cancelled).unwrap();
        assert_eq!(bodies(steps), json!([{"resolution": "WONTFIX"}]));
        let steps = status_steps(&map, &t, &bug("VERIFIED", "FIXED", ""), Status::New).unwrap();
        assert_eq!(
            bodies(steps),
            json!([{"status": "CONFIRMED", "resolution": ""}])
        );
        assert!(
            status_steps(&map, &t, &bug("CONFIRMED", "", ""), Status::Triaged)
                .unwrap()
                .is_empty()
        );
        let mut cfg_map = default_status_map();
        cfg_map.insert(
            Status::New,
            StatusTarget {
                status: "REOPENED".into(),
                resolution: String::new(),
                marker: None,
            },
        );
        let err = status_steps(
            &StatusMap::new(cfg_map),
            &t,
            &bug("VERIFIED", "FIXED", ""),
            Status::New,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidTransition);
        assert!(err.to_string().contains("allowed from VERIFIED"), "{err}");
    }

    #[test]
    fn names_in_the_map_match_the_server_case_insensitively() {
        // Bugzilla takes `verified`/`wontfix`; the path and the resolution compare must too.
        let t = workflow();
        let mut cfg = default_status_map();
        cfg.insert(
            Status::Cancelled,
            StatusTarget {
                status: "verified".into(),
                resolution: "wontfix".into(),
                marker: None,
            },
        );
        let map = StatusMap::new(cfg);
        let steps = status_steps(&map, &t, &bug("CONFIRMED", "", ""), Status::Cancelled).unwrap();
        assert_eq!(
            bodies(steps),
            json!([{"status": "RESOLVED", "resolution": "wontfix"},
                   {"status": "VERIFIED", "resolution": "wontfix"}])
        );
        let done = bug("VERIFIED", "WONTFIX", "");
        assert!(
            status_steps(&map, &t, &done, Status::Cancelled)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn comment_required_moves_carry_a_comment() {
        let mut t = workflow();
        t.comment_required
            .insert(("RESOLVED".into(), "CONFIRMED".into()));
        let map = StatusMap::new(default_status_map());
        let steps =
            status_steps(&map, &t, &bug("RESOLVED", "FIXED", ""), Status::InProgress).unwrap();
        assert_eq!(
            bodies(steps.clone()),
            json!([{"status": "CONFIRMED", "resolution": "",
                    "comment": {"body": "Status changed from RESOLVED to CONFIRMED."}},
                   {"status": "IN_PROGRESS", "resolution": ""}])
        );
        // A description update in the same PUT shares the one comment.
        let mut first = steps[0].clone();
        let mut fields = Map::new();
        fields.insert("comment".into(), json!({"body": "Description updated"}));
        fields.insert("summary".into(), json!("s2"));
        merge_into_step(&mut first, fields);
        assert_eq!(
            first["comment"],
            json!({"body": "Description updated\n\nStatus changed from RESOLVED to CONFIRMED."})
        );
        assert_eq!(first["summary"], "s2");
    }

    fn tokens(wb: &str) -> Vec<String> {
        Whiteboard::parse(wb).tokens
    }

    #[test]
    fn plans_start_from_what_the_server_shows() {
        let t = workflow();
        let map = StatusMap::new(default_status_map());
        // A closed bug with a stale [escalated] marker: reopened straight to IN_PROGRESS.
        let stale = bug("RESOLVED", "FIXED", "[escalated]");
        assert_eq!(
            bodies(plan(&map, &t, &stale, Status::Escalated, &tokens("[escalated]")).unwrap()),
            json!([{"status": "CONFIRMED", "resolution": ""},
                   {"status": "IN_PROGRESS", "resolution": ""}])
        );
        // A marker set but the status not moved (CONFIRMED [escalated] reads New).
        let half = bug("CONFIRMED", "", "[escalated]");
        assert_eq!(
            bodies(plan(&map, &t, &half, Status::Escalated, &tokens("[escalated]")).unwrap()),
            json!([{"status": "IN_PROGRESS", "resolution": ""}])
        );
        // Only the marker differs: the whiteboard alone does it.
        let marker_only = bug("CONFIRMED", "", "[on-hold] notes");
        assert!(
            plan(
                &map,
                &t,
                &marker_only,
                Status::Triaged,
                &tokens("[triaged] notes")
            )
            .unwrap()
            .is_empty()
        );
        // Another resolution: one resolution change, no status move.
        let invalid = bug("RESOLVED", "INVALID", "");
        assert_eq!(
            bodies(plan(&map, &t, &invalid, Status::Resolved, &[]).unwrap()),
            json!([{"resolution": "FIXED"}])
        );
        // Half-way to closed (RESOLVED FIXED): the last step only.
        let resolved = bug("RESOLVED", "FIXED", "");
        assert_eq!(
            bodies(plan(&map, &t, &resolved, Status::Closed, &[]).unwrap()),
            json!([{"status": "VERIFIED", "resolution": "FIXED"}])
        );
        // Reads as the target already (VERIFIED WONTFIX is cancelled): nothing to move.
        let verified_wontfix = bug("VERIFIED", "WONTFIX", "");
        assert!(
            plan(&map, &t, &verified_wontfix, Status::Cancelled, &[])
                .unwrap()
                .is_empty()
        );
    }
}
