//! Opening a PostgreSQL or MySQL/MariaDB store: one probe connection (so a server that is down
//! or a refused login is reported at once), then the pool.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use tickets_core::Result;
use tickets_core::config::redact_url_password;

use super::Pool;
use crate::error::map_open;

/// Opens a PostgreSQL pool; returns it and the store's location (password redacted). A
/// statement waits at most `lock_wait` for a row lock (`lock_timeout`): a peer stopped inside
/// a transaction (a paused process) cannot hold writers up for longer.
#[cfg(feature = "postgres")]
pub(super) async fn open_postgres(
    url: &str,
    max: u32,
    acquire: Duration,
    lock_wait: Duration,
) -> Result<(Pool, String)> {
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    let location = redact_url_password(url);
    let ms = lock_wait.as_millis().max(1).to_string();
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| map_open(e, &location))?
        .options([("lock_timeout", ms.as_str())]);
    probe::<sqlx::PgConnection>(&options, &location).await?;
    let pool = PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(acquire)
        .connect_with(options)
        .await
        .map_err(|e| map_open(e, &location))?;
    Ok((Pool::Postgres(pool), location))
}

/// Opens a MySQL/MariaDB pool; returns it and the store's location (password redacted). A
/// statement waits at most `lock_wait` (in whole seconds, at least one) for a row lock
/// (`innodb_lock_wait_timeout`, 50 s by default): a peer stopped inside a transaction cannot
/// hold writers up for longer.
#[cfg(feature = "mysql")]
pub(super) async fn open_mysql(
    url: &str,
    max: u32,
    acquire: Duration,
    lock_wait: Duration,
) -> Result<(Pool, String)> {
    use sqlx::Executor;
    use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
    let location = redact_url_password(url);
    let options = MySqlConnectOptions::from_str(url).map_err(|e| map_open(e, &location))?;
    probe::<sqlx::MySqlConnection>(&options, &location).await?;
    let secs = lock_wait.as_secs_f64().ceil().max(1.0) as u64;
    let set = format!("SET SESSION innodb_lock_wait_timeout = {secs}");
    let pool = MySqlPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(acquire)
        .after_connect(move |conn, _| {
            let set = set.clone();
            Box::pin(async move {
                conn.execute(sqlx::AssertSqlSafe(set)).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|e| map_open(e, &location))?;
    Ok((Pool::MySql(pool), location))
}

/// One plain connection before the pool: a pool retries refused connections until its acquire
/// timeout, while a server that is down or a wrong password should be reported at once.
async fn probe<C: Connection>(options: &C::Options, location: &str) -> Result<()> {
    let conn = C::connect_with(options)
        .await
        .map_err(|e| map_open(e, location))?;
    let _ = conn.close().await;
    Ok(())
}
