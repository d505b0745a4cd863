//! The end-of-run check of the local store against the remote.
//!
//! The comparison itself is the project's: [`SyncProvider::verify`] (what `tickets sync
//! verify` runs) compares every local ticket with its remote ticket, field by field and
//! comment by comment, leaving out tickets with changes still waiting. [`verify`] maps its
//! report onto the harness's figures and adds what `verify` does not look at: remote tasks that
//! belong to no local ticket (a create made twice), the order of comments, whether a comment
//! found only on the remote is a second copy of a local one or a private one published, and
//! changes left parked or undelivered. Everything goes through the public API, so it works on
//! any remote.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::TryStreamExt;
use tickets_core::{
    Capabilities, Comment, Result, Ticket, TicketId, TicketProvider, TicketProviderExt,
    TicketQuery, list_stream,
};
use tickets_sync::{SyncProvider, SyncStatus, WaitReason, convert};

/// What the check found. Each figure counts items: a ticket or comment lost, a remote task or
/// comment too many, a ticket that differs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Local tickets.
    pub tickets: usize,
    /// Tickets `verify` found equal.
    pub equal: u64,
    /// Tickets in the remote project.
    pub remote_tasks: usize,
    /// Local tickets with no remote ticket (or whose remote ticket is gone), and local comments
    /// missing on the remote.
    pub lost: u64,
    /// Remote tasks no local ticket is linked to (a create made twice), and remote copies of a
    /// local comment beyond the local ones.
    pub duplicated: u64,
    /// Tickets whose remote fields differ, whose comments are in another order, or whose
    /// remote has a comment no local public one explains (a private one published included).
    pub different: u64,
    /// Changes parked (set aside for a person).
    pub parked: u64,
    /// Changes still pending or being delivered, other than those behind a parked one.
    pub undelivered: u64,
    /// Changes waiting behind a parked change of their ticket (they move when it does); their
    /// tickets are left out of the comparison.
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

/// One difference `verify` reported (its fields, in a shape the harness can also build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The local ticket.
    pub ticket: TicketId,
    /// `ticket` (no remote ticket), `comment`, or a field name.
    pub field: String,
    /// The local value (a comment: `author: text`).
    pub local: Option<String>,
    /// The remote value.
    pub remote: Option<String>,
}

/// How `verify` writes a comment in a difference.
fn comment_text(c: &Comment) -> String {
    match &c.author {
        Some(a) => format!("{a}: {}", c.body.trim()),
        None => c.body.trim().to_owned(),
    }
}

/// Checks the local store against the remote (see the module docs).
pub async fn verify(sync: &SyncProvider) -> Result<Verdict> {
    let report = sync.verify(None, &|_| {}).await?;
    let status = sync.status().await?;
    let (undelivered, behind_parked) = waiting(&status);
    let remote = sync.remote().clone();
    let caps = remote.capabilities();
    let locals: Vec<Ticket> = sync
        .list_all(TicketQuery::new().page_size(500))
        .try_collect()
        .await?;
    let remotes: Vec<Ticket> = list_stream(remote.clone(), TicketQuery::new().page_size(100))
        .try_collect()
        .await?;
    let mut v = Verdict {
        tickets: locals.len(),
        equal: report.equal,
        remote_tasks: remotes.len(),
        parked: status.parked,
        undelivered,
        behind_parked,
        ..Verdict::default()
    };
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
    if report.remote_deleted > 0 {
        v.lost += report.remote_deleted;
        v.findings.push(format!(
            "lost: {} ticket(s) whose remote ticket is gone",
            report.remote_deleted
        ));
    }

    // verify's differences, classified with the local comments of their tickets.
    let found: Vec<Found> = report
        .differences
        .iter()
        .map(|d| Found {
            ticket: d.ticket_id.clone(),
            field: d.field.clone(),
            local: d.local.clone(),
            remote: d.remote.clone(),
        })
        .collect();
    let mut comments: HashMap<TicketId, Vec<Comment>> = HashMap::new();
    for f in found.iter().filter(|f| f.field == "comment") {
        if !comments.contains_key(&f.ticket) {
            comments.insert(f.ticket.clone(), sync.comments(&f.ticket).await?);
        }
    }
    classify(&mut v, &found, &comments, &caps);

    // What verify does not look at: remote tasks of no local ticket, comment order.
    let kind = remote.kind();
    let linked: BTreeSet<&str> = locals
        .iter()
        .filter_map(|l| l.links.get(kind).map(String::as_str))
        .collect();
    for r in remotes.iter().filter(|r| !linked.contains(r.id.as_str())) {
        v.duplicated += 1;
        v.findings.push(format!(
            "duplicated: remote task {} ({:?}) belongs to no local ticket",
            r.id, r.subject
        ));
    }
    let differing: BTreeSet<&TicketId> = found.iter().map(|f| &f.ticket).collect();
    let entries = sync.local().outbox().entries(None, u32::MAX).await?;
    let waits: BTreeSet<&TicketId> = entries.iter().map(|e| &e.ticket_id).collect();
    for l in &locals {
        let Some(rid) = l.links.get(kind) else {
            continue;
        };
        if differing.contains(&l.id) || waits.contains(&l.id) {
            continue;
        }
        let local = sync.comments(&l.id).await?;
        let there = remote.comments(&TicketId::new(rid.clone())).await?;
        if order_differs(&local, &there, &caps) {
            v.different += 1;
            v.findings.push(format!(
                "different: the comments of ticket {} are in another order on the remote",
                l.id
            ));
        }
    }
    Ok(v)
}

