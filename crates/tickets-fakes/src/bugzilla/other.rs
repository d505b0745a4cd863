//! Comments, history, fields, users, products, version, `valid_login`, `whoami` (BMO only).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::App;
use super::bugs::MAX_COMMENT;
use super::error::BzError;
use super::req::BzReq;
use super::state::{
    CLOSED_STATUSES, Db, KEYWORDS, OP_SYS, OPEN_STATUSES, PLATFORMS, PRIORITIES, RESOLUTIONS,
    SEVERITIES, can_change_to, fmt_time, is_open, now,
};

fn since(req: &BzReq) -> Result<Option<chrono::DateTime<chrono::Utc>>, BzError> {
    req.one("new_since")
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| BzError::new(55, format!("'{s}' is not a valid date/time.")))
        })
        .transpose()
}

/// `GET /rest/bug/{id}/comment` -> `{"bugs":{"<id>":{"comments":[...]}},"comments":{}}`.
pub async fn comments(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    req: BzReq,
) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    let caller = req.caller(&db, app.opts.bmo)?;
    let insider = caller
        .as_deref()
        .and_then(|c| db.user(c))
        .is_some_and(|u| u.insider);
    // The path's bug and the query's `ids` merge (as Bugzilla merges list parameters), so
    // `/bug/1/comment?ids=2&ids=3` answers three bugs; any missing or hidden one fails all.
    let mut ids = vec![id];
    ids.extend(req.all("ids"));
    let since = since(&req)?;
    let mut bugs = Map::new();
    for id in ids {
        let bug_id = db.resolve(&id)?;
        db.check_visible(bug_id, caller.as_deref())?;
        let list: Vec<Value> = db
            .comments_by_bug
            .get(&bug_id)
            .into_iter()
            .flatten()
            .map(|i| &db.comments[*i])
            .filter(|c| insider || !c.is_private)
            .filter(|c| since.is_none_or(|s| c.time >= s))
            .map(Db::render_comment)
            .collect();
        bugs.insert(bug_id.to_string(), json!({ "comments": list }));
    }
    Ok(Json(json!({ "bugs": bugs, "comments": {} })))
}

/// `POST /rest/bug/{id}/comment` -> 201 `{"id":N}`.
pub async fn add_comment(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    req: BzReq,
) -> Result<(StatusCode, Json<Value>), BzError> {
    let mut db = app.lock();
    let who = req.login(&db, app.opts.bmo)?;
    let (user, bug_id) = db.writer_on_bug(&who, &id)?;
    let text = req
        .one("comment")
        .or_else(|| req.one("text"))
        .unwrap_or_default();
    if text.trim().is_empty() {
        return Err(BzError::param_required("comment"));
    }
    if text.chars().count() > MAX_COMMENT {
        return Err(BzError::new(
            114,
            format!("Comments cannot be longer than {MAX_COMMENT} characters."),
        ));
    }
    let private = matches!(req.field("is_private"), Some(Value::Bool(true)))
        || req
            .one("is_private")
            .is_some_and(|p| p == "1" || p == "true");
    if private && !user.insider {
        return Err(BzError::new(
            113,
            "You are not allowed to make comments private.",
        ));
    }
    let at = now();
    let cid = db.push_comment(bug_id, text, &user.login, private, at);
    if let Some(bug) = db.bugs.get_mut(&bug_id) {
        bug.last_change_time = at;
    }
    Ok((StatusCode::CREATED, Json(json!({ "id": cid }))))
}

