//! Lightbox as the requester: C-ECHO, C-STORE (also the sub-operations of C-MOVE and
//! C-GET), C-FIND, C-MOVE and C-GET against a configured node.
//!
//! Kept as one file (~800 lines): the five requests share association set-up, progress and
//! cancellation; each request is one function.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_pixeldata::Transcode;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::association::client::{AsyncClientAssociation, ClientAssociationOptions};
use dicom_ul::association::{Association, AsyncAssociation};
use dicom_ul::pdu::{PresentationContextNegotiated, PresentationContextResultReason};
use tokio::net::TcpStream;

use super::dimse::{self, Command, DimseError, Incoming, command_field as cf};
use super::scp::encode_dataset;
use super::status;
use crate::archive::ArchiveFolder;
use crate::archive::ingest::{Ingest, Ingested, ReceivedObject};
use crate::pacs::sop_classes as sop;
use crate::store::index::IndexRow;
use crate::store::nodes::DicomNode;

/// Errors talking to a remote node, with what was being attempted.
#[derive(Debug, thiserror::Error)]
pub enum ScuError {
    /// The association could not be opened (refused, unreachable, rejected).
    #[error("cannot open an association with {node}: {reason}")]
    Connect {
        /// The node's name or address.
        node: String,
        /// What went wrong.
        reason: String,
    },
    /// The peer accepted none of the presentation contexts we need.
    #[error("{node} accepts no presentation context for {what}")]
    NoContext {
        /// The node.
        node: String,
        /// The service or SOP class.
        what: String,
    },
    /// The exchange broke.
    #[error(transparent)]
    Dimse(#[from] DimseError),
    /// The peer answered with a failure status.
    #[error("{node} answered status 0x{status:04X}{}", comment.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Failed {
        /// The node.
        node: String,
        /// The DIMSE status.
        status: u16,
        /// The Error Comment, if any.
        comment: Option<String>,
    },
}

/// Counts of C-STORE sub-operations.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Stored with Success.
    pub completed: usize,
    /// SOP Instance UIDs that failed.
    pub failed: Vec<String>,
    /// Stored with a warning.
    pub warning: usize,
}

impl Progress {
    /// Counts one sub-operation's outcome.
    pub fn record(&mut self, row: &IndexRow, outcome: SubOutcome) {
        match outcome {
            SubOutcome::Success => self.completed += 1,
            SubOutcome::Warning => self.warning += 1,
            SubOutcome::Failed => self.failed.push(row.sop_uid.clone()),
        }
    }
}

/// The outcome of one C-STORE sub-operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubOutcome {
    /// Success.
    Success,
    /// Stored with a warning status.
    Warning,
    /// Not stored.
    Failed,
}

type ClientAssoc = AsyncClientAssociation<TcpStream>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(120);

async fn connect(
    node: &DicomNode,
    calling_ae: &str,
    options: ClientAssociationOptions<'_>,
) -> Result<ClientAssoc, ScuError> {
    let address = format!("{}@{}:{}", node.ae_title, node.host, node.port);
    let mut assoc = options
        .calling_ae_title(calling_ae.to_string())
        .max_pdu_length(262_144)
        .connection_timeout(CONNECT_TIMEOUT)
        .read_timeout(RESPONSE_TIMEOUT)
        .write_timeout(RESPONSE_TIMEOUT)
        .establish_with_async(&address)
        .await
        .map_err(|e| ScuError::Connect {
            node: node.name.clone(),
            reason: e.to_string(),
        })?;
    let _ = assoc.inner_stream().set_nodelay(true);
    Ok(assoc)
}

fn accepted(
    pcs: &[PresentationContextNegotiated],
    abstract_syntax: &str,
) -> Vec<PresentationContextNegotiated> {
    pcs.iter()
        .filter(|pc| {
            pc.reason == PresentationContextResultReason::Acceptance
                && pc.abstract_syntax == abstract_syntax
        })
        .cloned()
        .collect()
}

/// Turns a final response into Ok, or the peer's failure status with its comment.
fn success_or_failure(node: &DicomNode, response: &Command) -> Result<(), ScuError> {
    match response.status() {
        Some(status::SUCCESS) => Ok(()),
        other => Err(ScuError::Failed {
            node: node.name.clone(),
            status: other.unwrap_or(0xFFFF),
            comment: response.text(tags::ERROR_COMMENT),
        }),
    }
}

