//! Where a received DICOM object becomes an archived, indexed instance.
//!
//! Both C-STORE and `lightbox import` come through here. The order is the durability
//! contract: parse and validate → write the file (temp, then rename) → commit the index
//! row → only then answer the sender. Index writes from every association go through one
//! writer thread that commits them in batches (group commit).

use std::path::Path;

use tokio::sync::oneshot;

use super::{ArchiveError, ArchiveFolder};
use crate::health::{HealthBoard, supervise_thread};

/// The index writer's name in the health records.
pub const INDEX_WRITER_SERVICE: &str = "index-writer";
use crate::store::index::{IndexConflict, NewInstance};
use crate::store::{Store, StoreError};

pub use lightbox_codec::uids::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION};

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
        let (prepared, tolerated) =
            tokio::task::block_in_place(|| super::prepare::prepare(&self.archive, object))?;
        self.index(prepared, tolerated).await
    }

    /// Archives an object that was streamed into a `.part` file as it arrived (see
    /// [`super::part`]): same checks and the same guarantee as [`Ingest::ingest`].
    pub async fn ingest_part(&self, part: super::part::PartFile) -> Result<Ingested, IngestError> {
        let (prepared, tolerated) =
            tokio::task::block_in_place(|| super::prepare::prepare_part(&self.archive, part))?;
        self.index(prepared, tolerated).await
    }

    /// The blocking form of [`Ingest::ingest_part`], for the importer.
    pub fn ingest_part_blocking(
        &self,
        part: super::part::PartFile,
    ) -> Result<Ingested, IngestError> {
        let (prepared, tolerated) = super::prepare::prepare_part(&self.archive, part)?;
        self.index_blocking(prepared, tolerated)
    }

    /// The blocking form of [`Ingest::ingest`], for the importer and tests.
    pub fn ingest_blocking(&self, object: ReceivedObject) -> Result<Ingested, IngestError> {
        let (prepared, tolerated) = super::prepare::prepare(&self.archive, object)?;
        self.index_blocking(prepared, tolerated)
    }

    fn index_blocking(
        &self,
        prepared: NewInstance,
        tolerated: Vec<String>,
    ) -> Result<Ingested, IngestError> {
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
    // Compared piece by piece from each file's data set on: a 2 GB duplicate costs two
    // buffers, not two copies in memory.
    let open = |rel: &str| -> Option<(std::io::BufReader<std::fs::File>, u64)> {
        use std::io::{Read, Seek, SeekFrom};
        let path = archive.path_of(rel).ok()?;
        let mut file = std::fs::File::open(path).ok()?;
        let mut head = vec![0u8; 144];
        file.read_exact(&mut head).ok()?;
        let group_len = u32::from_le_bytes([head[140], head[141], head[142], head[143]]);
        if head.get(128..132) != Some(b"DICM".as_slice()) {
            return None;
        }
        let offset = 144 + u64::from(group_len);
        let len = file.metadata().ok()?.len().checked_sub(offset)?;
        file.seek(SeekFrom::Start(offset)).ok()?;
        Some((std::io::BufReader::with_capacity(1 << 16, file), len))
    };
    let (Some((mut a, a_len)), Some((mut b, b_len))) =
        (open(&existing.file_path), open(&new.file_path))
    else {
        return false;
    };
    if a_len != b_len {
        return false;
    }
    use std::io::Read;
    let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    let mut left = a_len;
    while left > 0 {
        let n = (left.min(x.len() as u64)) as usize;
        let (Some(xs), Some(ys)) = (x.get_mut(..n), y.get_mut(..n)) else {
            return false;
        };
        if a.read_exact(xs).is_err() || b.read_exact(ys).is_err() || xs != ys {
            return false;
        }
        left -= n as u64;
    }
    true
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
