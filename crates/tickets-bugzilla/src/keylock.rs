//! One in-process lock per idempotency key in use, so racing calls with one key send one
//! request (the lookup by key and the write happen under the lock).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Locks by name, dropped again when nobody holds or waits for them.
#[derive(Debug, Default)]
pub(crate) struct KeyLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl KeyLocks {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `work` while holding the lock of `name`.
    pub(crate) async fn run<T>(&self, name: String, work: impl Future<Output = T>) -> T {
        let gate = self.map().entry(name.clone()).or_default().clone();
        let out = {
            let _held = gate.lock().await;
            work.await
        };
        let mut map = self.map();
        // The map's and this call's references only: nobody else waits for it.
        if map.get(&name).is_some_and(|g| Arc::strong_count(g) <= 2) {
            map.remove(&name);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_name_runs_one_at_a_time_and_is_forgotten_after() {
        let locks = Arc::new(KeyLocks::default());
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (locks, running) = (locks.clone(), running.clone());
                tokio::spawn(async move {
                    locks
                        .run("k".into(), async {
                            let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            tokio::task::yield_now().await;
                            running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                            now
                        })
                        .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), 0, "nobody else held the lock");
        }
        assert!(locks.map().is_empty());
    }
}
