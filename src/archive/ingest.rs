//! Where a received DICOM object becomes an archived, indexed instance.
//!
//! Both C-STORE and `lightbox import` come through here. The order is the durability
//! contract: parse and validate → write the file (temp, then rename) → commit the index
//! row → only then answer the sender. Index writes from every association go through one
//! writer thread that commits them in batches (group commit).

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use tokio::sync::oneshot;

use super::{ArchiveError, ArchiveFolder};
use crate::health::{HealthBoard, supervise_thread};

/// The index writer's name in the health records.
pub const INDEX_WRITER_SERVICE: &str = "index-writer";
use crate::pacs::attributes::{is_usable_uid, is_valid_uid, text};
use crate::store::index::{IndexConflict, NewInstance};
use crate::store::{Store, StoreError};

/// Our implementation class UID, written in every file meta group we create.
pub const IMPLEMENTATION_CLASS_UID: &str = "1.2.826.0.1.3680043.10.1431.1";
/// Our implementation version name.
pub const IMPLEMENTATION_VERSION: &str = "LIGHTBOX_010";

/// A data set as it arrived, before anything was checked.
#[derive(Debug, Clone)]
pub struct ReceivedObject {
    /// The data set bytes in `transfer_syntax`, without a file meta group.
    pub dataset: Vec<u8>,
    /// The transfer syntax UID the bytes are encoded in.
    pub transfer_syntax: String,
    /// The SOP class the sender announced (the presentation context or C-STORE command).
    pub announced_sop_class: Option<String>,
    /// The SOP instance the sender announced in the command, if any.
    pub announced_sop_instance: Option<String>,
    /// Who sent it: the calling AE title, or `import`.
    pub source: String,
}

/// Why an object was not archived. Each maps to a DICOM status and a log line.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The bytes are not a readable data set in the announced transfer syntax.
    #[error("cannot read the data set: {0}")]
    Unreadable(String),
    /// The transfer syntax is not one we can read.
    #[error("unsupported transfer syntax {0}")]
    UnsupportedSyntax(String),
    /// A required UID is missing or malformed.
    #[error("{name} is missing or invalid ({value:?})")]
    BadUid {
        /// Which attribute.
        name: &'static str,
        /// What was received (already known not to be a valid UID).
        value: String,
    },
    /// The data set does not agree with what the command announced.
    #[error("data set {what} {found} does not match the announced {announced}")]
    Mismatch {
        /// Which attribute disagrees.
        what: &'static str,
        /// In the data set.
        found: String,
        /// In the command or presentation context.
        announced: String,
    },
    /// The SOP instance is already archived under another series or study.
    #[error(
        "SOP instance {sop_uid} is already archived in series {series_uid} of study {study_uid}"
    )]
    KnownElsewhere {
        /// The instance.
        sop_uid: String,
        /// Its series in the archive.
        series_uid: String,
        /// Its study in the archive.
        study_uid: String,
    },
    /// The series is archived under another study.
    #[error("series {series_uid} already belongs to study {existing_study}")]
    SeriesElsewhere {
        /// The series.
        series_uid: String,
        /// The study it belongs to.
        existing_study: String,
    },
    /// The archive folder failed (disk full, permissions).
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The index failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ingest service stopped (shutdown).
    #[error("the archive is shutting down")]
    ShuttingDown,
}

/// What happened to an object that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// Newly archived and indexed.
    Stored {
        /// Its SOP Instance UID.
        sop_uid: String,
        /// Its study (the RIS matches arriving studies to orders by it).
        study_uid: String,
        /// What was tolerated on the way in (non-conformant UIDs, UN read with the
        /// dictionary VR, malformed numbers), for the association log.
        tolerated: Vec<String>,
    },
    /// Already archived with identical content: nothing changed.
    Duplicate {
        /// Its SOP Instance UID.
        sop_uid: String,
    },
    /// Already archived with different content: the existing copy was kept.
    ConflictKeptExisting {
        /// Its SOP Instance UID.
        sop_uid: String,
    },
}

