//! The server's metadata (issue 16): two requests when cold, kept in memory for
//! `metadata_ttl_secs`, and across processes in a cache file that holds no secret; a corrupt or
//! stale file is ignored.

use tickets_bugzilla::{BugzillaConfig, BugzillaProvider};
use tickets_core::{TicketId, TicketProvider};
use tickets_fakes::bugzilla::FakeBugzilla;

fn config(fake: &FakeBugzilla, dir: &std::path::Path) -> BugzillaConfig {
    let mut cfg = BugzillaConfig::new(
        fake.base_url(),
        fake.api_key(),
        fake.product(),
        fake.component(),
    );
    cfg.version = fake.version().to_owned();
    cfg.metadata_cache = true;
    cfg.metadata_cache_dir = Some(dir.to_owned());
    cfg.custom_fields = [("severity".to_owned(), "cf_severity".to_owned())]
        .into_iter()
        .collect();
    cfg
}

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn metadata_is_read_once_and_cached_across_processes() {
    let fake = FakeBugzilla::start().await.unwrap();
    let dir = std::env::temp_dir().join(format!("tickets-bz-meta-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let count = || fake.faults().stats().requests;

    // Cold: one GET /rest/field/bug (workflow, priorities, custom fields) and the product.
    let start = count();
    let p = BugzillaProvider::connect(config(&fake, &dir))
        .await
        .unwrap();
    assert_eq!(count() - start, 2);
    let file = files(&dir);
    assert_eq!(file.len(), 1, "one cache file");
    let text = std::fs::read_to_string(&file[0]).unwrap();
    assert!(!text.contains(fake.api_key()), "no secret on disk");
    // Warm in memory: nothing more.
    let t = p
        .create(tickets_core::NewTicket::new("meta"))
        .await
        .unwrap();
    let known: TicketId = t.id;
    let start = count();
    p.get(&known).await.unwrap();
    assert_eq!(count() - start, 2, "the bug and its comments only");

    // Another process (a new provider): read from the file, no request.
    let start = count();
    let again = BugzillaProvider::connect(config(&fake, &dir))
        .await
        .unwrap();
    assert_eq!(count() - start, 0);
    assert_eq!(again.capabilities().priorities, p.capabilities().priorities);

    // A corrupt file is ignored (and replaced).
    std::fs::write(&file[0], b"{ not json").unwrap();
    let start = count();
    BugzillaProvider::connect(config(&fake, &dir))
        .await
        .unwrap();
    assert_eq!(count() - start, 2);
    assert!(std::fs::read_to_string(&file[0]).unwrap().starts_with('{'));
    serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&file[0]).unwrap())
        .expect("rewritten");

    // A stale file (older than the TTL) is ignored.
    let mut stale = config(&fake, &dir);
    stale.metadata_ttl_secs = 0;
    let start = count();
    let p0 = BugzillaProvider::connect(stale).await.unwrap();
    assert_eq!(count() - start, 2);
    // With a TTL of 0 the memory is stale at once too: read again on next use.
    let start = count();
    p0.get(&known).await.unwrap();
    assert_eq!(count() - start, 4);

    // Turned off: no file.
    let off_dir = dir.join("off");
    let mut off = config(&fake, &off_dir);
    off.metadata_cache = false;
    BugzillaProvider::connect(off).await.unwrap();
    assert!(files(&off_dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
