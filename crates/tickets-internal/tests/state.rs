//! Named values and leases (migration 0003, for the sync provider), on every configured
//! dialect; and the per-ticket count of undelivered outbox entries.

use std::time::Duration;

use tickets_core::{NewTicket, TicketPatch, TicketProvider};
use tickets_internal::InternalProvider;
use tickets_internal::testing::TestDb;

#[tokio::test]
async fn values_leases_and_undelivered_counts() {
    for db in TestDb::all().await.expect("test databases") {
        let s = InternalProvider::open(db.config().outbox(true))
            .await
            .expect("open");
        eprintln!("dialect {:?}", s.dialect());
        let st = s.state();
        assert_eq!(st.get("cursor").await.unwrap(), None);
        st.set("cursor", "a").await.unwrap();
        st.set("cursor", "b").await.unwrap();
        assert_eq!(st.get("cursor").await.unwrap().as_deref(), Some("b"));

        let ttl = Duration::from_secs(30);
        assert_eq!(st.try_lease("w", "one", ttl).await.unwrap(), None);
        assert_eq!(
            st.try_lease("w", "one", ttl).await.unwrap(),
            None,
            "renewal"
        );
        let held = st
            .try_lease("w", "two", ttl)
            .await
            .unwrap()
            .expect("held by one");
        assert_eq!(held.owner, "one");
        st.release("w", "two").await.unwrap();
        assert!(
            st.try_lease("w", "two", ttl).await.unwrap().is_some(),
            "only the holder releases"
        );
        st.release("w", "one").await.unwrap();
        assert_eq!(st.try_lease("w", "two", ttl).await.unwrap(), None);
        // An expired lease is taken over.
        assert_eq!(
            st.try_lease("x", "one", Duration::from_millis(1))
                .await
                .unwrap(),
            None
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(st.try_lease("x", "two", ttl).await.unwrap(), None);

        let t = s.create(NewTicket::new("counted")).await.unwrap();
        s.update(&t.id, TicketPatch::new().subject("again"))
            .await
            .unwrap();
        assert_eq!(s.outbox().undelivered(&t.id).await.unwrap(), 2);
        let claimed = s.outbox().claim("w", 10, ttl).await.unwrap();
        assert!(s.outbox().delivered(&claimed[0]).await.unwrap());
        assert_eq!(s.outbox().undelivered(&t.id).await.unwrap(), 1);
        s.shutdown().await;
    }
}
