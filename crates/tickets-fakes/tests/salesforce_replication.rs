//! The fake Salesforce's data replication resources over HTTP: `sobjects/{object}/updated/`
//! and `/deleted/` with their answers, window rules and errors, the delete log, the movable
//! clock and the `Date` header that carries it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tickets_fakes::salesforce::{CLIENT_ID, CLIENT_SECRET, FakeSalesforce};

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn new(sf: &FakeSalesforce) -> Self {
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{}/services/oauth2/token", sf.url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
    ) -> (StatusCode, Value, String) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let date = resp.headers()["date"].to_str().unwrap().to_owned();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            date,
        )
    }

    async fn window(&self, what: &str, start: &str, end: &str) -> (StatusCode, Value) {
        let url = format!(
            "/sobjects/{what}/?start={}&end={}",
            start.replace('+', "%2B"),
            end.replace('+', "%2B")
        );
        let (s, v, _) = self.send(reqwest::Method::GET, &url, None).await;
        (s, v)
    }

    async fn case(&self, subject: &str) -> String {
        let (s, v, _) = self
            .send(
                reqwest::Method::POST,
                "/sobjects/Case",
                Some(json!({"Subject": subject})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// The server's clock, from the `Date` header.
    async fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let (_, _, date) = self.send(reqwest::Method::GET, "/limits", None).await;
        chrono::DateTime::parse_from_rfc2822(&date)
            .unwrap()
            .to_utc()
    }
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn code(v: &Value) -> &str {
    v[0]["errorCode"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn updated_and_deleted_answer_as_documented() {
    let sf = FakeSalesforce::start().await.unwrap();
    let api = Api::new(&sf).await;
    let start = api.now().await - chrono::Duration::minutes(1);
    let a = api.case("kept").await;
    let b = api.case("deleted").await;
    let (s, v, _) = api
        .send(
            reqwest::Method::POST,
            "/sobjects/CaseComment",
            Some(json!({"ParentId": a, "CommentBody": "c"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let comment = v["id"].as_str().unwrap().to_owned();
    let (s, _, _) = api
        .send(
            reqwest::Method::DELETE,
            &format!("/sobjects/Case/{b}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Within the current minute nothing is covered yet.
    let end = api.now().await + chrono::Duration::minutes(5);
    let (s, v) = api.window("Case/updated", &iso(start), &iso(end)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ids"], json!([]));

    sf.advance_clock(Duration::from_secs(120));
    let end = api.now().await;
    let (_, v) = api.window("Case/updated", &iso(start), &iso(end)).await;
    assert_eq!(v["ids"], json!([a]), "the deleted Case is not listed: {v}");
    let latest = v["latestDateCovered"].as_str().unwrap();
    assert!(latest.ends_with(":00.000+0000"), "to the minute: {latest}");
    let (_, v) = api
        .window("CaseComment/updated", &iso(start), &iso(end))
        .await;
    assert_eq!(v["ids"], json!([comment]), "comments have their own");
    let (s, v) = api.window("Case/deleted", &iso(start), &iso(end)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["deletedRecords"].as_array().unwrap().len(), 1);
    assert_eq!(v["deletedRecords"][0]["id"], b.as_str());
    assert!(
        v["deletedRecords"][0]["deletedDate"]
            .as_str()
            .unwrap()
            .ends_with("+0000")
    );
    assert!(v["earliestDateAvailable"].is_string() && v["latestDateCovered"].is_string());
    let (s, v, _) = api
        .send(reqwest::Method::GET, &format!("/sobjects/Case/{b}"), None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
}

#[tokio::test]
async fn windows_out_of_bounds_are_invalid_replication_dates() {
    let sf = FakeSalesforce::start().await.unwrap();
    let api = Api::new(&sf).await;
    let now = api.now().await;
    let ago = |m: i64| iso(now - chrono::Duration::minutes(m));
    for (what, start, end) in [
        ("Case/updated", ago(1), ago(2)),
        ("Case/updated", ago(1), ago(1)),
        ("Case/deleted", ago(2), ago(1)),
        ("Case/updated", ago(31 * 24 * 60), ago(0)),
        ("Case/deleted", ago(16 * 24 * 60), ago(0)),
        ("Case/updated", "yesterday".into(), ago(0)),
    ] {
        let (s, v) = api.window(what, &start, &end).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "INVALID_REPLICATION_DATE"),
            "{what} {start} {end}: {v}"
        );
    }
    let (s, _) = api
        .window("Case/updated", &ago(10 * 24 * 60), &ago(0))
        .await;
    assert_eq!(s, StatusCode::OK, "within 30 days");
    let (s, v) = api.window("Nope/updated", &ago(5), &ago(0)).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "NOT_FOUND"));

    // A purged delete log refuses windows starting before the purge.
    let (s, _) = api.window("Case/deleted", &ago(5), &ago(0)).await;
    assert_eq!(s, StatusCode::OK);
    sf.advance_clock(Duration::from_secs(600));
    sf.purge_delete_log();
    let (s, v) = api
        .window("Case/deleted", &ago(5), &iso(api.now().await))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "INVALID_REPLICATION_DATE")
    );
}

#[tokio::test]
async fn the_date_header_follows_the_clock() {
    let sf = FakeSalesforce::start().await.unwrap();
    let api = Api::new(&sf).await;
    let before = api.now().await;
    sf.advance_clock(Duration::from_secs(3 * 24 * 3600));
    let after = api.now().await;
    assert!(
        after - before >= chrono::Duration::days(3),
        "{before} {after}"
    );
    let id = api.case("later").await;
    let (_, v, _) = api
        .send(reqwest::Method::GET, &format!("/sobjects/Case/{id}"), None)
        .await;
    let created = chrono::DateTime::parse_from_str(
        v["CreatedDate"].as_str().unwrap(),
        "%Y-%m-%dT%H:%M:%S%.3f%z",
    )
    .unwrap();
    assert!(
        created.to_utc() >= after - chrono::Duration::seconds(1),
        "{created} {after}"
    );
}
