//! A status update with `skip_workflow` makes the bug show the status from whatever the server
//! holds now (half-applied earlier changes included), walking Bugzilla's own workflow, and a
//! repeat changes nothing. Against the fake always; against a real Bugzilla too when
//! `TICKETS_TEST_REAL_BUGZILLA` holds the JSON line `real-servers/bugzilla/start.sh` prints
//! (or the path of a file holding it).

use futures::StreamExt;
use serde_json::{Value, json};
use tickets_bugzilla::{BugzillaConfig, BugzillaProvider, StatusTarget};
use tickets_core::{ErrorKind, Status, TicketId, TicketPatch, TicketProvider};
use tickets_fakes::bugzilla::FakeBugzilla;

const REAL_ENV: &str = "TICKETS_TEST_REAL_BUGZILLA";

/// Raw REST calls, to plant states the provider would never leave and to look at the bug.
struct Raw {
    http: reqwest::Client,
    info: Value,
}

impl Raw {
    fn new(info: Value) -> Self {
        Self {
            http: reqwest::Client::new(),
            info,
        }
    }

    fn s(&self, key: &str) -> String {
        self.info[key].as_str().unwrap_or_default().to_owned()
    }

    fn config(&self) -> BugzillaConfig {
        let mut cfg = BugzillaConfig::new(
            self.s("base_url"),
            self.s("api_key"),
            self.s("product"),
            self.s("component"),
        );
        cfg.version = self.s("version");
        cfg.login = Some(self.s("login"));
        cfg
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Value {
        let answer: Value = req.send().await.unwrap().json().await.unwrap();
        assert_ne!(answer["error"], true, "{answer}");
        answer
    }

    async fn create(&self, summary: &str) -> u64 {
        let body = json!({
            "api_key": self.s("api_key"), "product": self.s("product"),
            "component": self.s("component"), "version": self.s("version"),
            "op_sys": "All", "platform": "All", "summary": summary, "description": "planted",
        });
        let url = format!("{}/bug", self.s("base_url"));
        self.send(self.http.post(url).json(&body)).await["id"]
            .as_u64()
            .unwrap()
    }

    async fn put(&self, id: u64, mut body: Value) {
        body["api_key"] = json!(self.s("api_key"));
        let url = format!("{}/bug/{id}", self.s("base_url"));
        self.send(self.http.put(url).json(&body)).await;
    }

    async fn get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.s("base_url"));
        let query = [("api_key", self.s("api_key"))];
        self.send(self.http.get(url).query(&query)).await
    }

    async fn bug(&self, id: u64) -> Value {
        self.get(&format!("/bug/{id}")).await["bugs"][0].clone()
    }

    /// What a no-op must leave alone: the last change time and the number of history entries.
    async fn mark(&self, id: u64) -> (Value, usize) {
        let bug = self.bug(id).await;
        let history = self.get(&format!("/bug/{id}/history")).await;
        let n = history["bugs"][0]["history"].as_array().map_or(0, Vec::len);
        (bug["last_change_time"].clone(), n)
    }
}

