//! `POST /rest/bug`, `GET /rest/bug/{id_or_alias}`, and the checks shared with updates.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::App;
use super::error::BzError;
use super::req::BzReq;
use super::state::{
    Bug, CLOSED_STATUSES, Db, INITIAL_STATUSES, KEYWORDS, OP_SYS, OPEN_STATUSES, PLATFORMS,
    PRIORITIES, SEVERITIES, now,
};

/// Longest comment Bugzilla stores.
pub const MAX_COMMENT: usize = 65_535;

/// What Bugzilla calls a select field in "There is no <label> named 'x'.".
fn field_label(field: &str) -> &str {
    match field {
        "priority" => "Priority",
        "severity" => "Severity",
        "op_sys" => "OS",
        "platform" => "Hardware",
        "resolution" => "Resolution",
        other => other,
    }
}

/// A select field's value as Bugzilla 5.0.6 checks it: matched case-insensitively and stored
/// in the legal value's spelling (`"fixed"` -> `FIXED`); an unknown one is code 51 (HTTP 404)
/// "There is no Priority named 'x'.".
pub(super) fn legal(field: &str, value: &str, allowed: &[&str]) -> Result<String, BzError> {
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(value.trim()))
        .map(|a| (*a).to_owned())
        .ok_or_else(|| {
            BzError::new(
                51,
                format!("There is no {} named '{value}'.", field_label(field)),
            )
        })
}

/// A status name, matched case-insensitively like Bugzilla does (`in_progress` is
/// `IN_PROGRESS`); unknown (`REOPENED` on 5.x) is code 51.
pub(super) fn check_status_name(status: &str) -> Result<String, BzError> {
    OPEN_STATUSES
        .iter()
        .chain(CLOSED_STATUSES.iter())
        .find(|s| s.eq_ignore_ascii_case(status.trim()))
        .map(|s| (*s).to_owned())
        .ok_or_else(|| BzError::new(51, format!("There is no status named '{status}'.")))
}

pub(super) fn check_deadline(value: &str) -> Result<Option<String>, BzError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(|d| Some(d.to_string()))
        .map_err(|_| BzError::new(55, format!("The date '{value}' is not a legal date.")))
}

/// Alias rules of `Bugzilla::Bug::_check_alias`: at most 40 chars, not numeric, no comma or
/// space, unique.
pub fn check_alias(db: &Db, alias: &str, this_bug: Option<u64>) -> Result<(), BzError> {
    if alias.chars().count() > 40 {
        return Err(BzError::new(
            103,
            format!(
                "Bug aliases cannot be longer than 40 characters. Please choose a shorter alias than '{alias}'."
            ),
        ));
    }
    if alias.is_empty() || alias.chars().all(|c| c.is_ascii_digit()) {
        return Err(BzError::new(
            103,
            format!(
                "You gave an alias of '{alias}', but aliases cannot be merely numbers, since they could then be confused with bug IDs. Please choose an alias containing at least one letter."
            ),
        ));
    }
    if alias.contains(',') || alias.contains(char::is_whitespace) {
        return Err(BzError::new(
            103,
            format!(
                "The alias you chose ('{alias}') contains one or more commas or spaces. Aliases cannot contain commas or spaces."
            ),
        ));
    }
    if let Some(&other) = db.aliases.get(alias)
        && Some(other) != this_bug
    {
        return Err(BzError::new(
            103,
            format!(
                "{alias} has already been taken as an alias by bug {other}. Please choose another one."
            ),
        ));
    }
    Ok(())
}

