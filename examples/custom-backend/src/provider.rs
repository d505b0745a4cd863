//! The notebook: every ticket and comment in one struct, saved whole to a JSON file after each
//! change (write to a temporary file, then rename, so a crash never leaves half a file).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tickets_core::chrono::{DateTime, Duration, Utc};
use tickets_core::{
    Capabilities, Comment, Cursor, Error, ErrorKind, NewComment, NewTicket, Page, Priority, Result,
    Status, Ticket, TicketId, TicketPatch, TicketProvider, TicketQuery, Workflow, async_trait,
    normalize_tags, serde_json,
};

use crate::KIND;

/// Config keys of the notebook. Non-exhaustive, so keys can be added without breaking code
/// that builds one: start from `NotebookConfig::default()` or [`NotebookConfig::in_file`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct NotebookConfig {
    /// The JSON file; `None` keeps tickets in memory only.
    pub path: Option<PathBuf>,
    /// A custom workflow table.
    pub workflow: Workflow,
}

impl NotebookConfig {
    /// Tickets kept in this JSON file.
    pub fn in_file(path: impl Into<PathBuf>) -> Self {
        Self {
            path: Some(path.into()),
            ..Self::default()
        }
    }

    /// Sets a custom workflow table.
    pub fn workflow(mut self, workflow: Workflow) -> Self {
        self.workflow = workflow;
        self
    }
}

const ID_PREFIX: &str = "NB-";
const DEFAULT_PAGE_SIZE: u32 = 50;
const MAX_PAGE_SIZE: u32 = 100;

/// Everything the file holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Book {
    last_seq: u64,
    last_comment: u64,
    /// By sequence number: the list order, and the cursor.
    tickets: BTreeMap<u64, Ticket>,
    comments: BTreeMap<u64, Vec<Comment>>,
    /// Idempotency key -> sequence number.
    keys: BTreeMap<String, u64>,
    /// The last timestamp handed out; timestamps strictly increase.
    clock: Option<DateTime<Utc>>,
}

impl Book {
    fn now(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        let next = match self.clock {
            Some(last) if now <= last => last + Duration::microseconds(1),
            _ => now,
        };
        self.clock = Some(next);
        next
    }

    fn seq(&self, id: &TicketId) -> Result<u64> {
        id.as_str()
            .strip_prefix(ID_PREFIX)
            .and_then(|n| n.parse().ok())
            .filter(|n| self.tickets.contains_key(n))
            .ok_or_else(|| Error::not_found(format!("ticket {id}")))
    }
}

/// The `notebook` provider.
#[derive(Debug)]
pub struct Notebook {
    path: Option<PathBuf>,
    workflow: Workflow,
    book: Mutex<Book>,
}

impl Notebook {
    /// Opens the file named in `config` (an empty notebook if it does not exist yet).
    pub fn open(config: NotebookConfig) -> Result<Self> {
        let book = match &config.path {
            Some(path) if path.exists() => load(path)?,
            _ => Book::default(),
        };
        Ok(Self {
            path: config.path,
            workflow: config.workflow,
            book: Mutex::new(book),
        })
    }

    /// An empty notebook in memory.
    pub fn in_memory() -> Self {
        Self {
            path: None,
            workflow: Workflow::default(),
            book: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Saves the book (with the lock held, so saves never interleave).
    fn save(&self, book: &Book) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let io = |e: std::io::Error| {
            Error::new(
                ErrorKind::Unavailable,
                format!("cannot write {}", path.display()),
            )
            .with_source(e)
        };
        let json = serde_json::to_vec_pretty(book)
            .map_err(|e| Error::unexpected("cannot encode the notebook").with_source(e))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

fn load(path: &Path) -> Result<Book> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::new(
            ErrorKind::Unavailable,
            format!("cannot read {}", path.display()),
        )
        .with_source(e)
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::unexpected(format!("{} is not a notebook file: {e}", path.display())))
}

#[async_trait]
impl TicketProvider for Notebook {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        // `Capabilities` is non-exhaustive and its default claims nothing optional: start from
        // it and switch on what the notebook does (no history, no keyed comments, no feed).
        let mut caps = Capabilities::default();
        caps.comment_author = true;
        caps.private_comments = true;
        caps.idempotent_create = true;
        caps.custom_fields = true;
        caps.text_search = true;
        caps.updated_since = true;
        caps.due = true;
        caps.watchers = true;
        caps.requester = true;
        caps.edit_requester = true;
        caps.kind = true;
        caps.tags = true;
        caps.number = true;
        caps.optimistic_concurrency = true;
        caps.edit_description = true;
        caps.statuses = Status::ALL.to_vec();
        caps.priorities = Priority::ALL.to_vec();
        caps.max_page_size = MAX_PAGE_SIZE;
        caps.time_resolution = std::time::Duration::from_millis(1);
        caps
    }

    fn workflow(&self) -> &Workflow {
        &self.workflow
    }