struct IndexJob {
    instance: NewInstance,
    reply: oneshot::Sender<Result<IndexVerdict, String>>,
}

enum IndexVerdict {
    Inserted,
    Duplicate,
    Conflict,
    KnownElsewhere {
        series_uid: String,
        study_uid: String,
    },
    SeriesElsewhere {
        series_uid: String,
        existing_study: String,
    },
}

/// The ingest service: validates, writes and indexes. Clone it into every association.
#[derive(Clone)]
pub struct Ingest {
    archive: ArchiveFolder,
    jobs: tokio::sync::mpsc::Sender<IndexJob>,
}

impl Ingest {
    /// Starts the index writer thread on its own connection to `store_path`, supervised: if
    /// it fails it starts again (the jobs in its hands are answered with an error, so their
    /// senders are told to send again; nothing was committed for them).
    pub fn start(
        archive: ArchiveFolder,
        store_path: &Path,
        health: HealthBoard,
    ) -> Result<Ingest, StoreError> {
        // Opened once here so a store that cannot be opened fails the start, not a thread.
        let first = Store::open(store_path)?;
        let mut first = Some(first);
        let path = store_path.to_path_buf();
        let (jobs, mut rx) = tokio::sync::mpsc::channel::<IndexJob>(1024);
        let writer_archive = archive.clone();
        supervise_thread(
            health,
            INDEX_WRITER_SERVICE,
            "indexing received instances".into(),
            move || {
                let mut store = match first.take() {
                    Some(s) => s,
                    None => {
                        Store::open(&path).map_err(|e| format!("cannot open the store: {e}"))?
                    }
                };
                index_writer(&writer_archive, &mut store, &mut rx);
                Ok(())
            },
        )
        .map_err(|e| StoreError::Invalid(format!("cannot start the index writer: {e}")))?;
        Ok(Ingest { archive, jobs })
    }

    /// The archive folder this service writes to.
    pub fn archive(&self) -> &ArchiveFolder {
        &self.archive
    }

    /// Archives one object. Returns only once the file is complete under its final name and
    /// its index row is committed: a Success sent after this survives a crash of Lightbox.
    pub async fn ingest(&self, object: ReceivedObject) -> Result<Ingested, IngestError> {
        // Parse and write on this worker, telling the runtime it blocks (cheaper than a hop
        // to the blocking pool; needs the multi-thread runtime, which Lightbox always uses).
        let (prepared, tolerated) = tokio::task::block_in_place(|| prepare(&self.archive, object))?;
        self.index(prepared, tolerated).await
    }

    /// The blocking form of [`Ingest::ingest`], for the importer and tests.
    pub fn ingest_blocking(&self, object: ReceivedObject) -> Result<Ingested, IngestError> {
        let (prepared, tolerated) = prepare(&self.archive, object)?;
        let (tx, rx) = oneshot::channel();
        let file_path = prepared.file_path.clone();
        let sop_uid = prepared.sop_uid.clone();
        let study_uid = prepared.study_uid.clone();
        self.jobs
            .blocking_send(IndexJob {
                instance: prepared,
                reply: tx,
            })
            .map_err(|_| IngestError::ShuttingDown)?;
        let verdict = rx.blocking_recv().map_err(|_| IngestError::ShuttingDown)?;
        self.finish(verdict, &file_path, sop_uid, study_uid, tolerated)
    }

    async fn index(
        &self,
        prepared: NewInstance,
        tolerated: Vec<String>,
    ) -> Result<Ingested, IngestError> {
        let (tx, rx) = oneshot::channel();
        let file_path = prepared.file_path.clone();
        let sop_uid = prepared.sop_uid.clone();
        let study_uid = prepared.study_uid.clone();
        let job = IndexJob {
            instance: prepared,
            reply: tx,
        };
        // The channel is bounded: a full queue makes senders wait (backpressure).
        self.jobs
            .send(job)
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        let verdict = rx.await.map_err(|_| IngestError::ShuttingDown)?;
        self.finish(verdict, &file_path, sop_uid, study_uid, tolerated)
    }

