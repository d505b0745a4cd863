//! The `bugzilla` provider: tickets as bugs of one product/component.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tickets_core::{
    Capabilities, Comment, Cursor, Error, HistoryAction, HistoryEntry, NewComment, NewTicket, Page,
    Priority, Result, Status, Ticket, TicketId, TicketPatch, TicketProvider, TicketQuery, Workflow,
};

use crate::KIND;
use crate::client::{Client, segment};
use crate::config::BugzillaConfig;
use crate::convert::{self, Bug, Mapping, StatusMap, alias_for_key, check_tag};
use crate::keylock::KeyLocks;
use crate::meta::{self, Meta};
use crate::status;

const DEFAULT_PAGE_SIZE: u32 = 50;
const MAX_PAGE_SIZE: u32 = 200;

/// Tickets as Bugzilla bugs.
#[derive(Debug)]
pub struct BugzillaProvider {
    pub(crate) client: Client,
    pub(crate) cfg: BugzillaConfig,
    pub(crate) statuses: StatusMap,
    /// The metadata and when it was read (see `metadata_ttl_secs`).
    meta: tokio::sync::Mutex<Option<(Arc<Meta>, std::time::Instant)>>,
    /// The last metadata, for `capabilities` (which cannot wait).
    last_meta: std::sync::Mutex<Option<Arc<Meta>>>,
    /// Comments being added with a key, one call per key at a time.
    pub(crate) key_locks: KeyLocks,
    /// Bugs seen in scope lately (id -> when), so comments need no extra read to check it.
    in_scope: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    /// Comment 0 (the description) of bugs read lately: Bugzilla cannot edit it, so it never
    /// goes stale, and lists and updates need not read it again.
    descriptions: std::sync::Mutex<std::collections::HashMap<u64, String>>,
}

/// Descriptions remembered at most (the memory is dropped when full).
const DESCRIPTION_MEMORY: usize = 10_000;

/// How long a bug seen in the configured product/component is trusted to stay there, for
/// operations that do not read the bug anyway (comments).
const SCOPE_TTL: Duration = Duration::from_secs(600);
/// Bugs remembered as in scope at most (the memory is dropped when full).
const SCOPE_MEMORY: usize = 10_000;

impl BugzillaProvider {
    /// A provider for `cfg`; nothing is sent until the first call.
    pub fn new(cfg: BugzillaConfig) -> Result<Self> {
        cfg.check()
            .map_err(|(key, problem)| Error::config(format!("{key}: {problem}")))?;
        let client = Client::new(
            &cfg.base_url,
            cfg.api_key.clone(),
            cfg.api_key_in,
            Duration::from_secs(cfg.timeout_secs),
        )?;
        let client = match cfg.requests_per_minute {
            Some(rpm) => client.with_pacing(rpm),
            None => client,
        };
        Ok(Self {
            client,
            statuses: StatusMap::new(cfg.effective_status_map()),
            cfg,
            meta: tokio::sync::Mutex::new(None),
            last_meta: std::sync::Mutex::new(None),
            key_locks: KeyLocks::default(),
            in_scope: Default::default(),
            descriptions: Default::default(),
        })
    }

    /// A provider for `cfg` that has already asked the server for its priorities, workflow and
    /// default assignee, so a wrong key, product or component fails here.
    pub async fn connect(cfg: BugzillaConfig) -> Result<Self> {
        let provider = Self::new(cfg)?;
        provider.meta().await?;
        Ok(provider)
    }

