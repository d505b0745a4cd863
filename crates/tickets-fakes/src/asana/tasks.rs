//! Task endpoints: create, read, update, delete, the task lists, tags on tasks, search.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::App;
use super::state::{State as Data, Task, strip_html};
use super::wire::{
    ApiError, Caller, check_gid, created, ok, opt_fields, parse_body, parse_time, shape,
};

type Q = Query<HashMap<String, String>>;
type Res = Result<Response, ApiError>;

fn str_of<'a>(d: &'a Map<String, Value>, k: &str) -> Result<Option<&'a str>, ApiError> {
    match d.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad(format!("{k}: Value is not a string"))),
    }
}

fn gid_list(d: &Map<String, Value>, k: &str) -> Result<Vec<String>, ApiError> {
    match d.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(ApiError::bad(format!("{k}: Value is not a string"))),
            })
            .collect(),
        Some(Value::String(s)) => Ok(s.split(',').map(|p| p.trim().to_owned()).collect()),
        Some(_) => Err(ApiError::bad(format!("{k}: Value is not an array"))),
    }
}

pub(crate) fn user_gid(s: &Data, me: &str, field: &str, key: &str) -> Result<String, ApiError> {
    s.find_user(me, key)
        .map(|u| u.gid.clone())
        .ok_or_else(|| ApiError::bad(format!("{field}: Not a recognized ID: {key}")))
}

fn check_due(d: &Map<String, Value>) -> Result<(), ApiError> {
    if let Some(on) = str_of(d, "due_on")? {
        NaiveDate::parse_from_str(on, "%Y-%m-%d")
            .map_err(|_| ApiError::bad(format!("due_on: Invalid date: {on}")))?;
    }
    if let Some(at) = str_of(d, "due_at")? {
        parse_time("due_at", at)?;
    }
    if str_of(d, "due_on")?.is_some() && str_of(d, "due_at")?.is_some() {
        return Err(ApiError::bad(
            "You may only provide one of due_on or due_at!",
        ));
    }
    Ok(())
}

/// Checks custom field values against the task's projects and returns them typed.
fn field_values(
    s: &Data,
    projects: &[String],
    d: &Map<String, Value>,
) -> Result<Vec<(String, Value)>, ApiError> {
    let Some(cf) = d.get("custom_fields") else {
        return Ok(Vec::new());
    };
    let Some(cf) = cf.as_object() else {
        return Err(ApiError::bad("custom_fields: Value is not an object"));
    };
    let mut out = Vec::new();
    for (gid, value) in cf {
        let field = s
            .fields
            .get(gid)
            .ok_or_else(|| ApiError::bad(format!("custom_fields: Unknown object: {gid}")))?;
        if !s.workspace_premium(&field.workspace) {
            return Err(ApiError::premium("Custom fields"));
        }
        let attached = projects.iter().any(|p| {
            s.projects
                .get(p)
                .is_some_and(|p| p.settings.iter().any(|(_, f)| f == gid))
        });
        if !attached {
            return Err(ApiError::bad(format!(
                "Custom field with ID {gid} is not on given object"
            )));
        }
        let typed = match (field.subtype.as_str(), value) {
            (_, Value::Null) => Value::Null,
            ("text", Value::String(_)) => value.clone(),
            ("number", Value::Number(_)) => value.clone(),
            ("number", Value::String(n)) => n
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| ApiError::bad(format!("custom_fields: {gid}: Not a number")))?,
            ("enum", Value::String(o)) => {
                if !field.options.iter().any(|x| &x.gid == o && x.enabled) {
                    return Err(ApiError::bad(format!(
                        "enum_value: {o} is not a valid enum option of custom field {gid}"
                    )));
                }
                value.clone()
            }
            (t, _) => {
                return Err(ApiError::bad(format!(
                    "custom_fields: {gid}: value of the wrong type for a {t} field"
                )));
            }
        };
        out.push((gid.clone(), typed));
    }
    Ok(out)
}

