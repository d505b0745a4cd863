//! Bugzilla bugs and comments <-> the ticket model: status and priority maps, whiteboard tags
//! and status markers, comment author lines, aliases from idempotency keys.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use tickets_core::{Comment, Error, Priority, Result, Status, Ticket, TicketId, marker};

use crate::config::StatusTarget;

/// A bug as `GET /rest/bug` renders it (only what we read; the rest lands in `extra`).
#[derive(Debug, Clone, Deserialize)]
pub struct Bug {
    pub id: u64,
    #[serde(default, deserialize_with = "aliases")]
    pub alias: Vec<String>,
    pub summary: String,
    /// Where the bug lives; a provider only reaches bugs of its product and component.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub product: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub component: String,
    pub status: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub resolution: String,
    #[serde(default)]
    pub is_open: Option<bool>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub priority: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub assigned_to: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub creator: String,
    #[serde(default)]
    pub cc: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub whiteboard: String,
    #[serde(default)]
    pub deadline: Option<String>,
    pub creation_time: DateTime<Utc>,
    pub last_change_time: DateTime<Utc>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// `alias` is an array since 5.0, a string (or null) before.
fn aliases<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Value::String(s) if !s.is_empty() => vec![s],
        _ => Vec::new(),
    })
}

/// A comment as `GET /rest/bug/{id}/comment` renders it.
#[derive(Debug, Clone, Deserialize)]
pub struct BzComment {
    pub id: u64,
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub creator: String,
    #[serde(default)]
    pub is_private: bool,
    #[serde(default)]
    pub creation_time: Option<DateTime<Utc>>,
    /// Older servers only send `time`.
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
}

impl BzComment {
    /// When it was written.
    pub fn at(&self) -> DateTime<Utc> {
        self.creation_time.or(self.time).unwrap_or_default()
    }
}

/// The comments of the one bug in a comments answer (`bugs` is keyed by the id as a string).
pub fn comments_of(answer: &Value) -> Result<Vec<BzComment>> {
    let bugs = answer
        .get("bugs")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::unexpected("comments answer without a `bugs` map"))?;
    let Some(entry) = bugs.values().next() else {
        return Ok(Vec::new());
    };
    let list = entry
        .get("comments")
        .cloned()
        .unwrap_or(Value::Array(vec![]));
    let mut comments: Vec<BzComment> = serde_json::from_value(list)
        .map_err(|e| Error::unexpected(format!("cannot read Bugzilla comments: {e}")))?;
    comments.sort_by_key(|c| (c.count, c.id));
    Ok(comments)
}

/// Comment 0 of each bug of a comments answer (`{"bugs":{"12":{"comments":[..]}}}`, read with
/// `include_fields=bug_id,count,text`).
pub fn descriptions_of(answer: &Value) -> Result<Vec<(u64, String)>> {
    let bugs = answer
        .get("bugs")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::unexpected("comments answer without a `bugs` map"))?;
    let mut out = Vec::new();
    for (id, entry) in bugs {
        let id: u64 = id.parse().map_err(|_| {
            Error::unexpected(format!("comments answer keyed by {id:?}, not a bug id"))
        })?;
        let text = entry
            .get("comments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| c.get("count").and_then(Value::as_u64) == Some(0))
            .and_then(|c| c.get("text").and_then(Value::as_str))
            .unwrap_or_default();
        out.push((id, text.to_owned()));
    }
    Ok(out)
}

