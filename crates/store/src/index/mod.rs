//! The archive index: patients, studies, series and instances as the PACS knows them.
//!
//! Rows are written by the ingest path (`archive::ingest`) and read by C-FIND, C-MOVE/C-GET,
//! the study browser and the CLI. Matching rules (wildcards, ranges, UID lists) are decided
//! by `pacs::query`; this module only turns them into SQL.

use rusqlite::{OptionalExtension, params, params_from_iter, types::Value};

use super::{SqlContext, Store, StoreResult};

mod query;

/// Everything the index records about one received object.
#[derive(Debug, Clone, Default)]
pub struct NewInstance {
    /// Patient ID (0010,0020).
    pub patient_id: String,
    /// Issuer of Patient ID (0010,0021); two patients may share an ID from different issuers.
    pub issuer: String,
    /// Patient's Name (0010,0010) as received.
    pub patient_name: String,
    /// Patient's Birth Date (0010,0030).
    pub birth_date: String,
    /// Patient's Sex (0010,0040).
    pub sex: String,
    /// Study Instance UID (0020,000D).
    pub study_uid: String,
    /// Study Date (0008,0020).
    pub study_date: String,
    /// Study Time (0008,0030).
    pub study_time: String,
    /// Accession Number (0008,0050): the RIS's handle on the exam.
    pub accession: String,
    /// Study ID (0020,0010).
    pub study_id: String,
    /// Study Description (0008,1030).
    pub study_description: String,
    /// Referring Physician's Name (0008,0090).
    pub referring: String,
    /// Series Instance UID (0020,000E).
    pub series_uid: String,
    /// Modality (0008,0060).
    pub modality: String,
    /// Series Number (0020,0011).
    pub series_number: String,
    /// Series Description (0008,103E).
    pub series_description: String,
    /// Body Part Examined (0018,0015).
    pub body_part: String,
    /// SOP Instance UID (0008,0018).
    pub sop_uid: String,
    /// SOP Class UID (0008,0016).
    pub sop_class: String,
    /// Instance Number (0020,0013).
    pub instance_number: String,
    /// Path of the file relative to the archive folder.
    pub file_path: String,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Transfer syntax the object is stored in (as received).
    pub transfer_syntax: String,
    /// Hash of the attributes without pixel data, re-encoded canonically: the same object
    /// received in another transfer syntax has the same header hash.
    pub header_hash: String,
    /// Calling AE title of the sender, or `import`.
    pub received_from: String,
}

/// An instance already in the index, as the ingest path needs it for duplicate checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingInstance {
    /// Internal row id.
    pub row: i64,
    /// Its series.
    pub series_uid: String,
    /// Its study.
    pub study_uid: String,
    /// Its file, relative to the archive (compared byte for byte when a duplicate arrives).
    pub file_path: String,
    /// The stored header hash.
    pub header_hash: String,
    /// The stored transfer syntax.
    pub transfer_syntax: String,
}

/// Why an instance could not be indexed although it parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexConflict {
    /// The series is already known under another study.
    SeriesInOtherStudy {
        /// The study the series belongs to in the index.
        existing_study: String,
    },
}

/// A query level of the DICOM information model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Level {
    /// PATIENT
    Patient,
    /// STUDY
    Study,
    /// SERIES
    Series,
    /// IMAGE (instance)
    Image,
}

impl Level {
    fn depth(self) -> u8 {
        match self {
            Level::Patient => 0,
            Level::Study => 1,
            Level::Series => 2,
            Level::Image => 3,
        }
    }
}

/// A column of the index that a query may match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Column {
    /// Patient ID
    PatientId,
    /// Issuer of Patient ID
    Issuer,
    /// Patient's Name
    PatientName,
    /// Patient's Birth Date
    BirthDate,
    /// Patient's Sex
    Sex,
    /// Study Instance UID
    StudyUid,
    /// Study Date
    StudyDate,
    /// Study Time
    StudyTime,
    /// Accession Number
    Accession,
    /// Study ID
    StudyId,
    /// Study Description
    StudyDescription,
    /// Referring Physician's Name
    Referring,
    /// Series Instance UID
    SeriesUid,
    /// Modality (also answers Modalities in Study)
    Modality,
    /// Series Number
    SeriesNumber,
    /// Series Description
    SeriesDescription,
    /// Body Part Examined
    BodyPart,
    /// SOP Instance UID
    SopUid,
    /// SOP Class UID
    SopClass,
    /// Instance Number
    InstanceNumber,
}

