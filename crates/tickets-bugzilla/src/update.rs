//! Updates: one read of the bug (and of comment 0 unless remembered), the writes, and the
//! ticket built from the bug as read with each answer's `changes` applied (no read-back).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use tickets_core::{
    Error, ErrorKind, Patch, Priority, Result, Status, Ticket, TicketId, TicketPatch,
    TicketProvider,
};

use crate::client::segment;
use crate::convert::{self, Whiteboard, check_tag};
use crate::provider::{BugzillaProvider, custom_field};
use crate::status;

impl BugzillaProvider {
    /// `update`, also for `change_status` and `reopen` (`reopening`: the bug must read as
    /// closed), with one read of the bug.
    pub(crate) async fn update_from(
        &self,
        id: &TicketId,
        patch: TicketPatch,
        reopening: bool,
    ) -> Result<Ticket> {
        patch.validate()?;
        if let Patch::Set(tags) = &patch.tags {
            for t in tags {
                check_tag(t)?;
            }
        }
        if !patch.requester.is_keep() {
            return Err(Error::unsupported(
                "the requester is part of the bug's description (comment 0), which Bugzilla \
                 cannot edit; it is set when the ticket is created",
            ));
        }
        if !patch.kind.is_keep() {
            return Err(Error::unsupported("Bugzilla 5.x has no ticket kind"));
        }
        for name in patch.custom_fields.keys() {
            custom_field(&self.cfg, name)?;
        }
        let meta = self.meta().await?;
        let meta = &*meta;
        let (bug, description) = self
            .bug_and_description(id.as_str())
            .await
            .map_err(|e| e.with_context("ticket", id))?;
        let mapping = self.mapping(meta);
        let current = convert::to_ticket(&bug, String::new(), &mapping);
        if reopening && current.status.is_open() {
            return Err(Error::new(
                ErrorKind::InvalidTransition,
                format!("ticket is already open (status {})", current.status),
            )
            .with_context("ticket", id));
        }
        if let Some(expected) = &patch.expected_version
            && current.version.as_ref() != Some(expected)
        {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "bug changed since version {expected} (now {}); re-read it and try again",
                    current.version.as_deref().unwrap_or("?")
                ),
            )
            .with_context("ticket", id));
        }
        let mut body = Map::new();
        if let Patch::Set(s) = &patch.subject
            && s.trim() != bug.summary
        {
            body.insert("summary".into(), json!(s.trim()));
        }
        // The status is reached from what the server shows now (see `status::plan`), so a
        // repeated or resumed change converges; `skip_workflow` only drops the canonical check.
        let target = match patch.status {
            Patch::Set(to) => Some(to),
            _ => None,
        };
        let mut status = current.status;
        if let Some(to) = target {
            if to != current.status {
                if !patch.skip_workflow {
                    self.workflow()
                        .check(current.status, to)
                        .map_err(|e| e.with_context("ticket", id))?;
                }
                if to == Status::Escalated && self.cfg.escalate_priority && patch.priority.is_keep()
                {
                    body.insert(
                        "priority".into(),
                        json!(self.priority_value(meta, Priority::Critical)?),
                    );
                }
            }
            status = to;
        }
        if let Some(p) = patch.priority.into_option() {
            let value = self.priority_value(meta, p.unwrap_or_default())?;
            if value != bug.priority {
                body.insert("priority".into(), json!(value));
            }
        }
        match &patch.assignee {
            Patch::Set(a) if !a.trim().eq_ignore_ascii_case(&bug.assigned_to) => {
                body.insert("assigned_to".into(), json!(a.trim()));
            }
            Patch::Clear if current.assignee.is_some() => {
                body.insert("reset_assigned_to".into(), json!(true));
            }
            _ => {}
        }
        if let Some(w) = patch.watchers.into_option() {
            let want: BTreeSet<String> = w.unwrap_or_default().into_iter().collect();
            let have: BTreeSet<String> = bug.cc.iter().cloned().collect();
            let add: Vec<&String> = want.difference(&have).collect();
            let remove: Vec<&String> = have.difference(&want).collect();
            if !add.is_empty() || !remove.is_empty() {
                body.insert("cc".into(), json!({"add": add, "remove": remove}));
            }
        }
        if let Some(d) = patch.due.into_option() {
            let d = d.map(|d| d.to_string());
            if d != bug.deadline {
                body.insert("deadline".into(), json!(d.unwrap_or_default()));
            }
        }
        for (name, p) in &patch.custom_fields {
            let field = custom_field(&self.cfg, name)?;
            let value = match p {
                Patch::Keep => continue,
                Patch::Set(v) => convert::write_custom(v),
                // Bugzilla has no empty integer: clearing one stores 0 (a real 5.0.6), so 0 is
                // what is sent and compared.
                Patch::Clear if meta.field_types.get(field) == Some(&10) => json!("0"),
                Patch::Clear => Value::String(String::new()),
            };
            if bug.extra.get(field) != Some(&value) {
                body.insert(field.to_owned(), value);
            }
        }
        let tags = patch.tags.into_option().map(Option::unwrap_or_default);
        let wb = status::whiteboard(&self.statuses, &bug.whiteboard, tags.as_deref(), status);
        let steps = match target {
            Some(to) => status::plan(
                &self.statuses,
                &meta.transitions,
                &bug,
                to,
                &Whiteboard::parse(&wb).tokens,
            )
            .map_err(|e| e.with_context("ticket", id))?,
            None => Vec::new(),
        };
        if wb != bug.whiteboard {
            body.insert("whiteboard".into(), json!(wb));
        }
        if let Some(d) = patch.description.into_option() {
            // Bugzilla cannot edit comment 0: the new text goes in as a comment.
            let text = match d {
                Some(d) if !d.trim().is_empty() => format!("Description updated:\n\n{d}"),
                _ => "Description cleared.".to_owned(),
            };
            body.insert("comment".into(), json!({"body": text}));
        }
        // Every field change rides with the first status step, so a refused change (bad
        // assignee, ...) fails before any status moved; further steps carry the status only.
        let mut puts = steps.into_iter();
        let mut first = puts.next().unwrap_or_default();
        status::merge_into_step(&mut first, body);
        let path = format!("/bug/{}", segment(id.as_str()));
        // The ticket is the bug as read with each answer's `changes` applied: no read-back.
        let mut bug = bug;
        for put in std::iter::once(first).chain(puts) {
            if put.is_empty() {
                continue;
            }
            let answer = self
                .client
                .put(&path, Value::Object(put))
                .await
                .map_err(|e| e.with_context("ticket", id))?;
            convert::apply_changes(&mut bug, &answer, |s| meta.transitions.is_open(s))
                .map_err(|e| e.with_context("ticket", id))?;
        }
        Ok(convert::to_ticket(&bug, description, &mapping))
    }
}
