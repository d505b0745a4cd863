//! The change feed over Asana's events API: `GET /events?resource=<project>&sync=<token>`,
//! one request per call.
//!
//! Without a token, or with one Asana no longer knows (tokens live at most 24 hours), Asana
//! answers `412` with a fresh token: the feed answers `resync` with it. Otherwise Asana sends
//! the project's events since the token (at most 100, `has_more` when more wait, and the token
//! to continue from). Events "bubble up": the project's stream has its tasks' events and the
//! events of their stories (comments and system stories), whose `parent` is the task. The feed
//! folds them into task gids, in the order first seen:
//!
//! | Event | The task |
//! |---|---|
//! | task `changed` | changed |
//! | task `added` to this project, task `undeleted` | changed (also after a deletion in the same answer) |
//! | task `added` to or `removed` from a section, tag or other project | changed |
//! | task `removed` from this project | deleted (gone from the project) |
//! | task `deleted` | deleted |
//! | a subtask `added` to or `removed` from a task | the parent task changed |
//! | any other resource (story, attachment, ...) whose `parent` is a task | that task changed |
//! | anything else (project, section events; a story event without a parent) | not named |
//!
//! A deleted task stays deleted in an answer unless it is added back or undeleted later in it.

use std::collections::HashMap;

use serde::Deserialize;
use tickets_core::{ChangeToken, Changes, Error, ErrorKind, Result, TicketId};

use crate::cache::project_error;
use crate::client::Call;
use crate::error::SYNC_CONTEXT;
use crate::provider::AsanaProvider;

/// One event, as far as the feed reads it.
#[derive(Debug, Deserialize)]
pub(crate) struct Event {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub resource: Option<Resource>,
    #[serde(default)]
    pub parent: Option<Resource>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Resource {
    pub gid: String,
    #[serde(default)]
    pub resource_type: Option<String>,
}

impl Resource {
    fn is(&self, kind: &str) -> bool {
        self.resource_type.as_deref() == Some(kind)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Changed,
    Deleted,
}

/// Task gids in the order first seen, each changed or deleted.
#[derive(Debug, Default)]
struct Fold {
    order: Vec<String>,
    seen: HashMap<String, Seen>,
}

impl Fold {
    fn set(&mut self, gid: &str, to: Seen, overrides_deleted: bool) {
        match self.seen.get_mut(gid) {
            None => {
                self.order.push(gid.to_owned());
                self.seen.insert(gid.to_owned(), to);
            }
            Some(s) if *s == Seen::Deleted && to == Seen::Changed && !overrides_deleted => {}
            Some(s) => *s = to,
        }
    }

    fn event(&mut self, e: &Event, project: &str) {
        let Some(res) = &e.resource else { return };
        let parent = e.parent.as_ref();
        let parent_task = parent.filter(|p| p.is("task"));
        if !res.is("task") {
            if let Some(p) = parent_task {
                self.set(&p.gid, Seen::Changed, false);
            }
            return;
        }
        let this_project = parent.is_some_and(|p| p.is("project") && p.gid == project);
        match (e.action.as_str(), parent_task) {
            // A subtask joined or left a task: the task changed.
            ("added" | "removed", Some(p)) => self.set(&p.gid, Seen::Changed, false),
            ("deleted", _) => self.set(&res.gid, Seen::Deleted, true),
            ("removed", None) if this_project => self.set(&res.gid, Seen::Deleted, true),
            ("added", None) if this_project => self.set(&res.gid, Seen::Changed, true),
            ("undeleted", _) => self.set(&res.gid, Seen::Changed, true),
            _ => self.set(&res.gid, Seen::Changed, false),
        }
    }