/// `GET /rest/bug/{id}/history` -> `{"bugs":[{"id","alias","history":[...]}]}`.
pub async fn history(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    req: BzReq,
) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    let caller = req.caller(&db, app.opts.bmo)?;
    let bug_id = db.resolve(&id)?;
    db.check_visible(bug_id, caller.as_deref())?;
    let since = since(&req)?;
    // A real 5.0.6 folds every change one user made within one second into one group, the
    // changes in order (so a field may appear twice: `CONFIRMED -> RESOLVED`, then
    // `RESOLVED -> VERIFIED`).
    let mut history: Vec<Value> = Vec::new();
    for h in db
        .history
        .get(&bug_id)
        .into_iter()
        .flatten()
        .filter(|h| since.is_none_or(|s| h.when >= s))
    {
        let when = fmt_time(h.when);
        let changes = h
            .changes
            .iter()
            .map(|(f, r, a)| json!({"field_name": f, "removed": r, "added": a}));
        match history.last_mut() {
            Some(last) if last["when"] == when.as_str() && last["who"] == h.who.as_str() => {
                if let Some(list) = last["changes"].as_array_mut() {
                    list.extend(changes);
                }
            }
            _ => history.push(json!({
                "when": when,
                "who": h.who,
                "changes": changes.collect::<Vec<_>>(),
            })),
        }
    }
    let alias = &db.bugs[&bug_id].alias;
    Ok(Json(
        json!({ "bugs": [{ "id": bug_id, "alias": alias, "history": history }] }),
    ))
}

fn simple_values(values: &[&str]) -> Vec<Value> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"name": v, "sort_key": (i as u64 + 1) * 100, "sortkey": (i as u64 + 1) * 100, "visibility_values": [], "is_active": true}))
        .collect()
}

fn field(id: u64, name: &str, display: &str, kind: u64, values: Vec<Value>) -> Value {
    json!({
        "id": id, "name": name, "display_name": display, "type": kind,
        "is_custom": false, "is_mandatory": false, "is_on_bug_entry": false,
        "visibility_field": null, "visibility_values": [], "value_field": null,
        "values": values,
    })
}

fn status_values(db: &Db) -> Vec<Value> {
    let entry = |name: Option<&str>, open: Option<bool>, sort: u64| {
        let from = name.unwrap_or("");
        let to: Vec<Value> = can_change_to(from)
            .iter()
            .map(|s| {
                let required = db
                    .comment_required
                    .contains(&(from.to_owned(), (*s).to_owned()));
                json!({"name": s, "comment_required": required})
            })
            .collect();
        json!({"name": name, "sort_key": sort, "sortkey": sort, "is_open": open,
               "visibility_values": [], "can_change_to": to})
    };
    // The unnamed first value lists the statuses a new bug may get.
    let mut v = vec![entry(None, None, 0)];
    for (i, s) in OPEN_STATUSES
        .iter()
        .chain(CLOSED_STATUSES.iter())
        .enumerate()
    {
        v.push(entry(Some(s), Some(is_open(s)), (i as u64 + 1) * 100));
    }
    v
}

fn all_fields(db: &Db) -> Vec<Value> {
    let products: Vec<&str> = db.products.iter().map(|p| p.name.as_str()).collect();
    let mut resolutions = vec![""];
    resolutions.extend(RESOLUTIONS);
    let mut fields = vec![
        field(1, "bug_id", "Bug ID", 0, vec![]),
        field(2, "short_desc", "Summary", 1, vec![]),
        field(3, "product", "Product", 2, simple_values(&products)),
        field(4, "version", "Version", 2, vec![]),
        field(5, "rep_platform", "Hardware", 2, simple_values(&PLATFORMS)),
        field(6, "op_sys", "OS", 2, simple_values(&OP_SYS)),
        field(7, "bug_status", "Status", 2, status_values(db)),
        field(
            8,
            "resolution",
            "Resolution",
            2,
            simple_values(&resolutions),
        ),
        field(9, "priority", "Priority", 2, simple_values(&PRIORITIES)),
        field(
            10,
            "bug_severity",
            "Severity",
            2,
            simple_values(&SEVERITIES),
        ),
        field(11, "keywords", "Keywords", 8, simple_values(&KEYWORDS)),
        field(12, "component", "Component", 2, vec![]),
        field(13, "status_whiteboard", "Whiteboard", 1, vec![]),
    ];
    for (i, (name, display, kind)) in db.custom_fields.iter().enumerate() {
        let mut f = field(100 + i as u64, name, display, *kind, vec![]);
        f["is_custom"] = json!(true);
        fields.push(f);
    }
    fields
}

