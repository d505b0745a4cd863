//! HTTP-level tests of the fake Salesforce.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn new(sf: &FakeSalesforce) -> Self {
        let http = reqwest::Client::new();
        let token = token(
            &http,
            &sf.url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ],
        )
        .await;
        Self {
            http,
            base: format!("{}/services/data/v62.0", sf.url()),
            token: token["access_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
        )
    }

    async fn query(&self, soql: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .get(format!("{}/query", self.base))
            .query(&[("q", soql)])
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json().await.unwrap())
    }
}

async fn token(http: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Value {
    http.post(format!("{url}/services/oauth2/token"))
        .form(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn case_lifecycle_and_errors() {
    let sf = FakeSalesforce::start().await.unwrap();
    let c = Client::new(&sf).await;
    let (s, created, headers) = c
        .send(
            reqwest::Method::POST,
            "/sobjects/Case",
            Some(json!({"Subject": "Printer", "Priority": "High"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(created["success"], true);
    assert!(
        headers["sforce-limit-info"]
            .to_str()
            .unwrap()
            .starts_with("api-usage=")
    );
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("500") && id.len() == 18);

    let (s, rec, _) = c
        .send(reqwest::Method::GET, &format!("/sobjects/Case/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rec["attributes"]["type"], "Case");
    assert_eq!(rec["Status"], "New");
    assert_eq!(rec["CaseNumber"], "00001000");
    assert_eq!(rec["IsClosed"], false);

    let (s, _, _) = c
        .send(
            reqwest::Method::PATCH,
            &format!("/sobjects/Case/{id}"),
            Some(json!({"Status": "Closed"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(sf.record("Case", &id).unwrap()["IsClosed"], true);

    let (s, err, _) = c
        .send(
            reqwest::Method::PATCH,
            &format!("/sobjects/Case/{id}"),
            Some(json!({"Status": "Nope"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        err[0]["errorCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(err[0]["fields"][0], "Status");

    let (s, err, _) = c
        .send(
            reqwest::Method::POST,
            "/sobjects/Case",
            Some(json!({"Id": id})),
        )
        .await;
    assert_eq!(
        (s, err[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_FIELD"))
    );
    let (s, err, _) = c
        .send(
            reqwest::Method::GET,
            "/sobjects/Case/500Dn0000000zzzAAA",
            None,
        )
        .await;
    assert_eq!(
        (s, err[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("MALFORMED_ID"))
    );
    let missing = format!("{}Zz{}", &id[..13], "");
    let missing = state::normalize_id(&missing[..15]).unwrap();
    let (s, err, _) = c
        .send(
            reqwest::Method::GET,
            &format!("/sobjects/Case/{missing}"),
            None,
        )
        .await;
    assert_eq!(
        (s, err[0]["errorCode"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    let (s, err, _) = c
        .send(
            reqwest::Method::POST,
            "/sobjects/CaseComment",
            Some(json!({"CommentBody": "x"})),
        )
        .await;
    assert_eq!(
        (s, err[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("REQUIRED_FIELD_MISSING"))
    );

    let (s, _, _) = c
        .send(
            reqwest::Method::POST,
            "/sobjects/CaseComment",
            Some(json!({"ParentId": id, "CommentBody": "hi"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(sf.comments_of(&id).len(), 1);
    // A CommentBody is kept as sent, an idempotency marker line included.
    let marked = "[from: Alice]\n+1\n\n[tickets-key:k-1]";
    let (s, _, _) = c
        .send(
            reqwest::Method::POST,
            "/sobjects/CaseComment",
            Some(json!({"ParentId": id, "CommentBody": marked})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, rows) = c
        .query(&format!(
            "SELECT Id, CommentBody FROM CaseComment WHERE ParentId = '{id}' ORDER BY CreatedDate, Id"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rows["records"][1]["CommentBody"], marked);
    let (s, _, _) = c
        .send(
            reqwest::Method::DELETE,
            &format!("/sobjects/Case/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(sf.case_count(), 0);
}

#[tokio::test]
async fn upsert_by_external_id() {
    let sf = FakeSalesforce::start().await.unwrap();
    let c = Client::new(&sf).await;
    let path = "/sobjects/Case/Ticket_Key__c/key%201";
    let (s, first, _) = c
        .send(reqwest::Method::PATCH, path, Some(json!({"Subject": "a"})))
        .await;
    assert_eq!(
        (s, first["created"].as_bool()),
        (StatusCode::CREATED, Some(true))
    );
    let (s, second, _) = c
        .send(reqwest::Method::PATCH, path, Some(json!({"Subject": "b"})))
        .await;
    assert_eq!(
        (s, second["created"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    assert_eq!(first["id"], second["id"]);
    assert_eq!(
        sf.record("Case", first["id"].as_str().unwrap()).unwrap()["Ticket_Key__c"],
        "key 1"
    );
    // A non-unique external id matching twice answers 300.
    for _ in 0..2 {
        c.send(
            reqwest::Method::POST,
            "/sobjects/Case",
            Some(json!({"External_Ref__c": "dup"})),
        )
        .await;
    }
    let (s, urls, _) = c
        .send(
            reqwest::Method::PATCH,
            "/sobjects/Case/External_Ref__c/dup",
            Some(json!({"Subject": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(urls.as_array().unwrap().len(), 2);
    let (s, err, _) = c
        .send(
            reqwest::Method::PATCH,
            "/sobjects/Case/Subject/x",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (s, err[0]["errorCode"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    // The unique field refuses a duplicate set through a plain create.
    let (s, err, _) = c
        .send(
            reqwest::Method::POST,
            "/sobjects/Case",
            Some(json!({"Ticket_Key__c": "KEY 1"})),
        )
        .await;
    assert_eq!(
        (s, err[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("DUPLICATE_VALUE"))
    );
}

#[tokio::test]
async fn query_pages_with_next_records_url() {
    let sf = FakeSalesforce::start_with(FakeOptions {
        batch_size: 2,
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    let c = Client::new(&sf).await;
    for i in 0..5 {
        c.send(
            reqwest::Method::POST,
            "/sobjects/Case",
            Some(json!({"Subject": format!("it's #{i}")})),
        )
        .await;
    }
    let (s, page) = c
        .query(r"SELECT Id, Subject FROM Case WHERE Subject LIKE 'it\'s%' ORDER BY CreatedDate LIMIT 4")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["totalSize"], 4);
    assert_eq!(page["done"], false);
    let mut subjects: Vec<String> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Subject"].as_str().unwrap().to_owned())
        .collect();
    let mut next = page["nextRecordsUrl"].as_str().map(str::to_owned);
    while let Some(url) = next {
        let (_, more, _) = c
            .send(
                reqwest::Method::GET,
                url.trim_start_matches("/services/data/v62.0"),
                None,
            )
            .await;
        subjects.extend(
            more["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["Subject"].as_str().unwrap().to_owned()),
        );
        next = more["nextRecordsUrl"].as_str().map(str::to_owned);
    }
    assert_eq!(subjects, ["it's #0", "it's #1", "it's #2", "it's #3"]);
    let (s, err) = c.query("SELECT Id FROM Case WHERE Description = 'x'").await;
    assert_eq!(
        (s, err[0]["errorCode"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_FIELD"))
    );
    let (_, users) = c
        .query("SELECT Id, Email FROM User WHERE Email = 'alice@example.com' AND IsActive = true")
        .await;
    assert_eq!(users["totalSize"], 1);
    let (_, statuses) = c
        .query("SELECT MasterLabel, IsClosed FROM CaseStatus WHERE IsClosed = true")
        .await;
    assert_eq!(statuses["records"][0]["MasterLabel"], "Closed");
}

#[tokio::test]
async fn token_flows_expiry_and_limits() {
    let sf = FakeSalesforce::start().await.unwrap();
    let http = reqwest::Client::new();
    let pw = token(
        &http,
        &sf.url(),
        &[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("username", USERNAME),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(pw["instance_url"], sf.url());
    assert!(
        pw["id"]
            .as_str()
            .unwrap()
            .ends_with(&sf.user_id(USERNAME).unwrap())
    );
    let bad = token(
        &http,
        &sf.url(),
        &[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("username", USERNAME),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(bad["error"], "invalid_grant");
    let rt = token(
        &http,
        &sf.url(),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("refresh_token", sf.refresh_token()),
        ],
    )
    .await;
    assert!(rt["access_token"].is_string());

    let now = chrono::Utc::now().timestamp() as u64;
    let claims = json!({"iss": CLIENT_ID, "sub": USERNAME, "aud": "https://login.salesforce.com", "exp": now + 120});
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(TEST_JWT_PRIVATE_KEY.as_bytes()).unwrap();
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .unwrap();
    let ok = token(
        &http,
        &sf.url(),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &jwt),
        ],
    )
    .await;
    assert!(ok["access_token"].is_string(), "{ok}");
    let forged = format!("{}x", &jwt[..jwt.len() - 1]);
    let no = token(
        &http,
        &sf.url(),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &forged),
        ],
    )
    .await;
    assert_eq!(no["error"], "invalid_grant");

    let c = Client::new(&sf).await;
    let (s, _, _) = c.send(reqwest::Method::GET, "/limits", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, res, _) = c.send(reqwest::Method::GET, "/", None).await;
    assert_eq!(
        (s, res["query"].as_str()),
        (StatusCode::OK, Some("/services/data/v62.0/query"))
    );
    let versions: Value = http
        .get(format!("{}/services/data/", sf.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        versions.as_array().unwrap().last().unwrap()["version"],
        "62.0"
    );
    sf.expire_tokens();
    let (s, err, _) = c.send(reqwest::Method::GET, "/limits", None).await;
    assert_eq!(
        (s, err[0]["errorCode"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("INVALID_SESSION_ID"))
    );

    let c = Client::new(&sf).await;
    sf.set_api_usage(10, 10);
    let (s, err, h) = c.send(reqwest::Method::GET, "/limits", None).await;
    assert_eq!(
        (s, err[0]["errorCode"].as_str()),
        (StatusCode::FORBIDDEN, Some("REQUEST_LIMIT_EXCEEDED"))
    );
    assert_eq!(h["sforce-limit-info"], "api-usage=10/10");
    sf.set_api_usage(0, 100);
    sf.faults().set_requests_per_minute(1);
    let (s1, _, _) = c.send(reqwest::Method::GET, "/limits", None).await;
    let (s2, err, _) = c.send(reqwest::Method::GET, "/limits", None).await;
    assert_eq!(s1, StatusCode::OK);
    assert_eq!(
        (s2, err[0]["errorCode"].as_str()),
        (StatusCode::FORBIDDEN, Some("REQUEST_LIMIT_EXCEEDED"))
    );
}

#[tokio::test]
async fn collections_and_describe() {
    let sf = FakeSalesforce::start().await.unwrap();
    let c = Client::new(&sf).await;
    let body = json!({"allOrNone": true, "records": [
        {"attributes": {"type": "Case"}, "Subject": "ok"},
        {"attributes": {"type": "Case"}, "Status": "Bogus"},
    ]});
    let (s, res, _) = c
        .send(reqwest::Method::POST, "/composite/sobjects", Some(body))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        res[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        res[1]["errors"][0]["statusCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(sf.case_count(), 0);
    let body = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Case"}, "Subject": "ok"},
        {"attributes": {"type": "Case"}, "Status": "Bogus"},
    ]});
    let (_, res, _) = c
        .send(reqwest::Method::POST, "/composite/sobjects", Some(body))
        .await;
    assert_eq!(res[0]["success"], true);
    assert_eq!(res[1]["success"], false);
    assert_eq!(sf.case_count(), 1);

    let (_, d, _) = c
        .send(reqwest::Method::GET, "/sobjects/Case/describe", None)
        .await;
    let status = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Status")
        .unwrap();
    let values: Vec<&str> = status["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["New", "Working", "Escalated", "Closed"]);
    assert_eq!(status["restrictedPicklist"], true);
}

#[tokio::test]
async fn assignment_rule_and_fault_rendering() {
    let sf = FakeSalesforce::start().await.unwrap();
    let c = Client::new(&sf).await;
    sf.set_assignment_rule(Some(sf.queue_id()));
    let (_, created, _) = c
        .send(
            reqwest::Method::POST,
            "/sobjects/Case",
            Some(json!({"Subject": "x"})),
        )
        .await;
    assert_eq!(
        sf.record("Case", created["id"].as_str().unwrap()).unwrap()["OwnerId"],
        sf.queue_id()
    );
    sf.faults().fail_next(1, 503);
    let (s, err, h) = c.send(reqwest::Method::GET, "/limits", None).await;
    assert_eq!(
        (s, err[0]["errorCode"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("SERVER_UNAVAILABLE"))
    );
    assert!(h.contains_key("sforce-limit-info"));
    let (_, info) = start_seeded(0).await.unwrap();
    assert_eq!(info["client_id"], CLIENT_ID);
    assert!(
        info["base_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
}
