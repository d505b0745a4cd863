//! Named values and leases kept in the store (table `sync_state`, migration 0003), for the
//! `sync` provider: the incremental pull's cursor, and the lease that lets only one worker run
//! against a SQLite store at a time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tickets_core::{Error, Result};

use crate::client::Dialect;
use crate::convert::now;
use crate::exec::{Arg, Sql};
use crate::provider::InternalProvider;
use crate::tx::{Done, in_tx};

/// Named values and leases of one store. Get one with [`InternalProvider::state`].
#[derive(Debug, Clone, Copy)]
pub struct SyncState<'a> {
    store: &'a InternalProvider,
}

/// Who holds a lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseHolder {
    /// The holder's id as it gave it.
    pub owner: String,
    /// When the lease runs out unless renewed.
    pub expires_at: DateTime<Utc>,
}

impl<'a> SyncState<'a> {
    pub(crate) fn new(store: &'a InternalProvider) -> Self {
        Self { store }
    }

    fn sql(&self, text: &str) -> Sql {
        Sql::new(self.store.dialect(), text)
    }

    fn lock(&self) -> &'static str {
        match self.store.dialect() {
            Dialect::Sqlite => "",
            Dialect::Postgres | Dialect::MySql => " FOR UPDATE",
        }
    }

    /// The value stored under `name`, if any.
    pub async fn get(&self, name: &str) -> Result<Option<String>> {
        let sql = self.sql("SELECT value FROM sync_state WHERE name = ?");
        let mut conn = self.store.db().conn().await?;
        conn.exec()
            .fetch_optional(&sql, &[name.into()], |r| r.text(0))
            .await
    }

    /// Stores `value` under `name` (replacing what was there).
    pub async fn set(&self, name: &str, value: &str) -> Result<()> {
        let select = self.sql(&format!(
            "SELECT value FROM sync_state WHERE name = ?{}",
            self.lock()
        ));
        let insert = self.sql(
            "INSERT INTO sync_state (name, value, owner, expires_at, updated_at) \
             VALUES (?, ?, NULL, NULL, ?)",
        );
        let update = self.sql("UPDATE sync_state SET value = ?, updated_at = ? WHERE name = ?");
        let store = self.store;
        in_tx!(store, |ex| async {
            let at = now();
            let exists = ex
                .fetch_optional(&select, &[name.into()], |r| r.text(0))
                .await?
                .is_some();
            if exists {
                ex.execute(&update, &[value.into(), at.into(), name.into()])
                    .await?;
            } else {
                ex.execute(&insert, &[name.into(), value.into(), at.into()])
                    .await?;
            }
            Ok(Done::Commit(()))
        })
    }

    /// Takes or renews the lease `name` for `owner` until `ttl` from now. Returns `None` when
    /// it is now held by `owner`, or the current holder when someone else holds it and it has
    /// not run out.
    pub async fn try_lease(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<LeaseHolder>> {
        let ttl = chrono::Duration::from_std(ttl)
            .map_err(|_| Error::invalid_input("lease is too long"))?;
        let select = self.sql(&format!(
            "SELECT owner, expires_at FROM sync_state WHERE name = ?{}",
            self.lock()
        ));
        let insert = self.sql(
            "INSERT INTO sync_state (name, value, owner, expires_at, updated_at) \
             VALUES (?, '', ?, ?, ?)",
        );
        let update = self
            .sql("UPDATE sync_state SET owner = ?, expires_at = ?, updated_at = ? WHERE name = ?");
        let store = self.store;
        in_tx!(store, |ex| async {
            let at = now();
            let current = ex
                .fetch_optional(&select, &[name.into()], |r| {
                    Ok((r.opt_text(0)?, r.opt_time(1)?))
                })
                .await?;
            match current {
                None => {
                    ex.execute(
                        &insert,
                        &[name.into(), owner.into(), (at + ttl).into(), at.into()],
                    )
                    .await?;
                }
                Some((Some(holder), Some(until))) if holder != owner && until > at => {
                    return Ok(Done::Discard(Some(LeaseHolder {
                        owner: holder,
                        expires_at: until,
                    })));
                }
                Some(_) => {
                    ex.execute(
                        &update,
                        &[owner.into(), (at + ttl).into(), at.into(), name.into()],
                    )
                    .await?;
                }
            }
            Ok(Done::Commit(None))
        })
    }

    /// Gives the lease `name` up if `owner` holds it.
    pub async fn release(&self, name: &str, owner: &str) -> Result<()> {
        let sql = self.sql(
            "UPDATE sync_state SET owner = NULL, expires_at = NULL, updated_at = ? \
             WHERE name = ? AND owner = ?",
        );
        let args = [Arg::from(now()), name.into(), owner.into()];
        let store = self.store;
        in_tx!(store, |ex| async {
            ex.execute(&sql, &args).await?;
            Ok(Done::Commit(()))
        })
    }
}
