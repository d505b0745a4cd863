//! The `internal` provider: the trait implemented on the SQL store.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickets_core::{
    Attachment, AttachmentContent, Capabilities, Comment, Error, ErrorKind, HistoryAction,
    HistoryEntry, NewAttachment, NewComment, NewTicket, Page, Result, Status, Ticket, TicketId,
    TicketPatch, TicketProvider, TicketQuery, Workflow, normalize_tags,
};

use crate::client::{Db, Dialect};
use crate::config::InternalConfig;
use crate::convert::{
    KIND, comment_from_row, history_from_row, int_from_row, now, ticket_from_row, to_json,
    version_of,
};
use crate::exec::{Arg, Exec};
use crate::links::{Links, links_by_ticket};
use crate::outbox::{Operation, Outbox, Recorder};
use crate::query::{self, Statements};
use crate::tx::{Done, in_tx};

/// Tickets in SQLite, PostgreSQL or MySQL/MariaDB. Cheap to clone (clones share one pool).
///
/// ```no_run
/// # async fn demo() -> tickets_core::Result<()> {
/// use tickets_core::{NewTicket, TicketProvider};
/// use tickets_internal::{InternalConfig, InternalProvider};
/// let store = InternalProvider::open(InternalConfig::new("sqlite://tickets.db")).await?;
/// let t = store.create(NewTicket::new("Printer on fire")).await?;
/// assert_eq!(store.get(&t.id).await?.subject, "Printer on fire");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct InternalProvider {
    inner: Arc<Inner>,
    /// False on a [`InternalProvider::without_outbox`] handle.
    record: bool,
}

struct Inner {
    db: Db,
    st: Statements,
    workflow: Workflow,
    recorder: Option<Recorder>,
    attachment_limit: u64,
}

impl fmt::Debug for InternalProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InternalProvider")
            .field("dialect", &self.inner.db.dialect())
            .field("location", &self.inner.db.location())
            .field("outbox", &self.outbox_enabled())
            .finish()
    }
}

