//! Salesforce <-> model: status and priority maps, SOQL literals, comment authors, and Case
//! records to tickets.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};
use tickets_core::{Priority, Status, Ticket, marker};

/// Which Case Status value each status is written as, and how values read back.
#[derive(Debug, Clone)]
pub struct StatusMap {
    to_sf: BTreeMap<Status, String>,
    reason_field: Option<String>,
}

/// When several statuses share a picklist value, the first in this order is read back.
const STATUS_PREFERENCE: [Status; 8] = [
    Status::New,
    Status::InProgress,
    Status::Escalated,
    Status::Closed,
    Status::Triaged,
    Status::OnHold,
    Status::Resolved,
    Status::Cancelled,
];

impl StatusMap {
    /// Defaults (New, Working, Escalated, Closed) with `overrides` applied; `reason_field`
    /// tells Resolved/Cancelled/Closed apart.
    pub fn new(
        overrides: &BTreeMap<String, String>,
        reason_field: Option<String>,
    ) -> Result<Self, String> {
        let mut to_sf: BTreeMap<Status, String> = Status::ALL
            .iter()
            .map(|s| {
                let v = match s {
                    Status::New | Status::Triaged => "New",
                    Status::InProgress | Status::OnHold => "Working",
                    Status::Escalated => "Escalated",
                    Status::Resolved | Status::Closed | Status::Cancelled => "Closed",
                };
                (*s, v.to_owned())
            })
            .collect();
        for (k, v) in overrides {
            let s: Status = k
                .parse()
                .map_err(|e: tickets_core::Error| e.message().to_owned())?;
            if v.trim().is_empty() {
                return Err(format!("the value for {k} is empty"));
            }
            to_sf.insert(s, v.clone());
        }
        Ok(Self {
            to_sf,
            reason_field,
        })
    }

    /// The Status picklist value for `s`.
    pub fn label(&self, s: Status) -> &str {
        &self.to_sf[&s]
    }

    /// The close-reason field, if configured.
    pub fn reason_field(&self) -> Option<&str> {
        self.reason_field.as_deref()
    }

    /// Fields to write for a move to `s`: Status, IsEscalated, and the reason when configured.
    pub fn write(&self, s: Status, body: &mut Map<String, Value>) {
        body.insert("Status".into(), self.label(s).into());
        body.insert("IsEscalated".into(), (s == Status::Escalated).into());
        if let Some(f) = &self.reason_field {
            let reason = (!s.is_open()).then(|| s.label().to_owned());
            body.insert(f.clone(), reason.map(Value::from).unwrap_or(Value::Null));
        }
    }

    /// The status of a Case with this Status value, IsClosed, IsEscalated and reason.
    pub fn read(
        &self,
        label: &str,
        is_closed: bool,
        is_escalated: bool,
        reason: Option<&str>,
    ) -> Status {
        let candidates: Vec<Status> = STATUS_PREFERENCE
            .into_iter()
            .filter(|s| self.to_sf[s].eq_ignore_ascii_case(label))
            .collect();
        let closed = is_closed || candidates.first().is_some_and(|s| !s.is_open());
        if closed {
            let closed_candidates: Vec<Status> = candidates
                .iter()
                .copied()
                .filter(|s| !s.is_open())
                .collect();
            if self.reason_field.is_some()
                && let Some(r) = reason.and_then(|r| r.parse::<Status>().ok())
                && (closed_candidates.contains(&r)
                    || (closed_candidates.is_empty() && !r.is_open()))
            {
                return r;
            }
            return closed_candidates.first().copied().unwrap_or(Status::Closed);
        }
        let open = candidates
            .iter()
            .copied()
            .find(|s| s.is_open())
            .unwrap_or(Status::InProgress);
        if is_escalated && open != Status::Escalated {
            return Status::Escalated;
        }
        open
    }

    /// Picklist values that can stand for any of `statuses` (for a WHERE clause).
    pub fn labels_for(&self, statuses: &[Status]) -> Vec<String> {
        let mut out: Vec<String> = statuses.iter().map(|s| self.to_sf[s].clone()).collect();
        out.sort();
        out.dedup();
        out
    }

