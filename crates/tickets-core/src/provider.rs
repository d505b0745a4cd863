//! The provider trait every backend implements, and what a backend can do.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    Attachment, AttachmentContent, ChangeToken, Changes, Comment, HistoryEntry, NewAttachment,
    NewComment, NewTicket, Page, Ticket, TicketId, TicketPatch, TicketQuery,
};
use crate::status::{Priority, Status};
use crate::workflow::Workflow;

/// A shared, type-erased provider: what the registry builds and the hub holds.
pub type DynProvider = Arc<dyn TicketProvider>;

/// What a backend can do. Gates run-time checks, the CLI's help and the conformance suite.
///
/// Start from [`Capabilities::default`], which claims nothing optional, and switch on what the
/// backend does: the struct is `#[non_exhaustive]` so new capabilities can be added (each new
/// one is off by default, so an existing provider never claims it by accident).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// `history()` works.
    pub history: bool,
    /// Comments keep the author the caller gave (even when the API user is someone else).
    pub comment_author: bool,
    /// Comments can be private (`public: false`) and read back as such.
    pub private_comments: bool,
    /// Creating twice with the same `idempotency_key` yields one ticket.
    pub idempotent_create: bool,
    /// Adding a comment twice with the same `idempotency_key` yields one comment.
    pub idempotent_comment: bool,
    /// Custom fields are stored and read back.
    pub custom_fields: bool,
    /// The `text` filter of a list works.
    pub text_search: bool,
    /// The `updated_since` filter of a list works.
    pub updated_since: bool,
    /// Due dates are stored.
    pub due: bool,
    /// Watchers are stored.
    pub watchers: bool,
    /// The requester is stored (and can be filtered on).
    pub requester: bool,
    /// The requester can be changed or cleared after creation (Bugzilla's reporter cannot).
    pub edit_requester: bool,
    /// The `kind` field is stored.
    pub kind: bool,
    /// Tags are stored (and can be filtered on).
    pub tags: bool,
    /// Tickets carry a human `number`.
    pub number: bool,
    /// `version` is set and `expected_version` is enforced.
    pub optimistic_concurrency: bool,
    /// [`TicketProvider::changes`] works: the backend has a change feed (Asana events,
    /// Salesforce's updated/deleted records, ...). Sync pulls use it instead of listings.
    pub change_feed: bool,
    /// Attachments can be added, listed and read ([`TicketProvider::add_attachment`], ...).
    pub attachments: bool,
    /// Adding an attachment twice with the same `idempotency_key` yields one attachment.
    pub idempotent_attachment: bool,
    /// The largest attachment accepted, in bytes (0 = no limit of its own).
    pub max_attachment_size: u64,
    /// [`TicketProvider::delete`] removes a ticket.
    pub delete: bool,
    /// The description can be changed after creation (Bugzilla appends a comment instead).
    pub edit_description: bool,
    /// Statuses that are stored and read back exactly; others map onto a neighbour with the
    /// same openness (see [`Status::is_open`]). Every provider keeps openness.
    pub statuses: Vec<Status>,
    /// Priorities that are stored and read back exactly; others map onto a neighbour.
    pub priorities: Vec<Priority>,
    /// The largest page a list is known to return; larger requests are capped. Callers may ask
    /// for more (a list never truncates silently: it pages).
    pub max_page_size: u32,
    /// The finest time step the backend is known to record (`updated_since` needs gaps at
    /// least this long).
    pub time_resolution: Duration,
}

/// Claims nothing optional: every flag off, no status or priority kept exactly (openness is
/// always kept), pages of one, and whole-second timestamps. A provider switches on what it
/// does; anything it forgets to claim is only skipped by callers and the conformance suite,
/// never relied on.
impl Default for Capabilities {
    fn default() -> Self {
        Self {
            history: false,
            comment_author: false,
            private_comments: false,
            idempotent_create: false,
            idempotent_comment: false,
            custom_fields: false,
            text_search: false,
            updated_since: false,
            due: false,
            watchers: false,
            requester: false,
            edit_requester: false,
            kind: false,
            tags: false,
            number: false,
            optimistic_concurrency: false,
            change_feed: false,
            attachments: false,
            idempotent_attachment: false,
            max_attachment_size: 0,
            delete: false,
            edit_description: false,
            statuses: Vec::new(),
            priorities: Vec::new(),
            max_page_size: 1,
            time_resolution: Duration::from_secs(1),
        }
    }
}

