//! The commands that work on tickets through the hub's default backend.

use std::io::{Read, Write};

use futures::StreamExt;
use tickets::{Error, NewComment, NewTicket, Patch, TicketPatch, TicketQuery, Tickets};

use super::{Failure, parse};
use crate::cli::{AssignArgs, CommentArgs, CreateArgs, ListArgs, StatusArgs, UpdateArgs};
use crate::output::Printer;

type Out<'a, W> = &'a mut Printer<W>;

/// `tickets create`.
pub async fn create<W: Write>(
    tickets: &Tickets,
    a: &CreateArgs,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    let mut new = NewTicket::new(a.subject.clone());
    if let Some(d) = &a.description {
        new = new.description(d.clone());
    }
    if let Some(p) = &a.priority {
        new = new.priority(parse::priority(p)?);
    }
    if let Some(s) = &a.status {
        new = new.status(parse::status(s)?);
    }
    if let Some(who) = &a.assignee {
        new = new.assignee(who.clone());
    }
    if let Some(who) = &a.requester {
        new = new.requester(who.clone());
    }
    if let Some(kind) = &a.kind {
        new = new.kind(kind.clone());
    }
    if let Some(due) = &a.due {
        new = new.due(parse::date("--due", due)?);
    }
    for w in &a.watchers {
        new = new.watcher(w.clone());
    }
    new = new.tags(a.tags.iter().cloned());
    for f in &a.fields {
        let (key, value) = parse::field(f)?;
        new = new.custom_field(key, value);
    }
    if let Some(key) = &a.idempotency_key {
        new = new.idempotency_key(key.clone());
    }
    let ticket = tickets.create(new).await?;
    out.ticket(&ticket)?;
    Ok(())
}

/// `tickets get`.
pub async fn get<W: Write>(tickets: &Tickets, id: &str, out: Out<'_, W>) -> Result<(), Failure> {
    let ticket = tickets.get(&parse::id(id)?).await?;
    out.ticket(&ticket)?;
    Ok(())
}

/// The query `tickets list` runs.
pub fn query(a: &ListArgs) -> Result<TicketQuery, Error> {
    let mut q = TicketQuery::new();
    for s in &a.statuses {
        q = q.status(parse::status(s)?);
    }
    if let Some(who) = &a.assignee {
        q = q.assignee(who.clone());
    }
    if let Some(who) = &a.requester {
        q = q.requester(who.clone());
    }
    for t in &a.tags {
        q = q.tag(t.clone());
    }
    if let Some(text) = &a.text {
        q = q.text(text.clone());
    }
    if let Some(since) = &a.updated_since {
        q = q.updated_since(parse::instant("--updated-since", since)?);
    }
    if let Some(limit) = a.limit {
        if limit == 0 {
            return Err(Error::invalid_input("--limit must be at least 1"));
        }
        // No bigger pages than needed; the provider caps this at its own maximum.
        q = q.page_size(u32::try_from(limit).unwrap_or(u32::MAX).min(100));
    }
    q.validate()?;
    Ok(q)
}

/// `tickets list`: every page, or the first `--limit` tickets.
pub async fn list<W: Write>(
    tickets: &Tickets,
    a: &ListArgs,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    let mut stream = tickets.list_all(query(a)?);
    let spinner = out.shows_progress().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar.set_message("listing tickets");
        bar
    });
    let format = out.list_format();
    let mut writer = crate::listing::ListWriter::new(out, format)?;
    let limit = a.limit.unwrap_or(usize::MAX);
    let result = async {
        while writer.count() < limit {
            let Some(t) = stream.next().await else { break };
            writer.push(t?)?;
            if let Some(bar) = &spinner {
                bar.set_message(format!("listed {} ticket(s)", writer.count()));
            }
        }
        Ok::<_, Failure>(())
    }
    .await;
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    result?;
    writer.finish()?;
    Ok(())
}