    /// Statuses that are written and read back unchanged.
    pub fn round_trip(&self) -> Vec<Status> {
        Status::ALL
            .into_iter()
            .filter(|&s| {
                let mut body = Map::new();
                self.write(s, &mut body);
                let reason = self
                    .reason_field
                    .as_ref()
                    .and_then(|f| body.get(f))
                    .and_then(Value::as_str);
                self.read(self.label(s), !s.is_open(), s == Status::Escalated, reason) == s
            })
            .collect()
    }
}

/// Which Case Priority value each priority is written as.
#[derive(Debug, Clone)]
pub struct PriorityMap {
    to_sf: BTreeMap<Priority, String>,
}

const PRIORITY_PREFERENCE: [Priority; 5] = [
    Priority::High,
    Priority::Medium,
    Priority::Low,
    Priority::Critical,
    Priority::Info,
];

impl PriorityMap {
    /// Defaults (Critical and High -> High, Medium, Low and Info -> Low) with `overrides`.
    pub fn new(overrides: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut to_sf: BTreeMap<Priority, String> = Priority::ALL
            .iter()
            .map(|p| {
                let v = match p {
                    Priority::Critical | Priority::High => "High",
                    Priority::Medium => "Medium",
                    Priority::Low | Priority::Info => "Low",
                };
                (*p, v.to_owned())
            })
            .collect();
        for (k, v) in overrides {
            let p: Priority = k
                .parse()
                .map_err(|e: tickets_core::Error| e.message().to_owned())?;
            if v.trim().is_empty() {
                return Err(format!("the value for {k} is empty"));
            }
            to_sf.insert(p, v.clone());
        }
        Ok(Self { to_sf })
    }

    /// The Priority picklist value for `p`.
    pub fn label(&self, p: Priority) -> &str {
        &self.to_sf[&p]
    }

    /// The priority of a Case with this Priority value (Medium when unknown or empty).
    pub fn read(&self, label: Option<&str>) -> Priority {
        let Some(label) = label else {
            return Priority::Medium;
        };
        PRIORITY_PREFERENCE
            .into_iter()
            .find(|p| self.to_sf[p].eq_ignore_ascii_case(label))
            .unwrap_or(Priority::Medium)
    }

    /// Priorities that are written and read back unchanged.
    pub fn round_trip(&self) -> Vec<Priority> {
        Priority::ALL
            .into_iter()
            .filter(|&p| self.read(Some(self.label(p))) == p)
            .collect()
    }
}

/// A SOQL string literal: quoted, with `\ ' " \n \r \t \b \f` escaped.
pub fn soql_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    escape_into(&mut out, s, false);
    out.push('\'');
    out
}

/// A SOQL LIKE pattern `%{s}%`-style: `s` escaped, with `%` and `_` made literal too.
pub fn soql_like(prefix: &str, s: &str, suffix: &str) -> String {
    let mut out = String::with_capacity(s.len() + 6);
    out.push('\'');
    out.push_str(prefix);
    escape_into(&mut out, s, true);
    out.push_str(suffix);
    out.push('\'');
    out
}

fn escape_into(out: &mut String, s: &str, like: bool) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '%' if like => out.push_str("\\%"),
            '_' if like => out.push_str("\\_"),
            c => out.push(c),
        }
    }
}

/// A SOQL datetime literal (unquoted, UTC), floored to the second: SOQL literals have no
/// fraction, and Salesforce keeps record times to the second. Callers filter the sub-second
/// part themselves.
pub fn soql_datetime(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

const AUTHOR_OPEN: &str = "[from: ";

/// CaseComment bodies carry the author on a first line: `[from: Alice]\n<body>`.
pub fn encode_comment(author: Option<&str>, body: &str) -> String {
    match author {
        Some(a) => format!("{AUTHOR_OPEN}{a}]\n{body}"),
        // Keep a body that happens to start like an author line from being misread.
        None if body.starts_with(AUTHOR_OPEN) => format!("{AUTHOR_OPEN}]\n{body}"),
        None => body.to_owned(),
    }
}

/// The inverse of [`encode_comment`] (the marker line of a keyed comment stays in the body;
/// [`decode_keyed`] takes it off).
pub fn decode_comment(text: &str) -> (Option<String>, String) {
    if let Some(rest) = text.strip_prefix(AUTHOR_OPEN)
        && let Some((author, body)) = rest.split_once("]\n")
        && !author.contains('\n')
    {
        let author = (!author.is_empty()).then(|| author.to_owned());
        return (author, body.to_owned());
    }
    (None, text.to_owned())
}

/// The CommentBody of a comment: [`encode_comment`], then, with an idempotency key, its marker
/// as the last line (`tickets_core::marker`).
pub fn encode_keyed(author: Option<&str>, body: &str, key: Option<&str>) -> String {
    marker::append(&encode_comment(author, body), key)
}

/// `(author, body, key)` of a CommentBody written by [`encode_keyed`] (or by anyone else: no
/// author line and no marker then).
pub fn decode_keyed(text: &str) -> (Option<String>, String, Option<String>) {
    let (text, key) = marker::split(text);
    let (author, body) = decode_comment(text);
    (author, body, key.map(str::to_owned))
}

/// Parses `2024-01-15T10:20:30.000+0000` (or RFC 3339).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// The string value of a field, `None` for null or absent.
pub fn str_field<'a>(rec: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    rec.get(name).and_then(Value::as_str)
}

