//! The processes: worker processes (`tickets sync run`) that the schedule kills (SIGKILL),
//! stops (SIGSTOP) and continues (SIGCONT), and writer processes (`tickets create`,
//! `update`, `status`, `assign`, `comment`, ...: each a short-lived CLI process that stores
//! its change and then delivers for up to 3 s before exiting), which the schedule sometimes
//! kills mid-way.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::plan::{Op, Target, Writer};

/// How to run the `tickets` binary against one configuration.
#[derive(Debug, Clone)]
pub struct Cli {
    /// The binary.
    pub bin: PathBuf,
    /// The run's directory: the working directory, holding `tickets.toml` and the logs.
    pub dir: PathBuf,
}

impl Cli {
    /// A command with a clean environment: no `TICKETS_*` variable of the harness leaks into
    /// the CLI's configuration; `TICKETS_CONFIG` names the run's config file.
    pub fn command(&self, args: &[String]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.dir)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("TICKETS_") || key == "RUST_LOG" {
                cmd.env_remove(&*key);
            }
        }
        cmd.env("TICKETS_CONFIG", self.dir.join("tickets.toml"));
        cmd
    }

    /// Runs one command to its end: exit code (None when killed by a signal), stdout, stderr.
    pub async fn run(&self, args: &[String]) -> Result<(Option<i32>, String, String), String> {
        let out = self
            .command(args)
            .output()
            .await
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        Ok((
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }
}

/// Sends a signal to a child that has not been reaped (so its pid is still its own).
fn signal(child: &Child, sig: &str) -> Result<(), String> {
    let pid = child.id().ok_or("the process has already been reaped")?;
    let status = std::process::Command::new("kill")
        .args(["-s", sig, &pid.to_string()])
        .status()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill -s {sig} {pid} failed ({status})"))
    }
}

/// The worker processes of one configuration, one per slot.
#[derive(Debug)]
pub struct Workers {
    cli: Cli,
    slots: Vec<Option<Child>>,
    stopped: Vec<bool>,
    started: u64,
    /// Worker processes killed with SIGKILL.
    pub kills: u64,
    /// Worker processes stopped with SIGSTOP for longer than the lease.
    pub stalls: u64,
    /// Worker processes that ended by themselves (each a defect, with its exit status).
    pub exits: Vec<String>,
}

impl Workers {
    /// `n` empty slots.
    pub fn new(cli: Cli, n: usize) -> Self {
        Self {
            cli,
            slots: (0..n).map(|_| None).collect(),
            stopped: vec![false; n],
            started: 0,
            kills: 0,
            stalls: 0,
            exits: Vec::new(),
        }
    }