fn create_task(s: &mut Data, me: &str, d: &Map<String, Value>) -> Result<String, ApiError> {
    let mut memberships: Vec<(String, Option<String>)> = Vec::new();
    for p in gid_list(d, "projects")? {
        check_gid("projects", &p)?;
        memberships.push((p, None));
    }
    if let Some(ms) = d.get("memberships") {
        let ms = ms
            .as_array()
            .ok_or_else(|| ApiError::bad("memberships: Value is not an array"))?;
        for m in ms {
            let project = m
                .get("project")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::missing("memberships.project"))?;
            let section = m.get("section").and_then(Value::as_str).map(str::to_owned);
            if let Some(sec) = &section {
                match s.sections.get(sec) {
                    Some(x) if x.project == project => {}
                    Some(_) => {
                        return Err(ApiError::bad(format!(
                            "memberships: section {sec} is not in project {project}"
                        )));
                    }
                    None => return Err(ApiError::unknown("section", sec)),
                }
            }
            memberships.retain(|(p, _)| p != project);
            memberships.push((project.to_owned(), section));
        }
    }
    // A task added to a project without a section lands in its first one: in Asana a
    // project's task always sits in a section.
    for (p, section) in &mut memberships {
        if section.is_none() {
            *section = s.first_section(p);
        }
    }
    let mut workspace = str_of(d, "workspace")?.map(str::to_owned);
    for (p, _) in &memberships {
        let project = s
            .projects
            .get(p)
            .ok_or_else(|| ApiError::unknown("project", p))?;
        match &workspace {
            Some(w) if *w != project.workspace => {
                return Err(ApiError::bad(
                    "workspace: The project is not in the given workspace",
                ));
            }
            _ => workspace = Some(project.workspace.clone()),
        }
    }
    let workspace = workspace.ok_or_else(|| ApiError::missing("workspace"))?;
    if !s.workspaces.contains_key(&workspace) {
        return Err(ApiError::unknown("workspace", &workspace));
    }
    check_due(d)?;
    let assignee = match str_of(d, "assignee")? {
        Some(a) => Some(user_gid(s, me, "assignee", a)?),
        None => None,
    };
    let mut tags = Vec::new();
    for t in gid_list(d, "tags")? {
        if !s.tags.contains_key(&t) {
            return Err(ApiError::bad(format!("tags: Not a recognized ID: {t}")));
        }
        tags.push(t);
    }
    let mut followers = Vec::new();
    for f in gid_list(d, "followers")? {
        followers.push(user_gid(s, me, "followers", &f)?);
    }
    let projects: Vec<String> = memberships.iter().map(|(p, _)| p.clone()).collect();
    let values = field_values(s, &projects, d)?;
    let notes = match (str_of(d, "notes")?, str_of(d, "html_notes")?) {
        (Some(n), _) => n.to_owned(),
        (None, Some(h)) => strip_html(h),
        _ => String::new(),
    };
    let completed = d.get("completed").and_then(Value::as_bool).unwrap_or(false);
    let gid = s.gid();
    let now = s.now();
    let task = Task {
        gid: gid.clone(),
        name: str_of(d, "name")?.unwrap_or("").to_owned(),
        notes,
        completed,
        completed_at: completed.then_some(now),
        completed_by: completed.then(|| me.to_owned()),
        created_at: now,
        created_by: me.to_owned(),
        modified_at: now,
        due_on: str_of(d, "due_on")?.map(str::to_owned),
        due_at: str_of(d, "due_at")?.map(str::to_owned),
        assignee,
        workspace,
        memberships,
        tags,
        followers,
        values: values.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        stories: Vec::new(),
        external: d.get("external").cloned().filter(|e| !e.is_null()),
        resource_subtype: str_of(d, "resource_subtype")?
            .unwrap_or("default_task")
            .to_owned(),
    };
    let projects: Vec<String> = task.memberships.iter().map(|(p, _)| p.clone()).collect();
    s.tasks.insert(gid.clone(), task);
    // As Asana does: the task is `added` to each of its projects (the parent), or to nothing.
    let resource = s.compact_task(&gid);
    if projects.is_empty() {
        s.event(&gid, me, "added", resource.clone(), Value::Null, None);
    }
    for p in projects {
        let parent = super::wire::compact(&s.project_json(&p));
        s.event(&gid, me, "added", resource.clone(), parent, None);
    }
    Ok(gid)
}

/// Sets a story field unless the value is null (Asana leaves unset values out).
fn put(x: &mut Map<String, Value>, k: &str, v: Value) {
    if !v.is_null() {
        x.insert(k.to_owned(), v);
    }
}

const CREATE_ONLY: [&str; 5] = ["projects", "memberships", "tags", "followers", "workspace"];

