//! `tickets attach | attachments | download | delete`: files on tickets, and deleting a ticket.
//!
//! Files travel as streams (constant memory whatever their size), with a progress bar on a
//! terminal for anything over a megabyte.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use futures::StreamExt;
use serde_json::json;
use tickets::{Attachment, ByteStream, Error, NewAttachment, TicketId, Tickets};

use super::{Failure, parse};
use crate::cli::{AttachArgs, DeleteArgs, DownloadArgs};
use crate::output::Printer;

type Out<'a, W> = &'a mut Printer<W>;

/// Transfers this large get a progress bar on a terminal.
const BAR_FROM: u64 = 1024 * 1024;

fn bar(len: Option<u64>, what: &str, show: bool) -> Option<indicatif::ProgressBar> {
    let len = len.filter(|n| *n >= BAR_FROM)?;
    if !show {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    Some(bar)
}

/// A stream that advances `bar` by each chunk it yields.
fn counted(stream: ByteStream, bar: Option<indicatif::ProgressBar>) -> ByteStream {
    match bar {
        None => stream,
        Some(bar) => stream
            .inspect(move |chunk| {
                if let Ok(c) = chunk {
                    bar.inc(c.len() as u64);
                }
            })
            .boxed(),
    }
}

fn file_stream(file: tokio::fs::File) -> ByteStream {
    use tokio::io::AsyncReadExt;
    futures::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(tickets::bytes::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((
                Err(Error::invalid_input(format!("cannot read the file: {e}"))),
                None,
            )),
        }
    })
    .boxed()
}

/// `tickets attach ID FILE`.
pub async fn attach<W: Write>(
    tickets: &Tickets,
    a: &AttachArgs,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    let id = parse::id(&a.id)?;
    let stdin = a.file == Path::new("-");
    let name = match (&a.name, stdin) {
        (Some(n), _) => n.clone(),
        (None, true) => {
            return Err(Error::invalid_input("reading stdin: give the attachment a --name").into());
        }
        (None, false) => a
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::invalid_input(format!("{} names no file", a.file.display())))?,
    };
    let (stream, size) = if stdin {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)?;
        let len = bytes.len() as u64;
        (tickets::bytes_stream(bytes.into()), Some(len))
    } else {
        let file = tokio::fs::File::open(&a.file)
            .await
            .map_err(|e| Error::invalid_input(format!("cannot open {}: {e}", a.file.display())))?;
        let meta = file.metadata().await?;
        if meta.is_dir() {
            return Err(
                Error::invalid_input(format!("{} is a directory", a.file.display())).into(),
            );
        }
        (file_stream(file), Some(meta.len()))
    };
    let progress = out.shows_progress() && std::io::stderr().is_terminal();
    let bar = bar(size, &format!("uploading {name}"), progress);
    let mut new = NewAttachment::from_stream(name, counted(stream, bar.clone()), size);
    new.content_type = a.content_type.clone();
    new.author = a.author.clone();
    let added = tickets.add_attachment(&id, new).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let added = added?;
    out.report(
        &attachment_json(&added),
        &format!(
            "attached {} ({} bytes) to ticket {}: attachment {}\n",
            added.filename, added.size, added.ticket_id, added.id
        ),
    )?;
    Ok(())
}

fn attachment_json(a: &Attachment) -> serde_json::Value {
    serde_json::to_value(a).unwrap_or_else(|_| json!({"id": a.id}))
}

/// `tickets attachments ID`.
pub async fn list<W: Write>(tickets: &Tickets, id: &str, out: Out<'_, W>) -> Result<(), Failure> {
    let id = parse::id(id)?;
    let all = tickets.attachments(&id).await?;
    let mut text = String::new();
    if all.is_empty() {
        text.push_str("no attachments\n");
    }
    for a in &all {
        text.push_str(&format!(
            "{}  {}  {}  {} bytes  {}\n",
            a.id,
            a.filename,
            a.content_type,
            a.size,
            a.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    let value = serde_json::Value::Array(all.iter().map(attachment_json).collect());
    out.report(&value, &text)?;
    Ok(())
}

/// Where a download goes when `--output` is not given: the attachment's name, made safe, in
/// the working directory; never over an existing file.
fn default_target(name: &str) -> Result<PathBuf, Error> {
    let safe: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.').to_owned();
    let path = PathBuf::from(if safe.is_empty() {
        "attachment".into()
    } else {
        safe
    });
    if path.exists() {
        return Err(Error::invalid_input(format!(
            "{} exists already; choose another file with --output",
            path.display()
        )));
    }
    Ok(path)
}

/// `tickets download ATTACHMENT_ID`.
pub async fn download<W: Write>(
    tickets: &Tickets,
    a: &DownloadArgs,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    use tokio::io::AsyncWriteExt;
    if a.attachment_id.trim().is_empty() {
        return Err(Error::invalid_input("an attachment id must not be empty").into());
    }
    let content = tickets.read_attachment(a.attachment_id.trim()).await?;
    let meta = content.attachment.clone();
    let progress = out.shows_progress() && std::io::stderr().is_terminal();
    let to_stdout = a.output.as_deref() == Some(Path::new("-"));
    let bar = bar(
        Some(meta.size),
        &format!("downloading {}", meta.filename),
        progress && !to_stdout,
    );
    let mut body = counted(content.body, bar.clone());
    if to_stdout {
        let raw = out.raw();
        while let Some(chunk) = body.next().await {
            raw.write_all(&chunk?)?;
        }
        raw.flush()?;
        return Ok(());
    }
    let target = match &a.output {
        Some(p) => p.clone(),
        None => default_target(&meta.filename)?,
    };
    // Written beside the target and renamed at the end: an interrupted download leaves no
    // half file under the real name.
    let partial = target.with_extension("part");
    let mut file = tokio::fs::File::create(&partial)
        .await
        .map_err(|e| Error::invalid_input(format!("cannot write {}: {e}", partial.display())))?;
    let mut written = 0u64;
    let result = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            file.write_all(&chunk).await?;
            written += chunk.len() as u64;
        }
        file.flush().await?;
        Ok::<_, Failure>(())
    }
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(e);
    }
    tokio::fs::rename(&partial, &target).await?;
    out.report(
        &json!({"attachment": attachment_json(&meta), "path": target, "bytes": written}),
        &format!(
            "saved {} ({written} bytes) to {}\n",
            meta.filename,
            target.display()
        ),
    )?;
    Ok(())
}

/// `tickets delete ID`: asks on a terminal unless `--yes`; refuses to guess when it cannot ask.
pub async fn delete<W: Write>(
    tickets: &Tickets,
    a: &DeleteArgs,
    out: Out<'_, W>,
) -> Result<(), Failure> {
    let id: TicketId = parse::id(&a.id)?;
    if !a.yes {
        let t = tickets.get(&id).await?;
        if !std::io::stdin().is_terminal() {
            return Err(Error::invalid_input(
                "deleting needs a confirmation: run it on a terminal, or add --yes",
            )
            .into());
        }
        eprint!(
            "delete ticket {} \"{}\" with its comments and attachments? [y/N] ",
            t.id, t.subject
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            out.report(&json!({"deleted": false, "id": id}), "not deleted\n")?;
            return Ok(());
        }
    }
    tickets.delete(&id).await?;
    out.report(
        &json!({"deleted": true, "id": id}),
        &format!("deleted ticket {id}\n"),
    )?;
    Ok(())
}
