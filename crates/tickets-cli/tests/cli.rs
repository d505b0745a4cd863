//! The `tickets` binary, run as a user would: in a temporary directory, with a config file (or
//! none), checking stdout, stderr and exit codes.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

const MEMORY: &str = "provider = \"memory\"\n";

/// Runs `tickets ARGS` in `dir` with no `TICKETS_*` or `RUST_LOG` from the test's environment,
/// plus `env`.
fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tickets"));
    cmd.current_dir(dir).args(args);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("TICKETS_") || key == "RUST_LOG" {
            cmd.env_remove(&*key);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("the tickets binary runs")
}

fn run(dir: &Path, args: &[&str]) -> Output {
    run_env(dir, args, &[])
}

fn dir_with(config: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tickets.toml"), config).unwrap();
    dir
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "failed: {}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// Asserts the exit code and that stderr is one `tickets: ...` line; returns that line.
fn failed(out: &Output, code: i32) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", stdout(out));
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("tickets: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    err
}

#[test]
fn providers_are_listed_sorted_with_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let list = json(&run(dir.path(), &["providers", "--json"]));
    let kinds: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"memory"), "{kinds:?}");
    let mut sorted = kinds.clone();
    sorted.sort_unstable();
    assert_eq!(kinds, sorted);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|p| !p["summary"].as_str().unwrap().is_empty())
    );

    let out = run(dir.path(), &["providers"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.starts_with("KIND"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("memory ")), "{text}");
}

#[test]
fn providers_work_even_with_a_broken_config() {
    let dir = dir_with("default = [1, 2]\n");
    assert!(run(dir.path(), &["providers"]).status.success());
}