    async fn create(&self, new: NewTicket) -> Result<Ticket> {
        new.validate()?;
        let mut book = self.lock();
        if let Some(seq) = new.idempotency_key.as_ref().and_then(|k| book.keys.get(k)) {
            return Ok(book.tickets[seq].clone());
        }
        let seq = book.last_seq + 1;
        let now = book.now();
        let mut t = Ticket::new(format!("{ID_PREFIX}{seq}"), KIND, new.subject, now);
        t.number = Some(seq.to_string());
        t.description = new.description;
        t.status = new.status;
        t.priority = new.priority;
        t.kind = new.kind;
        t.assignee = new.assignee;
        t.requester = new.requester;
        t.watchers = new.watchers;
        t.tags = normalize_tags(new.tags);
        t.due = new.due;
        t.custom_fields = new.custom_fields;
        t.version = Some("1".into());
        book.last_seq = seq;
        if let Some(key) = new.idempotency_key {
            book.keys.insert(key, seq);
        }
        book.tickets.insert(seq, t.clone());
        self.save(&book)?;
        Ok(t)
    }

    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        let book = self.lock();
        Ok(book.tickets[&book.seq(id)?].clone())
    }

    async fn update(&self, id: &TicketId, patch: TicketPatch) -> Result<Ticket> {
        patch.validate()?;
        let mut book = self.lock();
        let seq = book.seq(id)?;
        let mut t = book.tickets[&seq].clone();
        if let Some(expected) = &patch.expected_version
            && t.version.as_ref() != Some(expected)
        {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("ticket {id} changed since version {expected}; read it again"),
            ));
        }
        if let Some(to) = patch.status.as_set() {
            self.workflow.check(t.status, *to)?;
        }
        if patch.apply(&mut t).is_empty() {
            return Ok(t);
        }
        t.updated_at = book.now();
        let version = t
            .version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        t.version = Some((version + 1).to_string());
        book.tickets.insert(seq, t.clone());
        self.save(&book)?;
        Ok(t)
    }

    async fn add_comment(&self, id: &TicketId, new: NewComment) -> Result<Comment> {
        new.validate()?;
        let mut book = self.lock();
        let seq = book.seq(id)?;
        book.last_comment += 1;
        let now = book.now();
        let mut c = Comment::new(
            format!("{id}-c{}", book.last_comment),
            id.clone(),
            new.body,
            now,
        );
        c.author = new.author;
        c.public = new.public;
        book.comments.entry(seq).or_default().push(c.clone());
        if let Some(t) = book.tickets.get_mut(&seq) {
            t.updated_at = now;
        }
        self.save(&book)?;
        Ok(c)
    }

    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        let book = self.lock();
        let seq = book.seq(id)?;
        Ok(book.comments.get(&seq).cloned().unwrap_or_default())
    }

    async fn list(&self, query: &TicketQuery) -> Result<Page<Ticket>> {
        query.validate()?;
        let after = match &query.cursor {
            None => 0,
            Some(c) => c.as_str().parse::<u64>().map_err(|_| {
                Error::invalid_input(format!("cursor {c:?} was not issued by a notebook"))
            })?,
        };
        let size = query
            .page_size
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .min(MAX_PAGE_SIZE) as usize;
        let book = self.lock();
        let mut matching = book
            .tickets
            .range(after + 1..)
            .filter(|(_, t)| query.matches(t));
        let items: Vec<(u64, Ticket)> = matching
            .by_ref()
            .take(size)
            .map(|(seq, t)| (*seq, t.clone()))
            .collect();
        let next = match (items.last(), matching.next()) {
            (Some((seq, _)), Some(_)) => Some(Cursor::new(seq.to_string())),
            _ => None,
        };
        Ok(Page::new(items.into_iter().map(|(_, t)| t).collect(), next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_notebook_file_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.json");
        let config = NotebookConfig {
            path: Some(path.clone()),
            ..Default::default()
        };
        let first = Notebook::open(config.clone()).unwrap();
        let t = first
            .create(NewTicket::new("Keep me").tag("x"))
            .await
            .unwrap();
        first
            .add_comment(&t.id, NewComment::new("noted"))
            .await
            .unwrap();
        drop(first);

        let again = Notebook::open(config).unwrap();
        let read = again.get(&t.id).await.unwrap();
        assert_eq!(
            (read.subject, read.tags),
            (t.subject.clone(), t.tags.clone())
        );
        assert!(
            read.updated_at > t.updated_at,
            "the comment touched the ticket"
        );
        assert_eq!(again.comments(&t.id).await.unwrap()[0].body, "noted");
        let next = again.create(NewTicket::new("Second")).await.unwrap();
        assert_eq!(
            next.id.as_str(),
            "NB-2",
            "sequence continues after reopening"
        );
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_notebook_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.json");
        std::fs::write(&path, "[1, 2, 3]").unwrap();
        let err = Notebook::open(NotebookConfig {
            path: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("is not a notebook file"), "{err}");
    }

    #[tokio::test]
    async fn foreign_ids_are_not_found() {
        let book = Notebook::in_memory();
        for id in ["42", "NB-x", "NB-1", ""] {
            let err = book.get(&TicketId::new(id)).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{id:?}");
        }
    }
}
