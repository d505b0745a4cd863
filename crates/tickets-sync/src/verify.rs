//! `sync verify [--repair local|remote]`: the proof that nothing drifted.
//!
//! Every local ticket is compared with its remote ticket, field by field (the fields the remote
//! holds) and comment by comment, a few tickets at a time. A ticket with changes not delivered
//! yet is counted as pending, not as a difference. With a repair, each difference is sent
//! through the normal paths: `remote` records outbox entries (delivered by the worker with the
//! local values, comments with their keys), `local` applies the remote's values as a pull
//! would (recorded in history) and copies missing remote comments.

use std::sync::atomic::{AtomicU64, Ordering};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use tickets_core::{
    Comment, ErrorKind, Result, Ticket, TicketId, TicketProvider, TicketProviderExt, TicketQuery,
};
use tickets_internal::{LinkState, PulledState};

use crate::convert;
use crate::provider::{Shared, SyncProvider};

/// Tickets compared at once.
const CONCURRENCY: usize = 8;

/// Which side a repair changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Repair {
    /// Make the local tickets match the remote ones.
    Local,
    /// Make the remote tickets match the local ones (through the outbox).
    Remote,
}

/// One difference between a local ticket and its remote ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Difference {
    /// The local ticket.
    pub ticket_id: TicketId,
    /// Its remote ticket, if it has one.
    pub remote_id: Option<String>,
    /// `subject`, `status`, ..., `custom:NAME`, `comment`, or `ticket` (no remote ticket).
    pub field: String,
    /// The local value (for a comment: its author and text).
    pub local: Option<String>,
    /// The remote value.
    pub remote: Option<String>,
    /// Whether the repair asked for could fix it (a comment on one side only cannot be
    /// removed from the other).
    pub repairable: bool,
}

/// What `verify` found (and repaired).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Local tickets compared.
    pub checked: u64,
    /// Tickets equal on both sides.
    pub equal: u64,
    /// Tickets left out because they have changes not delivered yet.
    pub pending: u64,
    /// Tickets whose remote ticket was deleted there.
    pub remote_deleted: u64,
    /// Every difference found.
    pub differences: Vec<Difference>,
    /// Differences sent to be repaired.
    pub repaired: u64,
}