impl InternalProvider {
    /// Opens (and by default migrates) the store the config names.
    pub async fn open(config: InternalConfig) -> Result<Self> {
        let config = config.checked()?;
        let db = Db::open(&config).await?;
        let st = Statements::new(db.dialect());
        let recorder = config.outbox.then(|| Recorder::new(db.dialect()));
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                st,
                attachment_limit: config.attachment_limit(),
                workflow: config.workflow.unwrap_or_default(),
                recorder,
            }),
            record: true,
        })
    }

    /// Opens the store at `url` with every other setting at its default.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::open(InternalConfig::new(url)).await
    }

    /// A fresh store in memory (SQLite), gone when the provider is dropped.
    pub async fn in_memory() -> Result<Self> {
        Self::connect("sqlite::memory:").await
    }

    /// Where the store is, for people: the absolute SQLite path, or the server URL with its
    /// password replaced by `***`.
    pub fn location(&self) -> &str {
        self.inner.db.location()
    }

    /// The SQL dialect in use.
    pub fn dialect(&self) -> Dialect {
        self.inner.db.dialect()
    }

    /// True when writes through this handle also record outbox entries (the store was opened
    /// with `outbox = true` and this is not a [`without_outbox`](Self::without_outbox) handle).
    pub fn outbox_enabled(&self) -> bool {
        self.record && self.inner.recorder.is_some()
    }

    /// A handle on the same store whose writes record no outbox entries: for applying changes
    /// that came from the remote (a pull), which must not be pushed back.
    pub fn without_outbox(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            record: false,
        }
    }

    /// The outbox: claim, acknowledge, retry, park and count entries (see [`crate::outbox`]).
    pub fn outbox(&self) -> Outbox<'_> {
        Outbox::new(self)
    }

    /// The link table: local ticket <-> remote id per remote backend.
    pub fn links(&self) -> Links<'_> {
        Links::new(self)
    }

    /// Named values and leases kept in the store (see [`crate::state`]).
    pub fn state(&self) -> crate::state::SyncState<'_> {
        crate::state::SyncState::new(self)
    }

    fn recorder(&self) -> Option<&Recorder> {
        self.inner.recorder.as_ref().filter(|_| self.record)
    }

    /// Fills `Ticket::links` from the link table when the store runs with an outbox.
    async fn fill_links(&self, ex: &mut Exec<'_>, tickets: &mut [Ticket]) -> Result<()> {
        if self.inner.recorder.is_none() || tickets.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = tickets.iter().map(|t| t.id.as_str()).collect();
        let mut links = links_by_ticket(ex, self.dialect(), &ids).await?;
        for t in tickets {
            if let Some(l) = links.remove(t.id.as_str()) {
                t.links = l;
            }
        }
        Ok(())
    }

    /// Applies pending migrations (what `migrate = true` does on open).
    pub async fn migrate(&self) -> Result<()> {
        self.inner.db.migrate().await
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<()> {
        self.inner.db.ping().await
    }

    /// Closes the pool, waiting for connections in use; later calls fail with `Unavailable`.
    /// (Named `shutdown` so it does not shadow [`TicketProvider::close`], which closes a ticket.)
    pub async fn shutdown(&self) {
        self.inner.db.close().await;
    }

    /// The largest attachment this store takes, in bytes.
    pub fn attachment_limit(&self) -> u64 {
        self.inner.attachment_limit
    }

    pub(crate) fn recorder_for_write(&self) -> Option<&Recorder> {
        self.recorder()
    }

    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    async fn create_in(
        &self,
        ex: &mut Exec<'_>,
        new: &NewTicket,
        tags: &[String],
    ) -> Result<Done<Ticket>> {
        let st = &self.inner.st;
        if let Some(key) = &new.idempotency_key
            && let Some(t) = ex
                .fetch_optional(&st.ticket_by_key, &[key.as_str().into()], ticket_from_row)
                .await?
        {
            return Ok(Done::Discard(t));
        }
        let at = now();
        let id = TicketId::new(uuid::Uuid::now_v7().to_string());
        let mut t = Ticket::new(id.clone(), KIND, new.subject.clone(), at);
        t.description = new.description.clone();
        t.status = new.status;
        t.priority = new.priority;
        t.kind = new.kind.clone();
        t.assignee = new.assignee.clone();
        t.requester = new.requester.clone();
        t.watchers = new.watchers.clone();
        t.tags = tags.to_vec();
        t.due = new.due;
        t.custom_fields = new.custom_fields.clone();
        t.version = Some("1".into());
        let args = [
            Arg::from(id.as_str()),
            t.subject.as_str().into(),
            t.description.as_str().into(),
            t.status.as_str().into(),
            t.priority.as_str().into(),
            t.kind.clone().into(),
            t.assignee.clone().into(),
            t.requester.clone().into(),
            to_json(&t.watchers).into(),
            to_json(&t.tags).into(),
            Arg::Date(t.due),
            to_json(&t.custom_fields).into(),
            new.idempotency_key.clone().into(),
            at.into(),
            at.into(),
            Arg::Int(1),
        ];
        let number = ex.insert_returning_key(&st.insert_ticket, &args).await?;
        t.number = Some(number.to_string());
        self.insert_tags(ex, &id, tags).await?;
        self.insert_history(ex, &id, &[HistoryEntry::new(HistoryAction::Created, at)])
            .await?;
        if let Some(recorder) = self.recorder() {
            recorder.record(ex, &id, Operation::Create, new, at).await?;
        }
        Ok(Done::Commit(t))
    }

    pub(crate) async fn update_in(
        &self,
        ex: &mut Exec<'_>,
        id: &TicketId,
        patch: &TicketPatch,
    ) -> Result<Done<Ticket>> {
        let st = &self.inner.st;
        let current = ex
            .fetch_optional(
                &st.ticket_by_id_for_update,
                &[id.as_str().into()],
                ticket_from_row,
            )
            .await?
            .ok_or_else(|| not_found(id))?;
        if let Some(expected) = &patch.expected_version
            && expected.parse::<u64>().is_err()
        {
            return Err(Error::invalid_input(format!(
                "expected_version {expected:?} is not a version of this store (its versions are \
                 whole numbers; `get` shows the current one)"
            )));
        }
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
            self.inner.workflow.check(current.status, *to)?;
        }
        let mut next = current.clone();
        let changes = patch.clone().apply(&mut next);
        if changes.is_empty() {
            return Ok(Done::Discard(current));
        }
        let at = later_than(now(), current.updated_at);
        let version = version_of(&current);
        next.updated_at = at;
        next.version = Some((version + 1).to_string());
        let args = [
            Arg::from(next.subject.as_str()),
            next.description.as_str().into(),
            next.status.as_str().into(),
            next.priority.as_str().into(),
            next.kind.clone().into(),
            next.assignee.clone().into(),
            next.requester.clone().into(),
            to_json(&next.watchers).into(),
            to_json(&next.tags).into(),
            Arg::Date(next.due),
            to_json(&next.custom_fields).into(),
            at.into(),
            Arg::Int(version + 1),
            id.as_str().into(),
            Arg::Int(version),
        ];
        if ex.execute(&st.update_ticket, &args).await? == 0 {
            return Err(Error::new(
                ErrorKind::Conflict,
                "ticket changed while it was being updated; re-read it and try again",
            ));
        }
        if changes.iter().any(|c| c.field == "tags") {
            ex.execute(&st.delete_tags, &[id.as_str().into()]).await?;
            self.insert_tags(ex, id, &next.tags).await?;
        }
        let entries: Vec<HistoryEntry> = changes
            .into_iter()
            .map(|c| HistoryEntry::change(c.field, c.old, c.new, at))
            .collect();
        self.insert_history(ex, id, &entries).await?;
        self.fill_links(ex, std::slice::from_mut(&mut next)).await?;
        if let Some(recorder) = self.recorder() {
            let mut payload = patch.clone();
            payload.expected_version = None;
            recorder
                .record(ex, id, Operation::Update, &payload, at)
                .await?;
        }
        Ok(Done::Commit(next))
    }

    async fn comment_in(
        &self,
        ex: &mut Exec<'_>,
        id: &TicketId,
        new: &NewComment,
    ) -> Result<Done<Comment>> {
        let st = &self.inner.st;
        let at = now();
        // Touch the ticket first: it proves the ticket exists and takes its row lock before the
        // comment row's foreign key does, so concurrent commenters queue instead of deadlocking.
        if ex
            .execute(&st.touch_ticket, &[at.into(), id.as_str().into()])
            .await?
            == 0
        {
            return Err(not_found(id));
        }
        if let Some(key) = &new.idempotency_key
            && let Some(c) = ex
                .fetch_optional(
                    &st.comment_by_key,
                    &[id.as_str().into(), key.as_str().into()],
                    comment_from_row,
                )
                .await?
        {
            return Ok(Done::Discard(c));
        }
        let mut comment = Comment::new(
            uuid::Uuid::now_v7().to_string(),
            id.clone(),
            new.body.clone(),
            at,
        );
        comment.author = new.author.clone();
        comment.public = new.public;
        comment.idempotency_key = new.idempotency_key.clone();
        let args = [
            Arg::from(comment.id.as_str()),
            id.as_str().into(),
            comment.author.clone().into(),
            comment.body.as_str().into(),
            Arg::Bool(comment.public),
            new.idempotency_key.clone().into(),
            at.into(),
        ];
        ex.execute(&st.insert_comment, &args).await?;
        let mut entry = HistoryEntry::new(HistoryAction::CommentAdded, at);
        entry.actor = comment.author.clone();
        self.insert_history(ex, id, &[entry]).await?;
        if let Some(recorder) = self.recorder() {
            recorder
                .record_comment(ex, id, &comment.id, new, at)
                .await?;
        }
        Ok(Done::Commit(comment))
    }

    async fn insert_tags(&self, ex: &mut Exec<'_>, id: &TicketId, tags: &[String]) -> Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        let sql = query::insert_tags(self.dialect(), tags.len());
        let args: Vec<Arg> = tags
            .iter()
            .flat_map(|t| [Arg::from(id.as_str()), Arg::from(t.as_str())])
            .collect();
        ex.execute(&sql, &args).await.map(drop)
    }

    pub(crate) async fn insert_history(
        &self,
        ex: &mut Exec<'_>,
        id: &TicketId,
        entries: &[HistoryEntry],
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let sql = query::insert_history(self.dialect(), entries.len());
        let mut args = Vec::with_capacity(entries.len() * 7);
        for e in entries {
            args.extend([
                Arg::from(id.as_str()),
                e.action.as_str().into(),
                e.field.clone().into(),
                e.old_value.clone().into(),
                e.new_value.clone().into(),
                e.actor.clone().into(),
                e.at.into(),
            ]);
        }
        ex.execute(&sql, &args).await.map(drop)
    }

    /// `NotFound` unless the ticket exists.
    async fn ensure_exists(&self, ex: &mut Exec<'_>, id: &TicketId) -> Result<()> {
        ex.fetch_optional(
            &self.inner.st.ticket_exists,
            &[id.as_str().into()],
            int_from_row,
        )
        .await?
        .map(drop)
        .ok_or_else(|| not_found(id))
    }
}

