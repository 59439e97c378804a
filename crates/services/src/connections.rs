//! Bounds on what network peers can hold: connection slots per listener, a byte budget for
//! data buffered on behalf of peers, and a calm accept loop when the system runs out of file
//! descriptors. Whatever a peer (or a thousand of them) sends, memory and sockets stay within
//! what the practice configured, and the services keep answering.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// One listener's connection slots. When every slot is taken, a new connection takes the slot
/// of the connection that has been idle longest (it is told to close); if every connection is
/// busy, the new one is turned away. So idle connections — a forgotten client, or a peer
/// opening hundreds on purpose — can never lock a scanner or an EHR out.
#[derive(Debug)]
pub struct ConnectionSlots {
    max: usize,
    open: Mutex<HashMap<u64, SlotState>>,
    next_id: AtomicUsize,
}

#[derive(Debug)]
struct SlotState {
    last_active: Instant,
    busy: bool,
    evict: Arc<Notify>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("all {max} connection slots are busy")]
pub struct SlotsFull {
    /// The limit.
    pub max: usize,
}

impl ConnectionSlots {
    /// Slots for at most `max` connections at once (at least one).
    pub fn new(max: usize) -> Arc<ConnectionSlots> {
        Arc::new(ConnectionSlots {
            max: max.max(1),
            open: Mutex::new(HashMap::new()),
            next_id: AtomicUsize::new(1),
        })
    }

    /// Connections holding a slot now.
    pub fn in_use(&self) -> usize {
        self.open.lock().map(|o| o.len()).unwrap_or(0)
    }

    /// Tells the longest-idle connection to close (the process ran out of file descriptors:
    /// one idle peer gives way so the listener can accept again). Whether one was found.
    pub fn evict_longest_idle(&self) -> bool {
        let Ok(mut open) = self.open.lock() else {
            return false;
        };
        let oldest_idle = open
            .iter()
            .filter(|(_, s)| !s.busy)
            .min_by_key(|(_, s)| s.last_active)
            .map(|(id, _)| *id);
        match oldest_idle.and_then(|id| open.remove(&id)) {
            Some(evicted) => {
                evicted.evict.notify_one();
                true
            }
            None => false,
        }
    }

    /// Takes a slot for a new connection, evicting the longest-idle one when all are taken.
    pub fn admit(self: &Arc<Self>) -> Result<Slot, SlotsFull> {
        let Ok(mut open) = self.open.lock() else {
            return Err(SlotsFull { max: self.max });
        };
        if open.len() >= self.max {
            let oldest_idle = open
                .iter()
                .filter(|(_, s)| !s.busy)
                .min_by_key(|(_, s)| s.last_active)
                .map(|(id, _)| *id);
            match oldest_idle {
                Some(id) => {
                    if let Some(evicted) = open.remove(&id) {
                        evicted.evict.notify_one();
                    }
                }
                None => return Err(SlotsFull { max: self.max }),
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) as u64;
        let evict = Arc::new(Notify::new());
        open.insert(
            id,
            SlotState {
                last_active: Instant::now(),
                busy: false,
                evict: evict.clone(),
            },
        );
        Ok(Slot {
            id,
            slots: self.clone(),
            evict,
        })
    }
}

/// A connection's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    id: u64,
    slots: Arc<ConnectionSlots>,
    evict: Arc<Notify>,
}

impl Slot {
    /// Marks the connection busy (in the middle of a message: not to be evicted) or idle.
    pub fn set_busy(&self, busy: bool) {
        if let Ok(mut open) = self.slots.open.lock()
            && let Some(s) = open.get_mut(&self.id)
        {
            s.busy = busy;
            s.last_active = Instant::now();
        }
    }

    /// Completes when another connection took this one's slot: close the connection.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.slots.open.lock() {
            open.remove(&self.id);
        }
    }
}

/// A budget of bytes buffered for all of a listener's peers together (unfinished messages).
#[derive(Debug)]
pub struct ByteBudget {
    limit: usize,
    used: AtomicUsize,
}

/// The budget is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more than {limit_bytes} bytes of unfinished messages are buffered for all peers")]
pub struct BudgetSpent {
    /// The limit.
    pub limit_bytes: usize,
}

