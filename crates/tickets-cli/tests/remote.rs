//! The binary against a remote provider: the fake Asana on 127.0.0.1, configured by file.
//! Shows the same commands work on a remote tracker, and that remote trouble exits 5.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use tickets_fakes::asana::FakeAsana;

/// Runs the binary off the async runtime's threads (the fake serves on them meanwhile).
async fn run(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tickets"));
    cmd.current_dir(dir).args(args);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("TICKETS_") || key == "RUST_LOG" {
            cmd.env_remove(&*key);
        }
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("the tickets binary runs"))
        .await
        .unwrap()
}

fn json(out: &Output) -> Value {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "failed: {err}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn config(fake: &FakeAsana, base_url: &str) -> String {
    format!(
        "provider = \"asana\"\ntoken = \"{}\"\nworkspace = \"{}\"\nproject = \"{}\"\n\
         base_url = \"{base_url}\"\nmax_retries = 0\n",
        fake.token(),
        fake.workspace(),
        fake.project(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_on_asana_from_the_shell() {
    let fake = FakeAsana::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tickets.toml"),
        config(&fake, &fake.base_url()),
    )
    .unwrap();
    let d = dir.path();

    let t = json(
        &run(
            d,
            &[
                "create",
                "--subject",
                "Server down",
                "--priority",
                "high",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(t["provider"], "asana");
    assert_eq!(t["status"], "new");
    let id = t["guid"].as_str().unwrap().to_owned();
    assert!(fake.task(&id).is_some(), "the task exists in the fake");

    let got = json(&run(d, &["get", &id, "--json"]).await);
    assert_eq!(got["subject"], "Server down");
    let a = json(&run(d, &["assign", &id, "alice@example.com", "--json"]).await);
    assert_eq!(a["assigned_to"], "alice@example.com");
    let c = json(&run(d, &["comment", &id, "On it", "--json"]).await);
    assert!(c["comment_guid"].is_string());
    assert_eq!(
        json(&run(d, &["resolve", &id, "--json"]).await)["status"],
        "resolved"
    );
    let list = json(&run(d, &["list", "--status", "resolved", "--json"]).await);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["guid"], id.as_str());

    let missing = run(d, &["get", "1209999999999999"]).await;
    assert_eq!(missing.status.code(), Some(3));

    // The configuration shown never holds the token.
    let shown = run(d, &["config"]).await;
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        !text.contains(fake.token()) && text.contains("token = \"***\""),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_trouble_exits_5_without_leaking_the_token() {
    let fake = FakeAsana::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tickets.toml"),
        config(&fake, &fake.base_url()),
    )
    .unwrap();

    // More failures than the retry layer's attempts (a single 503 is retried away).
    fake.faults().fail_next(50, 503);
    let out = run(dir.path(), &["list"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.starts_with("tickets: Unavailable"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains(fake.token()), "{err}");

    // Nobody listening at all.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}/api/1.0");
    std::fs::write(dir.path().join("tickets.toml"), config(&fake, &url)).unwrap();
    let out = run(dir.path(), &["get", "1209"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(!err.contains(fake.token()), "{err}");
}
