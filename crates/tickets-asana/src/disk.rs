//! The token's user, the workspace, the project's sections and the workspace's tags kept
//! across processes, so a
//! CLI call does not read them again: one small JSON file per base URL, project and account
//! in the user's cache directory. It never holds the token (the file is named by a
//! fingerprint of it), and a missing, corrupt, foreign or stale file is ignored, never an
//! error; so is a failed write.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::AsanaConfig;
use crate::types::UserRef;

const VERSION: u32 = 1;

/// What is kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Saved {
    pub version: u32,
    pub base_url: String,
    pub project: String,
    /// Seconds since the epoch.
    pub saved_at: u64,
    pub me: Option<UserRef>,
    pub workspace: Option<String>,
    /// Lower-cased section name -> gid.
    pub sections: HashMap<String, String>,
    /// Tag name -> gid.
    #[serde(default)]
    pub tags: HashMap<String, String>,
}

/// One cache file.
#[derive(Debug, Clone)]
pub(crate) struct DiskCache {
    path: PathBuf,
    base_url: String,
    project: String,
    ttl: Duration,
}

/// The user's cache directory (`$XDG_CACHE_HOME`, `~/.cache`, or `%LOCALAPPDATA%`).
fn user_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("XDG_CACHE_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".cache")))
        .or_else(|| var("LOCALAPPDATA"))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl DiskCache {
    /// The cache of `config`, or `None` when `disk_cache` is off or there is no directory.
    pub fn new(config: &AsanaConfig, project: &str) -> Option<Self> {
        if !config.disk_cache {
            return None;
        }
        let dir = match &config.cache_dir {
            Some(d) => PathBuf::from(d),
            None => user_cache_dir()?.join("tickets").join("asana"),
        };
        // The account is a fingerprint of the token: the file names it without holding it.
        let mut h = DefaultHasher::new();
        config.token.expose_secret().hash(&mut h);
        let account = h.finish();
        let mut h = DefaultHasher::new();
        (config.base_url.trim_end_matches('/'), project, account).hash(&mut h);
        Some(Self {
            path: dir.join(format!("{:016x}.json", h.finish())),
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            project: project.to_owned(),
            ttl: Duration::from_secs(config.cache_ttl_secs),
        })
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the file holds, if it is ours and fresh.
    pub fn load(&self) -> Option<Saved> {
        let bytes = std::fs::read(&self.path).ok()?;
        let saved: Saved = serde_json::from_slice(&bytes).ok()?;
        let age = now_secs().checked_sub(saved.saved_at)?;
        let fresh = age <= self.ttl.as_secs();
        let ours = saved.version == VERSION
            && saved.base_url == self.base_url
            && saved.project == self.project;
        (fresh && ours).then_some(saved)
    }

    /// Writes `saved` (whole, through a temporary file); failures are only logged.
    pub fn store(&self, mut saved: Saved) {
        saved.version = VERSION;
        saved.base_url.clone_from(&self.base_url);
        saved.project.clone_from(&self.project);
        saved.saved_at = now_secs();
        if let Err(e) = write(&self.path, &saved) {
            tracing::debug!(path = %self.path.display(), error = %e, "cannot write the Asana cache");
        }
    }
}

fn write(path: &Path, saved: &Saved) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec(saved)?)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> AsanaConfig {
        let mut c = AsanaConfig::new("0/secret-token-value", "12");
        c.cache_dir = Some(dir.display().to_string());
        c
    }

    #[test]
    fn kept_and_read_back_without_the_token() {
        let dir = std::env::temp_dir().join(format!("asana-disk-{}", std::process::id()));
        let d = DiskCache::new(&config(&dir), "12").unwrap();
        assert_eq!(d.load(), None, "nothing yet");
        d.store(Saved {
            workspace: Some("7".into()),
            sections: HashMap::from([("new".to_owned(), "99".to_owned())]),
            ..Saved::default()
        });
        let back = d.load().unwrap();
        assert_eq!(back.workspace.as_deref(), Some("7"));
        assert_eq!(back.sections["new"], "99");
        let text = std::fs::read_to_string(d.path()).unwrap();
        assert!(!text.contains("secret-token-value"), "{text}");
        assert!(!d.path().display().to_string().contains("secret"));
        // Another account, project or base URL has its own file.
        let mut other = config(&dir);
        other.token = "0/another".to_owned().into();
        assert_ne!(DiskCache::new(&other, "12").unwrap().path(), d.path());
        assert_ne!(
            DiskCache::new(&config(&dir), "13").unwrap().path(),
            d.path()
        );
        // Corrupt, stale or foreign files are ignored.
        std::fs::write(d.path(), b"{not json").unwrap();
        assert_eq!(d.load(), None);
        let stale = Saved {
            version: VERSION,
            base_url: d.base_url.clone(),
            project: "12".into(),
            saved_at: 1,
            ..Saved::default()
        };
        std::fs::write(d.path(), serde_json::to_vec(&stale).unwrap()).unwrap();
        assert_eq!(d.load(), None);
        let future = Saved {
            saved_at: u64::MAX,
            ..stale
        };
        std::fs::write(d.path(), serde_json::to_vec(&future).unwrap()).unwrap();
        assert_eq!(d.load(), None);
        // Off: no cache at all.
        let mut off = config(&dir);
        off.disk_cache = false;
        assert!(DiskCache::new(&off, "12").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
