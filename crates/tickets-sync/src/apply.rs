//! Applying one remote ticket locally: the fenced pull.
//!
//! - **Newer only.** Each link keeps the remote ticket as last delivered or pulled, with its
//!   modification time. A remote state older than that is a stale snapshot (a listing read
//!   before a delivery landed) and is not applied.
//! - **Field by field.** What the remote changed since the two sides last agreed is applied;
//!   a field the local side also changed and has not delivered yet is a conflict, settled by
//!   the configured rule (`local_wins` by default) and recorded in the ticket's history.
//! - **One transaction, against what was decided on.** The merge is written with the local
//!   version it was computed from and the list of undelivered entries it saw; the ticket's
//!   outbox rows are locked meanwhile, so no worker claims one. A local write, a delivery or a
//!   claim in between makes the store refuse it, and the ticket is decided again. A delivery
//!   in flight (a claimed entry) leaves the ticket to the next pull.
//! - Snapshots from a listing are re-read before anything is written.

use std::collections::{BTreeSet, HashSet};

use tickets_core::{
    Comment, ErrorKind, HistoryAction, HistoryEntry, Result, Ticket, TicketId, TicketProvider,
};
use tickets_internal::{EntryState, Link, Operation, PulledState};

use crate::convert;
use crate::provider::Shared;
use crate::pull::Applied;

/// How often a pull decides a ticket again after the store refused its decision.
const ATTEMPTS: u32 = 4;

/// What pulling one ticket did.
#[derive(Debug, Clone)]
pub(crate) struct Done {
    pub(crate) local_id: TicketId,
    pub(crate) applied: Applied,
    pub(crate) comments: u64,
    pub(crate) conflicts: u64,
}

/// A ticket's undelivered outbox entries, as a pull sees them.
struct Undelivered {
    seqs: Vec<i64>,
    /// Fields the undelivered updates touch.
    fields: BTreeSet<String>,
    /// A create not delivered yet, or an entry a worker is delivering now.
    busy: bool,
}

fn snapshot_of(t: &Ticket) -> serde_json::Value {
    serde_json::to_value(t).unwrap_or(serde_json::Value::Null)
}

fn base_of(link: &Link) -> Option<Ticket> {
    link.snapshot
        .as_ref()
        .and_then(|s| serde_json::from_value(s.clone()).ok())
}

impl Shared {
    async fn undelivered(&self, id: &TicketId) -> Result<Undelivered> {
        let entries = self.local.outbox().of_ticket(id).await?;
        let mut u = Undelivered {
            seqs: entries.iter().map(|e| e.seq).collect(),
            fields: BTreeSet::new(),
            busy: false,
        };
        for e in &entries {
            match e.operation {
                Operation::Update => u.fields.extend(convert::patch_fields(&e.patch()?)),
                Operation::Create => u.busy = true,
                Operation::Comment | Operation::Attachment => {}
            }
            if e.state == EntryState::Delivering {
                u.busy = true;
            }
        }
        Ok(u)
    }

