//! Group commit to stable storage: the power-loss half of "nothing lost".
//!
//! A C-STORE is answered once its file is renamed into place and its index row committed;
//! that survives a crash of Lightbox. Surviving a power loss needs fsync, which costs about
//! 11 ms per file here, so this thread does it in batches at least once a second: fsync every
//! new file and its folder, then commit "durable" with `synchronous=FULL`, which also
//! flushes every earlier index commit in the write-ahead log. Storage Commitment reports an
//! instance as committed only after this.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use tokio::sync::watch;

use super::ArchiveFolder;
pub use super::sync::{recover_unsynced, sync_round};
use crate::store::{Store, StoreError};

/// Longest time between two sync rounds.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(500);

fn sync_interval() -> Duration {
    // Diagnostic knob (benchmarks only): LIGHTBOX_DIAG_SYNC_INTERVAL_MS.
    std::env::var("LIGHTBOX_DIAG_SYNC_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(SYNC_INTERVAL)
}

/// The syncer's name in the health records.
pub const SYNC_SERVICE: &str = "durability-sync";

/// Handle to the sync thread. Dropping it stops the thread after a last round.
pub struct DurabilitySyncer {
    stop: Arc<AtomicBool>,
    rounds: watch::Receiver<u64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl DurabilitySyncer {
    /// Starts the sync thread on its own connection, supervised (a failure restarts it with
    /// a fresh connection; what was not yet synced is found again in the next round).
    pub fn start(
        archive: ArchiveFolder,
        store_path: &Path,
        health: crate::health::HealthBoard,
    ) -> Result<DurabilitySyncer, StoreError> {
        let store = Store::open(store_path)?;
        store.set_synchronous_full()?;
        let mut first = Some(store);
        let path = store_path.to_path_buf();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rounds) = watch::channel(0u64);
        let stop2 = stop.clone();
        let mut round = 0u64;
        let thread = crate::health::supervise_thread(
            health,
            SYNC_SERVICE,
            "flushing received files and the index to stable storage".into(),
            move || {
                let mut store = match first.take() {
                    Some(s) => s,
                    None => {
                        let s = Store::open(&path)
                            .map_err(|e| format!("cannot open the store: {e}"))?;
                        s.set_synchronous_full()
                            .map_err(|e| format!("cannot set synchronous mode: {e}"))?;
                        s
                    }
                };
                loop {
                    let stopping = stop2.load(Ordering::Acquire);
                    match sync_round(&archive, &mut store) {
                        Ok(n) => {
                            if n > 0 {
                                tracing::debug!(files = n, "synced to stable storage");
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "sync to stable storage failed"),
                    }
                    round += 1;
                    let _ = tx.send(round);
                    if stopping {
                        break;
                    }
                    thread::park_timeout(sync_interval());
                }
                Ok(())
            },
        )
        .map_err(|e| StoreError::Invalid(format!("cannot start the sync thread: {e}")))?;
        Ok(DurabilitySyncer {
            stop,
            rounds,
            thread: Some(thread),
        })
    }

    /// A receiver that changes after every completed sync round (Storage Commitment waits
    /// on it instead of polling).
    pub fn rounds(&self) -> watch::Receiver<u64> {
        self.rounds.clone()
    }

    /// Asks for a sync round now rather than at the next interval.
    pub fn nudge(&self) {
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }
}

impl Drop for DurabilitySyncer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
