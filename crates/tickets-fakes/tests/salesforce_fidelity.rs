//! The fake Salesforce answers like the real one where vendors' own clients noticed a
//! difference (issue 12): HTTP Basic client credentials, trailing slashes, and the error
//! envelope for unknown routes and methods.

use serde_json::{Value, json};
use tickets_fakes::salesforce::FakeSalesforce;

async fn token_with(sf: &FakeSalesforce, req: reqwest::RequestBuilder) -> (u16, Value) {
    let _ = sf;
    let r = req.send().await.expect("token answer");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
}

async fn login(sf: &FakeSalesforce) -> String {
    let (status, body) = token_with(
        sf,
        reqwest::Client::new()
            .post(format!("{}/services/oauth2/token", sf.url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", sf.client_id()),
                ("client_secret", sf.client_secret()),
            ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_token_endpoint_takes_client_credentials_in_a_basic_header() {
    let sf = FakeSalesforce::start().await.unwrap();
    let url = format!("{}/services/oauth2/token", sf.url());
    let (status, body) = token_with(
        &sf,
        reqwest::Client::new()
            .post(&url)
            .basic_auth(sf.client_id(), Some(sf.client_secret()))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    // The password flow too, with the user's credentials in the form.
    let (status, body) = token_with(
        &sf,
        reqwest::Client::new()
            .post(&url)
            .basic_auth(sf.client_id(), Some(sf.client_secret()))
            .form(&[
                ("grant_type", "password"),
                ("username", sf.username()),
                ("password", sf.password()),
            ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A wrong secret in the header is refused like one in the form.
    let (status, body) = token_with(
        &sf,
        reqwest::Client::new()
            .post(&url)
            .basic_auth(sf.client_id(), Some("wrong"))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_client", "{body}");
    // A header that is not base64 is refused, not a panic.
    let (status, body) = token_with(
        &sf,
        reqwest::Client::new()
            .post(&url)
            .header("authorization", "Basic %%%")
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_client", "{body}");
}

#[tokio::test]
async fn rest_paths_take_a_trailing_slash() {
    let sf = FakeSalesforce::start().await.unwrap();
    let token = login(&sf).await;
    let http = reqwest::Client::new();
    let base = format!("{}/services/data/v62.0", sf.url());
    let r = http
        .post(format!("{base}/sobjects/Case/"))
        .bearer_auth(&token)
        .json(&json!({"Subject": "slash"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = http
        .get(format!("{base}/sobjects/Case/{id}/"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = http
        .get(format!("{base}/query/"))
        .query(&[("q", "SELECT Id, Subject FROM Case")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["records"][0]["Subject"], "slash", "{body}");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_salesforce_errors() {
    let sf = FakeSalesforce::start().await.unwrap();
    let token = login(&sf).await;
    let http = reqwest::Client::new();
    let base = format!("{}/services/data/v62.0", sf.url());
    let r = http
        .get(format!("{base}/no/such/thing"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
    );
    let r = http
        .put(format!("{base}/sobjects/Case/500Dn000000AAAAIA0"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert!(r.headers().contains_key("allow"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "METHOD_NOT_ALLOWED", "{body}");
    let message = body[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("HTTP Method 'PUT' not allowed. Allowed are ")
            && message.contains("PATCH"),
        "{message}"
    );
    // Also for the token endpoint, which only takes POST.
    let r = http
        .get(format!("{}/services/oauth2/token", sf.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "METHOD_NOT_ALLOWED", "{body}");
}

#[tokio::test]
async fn a_case_query_carries_its_comments_in_a_subquery() {
    let sf = FakeSalesforce::start().await.unwrap();
    let token = login(&sf).await;
    let http = reqwest::Client::new();
    let base = format!("{}/services/data/v62.0", sf.url());
    let mut ids = Vec::new();
    for subject in ["with", "without"] {
        let r: Value = http
            .post(format!("{base}/sobjects/Case"))
            .bearer_auth(&token)
            .json(&json!({"Subject": subject}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    for body in ["first", "second"] {
        let r = http
            .post(format!("{base}/sobjects/CaseComment"))
            .bearer_auth(&token)
            .json(&json!({"ParentId": ids[0], "CommentBody": body}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
    let q = "SELECT Id, Subject, (SELECT Id, CommentBody FROM CaseComments ORDER BY CreatedDate, Id) FROM Case ORDER BY Subject";
    let body: Value = http
        .get(format!("{base}/query"))
        .query(&[("q", q)])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let with = &body["records"][0];
    assert_eq!(with["Subject"], "with", "{body}");
    assert_eq!(with["CaseComments"]["totalSize"], 2, "{body}");
    assert_eq!(with["CaseComments"]["done"], true);
    assert_eq!(with["CaseComments"]["records"][1]["CommentBody"], "second");
    assert_eq!(
        with["CaseComments"]["records"][0]["attributes"]["type"],
        "CaseComment"
    );
    assert_eq!(body["records"][1]["CaseComments"], Value::Null, "{body}");
    // An unknown relationship is Salesforce's INVALID_TYPE.
    let r = http
        .get(format!("{base}/query"))
        .query(&[("q", "SELECT Id, (SELECT Id FROM Nopes) FROM Case")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "INVALID_TYPE", "{body}");
}

#[tokio::test]
async fn content_versions_take_base64_json_and_answer_their_bytes() {
    let sf = FakeSalesforce::start().await.unwrap();
    let token = login(&sf).await;
    let http = reqwest::Client::new();
    let base = format!("{}/services/data/v62.0", sf.url());
    let case: Value = http
        .post(format!("{base}/sobjects/Case"))
        .bearer_auth(&token)
        .json(&json!({"Subject": "files"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case = case["id"].as_str().unwrap();
    let post = |body: Value| {
        http.post(format!("{base}/sobjects/ContentVersion"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    // "hello\0" in base64.
    let r = post(json!({"PathOnClient": "a.txt", "VersionData": "aGVsbG8A",
        "FirstPublishLocationId": case}))
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rec: Value = http
        .get(format!("{base}/sobjects/ContentVersion/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rec["Title"], "a");
    assert_eq!(rec["ContentSize"], 6);
    assert_eq!(rec["FileType"], "TXT");
    assert_eq!(
        rec["VersionData"],
        format!("/services/data/v62.0/sobjects/ContentVersion/{id}/VersionData")
    );
    let bytes = http
        .get(format!("{base}/sobjects/ContentVersion/{id}/VersionData"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"hello\0");
    // The Case's links name the document.
    let q = "SELECT Id, (SELECT ContentDocumentId FROM ContentDocumentLinks) FROM Case";
    let body: Value = http
        .get(format!("{base}/query"))
        .query(&[("q", q)])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["records"][0]["ContentDocumentLinks"]["records"][0]["ContentDocumentId"],
        rec["ContentDocumentId"],
        "{body}"
    );
    for (body, code) in [
        (json!({"VersionData": "aGk="}), "REQUIRED_FIELD_MISSING"),
        (json!({"PathOnClient": "a.txt"}), "REQUIRED_FIELD_MISSING"),
        (
            json!({"PathOnClient": "a.txt", "VersionData": "not base64!"}),
            "JSON_PARSER_ERROR",
        ),
        (
            json!({"PathOnClient": "a.txt", "VersionData": "aGk=",
                "FirstPublishLocationId": "500Dn0000zzzzzz"}),
            "INVALID_CROSS_REFERENCE_KEY",
        ),
    ] {
        let r = post(body.clone()).await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "{body}");
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer[0]["errorCode"], code, "{body}: {answer}");
    }
}

#[tokio::test]
async fn composite_runs_subrequests_with_references_as_one_call() {
    let sf = FakeSalesforce::start().await.unwrap();
    let token = login(&sf).await;
    let http = reqwest::Client::new();
    let base = format!("{}/services/data/v62.0", sf.url());
    let used = sf.api_usage().0;
    let body: Value = http
        .post(format!("{base}/composite"))
        .bearer_auth(&token)
        .json(&json!({"allOrNone": true, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v62.0/sobjects/Case",
             "referenceId": "new", "body": {"Subject": "composed"}},
            {"method": "GET", "url": "/services/data/v62.0/sobjects/Case/@{new.id}?fields=Id,Subject",
             "referenceId": "read"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sf.api_usage().0 - used, 1, "one call against the limits");
    let answers = body["compositeResponse"].as_array().unwrap();
    assert_eq!(answers[0]["httpStatusCode"], 201, "{body}");
    assert_eq!(answers[0]["referenceId"], "new");
    assert_eq!(answers[1]["httpStatusCode"], 200, "{body}");
    assert_eq!(answers[1]["body"]["Subject"], "composed");
    assert_eq!(answers[1]["body"]["Id"], answers[0]["body"]["id"]);
    assert_eq!(sf.case_count(), 1);

    // allOrNone: a failing subrequest rolls back the ones before it.
    let body: Value = http
        .post(format!("{base}/composite"))
        .bearer_auth(&token)
        .json(&json!({"allOrNone": true, "compositeRequest": [
            {"method": "POST", "url": "/services/data/v62.0/sobjects/Case",
             "referenceId": "a", "body": {"Subject": "rolled back"}},
            {"method": "POST", "url": "/services/data/v62.0/sobjects/Case",
             "referenceId": "b", "body": {"Subject": "x", "Status": "Nope"}},
            {"method": "GET", "url": "/services/data/v62.0/sobjects/Case/@{a.id}",
             "referenceId": "c"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let answers = body["compositeResponse"].as_array().unwrap();
    assert_eq!(sf.case_count(), 1, "rolled back: {body}");
    assert_eq!(answers[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(
        answers[1]["body"][0]["errorCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(answers[2]["body"][0]["errorCode"], "PROCESSING_HALTED");
}