fn update_task(s: &mut Data, me: &str, gid: &str, d: &Map<String, Value>) -> Result<(), ApiError> {
    for k in CREATE_ONLY {
        if d.contains_key(k) {
            return Err(ApiError::bad(format!(
                "{k}: Cannot write this property after creation; use the add/remove endpoints"
            )));
        }
    }
    let t = s.task(gid)?.clone();
    check_due(d)?;
    let projects: Vec<String> = t.memberships.iter().map(|(p, _)| p.clone()).collect();
    let values = field_values(s, &projects, d)?;
    let assignee = match d.get("assignee") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(Some(user_gid(
            s,
            me,
            "assignee",
            str_of(d, "assignee")?.unwrap_or_default(),
        )?)),
    };
    let mut next = t.clone();
    let mut stories: Vec<(&str, String, Map<String, Value>)> = Vec::new();
    let extra = |pairs: Vec<(&str, Value)>| -> Map<String, Value> {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    };
    if let Some(name) = str_of(d, "name")?
        && name != t.name
    {
        next.name = name.to_owned();
        stories.push((
            "name_changed",
            format!("changed the name to \"{name}\""),
            extra(vec![("old_name", json!(t.name)), ("new_name", json!(name))]),
        ));
    }
    let notes = match (str_of(d, "notes")?, str_of(d, "html_notes")?) {
        (Some(n), _) => Some(n.to_owned()),
        (None, Some(h)) => Some(strip_html(h)),
        _ => d.contains_key("notes").then(String::new),
    };
    if let Some(notes) = notes
        && notes != t.notes
    {
        next.notes = notes;
        stories.push((
            "notes_changed",
            "changed the description".into(),
            Map::new(),
        ));
    }
    if let Some(c) = d.get("completed").and_then(Value::as_bool)
        && c != t.completed
    {
        next.completed = c;
        if c {
            next.completed_at = Some(s.now());
            next.completed_by = Some(me.to_owned());
            stories.push((
                "marked_complete",
                "marked this task complete".into(),
                Map::new(),
            ));
        } else {
            next.completed_at = None;
            next.completed_by = None;
            stories.push(("marked_incomplete", "marked incomplete".into(), Map::new()));
        }
    }
    if let Some(a) = assignee
        && a != t.assignee
    {
        next.assignee = a.clone();
        match a {
            Some(u) => {
                let name = s.users.get(&u).map(|u| u.name.clone()).unwrap_or_default();
                stories.push((
                    "assigned",
                    format!("assigned to {name}"),
                    extra(vec![("assignee", s.compact_user(&u))]),
                ));
            }
            None => stories.push(("unassigned", "unassigned this task".into(), Map::new())),
        }
    }
    if d.contains_key("due_on") || d.contains_key("due_at") {
        next.due_on = str_of(d, "due_on")?.map(str::to_owned);
        next.due_at = str_of(d, "due_at")?.map(str::to_owned);
        if next.due_on != t.due_on || next.due_at != t.due_at {
            let dates = |t: &Task| {
                let mut d = Map::new();
                if let Some(on) = &t.due_on {
                    d.insert("due_on".into(), json!(on));
                }
                if let Some(at) = &t.due_at {
                    d.insert("due_at".into(), json!(at));
                }
                Value::Object(d)
            };
            let text = match &next.due_on {
                Some(on) => format!("changed the due date to {on}"),
                None => "removed the due date".into(),
            };
            stories.push((
                "due_date_changed",
                text,
                extra(vec![("old_dates", dates(&t)), ("new_dates", dates(&next))]),
            ));
        }
    }
    for (field, value) in values {
        let old = t.values.get(&field).cloned().unwrap_or(Value::Null);
        if old == value {
            continue;
        }
        if value.is_null() {
            next.values.remove(&field);
        } else {
            next.values.insert(field.clone(), value.clone());
        }
        let f = &s.fields[&field];
        let mut x = extra(vec![(
            "custom_field",
            super::wire::compact(&s.field_json(&field)),
        )]);
        let subtype = match f.subtype.as_str() {
            "text" => {
                put(&mut x, "old_text_value", old);
                put(&mut x, "new_text_value", value);
                "text_custom_field_changed"
            }
            "number" => {
                put(&mut x, "old_number_value", old);
                put(&mut x, "new_number_value", value);
                "number_custom_field_changed"
            }
            _ => {
                let opt = |v: &Value| {
                    v.as_str()
                        .and_then(|g| f.options.iter().find(|o| o.gid == g))
                        .map_or(Value::Null, Data::option_json)
                };
                put(&mut x, "old_enum_value", opt(&old));
                put(&mut x, "new_enum_value", opt(&value));
                "enum_custom_field_changed"
            }
        };
        stories.push((subtype, format!("changed {}", f.name), x));
    }
    for k in ["resource_subtype", "external"] {
        if let Some(v) = d.get(k) {
            match k {
                "resource_subtype" => {
                    next.resource_subtype = v.as_str().unwrap_or("default_task").to_owned();
                }
                _ => next.external = Some(v.clone()).filter(|e| !e.is_null()),
            }
        }
    }
    let changed = stories.len();
    if changed > 0 || next.resource_subtype != t.resource_subtype || next.external != t.external {
        next.modified_at = s.now();
    }
    s.tasks.insert(gid.to_owned(), next);
    // One `changed` event per field, with `change` naming it, as Asana sends them.
    let fields: Vec<(&str, Value)> = stories
        .iter()
        .map(|(subtype, _, x)| changed_field(subtype, x))
        .collect();
    for (subtype, text, x) in stories {
        s.add_story(gid, me, subtype, text, x);
    }
    for (field, new_value) in fields {
        let resource = s.compact_task(gid);
        let mut change = json!({"field": field, "action": "changed"});
        if !new_value.is_null() {
            change["new_value"] = new_value;
        }
        s.event(gid, me, "changed", resource, Value::Null, Some(change));
    }
    Ok(())
}

