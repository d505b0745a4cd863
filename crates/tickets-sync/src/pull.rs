//! Remote -> local: `pull(remote_id)` and the incremental pull of remote changes.
//!
//! Where the remote has a change feed ([`Capabilities::change_feed`]: Asana events, Salesforce
//! updated/deleted records, ...), the incremental pull follows it from a token kept in the
//! store, reading each changed ticket fresh; an expired token (or the first pull) means one
//! full listing, then the feed again. Otherwise the remote is listed with `updated_since`.
//! Either way each remote ticket is applied by [`Shared::apply_remote`] (see `apply.rs`):
//! fenced against stale snapshots and against local changes not delivered yet. Remote
//! deletions are recorded on the link and shown by `sync status`, never applied as a local
//! delete.
//!
//! [`Capabilities::change_feed`]: tickets_core::Capabilities::change_feed

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use tickets_core::{
    ChangeToken, ErrorKind, Result, Ticket, TicketId, TicketProvider, TicketQuery, list_stream,
};

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
    /// Local tickets (or fields) left as they are because their local change is not
    /// delivered yet and wins, or a delivery was in flight.
    pub kept_local: u64,
    /// Fields both sides changed, settled by the conflict rules (each recorded in history).
    pub conflicts: u64,
    /// Remote comments copied locally.
    pub comments: u64,
    /// Remote tickets seen deleted (recorded on their links, local tickets kept).
    pub deleted: u64,
    /// The change feed asked for a full listing (first pull, or its token expired).
    pub resynced: bool,
}

/// What pulling one ticket did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    Imported,
    Updated,
    Unchanged,
    KeptLocal,
}

fn cursor_name(remote: &str) -> String {
    format!("pull:{remote}")
}

fn feed_name(remote: &str) -> String {
    format!("feed:{remote}")
}

impl PullReport {
    pub(crate) fn add(&mut self, applied: Applied, comments: u64, conflicts: u64) {
        self.seen += 1;
        self.comments += comments;
        self.conflicts += conflicts;
        match applied {
            Applied::Imported => self.imported += 1,
            Applied::Updated => self.updated += 1,
            Applied::KeptLocal => self.kept_local += 1,
            Applied::Unchanged => {}
        }
    }
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
        let done = self.apply_remote(&remote, true).await?;
        self.local.get(&done.local_id).await
    }

    pub(crate) async fn pull_changes(&self) -> Result<PullReport> {
        let started = Utc::now();
        let report = if self.remote_caps.change_feed {
            self.pull_feed().await?
        } else {
            self.pull_listing(self.cursor().await?).await?
        };
        self.local
            .state()
            .set(&cursor_name(&self.remote_name), &started.to_rfc3339())
            .await?;
        let pulled = report.imported + report.updated;
        self.metrics
            .pulled
            .fetch_add(pulled, std::sync::atomic::Ordering::Relaxed);
        if report.seen + report.deleted > 0 {
            tracing::info!(
                target: crate::worker::METRICS,
                pulled,
                seen = report.seen,
                kept_local = report.kept_local,
                conflicts = report.conflicts,
                comments = report.comments,
                deleted = report.deleted,
                resynced = report.resynced,
                "pulled remote changes"
            );
        }
        Ok(report)
    }

    /// Lists the remote (changed since `since` minus the overlap, where it can filter so) and
    /// applies each ticket listed.
    async fn pull_listing(&self, since: Option<DateTime<Utc>>) -> Result<PullReport> {
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
            let done = self.apply_remote(t, false).await?;
            report.add(done.applied, done.comments, done.conflicts);
        }
        Ok(report)
    }

    /// Follows the change feed from the stored token to its end; the token is stored after
    /// each page is applied, so a crash repeats at most one page (applying is idempotent).
    async fn pull_feed(&self) -> Result<PullReport> {
        let state = self.local.state();
        let name = feed_name(&self.remote_name);
        let mut token = state.get(&name).await?.map(ChangeToken::new);
        let mut report = PullReport::default();
        loop {
            let page = self.remote.changes(token.as_ref()).await?;
            if page.resync {
                tracing::info!(target: "tickets_sync", remote = %self.remote_name, "the change feed needs a full listing (first pull or an expired token)");
                report.resynced = true;
                let listed = self.pull_listing(None).await?;
                report.seen += listed.seen;
                report.imported += listed.imported;
                report.updated += listed.updated;
                report.kept_local += listed.kept_local;
                report.conflicts += listed.conflicts;
                report.comments += listed.comments;
            }
            for rid in &page.changed {
                match self.remote.get(rid).await {
                    Ok(t) => {
                        let done = self.apply_remote(&t, true).await?;
                        report.add(done.applied, done.comments, done.conflicts);
                    }
                    // Changed, then deleted: the feed names the deletion too, or will.
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        report.deleted += u64::from(self.remote_deleted(rid).await?);
                    }
                    Err(e) => return Err(e),
                }
            }
            for rid in &page.deleted {
                report.deleted += u64::from(self.remote_deleted(rid).await?);
            }
            state.set(&name, page.next.as_str()).await?;
            token = Some(page.next);
            if !page.more {
                break;
            }
        }
        Ok(report)
    }

    /// Records that a remote ticket was deleted there (if it is linked here and not recorded
    /// yet). The local ticket is kept.
    pub(crate) async fn remote_deleted(&self, rid: &TicketId) -> Result<bool> {
        let links = self.local.links();
        let Some(local) = links.local_id(&self.remote_name, rid.as_str()).await? else {
            return Ok(false);
        };
        let marked = links.mark_remote_deleted(&local, &self.remote_name).await?;
        if marked {
            tracing::warn!(target: "tickets_sync", ticket = %local, remote_id = %rid, "the remote ticket was deleted there; the local ticket is kept (`tickets sync status` lists it)");
        }
        Ok(marked)
    }
}
