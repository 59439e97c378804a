//! DIMSE messages: command sets (always Implicit VR Little Endian), data sets, and their
//! framing into P-DATA PDUs. dicom-ul stops at the PDU; everything above is here.

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::association::{Association, AsyncAssociation};
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use tokio::net::TcpStream;

use crate::archive::part::PartFile;
use crate::pacs::attributes::trim_padding;

/// Command Field values (PS3.7 E.1).
pub mod command_field {
    /// C-STORE-RQ
    pub const C_STORE_RQ: u16 = 0x0001;
    /// C-STORE-RSP
    pub const C_STORE_RSP: u16 = 0x8001;
    /// C-GET-RQ
    pub const C_GET_RQ: u16 = 0x0010;
    /// C-GET-RSP
    pub const C_GET_RSP: u16 = 0x8010;
    /// C-FIND-RQ
    pub const C_FIND_RQ: u16 = 0x0020;
    /// C-FIND-RSP
    pub const C_FIND_RSP: u16 = 0x8020;
    /// C-MOVE-RQ
    pub const C_MOVE_RQ: u16 = 0x0021;
    /// C-MOVE-RSP
    pub const C_MOVE_RSP: u16 = 0x8021;
    /// C-ECHO-RQ
    pub const C_ECHO_RQ: u16 = 0x0030;
    /// C-ECHO-RSP
    pub const C_ECHO_RSP: u16 = 0x8030;
    /// N-EVENT-REPORT-RQ
    pub const N_EVENT_REPORT_RQ: u16 = 0x0100;
    /// N-EVENT-REPORT-RSP
    pub const N_EVENT_REPORT_RSP: u16 = 0x8100;
    /// N-SET-RQ
    pub const N_SET_RQ: u16 = 0x0120;
    /// N-SET-RSP
    pub const N_SET_RSP: u16 = 0x8120;
    /// N-ACTION-RQ
    pub const N_ACTION_RQ: u16 = 0x0130;
    /// N-ACTION-RSP
    pub const N_ACTION_RSP: u16 = 0x8130;
    /// N-CREATE-RQ
    pub const N_CREATE_RQ: u16 = 0x0140;
    /// N-CREATE-RSP
    pub const N_CREATE_RSP: u16 = 0x8140;
    /// C-CANCEL-RQ
    pub const C_CANCEL_RQ: u16 = 0x0FFF;
}

/// CommandDataSetType value meaning "no data set follows".
pub const NO_DATASET: u16 = 0x0101;

/// Errors of the DIMSE layer, each saying which step failed.
#[derive(Debug, thiserror::Error)]
pub enum DimseError {
    /// The association failed (socket closed, timeout, bad PDU).
    #[error("association error: {0}")]
    Association(#[from] dicom_ul::association::Error),
    /// A command set could not be decoded.
    #[error("malformed command set: {0}")]
    BadCommand(String),
    /// A command set could not be encoded.
    #[error("cannot encode a command set: {0}")]
    Encode(String),
    /// The peer broke the message framing (data before command, mixed contexts…).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A data set exceeded the configured maximum size.
    #[error("data set larger than the {limit_bytes}-byte limit")]
    TooLarge {
        /// The limit.
        limit_bytes: usize,
    },
    /// The peer aborted the association.
    #[error("the peer aborted the association")]
    Aborted,
}

/// A DIMSE command set.
#[derive(Debug, Clone)]
pub struct Command {
    obj: InMemDicomObject,
}

impl Command {
    /// A new command with its Command Field set.
    pub fn new(field: u16) -> Command {
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(
            tags::COMMAND_FIELD,
            VR::US,
            PrimitiveValue::from(field),
        ));
        Command { obj }
    }

    /// Sets an unsigned short element.
    pub fn with_u16(mut self, tag: Tag, value: u16) -> Command {
        self.obj
            .put(DataElement::new(tag, VR::US, PrimitiveValue::from(value)));
        self
    }

    /// Sets a UID element (padded to even length with NUL as the standard says).
    pub fn with_uid(mut self, tag: Tag, value: &str) -> Command {
        let mut v = value.to_string();
        if v.len() % 2 == 1 {
            v.push('\0');
        }
        self.obj
            .put(DataElement::new(tag, VR::UI, PrimitiveValue::from(v)));
        self
    }