    /// Applies one remote ticket locally (see the module docs). `fresh` says it was just read
    /// by id (not taken from a listing).
    pub(crate) async fn apply_remote(&self, remote: &Ticket, fresh: bool) -> Result<Done> {
        let links = self.local.links();
        let rid = remote.id.as_str();
        let Some(local_id) = links.local_id(&self.remote_name, rid).await? else {
            return self.import(remote).await;
        };
        let mut remote = remote.clone();
        let mut fresh = fresh;
        let mut conflicts = 0;
        let mut applied = Applied::Unchanged;
        for attempt in 1..=ATTEMPTS {
            let link = links
                .get(&local_id, &self.remote_name)
                .await?
                .ok_or_else(|| tickets_core::Error::not_found(format!("link of {local_id}")))?;
            if link
                .remote_updated_at
                .is_some_and(|at| remote.updated_at < at)
            {
                // Older than what was last delivered or pulled: a stale snapshot.
                break;
            }
            let undelivered = self.undelivered(&local_id).await?;
            if let Some(hook) = &self.options.test_hook {
                hook(crate::HookPoint::PullDecides, None).await;
            }
            if undelivered.busy {
                applied = Applied::KeptLocal;
                break;
            }
            let local = self.local.get(&local_id).await?;
            let base = base_of(&link);
            let (mut patch, settled) = convert::merge(
                base.as_ref(),
                &local,
                &remote,
                &undelivered.fields,
                &self.options.conflicts,
                &self.remote_caps,
            );
            if !fresh && (!patch.is_empty() || !settled.is_empty()) {
                // A listing's snapshot may be stale: decide on the ticket as it is now.
                remote = self.remote.get(&remote.id).await?;
                fresh = true;
                continue;
            }
            let notes: Vec<HistoryEntry> = settled
                .iter()
                .map(|c| {
                    let mut h = HistoryEntry::new(HistoryAction::Sync, chrono::Utc::now());
                    h.field = Some("conflict".into());
                    h.old_value = Some(format!(
                        "{}: local {} / remote {}",
                        c.field,
                        c.local.as_deref().unwrap_or("(none)"),
                        c.remote.as_deref().unwrap_or("(none)")
                    ));
                    h.new_value = Some(match c.rule {
                        crate::Rule::LocalWins => "kept the local value".into(),
                        crate::Rule::RemoteWins => "took the remote value".into(),
                    });
                    h
                })
                .collect();
            let changes = !patch.is_empty();
            patch.expected_version = local.version.clone();
            // The remote shows this status; the local workflow does not get a say in that.
            patch.skip_workflow = true;
            let snapshot = snapshot_of(&remote);
            let state = PulledState {
                remote_name: &self.remote_name,
                remote_updated_at: remote.updated_at,
                snapshot: &snapshot,
                undelivered: &undelivered.seqs,
            };
            match self
                .local
                .apply_pulled(&local_id, &patch, &notes, state)
                .await
            {
                Ok(_) => {
                    conflicts = settled.len() as u64;
                    if changes {
                        applied = Applied::Updated;
                    } else if settled.iter().any(|c| c.rule == crate::Rule::LocalWins) {
                        applied = Applied::KeptLocal;
                    }
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Conflict && attempt < ATTEMPTS => {
                    tracing::debug!(target: "tickets_sync", ticket = %local_id, error = %e, "the ticket moved while a pull applied it; deciding again");
                }
                Err(e) if e.kind() == ErrorKind::Conflict => {
                    // Busy ticket: the next pull sees it again.
                    applied = Applied::KeptLocal;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        let comments = self.copy_comments(&local_id, &remote.id).await?
            + self.copy_attachments(&local_id, &remote.id).await?;
        if comments > 0 && applied == Applied::Unchanged {
            applied = Applied::Updated;
        }
        Ok(Done {
            local_id,
            applied,
            comments,
            conflicts,
        })
    }

    /// A remote ticket with no link: imported as a new local ticket (written without outbox
    /// entries, with a key from the remote id so a crash never makes two copies).
    async fn import(&self, remote: &Ticket) -> Result<Done> {
        let rid = remote.id.as_str();
        if self.own_create_in_flight(remote).await? {
            // Most likely made by a create of ours whose link is not written yet (a worker
            // died between the two): importing it would make a second local copy. The
            // create's retry links it; a later pull sees it linked.
            return Ok(Done {
                local_id: remote.id.clone(),
                applied: Applied::KeptLocal,
                comments: 0,
                conflicts: 0,
            });
        }
        let mut new = convert::new_from(remote);
        new.idempotency_key = Some(convert::pull_key(&self.remote_name, rid));
        let created = self.local.without_outbox().create(new).await?;
        let links = self.local.links();
        links
            .set(&created.id, &self.remote_name, self.remote.kind(), rid)
            .await?;
        links
            .record_remote(
                &created.id,
                &self.remote_name,
                remote.updated_at,
                &snapshot_of(remote),
            )
            .await?;
        let comments = self.copy_comments(&created.id, &remote.id).await?
            + self.copy_attachments(&created.id, &remote.id).await?;
        Ok(Done {
            local_id: created.id,
            applied: Applied::Imported,
            comments,
            conflicts: 0,
        })
    }

    /// True when an undelivered local create has the same subject as `remote`.
    async fn own_create_in_flight(&self, remote: &Ticket) -> Result<bool> {
        let entries = self.local.outbox().entries(None, 10_000).await?;
        Ok(entries.iter().any(|e| {
            e.operation == Operation::Create
                && e.payload.get("subject").and_then(|s| s.as_str())
                    == Some(remote.subject.as_str())
        }))
    }

    /// Records the remote ticket as a delivery left it (what both sides now agree on).
    pub(crate) async fn delivered_state(&self, local: &TicketId, remote: &Ticket) -> Result<()> {
        self.local
            .links()
            .record_remote(
                local,
                &self.remote_name,
                remote.updated_at,
                &snapshot_of(remote),
            )
            .await
            .map(drop)
    }

    /// Copies remote attachments missing locally, each once: one delivered from here carries
    /// the key of its local attachment, one copied before its remote id in the local copy's
    /// key. The content streams from the remote into the store.
    async fn copy_attachments(&self, local_id: &TicketId, remote_id: &TicketId) -> Result<u64> {
        let local_caps = self.local.capabilities();
        if !self.remote_caps.attachments || !local_caps.attachments {
            return Ok(0);
        }
        let remote = self.remote.attachments(remote_id).await?;
        if remote.is_empty() {
            return Ok(0);
        }
        let local = self.local.attachments(local_id).await?;
        let delivered: HashSet<String> = local
            .iter()
            .map(|a| convert::attachment_key(&a.id))
            .collect();
        let kept: HashSet<&str> = local
            .iter()
            .filter_map(|a| a.idempotency_key.as_deref())
            .collect();
        let quiet = self.local.without_outbox();
        let mut copied = 0;
        for a in &remote {
            if a.idempotency_key
                .as_ref()
                .is_some_and(|k| delivered.contains(k))
            {
                continue;
            }
            let key = convert::pull_comment_key(&self.remote_name, &format!("a{}", a.id));
            if kept.contains(key.as_str()) {
                continue;
            }
            let content = self.remote.read_attachment(&a.id).await?;
            let mut new = tickets_core::NewAttachment::from_stream(
                a.filename.clone(),
                content.body,
                Some(a.size),
            )
            .content_type(a.content_type.clone())
            .idempotency_key(key);
            new.author = a.author.clone();
            match quiet.add_attachment(local_id, new).await {
                Ok(_) => copied += 1,
                // Larger than this store takes: said once in the log, the rest still come.
                Err(e) if e.kind() == ErrorKind::InvalidInput => {
                    tracing::warn!(target: "tickets_sync", ticket = %local_id, attachment = %a.id, error = %e, "a remote attachment was not copied");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(copied)
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
