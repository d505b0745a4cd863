//! A status update with `skip_workflow` makes the task show the status (its `completed` flag
//! and its section) from whatever the fake Asana holds now, half-applied earlier updates
//! included, and a repeat changes nothing.

use serde_json::{Value, json};
use tickets_asana::{AsanaConfig, AsanaProvider};
use tickets_core::{ErrorKind, Status, TicketId, TicketPatch, TicketProvider};
use tickets_fakes::asana::FakeAsana;

/// The fake is not Asana: pace at 1,000 a second so the suites stay quick (pacing at
/// Asana's rate has its own tests).
const FAST: u32 = 60_000;

fn provider(fake: &FakeAsana) -> AsanaProvider {
    let config = AsanaConfig::new(fake.token(), fake.project())
        .base_url(fake.base_url())
        .requests_per_minute(FAST)
        .workspace(fake.workspace());
    AsanaProvider::new(config).unwrap()
}

/// The default section of each status.
fn section_of(s: Status) -> &'static str {
    match s {
        Status::New => "New",
        Status::Triaged => "Triaged",
        Status::InProgress => "In Progress",
        Status::OnHold => "On Hold",
        Status::Escalated => "Escalated",
        Status::Resolved => "Resolved",
        Status::Closed => "Closed",
        Status::Cancelled => "Cancelled",
    }
}

/// Raw calls on the fake, to plant states and look at tasks.
struct Raw<'a> {
    fake: &'a FakeAsana,
    http: reqwest::Client,
}

impl<'a> Raw<'a> {
    fn new(fake: &'a FakeAsana) -> Self {
        Self {
            fake,
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, data: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.fake.base_url()))
            .bearer_auth(self.fake.token());
        if let Some(d) = data {
            req = req.json(&json!({ "data": d }));
        }
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// The gid of a section of the project, created when missing.
    async fn section(&self, name: &str) -> String {
        let path = format!("/projects/{}/sections", self.fake.project());
        let list = self.send(reqwest::Method::GET, &path, None).await;
        if let Some(s) = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
        {
            return s["gid"].as_str().unwrap().to_owned();
        }
        let made = self
            .send(reqwest::Method::POST, &path, Some(json!({"name": name})))
            .await;
        made["data"]["gid"].as_str().unwrap().to_owned()
    }

    /// A task in `section` (none: in the project but no section) with this `completed` flag.
    async fn task(&self, section: Option<&str>, completed: bool) -> String {
        let project = self.fake.project();
        let mut data = json!({"name": "planted", "projects": [project], "completed": completed});
        if let Some(name) = section {
            let gid = self.section(name).await;
            data["memberships"] = json!([{"project": project, "section": gid}]);
        }
        let made = self.send(reqwest::Method::POST, "/tasks", Some(data)).await;
        made["data"]["gid"].as_str().unwrap().to_owned()
    }

    /// `(completed, section name)` of a task.
    fn shows(&self, gid: &str) -> (bool, Option<String>) {
        let t = self.fake.task(gid).unwrap();
        let section = t["memberships"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["project"]["gid"] == self.fake.project())
            .and_then(|m| m["section"]["name"].as_str().map(str::to_owned));
        (t["completed"].as_bool().unwrap(), section)
    }

    /// What a no-op must leave alone: `modified_at` and the number of stories.
    fn mark(&self, gid: &str) -> (Value, usize) {
        let t = self.fake.task(gid).unwrap();
        (t["modified_at"].clone(), self.fake.stories(gid).len())
    }
}

/// States an interrupted update (or a hand in Asana's UI) can leave: (what, section, completed).
const HALF_STATES: &[(&str, Option<&str>, bool)] = &[
    ("incomplete in New", Some("New"), false),
    (
        "completed in its old open section",
        Some("In Progress"),
        true,
    ),
    ("incomplete in the Closed section", Some("Closed"), false),
    ("completed in the Resolved section", Some("Resolved"), true),
    (
        "incomplete in the Cancelled section",
        Some("Cancelled"),
        false,
    ),
    ("in no section", None, false),
    ("completed in an unmapped section", Some("Backlog"), true),
];

