//! The DICOM listener: accepts associations and answers C-ECHO, C-STORE, C-FIND, C-MOVE,
//! C-GET and Storage Commitment. Many associations run at once, one task each.
//!
//! This file accepts, admits and dispatches; each service has its room: `negotiation`,
//! `store`, `find`, `worklist`, `retrieve`, `mpps`, `commitment`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::association::server::{AccessControl, Negotiation, ServerAssociationOptions};
use dicom_ul::association::{Association, AsyncAssociation};
use dicom_ul::pdu::{AssociationRJServiceUserReason, RequestorRoles, UserIdentity};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::dimse::{
    self, Command, DimseError, Incoming, Message, MessageAssembler, command_field as cf,
};
use super::scu;
use super::status;
use crate::archive::ingest::{Ingest, IngestError, Ingested, ReceivedObject};
use crate::events::{EventSender, ServiceEvent};
use crate::pacs::admission::{
    ALLOW_UNKNOWN_COMMITMENT, ALLOW_UNKNOWN_MPPS, ALLOW_UNKNOWN_QUERY, ALLOW_UNKNOWN_STORE,
    Admission, UnknownAePolicy,
};
use crate::pacs::query::{self, IndexQuery};
use crate::pacs::sop_classes::{self as sop, storage_sop_classes};
use crate::store::StorePool;
use crate::store::index::Level;
use crate::store::nodes::DicomNode;

mod commitment;
mod find;
mod mpps;
mod negotiation;
mod retrieve;
mod store;
mod worklist;

use commitment::{CommitmentReport, UndeliveredReport, deliver_report, send_report};
use negotiation::{PeerAccess, RoleSelection, SharedAccess};

/// Settings of the DICOM listener.
#[derive(Debug, Clone)]
pub struct DicomConfig {
    /// Our AE title; associations calling another title are rejected.
    pub ae_title: String,
    /// Largest PDU we accept.
    pub max_pdu_bytes: u32,
    /// Largest data set we accept in one message.
    pub max_dataset_bytes: usize,
    /// How long an association may stay silent before we abort it.
    pub idle_timeout: Duration,
    /// Most answers one C-FIND returns.
    pub find_limit: usize,
    /// Most associations at once (the longest idle gives way to a new one).
    pub max_associations: usize,
}

pub use crate::settings::MAX_ASSOCIATIONS_SETTING;
/// The listener's name in the health records.
pub const LISTENER_SERVICE: &str = "dicom";

impl Default for DicomConfig {
    fn default() -> Self {
        DicomConfig {
            ae_title: "LIGHTBOX".into(),
            max_pdu_bytes: 262_144,
            max_dataset_bytes: 2 << 30,
            idle_timeout: Duration::from_secs(60),
            find_limit: 10_000,
            max_associations: 64,
        }
    }
}

/// Everything an association handler needs, shared by all of them.
pub struct DicomContext {
    /// Listener settings.
    pub config: DicomConfig,
    /// The store database, each handler opens its own connection.
    pub store_path: PathBuf,
    /// The ingest service.
    pub ingest: Ingest,
    /// Where events go.
    pub events: EventSender,
    /// Changes after every durability sync round (Storage Commitment waits on it).
    pub durable_rounds: watch::Receiver<u64>,
    /// Open connections for the handlers' reads.
    stores: Arc<StorePool>,
    next_id: AtomicU64,
    /// One slot per open association.
    slots: Arc<crate::connections::ConnectionSlots>,
}

impl DicomContext {
    /// Assembles the context.
    pub fn new(
        config: DicomConfig,
        store_path: PathBuf,
        ingest: Ingest,
        events: EventSender,
        durable_rounds: watch::Receiver<u64>,
    ) -> DicomContext {
        DicomContext {
            slots: crate::connections::ConnectionSlots::new(config.max_associations),
            config,
            stores: StorePool::new(&store_path),
            store_path,
            ingest,
            events,
            durable_rounds,
            next_id: AtomicU64::new(1),
        }
    }
}

