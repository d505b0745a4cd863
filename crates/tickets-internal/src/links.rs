//! The link table: which remote ticket a local one is, per remote backend. Used by the `sync`
//! provider; see [`crate::outbox`].
//!
//! Each link also keeps what the two sides last agreed on: the remote's modification time and
//! a snapshot of the remote ticket as last delivered or pulled ([`Links::record_remote`], which
//! never replaces a newer one with an older one). A pull compares a remote ticket with it to
//! tell a newer remote state from a stale one, and which side changed a field. A remote
//! deletion is recorded on the link ([`LinkState::DeletedRemotely`], with a history entry on
//! the ticket), never applied as a local delete.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tickets_core::{Error, ErrorKind, Result, TicketId};

use crate::client::Dialect;
use crate::convert::now;
use crate::exec::{Arg, Exec, RowRead, Sql};
use crate::provider::InternalProvider;
use crate::tx::{Done, in_tx};

/// Where a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Both tickets exist.
    Linked,
    /// The remote ticket was deleted there; the local one is kept.
    DeletedRemotely,
}

impl LinkState {
    /// `linked` or `deleted_remotely`, as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            LinkState::Linked => "linked",
            LinkState::DeletedRemotely => "deleted_remotely",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "linked" => Ok(LinkState::Linked),
            "deleted_remotely" => Ok(LinkState::DeletedRemotely),
            other => Err(Error::unexpected(format!("unknown link state {other:?}"))),
        }
    }
}

/// A local ticket's id in one remote.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// The remote ticket's modification time as last delivered or pulled.
    pub remote_updated_at: Option<DateTime<Utc>>,
    /// The remote ticket as last delivered or pulled (what both sides agreed on then).
    pub snapshot: Option<serde_json::Value>,
    /// Where the link stands.
    pub state: LinkState,
    /// When the state last changed (e.g. when the remote deletion was seen).
    pub state_at: Option<DateTime<Utc>>,
}

/// The link table of one store: which remote ticket a local one is. Get one with
/// [`InternalProvider::links`].
#[derive(Debug, Clone, Copy)]
pub struct Links<'a> {
    store: &'a InternalProvider,
}

