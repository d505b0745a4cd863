//! The end-of-run comparison of the local store with the remote, through the public API only
//! (the sync provider's reads, its remote provider, `status`), so it works on any remote.
//!
//! **Seam for `sync verify`.** The project is adding `SyncProvider::verify` (`tickets sync
//! verify`), which proves both sides equal. Once it exists, [`verify`] calls it and maps its
//! report onto [`Verdict`] (keeping these figures), and [`compare`] goes; the harness calls
//! only [`verify`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::TryStreamExt;
use tickets_core::{
    Capabilities, Comment, Result, Ticket, TicketId, TicketProvider, TicketProviderExt,
    TicketQuery, list_stream,
};
use tickets_sync::{SyncProvider, SyncStatus, WaitReason, convert};

/// What the comparison found. Each figure counts items: a ticket or comment lost, a remote
/// task or comment too many, a ticket that differs (fields, or comments in another order, or a
/// comment on the remote that nobody wrote locally or that is private locally).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Local tickets.
    pub tickets: usize,
    /// Local comments that travel to the remote (public ones, for Asana), those still waiting
    /// in the outbox aside.
    pub comments: usize,
    /// Tickets in the remote project.
    pub remote_tasks: usize,
    /// Local tickets not on the remote, and local comments missing there.
    pub lost: u64,
    /// Remote tasks no local ticket is linked to (a create made twice), tasks linked from two
    /// tickets, and remote copies of a comment beyond the local ones.
    pub duplicated: u64,
    /// Tickets whose remote fields differ (tickets with changes still waiting aside), whose
    /// comments are in another order, or whose remote has a comment no local one explains.
    pub different: u64,
    /// Changes parked (set aside for a person).
    pub parked: u64,
    /// Changes still pending or being delivered, other than those behind a parked one.
    pub undelivered: u64,
    /// Changes waiting behind a parked change of their ticket (they move when it does).
    pub behind_parked: u64,
    /// One line per finding.
    pub findings: Vec<String>,
}

impl Verdict {
    /// True when the remote equals the local store and nothing waits.
    pub fn is_clean(&self) -> bool {
        self.lost + self.duplicated + self.different + self.parked + self.undelivered == 0
    }
}

/// Compares the local store with the remote (see the module docs for the seam).
pub async fn verify(sync: &SyncProvider) -> Result<Verdict> {
    compare(sync).await
}

/// Whether a waiting change can still move (it is not parked or behind a parked one).
fn movable(reason: &WaitReason) -> bool {
    !matches!(reason, WaitReason::Parked | WaitReason::BehindParked { .. })
}

/// Changes not delivered that can still move, and those behind a parked change. `status`
/// explains the oldest 500: any beyond them count as movable.
pub fn waiting(status: &SyncStatus) -> (u64, u64) {
    let explained = status.waiting.len() as u64;
    let behind = status
        .waiting
        .iter()
        .filter(|w| matches!(w.reason, WaitReason::BehindParked { .. }))
        .count() as u64;
    let movable = status.waiting.iter().filter(|w| movable(&w.reason)).count() as u64;
    (
        movable + status.undelivered().saturating_sub(explained),
        behind,
    )
}

/// A comment as both sides can tell it: author (where the remote keeps it) and trimmed text.
type Said = (Option<String>, String);

fn said(author: Option<&str>, body: &str, caps: &Capabilities) -> Said {
    (
        author.filter(|_| caps.comment_author).map(str::to_owned),
        body.trim().to_owned(),
    )
}

fn view(t: &Ticket) -> String {
    let tags: BTreeSet<&str> = t.tags.iter().map(String::as_str).collect();
    format!(
        "{:?} | {:?} | {} | {} | {:?} | {:?}",
        t.subject,
        t.description.trim(),
        t.status,
        t.priority,
        t.assignee,
        tags
    )
}

