//! `PUT /rest/bug/{id_or_alias}`: every change validated first, then applied at once.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};

use super::App;
use super::bugs::{
    MAX_COMMENT, as_string, check_alias, check_cc, check_deadline, check_status_name, legal,
    string_list, truthy,
};
use super::error::BzError;
use super::req::BzReq;
use super::state::{
    Bug, Db, HistRec, KEYWORDS, OP_SYS, PLATFORMS, PRIORITIES, RESOLUTIONS, SEVERITIES,
    can_change_to, fmt_time, is_open, now,
};

type Changes = Vec<(String, String, String)>;

fn set_scalar(changes: &mut Changes, name: &'static str, slot: &mut String, value: String) {
    if *slot != value {
        changes.push((
            name.to_owned(),
            std::mem::replace(slot, value.clone()),
            value,
        ));
    }
}

/// Applies `{"add":[..],"remove":[..],"set":[..]}` (or a plain list, as `set`) to `list`.
fn set_like(
    changes: &mut Changes,
    name: &'static str,
    list: &mut Vec<String>,
    op: &Value,
    check: &mut dyn FnMut(&str) -> Result<String, BzError>,
) -> Result<(), BzError> {
    let before = list.clone();
    let mut next = list.clone();
    let (set, add, remove) = match op {
        Value::Object(o) => (
            o.get("set").cloned(),
            string_list(o.get("add").cloned()),
            string_list(o.get("remove").cloned()),
        ),
        other => (Some(other.clone()), Vec::new(), Vec::new()),
    };
    if let Some(set) = set {
        next.clear();
        for s in string_list(Some(set)) {
            let s = check(&s)?;
            if !next.contains(&s) {
                next.push(s);
            }
        }
    }
    for r in remove {
        next.retain(|x| !x.eq_ignore_ascii_case(&r));
    }
    for a in add {
        let a = check(&a)?;
        if !next.contains(&a) {
            next.push(a);
        }
    }
    let added: Vec<String> = next
        .iter()
        .filter(|x| !before.contains(x))
        .cloned()
        .collect();
    let removed: Vec<String> = before
        .iter()
        .filter(|x| !next.contains(x))
        .cloned()
        .collect();
    if !added.is_empty() || !removed.is_empty() {
        changes.push((name.to_owned(), removed.join(", "), added.join(", ")));
    }
    *list = next;
    Ok(())
}

