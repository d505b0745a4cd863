//! Write transactions with retries: every multi-row change runs through [`in_tx!`].

use std::time::Duration;

use chrono::Utc;
use tickets_core::Result;

use crate::exec::Tx;

/// How often a transaction that lost a deadlock or serialization race is run again.
pub(crate) const ATTEMPTS: u32 = 5;

/// What a write transaction does at its end.
pub(crate) enum Done<T> {
    /// Keep what was written.
    Commit(T),
    /// Nothing needs keeping (an idempotent repeat, a no-op patch): roll back.
    Discard(T),
}

/// Runs `$body` (an expression using `$ex: &mut Exec` and returning `Result<Done<T>>`) in a
/// write transaction, again (up to [`ATTEMPTS`] times) when the database picked it as a
/// deadlock or serialization victim. A macro rather than a closure-taking function: async
/// closures borrowing their argument do not yet prove `Send` for `async_trait` futures.
macro_rules! in_tx {
    ($self:ident, |$ex:ident| $body:expr) => {{
        let mut attempt = 1;
        loop {
            let result = match $self.db().begin().await {
                Ok(mut tx) => {
                    let result = {
                        let mut exec = tx.exec();
                        let $ex = &mut exec;
                        $body.await
                    };
                    $crate::tx::finish(tx, result).await
                }
                Err(e) => Err(e),
            };
            match result {
                Err(e) if $crate::error::is_transient(&e) => {
                    if attempt >= $crate::tx::ATTEMPTS {
                        // Marked exhausted: no longer retryable, so the retry layer above
                        // does not multiply these attempts (one retry policy), while the kind
                        // stays for a queue that reschedules (the sync outbox).
                        break Err(e.exhausted(attempt));
                    }
                    tracing::debug!(attempt, error = %e, "retrying a transaction");
                    tokio::time::sleep($crate::tx::backoff(attempt)).await;
                    attempt += 1;
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use in_tx;

/// Commits or rolls back as the transaction's body decided.
pub(crate) async fn finish<T>(tx: Tx, result: Result<Done<T>>) -> Result<T> {
    match result {
        Ok(Done::Commit(v)) => tx.commit().await.map(|()| v),
        Ok(Done::Discard(v)) => tx.rollback().await.map(|()| v),
        Err(e) => {
            // Roll back now (not on drop) so the SQLite writer lock is free afterwards.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// 10, 20, 40, 80 ms plus up to 10 ms of jitter.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let jitter = u64::from(Utc::now().timestamp_subsec_nanos() % 10);
    Duration::from_millis((5 << attempt) + jitter)
}