    fn into_changes(self, next: ChangeToken) -> Changes {
        let mut changed = Vec::new();
        let mut deleted = Vec::new();
        for gid in self.order {
            match self.seen[&gid] {
                Seen::Changed => changed.push(TicketId::new(gid)),
                Seen::Deleted => deleted.push(TicketId::new(gid)),
            }
        }
        Changes::new(changed, deleted, next)
    }
}

/// What a page of events says about the project's tasks.
pub(crate) fn fold(events: &[Event], project: &str, next: ChangeToken) -> Changes {
    let mut f = Fold::default();
    for e in events {
        f.event(e, project);
    }
    f.into_changes(next)
}

impl AsanaProvider {
    /// One `GET /events` on the configured project (see the module docs).
    pub(crate) async fn events_since(&self, since: Option<&ChangeToken>) -> Result<Changes> {
        let project = self.inner.map.project.clone();
        let mut call = Call::get("/events").query("resource", project.clone());
        if let Some(token) = since {
            call = call.query("sync", token.as_str());
        }
        let answer = match self.c().send::<Vec<Event>>(&call).await {
            Ok(a) => a,
            Err(e) if e.kind() == ErrorKind::Conflict => {
                let fresh = e
                    .context()
                    .iter()
                    .find(|(k, _)| *k == SYNC_CONTEXT)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| {
                        Error::unexpected(format!(
                            "Asana refused the events request without a fresh sync token: {}",
                            e.message()
                        ))
                    })?;
                if since.is_some() {
                    tracing::info!(
                        project = %project,
                        "Asana no longer knows the events sync token (older than 24 h?); resyncing"
                    );
                }
                return Ok(Changes::resync(ChangeToken::new(fresh)));
            }
            Err(e) => return Err(project_error(e, &project)),
        };
        let next = answer.sync.ok_or_else(|| {
            Error::unexpected("Asana answered the events request without a sync token")
        })?;
        Ok(fold(&answer.data, &project, ChangeToken::new(next)).with_more(answer.has_more))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ev(v: serde_json::Value) -> Event {
        serde_json::from_value(v).unwrap()
    }

    fn task(gid: &str) -> serde_json::Value {
        json!({"gid": gid, "resource_type": "task", "name": "t", "resource_subtype": "default_task"})
    }

    fn ids(v: &[TicketId]) -> Vec<&str> {
        v.iter().map(TicketId::as_str).collect()
    }

    #[test]
    fn events_fold_into_changed_and_deleted_tasks_once_each() {
        let project = json!({"gid": "100", "resource_type": "project", "name": "Tickets"});
        let other = json!({"gid": "200", "resource_type": "project", "name": "Other"});
        let section = json!({"gid": "300", "resource_type": "section", "name": "Doing"});
        let story = |gid: &str, parent: &str| {
            ev(
                json!({"action": "added", "user": null, "created_at": "2026-01-01T00:00:00.000Z",
                "resource": {"gid": gid, "resource_type": "story", "resource_subtype": "comment_added"},
                "parent": task(parent), "type": "story"}),
            )
        };
        let events = vec![
            ev(json!({"action": "added", "resource": task("1"), "parent": project})),
            story("s1", "1"),
            ev(
                json!({"action": "changed", "resource": task("2"), "parent": null,
                "change": {"field": "name", "action": "changed"}}),
            ),
            story("s2", "2"),
            ev(json!({"action": "added", "resource": task("3"), "parent": section})),
            ev(json!({"action": "removed", "resource": task("4"), "parent": project})),
            story("s4", "4"),
            ev(json!({"action": "deleted", "resource": task("5"), "parent": null})),
            ev(json!({"action": "removed", "resource": task("6"), "parent": other})),
            ev(json!({"action": "added", "resource": task("7"), "parent": task("8")})),
            ev(json!({"action": "deleted", "resource": task("9"), "parent": null})),
            ev(json!({"action": "undeleted", "resource": task("9"), "parent": null})),
            ev(json!({"action": "changed", "resource": project, "parent": null})),
            ev(
                json!({"action": "changed", "resource": {"gid": "s1", "resource_type": "story"},
                "parent": null}),
            ),
        ];
        let c = fold(&events, "100", ChangeToken::new("next"));
        assert_eq!(ids(&c.changed), ["1", "2", "3", "6", "8", "9"]);
        assert_eq!(ids(&c.deleted), ["4", "5"]);
        assert!(!c.resync && !c.more);
        assert_eq!(c.next.as_str(), "next");
    }

    #[test]
    fn a_task_added_back_after_leaving_counts_as_changed() {
        let project = json!({"gid": "100", "resource_type": "project"});
        let events = vec![
            ev(json!({"action": "removed", "resource": task("1"), "parent": project})),
            ev(json!({"action": "added", "resource": task("1"), "parent": project})),
            ev(json!({"action": "added", "resource": task("2"), "parent": project})),
            ev(json!({"action": "removed", "resource": task("2"), "parent": project})),
        ];
        let c = fold(&events, "100", ChangeToken::new("n"));
        assert_eq!(ids(&c.changed), ["1"]);
        assert_eq!(ids(&c.deleted), ["2"]);
    }
}
