//! The hub: named backends, one of them the default, and every operation on the default.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> tickets_core::Result<()> {
//! use std::sync::Arc;
//! use tickets_core::{memory::MemoryProvider, NewTicket, Tickets};
//!
//! let tickets = Tickets::new();
//! tickets.register("main", Arc::new(MemoryProvider::new()));
//! tickets.register("other", Arc::new(MemoryProvider::new()));
//! let t = tickets.create(NewTicket::new("Server down")).await?;   // on "main", the first
//! tickets.use_backend("other")?;                                   // switch at run time
//! assert!(tickets.get(&t.id).await.is_err());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::config::{Config, ConfigLoader};
use crate::error::{Error, Result};
use crate::model::{
    Attachment, AttachmentContent, Comment, HistoryEntry, NewAttachment, NewComment, NewTicket,
    Page, Ticket, TicketId, TicketPatch, TicketQuery,
};
use crate::provider::{Capabilities, DynProvider, TicketProvider};
use crate::registry::{Registry, Resolver};
use crate::status::Status;
use crate::workflow::Workflow;

/// The provider kind used when nothing is configured and the internal store is linked in.
pub const EMBEDDED_DEFAULT: &str = "internal";

/// A configured backend, as listed by [`Tickets::backends`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendInfo {
    /// Its name.
    pub name: String,
    /// Its provider kind.
    pub kind: &'static str,
    /// True for the one call sites use.
    pub is_default: bool,
}

#[derive(Default)]
struct HubState {
    backends: BTreeMap<String, DynProvider>,
    default: Option<String>,
}

struct Hub {
    state: RwLock<HubState>,
    registry: Registry,
    config: Option<Config>,
}

/// Named backends and a default; every [`TicketProvider`] operation runs on the default.
/// Cheap to clone; clones share backends and the default, so [`Tickets::use_backend`] switches
/// every clone at once.
///
/// `Debug` shows backend names and kinds, the default and the configuration's structure (see
/// [`Config`]'s `Debug`): never a config value.
#[derive(Clone)]
pub struct Tickets {
    hub: Arc<Hub>,
}

impl std::fmt::Debug for Tickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.read();
        let backends: BTreeMap<&str, &str> = state
            .backends
            .iter()
            .map(|(name, p)| (name.as_str(), p.kind()))
            .collect();
        f.debug_struct("Tickets")
            .field("default", &state.default)
            .field("backends", &backends)
            .field("kinds", &self.hub.registry.kinds().collect::<Vec<_>>())
            .field("config", &self.hub.config)
            .finish()
    }
}

impl Default for Tickets {
    fn default() -> Self {
        Self::new()
    }
}

impl Tickets {
    /// A hub with no backends; add them with [`Tickets::register`].
    pub fn new() -> Self {
        Self::from_parts(Registry::empty(), None)
    }

    fn from_parts(registry: Registry, config: Option<Config>) -> Self {
        Self {
            hub: Arc::new(Hub {
                state: RwLock::default(),
                registry,
                config,
            }),
        }
    }

    /// Builds every backend of the default configuration sources (`tickets.toml` or
    /// `$TICKETS_CONFIG`, then `TICKETS_*` variables). With nothing configured, one backend
    /// named `default` on the embedded store (internal SQLite when linked, else memory).
    pub async fn load() -> Result<Self> {
        Self::from_config(ConfigLoader::new().load()?).await
    }

    /// Builds from an application's own figment, already focused on the tickets section:
    /// `Tickets::from_figment(app_figment.focus("homechoice.ticket"))`.
    pub async fn from_figment(figment: figment::Figment) -> Result<Self> {
        Self::from_config(Config::from_figment(figment)?).await
    }

    /// Builds every backend of `config` with the kinds linked into this program.
    pub async fn from_config(config: Config) -> Result<Self> {
        Self::from_config_with(config, Registry::discover()?).await
    }

