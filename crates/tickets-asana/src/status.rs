//! Status updates: a task shows a status through two things Asana keeps apart, the
//! `completed` flag and the section it sits in within the project. An update sets both from
//! what the task shows now, so whatever an interrupted earlier update left (completed in the
//! old section, incomplete in a closed status's section, in no mapped section) converges, and
//! a task already there costs no write.

use reqwest::Method;
use serde_json::{Value, json};
use tickets_core::{Result, Status};

use crate::client::Call;
use crate::provider::AsanaProvider;
use crate::types::{TASK_FIELDS, TaskRecord, TaskWrite};

/// What [`AsanaProvider::apply_writes`] did.
#[derive(Debug)]
pub(crate) enum Written {
    /// Nothing needed writing.
    Nothing,
    /// The last write was a `PUT`; its answer shows the task.
    Answered(TaskRecord),
    /// The last write was a move: the task must be read back.
    Moved,
}

/// The writes that make a task show a status.
#[derive(Debug, Default)]
pub(crate) struct StatusWrites {
    /// The section to move the task into (`POST /sections/{gid}/addTask`), when it is elsewhere.
    pub section: Option<String>,
}

impl AsanaProvider {
    /// Puts the `completed` flag `to` needs into `body` (when it differs from the task's) and
    /// finds the section the task must move into (when it is not in `to`'s section already).
    pub(crate) async fn status_writes(
        &self,
        task: &TaskRecord,
        to: Status,
        body: &mut TaskWrite,
    ) -> Result<StatusWrites> {
        let map = &self.inner.map;
        let completed = !to.is_open();
        if task.completed != completed {
            body.completed = Some(completed);
        }
        let target = self
            .inner
            .cache
            .section(self.c(), map.section_of(to))
            .await?;
        let here = task
            .memberships
            .iter()
            .filter(|m| m.project.as_ref().is_some_and(|p| p.gid == map.project))
            .find_map(|m| m.section.as_ref())
            .map(|s| s.gid.as_str());
        Ok(StatusWrites {
            section: (here != Some(target.as_str())).then_some(target),
        })
    }

    /// Sends an update's field writes (`body`) and its section move in an order that never
    /// leaves a call stopped half-way reading `Closed` (a completed task in an open status's
    /// section), from which the workflow may refuse the retried call: the write that clears
    /// `completed` goes before the move, the one that sets it after. Between the writes the
    /// task reads `New` (incomplete in a closed status's section, or incomplete in its old
    /// one). Other fields go first, so a refused field moves nothing.
    pub(crate) async fn apply_writes(
        &self,
        gid: &str,
        body: TaskWrite,
        section: Option<&str>,
    ) -> Result<Written> {
        let Some(section) = section else {
            if body.is_empty() {
                return Ok(Written::Nothing);
            }
            return self.put_task(gid, &body).await.map(Written::Answered);
        };
        if body.completed == Some(true) {
            let mut rest = body;
            rest.completed = None;
            if !rest.is_empty() {
                self.put_task(gid, &rest).await?;
            }
            self.move_to_section(gid, section).await?;
            let done = TaskWrite {
                completed: Some(true),
                ..TaskWrite::default()
            };
            // The last write's answer shows the task whole, the new section included.
            return self.put_task(gid, &done).await.map(Written::Answered);
        }
        if !body.is_empty() {
            self.put_task(gid, &body).await?;
        }
        self.move_to_section(gid, section).await?;
        Ok(Written::Moved)
    }

    async fn put_task(&self, gid: &str, body: &TaskWrite) -> Result<TaskRecord> {
        let path = format!("/tasks/{gid}");
        let call = Call::write(Method::PUT, &path, body).query("opt_fields", TASK_FIELDS);
        Ok(self.c().send::<TaskRecord>(&call).await?.data)
    }

    /// Moves the task into a section of the project (out of the project's other sections).
    pub(crate) async fn move_to_section(&self, gid: &str, section: &str) -> Result<()> {
        let path = format!("/sections/{section}/addTask");
        self.c()
            .send::<Value>(&Call::write(Method::POST, &path, &json!({"task": gid})))
            .await?;
        Ok(())
    }
}