    /// Starts `tickets sync run` in a slot (logging to `worker-SLOT-N.log`).
    pub fn start(&mut self, slot: usize) -> Result<(), String> {
        if self.slots[slot].is_some() {
            return Ok(());
        }
        self.started += 1;
        let log = self
            .cli
            .dir
            .join(format!("worker-{slot}-{}.log", self.started));
        let log = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let child = self
            .cli
            .command(&["sync".into(), "run".into()])
            .env("TICKETS_LOG", "tickets_sync=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start a worker: {e}"))?;
        self.slots[slot] = Some(child);
        self.stopped[slot] = false;
        Ok(())
    }

    /// SIGKILLs a slot's worker, if one runs.
    pub async fn kill(&mut self, slot: usize) -> Result<(), String> {
        if let Some(mut child) = self.slots[slot].take() {
            child
                .start_kill()
                .map_err(|e| format!("cannot kill worker {slot}: {e}"))?;
            let _ = child.wait().await;
            self.kills += 1;
            self.stopped[slot] = false;
        }
        Ok(())
    }

    /// SIGSTOPs a slot's worker, if one runs.
    pub fn stop(&mut self, slot: usize) -> Result<(), String> {
        if let Some(child) = &self.slots[slot]
            && !self.stopped[slot]
        {
            signal(child, "STOP")?;
            self.stopped[slot] = true;
            self.stalls += 1;
        }
        Ok(())
    }

    /// SIGCONTs a slot's worker, if it was stopped.
    pub fn resume(&mut self, slot: usize) -> Result<(), String> {
        if let Some(child) = &self.slots[slot]
            && self.stopped[slot]
        {
            signal(child, "CONT")?;
            self.stopped[slot] = false;
        }
        Ok(())
    }

    /// Notes (and clears) workers that ended without being killed: `tickets sync run` runs
    /// until stopped, so each is a failure to look into (its log is in the run directory).
    pub fn reap(&mut self) {
        for (slot, s) in self.slots.iter_mut().enumerate() {
            if let Some(child) = s
                && let Ok(Some(status)) = child.try_wait()
            {
                self.exits.push(format!(
                    "the worker in slot {slot} ended by itself ({status}); see its log"
                ));
                *s = None;
            }
        }
    }

    /// Continues and kills every worker: the chaos is over.
    pub async fn shutdown(&mut self) -> Result<(), String> {
        self.reap();
        for slot in 0..self.slots.len() {
            self.resume(slot)?;
            if let Some(mut child) = self.slots[slot].take() {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
        Ok(())
    }
}

/// What one writer did.
#[derive(Debug, Default, Clone)]
pub struct WriterReport {
    /// CLI processes run.
    pub ops: u64,
    /// Their time from start to exit, added up.
    pub busy: Duration,
    /// Refused by the local workflow (a status move it does not allow): exit code 4.
    pub refused: u64,
    /// Killed by the schedule before they ended (the change may or may not be stored).
    pub killed: u64,
    /// Not run because the ticket's create was killed or failed (its id is unknown).
    pub skipped: u64,
    /// Failed otherwise: the first lines of each.
    pub failed: Vec<String>,
}

/// When to kill the next CLI process a writer starts (after its start).
type KillNext = Arc<Mutex<Option<Duration>>>;

/// A writer running its operations in a task of its own until told to stop.
#[derive(Debug)]
pub struct WriterHandle {
    kill: KillNext,
    task: tokio::task::JoinHandle<WriterReport>,
}

impl WriterHandle {
    /// Starts writer `w`.
    pub fn start(
        w: usize,
        plan: Writer,
        hot: Arc<Vec<String>>,
        cli: Cli,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let kill = KillNext::default();
        let task = tokio::spawn(write(w, plan, hot, cli, stop, kill.clone()));
        Self { kill, task }
    }

    /// SIGKILLs the next CLI process the writer starts, `after` its start, if it still runs
    /// then.
    pub fn kill_next(&self, after: Duration) {
        *self.kill.lock().unwrap_or_else(|p| p.into_inner()) = Some(after);
    }

    /// Waits for the writer to finish its current operation and stop.
    pub async fn join(self) -> WriterReport {
        self.task.await.unwrap_or_else(|e| WriterReport {
            failed: vec![format!("the writer task failed: {e}")],
            ..WriterReport::default()
        })
    }
}

async fn write(
    w: usize,
    plan: Writer,
    hot: Arc<Vec<String>>,
    cli: Cli,
    stop: watch::Receiver<bool>,
    kill: KillNext,
) -> WriterReport {
    let mut report = WriterReport::default();
    let mut own: Vec<Option<String>> = Vec::new();
    for (pause, op) in plan.ops {
        tokio::time::sleep(pause).await;
        if *stop.borrow() {
            break;
        }
        let id = match op.target() {
            None => None,
            Some(Target::Hot(h)) => hot.get(h).cloned(),
            Some(Target::Own(k)) => own.get(k).cloned().flatten(),
        };
        if op.target().is_some() && id.is_none() {
            report.skipped += 1;
            continue;
        }
        report.ops += 1;
        let args = op.args(id.as_deref().unwrap_or_default());
        let kill_after = kill.lock().unwrap_or_else(|p| p.into_inner()).take();
        let began = tokio::time::Instant::now();
        let outcome = run_killable(&cli, &args, kill_after).await;
        report.busy += began.elapsed();
        let created = |out: &str| -> Option<String> {
            let v: serde_json::Value = serde_json::from_str(out).ok()?;
            v.get("id")?.as_str().map(str::to_owned)
        };
        match outcome {
            Ok(Ran::Killed) => {
                report.killed += 1;
                if matches!(op, Op::Create { .. }) {
                    own.push(None);
                }
            }
            Ok(Ran::Exited(code, out, err)) => {
                if let Op::Create { .. } = op {
                    own.push(if code == Some(0) { created(&out) } else { None });
                }
                match code {
                    Some(0) => {}
                    Some(4) if matches!(op, Op::Status(..)) => report.refused += 1,
                    _ => report.failed.push(format!(
                        "writer {w}: `tickets {}` exited with {code:?}: {}",
                        args.join(" "),
                        err.lines().next().unwrap_or_default()
                    )),
                }
            }
            Err(e) => {
                report.failed.push(format!("writer {w}: {e}"));
                if matches!(op, Op::Create { .. }) {
                    own.push(None);
                }
            }
        }
    }
    report
}

enum Ran {
    Exited(Option<i32>, String, String),
    Killed,
}

/// Runs one CLI command, SIGKILLed `kill_after` its start if it still runs then.
async fn run_killable(
    cli: &Cli,
    args: &[String],
    kill_after: Option<Duration>,
) -> Result<Ran, String> {
    let mut child = cli
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", cli.bin.display()))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let out = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s).await;
        s
    });
    let err = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    // Bounded: a write stores at once and then delivers for at most a few seconds.
    let limit = tokio::time::sleep(Duration::from_secs(60));
    let status = tokio::select! {
        status = child.wait() => status.map_err(|e| e.to_string())?,
        () = async {
            match kill_after {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        } => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Ok(Ran::Killed);
        }
        () = limit => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(format!("`tickets {}` ran for more than 60 s", args.join(" ")));
        }
    };
    let out = out.await.unwrap_or_default();
    let err = err.await.unwrap_or_default();
    Ok(Ran::Exited(status.code(), out, err))
}

