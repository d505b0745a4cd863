//! The change feed over search, against the fake Bugzilla and (when
//! `TICKETS_TEST_BUGZILLA_JSON` holds the JSON line of the real-server `start.sh`) against a
//! real one: resync first, each
//! change once (fields, status, comments, new bugs), paging past 100 bugs changed in one second,
//! the boundary second, and nothing from another component. Bugzilla deletes nothing over its
//! API, so `deleted` stays empty.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};

use tickets_bugzilla::{BugzillaConfig, BugzillaProvider};
use tickets_core::{
    ChangeToken, Changes, NewComment, NewTicket, Status, TicketId, TicketPatch, TicketProvider,
};
use tickets_fakes::bugzilla::FakeBugzilla;

/// The feed lag these tests run with (the default is 10 s).
const LAG: u64 = 1;

fn fake_config(fake: &FakeBugzilla, component: &str) -> BugzillaConfig {
    let mut cfg = BugzillaConfig::new(fake.base_url(), fake.api_key(), fake.product(), component);
    cfg.version = fake.version().to_owned();
    cfg.login = Some(fake.admin_login().to_owned());
    cfg.feed_lag_secs = LAG;
    cfg
}

/// Waits until everything changed so far is older than the lag (and its second is over).
async fn past_the_lag() {
    tokio::time::sleep(Duration::from_millis(LAG * 1000 + 1100)).await;
}

fn ids(v: &[TicketId]) -> BTreeSet<String> {
    v.iter().map(|i| i.as_str().to_owned()).collect()
}

fn once_each(c: &Changes) {
    assert_eq!(ids(&c.changed).len(), c.changed.len(), "twice: {c:?}");
    assert!(c.deleted.is_empty(), "Bugzilla deletes nothing: {c:?}");
}

/// The feed of `p` from `token` to its end; every answer checked.
async fn drain(p: &BugzillaProvider, mut token: ChangeToken) -> (BTreeSet<String>, ChangeToken) {
    let mut seen = BTreeSet::new();
    for _ in 0..100 {
        let c = p.changes(Some(&token)).await.unwrap();
        assert!(!c.resync, "{c:?}");
        once_each(&c);
        seen.extend(ids(&c.changed));
        token = c.next;
        if !c.more {
            return (seen, token);
        }
    }
    panic!("the feed keeps asking for more");
}

/// Field, status, comment and creation changes after the token come once; nothing else.
async fn changes_come_once(p: &BugzillaProvider) {
    assert!(p.capabilities().change_feed);
    let edited = p.create(NewTicket::new("feed: edit me")).await.unwrap();
    let moved = p.create(NewTicket::new("feed: move me")).await.unwrap();
    let discussed = p
        .create(NewTicket::new("feed: talk about me"))
        .await
        .unwrap();
    let quiet = p.create(NewTicket::new("feed: leave me")).await.unwrap();
    past_the_lag().await;
    let first = p.changes(None).await.unwrap();
    assert!(first.resync && first.changed.is_empty(), "{first:?}");

    p.update(&edited.id, TicketPatch::new().subject("feed: edited"))
        .await
        .unwrap();
    p.change_status(&moved.id, Status::InProgress)
        .await
        .unwrap();
    p.add_comment(
        &discussed.id,
        NewComment::new("a comment moves last_change_time"),
    )
    .await
    .unwrap();
    let created = p.create(NewTicket::new("feed: new")).await.unwrap();
    past_the_lag().await;
    let (seen, next) = drain(p, first.next).await;
    assert_eq!(
        seen,
        ids(&[edited.id, moved.id, discussed.id, created.id]),
        "and not {}",
        quiet.id
    );
    let (again, _) = drain(p, next).await;
    assert!(again.is_empty(), "named once: {again:?}");
}

#[tokio::test]
async fn first_call_resyncs_then_each_change_shows_once() {
    let fake = FakeBugzilla::start().await.unwrap();
    let p = BugzillaProvider::new(fake_config(&fake, fake.component())).unwrap();
    changes_come_once(&p).await;
}