/// `GET /rest/field/bug` -> every field.
pub async fn fields(State(app): State<Arc<App>>, req: BzReq) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    req.caller(&db, app.opts.bmo)?;
    let names = req.all("names");
    let fields: Vec<Value> = all_fields(&db)
        .into_iter()
        .filter(|f| names.is_empty() || names.iter().any(|n| f["name"] == n.as_str()))
        .collect();
    Ok(Json(json!({ "fields": fields })))
}

/// `GET /rest/field/bug/{id_or_name}` -> `{"fields":[one]}`; API names are accepted too.
pub async fn field_by_name(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    req: BzReq,
) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    req.caller(&db, app.opts.bmo)?;
    let wanted = match name.as_str() {
        "status" => "bug_status",
        "severity" => "bug_severity",
        "platform" => "rep_platform",
        "summary" => "short_desc",
        "whiteboard" => "status_whiteboard",
        other => other,
    };
    all_fields(&db)
        .into_iter()
        .find(|f| {
            f["name"] == wanted || f["id"].as_u64().is_some_and(|id| id.to_string() == wanted)
        })
        .map(|f| Json(json!({ "fields": [f] })))
        .ok_or_else(|| BzError::new(51, format!("There is no field named '{name}'.")))
}

fn render_user(db: &Db, login: &str, logged_in: bool) -> Value {
    let u = db.user(login);
    let mut v = json!({
        "id": u.map(|u| u.id), "name": login,
        "real_name": u.map(|u| u.real_name.clone()),
        "can_login": u.is_some_and(|u| u.can_login),
    });
    if logged_in {
        v["email"] = json!(login);
    }
    v
}

/// `GET /rest/user/{id_or_login}` -> `{"users":[...]}`.
pub async fn user(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    req: BzReq,
) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    let caller = req.caller(&db, app.opts.bmo)?;
    let found = match id.parse::<u64>() {
        Ok(_) if caller.is_none() => return Err(BzError::new(505, IDS_LOGGED_OUT)),
        Ok(n) => db.users.iter().find(|u| u.id == n),
        Err(_) => db.user(&id),
    };
    let login = found
        .map(|u| u.login.clone())
        .ok_or_else(|| BzError::new(51, format!("There is no user named '{id}'. Either you mis-typed the name or that user has not yet registered for a Bugzilla account.")))?;
    Ok(Json(
        json!({ "users": [render_user(&db, &login, caller.is_some())] }),
    ))
}

/// Code 505 (HTTP 401): anonymous callers may not look users up by id.
const IDS_LOGGED_OUT: &str = "Logged-out users cannot use the \"ids\" argument to this function \
                              to access any user information.";

/// `GET /rest/user?names=..&ids=..&match=..` -> `{"users":[...]}`; `match` needs a login.
pub async fn users(State(app): State<Arc<App>>, req: BzReq) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    let caller = req.caller(&db, app.opts.bmo)?;
    let mut out = Vec::new();
    for n in req.all("names") {
        let u = db.check_user(&n)?;
        out.push(render_user(&db, &u.login, caller.is_some()));
    }
    let ids = req.all("ids");
    if !ids.is_empty() && caller.is_none() {
        return Err(BzError::new(505, IDS_LOGGED_OUT));
    }
    // An unknown id is left out (a real 5.0.6 answers `{"users":[]}`), unlike an unknown name.
    for i in ids {
        if let Some(u) = db.users.iter().find(|u| u.id.to_string() == i) {
            out.push(render_user(&db, &u.login, true));
        }
    }
    let matches = req.all("match");
    if !matches.is_empty() {
        if caller.is_none() {
            return Err(BzError::login_required());
        }
        for m in matches {
            let m = m.to_lowercase();
            for u in db.users.iter().filter(|u| {
                u.login.to_lowercase().contains(&m) || u.real_name.to_lowercase().contains(&m)
            }) {
                out.push(render_user(&db, &u.login, true));
            }
        }
    }
    Ok(Json(json!({ "users": out })))
}

