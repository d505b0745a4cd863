//! The schedule of one configuration's run, drawn from the seed before anything starts: when
//! each fault phase begins and ends (and its knobs), when each worker process is started,
//! killed (SIGKILL), stopped (SIGSTOP) and continued, when each writer's running CLI process
//! is killed, and every writer's operations with the pause before each. The same seed gives
//! the same schedule; only what the OS makes of it (how far a process got when it is killed,
//! how requests interleave) differs between runs.
//!
//! Each part is drawn from a generator of its own, so the fault and writer schedules are the
//! same in every configuration of a run (only the worker schedule depends on how many worker
//! processes a configuration runs).

use std::hash::{Hash, Hasher};
use std::time::Duration;

use fastrand::Rng;

/// The claim lease of every worker (and of the CLI's deliveries after a write).
pub const LEASE: Duration = Duration::from_secs(3);
/// The Asana client's time-out of one request.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(1);
/// Writer processes running at once.
pub const WRITERS: usize = 3;
/// Tickets made before the chaos that every writer changes (so one ticket gets changes from
/// several processes at once).
pub const HOT: usize = 3;
/// Operations drawn per writer; a run does as many as its time allows.
const OPS_PER_WRITER: usize = 800;

/// The kinds of remote faults, one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// 500/502/503/504 before the request is applied.
    ServerErrors,
    /// 429 with a `Retry-After` longer than the workers' lease.
    RateLimited,
    /// Writes applied, then the connection dropped before the answer.
    Dropped,
    /// Every request slower than the client's time-out (applied all the same).
    Slow,
    /// Every request refused (a short outage).
    Down,
}

impl FaultKind {
    /// Every kind, in the order summaries list them.
    pub const ALL: [FaultKind; 5] = [
        FaultKind::ServerErrors,
        FaultKind::RateLimited,
        FaultKind::Dropped,
        FaultKind::Slow,
        FaultKind::Down,
    ];
}

/// One fault phase's knobs.
#[derive(Debug, Clone, Hash)]
pub struct FaultPhase {
    /// What fails.
    pub kind: FaultKind,
    /// Share of requests that fail (or of writes whose answer is dropped), in percent.
    pub percent: u32,
    /// `Retry-After` of the 429s.
    pub retry_after_secs: u64,
    /// Added to every request (slow phases).
    pub latency: Duration,
    /// Seed of the fake's random faults in this phase.
    pub seed: u64,
}

/// Something the harness does at a point of the schedule.
#[derive(Debug, Clone, Hash)]
pub enum Action {
    /// Turns a fault phase on.
    FaultOn(FaultPhase),
    /// Turns the faults off.
    FaultOff,
    /// Starts the worker process of a slot.
    StartWorker(usize),
    /// SIGKILLs the worker process of a slot.
    KillWorker(usize),
    /// SIGSTOPs the worker process of a slot (continued by a later `ContinueWorker`, after
    /// more than a lease).
    StopWorker(usize),
    /// SIGCONTs the worker process of a slot.
    ContinueWorker(usize),
    /// SIGKILLs the next CLI process a writer starts, this long after its start (if it is
    /// still running then): mid-write or mid-delivery.
    KillWriter(usize, Duration),
}

/// An action at a time from the start of the chaos.
#[derive(Debug, Clone, Hash)]
pub struct Event {
    /// When.
    pub at: Duration,
    /// What.
    pub action: Action,
}

/// The ticket an operation changes.
#[derive(Debug, Clone, Copy, Hash)]
pub enum Target {
    /// The writer's own `n`th create.
    Own(usize),
    /// One of the tickets every writer changes.
    Hot(usize),
}

