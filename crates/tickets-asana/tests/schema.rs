//! Checks the fake Asana's answers and this crate's request bodies against the official
//! OpenAPI spec (`tests/data/asana_oas.yaml`, a copy kept in the repository, see the README
//! there; or the file named by `TICKETS_TEST_ASANA_OAS`). Every recorded exchange is matched to its spec operation; request
//! `data` is checked against the request body schema (no unknown or read-only fields, right
//! types), answers against the response schema of their status (strictly, i.e. no fields the
//! spec does not name, unless `opt_fields` asked for nested ones). Query strings are checked
//! too: every parameter must be one the operation declares, with a value its schema allows
//! (each `opt_fields` entry one of the operation's enum), for the scenario below and for every
//! request of a whole conformance run.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::{
    DynProvider, NewComment, NewTicket, Priority, Status, TicketPatch, TicketQuery,
};
use tickets_fakes::asana::{Exchange, FakeAsana};

/// The fake is not Asana: pace at 1,000 a second so the suites stay quick (pacing at
/// Asana's rate has its own tests).
const FAST: u32 = 60_000;

fn spec_path() -> PathBuf {
    match std::env::var_os("TICKETS_TEST_ASANA_OAS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/asana_oas.yaml"),
    }
}

/// YAML to JSON, with non-string keys (status codes) as strings.
fn to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => serde_yaml::to_string(&other)
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => to_json(t.value),
    }
}

struct Spec {
    root: Value,
}

/// A schema with `$ref` and `allOf` resolved into one view.
#[derive(Default)]
struct Flat {
    kind: Option<String>,
    nullable: bool,
    read_only: bool,
    create_only: bool,
    props: Map<String, Value>,
    required: Vec<String>,
    items: Option<Value>,
    enumeration: Option<Vec<Value>>,
    format: Option<String>,
    open: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Request,
    Response { strict: bool },
}