fn render_product(p: &super::state::Product) -> Value {
    json!({
        "id": p.id, "name": p.name, "description": format!("The {} product", p.name),
        "is_active": true, "default_milestone": "---", "has_unconfirmed": true,
        "classification": "Unclassified",
        "components": p.components.iter().enumerate().map(|(i, c)| json!({
            "id": c.id, "name": c.name, "description": format!("The {} component", c.name),
            "default_assigned_to": c.default_assignee, "default_qa_contact": "",
            "sort_key": i, "is_active": true, "flag_types": {"bug": [], "attachment": []},
        })).collect::<Vec<_>>(),
        "versions": p.versions.iter().enumerate().map(|(i, v)| json!({
            "id": i + 1, "name": v, "sort_key": 0, "is_active": true,
        })).collect::<Vec<_>>(),
        "milestones": [{"id": 1, "name": "---", "sort_key": 0, "is_active": true}],
    })
}

/// `GET /rest/product/{id_or_name}` -> `{"products":[...]}`.
pub async fn product(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    req: BzReq,
) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    req.caller(&db, app.opts.bmo)?;
    // Bugzilla turns the path into `ids` (all digits) or `names` and merges the query's list
    // parameters in, so `/product/get?names=P` answers P (`get` is just an unknown name);
    // unknown products are left out.
    let (mut names, mut ids) = (req.all("names"), req.all("ids"));
    if id.bytes().all(|b| b.is_ascii_digit()) {
        ids.push(id);
    } else {
        names.push(id);
    }
    let list: Vec<Value> = db
        .products
        .iter()
        .filter(|p| names.contains(&p.name) || ids.contains(&p.id.to_string()))
        .map(render_product)
        .collect();
    Ok(Json(json!({ "products": list })))
}

/// `GET /rest/product?names=..&ids=..` -> `{"products":[...]}`.
pub async fn products(State(app): State<Arc<App>>, req: BzReq) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    req.caller(&db, app.opts.bmo)?;
    let names = req.all("names");
    let ids = req.all("ids");
    let list: Vec<Value> = db
        .products
        .iter()
        .filter(|p| names.contains(&p.name) || ids.contains(&p.id.to_string()))
        .map(render_product)
        .collect();
    Ok(Json(json!({ "products": list })))
}

/// `GET /rest/product_accessible` (and `_enterable`, `_selectable`) -> `{"ids":[...]}`.
pub async fn product_ids(State(app): State<Arc<App>>, req: BzReq) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    req.caller(&db, app.opts.bmo)?;
    Ok(Json(
        json!({ "ids": db.products.iter().map(|p| p.id).collect::<Vec<_>>() }),
    ))
}

/// `GET /rest/version`.
pub async fn version(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({ "version": app.opts.version }))
}

/// `GET /rest/time` -> the server's clock, as a real 5.0.6 answers it (UTC).
pub async fn time() -> Json<Value> {
    let t = fmt_time(now());
    Json(json!({
        "db_time": t, "web_time": t, "web_time_utc": t,
        "tz_name": "UTC", "tz_offset": "+0000", "tz_short_name": "UTC",
    }))
}

/// `GET /rest/valid_login?login=&api_key=` -> `{"result":bool}`.
pub async fn valid_login(State(app): State<Arc<App>>, req: BzReq) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    let login = req
        .one("login")
        .ok_or_else(|| BzError::param_required("login"))?;
    let ok = req
        .one("api_key")
        .or_else(|| req.one("Bugzilla_api_key"))
        .and_then(|k| {
            db.user_by_key(&k)
                .map(|u| u.login.eq_ignore_ascii_case(&login))
        })
        .unwrap_or(false);
    Ok(Json(json!({ "result": ok })))
}

/// `GET /rest/whoami` (master/BMO only) -> `{"id","name","real_name"}`.
pub async fn whoami(State(app): State<Arc<App>>, req: BzReq) -> Result<Json<Value>, BzError> {
    let db = app.lock();
    let who = req.login(&db, app.opts.bmo)?;
    let u = db.check_user(&who)?;
    Ok(Json(
        json!({ "id": u.id, "name": u.login, "real_name": u.real_name }),
    ))
}