    fn finish(
        &self,
        verdict: Result<IndexVerdict, String>,
        file_path: &str,
        sop_uid: String,
        study_uid: String,
        tolerated: Vec<String>,
    ) -> Result<Ingested, IngestError> {
        let verdict = match verdict {
            Ok(v) => v,
            Err(e) => {
                let _ = self.archive.delete(file_path);
                return Err(IngestError::Store(StoreError::Invalid(e)));
            }
        };
        if !matches!(verdict, IndexVerdict::Inserted) {
            // The new copy is not indexed: remove it so no orphan stays behind.
            let _ = self.archive.delete(file_path);
        }
        match verdict {
            IndexVerdict::Inserted => Ok(Ingested::Stored {
                sop_uid,
                study_uid,
                tolerated,
            }),
            IndexVerdict::Duplicate => Ok(Ingested::Duplicate { sop_uid }),
            IndexVerdict::Conflict => {
                tracing::warn!(
                    sop_uid,
                    "duplicate SOP instance with different content; existing copy kept"
                );
                Ok(Ingested::ConflictKeptExisting { sop_uid })
            }
            IndexVerdict::KnownElsewhere {
                series_uid,
                study_uid,
            } => Err(IngestError::KnownElsewhere {
                sop_uid,
                series_uid,
                study_uid,
            }),
            IndexVerdict::SeriesElsewhere {
                series_uid,
                existing_study,
            } => Err(IngestError::SeriesElsewhere {
                series_uid,
                existing_study,
            }),
        }
    }
}

/// Parses, validates and writes the file; returns the index row to commit and what was
/// tolerated on the way.
fn prepare(
    archive: &ArchiveFolder,
    object: ReceivedObject,
) -> Result<(NewInstance, Vec<String>), IngestError> {
    let ts = TransferSyntaxRegistry
        .get(object.transfer_syntax.trim_end_matches('\0'))
        .ok_or_else(|| IngestError::UnsupportedSyntax(object.transfer_syntax.clone()))?;
    // Parse the attributes only: the pixel data (most of the bytes) is stored as received
    // and needs no parsing here. Fall back to a full parse if the split is not certain.
    // Impossible lengths are refused before any parse reserves them.
    crate::dicom::lengths::check_for_transfer_syntax(&object.dataset, ts.uid())
        .map_err(|e| IngestError::Unreadable(e.to_string()))?;
    let header_end = pixel_data_offset(&object.dataset, ts);
    let mut read = match header_end.and_then(|end| object.dataset.get(..end)) {
        Some(head) => crate::dicom::tolerant::read_dataset(head, ts).ok(),
        None => None,
    };
    if read.is_none() {
        read = Some(
            crate::dicom::tolerant::read_dataset(object.dataset.as_slice(), ts)
                .map_err(IngestError::Unreadable)?,
        );
    }
    let Some(read) = read else {
        return Err(IngestError::Unreadable("no data set".into()));
    };
    let (mut obj, mut tolerated) = (read.object, read.warnings);

    let sop_class = required_uid(&obj, tags::SOP_CLASS_UID, "SOP Class UID", &mut tolerated)?;
    let sop_uid = required_uid(
        &obj,
        tags::SOP_INSTANCE_UID,
        "SOP Instance UID",
        &mut tolerated,
    )?;
    let study_uid = required_uid(
        &obj,
        tags::STUDY_INSTANCE_UID,
        "Study Instance UID",
        &mut tolerated,
    )?;
    let series_uid = required_uid(
        &obj,
        tags::SERIES_INSTANCE_UID,
        "Series Instance UID",
        &mut tolerated,
    )?;
    if let Some(announced) = &object.announced_sop_class
        && announced != &sop_class
    {
        return Err(IngestError::Mismatch {
            what: "SOP Class UID",
            found: sop_class,
            announced: announced.clone(),
        });
    }
    if let Some(announced) = &object.announced_sop_instance
        && announced != &sop_uid
    {
        return Err(IngestError::Mismatch {
            what: "SOP Instance UID",
            found: sop_uid,
            announced: announced.clone(),
        });
    }

    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class.as_str())
        .media_storage_sop_instance_uid(sop_uid.as_str())
        .transfer_syntax(ts.uid())
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION)
        .source_application_entity_title(object.source.as_str())
        .build()
        .map_err(|e| IngestError::Unreadable(format!("cannot build the file meta group: {e}")))?;
    let mut head = Vec::with_capacity(400);
    head.extend_from_slice(&[0u8; 128]);
    head.extend_from_slice(b"DICM");
    meta.write(&mut head)
        .map_err(|e| IngestError::Unreadable(format!("cannot write the file meta group: {e}")))?;

    let header_hash = header_hash(&mut obj);
    let file_size = (head.len() + object.dataset.len()) as u64;
    let file_path = archive.put(&[&head, &object.dataset])?;

    Ok((
        NewInstance {
            patient_id: text(&obj, tags::PATIENT_ID),
            issuer: text(&obj, tags::ISSUER_OF_PATIENT_ID),
            patient_name: text(&obj, tags::PATIENT_NAME),
            birth_date: text(&obj, tags::PATIENT_BIRTH_DATE),
            sex: text(&obj, tags::PATIENT_SEX),
            study_uid,
            study_date: text(&obj, tags::STUDY_DATE),
            study_time: text(&obj, tags::STUDY_TIME),
            accession: text(&obj, tags::ACCESSION_NUMBER),
            study_id: text(&obj, tags::STUDY_ID),
            study_description: text(&obj, tags::STUDY_DESCRIPTION),
            referring: text(&obj, tags::REFERRING_PHYSICIAN_NAME),
            series_uid,
            modality: text(&obj, tags::MODALITY),
            series_number: text(&obj, tags::SERIES_NUMBER),
            series_description: text(&obj, tags::SERIES_DESCRIPTION),
            body_part: text(&obj, tags::BODY_PART_EXAMINED),
            sop_uid,
            sop_class,
            instance_number: text(&obj, tags::INSTANCE_NUMBER),
            file_path,
            file_size,
            transfer_syntax: ts.uid().to_string(),
            header_hash,
            received_from: object.source,
        },
        tolerated,
    ))
}

