//! Everything but tasks: users, workspaces, projects, sections, tags, custom fields and their
//! project settings, and the events API.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::App;
use super::paging::page;
use super::state::Tag;
use super::wire::{
    ApiError, Caller, check_gid, compact, created, ok, opt_fields, parse_body, shape,
};

type Q = Query<HashMap<String, String>>;
type Res = Result<Response, ApiError>;

fn text<'a>(d: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    d.get(k).and_then(Value::as_str)
}

/// `GET /users/{gid|email|me}`.
pub(crate) async fn user(
    State(app): State<App>,
    Extension(Caller(me)): Extension<Caller>,
    Path(key): Path<String>,
    Query(q): Q,
) -> Res {
    let s = app.lock();
    let u = s
        .find_user(&me, &key)
        .ok_or_else(|| ApiError::unknown("user", &key))?;
    Ok(ok(shape(
        &s.user_json(&u.gid),
        opt_fields(&q, None).as_deref(),
        false,
    )))
}

/// `GET /users?workspace=` and `GET /workspaces/{gid}/users`.
pub(crate) async fn users(
    State(app): State<App>,
    ws: Option<Path<String>>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    let s = app.lock();
    if let Some(Path(w)) = &ws
        && !s.workspaces.contains_key(w)
    {
        return Err(ApiError::unknown("workspace", w));
    }
    let fields = opt_fields(&q, None);
    let items = s
        .users
        .keys()
        .map(|g| (g.clone(), shape(&s.user_json(g), fields.as_deref(), true)))
        .collect();
    page(items, &q, "/users", &headers)
}

pub(crate) async fn workspaces(State(app): State<App>, Query(q): Q, headers: HeaderMap) -> Res {
    let s = app.lock();
    let fields = opt_fields(&q, None);
    let items = s
        .workspaces
        .keys()
        .map(|g| {
            (
                g.clone(),
                shape(&s.workspace_json(g), fields.as_deref(), true),
            )
        })
        .collect();
    page(items, &q, "/workspaces", &headers)
}

pub(crate) async fn workspace(State(app): State<App>, Path(w): Path<String>, Query(q): Q) -> Res {
    let s = app.lock();
    if !s.workspaces.contains_key(&w) {
        return Err(ApiError::unknown("workspace", &w));
    }
    Ok(ok(shape(
        &s.workspace_json(&w),
        opt_fields(&q, None).as_deref(),
        false,
    )))
}

/// `GET /projects?workspace=` and `GET /workspaces/{gid}/projects`.
pub(crate) async fn projects(
    State(app): State<App>,
    ws: Option<Path<String>>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    let s = app.lock();
    let w = ws.map(|Path(w)| w).or_else(|| q.get("workspace").cloned());
    let fields = opt_fields(&q, None);
    let items = s
        .projects
        .values()
        .filter(|p| w.as_ref().is_none_or(|w| &p.workspace == w))
        .map(|p| {
            (
                p.gid.clone(),
                shape(&s.project_json(&p.gid), fields.as_deref(), true),
            )
        })
        .collect();
    page(items, &q, "/projects", &headers)
}

pub(crate) async fn project(State(app): State<App>, Path(p): Path<String>, Query(q): Q) -> Res {
    check_gid("project", &p)?;
    let s = app.lock();
    if !s.projects.contains_key(&p) {
        return Err(ApiError::unknown("project", &p));
    }
    Ok(ok(shape(
        &s.project_json(&p),
        opt_fields(&q, None).as_deref(),
        false,
    )))
}

/// `GET /projects/{gid}/sections`.
pub(crate) async fn sections(
    State(app): State<App>,
    Path(p): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    check_gid("project", &p)?;
    let s = app.lock();
    if !s.projects.contains_key(&p) {
        return Err(ApiError::unknown("project", &p));
    }
    let fields = opt_fields(&q, None);
    let items = s
        .sections
        .values()
        .filter(|x| x.project == p)
        .map(|x| {
            (
                x.gid.clone(),
                shape(&s.section_json(&x.gid), fields.as_deref(), true),
            )
        })
        .collect();
    page(items, &q, &format!("/projects/{p}/sections"), &headers)
}

/// `POST /projects/{gid}/sections`.
pub(crate) async fn create_section(
    State(app): State<App>,
    Path(p): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    check_gid("project", &p)?;
    let body = parse_body(&headers, &body)?;
    let name = text(&body.data, "name").ok_or_else(|| ApiError::missing("name"))?;
    if name.trim().is_empty() {
        return Err(ApiError::bad("name: Section name must not be empty"));
    }
    let mut s = app.lock();
    if !s.projects.contains_key(&p) {
        return Err(ApiError::unknown("project", &p));
    }
    let gid = s.add_section(&p, name);
    let v = s.section_json(&gid);
    Ok(created(
        shape(&v, opt_fields(&q, Some(&body)).as_deref(), false),
        &headers,
        &format!("sections/{gid}"),
    ))
}

pub(crate) async fn section(State(app): State<App>, Path(g): Path<String>, Query(q): Q) -> Res {
    check_gid("section", &g)?;
    let s = app.lock();
    if !s.sections.contains_key(&g) {
        return Err(ApiError::unknown("section", &g));
    }
    Ok(ok(shape(
        &s.section_json(&g),
        opt_fields(&q, None).as_deref(),
        false,
    )))
}