impl Spec {
    fn resolve<'a>(&'a self, s: &'a Value) -> &'a Value {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let mut v = &self.root;
                for part in r.trim_start_matches("#/").split('/') {
                    v = &v[part];
                }
                self.resolve(v)
            }
            None => s,
        }
    }

    fn flat(&self, s: &Value, out: &mut Flat) {
        let s = self.resolve(s);
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.flat(sub, out);
            }
        }
        if let Some(t) = s.get("type").and_then(Value::as_str) {
            out.kind = Some(t.to_owned());
        }
        out.nullable |= s.get("nullable") == Some(&json!(true));
        out.read_only |= s.get("readOnly") == Some(&json!(true));
        out.create_only |= s
            .get("description")
            .and_then(Value::as_str)
            .is_some_and(|d| d.contains("Create-only"));
        if let Some(p) = s.get("properties").and_then(Value::as_object) {
            out.props.extend(p.clone());
        }
        if let Some(r) = s.get("required").and_then(Value::as_array) {
            out.required
                .extend(r.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        if let Some(i) = s.get("items") {
            out.items = Some(i.clone());
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array) {
            out.enumeration = Some(e.clone());
        }
        if let Some(f) = s.get("format").and_then(Value::as_str) {
            out.format = Some(f.to_owned());
        }
        out.open |= s
            .get("additionalProperties")
            .is_some_and(|a| a != &json!(false));
    }

    fn check(&self, schema: &Value, v: &Value, at: &str, mode: Mode, errors: &mut Vec<String>) {
        let mut f = Flat::default();
        self.flat(schema, &mut f);
        if v.is_null() {
            // An event's `parent` "will be null for other event types" (EventResponse.parent's
            // description), though its schema is not marked nullable.
            let documented_null = at.contains(" /events?") && at.ends_with(".parent");
            if !f.nullable && f.kind.is_some() && !documented_null {
                errors.push(format!("{at}: null, but the schema is not nullable"));
            }
            return;
        }
        let ok = match f.kind.as_deref() {
            None => true,
            Some("string") => v.is_string(),
            Some("boolean") => v.is_boolean(),
            Some("integer") => v.is_i64() || v.is_u64(),
            Some("number") => v.is_number(),
            Some("array") => v.is_array(),
            Some("object") => v.is_object(),
            Some(_) => true,
        };
        // Requests may name a referenced object by its gid (`"project": "1209..."`).
        let gid_ref = mode == Mode::Request && v.is_string() && f.props.contains_key("gid");
        if !ok && !gid_ref {
            errors.push(format!(
                "{at}: {v} is not of type {}",
                f.kind.unwrap_or_default()
            ));
            return;
        }
        if let (Some(e), Some(_)) = (&f.enumeration, v.as_str())
            && !e.contains(v)
        {
            if e.len() > 12 {
                errors.push(format!(
                    "{at}: {v} is not one of the {} values allowed",
                    e.len()
                ));
            } else {
                errors.push(format!("{at}: {v} is not one of {e:?}"));
            }
        }
        if let (Some(fmt), Some(s)) = (&f.format, v.as_str()) {
            let good = match fmt.as_str() {
                "date-time" => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
                "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
                _ => true,
            };
            if !good {
                errors.push(format!("{at}: {s:?} is not a valid {fmt}"));
            }
        }
        if let (Some(items), Some(arr)) = (&f.items, v.as_array()) {
            for (i, x) in arr.iter().enumerate() {
                self.check(items, x, &format!("{at}[{i}]"), mode, errors);
            }
        }
        if let Some(obj) = v.as_object() {
            for r in &f.required {
                if !obj.contains_key(r) {
                    errors.push(format!("{at}: required field {r} is missing"));
                }
            }
            for (k, x) in obj {
                let at = format!("{at}.{k}");
                match f.props.get(k) {
                    Some(p) => {
                        if mode == Mode::Request {
                            let mut pf = Flat::default();
                            self.flat(p, &mut pf);
                            if pf.read_only && !pf.create_only {
                                errors.push(format!("{at}: read-only field sent in a request"));
                            }
                        }
                        self.check(p, x, &at, mode, errors);
                    }
                    None if f.open || f.props.is_empty() => {}
                    None if matches!(mode, Mode::Response { strict: false }) => {}
                    None => errors.push(format!("{at}: not a field of this schema")),
                }
            }
        }
    }

    /// The spec path template matching a concrete path (most literal segments wins).
    fn operation(&self, method: &str, path: &str) -> Option<(&str, &Value)> {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let paths = self.root["paths"].as_object()?;
        paths
            .iter()
            .filter_map(|(tpl, item)| {
                let t: Vec<&str> = tpl.trim_matches('/').split('/').collect();
                if t.len() != segs.len() {
                    return None;
                }
                let mut literal = 0;
                for (a, b) in t.iter().zip(&segs) {
                    if a.starts_with('{') {
                        continue;
                    }
                    if a != b {
                        return None;
                    }
                    literal += 1;
                }
                let op = item.get(method.to_lowercase())?;
                Some((literal, tpl.as_str(), op))
            })
            .max_by_key(|(l, _, _)| *l)
            .map(|(_, t, op)| (t, op))
    }

    fn body_schema<'a>(&'a self, holder: &'a Value) -> Option<&'a Value> {
        let holder = self.resolve(holder);
        let schema = self.resolve(
            holder
                .get("content")?
                .get("application/json")?
                .get("schema")?,
        );
        Some(schema)
    }

    /// The query parameters an operation declares (its own and its path's), by name.
    fn query_params(&self, tpl: &str, op: &Value) -> Map<String, Value> {
        let path_level = &self.root["paths"][tpl]["parameters"];
        [path_level, &op["parameters"]]
            .into_iter()
            .filter_map(Value::as_array)
            .flatten()
            .map(|p| self.resolve(p))
            .filter(|p| p["in"] == "query")
            .filter_map(|p| Some((p["name"].as_str()?.to_owned(), p.clone())))
            .collect()
    }

    /// Checks a request's query string: every parameter is one the operation declares, each
    /// value fits its schema, and each `opt_fields` entry is in the operation's enum.
    fn check_query(&self, tpl: &str, op: &Value, x: &Exchange, at: &str, errors: &mut Vec<String>) {
        let declared = self.query_params(tpl, op);
        for (name, value) in url::form_urlencoded::parse(x.query.as_bytes()) {
            let Some(param) = declared.get(name.as_ref()) else {
                errors.push(format!(
                    "{at}: query parameter {name} is not one of {tpl}'s"
                ));
                continue;
            };
            let schema = self.resolve(&param["schema"]);
            let mut f = Flat::default();
            self.flat(schema, &mut f);
            let at = format!("{at}: query {name}");
            if f.kind.as_deref() == Some("array") {
                let items = f.items.clone().unwrap_or(Value::Null);
                for (i, v) in value.split(',').enumerate() {
                    self.check(
                        &items,
                        &json!(v),
                        &format!("{at}[{i}]"),
                        Mode::Request,
                        errors,
                    );
                }
                continue;
            }
            let v = match f.kind.as_deref() {
                Some("integer") => match value.parse::<i64>() {
                    Ok(n) => json!(n),
                    Err(_) => {
                        errors.push(format!("{at}: {value:?} is not an integer"));
                        continue;
                    }
                },
                Some("boolean") => match value.as_ref() {
                    "true" => json!(true),
                    "false" => json!(false),
                    _ => {
                        errors.push(format!("{at}: {value:?} is not a boolean"));
                        continue;
                    }
                },
                _ => json!(value),
            };
            self.check(schema, &v, &at, Mode::Request, errors);
        }
    }

    /// Checks one exchange; returns the operation it matched.
    fn exchange(&self, x: &Exchange, errors: &mut Vec<String>) -> Option<String> {
        let (tpl, op) = self.operation(&x.method, &x.path)?;
        let name = format!("{} {tpl}", x.method);
        let at = format!("{} {}?{}", x.method, x.path, x.query);
        self.check_query(tpl, op, x, &at, errors);
        if let (Some(body), Some(rb)) = (&x.request, op.get("requestBody")) {
            match self.body_schema(rb) {
                Some(schema) => self.check(
                    schema,
                    body,
                    &format!("request of {at}"),
                    Mode::Request,
                    errors,
                ),
                None => errors.push(format!("{at}: the spec has no JSON request body")),
            }
        }
        let responses = &op["responses"];
        let code = x.status.to_string();
        let resp = responses.get(&code).or_else(|| responses.get("default"));
        let Some(resp) = resp else {
            errors.push(format!("{at}: status {code} is not documented for {name}"));
            return Some(name);
        };
        let strict = !x.query.contains("opt_fields");
        if let (Some(schema), Some(body)) = (self.body_schema(resp), &x.response) {
            // The 412 of /events carries `sync` beside `errors`, as documented in prose.
            let mode = Mode::Response {
                strict: strict && x.status != 412,
            };
            self.check(schema, body, &format!("answer of {at}"), mode, errors);
        }
        Some(name)
    }
}

