//! Creating tasks without duplicates: an idempotency key is kept as a marker line in the
//! task's notes and looked up before (re)sending; a create that failed in a way that may have
//! been applied is looked up by its content before it is sent again.

use std::collections::BTreeMap;

use chrono::{Duration as TimeDelta, Utc};
use reqwest::Method;
use serde_json::Value;
use tickets_core::{ErrorKind, NewTicket, Patch, Result, Ticket, marker};

use crate::cache::project_error;
use crate::client::{Call, Repeat};
use crate::provider::{AsanaProvider, lock};
use crate::types::{MembershipWrite, TASK_FIELDS, TaskRecord, TaskWrite};

/// A task as scanned for idempotency markers.
#[derive(Debug, serde::Deserialize)]
struct Marked {
    gid: String,
    #[serde(default)]
    notes: String,
}

impl AsanaProvider {
    /// After a create failed in a way that may have been applied: the task it made, if any
    /// (same name and notes, made by the token's user since `since`, not claimed yet).
    async fn find_created(
        &self,
        name: &str,
        notes: &str,
        since: chrono::DateTime<Utc>,
    ) -> Result<Option<TaskRecord>> {
        let me = self.inner.cache.me(self.c()).await?.gid.clone();
        let call = Call::get("/tasks")
            .query("project", self.inner.map.project.clone())
            .query(
                "modified_since",
                since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            )
            .query("opt_fields", TASK_FIELDS);
        let tasks: Vec<TaskRecord> = self.c().all(call).await?;
        let claimed = lock(&self.inner.claimed);
        Ok(tasks.into_iter().find(|t| {
            t.name == name
                && t.notes == notes
                && t.created_at >= since
                && t.created_by.as_ref().is_some_and(|u| u.gid == me)
                && !claimed.contains(&t.gid)
        }))
    }

    /// The task carrying the idempotency marker `key` in the project, if any.
    async fn find_by_key(&self, key: &str) -> Result<Option<TaskRecord>> {
        let cached = lock(&self.inner.keys).get(key).cloned();
        if let Some(gid) = cached {
            match self.record(&gid).await {
                Ok(t) => return Ok(Some(t)),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    lock(&self.inner.keys).remove(key);
                }
                Err(e) => return Err(e),
            }
        }
        // Only the notes are read while scanning: the marker is all that is looked for.
        let mut call = Call::get("/tasks")
            .query("project", self.inner.map.project.clone())
            .query("opt_fields", "notes");
        if let Some(window) = self.inner.key_window {
            let since = Utc::now() - window;
            call = call.query(
                "modified_since",
                since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            );
        }
        let tasks: Vec<Marked> = self
            .c()
            .all(call)
            .await
            .map_err(|e| project_error(e, &self.inner.map.project))?;
        match tasks
            .into_iter()
            .find(|t| marker::split(&t.notes).1 == Some(key))
        {
            Some(t) => self.record(&t.gid).await.map(Some),
            None => Ok(None),
        }
    }

    pub(crate) async fn create_inner(&self, new: NewTicket) -> Result<Ticket> {
        let key = new.idempotency_key.clone();
        if let Some(k) = &key
            && let Some(task) = self.find_by_key(k).await?
        {
            lock(&self.inner.keys).insert(k.clone(), task.gid.clone());
            return Ok(self.inner.map.ticket(task));
        }
        let map = &self.inner.map;
        let section = self
            .inner
            .cache
            .section(self.c(), map.section_of(new.status))
            .await?;
        let fields: BTreeMap<String, Patch<Value>> = new
            .custom_fields
            .iter()
            .map(|(k, v)| (k.clone(), Patch::Set(v.clone())))
            .collect();
        let notes = marker::append(&new.description, key.as_deref());
        let body = TaskWrite {
            name: Some(new.subject.clone()),
            notes: Some(notes.clone()),
            assignee: new.assignee.clone().map(Some),
            due_on: new.due.map(Some),
            completed: (!new.status.is_open()).then_some(true),
            custom_fields: Some(self.field_values(&fields, Some(new.priority)).await?),
            memberships: Some(vec![MembershipWrite {
                project: map.project.clone(),
                section,
            }]),
            tags: Some(self.tag_gids(&new.tags, Some(new.priority)).await?),
            ..TaskWrite::default()
        };
        let since = Utc::now() - TimeDelta::seconds(2);
        let call = Call::write(Method::POST, "/tasks", &body, Repeat::Once)
            .query("opt_fields", TASK_FIELDS);
        let mut attempts = 0;
        let task = loop {
            match self.c().send::<TaskRecord>(&call).await {
                Ok(env) => break env.data,
                Err(e) if e.is_retryable() && attempts < self.inner.max_retries => {
                    attempts += 1;
                    let found = match &key {
                        Some(k) => self.find_by_key(k).await?,
                        None => self.find_created(&new.subject, &notes, since).await?,
                    };
                    if let Some(task) = found {
                        tracing::debug!(task = %task.gid, "create was applied before it failed; not sending it again");
                        break task;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempts)).await;
                }
                Err(e) => return Err(e),
            }
        };
        lock(&self.inner.claimed).insert(task.gid.clone());
        if let Some(k) = key {
            lock(&self.inner.keys).insert(k, task.gid.clone());
        }
        Ok(map.ticket(task))
    }
}