/// Where the top-level Pixel Data element starts, if that can be told for certain from the
/// bytes: the first (7FE0,0010) tag, if its header is consistent with the rest of the data set
/// (its length reaches the end, allowing trailing padding, or is undefined for encapsulated
/// data). Deflated data sets are never split.
fn pixel_data_offset(dataset: &[u8], ts: &dicom_encoding::TransferSyntax) -> Option<usize> {
    if ts.uid() == "1.2.840.10008.1.2.1.99" || dataset.len() < 12 {
        return None;
    }
    let big_endian = ts.uid() == "1.2.840.10008.1.2.2";
    let tag: [u8; 4] = if big_endian {
        [0x7F, 0xE0, 0x00, 0x10]
    } else {
        [0xE0, 0x7F, 0x10, 0x00]
    };
    // Forward search (SIMD-accelerated, and the pixel data follows a header of a few KiB).
    // A hit inside an earlier value fails the length check below and we parse in full.
    let start = memchr::memmem::find(dataset, &tag)?;
    let rest = &dataset[start..];
    let u32_at = |b: &[u8]| -> Option<u32> {
        let a: [u8; 4] = b.get(0..4)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    };
    let (header_len, len) = if ts.uid() == "1.2.840.10008.1.2" {
        (8usize, u32_at(rest.get(4..8)?)?)
    } else {
        let vr = rest.get(4..6)?;
        if vr != b"OB" && vr != b"OW" && vr != b"UN" || rest.get(6..8)? != [0, 0] {
            return None;
        }
        (12usize, u32_at(rest.get(8..12)?)?)
    };
    if len == u32::MAX {
        return Some(start);
    }
    let end = start.checked_add(header_len)?.checked_add(len as usize)?;
    // Only Data Set Trailing Padding (FFFC,FFFC) may follow the pixel data.
    let after = dataset.get(end..)?;
    let padding_tag: [u8; 4] = [0xFC, 0xFF, 0xFC, 0xFF];
    (after.is_empty() || after.starts_with(&padding_tag)).then_some(start)
}

