//! The remote is down for the whole of the writes: every local operation succeeds and reads
//! back at once, and everything is delivered once the remote is back.

mod common;

use std::time::Duration;

use tickets_core::{NewComment, NewTicket, Priority, Status, TicketPatch, TicketProvider};
use tickets_fakes::asana::FakeAsana;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_writes_succeed_while_the_remote_is_down_and_are_delivered_later() {
    let fake = FakeAsana::start().await.expect("fake");
    fake.faults().set_down(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let sync = common::sync(&dir, common::asana(&fake, 0), common::options())
        .await
        .start_worker();

    let mut ids = Vec::new();
    for i in 0..12 {
        let t = sync
            .create(
                NewTicket::new(format!("printer {i} on fire"))
                    .description("smoke")
                    .priority(Priority::High)
                    .tag("office"),
            )
            .await
            .expect("create succeeds with the remote down");
        ids.push(t.id);
    }
    for (i, id) in ids.iter().enumerate() {
        sync.update(
            id,
            TicketPatch::new().subject(format!("printer {i} still on fire")),
        )
        .await
        .expect("update");
        sync.assign(id, Some("alice@example.com"))
            .await
            .expect("assign");
        sync.add_comment(
            id,
            NewComment::new(format!("looking at {i}")).author("alice@example.com"),
        )
        .await
        .expect("comment");
        sync.change_status(id, Status::InProgress)
            .await
            .expect("status");
        if i % 3 == 0 {
            sync.resolve(id).await.expect("resolve");
        }
        let back = sync.get(id).await.expect("read back from the local store");
        assert_eq!(back.subject, format!("printer {i} still on fire"));
        assert_eq!(back.assignee.as_deref(), Some("alice@example.com"));
        assert!(back.links.is_empty(), "not delivered yet");
    }

    // Let the worker fail against the down remote for a while: nothing is lost or parked.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let st = sync.status().await.expect("status");
    assert_eq!(st.parked, 0);
    assert!(st.undelivered() >= 12 * 5, "everything waits: {st:?}");
    assert!(st.oldest_pending_age.is_some());
    assert!(fake.project_tasks().is_empty());
    assert!(
        sync.metrics().retried > 0,
        "the worker tried and rescheduled"
    );

    fake.faults().set_down(false);
    common::drain(&sync, Duration::from_secs(60)).await;
    common::assert_equal(&sync, &fake).await;
    let t = sync.get(&ids[0]).await.expect("get");
    assert_eq!(t.status, Status::Resolved);
    assert!(
        t.links.contains_key("asana"),
        "links show the remote id: {:?}",
        t.links
    );
}