    /// Tries discovery for at most `limit`, so [`capabilities`](TicketProvider::capabilities)
    /// reports the server's priorities from the start; a failure is retried on first use.
    pub async fn warm_up(&self, limit: Duration) {
        match tokio::time::timeout(limit, self.meta()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "bugzilla discovery failed; will retry on first use")
            }
            Err(_) => tracing::warn!("bugzilla discovery timed out; will retry on first use"),
        }
    }

    /// The HTTP client (for callers needing raw calls).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The server's metadata: in memory for `metadata_ttl_secs`, else from the disk cache
    /// (when `metadata_cache` is on and the file is fresh), else read from the server (one
    /// `GET /rest/field/bug` and the product) and written to the cache.
    pub(crate) async fn meta(&self) -> Result<Arc<Meta>> {
        let ttl = Duration::from_secs(self.cfg.metadata_ttl_secs);
        let mut slot = self.meta.lock().await;
        if let Some((meta, at)) = slot.as_ref()
            && at.elapsed() < ttl
        {
            return Ok(meta.clone());
        }
        let file = self
            .cfg
            .metadata_cache
            .then(|| meta::cache_file(self.client.base(), &self.cfg))
            .flatten();
        let cached = file
            .as_deref()
            .and_then(|f| meta::load(f, self.cfg.metadata_ttl_secs))
            .and_then(|raw| meta::build(&raw, &self.cfg).ok());
        let meta = match cached {
            Some(m) => m,
            None => {
                let raw = meta::fetch(&self.client, &self.cfg).await?;
                let meta = meta::build(&raw, &self.cfg)?;
                if let Some(f) = &file {
                    meta::store(f, &raw);
                }
                meta
            }
        };
        let meta = Arc::new(meta);
        *slot = Some((meta.clone(), std::time::Instant::now()));
        *self.last_meta.lock().unwrap_or_else(|p| p.into_inner()) = Some(meta.clone());
        Ok(meta)
    }

    pub(crate) fn mapping<'a>(&'a self, meta: &'a Meta) -> Mapping<'a> {
        let root = self
            .client
            .base()
            .trim_end_matches("/rest.cgi")
            .trim_end_matches("/rest");
        Mapping {
            kind: KIND,
            statuses: &self.statuses,
            priorities: &meta.priorities,
            unassigned: &meta.unassigned,
            show_url: format!("{root}/show_bug.cgi?id="),
            custom: &self.cfg.custom_fields,
            field_types: &meta.field_types,
        }
    }

    pub(crate) fn priority_value(&self, meta: &Meta, p: Priority) -> Result<String> {
        meta.priorities
            .bz_value(p)
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::config(format!(
                    "no Bugzilla priority for {p}: the server lists none; set priority_map"
                ))
            })
    }

    pub(crate) async fn bug(&self, id: &str) -> Result<Bug> {
        let answer = self
            .client
            .get(&format!("/bug/{}", segment(id)), &[])
            .await?;
        let bug = convert::first_bug(&answer)?;
        self.check_scope(id, &bug.product, &bug.component)?;
        Ok(bug)
    }

    /// A bug outside the configured product and component is `NotFound`, as `list` sees it:
    /// the provider never reaches out of its scope (issue 12).
    pub(crate) fn check_scope(&self, id: &str, product: &str, component: &str) -> Result<()> {
        let mut seen = self.in_scope.lock().unwrap_or_else(|p| p.into_inner());
        if product == self.cfg.product && component == self.cfg.component {
            if seen.len() >= SCOPE_MEMORY {
                seen.clear();
            }
            seen.insert(id.to_owned(), std::time::Instant::now());
            return Ok(());
        }
        seen.remove(id);
        Err(Error::not_found(format!(
            "bug {id} is not in product {:?}, component {:?} (it is in {product:?}, \
             {component:?}), which this backend is configured for",
            self.cfg.product, self.cfg.component
        )))
    }

    /// Checks the scope of a bug without reading it all (one small `GET`), for operations that
    /// otherwise never read the bug (comments); a bug seen in scope in the last `SCOPE_TTL` is
    /// trusted without asking.
    pub(crate) async fn ensure_in_scope(&self, id: &str) -> Result<()> {
        let fresh = self
            .in_scope
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .is_some_and(|at| at.elapsed() < SCOPE_TTL);
        if fresh {
            return Ok(());
        }
        let answer = self
            .client
            .get(
                &format!("/bug/{}", segment(id)),
                &[("include_fields", "id,product,component".to_owned())],
            )
            .await?;
        let bug = answer
            .pointer("/bugs/0")
            .ok_or_else(|| Error::not_found(format!("bug {id}")))?;
        let text = |k: &str| bug.get(k).and_then(Value::as_str).unwrap_or_default();
        self.check_scope(id, text("product"), text("component"))
    }

    pub(crate) async fn bz_comments(&self, id: &str) -> Result<Vec<convert::BzComment>> {
        let answer = self
            .client
            .get(&format!("/bug/{}/comment", segment(id)), &[])
            .await?;
        convert::comments_of(&answer)
    }

    fn cached_description(&self, id: u64) -> Option<String> {
        self.descriptions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }

    pub(crate) fn remember_description(&self, id: u64, text: &str) {
        let mut d = self.descriptions.lock().unwrap_or_else(|p| p.into_inner());
        if d.len() >= DESCRIPTION_MEMORY {
            d.clear();
        }
        d.insert(id, text.to_owned());
    }

    /// Comment 0 of a bug, remembered (it cannot change).
    async fn description(&self, id: u64) -> Result<String> {
        if let Some(d) = self.cached_description(id) {
            return Ok(d);
        }
        let comments = self.bz_comments(&id.to_string()).await?;
        let text = comments
            .iter()
            .find(|c| c.count == 0)
            .map(|c| c.text.clone())
            .unwrap_or_default();
        self.remember_description(id, &text);
        Ok(text)
    }

    /// The descriptions of many bugs in one request: `GET /bug/{first}/comment?ids=..` (Bugzilla
    /// merges the path's bug with the query's `ids`), only for those not remembered.
    async fn descriptions(&self, ids: &[u64]) -> Result<std::collections::HashMap<u64, String>> {
        let mut out = std::collections::HashMap::new();
        let mut missing = Vec::new();
        for id in ids {
            match self.cached_description(*id) {
                Some(d) => {
                    out.insert(*id, d);
                }
                None => missing.push(*id),
            }
        }
        let Some((first, rest)) = missing.split_first() else {
            return Ok(out);
        };
        let mut query: Vec<(&str, String)> = rest.iter().map(|i| ("ids", i.to_string())).collect();
        query.push(("include_fields", "bug_id,count,text".to_owned()));
        let answer = self
            .client
            .get(&format!("/bug/{first}/comment"), &query)
            .await?;
        for (id, text) in convert::descriptions_of(&answer)? {
            self.remember_description(id, &text);
            out.insert(id, text);
        }
        Ok(out)
    }

    /// The bug and its description: one `GET` when the description is remembered, else two
    /// in parallel.
    pub(crate) async fn bug_and_description(&self, id: &str) -> Result<(Bug, String)> {
        let cached = id
            .parse::<u64>()
            .ok()
            .and_then(|n| self.cached_description(n));
        if let Some(d) = cached {
            return Ok((self.bug(id).await?, d));
        }
        let (bug, comments) = futures::try_join!(self.bug(id), self.bz_comments(id))?;
        let text = comments
            .iter()
            .find(|c| c.count == 0)
            .map(|c| c.text.clone())
            .unwrap_or_default();
        self.remember_description(bug.id, &text);
        Ok((bug, text))
    }

    async fn ticket(&self, bug: &Bug) -> Result<Ticket> {
        let meta = self.meta().await?;
        let meta = &*meta;
        let description = self.description(bug.id).await?;
        Ok(convert::to_ticket(bug, description, &self.mapping(meta)))
    }

    async fn fetch(&self, id: &str) -> Result<Ticket> {
        let meta = self.meta().await?;
        let meta = &*meta;
        let path = segment(id);
        let (bug_path, comments_path) = (format!("/bug/{path}"), format!("/bug/{path}/comment"));
        let (bug, comments) = futures::try_join!(
            self.client.get(&bug_path, &[]),
            self.client.get(&comments_path, &[]),
        )?;
        let bug = convert::first_bug(&bug)?;
        self.check_scope(id, &bug.product, &bug.component)?;
        let description = convert::comments_of(&comments)?
            .into_iter()
            .find(|c| c.count == 0)
            .map(|c| c.text)
            .unwrap_or_default();
        self.remember_description(bug.id, &description);
        Ok(convert::to_ticket(&bug, description, &self.mapping(meta)))
    }
}