impl Column {
    fn sql(self) -> &'static str {
        match self {
            Column::PatientId => "p.patient_id",
            Column::Issuer => "p.issuer",
            Column::PatientName => "p.name",
            Column::BirthDate => "p.birth_date",
            Column::Sex => "p.sex",
            Column::StudyUid => "st.study_uid",
            Column::StudyDate => "st.study_date",
            Column::StudyTime => "st.study_time",
            Column::Accession => "st.accession",
            Column::StudyId => "st.study_id",
            Column::StudyDescription => "st.description",
            Column::Referring => "st.referring",
            Column::SeriesUid => "se.series_uid",
            Column::Modality => "se.modality",
            Column::SeriesNumber => "se.series_number",
            Column::SeriesDescription => "se.description",
            Column::BodyPart => "se.body_part",
            Column::SopUid => "i.sop_uid",
            Column::SopClass => "i.sop_class",
            Column::InstanceNumber => "i.instance_number",
        }
    }

    fn level(self) -> Level {
        match self {
            Column::PatientId
            | Column::Issuer
            | Column::PatientName
            | Column::BirthDate
            | Column::Sex => Level::Patient,
            Column::StudyUid
            | Column::StudyDate
            | Column::StudyTime
            | Column::Accession
            | Column::StudyId
            | Column::StudyDescription
            | Column::Referring => Level::Study,
            Column::SeriesUid
            | Column::Modality
            | Column::SeriesNumber
            | Column::SeriesDescription
            | Column::BodyPart => Level::Series,
            Column::SopUid | Column::SopClass | Column::InstanceNumber => Level::Image,
        }
    }
}

/// How one column must match. Built by `pacs::query` from a DICOM identifier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Matcher {
    /// Exactly this value.
    Exact(String),
    /// A SQLite GLOB pattern (already escaped); `case_insensitive` for person names.
    Glob {
        /// The pattern.
        pattern: String,
        /// Compare upper-cased values (PN matching is commonly case-insensitive).
        case_insensitive: bool,
    },
    /// Between two values inclusive; an empty bound is open (dates and times).
    Range(String, String),
    /// Any one of these values (UID lists).
    AnyOf(Vec<String>),
}

/// One condition of a query.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Condition {
    /// The column.
    pub column: Column,
    /// How it must match.
    pub matcher: Matcher,
}

/// A row of a query answer, at any level; fields above the level are filled, below are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexRow {
    /// Patient ID
    pub patient_id: String,
    /// Issuer of Patient ID
    pub issuer: String,
    /// Patient's Name
    pub patient_name: String,
    /// Birth date
    pub birth_date: String,
    /// Sex
    pub sex: String,
    /// Study Instance UID
    pub study_uid: String,
    /// Study Date
    pub study_date: String,
    /// Study Time
    pub study_time: String,
    /// Accession Number
    pub accession: String,
    /// Study ID
    pub study_id: String,
    /// Study Description
    pub study_description: String,
    /// Referring Physician's Name
    pub referring: String,
    /// Series Instance UID
    pub series_uid: String,
    /// Modality
    pub modality: String,
    /// Series Number
    pub series_number: String,
    /// Series Description
    pub series_description: String,
    /// Body Part Examined
    pub body_part: String,
    /// SOP Instance UID
    pub sop_uid: String,
    /// SOP Class UID
    pub sop_class: String,
    /// Instance Number
    pub instance_number: String,
    /// Stored transfer syntax (image level)
    pub transfer_syntax: String,
    /// File path relative to the archive (image level)
    pub file_path: String,
    /// Modalities in Study, backslash separated (study and patient level)
    pub modalities_in_study: String,
    /// Number of related studies (patient level)
    pub related_studies: i64,
    /// Number of related series (patient and study level)
    pub related_series: i64,
    /// Number of related instances (patient, study and series level)
    pub related_instances: i64,
}