    /// Sets a text element (AE, LO) padded with a space.
    pub fn with_text(mut self, tag: Tag, vr: VR, value: &str) -> Command {
        let mut v = value.to_string();
        if v.len() % 2 == 1 {
            v.push(' ');
        }
        self.obj
            .put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        self
    }

    /// Marks whether a data set follows.
    pub fn with_dataset(self, present: bool) -> Command {
        self.with_u16(
            tags::COMMAND_DATA_SET_TYPE,
            if present { 0x0000 } else { NO_DATASET },
        )
    }

    /// Command Field.
    pub fn field(&self) -> u16 {
        self.u16(tags::COMMAND_FIELD).unwrap_or(0)
    }

    /// An unsigned short element.
    pub fn u16(&self, tag: Tag) -> Option<u16> {
        self.obj.get(tag).and_then(|e| e.to_int::<u16>().ok())
    }

    /// A text or UID element, padding removed.
    pub fn text(&self, tag: Tag) -> Option<String> {
        self.obj
            .get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| trim_padding(&s).to_string())
    }

    /// Message ID.
    pub fn message_id(&self) -> u16 {
        self.u16(tags::MESSAGE_ID).unwrap_or(0)
    }

    /// Status (responses).
    pub fn status(&self) -> Option<u16> {
        self.u16(tags::STATUS)
    }

    /// Whether a data set follows this command.
    pub fn has_dataset(&self) -> bool {
        self.u16(tags::COMMAND_DATA_SET_TYPE)
            .is_some_and(|v| v != NO_DATASET)
    }

    /// Encodes the command set in Implicit VR Little Endian with its group length.
    pub fn encode(&self) -> Result<Vec<u8>, DimseError> {
        let ts = TransferSyntaxRegistry
            .get("1.2.840.10008.1.2")
            .ok_or_else(|| DimseError::Encode("implicit VR little endian missing".into()))?;
        let mut body = Vec::with_capacity(256);
        self.obj
            .write_dataset_with_ts(&mut body, ts)
            .map_err(|e| DimseError::Encode(e.to_string()))?;
        let mut out = Vec::with_capacity(body.len() + 12);
        out.extend_from_slice(&[0, 0, 0, 0, 4, 0, 0, 0]);
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decodes a command set.
    pub fn decode(bytes: &[u8]) -> Result<Command, DimseError> {
        let ts = TransferSyntaxRegistry
            .get("1.2.840.10008.1.2")
            .ok_or_else(|| DimseError::BadCommand("implicit VR little endian missing".into()))?;
        let obj = crate::dicom::lengths::read_checked(bytes, ts).map_err(DimseError::BadCommand)?;
        if obj.get(tags::COMMAND_FIELD).is_none() {
            return Err(DimseError::BadCommand("no Command Field".into()));
        }
        Ok(Command { obj })
    }
}

/// A whole DIMSE message as received.
#[derive(Debug)]
pub struct Message {
    /// The presentation context it came on.
    pub context_id: u8,
    /// The command set.
    pub command: Command,
    /// The data set bytes, in the context's transfer syntax (when held in memory).
    pub dataset: Option<Vec<u8>>,
    /// A large C-STORE data set, written into the archive as it arrived.
    pub spilled: Option<Box<PartFile>>,
    /// Why a large data set could not be kept (the disk refused it): the peer is told so.
    pub refused: Option<String>,
}

impl Message {
    /// A message whose data set (if any) is in memory.
    pub fn in_memory(context_id: u8, command: Command, dataset: Option<Vec<u8>>) -> Message {
        Message {
            context_id,
            command,
            dataset,
            spilled: None,
            refused: None,
        }
    }
}

/// Opens the `.part` file a large C-STORE data set streams into, from its command and the
/// presentation context it came on.
pub type SpillTarget = Box<dyn Fn(&Command, u8) -> Result<PartFile, String> + Send + Sync>;

