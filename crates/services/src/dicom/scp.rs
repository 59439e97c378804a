//! The DICOM listener: accepts associations and answers C-ECHO, C-STORE, C-FIND, C-MOVE,
//! C-GET and Storage Commitment. Many associations run at once, one task each.

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

/// The association's gatekeeper: it decides, from the calling AE title and the address the
/// connection comes from, what the caller may do (see [`crate::pacs::admission`]).
struct PeerAccess {
    nodes: Vec<DicomNode>,
    policy: UnknownAePolicy,
    peer: std::net::IpAddr,
}

/// The gatekeeper as dicom-ul holds it (the session keeps another handle).
struct SharedAccess(Arc<PeerAccess>);

impl PeerAccess {
    fn decide(&self, calling_ae: &str) -> Admission {
        crate::pacs::admission::admit(
            &self.nodes,
            calling_ae,
            self.peer,
            self.policy,
            crate::access::peers::host_matches,
        )
    }
}

impl AccessControl for SharedAccess {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        if this_ae_title.trim() != called_ae_title.trim() {
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        // An unknown AE may still echo, so refuse only when the settings allow it nothing.
        if !self.0.decide(calling_ae_title).may_do_anything() {
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        Ok(())
    }
}

/// Lets a C-GET requester take the SCP role for storage classes, so the instances can
/// come back on its own association.
struct RoleSelection;

impl Negotiation for RoleSelection {
    fn negotiate_roles(
        &self,
        sop_class_uid: &str,
        scu_role: bool,
        scp_role: bool,
    ) -> Option<RequestorRoles> {
        if sop::is_storage_class(sop_class_uid) || sop_class_uid == sop::STORAGE_COMMITMENT {
            Some(RequestorRoles {
                scu: scu_role,
                scp: scp_role,
            })
        } else {
            None
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
                let _ = store.audit(&crate::store::ris::AuditEntry {
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

    async fn c_store(
        &mut self,
        assoc: &mut ServerAssoc,
        msg: Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<(), DimseError> {
        let announced_class = msg.command.text(tags::AFFECTED_SOP_CLASS_UID);
        let announced_inst = msg.command.text(tags::AFFECTED_SOP_INSTANCE_UID);
        let (code, comment) = if !self.perms.store {
            (
                status::NOT_AUTHORIZED,
                Some("this AE may not store here".to_string()),
            )
        } else if announced_class.as_deref() != Some(pc.abstract_syntax.as_str()) {
            (
                status::STORE_DATASET_MISMATCH,
                Some("SOP class differs from the presentation context".to_string()),
            )
        } else if let Some(reason) = msg.refused {
            tracing::error!(association = self.id, calling_ae = %self.calling,
                sop_instance = announced_inst.as_deref().unwrap_or(""), error = %reason,
                "C-STORE data set could not be written to the archive");
            (
                status::STORE_OUT_OF_RESOURCES,
                Some(format!("cannot write to the archive: {reason}")),
            )
        } else if msg.spilled.is_some() || msg.dataset.is_some() {
            let ingested = match (msg.spilled, msg.dataset) {
                (Some(part), _) => self.ctx.ingest.ingest_part(*part).await,
                (None, Some(dataset)) => {
                    let object = ReceivedObject {
                        dataset,
                        transfer_syntax: pc.transfer_syntax.clone(),
                        announced_sop_class: announced_class.clone(),
                        announced_sop_instance: announced_inst.clone(),
                        source: self.calling.clone(),
                    };
                    self.ctx.ingest.ingest(object).await
                }
                (None, None) => Err(IngestError::Unreadable("no data set".into())),
            };
            match ingested {
                Ok(Ingested::Stored {
                    study_uid,
                    tolerated,
                    sop_uid,
                }) => {
                    self.stored += 1;
                    if !tolerated.is_empty() {
                        self.tolerated += 1;
                        tracing::warn!(association = self.id, calling_ae = %self.calling, sop_instance = %sop_uid,
                            tolerated = %tolerated.join("; "), "C-STORE accepted with repairs");
                    }
                    self.ctx.events.send(ServiceEvent::InstanceStored {
                        association: self.id,
                        study_uid,
                    });
                    (status::SUCCESS, None)
                }
                Ok(Ingested::Duplicate { .. }) => (status::SUCCESS, None),
                Ok(Ingested::ConflictKeptExisting { .. }) => (
                    status::STORE_WARNING_COERCION,
                    Some("an instance with this UID and different content is archived; the existing copy was kept".to_string()),
                ),
                Err(e) => {
                    tracing::warn!(association = self.id, calling_ae = %self.calling,
                        sop_instance = announced_inst.as_deref().unwrap_or(""), error = %e, "C-STORE refused");
                    (store_failure_status(&e), Some(e.to_string()))
                }
            }
        } else {
            (
                status::STORE_CANNOT_UNDERSTAND,
                Some("C-STORE without a data set".to_string()),
            )
        };
        let mut rsp = dimse::response_to(&msg.command, cf::C_STORE_RSP, code);
        if let Some(text) = comment {
            rsp = rsp.with_text(tags::ERROR_COMMENT, VR::LO, &truncate(&text, 64));
        }
        dimse::send_message(assoc, msg.context_id, &rsp, None).await
    }

    fn parse_query(
        &self,
        msg: &Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<IndexQuery, (u16, String)> {
        let Some(data) = &msg.dataset else {
            return Err((status::IDENTIFIER_MISMATCH, "no identifier".into()));
        };
        let Some(ts) = TransferSyntaxRegistry.get(&pc.transfer_syntax) else {
            return Err((status::UNABLE_TO_PROCESS, "transfer syntax unknown".into()));
        };
        let identifier = crate::dicom::lengths::read_checked(data.as_slice(), ts).map_err(|e| {
            (
                status::IDENTIFIER_MISMATCH,
                format!("unreadable identifier: {e}"),
            )
        })?;
        let q = query::parse_identifier(identifier)
            .map_err(|e| (status::IDENTIFIER_MISMATCH, e.to_string()))?;
        let study_root = matches!(
            pc.abstract_syntax.as_str(),
            sop::STUDY_ROOT_FIND | sop::STUDY_ROOT_MOVE | sop::STUDY_ROOT_GET
        );
        if study_root && q.level == Level::Patient {
            return Err((
                status::IDENTIFIER_MISMATCH,
                "PATIENT level in the Study Root model".into(),
            ));
        }
        Ok(q)
    }

    async fn c_find(
        &mut self,
        assoc: &mut ServerAssoc,
        msg: Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<(), DimseError> {
        if pc.abstract_syntax == crate::ris::worklist::MODALITY_WORKLIST_FIND {
            return self.c_find_worklist(assoc, msg, pc).await;
        }
        if !matches!(
            pc.abstract_syntax.as_str(),
            sop::PATIENT_ROOT_FIND | sop::STUDY_ROOT_FIND
        ) {
            let rsp = dimse::response_to(
                &msg.command,
                cf::C_FIND_RSP,
                status::SOP_CLASS_NOT_SUPPORTED,
            );
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        if !self.perms.query {
            let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::NOT_AUTHORIZED);
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        let q = match self.parse_query(&msg, pc) {
            Ok(q) => q,
            Err((code, text)) => {
                tracing::info!(association = self.id, error = %text, "C-FIND refused");
                let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, code).with_text(
                    tags::ERROR_COMMENT,
                    VR::LO,
                    &truncate(&text, 64),
                );
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        let stores = self.ctx.stores.clone();
        let limit = self.ctx.config.find_limit;
        let archive = self.ctx.ingest.archive().clone();
        let ae = self.ctx.config.ae_title.clone();
        let answers =
            tokio::task::spawn_blocking(move || -> Result<Vec<InMemDicomObject>, String> {
                let store = stores.get().map_err(|e| e.to_string())?;
                let mut rows = store
                    .query_index(q.level, &q.conditions, limit.saturating_add(1))
                    .map_err(|e| e.to_string())?;
                if rows.len() > limit {
                    rows.truncate(limit);
                    tracing::warn!(
                        limit,
                        "C-FIND has more matches than dicom.find_limit; answering with the first ones"
                    );
                }
                let with_file = query::needs_file_values(&q);
                Ok(rows
                    .iter()
                    .map(|row| {
                        let extra = if with_file {
                            archive
                                .path_of(&row.file_path)
                                .ok()
                                .and_then(|p| read_header(&p))
                        } else {
                            None
                        };
                        query::answer_identifier(&q, row, &ae, extra.as_ref())
                    })
                    .collect())
            })
            .await
            .map_err(|e| DimseError::Protocol(format!("query task failed: {e}")))?;
        let answers = match answers {
            Ok(a) => a,
            Err(text) => {
                tracing::error!(association = self.id, error = %text, "C-FIND failed");
                let rsp =
                    dimse::response_to(&msg.command, cf::C_FIND_RSP, status::FIND_OUT_OF_RESOURCES)
                        .with_text(tags::ERROR_COMMENT, VR::LO, "query failed");
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        let ts = TransferSyntaxRegistry
            .get(&pc.transfer_syntax)
            .ok_or_else(|| DimseError::Protocol("transfer syntax vanished".into()))?;
        for answer in answers {
            if cancel_requested(assoc, &msg.command).await? {
                tracing::info!(association = self.id, "C-FIND cancelled by the requester");
                let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::CANCELLED);
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
            let bytes = encode_dataset(&answer, ts)?;
            let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::PENDING);
            dimse::send_message(assoc, msg.context_id, &rsp, Some(&bytes)).await?;
        }
        let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::SUCCESS);
        dimse::send_message(assoc, msg.context_id, &rsp, None).await
    }

    /// Modality Worklist C-FIND: the RIS answers from the schedule.
    async fn c_find_worklist(
        &mut self,
        assoc: &mut ServerAssoc,
        msg: Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<(), DimseError> {
        if !self.perms.worklist {
            let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::NOT_AUTHORIZED);
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        let ts = TransferSyntaxRegistry
            .get(&pc.transfer_syntax)
            .ok_or_else(|| DimseError::Protocol("transfer syntax vanished".into()))?;
        let request = match msg
            .dataset
            .as_deref()
            .map(|d| crate::dicom::lengths::read_checked(d, ts))
        {
            Some(Ok(r)) => r,
            other => {
                let text = match other {
                    Some(Err(e)) => e,
                    _ => "no identifier".into(),
                };
                tracing::info!(association = self.id, error = %text, "worklist query refused");
                let rsp =
                    dimse::response_to(&msg.command, cf::C_FIND_RSP, status::IDENTIFIER_MISMATCH)
                        .with_text(tags::ERROR_COMMENT, VR::LO, &truncate(&text, 64));
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        let latin1_asked = crate::pacs::attributes::text(&request, tags::SPECIFIC_CHARACTER_SET)
            .contains("ISO_IR 100");
        let stores = self.ctx.stores.clone();
        let calling = self.calling.clone();
        let answers =
            tokio::task::spawn_blocking(move || -> Result<Vec<InMemDicomObject>, String> {
                let store = stores.get().map_err(|e| e.to_string())?;
                let answers =
                    crate::ris::worklist::find(&store, &request).map_err(|e| e.to_string())?;
                let audited = store.audit(&crate::store::ris::AuditEntry {
                    at: String::new(),
                    actor: format!("dicom:{calling}"),
                    action: "worklist.query".into(),
                    subject: "worklist".into(),
                    origin: String::new(),
                    outcome: "ok".into(),
                    detail: format!("{} items", answers.len()),
                });
                if let Err(e) = audited {
                    tracing::error!(error = %e, "worklist query could not be audited");
                }
                Ok(answers)
            })
            .await
            .map_err(|e| DimseError::Protocol(format!("worklist task failed: {e}")))?;
        let answers = match answers {
            Ok(a) => a,
            Err(text) => {
                tracing::error!(association = self.id, error = %text, "worklist query failed");
                let rsp =
                    dimse::response_to(&msg.command, cf::C_FIND_RSP, status::FIND_OUT_OF_RESOURCES)
                        .with_text(tags::ERROR_COMMENT, VR::LO, "worklist query failed");
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        for mut answer in answers {
            if cancel_requested(assoc, &msg.command).await? {
                let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::CANCELLED);
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
            crate::ris::worklist::declare_character_set(&mut answer, latin1_asked);
            let bytes = encode_dataset(&answer, ts)?;
            let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::PENDING);
            dimse::send_message(assoc, msg.context_id, &rsp, Some(&bytes)).await?;
        }
        let rsp = dimse::response_to(&msg.command, cf::C_FIND_RSP, status::SUCCESS);
        dimse::send_message(assoc, msg.context_id, &rsp, None).await
    }

    async fn c_retrieve(
        &mut self,
        assoc: &mut ServerAssoc,
        msg: Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<(), DimseError> {
        let is_get = msg.command.field() == cf::C_GET_RQ;
        let rsp_field = if is_get {
            cf::C_GET_RSP
        } else {
            cf::C_MOVE_RSP
        };
        let valid_class = if is_get {
            matches!(
                pc.abstract_syntax.as_str(),
                sop::PATIENT_ROOT_GET | sop::STUDY_ROOT_GET
            )
        } else {
            matches!(
                pc.abstract_syntax.as_str(),
                sop::PATIENT_ROOT_MOVE | sop::STUDY_ROOT_MOVE
            )
        };
        let fail = |code: u16, text: &str| {
            dimse::response_to(&msg.command, rsp_field, code).with_text(
                tags::ERROR_COMMENT,
                VR::LO,
                &truncate(text, 64),
            )
        };
        if !valid_class {
            let rsp = fail(status::SOP_CLASS_NOT_SUPPORTED, "wrong SOP class");
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        if !self.perms.query {
            let rsp = fail(status::NOT_AUTHORIZED, "this AE may not retrieve");
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        let q = match self.parse_query(&msg, pc).and_then(|q| {
            query::check_retrieve_keys(&q)
                .map(|()| q)
                .map_err(|e| (status::IDENTIFIER_MISMATCH, e.to_string()))
        }) {
            Ok(q) => q,
            Err((code, text)) => {
                tracing::info!(association = self.id, calling_ae = %self.calling, error = %text, "retrieve refused");
                let rsp = fail(code, &text);
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        let store = match self.ctx.stores.get() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot open the store for a retrieve");
                let rsp = fail(status::SUBOPERATIONS_FAILED, "store unavailable");
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        let destination = if is_get {
            None
        } else {
            let dest_ae = msg.command.text(tags::MOVE_DESTINATION).unwrap_or_default();
            match store.node_by_ae_title(&dest_ae) {
                Ok(Some(node)) => Some(node),
                _ => {
                    tracing::info!(association = self.id, dest_ae = %dest_ae, "C-MOVE to an unknown destination");
                    let rsp = fail(status::MOVE_DESTINATION_UNKNOWN, "move destination unknown");
                    return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
                }
            }
        };
        let instances = match store.query_index(Level::Image, &q.conditions, usize::MAX >> 1) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "retrieve query failed");
                let rsp = fail(status::SUBOPERATIONS_FAILED, "query failed");
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        drop(store);
        let total = instances.len();
        let mut progress = scu::Progress::default();
        let mut cancelled = false;
        let archive = self.ctx.ingest.archive().clone();
        if let Some(node) = destination {
            let mut sender = match scu::StoreSession::open(
                &node,
                &self.ctx.config.ae_title,
                &instances,
                Some((self.calling.as_str(), msg.command.message_id())),
            )
            .await
            {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(association = self.id, node = %node.name, error = %e, "C-MOVE cannot reach the destination");
                    let rsp = fail(
                        status::SUBOPERATIONS_FAILED,
                        "cannot reach the move destination",
                    );
                    return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
                }
            };
            for row in &instances {
                if cancel_requested(assoc, &msg.command).await? {
                    tracing::info!(association = self.id, "C-MOVE cancelled by the requester");
                    cancelled = true;
                    break;
                }
                let ok = sender.send_instance(&archive, row).await;
                progress.record(row, ok);
                let pending = pending_response(&msg.command, rsp_field, total, &progress);
                dimse::send_message(assoc, msg.context_id, &pending, None).await?;
            }
            sender.release().await;
        } else {
            let mut next_id: u16 = 1;
            let mut watch = scu::CancelWatch {
                request_id: msg.command.message_id(),
                cancelled: false,
            };
            for row in &instances {
                if watch.cancelled || cancel_requested(assoc, &msg.command).await? {
                    tracing::info!(association = self.id, "C-GET cancelled by the requester");
                    cancelled = true;
                    break;
                }
                let ok = scu::store_on_association(
                    assoc,
                    &archive,
                    row,
                    next_id,
                    None,
                    Some(&mut watch),
                )
                .await?;
                next_id = next_id.wrapping_add(1).max(1);
                progress.record(row, ok);
                let pending = pending_response(&msg.command, rsp_field, total, &progress);
                dimse::send_message(assoc, msg.context_id, &pending, None).await?;
            }
        }
        let done = progress.completed + progress.failed.len() + progress.warning;
        let final_status = if cancelled {
            status::CANCELLED
        } else if progress.failed.is_empty() && progress.warning == 0 {
            status::SUCCESS
        } else if progress.completed == 0 && progress.warning == 0 && total > 0 {
            status::SUBOPERATIONS_FAILED
        } else {
            status::SUBOPERATIONS_WARNING
        };
        let rsp = dimse::response_to(&msg.command, rsp_field, final_status)
            .with_u16(
                tags::NUMBER_OF_REMAINING_SUBOPERATIONS,
                clamp16(total.saturating_sub(done)),
            )
            .with_u16(
                tags::NUMBER_OF_COMPLETED_SUBOPERATIONS,
                clamp16(progress.completed),
            )
            .with_u16(
                tags::NUMBER_OF_FAILED_SUBOPERATIONS,
                clamp16(progress.failed.len()),
            )
            .with_u16(
                tags::NUMBER_OF_WARNING_SUBOPERATIONS,
                clamp16(progress.warning),
            );
        if progress.failed.is_empty() {
            dimse::send_message(assoc, msg.context_id, &rsp, None).await
        } else {
            let mut ds = InMemDicomObject::new_empty();
            ds.put(DataElement::new(
                tags::FAILED_SOP_INSTANCE_UID_LIST,
                VR::UI,
                PrimitiveValue::Strs(progress.failed.iter().cloned().collect()),
            ));
            let ts = TransferSyntaxRegistry
                .get(&pc.transfer_syntax)
                .ok_or_else(|| DimseError::Protocol("transfer syntax vanished".into()))?;
            let bytes = encode_dataset(&ds, ts)?;
            dimse::send_message(assoc, msg.context_id, &rsp, Some(&bytes)).await
        }
    }

    /// MPPS N-CREATE / N-SET: the scanner reports a performed step; the exam follows.
    async fn mpps(
        &mut self,
        assoc: &mut ServerAssoc,
        msg: Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<(), DimseError> {
        let create = msg.command.field() == cf::N_CREATE_RQ;
        let rsp_field = if create {
            cf::N_CREATE_RSP
        } else {
            cf::N_SET_RSP
        };
        if pc.abstract_syntax != crate::ris::mpps::MPPS_SOP_CLASS {
            let rsp = dimse::response_to(&msg.command, rsp_field, status::SOP_CLASS_NOT_SUPPORTED);
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        if !self.perms.mpps {
            let rsp = dimse::response_to(&msg.command, rsp_field, status::NOT_AUTHORIZED);
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        let ts = TransferSyntaxRegistry
            .get(&pc.transfer_syntax)
            .ok_or_else(|| DimseError::Protocol("transfer syntax vanished".into()))?;
        let data = match msg
            .dataset
            .as_deref()
            .map(|d| crate::dicom::lengths::read_checked(d, ts))
        {
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                let rsp = dimse::response_to(&msg.command, rsp_field, status::PROCESSING_FAILURE)
                    .with_text(tags::ERROR_COMMENT, VR::LO, &truncate(&e, 64));
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
            None => InMemDicomObject::new_empty(),
        };
        // N-CREATE names its instance in Affected SOP Instance UID (or lets us choose one);
        // N-SET in Requested SOP Instance UID.
        let given = if create {
            msg.command.text(tags::AFFECTED_SOP_INSTANCE_UID)
        } else {
            msg.command.text(tags::REQUESTED_SOP_INSTANCE_UID)
        };
        let uid = match given {
            Some(u) if !u.is_empty() => u,
            _ if create => crate::ris::new_uid(),
            _ => {
                let rsp = dimse::response_to(&msg.command, rsp_field, status::MISSING_ATTRIBUTE)
                    .with_text(
                        tags::ERROR_COMMENT,
                        VR::LO,
                        "Requested SOP Instance UID missing",
                    );
                return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
            }
        };
        let stores = self.ctx.stores.clone();
        let calling = self.calling.clone();
        let task_uid = uid.clone();
        let outcome =
            tokio::task::spawn_blocking(move || -> Result<(), crate::ris::mpps::MppsRefusal> {
                // The domain call needs its own transactions, so an owned connection.
                let mut store = stores
                    .open_owned()
                    .map_err(|e| crate::ris::mpps::MppsRefusal {
                        status: status::PROCESSING_FAILURE,
                        comment: e.to_string(),
                        error_id: None,
                    })?;
                let actor = crate::access::Actor {
                    login: format!("dicom:{calling}"),
                    role: crate::access::Role::Interface,
                    origin: calling.clone(),
                };
                if create {
                    crate::ris::mpps::create(&mut store, &actor, &task_uid, &calling, &data)
                } else {
                    crate::ris::mpps::set(&mut store, &actor, &task_uid, &data)
                }
            })
            .await
            .map_err(|e| DimseError::Protocol(format!("MPPS task failed: {e}")))?;
        let mut rsp = dimse::response_to(&msg.command, rsp_field, status::SUCCESS)
            .with_uid(
                tags::AFFECTED_SOP_CLASS_UID,
                crate::ris::mpps::MPPS_SOP_CLASS,
            )
            .with_uid(tags::AFFECTED_SOP_INSTANCE_UID, &uid);
        match outcome {
            Ok(()) => {
                tracing::info!(association = self.id, uid = %uid, create, "MPPS recorded");
            }
            Err(refusal) => {
                tracing::info!(association = self.id, uid = %uid, error = %refusal, "MPPS refused");
                rsp = rsp.with_u16(tags::STATUS, refusal.status).with_text(
                    tags::ERROR_COMMENT,
                    VR::LO,
                    &truncate(&refusal.comment, 64),
                );
                if let Some(id) = refusal.error_id {
                    rsp = rsp.with_u16(tags::ERROR_ID, id);
                }
            }
        }
        dimse::send_message(assoc, msg.context_id, &rsp, None).await
    }

    async fn n_action(
        &mut self,
        assoc: &mut ServerAssoc,
        msg: Message,
        pc: &dicom_ul::pdu::PresentationContextNegotiated,
    ) -> Result<(), DimseError> {
        if pc.abstract_syntax != sop::STORAGE_COMMITMENT {
            let rsp = dimse::response_to(
                &msg.command,
                cf::N_ACTION_RSP,
                status::SOP_CLASS_NOT_SUPPORTED,
            );
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        if !self.perms.commitment {
            tracing::info!(association = self.id, calling_ae = %self.calling, "Storage Commitment refused: not allowed for this AE");
            let rsp = dimse::response_to(&msg.command, cf::N_ACTION_RSP, status::NOT_AUTHORIZED)
                .with_text(
                    tags::ERROR_COMMENT,
                    VR::LO,
                    "this AE may not ask for storage commitment",
                );
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        }
        let request = msg
            .dataset
            .as_deref()
            .and_then(|d| {
                let ts = TransferSyntaxRegistry.get(&pc.transfer_syntax)?;
                crate::dicom::lengths::read_checked(d, ts).ok()
            })
            .and_then(|obj| crate::pacs::commitment::parse_request(&obj));
        let Some(request) = request else {
            let rsp = dimse::response_to(
                &msg.command,
                cf::N_ACTION_RSP,
                status::INVALID_ARGUMENT_VALUE,
            )
            .with_text(
                tags::ERROR_COMMENT,
                VR::LO,
                "bad storage commitment request",
            );
            return dimse::send_message(assoc, msg.context_id, &rsp, None).await;
        };
        let rsp = dimse::response_to(&msg.command, cf::N_ACTION_RSP, status::SUCCESS)
            .with_u16(tags::ACTION_TYPE_ID, 1);
        dimse::send_message(assoc, msg.context_id, &rsp, None).await?;
        // Answer at once; the report follows when every instance is on stable storage: on
        // this association if it is still open then, else on a new one to the requester.
        let ctx = self.ctx.clone();
        let tx = self.report_tx.clone();
        let requester = self.calling.clone();
        let context_id = msg.context_id;
        let ts = pc.transfer_syntax.clone();
        tokio::spawn(async move {
            let result = wait_for_commitment(&ctx, &request).await;
            let (event_type, dataset) = crate::pacs::commitment::event_report(&request, &result);
            let (fallback_tx, fallback_rx) = tokio::sync::oneshot::channel();
            let report = CommitmentReport {
                context_id,
                transfer_syntax: ts,
                event_type,
                dataset,
                fallback: fallback_tx,
            };
            let undelivered = match tx.send(report).await {
                Ok(()) => fallback_rx.await.ok(),
                Err(tokio::sync::mpsc::error::SendError(report)) => {
                    Some(report.clone_for_fallback())
                }
            };
            if let Some(report) = undelivered {
                deliver_report(&ctx, &requester, report).await;
            }
        });
        Ok(())
    }
}

/// A Storage Commitment result ready to be reported.
struct CommitmentReport {
    context_id: u8,
    transfer_syntax: String,
    event_type: u16,
    dataset: InMemDicomObject,
    /// Gets the report back when it could not be sent on the original association.
    fallback: tokio::sync::oneshot::Sender<UndeliveredReport>,
}

/// A report that must go out on a new association.
struct UndeliveredReport {
    event_type: u16,
    dataset: InMemDicomObject,
}

impl CommitmentReport {
    fn clone_for_fallback(&self) -> UndeliveredReport {
        UndeliveredReport {
            event_type: self.event_type,
            dataset: self.dataset.clone(),
        }
    }
}

fn report_command(event_type: u16, message_id: u16) -> Command {
    Command::new(cf::N_EVENT_REPORT_RQ)
        .with_uid(tags::AFFECTED_SOP_CLASS_UID, sop::STORAGE_COMMITMENT)
        .with_uid(
            tags::AFFECTED_SOP_INSTANCE_UID,
            sop::STORAGE_COMMITMENT_INSTANCE,
        )
        .with_u16(tags::MESSAGE_ID, message_id)
        .with_u16(tags::EVENT_TYPE_ID, event_type)
}

/// Sends the report on the open association; its N-EVENT-REPORT-RSP arrives through the
/// main loop (and is only logged there).
async fn send_report(
    assoc: &mut ServerAssoc,
    report: &CommitmentReport,
    message_id: u16,
) -> Result<(), DimseError> {
    let ts = TransferSyntaxRegistry
        .get(&report.transfer_syntax)
        .ok_or_else(|| DimseError::Protocol("transfer syntax vanished".into()))?;
    let bytes = encode_dataset(&report.dataset, ts)?;
    let command = report_command(report.event_type, message_id);
    dimse::send_message(assoc, report.context_id, &command, Some(&bytes)).await
}

/// Delivers a report on a new association to the requester, which must be a configured node.
/// Lightbox is the association requestor and takes the SCP role for the class.
async fn deliver_report(ctx: &DicomContext, requester_ae: &str, report: UndeliveredReport) {
    let node = match ctx
        .stores
        .get()
        .and_then(|s| s.node_by_ae_title(requester_ae))
    {
        Ok(Some(node)) => node,
        Ok(None) => {
            tracing::error!(calling_ae = %requester_ae, "cannot deliver a storage commitment report: the requester is not a configured node");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot deliver a storage commitment report");
            return;
        }
    };
    match scu::send_commitment_report(
        &node,
        &ctx.config.ae_title,
        report.event_type,
        &report.dataset,
    )
    .await
    {
        Ok(()) => {
            tracing::info!(node = %node.name, "storage commitment report delivered on a new association")
        }
        Err(e) => {
            tracing::error!(node = %node.name, error = %e, "storage commitment report not delivered")
        }
    }
}

async fn wait_for_commitment(
    ctx: &DicomContext,
    request: &crate::pacs::commitment::CommitmentRequest,
) -> Vec<crate::pacs::commitment::Committed> {
    let mut rounds = ctx.durable_rounds.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let states = match ctx.stores.get() {
            Ok(store) => request
                .references
                .iter()
                .map(|(class, inst)| store.instance_is_durable(inst, class).ok().flatten())
                .collect::<Vec<_>>(),
            Err(_) => vec![None; request.references.len()],
        };
        let all_settled = states.iter().all(|s| *s != Some(false));
        if all_settled || tokio::time::Instant::now() >= deadline {
            return states
                .into_iter()
                .map(|s| match s {
                    Some(true) => crate::pacs::commitment::Committed::Yes,
                    Some(false) => crate::pacs::commitment::Committed::NotYet,
                    None => crate::pacs::commitment::Committed::Unknown,
                })
                .collect();
        }
        let _ = tokio::time::timeout_at(deadline, rounds.changed()).await;
    }
}

/// Checks, without waiting, whether the requester sent C-CANCEL for `request`. The PDU
/// reader keeps partial bytes in the association's buffer, so an unfinished read is safe to
/// drop here.
async fn cancel_requested(assoc: &mut ServerAssoc, request: &Command) -> Result<bool, DimseError> {
    // Poll the read exactly once. (A zero timeout would wait for the timer's next tick,
    // about 1 ms, before every answer.) Dropping an unfinished read is safe: dicom-ul keeps
    // partial bytes in the association's buffer.
    let pdu = {
        let read = AsyncAssociation::receive(assoc);
        let mut read = std::pin::pin!(read);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match std::future::Future::poll(read.as_mut(), &mut cx) {
            std::task::Poll::Pending => return Ok(false),
            std::task::Poll::Ready(pdu) => pdu?,
        }
    };
    match pdu {
        dicom_ul::pdu::Pdu::PData { data } => {
            let bytes: Vec<u8> = data.into_iter().flat_map(|v| v.data).collect();
            let cmd = Command::decode(&bytes)?;
            let answers_this =
                cmd.u16(tags::MESSAGE_ID_BEING_RESPONDED_TO) == Some(request.message_id());
            if cmd.field() == cf::C_CANCEL_RQ && answers_this {
                Ok(true)
            } else {
                Err(DimseError::Protocol(format!(
                    "unexpected command 0x{:04x} while answering a request",
                    cmd.field()
                )))
            }
        }
        dicom_ul::pdu::Pdu::AbortRQ { .. } => Err(DimseError::Aborted),
        other => Err(DimseError::Protocol(format!(
            "unexpected PDU while answering a request: {other:?}"
        ))),
    }
}

fn pending_response(request: &Command, field: u16, total: usize, p: &scu::Progress) -> Command {
    let done = p.completed + p.failed.len() + p.warning;
    dimse::response_to(request, field, status::PENDING)
        .with_u16(
            tags::NUMBER_OF_REMAINING_SUBOPERATIONS,
            clamp16(total.saturating_sub(done)),
        )
        .with_u16(
            tags::NUMBER_OF_COMPLETED_SUBOPERATIONS,
            clamp16(p.completed),
        )
        .with_u16(
            tags::NUMBER_OF_FAILED_SUBOPERATIONS,
            clamp16(p.failed.len()),
        )
        .with_u16(tags::NUMBER_OF_WARNING_SUBOPERATIONS, clamp16(p.warning))
}

fn clamp16(n: usize) -> u16 {
    n.min(u16::MAX as usize) as u16
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn store_failure_status(e: &IngestError) -> u16 {
    match e {
        IngestError::Archive(a) if a.is_disk_full() => status::STORE_OUT_OF_RESOURCES,
        IngestError::Archive(_) | IngestError::Store(_) | IngestError::ShuttingDown => {
            status::STORE_OUT_OF_RESOURCES
        }
        IngestError::Mismatch { .. } => status::STORE_DATASET_MISMATCH,
        _ => status::STORE_CANNOT_UNDERSTAND,
    }
}

/// Encodes a data set in a transfer syntax (see [`lightbox_codec::encode::encode_dataset`]).
pub fn encode_dataset(
    obj: &InMemDicomObject,
    ts: &dicom_encoding::TransferSyntax,
) -> Result<Vec<u8>, DimseError> {
    lightbox_codec::encode::encode_dataset(obj, ts).map_err(DimseError::Encode)
}

/// Reads a stored file's attributes up to the pixel data (for IMAGE-level answers).
fn read_header(path: &std::path::Path) -> Option<InMemDicomObject> {
    dicom_object::OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .ok()
        .map(|f| f.into_inner())
}