/// Opens an association for one service class and returns it with the accepted
/// presentation context and its transfer syntax.
async fn open_service(
    node: &DicomNode,
    calling_ae: &str,
    options: ClientAssociationOptions<'_>,
    abstract_syntax: &str,
    what: &str,
) -> Result<
    (
        ClientAssoc,
        PresentationContextNegotiated,
        &'static dicom_encoding::TransferSyntax,
    ),
    ScuError,
> {
    let assoc = connect(node, calling_ae, options).await?;
    let pc = accepted(assoc.presentation_contexts(), abstract_syntax)
        .into_iter()
        .next()
        .ok_or_else(|| ScuError::NoContext {
            node: node.name.clone(),
            what: what.to_string(),
        })?;
    let ts = TransferSyntaxRegistry
        .get(&pc.transfer_syntax)
        .ok_or_else(|| DimseError::Protocol("peer chose an unknown transfer syntax".into()))?;
    Ok((assoc, pc, ts))
}

/// Reads the response to a request, skipping nothing: anything else is a protocol error.
async fn expect_response<A>(assoc: &mut A, field: u16) -> Result<dimse::Message, DimseError>
where
    A: AsyncAssociation<TcpStream> + Association + Send,
{
    match dimse::receive_message(assoc, 1 << 26).await? {
        Incoming::Message(m) if m.command.field() == field => Ok(m),
        Incoming::Message(m) => Err(DimseError::Protocol(format!(
            "expected response 0x{field:04x}, got 0x{:04x}",
            m.command.field()
        ))),
        _ => Err(DimseError::Protocol(
            "peer released during a request".into(),
        )),
    }
}

/// Watches for the requester's C-CANCEL of a C-GET while its sub-operations run on the same
/// association (a cancel may arrive while we wait for a C-STORE response).
#[derive(Debug)]
pub struct CancelWatch {
    /// Message ID of the C-GET request.
    pub request_id: u16,
    /// Set once the requester asked to cancel.
    pub cancelled: bool,
}

/// Like [`expect_response`], but notes a C-CANCEL of the watched request instead of failing.
async fn expect_response_watching<A>(
    assoc: &mut A,
    field: u16,
    watch: &mut CancelWatch,
) -> Result<dimse::Message, DimseError>
where
    A: AsyncAssociation<TcpStream> + Association + Send,
{
    loop {
        match dimse::receive_message(assoc, 1 << 26).await? {
            Incoming::Message(m)
                if m.command.field() == cf::C_CANCEL_RQ
                    && m.command.u16(tags::MESSAGE_ID_BEING_RESPONDED_TO)
                        == Some(watch.request_id) =>
            {
                watch.cancelled = true;
            }
            Incoming::Message(m) if m.command.field() == field => return Ok(m),
            Incoming::Message(m) => {
                return Err(DimseError::Protocol(format!(
                    "expected response 0x{field:04x}, got 0x{:04x}",
                    m.command.field()
                )));
            }
            _ => {
                return Err(DimseError::Protocol(
                    "peer released during a request".into(),
                ));
            }
        }
    }
}

/// C-ECHO.
pub async fn echo(node: &DicomNode, calling_ae: &str) -> Result<(), ScuError> {
    let options = ClientAssociationOptions::new().with_presentation_context(
        sop::VERIFICATION,
        vec![sop::IMPLICIT_VR_LE, sop::EXPLICIT_VR_LE],
    );
    let mut assoc = connect(node, calling_ae, options).await?;
    let pc = accepted(assoc.presentation_contexts(), sop::VERIFICATION)
        .into_iter()
        .next()
        .ok_or_else(|| ScuError::NoContext {
            node: node.name.clone(),
            what: "Verification".into(),
        })?;
    let rq = Command::new(cf::C_ECHO_RQ)
        .with_uid(tags::AFFECTED_SOP_CLASS_UID, sop::VERIFICATION)
        .with_u16(tags::MESSAGE_ID, 1);
    dimse::send_message(&mut assoc, pc.id, &rq, None).await?;
    let rsp = expect_response(&mut assoc, cf::C_ECHO_RSP).await?;
    let _ = assoc.release().await;
    success_or_failure(node, &rsp.command)
}

