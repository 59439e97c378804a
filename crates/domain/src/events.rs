//! Typed events from the background services to whoever shows them (the desktop window,
//! logs). A bounded channel: if the window falls behind, events are dropped and counted
//! rather than letting a service block on the UI.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

/// Something a service did that a person may want to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceEvent {
    /// The DICOM listener is accepting associations.
    DicomListening {
        /// The bound address.
        addr: SocketAddr,
    },
    /// A peer opened an association.
    AssociationOpened {
        /// Lightbox's number for this association.
        id: u64,
        /// The peer's calling AE title.
        calling_ae: String,
        /// The peer's address.
        peer: SocketAddr,
    },
    /// An instance was archived (new, not a duplicate).
    InstanceStored {
        /// The association it came on (0 for import).
        association: u64,
        /// Its study.
        study_uid: String,
    },
    /// An association ended.
    AssociationClosed {
        /// Lightbox's number for it.
        id: u64,
        /// What happened, in a few words ("released, 12 stored", "aborted: …").
        outcome: String,
    },
    /// An association was refused during negotiation.
    AssociationRejected {
        /// The peer's address.
        peer: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// The sending half, cloned into every service.
#[derive(Clone)]
pub struct EventSender {
    tx: Option<mpsc::SyncSender<ServiceEvent>>,
    dropped: Arc<AtomicU64>,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl EventSender {
    /// A sender that goes nowhere (headless `serve`, CLI commands).
    pub fn discard() -> EventSender {
        EventSender {
            tx: None,
            dropped: Arc::new(AtomicU64::new(0)),
            wake: None,
        }
    }

    /// Sends an event without ever blocking the service.
    pub fn send(&self, event: ServiceEvent) {
        if let Some(tx) = &self.tx {
            if tx.try_send(event).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            } else if let Some(wake) = &self.wake {
                wake();
            }
        }
    }
}

/// A bounded event channel; `wake` is called after each event (the window's repaint request).
pub fn channel(
    capacity: usize,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
) -> (EventSender, mpsc::Receiver<ServiceEvent>) {
    let (tx, rx) = mpsc::sync_channel(capacity);
    (
        EventSender {
            tx: Some(tx),
            dropped: Arc::new(AtomicU64::new(0)),
            wake,
        },
        rx,
    )
}