async fn raw(fake: &FakeAsana, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut r = reqwest::Client::new()
        .request(method, format!("{}{path}", fake.base_url()))
        .bearer_auth(fake.token());
    if let Some(b) = body {
        r = r.json(&json!({ "data": b }));
    }
    r.send().await.unwrap().json().await.unwrap_or(Value::Null)
}

/// Drives the provider (both priority styles) and raw calls through every endpoint it uses.
async fn scenario(fake: &FakeAsana) {
    let start = raw(
        fake,
        reqwest::Method::GET,
        &format!("/events?resource={}", fake.project()),
        None,
    )
    .await;
    let start = start["sync"].as_str().unwrap().to_owned();
    let config = AsanaConfig::new(fake.token(), fake.project())
        .base_url(fake.base_url())
        .requests_per_minute(FAST);
    let mut enum_config = config.clone();
    enum_config.priority_field = Some("Priority".into());
    for config in [config, enum_config] {
        let p: DynProvider = Arc::new(AsanaProvider::new(config).unwrap());
        let t = p
            .create(
                NewTicket::new("Schema check")
                    .description("Checked against the spec")
                    .priority(Priority::High)
                    .assignee("alice@example.com")
                    .tag("schema")
                    .due(chrono::NaiveDate::from_ymd_opt(2031, 5, 17).unwrap())
                    .custom_field("customer", "ACME")
                    .custom_field("severity", 2)
                    .idempotency_key(format!("schema-{}", uuid_like())),
            )
            .await
            .unwrap();
        p.update(
            &t.id,
            TicketPatch::new()
                .subject("Renamed")
                .clear_assignee()
                .clear_due()
                .priority(Priority::Low)
                .tags(["other"])
                .clear_custom_field("customer"),
        )
        .await
        .unwrap();
        p.change_status(&t.id, Status::Resolved).await.unwrap();
        p.add_comment(&t.id, NewComment::new("hello").author("Alice"))
            .await
            .unwrap();
        p.comments(&t.id).await.unwrap();
        p.history(&t.id).await.unwrap();
        p.list(&TicketQuery::new().page_size(1)).await.unwrap();
        p.list(&TicketQuery::new().tag("other").status(Status::New))
            .await
            .unwrap();
        p.list(&TicketQuery::new().updated_since(t.created_at))
            .await
            .unwrap();
        let feed = p.changes(None).await.unwrap();
        p.changes(Some(&feed.next)).await.unwrap();
    }
    // Default renderings (no opt_fields): these are checked strictly.
    let (w, pr) = (fake.workspace().to_owned(), fake.project().to_owned());
    let get = reqwest::Method::GET;
    let task = raw(
        fake,
        reqwest::Method::POST,
        "/tasks",
        Some(json!({"name": "raw", "projects": [pr]})),
    )
    .await;
    let gid = task["data"]["gid"].as_str().unwrap().to_owned();
    for path in [
        format!("/tasks/{gid}"),
        format!("/projects/{pr}/tasks?limit=1"),
        format!("/tasks?project={pr}&limit=2"),
        "/users/me".into(),
        "/users/alice@example.com".into(),
        format!("/projects/{pr}"),
        format!("/workspaces/{w}"),
        format!("/projects/{pr}/sections?limit=5"),
        format!("/workspaces/{w}/tags?limit=5"),
        format!("/projects/{pr}/custom_field_settings"),
        format!("/events?resource={pr}"),
        "/tasks/1209999999999999".into(),
        "/tasks".into(),
    ] {
        raw(fake, get.clone(), &path, None).await;
    }
    let listed = fake.project_tasks();
    for t in &listed {
        for s in fake.stories(t) {
            raw(
                fake,
                get.clone(),
                &format!("/stories/{}", s["gid"].as_str().unwrap()),
                None,
            )
            .await;
        }
    }
    let settings = raw(
        fake,
        get.clone(),
        &format!("/projects/{pr}/custom_field_settings"),
        None,
    )
    .await;
    for s in settings["data"].as_array().unwrap() {
        let f = s["custom_field"]["gid"].as_str().unwrap();
        raw(fake, get.clone(), &format!("/custom_fields/{f}"), None).await;
        if s["custom_field"]["type"] == "enum" {
            let path = format!("/custom_fields/{f}/enum_options");
            raw(
                fake,
                reqwest::Method::POST,
                &path,
                Some(json!({"name": "Someday"})),
            )
            .await;
        }
    }
    raw(
        fake,
        reqwest::Method::POST,
        &format!("/tasks/{gid}/removeProject"),
        Some(json!({"project": pr})),
    )
    .await;
    // Every kind of event the scenario made: tasks added, changed, removed; stories added.
    let mut sync = start;
    loop {
        let e = raw(
            fake,
            get.clone(),
            &format!("/events?resource={pr}&sync={sync}"),
            None,
        )
        .await;
        sync = e["sync"].as_str().unwrap().to_owned();
        if e["has_more"] != true {
            break;
        }
    }
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// The spec, or `None` (reported as skipped) when it cannot be read.
fn load_spec() -> Option<Spec> {
    let path = spec_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(Spec {
            root: to_json(serde_yaml::from_str(&text).expect("the spec parses")),
        }),
        Err(e) => {
            tickets_testkit::skipped(&format!(
                "the OpenAPI schema check ({} cannot be read: {e})",
                path.display()
            ))
            .unwrap();
            None
        }
    }
}