/// The data set bytes of a stored file (after its meta group) and the file's syntax.
pub fn stored_dataset(archive: &ArchiveFolder, row: &IndexRow) -> Result<Vec<u8>, String> {
    let bytes = archive.get(&row.file_path).map_err(|e| e.to_string())?;
    let offset = dataset_offset(&bytes).ok_or("stored file has no readable meta group")?;
    Ok(bytes[offset..].to_vec())
}

pub use lightbox_codec::encode::dataset_offset;

/// Re-encodes a stored instance in another transfer syntax (decoding compressed pixel data
/// where a decoder exists).
pub fn transcoded_dataset(path: &Path, target_ts: &str) -> Result<Vec<u8>, String> {
    let ts = TransferSyntaxRegistry
        .get(target_ts)
        .ok_or_else(|| format!("unknown transfer syntax {target_ts}"))?;
    let mut obj = dicom_object::open_file(path).map_err(|e| e.to_string())?;
    obj.transcode(ts).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    obj.write_dataset(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Chooses the context to send an instance on: its stored syntax if accepted, else a native
/// one we can transcode to.
fn choose_context<'a>(
    pcs: &'a [PresentationContextNegotiated],
    row: &IndexRow,
    allowed: impl Fn(&PresentationContextNegotiated) -> bool,
) -> Option<&'a PresentationContextNegotiated> {
    let candidates: Vec<&PresentationContextNegotiated> = pcs
        .iter()
        .filter(|pc| {
            pc.reason == PresentationContextResultReason::Acceptance
                && pc.abstract_syntax == row.sop_class
                && allowed(pc)
        })
        .collect();
    candidates
        .iter()
        .find(|pc| pc.transfer_syntax == row.transfer_syntax)
        .or_else(|| {
            candidates
                .iter()
                .find(|pc| pc.transfer_syntax == sop::EXPLICIT_VR_LE)
        })
        .or_else(|| {
            candidates
                .iter()
                .find(|pc| sop::is_native_syntax(&pc.transfer_syntax))
        })
        .copied()
}

/// Sends one stored instance as a C-STORE on an open association and waits for its answer.
/// Used for C-GET (on the requester's association), C-MOVE and `send`.
///
/// `c_get` is `Some` when the association is the C-GET requester's (Lightbox accepted it): the
/// requester must then have taken the SCP role for the class, and its C-CANCEL is watched.
pub async fn store_on_association<A>(
    assoc: &mut A,
    archive: &ArchiveFolder,
    row: &IndexRow,
    message_id: u16,
    move_originator: Option<(&str, u16)>,
    c_get: Option<&mut CancelWatch>,
) -> Result<SubOutcome, DimseError>
where
    A: AsyncAssociation<TcpStream> + Association + Send,
{
    let on_requesters_association = c_get.is_some();
    let roles_ok = |pc: &PresentationContextNegotiated| {
        !on_requesters_association || assoc.requestor_roles_for(&pc.abstract_syntax).scp
    };
    let Some(pc) = choose_context(assoc.presentation_contexts(), row, roles_ok).cloned() else {
        tracing::warn!(sop_class = %row.sop_class, sop_uid = %row.sop_uid, "no accepted presentation context for this instance");
        return Ok(SubOutcome::Failed);
    };
    // Stored as the peer takes it: sent from the file a PDU at a time.
    let mut streamed = None;
    let dataset = if pc.transfer_syntax == row.transfer_syntax {
        match archive.path_of(&row.file_path) {
            Ok(path) => dimse::StoredDataset::open(&path).await.map(|s| {
                streamed = Some(s);
                Vec::new()
            }),
            Err(e) => Err(e.to_string()),
        }
    } else {
        match archive.path_of(&row.file_path) {
            Ok(path) => {
                let target = pc.transfer_syntax.clone();
                tokio::task::spawn_blocking(move || transcoded_dataset(&path, &target))
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()))
            }
            Err(e) => Err(e.to_string()),
        }
    };
    let dataset = match dataset {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(sop_uid = %row.sop_uid, error = %e, "cannot prepare an instance for sending");
            return Ok(SubOutcome::Failed);
        }
    };
    let mut rq = Command::new(cf::C_STORE_RQ)
        .with_uid(tags::AFFECTED_SOP_CLASS_UID, &row.sop_class)
        .with_uid(tags::AFFECTED_SOP_INSTANCE_UID, &row.sop_uid)
        .with_u16(tags::MESSAGE_ID, message_id)
        .with_u16(tags::PRIORITY, 0);
    if let Some((ae, id)) = move_originator {
        rq = rq
            .with_text(
                tags::MOVE_ORIGINATOR_APPLICATION_ENTITY_TITLE,
                dicom_core::VR::AE,
                ae,
            )
            .with_u16(tags::MOVE_ORIGINATOR_MESSAGE_ID, id);
    }
    match streamed {
        Some(stored) => dimse::send_message_from_file(assoc, pc.id, &rq, stored).await?,
        None => dimse::send_message(assoc, pc.id, &rq, Some(&dataset)).await?,
    }
    let rsp = match c_get {
        Some(watch) => expect_response_watching(assoc, cf::C_STORE_RSP, watch).await?,
        None => expect_response(assoc, cf::C_STORE_RSP).await?,
    };
    Ok(match rsp.command.status() {
        Some(status::SUCCESS) => SubOutcome::Success,
        Some(s) if (s & 0xF000) == 0xB000 => SubOutcome::Warning,
        _ => SubOutcome::Failed,
    })
}

