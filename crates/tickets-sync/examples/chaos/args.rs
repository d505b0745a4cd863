//! The command line: `chaos [--seed N] [--secs N] [--only sqlite|postgres|mysql] [--ci]
//! [--keep] [--verbose]`, with `CHAOS_SEED` and `CHAOS_SECS` as fallbacks.

use std::fmt;
use std::path::PathBuf;

/// Where the local store lives, and how many worker processes share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// A SQLite file: one worker process at a time (the store's worker lease).
    Sqlite,
    /// A PostgreSQL database: three worker processes.
    Postgres,
    /// A MySQL/MariaDB database: three worker processes.
    Mysql,
}

impl Store {
    /// Every configuration, in the order they run.
    pub const ALL: [Store; 3] = [Store::Sqlite, Store::Postgres, Store::Mysql];

    /// Worker processes at once.
    pub fn workers(self) -> usize {
        match self {
            Store::Sqlite => 1,
            Store::Postgres | Store::Mysql => 3,
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "sqlite" => Ok(Store::Sqlite),
            "postgres" | "postgresql" => Ok(Store::Postgres),
            "mysql" | "mariadb" => Ok(Store::Mysql),
            other => Err(format!(
                "--only takes sqlite, postgres or mysql, not {other:?}"
            )),
        }
    }
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Store::Sqlite => "sqlite",
            Store::Postgres => "postgres",
            Store::Mysql => "mysql",
        })
    }
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The seed of every schedule.
    pub seed: u64,
    /// Seconds of chaos per configuration.
    pub secs: u64,
    /// The configurations to run.
    pub stores: Vec<Store>,
    /// The bounded CI run.
    pub ci: bool,
    /// Keep each run's directory (config, worker logs) even when it passes.
    pub keep: bool,
    /// Print every scheduled action as it happens.
    pub verbose: bool,
}

/// Seconds of chaos per configuration of a full run, and of the CI run.
const FULL_SECS: u64 = 60;
const CI_SECS: u64 = 22;
/// More than this is a typo, not a plan.
const MAX_SECS: u64 = 3_600;

pub const USAGE: &str =
    "usage: chaos [--seed N] [--secs N] [--only sqlite|postgres|mysql] [--ci] [--keep] [--verbose]

  --seed N     seed of the schedules (default: $CHAOS_SEED, else drawn and printed)
  --secs N     seconds of chaos per configuration (default: $CHAOS_SECS, else 60; 22 with --ci)
  --only S     run one configuration: sqlite (1 worker), postgres or mysql (3 workers each)
  --ci         the bounded CI run (a missing database fails when CI is set)
  --keep       keep each run's directory (config file, worker logs)
  --verbose    print every scheduled action";

impl Args {
    /// Parses the arguments after the program name; `env` reads a variable.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut seed = None;
        let mut secs = None;
        let mut only = None;
        let (mut ci, mut keep, mut verbose) = (false, false, false);
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            let mut value = |what: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{name} needs {what}"))
            };
            match name.as_str() {
                "--seed" => seed = Some(number("--seed", &value("a number")?)?),
                "--secs" => secs = Some(number("--secs", &value("a number of seconds")?)?),
                "--only" => only = Some(Store::parse(&value("a store")?)?),
                "--ci" => ci = true,
                "--keep" => keep = true,
                "--verbose" | "-v" => verbose = true,
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        let seed = match seed {
            Some(s) => s,
            None => match env("CHAOS_SEED").filter(|s| !s.trim().is_empty()) {
                Some(s) => number("CHAOS_SEED", s.trim())?,
                None => drawn_seed(),
            },
        };
        let secs = match secs {
            Some(s) => s,
            None => match env("CHAOS_SECS").filter(|s| !s.trim().is_empty()) {
                Some(s) => number("CHAOS_SECS", s.trim())?,
                None if ci => CI_SECS,
                None => FULL_SECS,
            },
        };
        if !(5..=MAX_SECS).contains(&secs) {
            return Err(format!(
                "{secs} seconds of chaos: choose 5 to {MAX_SECS} (the schedule needs room for \
                 a stall longer than the {} s lease)",
                crate::plan::LEASE.as_secs()
            ));
        }
        Ok(Self {
            seed,
            secs,
            stores: only.map_or_else(|| Store::ALL.to_vec(), |s| vec![s]),
            ci,
            keep,
            verbose,
        })
    }
}

fn number(what: &str, s: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| format!("{what} takes a whole number, not {s:?}"))
}

/// A seed nobody chose: printed, so the run can be repeated.
fn drawn_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    // Short enough to type back.
    (nanos as u64 ^ u64::from(std::process::id())) % 1_000_000
}

/// The `tickets` binary the writer and worker processes run: `$CHAOS_TICKETS_BIN`, else the
/// one built next to this example (`target/<profile>/tickets`).
pub fn tickets_bin() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CHAOS_TICKETS_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "CHAOS_TICKETS_BIN names {}, which is not a file",
                p.display()
            ))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(|examples| examples.parent())
        .ok_or("cannot find the target directory from this program's path")?;
    let bin = profile_dir.join(format!("tickets{}", std::env::consts::EXE_SUFFIX));
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "the tickets CLI is not built at {}; build it first (`cargo build -p tickets-cli`, \
             which `cargo xtask chaos sync` does) or name it in CHAOS_TICKETS_BIN",
            bin.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Args, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Args::parse(args.iter().map(|s| (*s).to_owned()), |k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn flags_then_variables_then_defaults() {
        let a = parse(&["--seed", "42", "--secs=30", "--only", "postgres"], &[]).unwrap();
        assert_eq!((a.seed, a.secs, a.stores), (42, 30, vec![Store::Postgres]));
        let a = parse(&["--ci"], &[("CHAOS_SEED", "7")]).unwrap();
        assert_eq!(
            (a.seed, a.secs, a.stores.len(), a.ci),
            (7, CI_SECS, 3, true)
        );
        let a = parse(
            &["--seed", "1"],
            &[("CHAOS_SEED", "7"), ("CHAOS_SECS", "9")],
        )
        .unwrap();
        assert_eq!((a.seed, a.secs), (1, 9));
        assert_eq!(parse(&[], &[("CHAOS_SEED", "3")]).unwrap().secs, FULL_SECS);
    }

    #[test]
    fn bad_input_is_named() {
        let err = |args: &[&str], env: &[(&str, &str)]| parse(args, env).unwrap_err();
        assert!(err(&["--seed"], &[]).contains("--seed needs a number"));
        assert!(err(&["--seed", "x1"], &[]).contains("whole number, not \"x1\""));
        assert!(err(&["--only", "oracle"], &[]).contains("sqlite, postgres or mysql"));
        assert!(err(&["--fast"], &[]).contains("unknown argument \"--fast\""));
        assert!(err(&["--secs", "2"], &[]).contains("choose 5 to"));
        assert!(err(&[], &[("CHAOS_SEED", "-1")]).contains("CHAOS_SEED takes a whole number"));
    }
}