/// The spill target for an association: the `.part` file starts with the file meta group
/// built from the C-STORE command's SOP Class and Instance UIDs and the presentation
/// context's transfer syntax (the data set is checked against them once complete).
pub fn archive_spill(
    archive: crate::archive::ArchiveFolder,
    contexts: Vec<dicom_ul::pdu::PresentationContextNegotiated>,
    source: String,
) -> SpillTarget {
    Box::new(move |command: &Command, context_id: u8| {
        let context = contexts
            .iter()
            .find(|c| c.id == context_id)
            .ok_or("unknown presentation context")?;
        let class = command
            .text(tags::AFFECTED_SOP_CLASS_UID)
            .ok_or("C-STORE without Affected SOP Class UID")?;
        let instance = command
            .text(tags::AFFECTED_SOP_INSTANCE_UID)
            .ok_or("C-STORE without Affected SOP Instance UID")?;
        let transfer_syntax = context.transfer_syntax.trim_end_matches('\0').to_string();
        let head = crate::archive::prepare::meta_head(&class, &instance, &transfer_syntax, &source)
            .map_err(|e| e.to_string())?;
        archive
            .begin_part(
                &head,
                crate::archive::part::Announced {
                    transfer_syntax,
                    sop_class: class,
                    sop_instance: instance,
                    source: source.clone(),
                },
            )
            .map_err(|e| e.to_string())
    })
}

pub use crate::archive::part::SPILL_AFTER_BYTES;

/// What the peer sent next.
#[derive(Debug)]
pub enum Incoming {
    /// A DIMSE message.
    Message(Message),
    /// A-RELEASE-RQ: answer with A-RELEASE-RP.
    ReleaseRequested,
    /// A-RELEASE-RP (to our release request).
    Released,
}

/// Assembles P-DATA PDUs into whole messages. Keeping this state outside the read lets a
/// caller wait on the association and on other events at once (`tokio::select!` over a
/// single-PDU read, which dicom-ul buffers safely) without losing half a message.
pub struct MessageAssembler {
    max_dataset_bytes: usize,
    command_bytes: Vec<u8>,
    command: Option<Command>,
    data: Vec<u8>,
    context: Option<u8>,
    /// Data set bytes of the current message so far (wherever they went).
    received: usize,
    spill: Option<SpillTarget>,
    part: Option<Box<PartFile>>,
    refused: Option<String>,
}

impl std::fmt::Debug for MessageAssembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageAssembler")
            .field("context", &self.context)
            .field("received", &self.received)
            .field("spilling", &self.part.is_some())
            .finish()
    }
}

impl MessageAssembler {
    /// A new assembler refusing data sets larger than `max_dataset_bytes`.
    pub fn new(max_dataset_bytes: usize) -> MessageAssembler {
        MessageAssembler {
            max_dataset_bytes,
            command_bytes: Vec::new(),
            command: None,
            data: Vec::new(),
            context: None,
            received: 0,
            spill: None,
            part: None,
            refused: None,
        }
    }

    /// C-STORE data sets over [`SPILL_AFTER_BYTES`] go to the file `target` opens, not to
    /// memory: memory stays bounded whatever size of object a peer sends.
    pub fn spilling_to(mut self, target: SpillTarget) -> MessageAssembler {
        self.spill = Some(target);
        self
    }

    /// Whether taking `pdu` may write to disk (a spilled data set, or one about to spill): the
    /// caller then tells the async runtime it blocks. Small messages never do.
    pub fn will_write(&self, pdu: &Pdu) -> bool {
        if self.part.is_some() {
            return true;
        }
        let incoming: usize = match pdu {
            Pdu::PData { data } => data.iter().map(|v| v.data.len()).sum(),
            _ => 0,
        };
        self.spill.is_some() && self.data.len() + incoming > SPILL_AFTER_BYTES
    }

    /// Whether part of a message has arrived (the association is not idle).
    pub fn in_progress(&self) -> bool {
        self.context.is_some()
    }

    fn reset(&mut self) {
        self.command_bytes.clear();
        self.command = None;
        self.data = Vec::new();
        self.context = None;
        self.received = 0;
        self.part = None;
        self.refused = None;
    }

