//! Keeps a provider README's capability table honest: [`check_capability_table`] reads the
//! table under `## Capabilities` and compares it with what the provider's `capabilities()`
//! says, so the two cannot drift.
//!
//! The table's first column names one or more capabilities (`text_search, due`, `comment
//! author / private`; spaces or underscores, backticks ignored), the second says `yes` or `no`
//! (anything after is explanation), or a condition (`when custom_fields maps any`), which is
//! not compared. `statuses` and `priorities` say `all ...` (or a number) when the provider
//! keeps every one; `max_page_size` gives the number. Every yes/no capability must be named.

use tickets_core::{Capabilities, Priority, Status};

/// The yes/no capabilities, by the names the tables use.
fn flags(c: &Capabilities) -> Vec<(&'static str, bool)> {
    vec![
        ("history", c.history),
        ("comment_author", c.comment_author),
        ("private_comments", c.private_comments),
        ("idempotent_create", c.idempotent_create),
        ("idempotent_comment", c.idempotent_comment),
        ("custom_fields", c.custom_fields),
        ("text_search", c.text_search),
        ("updated_since", c.updated_since),
        ("due", c.due),
        ("watchers", c.watchers),
        ("requester", c.requester),
        ("edit_requester", c.edit_requester),
        ("kind", c.kind),
        ("tags", c.tags),
        ("number", c.number),
        ("optimistic_concurrency", c.optimistic_concurrency),
        ("change_feed", c.change_feed),
        ("attachments", c.attachments),
        ("idempotent_attachment", c.idempotent_attachment),
        ("delete", c.delete),
        ("edit_description", c.edit_description),
    ]
}

fn normalize(name: &str) -> String {
    name.trim()
        .trim_matches('`')
        .trim()
        .to_ascii_lowercase()
        .replace(' ', "_")
}

/// What a value cell says.
fn verdict(cell: &str) -> Option<bool> {
    let cell = cell.trim().to_ascii_lowercase();
    if cell.starts_with("yes") {
        Some(true)
    } else if cell == "no"
        || ["no ", "no;", "no,", "no:", "no("]
            .iter()
            .any(|p| cell.starts_with(p))
    {
        Some(false)
    } else {
        None
    }
}