    /// Builds every backend of `config` with the kinds of `registry`.
    pub async fn from_config_with(config: Config, registry: Registry) -> Result<Self> {
        let fallback = if registry.contains(EMBEDDED_DEFAULT) {
            EMBEDDED_DEFAULT
        } else {
            crate::memory::KIND
        };
        let config = config.with_fallback(fallback);
        let default = config.default_name()?;
        // Every backend's kind, keys and layers first: a mistake in the last one fails before
        // the first one opens a store or starts a worker.
        config.validate(&registry)?;
        let resolver = Resolver::new(registry.clone(), config.clone());
        let mut built = BTreeMap::new();
        for spec in resolver.config().backends() {
            let provider = resolver.resolve(&spec.name, Vec::new()).await?;
            built.insert(spec.name.clone(), provider);
        }
        let tickets = Self::from_parts(registry, Some(config));
        {
            let mut state = tickets.write();
            state.backends = built;
            state.default = Some(default);
        }
        Ok(tickets)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HubState> {
        self.hub.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HubState> {
        self.hub.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds (or replaces) a backend under `name`. The first one registered becomes the default.
    pub fn register(&self, name: impl Into<String>, provider: DynProvider) -> Option<DynProvider> {
        let name = name.into();
        let mut state = self.write();
        if state.default.is_none() {
            state.default = Some(name.clone());
        }
        state.backends.insert(name, provider)
    }

    /// Makes `name` the default backend, for every clone of this hub.
    pub fn use_backend(&self, name: &str) -> Result<()> {
        let mut state = self.write();
        if !state.backends.contains_key(name) {
            return Err(unknown_backend(name, &state));
        }
        state.default = Some(name.to_owned());
        Ok(())
    }

    /// A backend by name.
    pub fn backend(&self, name: &str) -> Result<DynProvider> {
        let state = self.read();
        state
            .backends
            .get(name)
            .cloned()
            .ok_or_else(|| unknown_backend(name, &state))
    }

    /// The default backend.
    pub fn default_backend(&self) -> Result<DynProvider> {
        let state = self.read();
        let name = state.default.as_deref().ok_or_else(|| {
            Error::config("no backend is configured; register one or add a config file")
        })?;
        state
            .backends
            .get(name)
            .cloned()
            .ok_or_else(|| unknown_backend(name, &state))
    }

    /// The default backend's name.
    pub fn default_name(&self) -> Option<String> {
        self.read().default.clone()
    }

    /// Every backend, sorted by name.
    pub fn backends(&self) -> Vec<BackendInfo> {
        let state = self.read();
        state
            .backends
            .iter()
            .map(|(name, p)| BackendInfo {
                name: name.clone(),
                kind: p.kind(),
                is_default: state.default.as_deref() == Some(name.as_str()),
            })
            .collect()
    }

    /// The registry the hub was built with (empty for [`Tickets::new`]).
    pub fn registry(&self) -> &Registry {
        &self.hub.registry
    }

    /// The configuration the hub was built from, if any.
    pub fn config(&self) -> Option<&Config> {
        self.hub.config.as_ref()
    }

    /// Shuts every backend down (see [`TicketProvider::shutdown`]): stops sync workers and gives
    /// back what they claimed, closes database pools. Call it before the process exits. Every
    /// backend is asked even when one fails; the first failure is returned.
    pub async fn shutdown(&self) -> Result<()> {
        let backends: Vec<DynProvider> = self.read().backends.values().cloned().collect();
        let mut first = None;
        for p in backends {
            if let Err(e) = p.shutdown().await {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Every ticket matching `query` on the default backend, page after page to the end.
    pub fn list_all(&self, query: TicketQuery) -> BoxStream<'static, Result<Ticket>> {
        match self.default_backend() {
            Ok(p) => crate::provider::list_stream(p, query),
            Err(e) => Box::pin(futures::stream::once(async move { Err(e) })),
        }
    }
}

fn unknown_backend(name: &str, state: &HubState) -> Error {
    Error::config(format!(
        "backend {name:?} is not configured; configured: {}",
        if state.backends.is_empty() {
            "none".to_owned()
        } else {
            state
                .backends
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        }
    ))
}

// Every operation of the trait, on the default backend, without importing the trait.
impl Tickets {
    /// Creates a ticket on the default backend.
    pub async fn create(&self, ticket: NewTicket) -> Result<Ticket> {
        self.default_backend()?.create(ticket).await
    }

    /// Reads a ticket.
    pub async fn get(&self, id: &TicketId) -> Result<Ticket> {
        self.default_backend()?.get(id).await
    }

    /// Changes the fields the patch names.
    pub async fn update(&self, id: &TicketId, patch: TicketPatch) -> Result<Ticket> {
        self.default_backend()?.update(id, patch).await
    }

    /// Moves a ticket to another status, if the workflow allows it.
    pub async fn change_status(&self, id: &TicketId, to: Status) -> Result<Ticket> {
        self.default_backend()?.change_status(id, to).await
    }

    /// Assigns (or unassigns with `None`).
    pub async fn assign(&self, id: &TicketId, who: Option<&str>) -> Result<Ticket> {
        self.default_backend()?.assign(id, who).await
    }

    /// Adds a comment.
    pub async fn add_comment(&self, id: &TicketId, comment: NewComment) -> Result<Comment> {
        self.default_backend()?.add_comment(id, comment).await
    }

    /// All comments, oldest first.
    pub async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        self.default_backend()?.comments(id).await
    }

    /// One page of tickets.
    pub async fn list(&self, query: &TicketQuery) -> Result<Page<Ticket>> {
        self.default_backend()?.list(query).await
    }

    /// Closes.
    pub async fn close(&self, id: &TicketId) -> Result<Ticket> {
        self.default_backend()?.close(id).await
    }

    /// Resolves.
    pub async fn resolve(&self, id: &TicketId) -> Result<Ticket> {
        self.default_backend()?.resolve(id).await
    }

    /// Escalates.
    pub async fn escalate(&self, id: &TicketId) -> Result<Ticket> {
        self.default_backend()?.escalate(id).await
    }

    /// Reopens.
    pub async fn reopen(&self, id: &TicketId) -> Result<Ticket> {
        self.default_backend()?.reopen(id).await
    }

    /// The audit history, where the backend keeps one.
    pub async fn history(&self, id: &TicketId) -> Result<Vec<HistoryEntry>> {
        self.default_backend()?.history(id).await
    }

    /// Adds a file to a ticket, where the backend keeps attachments.
    pub async fn add_attachment(&self, id: &TicketId, a: NewAttachment) -> Result<Attachment> {
        self.default_backend()?.add_attachment(id, a).await
    }

    /// A ticket's attachments.
    pub async fn attachments(&self, id: &TicketId) -> Result<Vec<Attachment>> {
        self.default_backend()?.attachments(id).await
    }

    /// One attachment's record and content.
    pub async fn read_attachment(&self, attachment_id: &str) -> Result<AttachmentContent> {
        self.default_backend()?.read_attachment(attachment_id).await
    }

    /// Deletes a ticket, where the backend allows it.
    pub async fn delete(&self, id: &TicketId) -> Result<()> {
        self.default_backend()?.delete(id).await
    }
}

/// The hub is itself a provider (the default backend), so anything written against
/// [`TicketProvider`] (the conformance suite, say) runs on it.
#[async_trait]
impl TicketProvider for Tickets {
    fn kind(&self) -> &'static str {
        self.default_backend().map(|p| p.kind()).unwrap_or("none")
    }

    fn capabilities(&self) -> Capabilities {
        self.default_backend()
            .map(|p| p.capabilities())
            .unwrap_or_default()
    }

    fn workflow(&self) -> &Workflow {
        // The default can change at run time, so a borrowed table cannot be handed out; the
        // operations below use the backend's own table through its own methods.
        Workflow::default_ref()
    }

    async fn create(&self, ticket: NewTicket) -> Result<Ticket> {
        Tickets::create(self, ticket).await
    }
    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        Tickets::get(self, id).await
    }
    async fn update(&self, id: &TicketId, patch: TicketPatch) -> Result<Ticket> {
        Tickets::update(self, id, patch).await
    }
    async fn add_comment(&self, id: &TicketId, comment: NewComment) -> Result<Comment> {
        Tickets::add_comment(self, id, comment).await
    }
    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        Tickets::comments(self, id).await
    }
    async fn list(&self, query: &TicketQuery) -> Result<Page<Ticket>> {
        Tickets::list(self, query).await
    }
    async fn history(&self, id: &TicketId) -> Result<Vec<HistoryEntry>> {
        Tickets::history(self, id).await
    }
    async fn add_attachment(&self, id: &TicketId, a: NewAttachment) -> Result<Attachment> {
        Tickets::add_attachment(self, id, a).await
    }
    async fn attachments(&self, id: &TicketId) -> Result<Vec<Attachment>> {
        Tickets::attachments(self, id).await
    }
    async fn read_attachment(&self, attachment_id: &str) -> Result<AttachmentContent> {
        Tickets::read_attachment(self, attachment_id).await
    }
    async fn delete(&self, id: &TicketId) -> Result<()> {
        Tickets::delete(self, id).await
    }
    async fn change_status(&self, id: &TicketId, to: Status) -> Result<Ticket> {
        Tickets::change_status(self, id, to).await
    }
    async fn assign(&self, id: &TicketId, who: Option<&str>) -> Result<Ticket> {
        Tickets::assign(self, id, who).await
    }
    async fn close(&self, id: &TicketId) -> Result<Ticket> {
        Tickets::close(self, id).await
    }
    async fn resolve(&self, id: &TicketId) -> Result<Ticket> {
        Tickets::resolve(self, id).await
    }
    async fn escalate(&self, id: &TicketId) -> Result<Ticket> {
        Tickets::escalate(self, id).await
    }
    async fn reopen(&self, id: &TicketId) -> Result<Ticket> {
        Tickets::reopen(self, id).await
    }
}
