//! The fake Asana's events API as a client sees it: the 412 protocol, token expiry, event
//! shapes (task changes, stories with the task as parent, deletions, project membership) and
//! paging at 100 events.

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

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.fake.base_url()))
            .bearer_auth(self.fake.token());
        if let Some(b) = body {
            r = r.json(&json!({ "data": b }));
        }
        let resp = r.send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn task(&self, name: &str, project: &str) -> String {
        let v = self
            .post("/tasks", json!({"name": name, "projects": [project]}))
            .await;
        v["data"]["gid"].as_str().unwrap().to_owned()
    }

    /// `(status, body)` of `GET /events`.
    async fn events(&self, resource: &str, sync: Option<&str>) -> (StatusCode, Value) {
        let mut url = format!("{}/events?resource={resource}", self.fake.base_url());
        if let Some(s) = sync {
            url.push_str(&format!("&sync={s}"));
        }
        let resp = self
            .http
            .get(url)
            .bearer_auth(self.fake.token())
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json().await.unwrap())
    }

    /// A fresh token from the 412 answer.
    async fn token(&self, resource: &str) -> String {
        let (s, v) = self.events(resource, None).await;
        assert_eq!(s, StatusCode::PRECONDITION_FAILED);
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("Sync token invalid or too old")
        );
        v["sync"].as_str().unwrap().to_owned()
    }
}

fn summary(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {}{}",
                e["action"].as_str().unwrap(),
                e["resource"]["resource_type"].as_str().unwrap(),
                e["parent"]["resource_type"].as_str().unwrap_or("-"),
                e["change"]["field"]
                    .as_str()
                    .map(|f| format!(" {f}"))
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_projects_stream_shows_its_tasks_their_stories_and_their_leaving() {
    let api = Api::new().await;
    let p = api.fake.project().to_owned();
    let sync = api.token(&p).await;
    assert_eq!(sync.len(), 32, "hex like Asana's tokens: {sync}");
    let gid = api.task("evented", &p).await;
    api.call(
        reqwest::Method::PUT,
        &format!("/tasks/{gid}"),
        Some(json!({"name": "renamed", "completed": true})),
    )
    .await;
    api.post(&format!("/tasks/{gid}/stories"), json!({"text": "hi"}))
        .await;
    let (s, v) = api.events(&p, Some(&sync)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        summary(&v),
        [
            "added task project",
            "added story task",
            "added story task",
            "changed task - name",
            "changed task - completed",
            "added story task",
        ]
    );
    assert_eq!(v["data"][0]["parent"]["gid"], p.as_str());
    assert_eq!(v["data"][1]["parent"]["gid"], gid.as_str());
    let story = v["data"][5]["resource"].as_object().unwrap();
    assert_eq!(story["resource_type"], "story");
    assert!(
        !story.contains_key("resource_subtype"),
        "AsanaNamedResource: gid, resource_type, name"
    );
    assert!(
        v["data"][3]["parent"].is_null(),
        "null but for added/removed"
    );
    assert_eq!(v["has_more"], false);
    let sync = v["sync"].as_str().unwrap().to_owned();

    // Leaving the project is `removed` with the project as parent; later changes are not in
    // the project's stream any more (the task's own stream still has them).
    let task_sync = api.token(&gid).await;
    api.post(
        &format!("/tasks/{gid}/removeProject"),
        json!({"project": p}),
    )
    .await;
    api.post(&format!("/tasks/{gid}/stories"), json!({"text": "after"}))
        .await;
    let (_, v) = api.events(&p, Some(&sync)).await;
    assert_eq!(summary(&v), ["removed task project"]);
    let sync = v["sync"].as_str().unwrap().to_owned();
    let (_, v) = api.events(&gid, Some(&task_sync)).await;
    assert_eq!(summary(&v).len(), 3, "{v}");
    api.post(&format!("/tasks/{gid}/addProject"), json!({"project": p}))
        .await;
    api.call(reqwest::Method::DELETE, &format!("/tasks/{gid}"), None)
        .await;
    let (_, v) = api.events(&p, Some(&sync)).await;
    assert_eq!(
        summary(&v),
        ["added task project", "added story task", "deleted task -"]
    );
}

#[tokio::test]
async fn other_projects_stay_out_and_tokens_expire() {
    let api = Api::new().await;
    let p = api.fake.project().to_owned();
    let other = api.fake.add_project("Other");
    let sync = api.token(&p).await;
    let there = api.task("elsewhere", &other).await;
    api.post(&format!("/tasks/{there}/stories"), json!({"text": "c"}))
        .await;
    let (_, v) = api.events(&p, Some(&sync)).await;
    assert_eq!(v["data"], json!([]), "not this project's");
    let sync = v["sync"].as_str().unwrap().to_owned();
    api.fake.expire_sync_tokens();
    let (s, v) = api.events(&p, Some(&sync)).await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED, "{v}");
    let fresh = v["sync"].as_str().unwrap().to_owned();
    let (s, _) = api.events(&p, Some(&fresh)).await;
    assert_eq!(s, StatusCode::OK, "the fresh token works");
}

#[tokio::test]
async fn more_than_100_events_come_in_pages() {
    let api = Api::new().await;
    let p = api.fake.project().to_owned();
    let mut sync = api.token(&p).await;
    for i in 0..60 {
        let gid = api.task(&format!("t{i}"), &p).await;
        api.post(&format!("/tasks/{gid}/stories"), json!({"text": "c"}))
            .await;
    }
    let mut pages = Vec::new();
    loop {
        let (s, v) = api.events(&p, Some(&sync)).await;
        assert_eq!(s, StatusCode::OK);
        pages.push(v["data"].as_array().unwrap().len());
        sync = v["sync"].as_str().unwrap().to_owned();
        if v["has_more"] == false {
            break;
        }
    }
    assert_eq!(pages, [100, 20]);
}