/// Tags stored `;`-separated in one text field.
pub fn split_tags(v: Option<&str>) -> Vec<String> {
    tickets_core::normalize_tags(v.unwrap_or("").split(';').map(str::to_owned))
}

/// Numbers with no fraction read back as integers (Salesforce answers `2.0` for a Number(18,0)).
pub fn normalize_number(v: Value) -> Value {
    match v.as_f64() {
        Some(f) if v.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
        _ => v,
    }
}

/// What conversion needs besides the record.
#[derive(Debug)]
pub struct ReadContext<'a> {
    /// Statuses.
    pub statuses: &'a StatusMap,
    /// Priorities.
    pub priorities: &'a PriorityMap,
    /// Tags field.
    pub tags_field: Option<&'a str>,
    /// Due field.
    pub due_field: Option<&'a str>,
    /// Model name -> Case field.
    pub custom_fields: &'a BTreeMap<String, String>,
    /// The owner meaning "unassigned".
    pub unassigned_owner: &'a str,
    /// User id -> email, for owners.
    pub emails: &'a std::collections::HashMap<String, String>,
    /// The instance URL (for links).
    pub instance_url: &'a str,
}

/// The status a Case record reads as (Status, IsClosed, IsEscalated and the reason field).
pub fn case_status(rec: &Map<String, Value>, statuses: &StatusMap) -> Status {
    let reason = statuses.reason_field().and_then(|f| str_field(rec, f));
    statuses.read(
        str_field(rec, "Status").unwrap_or(""),
        rec.get("IsClosed")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        rec.get("IsEscalated")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        reason,
    )
}

/// A Case record (with the fields [`crate::provider`] selects) as a ticket.
pub fn case_to_ticket(rec: &Map<String, Value>, cx: &ReadContext<'_>) -> Option<Ticket> {
    let id = str_field(rec, "Id")?;
    let created = str_field(rec, "CreatedDate").and_then(parse_datetime)?;
    let mut t = Ticket::new(
        id,
        crate::KIND,
        str_field(rec, "Subject").unwrap_or(""),
        created,
    );
    t.number = str_field(rec, "CaseNumber").map(str::to_owned);
    t.description = str_field(rec, "Description").unwrap_or("").to_owned();
    t.status = case_status(rec, cx.statuses);
    t.priority = cx.priorities.read(str_field(rec, "Priority"));
    t.kind = str_field(rec, "Type").map(str::to_owned);
    t.assignee = str_field(rec, "OwnerId").and_then(|owner| {
        if owner == cx.unassigned_owner {
            None
        } else if owner.starts_with("005") {
            Some(
                cx.emails
                    .get(owner)
                    .cloned()
                    .unwrap_or_else(|| owner.to_owned()),
            )
        } else {
            Some(owner.to_owned())
        }
    });
    t.requester = str_field(rec, "SuppliedEmail").map(str::to_owned);
    if let Some(f) = cx.tags_field {
        t.tags = split_tags(str_field(rec, f));
    }
    if let Some(f) = cx.due_field {
        t.due = str_field(rec, f).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    }
    for (name, field) in cx.custom_fields {
        if let Some(v) = rec.get(field).filter(|v| !v.is_null()) {
            t.custom_fields
                .insert(name.clone(), normalize_number(v.clone()));
        }
    }
    t.url = Some(format!(
        "{}/lightning/r/Case/{id}/view",
        cx.instance_url.trim_end_matches('/')
    ));
    t.updated_at = str_field(rec, "LastModifiedDate")
        .and_then(parse_datetime)
        .unwrap_or(created);
    Some(t)
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