impl Store {
    /// Looks an instance up by SOP Instance UID.
    pub fn instance_by_sop_uid(&self, sop_uid: &str) -> StoreResult<Option<ExistingInstance>> {
        self.cached_query_row(
                "SELECT i.id, se.series_uid, st.study_uid, i.file_path, i.header_hash, i.transfer_syntax
                 FROM instances i JOIN series se ON se.id = i.series_row
                 JOIN studies st ON st.id = se.study_row WHERE i.sop_uid = ?1",
                [sop_uid],
                |r| {
                    Ok(ExistingInstance {
                        row: r.get(0)?,
                        series_uid: r.get(1)?,
                        study_uid: r.get(2)?,
                        file_path: r.get(3)?,
                        header_hash: r.get(4)?,
                        transfer_syntax: r.get(5)?,
                    })
                },
            )
            .optional()
            .ctx("looking up an instance")
    }

    /// Indexes a batch of new instances in one transaction, returning each one's outcome.
    /// One transaction per batch lets many associations share a commit (group commit).
    pub fn index_instances(
        &mut self,
        batch: &[NewInstance],
    ) -> StoreResult<Vec<Result<i64, IndexConflict>>> {
        let tx = self.conn.savepoint().ctx("starting an index transaction")?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for inst in batch {
            outcomes.push(index_one(&tx, inst)?);
        }
        tx.commit().ctx("committing indexed instances")?;
        Ok(outcomes)
    }

    /// Instances whose files have not yet been fsynced, oldest first.
    pub fn instances_not_durable(&self, limit: usize) -> StoreResult<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, file_path FROM instances WHERE durable = 0 ORDER BY id LIMIT ?1",
            )
            .ctx("preparing the durability scan")?;
        let rows = stmt
            .query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .ctx("scanning for files to sync")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading files to sync")
    }

    /// Every instance not yet durable, with its recorded file size (crash recovery).
    pub fn instances_not_durable_with_size(&self) -> StoreResult<Vec<(i64, String, u64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, file_path, file_size FROM instances WHERE durable = 0")
            .ctx("scanning unsynced instances")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
            })
            .ctx("scanning unsynced instances")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading unsynced instances")
    }

    /// Removes instance rows (crash recovery only).
    pub fn remove_instances(&mut self, rows: &[i64]) -> StoreResult<()> {
        let tx = self.conn.savepoint().ctx("starting a removal")?;
        for row in rows {
            tx.execute("DELETE FROM instances WHERE id = ?1", [row])
                .ctx("removing an instance row")?;
        }
        tx.commit().ctx("committing a removal")
    }

    /// Records that these instances' files and index rows are on stable storage.
    pub fn mark_durable(&mut self, rows: &[i64]) -> StoreResult<()> {
        let tx = self.conn.savepoint().ctx("starting a durability update")?;
        {
            let mut stmt = tx
                .prepare_cached("UPDATE instances SET durable = 1 WHERE id = ?1")
                .ctx("preparing a durability update")?;
            for row in rows {
                stmt.execute([row]).ctx("marking an instance durable")?;
            }
        }
        tx.commit().ctx("committing a durability update")
    }

    /// Whether an instance is on stable storage (what Storage Commitment promises).
    /// `None` when the index does not know the instance.
    pub fn instance_is_durable(&self, sop_uid: &str, sop_class: &str) -> StoreResult<Option<bool>> {
        self.cached_query_row(
            "SELECT durable FROM instances WHERE sop_uid = ?1 AND sop_class = ?2",
            [sop_uid, sop_class],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map(|v| v.map(|d| d != 0))
        .ctx("checking an instance's durability")
    }

    /// Number of instances in the archive.
    pub fn instance_count(&self) -> StoreResult<i64> {
        self.cached_query_row("SELECT COUNT(*) FROM instances", [], |r| r.get(0))
            .ctx("counting instances")
    }

    /// Every stored file path, for consistency checks.
    pub fn all_file_paths(&self) -> StoreResult<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT file_path FROM instances ORDER BY id")
            .ctx("listing files")?;
        let rows = stmt.query_map([], |r| r.get(0)).ctx("listing files")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("listing files")
    }
}

