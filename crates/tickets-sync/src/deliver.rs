//! Delivering one outbox entry to the remote.

use tickets_core::{Comment, Result, TicketId, TicketProvider};
use tickets_internal::{Operation, OutboxEntry};

use crate::convert;
use crate::provider::Shared;

/// What a successful delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The remote took the change.
    Sent,
    /// Nothing needed sending (already there, or nothing the remote can hold).
    Skipped(&'static str),
}

impl Shared {
    pub(crate) async fn deliver(&self, entry: &OutboxEntry) -> Result<Outcome> {
        match entry.operation {
            Operation::Create => self.deliver_create(entry).await,
            Operation::Update => self.deliver_update(entry).await,
            Operation::Comment => self.deliver_comment(entry).await,
        }
    }

    async fn deliver_create(&self, entry: &OutboxEntry) -> Result<Outcome> {
        let links = self.local.links();
        if links
            .remote_id(&entry.ticket_id, &self.remote_name)
            .await?
            .is_some()
        {
            // Linked already: pushed by hand, or an earlier attempt got as far as the link.
            return Ok(Outcome::Skipped("linked already"));
        }
        self.create_remote(&entry.ticket_id, entry.new_ticket()?)
            .await?;
        Ok(Outcome::Sent)
    }

    async fn deliver_update(&self, entry: &OutboxEntry) -> Result<Outcome> {
        let patch = convert::remote_patch(entry.patch()?, &self.remote_caps);
        let rid = self.ensure_remote(&entry.ticket_id).await?;
        if patch.is_empty() {
            return Ok(Outcome::Skipped("nothing the remote holds"));
        }
        self.remote.update(&TicketId::new(rid), patch).await?;
        Ok(Outcome::Sent)
    }

    /// Adds the comment unless the remote already has it. The remote's comments are counted
    /// against the local ones up to this entry (same author and body): if the remote has as
    /// many, an earlier attempt (or a push) got there and nothing is sent. With
    /// `idempotent_comment` the remote also gets a key derived from the entry.
    async fn deliver_comment(&self, entry: &OutboxEntry) -> Result<Outcome> {
        let mut new = entry.comment()?;
        let caps = &self.remote_caps;
        if !convert::travels(new.public, caps) {
            return Ok(Outcome::Skipped(
                "private comment; the remote has no private comments",
            ));
        }
        let rid = TicketId::new(self.ensure_remote(&entry.ticket_id).await?);
        let author = new.author.clone();
        let same = |c: &Comment| convert::same_comment(c, author.as_deref(), &new.body, caps);
        let local = self.local.comments(&entry.ticket_id).await?;
        let wanted = local
            .iter()
            .filter(|c| c.created_at <= entry.created_at)
            .filter(|c| convert::travels(c.public, caps) && same(c))
            .count()
            .max(1);
        let there = self
            .remote
            .comments(&rid)
            .await?
            .iter()
            .filter(|c| same(c))
            .count();
        if there >= wanted {
            return Ok(Outcome::Skipped("on the remote already"));
        }
        new.idempotency_key = caps
            .idempotent_comment
            .then(|| convert::comment_key(&entry.ticket_id, entry.seq));
        self.remote.add_comment(&rid, new).await?;
        Ok(Outcome::Sent)
    }
}
