//! The CLI on a terminal, through a pseudo-terminal (`script` from util-linux): the table fits
//! the terminal's width with the subject cut last, and a slow list shows progress on the
//! terminal but never in piped output.

use std::path::Path;
use std::process::{Command, Output};

use tickets::TicketProvider;
use tickets_fakes::asana::FakeAsana;

fn tickets() -> &'static str {
    env!("CARGO_BIN_EXE_tickets")
}

/// Runs `tickets ARGS` on a pseudo-terminal of `cols` columns in `dir`, or `None` (reported as
/// skipped; an error with `CI` set) when `script` is not installed.
fn on_terminal(dir: &Path, cols: u16, args: &str) -> Option<Output> {
    if Command::new("script").arg("--version").output().is_err() {
        tickets_testkit::skipped("the terminal tests (util-linux `script` is not installed)")
            .expect("script is needed in CI");
        return None;
    }
    let line = format!("stty rows 30 cols {cols}; {} {args}", tickets());
    let mut cmd = Command::new("script");
    cmd.current_dir(dir).args(["-qec", &line, "/dev/null"]);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("TICKETS_") || key == "RUST_LOG" || key == "COLUMNS" {
            cmd.env_remove(&*key);
        }
    }
    Some(cmd.output().expect("script runs"))
}

/// The visible lines of terminal output: escape sequences removed, and of the segments a
/// carriage return overwrote only the last kept.
fn screen(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ params final-byte
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(c);
    }
    plain
        .split('\n')
        .map(|l| {
            l.rsplit('\r')
                .find(|s| !s.is_empty())
                .unwrap_or("")
                .to_owned()
        })
        .filter(|l| !l.trim().is_empty())
        .collect()
}

#[test]
fn the_table_fits_the_terminal_cutting_the_subject() {
    let dir = tempfile::tempdir().unwrap();
    let long =
        "the printer on the third floor is on fire again and nobody knows why it keeps happening";
    let out = Command::new(tickets())
        .current_dir(dir.path())
        .args(["create", "--subject", long])
        .output()
        .unwrap();
    assert!(out.status.success());
    let Some(out) = on_terminal(dir.path(), 120, "list") else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines = screen(&out.stdout);
    assert!(lines.iter().any(|l| l.starts_with("ID")), "{lines:?}");
    for l in &lines {
        assert!(l.chars().count() <= 120, "wider than the terminal: {l:?}");
    }
    let row = lines
        .iter()
        .find(|l| l.contains("the printer"))
        .expect("the row");
    assert!(row.ends_with('…'), "the subject is cut last: {row:?}");
    assert!(!row.contains("keeps happening"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_list_shows_progress_on_a_terminal_only() {
    let fake = FakeAsana::start().await.expect("fake");
    let asana = tickets::asana::AsanaProvider::new(
        tickets::asana::AsanaConfig::new(fake.token(), fake.project())
            .base_url(fake.base_url())
            .workspace(fake.workspace()),
    )
    .expect("asana");
    for i in 0..120 {
        asana
            .create(tickets::NewTicket::new(format!("task {i}")))
            .await
            .expect("create");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tickets.toml"),
        format!(
            "provider = \"asana\"\ntoken = \"{}\"\nworkspace = \"{}\"\nproject = \"{}\"\n\
             base_url = \"{}\"\n",
            fake.token(),
            fake.workspace(),
            fake.project(),
            fake.base_url()
        ),
    )
    .unwrap();
    fake.faults()
        .set_latency(std::time::Duration::from_millis(400));
    let d = dir.path().to_owned();
    let Some(out) = tokio::task::spawn_blocking(move || on_terminal(&d, 100, "list"))
        .await
        .unwrap()
    else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("listed "), "a spinner with the count: {text}");
    assert!(text.contains("120 ticket(s)"), "{text}");

    let d = dir.path().to_owned();
    let piped = tokio::task::spawn_blocking(move || {
        Command::new(tickets())
            .current_dir(&d)
            .arg("list")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(piped.status.success());
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !err.contains("listed"),
        "no progress when not a terminal: {err}"
    );
    let quiet = {
        let d = dir.path().to_owned();
        tokio::task::spawn_blocking(move || on_terminal(&d, 100, "--quiet list"))
            .await
            .unwrap()
            .expect("script ran above")
    };
    assert!(!String::from_utf8_lossy(&quiet.stdout).contains("listed "));
}