/// Binds the listener. Port 0 picks a free port; the bound address is returned.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Accepts associations until `shutdown` turns true. Each association holds one of
/// `dicom.max_associations` slots; when all are taken the longest idle one is released for the
/// newcomer, and a failing accept (no file descriptors left) backs off instead of spinning.
pub async fn serve(
    listener: Arc<TcpListener>,
    ctx: Arc<DicomContext>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = crate::connections::AcceptBackoff::default();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    backoff.succeeded(LISTENER_SERVICE);
                    let slot = match ctx.slots.admit() {
                        Ok(slot) => slot,
                        Err(full) => {
                            tracing::warn!(%peer, error = %full, "DICOM connection turned away");
                            drop(socket);
                            continue;
                        }
                    };
                    // Without TCP_NODELAY every response waits ~40 ms for Nagle.
                    let _ = socket.set_nodelay(true);
                    let ctx = ctx.clone();
                    crate::health::spawn_connection(LISTENER_SERVICE, peer, async move {
                        handle_connection(socket, peer, ctx, slot).await
                    });
                }
                Err(e) => {
                    if crate::connections::out_of_descriptors(&e) {
                        ctx.slots.evict_longest_idle();
                    }
                    let wait = backoff.failed(LISTENER_SERVICE, &e);
                    tokio::time::sleep(wait).await;
                }
            },
            changed = shutdown.changed() => {
                // A dropped sender (services dropped without stop) is a shutdown too; without
                // this the loop would spin on the closed channel.
                if changed.is_err() || *shutdown.borrow() { break; }
            }
        }
    }
}