    /// Takes a data fragment: into the open part file, into memory, or (once the data set
    /// outgrows memory) into a part file opened now.
    fn take_data(&mut self, context_id: u8, bytes: Vec<u8>) {
        if self.refused.is_some() {
            return; // the rest of a data set that could not be kept: read and dropped
        }
        if let Some(part) = self.part.as_mut() {
            if let Err(e) = part.write(&bytes) {
                self.refused = Some(e.to_string());
                self.part = None;
            }
            return;
        }
        if self.data.is_empty() {
            self.data = bytes;
        } else {
            self.data.extend_from_slice(&bytes);
        }
        let is_store = self
            .command
            .as_ref()
            .is_some_and(|c| c.field() == command_field::C_STORE_RQ);
        if self.data.len() > SPILL_AFTER_BYTES
            && is_store
            && let (Some(target), Some(command)) = (self.spill.as_ref(), self.command.as_ref())
        {
            let data = std::mem::take(&mut self.data);
            match target(command, context_id) {
                Ok(mut part) => match part.write(&data) {
                    Ok(()) => self.part = Some(Box::new(part)),
                    Err(e) => self.refused = Some(e.to_string()),
                },
                Err(e) => self.refused = Some(e),
            }
        }
    }

    /// Takes one PDU; returns what it completed, if anything.
    pub fn push(&mut self, pdu: Pdu) -> Result<Option<Incoming>, DimseError> {
        let values = match pdu {
            Pdu::PData { data } => data,
            Pdu::ReleaseRQ => return Ok(Some(Incoming::ReleaseRequested)),
            Pdu::ReleaseRP => return Ok(Some(Incoming::Released)),
            Pdu::AbortRQ { .. } => return Err(DimseError::Aborted),
            other => {
                return Err(DimseError::Protocol(format!(
                    "unexpected PDU during a message: {}",
                    pdu_name(&other)
                )));
            }
        };
        let mut done = None;
        for pdv in values {
            if done.is_some() {
                return Err(DimseError::Protocol(
                    "a new message began in the PDU that ended the previous one".into(),
                ));
            }
            match self.context {
                None => self.context = Some(pdv.presentation_context_id),
                Some(id) if id != pdv.presentation_context_id => {
                    return Err(DimseError::Protocol(
                        "fragments of one message on two presentation contexts".into(),
                    ));
                }
                _ => {}
            }
            match pdv.value_type {
                PDataValueType::Command => {
                    if self.command.is_some() {
                        return Err(DimseError::Protocol(
                            "a second command set before the data set".into(),
                        ));
                    }
                    self.command_bytes.extend_from_slice(&pdv.data);
                    if self.command_bytes.len() > 64 * 1024 {
                        return Err(DimseError::Protocol(
                            "command set larger than 64 KiB".into(),
                        ));
                    }
                    if pdv.is_last {
                        let cmd = Command::decode(&self.command_bytes)?;
                        if cmd.has_dataset() {
                            self.command = Some(cmd);
                        } else {
                            done = Some(Incoming::Message(Message::in_memory(
                                pdv.presentation_context_id,
                                cmd,
                                None,
                            )));
                            self.reset();
                        }
                    }
                }
                PDataValueType::Data => {
                    if self.command.is_none() {
                        return Err(DimseError::Protocol("data set before its command".into()));
                    }
                    self.received = self.received.saturating_add(pdv.data.len());
                    if self.received > self.max_dataset_bytes {
                        return Err(DimseError::TooLarge {
                            limit_bytes: self.max_dataset_bytes,
                        });
                    }
                    self.take_data(pdv.presentation_context_id, pdv.data);
                    if pdv.is_last
                        && let Some(cmd) = self.command.take()
                    {
                        let spilled = self.part.take();
                        let refused = self.refused.take();
                        let dataset = (spilled.is_none() && refused.is_none())
                            .then(|| std::mem::take(&mut self.data));
                        done = Some(Incoming::Message(Message {
                            context_id: pdv.presentation_context_id,
                            command: cmd,
                            dataset,
                            spilled,
                            refused,
                        }));
                        self.reset();
                    }
                }
            }
        }
        Ok(done)
    }
}