/// An association opened to send stored instances (C-MOVE destination, `send`).
pub struct StoreSession {
    assoc: ClientAssoc,
    next_message_id: u16,
    originator: Option<(String, u16)>,
}

impl StoreSession {
    /// Opens an association proposing every SOP class in `instances`, each with its stored
    /// syntax and the two uncompressed fallbacks.
    pub async fn open(
        node: &DicomNode,
        calling_ae: &str,
        instances: &[IndexRow],
        move_originator: Option<(&str, u16)>,
    ) -> Result<StoreSession, ScuError> {
        let mut classes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for row in instances {
            let list = classes.entry(row.sop_class.as_str()).or_default();
            if !list.contains(&row.transfer_syntax.as_str()) {
                list.push(row.transfer_syntax.as_str());
            }
        }
        let mut options = ClientAssociationOptions::new();
        if classes.is_empty() {
            options =
                options.with_presentation_context(sop::VERIFICATION, vec![sop::IMPLICIT_VR_LE]);
        }
        for (class, mut syntaxes) in classes {
            for fallback in [sop::EXPLICIT_VR_LE, sop::IMPLICIT_VR_LE] {
                if !syntaxes.contains(&fallback) {
                    syntaxes.push(fallback);
                }
            }
            // One context per stored syntax first, so the peer can accept it on its own
            // even if it would pick a fallback from a combined list.
            for ts in &syntaxes {
                options = options.with_presentation_context(class, vec![*ts]);
            }
        }
        let assoc = connect(node, calling_ae, options).await?;
        Ok(StoreSession {
            assoc,
            next_message_id: 1,
            originator: move_originator.map(|(a, i)| (a.to_string(), i)),
        })
    }

    /// Sends one instance; a broken association counts as a failure of this instance.
    pub async fn send_instance(&mut self, archive: &ArchiveFolder, row: &IndexRow) -> SubOutcome {
        let id = self.next_message_id;
        self.next_message_id = self.next_message_id.wrapping_add(1).max(1);
        let originator = self.originator.as_ref().map(|(a, i)| (a.as_str(), *i));
        match store_on_association(&mut self.assoc, archive, row, id, originator, None).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(sop_uid = %row.sop_uid, error = %e, "C-STORE sub-operation failed");
                SubOutcome::Failed
            }
        }
    }

    /// Releases the association.
    pub async fn release(self) {
        let _ = self.assoc.release().await;
    }
}

/// Sends stored instances to a node; returns the counts.
pub async fn send(
    node: &DicomNode,
    calling_ae: &str,
    archive: &ArchiveFolder,
    instances: &[IndexRow],
) -> Result<Progress, ScuError> {
    let mut session = StoreSession::open(node, calling_ae, instances, None).await?;
    let mut progress = Progress::default();
    for row in instances {
        let outcome = session.send_instance(archive, row).await;
        progress.record(row, outcome);
    }
    session.release().await;
    Ok(progress)
}

