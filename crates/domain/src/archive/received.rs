//! An object as it reaches the archive, and what became of it: the types every way in
//! (C-STORE, C-GET, import, objects Lightbox makes) and the ingest service share.

use super::ArchiveError;
use crate::store::StoreError;

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

/// Where objects Lightbox makes itself (key image selections, presentation states) are
/// archived: the ingest service, installed at wiring time, so they are indexed like any other.
pub trait ObjectArchiver {
    /// Archives one object; returns only once it is indexed.
    fn archive_object(&self, object: ReceivedObject) -> Result<Ingested, IngestError>;
}