#[test]
fn create_prints_the_receipt_keys() {
    let dir = dir_with(MEMORY);
    let out = run(
        dir.path(),
        &[
            "--json",
            "create",
            "--subject",
            "Server down",
            "--assignee",
            "alice",
            "--tag",
            "ops",
        ],
    );
    let t = json(&out);
    assert!(!t["guid"].as_str().unwrap().is_empty());
    assert_eq!(t["guid"], t["id"]);
    assert_eq!(t["status"], "new");
    assert_eq!(t["provider"], "memory");
    assert_eq!(t["subject"], "Server down");
    assert_eq!(t["assigned_to"], "alice");
    assert_eq!(t["tags"], serde_json::json!(["ops"]));
    assert!(
        stderr(&out).is_empty(),
        "quiet by default: {}",
        stderr(&out)
    );

    let out = run(dir.path(), &["create", "--subject", "Printer jam"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("subject:") && text.contains("Printer jam"),
        "{text}"
    );
    assert!(text.contains("status:") && text.contains("new"), "{text}");
}

#[test]
fn an_empty_list_is_an_empty_array() {
    let dir = dir_with(MEMORY);
    assert_eq!(
        json(&run(dir.path(), &["list", "--json"])),
        serde_json::json!([])
    );
    let out = run(dir.path(), &["list"]);
    assert_eq!(stdout(&out), "no tickets\n");
}

#[test]
fn lists_stream_as_json_lines_and_piped_tables_keep_whole_subjects() {
    let dir = tempfile::tempdir().unwrap();
    let long = "a subject much longer than any table column would want to show in a terminal";
    for s in [long, "short"] {
        assert!(
            run(dir.path(), &["create", "--subject", s])
                .status
                .success()
        );
    }
    let out = run(dir.path(), &["list", "--jsonl"]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("one object a line");
        assert!(v["id"].is_string());
    }
    let table = stdout(&run(dir.path(), &["list"]));
    assert!(table.contains(long), "piped, nothing is cut: {table}");
    assert!(
        table.lines().last().unwrap().starts_with("2 ticket(s)"),
        "{table}"
    );
    let out = run(dir.path(), &["list", "--json", "--jsonl"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the two JSON forms exclude each other"
    );
}

#[test]
fn unknown_ticket_exits_3() {
    let dir = dir_with(MEMORY);
    let err = failed(&run(dir.path(), &["get", "does-not-exist"]), 3);
    assert!(err.contains("NotFound"), "{err}");
    assert!(err.contains("does-not-exist"), "{err}");
    failed(&run(dir.path(), &["comments", "does-not-exist"]), 3);
    failed(&run(dir.path(), &["close", "does-not-exist"]), 3);
}

#[test]
fn with_json_a_failure_is_one_json_object_with_the_same_exit_code() {
    let dir = dir_with(MEMORY);
    let out = run(dir.path(), &["--json", "get", "does-not-exist"]);
    assert_eq!(out.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert_eq!(v["error"]["kind"], "not_found", "{v}");
    assert_eq!(v["error"]["exit_code"], 3, "{v}");
    assert_eq!(v["error"]["operation"], "get", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does-not-exist"),
        "{v}"
    );
    let out = run(dir.path(), &["--json", "status", "x", "almost-done"]);
    assert_eq!(out.status.code(), Some(4));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["error"]["kind"], "invalid_input", "{v}");
    assert!(
        !stderr(&out).is_empty(),
        "people still get the line on stderr"
    );
}

#[test]
fn invalid_input_exits_4() {
    let dir = dir_with(MEMORY);
    let err = failed(&run(dir.path(), &["status", "some-id", "almost-done"]), 4);
    assert!(err.contains("unknown status \"almost-done\""), "{err}");
    assert!(
        err.contains("in_progress"),
        "names the statuses there are: {err}"
    );
    let err = failed(&run(dir.path(), &["create", "--subject", "   "]), 4);
    assert!(err.contains("subject"), "{err}");
    failed(
        &run(
            dir.path(),
            &["create", "--subject", "x", "--priority", "urgentish"],
        ),
        4,
    );
    failed(
        &run(dir.path(), &["list", "--updated-since", "last tuesday"]),
        4,
    );
    failed(
        &run(
            dir.path(),
            &["create", "--subject", "x", "--field", "novalue"],
        ),
        4,
    );
}

#[test]
fn unclear_inputs_get_clear_answers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let id = json(&run(d, &["--json", "create", "--subject", "x"]))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = run(d, &["list", "--limit", "-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("at least 1"), "{}", stderr(&out));
    let out = run(d, &["update", &id, "--tag", ""]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("tag must not be empty"),
        "{}",
        stderr(&out)
    );
    let deep = format!("d={}1{}", "[".repeat(200), "]".repeat(200));
    let err = failed(&run(d, &["update", &id, "--field", &deep]), 4);
    assert!(err.contains("not valid JSON"), "{err}");
    let err = failed(
        &run(
            d,
            &["update", &id, "--subject", "y", "--expected-version", "abc"],
        ),
        4,
    );
    assert!(err.contains("not a version"), "{err}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tickets"))
        .current_dir(d)
        .args(["comment", &id, "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&[0x66, 0xff, 0xfe])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
}

#[test]
fn completions_for_each_shell_and_a_version_naming_the_providers() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef tickets"),
        ("fish", "complete -c tickets"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run(dir.path(), &["completions", shell]);
        assert!(out.status.success(), "{shell}");
        assert!(stdout(&out).contains(marker), "{shell}");
    }
    assert!(
        !dir.path().join("tickets.db").exists(),
        "no store for completions"
    );
    let v = stdout(&run(dir.path(), &["--version"]));
    for kind in ["asana", "bugzilla", "internal", "salesforce", "sync"] {
        assert!(v.contains(kind), "{v}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = dir_with(MEMORY);
    assert_eq!(run(dir.path(), &[]).status.code(), Some(2));
    assert_eq!(run(dir.path(), &["create"]).status.code(), Some(2));
    assert_eq!(
        run(dir.path(), &["get", "1", "--frobnicate"]).status.code(),
        Some(2)
    );
    assert_eq!(run(dir.path(), &["launch"]).status.code(), Some(2));
    assert!(run(dir.path(), &["--help"]).status.success());
}

#[test]
fn a_bad_config_names_the_key_and_its_source() {
    let dir = dir_with("default = \"nope\"\n[backends.a]\nprovider = \"memory\"\n");
    let err = failed(&run(dir.path(), &["list"]), 2);
    assert!(err.contains("`default`"), "{err}");
    assert!(err.contains("tickets.toml"), "{err}");
    assert!(err.contains("\"nope\""), "{err}");

    let dir = dir_with("[backends.a]\nurl = \"sqlite://x.db\"\n");
    let err = failed(&run(dir.path(), &["list"]), 2);
    assert!(err.contains("backends.a.provider"), "{err}");

    let dir = dir_with("[backends.a]\nprovider = \"memory\"\n");
    let out = run_env(dir.path(), &["list"], &[("TICKETS_DEFAULT", "ghost")]);
    let err = failed(&out, 2);
    assert!(err.contains("TICKETS_DEFAULT"), "{err}");

    let dir = dir_with("provider = \"jira\"\n");
    let err = failed(&run(dir.path(), &["list"]), 2);
    assert!(
        err.contains("\"jira\" is not registered") && err.contains("memory"),
        "{err}"
    );
}

#[test]
fn a_config_file_named_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("elsewhere.yaml"), "provider: memory\n").unwrap();
    let t = json(&run(
        dir.path(),
        &[
            "--config",
            "elsewhere.yaml",
            "create",
            "--subject",
            "From YAML",
            "--json",
        ],
    ));
    assert_eq!(t["provider"], "memory");

    let err = failed(&run(dir.path(), &["--config", "missing.toml", "list"]), 2);
    assert!(
        err.contains("missing.toml") && err.contains("--config"),
        "{err}"
    );
}

#[test]
fn configuration_from_the_environment_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_env(
        dir.path(),
        &["create", "--subject", "From env", "--json"],
        &[("TICKETS_PROVIDER", "memory")],
    );
    assert_eq!(json(&out)["provider"], "memory");
    assert!(!dir.path().join("tickets.db").exists());
}

const TWO_BACKENDS: &str = r#"
default = "main"
[backends.main]
provider = "memory"
[backends.spare]
provider = "memory"
[backends.tracker]
provider = "asana"
token = "s3cr3t-token"
project = 1209000000000000
"#;

#[test]
fn backends_lists_names_kinds_and_the_default() {
    let dir = dir_with(TWO_BACKENDS);
    let list = json(&run(dir.path(), &["backends", "--json"]));
    assert_eq!(
        list,
        serde_json::json!([
            {"name": "main", "kind": "memory", "default": true},
            {"name": "spare", "kind": "memory", "default": false},
            {"name": "tracker", "kind": "asana", "default": false},
        ])
    );
    let list = json(&run(
        dir.path(),
        &["--backend", "spare", "backends", "--json"],
    ));
    assert_eq!(list[1]["default"], true);
    assert_eq!(list[0]["default"], false);

    let text = stdout(&run(dir.path(), &["backends"]));
    assert!(
        text.lines()
            .any(|l| l.starts_with("main") && l.ends_with("yes")),
        "{text}"
    );
}

#[test]
fn unknown_backend_exits_2_naming_the_configured_ones() {
    let dir = dir_with(
        "default = \"main\"\n[backends.main]\nprovider = \"memory\"\n[backends.spare]\nprovider = \"memory\"\n",
    );
    let err = failed(&run(dir.path(), &["--backend", "ghost", "list"]), 2);
    assert!(err.contains("\"ghost\""), "{err}");
    assert!(err.contains("main, spare"), "{err}");
    failed(&run(dir.path(), &["--backend", "ghost", "backends"]), 2);

    let t = json(&run(
        dir.path(),
        &["--backend", "spare", "create", "--subject", "x", "--json"],
    ));
    assert_eq!(t["provider"], "memory");
}

#[test]
fn config_shows_the_effective_configuration_with_secrets_redacted() {
    let dir = dir_with(TWO_BACKENDS);
    let out = run_env(
        dir.path(),
        &["config"],
        &[("TICKETS_BACKENDS__SPARE__PASSWORD", "hunter2")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        !text.contains("s3cr3t") && !text.contains("hunter2"),
        "{text}"
    );
    assert!(text.contains("backends.tracker.token = \"***\""), "{text}");
    assert!(text.contains("backends.spare.password = \"***\""), "{text}");
    assert!(text.contains("default = \"main\""), "{text}");

    let v = json(&run(dir.path(), &["config", "--json"]));
    assert_eq!(v["backends"]["tracker"]["token"], "***");
    assert_eq!(v["backends"]["main"]["provider"], "memory");

    // Nothing configured: the embedded default is what runs.
    let empty = tempfile::tempdir().unwrap();
    let v = json(&run(empty.path(), &["config", "--json"]));
    assert!(
        v["provider"] == "internal" || v["provider"] == "memory",
        "{v}"
    );
    assert!(
        !empty.path().join("tickets.db").exists(),
        "config opens no store"
    );
}

#[test]
fn with_nothing_configured_tickets_live_in_a_local_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["create", "--subject", "Server down", "--json"],
    );
    let created = json(&out);
    assert_eq!(created["provider"], "internal");
    assert_eq!(created["status"], "new");
    assert_eq!(
        stderr(&out),
        "tickets: created local store ./tickets.db\n",
        "first use says where the store is"
    );
    assert!(dir.path().join("tickets.db").is_file());
    let id = created["guid"].as_str().unwrap();

    // A second process finds the ticket, and says nothing more about the store.
    let out = run(dir.path(), &["get", id, "--json"]);
    let got = json(&out);
    assert_eq!(got["guid"], id);
    assert_eq!(got["subject"], "Server down");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    let c = json(&run(
        dir.path(),
        &["comment", id, "Rebooted", "--author", "alice", "--json"],
    ));
    assert!(c["comment_guid"].is_string());
    let a = json(&run(dir.path(), &["assign", id, "bob", "--json"]));
    assert_eq!(a["assigned_to"], "bob");
    assert_eq!(
        json(&run(dir.path(), &["resolve", id, "--json"]))["status"],
        "resolved"
    );
    let closed = json(&run(dir.path(), &["close", id, "--json"]));
    assert_eq!(closed["status"], "closed");
    let err = failed(&run(dir.path(), &["escalate", id]), 4);
    assert!(err.contains("InvalidTransition"), "{err}");
    assert_eq!(
        json(&run(dir.path(), &["reopen", id, "--json"]))["status"],
        "new"
    );

    let comments = json(&run(dir.path(), &["comments", id, "--json"]));
    assert_eq!(comments[0]["body"], "Rebooted");
    assert_eq!(comments[0]["author"], "alice");
    let history = json(&run(dir.path(), &["history", id, "--json"]));
    assert!(history.as_array().unwrap().len() >= 4, "{history}");

    let list = json(&run(dir.path(), &["list", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 1);
    let backends = json(&run(dir.path(), &["backends", "--json"]));
    assert_eq!(
        backends,
        serde_json::json!([{"name": "default", "kind": "internal", "default": true}])
    );
    failed(
        &run(dir.path(), &["get", "01a2022e-0000-7000-8000-000000000000"]),
        3,
    );
}

#[test]
fn list_follows_every_page_of_the_local_store() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        let out = run(
            dir.path(),
            &["create", "--subject", &format!("t{i}"), "--tag", "batch"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let all = json(&run(dir.path(), &["list", "--tag", "batch", "--json"]));
    assert_eq!(all.as_array().unwrap().len(), 3);
    let some = json(&run(dir.path(), &["list", "--limit", "2", "--json"]));
    assert_eq!(some.as_array().unwrap().len(), 2);
}

#[test]
fn read_only_commands_create_no_store() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["providers"][..], &["backends"], &["config"]] {
        assert!(run(dir.path(), args).status.success(), "{args:?}");
    }
    assert!(!dir.path().join("tickets.db").exists());
    let v = json(&run(dir.path(), &["config", "--json"]));
    assert_eq!(v["provider"], "internal");
}

#[test]
fn logs_go_to_stderr_only_when_asked() {
    let dir = dir_with(MEMORY);
    let quiet = run(dir.path(), &["get", "nope"]);
    assert_eq!(stderr(&quiet).lines().count(), 1);

    let out = run_env(dir.path(), &["get", "nope"], &[("TICKETS_LOG", "debug")]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.lines().count() > 1, "{err}");
    assert!(err.contains("DEBUG") && err.contains("op=\"get\""), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal: {err}"
    );
    assert!(
        err.lines().last().unwrap().starts_with("tickets: NotFound"),
        "{err}"
    );

    let out = run_env(dir.path(), &["list"], &[("RUST_LOG", "[bad")]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("ignoring the log filter"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn files_attach_list_download_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let id = json(&run(d, &["--json", "create", "--subject", "with files"]))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let data: Vec<u8> = (0..300 * 1024).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(d.join("dump.bin"), &data).unwrap();
    let added = json(&run(d, &["--json", "attach", &id, "dump.bin"]));
    assert_eq!(added["size"], 300 * 1024, "{added}");
    let aid = added["id"].as_str().unwrap().to_owned();
    let listed = json(&run(d, &["--json", "attachments", &id]));
    assert_eq!(listed[0]["filename"], "dump.bin", "{listed}");
    let out = run(d, &["download", &aid, "--output", "copy.bin"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(d.join("copy.bin")).unwrap(), data);
    // Without --output it never overwrites: dump.bin exists.
    let err = failed(&run(d, &["download", &aid]), 4);
    assert!(err.contains("exists already"), "{err}");
    let raw = run(d, &["download", &aid, "--output", "-"]);
    assert_eq!(raw.stdout, data);
    failed(&run(d, &["download", "no-such-attachment"]), 3);
    failed(&run(d, &["attach", &id, "missing.txt"]), 4);

    // Delete asks on a terminal; without one it needs --yes.
    let err = failed(&run(d, &["delete", &id]), 4);
    assert!(err.contains("--yes"), "{err}");
    let gone = json(&run(d, &["--json", "delete", &id, "--yes"]));
    assert_eq!(gone["deleted"], true);
    failed(&run(d, &["get", &id]), 3);
    failed(&run(d, &["download", &aid]), 3);
}
