//! The task lists: `GET /tasks?project=|tag=|section=|assignee=&workspace=` and the
//! per-container lists, with `completed_since`, `modified_since` and pagination.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::App;
use super::paging::page_with;
use super::state::{State as Data, Task};
use super::tasks::user_gid;
use super::wire::{ApiError, Caller, check_gid, opt_fields, parse_time, shape};

type Q = Query<HashMap<String, String>>;
type Res = Result<Response, ApiError>;

/// Renders the tasks passing `keep` and the `completed_since`/`modified_since` filters.
fn list(
    s: &Data,
    q: &HashMap<String, String>,
    path: &str,
    headers: &HeaderMap,
    keep: impl Fn(&Task) -> bool,
) -> Res {
    let completed_since = match q.get("completed_since").map(String::as_str) {
        None => None,
        Some("now") => Some(None),
        Some(t) => Some(Some(parse_time("completed_since", t)?)),
    };
    let modified_since = match q.get("modified_since") {
        Some(t) => Some(parse_time("modified_since", t)?),
        None => None,
    };
    let fields = opt_fields(q, None);
    let items = s
        .tasks
        .values()
        .filter(|t| keep(t))
        .filter(|t| match completed_since {
            None => true,
            Some(None) => !t.completed,
            Some(Some(since)) => !t.completed || t.completed_at.is_some_and(|c| c >= since),
        })
        .filter(|t| modified_since.is_none_or(|m| t.modified_at >= m))
        .map(|t| (t.gid.clone(), t))
        .collect();
    let render = |t: &Task| shape(&s.task_json(t), fields.as_deref(), true);
    page_with(items, render, q, path, headers)
}

fn in_project(t: &Task, p: &str) -> bool {
    t.memberships.iter().any(|(x, _)| x == p)
}

pub(crate) async fn list_tasks(
    State(app): State<App>,
    Extension(Caller(me)): Extension<Caller>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    let s = app.lock();
    let get = |k: &str| q.get(k).cloned();
    match (
        get("project"),
        get("tag"),
        get("section"),
        get("assignee"),
        get("workspace"),
    ) {
        (Some(p), None, None, _, _) => {
            s.projects
                .get(&p)
                .ok_or_else(|| ApiError::unknown("project", &p))?;
            let a = get("assignee")
                .map(|a| user_gid(&s, &me, "assignee", &a))
                .transpose()?;
            list(&s, &q, "/tasks", &headers, |t| {
                in_project(t, &p) && a.as_ref().is_none_or(|a| t.assignee.as_ref() == Some(a))
            })
        }
        (None, Some(tag), None, _, _) => {
            s.tags
                .get(&tag)
                .ok_or_else(|| ApiError::unknown("tag", &tag))?;
            list(&s, &q, "/tasks", &headers, |t| t.tags.contains(&tag))
        }
        (None, None, Some(sec), _, _) => list(&s, &q, "/tasks", &headers, |t| {
            t.memberships.iter().any(|(_, x)| x.as_ref() == Some(&sec))
        }),
        (None, None, None, Some(a), Some(w)) => {
            let a = user_gid(&s, &me, "assignee", &a)?;
            list(&s, &q, "/tasks", &headers, |t| {
                t.workspace == w && t.assignee.as_ref() == Some(&a)
            })
        }
        _ => Err(ApiError::bad(
            "Must specify exactly one of project, tag, section, user task list, or assignee + workspace",
        )),
    }
}

pub(crate) async fn project_tasks(
    State(app): State<App>,
    Path(p): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    check_gid("project", &p)?;
    let s = app.lock();
    s.projects
        .get(&p)
        .ok_or_else(|| ApiError::unknown("project", &p))?;
    list(&s, &q, &format!("/projects/{p}/tasks"), &headers, |t| {
        in_project(t, &p)
    })
}

pub(crate) async fn section_tasks(
    State(app): State<App>,
    Path(sec): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    let s = app.lock();
    s.sections
        .get(&sec)
        .ok_or_else(|| ApiError::unknown("section", &sec))?;
    list(&s, &q, &format!("/sections/{sec}/tasks"), &headers, |t| {
        t.memberships.iter().any(|(_, x)| x.as_ref() == Some(&sec))
    })
}

pub(crate) async fn tag_tasks(
    State(app): State<App>,
    Path(tag): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    let s = app.lock();
    s.tags
        .get(&tag)
        .ok_or_else(|| ApiError::unknown("tag", &tag))?;
    list(&s, &q, &format!("/tags/{tag}/tasks"), &headers, |t| {
        t.tags.contains(&tag)
    })
}