/// Hash of the attributes without pixel data in Explicit VR Little Endian: equal for the
/// same object received in two transfer syntaxes. Consumes the pixel data of `obj`.
fn header_hash(obj: &mut InMemDicomObject) -> String {
    obj.remove_element(tags::PIXEL_DATA);
    obj.remove_element(tags::DATA_SET_TRAILING_PADDING);
    let mut bytes = Vec::new();
    let written = TransferSyntaxRegistry
        .get("1.2.840.10008.1.2.1")
        .map(|ts| obj.write_dataset_with_ts(&mut bytes, ts).is_ok())
        .unwrap_or(false);
    if written {
        blake3::hash(&bytes).to_hex().to_string()
    } else {
        String::new()
    }
}

/// A UID the object cannot be archived without. A non-conformant one (letters, say) that can
/// still serve as an identifier is accepted and noted in `tolerated`.
fn required_uid(
    obj: &InMemDicomObject,
    tag: dicom_core::Tag,
    name: &'static str,
    tolerated: &mut Vec<String>,
) -> Result<String, IngestError> {
    let value = text(obj, tag);
    if is_valid_uid(&value) {
        Ok(value)
    } else if is_usable_uid(&value) {
        tolerated.push(format!(
            "{name} {value:?} is not a conformant UID; accepted as an identifier"
        ));
        Ok(value)
    } else {
        Err(IngestError::BadUid { name, value })
    }
}