/// C-FIND in the Study Root model (or Patient Root for PATIENT level); returns every match.
pub async fn find(
    node: &DicomNode,
    calling_ae: &str,
    identifier: &InMemDicomObject,
) -> Result<Vec<InMemDicomObject>, ScuError> {
    let level = crate::pacs::attributes::text(identifier, tags::QUERY_RETRIEVE_LEVEL);
    // A worklist request has no level and asks inside the Scheduled Procedure Step Sequence.
    let model = if level.is_empty()
        && identifier
            .get(tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE)
            .is_some()
    {
        crate::ris::worklist::MODALITY_WORKLIST_FIND
    } else if level == "PATIENT" {
        sop::PATIENT_ROOT_FIND
    } else {
        sop::STUDY_ROOT_FIND
    };
    let options = ClientAssociationOptions::new()
        .with_presentation_context(model, vec![sop::EXPLICIT_VR_LE, sop::IMPLICIT_VR_LE]);
    let (mut assoc, pc, ts) = open_service(node, calling_ae, options, model, "C-FIND").await?;
    let rq = Command::new(cf::C_FIND_RQ)
        .with_uid(tags::AFFECTED_SOP_CLASS_UID, model)
        .with_u16(tags::MESSAGE_ID, 1)
        .with_u16(tags::PRIORITY, 0);
    let bytes = encode_dataset(identifier, ts)?;
    dimse::send_message(&mut assoc, pc.id, &rq, Some(&bytes)).await?;
    let mut results = Vec::new();
    loop {
        let rsp = expect_response(&mut assoc, cf::C_FIND_RSP).await?;
        match rsp.command.status() {
            Some(status::PENDING) | Some(0xFF01) => {
                if let Some(data) = rsp.dataset {
                    let obj =
                        crate::dicom::lengths::read_checked(data.as_slice(), ts).map_err(|e| {
                            DimseError::Protocol(format!("unreadable C-FIND answer: {e}"))
                        })?;
                    results.push(obj);
                }
            }
            Some(status::SUCCESS) => break,
            other => {
                let _ = assoc.abort().await;
                return Err(ScuError::Failed {
                    node: node.name.clone(),
                    status: other.unwrap_or(0xFFFF),
                    comment: rsp.command.text(tags::ERROR_COMMENT),
                });
            }
        }
    }
    let _ = assoc.release().await;
    Ok(results)
}

/// Final counts of a C-MOVE or C-GET as the peer reported them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetrieveSummary {
    /// Final status.
    pub status: u16,
    /// Completed sub-operations.
    pub completed: u16,
    /// Failed sub-operations.
    pub failed: u16,
    /// Warning sub-operations.
    pub warning: u16,
    /// Instances received and archived by us (C-GET).
    pub received: usize,
}

fn summary_from(cmd: &Command, received: usize) -> RetrieveSummary {
    RetrieveSummary {
        status: cmd.status().unwrap_or(0xFFFF),
        completed: cmd
            .u16(tags::NUMBER_OF_COMPLETED_SUBOPERATIONS)
            .unwrap_or(0),
        failed: cmd.u16(tags::NUMBER_OF_FAILED_SUBOPERATIONS).unwrap_or(0),
        warning: cmd.u16(tags::NUMBER_OF_WARNING_SUBOPERATIONS).unwrap_or(0),
        received,
    }
}

/// C-MOVE of an identifier (Study Root) to `destination_ae`.
pub async fn move_to(
    node: &DicomNode,
    calling_ae: &str,
    destination_ae: &str,
    identifier: &InMemDicomObject,
) -> Result<RetrieveSummary, ScuError> {
    let options = ClientAssociationOptions::new().with_presentation_context(
        sop::STUDY_ROOT_MOVE,
        vec![sop::EXPLICIT_VR_LE, sop::IMPLICIT_VR_LE],
    );
    let (mut assoc, pc, ts) =
        open_service(node, calling_ae, options, sop::STUDY_ROOT_MOVE, "C-MOVE").await?;
    let rq = Command::new(cf::C_MOVE_RQ)
        .with_uid(tags::AFFECTED_SOP_CLASS_UID, sop::STUDY_ROOT_MOVE)
        .with_u16(tags::MESSAGE_ID, 1)
        .with_u16(tags::PRIORITY, 0)
        .with_text(tags::MOVE_DESTINATION, dicom_core::VR::AE, destination_ae);
    let bytes = encode_dataset(identifier, ts)?;
    dimse::send_message(&mut assoc, pc.id, &rq, Some(&bytes)).await?;
    loop {
        let rsp = expect_response(&mut assoc, cf::C_MOVE_RSP).await?;
        if rsp.command.status() != Some(status::PENDING) {
            let _ = assoc.release().await;
            return Ok(summary_from(&rsp.command, 0));
        }
    }
}