impl ByteBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<ByteBudget> {
        Arc::new(ByteBudget {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// One connection's share of a [`ByteBudget`]; released when dropped.
#[derive(Debug)]
pub struct BudgetShare {
    budget: Arc<ByteBudget>,
    held: usize,
}

impl BudgetShare {
    /// An empty share of `budget`.
    pub fn of(budget: &Arc<ByteBudget>) -> BudgetShare {
        BudgetShare {
            budget: budget.clone(),
            held: 0,
        }
    }

    /// Sets this connection's holding to `bytes`; refuses growth past the budget (the holding
    /// then stays as it was).
    pub fn hold(&mut self, bytes: usize) -> Result<(), BudgetSpent> {
        if bytes <= self.held {
            self.budget
                .used
                .fetch_sub(self.held - bytes, Ordering::Relaxed);
            self.held = bytes;
            return Ok(());
        }
        let more = bytes - self.held;
        let limit = self.budget.limit;
        let grown = self
            .budget
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(more).filter(|total| *total <= limit)
            });
        match grown {
            Ok(_) => {
                self.held = bytes;
                Ok(())
            }
            Err(_) => Err(BudgetSpent { limit_bytes: limit }),
        }
    }
}

impl Drop for BudgetShare {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::Relaxed);
    }
}

/// Whether an accept failed for want of file descriptors (per process or system-wide).
pub fn out_of_descriptors(error: &std::io::Error) -> bool {
    // EMFILE 24 and ENFILE 23 on Linux and macOS; WSAEMFILE 10024 on Windows.
    matches!(error.raw_os_error(), Some(23 | 24 | 10024))
}

/// The accept loop's manners when `accept` fails (out of file descriptors, mostly): wait a
/// little longer each time (10 ms doubling to 1 s) and say so once per burst, not once per
/// attempt — a loop that logs every failure at full speed fills the disk.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    failures: u32,
    first_error: Option<String>,
}

impl AcceptBackoff {
    /// Records a failed accept; returns how long to wait before the next.
    pub fn failed(&mut self, service: &str, error: &std::io::Error) -> Duration {
        if self.failures == 0 {
            tracing::warn!(service, error = %error, "cannot accept connections; backing off");
            self.first_error = Some(error.to_string());
        }
        self.failures = self.failures.saturating_add(1);
        Duration::from_millis(10u64 << self.failures.min(7)).min(Duration::from_secs(1))
    }

    /// Records a successful accept (logs the end of a burst of failures).
    pub fn succeeded(&mut self, service: &str) {
        if self.failures > 0 {
            tracing::info!(
                service,
                failures = self.failures,
                first_error = self.first_error.as_deref().unwrap_or(""),
                "accepting connections again"
            );
            self.failures = 0;
            self.first_error = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_connection_takes_the_longest_idle_slot_never_a_busy_one() {
        let slots = ConnectionSlots::new(2);
        let a = slots.admit().ok();
        std::thread::sleep(Duration::from_millis(5));
        let b = slots.admit().ok();
        assert_eq!(slots.in_use(), 2);
        // a is the longest idle: the third connection takes its slot.
        let c = slots.admit();
        assert!(c.is_ok());
        assert_eq!(slots.in_use(), 2);
        // Everyone busy: the next is turned away.
        if let Some(b) = &b {
            b.set_busy(true);
        }
        if let Ok(c) = &c {
            c.set_busy(true);
        }
        assert_eq!(slots.admit().err(), Some(SlotsFull { max: 2 }));
        drop(a);
        drop(c);
        assert_eq!(slots.in_use(), 1);
    }

    #[test]
    fn the_byte_budget_is_shared_and_returned() {
        let budget = ByteBudget::new(100);
        let mut one = BudgetShare::of(&budget);
        let mut two = BudgetShare::of(&budget);
        assert!(one.hold(60).is_ok());
        assert_eq!(two.hold(50), Err(BudgetSpent { limit_bytes: 100 }));
        assert!(two.hold(40).is_ok());
        assert!(one.hold(10).is_ok());
        assert_eq!(budget.used(), 50);
        drop(two);
        assert_eq!(budget.used(), 10);
        drop(one);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn accept_failures_back_off_to_a_second() {
        let mut backoff = AcceptBackoff::default();
        let e = std::io::Error::other("too many open files");
        let waits: Vec<Duration> = (0..10).map(|_| backoff.failed("test", &e)).collect();
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(waits.last().copied(), Some(Duration::from_secs(1)));
        backoff.succeeded("test");
        assert_eq!(backoff.failed("test", &e), Duration::from_millis(20));
    }
}
