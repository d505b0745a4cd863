//! `tickets sync ...` and the after-write delivery, run as a user would against the fake Asana.

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use tickets_fakes::asana::FakeAsana;

async fn run(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tickets"));
    cmd.current_dir(dir).args(args);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("TICKETS_") || key == "RUST_LOG" {
            cmd.env_remove(&*key);
        }
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("the tickets binary runs"))
        .await
        .expect("join")
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn config(fake: &FakeAsana, base_url: &str) -> String {
    format!(
        "default = \"main\"\n\
         [backends.main]\nprovider = \"sync\"\nlocal = \"db\"\nremote = \"tracker\"\n\
         [backends.db]\nprovider = \"internal\"\nurl = \"sqlite://t.db\"\n\
         [backends.tracker]\nprovider = \"asana\"\ntoken = \"{}\"\nproject = \"{}\"\n\
         workspace = \"{}\"\nbase_url = \"{base_url}\"\nmax_retries = 0\n",
        fake.token(),
        fake.project(),
        fake.workspace()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_delivered_or_reported_and_sync_commands_work() {
    let fake = FakeAsana::start().await.expect("fake");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // The remote unreachable: the write succeeds, and stderr says what waits.
    std::fs::write(d.join("tickets.toml"), config(&fake, "http://127.0.0.1:9")).unwrap();
    let out = run(d, &["--json", "create", "-s", "Printer on fire"]).await;
    let id = json(&out)["id"].as_str().unwrap().to_owned();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("1 change(s) not yet delivered") && err.contains("tickets sync run"),
        "{err}"
    );
    let st = json(&run(d, &["--json", "sync", "status"]).await);
    assert_eq!(st["pending"], 1, "{st}");

    // The remote back: one `sync run --once` delivers at once, backoff or not.
    std::fs::write(d.join("tickets.toml"), config(&fake, &fake.base_url())).unwrap();
    let r = json(&run(d, &["--json", "sync", "run", "--once"]).await);
    assert_eq!(r["status"]["pending"], 0, "{r}");
    assert_eq!(r["run"]["delivered"], 1, "{r}");
    let t = json(&run(d, &["--json", "get", &id]).await);
    let rid = t["links"]["asana"].as_str().expect("linked").to_owned();
    assert_eq!(fake.project_tasks(), vec![rid.clone()]);

    // A write with the remote up is delivered before the command exits.
    let out = run(d, &["comment", &id, "on it"]).await;
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not yet delivered"));
    assert_eq!(
        fake.stories(&rid)
            .iter()
            .filter(|s| s["type"] == "comment")
            .count(),
        1
    );

    // push, pull and retry answer.
    let pushed = json(&run(d, &["--json", "sync", "push", &id]).await);
    assert_eq!(pushed["links"]["asana"], rid.as_str());
    let pulled = json(&run(d, &["--json", "sync", "pull", &rid]).await);
    assert_eq!(pulled["id"], id.as_str());
    let retried = json(&run(d, &["--json", "sync", "retry"]).await);
    assert_eq!(retried["requeued"], 0);
    let text = String::from_utf8_lossy(&run(d, &["sync", "status"]).await.stdout).to_string();
    assert!(
        text.contains("pending     0") && text.contains("tracker (asana)"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_commands_on_another_backend_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tickets.toml"), "provider = \"memory\"\n").unwrap();
    let out = run(dir.path(), &["sync", "status"]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"sync\" backend"), "{err}");
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_skip_and_claims_given_back_on_exit() {
    let fake = FakeAsana::start().await.expect("fake");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("tickets.toml"), config(&fake, &fake.base_url())).unwrap();
    let id = json(&run(d, &["--json", "create", "-s", "Checked"]).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rid = json(&run(d, &["--json", "get", &id]).await)["links"]["asana"]
        .as_str()
        .expect("delivered after the write")
        .to_owned();
    let v = json(&run(d, &["--json", "sync", "verify"]).await);
    assert_eq!(v["differences"].as_array().unwrap().len(), 0, "{v}");

    // Changed in Asana behind our back: verify says where, exits 6; repair brings it back.
    let out = run(
        d,
        &[
            "--backend",
            "tracker",
            "update",
            &rid,
            "--subject",
            "Renamed",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(d, &["--json", "sync", "verify"]).await;
    assert_eq!(
        code(&out),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["differences"][0]["field"], "subject", "{v}");
    assert_eq!(v["differences"][0]["remote"], "Renamed", "{v}");
    let fixed = json(&run(d, &["--json", "sync", "verify", "--repair", "remote"]).await);
    assert_eq!(fixed["repaired"], 1, "{fixed}");
    json(&run(d, &["--json", "sync", "run", "--once"]).await);
    let v = json(&run(d, &["--json", "sync", "verify"]).await);
    assert_eq!(v["differences"].as_array().unwrap().len(), 0, "{v}");

    // A change Asana refuses parks; `sync skip` lets the next one through.
    run(d, &["assign", &id, "nobody@nowhere.invalid"]).await;
    run(d, &["comment", &id, "after the bad assign"]).await;
    let st = json(&run(d, &["--json", "sync", "status"]).await);
    assert_eq!(st["parked"], 1, "{st}");
    let seq = st["parked_entries"][0]["seq"].as_i64().unwrap().to_string();
    let waiting = st["waiting"].as_array().unwrap();
    assert!(
        waiting.iter().any(|w| w["reason"] == "behind_parked"),
        "{st}"
    );
    let skipped = json(&run(d, &["--json", "sync", "skip", &seq]).await);
    assert_eq!(skipped["skipped"]["seq"].to_string(), seq);
    json(&run(d, &["--json", "sync", "run", "--once"]).await);
    let st = json(&run(d, &["--json", "sync", "status"]).await);
    assert_eq!(
        (st["pending"].as_i64(), st["parked"].as_i64()),
        (Some(0), Some(0)),
        "{st}"
    );
    let history = json(&run(d, &["--json", "history", &id]).await);
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["field"] == "skipped"),
        "{history}"
    );

    // A slow remote: the write's short delivery is cut off, and the process gives its claim
    // back when it exits (nothing stays "delivering" for the lease).
    fake.faults()
        .set_latency(std::time::Duration::from_secs(10));
    let out = run(d, &["comment", &id, "slow"]).await;
    assert!(out.status.success());
    fake.faults().set_latency(std::time::Duration::ZERO);
    let st = json(&run(d, &["--json", "sync", "status"]).await);
    assert_eq!(st["delivering"], 0, "{st}");
    assert_eq!(st["pending"], 1, "{st}");
}
