//! `cargo xtask ci | bench [NAME] | fake VENDOR [--port N] | chaos sync [OPTIONS]`
//!
//! Plain std: xtask must build fast and never need a service to compile.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci               fmt --check, clippy -D warnings, all tests, the bounded sync chaos
                   run, docs without warnings (the same as CI; PostgreSQL/MariaDB tests
                   run when reachable)
  bench [NAME]     run the benchmark of one provider (internal, asana, bugzilla,
                   salesforce, sync) or of all of them: one report format
                   (tickets_testkit::bench), then a summary of every goal
  features         test the tickets facade with no default features, then with each
                   provider feature alone (part of ci)
  fake VENDOR      serve a fake asana|bugzilla|salesforce on 127.0.0.1 (prints its
                   base URL and credentials as one JSON line); extra args go to it
  chaos sync [--seed N] [--secs N] [--only sqlite|postgres|mysql] [--ci] [--release]
                   [--keep] [--verbose]
                   CLI writers and sync worker processes killed, stopped and restarted
                   while the fake Asana fails in every way it can, on SQLite (1 worker),
                   PostgreSQL and MariaDB (3 workers each; skipped when not reachable,
                   failing under CI); then the remote must equal the local store. Seeded
                   (--seed or CHAOS_SEED); --ci is the bounded run of `xtask ci`";

const BENCHES: [&str; 5] = ["internal", "asana", "bugzilla", "salesforce", "sync"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("features") => features(),
        Some("bench") => bench(args.get(1).map(String::as_str)),
        Some("fake") => fake(&args[1..]),
        Some("chaos") => chaos(args.get(1).map(String::as_str), &args[2.min(args.len())..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown or missing command\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(what: &str, mut cmd: Command) -> Result<(), String> {
    eprintln!("xtask: {what}");
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn reachable(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .ok()
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).ok())
        .is_some()
}

/// Points the dialect tests at the local services when they answer and nothing is set.
fn database_env(cmd: &mut Command) {
    for (var, addr, url) in [
        (
            "TICKETS_TEST_POSTGRES_URL",
            "127.0.0.1:5432",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        (
            "TICKETS_TEST_MYSQL_URL",
            "127.0.0.1:3306",
            "mysql://root@127.0.0.1:3306/test",
        ),
    ] {
        if std::env::var_os(var).is_some() {
            continue;
        }
        if reachable(addr) {
            cmd.env(var, url);
        } else {
            eprintln!("xtask: nothing answers on {addr}; tests that need {var} are skipped");
        }
    }
}

fn ci() -> Result<(), String> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    run("cargo fmt --all --check", fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    run(
        "cargo clippy --workspace --all-targets --all-features -- -D warnings",
        clippy,
    )?;
    features()?;

    let mut test = cargo();
    test.args(["test", "--workspace", "--all-features"]);
    database_env(&mut test);
    run("cargo test --workspace --all-features", test)?;

    // About two minutes; the dev profile reuses the test build.
    chaos(Some("sync"), &["--ci".to_owned()])?;

    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run("cargo doc --workspace --no-deps (warnings are errors)", doc)
}

/// The facade's provider features, each of which must work alone.
const FEATURES: [&str; 5] = ["internal", "asana", "bugzilla", "salesforce", "sync"];

/// `features`: builds and tests the `tickets` facade with no default features, then with each
/// provider feature alone, so no feature relies on another one being on and each registers
/// exactly its providers (tests/registered.rs).
fn features() -> Result<(), String> {
    let sets = std::iter::once(None).chain(FEATURES.iter().copied().map(Some));
    for feature in sets {
        let mut test = cargo();
        test.args(["test", "-p", "tickets", "--no-default-features"]);
        if let Some(f) = feature {
            test.args(["--features", f]);
        }
        database_env(&mut test);
        let what = match feature {
            None => "cargo test -p tickets --no-default-features".to_owned(),
            Some(f) => format!("cargo test -p tickets --no-default-features --features {f}"),
        };
        run(&what, test)?;
    }
    Ok(())
}

fn bench(name: Option<&str>) -> Result<(), String> {
    let names: Vec<&str> = match name {
        None => BENCHES.to_vec(),
        Some(n) if BENCHES.contains(&n) => vec![n],
        Some(n) => {
            return Err(format!(
                "no benchmark named {n:?}; choose one of: {}",
                BENCHES.join(", ")
            ));
        }
    };
    // Each bench writes its report (tickets_testkit::bench) here too; summed up at the end.
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let _ = std::fs::remove_dir_all(&out);
    let mut failed = Vec::new();
    for name in &names {
        let package = format!("tickets-{name}");
        let mut cmd = cargo();
        cmd.args(["bench", "-p", &package, "--bench", name]);
        cmd.env("TICKETS_BENCH_OUT", &out);
        database_env(&mut cmd);
        if let Err(e) = run(&format!("benchmark {name}"), cmd) {
            failed.push(e);
        }
    }
    print_bench_summary(&out, &names);
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

/// One table of every bench's rows and metrics, from the `<name>.tsv` files the benches wrote.
fn print_bench_summary(out: &std::path::Path, names: &[&str]) {
    println!("\n## summary (time ratios: ours/baseline per operation, lower is better)\n");
    println!("| bench | case | value | goal | verdict |\n|---|---|--:|:-:|:-:|");
    for name in names {
        match std::fs::read_to_string(out.join(format!("{name}.tsv"))) {
            Ok(text) => {
                for line in text.lines() {
                    println!("| {} |", line.split('\t').collect::<Vec<_>>().join(" | "));
                }
            }
            Err(_) => println!("| {name} | (no report written) | - | - | - |"),
        }
    }
}

fn fake(args: &[String]) -> Result<(), String> {
    if args.is_empty() {
        return Err("fake needs a vendor: asana, bugzilla or salesforce".into());
    }
    let mut cmd = cargo();
    cmd.args([
        "run",
        "-q",
        "-p",
        "tickets-fakes",
        "--bin",
        "tickets-fake",
        "--",
    ])
    .args(args);
    run("tickets-fake", cmd)
}

/// `chaos sync [OPTIONS]`: builds the `tickets` CLI and the chaos harness (the dev profile
/// unless `--release`, with the test build's features so `xtask ci` reuses it) and runs the
/// harness with the other options.
fn chaos(target: Option<&str>, options: &[String]) -> Result<(), String> {
    match target {
        Some("sync") => {}
        Some(other) => return Err(format!("chaos has no target {other:?}; it has: sync")),
        None => return Err("chaos needs a target: sync".into()),
    }
    let release = options.iter().any(|o| o == "--release");
    let forwarded: Vec<&String> = options.iter().filter(|o| *o != "--release").collect();
    let mut build = cargo();
    build.args([
        "build",
        "--all-features",
        "-p",
        "tickets-cli",
        "-p",
        "tickets-sync",
        "--bin",
        "tickets",
        "--example",
        "chaos",
    ]);
    if release {
        build.arg("--release");
    }
    run("build the tickets CLI and the sync chaos harness", build)?;
    let dir = target_dir().join(if release { "release" } else { "debug" });
    let mut harness = Command::new(dir.join("examples").join("chaos"));
    harness
        .args(forwarded)
        .env("CHAOS_TICKETS_BIN", dir.join("tickets"));
    database_env(&mut harness);
    run("sync chaos run", harness)
}

/// Where cargo builds: `$CARGO_TARGET_DIR`, else the workspace's `target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map_or_else(|| PathBuf::from("target"), |root| root.join("target")),
    }
}
