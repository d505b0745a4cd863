//! Rendering results: readable text for people, one JSON document with `--json`.
//!
//! JSON ticket objects carry every [`Ticket`] field plus the seed's receipt keys: `guid` (the
//! id) and `assigned_to` (the assignee); `status` and `provider` are Ticket fields already.
//! Comments carry `comment_guid` (the comment id).

use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use tickets::{Comment, HistoryEntry, ProviderFactory, Ticket};

/// Writes results to `W` (stdout in the binary, a buffer in tests).
#[derive(Debug)]
pub struct Printer<W> {
    out: W,
    json: bool,
    jsonl: bool,
    columns: Option<usize>,
    progress: bool,
}

impl<W: Write> Printer<W> {
    /// A printer writing text, or JSON when `json` is set.
    pub fn new(out: W, json: bool) -> Self {
        Self {
            out,
            json,
            jsonl: false,
            columns: None,
            progress: false,
        }
    }

    /// Lists one JSON object per line (`--jsonl`).
    pub fn json_lines(mut self, on: bool) -> Self {
        self.jsonl = on;
        self
    }

    /// Fits tables to a terminal this wide (stdout is a terminal).
    pub fn columns(mut self, columns: Option<usize>) -> Self {
        self.columns = columns;
        self
    }

    /// Shows progress on stderr for long work (a terminal, no `--json`, no `--quiet`).
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// True when progress may be shown on stderr.
    pub fn shows_progress(&self) -> bool {
        self.progress && !self.json && !self.jsonl
    }

    /// How a list is written.
    pub fn list_format(&self) -> crate::listing::Format {
        use crate::listing::Format;
        if self.jsonl {
            Format::JsonLines
        } else if self.json {
            Format::Json
        } else {
            Format::Table(self.columns)
        }
    }