/// Every local ticket against its remote task, and every remote task against the local
/// tickets.
pub async fn compare(sync: &SyncProvider) -> Result<Verdict> {
    let remote = sync.remote().clone();
    let caps = remote.capabilities();
    let kind = remote.kind();
    let locals: Vec<Ticket> = sync
        .list_all(TicketQuery::new().page_size(500))
        .try_collect()
        .await?;
    let remotes: Vec<Ticket> = list_stream(remote.clone(), TicketQuery::new().page_size(100))
        .try_collect()
        .await?;
    let status = sync.status().await?;
    let (undelivered, behind_parked) = waiting(&status);
    let mut v = Verdict {
        tickets: locals.len(),
        remote_tasks: remotes.len(),
        parked: status.parked,
        undelivered,
        behind_parked,
        ..Verdict::default()
    };
    for w in status
        .waiting
        .iter()
        .filter(|w| movable(&w.reason))
        .take(10)
    {
        v.findings.push(format!(
            "undelivered: #{} {} of ticket {} ({:?}) after {} attempt(s): {}",
            w.seq,
            w.operation,
            w.ticket_id,
            w.reason,
            w.attempts,
            w.last_error.as_deref().unwrap_or("-")
        ));
    }
    for p in &status.parked_entries {
        v.findings.push(format!(
            "parked: #{} {} of ticket {} after {} attempt(s): {}",
            p.seq,
            p.operation,
            p.ticket_id,
            p.attempts,
            p.last_error.as_deref().unwrap_or("-")
        ));
    }
    // What still waits in the outbox is not expected on the remote yet (only changes stuck
    // behind a parked one wait after the final drain): its comments are left out of the
    // comparison, and its tickets' field differences are findings, not counted.
    let entries = sync.local().outbox().entries(None, u32::MAX).await?;
    let waiting_comments: BTreeSet<&str> = entries.iter().filter_map(|e| e.comment_id()).collect();
    let waits: BTreeSet<&TicketId> = entries.iter().map(|e| &e.ticket_id).collect();
    let by_id: HashMap<&str, &Ticket> = remotes.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut linked: BTreeMap<&str, &TicketId> = BTreeMap::new();
    for l in &locals {
        let behind = if waits.contains(&l.id) {
            " (it has changes waiting behind a parked one)"
        } else {
            ""
        };
        let Some(rid) = l.links.get(kind) else {
            v.lost += 1;
            v.findings.push(format!(
                "lost: ticket {} ({:?}) has no remote task",
                l.id, l.subject
            ));
            continue;
        };
        if let Some(other) = linked.insert(rid.as_str(), &l.id) {
            v.duplicated += 1;
            v.findings.push(format!(
                "duplicated: tickets {other} and {} are both linked to task {rid}",
                l.id
            ));
        }
        let Some(r) = by_id.get(rid.as_str()) else {
            v.lost += 1;
            v.findings.push(format!(
                "lost: ticket {} is linked to task {rid}, which is not in the remote project",
                l.id
            ));
            continue;
        };
        if !convert::diff(r, l, &caps).is_empty() {
            if behind.is_empty() {
                v.different += 1;
            }
            v.findings.push(format!(
                "different: ticket {}{behind}\n    local  {}\n    remote {}",
                l.id,
                view(l),
                view(r)
            ));
        }
        let mut local = sync.comments(&l.id).await?;
        local.retain(|c| !waiting_comments.contains(c.id.as_str()));
        let theirs = remote.comments(&r.id).await?;
        v.comments += local
            .iter()
            .filter(|c| convert::travels(c.public, &caps))
            .count();
        compare_comments(&mut v, &l.id, behind, &local, &theirs, &caps);
    }
    for r in &remotes {
        if !linked.contains_key(r.id.as_str()) {
            v.duplicated += 1;
            v.findings.push(format!(
                "duplicated: remote task {} ({:?}) belongs to no local ticket",
                r.id, r.subject
            ));
        }
    }
    Ok(v)
}

