//! Every ticket command, run in-process on a memory backend.

use std::sync::Arc;

use clap::Parser;
use serde_json::Value;
use tickets::memory::MemoryProvider;
use tickets::{NewTicket, Tickets};

use super::{Failure, on_backend};
use crate::cli::Cli;
use crate::output::Printer;

fn hub() -> Tickets {
    let tickets = Tickets::new();
    tickets.register("main", Arc::new(MemoryProvider::new()));
    tickets
}

async fn exec(tickets: &Tickets, args: &[&str]) -> Result<String, Failure> {
    let cli = Cli::try_parse_from(std::iter::once("tickets").chain(args.iter().copied()))
        .expect("valid command line");
    let mut printer = Printer::new(Vec::new(), cli.json);
    on_backend(&cli.command, tickets, &mut printer).await?;
    Ok(String::from_utf8(printer.into_inner()).expect("utf-8 output"))
}

async fn json(tickets: &Tickets, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let text = exec(tickets, &args)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
}

async fn fails(tickets: &Tickets, args: &[&str]) -> (u8, String) {
    match exec(tickets, args).await {
        Ok(out) => panic!("{args:?} succeeded: {out}"),
        Err(e) => (e.exit_code(), e.to_string()),
    }
}

#[tokio::test]
async fn create_sets_every_field_given() {
    let t = hub();
    let v = json(
        &t,
        &[
            "create",
            "--subject",
            "Server down",
            "--description",
            "since 9:00",
            "--priority",
            "high",
            "--assignee",
            "alice",
            "--requester",
            "bob",
            "--tag",
            "ops",
            "--tag",
            "db",
            "--field",
            "severity=2",
            "--field",
            "site=\"lyon\"",
            "--due",
            "2026-12-01",
            "--kind",
            "incident",
            "--watcher",
            "carol",
            "--idempotency-key",
            "k1",
        ],
    )
    .await;
    assert_eq!(v["subject"], "Server down");
    assert_eq!(v["description"], "since 9:00");
    assert_eq!(v["priority"], "high");
    assert_eq!(v["status"], "new");
    assert_eq!(v["provider"], "memory");
    assert_eq!(v["assignee"], "alice");
    assert_eq!(v["assigned_to"], "alice");
    assert_eq!(v["requester"], "bob");
    assert_eq!(v["tags"], serde_json::json!(["db", "ops"]));
    assert_eq!(
        v["custom_fields"],
        serde_json::json!({"severity": 2, "site": "lyon"})
    );
    assert_eq!(v["due"], "2026-12-01");
    assert_eq!(v["kind"], "incident");
    assert_eq!(v["watchers"], serde_json::json!(["carol"]));
    assert_eq!(v["guid"], v["id"]);

    // Same idempotency key: the same ticket.
    let again = json(
        &t,
        &[
            "create",
            "--subject",
            "Server down",
            "--idempotency-key",
            "k1",
        ],
    )
    .await;
    assert_eq!(again["guid"], v["guid"]);

    let id = v["guid"].as_str().unwrap();
    let got = json(&t, &["get", id]).await;
    assert_eq!(got, v);
    let text = exec(&t, &["get", id]).await.unwrap();
    assert!(
        text.contains("subject:") && text.contains("Server down"),
        "{text}"
    );
    assert!(text.contains("field severity:"), "{text}");
}

#[tokio::test]
async fn the_status_life_cycle() {
    let t = hub();
    let id = json(&t, &["create", "--subject", "Printer jam"]).await["guid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        json(&t, &["status", &id, "In Progress"]).await["status"],
        "in_progress"
    );
    assert_eq!(json(&t, &["escalate", &id]).await["status"], "escalated");
    assert_eq!(json(&t, &["resolve", &id]).await["status"], "resolved");
    assert_eq!(json(&t, &["close", &id]).await["status"], "closed");

    let (code, msg) = fails(&t, &["status", &id, "on_hold"]).await;
    assert_eq!(code, 4, "{msg}");
    assert!(msg.starts_with("InvalidTransition"), "{msg}");

    assert_eq!(json(&t, &["reopen", &id]).await["status"], "new");
    let (code, msg) = fails(&t, &["reopen", &id]).await;
    assert_eq!(code, 4, "{msg}");

    let (code, msg) = fails(&t, &["status", &id, "done-ish"]).await;
    assert_eq!(code, 4);
    assert!(msg.contains("unknown status"), "{msg}");

    let history = json(&t, &["history", &id]).await;
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[0], "created");
    assert_eq!(actions.iter().filter(|a| **a == "status_change").count(), 5);
    let text = exec(&t, &["history", &id]).await.unwrap();
    assert!(
        text.contains("STATUS_CHANGE") && text.contains("closed -> new"),
        "{text}"
    );
}

