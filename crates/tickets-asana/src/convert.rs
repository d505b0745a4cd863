//! Asana records <-> tickets: status <-> section (and `completed`), priority <-> tag (or enum
//! custom field), notes <-> description (minus the idempotency marker), comment author and
//! idempotency marker kept in the story text, system stories -> history.

use std::collections::BTreeMap;

use tickets_core::{
    Comment, HistoryAction, HistoryEntry, Priority, Status, Ticket, TicketId, Value, marker,
    normalize_tags,
};

use crate::config::Maps;
use crate::types::{FieldValue, StoryRecord, TaskRecord};

/// The provider kind.
pub const KIND: &str = "asana";

/// How tasks map onto tickets for one backend.
#[derive(Debug, Clone)]
pub(crate) struct Mapping {
    pub project: String,
    pub maps: Maps,
    pub priority_field: Option<String>,
}

impl Mapping {
    /// The status a section name stands for (case-insensitive).
    pub fn status_of_section(&self, name: &str) -> Option<Status> {
        self.maps
            .sections
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(s, _)| *s)
    }

    pub fn section_of(&self, status: Status) -> &str {
        &self.maps.sections[&status]
    }

    pub fn priority_name(&self, p: Priority) -> &str {
        &self.maps.priorities[&p]
    }

    /// The priority a tag or option name stands for.
    pub fn priority_of_name(&self, name: &str) -> Option<Priority> {
        self.maps
            .priorities
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(p, _)| *p)
    }

    /// True for the tag names that carry priorities (when priorities live in tags).
    pub fn is_priority_tag(&self, name: &str) -> bool {
        self.priority_field.is_none() && self.priority_of_name(name).is_some()
    }

    /// A task's status: the mapped section it sits in within the project, reconciled with
    /// `completed` (a completed task in an open section reads `Closed`; an incomplete task in a
    /// closed section reads `New`, as after a reopen in Asana's UI). No mapped section:
    /// `Closed` if completed, else `New`.
    pub fn status(&self, task: &TaskRecord) -> Status {
        match (self.task_section_status(task), task.completed) {
            (Some(s), done) if s.is_open() != done => s,
            (Some(_), true) | (None, true) => Status::Closed,
            (Some(_), false) | (None, false) => Status::New,
        }
    }

    /// The status whose section the task sits in within the project, if any.
    pub fn task_section_status(&self, task: &TaskRecord) -> Option<Status> {
        task.memberships
            .iter()
            .filter(|m| m.project.as_ref().is_some_and(|p| p.gid == self.project))
            .find_map(|m| m.section.as_ref()?.name.as_deref())
            .and_then(|n| self.status_of_section(n))
    }

    /// True for a task that is incomplete in a closed status's section: what a reopen stopped
    /// between its two writes leaves (it reads `New`), and what un-completing a closed task
    /// in Asana's UI leaves.
    pub fn half_reopened(&self, task: &TaskRecord) -> bool {
        !task.completed && self.task_section_status(task).is_some_and(|s| !s.is_open())
    }

    pub fn priority(&self, task: &TaskRecord) -> Priority {
        match &self.priority_field {
            Some(field) => task
                .custom_fields
                .iter()
                .filter(|f| {
                    f.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(field))
                })
                .find_map(|f| f.enum_value.as_ref()?.name.as_deref())
                .and_then(|n| self.priority_of_name(n))
                .unwrap_or_default(),
            None => task
                .tags
                .iter()
                .filter_map(|t| t.name.as_deref())
                .filter_map(|n| self.priority_of_name(n))
                .min()
                .unwrap_or_default(),
        }
    }

    /// True when the task is a member of the backend's project.
    pub fn in_project(&self, task: &TaskRecord) -> bool {
        task.memberships
            .iter()
            .any(|m| m.project.as_ref().is_some_and(|p| p.gid == self.project))
    }

    pub fn ticket(&self, task: TaskRecord) -> Ticket {
        let status = self.status(&task);
        let priority = self.priority(&task);
        let (description, _) = marker::split(&task.notes);
        let mut t = Ticket::new(
            TicketId::new(task.gid.clone()),
            KIND,
            task.name.clone(),
            task.created_at,
        );
        t.description = description.to_owned();
        t.status = status;
        t.priority = priority;
        t.assignee = task.assignee.as_ref().map(|a| a.key());
        t.tags = normalize_tags(
            task.tags
                .iter()
                .filter_map(|x| x.name.clone())
                .filter(|n| !self.is_priority_tag(n)),
        );
        t.due = task.due_on;
        t.custom_fields = task
            .custom_fields
            .iter()
            .filter(|f| {
                let name = f.name.as_deref().unwrap_or_default();
                !self
                    .priority_field
                    .as_deref()
                    .is_some_and(|p| p.eq_ignore_ascii_case(name))
            })
            .filter_map(|f| Some((f.name.clone()?, field_value(f)?)))
            .collect::<BTreeMap<_, _>>();
        t.url = task.permalink_url.clone();
        t.updated_at = task.modified_at.unwrap_or(task.created_at);
        t.version = task
            .modified_at
            .map(|m| m.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        t.links.insert(KIND.to_owned(), task.gid);
        t
    }

    /// A status name for history: the status a section stands for, else the section's name.
    fn section_status(&self, name: Option<&str>) -> Option<String> {
        let name = name?;
        Some(
            self.status_of_section(name)
                .map_or_else(|| name.to_owned(), |s| s.to_string()),
        )
    }

    /// History entries from a task's stories (oldest first) after a `Created` entry.
    pub fn history(&self, task: &TaskRecord, stories: &[StoryRecord]) -> Vec<HistoryEntry> {
        let mut out = vec![HistoryEntry::new(HistoryAction::Created, task.created_at)];
        for s in stories {
            let actor = s.created_by.as_ref().map(|u| u.key());
            let change = |field: &str, old: Option<String>, new: Option<String>| {
                HistoryEntry::change(field, old, new, s.created_at)
            };
            let entry = match s.resource_subtype.as_str() {
                "comment_added" => {
                    let (author, _) = parse_comment(marker::split(&s.text).0);
                    let mut e = HistoryEntry::new(HistoryAction::CommentAdded, s.created_at);
                    e.actor = author.or(actor.clone());
                    out.push(e);
                    continue;
                }
                "section_changed" => change(
                    "status",
                    self.section_status(s.old_section.as_ref().and_then(|x| x.name.as_deref())),
                    self.section_status(s.new_section.as_ref().and_then(|x| x.name.as_deref())),
                ),
                "marked_complete" => change("completed", Some("false".into()), Some("true".into())),
                "marked_incomplete" => {
                    change("completed", Some("true".into()), Some("false".into()))
                }
                "assigned" => change("assignee", None, s.assignee.as_ref().map(|a| a.key())),
                "unassigned" => change("assignee", None, None),
                "name_changed" => change("subject", s.old_name.clone(), s.new_name.clone()),
                "notes_changed" => change("description", None, None),
                "due_date_changed" => change(
                    "due",
                    s.old_dates.as_ref().and_then(|d| d.due_on.clone()),
                    s.new_dates.as_ref().and_then(|d| d.due_on.clone()),
                ),
                sub @ ("added_to_tag" | "removed_from_tag") => {
                    let name = s.tag.as_ref().and_then(|t| t.name.clone());
                    let added = sub == "added_to_tag";
                    match name.as_deref().filter(|n| self.is_priority_tag(n)) {
                        Some(n) if added => change(
                            "priority",
                            None,
                            self.priority_of_name(n).map(|p| p.to_string()),
                        ),
                        Some(_) => continue,
                        None if added => change("tags", None, name),
                        None => change("tags", name, None),
                    }
                }
                sub if sub.ends_with("_custom_field_changed") => {
                    let field = s
                        .custom_field
                        .as_ref()
                        .and_then(|f| f.name.clone())
                        .unwrap_or_default();
                    let fmt = |v: Option<String>| v.map(|v| format!("{field}={v}"));
                    let (old, new) = match sub {
                        "text_custom_field_changed" => {
                            (s.old_text_value.clone(), s.new_text_value.clone())
                        }
                        "number_custom_field_changed" => (
                            s.old_number_value
                                .as_ref()
                                .filter(|v| !v.is_null())
                                .map(Value::to_string),
                            s.new_number_value
                                .as_ref()
                                .filter(|v| !v.is_null())
                                .map(Value::to_string),
                        ),
                        _ => (
                            s.old_enum_value.as_ref().and_then(|o| o.name.clone()),
                            s.new_enum_value.as_ref().and_then(|o| o.name.clone()),
                        ),
                    };
                    let is_priority = self
                        .priority_field
                        .as_deref()
                        .is_some_and(|p| p.eq_ignore_ascii_case(&field));
                    if is_priority {
                        let p = |n: Option<String>| {
                            n.and_then(|n| self.priority_of_name(&n))
                                .map(|p| p.to_string())
                        };
                        change("priority", p(old), p(new))
                    } else {
                        let mut e = change("custom_field", fmt(old), fmt(new));
                        e.action = HistoryAction::Updated;
                        e
                    }
                }
                _ => continue,
            };
            out.push(match actor {
                Some(a) => entry.actor(a),
                None => entry,
            });
        }
        out
    }
}

