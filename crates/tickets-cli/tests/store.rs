//! The local SQLite store between processes, with the real `tickets` binary: many processes
//! starting a new store at once, what a process leaves on disk when it exits, and commands
//! that must not create a store.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// `tickets` in `dir`, with no `TICKETS_*` or `RUST_LOG` from the test's environment.
fn tickets(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tickets"));
    cmd.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("TICKETS_") || key == "RUST_LOG" {
            cmd.env_remove(&*key);
        }
    }
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    tickets(dir)
        .args(args)
        .output()
        .expect("the tickets binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "failed: {}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Asserts no `tickets.db-wal` holding data is left in `dir`.
fn assert_no_wal_data(dir: &Path) {
    let wal = dir.join("tickets.db-wal");
    let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(len, 0, "{} still holds {len} bytes", wal.display());
}

/// A new folder holding a copy of `dir/tickets.db` alone (no `-wal`, no `-shm`).
fn copy_alone(dir: &Path) -> TempDir {
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("tickets.db"), copy.path().join("tickets.db")).unwrap();
    copy
}

#[test]
fn twenty_creates_started_at_once_on_a_new_store_all_succeed() {
    for _round in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let children: Vec<_> = (0..20)
            .map(|i| {
                tickets(dir.path())
                    .args(["create", "--subject", &format!("ticket {i}"), "--json"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("the tickets binary starts")
            })
            .collect();
        let mut ids = Vec::new();
        for (i, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "create {i} failed: {}", stderr(&out));
            ids.push(json(&out)["guid"].as_str().unwrap().to_owned());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 20);

        assert_no_wal_data(dir.path());
        let copy = copy_alone(dir.path());
        let listed = json(&run(copy.path(), &["list", "--json"]));
        assert_eq!(
            listed.as_array().unwrap().len(),
            20,
            "the database file alone holds every ticket"
        );
    }
}

#[test]
fn after_a_create_exits_the_database_file_alone_holds_the_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let created = json(&run(
        dir.path(),
        &["create", "--subject", "Printer on fire", "--json"],
    ));
    assert_no_wal_data(dir.path());
    let copy = copy_alone(dir.path());
    let id = created["guid"].as_str().unwrap();
    let got = json(&run(copy.path(), &["get", id, "--json"]));
    assert_eq!(got["subject"], "Printer on fire");
}

#[tokio::test]
async fn a_create_exiting_while_another_process_has_the_store_open_leaves_its_ticket_in_the_file() {
    use tickets::TicketProvider;
    let dir = tempfile::tempdir().unwrap();
    json(&run(
        dir.path(),
        &["create", "--subject", "first", "--json"],
    ));
    // Another process (here: the test itself) keeps the store open, as `tickets sync run`
    // would, so the exiting `tickets` is not the last to close the file.
    let url = format!("sqlite://{}", dir.path().join("tickets.db").display());
    let other = tickets::internal::InternalProvider::connect(&url)
        .await
        .unwrap();
    let dir_path = dir.path().to_owned();
    let created = tokio::task::spawn_blocking(move || {
        json(&run(
            &dir_path,
            &["create", "--subject", "second", "--json"],
        ))
    })
    .await
    .unwrap();
    assert_no_wal_data(dir.path());
    let copy = copy_alone(dir.path());
    let id = created["guid"].as_str().unwrap();
    let got = json(&run(copy.path(), &["get", id, "--json"]));
    assert_eq!(got["subject"], "second");
    assert_eq!(
        other
            .get(&tickets::TicketId::new(id.to_owned()))
            .await
            .unwrap()
            .subject,
        "second"
    );
    other.shutdown().await;
}

#[test]
fn a_command_failing_after_the_store_is_open_still_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    // The store is created and migrated, then `--backend` names nothing configured.
    let out = run(
        dir.path(),
        &["--backend", "nope", "create", "--subject", "never"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\"nope\" is not configured"),
        "{}",
        stderr(&out)
    );
    assert_no_wal_data(dir.path());
    // The file alone is a complete, empty store.
    let copy = copy_alone(dir.path());
    let listed = json(&run(copy.path(), &["list", "--json"]));
    assert_eq!(listed, serde_json::json!([]));
}

#[test]
fn commands_that_read_do_not_create_a_store_in_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let id = "01a220e4-aa57-75ec-a2b1-32d8441cfa15";
    let commands: &[&[&str]] = &[
        &["list"],
        &["get", id],
        &["comments", id],
        &["history", id],
        &["sync", "status"],
        &["update", id, "--subject", "x"],
        &["comment", id, "hello"],
        &["close", id],
        &["--json", "list"],
    ];
    for args in commands {
        let out = run(dir.path(), args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        if args.contains(&"--json") {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON error");
            assert_eq!(v["error"]["kind"], "not_found", "{args:?}");
        } else {
            assert!(out.stdout.is_empty(), "{args:?}");
        }
        assert!(err.starts_with("tickets: NotFound"), "{args:?}: {err}");
        assert!(err.contains("no ticket store here"), "{args:?}: {err}");
        assert!(err.contains("tickets create"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
    // `create` starts it; then reads work.
    json(&run(
        dir.path(),
        &["create", "--subject", "first", "--json"],
    ));
    let listed = json(&run(dir.path(), &["list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[test]
fn a_configured_sqlite_store_is_not_created_by_a_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tickets.toml"),
        "default = \"main\"\n\
         [backends.db]\nprovider = \"internal\"\nurl = \"sqlite://data/t.db\"\n\
         [backends.main]\nprovider = \"sync\"\nlocal = \"db\"\nremote = \"mem\"\n\
         [backends.mem]\nprovider = \"memory\"\n",
    )
    .unwrap();
    for args in [
        &["list"][..],
        &["--backend", "db", "list"],
        &["sync", "status"],
    ] {
        let out = run(dir.path(), args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains("no ticket store at"), "{args:?}: {err}");
        assert!(err.contains("t.db"), "{args:?}: {err}");
        assert!(err.contains("(backend \"db\")"), "{args:?}: {err}");
        assert!(!dir.path().join("data").exists(), "{args:?} created it");
    }
    // A backend that is not a SQLite store is not held up by the missing file's check.
    let out = run(dir.path(), &["--backend", "mem", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
}
