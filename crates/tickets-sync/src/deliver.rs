//! Delivering one outbox entry to the remote.
//!
//! Every remote request of a delivery goes through a [`Fence`]: right before it, the entry's
//! claim is re-checked and its lease extended, and the request is bounded so it ends within
//! that lease. A worker that stalled past its lease and lost the entry to another worker
//! therefore stops before sending anything more. What is sent is **state, not a replayed
//! request**: an update sends the fields its change touched, with the ticket's values as they
//! are in the local store when it is sent, and a status is set "to show S" (no workflow step),
//! so a repeated or late delivery can only bring the remote to the current local state.

use std::future::Future;

use tickets_core::{Error, ErrorKind, NewTicket, Result, Ticket, TicketId, TicketProvider};
use tickets_internal::{Operation, OutboxEntry};

use crate::config::HookPoint;
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

/// Why a delivery did not complete.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The claim was handed to another worker: nothing more may be sent or recorded.
    ClaimLost,
    /// The remote asked this worker to wait (a rate limit) until then: the entry is given back
    /// unsent rather than held while waiting.
    Paused(tokio::time::Instant),
    /// The remote (or the local store) failed.
    Error(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

/// Guards the remote requests of one delivery (see the module docs). A manual `push` has no
/// claim and uses [`Fence::none`].
pub(crate) struct Fence<'a> {
    shared: &'a Shared,
    entry: Option<&'a OutboxEntry>,
}

impl<'a> Fence<'a> {
    pub(crate) fn claimed(shared: &'a Shared, entry: &'a OutboxEntry) -> Self {
        Self {
            shared,
            entry: Some(entry),
        }
    }

    pub(crate) fn none(shared: &'a Shared) -> Self {
        Self {
            shared,
            entry: None,
        }
    }

    pub(crate) async fn hook(&self, point: HookPoint) {
        if let (Some(hook), Some(entry)) = (&self.shared.options.test_hook, self.entry) {
            hook(point, Some(entry)).await;
        }
    }

    /// Runs one remote request: re-checks and extends the claim first, then makes the request
    /// (so what it reads from the local store is read after the check) and bounds it so it
    /// ends within the lease just taken.
    pub(crate) async fn call<T, F>(
        &self,
        call: &'static str,
        request: impl FnOnce() -> F,
    ) -> Result<T, Failure>
    where
        F: Future<Output = Result<T>>,
    {
        self.hook(HookPoint::BeforeRemoteCall { call }).await;
        let Some(entry) = self.entry else {
            return request().await.map_err(Failure::Error);
        };
        if let Some(until) = self.shared.paused_until() {
            return Err(Failure::Paused(until));
        }
        if !self
            .shared
            .local
            .outbox()
            .extend(entry, self.shared.options.lease)
            .await?
        {
            return Err(Failure::ClaimLost);
        }
        let limit = self.shared.call_limit();
        // The outbox is the retry queue: a retry layer on the remote must not wait (holding
        // the claim) and send again; the failure comes back and is rescheduled.
        let sending = tickets_core::layers::without_retries(request());
        match tokio::time::timeout(limit, sending).await {
            Ok(r) => r.map_err(Failure::Error),
            Err(_) => Err(Failure::Error(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the remote did not answer {call} within {} s (half the claim's lease)",
                    limit.as_secs_f64()
                ),
            ))),
        }
    }
}

impl Shared {
    pub(crate) async fn deliver(&self, entry: &OutboxEntry) -> Result<Outcome, Failure> {
        let fence = Fence::claimed(self, entry);
        match entry.operation {
            Operation::Create => self.deliver_create(entry, &fence).await,
            Operation::Update => self.deliver_update(entry, &fence).await,
            Operation::Comment => self.deliver_comment(entry, &fence).await,
            Operation::Attachment => self.deliver_attachment(entry, &fence).await,
        }
    }

    async fn deliver_create(
        &self,
        entry: &OutboxEntry,
        fence: &Fence<'_>,
    ) -> Result<Outcome, Failure> {
        let links = self.local.links();
        if links
            .remote_id(&entry.ticket_id, &self.remote_name)
            .await?
            .is_some()
        {
            // Linked already: pushed by hand, or an earlier attempt got as far as the link.
            return Ok(Outcome::Skipped("linked already"));
        }
        self.create_remote(&entry.ticket_id, entry.new_ticket()?, fence)
            .await?;
        Ok(Outcome::Sent)
    }