/// C-GET of an identifier (Study Root): instances come back on the same association and are
/// archived through `ingest`. `sop_classes` are the storage classes to accept.
pub async fn get(
    node: &DicomNode,
    calling_ae: &str,
    identifier: &InMemDicomObject,
    sop_classes: &[String],
    ingest: &Ingest,
) -> Result<RetrieveSummary, ScuError> {
    let mut options = ClientAssociationOptions::new().with_presentation_context(
        sop::STUDY_ROOT_GET,
        vec![sop::EXPLICIT_VR_LE, sop::IMPLICIT_VR_LE],
    );
    for class in sop_classes.iter().take(120) {
        options = options
            .with_presentation_context(class.as_str(), all_readable_syntaxes())
            .with_role_selection(class.as_str(), false, true);
    }
    let (mut assoc, pc, ts) =
        open_service(node, calling_ae, options, sop::STUDY_ROOT_GET, "C-GET").await?;
    let rq = Command::new(cf::C_GET_RQ)
        .with_uid(tags::AFFECTED_SOP_CLASS_UID, sop::STUDY_ROOT_GET)
        .with_u16(tags::MESSAGE_ID, 1)
        .with_u16(tags::PRIORITY, 0);
    let bytes = encode_dataset(identifier, ts)?;
    dimse::send_message(&mut assoc, pc.id, &rq, Some(&bytes)).await?;
    let mut received = 0usize;
    // Instances come back on this association; large ones go to disk as they arrive.
    let mut assembler = dimse::MessageAssembler::new(2 << 30).spilling_to(dimse::archive_spill(
        ingest.archive().clone(),
        assoc.presentation_contexts().to_vec(),
        node.ae_title.clone(),
    ));
    loop {
        let msg = match dimse::receive_with(&mut assoc, &mut assembler).await? {
            Incoming::Message(m) => m,
            _ => return Err(DimseError::Protocol("peer released during C-GET".into()).into()),
        };
        match msg.command.field() {
            cf::C_STORE_RQ => {
                let context = assoc
                    .presentation_contexts()
                    .iter()
                    .find(|c| c.id == msg.context_id)
                    .cloned();
                let ingested = match (context, msg.dataset, msg.spilled, msg.refused) {
                    (_, _, _, Some(reason)) => {
                        tracing::warn!(error = %reason, "instance received by C-GET could not be written");
                        None
                    }
                    (_, _, Some(part), None) => Some(ingest.ingest_part(*part).await),
                    (Some(ctx), Some(dataset), None, None) => {
                        let object = ReceivedObject {
                            dataset,
                            transfer_syntax: ctx.transfer_syntax.clone(),
                            announced_sop_class: msg.command.text(tags::AFFECTED_SOP_CLASS_UID),
                            announced_sop_instance: msg
                                .command
                                .text(tags::AFFECTED_SOP_INSTANCE_UID),
                            source: node.ae_title.clone(),
                        };
                        Some(ingest.ingest(object).await)
                    }
                    _ => None,
                };
                let code = match ingested {
                    Some(ingested) => match ingested {
                        Ok(Ingested::Stored { .. }) | Ok(Ingested::Duplicate { .. }) => {
                            received += 1;
                            status::SUCCESS
                        }
                        Ok(Ingested::ConflictKeptExisting { .. }) => status::STORE_WARNING_COERCION,
                        Err(e) => {
                            tracing::warn!(error = %e, "instance received by C-GET refused");
                            status::STORE_CANNOT_UNDERSTAND
                        }
                    },
                    _ => status::STORE_CANNOT_UNDERSTAND,
                };
                let rsp = dimse::response_to(&msg.command, cf::C_STORE_RSP, code);
                dimse::send_message(&mut assoc, msg.context_id, &rsp, None).await?;
            }
            cf::C_GET_RSP => {
                if msg.command.status() != Some(status::PENDING) {
                    let _ = assoc.release().await;
                    return Ok(summary_from(&msg.command, received));
                }
            }
            other => {
                return Err(DimseError::Protocol(format!(
                    "unexpected command 0x{other:04x} during C-GET"
                ))
                .into());
            }
        }
    }
}

