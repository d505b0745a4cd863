//! The local SQLite store between processes, with the real `tickets` binary: many processes
//! starting a new store at once.

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
