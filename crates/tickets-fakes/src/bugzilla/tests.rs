use serde_json::{Value, json};

use super::{FakeBugzilla, FakeBugzillaOptions};

pub(super) struct T {
    pub(super) fake: FakeBugzilla,
    pub(super) http: reqwest::Client,
}

impl T {
    pub(super) async fn new(bmo: bool) -> Self {
        let fake = FakeBugzilla::start_with(FakeBugzillaOptions {
            bmo,
            ..FakeBugzillaOptions::default()
        })
        .await
        .unwrap();
        Self {
            fake,
            http: reqwest::Client::new(),
        }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.fake.base_url())
    }

    pub(super) async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    pub(super) async fn get(&self, path: &str) -> (u16, Value) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}api_key={}", self.url(path), self.fake.api_key());
        self.send(self.http.get(url)).await
    }

    pub(super) async fn post(&self, path: &str, mut body: Value) -> (u16, Value) {
        body["api_key"] = json!(self.fake.api_key());
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    pub(super) async fn put(&self, path: &str, mut body: Value) -> (u16, Value) {
        body["api_key"] = json!(self.fake.api_key());
        self.send(self.http.put(self.url(path)).json(&body)).await
    }

    pub(super) fn bug_body(&self, summary: &str) -> Value {
        json!({
            "product": self.fake.product(), "component": self.fake.component(),
            "version": self.fake.version(), "summary": summary, "description": "first words",
            "op_sys": "All", "platform": "All",
        })
    }

    pub(super) async fn create(&self, summary: &str) -> u64 {
        let (status, body) = self.post("/bug", self.bug_body(summary)).await;
        assert_eq!(status, 200, "{body}");
        body["id"].as_u64().unwrap()
    }
}

pub(super) fn code(body: &Value) -> i64 {
    assert_eq!(body["error"], true, "{body}");
    assert!(body["documentation"].is_string());
    body["code"].as_i64().unwrap()
}