async fn handle_connection(
    socket: TcpStream,
    peer: SocketAddr,
    ctx: Arc<DicomContext>,
    slot: crate::connections::Slot,
) {
    let (nodes, policy) = match ctx.stores.get().and_then(|s| {
        Ok((
            s.nodes()?,
            UnknownAePolicy {
                store: s.flag(ALLOW_UNKNOWN_STORE, true)?,
                query: s.flag(ALLOW_UNKNOWN_QUERY, false)?,
                mpps: s.flag(ALLOW_UNKNOWN_MPPS, false)?,
                commitment: s.flag(ALLOW_UNKNOWN_COMMITMENT, false)?,
            },
        ))
    }) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(%peer, error = %e, "cannot read access settings; closing connection");
            return;
        }
    };
    // Configured host names are resolved off the async workers (a slow resolver must not
    // stall other associations); addresses need no lookup.
    let hosts: Vec<String> = nodes
        .iter()
        .filter(|n| n.check_host && !n.host.trim().is_empty())
        .map(|n| n.host.clone())
        .collect();
    let _ = tokio::task::spawn_blocking(move || {
        for h in hosts {
            crate::access::peers::addresses_of(&h);
        }
    })
    .await;
    let access = Arc::new(PeerAccess {
        nodes,
        policy,
        peer: peer.ip(),
    });
    let mut options = ServerAssociationOptions::new()
        .ae_access_control(SharedAccess(access.clone()))
        .with_negotiation(RoleSelection)
        .ae_title(ctx.config.ae_title.clone())
        .max_pdu_length(ctx.config.max_pdu_bytes)
        .read_timeout(ctx.config.idle_timeout)
        .write_timeout(ctx.config.idle_timeout)
        .strict(false);
    for uid in [
        sop::VERIFICATION,
        sop::PATIENT_ROOT_FIND,
        sop::PATIENT_ROOT_MOVE,
        sop::PATIENT_ROOT_GET,
        sop::STUDY_ROOT_FIND,
        sop::STUDY_ROOT_MOVE,
        sop::STUDY_ROOT_GET,
        sop::STORAGE_COMMITMENT,
        crate::ris::worklist::MODALITY_WORKLIST_FIND,
        crate::ris::mpps::MPPS_SOP_CLASS,
    ] {
        options = options.with_abstract_syntax(uid);
    }
    for uid in storage_sop_classes() {
        options = options.with_abstract_syntax(*uid);
    }
    let established = tokio::select! {
        established = options.establish_async(socket) => established,
        () = slot.evicted() => {
            tracing::info!(%peer, "connection silent during negotiation while all slots were taken; closed");
            return;
        }
    };
    let mut assoc = match established {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(%peer, error = %e, "association refused or failed during negotiation");
            ctx.events.send(ServiceEvent::AssociationRejected {
                peer,
                reason: e.to_string(),
            });
            return;
        }
    };
    let id = ctx.next_id.fetch_add(1, Ordering::Relaxed);
    let calling = assoc.peer_ae_title().trim().to_string();
    let perms = access.decide(&calling);
    if let Some(node) = &perms.impostor_of {
        tracing::warn!(association = id, %peer, calling_ae = %calling, node = %node,
            "a configured node's AE title called from another host; treated as an unknown AE");
        let stores = ctx.stores.clone();
        let detail = format!(
            "AE title {calling} belongs to node {node}, which is configured on another host; treated as unknown"
        );
        let (actor, origin) = (format!("dicom:{calling}"), peer.to_string());
        let _ = tokio::task::spawn_blocking(move || {
            if let Ok(store) = stores.get() {
                let _ = store.audit(&crate::store::access::AuditEntry {
                    at: String::new(),
                    actor,
                    action: "dicom.wrong_host".into(),
                    subject: "association".into(),
                    origin,
                    outcome: "refused".into(),
                    detail,
                });
            }
        })
        .await;
    }
    tracing::info!(association = id, %peer, calling_ae = %calling, "association opened");
    ctx.events.send(ServiceEvent::AssociationOpened {
        id,
        calling_ae: calling.clone(),
        peer,
    });
    let (report_tx, mut report_rx) = tokio::sync::mpsc::channel::<CommitmentReport>(16);
    let mut session = Session {
        ctx: ctx.clone(),
        id,
        calling,
        perms,
        stored: 0,
        tolerated: 0,
        report_tx,
        next_report_id: 0x7C00,
        awaiting_ack: std::collections::HashMap::new(),
    };
    let mut assembler =
        MessageAssembler::new(ctx.config.max_dataset_bytes).spilling_to(dimse::archive_spill(
            ctx.ingest.archive().clone(),
            assoc.presentation_contexts().to_vec(),
            session.calling.clone(),
        ));
    let outcome = loop {
        // Wait for the peer and for Storage Commitment reports at once. A single-PDU read is
        // safe to interrupt (dicom-ul keeps partial bytes), and the assembler keeps partial
        // messages, so nothing is lost when a report wins the race.
        slot.set_busy(assembler.in_progress());
        let pdu = tokio::select! {
            pdu = AsyncAssociation::receive(&mut assoc) => pdu,
            () = slot.evicted() => {
                tracing::info!(association = id, "idle while all association slots were taken; aborted for a new one");
                let _ = assoc.abort().await;
                break "aborted: idle while all slots were taken".to_string();
            }
            Some(report) = report_rx.recv() => {
                session.next_report_id = session.next_report_id.wrapping_add(1).max(1);
                let message_id = session.next_report_id;
                let undelivered = report.clone_for_fallback();
                if let Err(e) = send_report(&mut assoc, &report, message_id).await {
                    tracing::warn!(association = id, error = %e, "cannot send a commitment report here");
                    let _ = report.fallback.send(undelivered);
                    let _ = assoc.abort().await;
                    break format!("aborted: {e}");
                }
                // Kept until the requester acknowledges it with Success.
                session.awaiting_ack.insert(message_id, undelivered);
                continue;
            }
        };
        let incoming = match pdu {
            // A large data set is written to disk as it arrives: tell the runtime.
            Ok(pdu) if assembler.will_write(&pdu) => {
                tokio::task::block_in_place(|| assembler.push(pdu))
            }
            Ok(pdu) => assembler.push(pdu),
            Err(e) => Err(DimseError::from(e)),
        };
        match incoming {
            Ok(None) => {}
            Ok(Some(Incoming::Message(msg))) => {
                if let Err(e) = session.dispatch(&mut assoc, msg).await {
                    tracing::warn!(association = id, error = %e, "aborting association");
                    let _ = assoc.abort().await;
                    break format!("aborted: {e}");
                }
            }
            Ok(Some(Incoming::ReleaseRequested)) => {
                let _ = assoc.send(&dicom_ul::pdu::Pdu::ReleaseRP).await;
                break if session.tolerated > 0 {
                    format!(
                        "released, {} stored ({} not conformant, accepted: see the log)",
                        session.stored, session.tolerated
                    )
                } else {
                    format!("released, {} stored", session.stored)
                };
            }
            Ok(Some(Incoming::Released)) => break "released".to_string(),
            Err(DimseError::Aborted) => break "aborted by peer".to_string(),
            Err(e) => {
                tracing::warn!(association = id, error = %e, "association failed; aborting");
                let _ = assoc.abort().await;
                break format!("aborted: {e}");
            }
        }
    };
    // Reports still being prepared, or sent but never acknowledged, now go out on a new
    // association (see `deliver_report`).
    drop(report_rx);
    for (_, report) in session.awaiting_ack.drain() {
        let ctx = ctx.clone();
        let requester = session.calling.clone();
        tokio::spawn(async move { deliver_report(&ctx, &requester, report).await });
    }
    tracing::info!(association = id, outcome = %outcome, "association closed");
    ctx.events
        .send(ServiceEvent::AssociationClosed { id, outcome });
}