/// Sends a Storage Commitment N-EVENT-REPORT on a new association, taking the SCP role for
/// the class by role selection (the requester released the original association).
pub async fn send_commitment_report(
    node: &DicomNode,
    calling_ae: &str,
    event_type: u16,
    dataset: &InMemDicomObject,
) -> Result<(), ScuError> {
    let options = ClientAssociationOptions::new()
        .with_presentation_context(
            sop::STORAGE_COMMITMENT,
            vec![sop::EXPLICIT_VR_LE, sop::IMPLICIT_VR_LE],
        )
        .with_role_selection(sop::STORAGE_COMMITMENT, false, true);
    let (mut assoc, pc, ts) = open_service(
        node,
        calling_ae,
        options,
        sop::STORAGE_COMMITMENT,
        "Storage Commitment",
    )
    .await?;
    let rq = Command::new(cf::N_EVENT_REPORT_RQ)
        .with_uid(tags::AFFECTED_SOP_CLASS_UID, sop::STORAGE_COMMITMENT)
        .with_uid(
            tags::AFFECTED_SOP_INSTANCE_UID,
            sop::STORAGE_COMMITMENT_INSTANCE,
        )
        .with_u16(tags::MESSAGE_ID, 1)
        .with_u16(tags::EVENT_TYPE_ID, event_type);
    let bytes = encode_dataset(dataset, ts)?;
    dimse::send_message(&mut assoc, pc.id, &rq, Some(&bytes)).await?;
    let rsp = expect_response(&mut assoc, cf::N_EVENT_REPORT_RSP).await?;
    let _ = assoc.release().await;
    success_or_failure(node, &rsp.command)
}

/// Transfer syntaxes we can read, best first, for contexts where the peer sends to us.
pub fn all_readable_syntaxes() -> Vec<&'static str> {
    vec![
        sop::EXPLICIT_VR_LE,
        sop::IMPLICIT_VR_LE,
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.5",
    ]
}

/// The SOP classes of a remote study (IMAGE-level C-FIND), to propose for a C-GET; common
/// image classes when the node will not say.
pub async fn sop_classes_of_study(node: &DicomNode, ae: &str, study: &str) -> Vec<String> {
    let mut q = InMemDicomObject::new_empty();
    q.put(DataElement::new(
        tags::QUERY_RETRIEVE_LEVEL,
        VR::CS,
        PrimitiveValue::from("IMAGE"),
    ));
    q.put(DataElement::new(
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(study),
    ));
    q.put(DataElement::new(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::Empty,
    ));
    q.put(DataElement::new(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::Empty,
    ));
    q.put(DataElement::new(
        tags::SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::Empty,
    ));
    let mut classes: Vec<String> = match find(node, ae, &q).await {
        Ok(rows) => rows
            .iter()
            .map(|r| crate::pacs::attributes::text(r, tags::SOP_CLASS_UID))
            .filter(|c| !c.is_empty())
            .collect(),
        Err(e) => {
            tracing::info!(error = %e, "cannot list the study's SOP classes; proposing common ones");
            Vec::new()
        }
    };
    if classes.is_empty() {
        classes = [
            "1.2.840.10008.5.1.4.1.1.2",
            "1.2.840.10008.5.1.4.1.1.4",
            "1.2.840.10008.5.1.4.1.1.1",
            "1.2.840.10008.5.1.4.1.1.1.1",
            "1.2.840.10008.5.1.4.1.1.6.1",
            "1.2.840.10008.5.1.4.1.1.7",
            "1.2.840.10008.5.1.4.1.1.128",
            "1.2.840.10008.5.1.4.1.1.88.11",
            "1.2.840.10008.5.1.4.1.1.104.1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
    }
    classes.sort();
    classes.dedup();
    classes
}
