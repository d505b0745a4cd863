//! `tickets list` printed as the pages arrive: a table fitted to the terminal (the subject is
//! cut last), full rows when piped, a JSON array written item by item with `--json`, or one
//! JSON object per line with `--jsonl`.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use tickets::Ticket;

use crate::output::{Printer, ticket_json};

/// The table's columns; the subject is last and takes what the terminal has left.
const HEADER: [&str; 6] = ["ID", "STATUS", "PRIORITY", "ASSIGNEE", "UPDATED", "SUBJECT"];
/// Rows looked at before the column widths are fixed (later rows keep them, or overflow).
const SAMPLE: usize = 50;
/// The longest wait for the first rows before printing what there is.
const SAMPLE_WAIT: Duration = Duration::from_millis(300);
/// The narrowest subject shown on a narrow terminal.
const MIN_SUBJECT: usize = 12;

/// How a list is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A table; `Some(columns)` on a terminal of that width.
    Table(Option<usize>),
    /// One JSON array.
    Json,
    /// One JSON object per line.
    JsonLines,
}

/// Writes tickets one by one as they arrive.
pub struct ListWriter<'a, W: Write> {
    out: &'a mut Printer<W>,
    format: Format,
    buffered: Vec<Ticket>,
    widths: Option<[usize; 5]>,
    started: Instant,
    count: usize,
}

fn cells(t: &Ticket) -> [String; 6] {
    [
        t.id.to_string(),
        t.status.to_string(),
        t.priority.to_string(),
        t.assignee.clone().unwrap_or_else(|| "-".into()),
        t.updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        t.subject.replace(['\n', '\r', '\t'], " "),
    ]
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

impl<'a, W: Write> ListWriter<'a, W> {
    /// Starts a list on `out`.
    pub fn new(out: &'a mut Printer<W>, format: Format) -> io::Result<Self> {
        if format == Format::Json {
            out.raw().write_all(b"[")?;
        }
        Ok(Self {
            out,
            format,
            buffered: Vec::new(),
            widths: None,
            started: Instant::now(),
            count: 0,
        })
    }

    /// Tickets written so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Writes (or, for the first rows of a table, holds) one ticket.
    pub fn push(&mut self, t: Ticket) -> io::Result<()> {
        self.count += 1;
        match self.format {
            Format::Json => {
                let sep = if self.count == 1 { "\n" } else { ",\n" };
                let out = self.out.raw();
                out.write_all(sep.as_bytes())?;
                serde_json::to_writer(&mut *out, &ticket_json(&t))?;
                out.flush()
            }
            Format::JsonLines => {
                let out = self.out.raw();
                serde_json::to_writer(&mut *out, &ticket_json(&t))?;
                out.write_all(b"\n")?;
                out.flush()
            }
            Format::Table(_) => {
                if self.widths.is_some() {
                    return self.row(&t);
                }
                self.buffered.push(t);
                if self.buffered.len() >= SAMPLE || self.started.elapsed() >= SAMPLE_WAIT {
                    self.fix_widths()?;
                }
                Ok(())
            }
        }
    }

    /// Ends the list.
    pub fn finish(mut self) -> io::Result<()> {
        match self.format {
            Format::Json => {
                let out = self.out.raw();
                out.write_all(if self.count == 0 { b"]\n" } else { b"\n]\n" })?;
                out.flush()
            }
            Format::JsonLines => Ok(()),
            Format::Table(_) => {
                if self.count == 0 {
                    return writeln!(self.out.raw(), "no tickets");
                }
                if self.widths.is_none() {
                    self.fix_widths()?;
                }
                writeln!(self.out.raw(), "{} ticket(s)", self.count)
            }
        }
    }

    fn fix_widths(&mut self) -> io::Result<()> {
        let mut widths = [0usize; 5];
        for (w, h) in widths.iter_mut().zip(HEADER) {
            *w = h.chars().count();
        }
        for t in &self.buffered {
            for (w, c) in widths.iter_mut().zip(cells(t)) {
                *w = (*w).max(c.chars().count());
            }
        }
        self.widths = Some(widths);
        let header: [String; 6] = HEADER.map(str::to_owned);
        self.line(&header)?;
        for t in std::mem::take(&mut self.buffered) {
            self.row(&t)?;
        }
        Ok(())
    }

    fn row(&mut self, t: &Ticket) -> io::Result<()> {
        self.line(&cells(t))
    }

    fn line(&mut self, cells: &[String; 6]) -> io::Result<()> {
        let widths = self.widths.unwrap_or_default();
        let mut line = String::new();
        for (cell, width) in cells.iter().zip(widths) {
            line.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count()) + 2;
            line.extend(std::iter::repeat_n(' ', pad));
        }
        let subject = match self.format {
            // Whatever the terminal has left, but never less than a readable stub.
            Format::Table(Some(columns)) => {
                let room = columns
                    .saturating_sub(line.chars().count())
                    .max(MIN_SUBJECT);
                fit(&cells[5], room)
            }
            _ => cells[5].clone(),
        };
        line.push_str(&subject);
        let out = self.out.raw();
        writeln!(out, "{}", line.trim_end())?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn ticket(i: usize, subject: &str) -> Ticket {
        Ticket::new(format!("T-{i}"), "memory", subject, Utc::now())
    }

    fn render(format: Format, n: usize, subject: &str) -> String {
        let mut p = Printer::new(Vec::new(), false);
        let mut w = ListWriter::new(&mut p, format).unwrap();
        for i in 0..n {
            w.push(ticket(i, subject)).unwrap();
        }
        w.finish().unwrap();
        String::from_utf8(p.into_inner()).unwrap()
    }

    #[test]
    fn a_terminal_table_fits_its_width_cutting_the_subject() {
        let long = "a subject far too long for a narrow terminal, it goes on and on";
        let text = render(Format::Table(Some(80)), 3, long);
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
        assert!(text.contains('…'), "{text}");
        assert!(text.lines().last().unwrap().starts_with("3 ticket(s)"));
        // Piped: nothing is cut.
        assert!(render(Format::Table(None), 3, long).contains(long));
    }

    #[test]
    fn json_is_one_array_and_jsonl_one_object_a_line() {
        let v: serde_json::Value = serde_json::from_str(&render(Format::Json, 3, "s")).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 3);
        let empty: serde_json::Value = serde_json::from_str(&render(Format::Json, 0, "s")).unwrap();
        assert_eq!(empty, serde_json::json!([]));
        let lines = render(Format::JsonLines, 3, "s");
        assert_eq!(lines.lines().count(), 3);
        for l in lines.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["id"].as_str().unwrap().starts_with("T-"));
        }
        assert_eq!(render(Format::Table(None), 0, "s"), "no tickets\n");
    }

    #[test]
    fn rows_after_the_sample_keep_the_columns() {
        let text = render(Format::Table(None), SAMPLE + 5, "s");
        let starts: Vec<usize> = text
            .lines()
            .skip(1)
            .take(SAMPLE + 5)
            .map(|l| l.find("new").unwrap())
            .collect();
        assert!(starts.windows(2).all(|w| w[0] == w[1]), "{starts:?}");
    }
}