impl VerifyReport {
    /// True when both sides are equal (pending changes aside).
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

/// What verifying one ticket found.
enum Checked {
    Equal,
    Pending,
    RemoteDeleted,
    Differs(Vec<Difference>, u64),
}

fn comment_text(c: &Comment) -> String {
    match &c.author {
        Some(a) => format!("{a}: {}", c.body.trim()),
        None => c.body.trim().to_owned(),
    }
}

impl SyncProvider {
    /// Compares every local ticket with its remote ticket (see the module docs);
    /// `progress` is called with the number of tickets compared so far.
    pub async fn verify(
        &self,
        repair: Option<Repair>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<VerifyReport> {
        let shared = &*self.shared;
        let done = AtomicU64::new(0);
        let tickets = shared.local.list_all(TicketQuery::new().page_size(500));
        let results: Vec<Checked> = tickets
            .map(|t| async {
                let checked = shared.verify_one(t?, repair).await;
                progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                checked
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        let mut report = VerifyReport::default();
        for r in results {
            report.checked += 1;
            match r {
                Checked::Equal => report.equal += 1,
                Checked::Pending => report.pending += 1,
                Checked::RemoteDeleted => report.remote_deleted += 1,
                Checked::Differs(d, repaired) => {
                    report.differences.extend(d);
                    report.repaired += repaired;
                }
            }
        }
        report
            .differences
            .sort_by(|a, b| (&a.ticket_id, &a.field).cmp(&(&b.ticket_id, &b.field)));
        if repair.is_some() {
            shared.wake.notify_one();
        }
        Ok(report)
    }
}

impl Shared {
    async fn verify_one(&self, local: Ticket, repair: Option<Repair>) -> Result<Checked> {
        let id = local.id.clone();
        let outbox = self.local.outbox();
        if outbox.undelivered(&id).await? > 0 {
            return Ok(Checked::Pending);
        }
        let Some(link) = self.local.links().get(&id, &self.remote_name).await? else {
            let mut d = Difference {
                ticket_id: id.clone(),
                remote_id: None,
                field: "ticket".into(),
                local: Some(local.subject.clone()),
                remote: None,
                repairable: repair == Some(Repair::Remote),
            };
            let mut repaired = 0;
            if repair == Some(Repair::Remote) {
                // An update of every field creates the remote ticket from the local state.
                outbox
                    .enqueue_update(&id, &convert::all_fields(&local))
                    .await?;
                repaired = 1;
            } else {
                d.repairable = false;
            }
            return Ok(Checked::Differs(vec![d], repaired));
        };
        if link.state == LinkState::DeletedRemotely {
            return Ok(Checked::RemoteDeleted);
        }
        let rid = TicketId::new(link.remote_id.clone());
        let remote = match self.remote.get(&rid).await {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.remote_deleted(&rid).await?;
                return Ok(Checked::RemoteDeleted);
            }
            Err(e) => return Err(e),
        };
        let mut diffs = Vec::new();
        let to_remote = convert::diff(&remote, &local, &self.remote_caps);
        for field in convert::patch_fields(&to_remote) {
            diffs.push(Difference {
                ticket_id: id.clone(),
                remote_id: Some(link.remote_id.clone()),
                local: convert::field_text(&local, &field),
                remote: convert::field_text(&remote, &field),
                field,
                repairable: repair.is_some(),
            });
        }
        let (local_only, remote_only) = self.compare_comments(&id, &rid).await?;
        for c in &local_only {
            diffs.push(Difference {
                ticket_id: id.clone(),
                remote_id: Some(link.remote_id.clone()),
                field: "comment".into(),
                local: Some(comment_text(c)),
                remote: None,
                repairable: repair.is_some(),
            });
        }
        for c in &remote_only {
            diffs.push(Difference {
                ticket_id: id.clone(),
                remote_id: Some(link.remote_id.clone()),
                field: "comment".into(),
                local: None,
                remote: Some(comment_text(c)),
                repairable: repair == Some(Repair::Local),
            });
        }
        if diffs.is_empty() {
            return Ok(Checked::Equal);
        }
        let mut repaired = 0;
        match repair {
            None => {}
            Some(Repair::Remote) => {
                if !to_remote.is_empty() {
                    outbox.enqueue_update(&id, &to_remote).await?;
                    repaired += convert::patch_fields(&to_remote).len() as u64;
                }
                for c in &local_only {
                    outbox.enqueue_comment(c).await?;
                    repaired += 1;
                }
            }
            Some(Repair::Local) => {
                let mut patch = convert::diff(&local, &remote, &self.remote_caps);
                if !patch.is_empty() {
                    repaired += convert::patch_fields(&patch).len() as u64;
                    patch.expected_version = local.version.clone();
                    patch.skip_workflow = true;
                    let snapshot = serde_json::to_value(&remote).unwrap_or_default();
                    let seqs: Vec<i64> = Vec::new();
                    self.local
                        .apply_pulled(
                            &id,
                            &patch,
                            &[],
                            PulledState {
                                remote_name: &self.remote_name,
                                remote_updated_at: remote.updated_at,
                                snapshot: &snapshot,
                                undelivered: &seqs,
                            },
                        )
                        .await?;
                }
                if !remote_only.is_empty() {
                    let quiet = self.local.without_outbox();
                    for c in &remote_only {
                        let mut new = convert::new_comment_from(c);
                        new.idempotency_key =
                            Some(convert::pull_comment_key(&self.remote_name, &c.id));
                        quiet.add_comment(&id, new).await?;
                        repaired += 1;
                    }
                }
            }
        }
        Ok(Checked::Differs(diffs, repaired))
    }

    /// Local comments the remote lacks (that should travel), and remote comments with no local
    /// counterpart, matched by key first, then (comments from before keys) by author and text.
    async fn compare_comments(
        &self,
        id: &TicketId,
        rid: &TicketId,
    ) -> Result<(Vec<Comment>, Vec<Comment>)> {
        let caps = &self.remote_caps;
        let local = self.local.comments(id).await?;
        let mut remote: Vec<Option<Comment>> = self
            .remote
            .comments(rid)
            .await?
            .into_iter()
            .map(Some)
            .collect();
        let pulled_prefix = convert::pull_comment_key(&self.remote_name, "");
        let mut local_only = Vec::new();
        let mut unmatched = Vec::new();
        for c in local
            .into_iter()
            .filter(|c| convert::travels(c.public, caps))
        {
            let ours = convert::comment_key(&c.id);
            let theirs = c
                .idempotency_key
                .as_deref()
                .and_then(|k| k.strip_prefix(&pulled_prefix))
                .map(str::to_owned);
            let slot = remote.iter().position(|r| {
                r.as_ref().is_some_and(|r| {
                    r.idempotency_key.as_deref() == Some(ours.as_str())
                        || theirs.as_deref() == Some(r.id.as_str())
                })
            });
            match slot {
                Some(i) => remote[i] = None,
                None => unmatched.push(c),
            }
        }
        // Comments from before keys existed: author and text, each match used once.
        for c in unmatched {
            let slot = remote.iter().position(|r| {
                r.as_ref().is_some_and(|r| {
                    r.idempotency_key.is_none()
                        && convert::same_comment(r, c.author.as_deref(), &c.body, caps)
                })
            });
            match slot {
                Some(i) => remote[i] = None,
                None => local_only.push(c),
            }
        }
        Ok((local_only, remote.into_iter().flatten().collect()))
    }
}