#[tokio::test]
async fn assign_unassign_and_comments() {
    let t = hub();
    let id = json(&t, &["create", "--subject", "Login fails"]).await["guid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        json(&t, &["assign", &id, "alice"]).await["assigned_to"],
        "alice"
    );
    assert_eq!(
        json(&t, &["unassign", &id]).await["assigned_to"],
        Value::Null
    );

    let c1 = json(&t, &["comment", &id, "first", "--author", "bob"]).await;
    assert_eq!(c1["body"], "first");
    assert_eq!(c1["author"], "bob");
    assert_eq!(c1["public"], true);
    assert!(c1["comment_guid"].is_string());
    let c2 = json(&t, &["comment", &id, "staff only", "--private"]).await;
    assert_eq!(c2["public"], false);

    let all = json(&t, &["comments", &id]).await;
    let guids: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["comment_guid"])
        .collect();
    assert_eq!(guids, [&c1["comment_guid"], &c2["comment_guid"]]);
    let text = exec(&t, &["comments", &id]).await.unwrap();
    assert!(
        text.contains("by bob") && text.contains("(private)"),
        "{text}"
    );

    let (code, msg) = fails(&t, &["comment", &id, "   "]).await;
    assert_eq!(code, 4, "{msg}");
}

#[tokio::test]
async fn update_changes_only_what_is_named() {
    let t = hub();
    let created = json(
        &t,
        &[
            "create",
            "--subject",
            "Old",
            "--description",
            "keep me",
            "--tag",
            "a",
            "--field",
            "x=1",
        ],
    )
    .await;
    let id = created["guid"].as_str().unwrap();
    let v = json(
        &t,
        &[
            "update",
            id,
            "--subject",
            "New",
            "--priority",
            "low",
            "--tag",
            "b",
            "--clear-field",
            "x",
            "--field",
            "y=true",
            "--due",
            "2027-01-02",
        ],
    )
    .await;
    assert_eq!(v["subject"], "New");
    assert_eq!(v["description"], "keep me");
    assert_eq!(v["priority"], "low");
    assert_eq!(v["tags"], serde_json::json!(["b"]));
    assert_eq!(v["custom_fields"], serde_json::json!({"y": true}));
    assert_eq!(v["due"], "2027-01-02");

    let v = json(&t, &["update", id, "--clear-tags", "--clear-due"]).await;
    assert_eq!(v["tags"], serde_json::json!([]));
    assert_eq!(v["due"], Value::Null);

    let (code, msg) = fails(&t, &["update", id]).await;
    assert_eq!(code, 4);
    assert!(msg.contains("nothing to change"), "{msg}");

    let (code, msg) = fails(
        &t,
        &["update", id, "--subject", "x", "--expected-version", "1"],
    )
    .await;
    assert_eq!(code, 4, "a stale version is a conflict: {msg}");
    assert!(msg.starts_with("Conflict"), "{msg}");
}