impl Capabilities {
    /// Everything on except the change feed: what the memory and internal stores offer (every
    /// status and priority kept, pages up to 1000, millisecond timestamps).
    pub fn full() -> Self {
        Self {
            history: true,
            comment_author: true,
            private_comments: true,
            idempotent_create: true,
            idempotent_comment: true,
            custom_fields: true,
            text_search: true,
            updated_since: true,
            due: true,
            watchers: true,
            requester: true,
            edit_requester: true,
            kind: true,
            tags: true,
            number: true,
            optimistic_concurrency: true,
            change_feed: false,
            attachments: true,
            idempotent_attachment: true,
            max_attachment_size: 0,
            delete: true,
            edit_description: true,
            statuses: Status::ALL.to_vec(),
            priorities: Priority::ALL.to_vec(),
            max_page_size: 1000,
            time_resolution: Duration::from_millis(1),
        }
    }
}

/// A ticket backend.
///
/// Implement the six required methods; the status shortcuts (`change_status`, `assign`,
/// `close`, ...) have default bodies built on `get` and `update` that check the
/// [`Workflow`] and guard against lost updates with `expected_version`. Override them where a
/// vendor needs its own calls. Methods added later come with a default body, so providers
/// written outside this repository keep compiling.
#[async_trait]
pub trait TicketProvider: Send + Sync + std::fmt::Debug + 'static {
    /// The provider kind (`"internal"`, `"asana"`, ...), as registered.
    fn kind(&self) -> &'static str;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// The allowed status moves.
    fn workflow(&self) -> &Workflow {
        Workflow::default_ref()
    }

    /// The concrete provider, for callers that need its own methods (the CLI's `sync`
    /// commands reach the sync provider this way: `p.as_any()?.downcast_ref::<SyncProvider>()`).
    /// Layers forward to the provider they wrap. `None` unless a provider opts in.
    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        None
    }

    /// Creates a ticket and returns it as stored.
    async fn create(&self, ticket: NewTicket) -> Result<Ticket>;

    /// Reads a ticket; `NotFound` if there is none with this id.
    async fn get(&self, id: &TicketId) -> Result<Ticket>;

    /// Changes the fields the patch names; returns the ticket as stored afterwards.
    /// A status change must be allowed by [`TicketProvider::workflow`].
    async fn update(&self, id: &TicketId, patch: TicketPatch) -> Result<Ticket>;

    /// Adds a comment.
    async fn add_comment(&self, id: &TicketId, comment: NewComment) -> Result<Comment>;

    /// All comments on a ticket, oldest first.
    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>>;

    /// One page of tickets matching the query, in a stable order.
    async fn list(&self, query: &TicketQuery) -> Result<Page<Ticket>>;

    /// The ticket's audit history, oldest first, where the backend keeps one.
    async fn history(&self, id: &TicketId) -> Result<Vec<HistoryEntry>> {
        let _ = id;
        Err(Error::unsupported(format!(
            "provider {} keeps no history",
            self.kind()
        )))
    }

    /// What changed since `since` (see [`Changes`]), where the backend has a change feed
    /// ([`Capabilities::change_feed`]). Without a token (the first call), the answer asks for
    /// a resync and gives the token to continue from. Changes come at least once; a caller
    /// reads each changed ticket to see its state. The default is `Unsupported`.
    async fn changes(&self, since: Option<&ChangeToken>) -> Result<Changes> {
        let _ = since;
        Err(Error::unsupported(format!(
            "provider {} has no change feed",
            self.kind()
        )))
    }

    /// Adds a file to a ticket ([`Capabilities::attachments`]). The default is `Unsupported`.
    async fn add_attachment(&self, id: &TicketId, attachment: NewAttachment) -> Result<Attachment> {
        let _ = (id, attachment);
        Err(Error::unsupported(format!(
            "provider {} keeps no attachments",
            self.kind()
        )))
    }

    /// A ticket's attachments, oldest first. The default is `Unsupported`.
    async fn attachments(&self, id: &TicketId) -> Result<Vec<Attachment>> {
        let _ = id;
        Err(Error::unsupported(format!(
            "provider {} keeps no attachments",
            self.kind()
        )))
    }

    /// One attachment's record and its content as a stream (constant memory for large
    /// files). The default is `Unsupported`.
    async fn read_attachment(&self, attachment_id: &str) -> Result<AttachmentContent> {
        let _ = attachment_id;
        Err(Error::unsupported(format!(
            "provider {} keeps no attachments",
            self.kind()
        )))
    }

    /// Deletes a ticket with its comments and attachments ([`Capabilities::delete`]). The
    /// default is `Unsupported`.
    async fn delete(&self, id: &TicketId) -> Result<()> {
        let _ = id;
        Err(Error::unsupported(format!(
            "provider {} does not delete tickets",
            self.kind()
        )))
    }

    /// Releases what the provider holds (connection pools, background workers and the work
    /// they claimed) before the process exits; calls made afterwards may fail. Calling it twice
    /// is harmless. The default does nothing.
    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    /// Moves a ticket to `to`, if the workflow allows it from where it is now.
    async fn change_status(&self, id: &TicketId, to: Status) -> Result<Ticket> {
        let current = self.get(id).await?;
        if current.status == to {
            return Ok(current);
        }
        self.workflow()
            .check(current.status, to)
            .map_err(|e| e.with_context("ticket", id))?;
        let mut patch = TicketPatch::new().status(to);
        patch.expected_version = current.version;
        self.update(id, patch).await
    }

    /// Assigns to `who`, or unassigns with `None`.
    async fn assign(&self, id: &TicketId, who: Option<&str>) -> Result<Ticket> {
        let patch = match who {
            Some(who) if who.trim().is_empty() => {
                return Err(Error::invalid_input(
                    "assignee must not be empty; use unassign to clear it",
                ));
            }
            Some(who) => TicketPatch::new().assignee(who),
            None => TicketPatch::new().clear_assignee(),
        };
        self.update(id, patch).await
    }

    /// Moves to `Closed`.
    async fn close(&self, id: &TicketId) -> Result<Ticket> {
        self.change_status(id, Status::Closed).await
    }

    /// Moves to `Resolved`.
    async fn resolve(&self, id: &TicketId) -> Result<Ticket> {
        self.change_status(id, Status::Resolved).await
    }

    /// Moves to `Escalated`.
    async fn escalate(&self, id: &TicketId) -> Result<Ticket> {
        self.change_status(id, Status::Escalated).await
    }

    /// Moves a resolved, closed or cancelled ticket back to the workflow's reopen status.
    /// Reopening an open ticket is `InvalidTransition`.
    async fn reopen(&self, id: &TicketId) -> Result<Ticket> {
        let current = self.get(id).await?;
        if current.status.is_open() {
            return Err(Error::new(
                ErrorKind::InvalidTransition,
                format!("ticket is already open (status {})", current.status),
            )
            .with_context("ticket", id));
        }
        self.change_status(id, self.workflow().reopen_to()).await
    }
}

