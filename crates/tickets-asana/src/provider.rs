//! The `asana` provider: tickets as tasks of one Asana project.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Duration as TimeDelta;
use reqwest::Method;
use serde_json::{Value, json};
use tickets_core::{
    Capabilities, Comment, Cursor, Error, ErrorKind, HistoryEntry, NewComment, NewTicket, Page,
    Patch, Priority, Result, Status, Ticket, TicketId, TicketPatch, TicketProvider, TicketQuery,
    Workflow, marker,
};

use crate::cache::{Cache, project_error};
use crate::client::{Call, Client};
use crate::config::{AsanaConfig, is_gid};
use crate::convert::{KIND, Mapping};
use crate::disk::DiskCache;
use crate::status::{StatusWrites, Written};
use crate::types::{TASK_FIELDS, TaskRecord, TaskWrite, UserRef};

/// Tickets as Asana tasks. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AsanaProvider {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) cache: Cache,
    pub(crate) map: Mapping,
    pub(crate) page_size: u32,
    /// How far back idempotency markers are looked for (`None`: the whole project).
    pub(crate) key_window: Option<TimeDelta>,
    pub(crate) workflow: Workflow,
    /// Idempotency key -> task gid, for keys used by this process.
    pub(crate) keys: Mutex<HashMap<String, String>>,
    /// One lock per idempotency key in use (creates and comments), so racing calls with one
    /// key send one request.
    pub(crate) key_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Tasks this process created, never claimed twice by the lookup after a create without a
    /// key failed in a way that may have been applied.
    pub(crate) claimed: Mutex<HashSet<String>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An Asana gid is digits; anything else cannot name a task.
pub(crate) fn task_gid(id: &TicketId) -> Result<&str> {
    if is_gid(id.as_str()) {
        Ok(id.as_str())
    } else {
        Err(Error::not_found(format!(
            "ticket {id} (Asana task ids are numeric gids)"
        )))
    }
}

impl AsanaProvider {
    /// A provider for `config` (checked; no request is made until the first call).
    pub fn new(config: AsanaConfig) -> Result<Self> {
        let maps = config.check(|k, p| Error::config(format!("{k}: {p}")))?;
        let client = Client::new(&config)?;
        Self::with_client(config, client, maps)
    }

    /// A provider using a prepared reqwest client (proxies, custom TLS roots, ...). The
    /// config's `timeout_secs` does not apply then; set time-outs on `http`.
    pub fn with_http(config: AsanaConfig, http: reqwest::Client) -> Result<Self> {
        let maps = config.check(|k, p| Error::config(format!("{k}: {p}")))?;
        let client = Client::with_http(http, &config)?;
        Self::with_client(config, client, maps)
    }

    fn with_client(config: AsanaConfig, client: Client, maps: crate::config::Maps) -> Result<Self> {
        let project = config
            .project()
            .ok_or_else(|| Error::config("project: is required"))?
            .to_owned();
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                cache: Cache::new(
                    project.clone(),
                    config.workspace.clone(),
                    config.create_missing,
                    std::time::Duration::from_secs(config.cache_ttl_secs),
                    DiskCache::new(&config, &project),
                ),
                map: Mapping {
                    project,
                    maps,
                    priority_field: config.priority_field.clone(),
                },
                page_size: config.page_size,
                key_window: (config.idempotency_window_hours > 0)
                    .then(|| TimeDelta::hours(config.idempotency_window_hours as i64)),
                workflow: config.workflow.clone(),
                keys: Mutex::default(),
                key_locks: Mutex::default(),
                claimed: Mutex::default(),
            }),
        })
    }

    pub(crate) fn c(&self) -> &Client {
        &self.inner.client
    }

    /// Fills in the email of every user `users` names (see [`Cache::email`]).
    pub(crate) async fn with_emails<'a>(&self, users: impl IntoIterator<Item = &'a mut UserRef>) {
        for u in users {
            if u.email.is_none() {
                u.email = self.inner.cache.email(self.c(), &u.gid).await;
            }
        }
    }

    /// The ticket of a task, its assignee named by email.
    pub(crate) async fn ticket(&self, mut task: TaskRecord) -> Ticket {
        self.with_emails(task.assignee.as_mut()).await;
        self.inner.map.ticket(task)
    }

    pub(crate) async fn record(&self, gid: &str) -> Result<TaskRecord> {
        let path = format!("/tasks/{gid}");
        let call = Call::get(&path).query("opt_fields", TASK_FIELDS);
        let task: TaskRecord = self
            .c()
            .send(&call)
            .await
            .map_err(|e| not_found(e, gid))?
            .data;
        if !self.inner.map.in_project(&task) {
            return Err(Error::not_found(format!(
                "ticket {gid} (the Asana task is not in project {})",
                self.inner.map.project
            )));
        }
        Ok(task)
    }

    fn unsupported_fields(requester: bool, kind: bool, watchers: bool) -> Result<()> {
        for (set, what) in [
            (requester, "requester"),
            (kind, "kind"),
            (watchers, "watchers"),
        ] {
            if set {
                return Err(Error::unsupported(format!(
                    "Asana tasks have no {what}; leave it unset for the asana provider"
                )));
            }
        }
        Ok(())
    }

    /// The tag/section source and Asana offset of a cursor.
    pub(crate) fn parse_cursor(cursor: &Cursor) -> Result<&str> {
        let bad = || {
            Error::invalid_input(format!(
                "cursor {:?} was not issued by the asana provider",
                cursor.as_str()
            ))
        };
        let offset = cursor.as_str().strip_prefix("a1.").ok_or_else(bad)?;
        let ok = !offset.is_empty()
            && offset
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=.".contains(&b));
        if ok { Ok(offset) } else { Err(bad()) }
    }
}