fn not_found(id: &TicketId) -> Error {
    Error::not_found(format!("ticket {id}"))
}

/// `now`, or a microsecond after `previous` if the clock has not moved past it, so a ticket's
/// `updated_at` strictly increases with each change.
fn later_than(now: DateTime<Utc>, previous: DateTime<Utc>) -> DateTime<Utc> {
    if now > previous {
        now
    } else {
        previous + chrono::Duration::microseconds(1)
    }
}

#[async_trait]
impl TicketProvider for InternalProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::full();
        caps.max_page_size = query::MAX_PAGE_SIZE;
        caps.max_attachment_size = self.attachment_limit();
        caps
    }

    fn workflow(&self) -> &Workflow {
        &self.inner.workflow
    }

    async fn shutdown(&self) -> Result<()> {
        // Closing the pool checkpoints a SQLite WAL into the database file.
        InternalProvider::shutdown(self).await;
        Ok(())
    }

    async fn create(&self, new: NewTicket) -> Result<Ticket> {
        new.validate()?;
        let tags = normalize_tags(new.tags.iter().cloned());
        let result = in_tx!(self, |ex| self.create_in(ex, &new, &tags));
        match (result, &new.idempotency_key) {
            // Two creates with one key raced; the loser returns the winner's ticket.
            (Err(e), Some(key)) if e.kind() == ErrorKind::AlreadyExists => {
                let mut conn = self.inner.db.conn().await?;
                conn.exec()
                    .fetch_optional(
                        &self.inner.st.ticket_by_key,
                        &[key.as_str().into()],
                        ticket_from_row,
                    )
                    .await?
                    .ok_or(e)
            }
            (result, _) => result,
        }
    }

    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        let mut conn = self.inner.db.conn().await?;
        let mut ex = conn.exec();
        let mut ticket = ex
            .fetch_optional(
                &self.inner.st.ticket_by_id,
                &[id.as_str().into()],
                ticket_from_row,
            )
            .await?
            .ok_or_else(|| not_found(id))?;
        self.fill_links(&mut ex, std::slice::from_mut(&mut ticket))
            .await?;
        Ok(ticket)
    }

    async fn update(&self, id: &TicketId, patch: TicketPatch) -> Result<Ticket> {
        patch.validate()?;
        let result: Result<Ticket> = in_tx!(self, |ex| self.update_in(ex, id, &patch));
        result.map_err(|e| e.with_context("ticket", id))
    }

    async fn change_status(&self, id: &TicketId, to: Status) -> Result<Ticket> {
        // The workflow check runs inside the update's transaction, on the locked row.
        self.update(id, TicketPatch::new().status(to)).await
    }

    async fn add_comment(&self, id: &TicketId, new: NewComment) -> Result<Comment> {
        new.validate()?;
        let result = in_tx!(self, |ex| self.comment_in(ex, id, &new));
        match (result, &new.idempotency_key) {
            (Err(e), Some(key)) if e.kind() == ErrorKind::AlreadyExists => {
                let mut conn = self.inner.db.conn().await?;
                conn.exec()
                    .fetch_optional(
                        &self.inner.st.comment_by_key,
                        &[id.as_str().into(), key.as_str().into()],
                        comment_from_row,
                    )
                    .await?
                    .ok_or(e)
            }
            (result, _) => result,
        }
        .map_err(|e| e.with_context("ticket", id))
    }

    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        let mut conn = self.inner.db.conn().await?;
        let mut ex = conn.exec();
        let comments = ex
            .fetch_all(
                &self.inner.st.comments,
                &[id.as_str().into()],
                comment_from_row,
            )
            .await?;
        if comments.is_empty() {
            self.ensure_exists(&mut ex, id).await?;
        }
        Ok(comments)
    }

    async fn list(&self, query: &TicketQuery) -> Result<Page<Ticket>> {
        query.validate()?;
        let mut conn = self.inner.db.conn().await?;
        let mut ex = conn.exec();
        let mut rare = Vec::new();
        if self.dialect() == Dialect::Sqlite {
            for tag in &query.tags {
                let sample = ex
                    .fetch_optional(
                        &self.inner.st.tag_sample,
                        &[tag.as_str().into()],
                        int_from_row,
                    )
                    .await?
                    .unwrap_or(0);
                if sample < query::RARE_TAG {
                    rare.push(tag.as_str());
                }
            }
        }
        let (sql, args, size) = query::list(self.dialect(), query, &rare)?;
        let mut items = ex.fetch_all(&sql, &args, ticket_from_row).await?;
        let next = if items.len() > size {
            items.truncate(size);
            items
                .last()
                .and_then(|t| t.number.as_deref())
                .and_then(|n| n.parse().ok())
                .map(query::next_cursor)
        } else {
            None
        };
        self.fill_links(&mut ex, &mut items).await?;
        Ok(Page::new(items, next))
    }

    async fn add_attachment(&self, id: &TicketId, a: NewAttachment) -> Result<Attachment> {
        self.attachment_add(id, a).await
    }

    async fn attachments(&self, id: &TicketId) -> Result<Vec<Attachment>> {
        self.attachment_list(id).await
    }

    async fn read_attachment(&self, attachment_id: &str) -> Result<AttachmentContent> {
        self.attachment_read(attachment_id).await
    }

    async fn delete(&self, id: &TicketId) -> Result<()> {
        self.ticket_delete(id).await
    }

    async fn history(&self, id: &TicketId) -> Result<Vec<HistoryEntry>> {
        let mut conn = self.inner.db.conn().await?;
        let mut ex = conn.exec();
        let entries = ex
            .fetch_all(
                &self.inner.st.history,
                &[id.as_str().into()],
                history_from_row,
            )
            .await?;
        if entries.is_empty() {
            self.ensure_exists(&mut ex, id).await?;
        }
        Ok(entries)
    }
}