/// Helpers on any provider.
pub trait TicketProviderExt: TicketProvider {
    /// Every ticket matching `query`, following each page to the end. The query's cursor, if
    /// any, is where the stream starts.
    fn list_all(&self, query: TicketQuery) -> BoxStream<'_, Result<Ticket>> {
        list_stream(self, query)
    }
}

impl<T: TicketProvider + ?Sized> TicketProviderExt for T {}

/// Every ticket matching `query` from any handle to a provider (`&P`, `Arc<dyn ...>`),
/// following each page to the end. Empty pages that still carry a cursor are followed too
/// (providers filtering client-side return those); a cursor handed back unchanged ends the
/// stream with an error instead of looping.
pub fn list_stream<'a, P>(provider: P, query: TicketQuery) -> BoxStream<'a, Result<Ticket>>
where
    P: std::ops::Deref + Send + Sync + 'a,
    P::Target: TicketProvider,
{
    let state = (provider, Some(query), Vec::new().into_iter());
    stream::unfold(state, |(provider, mut query, mut buffered)| async move {
        loop {
            if let Some(ticket) = buffered.next() {
                return Some((Ok(ticket), (provider, query, buffered)));
            }
            let current = query.take()?;
            match provider.list(&current).await {
                Err(e) => return Some((Err(e), (provider, None, buffered))),
                Ok(page) => {
                    if page.next.is_some() && page.next == current.cursor {
                        let err = Error::unexpected(format!(
                            "provider {} returned the cursor it was given; stopping the list",
                            provider.kind()
                        ));
                        return Some((Err(err), (provider, None, buffered)));
                    }
                    query = page.next.map(|cursor| TicketQuery {
                        cursor: Some(cursor),
                        ..current
                    });
                    buffered = page.items.into_iter();
                }
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider that starts from the default and switches nothing on claims nothing: every
    /// flag is off (checked through Debug, so a flag added later is covered too).
    #[test]
    fn the_default_claims_nothing_optional() {
        let c = Capabilities::default();
        let shown = format!("{c:?}");
        assert!(!shown.contains("true"), "{shown}");
        assert!(c.statuses.is_empty() && c.priorities.is_empty());
        assert_eq!(c.max_page_size, 1);
        assert!(c.time_resolution >= Duration::from_secs(1));
        let full = Capabilities::full();
        assert_eq!(
            format!("{full:?}").matches("false").count(),
            1,
            "full() is everything but the change feed: {full:?}"
        );
        assert!(!full.change_feed);
    }
}