/// The writer thread: takes whatever jobs are waiting, decides each against the index and
/// commits them all in one transaction.
fn index_writer(
    archive: &ArchiveFolder,
    store: &mut Store,
    rx: &mut tokio::sync::mpsc::Receiver<IndexJob>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match decide_and_index(archive, store, &batch) {
            Ok(verdicts) => {
                for (job, verdict) in batch.into_iter().zip(verdicts) {
                    let _ = job.reply.send(Ok(verdict));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, count = batch.len(), "index batch failed");
                for job in batch {
                    let _ = job.reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

struct Existing {
    series_uid: String,
    study_uid: String,
    file_path: String,
    header_hash: String,
    transfer_syntax: String,
}

/// The same object: identical data set bytes, or the same attributes re-encoded in another
/// syntax. Bytes are compared only here, when a known UID arrives again (rare), so the
/// ingest path never hashes whole data sets.
fn is_same_object(archive: &ArchiveFolder, existing: &Existing, new: &NewInstance) -> bool {
    if existing.transfer_syntax != new.transfer_syntax {
        return !existing.header_hash.is_empty() && existing.header_hash == new.header_hash;
    }
    let dataset = |rel: &str| -> Option<Vec<u8>> {
        let bytes = archive.get(rel).ok()?;
        let offset = crate::dicom::scu::dataset_offset(&bytes)?;
        Some(bytes[offset..].to_vec())
    };
    match (dataset(&existing.file_path), dataset(&new.file_path)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn decide_and_index(
    archive: &ArchiveFolder,
    store: &mut Store,
    batch: &[IndexJob],
) -> Result<Vec<IndexVerdict>, StoreError> {
    let mut verdicts: Vec<Option<IndexVerdict>> = Vec::with_capacity(batch.len());
    let mut to_insert = Vec::new();
    let mut seen_in_batch = std::collections::HashMap::new();
    for (i, job) in batch.iter().enumerate() {
        let inst = &job.instance;
        let existing = store.instance_by_sop_uid(&inst.sop_uid)?.map(|e| Existing {
            series_uid: e.series_uid,
            study_uid: e.study_uid,
            file_path: e.file_path,
            header_hash: e.header_hash,
            transfer_syntax: e.transfer_syntax,
        });
        let existing = existing.or_else(|| {
            seen_in_batch.get(&inst.sop_uid).map(|j: &usize| {
                let other = &batch[*j].instance;
                Existing {
                    series_uid: other.series_uid.clone(),
                    study_uid: other.study_uid.clone(),
                    file_path: other.file_path.clone(),
                    header_hash: other.header_hash.clone(),
                    transfer_syntax: other.transfer_syntax.clone(),
                }
            })
        });
        verdicts.push(match existing {
            Some(e) if e.series_uid != inst.series_uid || e.study_uid != inst.study_uid => {
                Some(IndexVerdict::KnownElsewhere {
                    series_uid: e.series_uid,
                    study_uid: e.study_uid,
                })
            }
            Some(e) if is_same_object(archive, &e, inst) => Some(IndexVerdict::Duplicate),
            Some(_) => Some(IndexVerdict::Conflict),
            None => {
                seen_in_batch.insert(inst.sop_uid.clone(), i);
                to_insert.push((i, inst.clone()));
                None
            }
        });
    }
    let rows: Vec<NewInstance> = to_insert.iter().map(|(_, inst)| inst.clone()).collect();
    let outcomes = store.index_instances(&rows)?;
    tell_the_ris(store, &rows);
    for ((i, inst), outcome) in to_insert.iter().zip(outcomes) {
        verdicts[*i] = Some(match outcome {
            Ok(_) => IndexVerdict::Inserted,
            Err(IndexConflict::SeriesInOtherStudy { existing_study }) => {
                IndexVerdict::SeriesElsewhere {
                    series_uid: inst.series_uid.clone(),
                    existing_study,
                }
            }
        });
    }
    Ok(verdicts
        .into_iter()
        .map(|v| v.unwrap_or(IndexVerdict::Inserted))
        .collect())
}

/// Hands each study's first arrival to the RIS, which matches it to its order or queues it
/// for reconciliation. The images are already safe: a RIS failure is logged, never a store
/// failure.
fn tell_the_ris(store: &mut Store, rows: &[NewInstance]) {
    let mut studies = std::collections::HashSet::new();
    for inst in rows {
        if !studies.insert(inst.study_uid.as_str()) {
            continue;
        }
        let arrival = crate::ris::arrival::Arrival {
            study_uid: inst.study_uid.clone(),
            accession: inst.accession.clone(),
            patient_id: inst.patient_id.clone(),
            issuer: inst.issuer.clone(),
            patient_name: inst.patient_name.clone(),
            birth_date: inst.birth_date.clone(),
            sender: inst.received_from.clone(),
        };
        if let Err(e) = crate::ris::arrival::images_arrived(store, &arrival) {
            tracing::error!(study = %inst.study_uid, error = %e, "could not match the study to an order");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(uid: &str) -> &'static dicom_encoding::TransferSyntax {
        TransferSyntaxRegistry.get(uid).expect("known syntax")
    }

    #[test]
    fn pixel_data_split_finds_native_pixel_data_and_refuses_lookalikes() {
        // Explicit VR LE: (0010,0010) PN "A^B", then (7FE0,0010) OW with 4 bytes.
        let mut ds = vec![
            0x10, 0x00, 0x10, 0x00, b'P', b'N', 4, 0, b'A', b'^', b'B', b' ',
        ];
        let start = ds.len();
        ds.extend_from_slice(&[
            0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0, 4, 0, 0, 0, 1, 2, 3, 4,
        ]);
        assert_eq!(
            pixel_data_offset(&ds, ts("1.2.840.10008.1.2.1")),
            Some(start)
        );
        // A length that does not reach the end exactly is not trusted.
        let mut bad = ds.clone();
        bad.push(9);
        assert_eq!(pixel_data_offset(&bad, ts("1.2.840.10008.1.2.1")), None);
        // Deflated data sets are never split.
        assert_eq!(pixel_data_offset(&ds, ts("1.2.840.10008.1.2.1.99")), None);
    }
}