/// Counts `verify`'s differences: a ticket with no remote ticket and a local comment missing
/// there are lost; a remote-only comment is a duplicate when a public local comment has its
/// text, else a difference (a private one published, or one nobody wrote); each ticket with
/// field differences is one difference.
pub fn classify(
    v: &mut Verdict,
    found: &[Found],
    comments: &HashMap<TicketId, Vec<Comment>>,
    caps: &Capabilities,
) {
    let mut fields: BTreeMap<&TicketId, Vec<String>> = BTreeMap::new();
    let none = Vec::new();
    for f in found {
        let id = &f.ticket;
        match (f.field.as_str(), &f.local, &f.remote) {
            ("ticket", ..) => {
                v.lost += 1;
                v.findings.push(format!(
                    "lost: ticket {id} ({:?}) has no remote ticket",
                    f.local.as_deref().unwrap_or_default()
                ));
            }
            ("comment", Some(text), None) => {
                v.lost += 1;
                v.findings.push(format!(
                    "lost: comment {text:?} of ticket {id} is not on the remote"
                ));
            }
            ("comment", _, Some(text)) => {
                let local = comments.get(id).unwrap_or(&none);
                let is = |public: bool| {
                    local.iter().any(|c| {
                        convert::travels(c.public, caps) == public && comment_text(c) == *text
                    })
                };
                if is(true) {
                    v.duplicated += 1;
                    v.findings.push(format!(
                        "duplicated: comment {text:?} of ticket {id} is on the remote more often \
                         than locally"
                    ));
                } else {
                    v.different += 1;
                    let what = if is(false) {
                        "private locally, published on the remote"
                    } else {
                        "on the remote only"
                    };
                    v.findings.push(format!(
                        "different: comment {text:?} of ticket {id} is {what}"
                    ));
                }
            }
            (field, local, remote) => fields
                .entry(id)
                .or_default()
                .push(format!("{field}: local {local:?}, remote {remote:?}")),
        }
    }
    for (id, diffs) in fields {
        v.different += 1;
        v.findings
            .push(format!("different: ticket {id}: {}", diffs.join("; ")));
    }
}

/// True when the remote has the local public comments (by author and text) in another order.
pub fn order_differs(local: &[Comment], remote: &[Comment], caps: &Capabilities) -> bool {
    let said = |c: &Comment| {
        (
            c.author.clone().filter(|_| caps.comment_author),
            c.body.trim().to_owned(),
        )
    };
    let here: Vec<_> = local
        .iter()
        .filter(|c| convert::travels(c.public, caps))
        .map(said)
        .collect();
    let there: Vec<_> = remote.iter().map(said).collect();
    here != there
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

#[cfg(test)]
mod tests {
    use super::*;

    fn c(author: Option<&str>, body: &str, public: bool) -> Comment {
        let mut c = Comment::new("c", TicketId::new("t"), body, chrono::Utc::now());
        c.author = author.map(str::to_owned);
        c.public = public;
        c
    }

    fn caps() -> Capabilities {
        let mut caps = Capabilities::default();
        caps.comment_author = true;
        caps.private_comments = false;
        caps
    }

    fn found(field: &str, local: Option<&str>, remote: Option<&str>) -> Found {
        Found {
            ticket: TicketId::new("t"),
            field: field.into(),
            local: local.map(str::to_owned),
            remote: remote.map(str::to_owned),
        }
    }

    #[test]
    fn differences_are_told_apart() {
        let local = vec![
            c(None, "+1", true),
            c(Some("bob@example.com"), "note", true),
            c(None, "secret", false),
        ];
        let comments = HashMap::from([(TicketId::new("t"), local)]);
        let mut v = Verdict::default();
        let found = [
            found("ticket", Some("subject"), None),
            found("comment", Some("bob@example.com: note"), None),
            found("comment", None, Some("+1")),
            found("comment", None, Some("secret")),
            found("comment", None, Some("from nowhere")),
            found("status", Some("closed"), Some("new")),
            found("priority", Some("high"), Some("low")),
        ];
        classify(&mut v, &found, &comments, &caps());
        assert_eq!((v.lost, v.duplicated, v.different), (2, 1, 3), "{v:?}");
        assert!(v.findings.iter().any(|f| f.contains("published")), "{v:?}");
        assert!(!v.is_clean());
    }

    #[test]
    fn comment_order_counts_for_public_comments() {
        let plus = c(None, "+1", true);
        let note = c(Some("bob@example.com"), "note", true);
        let secret = c(None, "secret", false);
        let local = [plus.clone(), note.clone(), plus.clone(), secret];
        let caps = caps();
        assert!(!order_differs(
            &local,
            &[plus.clone(), note.clone(), plus.clone()],
            &caps
        ));
        assert!(order_differs(
            &local,
            &[note.clone(), plus.clone(), plus.clone()],
            &caps
        ));
        assert!(order_differs(&local, &[plus.clone(), note], &caps));
    }
}