/// The task field a system story of an update records, and its new value when that is an
/// Asana resource (the event's `change.new_value`).
fn changed_field(subtype: &str, extra: &Map<String, Value>) -> (&'static str, Value) {
    match subtype {
        "name_changed" => ("name", Value::Null),
        "notes_changed" => ("notes", Value::Null),
        "marked_complete" | "marked_incomplete" => ("completed", Value::Null),
        "assigned" => (
            "assignee",
            extra.get("assignee").cloned().unwrap_or_default(),
        ),
        "unassigned" => ("assignee", Value::Null),
        "due_date_changed" => ("due_on", Value::Null),
        _ => ("custom_fields", Value::Null),
    }
}

pub(crate) async fn create(
    State(app): State<App>,
    Extension(Caller(me)): Extension<Caller>,
    Query(q): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    let body = parse_body(&headers, &body)?;
    let mut s = app.lock();
    let gid = create_task(&mut s, &me, &body.data)?;
    let v = s.task_json(&s.tasks[&gid]);
    let fields = opt_fields(&q, Some(&body));
    Ok(created(
        shape(&v, fields.as_deref(), false),
        &headers,
        &format!("tasks/{gid}"),
    ))
}

/// `GET /tasks/{gid}`, also `GET /tasks/external:{id}` for a task created with `external.gid`.
pub(crate) async fn get(State(app): State<App>, Path(gid): Path<String>, Query(q): Q) -> Res {
    let s = app.lock();
    let task = match gid.strip_prefix("external:") {
        Some(ext) => s
            .tasks
            .values()
            .find(|t| {
                t.external
                    .as_ref()
                    .and_then(|e| e.get("gid"))
                    .and_then(Value::as_str)
                    == Some(ext)
            })
            .ok_or_else(|| ApiError::unknown("task", &gid))?,
        None => {
            check_gid("task", &gid)?;
            s.task(&gid)?
        }
    };
    let v = s.task_json(task);
    Ok(ok(shape(&v, opt_fields(&q, None).as_deref(), false)))
}

pub(crate) async fn update(
    State(app): State<App>,
    Extension(Caller(me)): Extension<Caller>,
    Path(gid): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    check_gid("task", &gid)?;
    let body = parse_body(&headers, &body)?;
    let mut s = app.lock();
    update_task(&mut s, &me, &gid, &body.data)?;
    let v = s.task_json(s.task(&gid)?);
    Ok(ok(shape(&v, opt_fields(&q, Some(&body)).as_deref(), false)))
}

pub(crate) async fn delete(
    State(app): State<App>,
    Extension(Caller(me)): Extension<Caller>,
    Path(gid): Path<String>,
) -> Res {
    check_gid("task", &gid)?;
    super::events::delete_task(&mut app.lock(), &me, &gid)?;
    Ok(ok(json!({})))
}

/// `POST /tasks/{gid}/addTag` and `removeTag`.
pub(crate) async fn tag_op(
    State(app): State<App>,
    Extension(Caller(me)): Extension<Caller>,
    Path((gid, op)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    check_gid("task", &gid)?;
    let body = parse_body(&headers, &body)?;
    let tag = str_of(&body.data, "tag")?
        .ok_or_else(|| ApiError::missing("tag"))?
        .to_owned();
    let mut s = app.lock();
    s.task(&gid)?;
    let tag_name = s
        .tags
        .get(&tag)
        .map(|t| t.name.clone())
        .ok_or_else(|| ApiError::bad(format!("tag: Not a recognized ID: {tag}")))?;
    let tag_json = super::wire::compact(&s.tag_json(&tag));
    let t = s.task_mut(&gid)?;
    let (subtype, text) = match op.as_str() {
        "addTag" if !t.tags.contains(&tag) => {
            t.tags.push(tag);
            ("added_to_tag", format!("added to {tag_name}"))
        }
        "removeTag" if t.tags.contains(&tag) => {
            t.tags.retain(|x| *x != tag);
            ("removed_from_tag", format!("removed from {tag_name}"))
        }
        "addTag" | "removeTag" => return Ok(ok(json!({}))),
        _ => return Err(ApiError::new(404, "No matching route for request")),
    };
    let extra = [("tag".to_owned(), tag_json)].into_iter().collect();
    s.add_story(&gid, &me, subtype, text, extra);
    Ok(ok(json!({})))
}