    /// The writer, back.
    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }

    /// The writer itself, for output written piece by piece (a list as it arrives).
    pub fn raw(&mut self) -> &mut W {
        &mut self.out
    }

    /// True when results are printed as JSON.
    pub fn is_json(&self) -> bool {
        self.json
    }

    fn json(&mut self, value: &Value) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut self.out, value)?;
        writeln!(self.out)
    }

    /// One ticket: a key/value block.
    pub fn ticket(&mut self, ticket: &Ticket) -> io::Result<()> {
        if self.json {
            return self.json(&ticket_json(ticket));
        }
        let mut rows: Vec<(String, String)> = vec![
            ("id".into(), ticket.id.to_string()),
            ("number".into(), opt(ticket.number.as_deref())),
            ("provider".into(), ticket.provider.clone()),
            ("subject".into(), ticket.subject.clone()),
            ("status".into(), ticket.status.to_string()),
            ("priority".into(), ticket.priority.to_string()),
            ("assignee".into(), opt(ticket.assignee.as_deref())),
            ("requester".into(), opt(ticket.requester.as_deref())),
        ];
        if let Some(kind) = &ticket.kind {
            rows.push(("kind".into(), kind.clone()));
        }
        if !ticket.tags.is_empty() {
            rows.push(("tags".into(), ticket.tags.join(", ")));
        }
        if !ticket.watchers.is_empty() {
            rows.push(("watchers".into(), ticket.watchers.join(", ")));
        }
        if let Some(due) = ticket.due {
            rows.push(("due".into(), due.to_string()));
        }
        for (name, value) in &ticket.custom_fields {
            rows.push((format!("field {name}"), value.to_string()));
        }
        for (system, id) in &ticket.links {
            rows.push((format!("link {system}"), id.clone()));
        }
        if let Some(url) = &ticket.url {
            rows.push(("url".into(), url.clone()));
        }
        rows.push(("created".into(), time(ticket.created_at)));
        rows.push(("updated".into(), time(ticket.updated_at)));
        if let Some(version) = &ticket.version {
            rows.push(("version".into(), version.clone()));
        }
        let width = rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0)
            + 1;
        for (key, value) in rows {
            writeln!(self.out, "{:width$} {value}", format!("{key}:"))?;
        }
        if !ticket.description.is_empty() {
            writeln!(self.out, "description:")?;
            for line in ticket.description.lines() {
                writeln!(self.out, "  {line}")?;
            }
        }
        Ok(())
    }

    /// One comment, as just added.
    pub fn comment(&mut self, comment: &Comment) -> io::Result<()> {
        if self.json {
            return self.json(&comment_json(comment));
        }
        self.comment_text(comment)
    }

    fn comment_text(&mut self, c: &Comment) -> io::Result<()> {
        let author = c.author.as_deref().unwrap_or("(unknown author)");
        let private = if c.public { "" } else { " (private)" };
        writeln!(
            self.out,
            "comment {} by {author} at {}{private}",
            c.id,
            time(c.created_at)
        )?;
        for line in c.body.lines() {
            writeln!(self.out, "  {line}")?;
        }
        Ok(())
    }

    /// A ticket's comments, oldest first.
    pub fn comments(&mut self, comments: &[Comment]) -> io::Result<()> {
        if self.json {
            return self.json(&Value::Array(comments.iter().map(comment_json).collect()));
        }
        if comments.is_empty() {
            return writeln!(self.out, "no comments");
        }
        for (i, c) in comments.iter().enumerate() {
            if i > 0 {
                writeln!(self.out)?;
            }
            self.comment_text(c)?;
        }
        Ok(())
    }

    /// A ticket's history, oldest first.
    pub fn history(&mut self, entries: &[HistoryEntry]) -> io::Result<()> {
        if self.json {
            let value = serde_json::to_value(entries).map_err(io::Error::other)?;
            return self.json(&value);
        }
        if entries.is_empty() {
            return writeln!(self.out, "no history");
        }
        let rows = entries
            .iter()
            .map(|e| {
                let change = match (&e.old_value, &e.new_value) {
                    (None, None) => String::new(),
                    (old, new) => format!(
                        "{} -> {}",
                        clip(old.as_deref().unwrap_or("-"), 30),
                        clip(new.as_deref().unwrap_or("-"), 30)
                    ),
                };
                vec![
                    time(e.at),
                    e.action.to_string(),
                    opt(e.field.as_deref()),
                    change,
                    opt(e.actor.as_deref()),
                ]
            })
            .collect();
        table(
            &mut self.out,
            &["AT", "ACTION", "FIELD", "CHANGE", "ACTOR"],
            rows,
        )
    }

    /// Registered provider kinds, sorted.
    pub fn providers<'a>(
        &mut self,
        factories: impl IntoIterator<Item = &'a ProviderFactory>,
    ) -> io::Result<()> {
        let factories: Vec<_> = factories.into_iter().collect();
        if self.json {
            let value = factories
                .iter()
                .map(|f| json!({"kind": f.kind, "summary": f.summary, "crate": f.crate_name}))
                .collect();
            return self.json(&Value::Array(value));
        }
        let rows = factories
            .iter()
            .map(|f| vec![f.kind.to_owned(), f.summary.to_owned()])
            .collect();
        table(&mut self.out, &["KIND", "SUMMARY"], rows)
    }

    /// Configured backends.
    pub fn backends(&mut self, backends: &[BackendRow]) -> io::Result<()> {
        if self.json {
            let value = backends
                .iter()
                .map(|b| json!({"name": b.name, "kind": b.kind, "default": b.is_default}))
                .collect();
            return self.json(&Value::Array(value));
        }
        let rows = backends
            .iter()
            .map(|b| {
                vec![
                    b.name.clone(),
                    b.kind.clone(),
                    if b.is_default { "yes" } else { "" }.to_owned(),
                ]
            })
            .collect();
        table(&mut self.out, &["NAME", "KIND", "DEFAULT"], rows)
    }

    /// The effective configuration: JSON as is, or one `dotted.key = value` line per leaf.
    pub fn config(&mut self, config: &Value) -> io::Result<()> {
        if self.json {
            return self.json(config);
        }
        let mut lines = Vec::new();
        flatten(config, String::new(), &mut lines);
        for line in lines {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    /// A result that has its own text form: `json` with `--json`, else the text as is.
    pub fn report(&mut self, json: &Value, text: &str) -> io::Result<()> {
        if self.json {
            return self.json(json);
        }
        write!(self.out, "{text}")
    }
}

/// One configured backend, as `tickets backends` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendRow {
    /// Its name.
    pub name: String,
    /// Its provider kind, as configured.
    pub kind: String,
    /// True for the backend commands run on.
    pub is_default: bool,
}