#[tokio::test]
async fn every_half_state_converges_to_every_status() {
    let fake = FakeAsana::start().await.unwrap();
    let raw = Raw::new(&fake);
    let p = provider(&fake);
    for (state, section, completed) in HALF_STATES {
        for to in Status::ALL {
            let gid = raw.task(*section, *completed).await;
            let id = TicketId::new(gid.clone());
            let what = format!("from {state} to {to}");
            let patch = TicketPatch::new().status(to).skip_workflow();
            let t = p
                .update(&id, patch.clone())
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(t.status, to, "{what}");
            assert_eq!(p.get(&id).await.unwrap().status, to, "{what}");
            assert_eq!(
                raw.shows(&gid),
                (!to.is_open(), Some(section_of(to).to_owned())),
                "{what}"
            );
            let before = raw.mark(&gid);
            let requests = fake.faults().stats().requests;
            let again = p.update(&id, patch).await.unwrap();
            assert_eq!(again.status, to, "{what}, again");
            assert_eq!(
                raw.mark(&gid),
                before,
                "{what}: the repeat changed the task"
            );
            assert_eq!(
                fake.faults().stats().requests - requests,
                1,
                "{what}: a repeat is one read"
            );
        }
    }
}

#[tokio::test]
async fn an_update_stopped_between_its_requests_converges_when_repeated() {
    let fake = FakeAsana::start().await.unwrap();
    let raw = Raw::new(&fake);
    // The provider alone sends each request once: the failure reaches the caller, as a crash
    // would.
    let p = provider(&fake);
    for (fault, subject) in [(500, None), (429, None), (503, Some("renamed"))] {
        let gid = raw.task(Some("In Progress"), false).await;
        let id = TicketId::new(gid.clone());
        let mut patch = TicketPatch::new().status(Status::Resolved).skip_workflow();
        if let Some(s) = subject {
            patch = patch.subject(s);
        }
        // Warm the section cache, so the writes are the first requests that can fail.
        raw.section("Resolved").await;
        p.update(&id, TicketPatch::new().status(Status::InProgress))
            .await
            .unwrap();
        fake.faults().fail_writes_after(1, 1, fault);
        let err = p.update(&id, patch.clone()).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        let half = raw.shows(&gid);
        match subject {
            // A pure status change moves first: in the Resolved section, not completed yet.
            None => assert_eq!(half, (false, Some("Resolved".to_owned())), "{fault}"),
            // With other fields they go first (a refused field moves nothing), then the move,
            // then the flag: stopped at the move, the task is renamed and still reads In
            // Progress, never Closed (from where the workflow would refuse Resolved).
            Some(s) => {
                assert_eq!(half, (false, Some("In Progress".to_owned())));
                let now = p.get(&id).await.unwrap();
                assert_eq!((now.status, now.subject.as_str()), (Status::InProgress, s));
            }
        }
        // Repeated as the retry layer or the sync queue would: after the wait asked for.
        tokio::time::sleep(err.retry_after().unwrap_or_default()).await;
        let t = p.update(&id, patch.clone()).await.unwrap();
        assert_eq!(t.status, Status::Resolved);
        assert_eq!(raw.shows(&gid), (true, Some("Resolved".to_owned())));
        if let Some(s) = subject {
            assert_eq!(t.subject, s);
        }
        let before = raw.mark(&gid);
        p.update(&id, patch).await.unwrap();
        assert_eq!(raw.mark(&gid), before);
    }
}

#[tokio::test]
async fn requests_a_status_update_costs() {
    let fake = FakeAsana::start().await.unwrap();
    let raw = Raw::new(&fake);
    let p = provider(&fake);
    for s in Status::ALL {
        raw.section(section_of(s)).await;
    }
    let gid = raw.task(Some("New"), false).await;
    let id = TicketId::new(gid.clone());
    // Fill the section cache.
    p.update(&id, TicketPatch::new().status(Status::New).skip_workflow())
        .await
        .unwrap();
    let count = || fake.faults().stats().requests;
    let cases = [
        // Section and flag: addTask, then the PUT whose answer shows both.
        (Status::Closed, 3),
        // Already there: the read only.
        (Status::Closed, 1),
        // Flag cleared first (PUT), then addTask, then a read-back: one request more than
        // the other order, so a move stopped half-way never reads Closed.
        (Status::Triaged, 4),
        // Section only: addTask, then a read-back.
        (Status::InProgress, 3),
        // Section and flag again.
        (Status::Cancelled, 3),
    ];
    for (to, cost) in cases {
        let start = count();
        let t = p
            .update(&id, TicketPatch::new().status(to).skip_workflow())
            .await
            .unwrap();
        assert_eq!(t.status, to);
        assert_eq!(count() - start, cost, "to {to}: GET + writes + read-back");
    }
    // Flag only: a completed task already in the Closed section's neighbour state.
    let gid = raw.task(Some("Closed"), false).await;
    let start = count();
    p.update(
        &TicketId::new(gid),
        TicketPatch::new().status(Status::Closed).skip_workflow(),
    )
    .await
    .unwrap();
    assert_eq!(count() - start, 2, "GET + PUT completed");
}