/// `PUT /rest/bug/{id_or_alias}`: validates everything first, then applies; answers with
/// `changes` as comma-and-space joined strings.
pub async fn update(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    req: BzReq,
) -> Result<Json<Value>, BzError> {
    let mut db = app.lock();
    let who = req.login(&db, app.opts.bmo)?;
    let (user, bug_id) = db.writer_on_bug(&who, &id)?;
    let old = db.bugs[&bug_id].clone();
    if !user.editbugs && old.creator != user.login && old.assigned_to != user.login {
        return Err(BzError::new(
            109,
            format!("You are not authorized to edit bug {bug_id}."),
        ));
    }
    let product = db
        .products
        .iter()
        .find(|p| p.name == old.product)
        .cloned()
        .ok_or_else(|| BzError::new(106, "the bug's product is gone"))?;
    let mut bug = old.clone();
    let mut changes: Changes = Vec::new();
    let text = |name: &str| req.field(name).as_ref().and_then(as_string);

    if let Some(s) = text("summary") {
        let s = s.trim().to_owned();
        if s.is_empty() {
            return Err(BzError::new(107, "You must enter a summary for this bug."));
        }
        set_scalar(&mut changes, "summary", &mut bug.summary, s);
    }
    for (name, allowed) in [
        ("priority", &PRIORITIES[..]),
        ("severity", &SEVERITIES[..]),
        ("op_sys", &OP_SYS[..]),
        ("platform", &PLATFORMS[..]),
    ] {
        if let Some(v) = text(name) {
            let v = legal(name, &v, allowed)?;
            let slot = match name {
                "priority" => &mut bug.priority,
                "severity" => &mut bug.severity,
                "op_sys" => &mut bug.op_sys,
                _ => &mut bug.platform,
            };
            set_scalar(&mut changes, name, slot, v);
        }
    }
    if let Some(v) = text("version") {
        if !product.versions.contains(&v) {
            return Err(BzError::new(
                51,
                format!(
                    "There is no version named '{v}' in the '{}' product.",
                    product.name
                ),
            ));
        }
        set_scalar(&mut changes, "version", &mut bug.version, v);
    }
    if let Some(c) = text("component") {
        if c.trim().is_empty() {
            return Err(BzError::new(105, super::bugs::NO_COMPONENT));
        }
        if !product.components.iter().any(|x| x.name == c) {
            return Err(BzError::new(
                51,
                format!(
                    "There is no component named '{c}' in the '{}' product.",
                    product.name
                ),
            ));
        }
        set_scalar(&mut changes, "component", &mut bug.component, c);
    }
    for name in ["url", "whiteboard", "target_milestone"] {
        if let Some(v) = text(name) {
            let slot = match name {
                "url" => &mut bug.url,
                "whiteboard" => &mut bug.whiteboard,
                _ => &mut bug.target_milestone,
            };
            set_scalar(&mut changes, name, slot, v);
        }
    }
    if let Some(q) = text("qa_contact") {
        let q = if q.is_empty() {
            q
        } else {
            db.check_user(&q)?.login.clone()
        };
        set_scalar(&mut changes, "qa_contact", &mut bug.qa_contact, q);
    }
    if truthy(req.field("reset_assigned_to")) {
        let default = product
            .components
            .iter()
            .find(|c| c.name == bug.component)
            .map(|c| c.default_assignee.clone())
            .unwrap_or_default();
        set_scalar(&mut changes, "assigned_to", &mut bug.assigned_to, default);
    } else if let Some(a) = text("assigned_to") {
        if a.trim().is_empty() {
            return Err(BzError::new(
                50,
                "You cannot reassign to a bug to nobody. Unless you intentionally cleared out the \"Reassign bug to\" field, Bugzilla has failed to determine the new assignee.",
            ));
        }
        let a = db.check_user(&a)?.login.clone();
        set_scalar(&mut changes, "assigned_to", &mut bug.assigned_to, a);
    }
    if let Some(d) = req.field("deadline") {
        let d = check_deadline(&as_string(&d).unwrap_or_default())?;
        if d != bug.deadline {
            changes.push((
                "deadline".to_owned(),
                bug.deadline.clone().unwrap_or_default(),
                d.clone().unwrap_or_default(),
            ));
            bug.deadline = d;
        }
    }
    if let Some(op) = req.field("cc") {
        let db_ref: &Db = &db;
        set_like(&mut changes, "cc", &mut bug.cc, &op, &mut |c| {
            check_cc(db_ref, c)
        })?;
    }
    if let Some(op) = req.field("keywords") {
        set_like(&mut changes, "keywords", &mut bug.keywords, &op, &mut |k| {
            if KEYWORDS.contains(&k) {
                Ok(k.to_owned())
            } else {
                Err(BzError::new(
                    51,
                    format!("There is no keyword named '{k}'."),
                ))
            }
        })?;
    }
    if let Some(op) = req.field("alias") {
        let db_ref: &Db = &db;
        set_like(&mut changes, "alias", &mut bug.alias, &op, &mut |a| {
            check_alias(db_ref, a, Some(bug_id)).map(|()| a.to_owned())
        })?;
    }
    apply_status(&db, &req, &old, &mut bug, &mut changes)?;
    for (name, _, _) in db.custom_fields.clone() {
        if let Some(v) = req.field(&name)
            && let Some(text) = db.check_custom(&name, &v)?
        {
            let before = bug.custom.get(&name).cloned().unwrap_or_default();
            if before != text {
                changes.push((name.clone(), before, text.clone()));
                bug.custom.insert(name, text);
            }
        }
    }

    let comment = match req.field("comment") {
        Some(Value::Object(c)) => {
            let body = c
                .get("body")
                .or_else(|| c.get("comment"))
                .and_then(as_string)
                .unwrap_or_default();
            let private = truthy(c.get("is_private").cloned());
            if private && !user.insider {
                return Err(BzError::new(
                    113,
                    "You are not allowed to make comments private.",
                ));
            }
            if body.chars().count() > MAX_COMMENT {
                return Err(BzError::new(
                    114,
                    format!("Comments cannot be longer than {MAX_COMMENT} characters."),
                ));
            }
            (!body.trim().is_empty()).then_some((body, private))
        }
        Some(Value::String(s)) if !s.trim().is_empty() => Some((s, false)),
        _ => None,
    };

    if comment.is_none()
        && old.status != bug.status
        && db
            .comment_required
            .contains(&(old.status.clone(), bug.status.clone()))
    {
        return Err(BzError::new(
            32000,
            format!(
                "You have to specify a comment when changing the Status of a bug from {} to {}.",
                old.status, bug.status
            ),
        ));
    }
    let at = now();
    if !changes.is_empty() || comment.is_some() {
        bug.last_change_time = at;
    }
    if !changes.is_empty() {
        db.history.entry(bug_id).or_default().push(HistRec {
            when: at,
            who: user.login.clone(),
            changes: changes.clone(),
        });
    }
    for a in &old.alias {
        if !bug.alias.contains(a) {
            db.aliases.remove(a);
        }
    }
    for a in &bug.alias {
        db.aliases.insert(a.clone(), bug_id);
    }
    if let Some((body, private)) = comment {
        db.push_comment(bug_id, body, &user.login, private, at);
    }
    let mut change_map = Map::new();
    for (f, r, a) in &changes {
        change_map.insert(f.clone(), json!({ "added": a, "removed": r }));
    }
    let answer = json!({ "bugs": [{
        "id": bug_id,
        "alias": bug.alias,
        "last_change_time": fmt_time(bug.last_change_time),
        "changes": change_map,
    }]});
    db.bugs.insert(bug_id, bug);
    Ok(Json(answer))
}