/// `POST /sections/{gid}/addTask`: moves the task into the section (and so out of the
/// project's other sections), adding it to the project if needed.
pub(crate) async fn add_task(
    State(app): State<App>,
    Extension(Caller(me)): Extension<Caller>,
    Path(g): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    check_gid("section", &g)?;
    let body = parse_body(&headers, &body)?;
    let task = text(&body.data, "task").ok_or_else(|| ApiError::missing("task"))?;
    check_gid("task", task)?;
    let mut s = app.lock();
    let section = s
        .sections
        .get(&g)
        .cloned()
        .ok_or_else(|| ApiError::unknown("section", &g))?;
    let project = section.project.clone();
    let t = s.task_mut(task)?;
    let old = t
        .memberships
        .iter()
        .find(|(p, _)| *p == project)
        .map(|(_, sec)| sec.clone());
    match &old {
        Some(Some(old)) if *old == g => return Ok(ok(json!({}))),
        Some(_) => {
            for m in t.memberships.iter_mut().filter(|(p, _)| *p == project) {
                m.1 = Some(g.clone());
            }
        }
        None => t.memberships.push((project.clone(), Some(g.clone()))),
    }
    let project_json = compact(&s.project_json(&project));
    let new_json = compact(&s.section_json(&g));
    match old {
        Some(old) => {
            let old_json = old
                .as_deref()
                .map_or(Value::Null, |o| compact(&s.section_json(o)));
            let old_name = old
                .as_deref()
                .and_then(|o| s.sections.get(o))
                .map(|o| o.name.clone());
            let text = format!(
                "moved this task from \"{}\" to \"{}\" in {}",
                old_name.unwrap_or_default(),
                section.name,
                project_json["name"].as_str().unwrap_or_default()
            );
            let extra = [
                ("old_section".to_owned(), old_json),
                ("new_section".to_owned(), new_json),
                ("project".to_owned(), project_json),
            ];
            s.add_story(
                task,
                &me,
                "section_changed",
                text,
                extra.into_iter().collect(),
            );
        }
        None => {
            let text = format!(
                "added to {}",
                project_json["name"].as_str().unwrap_or_default()
            );
            let extra = [("project".to_owned(), project_json)];
            s.add_story(
                task,
                &me,
                "added_to_project",
                text,
                extra.into_iter().collect(),
            );
        }
    }
    Ok(ok(json!({})))
}

/// `GET /tags?workspace=` and `GET /workspaces/{gid}/tags`.
pub(crate) async fn tags(
    State(app): State<App>,
    ws: Option<Path<String>>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    let s = app.lock();
    let w = ws
        .map(|Path(w)| w)
        .or_else(|| q.get("workspace").cloned())
        .ok_or_else(|| ApiError::missing("workspace"))?;
    if !s.workspaces.contains_key(&w) {
        return Err(ApiError::unknown("workspace", &w));
    }
    let fields = opt_fields(&q, None);
    let items = s
        .tags
        .values()
        .filter(|t| t.workspace == w)
        .map(|t| {
            (
                t.gid.clone(),
                shape(&s.tag_json(&t.gid), fields.as_deref(), true),
            )
        })
        .collect();
    page(items, &q, "/tags", &headers)
}

const COLORS: [&str; 18] = [
    "dark-pink",
    "dark-green",
    "dark-blue",
    "dark-red",
    "dark-teal",
    "dark-brown",
    "dark-orange",
    "dark-purple",
    "dark-warm-gray",
    "light-pink",
    "light-green",
    "light-blue",
    "light-red",
    "light-teal",
    "light-brown",
    "light-orange",
    "light-purple",
    "light-warm-gray",
];

/// `POST /tags` and `POST /workspaces/{gid}/tags`.
pub(crate) async fn create_tag(
    State(app): State<App>,
    ws: Option<Path<String>>,
    Query(q): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    let body = parse_body(&headers, &body)?;
    let d = &body.data;
    let w = ws
        .map(|Path(w)| w)
        .or_else(|| text(d, "workspace").map(str::to_owned))
        .ok_or_else(|| ApiError::missing("workspace"))?;
    let name = text(d, "name")
        .ok_or_else(|| ApiError::missing("name"))?
        .to_owned();
    let color = text(d, "color").map(str::to_owned);
    if let Some(c) = &color
        && !COLORS.contains(&c.as_str())
    {
        return Err(ApiError::bad(format!("color: Not a valid enum value: {c}")));
    }
    let mut s = app.lock();
    if !s.workspaces.contains_key(&w) {
        return Err(ApiError::unknown("workspace", &w));
    }
    let gid = s.gid();
    let created_at = s.now();
    s.tags.insert(
        gid.clone(),
        Tag {
            gid: gid.clone(),
            name,
            workspace: w,
            color,
            notes: text(d, "notes").unwrap_or_default().to_owned(),
            created_at,
        },
    );
    let v = s.tag_json(&gid);
    Ok(created(
        shape(&v, opt_fields(&q, Some(&body)).as_deref(), false),
        &headers,
        &format!("tags/{gid}"),
    ))
}

pub(crate) async fn tag(State(app): State<App>, Path(g): Path<String>, Query(q): Q) -> Res {
    check_gid("tag", &g)?;
    let s = app.lock();
    if !s.tags.contains_key(&g) {
        return Err(ApiError::unknown("tag", &g));
    }
    Ok(ok(shape(
        &s.tag_json(&g),
        opt_fields(&q, None).as_deref(),
        false,
    )))
}

/// `GET /tasks/{gid}/tags`: the task's tags, compact unless `opt_fields` asks for more.
pub(crate) async fn task_tags(
    State(app): State<App>,
    Path(g): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    check_gid("task", &g)?;
    let s = app.lock();
    let t = s.task(&g)?;
    let fields = opt_fields(&q, None);
    let items = t
        .tags
        .iter()
        .filter(|x| s.tags.contains_key(*x))
        .map(|x| (x.clone(), shape(&s.tag_json(x), fields.as_deref(), true)))
        .collect();
    page(items, &q, &format!("/tasks/{g}/tags"), &headers)
}
