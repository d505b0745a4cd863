//! The link table: which remote ticket a local one is, per remote backend. Used by the `sync`
//! provider; see [`crate::outbox`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tickets_core::{Error, ErrorKind, Result, TicketId};

use crate::client::Dialect;
use crate::convert::now;
use crate::exec::{Arg, Exec, RowRead, Sql};
use crate::provider::InternalProvider;
use crate::tx::{Done, in_tx};

/// A local ticket's id in one remote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Link {
    /// The local ticket.
    pub ticket_id: TicketId,
    /// The remote backend's name.
    pub remote_name: String,
    /// The remote's provider kind (`asana`, ...).
    pub remote_kind: String,
    /// The ticket's id there.
    pub remote_id: String,
    /// When the link was made.
    pub created_at: DateTime<Utc>,
}

/// The link table of one store: which remote ticket a local one is. Get one with
/// [`InternalProvider::links`].
#[derive(Debug, Clone, Copy)]
pub struct Links<'a> {
    store: &'a InternalProvider,
}

const LINK_COLUMNS: &str = "ticket_id, remote_name, remote_kind, remote_id, created_at";

impl<'a> Links<'a> {
    pub(crate) fn new(store: &'a InternalProvider) -> Self {
        Self { store }
    }

    fn sql(&self, text: &str) -> Sql {
        Sql::new(self.store.dialect(), text)
    }

    /// Records that `ticket` is `remote_id` in the remote backend `remote_name` (of kind
    /// `remote_kind`). Setting the same link again is a no-op; linking a ticket that already
    /// has another id there, or a remote id already linked to another ticket, is
    /// `AlreadyExists`. An unknown local ticket is `NotFound`.
    pub async fn set(
        &self,
        ticket: &TicketId,
        remote_name: &str,
        remote_kind: &str,
        remote_id: &str,
    ) -> Result<()> {
        if let Some(existing) = self.remote_id(ticket, remote_name).await? {
            if existing == remote_id {
                return Ok(());
            }
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("ticket {ticket} is already linked to {existing} in {remote_name}"),
            ));
        }
        let sql = self.sql(&format!(
            "INSERT INTO links ({LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
        ));
        let args = [
            Arg::from(ticket.as_str()),
            remote_name.into(),
            remote_kind.into(),
            remote_id.into(),
            now().into(),
        ];
        let store = self.store;
        in_tx!(store, |ex| async {
            ex.execute(&sql, &args).await?;
            Ok(Done::Commit(()))
        })
    }

    /// The ticket's id in `remote_name`, if linked.
    pub async fn remote_id(&self, ticket: &TicketId, remote_name: &str) -> Result<Option<String>> {
        let sql = self.sql("SELECT remote_id FROM links WHERE ticket_id = ? AND remote_name = ?");
        let mut conn = self.store.db().conn().await?;
        conn.exec()
            .fetch_optional(&sql, &[ticket.as_str().into(), remote_name.into()], |r| {
                r.text(0)
            })
            .await
    }

    /// The local ticket linked to `remote_id` in `remote_name`, if any.
    pub async fn local_id(&self, remote_name: &str, remote_id: &str) -> Result<Option<TicketId>> {
        let sql = self.sql("SELECT ticket_id FROM links WHERE remote_name = ? AND remote_id = ?");
        let mut conn = self.store.db().conn().await?;
        conn.exec()
            .fetch_optional(&sql, &[remote_name.into(), remote_id.into()], |r| {
                r.text(0).map(TicketId::new)
            })
            .await
    }

    /// Every link of a ticket.
    pub async fn of_ticket(&self, ticket: &TicketId) -> Result<Vec<Link>> {
        let sql = self.sql(&format!(
            "SELECT {LINK_COLUMNS} FROM links WHERE ticket_id = ? ORDER BY remote_name"
        ));
        let mut conn = self.store.db().conn().await?;
        conn.exec()
            .fetch_all(&sql, &[ticket.as_str().into()], link_from_row)
            .await
    }

    /// Removes a link; returns whether there was one.
    pub async fn remove(&self, ticket: &TicketId, remote_name: &str) -> Result<bool> {
        let sql = self.sql("DELETE FROM links WHERE ticket_id = ? AND remote_name = ?");
        let args = [Arg::from(ticket.as_str()), remote_name.into()];
        let store = self.store;
        let n = in_tx!(store, |ex| async {
            Ok(Done::Commit(ex.execute(&sql, &args).await?))
        })?;
        Ok(n > 0)
    }
}

fn link_from_row(r: &dyn RowRead) -> Result<Link> {
    Ok(Link {
        ticket_id: TicketId::new(r.text(0)?),
        remote_name: r.text(1)?,
        remote_kind: r.text(2)?,
        remote_id: r.text(3)?,
        created_at: r.time(4)?,
    })
}

/// `remote kind -> remote id` for each of `ids`, for [`Ticket::links`](tickets_core::Ticket).
pub(crate) async fn links_by_ticket(
    ex: &mut Exec<'_>,
    d: Dialect,
    ids: &[&str],
) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = Sql::new(
        d,
        &format!(
            "SELECT ticket_id, remote_kind, remote_id FROM links WHERE ticket_id IN ({marks})"
        ),
    );
    let args: Vec<Arg> = ids.iter().map(|id| Arg::from(*id)).collect();
    let rows = ex
        .fetch_all(&sql, &args, |r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)))
        .await?;
    for (ticket, kind, remote) in rows {
        out.entry(ticket).or_default().insert(kind, remote);
    }
    Ok(out)
}