const LINK_COLUMNS: &str = "ticket_id, remote_name, remote_kind, remote_id, created_at";
const ALL_COLUMNS: &str = "ticket_id, remote_name, remote_kind, remote_id, created_at, \
     remote_updated_at, snapshot, state, state_at";

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

    /// The link of `ticket` to `remote_name`, with what the two sides last agreed on.
    pub async fn get(&self, ticket: &TicketId, remote_name: &str) -> Result<Option<Link>> {
        let sql = self.sql(&format!(
            "SELECT {ALL_COLUMNS} FROM links WHERE ticket_id = ? AND remote_name = ?"
        ));
        let mut conn = self.store.db().conn().await?;
        conn.exec()
            .fetch_optional(
                &sql,
                &[ticket.as_str().into(), remote_name.into()],
                link_from_row,
            )
            .await
    }

    /// Records what the remote ticket is after a delivery or a pull: its modification time
    /// and a snapshot of it. An older state never replaces a newer one (a delivery finishing
    /// after a pull that already saw a later state); returns whether it was recorded.
    pub async fn record_remote(
        &self,
        ticket: &TicketId,
        remote_name: &str,
        remote_updated_at: DateTime<Utc>,
        snapshot: &serde_json::Value,
    ) -> Result<bool> {
        let store = self.store;
        let n = in_tx!(store, |ex| async {
            let n = record_remote_in(
                ex,
                self.store.dialect(),
                ticket,
                remote_name,
                remote_updated_at,
                snapshot,
            )
            .await?;
            Ok(Done::Commit(n))
        })?;
        Ok(n)
    }

    /// Records that the remote ticket linked to `ticket` was deleted there: the link becomes
    /// [`LinkState::DeletedRemotely`] and the ticket's history says so (action `SYNC`, field
    /// `remote_deleted`). The local ticket is kept. Returns false if it was recorded before.
    pub async fn mark_remote_deleted(&self, ticket: &TicketId, remote_name: &str) -> Result<bool> {
        let update = self.sql(
            "UPDATE links SET state = 'deleted_remotely', state_at = ? \
             WHERE ticket_id = ? AND remote_name = ? AND state = 'linked'",
        );
        let select =
            self.sql("SELECT remote_id FROM links WHERE ticket_id = ? AND remote_name = ?");
        let history = crate::query::insert_history(self.store.dialect(), 1);
        let store = self.store;
        in_tx!(store, |ex| async {
            let at = now();
            let rid = ex
                .fetch_optional(
                    &select,
                    &[ticket.as_str().into(), remote_name.into()],
                    |r| r.text(0),
                )
                .await?;
            if ex
                .execute(
                    &update,
                    &[at.into(), ticket.as_str().into(), remote_name.into()],
                )
                .await?
                == 0
            {
                return Ok(Done::Discard(false));
            }
            let args = [
                Arg::from(ticket.as_str()),
                tickets_core::HistoryAction::Sync.as_str().into(),
                Arg::from("remote_deleted"),
                Arg::Text(rid.map(|r| format!("{remote_name} {r}"))),
                Arg::from("deleted in the remote; kept here"),
                Arg::Text(None),
                at.into(),
            ];
            ex.execute(&history, &args).await?;
            Ok(Done::Commit(true))
        })
    }

    /// Links of `remote_name` whose remote ticket was deleted there, the latest first.
    pub async fn remote_deleted(&self, remote_name: &str, limit: u32) -> Result<Vec<Link>> {
        let sql = self.sql(&format!(
            "SELECT {ALL_COLUMNS} FROM links WHERE remote_name = ? AND state = 'deleted_remotely' \
             ORDER BY state_at DESC LIMIT ?"
        ));
        let mut conn = self.store.db().conn().await?;
        conn.exec()
            .fetch_all(
                &sql,
                &[remote_name.into(), Arg::Int(i64::from(limit))],
                link_from_row,
            )
            .await
    }

    /// Links of `remote_name`, in local ticket id order, after `after` (for paging through
    /// every link: `sync verify`).
    pub async fn page(
        &self,
        remote_name: &str,
        after: Option<&TicketId>,
        limit: u32,
    ) -> Result<Vec<Link>> {
        let sql = self.sql(&format!(
            "SELECT {ALL_COLUMNS} FROM links WHERE remote_name = ? AND ticket_id > ? \
             ORDER BY ticket_id LIMIT ?"
        ));
        let after = after.map_or("", |a| a.as_str());
        let mut conn = self.store.db().conn().await?;
        conn.exec()
            .fetch_all(
                &sql,
                &[remote_name.into(), after.into(), Arg::Int(i64::from(limit))],
                link_from_row,
            )
            .await
    }

    /// Every link of a ticket.
    pub async fn of_ticket(&self, ticket: &TicketId) -> Result<Vec<Link>> {
        let sql = self.sql(&format!(
            "SELECT {ALL_COLUMNS} FROM links WHERE ticket_id = ? ORDER BY remote_name"
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
    let snapshot = r
        .opt_text(6)?
        .map(|s| {
            serde_json::from_str(&s)
                .map_err(|e| Error::unexpected(format!("stored link snapshot is not JSON: {e}")))
        })
        .transpose()?;
    Ok(Link {
        ticket_id: TicketId::new(r.text(0)?),
        remote_name: r.text(1)?,
        remote_kind: r.text(2)?,
        remote_id: r.text(3)?,
        created_at: r.time(4)?,
        remote_updated_at: r.opt_time(5)?,
        snapshot,
        state: LinkState::parse(&r.text(7)?)?,
        state_at: r.opt_time(8)?,
    })
}

/// [`Links::record_remote`] inside a transaction of the caller's.
pub(crate) async fn record_remote_in(
    ex: &mut Exec<'_>,
    d: Dialect,
    ticket: &TicketId,
    remote_name: &str,
    remote_updated_at: DateTime<Utc>,
    snapshot: &serde_json::Value,
) -> Result<bool> {
    let sql = Sql::new(
        d,
        "UPDATE links SET remote_updated_at = ?, snapshot = ? \
         WHERE ticket_id = ? AND remote_name = ? \
         AND (remote_updated_at IS NULL OR remote_updated_at <= ?)",
    );
    let args = [
        Arg::from(remote_updated_at),
        snapshot.to_string().into(),
        ticket.as_str().into(),
        remote_name.into(),
        remote_updated_at.into(),
    ];
    Ok(ex.execute(&sql, &args).await? > 0)
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