fn index_one(
    tx: &rusqlite::Connection,
    inst: &NewInstance,
) -> StoreResult<Result<i64, IndexConflict>> {
    // Patient: identified by (ID, issuer). Demographics are kept from the first arrival;
    // disagreements are the reconciliation queue's business (RIS lane), never overwritten here.
    ensure_index_patient(
        tx,
        (
            &inst.patient_id,
            &inst.issuer,
            &inst.patient_name,
            &inst.birth_date,
            &inst.sex,
        ),
    )?;
    let patient_row: i64 = query_one(
        tx,
        "SELECT id FROM patients WHERE patient_id = ?1 AND issuer = ?2",
        params![inst.patient_id, inst.issuer],
        |r| r.get(0),
    )
    .ctx("finding a patient")?;

    exec(
        tx,
        "INSERT INTO studies (patient_row, study_uid, study_date, study_time, accession, study_id, description, referring)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (study_uid) DO NOTHING",
        params![
            patient_row,
            inst.study_uid,
            inst.study_date,
            inst.study_time,
            inst.accession,
            inst.study_id,
            inst.study_description,
            inst.referring
        ],
    )
    .ctx("indexing a study")?;
    let study_row: i64 = query_one(
        tx,
        "SELECT id FROM studies WHERE study_uid = ?1",
        [&inst.study_uid],
        |r| r.get(0),
    )
    .ctx("finding a study")?;

    let existing_series: Option<(i64, String)> = query_one(
            tx,
            "SELECT se.id, st.study_uid FROM series se JOIN studies st ON st.id = se.study_row WHERE se.series_uid = ?1",
            [&inst.series_uid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx("finding a series")?;
    let series_row = match existing_series {
        Some((row, study_uid)) if study_uid == inst.study_uid => row,
        Some((_, study_uid)) => {
            return Ok(Err(IndexConflict::SeriesInOtherStudy {
                existing_study: study_uid,
            }));
        }
        None => {
            exec(
        tx,
                "INSERT INTO series (study_row, series_uid, modality, series_number, description, body_part)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    study_row,
                    inst.series_uid,
                    inst.modality,
                    inst.series_number,
                    inst.series_description,
                    inst.body_part
                ],
            )
            .ctx("indexing a series")?;
            tx.last_insert_rowid()
        }
    };
    exec(
        tx,
        "INSERT INTO instances (series_row, sop_uid, sop_class, instance_number, file_path, file_size,
                                transfer_syntax, header_hash, received_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            series_row,
            inst.sop_uid,
            inst.sop_class,
            inst.instance_number,
            inst.file_path,
            inst.file_size as i64,
            inst.transfer_syntax,
            inst.header_hash,
            inst.received_from
        ],
    )
    .ctx("indexing an instance")?;
    Ok(Ok(tx.last_insert_rowid()))
}

/// Executes a statement through the connection's statement cache (the index writer runs the
/// same few statements for every instance).
fn exec(
    tx: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

/// A patient as the archive index keys it: (Patient ID, issuer, name, birth date, sex).
pub type IndexPatient<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

/// Adds the index's patient row for (ID, issuer) unless it exists; demographics are kept from
/// the first time the patient was indexed.
fn ensure_index_patient(tx: &rusqlite::Connection, patient: IndexPatient<'_>) -> StoreResult<()> {
    let (patient_id, issuer, name, birth_date, sex) = patient;
    exec(
        tx,
        "INSERT INTO patients (patient_id, issuer, name, birth_date, sex, name_folded)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (patient_id, issuer) DO NOTHING",
        params![patient_id, issuer, name, birth_date, sex, crate::fold(name)],
    )
    .ctx("indexing a patient")?;
    Ok(())
}

/// Runs a one-row query through the statement cache.
fn query_one<T>(
    tx: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    tx.prepare_cached(sql)?.query_row(params, f)
}

/// One archived instance of a study: row id and file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyInstance {
    /// Row id.
    pub row: i64,
    /// File path inside the archive.
    pub file_path: String,
}

