//! The app on a real listener (127.0.0.1, a free port), called over HTTP.

use std::net::SocketAddr;

use serde_json::{Value, json};
use tickets::figment::Figment;
use tickets::figment::providers::{Format, Toml};

/// The app's config: its own keys, and two ticket backends under the focus key.
const APP: &str = r#"
[server]
listen = "127.0.0.1:0"
name = "homechoice"

[homechoice.ticket]
default = "desk"
[homechoice.ticket.backends.desk]
provider = "memory"
[homechoice.ticket.backends.spare]
provider = "memory"
"#;

async fn serve(config: &str) -> (SocketAddr, tickets::Tickets) {
    let figment = Figment::from(Toml::string(config));
    let tickets = embed_axum::tickets_from(&figment).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = embed_axum::router(tickets.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, tickets)
}

#[tokio::test]
async fn the_focus_key_selects_the_tickets_section() {
    let (_, tickets) = serve(APP).await;
    let names: Vec<_> = tickets
        .backends()
        .into_iter()
        .map(|b| (b.name, b.is_default))
        .collect();
    assert_eq!(
        names,
        [("desk".to_owned(), true), ("spare".to_owned(), false)]
    );

    // The shipped app.toml, in the seed's shorthand layout.
    let figment =
        embed_axum::app_figment(concat!(env!("CARGO_MANIFEST_DIR"), "/app.toml").as_ref());
    let tickets = embed_axum::tickets_from(&figment).await.unwrap();
    assert_eq!(tickets.default_backend().unwrap().kind(), "memory");
}

#[tokio::test]
async fn a_ticket_over_http() {
    let (addr, _) = serve(APP).await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();

    let res = http
        .post(format!("{base}/tickets"))
        .json(&json!({"subject": "Server down", "priority": "high", "tags": ["ops"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["status"], "new");
    assert_eq!(created["provider"], "memory");
    assert_eq!(created["priority"], "high");
    let id = created["guid"].as_str().unwrap().to_owned();

    let got: Value = http
        .get(format!("{base}/tickets/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, created);

    let res = http
        .post(format!("{base}/tickets/{id}/comments"))
        .json(&json!({"body": "Looking into it", "author": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let comment: Value = res.json().await.unwrap();
    assert_eq!(comment["author"], "alice");
    assert!(comment["comment_guid"].is_string());

    let res = http
        .post(format!("{base}/tickets/{id}/status"))
        .json(&json!({"status": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "closed");

    let closed: Value = http
        .get(format!("{base}/tickets?status=closed"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(closed.as_array().unwrap().len(), 1);
    assert_eq!(closed[0]["guid"], id.as_str());
}

#[tokio::test]
async fn errors_answer_with_a_status_code_by_kind() {
    let (addr, _) = serve(APP).await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();

    let res = http
        .get(format!("{base}/tickets/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "NotFound");
    assert!(body["message"].as_str().unwrap().contains("nope"), "{body}");

    let res = http
        .post(format!("{base}/tickets"))
        .json(&json!({"subject": "  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "InvalidInput");

    let created: Value = http
        .post(format!("{base}/tickets"))
        .json(&json!({"subject": "Done soon"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["guid"].as_str().unwrap();
    let status = |s: &'static str| {
        http.post(format!("{base}/tickets/{id}/status"))
            .json(&json!({ "status": s }))
            .send()
    };
    assert_eq!(status("cancelled").await.unwrap().status(), 200);
    let refused = status("on_hold").await.unwrap();
    assert_eq!(refused.status(), 409);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "InvalidTransition"
    );
    let bad = status("sideways").await.unwrap();
    assert_eq!(bad.status(), 400);

    let res = http
        .get(format!("{base}/tickets?status=sideways"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
