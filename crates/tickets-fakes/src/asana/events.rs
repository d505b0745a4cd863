//! The events API (`GET /events?resource=&sync=`) and project membership changes
//! (`POST /tasks/{gid}/addProject|removeProject`), which show in a project's stream.
//!
//! Sync tokens are 32 hex digits (like Asana's) holding the position in the event log and the
//! time the token was issued. A request without a token, or with one that is unknown, from the
//! future, older than 24 hours, or expired by [`super::FakeAsana::expire_sync_tokens`], gets
//! `412` with Asana's message and a fresh `sync` token. Otherwise up to 100 events after the
//! token, oldest first, `has_more` when more wait, and the token to continue from.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::App;
use super::state::State as Data;
use super::wire::{ApiError, Caller, check_gid, compact, error_body, ok, parse_body};

type Res = Result<Response, ApiError>;

/// Asana keeps events (and honours tokens) for 24 hours.
const TOKEN_TTL_SECS: i64 = 24 * 60 * 60;
/// The most events one answer carries.
const EVENTS_PER_ANSWER: usize = 100;

/// Asana's 412 message.
pub(crate) const SYNC_INVALID: &str = "Sync token invalid or too old. If you are attempting to \
    keep resources in sync, you must fetch the full dataset for this query now and use the new \
    sync token for the next sync.";

fn sync_token(seq: u64) -> String {
    format!("{seq:016x}{:016x}", Utc::now().timestamp().max(0))
}

/// The event position of a token the fake still honours.
fn position(s: &Data, token: &str) -> Option<u64> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let seq = u64::from_str_radix(&token[..16], 16).ok()?;
    let issued = i64::from_str_radix(&token[16..], 16).ok()?;
    let fresh = Utc::now().timestamp() - issued <= TOKEN_TTL_SECS;
    (fresh && seq >= s.sync_floor && seq <= s.event_seq).then_some(seq)
}

/// `GET /events?resource=&sync=`.
pub(crate) async fn events(
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
) -> Res {
    let resource = q
        .get("resource")
        .ok_or_else(|| ApiError::missing("resource"))?;
    let s = app.lock();
    let known = s.tasks.contains_key(resource) || s.projects.contains_key(resource);
    if !known {
        return Err(ApiError::unknown("resource", resource));
    }
    let current = sync_token(s.event_seq);
    let Some(from) = q.get("sync").and_then(|t| position(&s, t)) else {
        let mut body = error_body(StatusCode::PRECONDITION_FAILED, SYNC_INVALID);
        body["sync"] = json!(current);
        return Ok((StatusCode::PRECONDITION_FAILED, axum::Json(body)).into_response());
    };
    let mut matching = s
        .events
        .iter()
        .filter(|e| e.seq > from && e.scope.iter().any(|g| g == resource));
    let batch: Vec<_> = matching.by_ref().take(EVENTS_PER_ANSWER).collect();
    let has_more = matching.next().is_some();
    let next = match (has_more, batch.last()) {
        (true, Some(last)) => sync_token(last.seq),
        _ => current,
    };
    let data: Vec<Value> = batch.into_iter().map(|e| e.json.clone()).collect();
    Ok(axum::Json(json!({"data": data, "sync": next, "has_more": has_more})).into_response())
}

/// `POST /tasks/{gid}/{op}`: tags (`addTag`, `removeTag`) and projects (`addProject`,
/// `removeProject`).
pub(crate) async fn task_op(
    app: State<App>,
    caller: Extension<Caller>,
    Path((gid, op)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    match op.as_str() {
        "addProject" | "removeProject" => project_op(app, caller, &gid, &op, &headers, &body),
        _ => super::tasks::tag_op(app, caller, Path((gid, op)), headers, body).await,
    }
}

/// `addProject` `{"project", "section"?}` and `removeProject` `{"project"}` -> `{"data":{}}`.
fn project_op(
    State(app): State<App>,
    Extension(Caller(me)): Extension<Caller>,
    gid: &str,
    op: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Res {
    check_gid("task", gid)?;
    let body = parse_body(headers, body)?;
    let text = |k: &str| -> Result<Option<String>, ApiError> {
        match body.data.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(v)) => Ok(Some(v.clone())),
            Some(_) => Err(ApiError::bad(format!("{k}: Value is not a string"))),
        }
    };
    let project = text("project")?.ok_or_else(|| ApiError::missing("project"))?;
    check_gid("project", &project)?;
    let section = text("section")?;
    let mut s = app.lock();
    if op == "addProject" {
        add_to_project(&mut s, &me, gid, &project, section)?;
    } else {
        remove_from_project(&mut s, &me, gid, &project)?;
    }
    Ok(ok(json!({})))
}