/// The status and resolution rules: workflow (123), resolution needed to close (121), no
/// resolution on an open status (122), reopening clears the resolution, DUPLICATE needs
/// `dupe_of` (119).
fn apply_status(
    db: &Db,
    req: &BzReq,
    old: &Bug,
    bug: &mut Bug,
    changes: &mut Changes,
) -> Result<(), BzError> {
    let status = req.field("status").as_ref().and_then(as_string);
    let mut resolution = req.field("resolution").as_ref().and_then(as_string);
    let dupe_of = match req.field("dupe_of") {
        Some(Value::Null) | None => None,
        Some(v) => {
            let s = as_string(&v).unwrap_or_default();
            Some(db.resolve(&s)?)
        }
    };
    if let Some(r) = resolution.as_deref().filter(|r| !r.is_empty()) {
        resolution = Some(legal("resolution", r, &RESOLUTIONS)?);
    }
    let status = status.map(|s| check_status_name(&s)).transpose()?;
    let mut new_status = old.status.clone();
    if let Some(s) = status.filter(|s| *s != old.status) {
        if !can_change_to(&old.status).contains(&s.as_str()) {
            return Err(BzError::new(
                123,
                format!(
                    "You are not allowed to change the bug status from {} to {s}.",
                    old.status
                ),
            ));
        }
        new_status = s;
    } else if dupe_of.is_some() && is_open(&old.status) {
        new_status = "RESOLVED".into();
    }
    let mut new_resolution = old.resolution.clone();
    if is_open(&new_status) {
        if resolution.as_deref().is_some_and(|r| !r.is_empty()) {
            return Err(BzError::new(
                122,
                "You cannot set a resolution for open bugs.",
            ));
        }
        new_resolution.clear();
    } else {
        match resolution {
            Some(r) if !r.is_empty() => new_resolution = r,
            Some(_) => {
                return Err(BzError::new(
                    121,
                    "A valid resolution is required to mark bugs as RESOLVED.",
                ));
            }
            None if dupe_of.is_some() => new_resolution = "DUPLICATE".into(),
            None if is_open(&old.status) => {
                return Err(BzError::new(
                    121,
                    format!("A valid resolution is required to mark bugs as {new_status}."),
                ));
            }
            None => {}
        }
        if new_resolution == "DUPLICATE" && dupe_of.is_none() && old.dupe_of.is_none() {
            return Err(BzError::new(
                119,
                "You must specify a bug number of which this bug is a duplicate.",
            ));
        }
    }
    if let Some(d) = dupe_of {
        if d == old.id {
            return Err(BzError::new(
                118,
                "You can't mark a bug as a duplicate of itself.",
            ));
        }
        if old.dupe_of != Some(d) {
            changes.push((
                "dupe_of".to_owned(),
                old.dupe_of.map(|x| x.to_string()).unwrap_or_default(),
                d.to_string(),
            ));
            bug.dupe_of = Some(d);
        }
    }
    if new_resolution != "DUPLICATE" {
        bug.dupe_of = None;
    }
    if new_status != old.status {
        let confirmed = if new_status == "UNCONFIRMED" {
            false
        } else {
            old.is_confirmed || is_open(&new_status)
        };
        if confirmed != old.is_confirmed {
            let bit = |b: bool| if b { "1" } else { "0" }.to_owned();
            changes.push((
                "is_confirmed".to_owned(),
                bit(old.is_confirmed),
                bit(confirmed),
            ));
            bug.is_confirmed = confirmed;
        }
    }
    set_scalar(changes, "status", &mut bug.status, new_status);
    set_scalar(changes, "resolution", &mut bug.resolution, new_resolution);
    Ok(())
}
