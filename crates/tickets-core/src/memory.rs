//! The `memory` provider: tickets in a map, gone when the process ends.
//!
//! Always compiled, like lettre's stub transport: for tests, examples and trying things out.
//! It does everything the trait offers (history, idempotent create and comment, optimistic
//! concurrency, custom fields), so it doubles as the reference the conformance suite is checked
//! against.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    Attachment, AttachmentContent, ChangeToken, Changes, Comment, Cursor, HistoryAction,
    HistoryEntry, NewAttachment, NewComment, NewTicket, Page, Ticket, TicketId, TicketPatch,
    TicketQuery, normalize_tags,
};
use crate::provider::{Capabilities, DynProvider, TicketProvider};
use crate::registry::ProviderFactory;
use crate::workflow::Workflow;

/// The kind name.
pub const KIND: &str = "memory";

/// The `memory` provider's factory.
pub static FACTORY: ProviderFactory = ProviderFactory::new(
    KIND,
    "in-process store for tests and demos; forgets everything on exit",
    env!("CARGO_PKG_NAME"),
    |ctx| {
        Box::pin(async move {
            let config: MemoryConfig = ctx.config()?;
            Ok(Arc::new(MemoryProvider::with_workflow(config.workflow)) as DynProvider)
        })
    },
)
.with_keys(MemoryConfig::KEYS);

inventory::submit!(FACTORY);

/// Config keys of the memory provider.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MemoryConfig {
    /// A custom workflow table (see [`Workflow`]).
    pub workflow: Workflow,
}

impl MemoryConfig {
    /// The keys of a `memory` backend section (besides `provider` and `layers`).
    pub const KEYS: &'static [&'static str] = &["workflow"];
}

const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest attachment kept (25 MiB).
pub const MAX_ATTACHMENT: u64 = 25 * 1024 * 1024;
/// The most tickets one [`TicketProvider::changes`] answer names.
pub const FEED_PAGE: usize = 100;
const MAX_PAGE_SIZE: u32 = 1000;

#[derive(Debug, Default)]
struct State {
    next_seq: u64,
    /// Tickets in creation order (the list order); the key is the cursor.
    tickets: BTreeMap<u64, Ticket>,
    seq_of: HashMap<TicketId, u64>,
    comments: HashMap<TicketId, Vec<Comment>>,
    history: HashMap<TicketId, Vec<HistoryEntry>>,
    ticket_keys: HashMap<String, TicketId>,
    comment_keys: HashMap<(TicketId, String), usize>,
    next_comment: u64,
    clock: DateTime<Utc>,
    /// The change feed: every write appends the ticket it touched.
    feed: Vec<TicketId>,
    /// Attachments by id, with their bytes.
    attachments: BTreeMap<u64, (Attachment, bytes::Bytes)>,
    attachment_keys: HashMap<(TicketId, String), u64>,
    next_attachment: u64,
}

impl State {
    /// Strictly increasing timestamps, so `updated_since` and history order are exact.
    fn now(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        self.clock = if now > self.clock {
            now
        } else {
            self.clock + chrono::Duration::microseconds(1)
        };
        self.clock
    }

    fn seq(&self, id: &TicketId) -> Result<u64> {
        self.seq_of
            .get(id)
            .copied()
            .ok_or_else(|| Error::not_found(format!("ticket {id}")))
    }
}

/// Tickets in memory. Cheap to clone: clones share the same store.
#[derive(Debug, Clone, Default)]
pub struct MemoryProvider {
    state: Arc<Mutex<State>>,
    workflow: Workflow,
}