fn check_project(s: &Data, gid: &str, project: &str) -> Result<(), ApiError> {
    s.task(gid)?;
    if s.projects.contains_key(project) {
        Ok(())
    } else {
        Err(ApiError::bad(format!(
            "project: Not a recognized ID: {project}"
        )))
    }
}

/// Adds a task to a project (or moves it to `section` there). The project's stream sees the
/// task `added` (parent: the project) and the task gets an `added_to_project` story.
pub(crate) fn add_to_project(
    s: &mut Data,
    me: &str,
    gid: &str,
    project: &str,
    section: Option<String>,
) -> Result<(), ApiError> {
    check_project(s, gid, project)?;
    if let Some(sec) = &section
        && s.sections.get(sec).is_none_or(|x| x.project != project)
    {
        return Err(ApiError::bad(format!(
            "section: Not a recognized ID in project {project}: {sec}"
        )));
    }
    let first = s.first_section(project);
    let t = s.task_mut(gid)?;
    match t.memberships.iter_mut().find(|(p, _)| *p == project) {
        Some(m) => {
            if section.is_some() {
                m.1 = section;
            }
            return Ok(());
        }
        None => {
            // Without a section the task lands in the project's first one.
            let section = section.or(first);
            s.task_mut(gid)?
                .memberships
                .push((project.to_owned(), section));
        }
    }
    let project_json = compact(&s.project_json(project));
    let text = format!(
        "added to {}",
        project_json["name"].as_str().unwrap_or_default()
    );
    let extra = [("project".to_owned(), project_json.clone())]
        .into_iter()
        .collect();
    let task_json = s.compact_task(gid);
    s.event(gid, me, "added", task_json, project_json, None);
    s.add_story(gid, me, "added_to_project", text, extra);
    Ok(())
}

/// Removes a task from a project: the project's stream sees it `removed` (parent: the
/// project), and the task gets a `removed_from_project` story (in its own stream only).
pub(crate) fn remove_from_project(
    s: &mut Data,
    me: &str,
    gid: &str,
    project: &str,
) -> Result<(), ApiError> {
    check_project(s, gid, project)?;
    if !s.task(gid)?.memberships.iter().any(|(p, _)| p == project) {
        return Ok(());
    }
    let project_json = compact(&s.project_json(project));
    let text = format!(
        "removed from {}",
        project_json["name"].as_str().unwrap_or_default()
    );
    let extra: Map<String, Value> = [("project".to_owned(), project_json.clone())]
        .into_iter()
        .collect();
    let task_json = s.compact_task(gid);
    // The event first: the task is still in the project, so its stream sees it.
    s.event(gid, me, "removed", task_json, project_json, None);
    s.task_mut(gid)?.memberships.retain(|(p, _)| p != project);
    s.add_story(gid, me, "removed_from_project", text, extra);
    Ok(())
}

/// Deletes a task (to the trash): its streams see it `deleted`.
pub(crate) fn delete_task(s: &mut Data, me: &str, gid: &str) -> Result<(), ApiError> {
    let resource = s.compact_task(gid);
    s.task(gid)?;
    s.event(gid, me, "deleted", resource, Value::Null, None);
    s.tasks.remove(gid);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_hold_a_position_and_expire() {
        let mut s = Data::new();
        s.event_seq = 5;
        let t = sync_token(3);
        assert_eq!(t.len(), 32);
        assert_eq!(position(&s, &t), Some(3));
        assert_eq!(position(&s, &sync_token(6)), None, "from the future");
        assert_eq!(position(&s, "garbage"), None);
        let old = format!(
            "{:016x}{:016x}",
            3,
            Utc::now().timestamp() - TOKEN_TTL_SECS - 5
        );
        assert_eq!(position(&s, &old), None, "older than 24 h");
        s.sync_floor = 5;
        assert_eq!(position(&s, &t), None, "expired by the knob");
        assert_eq!(position(&s, &sync_token(5)), Some(5));
    }
}