pub(super) fn string_list(v: Option<Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some(String::new()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn truthy(v: Option<Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => s == "1" || s == "true",
        _ => false,
    }
}

pub(super) fn check_cc(db: &Db, who: &str) -> Result<String, BzError> {
    db.user(who).map(|u| u.login.clone()).ok_or_else(|| {
        BzError::new(
            504,
            format!("The name {who} is not a valid username. Either you misspelled it, or the person has not registered for a Bugzilla account."),
        )
    })
}

/// `POST /rest/bug` -> 200 `{"id":N}` (200, not 201: Bugzilla ignores the route's status code).
pub async fn create(State(app): State<Arc<App>>, req: BzReq) -> Result<Json<Value>, BzError> {
    let mut db = app.lock();
    let who = req.login(&db, app.opts.bmo)?;
    let user = db.check_user(&who)?.clone();
    let product_name = req.one("product").unwrap_or_default();
    let product = db
        .products
        .iter()
        .find(|p| p.name == product_name)
        .cloned()
        .ok_or_else(|| {
            if product_name.is_empty() {
                BzError::new(106, "You must select/enter a product.")
            } else {
                BzError::new(106, format!("Product '{product_name}' does not exist or you aren't allowed to enter bugs in it."))
            }
        })?;
    let component_name = req.one("component").unwrap_or_default();
    if component_name.is_empty() {
        return Err(BzError::new(105, NO_COMPONENT));
    }
    let component = product
        .components
        .iter()
        .find(|c| c.name == component_name)
        .cloned()
        .ok_or_else(|| {
            BzError::new(
                51,
                format!(
                    "There is no component named '{component_name}' in the '{}' product.",
                    product.name
                ),
            )
        })?;
    let summary = req.one("summary").unwrap_or_default().trim().to_owned();
    if summary.is_empty() {
        return Err(BzError::new(107, "You must enter a summary for this bug."));
    }
    if summary.chars().count() > 255 {
        return Err(BzError::new(
            104,
            "The text you entered in the summary field is too long.",
        ));
    }
    let version = req
        .one("version")
        .ok_or_else(|| BzError::new(50, "You must select/enter a version."))?;
    if !product.versions.contains(&version) {
        return Err(BzError::new(
            51,
            format!(
                "There is no version named '{version}' in the '{}' product.",
                product.name
            ),
        ));
    }
    let defaults = app.opts.os_platform_defaults;
    let op_sys = match req.one("op_sys") {
        Some(v) => legal("op_sys", &v, &OP_SYS)?,
        None if defaults => "All".into(),
        None => return Err(BzError::new(50, "You must select/enter a OS.")),
    };
    let platform = match req.one("platform").or_else(|| req.one("rep_platform")) {
        Some(v) => legal("platform", &v, &PLATFORMS)?,
        None if defaults => "All".into(),
        None => return Err(BzError::new(50, "You must select/enter a platform.")),
    };
    let priority = match req.one("priority") {
        Some(v) => legal("priority", &v, &PRIORITIES)?,
        None => "---".into(),
    };
    let severity = match req.one("severity") {
        Some(v) => legal("severity", &v, &SEVERITIES)?,
        None => "enhancement".into(),
    };
    let status = match req.one("status") {
        None if user.editbugs => "CONFIRMED".to_owned(),
        None => "UNCONFIRMED".to_owned(),
        Some(s) => {
            let s = check_status_name(&s)?;
            if !INITIAL_STATUSES.contains(&s.as_str()) {
                return Err(BzError::new(
                    123,
                    format!("You are not allowed to file new bugs with the {s} status."),
                ));
            }
            s
        }
    };
    if req.one("resolution").is_some_and(|r| !r.is_empty()) {
        return Err(BzError::new(
            122,
            "You cannot set a resolution for open bugs.",
        ));
    }
    // assigned_to is honoured only for users in editbugs; others get the component default.
    let assigned_to = match req.one("assigned_to").filter(|a| !a.is_empty()) {
        Some(a) if user.editbugs => db.check_user(&a)?.login.clone(),
        _ => component.default_assignee.clone(),
    };
    let qa_contact = match req.one("qa_contact").filter(|a| !a.is_empty()) {
        Some(q) => db.check_user(&q)?.login.clone(),
        None => String::new(),
    };
    let mut cc = Vec::new();
    for c in string_list(req.field("cc")) {
        let login = check_cc(&db, &c)?;
        if !cc.contains(&login) {
            cc.push(login);
        }
    }
    let mut keywords = Vec::new();
    for k in string_list(req.field("keywords")) {
        if !KEYWORDS.contains(&k.as_str()) {
            return Err(BzError::new(
                51,
                format!("There is no keyword named '{k}'."),
            ));
        }
        if !keywords.contains(&k) {
            keywords.push(k);
        }
    }
    let aliases = string_list(req.field("alias"));
    for a in &aliases {
        check_alias(&db, a, None)?;
    }
    let description = req.one("description").unwrap_or_default();
    if description.chars().count() > MAX_COMMENT {
        return Err(BzError::new(
            114,
            format!("Comments cannot be longer than {MAX_COMMENT} characters."),
        ));
    }
    let deadline = match req.one("deadline") {
        Some(d) => check_deadline(&d)?,
        None => None,
    };
    let mut groups = Vec::new();
    for g in string_list(req.field("groups")) {
        if g != "security" {
            return Err(BzError::new(51, format!("There is no group named '{g}'.")));
        }
        if !user.insider {
            return Err(BzError::new(
                120,
                format!(
                    "You tried to restrict a bug to the '{g}' group, which you are not a member of."
                ),
            ));
        }
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let mut custom = std::collections::BTreeMap::new();
    let names: Vec<String> = db.custom_fields.iter().map(|(n, _, _)| n.clone()).collect();
    for name in names {
        if let Some(v) = req.field(&name)
            && let Some(text) = db.check_custom(&name, &v)?
        {
            custom.insert(name, text);
        }
    }
    let at = now();
    let id = db.next_bug;
    db.next_bug += 1;
    let bug = Bug {
        id,
        alias: aliases.clone(),
        summary,
        is_confirmed: status != "UNCONFIRMED",
        status,
        resolution: String::new(),
        priority,
        severity,
        product: product.name.clone(),
        component: component.name.clone(),
        version,
        op_sys,
        platform,
        assigned_to,
        creator: user.login.clone(),
        qa_contact,
        cc,
        keywords,
        whiteboard: req.one("whiteboard").unwrap_or_default(),
        url: req.one("url").unwrap_or_default(),
        deadline,
        dupe_of: None,
        target_milestone: req.one("target_milestone").unwrap_or_else(|| "---".into()),
        groups,
        custom,
        creation_time: at,
        last_change_time: at,
    };
    for a in aliases {
        db.aliases.insert(a, id);
    }
    db.bugs.insert(id, bug);
    let private = truthy(req.field("comment_is_private")) && user.insider;
    db.push_comment(id, description, &user.login, private, at);
    Ok(Json(json!({ "id": id })))
}

/// Keeps only `include_fields` (minus `exclude_fields`) of a rendered object.
pub fn filter_fields(req: &BzReq, mut v: Value) -> Value {
    let split = |name: &str| -> Vec<String> {
        req.all(name)
            .iter()
            .flat_map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty())
            .collect()
    };
    let include = split("include_fields");
    let exclude = split("exclude_fields");
    if let Value::Object(map) = &mut v {
        let all = include.is_empty() || include.iter().any(|i| i == "_default" || i == "_all");
        if !all {
            map.retain(|k, _| include.contains(k));
        }
        map.retain(|k, _| !exclude.contains(k));
    }
    v
}

/// `GET /rest/bug/{id_or_alias}` -> `{"bugs":[...],"faults":[]}`.
pub async fn get(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    req: BzReq,
) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    let caller = req.caller(&db, app.opts.bmo)?;
    let mut bugs = Vec::new();
    for part in id.split(',').filter(|p| !p.trim().is_empty()) {
        let bug_id = db.resolve(part.trim())?;
        db.check_visible(bug_id, caller.as_deref())?;
        bugs.push(filter_fields(
            &req,
            db.render_bug(&db.bugs[&bug_id], caller.is_some()),
        ));
    }
    Ok(Json(json!({ "bugs": bugs, "faults": [] })))
}

/// Code 105, for a missing or empty component only (an unknown one is 51, HTTP 404), in a
/// real 5.0.6's words.
pub const NO_COMPONENT: &str =
    "To file this bug, you must first choose a component. If necessary, just guess.";
