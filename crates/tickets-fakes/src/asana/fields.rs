//! Custom fields (text, number, enum) and their settings on projects; premium only.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value};

use super::App;
use super::paging::page;
use super::state::{CustomField, EnumOption};
use super::wire::{ApiError, check_gid, created, ok, opt_fields, parse_body, shape};

type Q = Query<HashMap<String, String>>;
type Res = Result<Response, ApiError>;

fn text<'a>(d: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    d.get(k).and_then(Value::as_str)
}

/// `GET /projects/{gid}/custom_field_settings`.
pub(crate) async fn field_settings(
    State(app): State<App>,
    Path(p): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    check_gid("project", &p)?;
    let s = app.lock();
    let project = s
        .projects
        .get(&p)
        .ok_or_else(|| ApiError::unknown("project", &p))?;
    let fields = opt_fields(&q, None);
    let items = project
        .settings
        .iter()
        .map(|(g, f)| {
            (
                g.clone(),
                shape(&s.setting_json(g, &p, f), fields.as_deref(), true),
            )
        })
        .collect();
    page(
        items,
        &q,
        &format!("/projects/{p}/custom_field_settings"),
        &headers,
    )
}

/// `POST /projects/{gid}/addCustomFieldSetting`.
pub(crate) async fn add_field_setting(
    State(app): State<App>,
    Path(p): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    check_gid("project", &p)?;
    let body = parse_body(&headers, &body)?;
    let field = text(&body.data, "custom_field")
        .ok_or_else(|| ApiError::missing("custom_field"))?
        .to_owned();
    let mut s = app.lock();
    let ws = s
        .projects
        .get(&p)
        .ok_or_else(|| ApiError::unknown("project", &p))?
        .workspace
        .clone();
    if !s.workspace_premium(&ws) {
        return Err(ApiError::premium("Custom fields"));
    }
    if !s.fields.contains_key(&field) {
        return Err(ApiError::bad(format!(
            "custom_field: Not a recognized ID: {field}"
        )));
    }
    if s.projects[&p].settings.iter().any(|(_, f)| *f == field) {
        return Err(ApiError::bad(format!(
            "custom_field: Custom field {field} is already on this project"
        )));
    }
    let setting = s.gid();
    if let Some(project) = s.projects.get_mut(&p) {
        project.settings.push((setting.clone(), field.clone()));
    }
    Ok(ok(super::wire::full(&s.setting_json(&setting, &p, &field))))
}

/// `POST /custom_fields`: `text`, `number` or `enum` (with `enum_options`).
pub(crate) async fn create_field(
    State(app): State<App>,
    Query(q): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    let body = parse_body(&headers, &body)?;
    let d = &body.data;
    let w = text(d, "workspace")
        .ok_or_else(|| ApiError::missing("workspace"))?
        .to_owned();
    let name = text(d, "name")
        .ok_or_else(|| ApiError::missing("name"))?
        .to_owned();
    let subtype = text(d, "resource_subtype")
        .or_else(|| text(d, "type"))
        .ok_or_else(|| ApiError::missing("resource_subtype"))?
        .to_owned();
    if !["text", "number", "enum"].contains(&subtype.as_str()) {
        return Err(ApiError::bad(format!(
            "resource_subtype: this fake supports text, number and enum, not {subtype}"
        )));
    }
    let mut s = app.lock();
    if !s.workspaces.contains_key(&w) {
        return Err(ApiError::unknown("workspace", &w));
    }
    if !s.workspace_premium(&w) {
        return Err(ApiError::premium("Custom fields"));
    }
    if s.fields
        .values()
        .any(|f| f.workspace == w && f.name.eq_ignore_ascii_case(&name))
    {
        return Err(ApiError::bad(format!(
            "name: A custom field named {name} already exists in this workspace"
        )));
    }
    let mut options = Vec::new();
    for o in d
        .get("enum_options")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let oname = o
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let color = o
            .get("color")
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_owned();
        options.push(EnumOption {
            gid: s.gid(),
            name: oname,
            enabled: true,
            color,
        });
    }
    let gid = s.gid();
    s.fields.insert(
        gid.clone(),
        CustomField {
            gid: gid.clone(),
            name,
            workspace: w,
            subtype,
            options,
        },
    );
    let v = s.field_json(&gid);
    Ok(created(
        shape(&v, opt_fields(&q, Some(&body)).as_deref(), false),
        &headers,
        &format!("custom_fields/{gid}"),
    ))
}

pub(crate) async fn field(State(app): State<App>, Path(g): Path<String>, Query(q): Q) -> Res {
    check_gid("custom_field", &g)?;
    let s = app.lock();
    if !s.fields.contains_key(&g) {
        return Err(ApiError::unknown("custom_field", &g));
    }
    Ok(ok(shape(
        &s.field_json(&g),
        opt_fields(&q, None).as_deref(),
        false,
    )))
}

/// `POST /custom_fields/{gid}/enum_options`.
pub(crate) async fn create_option(
    State(app): State<App>,
    Path(g): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    check_gid("custom_field", &g)?;
    let body = parse_body(&headers, &body)?;
    let name = text(&body.data, "name")
        .ok_or_else(|| ApiError::missing("name"))?
        .to_owned();
    let color = text(&body.data, "color").unwrap_or("none").to_owned();
    let mut s = app.lock();
    let field = s
        .fields
        .get(&g)
        .ok_or_else(|| ApiError::unknown("custom_field", &g))?;
    if field.subtype != "enum" {
        return Err(ApiError::bad("custom_field: Not an enum custom field"));
    }
    if field.options.len() >= 500 {
        return Err(ApiError::bad(
            "enum_options: A custom field has at most 500 options",
        ));
    }
    let gid = s.gid();
    let option = EnumOption {
        gid: gid.clone(),
        name,
        enabled: true,
        color,
    };
    let v = super::state::State::option_json(&option);
    if let Some(f) = s.fields.get_mut(&g) {
        f.options.push(option);
    }
    Ok(created(v, &headers, &format!("enum_options/{gid}")))
}

/// `GET /workspaces/{gid}/custom_fields`.
pub(crate) async fn workspace_fields(
    State(app): State<App>,
    Path(w): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
) -> Res {
    check_gid("workspace", &w)?;
    let s = app.lock();
    if !s.workspaces.contains_key(&w) {
        return Err(ApiError::unknown("workspace", &w));
    }
    let fields = opt_fields(&q, None);
    let items = s
        .fields
        .values()
        .filter(|f| f.workspace == w)
        .map(|f| {
            (
                f.gid.clone(),
                shape(&s.field_json(&f.gid), fields.as_deref(), true),
            )
        })
        .collect();
    page(
        items,
        &q,
        &format!("/workspaces/{w}/custom_fields"),
        &headers,
    )
}
