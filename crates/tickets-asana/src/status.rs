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
use crate::types::{TaskRecord, TaskWrite};

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

    /// Moves the task into a section of the project (out of the project's other sections).
    pub(crate) async fn move_to_section(&self, gid: &str, section: &str) -> Result<()> {
        let path = format!("/sections/{section}/addTask");
        self.c()
            .send::<Value>(&Call::write(Method::POST, &path, &json!({"task": gid})))
            .await?;
        Ok(())
    }
}

/// True when a `PUT` of `body` cannot be refused for its content: it sets nothing but the
/// `completed` flag. The section move may then go first, so the `PUT` answer (the whole task)
/// already shows the new section and no read-back is needed.
pub(crate) fn only_completed(body: &TaskWrite) -> bool {
    let mut rest = body.clone();
    rest.completed = None;
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_completed_flag_lets_the_move_go_first() {
        assert!(only_completed(&TaskWrite::default()));
        let done = TaskWrite {
            completed: Some(true),
            ..TaskWrite::default()
        };
        assert!(only_completed(&done));
        let renamed = TaskWrite {
            completed: Some(true),
            name: Some("x".into()),
            ..TaskWrite::default()
        };
        assert!(!only_completed(&renamed));
    }
}