/// One CLI command a writer runs.
#[derive(Debug, Clone, Hash)]
pub enum Op {
    /// `tickets create`.
    Create {
        /// Unique in the run.
        subject: String,
        /// Its description.
        description: String,
        /// Its priority.
        priority: &'static str,
    },
    /// `tickets update ID --description ..`.
    Describe(Target, String),
    /// `tickets update ID --priority ..`.
    Prioritize(Target, &'static str),
    /// `tickets update ID --subject ..`.
    Rename(Target, String),
    /// `tickets status ID STATUS` (refused locally when the workflow forbids the move).
    Status(Target, &'static str),
    /// `tickets assign ID USER` or `tickets unassign ID`.
    Assign(Target, Option<&'static str>),
    /// `tickets comment ID BODY [--author A] [--private]`.
    Comment {
        /// The ticket.
        target: Target,
        /// The text; `+1` many times over.
        body: String,
        /// The author, if any.
        author: Option<&'static str>,
        /// Private comments stay local (Asana has none).
        private: bool,
    },
}

impl Op {
    /// The ticket it changes (none for a create).
    pub fn target(&self) -> Option<Target> {
        match self {
            Op::Create { .. } => None,
            Op::Describe(t, _)
            | Op::Prioritize(t, _)
            | Op::Rename(t, _)
            | Op::Status(t, _)
            | Op::Assign(t, _) => Some(*t),
            Op::Comment { target, .. } => Some(*target),
        }
    }

    /// The `tickets` arguments, with `id` the target's local id.
    pub fn args(&self, id: &str) -> Vec<String> {
        let s = |v: &str| v.to_owned();
        let mut a = vec![s("--json")];
        match self {
            Op::Create {
                subject,
                description,
                priority,
            } => a.extend([
                s("create"),
                s("--subject"),
                subject.clone(),
                s("--description"),
                description.clone(),
                s("--priority"),
                s(priority),
                s("--tag"),
                s("chaos"),
            ]),
            Op::Describe(_, d) => a.extend([s("update"), s(id), s("--description"), d.clone()]),
            Op::Prioritize(_, p) => a.extend([s("update"), s(id), s("--priority"), s(p)]),
            Op::Rename(_, subject) => {
                a.extend([s("update"), s(id), s("--subject"), subject.clone()])
            }
            Op::Status(_, status) => a.extend([s("status"), s(id), s(status)]),
            Op::Assign(_, Some(who)) => a.extend([s("assign"), s(id), s(who)]),
            Op::Assign(_, None) => a.extend([s("unassign"), s(id)]),
            Op::Comment {
                body,
                author,
                private,
                ..
            } => {
                a.extend([s("comment"), s(id), body.clone()]);
                if let Some(who) = author {
                    a.extend([s("--author"), s(who)]);
                }
                if *private {
                    a.push(s("--private"));
                }
            }
        }
        a
    }
}

/// One writer's operations, each with the pause before it.
#[derive(Debug, Clone, Hash)]
pub struct Writer {
    /// In order.
    pub ops: Vec<(Duration, Op)>,
}

/// Everything one configuration's run does, in order.
#[derive(Debug, Clone, Hash)]
pub struct Plan {
    /// The run's seed.
    pub seed: u64,
    /// How long the chaos lasts.
    pub secs: u64,
    /// Worker processes at once.
    pub workers: usize,
    /// The creates of the tickets every writer changes, made before the chaos.
    pub hot: Vec<Op>,
    /// Faults and process actions, by time.
    pub events: Vec<Event>,
    /// The writers.
    pub writers: Vec<Writer>,
}

const STATUSES: [&str; 8] = [
    "new",
    "triaged",
    "in_progress",
    "on_hold",
    "escalated",
    "resolved",
    "closed",
    "cancelled",
];
const PRIORITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];
const USERS: [&str; 2] = ["alice@example.com", "bob@example.com"];

fn between_ms(rng: &mut Rng, lo_ms: u64, hi_ms: u64) -> Duration {
    Duration::from_millis(rng.u64(lo_ms..hi_ms))
}

impl Plan {
    /// The schedule for `seed`, `secs` of chaos and `workers` worker processes.
    pub fn new(seed: u64, secs: u64, workers: usize) -> Self {
        let end = Duration::from_secs(secs);
        let mut events = faults(&mut Rng::with_seed(seed ^ 0xfa17), end);
        for slot in 0..workers {
            let mut rng = Rng::with_seed(seed ^ (0x3041 + slot as u64));
            events.extend(worker_events(&mut rng, slot, end));
        }
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let mut rng = Rng::with_seed(seed ^ (0x3817 + w as u64));
            writers.push(writer(&mut rng, w));
            let mut t = between_ms(&mut rng, 2_000, 6_000);
            while t < end {
                // A CLI write takes tens of milliseconds on SQLite and hundreds on a server
                // (plus its delivery): both ranges.
                let after = if rng.bool() {
                    between_ms(&mut rng, 0, 40)
                } else {
                    between_ms(&mut rng, 40, 400)
                };
                events.push(Event {
                    at: t,
                    action: Action::KillWriter(w, after),
                });
                t += between_ms(&mut rng, 3_000, 10_000);
            }
        }
        // Stable: same-time events keep the order they were drawn in.
        events.sort_by_key(|e| e.at);
        let hot = (0..HOT)
            .map(|h| Op::Create {
                subject: format!("hot {h}"),
                description: format!("changed by every writer ({h})"),
                priority: "medium",
            })
            .collect();
        Self {
            seed,
            secs,
            workers,
            hot,
            events,
            writers,
        }
    }

    /// A short digest of the whole schedule: equal for equal seeds, settings and code.
    pub fn fingerprint(&self) -> String {
        let mut h = std::hash::DefaultHasher::new();
        self.hash(&mut h);
        format!("{:016x}", h.finish())
    }

    /// How many events of a kind the schedule holds.
    pub fn count(&self, what: impl Fn(&Action) -> bool) -> usize {
        self.events.iter().filter(|e| what(&e.action)).count()
    }
}

/// Calm and fault phases in turn, cycling through every kind of fault (in an order shuffled
/// anew each round), so even a short run meets each kind.
fn faults(rng: &mut Rng, end: Duration) -> Vec<Event> {
    let mut events = Vec::new();
    let mut t = Duration::from_millis(500);
    let mut round: Vec<FaultKind> = Vec::new();
    loop {
        if round.is_empty() {
            round = FaultKind::ALL.to_vec();
            rng.shuffle(&mut round);
        }
        let kind = round.pop().unwrap_or(FaultKind::ServerErrors);
        let on = t + between_ms(rng, 500, 1_500);
        let len = match kind {
            FaultKind::Down | FaultKind::RateLimited => between_ms(rng, 1_000, 2_500),
            _ => between_ms(rng, 1_500, 3_500),
        };
        if on + len >= end {
            return events;
        }
        let phase = FaultPhase {
            kind,
            percent: match kind {
                FaultKind::ServerErrors => rng.u32(30..70),
                FaultKind::RateLimited => rng.u32(30..80),
                FaultKind::Dropped => rng.u32(30..60),
                FaultKind::Slow | FaultKind::Down => 100,
            },
            retry_after_secs: LEASE.as_secs() + rng.u64(1..=3),
            latency: CLIENT_TIMEOUT + between_ms(rng, 200, 1_500),
            seed: rng.u64(..),
        };
        events.push(Event {
            at: on,
            action: Action::FaultOn(phase),
        });
        events.push(Event {
            at: on + len,
            action: Action::FaultOff,
        });
        t = on + len;
    }
}

/// One slot's worker process: started, then in turn running for a while and either killed
/// (and restarted) or stopped for longer than the lease (and continued).
fn worker_events(rng: &mut Rng, slot: usize, end: Duration) -> Vec<Event> {
    let at = |at, action| Event { at, action };
    let mut t = Duration::from_millis(300 * slot as u64);
    let mut events = vec![at(t, Action::StartWorker(slot))];
    loop {
        t += between_ms(rng, 400, 4_000);
        if t >= end {
            return events;
        }
        let stall = LEASE + between_ms(rng, 500, 2_500);
        if rng.u32(0..100) < 25 && t + stall < end {
            events.push(at(t, Action::StopWorker(slot)));
            t += stall;
            events.push(at(t, Action::ContinueWorker(slot)));
        } else {
            events.push(at(t, Action::KillWorker(slot)));
            t += between_ms(rng, 100, 1_000);
            events.push(at(t, Action::StartWorker(slot)));
        }
    }
}

/// A writer's operations: its own tickets (recent ones most) and the hot ones.
fn writer(rng: &mut Rng, w: usize) -> Writer {
    let mut created = 0usize;
    let mut ops = Vec::with_capacity(OPS_PER_WRITER);
    for i in 0..OPS_PER_WRITER {
        let pause = between_ms(rng, 0, 300);
        let target = if rng.u32(0..100) < 25 {
            Target::Hot(rng.usize(..HOT))
        } else if created > 0 {
            Target::Own(created - 1 - rng.usize(..created.min(5)))
        } else {
            Target::Hot(0)
        };
        let roll = if i == 0 { 0 } else { rng.u32(0..100) };
        let op = match roll {
            0..10 => {
                created += 1;
                Op::Create {
                    subject: format!("w{w} t{created}"),
                    description: format!("made by writer {w}"),
                    priority: PRIORITIES[rng.usize(..PRIORITIES.len())],
                }
            }
            10..18 => Op::Describe(target, format!("described by w{w} at op {i}")),
            18..24 => Op::Prioritize(target, PRIORITIES[rng.usize(..PRIORITIES.len())]),
            24..27 => Op::Rename(target, format!("w{w} renamed at op {i}")),
            27..42 => Op::Status(target, STATUSES[rng.usize(..STATUSES.len())]),
            42..52 => Op::Assign(
                target,
                (rng.u32(0..3) > 0).then(|| USERS[rng.usize(..USERS.len())]),
            ),
            52..81 => Op::Comment {
                target,
                body: "+1".into(),
                author: None,
                private: false,
            },
            81..96 => Op::Comment {
                target,
                body: format!("note {i} from w{w}"),
                author: Some(USERS[rng.usize(..USERS.len())]),
                private: false,
            },
            _ => Op::Comment {
                target,
                body: format!("private note {i} from w{w}"),
                author: None,
                private: true,
            },
        };
        ops.push((pause, op));
    }
    Writer { ops }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_schedule() {
        let a = Plan::new(7, 30, 3);
        assert_eq!(a.fingerprint(), Plan::new(7, 30, 3).fingerprint());
        assert_ne!(a.fingerprint(), Plan::new(8, 30, 3).fingerprint());
        // Faults and writers do not depend on the worker count.
        let b = Plan::new(7, 30, 1);
        let faults = |p: &Plan| {
            p.events
                .iter()
                .filter(|e| matches!(e.action, Action::FaultOn(_) | Action::FaultOff))
                .map(|e| format!("{e:?}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(faults(&a), faults(&b));
        assert!(a.count(|x| matches!(x, Action::KillWorker(_))) > 0);
        assert!(a.events.windows(2).all(|w| w[0].at <= w[1].at));
    }
}
