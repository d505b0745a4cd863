//! What every case shares: the provider, the options, a run-unique scope, and assertions that
//! print the provider's error instead of a bare `unwrap` panic.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tickets_core::{
    Capabilities, DynProvider, Error, ErrorKind, NewComment, NewTicket, Result, Status, Ticket,
    TicketId, TicketQuery,
};

use crate::SuiteOptions;

/// How a case keeps its tickets apart from everything else in the backend.
#[derive(Debug, Clone)]
enum Scope {
    /// A tag only this case's tickets carry.
    Tag(String),
    /// A word only this case's tickets contain (backends without tags).
    Word(String),
    /// Nothing to filter on: results are narrowed to the ids the case created.
    Ids,
}

/// The context of one case run.
#[derive(Debug, Clone)]
pub struct Ctx {
    provider: DynProvider,
    options: Arc<SuiteOptions>,
    caps: Capabilities,
    token: String,
    scope: Scope,
    created: Arc<Mutex<HashSet<TicketId>>>,
    comments: Arc<AtomicU64>,
}

impl Ctx {
    /// A context for `case` on `provider`.
    pub fn new(
        provider: DynProvider,
        options: Arc<SuiteOptions>,
        caps: Capabilities,
        case: &str,
    ) -> Self {
        let uuid = uuid::Uuid::new_v4().simple().to_string();
        // Short, lower-case, no spaces: fits Asana tag names, Bugzilla aliases and keywords.
        let token = format!("ct{}", &uuid[..10]);
        let scope = if caps.tags {
            Scope::Tag(format!("{token}-{}", case.replace('_', "-")))
        } else if caps.text_search {
            Scope::Word(token.clone())
        } else {
            Scope::Ids
        };
        Self {
            provider,
            options,
            caps,
            token,
            scope,
            created: Arc::default(),
            comments: Arc::default(),
        }
    }

    /// The provider under test.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Its capabilities.
    pub fn caps(&self) -> &Capabilities {
        &self.caps
    }

    /// The run's options.
    pub fn options(&self) -> &SuiteOptions {
        &self.options
    }

    /// A word unique to this case run (lower-case letters and digits).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A ticket to create, carrying the case's scope.
    pub fn new_ticket(&self, subject: impl Into<String>) -> NewTicket {
        let subject = subject.into();
        match &self.scope {
            Scope::Tag(tag) => NewTicket::new(subject).tag(tag.clone()),
            Scope::Word(word) => NewTicket::new(format!("{subject} {word}")),
            Scope::Ids => NewTicket::new(subject),
        }
    }

    /// A comment to add: as given, or with a key unique to this case run when the options ask
    /// for keyed comments and the backend has `idempotent_comment`.
    pub fn comment(&self, comment: NewComment) -> NewComment {
        if self.keys_comments() {
            let n = self.comments.fetch_add(1, Ordering::Relaxed);
            comment.idempotency_key(format!("{}-c{n}", self.token))
        } else {
            comment
        }
    }

    /// True when [`Ctx::comment`] adds keys.
    pub fn keys_comments(&self) -> bool {
        self.options.keyed_comments && self.caps.idempotent_comment
    }

    /// The scope tag, when the backend has tags.
    pub fn scope_tag(&self) -> Option<&str> {
        match &self.scope {
            Scope::Tag(t) => Some(t),
            _ => None,
        }
    }

    /// Creates a ticket (adding nothing) and remembers its id as the case's own.
    pub async fn create(&self, ticket: NewTicket) -> Ticket {
        let what = format!("create {:?}", short(&ticket.subject));
        let created = ok(self.provider.create(ticket).await, &what);
        self.remember(&created.id);
        created
    }

    /// Remembers an id as created by this case.
    pub fn remember(&self, id: &TicketId) {
        self.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone());
    }

    fn is_ours(&self, id: &TicketId) -> bool {
        self.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    /// Adds the case's scope to a query.
    pub fn scoped(&self, mut query: TicketQuery) -> TicketQuery {
        match &self.scope {
            Scope::Tag(tag) => query.tags.push(tag.clone()),
            Scope::Word(word) if query.text.is_none() => query.text = Some(word.clone()),
            _ => {}
        }
        query
    }

    /// Lists every page of the scoped query, checking page sizes and that no ticket appears
    /// twice; returns the case's own tickets, in list order.
    pub async fn collect(&self, query: TicketQuery) -> Vec<Ticket> {
        let mut query = self.scoped(query);
        let page_size = query.page_size;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for page_no in 1.. {
            assert!(page_no <= 10_000, "list did not end after 10,000 pages");
            let page = ok(self.provider.list(&query).await, "list");
            if let Some(size) = page_size {
                assert!(
                    page.items.len() <= size as usize,
                    "page {page_no} has {} items but page_size is {size}",
                    page.items.len()
                );
            }
            for t in page.items {
                assert!(
                    seen.insert(t.id.clone()),
                    "ticket {} appears twice in the list (page {page_no})",
                    t.id
                );
                if self.is_ours(&t.id) {
                    out.push(t);
                }
            }
            match page.next {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
        }
        out
    }

    /// Asserts a ticket's status: exact when the backend keeps `expected`, else the same
    /// openness.
    pub fn assert_status(&self, ticket: &Ticket, expected: Status, what: &str) {
        if self.caps.statuses.contains(&expected) {
            assert_eq!(
                ticket.status, expected,
                "{what}: status of ticket {}",
                ticket.id
            );
        } else {
            assert_eq!(
                ticket.status.is_open(),
                expected.is_open(),
                "{what}: ticket {} should be {} like {expected}, but is {}",
                ticket.id,
                if expected.is_open() { "open" } else { "done" },
                ticket.status
            );
        }
    }
}

/// Unwraps a result, panicking with the provider's error and what was being done.
#[track_caller]
pub fn ok<T>(result: Result<T>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error: {e}"),
    }
}

/// Asserts the result is an error of `kind`, returning it.
#[track_caller]
pub fn expect_kind<T: std::fmt::Debug>(result: Result<T>, kind: ErrorKind, what: &str) -> Error {
    match result {
        Ok(v) => panic!("{what}: expected {kind}, got success: {v:?}"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{what}: expected {kind}, got: {e}");
            e
        }
    }
}

/// The first 60 characters, for messages.
pub fn short(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}