#[tokio::test]
async fn list_follows_every_page_unless_limited() {
    let t = hub();
    // More than the memory provider's default page (50), so the CLI must follow cursors.
    for i in 0..120 {
        let mut new = NewTicket::new(format!("ticket {i}"));
        if i % 3 == 0 {
            new = new.tag("third").assignee("alice");
        }
        t.create(new).await.unwrap();
    }
    let all = json(&t, &["list"]).await;
    let ids: std::collections::HashSet<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["guid"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 120);

    assert_eq!(
        json(&t, &["list", "--limit", "7"])
            .await
            .as_array()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(
        json(&t, &["list", "--tag", "third"])
            .await
            .as_array()
            .unwrap()
            .len(),
        40
    );
    let alice = json(&t, &["list", "--assignee", "alice", "--text", "ticket 9"]).await;
    let subjects: Vec<&str> = alice
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "ticket 9",
            "ticket 90",
            "ticket 93",
            "ticket 96",
            "ticket 99"
        ]
    );
    assert_eq!(
        json(&t, &["list", "--status", "closed"]).await,
        serde_json::json!([])
    );
    let future = json(&t, &["list", "--updated-since", "2999-01-01"]).await;
    assert_eq!(future, serde_json::json!([]));

    let text = exec(&t, &["list", "--limit", "2"]).await.unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        text.lines().last().unwrap().starts_with("2 ticket"),
        "{text}"
    );

    assert!(
        Cli::try_parse_from(["tickets", "list", "--limit", "0"]).is_err(),
        "a limit below 1 is a usage error"
    );
    assert_eq!(fails(&t, &["list", "--status", "nope"]).await.0, 4);
    assert_eq!(fails(&t, &["list", "--updated-since", "soon"]).await.0, 4);
}

#[tokio::test]
async fn errors_map_to_exit_codes() {
    let t = hub();
    let (code, msg) = fails(&t, &["get", "no-such-id"]).await;
    assert_eq!(code, 3, "{msg}");
    assert!(msg.starts_with("NotFound"), "{msg}");
    assert_eq!(fails(&t, &["create", "--subject", "  "]).await.0, 4);
    assert_eq!(
        fails(&t, &["create", "--subject", "x", "--priority", "meh"])
            .await
            .0,
        4
    );
    assert_eq!(
        fails(&t, &["create", "--subject", "x", "--due", "tomorrow"])
            .await
            .0,
        4
    );
    assert_eq!(fails(&t, &["get", " "]).await.0, 4);
    // A hub made by hand has no configuration to show.
    assert_eq!(fails(&t, &["config"]).await.0, 2);
}

#[test]
fn every_error_kind_has_its_exit_code() {
    use tickets::ErrorKind as K;
    let expected = [
        (K::Config, 2),
        (K::NotFound, 3),
        (K::InvalidInput, 4),
        (K::InvalidTransition, 4),
        (K::Conflict, 4),
        (K::AlreadyExists, 4),
        (K::Unavailable, 5),
        (K::RateLimited, 5),
        (K::Timeout, 5),
        (K::Unauthenticated, 1),
        (K::PermissionDenied, 1),
        (K::Unsupported, 1),
        (K::Unexpected, 1),
    ];
    for (kind, code) in expected {
        assert_eq!(super::exit_code(kind), code, "{kind}");
    }
}

#[test]
fn failures_print_on_one_line() {
    let f = Failure::from(tickets::Error::config("line one\n  line two\n"));
    assert_eq!(f.to_string(), "Config: line one line two");
}

#[tokio::test]
async fn info_commands_on_a_hub_built_from_config() {
    use tickets::figment::Figment;
    use tickets::figment::providers::{Format, Toml};
    let figment = Figment::from(Toml::string(
        "default = \"a\"\n[backends.a]\nprovider = \"memory\"\n\
         [backends.b]\nprovider = \"asana\"\ntoken = \"hush\"\nproject = 1\n",
    ));
    let t = Tickets::from_config(tickets::Config::from_figment(figment).unwrap())
        .await
        .unwrap();
    t.use_backend("b").unwrap();
    assert_eq!(
        json(&t, &["backends"]).await,
        serde_json::json!([
            {"name": "a", "kind": "memory", "default": false},
            {"name": "b", "kind": "asana", "default": true},
        ])
    );
    let config = json(&t, &["config"]).await;
    assert_eq!(config["backends"]["b"]["token"], "***");
    assert!(!config.to_string().contains("hush"), "{config}");
    let kinds = json(&t, &["providers"]).await;
    assert!(
        kinds
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "memory")
    );
}