/// A state an interrupted or outside change can leave, planted with raw `PUT`s on a new
/// (CONFIRMED) bug. `[dupe]` stands for "a duplicate of another bug".
const HALF_STATES: &[(&str, &[&str])] = &[
    ("fresh", &[]),
    (
        "resolved with a stale [escalated] marker",
        &[r#"{"status":"RESOLVED","resolution":"FIXED","whiteboard":"[escalated] keep"}"#],
    ),
    (
        "[escalated] set but the status not moved",
        &[r#"{"whiteboard":"[escalated] keep"}"#],
    ),
    (
        "in progress with the [triaged] marker",
        &[r#"{"status":"IN_PROGRESS","whiteboard":"[triaged] keep"}"#],
    ),
    (
        "resolved with another resolution",
        &[r#"{"status":"RESOLVED","resolution":"INVALID","whiteboard":"keep"}"#],
    ),
    (
        "verified wontfix",
        &[
            r#"{"status":"RESOLVED","resolution":"WONTFIX","whiteboard":"keep"}"#,
            r#"{"status":"VERIFIED"}"#,
        ],
    ),
    (
        "verified with an [on-hold] marker",
        &[
            r#"{"status":"RESOLVED","resolution":"FIXED"}"#,
            r#"{"status":"VERIFIED","whiteboard":"[on-hold] keep"}"#,
        ],
    ),
    (
        "unconfirmed with two markers",
        &[
            r#"{"status":"RESOLVED","resolution":"FIXED"}"#,
            r#"{"status":"UNCONFIRMED","resolution":"","whiteboard":"[triaged] [on-hold] keep"}"#,
        ],
    ),
    ("a duplicate", &["[dupe]"]),
];

/// The marker tokens of the default status map.
const MARKERS: [&str; 3] = ["triaged", "on-hold", "escalated"];

fn marker_of(s: Status) -> Option<&'static str> {
    match s {
        Status::Triaged => Some("triaged"),
        Status::OnHold => Some("on-hold"),
        Status::Escalated => Some("escalated"),
        _ => None,
    }
}

async fn plant(raw: &Raw, state: &str, steps: &[&str]) -> u64 {
    let id = raw.create(&format!("half state: {state}")).await;
    for step in steps {
        if *step == "[dupe]" {
            let original = raw.create("the original").await;
            raw.put(id, json!({"dupe_of": original, "whiteboard": "keep"}))
                .await;
        } else {
            raw.put(id, serde_json::from_str(step).unwrap()).await;
        }
    }
    id
}

/// One case: plant, converge to `to`, check the bug, repeat and check nothing changed.
async fn converge(raw: &Raw, p: &BugzillaProvider, state: &str, steps: &[&str], to: Status) {
    let id = plant(raw, state, steps).await;
    let tid = TicketId::new(id.to_string());
    let what = format!("from {state:?} to {to}");
    let t = p
        .update(&tid, TicketPatch::new().status(to).skip_workflow())
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(t.status, to, "{what}");
    assert_eq!(p.get(&tid).await.unwrap().status, to, "{what}");
    let bug = raw.bug(id).await;
    let wb = bug["whiteboard"].as_str().unwrap_or_default();
    for m in MARKERS {
        let want = marker_of(to) == Some(m);
        assert_eq!(wb.contains(&format!("[{m}]")), want, "{what}: {wb:?}");
    }
    if steps.iter().any(|s| s.contains("keep")) {
        assert!(wb.contains("keep"), "{what}: free text kept: {wb:?}");
    }
    assert!(t.tags.is_empty(), "{what}: markers never read as tags");
    let before = raw.mark(id).await;
    let again = p
        .update(&tid, TicketPatch::new().status(to).skip_workflow())
        .await
        .unwrap_or_else(|e| panic!("{what}, again: {e}"));
    assert_eq!(again.status, to, "{what}, again");
    assert_eq!(
        raw.mark(id).await,
        before,
        "{what}: the repeat changed the bug"
    );
}

async fn every_half_state_to_every_status(raw: &Raw, concurrency: usize) {
    let p = BugzillaProvider::connect(raw.config()).await.unwrap();
    let cases: Vec<(&str, &[&str], Status)> = HALF_STATES
        .iter()
        .flat_map(|(state, steps)| Status::ALL.into_iter().map(move |to| (*state, *steps, to)))
        .collect();
    let n = cases.len();
    futures::stream::iter(cases)
        .map(|(state, steps, to)| converge(raw, &p, state, steps, to))
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
    assert_eq!(n, HALF_STATES.len() * 8);
}

/// The real server's JSON line (`TICKETS_TEST_REAL_BUGZILLA`, set by `.ci/run`, or the older
/// `TICKETS_TEST_BUGZILLA_JSON`; the line or a file holding it), or `None` after a visible
/// skip (an error under `CI`).
fn real_server() -> Option<Value> {
    let Some(v) = [
        REAL_ENV,
        "TICKETS_TEST_BUGZILLA_JSON",
        "TICKETS_TEST_BUGZILLA",
    ]
    .into_iter()
    .find_map(|k| std::env::var(k).ok()) else {
        tickets_testkit::skipped(&format!(
            "the real-Bugzilla convergence test: {REAL_ENV} is not set"
        ))
        .expect("a real Bugzilla is required here");
        return None;
    };
    let text = if v.trim_start().starts_with('{') {
        v
    } else {
        std::fs::read_to_string(v.trim()).expect("the variable names a file")
    };
    Some(serde_json::from_str(text.trim()).expect("the real server's line is JSON"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_half_state_converges_to_every_status_on_the_fake() {
    let fake = FakeBugzilla::start().await.unwrap();
    every_half_state_to_every_status(&Raw::new(fake.info()), 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_half_state_converges_where_reopening_requires_a_comment() {
    // An admin made reopening comment-required: those steps carry a comment.
    let fake = FakeBugzilla::start().await.unwrap();
    fake.require_comment("RESOLVED", "CONFIRMED");
    fake.require_comment("VERIFIED", "CONFIRMED");
    every_half_state_to_every_status(&Raw::new(fake.info()), 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_half_state_converges_to_every_status_on_a_real_bugzilla() {
    let Some(info) = real_server() else { return };
    // A few bugs at a time (each bug's requests in order): the real server runs on SQLite.
    every_half_state_to_every_status(&Raw::new(info), 3).await;
}

/// Bugzilla matches status and resolution names case-insensitively (a real 5.0.6 stores
/// `wontfix` as `WONTFIX`); a status map written in lower case must converge too.
async fn lower_case_names_in_the_status_map(raw: &Raw) {
    let mut cfg = raw.config();
    cfg.status_map.insert(
        Status::Cancelled,
        StatusTarget::new("verified", "wontfix", None),
    );
    let p = BugzillaProvider::connect(cfg).await.unwrap();
    let id = plant(
        raw,
        "resolved",
        &[r#"{"status":"RESOLVED","resolution":"FIXED"}"#],
    )
    .await;
    let tid = TicketId::new(id.to_string());
    let patch = TicketPatch::new().status(Status::Cancelled).skip_workflow();
    let t = p.update(&tid, patch.clone()).await.unwrap();
    assert_eq!(t.status, Status::Cancelled);
    let bug = raw.bug(id).await;
    assert_eq!(
        (&bug["status"], &bug["resolution"]),
        (&json!("VERIFIED"), &json!("WONTFIX"))
    );
    let before = raw.mark(id).await;
    p.update(&tid, patch).await.unwrap();
    assert_eq!(raw.mark(id).await, before);
}

#[tokio::test]
async fn lower_case_names_in_the_status_map_on_the_fake() {
    let fake = FakeBugzilla::start().await.unwrap();
    lower_case_names_in_the_status_map(&Raw::new(fake.info())).await;
}

#[tokio::test]
async fn lower_case_names_in_the_status_map_on_a_real_bugzilla() {
    let Some(info) = real_server() else { return };
    lower_case_names_in_the_status_map(&Raw::new(info)).await;
}

#[tokio::test]
async fn an_interrupted_status_change_converges_when_repeated() {
    let fake = FakeBugzilla::start().await.unwrap();
    let raw = Raw::new(fake.info());
    let p = BugzillaProvider::connect(raw.config()).await.unwrap();
    // In progress and escalated -> closed takes two PUTs (RESOLVED, then VERIFIED).
    for fault in [503, 429] {
        let id = plant(
            &raw,
            "escalated",
            &[r#"{"status":"IN_PROGRESS","whiteboard":"[escalated]"}"#],
        )
        .await;
        let tid = TicketId::new(id.to_string());
        fake.faults().fail_writes_after(1, 1, fault);
        let patch = TicketPatch::new().status(Status::Closed).skip_workflow();
        let err = p.update(&tid, patch.clone()).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        let bug = raw.bug(id).await;
        assert_eq!(
            (&bug["status"], &bug["resolution"], &bug["whiteboard"]),
            (&json!("RESOLVED"), &json!("FIXED"), &json!("")),
            "stopped half-way"
        );
        let t = p.update(&tid, patch.clone()).await.unwrap();
        assert_eq!(t.status, Status::Closed);
        assert_eq!(raw.bug(id).await["status"], "VERIFIED");
        let before = raw.mark(id).await;
        p.update(&tid, patch).await.unwrap();
        assert_eq!(raw.mark(id).await, before);
    }
}

#[tokio::test]
async fn requests_a_status_update_costs() {
    let fake = FakeBugzilla::start().await.unwrap();
    let raw = Raw::new(fake.info());
    let p = BugzillaProvider::connect(raw.config()).await.unwrap();
    let id = plant(&raw, "fresh", &[]).await;
    let tid = TicketId::new(id.to_string());
    let count = || fake.faults().stats().requests;
    let patch = TicketPatch::new().status(Status::Closed).skip_workflow();
    let start = count();
    let t = p.update(&tid, patch.clone()).await.unwrap();
    // GET the bug and its comment 0 (in parallel; the description is then remembered, as
    // Bugzilla cannot change it), PUT RESOLVED, PUT VERIFIED; the answer is the bug as read
    // with the PUTs' `changes` applied, no read-back.
    assert_eq!(count() - start, 4);
    assert_eq!(
        t,
        p.get(&tid).await.unwrap(),
        "the answer is what a get reads"
    );
    let start = count();
    p.update(&tid, patch).await.unwrap();
    // Already there: GET the bug, nothing written.
    assert_eq!(count() - start, 1);
    let start = count();
    let t = p
        .update(
            &tid,
            TicketPatch::new().status(Status::Escalated).skip_workflow(),
        )
        .await
        .unwrap();
    // VERIFIED -> CONFIRMED -> IN_PROGRESS (marker and priority ride with the first PUT).
    assert_eq!(count() - start, 3);
    assert_eq!(t, p.get(&tid).await.unwrap());
    let start = count();
    let t = p
        .update(
            &tid,
            TicketPatch::new()
                .status(Status::InProgress)
                .skip_workflow(),
        )
        .await
        .unwrap();
    // Only the marker goes: one PUT of the whiteboard.
    assert_eq!(count() - start, 2);
    assert_eq!(t, p.get(&tid).await.unwrap());
    assert_eq!(raw.bug(id).await["whiteboard"], "");
}

#[tokio::test]
async fn without_skip_workflow_the_canonical_check_still_refuses() {
    let fake = FakeBugzilla::start().await.unwrap();
    let raw = Raw::new(fake.info());
    let p = BugzillaProvider::connect(raw.config()).await.unwrap();
    // Cancelled (RESOLVED WONTFIX) is terminal in the default workflow except a reopen.
    let id = plant(
        &raw,
        "cancelled",
        &[r#"{"status":"RESOLVED","resolution":"WONTFIX"}"#],
    )
    .await;
    let tid = TicketId::new(id.to_string());
    let before = raw.mark(id).await;
    let err = p
        .update(&tid, TicketPatch::new().status(Status::Closed))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTransition, "{err}");
    let err = p.change_status(&tid, Status::Resolved).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTransition, "{err}");
    assert_eq!(raw.mark(id).await, before, "nothing reached Bugzilla");
    // The caller that checked the move itself gets there.
    let t = p
        .update(
            &tid,
            TicketPatch::new().status(Status::Closed).skip_workflow(),
        )
        .await
        .unwrap();
    assert_eq!(t.status, Status::Closed);
    // And the lifecycle shortcuts still work.
    assert_eq!(p.reopen(&tid).await.unwrap().status, Status::New);
    assert_eq!(p.escalate(&tid).await.unwrap().status, Status::Escalated);
    assert_eq!(p.resolve(&tid).await.unwrap().status, Status::Resolved);
    assert_eq!(p.close(&tid).await.unwrap().status, Status::Closed);
}
