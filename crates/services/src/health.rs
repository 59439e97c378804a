//! The health of the background services, and the supervisor that keeps them alive.
//!
//! A service that dies quietly is the worst failure a practice can have: the window stays up,
//! C-ECHO still answers, and orders stop arriving. So every long-lived thread and task runs
//! under [`supervise_thread`] or [`supervise_task`]: a panic is caught, logged once, recorded
//! (state, last error, since when, how many restarts) and the service is started again after a
//! short back-off. The record lives in the store's `service_health` table, so the status bar,
//! the Integration screen and `lightbox status` (another process) all read the same thing.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::Store;

pub use lightbox_store::health::{ServiceHealth, ServiceState};

/// Where services report. Cheap to clone; every service holds one.
#[derive(Debug, Clone, Default)]
pub struct HealthBoard {
    states: Arc<Mutex<BTreeMap<String, ServiceHealth>>>,
    /// The store the states are written to (None: in memory only, unit tests).
    database: Option<PathBuf>,
}

impl HealthBoard {
    /// A board that writes every change to the store at `database`.
    pub fn new(database: Option<PathBuf>) -> HealthBoard {
        HealthBoard {
            states: Arc::default(),
            database,
        }
    }

    fn update(&self, service: &str, change: impl FnOnce(&mut ServiceHealth)) {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let record = {
            let Ok(mut states) = self.states.lock() else {
                return;
            };
            let entry = states
                .entry(service.to_string())
                .or_insert_with(|| ServiceHealth {
                    service: service.to_string(),
                    state: ServiceState::Stopped,
                    detail: String::new(),
                    address: String::new(),
                    last_error: String::new(),
                    restarts: 0,
                    since: now.clone(),
                    process_id: std::process::id(),
                });
            let before = entry.state;
            change(entry);
            if entry.state != before {
                entry.since = now;
            }
            entry.clone()
        };
        if let Some(database) = &self.database {
            let written = Store::open(database).and_then(|s| s.record_service_health(&record));
            if let Err(e) = written {
                tracing::warn!(service, error = %e, "service health could not be recorded");
            }
        }
    }

    /// `service` works; `detail` says how ("listening on …").
    pub fn running(&self, service: &str, detail: &str) {
        self.update(service, |h| {
            h.state = ServiceState::Running;
            h.detail = detail.to_string();
        });
    }

    /// The listener `service` listens on `address`.
    pub fn listening(&self, service: &str, address: std::net::SocketAddr, detail: &str) {
        self.update(service, |h| {
            h.state = ServiceState::Running;
            h.address = address.to_string();
            h.detail = detail.to_string();
        });
    }

    /// `service` failed with `error`; `restarting` says whether the supervisor brings it back.
    pub fn failed(&self, service: &str, error: &str, restarting: bool) {
        self.update(service, |h| {
            h.state = if restarting {
                ServiceState::Restarting
            } else {
                ServiceState::Down
            };
            h.last_error = error.to_string();
            if restarting {
                h.restarts = h.restarts.saturating_add(1);
            }
        });
    }

    /// `service` stopped on purpose.
    pub fn stopped(&self, service: &str) {
        self.update(service, |h| h.state = ServiceState::Stopped);
    }

    /// Every service's state, by name.
    pub fn snapshot(&self) -> Vec<ServiceHealth> {
        self.states
            .lock()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }
}

pub use crate::faults::panic_text;

/// The wait before restart number `restarts` (1 s doubling to 30 s): a service that dies at
/// once again must not spin or flood the log.
fn back_off(restarts: u32) -> Duration {
    Duration::from_secs(1u64 << restarts.min(5)).min(Duration::from_secs(30))
}

/// Runs `body` on a named thread, again after each panic or error. `body` returns `Ok` when
/// its work is over (its channel closed: shutdown), `Err` when it cannot go on (the store will
/// not open); it must leave what it shares in a usable state when it panics (a channel
/// receiver it borrows is; a half-done transaction is dropped with its connection, i.e.
/// rolled back).
pub fn supervise_thread<F>(
    board: HealthBoard,
    service: &'static str,
    detail: String,
    mut body: F,
) -> std::io::Result<std::thread::JoinHandle<()>>
where
    F: FnMut() -> Result<(), String> + Send + 'static,
{
    std::thread::Builder::new()
        .name(service.into())
        .spawn(move || {
            let mut restarts = 0u32;
            loop {
                board.running(service, &detail);
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(&mut body))
                    .unwrap_or_else(|payload| Err(format!("panic: {}", panic_text(payload.as_ref()))));
                match outcome {
                    Ok(()) => {
                        board.stopped(service);
                        return;
                    }
                    Err(why) => {
                        tracing::error!(service, error = %why, restarts, "service failed; restarting it");
                        board.failed(service, &why, true);
                        std::thread::sleep(back_off(restarts));
                        restarts = restarts.saturating_add(1);
                    }
                }
            }
        })
}

/// Runs the future `make()` builds as a task, building and running a new one after each panic,
/// until one ends normally (shutdown).
pub fn supervise_task<M, Fut>(
    board: HealthBoard,
    service: &'static str,
    detail: String,
    mut make: M,
) -> tokio::task::JoinHandle<()>
where
    M: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut restarts = 0u32;
        loop {
            board.running(service, &detail);
            match tokio::spawn(make()).await {
                Ok(()) => {
                    board.stopped(service);
                    return;
                }
                Err(e) if e.is_panic() => {
                    let why = panic_text(e.into_panic().as_ref());
                    tracing::error!(service, error = %why, restarts, "service failed; restarting it");
                    board.failed(service, &format!("panic: {why}"), true);
                    tokio::time::sleep(back_off(restarts)).await;
                    restarts = restarts.saturating_add(1);
                }
                Err(e) => {
                    tracing::info!(service, error = %e, "service task cancelled");
                    board.stopped(service);
                    return;
                }
            }
        }
    })
}

/// Spawns one connection's handler: if it panics, that connection ends with a log line
/// naming it, and the service goes on.
pub fn spawn_connection<Fut>(service: &'static str, peer: std::net::SocketAddr, handler: Fut)
where
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let task = tokio::spawn(handler);
    tokio::spawn(async move {
        if let Err(e) = task.await
            && e.is_panic()
        {
            let why = panic_text(e.into_panic().as_ref());
            tracing::error!(service, %peer, error = %why, "a connection's handler failed; that connection was closed");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_thread_is_restarted_and_the_cause_kept() {
        let board = HealthBoard::new(None);
        let (tx, rx) = std::sync::mpsc::channel::<u32>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<u32>();
        let handle = supervise_thread(board.clone(), "worker", "working".into(), move || {
            while let Ok(n) = rx.recv() {
                if n == 13 {
                    panic!("unlucky {n}");
                }
                let _ = done_tx.send(n);
            }
            Ok(())
        });
        assert!(handle.is_ok());
        for n in [1, 13, 2] {
            let _ = tx.send(n);
        }
        // 2 is handled by the restarted body (after a one-second back-off).
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(1)).ok(), Some(1));
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(10)).ok(), Some(2));
        let state = board.snapshot();
        assert_eq!(state.len(), 1);
        assert_eq!(state[0].state, ServiceState::Running);
        assert_eq!(state[0].restarts, 1);
        assert!(state[0].last_error.contains("unlucky 13"), "{state:?}");
        drop(tx);
        if let Ok(h) = handle {
            let _ = h.join();
        }
        assert_eq!(board.snapshot()[0].state, ServiceState::Stopped);
    }
}
