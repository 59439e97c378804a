//! Where a received DICOM object becomes an archived, indexed instance.
//!
//! Both C-STORE and `lightbox import` come through here. The order is the durability
//! contract: parse and validate → write the file (temp, then rename) → commit the index
//! row → only then answer the sender. Index writes from every association go through one
//! writer thread that commits them in batches (group commit).

use std::path::Path;

use tokio::sync::oneshot;

use super::ArchiveFolder;
use crate::health::{HealthBoard, supervise_thread};

/// The index writer's name in the health records.
pub const INDEX_WRITER_SERVICE: &str = "index-writer";
use crate::store::index::NewInstance;
use crate::store::{Store, StoreError};

pub use super::index::IndexVerdict;
pub use super::received::{IngestError, Ingested, ObjectArchiver, ReceivedObject};
pub use lightbox_codec::uids::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION};

struct IndexJob {
    instance: NewInstance,
    reply: oneshot::Sender<Result<IndexVerdict, String>>,
}

/// The ingest service: validates, writes and indexes. Clone it into every association.
#[derive(Clone)]
pub struct Ingest {
    archive: ArchiveFolder,
    jobs: tokio::sync::mpsc::Sender<IndexJob>,
}

impl ObjectArchiver for Ingest {
    fn archive_object(&self, object: ReceivedObject) -> Result<Ingested, IngestError> {
        self.ingest_blocking(object)
    }
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
        let instances: Vec<NewInstance> = batch.iter().map(|j| j.instance.clone()).collect();
        match super::index::decide_and_index(archive, store, &instances) {
            Ok((verdicts, inserted)) => {
                tell_the_ris(store, &inserted);
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