    /// Sends the fields the change touched, with their values in the local store as read right
    /// after the claim was checked for the request.
    async fn deliver_update(
        &self,
        entry: &OutboxEntry,
        fence: &Fence<'_>,
    ) -> Result<Outcome, Failure> {
        let touched = entry.patch()?;
        let rid = TicketId::new(self.ensure_remote(&entry.ticket_id, fence).await?);
        let send = || async {
            let local = match self.local.get(&entry.ticket_id).await {
                Ok(t) => t,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            let patch =
                convert::remote_patch(convert::state_patch(&touched, &local), &self.remote_caps);
            if patch.is_empty() {
                return Ok(Some(None));
            }
            self.remote.update(&rid, patch).await.map(|t| Some(Some(t)))
        };
        match fence.call("update", send).await? {
            None => Ok(Outcome::Skipped("the local ticket is gone")),
            Some(None) => Ok(Outcome::Skipped("nothing the remote holds")),
            Some(Some(remote)) => {
                self.delivered_state(&entry.ticket_id, &remote).await?;
                Ok(Outcome::Sent)
            }
        }
    }

    /// Adds the comment with a key derived from the local comment: a remote with idempotent
    /// comments adds it once however often it is sent. A remote without them gets it at least
    /// once (an attempt whose answer was lost may have added it).
    async fn deliver_comment(
        &self,
        entry: &OutboxEntry,
        fence: &Fence<'_>,
    ) -> Result<Outcome, Failure> {
        let mut new = entry.comment()?;
        let caps = &self.remote_caps;
        if !convert::travels(new.public, caps) {
            return Ok(Outcome::Skipped(
                "private comment; the remote has no private comments",
            ));
        }
        let rid = TicketId::new(self.ensure_remote(&entry.ticket_id, fence).await?);
        new.idempotency_key = caps.idempotent_comment.then(|| match entry.comment_id() {
            Some(local) => convert::comment_key(local),
            None => convert::legacy_comment_key(&entry.ticket_id, entry.seq),
        });
        fence
            .call("add_comment", || self.remote.add_comment(&rid, new))
            .await?;
        Ok(Outcome::Sent)
    }

    /// Sends a local attachment, read from the store as a stream, with a key derived from the
    /// local attachment (a remote with idempotent attachments keeps one however often it is
    /// sent).
    async fn deliver_attachment(
        &self,
        entry: &OutboxEntry,
        fence: &Fence<'_>,
    ) -> Result<Outcome, Failure> {
        let caps = &self.remote_caps;
        if !caps.attachments {
            return Ok(Outcome::Skipped("the remote keeps no attachments"));
        }
        let Some(local_id) = entry.attachment_id() else {
            return Err(Failure::Error(tickets_core::Error::unexpected(format!(
                "outbox entry {} names no attachment",
                entry.seq
            ))));
        };
        let rid = TicketId::new(self.ensure_remote(&entry.ticket_id, fence).await?);
        let send = || async {
            let content = match self.local.read_attachment(local_id).await {
                Ok(c) => c,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            let a = &content.attachment;
            let mut new = tickets_core::NewAttachment::from_stream(
                a.filename.clone(),
                content.body,
                Some(a.size),
            )
            .content_type(a.content_type.clone());
            new.author = a.author.clone();
            new.idempotency_key = caps
                .idempotent_attachment
                .then(|| convert::attachment_key(local_id));
            self.remote.add_attachment(&rid, new).await.map(Some)
        };
        match fence.call("add_attachment", send).await? {
            None => Ok(Outcome::Skipped("the local attachment is gone")),
            Some(_) => Ok(Outcome::Sent),
        }
    }

    /// The ticket's remote id, creating the remote ticket from the local state if it has no
    /// link yet (a ticket made before sync was on, or whose create was skipped).
    pub(crate) async fn ensure_remote(
        &self,
        id: &TicketId,
        fence: &Fence<'_>,
    ) -> Result<String, Failure> {
        if let Some(rid) = self.local.links().remote_id(id, &self.remote_name).await? {
            return Ok(rid);
        }
        let local = self.local.get(id).await?;
        self.create_remote(id, convert::new_from(&local), fence)
            .await
    }

    /// Creates the remote ticket (idempotently: the key comes from the local id) and links it.
    pub(crate) async fn create_remote(
        &self,
        id: &TicketId,
        new: NewTicket,
        fence: &Fence<'_>,
    ) -> Result<String, Failure> {
        if !self.remote_caps.idempotent_create {
            tracing::warn!(
                target: "tickets_sync",
                remote = %self.remote_name,
                "the remote has no idempotent create: a create whose answer is lost may be made twice"
            );
        }
        let new = convert::remote_new(new, &self.remote_caps, convert::create_key(id));
        let created: Ticket = fence.call("create", || self.remote.create(new)).await?;
        self.local
            .links()
            .set(
                id,
                &self.remote_name,
                self.remote.kind(),
                created.id.as_str(),
            )
            .await?;
        Ok(created.id.to_string())
    }
}
