//! Closing a SQLite store puts everything it committed into the database file, so the file
//! alone (a copy, a backup) holds every ticket, even while another process has the store open.

use std::path::{Path, PathBuf};

use tickets_core::{NewTicket, TicketProvider};
use tickets_internal::testing::TestDb;
use tickets_internal::{InternalConfig, InternalProvider};

fn wal_of(db: &Path) -> PathBuf {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// Copies the database file alone (no `-wal`, no `-shm`) and opens the copy.
async fn open_copy_alone(db: &Path, into: &Path) -> InternalProvider {
    let copy = into.join("copy.db");
    std::fs::copy(db, &copy).unwrap();
    let config = InternalConfig::new(format!("sqlite://{}", copy.display())).migrate(false);
    InternalProvider::open(config).await.unwrap()
}

#[tokio::test]
async fn closing_checkpoints_even_while_another_handle_keeps_the_file_open() {
    let db = TestDb::sqlite();
    let path = db.config().sqlite_path().unwrap();
    // Another "process": its pool keeps a connection to the file open throughout, so closing
    // `store` is not the last close, which alone would checkpoint.
    let other = db.open().await.unwrap();
    let store = db.open().await.unwrap();
    let ticket = store.create(NewTicket::new("kept")).await.unwrap();
    assert!(
        std::fs::metadata(wal_of(&path)).unwrap().len() > 0,
        "the write went to the WAL first"
    );

    store.shutdown().await;

    let wal = std::fs::metadata(wal_of(&path))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(wal, 0, "the WAL was emptied into the database file");
    let dir = tempfile::tempdir().unwrap();
    let copy = open_copy_alone(&path, dir.path()).await;
    assert_eq!(copy.get(&ticket.id).await.unwrap().subject, "kept");
    copy.shutdown().await;

    // The other handle still works and sees the ticket.
    assert_eq!(other.get(&ticket.id).await.unwrap().subject, "kept");
    other.shutdown().await;
}

#[tokio::test]
async fn closing_twice_and_closing_memory_stores_are_harmless() {
    let db = TestDb::sqlite();
    let store = db.open().await.unwrap();
    store.create(NewTicket::new("one")).await.unwrap();
    store.shutdown().await;
    store.shutdown().await;
    let err = store.create(NewTicket::new("two")).await.unwrap_err();
    assert_eq!(err.kind(), tickets_core::ErrorKind::Unavailable, "{err}");

    let memory = InternalProvider::in_memory().await.unwrap();
    memory.create(NewTicket::new("three")).await.unwrap();
    memory.shutdown().await;
}