#[tokio::test]
async fn changes_within_the_lag_come_again_until_they_are_older() {
    let fake = FakeBugzilla::start().await.unwrap();
    let p = BugzillaProvider::new(fake_config(&fake, fake.component())).unwrap();
    let token = p.changes(None).await.unwrap().next;
    let t = p.create(NewTicket::new("young")).await.unwrap();
    let c = p.changes(Some(&token)).await.unwrap();
    assert_eq!(ids(&c.changed), ids(std::slice::from_ref(&t.id)));
    let again = p.changes(Some(&c.next)).await.unwrap();
    assert_eq!(
        ids(&again.changed),
        ids(std::slice::from_ref(&t.id)),
        "within the lag: at least once"
    );
    past_the_lag().await;
    let (seen, next) = drain(&p, again.next).await;
    assert!(seen.is_subset(&ids(&[t.id])), "{seen:?}");
    let (later, _) = drain(&p, next).await;
    assert!(later.is_empty(), "older than the lag: not again: {later:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn more_than_a_page_comes_in_several_answers() {
    let fake = FakeBugzilla::start().await.unwrap();
    let p = BugzillaProvider::new(fake_config(&fake, fake.component())).unwrap();
    pages_come_once(&p).await;
}

#[tokio::test]
async fn other_components_and_foreign_tokens() {
    let fake = FakeBugzilla::start().await.unwrap();
    let p = BugzillaProvider::new(fake_config(&fake, fake.component())).unwrap();
    let other = BugzillaProvider::new(fake_config(&fake, "Other")).unwrap();
    let token = p.changes(None).await.unwrap().next;
    let there = other.create(NewTicket::new("not ours")).await.unwrap();
    other
        .add_comment(&there.id, NewComment::new("still not ours"))
        .await
        .unwrap();
    past_the_lag().await;
    let (seen, _) = drain(&p, token).await;
    assert!(seen.is_empty(), "{seen:?}");
    for foreign in ["m42", "0000000000000000", "bz1;never;"] {
        let c = p.changes(Some(&ChangeToken::new(foreign))).await.unwrap();
        assert!(c.resync, "{foreign}");
    }
}

/// The real server: `TICKETS_TEST_REAL_BUGZILLA` (set by `.ci/run`) holds the JSON line the
/// real-server `start.sh` prints, or the path of a file holding it; the older names
/// `TICKETS_TEST_BUGZILLA_JSON` and `TICKETS_TEST_BUGZILLA` work too.
const REAL_ENV: &str = "TICKETS_TEST_REAL_BUGZILLA";

/// A provider for the real Bugzilla, or `None` after a visible skip (an error under `CI`).
fn real(component: Option<&str>) -> Option<BugzillaProvider> {
    let Some(v) = [
        REAL_ENV,
        "TICKETS_TEST_BUGZILLA_JSON",
        "TICKETS_TEST_BUGZILLA",
    ]
    .into_iter()
    .find_map(|k| std::env::var(k).ok()) else {
        tickets_testkit::skipped(&format!(
            "the real-Bugzilla feed test: {REAL_ENV} is not set (the JSON line of \
             ../shared/real-servers/bugzilla/start.sh, or a file holding it)"
        ))
        .expect("a real Bugzilla is required here");
        return None;
    };
    let line = if v.trim_start().starts_with('{') {
        v
    } else {
        std::fs::read_to_string(v.trim()).expect("the variable names a file")
    };
    let info: serde_json::Value = serde_json::from_str(line.trim()).expect("a JSON line");
    let s = |k: &str| info[k].as_str().unwrap_or_default().to_owned();
    let component = component.map_or_else(|| s("component"), str::to_owned);
    let mut cfg = BugzillaConfig::new(s("base_url"), s("api_key"), s("product"), component);
    cfg.version = s("version");
    cfg.login = Some(s("login"));
    cfg.feed_lag_secs = LAG;
    Some(BugzillaProvider::new(cfg).unwrap())
}

#[tokio::test]
async fn a_real_bugzilla_serves_the_feed() {
    // One test, so nothing else changes the server's bugs meanwhile.
    let Some(p) = real(None) else { return };
    let other = real(Some("Other")).expect("the same line");
    changes_come_once(&p).await;

    // Another component stays out.
    let token = p.changes(None).await.unwrap().next;
    let there = other
        .create(NewTicket::new("feed: not ours"))
        .await
        .unwrap();
    past_the_lag().await;
    let (seen, _) = drain(&p, token).await;
    assert!(!seen.contains(there.id.as_str()), "{seen:?}");

    // The boundary second: `last_change_time=` is "at or after", to the second.
    let t = p.create(NewTicket::new("feed: boundary")).await.unwrap();
    let at = p.get(&t.id).await.unwrap().updated_at;
    let at = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let after = (p.get(&t.id).await.unwrap().updated_at + chrono::Duration::seconds(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let named = |token: String| {
        let p = &p;
        async move {
            let c = p.changes(Some(&ChangeToken::new(token))).await.unwrap();
            ids(&c.changed)
        }
    };
    assert!(
        named(format!("bz1;{at};")).await.contains(t.id.as_str()),
        "at"
    );
    assert!(
        !named(format!("bz1;{at};{}", t.id))
            .await
            .contains(t.id.as_str()),
        "already named at that second"
    );
    assert!(
        !named(format!("bz1;{after};")).await.contains(t.id.as_str()),
        "after"
    );
    pages_come_once(&p).await;
}

/// More than a page of bugs changed (mostly in the same seconds) comes once each.
async fn pages_come_once(p: &BugzillaProvider) {
    past_the_lag().await; // what changed before is older than the token
    let token = p.changes(None).await.unwrap().next;
    let made: Vec<TicketId> = futures::stream::iter(0..105)
        .map(|i| p.create(NewTicket::new(format!("feed: bulk {i}"))))
        .buffer_unordered(4)
        .map_ok(|t| t.id)
        .try_collect()
        .await
        .unwrap();
    past_the_lag().await;
    let first = p.changes(Some(&token)).await.unwrap();
    assert!(first.more && first.changed.len() == 100, "{first:?}");
    let (rest, _) = drain(p, first.next).await;
    let mut all = ids(&first.changed);
    assert!(all.is_disjoint(&rest), "each bug once");
    all.extend(rest);
    assert_eq!(all, ids(&made));
}