/// A time as Asana's query parameters take it (`2026-01-02T03:04:05.678Z`).
pub(crate) fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn not_found(e: Error, gid: &str) -> Error {
    if e.kind() == ErrorKind::NotFound {
        Error::not_found(format!("ticket {gid}"))
    } else {
        e
    }
}

#[async_trait]
impl TicketProvider for AsanaProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::default();
        c.history = true;
        c.comment_author = true;
        c.private_comments = false;
        c.idempotent_create = true;
        c.idempotent_comment = true;
        c.custom_fields = true;
        c.text_search = true;
        c.updated_since = true;
        c.due = true;
        c.watchers = false;
        c.requester = false;
        c.edit_requester = false;
        c.kind = false;
        c.tags = true;
        c.number = false;
        c.optimistic_concurrency = false;
        c.edit_description = true;
        c.change_feed = true;
        // `DELETE /tasks/{gid}`: the task goes to Asana's trash (restorable there for 30 days).
        c.delete = true;
        c.attachments = true;
        c.idempotent_attachment = false;
        c.max_attachment_size = crate::attachments::MAX_SIZE;
        // One section per status and one tag (or enum option) per priority: all kept exactly.
        c.statuses = Status::ALL.to_vec();
        c.priorities = Priority::ALL.to_vec();
        c.max_page_size = 100;
        c.time_resolution = std::time::Duration::from_millis(1);
        c
    }

    fn workflow(&self) -> &Workflow {
        &self.inner.workflow
    }

    async fn create(&self, new: NewTicket) -> Result<Ticket> {
        new.validate()?;
        Self::unsupported_fields(
            new.requester.is_some(),
            new.kind.is_some(),
            !new.watchers.is_empty(),
        )?;
        if let Some(a) = &new.assignee
            && a.trim().is_empty()
        {
            return Err(Error::invalid_input("assignee must not be blank"));
        }
        match new.idempotency_key.clone() {
            None => self.create_inner(new).await,
            Some(key) => {
                marker::check_key(&key)?;
                self.one_at_a_time(format!("task {key}"), self.create_inner(new))
                    .await
            }
        }
    }

    async fn get(&self, id: &TicketId) -> Result<Ticket> {
        let gid = task_gid(id)?;
        Ok(self.ticket(self.record(gid).await?).await)
    }

    async fn update(&self, id: &TicketId, patch: TicketPatch) -> Result<Ticket> {
        patch.validate()?;
        let gid = task_gid(id)?;
        Self::unsupported_fields(
            patch.requester.as_set().is_some(),
            patch.kind.as_set().is_some(),
            patch.watchers.as_set().is_some_and(|w| !w.is_empty()),
        )?;
        let current = self.record(gid).await?;
        let map = &self.inner.map;
        let now = map.ticket(current.clone());
        if let Some(expected) = &patch.expected_version
            && now.version.as_ref() != Some(expected)
        {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "ticket changed since version {expected} (now {}); re-read it and try again",
                    now.version.as_deref().unwrap_or("?")
                ),
            ));
        }
        if let Some(to) = patch.status.as_set()
            && !patch.skip_workflow
        {
            self.inner.workflow.check(now.status, *to)?;
        }
        let mut body = TaskWrite::default();
        if let Patch::Set(s) = &patch.subject {
            body.name = Some(s.clone());
        }
        if let Some(d) = patch.description.clone().into_option() {
            let key = marker::split(&current.notes).1;
            body.notes = Some(marker::append(&d.unwrap_or_default(), key));
        }
        body.assignee = patch.assignee.clone().into_option();
        body.due_on = patch.due.into_option();
        let status = patch
            .status
            .clone()
            .into_option()
            .map(|s| s.unwrap_or(Status::New));
        let moves = match status {
            Some(to) => self.status_writes(&current, to, &mut body).await?,
            None => StatusWrites::default(),
        };
        let priority = patch
            .priority
            .clone()
            .into_option()
            .map(Option::unwrap_or_default);
        let fields = self
            .field_values(
                &patch.custom_fields,
                priority.filter(|p| *p != now.priority),
            )
            .await?;
        if !fields.is_empty() {
            body.custom_fields = Some(fields);
        }
        let mut record = current.clone();
        let mut more = false;
        match self
            .apply_writes(gid, body, moves.section.as_deref())
            .await
            .map_err(|e| not_found(e, gid))?
        {
            Written::Nothing => {}
            Written::Answered(r) => record = r,
            Written::Moved => more = true,
        }
        let tag_path = |op: &str| format!("/tasks/{gid}/{op}");
        let mut remove: Vec<String> = Vec::new();
        let mut add: Vec<String> = Vec::new();
        if let Some(p) = priority.filter(|p| *p != now.priority && map.priority_field.is_none()) {
            remove.extend(
                current
                    .tags
                    .iter()
                    .filter(|t| t.name.as_deref().is_some_and(|n| map.is_priority_tag(n)))
                    .map(|t| t.gid.clone()),
            );
            add.extend(self.tag_gids(&[], Some(p)).await?);
        }
        if let Some(tags) = patch.tags.clone().into_option() {
            let want = tickets_core::normalize_tags(tags.unwrap_or_default());
            for t in &current.tags {
                let name = t.name.as_deref().unwrap_or_default();
                if !map.is_priority_tag(name) && !want.iter().any(|w| w == name) {
                    remove.push(t.gid.clone());
                }
            }
            let new: Vec<String> = want.into_iter().filter(|w| !now.tags.contains(w)).collect();
            add.extend(self.tag_gids(&new, None).await?);
        }
        for (op, gids) in [("removeTag", &remove), ("addTag", &add)] {
            for tag in gids {
                let p = tag_path(op);
                self.c()
                    .send::<Value>(&Call::write(Method::POST, &p, &json!({"tag": tag})))
                    .await?;
                more = true;
            }
        }
        if more {
            record = self.record(gid).await?;
        }
        Ok(self.ticket(record).await)
    }

    /// As the trait's, but a task left half-reopened (incomplete in a closed status's section,
    /// e.g. by a reopen stopped between its writes and now retried) is reopened, not refused
    /// as already open.
    async fn reopen(&self, id: &TicketId) -> Result<Ticket> {
        let gid = task_gid(id)?;
        let task = self.record(gid).await?;
        let map = &self.inner.map;
        let now = map.status(&task);
        if now.is_open() && !map.half_reopened(&task) {
            return Err(Error::new(
                ErrorKind::InvalidTransition,
                format!("ticket is already open (status {now})"),
            )
            .with_context("ticket", id));
        }
        // A half-reopened task is still where its closed section says.
        let from = map
            .task_section_status(&task)
            .filter(|_| now.is_open())
            .unwrap_or(now);
        let to = self.inner.workflow.reopen_to();
        self.inner
            .workflow
            .check(from, to)
            .map_err(|e| e.with_context("ticket", id))?;
        self.update(id, TicketPatch::new().status(to).skip_workflow())
            .await
    }

    /// `DELETE /tasks/{gid}` after checking the task is in the project (a task elsewhere is
    /// `NotFound`, never deleted): 2 requests.
    async fn delete(&self, id: &TicketId) -> Result<()> {
        let gid = task_gid(id)?;
        self.record(gid).await?;
        let path = format!("/tasks/{gid}");
        let call = Call {
            method: Method::DELETE,
            ..Call::get(&path)
        };
        self.c()
            .send::<Value>(&call)
            .await
            .map_err(|e| not_found(e, gid))?;
        Ok(())
    }

    async fn add_attachment(
        &self,
        id: &TicketId,
        attachment: tickets_core::NewAttachment,
    ) -> Result<tickets_core::Attachment> {
        self.attach(id, attachment).await
    }

    async fn attachments(&self, id: &TicketId) -> Result<Vec<tickets_core::Attachment>> {
        self.list_attachments(id).await
    }

    async fn read_attachment(
        &self,
        attachment_id: &str,
    ) -> Result<tickets_core::AttachmentContent> {
        self.read(attachment_id).await
    }

    async fn add_comment(&self, id: &TicketId, new: NewComment) -> Result<Comment> {
        self.add_comment_story(id, new).await
    }

    async fn comments(&self, id: &TicketId) -> Result<Vec<Comment>> {
        self.comment_stories(id).await
    }

    async fn list(&self, query: &TicketQuery) -> Result<Page<Ticket>> {
        query.validate()?;
        let offset = query.cursor.as_ref().map(Self::parse_cursor).transpose()?;
        let size = query
            .page_size
            .unwrap_or(self.inner.page_size)
            .clamp(1, 100);
        let map = &self.inner.map;
        // Server side: one tag (`GET /tags/{gid}/tasks`: the spec's `GET /tasks` has no `tag`
        // filter), or the project with completion and modified time (`GET /tasks`; its
        // `completed_since` is a date-time, so "incomplete only" is "completed since now").
        let tag_path;
        let mut call = match query.tags.first() {
            Some(tag) => match self.inner.cache.find_tag(self.c(), tag).await? {
                Some(gid) => {
                    tag_path = format!("/tags/{gid}/tasks");
                    Call::get(&tag_path)
                }
                None => return Ok(Page::new(Vec::new(), None)),
            },
            None => {
                let mut call = Call::get("/tasks").query("project", map.project.clone());
                if !query.status.is_empty() && query.status.iter().all(|s| s.is_open()) {
                    call = call.query("completed_since", rfc3339(chrono::Utc::now()));
                }
                if let Some(since) = query.updated_since {
                    call = call.query("modified_since", rfc3339(since));
                }
                call
            }
        }
        .query("limit", size.to_string())
        .query("opt_fields", TASK_FIELDS);
        if let Some(o) = offset {
            call = call.query("offset", o);
        }
        let env = self.c().send::<Vec<TaskRecord>>(&call).await.map_err(|e| {
            if e.kind() == ErrorKind::InvalidInput && offset.is_some() {
                Error::invalid_input(format!(
                    "the cursor was refused by Asana (expired?): {}",
                    e.message()
                ))
            } else {
                project_error(e, &map.project)
            }
        })?;
        // Client side: project membership (for tag lists), then every filter of the query.
        let mut items = Vec::new();
        for t in env.data.into_iter().filter(|t| map.in_project(t)) {
            let t = self.ticket(t).await;
            if query.matches(&t) {
                items.push(t);
            }
        }
        let next = env
            .next_page
            .map(|n| Cursor::new(format!("a1.{}", n.offset)));
        Ok(Page::new(items, next))
    }

    /// The project's events since the token: one `GET /events` (see the crate docs).
    async fn changes(
        &self,
        since: Option<&tickets_core::ChangeToken>,
    ) -> Result<tickets_core::Changes> {
        self.events_since(since).await
    }

    async fn history(&self, id: &TicketId) -> Result<Vec<HistoryEntry>> {
        let gid = task_gid(id)?;
        let task = self.record(gid).await?;
        let stories = self.stories(gid).await?;
        Ok(self.inner.map.history(&task, &stories))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_wrap_asana_offsets_and_refuse_others() {
        let c = Cursor::new("a1.eyJ0eXAiOJiKV1iQLCJhbGciOiJIUzI1NiJ9");
        assert_eq!(
            AsanaProvider::parse_cursor(&c).unwrap(),
            "eyJ0eXAiOJiKV1iQLCJhbGciOiJIUzI1NiJ9"
        );
        for bad in ["not-a-cursor-%%%", "a1.", "a1.x y", "42"] {
            let e = AsanaProvider::parse_cursor(&Cursor::new(bad)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn only_numeric_ids_name_tasks() {
        assert!(task_gid(&TicketId::new("1209000000000001")).is_ok());
        let e = task_gid(&TicketId::new("0190b2c4-uuid")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn capabilities_say_what_asana_keeps() {
        let p = AsanaProvider::new(AsanaConfig::new("t", "1")).unwrap();
        let c = p.capabilities();
        assert!(c.history && c.comment_author && c.idempotent_create && c.custom_fields);
        assert!(
            c.idempotent_comment,
            "comments carry their key as a marker line"
        );
        assert!(!c.private_comments && !c.requester && !c.kind && !c.number);
        assert!(c.change_feed, "the events API");
        assert_eq!(c.statuses.len(), 8);
        assert_eq!(c.max_page_size, 100);
        assert_eq!(p.kind(), "asana");
    }
}