/// The rows of the table under `## Capabilities`: (names, value) pairs, one per name.
fn rows(readme: &str) -> Result<Vec<(String, String)>, String> {
    let mut lines = readme.lines();
    if !lines.any(|l| l.trim() == "## Capabilities") {
        return Err("the README has no `## Capabilities` section".into());
    }
    let mut out = Vec::new();
    let mut seen_table = false;
    for line in lines {
        let line = line.trim();
        if line.starts_with("## ") {
            break;
        }
        if !line.starts_with('|') {
            if seen_table {
                break;
            }
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
        if !seen_table {
            seen_table = true; // the header row
            continue;
        }
        if cells
            .iter()
            .all(|c| c.trim().chars().all(|ch| ch == '-' || ch == ':'))
        {
            continue;
        }
        let (names, value) = (cells[0], cells.get(1).copied().unwrap_or(""));
        // `a / b` with `yes / no`: one value each; `a, b` share one.
        let names: Vec<&str> = names.split('/').collect();
        let values: Vec<&str> = value.split('/').collect();
        for (i, group) in names.iter().enumerate() {
            let v = if names.len() > 1 && values.len() == names.len() {
                values[i]
            } else {
                value
            };
            for name in group.split(',') {
                let name = normalize(name);
                if !name.is_empty() {
                    out.push((name, v.trim().to_owned()));
                }
            }
        }
    }
    if out.is_empty() {
        return Err("the `## Capabilities` section has no table".into());
    }
    Ok(out)
}

/// Compares a README's capability table with `caps`; `Err` lists every mismatch.
pub fn check_capability_table(readme: &str, caps: &Capabilities) -> Result<(), String> {
    let rows = rows(readme)?;
    let flags = flags(caps);
    let mut problems = Vec::new();
    for (name, value) in &rows {
        match name.as_str() {
            "statuses" | "priorities" => {
                let (have, all) = if name == "statuses" {
                    (caps.statuses.len(), Status::ALL.len())
                } else {
                    (caps.priorities.len(), Priority::ALL.len())
                };
                let v = value.to_ascii_lowercase();
                if v.starts_with("all") && have != all {
                    problems.push(format!(
                        "{name}: the table says all, the provider keeps {have}"
                    ));
                }
            }
            "max_page_size" => {
                let n: String = value.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(n) = n.parse::<u32>()
                    && n != caps.max_page_size
                {
                    problems.push(format!(
                        "max_page_size: the table says {n}, the provider says {}",
                        caps.max_page_size
                    ));
                }
            }
            "time_resolution" => {}
            "max_attachment_size" => {}
            other => match flags.iter().find(|(f, _)| *f == other) {
                None => problems.push(format!("unknown capability {other:?} in the table")),
                Some((_, actual)) => {
                    if let Some(said) = verdict(value)
                        && said != *actual
                    {
                        problems.push(format!(
                            "{other}: the table says {}, the provider says {}",
                            if said { "yes" } else { "no" },
                            if *actual { "yes" } else { "no" }
                        ));
                    }
                }
            },
        }
    }
    for (flag, _) in &flags {
        if !rows.iter().any(|(n, _)| n == flag) {
            problems.push(format!("{flag} is missing from the table"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_NO: &str = "| history, comment_author, private_comments, idempotent_create, \
        idempotent_comment, custom_fields, text_search, updated_since, due, watchers, requester, \
        edit_requester, kind, tags, number, optimistic_concurrency, change_feed, edit_description, \
        attachments, idempotent_attachment, delete | no |";

    fn none() -> Capabilities {
        let mut c = Capabilities::default();
        c.history = false;
        c.comment_author = false;
        c.private_comments = false;
        c.idempotent_create = false;
        c.idempotent_comment = false;
        c.custom_fields = false;
        c.text_search = false;
        c.updated_since = false;
        c.due = false;
        c.watchers = false;
        c.requester = false;
        c.edit_requester = false;
        c.kind = false;
        c.tags = false;
        c.number = false;
        c.optimistic_concurrency = false;
        c.change_feed = false;
        c.edit_description = false;
        c.attachments = false;
        c.idempotent_attachment = false;
        c.delete = false;
        c
    }

    #[test]
    fn a_matching_table_passes_and_drift_is_named() {
        let readme = format!(
            "# x\n\n## Capabilities\n\n| capability | |\n|---|---|\n{ALL_NO}\n| max page size | 100 |\n\n## Next\n"
        );
        let mut caps = none();
        caps.max_page_size = 100;
        check_capability_table(&readme, &caps).unwrap();
        caps.history = true;
        caps.max_page_size = 50;
        let err = check_capability_table(&readme, &caps).unwrap_err();
        assert!(err.contains("history: the table says no"), "{err}");
        assert!(err.contains("max_page_size"), "{err}");
    }

    #[test]
    fn missing_and_unknown_rows_are_named() {
        let readme =
            "## Capabilities\n\n| capability | |\n|---|---|\n| history | yes |\n| colour | no |\n";
        let err = check_capability_table(readme, &none()).unwrap_err();
        assert!(err.contains("unknown capability \"colour\""), "{err}");
        assert!(err.contains("change_feed is missing"), "{err}");
    }

    #[test]
    fn pairs_and_conditions() {
        let readme = format!(
            "## Capabilities\n\n| a | b |\n|---|---|\n{ALL_NO}\n| comment author / private | yes / no |\n| custom fields | when mapped |\n"
        );
        let mut caps = none();
        caps.comment_author = true;
        // The later rows say more about the same names; conditions are not compared.
        let err = check_capability_table(&readme, &caps).unwrap_err();
        assert!(err.contains("comment_author: the table says no"), "{err}");
    }
}
