//! The API key never reaches a log line, even at debug level and on failures.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tickets_bugzilla::{BugzillaConfig, BugzillaProvider};
use tickets_core::{NewComment, NewTicket, TicketId, TicketProvider};
use tickets_fakes::bugzilla::FakeBugzilla;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records every event's fields as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Text<'a>(&'a mut String);

impl Visit for Text<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = String::new();
        event.record(&mut Text(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test]
async fn debug_logs_name_calls_but_never_the_key() {
    let fake = FakeBugzilla::start().await.unwrap();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    let mut cfg = BugzillaConfig::new(
        fake.base_url(),
        fake.api_key(),
        fake.product(),
        fake.component(),
    );
    cfg.version = fake.version().to_owned();
    let p = BugzillaProvider::new(cfg.clone()).unwrap();
    let t = p.create(NewTicket::new("logged")).await.unwrap();
    p.add_comment(&t.id, NewComment::new("hi")).await.unwrap();
    let _ = p.get(&TicketId::new("999999")).await.unwrap_err();
    // A failing transport: nobody listens on port 9.
    cfg.base_url = "http://127.0.0.1:9/rest".into();
    let _ = BugzillaProvider::new(cfg)
        .unwrap()
        .get(&t.id)
        .await
        .unwrap_err();

    let lines = capture.0.lock().unwrap().clone();
    let ours: Vec<&String> = lines.iter().filter(|l| l.contains("bugzilla")).collect();
    assert!(
        ours.iter().any(|l| l.contains("GET /bug/")),
        "expected request logs: {lines:#?}"
    );
    assert!(
        ours.iter().any(|l| l.contains("request failed")),
        "expected a failure log: {lines:#?}"
    );
    for line in &lines {
        assert!(!line.contains(fake.api_key()), "key in a log line: {line}");
        assert!(
            !line.contains("api_key="),
            "key parameter in a log line: {line}"
        );
    }
}