/// The local comments that travel must be on the remote once each, in the same order; private
/// ones must not be there.
fn compare_comments(
    v: &mut Verdict,
    id: &TicketId,
    behind: &str,
    local: &[Comment],
    remote: &[Comment],
    caps: &Capabilities,
) {
    let sent: Vec<Said> = local
        .iter()
        .filter(|c| convert::travels(c.public, caps))
        .map(|c| said(c.author.as_deref(), &c.body, caps))
        .collect();
    let kept: BTreeSet<Said> = local
        .iter()
        .filter(|c| !convert::travels(c.public, caps))
        .map(|c| said(c.author.as_deref(), &c.body, caps))
        .collect();
    let there: Vec<Said> = remote
        .iter()
        .map(|c| said(c.author.as_deref(), &c.body, caps))
        .collect();
    if sent == there {
        return;
    }
    let mut counts: BTreeMap<&Said, (u64, u64)> = BTreeMap::new();
    for s in &sent {
        counts.entry(s).or_default().0 += 1;
    }
    for s in &there {
        counts.entry(s).or_default().1 += 1;
    }
    let mut order_only = true;
    for (s, (here, away)) in counts {
        if here > away {
            order_only = false;
            v.lost += here - away;
            v.findings.push(format!(
                "lost: {} of {here} comment(s) {s:?} of ticket {id}{behind} missing on the remote",
                here - away
            ));
        } else if away > here {
            order_only = false;
            if here > 0 {
                v.duplicated += away - here;
                v.findings.push(format!(
                    "duplicated: comment {s:?} of ticket {id} is on the remote {away} times, \
                     locally {here}"
                ));
            } else {
                v.different += 1;
                let what = if kept.contains(s) {
                    "private locally, published on the remote"
                } else {
                    "on the remote only"
                };
                v.findings
                    .push(format!("different: comment {s:?} of ticket {id} is {what}"));
            }
        }
    }
    if order_only {
        v.different += 1;
        v.findings.push(format!(
            "different: the comments of ticket {id} are in another order on the remote"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(author: Option<&str>, body: &str, public: bool) -> Comment {
        let mut c = Comment::new("c", TicketId::new("t"), body, chrono::Utc::now());
        c.author = author.map(str::to_owned);
        c.public = public;
        c
    }

    fn check(local: &[Comment], remote: &[Comment]) -> Verdict {
        let mut caps = Capabilities::default();
        caps.comment_author = true;
        caps.private_comments = false;
        let mut v = Verdict::default();
        compare_comments(&mut v, &TicketId::new("t"), "", local, remote, &caps);
        v
    }

    #[test]
    fn comments_lost_doubled_reordered_or_published_are_told_apart() {
        let plus = c(None, "+1", true);
        let note = c(Some("bob@example.com"), "note", true);
        let secret = c(None, "secret", false);
        let local = [plus.clone(), note.clone(), plus.clone(), secret.clone()];
        assert!(check(&local, &[plus.clone(), note.clone(), plus.clone()]).is_clean());

        let v = check(&local, &[plus.clone(), note.clone()]);
        assert_eq!((v.lost, v.duplicated, v.different), (1, 0, 0), "{v:?}");
        let v = check(
            &local,
            &[plus.clone(), note.clone(), plus.clone(), plus.clone()],
        );
        assert_eq!((v.lost, v.duplicated, v.different), (0, 1, 0), "{v:?}");
        let v = check(&local, &[note.clone(), plus.clone(), plus.clone()]);
        assert_eq!((v.lost, v.duplicated, v.different), (0, 0, 1), "{v:?}");
        let v = check(&local, &[plus.clone(), note.clone(), plus.clone(), secret]);
        assert_eq!((v.lost, v.duplicated, v.different), (0, 0, 1), "{v:?}");
        assert!(v.findings[0].contains("published"), "{v:?}");
        // The author counts where the remote keeps it.
        let v = check(
            &local,
            &[
                plus.clone(),
                c(Some("alice@example.com"), "note", true),
                plus,
            ],
        );
        assert_eq!((v.lost, v.duplicated, v.different), (1, 0, 1), "{v:?}");
    }
}