/// Every request of the conformance suite (query parameters, `opt_fields` values and bodies)
/// and every answer of the fake to it match the spec.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_of_the_conformance_run_matches_the_spec() {
    let Some(spec) = load_spec() else { return };
    // The checker refuses what the spec's enums do not name.
    let mut found = Vec::new();
    let x = Exchange {
        method: "GET".into(),
        path: "/tasks/12".into(),
        query: "opt_fields=name,assignee.email&opt_pretty=maybe&tag=1".into(),
        request: None,
        status: 200,
        response: None,
    };
    spec.exchange(&x, &mut found);
    assert_eq!(found.len(), 3, "{found:?}");

    let fake = FakeAsana::start().await.unwrap();
    let config = AsanaConfig::new(fake.token(), fake.project())
        .base_url(fake.base_url())
        .requests_per_minute(FAST);
    let p: DynProvider = Arc::new(AsanaProvider::new(config).unwrap());
    fake.record(true);
    let options = tickets_testkit::SuiteOptions::default()
        .unknown_id("1209999999999999")
        .keyed_comments(true);
    tickets_testkit::run_with(p, options).await;
    let exchanges = fake.exchanges();
    let mut errors = Vec::new();
    for x in &exchanges {
        if spec.exchange(x, &mut errors).is_none() {
            errors.push(format!(
                "{} {} matches no operation of the spec",
                x.method, x.path
            ));
        }
    }
    errors.sort();
    errors.dedup();
    assert!(
        errors.is_empty(),
        "{} problems:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(exchanges.len() > 100, "{} exchanges", exchanges.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_answers_and_client_requests_match_the_spec() {
    let Some(spec) = load_spec() else { return };
    // The checker itself catches what it should.
    let task = json!({"$ref": "#/components/schemas/TaskResponse"});
    let mut found = Vec::new();
    let bad = json!({"gid": "1", "completed": "yes", "due_on": "17.5.2031", "invented": 1});
    spec.check(
        &task,
        &bad,
        "bad",
        Mode::Response { strict: true },
        &mut found,
    );
    assert_eq!(found.len(), 3, "{found:?}");
    let create = json!({"$ref": "#/components/schemas/TaskCreateRequest"});
    let mut found = Vec::new();
    spec.check(
        &create,
        &json!({"name": "x", "created_at": "2026-01-01T00:00:00Z"}),
        "req",
        Mode::Request,
        &mut found,
    );
    assert_eq!(
        found.len(),
        1,
        "read-only fields are refused in requests: {found:?}"
    );

    let fake = FakeAsana::start().await.unwrap();
    fake.record(true);
    scenario(&fake).await;
    let exchanges = fake.exchanges();
    let mut errors = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    for x in &exchanges {
        match spec.exchange(x, &mut errors) {
            Some(op) => {
                covered.insert(op);
            }
            None => errors.push(format!(
                "{} {} matches no operation of the spec",
                x.method, x.path
            )),
        }
    }
    errors.sort();
    errors.dedup();
    assert!(
        errors.is_empty(),
        "{} problems:\n{}",
        errors.len(),
        errors.join("\n")
    );
    for op in [
        "POST /tasks",
        "PUT /tasks/{task_gid}",
        "GET /tasks/{task_gid}",
        "GET /tasks",
        "POST /tasks/{task_gid}/stories",
        "GET /tasks/{task_gid}/stories",
        "POST /projects/{project_gid}/sections",
        "POST /sections/{section_gid}/addTask",
        "POST /tasks/{task_gid}/addTag",
        "POST /tasks/{task_gid}/removeTag",
        "POST /tags",
        "POST /custom_fields",
        "POST /custom_fields/{custom_field_gid}/enum_options",
        "POST /projects/{project_gid}/addCustomFieldSetting",
        "GET /projects/{project_gid}/custom_field_settings",
        "GET /users/{user_gid}",
        "GET /stories/{story_gid}",
        "GET /events",
        "POST /tasks/{task_gid}/removeProject",
    ] {
        assert!(
            covered.contains(op),
            "{op} was not exercised; covered: {covered:?}"
        );
    }
    println!(
        "checked {} exchanges over {} operations",
        exchanges.len(),
        covered.len()
    );
}
