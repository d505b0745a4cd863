//! Opening a PostgreSQL or MySQL/MariaDB store: one probe connection (so a server that is down
//! or a refused login is reported at once), then the pool.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use tickets_core::Result;
use tickets_core::config::redact_url_password;

use super::Pool;
use crate::error::map_open;

/// Opens a PostgreSQL pool; returns it and the store's location (password redacted).
#[cfg(feature = "postgres")]
pub(super) async fn open_postgres(
    url: &str,
    max: u32,
    acquire: Duration,
) -> Result<(Pool, String)> {
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    let location = redact_url_password(url);
    let options = PgConnectOptions::from_str(url).map_err(|e| map_open(e, &location))?;
    probe::<sqlx::PgConnection>(&options, &location).await?;
    let pool = PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(acquire)
        .connect_with(options)
        .await
        .map_err(|e| map_open(e, &location))?;
    Ok((Pool::Postgres(pool), location))
}

/// Opens a MySQL/MariaDB pool; returns it and the store's location (password redacted).
#[cfg(feature = "mysql")]
pub(super) async fn open_mysql(url: &str, max: u32, acquire: Duration) -> Result<(Pool, String)> {
    use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
    let location = redact_url_password(url);
    let options = MySqlConnectOptions::from_str(url).map_err(|e| map_open(e, &location))?;
    probe::<sqlx::MySqlConnection>(&options, &location).await?;
    let pool = MySqlPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(acquire)
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
