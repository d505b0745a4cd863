//! `push(id)`: make the remote ticket match the local one now, outside the outbox.

use std::collections::HashSet;

use tickets_core::{Comment, Result, Ticket, TicketId, TicketProvider};

use crate::convert;
use crate::deliver::{Failure, Fence};
use crate::provider::{Shared, ours};

fn plain(f: Failure) -> tickets_core::Error {
    match f {
        Failure::Error(e) => e,
        // A push holds no claim, so neither can happen; say so plainly if it ever does.
        Failure::ClaimLost | Failure::Paused(_) => {
            tickets_core::Error::unexpected("a push was fenced although it holds no claim")
        }
    }
}

impl Shared {
    pub(crate) async fn push(&self, id: &TicketId) -> Result<Ticket> {
        let fence = Fence::none(self);
        let local = self.local.get(id).await?;
        let rid = match self.local.links().remote_id(id, &self.remote_name).await? {
            None => self
                .create_remote(id, convert::new_from(&local), &fence)
                .await
                .map_err(plain)?,
            Some(rid) => {
                let remote = self.remote.get(&TicketId::new(rid.clone())).await?;
                let patch = convert::remote_patch(
                    convert::diff(&remote, &local, &self.remote_caps),
                    &self.remote_caps,
                );
                if !patch.is_empty() {
                    let now = self.remote.update(&remote.id, patch).await?;
                    self.delivered_state(id, &now).await?;
                }
                rid
            }
        };
        self.push_comments(id, &TicketId::new(rid)).await?;
        self.local.get(id).await.map(ours)
    }

    /// Adds the local comments the remote lacks. A comment is recognised by the key it was
    /// delivered with; comments delivered before keys existed (or to a remote without
    /// idempotent comments) are matched by author and text, counted so repeated identical
    /// comments each need their own match. Comments that came from the remote are not sent
    /// back.
    async fn push_comments(&self, id: &TicketId, rid: &TicketId) -> Result<()> {
        let caps = &self.remote_caps;
        let remote = self.remote.comments(rid).await?;
        let keyed: HashSet<&str> = remote
            .iter()
            .filter_map(|c| c.idempotency_key.as_deref())
            .collect();
        let mut unkeyed: Vec<&Comment> = remote
            .iter()
            .filter(|c| c.idempotency_key.is_none())
            .collect();
        let pulled = convert::pull_comment_key(&self.remote_name, "");
        for c in self.local.comments(id).await? {
            if !convert::travels(c.public, caps)
                || c.idempotency_key
                    .as_deref()
                    .is_some_and(|k| k.starts_with(&pulled))
            {
                continue;
            }
            let key = convert::comment_key(&c.id);
            if keyed.contains(key.as_str()) {
                continue;
            }
            let same = |x: &&Comment| convert::same_comment(x, c.author.as_deref(), &c.body, caps);
            if let Some(i) = unkeyed.iter().position(same) {
                unkeyed.remove(i);
                continue;
            }
            let mut new = convert::new_comment_from(&c);
            new.idempotency_key = caps.idempotent_comment.then_some(key);
            self.remote.add_comment(rid, new).await?;
        }
        Ok(())
    }
}
