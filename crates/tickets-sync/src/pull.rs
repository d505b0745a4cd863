//! Remote -> local: `pull(remote_id)` and the incremental pull of remote changes.
//!
//! The rule: **local wins until delivered.** A linked ticket with outbox entries not yet
//! delivered (pending, delivering or parked) is not touched by a pull; once its entries are
//! delivered, the next pull that sees the remote ticket changed brings it in. A pulled change
//! is applied with `expected_version`, so a local write racing the pull wins too. Pulled
//! changes are written without outbox entries (they are not pushed back).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use tickets_core::{
    Comment, ErrorKind, Patch, Result, Ticket, TicketId, TicketProvider, TicketQuery, list_stream,
};

use crate::convert;
use crate::provider::Shared;

/// What an incremental pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PullReport {
    /// Remote tickets seen changed.
    pub seen: u64,
    /// New local tickets made from remote ones.
    pub imported: u64,
    /// Local tickets refreshed.
    pub updated: u64,
    /// Local tickets left alone because they have undelivered local changes.
    pub kept_local: u64,
    /// Remote comments copied locally.
    pub comments: u64,
}

/// What pulling one ticket did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    Imported,
    Updated,
    Unchanged,
    KeptLocal,
}

fn cursor_name(remote: &str) -> String {
    format!("pull:{remote}")
}

