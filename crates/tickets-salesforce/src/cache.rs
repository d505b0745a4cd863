//! Looked-up users (User id <-> email/username) kept between CLI processes in the user's cache
//! directory, so a `tickets get` in a new process does not look up the owner again.
//!
//! One JSON file per org and API user (named by a hash of the instance URL and the user id,
//! both also stored and compared), holding only ids, emails and usernames: never a token or a
//! secret. A file that is unreadable, corrupt, for another org or user, or older than the TTL
//! is ignored; failing to write one is logged at debug level, never an error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// What is stored.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct UserCache {
    pub instance_url: String,
    pub user: String,
    /// Seconds since the epoch.
    pub saved_at: u64,
    pub by_id: HashMap<String, String>,
    pub by_email: HashMap<String, String>,
}

/// The default folder: `$XDG_CACHE_HOME` or `~/.cache` (`~/Library/Caches` on macOS,
/// `%LOCALAPPDATA%` on Windows), then `tickets/`.
pub(crate) fn default_dir() -> Option<PathBuf> {
    let abs = |v: Option<std::ffi::OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    let root = if cfg!(windows) {
        abs(std::env::var_os("LOCALAPPDATA"))
    } else if cfg!(target_os = "macos") {
        abs(std::env::var_os("HOME")).map(|h| h.join("Library/Caches"))
    } else {
        abs(std::env::var_os("XDG_CACHE_HOME"))
            .or_else(|| abs(std::env::var_os("HOME")).map(|h| h.join(".cache")))
    }?;
    Some(root.join("tickets"))
}

/// FNV-1a: stable across Rust versions and processes (std's hasher is not promised to be).
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The file for one org and API user.
pub(crate) fn file(dir: &Path, instance_url: &str, user: &str) -> PathBuf {
    dir.join(format!(
        "salesforce-users-{:016x}.json",
        fnv(&format!("{instance_url}\n{user}"))
    ))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The stored users of this org and user, when the file is there, readable and fresh.
pub(crate) fn load(
    path: &Path,
    instance_url: &str,
    user: &str,
    ttl: Duration,
) -> Option<UserCache> {
    let bytes = std::fs::read(path).ok()?;
    let cache = match serde_json::from_slice::<UserCache>(&bytes) {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "ignoring a corrupt salesforce user cache");
            return None;
        }
    };
    let age = now().checked_sub(cache.saved_at)?;
    (cache.instance_url == instance_url && cache.user == user && age <= ttl.as_secs())
        .then_some(cache)
}

/// Writes the users (through a temporary file and a rename, so a reader never sees half).
pub(crate) fn store(path: &Path, mut cache: UserCache) {
    cache.saved_at = now();
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(
            &tmp,
            serde_json::to_vec(&cache).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        tracing::debug!(error = %e, "could not keep the salesforce user cache");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_files_of_this_org_load_and_others_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "https://a", "005A");
        assert_ne!(path, file(dir.path(), "https://b", "005A"));
        assert_ne!(path, file(dir.path(), "https://a", "005B"));
        let mut c = UserCache {
            instance_url: "https://a".into(),
            user: "005A".into(),
            ..UserCache::default()
        };
        c.by_id.insert("005X".into(), "x@example.com".into());
        store(&path, c.clone());
        let hour = Duration::from_secs(3600);
        let back = load(&path, "https://a", "005A", hour).expect("fresh");
        assert_eq!(back.by_id, c.by_id);
        assert!(
            load(&path, "https://b", "005A", hour).is_none(),
            "other org"
        );
        assert!(
            load(&path, "https://a", "005B", hour).is_none(),
            "other user"
        );
        // Stale: saved an hour and a bit ago.
        let mut old = back.clone();
        old.saved_at -= 3700;
        std::fs::write(&path, serde_json::to_vec(&old).unwrap()).unwrap();
        assert!(load(&path, "https://a", "005A", hour).is_none(), "stale");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(load(&path, "https://a", "005A", hour).is_none(), "corrupt");
        assert!(load(&dir.path().join("none.json"), "https://a", "005A", hour).is_none());
    }
}