type ServerAssoc = dicom_ul::association::server::AsyncServerAssociation<TcpStream>;

struct Session {
    ctx: Arc<DicomContext>,
    id: u64,
    calling: String,
    perms: Admission,
    stored: u64,
    /// Instances accepted with repairs (non-conformant UIDs, UN, bad numbers).
    tolerated: u64,
    report_tx: tokio::sync::mpsc::Sender<CommitmentReport>,
    next_report_id: u16,
    awaiting_ack: std::collections::HashMap<u16, UndeliveredReport>,
}

impl Session {
    fn context_of<'a>(
        &self,
        assoc: &'a ServerAssoc,
        id: u8,
    ) -> Option<&'a dicom_ul::pdu::PresentationContextNegotiated> {
        assoc.presentation_contexts().iter().find(|pc| pc.id == id)
    }

    async fn dispatch(&mut self, assoc: &mut ServerAssoc, msg: Message) -> Result<(), DimseError> {
        let Some(pc) = self.context_of(assoc, msg.context_id).cloned() else {
            return Err(DimseError::Protocol(format!(
                "message on unknown presentation context {}",
                msg.context_id
            )));
        };
        let field = msg.command.field();
        match field {
            cf::C_ECHO_RQ => {
                let rsp = dimse::response_to(&msg.command, cf::C_ECHO_RSP, status::SUCCESS);
                dimse::send_message(assoc, msg.context_id, &rsp, None).await
            }
            cf::C_STORE_RQ => self.c_store(assoc, msg, &pc).await,
            cf::C_FIND_RQ => self.c_find(assoc, msg, &pc).await,
            cf::C_MOVE_RQ | cf::C_GET_RQ => self.c_retrieve(assoc, msg, &pc).await,
            cf::N_ACTION_RQ => self.n_action(assoc, msg, &pc).await,
            cf::N_CREATE_RQ | cf::N_SET_RQ => self.mpps(assoc, msg, &pc).await,
            cf::C_CANCEL_RQ => Ok(()), // nothing in progress to cancel
            cf::N_EVENT_REPORT_RSP => {
                let answered = msg
                    .command
                    .u16(tags::MESSAGE_ID_BEING_RESPONDED_TO)
                    .unwrap_or(0);
                if let Some(report) = self.awaiting_ack.remove(&answered)
                    && msg.command.status() != Some(status::SUCCESS)
                {
                    tracing::warn!(association = self.id, status = ?msg.command.status(),
                        "commitment report refused on this association; redelivering on a new one");
                    let ctx = self.ctx.clone();
                    let requester = self.calling.clone();
                    tokio::spawn(async move { deliver_report(&ctx, &requester, report).await });
                }
                Ok(())
            }
            other => {
                tracing::warn!(
                    association = self.id,
                    field = other,
                    "unsupported DIMSE command"
                );
                let rsp_field = other | 0x8000;
                let rsp =
                    dimse::response_to(&msg.command, rsp_field, status::UNRECOGNIZED_OPERATION);
                dimse::send_message(assoc, msg.context_id, &rsp, None).await
            }
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Encodes a data set in a transfer syntax (see [`lightbox_codec::encode::encode_dataset`]).
pub fn encode_dataset(
    obj: &InMemDicomObject,
    ts: &dicom_encoding::TransferSyntax,
) -> Result<Vec<u8>, DimseError> {
    lightbox_codec::encode::encode_dataset(obj, ts).map_err(DimseError::Encode)
}