#[tokio::test]
async fn without_skip_workflow_the_canonical_check_still_refuses() {
    let fake = FakeAsana::start().await.unwrap();
    let raw = Raw::new(&fake);
    let p = provider(&fake);
    // Completed in an open section reads Closed: terminal except a reopen.
    let gid = raw.task(Some("In Progress"), true).await;
    let id = TicketId::new(gid.clone());
    let before = raw.mark(&gid);
    let requests = fake.faults().stats().requests;
    let err = p
        .update(&id, TicketPatch::new().status(Status::Resolved))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTransition, "{err}");
    assert_eq!(
        fake.faults().stats().requests - requests,
        1,
        "refused after the read"
    );
    let err = p.change_status(&id, Status::Escalated).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTransition, "{err}");
    assert_eq!(raw.mark(&gid), before);
    let t = p
        .update(
            &id,
            TicketPatch::new().status(Status::Resolved).skip_workflow(),
        )
        .await
        .unwrap();
    assert_eq!(t.status, Status::Resolved);
    // The lifecycle shortcuts still work.
    assert_eq!(p.reopen(&id).await.unwrap().status, Status::New);
    assert_eq!(p.escalate(&id).await.unwrap().status, Status::Escalated);
    assert_eq!(raw.shows(&gid), (false, Some("Escalated".to_owned())));
    assert_eq!(p.close(&id).await.unwrap().status, Status::Closed);
    assert_eq!(raw.shows(&gid), (true, Some("Closed".to_owned())));
}

/// Through the retry layer, a status move refused half-way (a 429 on its second write) is
/// sent again and arrives: the task never reads as a status the workflow would not leave for
/// the target (a completed task in an open section reads `Closed`, and `Closed -> Triaged`
/// is refused).
#[tokio::test]
async fn a_move_stopped_between_its_writes_arrives_through_the_retry_layer() {
    use std::sync::Arc;
    use tickets_core::layers::{self, RetryPolicy};
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(&fake);
    let layered = layers::with_retry(Arc::new(p.clone()), RetryPolicy::default());
    for (from, to) in [
        (Status::Resolved, Status::Triaged),
        (Status::Triaged, Status::Resolved),
        (Status::Closed, Status::InProgress),
    ] {
        let t = p
            .create(tickets_core::NewTicket::new(format!("{from} to {to}")))
            .await
            .unwrap();
        p.change_status(&t.id, from).await.unwrap();
        // Warm the section cache, so the writes are the first requests that can fail.
        p.change_status(&t.id, to).await.unwrap();
        p.change_status(&t.id, from).await.unwrap();
        fake.faults().fail_writes_after(1, 1, 429);
        let moved = layered.change_status(&t.id, to).await.unwrap();
        assert_eq!(moved.status, to, "{from} -> {to}");
        assert_eq!(fake.faults().stats().injected, 1, "{from} -> {to}: one 429");
        fake.faults().reset();
        assert_eq!(p.get(&t.id).await.unwrap().status, to);
    }
}

/// A reopen stopped between its writes (the flag cleared, the move refused) reads `New`; the
/// retried reopen finishes it instead of refusing a ticket that is "already open".
#[tokio::test]
async fn a_reopen_stopped_between_its_writes_is_finished_when_retried() {
    use std::sync::Arc;
    use tickets_core::layers::{self, RetryPolicy};
    let fake = FakeAsana::start().await.unwrap();
    let p = provider(&fake);
    let t = p
        .create(tickets_core::NewTicket::new("reopened"))
        .await
        .unwrap();
    p.change_status(&t.id, Status::Resolved).await.unwrap();
    fake.faults().fail_writes_after(1, 1, 429);
    let layered = layers::with_retry(Arc::new(p.clone()), RetryPolicy::default());
    let t = layered.reopen(&t.id).await.unwrap();
    assert_eq!(t.status, Status::New);
    assert_eq!(fake.faults().stats().injected, 1);
    let raw = fake.task(t.id.as_str()).unwrap();
    assert_eq!(raw["memberships"][0]["section"]["name"], "New");
    let e = p.reopen(&t.id).await.unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidTransition,
        "an open ticket: {e}"
    );
}