impl MemoryProvider {
    /// An empty store with the default workflow.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with a custom workflow.
    pub fn with_workflow(workflow: Workflow) -> Self {
        Self {
            state: Arc::default(),
            workflow,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-written ticket behind (every
        // change is computed first and stored in one assignment), so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl TicketProvider for MemoryProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::full();
        caps.change_feed = true;
        caps.max_attachment_size = MAX_ATTACHMENT;
        caps
    }

    /// The feed position is the number of writes seen (`m<N>`); at most [`FEED_PAGE`] tickets
    /// per answer.
    async fn changes(&self, since: Option<&ChangeToken>) -> Result<Changes> {
        let state = self.lock();
        let end = state.feed.len();
        let Some(since) = since else {
            return Ok(Changes::resync(ChangeToken::new(format!("m{end}"))));
        };
        let start = since
            .as_str()
            .strip_prefix('m')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= end)
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "change token {since} was not issued by this memory provider"
                ))
            })?;
        let mut changed: Vec<TicketId> = Vec::new();
        let mut at = start;
        while at < end && changed.len() < FEED_PAGE {
            let id = &state.feed[at];
            if !changed.contains(id) {
                changed.push(id.clone());
            }
            at += 1;
        }
        Ok(
            Changes::new(changed, Vec::new(), ChangeToken::new(format!("m{at}")))
                .with_more(at < end),
        )
    }

    fn workflow(&self) -> &Workflow {
        &self.workflow
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }

    async fn create(&self, new: NewTicket) -> Result<Ticket> {
        new.validate()?;
        let mut state = self.lock();
        if let Some(key) = &new.idempotency_key
            && let Some(id) = state.ticket_keys.get(key)
        {
            let seq = state.seq(id)?;
            return Ok(state.tickets[&seq].clone());
        }
        state.next_seq += 1;
        let seq = state.next_seq;
        let now = state.now();
        let id = TicketId::new(uuid::Uuid::now_v7().to_string());
        let mut ticket = Ticket::new(id.clone(), KIND, new.subject, now);
        ticket.number = Some(seq.to_string());
        ticket.description = new.description;
        ticket.status = new.status;
        ticket.priority = new.priority;
        ticket.kind = new.kind;
        ticket.assignee = new.assignee;
        ticket.requester = new.requester;
        ticket.watchers = new.watchers;
        ticket.tags = normalize_tags(new.tags);
        ticket.due = new.due;
        ticket.custom_fields = new.custom_fields;
        ticket.version = Some("1".into());
        if let Some(key) = new.idempotency_key {
            state.ticket_keys.insert(key, id.clone());
        }
        state
            .history
            .entry(id.clone())
            .or_default()
            .push(HistoryEntry::new(HistoryAction::Created, now));
        state.feed.push(id.clone());
        state.seq_of.insert(id, seq);
        state.tickets.insert(seq, ticket.clone());
        Ok(ticket)
    }

    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        let state = self.lock();
        let seq = state.seq(id)?;
        Ok(state.tickets[&seq].clone())
    }

    async fn update(&self, id: &TicketId, patch: TicketPatch) -> Result<Ticket> {
        patch.validate()?;
        let mut state = self.lock();
        let seq = state.seq(id)?;
        let current = state.tickets[&seq].clone();
        if let Some(expected) = &patch.expected_version
            && current.version.as_ref() != Some(expected)
        {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "ticket changed since version {expected} (now {}); re-read it and try again",
                    current.version.as_deref().unwrap_or("?")
                ),
            ));
        }
        if let Some(to) = patch.status.as_set()
            && !patch.skip_workflow
        {
            self.workflow.check(current.status, *to)?;
        }
        let mut next = current;
        let changes = patch.apply(&mut next);
        if changes.is_empty() {
            return Ok(next);
        }
        next.updated_at = state.now();
        let version: u64 = next
            .version
            .as_deref()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        next.version = Some((version + 1).to_string());
        let at = next.updated_at;
        let entries = changes
            .into_iter()
            .map(|c| HistoryEntry::change(c.field, c.old, c.new, at));
        state.history.entry(id.clone()).or_default().extend(entries);
        state.feed.push(id.clone());
        state.tickets.insert(seq, next.clone());
        Ok(next)
    }

    async fn add_comment(&self, id: &TicketId, new: NewComment) -> Result<Comment> {
        new.validate()?;
        let mut state = self.lock();
        let seq = state.seq(id)?;
        if let Some(key) = &new.idempotency_key
            && let Some(index) = state.comment_keys.get(&(id.clone(), key.clone()))
        {
            return Ok(state.comments[id][*index].clone());
        }
        state.next_comment += 1;
        let comment_id = format!("c{}", state.next_comment);
        let now = state.now();
        let mut comment = Comment::new(comment_id, id.clone(), new.body, now);
        comment.author = new.author;
        comment.public = new.public;
        comment.idempotency_key = new.idempotency_key.clone();
        let list = state.comments.entry(id.clone()).or_default();
        list.push(comment.clone());
        let index = list.len() - 1;
        if let Some(key) = new.idempotency_key {
            state.comment_keys.insert((id.clone(), key), index);
        }
        let mut entry = HistoryEntry::new(HistoryAction::CommentAdded, now);
        entry.actor = comment.author.clone();
        state.history.entry(id.clone()).or_default().push(entry);
        if let Some(t) = state.tickets.get_mut(&seq) {
            t.updated_at = now;
        }
        state.feed.push(id.clone());
        Ok(comment)
    }

    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        let state = self.lock();
        state.seq(id)?;
        Ok(state.comments.get(id).cloned().unwrap_or_default())
    }

    async fn list(&self, query: &TicketQuery) -> Result<Page<Ticket>> {
        query.validate()?;
        let after = match &query.cursor {
            None => 0,
            Some(c) => c.as_str().parse::<u64>().map_err(|_| {
                Error::invalid_input(format!(
                    "cursor {c:?} was not issued by the memory provider"
                ))
            })?,
        };
        let size = query
            .page_size
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .min(MAX_PAGE_SIZE) as usize;
        let state = self.lock();
        let mut items = Vec::with_capacity(size);
        let mut last = None;
        let mut more = false;
        for (seq, ticket) in state.tickets.range(after + 1..) {
            if !query.matches(ticket) {
                continue;
            }
            if items.len() == size {
                more = true;
                break;
            }
            items.push(ticket.clone());
            last = Some(*seq);
        }
        let next = if more {
            last.map(|s| Cursor::new(s.to_string()))
        } else {
            None
        };
        Ok(Page::new(items, next))
    }

    async fn history(&self, id: &TicketId) -> Result<Vec<HistoryEntry>> {
        let state = self.lock();
        state.seq(id)?;
        Ok(state.history.get(id).cloned().unwrap_or_default())
    }

    async fn add_attachment(&self, id: &TicketId, new: NewAttachment) -> Result<Attachment> {
        new.validate(MAX_ATTACHMENT)?;
        self.lock().seq(id)?;
        let (meta, bytes) = new.into_bytes(MAX_ATTACHMENT).await?;
        let mut state = self.lock();
        state.seq(id)?;
        if let Some(key) = &meta.idempotency_key
            && let Some(n) = state.attachment_keys.get(&(id.clone(), key.clone()))
        {
            return Ok(state.attachments[n].0.clone());
        }
        state.next_attachment += 1;
        let n = state.next_attachment;
        let now = state.now();
        let mut a = Attachment::new(
            format!("a{n}"),
            id.clone(),
            meta.filename,
            meta.content_type,
            bytes.len() as u64,
            now,
        );
        a.author = meta.author;
        a.idempotency_key = meta.idempotency_key.clone();
        if let Some(key) = meta.idempotency_key {
            state.attachment_keys.insert((id.clone(), key), n);
        }
        state.attachments.insert(n, (a.clone(), bytes));
        state.feed.push(id.clone());
        Ok(a)
    }

    async fn attachments(&self, id: &TicketId) -> Result<Vec<Attachment>> {
        let state = self.lock();
        state.seq(id)?;
        Ok(state
            .attachments
            .values()
            .filter(|(a, _)| &a.ticket_id == id)
            .map(|(a, _)| a.clone())
            .collect())
    }

    async fn read_attachment(&self, attachment_id: &str) -> Result<AttachmentContent> {
        let state = self.lock();
        let found = attachment_id
            .strip_prefix('a')
            .and_then(|n| n.parse::<u64>().ok())
            .and_then(|n| state.attachments.get(&n));
        match found {
            Some((a, bytes)) => Ok(AttachmentContent::new(
                a.clone(),
                crate::model::bytes_stream(bytes.clone()),
            )),
            None => Err(Error::not_found(format!("attachment {attachment_id}"))),
        }
    }

    async fn delete(&self, id: &TicketId) -> Result<()> {
        let mut state = self.lock();
        let seq = state.seq(id)?;
        state.tickets.remove(&seq);
        state.seq_of.remove(id);
        state.comments.remove(id);
        state.history.remove(id);
        state.attachments.retain(|_, (a, _)| &a.ticket_id != id);
        state.attachment_keys.retain(|(t, _), _| t != id);
        state.comment_keys.retain(|(t, _), _| t != id);
        state.ticket_keys.retain(|_, t| t != id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_change_feed_names_each_written_ticket_once_per_page() {
        let m = MemoryProvider::new();
        let first = m.changes(None).await.unwrap();
        assert!(first.resync);
        let a = m.create(NewTicket::new("a")).await.unwrap();
        let b = m.create(NewTicket::new("b")).await.unwrap();
        m.update(&a.id, TicketPatch::new().subject("a2"))
            .await
            .unwrap();
        m.add_comment(&a.id, NewComment::new("c")).await.unwrap();
        let page = m.changes(Some(&first.next)).await.unwrap();
        assert_eq!(page.changed, [a.id.clone(), b.id.clone()]);
        assert!(!page.more && !page.resync);
        let quiet = m.changes(Some(&page.next)).await.unwrap();
        assert!(quiet.changed.is_empty());
        assert_eq!(quiet.next, page.next);
        let err = m.changes(Some(&ChangeToken::new("x9"))).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        for i in 0..(FEED_PAGE + 5) {
            m.create(NewTicket::new(format!("t{i}"))).await.unwrap();
        }
        let big = m.changes(Some(&quiet.next)).await.unwrap();
        assert_eq!(big.changed.len(), FEED_PAGE);
        assert!(big.more);
        let rest = m.changes(Some(&big.next)).await.unwrap();
        assert_eq!(rest.changed.len(), 5);
    }
}