/// The run's config file: a sync backend joining the store at `store_url` and the fake Asana,
/// with a short lease and fast retries, for the writers, the workers and the harness alike.
pub fn write_config(
    dir: &Path,
    store_url: &str,
    fake: &tickets_fakes::asana::FakeAsana,
) -> Result<(), String> {
    let lease = crate::plan::LEASE.as_secs();
    let timeout = crate::plan::CLIENT_TIMEOUT.as_secs();
    let text = format!(
        "# Written by the sync chaos harness.\n\
         default = \"main\"\n\n\
         [backends.main]\nprovider = \"sync\"\nlocal = \"db\"\nremote = \"{remote}\"\n\
         concurrency = 8\nlease_secs = {lease}\npoll_interval_ms = 200\nbackoff_base_ms = 50\n\
         backoff_max_secs = 2\nmax_retry_after_secs = 10\nmax_attempts = 100\n\
         pull_interval_secs = 0\n\n\
         [backends.db]\nprovider = \"internal\"\nurl = \"{store_url}\"\n\n\
         [backends.{remote}]\nprovider = \"asana\"\ntoken = \"{token}\"\nproject = \"{project}\"\n\
         workspace = \"{workspace}\"\nbase_url = \"{base}\"\ntimeout_secs = {timeout}\n\
         max_retries = 1\nmax_retry_after_secs = 1\nrequests_per_minute = 0\n",
        remote = crate::REMOTE,
        token = fake.token(),
        project = fake.project(),
        workspace = fake.workspace(),
        base = fake.base_url(),
    );
    let path = dir.join("tickets.toml");
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
