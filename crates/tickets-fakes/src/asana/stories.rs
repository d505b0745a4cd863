//! Stories (comments and the system stories mixed in) and search.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value};

use super::App;
use super::paging::page;
use super::state::{Task, strip_html};
use super::wire::{ApiError, Caller, check_gid, created, ok, opt_fields, parse_body, shape};

type Q = Query<HashMap<String, String>>;
type Res = Result<Response, ApiError>;

fn in_project(t: &Task, p: &str) -> bool {
    t.memberships.iter().any(|(x, _)| x == p)
}

fn str_of<'a>(d: &'a Map<String, Value>, k: &str) -> Result<Option<&'a str>, ApiError> {
    match d.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad(format!("{k}: Value is not a string"))),
    }
}

/// `GET /workspaces/{gid}/tasks/search` (premium only; `text`, `completed`, `projects.any`).
pub(crate) async fn search(State(app): State<App>, Path(w): Path<String>, Query(q): Q) -> Res {
    let s = app.lock();
    if !s.workspaces.contains_key(&w) {
        return Err(ApiError::unknown("workspace", &w));
    }
    if !s.workspace_premium(&w) {
        return Err(ApiError::premium("Search"));
    }
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(20)
        .min(100);
    let text = q.get("text").map(|t| t.to_lowercase());
    let projects: Option<Vec<&str>> = q.get("projects.any").map(|p| p.split(',').collect());
    let completed = q.get("completed").map(|c| c == "true");
    let fields = opt_fields(&q, None);
    let mut hits: Vec<&Task> = s
        .tasks
        .values()
        .filter(|t| t.workspace == w)
        .filter(|t| {
            text.as_ref().is_none_or(|x| {
                t.name.to_lowercase().contains(x) || t.notes.to_lowercase().contains(x)
            })
        })
        .filter(|t| {
            projects
                .as_ref()
                .is_none_or(|ps| ps.iter().any(|p| in_project(t, p)))
        })
        .filter(|t| completed.is_none_or(|c| t.completed == c))
        .collect();
    hits.sort_by_key(|t| std::cmp::Reverse(t.modified_at));
    let data: Vec<Value> = hits
        .into_iter()
        .take(limit)
        .map(|t| shape(&s.task_json(t), fields.as_deref(), true))
        .collect();
    Ok(ok(Value::Array(data)))
}

/// `GET /tasks/{gid}/stories`.
pub(crate) async fn stories(
    State(app): State<App>,
    Path(gid): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    check_gid("task", &gid)?;
    let s = app.lock();
    let t = s.task(&gid)?;
    let fields = opt_fields(&q, None);
    let items = t
        .stories
        .iter()
        .filter_map(|g| s.stories.get(g))
        .map(|st| {
            (
                st.gid.clone(),
                shape(&s.story_json(st), fields.as_deref(), true),
            )
        })
        .collect();
    page(items, &q, &format!("/tasks/{gid}/stories"), &headers)
}

/// `POST /tasks/{gid}/stories`: comments only.
pub(crate) async fn add_story(
    State(app): State<App>,
    Extension(Caller(me)): Extension<Caller>,
    Path(gid): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    check_gid("task", &gid)?;
    let body = parse_body(&headers, &body)?;
    let text = match (
        str_of(&body.data, "text")?,
        str_of(&body.data, "html_text")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                "You may only provide one of text or html_text!",
            ));
        }
        (Some(t), None) => t.to_owned(),
        (None, Some(h)) => strip_html(h),
        (None, None) => return Err(ApiError::missing("text")),
    };
    let mut s = app.lock();
    s.task(&gid)?;
    let story = s.add_story(&gid, &me, "comment_added", text, Map::new());
    if body.data.get("is_pinned").and_then(Value::as_bool) == Some(true)
        && let Some(st) = s.stories.get_mut(&story)
    {
        st.is_pinned = true;
    }
    let v = s.story_json(&s.stories[&story]);
    Ok(created(
        shape(&v, opt_fields(&q, Some(&body)).as_deref(), false),
        &headers,
        &format!("stories/{story}"),
    ))
}

/// `GET /stories/{gid}`.
pub(crate) async fn story(State(app): State<App>, Path(gid): Path<String>, Query(q): Q) -> Res {
    check_gid("story", &gid)?;
    let s = app.lock();
    let st = s
        .stories
        .get(&gid)
        .ok_or_else(|| ApiError::unknown("story", &gid))?;
    if !s.tasks.contains_key(&st.task) {
        return Err(ApiError::unknown("story", &gid));
    }
    Ok(ok(shape(
        &s.story_json(st),
        opt_fields(&q, None).as_deref(),
        false,
    )))
}