/// The patch `tickets update` sends.
pub fn patch(a: &UpdateArgs) -> Result<TicketPatch, Error> {
    let mut p = TicketPatch::new();
    if let Some(s) = &a.subject {
        p = p.subject(s.clone());
    }
    if let Some(d) = &a.description {
        p = p.description(d.clone());
    }
    if let Some(s) = &a.priority {
        p = p.priority(parse::priority(s)?);
    }
    if let Some(s) = &a.status {
        p = p.status(parse::status(s)?);
    }
    if let Some(who) = &a.assignee {
        p = p.assignee(who.clone());
    }
    if a.unassign {
        p = p.clear_assignee();
    }
    if let Some(who) = &a.requester {
        p = p.requester(who.clone());
    }
    if let Some(kind) = &a.kind {
        p = p.kind(kind.clone());
    }
    if let Some(due) = &a.due {
        p = p.due(parse::date("--due", due)?);
    }
    if a.clear_due {
        p = p.clear_due();
    }
    if !a.tags.is_empty() {
        p = p.tags(a.tags.iter().cloned());
    }
    if a.clear_tags {
        p.tags = Patch::Clear;
    }
    for f in &a.fields {
        let (key, value) = parse::field(f)?;
        p = p.custom_field(key, value);
    }
    for key in &a.clear_fields {
        p = p.clear_custom_field(key.clone());
    }
    if p.is_empty() {
        return Err(Error::invalid_input(
            "nothing to change; give at least one of --subject, --description, --priority, \
             --status, --assignee, --unassign, --requester, --kind, --due, --clear-due, --tag, \
             --clear-tags, --field, --clear-field",
        ));
    }
    if let Some(v) = &a.expected_version {
        if v.trim().is_empty() || v.chars().any(char::is_whitespace) {
            return Err(Error::invalid_input(format!(
                "--expected-version {v:?} is not a version; give the `version` that \
                 `tickets get ID` shows"
            )));
        }
        p = p.expected_version(v.clone());
    }
    Ok(p)
}

/// `tickets update`.
pub async fn update<W: Write>(
    tickets: &Tickets,
    a: &UpdateArgs,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    let id = parse::id(&a.id)?;
    let ticket = tickets.update(&id, patch(a)?).await?;
    out.ticket(&ticket)?;
    Ok(())
}

/// `tickets status`.
pub async fn status<W: Write>(
    tickets: &Tickets,
    a: &StatusArgs,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    let to = parse::status(&a.status)?;
    let ticket = tickets.change_status(&parse::id(&a.id)?, to).await?;
    out.ticket(&ticket)?;
    Ok(())
}

/// `tickets assign` and `tickets unassign` (`who` = None).
pub async fn assign<W: Write>(
    tickets: &Tickets,
    id: &str,
    who: Option<&str>,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    let ticket = tickets.assign(&parse::id(id)?, who).await?;
    out.ticket(&ticket)?;
    Ok(())
}

/// `tickets assign ID USER`.
pub async fn assign_to<W: Write>(
    tickets: &Tickets,
    a: &AssignArgs,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    assign(tickets, &a.id, Some(&a.user), out).await
}

/// `tickets comment`.
pub async fn comment<W: Write>(
    tickets: &Tickets,
    a: &CommentArgs,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    let id = parse::id(&a.id)?;
    let body = if a.text == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::invalid_input(format!(
                "the comment on stdin is not UTF-8 text (bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        text.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        a.text.clone()
    };
    let mut new = NewComment::new(body);
    if let Some(author) = &a.author {
        new = new.author(author.clone());
    }
    if a.private {
        new = new.private();
    }
    if let Some(key) = &a.idempotency_key {
        new = new.idempotency_key(key.clone());
    }
    let comment = tickets.add_comment(&id, new).await?;
    out.comment(&comment)?;
    Ok(())
}

/// `tickets comments`.
pub async fn comments<W: Write>(
    tickets: &Tickets,
    id: &str,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    let comments = tickets.comments(&parse::id(id)?).await?;
    out.comments(&comments)?;
    Ok(())
}

/// A status shortcut.
#[derive(Debug, Clone, Copy)]
pub enum Shortcut {
    /// `tickets close`.
    Close,
    /// `tickets resolve`.
    Resolve,
    /// `tickets escalate`.
    Escalate,
    /// `tickets reopen`.
    Reopen,
}

/// `tickets close|resolve|escalate|reopen`.
pub async fn shortcut<W: Write>(
    tickets: &Tickets,
    which: Shortcut,
    id: &str,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    let id = parse::id(id)?;
    let ticket = match which {
        Shortcut::Close => tickets.close(&id).await?,
        Shortcut::Resolve => tickets.resolve(&id).await?,
        Shortcut::Escalate => tickets.escalate(&id).await?,
        Shortcut::Reopen => tickets.reopen(&id).await?,
    };
    out.ticket(&ticket)?;
    Ok(())
}

/// `tickets history`.
pub async fn history<W: Write>(
    tickets: &Tickets,
    id: &str,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    let entries = tickets.history(&parse::id(id)?).await?;
    out.history(&entries)?;
    Ok(())
}
