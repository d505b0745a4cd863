//! Creating tasks without duplicates: an idempotency key is kept as a marker line in the
//! task's notes and looked up before (re)sending; a create without a key that failed in a way
//! that may have been applied is looked up by its content once, so the error can say whether
//! it was applied (the retry layer re-sends only what was not).

use std::collections::BTreeMap;

use chrono::{Duration as TimeDelta, Utc};
use reqwest::Method;
use serde_json::Value;
use tickets_core::{Error, ErrorKind, NewTicket, Patch, Result, Ticket, marker};

use crate::cache::project_error;
use crate::client::Call;
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

    /// The `POST /tasks` body of `new` (sections, tags, fields and options looked up or made).
    async fn task_body(&self, new: &NewTicket, notes: String) -> Result<TaskWrite> {
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
        Ok(TaskWrite {
            name: Some(new.subject.clone()),
            notes: Some(notes),
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
        })
    }

    pub(crate) async fn create_inner(&self, new: NewTicket) -> Result<Ticket> {
        let key = new.idempotency_key.clone();
        if let Some(k) = &key
            && let Some(task) = self.find_by_key(k).await.map_err(not_sent)?
        {
            lock(&self.inner.keys).insert(k.clone(), task.gid.clone());
            return Ok(self.ticket(task).await);
        }
        let notes = marker::append(&new.description, key.as_deref());
        // Until the POST is sent the task certainly was not created: a failure here may be
        // retried even without a key (sections and tags made on the way are found again).
        let body = self
            .task_body(&new, notes.clone())
            .await
            .map_err(not_sent)?;
        let since = Utc::now() - TimeDelta::seconds(2);
        let call = Call::write(Method::POST, "/tasks", &body).query("opt_fields", TASK_FIELDS);
        let task = match self.c().send::<TaskRecord>(&call).await {
            Ok(env) => env.data,
            // A keyed create is looked up by its key when the retry layer sends it again.
            Err(e) if key.is_none() && maybe_applied(&e) => {
                match self.find_created(&new.subject, &notes, since).await {
                    Ok(Some(task)) => {
                        tracing::debug!(task = %task.gid, "create was applied before it failed");
                        task
                    }
                    Ok(None) => return Err(settled(e)),
                    // Unknown whether it was applied: the create's own error says so.
                    Err(_) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        lock(&self.inner.claimed).insert(task.gid.clone());
        if let Some(k) = key {
            lock(&self.inner.keys).insert(k, task.gid.clone());
        }
        Ok(self.ticket(task).await)
    }
}

/// A failure after which the request may or may not have been applied.
pub(crate) fn maybe_applied(e: &Error) -> bool {
    e.is_retryable() && !e.was_not_applied()
}

/// The error of a request that was looked for after `e` and is not there: certainly not
/// applied, unless it timed out (Asana may still be working on it).
pub(crate) fn settled(e: Error) -> Error {
    if e.kind() == ErrorKind::Timeout {
        e
    } else {
        e.with_not_applied()
    }
}

/// An error met before the call's one non-idempotent write was sent: the call was not applied.
pub(crate) fn not_sent(e: Error) -> Error {
    e.with_not_applied()
}