impl Store {
    /// Every instance of a study.
    pub fn study_instances(&self, study_uid: &str) -> StoreResult<Vec<StudyInstance>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT i.id, i.file_path FROM instances i
                 JOIN series se ON se.id = i.series_row
                 JOIN studies st ON st.id = se.study_row
                 WHERE st.study_uid = ?1 ORDER BY i.id",
            )
            .ctx("preparing a study's instances")?;
        let rows = stmt
            .query_map([study_uid], |r| {
                Ok(StudyInstance {
                    row: r.get(0)?,
                    file_path: r.get(1)?,
                })
            })
            .ctx("reading a study's instances")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading a study's instances")
    }

    /// Points an instance at its rewritten (already durable) file.
    pub fn replace_instance_file(
        &self,
        row: i64,
        file_path: &str,
        file_size: u64,
    ) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE instances SET file_path = ?2, file_size = ?3, durable = 1 WHERE id = ?1",
            params![row, file_path, file_size as i64],
        )
        .ctx("pointing an instance at its rewritten file")?;
        Ok(())
    }

    /// Moves a study to another patient (by ID and issuer, created if new), with a new
    /// accession when one is given.
    pub fn relink_study(
        &mut self,
        study_uid: &str,
        patient: IndexPatient<'_>,
        accession: Option<&str>,
    ) -> StoreResult<()> {
        let tx = self.conn.savepoint().ctx("starting a study relink")?;
        ensure_index_patient(&tx, patient)?;
        exec(
            &tx,
            "UPDATE studies SET accession = COALESCE(?2, accession),
                patient_row = (SELECT id FROM patients WHERE patient_id = ?3 AND issuer = ?4)
             WHERE study_uid = ?1",
            params![study_uid, accession, patient.0, patient.1],
        )
        .ctx("relinking a study")?;
        tx.commit().ctx("committing a study relink")
    }
}

impl Store {
    /// Moves a series into another study (created for the given patient and accession when new,
    /// with the source study's date and time), as a split in reconciliation does.
    pub fn move_series_to_study(
        &mut self,
        series_uid: &str,
        study_uid: &str,
        patient: IndexPatient<'_>,
        accession: &str,
    ) -> StoreResult<()> {
        let (patient_id, issuer) = (patient.0, patient.1);
        let tx = self.conn.savepoint().ctx("starting a series move")?;
        ensure_index_patient(&tx, patient)?;
        exec(
            &tx,
            "INSERT INTO studies (patient_row, study_uid, study_date, study_time, accession)
             SELECT (SELECT id FROM patients WHERE patient_id = ?2 AND issuer = ?3), ?1,
                    src.study_date, src.study_time, ?4
             FROM series se JOIN studies src ON src.id = se.study_row
             WHERE se.series_uid = ?5
             ON CONFLICT (study_uid) DO NOTHING",
            params![study_uid, patient_id, issuer, accession, series_uid],
        )
        .ctx("creating the split's study")?;
        let moved = exec(
            &tx,
            "UPDATE series SET study_row = (SELECT id FROM studies WHERE study_uid = ?2)
             WHERE series_uid = ?1",
            params![series_uid, study_uid],
        )
        .ctx("moving a series")?;
        if moved == 0 {
            return Err(super::StoreError::NotFound(format!("series {series_uid}")));
        }
        tx.commit().ctx("committing a series move")
    }

    /// Instances of one series: row id and file.
    pub fn series_instances(&self, series_uid: &str) -> StoreResult<Vec<StudyInstance>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT i.id, i.file_path FROM instances i JOIN series se ON se.id = i.series_row
                 WHERE se.series_uid = ?1 ORDER BY i.id",
            )
            .ctx("preparing a series' instances")?;
        let rows = stmt
            .query_map([series_uid], |r| {
                Ok(StudyInstance {
                    row: r.get(0)?,
                    file_path: r.get(1)?,
                })
            })
            .ctx("reading a series' instances")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading a series' instances")
    }
}