/// Reads the next whole message (or a release) from the association.
pub async fn receive_message<A>(
    assoc: &mut A,
    max_dataset_bytes: usize,
) -> Result<Incoming, DimseError>
where
    A: AsyncAssociation<TcpStream> + Association + Send,
{
    let mut assembler = MessageAssembler::new(max_dataset_bytes);
    receive_with(assoc, &mut assembler).await
}

/// Reads the next whole message with `assembler` (which may spill large data sets to disk:
/// the writes happen on this worker, which tells the runtime it blocks).
pub async fn receive_with<A>(
    assoc: &mut A,
    assembler: &mut MessageAssembler,
) -> Result<Incoming, DimseError>
where
    A: AsyncAssociation<TcpStream> + Association + Send,
{
    loop {
        let pdu = AsyncAssociation::receive(assoc).await?;
        let pushed = if assembler.will_write(&pdu) {
            tokio::task::block_in_place(|| assembler.push(pdu))
        } else {
            assembler.push(pdu)
        };
        if let Some(incoming) = pushed? {
            return Ok(incoming);
        }
    }
}

fn pdu_name(pdu: &Pdu) -> &'static str {
    match pdu {
        Pdu::Unknown { .. } => "unknown",
        Pdu::AssociationRQ(_) => "A-ASSOCIATE-RQ",
        Pdu::AssociationAC(_) => "A-ASSOCIATE-AC",
        Pdu::AssociationRJ(_) => "A-ASSOCIATE-RJ",
        Pdu::PData { .. } => "P-DATA",
        Pdu::ReleaseRQ => "A-RELEASE-RQ",
        Pdu::ReleaseRP => "A-RELEASE-RP",
        Pdu::AbortRQ { .. } => "A-ABORT",
    }
}

/// Sends a message: the command, then the data set if any, fragmented to the peer's
/// maximum PDU length.
pub async fn send_message<A>(
    assoc: &mut A,
    context_id: u8,
    command: &Command,
    dataset: Option<&[u8]>,
) -> Result<(), DimseError>
where
    A: AsyncAssociation<TcpStream> + Association + Send,
{
    let command = command.clone().with_dataset(dataset.is_some());
    let bytes = command.encode()?;
    let chunk = fragment_size(assoc);
    send_fragments(assoc, context_id, PDataValueType::Command, &bytes, chunk).await?;
    if let Some(data) = dataset {
        send_fragments(assoc, context_id, PDataValueType::Data, data, chunk).await?;
    }
    Ok(())
}

/// How many data bytes go in one P-DATA fragment: what the peer's maximum PDU length leaves
/// after the 6-byte PDV item header (1 MiB when it sets no maximum).
fn fragment_size<A: Association>(assoc: &A) -> usize {
    let peer_max = assoc.peer_max_pdu_length() as usize;
    if peer_max == 0 {
        1 << 20
    } else {
        peer_max.saturating_sub(6).clamp(256, 1 << 20)
    }
}

/// A stored Part 10 file opened at its data set, to be sent from disk.
#[derive(Debug)]
pub struct StoredDataset {
    file: tokio::fs::File,
    len: u64,
}

impl StoredDataset {
    /// Opens `path` and positions it at the data set (after the file meta group).
    pub async fn open(path: &std::path::Path) -> Result<StoredDataset, String> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let io = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        let mut head = [0u8; 144];
        file.read_exact(&mut head).await.map_err(io)?;
        if head.get(128..132) != Some(b"DICM".as_slice()) {
            return Err(format!("{} is not a Part 10 file", path.display()));
        }
        let group = u32::from_le_bytes([head[140], head[141], head[142], head[143]]);
        let offset = 144 + u64::from(group);
        let total = file.metadata().await.map_err(io)?.len();
        let len = total
            .checked_sub(offset)
            .ok_or_else(|| format!("{} ends inside its meta group", path.display()))?;
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(io)?;
        Ok(StoredDataset { file, len })
    }
}

