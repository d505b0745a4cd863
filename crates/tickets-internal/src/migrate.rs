//! Embedded migrations, one directory per dialect (`migrations/{sqlite,postgres,mysql}`).
//!
//! Built into a [`sqlx::migrate::Migrator`] by hand (no sqlx `macros` feature needed), so the
//! usual `_sqlx_migrations` bookkeeping, checksums and locking apply. A shipped migration is
//! never edited: add the next numbered file to all three directories and to the `MIGRATIONS` table in this file.

use std::borrow::Cow;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::client::Dialect;

/// `(version, description, sqlite, postgres, mysql)`.
type Step = (i64, &'static str, &'static str, &'static str, &'static str);

/// Every migration, in order.
const MIGRATIONS: &[Step] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/postgres/0001_init.sql"),
        include_str!("../migrations/mysql/0001_init.sql"),
    ),
    (
        2,
        "outbox",
        include_str!("../migrations/sqlite/0002_outbox.sql"),
        include_str!("../migrations/postgres/0002_outbox.sql"),
        include_str!("../migrations/mysql/0002_outbox.sql"),
    ),
    (
        3,
        "sync_state",
        include_str!("../migrations/sqlite/0003_sync_state.sql"),
        include_str!("../migrations/postgres/0003_sync_state.sql"),
        include_str!("../migrations/mysql/0003_sync_state.sql"),
    ),
    (
        4,
        "outbox_claims",
        include_str!("../migrations/sqlite/0004_outbox_claims.sql"),
        include_str!("../migrations/postgres/0004_outbox_claims.sql"),
        include_str!("../migrations/mysql/0004_outbox_claims.sql"),
    ),
    (
        5,
        "link_sync_state",
        include_str!("../migrations/sqlite/0005_link_sync_state.sql"),
        include_str!("../migrations/postgres/0005_link_sync_state.sql"),
        include_str!("../migrations/mysql/0005_link_sync_state.sql"),
    ),
];

/// The migrator for one dialect.
pub fn migrator(dialect: Dialect) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, description, sqlite, postgres, mysql)| {
            let sql = match dialect {
                Dialect::Sqlite => sqlite,
                Dialect::Postgres => postgres,
                Dialect::MySql => mysql,
            };
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                SqlStr::from_static(sql),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_and_all_dialects_have_each() {
        let mut last = 0;
        for (version, _, sqlite, postgres, mysql) in MIGRATIONS {
            assert!(*version > last);
            last = *version;
            for sql in [sqlite, postgres, mysql] {
                assert!(
                    sql.contains("CREATE") || sql.contains("ALTER"),
                    "migration {version} is empty"
                );
            }
        }
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            assert_eq!(migrator(d).iter().count(), MIGRATIONS.len());
        }
    }
}