/// A ticket as JSON, with the receipt keys `guid` and `assigned_to`.
pub fn ticket_json(ticket: &Ticket) -> Value {
    let mut map = match serde_json::to_value(ticket) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    map.insert("guid".into(), Value::String(ticket.id.to_string()));
    map.insert(
        "assigned_to".into(),
        ticket.assignee.clone().map_or(Value::Null, Value::String),
    );
    Value::Object(map)
}

/// A comment as JSON, with the receipt key `comment_guid`.
pub fn comment_json(comment: &Comment) -> Value {
    let mut map = match serde_json::to_value(comment) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    map.insert("comment_guid".into(), Value::String(comment.id.clone()));
    Value::Object(map)
}

fn opt(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The first `max` characters of the first line, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() <= max && line.len() == text.len() {
        return line.to_owned();
    }
    let cut: String = line.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

fn table(out: &mut impl Write, header: &[&str], rows: Vec<Vec<String>>) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let pad = width - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn flatten(value: &Value, prefix: String, lines: &mut Vec<String>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, key, lines);
            }
        }
        Value::Object(_) if prefix.is_empty() => {}
        leaf => lines.push(format!("{prefix} = {leaf}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickets::{Status, TicketId};

    fn sample() -> Ticket {
        let at = "2026-01-02T03:04:05Z".parse().unwrap();
        let mut t = Ticket::new(TicketId::new("T-1"), "memory", "Server down", at);
        t.status = Status::InProgress;
        t.assignee = Some("alice".into());
        t.description = "line one\nline two".into();
        t
    }

    fn render(json: bool, f: impl FnOnce(&mut Printer<Vec<u8>>) -> io::Result<()>) -> String {
        let mut p = Printer::new(Vec::new(), json);
        f(&mut p).unwrap();
        String::from_utf8(p.into_inner()).unwrap()
    }

    #[test]
    fn ticket_json_carries_receipt_keys() {
        let v = ticket_json(&sample());
        assert_eq!(v["guid"], "T-1");
        assert_eq!(v["id"], "T-1");
        assert_eq!(v["status"], "in_progress");
        assert_eq!(v["provider"], "memory");
        assert_eq!(v["assigned_to"], "alice");
        assert_eq!(v["subject"], "Server down");
    }

    #[test]
    fn comment_json_carries_comment_guid() {
        let at = "2026-01-02T03:04:05Z".parse().unwrap();
        let c = Comment::new("c7", TicketId::new("T-1"), "hi", at);
        let v = comment_json(&c);
        assert_eq!(v["comment_guid"], "c7");
        assert_eq!(v["body"], "hi");
    }

    #[test]
    fn ticket_block_is_aligned_and_shows_the_description() {
        let text = render(false, |p| p.ticket(&sample()));
        assert!(text.contains("subject:   Server down\n"), "{text}");
        assert!(text.contains("status:    in_progress\n"), "{text}");
        assert!(text.contains("created:   2026-01-02T03:04:05Z\n"), "{text}");
        assert!(
            text.ends_with("description:\n  line one\n  line two\n"),
            "{text}"
        );
    }

    #[test]
    fn config_flattens_to_dotted_keys() {
        let cfg = json!({"default": "main", "backends": {"main": {"provider": "memory"}}});
        let text = render(false, |p| p.config(&cfg));
        assert_eq!(
            text,
            "backends.main.provider = \"memory\"\ndefault = \"main\"\n"
        );
    }
}
