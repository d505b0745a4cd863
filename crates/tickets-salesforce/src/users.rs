//! Assignees: emails <-> User ids (cached), and User/Queue ids used as they are.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use tickets_core::{Error, Result};
use tokio::sync::RwLock;
use tokio::time::Instant;

use crate::cache::{self, UserCache};

use crate::client::SfClient;
use crate::convert::{soql_quote, str_field};

/// True for a 15- or 18-char id with this key prefix.
pub fn is_id_with_prefix(s: &str, prefixes: &[&str]) -> bool {
    matches!(s.len(), 15 | 18)
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
        && prefixes.iter().any(|p| s.starts_with(p))
}

/// Email/username <-> User id, filled on demand, kept for `ttl` (in-process, and on disk in
/// `dir` when set; see [`crate::cache`]).
#[derive(Debug)]
pub struct Users {
    by_email: RwLock<HashMap<String, String>>,
    by_id: RwLock<HashMap<String, String>>,
    ttl: Duration,
    dir: Option<PathBuf>,
    /// When the maps were last emptied, and whether the disk was read since.
    state: std::sync::Mutex<(Instant, bool)>,
}

impl Default for Users {
    fn default() -> Self {
        Self::new(Duration::from_secs(3600), None)
    }
}

impl Users {
    /// Users kept for `ttl`, on disk in `dir` too when set.
    pub fn new(ttl: Duration, dir: Option<PathBuf>) -> Self {
        Self {
            by_email: RwLock::default(),
            by_id: RwLock::default(),
            ttl,
            dir,
            state: std::sync::Mutex::new((Instant::now(), false)),
        }
    }

    /// Empties the maps when older than the TTL, and reads the disk cache once per fill.
    async fn fresh(&self, client: &SfClient) -> Result<()> {
        let (expired, read_disk) = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let expired = s.0.elapsed() > self.ttl;
            if expired {
                *s = (Instant::now(), false);
            }
            let read_disk = !s.1 && self.dir.is_some();
            s.1 = true;
            (expired, read_disk)
        };
        if expired {
            self.by_email.write().await.clear();
            self.by_id.write().await.clear();
        }
        if read_disk && let Some(path) = self.file(client).await? {
            let session = client.session().await?;
            if let Some(c) = cache::load(&path, &session.instance_url, &session.user_id, self.ttl) {
                tracing::debug!(users = c.by_id.len(), "salesforce users from the cache");
                self.by_id.write().await.extend(c.by_id);
                self.by_email.write().await.extend(c.by_email);
            }
        }
        Ok(())
    }

    async fn file(&self, client: &SfClient) -> Result<Option<PathBuf>> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let session = client.session().await?;
        Ok(Some(cache::file(
            dir,
            &session.instance_url,
            &session.user_id,
        )))
    }

    /// Keeps what is known on disk for the next process.
    async fn save(&self, client: &SfClient) -> Result<()> {
        if let Some(path) = self.file(client).await? {
            let session = client.session().await?;
            let c = UserCache {
                instance_url: session.instance_url.clone(),
                user: session.user_id.clone(),
                saved_at: 0,
                by_id: self.by_id.read().await.clone(),
                by_email: self.by_email.read().await.clone(),
            };
            cache::store(&path, c);
        }
        Ok(())
    }

    /// The OwnerId for an assignee: a User (`005`) or Queue (`00G`) id as is, else the active
    /// user with that email or username.
    pub async fn owner_id(&self, client: &SfClient, who: &str) -> Result<String> {
        let who = who.trim();
        if is_id_with_prefix(who, &["005", "00G"]) {
            return Ok(who.to_owned());
        }
        self.fresh(client).await?;
        let key = who.to_lowercase();
        if let Some(id) = self.by_email.read().await.get(&key) {
            return Ok(id.clone());
        }
        let q = format!(
            "SELECT Id, Email, Username FROM User WHERE (Email = {0} OR Username = {0}) AND IsActive = true ORDER BY Id",
            soql_quote(who)
        );
        let rows = client.query(&q).await?;
        let pick = match rows.as_slice() {
            [] => None,
            [one] => Some(one),
            many => many
                .iter()
                .find(|r| str_field(r, "Username").is_some_and(|u| u.eq_ignore_ascii_case(who))),
        };
        let Some(row) = pick else {
            let why = if rows.is_empty() {
                "no active Salesforce user has this email or username"
            } else {
                "several active users share this email; assign by username or User id"
            };
            return Err(Error::invalid_input(format!(
                "cannot assign to {who:?}: {why}"
            )));
        };
        let id = str_field(row, "Id").unwrap_or_default().to_owned();
        self.by_email.write().await.insert(key, id.clone());
        // Read back as the form the caller used, so assign(x) reads back x.
        self.by_id
            .write()
            .await
            .entry(id.clone())
            .or_insert_with(|| who.to_owned());
        self.save(client).await?;
        Ok(id)
    }

    /// Looks up emails of the User ids not cached yet.
    pub async fn load(
        &self,
        client: &SfClient,
        ids: impl IntoIterator<Item = String>,
    ) -> Result<()> {
        self.fresh(client).await?;
        let missing: Vec<String> = {
            let known = self.by_id.read().await;
            let mut m: Vec<String> = ids
                .into_iter()
                .filter(|id| id.starts_with("005") && !known.contains_key(id))
                .collect();
            m.sort();
            m.dedup();
            m
        };
        for chunk in missing.chunks(100) {
            let list: Vec<String> = chunk.iter().map(|id| soql_quote(id)).collect();
            let q = format!(
                "SELECT Id, Email FROM User WHERE Id IN ({})",
                list.join(", ")
            );
            let rows = client.query(&q).await?;
            let mut by_id = self.by_id.write().await;
            for r in &rows {
                if let (Some(id), Some(email)) = (str_field(r, "Id"), str_field(r, "Email")) {
                    by_id
                        .entry(id.to_owned())
                        .or_insert_with(|| email.to_owned());
                }
            }
        }
        if !missing.is_empty() {
            self.save(client).await?;
        }
        Ok(())
    }

    /// A snapshot of id -> email for conversions.
    pub async fn emails(&self) -> HashMap<String, String> {
        self.by_id.read().await.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_shapes() {
        assert!(is_id_with_prefix("005Dn000000USERIA2", &["005"]));
        assert!(!is_id_with_prefix("00GDn000000QUEUE", &["00G"]));
        assert!(is_id_with_prefix("00GDn000000QUEUEAB", &["005", "00G"]));
        assert!(!is_id_with_prefix("alice@example.com", &["005", "00G"]));
    }
}