#[tokio::test]
async fn create_answers_200_and_get_renders_the_bug() {
    let t = T::new(false).await;
    let id = t.create("Printer on fire").await;
    let (status, body) = t.get(&format!("/bug/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["faults"], json!([]));
    let bug = &body["bugs"][0];
    assert_eq!(bug["summary"], "Printer on fire");
    assert_eq!(bug["status"], "CONFIRMED");
    assert_eq!(bug["resolution"], "");
    assert_eq!(bug["priority"], "---");
    assert_eq!(bug["alias"], json!([]));
    assert_eq!(bug["dupe_of"], Value::Null);
    assert_eq!(bug["assigned_to"], "nobody@example.com");
    assert_eq!(bug["creator"], "admin@example.com");
    let (_, missing) = t.get("/bug/999").await;
    assert_eq!(code(&missing), 101);
    let (s, bad) = t.get("/bug/no-such-alias").await;
    assert_eq!((s, code(&bad)), (400, 100));
}

#[tokio::test]
async fn create_validates_like_5x() {
    let t = T::new(false).await;
    let mut body = t.bug_body("x");
    body.as_object_mut().unwrap().remove("op_sys");
    let (s, b) = t.post("/bug", body).await;
    assert_eq!((s, code(&b)), (400, 50));
    let mut body = t.bug_body("x");
    body["assigned_to"] = json!("ghost@example.com");
    let (s, b) = t.post("/bug", body).await;
    assert_eq!((s, code(&b)), (404, 51));
    let mut body = t.bug_body("  ");
    body["summary"] = json!(" ");
    let (_, b) = t.post("/bug", body).await;
    assert_eq!(code(&b), 107);
    let mut body = t.bug_body("x");
    body["product"] = json!("Nope");
    let (s, b) = t.post("/bug", body).await;
    assert_eq!((s, code(&b)), (401, 106));
}

#[tokio::test]
async fn workflow_and_resolution_rules() {
    let t = T::new(false).await;
    let id = t.create("wf").await;
    let path = format!("/bug/{id}");
    let (s, b) = t
        .put(&path, json!({"status": "VERIFIED", "resolution": "FIXED"}))
        .await;
    assert_eq!((s, code(&b)), (400, 123));
    let (_, b) = t.put(&path, json!({"status": "RESOLVED"})).await;
    assert_eq!(code(&b), 121);
    let (_, b) = t.put(&path, json!({"resolution": "FIXED"})).await;
    assert_eq!(code(&b), 122);
    let (s, b) = t.put(&path, json!({"status": "REOPENED"})).await;
    assert_eq!((s, code(&b)), (404, 51));
    let (s, b) = t
        .put(&path, json!({"status": "RESOLVED", "resolution": "FIXED"}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["bugs"][0]["changes"]["status"],
        json!({"added": "RESOLVED", "removed": "CONFIRMED"})
    );
    let (_, b) = t
        .put(&path, json!({"status": "CONFIRMED", "resolution": ""}))
        .await;
    assert_eq!(b["bugs"][0]["changes"]["resolution"]["removed"], "FIXED");
    let (_, got) = t.get(&path).await;
    assert_eq!(got["bugs"][0]["resolution"], "");
    let (_, h) = t.get(&format!("{path}/history")).await;
    let history = h["bugs"][0]["history"].as_array().unwrap();
    assert_eq!(history[0]["changes"][0]["field_name"], "status");
    // As on a real 5.0.6: one group per user and second, the changes in order, so a field
    // changed twice within a second shows twice in one group.
    let statuses: Vec<(&Value, &Value)> = history
        .iter()
        .flat_map(|g| g["changes"].as_array().unwrap())
        .filter(|c| c["field_name"] == "status")
        .map(|c| (&c["removed"], &c["added"]))
        .collect();
    assert_eq!(
        statuses,
        [
            (&json!("CONFIRMED"), &json!("RESOLVED")),
            (&json!("RESOLVED"), &json!("CONFIRMED"))
        ]
    );
    let whens: Vec<&Value> = history.iter().map(|g| &g["when"]).collect();
    let mut distinct = whens.clone();
    distinct.dedup();
    assert_eq!(whens, distinct, "one group per second: {h}");
    // Nothing changed: empty changes.
    let (_, b) = t.put(&path, json!({"status": "CONFIRMED"})).await;
    assert_eq!(b["bugs"][0]["changes"], json!({}));
}

#[tokio::test]
async fn alias_is_unique_and_resolvable() {
    let t = T::new(false).await;
    let mut body = t.bug_body("aliased");
    body["alias"] = json!(["tk-abc"]);
    let (s, b) = t.post("/bug", body.clone()).await;
    assert_eq!(s, 200);
    let id = b["id"].as_u64().unwrap();
    let (s, b) = t.post("/bug", body).await;
    assert_eq!((s, code(&b)), (400, 103));
    let (_, got) = t.get("/bug/tk-abc").await;
    assert_eq!(got["bugs"][0]["id"], id);
    let mut numeric = t.bug_body("n");
    numeric["alias"] = json!(["12345"]);
    assert_eq!(code(&t.post("/bug", numeric).await.1), 103);
}

#[tokio::test]
async fn credentials_header_only_counts_on_bmo() {
    let t = T::new(false).await;
    let id = t.create("auth").await;
    let header = ("X-BUGZILLA-API-KEY", t.fake.api_key().to_owned());
    let (s, b) = t
        .send(
            t.http
                .post(t.url("/bug"))
                .header(header.0, &header.1)
                .json(&t.bug_body("x")),
        )
        .await;
    assert_eq!((s, code(&b)), (401, 410));
    // A read with only the header runs anonymously: no e-mail in user details.
    let (s, b) = t
        .send(
            t.http
                .get(t.url(&format!("/bug/{id}")))
                .header(header.0, &header.1),
        )
        .await;
    assert_eq!(s, 200);
    assert!(b["bugs"][0]["creator_detail"].get("email").is_none());
    let (s, b) = t.send(t.http.get(t.url("/bug/1?api_key=wrong"))).await;
    assert_eq!((s, code(&b)), (400, 306));
    let (s, b) = t.send(t.http.get(t.url("/whoami"))).await;
    assert_eq!((s, code(&b)), (404, 32614));
    assert_eq!(
        b["message"],
        "A REST API resource was not found for 'GET /whoami'."
    );

    let bmo = T::new(true).await;
    let (s, b) = bmo
        .send(
            bmo.http
                .post(bmo.url("/bug"))
                .header("X-BUGZILLA-API-KEY", bmo.fake.api_key())
                .json(&bmo.bug_body("x")),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = bmo
        .send(
            bmo.http
                .get(bmo.url("/whoami"))
                .header("X-BUGZILLA-API-KEY", bmo.fake.api_key()),
        )
        .await;
    assert_eq!((s, b["name"].as_str()), (200, Some("admin@example.com")));
}

#[tokio::test]
async fn malformed_json_and_unknown_routes() {
    let t = T::new(false).await;
    let (s, b) = t
        .send(
            t.http
                .post(t.url("/bug"))
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!((s, code(&b)), (400, 32000));
    let (s, b) = t.send(t.http.delete(t.url("/bug/1"))).await;
    assert_eq!((s, code(&b)), (404, 32614));
    let (s, v) = t.send(t.http.get(t.url("/version"))).await;
    assert_eq!((s, v["version"].as_str()), (200, Some("5.2")));
    let (_, v) = t
        .get(&format!("/valid_login?login={}", t.fake.admin_login()))
        .await;
    assert_eq!(v["result"], true);
}

#[tokio::test]
async fn comments_201_and_keyed_by_bug_id_string() {
    let t = T::new(false).await;
    let id = t.create("c").await;
    let (s, b) = t
        .post(&format!("/bug/{id}/comment"), json!({"comment": "hello"}))
        .await;
    assert_eq!(s, 201);
    assert!(b["id"].as_u64().is_some());
    let (_, b) = t
        .post(&format!("/bug/{id}/comment"), json!({"comment": "  "}))
        .await;
    assert_eq!(code(&b), 50);
    let (_, list) = t.get(&format!("/bug/{id}/comment")).await;
    let comments = list["bugs"][id.to_string()]["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0]["count"], 0);
    assert_eq!(comments[0]["text"], "first words");
    assert_eq!(comments[1]["text"], "hello");
    assert_eq!(list["comments"], json!({}));
}

#[tokio::test]
async fn search_filters_and_pages() {
    let t = T::new(false).await;
    for i in 0..5 {
        t.create(&format!("search me {i}")).await;
    }
    let other = t.create("unrelated").await;
    t.put(
        &format!("/bug/{other}"),
        json!({"status": "RESOLVED", "resolution": "FIXED"}),
    )
    .await;
    let (_, b) = t
        .get("/bug?summary=SEARCH+me&order=bug_id&limit=2&offset=2")
        .await;
    let ids: Vec<u64> = b["bugs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![3, 4]);
    let (_, b) = t.get("/bug?product=TestProduct&resolution=---").await;
    assert_eq!(b["bugs"].as_array().unwrap().len(), 5);
    let (_, b) = t.get("/bug?product=Nope").await;
    assert_eq!(b, json!({"bugs": []}));
    let (_, b) = t.get("/bug?limit=5").await;
    assert_eq!(code(&b), 1000);
    let (_, b) = t.get("/bug?product=TestProduct&offset=2").await;
    assert_eq!(code(&b), 50);
    let (_, b) = t
        .get("/bug?product=TestProduct&j_top=OR&f1=short_desc&o1=substring&v1=unrel&f2=longdesc&o2=substring&v2=nothing")
        .await;
    assert_eq!(b["bugs"].as_array().unwrap().len(), 1);
    let (_, b) = t
        .get("/bug?product=TestProduct&last_change_time=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(b["bugs"], json!([]));
}

#[tokio::test]
async fn time_and_change_order_answer_as_a_real_5_0_6() {
    let t = T::new(false).await;
    let (s, b) = t.get("/time").await;
    assert_eq!(s, 200);
    let db = b["db_time"].as_str().unwrap();
    assert!(db.ends_with('Z') && db.len() == 20, "{b}");
    assert_eq!(b["tz_name"], "UTC");
    let first = t.create("first").await;
    let second = t.create("second").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (s, _) = t
        .post(
            &format!("/bug/{first}/comment"),
            json!({"comment": "moves it"}),
        )
        .await;
    assert_eq!(s, 201);
    let ids = |b: &Value| -> Vec<u64> {
        b["bugs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_u64().unwrap())
            .collect()
    };
    let (_, b) = t
        .get(&format!(
            "/bug?product=TestProduct&last_change_time={db}&order=changeddate,bug_id"
        ))
        .await;
    assert_eq!(ids(&b), [second, first], "a comment moves last_change_time");
    let (_, b) = t
        .get(&format!(
            "/bug?product=TestProduct&last_change_time={db}&order=last_change_time,bug_id"
        ))
        .await;
    assert_eq!(ids(&b), [first, second], "not a buglist column: by bug id");
}

#[tokio::test]
async fn soft_errors_answer_200_and_apply_nothing() {
    let t = T::new(false).await;
    let id = t.create("soft").await;
    t.fake.soft_errors(1, 100_500);
    let (s, b) = t
        .put(&format!("/bug/{id}"), json!({"summary": "changed"}))
        .await;
    assert_eq!((s, code(&b)), (200, 100_500));
    assert_eq!(t.fake.bug(id).unwrap()["summary"], "soft");
    let (s, _) = t
        .put(&format!("/bug/{id}"), json!({"summary": "changed"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(t.fake.bug(id).unwrap()["summary"], "changed");
}

#[tokio::test]
async fn fields_expose_the_workflow_and_priorities() {
    let t = T::new(false).await;
    let (_, f) = t.get("/field/bug/bug_status").await;
    let values = f["fields"][0]["values"].as_array().unwrap();
    assert_eq!(values[0]["name"], Value::Null);
    let confirmed = values.iter().find(|v| v["name"] == "CONFIRMED").unwrap();
    let to: Vec<&str> = confirmed["can_change_to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(to, vec!["IN_PROGRESS", "RESOLVED"]);
    let (_, p) = t.get("/field/bug/priority").await;
    let names: Vec<&str> = p["fields"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["Highest", "High", "Normal", "Low", "Lowest", "---"]
    );
    let (_, u) = t.get("/user/alice@example.com").await;
    assert_eq!(u["users"][0]["name"], "alice@example.com");
    let (_, p) = t.get("/product/TestProduct").await;
    assert_eq!(
        p["products"][0]["components"][0]["default_assigned_to"],
        "nobody@example.com"
    );
}

#[tokio::test]
async fn seeded_info_line() {
    let (server, info) = super::start_seeded(0).await.unwrap();
    assert!(
        info["base_url"]
            .as_str()
            .unwrap()
            .starts_with(&server.url())
    );
    assert!(info["api_key"].as_str().is_some_and(|k| !k.is_empty()));
    assert_eq!(info["product"], "TestProduct");
    assert_eq!(info["component"], "TestComponent");
    assert_eq!(info["version"], "unspecified");
}

#[tokio::test]
async fn custom_fields_are_text_and_integers_are_checked() {
    let t = T::new(false).await;
    let mut body = t.bug_body("cf");
    body["cf_customer"] = json!("ACME <b>");
    body["cf_severity"] = json!(2);
    let (_, b) = t.post("/bug", body).await;
    let id = b["id"].as_u64().unwrap();
    let bug = t.fake.bug(id).unwrap();
    assert_eq!(bug["cf_customer"], "ACME <b>");
    assert_eq!(
        bug["cf_severity"], "2",
        "Bugzilla renders integer fields as strings"
    );
    let (s, b) = t
        .put(&format!("/bug/{id}"), json!({"cf_severity": "lots"}))
        .await;
    // A real 5.0.6: the generic user error, 32000 with HTTP 400, naming the field.
    assert_eq!((s, code(&b)), (400, 32000), "{b}");
    assert_eq!(
        b["message"],
        "The value 'lots' in the Customer severity field is not an integer value (i.e. a whole number)."
    );
    let mut body = t.bug_body("cf bad");
    body["cf_severity"] = json!("abc");
    let (s, b) = t.post("/bug", body).await;
    assert_eq!((s, code(&b)), (400, 32000), "{b}");
    // Unset and cleared integers read as "0": Bugzilla has no empty integer.
    let unset = t.create("no cf").await;
    assert_eq!(t.fake.bug(unset).unwrap()["cf_severity"], "0");
    let (_, b) = t
        .put(&format!("/bug/{id}"), json!({"cf_severity": ""}))
        .await;
    assert_eq!(b["bugs"][0]["changes"]["cf_severity"]["added"], "0", "{b}");
    let (_, b) = t
        .put(&format!("/bug/{id}"), json!({"cf_customer": ""}))
        .await;
    assert_eq!(
        b["bugs"][0]["changes"]["cf_customer"]["removed"],
        "ACME <b>"
    );
    let (_, f) = t.get("/field/bug?names=cf_severity").await;
    assert_eq!(f["fields"].as_array().unwrap().len(), 1);
    assert_eq!(f["fields"][0]["type"], 10);
    assert_eq!(f["fields"][0]["is_custom"], true);
}

#[tokio::test]
async fn group_restricted_bugs_answer_102() {
    let t = T::new(false).await;
    let mut body = t.bug_body("secret");
    body["groups"] = json!(["security"]);
    let (_, b) = t.post("/bug", body).await;
    let id = b["id"].as_u64().unwrap();
    let open = t.create("public").await;
    let bob = t.fake.user_key("bob@example.com").unwrap().to_owned();
    let (s, b) = t
        .send(t.http.get(t.url(&format!("/bug/{id}?api_key={bob}"))))
        .await;
    assert_eq!((s, code(&b)), (401, 102));
    let (s, b) = t.send(t.http.get(t.url(&format!("/bug/{id}")))).await;
    assert_eq!((s, code(&b)), (401, 102));
    assert!(b["message"].as_str().unwrap().contains("log in"));
    let (_, b) = t
        .send(
            t.http
                .get(t.url(&format!("/bug?product=TestProduct&api_key={bob}"))),
        )
        .await;
    let ids: Vec<u64> = b["bugs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![open]);
    let (s, _) = t.get(&format!("/bug/{id}")).await;
    assert_eq!(s, 200, "the admin is an insider");
}

#[tokio::test]
async fn comments_lose_trailing_whitespace_and_carriage_returns() {
    let t = T::new(false).await;
    let id = t.create("ws").await;
    t.post(
        &format!("/bug/{id}/comment"),
        json!({"comment": "  keep\r\nlines \n\n"}),
    )
    .await;
    assert_eq!(t.fake.comments(id)[1]["text"], "  keep\nlines");
    // An idempotency marker as the last line survives, as on a real Bugzilla 5.0.6.
    t.post(
        &format!("/bug/{id}/comment"),
        json!({"comment": "+1  \r\n\r\n[tickets-key:k-1]\r\n  "}),
    )
    .await;
    assert_eq!(t.fake.comments(id)[2]["text"], "+1  \n\n[tickets-key:k-1]");
}

#[tokio::test]
async fn quicksearch_covers_open_bugs_unless_all() {
    let t = T::new(false).await;
    let open = t.create("quick brown fox").await;
    let done = t.create("quick brown dog").await;
    t.put(
        &format!("/bug/{done}"),
        json!({"status": "RESOLVED", "resolution": "FIXED"}),
    )
    .await;
    let ids = |b: &Value| -> Vec<u64> {
        b["bugs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_u64().unwrap())
            .collect()
    };
    let (_, b) = t.get("/bug?quicksearch=quick+brown").await;
    assert_eq!(ids(&b), vec![open]);
    let (_, b) = t.get("/bug?quicksearch=ALL+quick+brown").await;
    assert_eq!(ids(&b), vec![open, done]);
}

/// Issue 12, each answer checked on a real Bugzilla 5.0.6.
#[tokio::test]
async fn components_products_and_users_answer_as_a_real_5_0_6() {
    let t = T::new(false).await;
    // An unknown component is 51 (object_does_not_exist, HTTP 404); 105 only when it is missing.
    let mut body = t.bug_body("c");
    body["component"] = json!("Nope");
    let (s, b) = t.post("/bug", body).await;
    assert_eq!((s, code(&b)), (404, 51), "{b}");
    assert_eq!(
        b["message"],
        "There is no component named 'Nope' in the 'TestProduct' product."
    );
    let mut body = t.bug_body("c");
    body.as_object_mut().unwrap().remove("component");
    let (s, b) = t.post("/bug", body).await;
    assert_eq!((s, code(&b)), (400, 105), "{b}");
    let id = t.create("c").await;
    let (s, b) = t
        .put(&format!("/bug/{id}"), json!({"component": "Nope"}))
        .await;
    assert_eq!((s, code(&b)), (404, 51), "{b}");
    let (s, b) = t.put(&format!("/bug/{id}"), json!({"component": ""})).await;
    assert_eq!((s, code(&b)), (400, 105), "{b}");
    // List parameters merge from the path and the query.
    for path in [
        "/product/get?names=TestProduct",
        "/product/Nope?names=TestProduct",
        "/product/1?names=TestProduct",
        "/product/TestProduct",
    ] {
        let (s, b) = t.get(path).await;
        assert_eq!(s, 200, "{path}: {b}");
        let names: Vec<&str> = b["products"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names, ["TestProduct"], "{path}");
    }
    let (_, b) = t.get("/product/get").await;
    assert_eq!(b["products"], json!([]));
    // Users by id: 505 (HTTP 401) for anonymous callers; unknown ids left out.
    for path in ["/user?ids=1", "/user/1"] {
        let (s, b) = t.send(t.http.get(t.url(path))).await;
        assert_eq!((s, code(&b)), (401, 505), "{path}: {b}");
    }
    let (s, b) = t.get("/user?ids=1").await;
    assert_eq!(s, 200);
    assert_eq!(b["users"][0]["name"], "admin@example.com");
    let (s, b) = t.get("/user?ids=999").await;
    assert_eq!((s, b["users"].clone()), (200, json!([])));
}

/// Every unknown route or method: 404 code 32614 naming the method and path, as a real 5.0.6.
#[tokio::test]
async fn unknown_routes_and_methods_answer_32614() {
    let t = T::new(false).await;
    let id = t.create("r").await;
    for (method, path) in [
        (reqwest::Method::GET, "/nonexistent".to_owned()),
        (reqwest::Method::DELETE, format!("/bug/{id}")),
        (reqwest::Method::PATCH, format!("/bug/{id}")),
        (reqwest::Method::POST, "/version".to_owned()),
        (reqwest::Method::GET, format!("/bug/{id}/nonsense")),
        (reqwest::Method::POST, "/field/bug".to_owned()),
    ] {
        let (s, b) = t
            .send(
                t.http
                    .request(method.clone(), t.url(&path))
                    .json(&json!({})),
            )
            .await;
        assert_eq!((s, code(&b)), (404, 32614), "{method} {path}: {b}");
        assert_eq!(
            b["message"],
            format!("A REST API resource was not found for '{method} {path}'.")
        );
        assert_eq!(b["error"], true);
        assert!(b["documentation"].is_string());
    }
}

/// `GET /bug/{id}/comment?ids=..` answers every bug named in the path and the query (a real
/// 5.0.6 merges list parameters); one missing bug fails the call with 101.
#[tokio::test]
async fn comments_of_several_bugs_in_one_call() {
    let t = T::new(false).await;
    let (a, b, c) = (
        t.create("a").await,
        t.create("b").await,
        t.create("c").await,
    );
    let (s, v) = t.get(&format!("/bug/{a}/comment?ids={b}&ids={c}")).await;
    assert_eq!(s, 200, "{v}");
    for id in [a, b, c] {
        assert_eq!(v["bugs"][id.to_string()]["comments"][0]["count"], 0, "{v}");
    }
    let (s, v) = t.get(&format!("/bug/{a}/comment?ids=99999")).await;
    assert_eq!((s, code(&v)), (404, 101));
}

/// Boolean charts nest with `OP`/`CP` and `jN`, as in Bugzilla's advanced search.
#[tokio::test]
async fn boolean_charts_nest() {
    let t = T::new(false).await;
    let a = t.create("apple pie").await;
    let b = t.create("banana split").await;
    let _c = t.create("cherry tart").await;
    let (_, wb) = t
        .put(&format!("/bug/{b}"), json!({"whiteboard": "[triaged]"}))
        .await;
    assert!(wb["bugs"].is_array(), "{wb}");
    let q = "/bug?product=TestProduct&f1=OP&j1=OR&f2=short_desc&o2=substring&v2=apple\
             &f3=short_desc&o3=substring&v3=banana&f4=CP&order=bug_id";
    let (_, v) = t.get(q).await;
    let ids: Vec<u64> = v["bugs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [a, b]);
    let (_, v) = t
        .get(&format!(
            "{q}&f5=status_whiteboard&o5=substring&v5=[triaged]"
        ))
        .await;
    let ids: Vec<u64> = v["bugs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [b], "the group ANDed with the whiteboard chart");
}

/// Attachments as a real 5.0.6 answers them (see the `attachments` module).
#[tokio::test]
async fn attachments_add_list_read_and_refuse() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let t = T::new(false).await;
    let id = t.create("att").await;
    let path = format!("/bug/{id}/attachment");
    let body = |data: String| {
        json!({"data": data, "file_name": "h.bin", "summary": "a file",
               "content_type": "application/octet-stream"})
    };
    let (s, b) = t.post(&path, body(b64(b"hello\0world"))).await;
    assert_eq!((s, b["ids"].clone()), (201, json!([1])), "{b}");
    let comments = t.fake.comments(id);
    assert_eq!(comments[1]["text"], "Created attachment 1\na file");
    assert_eq!(comments[1]["attachment_id"], 1);
    let (_, l) = t.get(&path).await;
    let a = &l["bugs"][id.to_string()][0];
    assert_eq!(
        (a["size"].clone(), a["data"].clone()),
        (json!(11), json!(b64(b"hello\0world")))
    );
    let (_, l) = t.get(&format!("{path}?exclude_fields=data")).await;
    assert!(l["bugs"][id.to_string()][0].get("data").is_none());
    let (s, one) = t.get("/bug/attachment/1").await;
    assert_eq!(
        (s, one["attachments"]["1"]["file_name"].clone()),
        (200, json!("h.bin"))
    );
    let (s, none) = t.get("/bug/attachment/999").await;
    assert_eq!((s, none), (200, json!({"attachments": {}, "bugs": {}})));
    // Lenient base64, as Perl decodes it.
    let (_, b) = t.post(&path, body("!!!notbase64***".into())).await;
    let (_, one) = t.get(&format!("/bug/attachment/{}", b["ids"][0])).await;
    assert_eq!(one["attachments"][b["ids"][0].to_string()]["size"], 6);
    // Exactly 1000 KB goes; one byte more is 600.
    let (s, _) = t.post(&path, body(b64(&vec![7u8; 1_024_000]))).await;
    assert_eq!(s, 201);
    let (s, e) = t.post(&path, body(b64(&vec![7u8; 1_024_001]))).await;
    assert_eq!((s, code(&e)), (400, 600));
    for (k, v, want) in [
        ("data", json!(""), 606),
        ("file_name", Value::Null, 603),
        ("summary", Value::Null, 604),
        ("content_type", json!("nonsense"), 601),
    ] {
        let mut b = body(b64(b"x"));
        if v.is_null() {
            b.as_object_mut().unwrap().remove(k);
        } else {
            b[k] = v;
        }
        let (s, e) = t.post(&path, b).await;
        assert_eq!((s, code(&e)), (400, want), "{k}: {e}");
    }
    let (s, e) = t.post("/bug/99999/attachment", body(b64(b"x"))).await;
    assert_eq!((s, code(&e)), (404, 101));
    let (s, e) = t
        .send(t.http.post(t.url(&path)).json(&body(b64(b"x"))))
        .await;
    assert_eq!((s, code(&e)), (401, 410), "anonymous");
}