/// Sends a message whose data set is read from a stored file and sent a PDU at a time: a
/// 2 GB object costs one PDU of memory, not 2 GB.
pub async fn send_message_from_file<A>(
    assoc: &mut A,
    context_id: u8,
    command: &Command,
    stored: StoredDataset,
) -> Result<(), DimseError>
where
    A: AsyncAssociation<TcpStream> + Association + Send,
{
    use tokio::io::AsyncReadExt;
    let StoredDataset { mut file, len } = stored;
    let mut left = len;
    let command = command.clone().with_dataset(true);
    let bytes = command.encode()?;
    let chunk = fragment_size(assoc);
    send_fragments(assoc, context_id, PDataValueType::Command, &bytes, chunk).await?;
    if left == 0 {
        return send_fragments(assoc, context_id, PDataValueType::Data, &[], chunk).await;
    }
    let mut buffer = vec![0u8; chunk];
    while left > 0 {
        let n = left.min(chunk as u64) as usize;
        let piece = buffer.get_mut(..n).unwrap_or_default();
        file.read_exact(piece).await.map_err(|e| {
            DimseError::Protocol(format!(
                "a stored file could not be read while sending: {e}"
            ))
        })?;
        left -= n as u64;
        let pdu = Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: context_id,
                value_type: PDataValueType::Data,
                is_last: left == 0,
                data: piece.to_vec(),
            }],
        };
        AsyncAssociation::send(assoc, &pdu).await?;
    }
    Ok(())
}

async fn send_fragments<A>(
    assoc: &mut A,
    context_id: u8,
    value_type: PDataValueType,
    bytes: &[u8],
    chunk: usize,
) -> Result<(), DimseError>
where
    A: AsyncAssociation<TcpStream> + Association + Send,
{
    if bytes.is_empty() {
        let pdu = Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: context_id,
                value_type,
                is_last: true,
                data: Vec::new(),
            }],
        };
        AsyncAssociation::send(assoc, &pdu).await?;
        return Ok(());
    }
    let mut pieces = bytes.chunks(chunk).peekable();
    while let Some(piece) = pieces.next() {
        let pdu = Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: context_id,
                value_type: value_type.clone(),
                is_last: pieces.peek().is_none(),
                data: piece.to_vec(),
            }],
        };
        AsyncAssociation::send(assoc, &pdu).await?;
    }
    Ok(())
}

/// Builds the response command to a request: same SOP class/instance, Message ID Being
/// Responded To, and the status.
pub fn response_to(request: &Command, field: u16, status: u16) -> Command {
    let mut rsp = Command::new(field)
        .with_u16(tags::MESSAGE_ID_BEING_RESPONDED_TO, request.message_id())
        .with_u16(tags::STATUS, status);
    if let Some(class) = request
        .text(tags::AFFECTED_SOP_CLASS_UID)
        .or_else(|| request.text(tags::REQUESTED_SOP_CLASS_UID))
    {
        rsp = rsp.with_uid(tags::AFFECTED_SOP_CLASS_UID, &class);
    }
    if let Some(inst) = request
        .text(tags::AFFECTED_SOP_INSTANCE_UID)
        .or_else(|| request.text(tags::REQUESTED_SOP_INSTANCE_UID))
    {
        rsp = rsp.with_uid(tags::AFFECTED_SOP_INSTANCE_UID, &inst);
    }
    rsp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_round_trips_with_correct_group_length() -> anyhow::Result<()> {
        let cmd = Command::new(command_field::C_ECHO_RQ)
            .with_uid(tags::AFFECTED_SOP_CLASS_UID, "1.2.840.10008.1.1")
            .with_u16(tags::MESSAGE_ID, 7)
            .with_dataset(false);
        let bytes = cmd.encode()?;
        let group_len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
        assert_eq!(group_len, bytes.len() - 12);
        let back = Command::decode(&bytes)?;
        assert_eq!(back.field(), command_field::C_ECHO_RQ);
        assert_eq!(back.message_id(), 7);
        assert_eq!(
            back.text(tags::AFFECTED_SOP_CLASS_UID).as_deref(),
            Some("1.2.840.10008.1.1")
        );
        assert!(!back.has_dataset());
        Ok(())
    }

    #[test]
    fn garbage_command_is_an_error_not_a_panic() {
        assert!(Command::decode(&[1, 2, 3]).is_err());
        assert!(Command::decode(&[0xff; 40]).is_err());
        assert!(Command::decode(&[]).is_err());
    }
}