/// The Bugzilla field of a model custom field name.
pub(crate) fn custom_field<'a>(cfg: &'a BugzillaConfig, name: &str) -> Result<&'a str> {
    cfg.custom_fields.get(name).map(String::as_str).ok_or_else(|| {
        Error::invalid_input(format!(
            "custom field {name:?} is not mapped to a Bugzilla field; known: {} (config key custom_fields)",
            cfg.custom_fields.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })
}

/// A list cursor is the offset of the page; anything else was not issued here.
pub(crate) fn parse_cursor(cursor: Option<&Cursor>) -> Result<u64> {
    let Some(c) = cursor else { return Ok(0) };
    c.as_str()
        .parse::<u64>()
        .ok()
        .filter(|o| *o <= MAX_OFFSET)
        .ok_or_else(|| {
            Error::invalid_input(format!(
                "cursor {c:?} was not issued by the bugzilla provider"
            ))
        })
}

/// The cursor after a full page at `offset` (no overflow from a forged cursor).
pub(crate) fn next_cursor(offset: u64, size: u32) -> Result<Cursor> {
    offset
        .checked_add(u64::from(size))
        .filter(|o| *o <= MAX_OFFSET)
        .map(|o| Cursor::new(o.to_string()))
        .ok_or_else(|| Error::unexpected("the listing did not end within 2^53 bugs; stopped"))
}

/// Offsets past this are no Bugzilla's (its bug ids are database integers).
const MAX_OFFSET: u64 = 1 << 53;

fn check_new(new: &NewTicket) -> Result<()> {
    new.validate()?;
    for t in &new.tags {
        check_tag(t)?;
    }
    if new.kind.is_some() {
        return Err(Error::unsupported(
            "Bugzilla 5.x has no ticket kind; leave kind unset",
        ));
    }
    Ok(())
}

#[async_trait]
impl TicketProvider for BugzillaProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::default();
        c.history = true;
        c.comment_author = true;
        c.private_comments = true;
        c.idempotent_create = true;
        c.idempotent_comment = true;
        c.custom_fields = !self.cfg.custom_fields.is_empty();
        c.text_search = true;
        c.updated_since = true;
        c.due = true;
        c.watchers = true;
        c.requester = true;
        c.edit_requester = false;
        c.kind = false;
        c.tags = true;
        c.number = true;
        c.optimistic_concurrency = false;
        c.edit_description = false;
        c.change_feed = true;
        c.attachments = true;
        c.idempotent_attachment = true;
        c.max_attachment_size = self.cfg.max_attachment_size;
        c.delete = false;
        c.statuses = Status::ALL.to_vec();
        if let Some(meta) = self
            .last_meta
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            c.priorities = meta.priorities.exact();
        }
        c.max_page_size = MAX_PAGE_SIZE;
        c.time_resolution = Duration::from_secs(1);
        c
    }

    fn workflow(&self) -> &Workflow {
        &self.cfg.workflow
    }

    async fn create(&self, new: NewTicket) -> Result<Ticket> {
        check_new(&new)?;
        let meta = self.meta().await?;
        let meta = &*meta;
        // Bugzilla files bugs in an initial status only; others are moved there afterwards.
        let fileable = |s: Status| {
            s.is_open()
                && (meta.transitions.initial.is_empty()
                    || meta
                        .transitions
                        .initial
                        .contains(&self.statuses.target(s).status))
        };
        let initial = if fileable(new.status) {
            new.status
        } else {
            Status::New
        };
        let target = self.statuses.target(initial);
        let description = convert::description_text(
            new.requester.as_deref(),
            meta.login.as_deref(),
            &new.description,
        );
        let mut body = json!({
            "product": self.cfg.product,
            "component": self.cfg.component,
            "version": self.cfg.version,
            "op_sys": self.cfg.op_sys,
            "platform": self.cfg.platform,
            "summary": new.subject.trim(),
            "description": description,
            "priority": self.priority_value(meta, new.priority)?,
            "status": target.status,
        });
        let wb = status::whiteboard(&self.statuses, "", Some(&new.tags), initial);
        if !wb.is_empty() {
            body["whiteboard"] = json!(wb);
        }
        if let Some(sev) = &self.cfg.severity {
            body["severity"] = json!(sev);
        }
        if let Some(a) = new.assignee.as_deref().filter(|a| !a.trim().is_empty()) {
            body["assigned_to"] = json!(a.trim());
        }
        if !new.watchers.is_empty() {
            body["cc"] = json!(new.watchers);
        }
        if let Some(due) = new.due {
            body["deadline"] = json!(due.to_string());
        }
        for (name, value) in &new.custom_fields {
            let field = custom_field(&self.cfg, name)?;
            if !value.is_null() {
                body[field] = convert::write_custom(value);
            }
        }
        let alias = new.idempotency_key.as_deref().map(alias_for_key);
        if let Some(alias) = &alias {
            body["alias"] = json!([alias]);
        }
        let id = match self.client.post("/bug", body).await {
            Ok(answer) => answer
                .get("id")
                .and_then(Value::as_u64)
                .ok_or_else(|| Error::unexpected("bug create answer without an id"))?
                .to_string(),
            Err(e)
                if alias.is_some()
                    && e.context().iter().any(|(k, v)| *k == "code" && v == "103") =>
            {
                // The alias exists: this key already made a bug (an earlier try or a racing one).
                let alias = alias.as_deref().unwrap_or_default();
                match self.bug(alias).await {
                    Ok(bug) if bug.alias.iter().any(|a| a == alias) => {
                        return self.ticket(&bug).await;
                    }
                    _ => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        // Comment 0 is stored as sent, minus what Bugzilla trims (checked on a real 5.0.6, as
        // for comments), so the bug alone is read back: 2 requests.
        if let Ok(n) = id.parse::<u64>() {
            self.remember_description(n, &convert::as_stored(&description));
        }
        if new.status != initial {
            let mut patch = TicketPatch::new().status(new.status);
            patch.expected_version = None;
            return self.update(&TicketId::new(id), patch).await;
        }
        let (bug, description) = self.bug_and_description(&id).await?;
        Ok(convert::to_ticket(&bug, description, &self.mapping(meta)))
    }

    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        self.fetch(id.as_str())
            .await
            .map_err(|e| e.with_context("ticket", id))
    }

    async fn update(&self, id: &TicketId, patch: TicketPatch) -> Result<Ticket> {
        self.update_from(id, patch, false).await
    }

    /// One read of the bug, then the write (the core's default reads the ticket first, then
    /// updates, which reads it again): 2 requests for a one-step move.
    async fn change_status(&self, id: &TicketId, to: Status) -> Result<Ticket> {
        self.update_from(id, TicketPatch::new().status(to), false)
            .await
    }

    async fn reopen(&self, id: &TicketId) -> Result<Ticket> {
        let to = self.workflow().reopen_to();
        self.update_from(id, TicketPatch::new().status(to), true)
            .await
    }

    async fn add_comment(&self, id: &TicketId, new: NewComment) -> Result<Comment> {
        self.add_bz_comment(id, new).await
    }

    async fn add_attachment(
        &self,
        id: &TicketId,
        attachment: tickets_core::NewAttachment,
    ) -> Result<tickets_core::Attachment> {
        self.bz_add_attachment(id, attachment).await
    }

    async fn attachments(&self, id: &TicketId) -> Result<Vec<tickets_core::Attachment>> {
        self.bz_attachments(id).await
    }

    async fn read_attachment(
        &self,
        attachment_id: &str,
    ) -> Result<tickets_core::AttachmentContent> {
        self.bz_read_attachment(attachment_id).await
    }

    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        self.bz_ticket_comments(id).await
    }

    async fn list(&self, query: &TicketQuery) -> Result<Page<Ticket>> {
        query.validate()?;
        let offset = parse_cursor(query.cursor.as_ref())?;
        let size = query
            .page_size
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .min(MAX_PAGE_SIZE);
        let meta = self.meta().await?;
        let meta = &*meta;
        let params = crate::search::params(&self.cfg, &self.statuses, query, size, offset);
        let answer = self.client.get("/bug", &params).await?;
        let bugs = convert::bugs(&answer)?;
        let full = bugs.len() as u32 >= size;
        let mapping = self.mapping(meta);
        // One request for the descriptions of the whole page (none when all are remembered).
        let ids: Vec<u64> = bugs.iter().map(|b| b.id).collect();
        let mut descriptions = self.descriptions(&ids).await?;
        let tickets: Vec<Ticket> = bugs
            .iter()
            .map(|bug| {
                let d = descriptions.remove(&bug.id).unwrap_or_default();
                convert::to_ticket(bug, d, &mapping)
            })
            .collect();
        let items = tickets
            .into_iter()
            .filter(|t| crate::search::client_side_match(query, t))
            .collect();
        let next = match full {
            true => Some(next_cursor(offset, size)?),
            false => None,
        };
        Ok(Page::new(items, next))
    }

    /// Bugs of the product/component changed since the token, found by search (Bugzilla has
    /// no feed): `GET /rest/time` and one search per call; `deleted` is always empty.
    async fn changes(
        &self,
        since: Option<&tickets_core::ChangeToken>,
    ) -> Result<tickets_core::Changes> {
        crate::feed::changes(&self.client, &self.cfg, since).await
    }

    async fn history(&self, id: &TicketId) -> Result<Vec<HistoryEntry>> {
        let meta = self.meta().await?;
        let meta = &*meta;
        let history_path = format!("/bug/{}/history", segment(id.as_str()));
        let (bug, answer) =
            futures::try_join!(self.bug(id.as_str()), self.client.get(&history_path, &[]),)
                .map_err(|e| e.with_context("ticket", id))?;
        let mut out = vec![
            HistoryEntry::new(HistoryAction::Created, bug.creation_time).actor(bug.creator.clone()),
        ];
        out.extend(crate::search::history_entries(
            &answer,
            meta,
            &self.statuses,
            &bug,
        )?);
        Ok(out)
    }
}