impl Shared {
    /// When remote changes were last pulled.
    pub(crate) async fn cursor(&self) -> Result<Option<DateTime<Utc>>> {
        let v = self
            .local
            .state()
            .get(&cursor_name(&self.remote_name))
            .await?;
        Ok(v.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    pub(crate) async fn pull(&self, remote_id: &str) -> Result<Ticket> {
        let rid = TicketId::new(remote_id);
        let remote = self.remote.get(&rid).await?;
        let (local_id, _, _) = self.apply_remote(&remote).await?;
        self.local.get(&local_id).await
    }

    pub(crate) async fn pull_changes(&self) -> Result<PullReport> {
        let started = Utc::now();
        let since = self.cursor().await?;
        let mut query = TicketQuery::new();
        if let Some(since) = since
            && self.remote_caps.updated_since
        {
            let overlap = chrono::Duration::from_std(self.options.pull_overlap).unwrap_or_default();
            query = query.updated_since(since - overlap);
        }
        let remote = self.remote.clone();
        let changed: Vec<Ticket> = list_stream(remote, query).try_collect().await?;
        let mut report = PullReport::default();
        for t in &changed {
            report.seen += 1;
            let (_, applied, comments) = self.apply_remote(t).await?;
            report.comments += comments;
            match applied {
                Applied::Imported => report.imported += 1,
                Applied::Updated => report.updated += 1,
                Applied::KeptLocal => report.kept_local += 1,
                Applied::Unchanged => {}
            }
        }
        self.local
            .state()
            .set(&cursor_name(&self.remote_name), &started.to_rfc3339())
            .await?;
        let pulled = report.imported + report.updated;
        self.metrics
            .pulled
            .fetch_add(pulled, std::sync::atomic::Ordering::Relaxed);
        if report.seen > 0 {
            tracing::info!(
                target: crate::worker::METRICS,
                pulled,
                seen = report.seen,
                kept_local = report.kept_local,
                comments = report.comments,
                "pulled remote changes"
            );
        }
        Ok(report)
    }

    /// Applies one remote ticket locally; returns the local id, what happened and how many
    /// comments were copied.
    async fn apply_remote(&self, remote: &Ticket) -> Result<(TicketId, Applied, u64)> {
        let links = self.local.links();
        let quiet = self.local.without_outbox();
        let rid = remote.id.as_str();
        let caps = &self.remote_caps;
        let Some(local_id) = links.local_id(&self.remote_name, rid).await? else {
            if self.own_create_in_flight(remote).await? {
                // Most likely made by a create of ours whose link is not written yet (a worker
                // died between the two): importing it would make a second local copy. The
                // create's retry links it; a later pull sees it linked.
                return Ok((remote.id.clone(), Applied::KeptLocal, 0));
            }
            let mut new = convert::new_from(remote);
            new.idempotency_key = Some(convert::pull_key(&self.remote_name, rid));
            let created = quiet.create(new).await?;
            links
                .set(&created.id, &self.remote_name, self.remote.kind(), rid)
                .await?;
            let n = self.copy_comments(&created.id, &remote.id).await?;
            return Ok((created.id, Applied::Imported, n));
        };
        if self.local.outbox().undelivered(&local_id).await? > 0 {
            return Ok((local_id, Applied::KeptLocal, 0));
        }
        let local = self.local.get(&local_id).await?;
        let mut patch = convert::diff(&local, remote, caps);
        let mut applied = Applied::Unchanged;
        if !patch.is_empty() {
            patch.expected_version = local.version.clone();
            match quiet.update(&local_id, patch.clone()).await {
                Ok(_) => applied = Applied::Updated,
                Err(e) if e.kind() == ErrorKind::Conflict => {
                    // A local write won the race; it will be delivered and pulled later.
                    return Ok((local_id, Applied::KeptLocal, 0));
                }
                Err(e) if e.kind() == ErrorKind::InvalidTransition => {
                    tracing::warn!(target: "tickets_sync", ticket = %local_id, error = %e, "the local workflow refuses the remote status; the other fields are pulled");
                    patch.status = Patch::Keep;
                    if !patch.is_empty() {
                        quiet.update(&local_id, patch).await?;
                        applied = Applied::Updated;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let n = self.copy_comments(&local_id, &remote.id).await?;
        if n > 0 && applied == Applied::Unchanged {
            applied = Applied::Updated;
        }
        Ok((local_id, applied, n))
    }

    /// True when an undelivered local create has the same subject as `remote`.
    async fn own_create_in_flight(&self, remote: &Ticket) -> Result<bool> {
        let entries = self.local.outbox().entries(None, 10_000).await?;
        Ok(entries.iter().any(|e| {
            e.operation == tickets_internal::Operation::Create
                && e.payload.get("subject").and_then(|s| s.as_str())
                    == Some(remote.subject.as_str())
        }))
    }

    /// Copies remote comments missing locally, each once: a remote comment delivered from
    /// here carries the key of its local comment; one copied before carries its remote id in
    /// the local copy's key; comments from before keys existed are matched by author and text,
    /// counted so repeated identical comments each need their own match.
    async fn copy_comments(&self, local_id: &TicketId, remote_id: &TicketId) -> Result<u64> {
        let caps = &self.remote_caps;
        let remote: Vec<Comment> = self.remote.comments(remote_id).await?;
        if remote.is_empty() {
            return Ok(0);
        }
        let local = self.local.comments(local_id).await?;
        let delivered: HashSet<String> =
            local.iter().map(|c| convert::comment_key(&c.id)).collect();
        let kept: HashSet<&str> = local
            .iter()
            .filter_map(|c| c.idempotency_key.as_deref())
            .collect();
        let mut unkeyed: Vec<&Comment> = local
            .iter()
            .filter(|c| c.idempotency_key.is_none() && convert::travels(c.public, caps))
            .collect();
        let quiet = self.local.without_outbox();
        let mut copied = 0;
        for c in &remote {
            if c.idempotency_key
                .as_ref()
                .is_some_and(|k| delivered.contains(k))
            {
                continue;
            }
            let key = convert::pull_comment_key(&self.remote_name, &c.id);
            if kept.contains(key.as_str()) {
                continue;
            }
            if c.idempotency_key.is_none()
                && let Some(i) = unkeyed
                    .iter()
                    .position(|x| convert::same_comment(x, c.author.as_deref(), &c.body, caps))
            {
                unkeyed.remove(i);
                continue;
            }
            let mut new = convert::new_comment_from(c);
            new.idempotency_key = Some(key);
            quiet.add_comment(local_id, new).await?;
            copied += 1;
        }
        Ok(copied)
    }
}
