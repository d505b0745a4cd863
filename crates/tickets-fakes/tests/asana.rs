//! The fake Asana over HTTP: auth, envelope, tasks, sections, tags, stories, lists, custom
//! fields, events and faults, as a client sees them.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tickets_fakes::asana::FakeAsana;

struct Api {
    fake: FakeAsana,
    http: reqwest::Client,
}

impl Api {
    async fn new() -> Self {
        Self {
            fake: FakeAsana::start().await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.fake.base_url())
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut r = self
            .http
            .request(method, self.url(path))
            .bearer_auth(self.fake.token());
        if let Some(b) = body {
            r = r.json(&json!({ "data": b }));
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let v = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, headers, v)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, _, v) = self.call(reqwest::Method::GET, path, None).await;
        (s, v)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, v) = self.call(reqwest::Method::POST, path, Some(body)).await;
        (s, v)
    }

    async fn task(&self, name: &str) -> String {
        let (s, v) = self
            .post(
                "/tasks",
                json!({"name": name, "projects": [self.fake.project()]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["data"]["gid"].as_str().unwrap().to_owned()
    }
}

fn message(v: &Value) -> &str {
    v["errors"][0]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn auth_is_bearer_and_failures_are_asanas_401() {
    let api = Api::new().await;
    let r = api.http.get(api.url("/users/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"errors": [{"message": "Not Authorized", "help": message_help()}]})
    );
    let r = api
        .http
        .get(api.url("/users/me"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, me) = api.get("/users/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["data"]["email"], "bot@example.com");
    assert_eq!(me["data"]["resource_type"], "user");
    let (_, alice) = api.get("/users/alice@example.com").await;
    let gid = alice["data"]["gid"].as_str().unwrap().to_owned();
    let (_, again) = api.get(&format!("/users/{gid}")).await;
    assert_eq!(again["data"]["name"], "Alice Example");
    let other = api.fake.add_token(&gid);
    let r = api
        .http
        .get(api.url("/users/me"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["data"]["gid"],
        gid.as_str()
    );
    api.fake.revoke_token(&other);
    let r = api
        .http
        .get(api.url("/users/me"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a revoked token is refused"
    );
    let r = api
        .http
        .post(format!("{}/_fake/asana/revoke", api.fake.url()))
        .json(&json!({"token": api.fake.token()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(api.get("/users/me").await.0, StatusCode::UNAUTHORIZED);
}

fn message_help() -> &'static str {
    "For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors"
}

#[tokio::test]
async fn tasks_are_created_read_updated_and_deleted() {
    let api = Api::new().await;
    let (s, v) = api.post("/tasks", json!({"name": "x"})).await;
    assert_eq!(
        (s, message(&v)),
        (StatusCode::BAD_REQUEST, "workspace: Missing input")
    );
    let (s, h, v) = api
        .call(reqwest::Method::POST, "/tasks", Some(json!({"name": "Printer", "notes": "Tray 2",
            "projects": [api.fake.project()], "assignee": "alice@example.com", "due_on": "2031-05-17"})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let gid = v["data"]["gid"].as_str().unwrap().to_owned();
    assert!(gid.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(
        h["location"].to_str().unwrap(),
        api.url(&format!("/tasks/{gid}"))
    );
    assert_eq!(v["data"]["assignee"]["name"], "Alice Example");
    assert!(
        v["data"].get("html_notes").is_none(),
        "html_notes is opt-in"
    );
    let (_, got) = api
        .get(&format!("/tasks/{gid}?opt_fields=name,assignee.email"))
        .await;
    assert_eq!(
        got["data"],
        json!({"gid": gid, "name": "Printer", "assignee": {"gid": v["data"]["assignee"]["gid"], "email": "alice@example.com"}})
    );

    let before = v["data"]["modified_at"].as_str().unwrap().to_owned();
    let (s, _, upd) = api
        .call(
            reqwest::Method::PUT,
            &format!("/tasks/{gid}"),
            Some(json!({"completed": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        upd["data"]["name"], "Printer",
        "a partial update keeps other fields"
    );
    assert!(upd["data"]["completed_at"].is_string());
    assert!(upd["data"]["modified_at"].as_str().unwrap() > before.as_str());
    let (s, _, bad) = api
        .call(
            reqwest::Method::PUT,
            &format!("/tasks/{gid}"),
            Some(json!({"tags": []})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    let (s, ext) = api
        .post(
            "/tasks",
            json!({"name": "ext", "projects": [api.fake.project()], "external": {"gid": "our-42", "data": "{}"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, by_ext) = api.get("/tasks/external:our-42").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(by_ext["data"]["gid"], ext["data"]["gid"]);
    assert_eq!(by_ext["data"]["external"]["gid"], "our-42");
    assert_eq!(
        api.get("/tasks/external:nope").await.0,
        StatusCode::NOT_FOUND
    );
    let (s, _, del) = api
        .call(reqwest::Method::DELETE, &format!("/tasks/{gid}"), None)
        .await;
    assert_eq!((s, del), (StatusCode::OK, json!({"data": {}})));
    let (s, v) = api.get(&format!("/tasks/{gid}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(message(&v).contains("Unknown object"));
    assert_eq!(api.get("/tasks/abc").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(api.get("/no/such/route").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sections_tags_and_system_stories() {
    let api = Api::new().await;
    let p = api.fake.project().to_owned();
    let (s, todo) = api
        .post(&format!("/projects/{p}/sections"), json!({"name": "To do"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, doing) = api
        .post(&format!("/projects/{p}/sections"), json!({"name": "Doing"}))
        .await;
    let (todo, doing) = (
        todo["data"]["gid"].as_str().unwrap(),
        doing["data"]["gid"].as_str().unwrap(),
    );
    let (s, t) = api
        .post(
            "/tasks",
            json!({"name": "t", "memberships": [{"project": p, "section": todo}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let gid = t["data"]["gid"].as_str().unwrap();
    assert_eq!(t["data"]["memberships"][0]["section"]["name"], "To do");
    let (s, v) = api
        .post(&format!("/sections/{doing}/addTask"), json!({"task": gid}))
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!({"data": {}})));
    let (s, tag) = api
        .post(
            "/tags",
            json!({"name": "High", "workspace": api.fake.workspace()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let tag = tag["data"]["gid"].as_str().unwrap();
    api.post(&format!("/tasks/{gid}/addTag"), json!({"tag": tag}))
        .await;
    let (_, c) = api
        .post(&format!("/tasks/{gid}/stories"), json!({"text": "hello"}))
        .await;
    assert_eq!(c["data"]["resource_subtype"], "comment_added");
    assert_eq!(c["data"]["type"], "comment");
    // Story text is kept as sent, an idempotency marker line included.
    let marked = "[Alice] +1\n\n[tickets-key:k-1]";
    let (_, m) = api
        .post(&format!("/tasks/{gid}/stories"), json!({"text": marked}))
        .await;
    assert_eq!(m["data"]["text"], marked);
    let stored = api.fake.stories(gid);
    assert_eq!(stored.last().unwrap()["text"], marked);
    api.post(&format!("/tasks/{gid}/removeTag"), json!({"tag": tag}))
        .await;
    let (_, stories) = api.get(&format!("/tasks/{gid}/stories")).await;
    let subtypes: Vec<&str> = stories["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["resource_subtype"].as_str().unwrap())
        .collect();
    assert_eq!(
        subtypes,
        [
            "section_changed",
            "added_to_tag",
            "comment_added",
            "comment_added",
            "removed_from_tag"
        ]
    );
    let full = api.fake.stories(gid);
    assert_eq!(full[0]["new_section"]["name"], "Doing");
    assert_eq!(full[0]["old_section"]["name"], "To do");
    let (_, tagged) = api.get(&format!("/tasks?tag={tag}")).await;
    assert_eq!(tagged["data"], json!([]));
    assert_eq!(
        api.fake.section_names(),
        ["Untitled section", "To do", "Doing"]
    );
}

#[tokio::test]
async fn lists_paginate_and_filter() {
    let api = Api::new().await;
    let p = api.fake.project().to_owned();
    let mut gids = Vec::new();
    for i in 0..5 {
        gids.push(api.task(&format!("t{i}")).await);
    }
    let (s, v) = api.get("/tasks").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let mut seen = Vec::new();
    let mut path = format!("/tasks?project={p}&limit=2");
    loop {
        let (s, v) = api.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            v["data"][0].as_object().unwrap().len(),
            4,
            "compact records: {v}"
        );
        seen.extend(
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["gid"].as_str().unwrap().to_owned()),
        );
        match v["next_page"].as_object() {
            Some(next) => path = next["path"].as_str().unwrap().to_owned(),
            None => {
                assert!(
                    v["next_page"].is_null(),
                    "an explicit null on the last page"
                );
                break;
            }
        }
    }
    assert_eq!(seen, gids);
    assert_eq!(
        api.get(&format!("/tasks?project={p}&limit=2&offset=bogus"))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        api.get(&format!("/tasks?project={p}&limit=101")).await.0,
        StatusCode::BAD_REQUEST
    );
    let (_, all) = api.get(&format!("/projects/{p}/tasks")).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 5);
    assert!(all.get("next_page").is_none(), "no next_page without limit");

    api.call(
        reqwest::Method::PUT,
        &format!("/tasks/{}", gids[0]),
        Some(json!({"completed": true})),
    )
    .await;
    let (_, open) = api
        .get(&format!("/tasks?project={p}&completed_since=now"))
        .await;
    assert_eq!(open["data"].as_array().unwrap().len(), 4);
    let (_, t) = api
        .get(&format!("/tasks/{}?opt_fields=modified_at", gids[0]))
        .await;
    let since = t["data"]["modified_at"].as_str().unwrap();
    let (_, changed) = api
        .get(&format!("/tasks?project={p}&modified_since={since}"))
        .await;
    assert_eq!(changed["data"].as_array().unwrap().len(), 1);
    assert_eq!(changed["data"][0]["gid"], gids[0].as_str());
}

#[tokio::test]
async fn custom_fields_need_premium_and_validate() {
    let api = Api::new().await;
    let p = api.fake.project().to_owned();
    let (s, f) = api
        .post(
            "/custom_fields",
            json!({"workspace": api.fake.workspace(), "name": "Priority",
        "resource_subtype": "enum", "enum_options": [{"name": "High"}, {"name": "Low"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let field = f["data"]["gid"].as_str().unwrap().to_owned();
    let high = f["data"]["enum_options"][0]["gid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = api
        .post(
            "/tasks",
            json!({"name": "x", "projects": [p], "custom_fields": {field.clone(): high}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "not on the project yet: {v}");
    api.post(
        &format!("/projects/{p}/addCustomFieldSetting"),
        json!({"custom_field": field}),
    )
    .await;
    let (_, settings) = api
        .get(&format!("/projects/{p}/custom_field_settings"))
        .await;
    assert_eq!(settings["data"][0]["custom_field"]["name"], "Priority");
    let (s, v) = api
        .post(
            "/tasks",
            json!({"name": "x", "projects": [p], "custom_fields": {field.clone(): high}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["data"]["custom_fields"][0]["enum_value"]["name"], "High");
    assert_eq!(v["data"]["custom_fields"][0]["display_value"], "High");
    let (s, _) = api
        .post(
            "/tasks",
            json!({"name": "x", "projects": [p], "custom_fields": {field.clone(): "123"}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "not an option");
    api.fake.set_premium(false);
    let (s, v) = api
        .post(
            "/tasks",
            json!({"name": "x", "projects": [p], "custom_fields": {field: high}}),
        )
        .await;
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED, "{v}");
    let (s, v) = api
        .get(&format!(
            "/workspaces/{}/tasks/search?text=x",
            api.fake.workspace()
        ))
        .await;
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED);
    assert!(message(&v).contains("premium"));
}

#[tokio::test]
async fn events_start_with_412_and_then_stream() {
    let api = Api::new().await;
    let p = api.fake.project().to_owned();
    let (s, v) = api.get(&format!("/events?resource={p}")).await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    let sync = v["sync"].as_str().unwrap().to_owned();
    assert!(message(&v).contains("Sync token invalid"));
    let gid = api.task("evented").await;
    api.post(&format!("/tasks/{gid}/stories"), json!({"text": "c"}))
        .await;
    let (s, v) = api.get(&format!("/events?resource={p}&sync={sync}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let actions: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["added", "added"]);
    assert_eq!(v["data"][1]["resource"]["resource_type"], "story");
    assert_eq!(v["has_more"], false);
    let next = v["sync"].as_str().unwrap();
    let (_, v) = api.get(&format!("/events?resource={p}&sync={next}")).await;
    assert_eq!(v["data"], json!([]), "nothing new");
    assert_eq!(
        api.get(&format!("/events?resource={p}&sync=garbage"))
            .await
            .0,
        StatusCode::PRECONDITION_FAILED
    );
}

#[tokio::test]
async fn faults_render_as_asana_answers() {
    let api = Api::new().await;
    api.fake.faults().fail_next(1, 500);
    let (s, v) = api.get("/users/me").await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(v["errors"][0]["phrase"].is_string(), "{v}");
    api.fake.faults().set_requests_per_minute(1);
    assert_eq!(api.get("/users/me").await.0, StatusCode::OK);
    let (s, h, v) = api.call(reqwest::Method::GET, "/users/me", None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(h["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert!(message(&v).starts_with("You've made too many requests"));
    api.fake.faults().reset();
    // An injected 429 asks for the chosen wait, over HTTP as from Rust.
    let knobs = json!({"fail_next": {"count": 1, "status": 429}, "retry_after_secs": 9, "seed": 5});
    let r = api
        .http
        .post(format!("{}/_fake/faults", api.fake.url()))
        .json(&knobs)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, h, v) = api.call(reqwest::Method::GET, "/users/me", None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h["retry-after"], "9");
    assert!(message(&v).starts_with("You've made too many requests"));
    api.fake.faults().reset();
    let r = api
        .http
        .post(api.url("/tasks"))
        .bearer_auth(api.fake.token())
        .form(&[("name", "from a form"), ("projects", api.fake.project())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "form bodies are accepted");
    assert_eq!(
        r.json::<Value>().await.unwrap()["data"]["name"],
        "from a form"
    );
}

#[tokio::test]
async fn start_seeded_prints_a_usable_config() {
    let (server, info) = tickets_fakes::asana::start_seeded(0).await.unwrap();
    assert_eq!(info["provider"], "asana");
    for k in ["base_url", "token", "workspace", "project"] {
        assert!(info[k].is_string(), "{k} in {info}");
    }
    let r = reqwest::Client::new()
        .get(format!(
            "{}/projects/{}",
            info["base_url"].as_str().unwrap(),
            info["project"].as_str().unwrap()
        ))
        .bearer_auth(info["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    drop(server);
}

#[tokio::test]
async fn projects_always_have_a_section_and_tasks_always_sit_in_one() {
    let api = Api::new().await;
    let pr = api.fake.project().to_owned();
    let (s, v) = api.get(&format!("/projects/{pr}/sections")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"][0]["name"], "Untitled section", "{v}");
    let first = v["data"][0]["gid"].as_str().unwrap().to_owned();
    // A task added to the project without a section lands in the first section.
    let gid = api.task("no section given").await;
    let (_, t) = api
        .get(&format!("/tasks/{gid}?opt_fields=memberships.section.name"))
        .await;
    assert_eq!(
        t["data"]["memberships"][0]["section"]["gid"],
        first.as_str()
    );
    // So does one added later through addProject, to a new project with its own section.
    let other = api.fake.add_project("Other");
    let (_, v) = api.get(&format!("/projects/{other}/sections")).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
    let (s, _) = api
        .post(
            &format!("/tasks/{gid}/addProject"),
            json!({"project": other}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, t) = api.get(&format!("/tasks/{gid}")).await;
    let ms = t["data"]["memberships"].as_array().unwrap();
    assert_eq!(ms.len(), 2, "{t}");
    assert!(ms.iter().all(|m| m["section"]["gid"].is_string()), "{t}");
}

#[tokio::test]
async fn a_tasks_tags_are_listed() {
    let api = Api::new().await;
    let gid = api.task("tagged").await;
    let (_, tag) = api
        .post(
            "/tags",
            json!({"name": "urgent", "workspace": api.fake.workspace()}),
        )
        .await;
    let tag = tag["data"]["gid"].as_str().unwrap().to_owned();
    api.post(&format!("/tasks/{gid}/addTag"), json!({"tag": tag}))
        .await;
    let (s, v) = api.get(&format!("/tasks/{gid}/tags")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"][0]["gid"], tag.as_str(), "{v}");
    assert_eq!(v["data"][0]["name"], "urgent", "{v}");
    let (s, v) = api.get(&format!("/tasks/{gid}/tags?limit=1")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["next_page"].is_null(), "{v}");
    let (s, v) = api.get("/tasks/1209999999999999/tags").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!message(&v).is_empty());
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_asanas_404_envelope() {
    let api = Api::new().await;
    let gid = api.task("x").await;
    for (method, path) in [
        (reqwest::Method::GET, "/no/such/thing".to_owned()),
        (reqwest::Method::PATCH, format!("/tasks/{gid}")),
        (reqwest::Method::DELETE, "/users/me".to_owned()),
        (reqwest::Method::GET, format!("/tasks/{gid}/addTag")),
    ] {
        let (s, _, v) = api.call(method.clone(), &path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(
            message(&v),
            "No matching route for request",
            "{method} {path}: {v}"
        );
    }
}

#[tokio::test]
async fn attachments_upload_list_download_and_delete() {
    let api = Api::new().await;
    let gid = api.task("with a file").await;
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"parent\"\r\n\r\n{gid}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r_sum_.txt\"; \
         filename*=UTF-8''r%C3%A9sum%C3%A9.txt\r\nContent-Type: text/plain\r\n\r\nhi\r\nthere\r\n\
         --{boundary}--\r\n"
    );
    let resp = api
        .http
        .post(api.url("/attachments"))
        .bearer_auth(api.fake.token())
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "Asana answers 200, not 201");
    let v: Value = resp.json().await.unwrap();
    let a = v["data"]["gid"].as_str().unwrap().to_owned();
    assert_eq!(v["data"]["name"], "résumé.txt", "{v}");
    assert_eq!(v["data"]["size"], 9);
    assert_eq!(v["data"]["parent"]["gid"], gid.as_str());
    let (s, list) = api.get(&format!("/attachments?parent={gid}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["data"][0]["gid"], a.as_str(), "{list}");
    let (_, full) = api.get(&format!("/attachments/{a}")).await;
    let url = full["data"]["download_url"].as_str().unwrap().to_owned();
    // The download URL needs no token, like Asana's pre-signed URLs.
    let bytes = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), b"hi\r\nthere");
    let (s, _) = api.get("/attachments").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "parent is required");
    let (s, _, _) = api
        .call(reqwest::Method::DELETE, &format!("/attachments/{a}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = api.get(&format!("/attachments/{a}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    // A JSON body is refused with Asana's envelope.
    let (s, v) = api.post("/attachments", json!({"parent": gid})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("multipart"), "{v}");
}
