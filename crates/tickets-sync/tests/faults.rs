//! 2,000 operations with 30% of remote requests failing (5xx and 429 before they are applied,
//! dropped connections after): the remote ends equal to the local store, with no duplicate task
//! and no lost or duplicated comment.

mod common;

use std::sync::Arc;
use std::time::Duration;

use tickets_core::{NewComment, NewTicket, Priority, Status, TicketPatch, TicketProvider};
use tickets_fakes::FaultConfig;
use tickets_fakes::asana::FakeAsana;

const TICKETS: usize = 80;
const OPS_PER_TICKET: usize = 24; // 1 create + 24 = 25 per ticket, 2,000 in all

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_operations_with_thirty_percent_failures_end_equal() {
    let fake = FakeAsana::start().await.expect("fake");
    fake.faults().configure(&FaultConfig {
        failure_rate: Some(0.2),
        failure_statuses: Some(vec![500, 502, 503, 504, 429]),
        drop_rate: Some(0.1),
        latency_ms: Some(1),
        ..FaultConfig::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let sync = Arc::new(
        common::sync(&dir, common::asana(&fake, 1), common::options())
            .await
            .start_worker(),
    );

    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..TICKETS {
        let sync = sync.clone();
        tasks.spawn(async move {
            let mut ops = 1;
            let ticket = sync
                .create(NewTicket::new(format!("ticket {t}")).tag("load"))
                .await
                .expect("create");
            let id = ticket.id;
            for i in 0..OPS_PER_TICKET {
                match i % 8 {
                    0 | 4 => {
                        sync.add_comment(
                            &id,
                            NewComment::new(format!("note {i} on {t}")).author("bob@example.com"),
                        )
                        .await
                        .expect("comment");
                    }
                    1 => {
                        // The same text twice on purpose: both must arrive.
                        sync.add_comment(&id, NewComment::new("+1"))
                            .await
                            .expect("comment");
                    }
                    2 => {
                        sync.update(
                            &id,
                            TicketPatch::new()
                                .subject(format!("ticket {t} v{i}"))
                                .priority(Priority::High),
                        )
                        .await
                        .expect("update");
                    }
                    3 => {
                        let who = if i % 16 == 3 {
                            "alice@example.com"
                        } else {
                            "bob@example.com"
                        };
                        sync.assign(&id, Some(who)).await.expect("assign");
                    }
                    5 => {
                        let to = if i % 16 == 5 {
                            Status::InProgress
                        } else {
                            Status::OnHold
                        };
                        sync.change_status(&id, to).await.expect("status");
                    }
                    6 => {
                        sync.update(
                            &id,
                            TicketPatch::new()
                                .description(format!("details {i}"))
                                .tags(["load", "x"]),
                        )
                        .await
                        .expect("update");
                    }
                    _ => {
                        sync.add_comment(&id, NewComment::new("+1"))
                            .await
                            .expect("comment");
                    }
                }
                ops += 1;
            }
            ops
        });
    }
    let mut total = 0;
    while let Some(n) = tasks.join_next().await {
        total += n.expect("writer task");
    }
    assert_eq!(total, TICKETS * (OPS_PER_TICKET + 1));

    common::drain(&sync, Duration::from_secs(240)).await;
    let stats = fake.faults().stats();
    assert!(
        stats.injected > 100 && stats.dropped > 20,
        "faults were met: {stats:?}"
    );
    fake.faults().reset();
    common::assert_equal(&sync, &fake).await;
    eprintln!("faults {stats:?}, metrics {:?}", sync.metrics());
}