/// Applies the `changes` of a `PUT /rest/bug/{id}` answer (`{"bugs":[{"id","last_change_time",
/// "changes":{"field":{"added","removed"}}}]}`) to the bug as read, so an update needs no
/// read-back. Scalars take `added`; `cc` removes and adds its comma-and-space lists; custom
/// fields land in `extra`; fields the model does not read are left alone.
pub fn apply_changes(bug: &mut Bug, answer: &Value, is_open: impl Fn(&str) -> bool) -> Result<()> {
    let entry = answer
        .get("bugs")
        .and_then(Value::as_array)
        .and_then(|b| {
            b.iter()
                .find(|x| x.get("id").and_then(Value::as_u64) == Some(bug.id))
        })
        .ok_or_else(|| {
            Error::unexpected(format!("the update answer does not name bug {}", bug.id))
        })?;
    if let Some(t) = entry
        .get("last_change_time")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    {
        bug.last_change_time = t.with_timezone(&Utc);
    }
    let Some(changes) = entry.get("changes").and_then(Value::as_object) else {
        return Ok(());
    };
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for (field, change) in changes {
        let added = change
            .get("added")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let removed = change
            .get("removed")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match field.as_str() {
            "status" | "bug_status" => {
                bug.is_open = Some(is_open(&added));
                bug.status = added;
            }
            "resolution" => bug.resolution = added,
            "priority" => bug.priority = added,
            "assigned_to" => bug.assigned_to = added,
            "whiteboard" | "status_whiteboard" => bug.whiteboard = added,
            "summary" | "short_desc" => bug.summary = added,
            "deadline" => bug.deadline = Some(added).filter(|d| !d.is_empty()),
            "product" => bug.product = added,
            "component" => bug.component = added,
            "cc" => {
                let gone = list(removed);
                bug.cc.retain(|c| !gone.contains(c));
                for c in list(&added) {
                    if !bug.cc.contains(&c) {
                        bug.cc.push(c);
                    }
                }
            }
            f if f.starts_with("cf_") => {
                bug.extra.insert(f.to_owned(), Value::String(added));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The first bug of a `{"bugs":[...]}` answer.
pub fn first_bug(answer: &Value) -> Result<Bug> {
    let bug = answer
        .get("bugs")
        .and_then(Value::as_array)
        .and_then(|b| b.first())
        .ok_or_else(|| Error::not_found("bug"))?;
    serde_json::from_value(bug.clone())
        .map_err(|e| Error::unexpected(format!("cannot read the Bugzilla bug: {e}")))
}

/// Every bug of a search answer.
pub fn bugs(answer: &Value) -> Result<Vec<Bug>> {
    let list = answer
        .get("bugs")
        .cloned()
        .ok_or_else(|| Error::unexpected("search answer without `bugs`"))?;
    serde_json::from_value(list)
        .map_err(|e| Error::unexpected(format!("cannot read Bugzilla bugs: {e}")))
}

// ---- whiteboard: tags and status markers ---------------------------------------------------

/// A whiteboard split into `[token]`s and the free text around them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Whiteboard {
    pub tokens: Vec<String>,
    pub text: String,
}

impl Whiteboard {
    /// Splits `"[a] [b] free text"`.
    pub fn parse(s: &str) -> Self {
        let mut tokens = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        while let Some(open) = rest.find('[') {
            text.push_str(&rest[..open]);
            match rest[open..].find(']') {
                Some(close) => {
                    let inner = &rest[open + 1..open + close];
                    if !inner.trim().is_empty() {
                        tokens.push(inner.trim().to_owned());
                    }
                    rest = &rest[open + close + 1..];
                }
                None => {
                    text.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        text.push_str(rest);
        Self {
            tokens,
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }

    /// `[tag] [tag] [marker] free text`.
    pub fn render(&self) -> String {
        let mut parts: Vec<String> = self.tokens.iter().map(|t| format!("[{t}]")).collect();
        if !self.text.is_empty() {
            parts.push(self.text.clone());
        }
        parts.join(" ")
    }
}

/// Checks a tag can live in the whiteboard as `[tag]`.
pub fn check_tag(tag: &str) -> Result<()> {
    if tag.contains('[') || tag.contains(']') {
        return Err(Error::invalid_input(format!(
            "tag {tag:?} cannot contain '[' or ']': tags are stored as [tag] in the Bugzilla whiteboard"
        )));
    }
    Ok(())
}

fn marker_token(marker: &str) -> String {
    marker
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

// ---- statuses --------------------------------------------------------------------------------

/// The status map both ways.
#[derive(Debug, Clone)]
pub struct StatusMap {
    map: BTreeMap<Status, StatusTarget>,
}

impl StatusMap {
    /// From the effective config map.
    pub fn new(map: BTreeMap<Status, StatusTarget>) -> Self {
        Self { map }
    }

    /// Where `status` lives in Bugzilla.
    pub fn target(&self, status: Status) -> &StatusTarget {
        &self.map[&status]
    }

    /// Every marker token (without brackets): reserved, never read as tags.
    pub fn marker_tokens(&self) -> Vec<String> {
        self.map
            .values()
            .filter_map(|t| t.marker.as_deref().map(marker_token))
            .collect()
    }

    /// The canonical status of a bug with this status, resolution and whiteboard tokens.
    pub fn read(&self, status: &str, resolution: &str, is_open: bool, tokens: &[String]) -> Status {
        if is_open {
            // A marker counts only together with its Bugzilla status.
            for (s, t) in &self.map {
                if let Some(m) = &t.marker
                    && t.status.eq_ignore_ascii_case(status)
                    && tokens.contains(&marker_token(m))
                {
                    return *s;
                }
            }
            for (s, t) in &self.map {
                if t.marker.is_none() && s.is_open() && t.status.eq_ignore_ascii_case(status) {
                    return *s;
                }
            }
            return match status {
                "IN_PROGRESS" | "ASSIGNED" => Status::InProgress,
                _ => Status::New,
            };
        }
        for (s, t) in &self.map {
            if !s.is_open()
                && t.status.eq_ignore_ascii_case(status)
                && t.resolution.eq_ignore_ascii_case(resolution)
            {
                return *s;
            }
        }
        match (status, resolution) {
            (_, r) if !r.is_empty() && !r.eq_ignore_ascii_case("FIXED") => Status::Cancelled,
            ("VERIFIED" | "CLOSED", _) => Status::Closed,
            _ => Status::Resolved,
        }
    }
}

/// Whether a Bugzilla status is open when the bug does not say (`is_open` missing).
pub fn guess_open(status: &str) -> bool {
    !matches!(status, "RESOLVED" | "VERIFIED" | "CLOSED")
}

// ---- priorities ------------------------------------------------------------------------------

/// Canonical priority <-> Bugzilla priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityMap {
    to_bz: BTreeMap<Priority, String>,
    from_bz: HashMap<String, Priority>,
}

/// `---` and `--` mean "no priority".
pub fn is_unset_priority(p: &str) -> bool {
    p.is_empty() || p.chars().all(|c| c == '-')
}

impl PriorityMap {
    /// From the legal values in order, highest first (`---` is skipped), spread over the five
    /// canonical levels; `overrides` win.
    pub fn from_values(values: &[String], overrides: &BTreeMap<Priority, String>) -> Self {
        let legal: Vec<&String> = values.iter().filter(|v| !is_unset_priority(v)).collect();
        let mut to_bz = BTreeMap::new();
        let mut from_bz = HashMap::new();
        let n = legal.len();
        if n > 0 {
            for (i, p) in Priority::ALL.iter().enumerate() {
                let j = if n == 1 { 0 } else { (i * (n - 1) + 2) / 4 };
                to_bz.insert(*p, legal[j.min(n - 1)].clone());
            }
            for (j, v) in legal.iter().enumerate() {
                let i = if n == 1 {
                    2
                } else {
                    (j * 4 + (n - 1) / 2) / (n - 1)
                };
                from_bz.insert((*v).clone(), Priority::ALL[i.min(4)]);
            }
        }
        for (p, v) in overrides {
            to_bz.insert(*p, v.clone());
        }
        for (p, v) in overrides.iter().rev() {
            from_bz.insert(v.clone(), *p);
        }
        Self { to_bz, from_bz }
    }

    /// The Bugzilla value for `p`, if any is known.
    pub fn bz_value(&self, p: Priority) -> Option<&str> {
        self.to_bz.get(&p).map(String::as_str)
    }

    /// The canonical priority of a Bugzilla value; unset or unknown reads as the default.
    pub fn read_bz(&self, v: &str) -> Priority {
        self.from_bz.get(v).copied().unwrap_or_default()
    }

    /// Priorities that read back as themselves.
    pub fn exact(&self) -> Vec<Priority> {
        Priority::ALL
            .into_iter()
            .filter(|p| self.bz_value(*p).is_some_and(|v| self.read_bz(v) == *p))
            .collect()
    }
}

// ---- comments --------------------------------------------------------------------------------

const AUTHOR_PREFIX: &str = "[tickets] ";
const AUTHOR_SUFFIX: &str = " wrote:\n\n";

/// The comment text: the body, with an author line in front when the author is not the API
/// user (Bugzilla records every comment as the API user).
pub fn comment_text(author: Option<&str>, api_login: Option<&str>, body: &str) -> String {
    match author.map(|a| a.split_whitespace().collect::<Vec<_>>().join(" ")) {
        Some(a) if !a.is_empty() && Some(a.as_str()) != api_login => {
            format!("{AUTHOR_PREFIX}{a}{AUTHOR_SUFFIX}{body}")
        }
        _ => body.to_owned(),
    }
}

/// The text Bugzilla keeps for a comment: [`comment_text`] as Bugzilla stores it (no trailing
/// whitespace, `\n` line ends), then, with an idempotency key, its marker as the last line
/// (`tickets_core::marker`; Bugzilla keeps it intact). Normalising first makes the body read
/// back before the marker equal to what a comment without a key reads back as.
pub fn stored_comment(
    author: Option<&str>,
    api_login: Option<&str>,
    body: &str,
    key: Option<&str>,
) -> String {
    let text = as_stored(&comment_text(author, api_login, body));
    marker::append(&text, key)
}

/// A text as Bugzilla stores it (`Bugzilla::Bug::_check_comment`): carriage returns become
/// `\n`, trailing whitespace goes.
pub fn as_stored(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim_end()
        .to_owned()
}

const REQUESTER_SUFFIX: &str = " reported:\n\n";

/// The description (comment 0): with a `[tickets] <requester> reported:` line in front when
/// the requester is not the API user (Bugzilla records the API user as the reporter).
pub fn description_text(requester: Option<&str>, api_login: Option<&str>, body: &str) -> String {
    match requester.map(|a| a.split_whitespace().collect::<Vec<_>>().join(" ")) {
        Some(r) if !r.is_empty() && Some(r.as_str()) != api_login => {
            format!("{AUTHOR_PREFIX}{r}{REQUESTER_SUFFIX}{body}")
        }
        _ => body.to_owned(),
    }
}

/// `(requester, description)` from comment 0; no line means the bug's reporter.
pub fn split_description(text: &str) -> (Option<String>, String) {
    if let Some(rest) = text.strip_prefix(AUTHOR_PREFIX) {
        if let Some(end) = rest.find(REQUESTER_SUFFIX)
            && !rest[..end].contains('\n')
        {
            return (
                Some(rest[..end].to_owned()),
                rest[end + REQUESTER_SUFFIX.len()..].to_owned(),
            );
        }
        // An empty description: Bugzilla trims trailing whitespace off comments, which leaves
        // only the requester line.
        if let Some(name) = rest.strip_suffix(REQUESTER_SUFFIX.trim_end())
            && !name.contains('\n')
        {
            return (Some(name.to_owned()), String::new());
        }
    }
    (None, text.to_owned())
}

#[cfg(test)]
mod requester_line_tests {
    use super::*;

    #[test]
    fn requester_survives_an_empty_description_trimmed_by_bugzilla() {
        let stored = description_text(Some("carol@example.com"), Some("admin@example.com"), "");
        let trimmed = stored.trim_end();
        assert_eq!(
            split_description(trimmed),
            (Some("carol@example.com".to_owned()), String::new())
        );
        assert_eq!(
            split_description(&description_text(Some("carol@example.com"), None, "body")),
            (Some("carol@example.com".to_owned()), "body".to_owned())
        );
    }
}

/// `(author, body)` from a comment text and its Bugzilla creator.
pub fn split_comment(text: &str, creator: &str) -> (Option<String>, String) {
    if let Some(rest) = text.strip_prefix(AUTHOR_PREFIX)
        && let Some(end) = rest.find(AUTHOR_SUFFIX)
        && !rest[..end].contains('\n')
    {
        return (
            Some(rest[..end].to_owned()),
            rest[end + AUTHOR_SUFFIX.len()..].to_owned(),
        );
    }
    let creator = (!creator.is_empty()).then(|| creator.to_owned());
    (creator, text.to_owned())
}

/// A Bugzilla comment as a ticket comment: the marker line is taken off the body and its key
/// reported.
pub fn to_comment(c: &BzComment, ticket: &TicketId) -> Comment {
    let (text, key) = marker::split(&c.text);
    let (author, body) = split_comment(text, &c.creator);
    let mut out = Comment::new(c.id.to_string(), ticket.clone(), body, c.at());
    out.author = author;
    out.public = !c.is_private;
    out.idempotency_key = key.map(str::to_owned);
    out
}

/// True for a comment (not the description) carrying the marker of `key`.
pub fn has_key(c: &BzComment, key: &str) -> bool {
    c.count > 0 && marker::split(&c.text).1 == Some(key)
}

// ---- idempotency ------------------------------------------------------------------------------

/// A bug alias for an idempotency key: `tk-` and 32 hex digits of a stable 128-bit FNV-1a hash
/// (35 chars: within Bugzilla's 40, never numeric, no comma or space).
pub fn alias_for_key(key: &str) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in key.as_bytes() {
        h ^= u128::from(*b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    format!("tk-{h:032x}")
}

// ---- tickets ---------------------------------------------------------------------------------

/// What turning a bug into a ticket needs besides the bug.
#[derive(Debug)]
pub struct Mapping<'a> {
    pub kind: &'static str,
    pub statuses: &'a StatusMap,
    pub priorities: &'a PriorityMap,
    pub unassigned: &'a str,
    pub show_url: String,
    /// Model name -> Bugzilla custom field.
    pub custom: &'a BTreeMap<String, String>,
    /// Bugzilla custom field -> type.
    pub field_types: &'a HashMap<String, u64>,
}

/// A custom field value as read: integers and bug ids (sent back as strings) become numbers;
/// empty values are absent.
pub fn read_custom(value: &Value, kind: u64) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) if matches!(kind, 6 | 10) => Some(
            s.trim()
                .parse::<i64>()
                .map_or_else(|_| value.clone(), Value::from),
        ),
        Value::Array(a) if a.is_empty() => None,
        other => Some(other.clone()),
    }
}

/// A custom field value as sent: scalars as text (Bugzilla stores text), lists as lists, null
/// as empty (clears it).
pub fn write_custom(value: &Value) -> Value {
    match value {
        Value::Null => Value::String(String::new()),
        Value::String(_) | Value::Array(_) => value.clone(),
        Value::Bool(b) => Value::String(if *b { "1" } else { "0" }.into()),
        other => Value::String(other.to_string()),
    }
}

/// A bug (and the text of its comment 0) as a ticket.
pub fn to_ticket(bug: &Bug, comment0: String, m: &Mapping<'_>) -> Ticket {
    let (requester, description) = split_description(&comment0);
    let wb = Whiteboard::parse(&bug.whiteboard);
    let is_open = bug.is_open.unwrap_or_else(|| guess_open(&bug.status));
    let markers = m.statuses.marker_tokens();
    let mut t = Ticket::new(
        bug.id.to_string(),
        m.kind,
        bug.summary.clone(),
        bug.creation_time,
    );
    t.number = Some(bug.id.to_string());
    t.description = description;
    t.status = m
        .statuses
        .read(&bug.status, &bug.resolution, is_open, &wb.tokens);
    t.priority = m.priorities.read_bz(&bug.priority);
    t.assignee = (!bug.assigned_to.is_empty()
        && !bug.assigned_to.eq_ignore_ascii_case(m.unassigned))
    .then(|| bug.assigned_to.clone());
    t.requester = requester.or_else(|| (!bug.creator.is_empty()).then(|| bug.creator.clone()));
    t.watchers = bug.cc.clone();
    t.tags =
        tickets_core::normalize_tags(wb.tokens.into_iter().filter(|tok| !markers.contains(tok)));
    t.due = bug
        .deadline
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    for (name, field) in m.custom {
        let kind = m.field_types.get(field).copied().unwrap_or(1);
        if let Some(v) = bug.extra.get(field).and_then(|v| read_custom(v, kind)) {
            t.custom_fields.insert(name.clone(), v);
        }
    }
    for (k, v) in &bug.extra {
        let mapped = m.custom.values().any(|f| f == k);
        if k.starts_with("cf_")
            && !mapped
            && let Some(v) = read_custom(v, 1)
        {
            t.custom_fields.insert(k.clone(), v);
        }
    }
    t.url = Some(format!("{}{}", m.show_url, bug.id));
    t.updated_at = bug.last_change_time;
    t.version = Some(
        bug.last_change_time
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    );
    t
}

#[cfg(test)]
mod tests;