/// A custom field's value as JSON: text as a string, numbers as numbers, enums by option name,
/// other types by their display value. `None` when unset.
pub(crate) fn field_value(f: &FieldValue) -> Option<Value> {
    let subtype = f
        .resource_subtype
        .as_deref()
        .or(f.kind.as_deref())
        .unwrap_or("");
    match subtype {
        "text" => f.text_value.clone().map(Value::String),
        "number" => f.number_value.clone().map(Value::Number),
        "enum" => f.enum_value.as_ref()?.name.clone().map(Value::String),
        _ => f.display_value.clone().map(Value::String),
    }
}

/// The story text of a comment: `[author] body` keeps the real author visible (Asana records
/// the token's user as the story's author). A body without an author that starts with `[` or
/// `\` gets a `\` in front so it is not read back as having one. With an idempotency key,
/// the last line is its marker (`tickets_core::marker`).
pub(crate) fn comment_text(author: Option<&str>, body: &str, key: Option<&str>) -> String {
    let text = match author {
        Some(a) => format!("[{a}] {body}"),
        None if body.starts_with('[') || body.starts_with('\\') => format!("\\{body}"),
        None => body.to_owned(),
    };
    marker::append(&text, key)
}

/// The author and body of a comment story's text without its marker (see [`comment_text`]).
pub(crate) fn parse_comment(text: &str) -> (Option<String>, &str) {
    if let Some(rest) = text.strip_prefix('\\') {
        return (None, rest);
    }
    if let Some(rest) = text.strip_prefix('[')
        && let Some(end) = rest.find("] ")
        && !rest[..end].contains('\n')
    {
        return (Some(rest[..end].to_owned()), &rest[end + 2..]);
    }
    (None, text)
}

/// A comment from a `comment_added` story. Without an author in the text, the story's author
/// is reported unless it is the token's own user (`me`).
pub(crate) fn comment(task: &TicketId, story: &StoryRecord, me: Option<&str>) -> Comment {
    let (text, key) = marker::split(&story.text);
    let (author, body) = parse_comment(text);
    let author = author.or_else(|| {
        story
            .created_by
            .as_ref()
            .filter(|u| Some(u.gid.as_str()) != me)
            .map(|u| u.key())
    });
    let mut c = Comment::new(story.gid.clone(), task.clone(), body, story.created_at);
    c.author = author;
    c.public = true;
    c.idempotency_key = key.map(str::to_owned);
    c
}

/// True for a comment story carrying the idempotency marker of `key`.
pub(crate) fn has_key(story: &StoryRecord, key: &str) -> bool {
    story.resource_subtype == "comment_added" && marker::split(&story.text).1 == Some(key)
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
