//! Report, template, charge and reading-worklist tables.

use rusqlite::{OptionalExtension, params};

use super::{SqlContext, Store, StoreError, StoreResult};

/// A report or addendum.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportRecord {
    /// Row id.
    pub id: i64,
    /// Its order.
    pub order_id: i64,
    /// report or addendum.
    pub kind: String,
    /// draft, preliminary or final.
    pub status: String,
    /// Text.
    pub body: String,
    /// Critical result flagged.
    pub critical: bool,
    /// Who wrote it.
    pub author: String,
    /// Who signed it (preliminary or final).
    pub signer: String,
    /// When (UTC).
    pub signed_at: String,
}

/// One saved state of a report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReportVersion {
    /// Status then.
    pub status: String,
    /// Text then.
    pub body: String,
    /// Critical then.
    pub critical: bool,
    /// By whom.
    pub changed_by: String,
    /// When.
    pub changed_at: String,
}

/// A charge for a performed procedure.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChargeRecord {
    /// Row id.
    pub id: i64,
    /// Accession of the exam.
    pub accession: String,
    /// CPT code.
    pub cpt: String,
    /// Modifiers.
    pub modifiers: String,
    /// ICD-10 codes ('~'-separated).
    pub icd10: String,
    /// Units.
    pub units: i64,
    /// Amount in cents.
    pub amount_cents: i64,
    /// Payer.
    pub payer: String,
    /// pending, reviewed or billed.
    pub status: String,
}

/// A line of the reading worklist.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadingRow {
    /// Accession.
    pub accession: String,
    /// Exam status (completed or preliminary).
    pub status: String,
    /// Priority.
    pub priority: String,
    /// When the images were complete.
    pub completed_at: String,
    /// Procedure code.
    pub procedure_code: String,
    /// Modality of the procedure.
    pub modality: String,
    /// Patient MRN.
    pub mrn: String,
    /// Referring physician row.
    pub referring: Option<i64>,
    /// Assigned radiologist login ('' if none).
    pub assigned_radiologist: String,
    /// Study Instance UID.
    pub study_uid: String,
    /// The patient's family name.
    pub family_name: String,
    /// The patient's given name.
    pub given_name: String,
    /// The patient's birth date (YYYY-MM-DD or empty).
    pub birth_date: String,
    /// The patient's sex (F, M, O, U).
    pub sex: String,
    /// The procedure's name in the catalogue ('' if the code is not there).
    pub procedure_name: String,
    /// The patient's alerts and allergies.
    pub alerts: String,
    /// The patient's pregnancy status.
    pub pregnancy: String,
}

/// Who an exam is for and what it is, for list rows that stand for exams (order lists, the
/// waiting list, billing): the patient's name, birth date and sex, and the procedure's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExamSubject {
    /// Accession.
    pub accession: String,
    /// The patient's MRN ('' when the order has no patient yet).
    pub mrn: String,
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// YYYY-MM-DD or empty.
    pub birth_date: String,
    /// F, M, O, U.
    pub sex: String,
    /// The procedure's name in the catalogue ('' if the code is not there).
    pub procedure_name: String,
}

/// A critical result told to someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriticalCommunication {
    /// The report it belongs to.
    pub report_id: i64,
    /// Who was told ("Dr Linda Hart, referrer").
    pub told_to: String,
    /// How: phone, in person, secure message, fax.
    pub method: String,
    /// When (UTC, ISO 8601).
    pub told_at: String,
    /// Who told them (a login).
    pub recorded_by: String,
}

const REPORT_COLUMNS: &str =
    "id, order_id, kind, status, body, critical, author, signer, signed_at";

fn report_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportRecord> {
    Ok(ReportRecord {
        id: r.get(0)?,
        order_id: r.get(1)?,
        kind: r.get(2)?,
        status: r.get(3)?,
        body: r.get(4)?,
        critical: r.get(5)?,
        author: r.get(6)?,
        signer: r.get(7)?,
        signed_at: r.get(8)?,
    })
}

impl Store {
    /// Adds or replaces a report template.
    pub fn put_report_template(&self, modality: &str, name: &str, body: &str) -> StoreResult<()> {
        self.cached_execute(
            "INSERT INTO report_templates (modality, name, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (modality, name) DO UPDATE SET body = excluded.body",
            params![modality, name, body],
        )
        .ctx("saving a report template")?;
        Ok(())
    }

    /// Adds a template unless one with that modality and name exists (keeps local edits).
    pub fn add_report_template_if_missing(
        &self,
        modality: &str,
        name: &str,
        body: &str,
    ) -> StoreResult<()> {
        self.cached_execute(
            "INSERT INTO report_templates (modality, name, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (modality, name) DO NOTHING",
            params![modality, name, body],
        )
        .ctx("adding a report template")?;
        Ok(())
    }

    /// The template for a modality (falling back to the one for any modality).
    pub fn report_template(&self, modality: &str) -> StoreResult<Option<String>> {
        self.cached_query_row(
            "SELECT body FROM report_templates WHERE modality IN (?1, '')
                 ORDER BY modality = '' LIMIT 1",
            [modality],
            |r| r.get(0),
        )
        .optional()
        .ctx("reading a report template")
    }

    /// Creates a report (and its first version) in one transaction.
    pub fn insert_report(
        &mut self,
        order_id: i64,
        kind: &str,
        body: &str,
        author: &str,
    ) -> StoreResult<i64> {
        let tx = self.conn.savepoint().ctx("starting a report")?;
        super::exec_cached(&tx,
            "INSERT INTO reports (order_id, kind, status, body, author) VALUES (?1, ?2, 'draft', ?3, ?4)",
            params![order_id, kind, body, author],
        )
        .ctx("creating a report")?;
        let id = tx.last_insert_rowid();
        super::exec_cached(
            &tx,
            "INSERT INTO report_versions (report_id, status, body, critical, changed_by)
             VALUES (?1, 'draft', ?2, 0, ?3)",
            params![id, body, author],
        )
        .ctx("recording the report's first version")?;
        tx.commit().ctx("committing a report")?;
        Ok(id)
    }

    /// Saves a report's new state and its version in one transaction.
    pub fn save_report(&mut self, report: &ReportRecord, changed_by: &str) -> StoreResult<()> {
        let tx = self.conn.savepoint().ctx("starting a report change")?;
        let n = tx
            .execute(
                "UPDATE reports SET status = ?2, body = ?3, critical = ?4, signer = ?5,
                    signed_at = ?6 WHERE id = ?1",
                params![
                    report.id,
                    report.status,
                    report.body,
                    report.critical,
                    report.signer,
                    report.signed_at
                ],
            )
            .ctx("saving a report")?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("report {}", report.id)));
        }
        super::exec_cached(
            &tx,
            "INSERT INTO report_versions (report_id, status, body, critical, changed_by)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                report.id,
                report.status,
                report.body,
                report.critical,
                changed_by
            ],
        )
        .ctx("recording a report version")?;
        tx.commit().ctx("committing a report change")
    }

    /// A report by id.
    pub fn report(&self, id: i64) -> StoreResult<ReportRecord> {
        self.cached_query_row(
            &format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = ?1"),
            [id],
            report_from_row,
        )
        .optional()
        .ctx("reading a report")?
        .ok_or_else(|| StoreError::NotFound(format!("report {id}")))
    }

    /// An order's reports and addenda, oldest first.
    pub fn reports_of_order(&self, order_id: i64) -> StoreResult<Vec<ReportRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {REPORT_COLUMNS} FROM reports WHERE order_id = ?1 ORDER BY id"
            ))
            .ctx("preparing reports")?;
        let rows = stmt
            .query_map([order_id], report_from_row)
            .ctx("reading reports")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading reports")
    }

    /// A report's versions, oldest first.
    pub fn report_versions(&self, report_id: i64) -> StoreResult<Vec<ReportVersion>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT status, body, critical, changed_by, changed_at FROM report_versions
                 WHERE report_id = ?1 ORDER BY id",
            )
            .ctx("preparing report versions")?;
        let rows = stmt
            .query_map([report_id], |r| {
                Ok(ReportVersion {
                    status: r.get(0)?,
                    body: r.get(1)?,
                    critical: r.get(2)?,
                    changed_by: r.get(3)?,
                    changed_at: r.get(4)?,
                })
            })
            .ctx("reading report versions")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading report versions")
    }

    /// Creates an order's charge unless it has one; true if created.
    pub fn insert_charge(
        &self,
        order_id: i64,
        cpt: &str,
        icd10: &str,
        amount_cents: i64,
        payer: &str,
    ) -> StoreResult<bool> {
        let n = self
            .conn
            .execute(
                "INSERT INTO charges (order_id, cpt, icd10, amount_cents, payer)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (order_id) DO NOTHING",
                params![order_id, cpt, icd10, amount_cents, payer],
            )
            .ctx("creating a charge")?;
        Ok(n == 1)
    }

    /// Charges in a status (all when None), oldest first.
    pub fn charges(&self, status: Option<&str>) -> StoreResult<Vec<ChargeRecord>> {
        self.charges_where(status, None)
    }

    /// One charge by row id.
    pub fn charge(&self, id: i64) -> StoreResult<Option<ChargeRecord>> {
        Ok(self.charges_where(None, Some(id))?.into_iter().next())
    }

    fn charges_where(
        &self,
        status: Option<&str>,
        only: Option<i64>,
    ) -> StoreResult<Vec<ChargeRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.id, o.accession, c.cpt, c.modifiers, c.icd10, c.units, c.amount_cents,
                        c.payer, c.status
                 FROM charges c JOIN orders o ON o.id = c.order_id
                 WHERE (?1 IS NULL OR c.status = ?1) AND (?2 IS NULL OR c.id = ?2) ORDER BY c.id",
            )
            .ctx("preparing charges")?;
        let rows = stmt
            .query_map(rusqlite::params![status, only], |r| {
                Ok(ChargeRecord {
                    id: r.get(0)?,
                    accession: r.get(1)?,
                    cpt: r.get(2)?,
                    modifiers: r.get(3)?,
                    icd10: r.get(4)?,
                    units: r.get(5)?,
                    amount_cents: r.get(6)?,
                    payer: r.get(7)?,
                    status: r.get(8)?,
                })
            })
            .ctx("reading charges")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading charges")
    }

    /// Moves a charge to a new status (and modifiers when given).
    /// Corrects a pending charge's diagnosis codes ('~'-separated ICD-10).
    pub fn set_charge_icd10(&self, id: i64, icd10: &str) -> StoreResult<()> {
        let n = self
            .cached_execute(
                "UPDATE charges SET icd10 = ?2 WHERE id = ?1 AND status = 'pending'",
                params![id, icd10],
            )
            .ctx("correcting a charge's codes")?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "charge {id} is not pending; only a pending charge's codes can change"
            )));
        }
        Ok(())
    }

    /// Sets a charge's status (and modifiers when given).
    pub fn set_charge_status(
        &self,
        id: i64,
        status: &str,
        modifiers: Option<&str>,
    ) -> StoreResult<()> {
        let n = self
            .conn
            .execute(
                "UPDATE charges SET status = ?2, modifiers = COALESCE(?3, modifiers) WHERE id = ?1",
                params![id, status, modifiers],
            )
            .ctx("updating a charge")?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("charge {id}")));
        }
        Ok(())
    }

    /// Assigns an exam to a radiologist.
    pub fn assign_radiologist(&self, order_id: i64, login: &str) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE orders SET assigned_radiologist = ?2 WHERE id = ?1",
            params![order_id, login],
        )
        .ctx("assigning a radiologist")?;
        Ok(())
    }

    /// Records that a report's critical result was told to someone.
    pub fn insert_critical_communication(
        &self,
        report_id: i64,
        told_to: &str,
        method: &str,
        recorded_by: &str,
    ) -> StoreResult<()> {
        self.conn
            .execute(
                "INSERT INTO critical_communications (report_id, told_to, method, recorded_by)
                 VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![report_id, told_to, method, recorded_by],
            )
            .ctx("recording a critical result's communication")?;
        Ok(())
    }

    /// Who was told a report's critical result, oldest first.
    pub fn critical_communications(
        &self,
        report_id: i64,
    ) -> StoreResult<Vec<CriticalCommunication>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT report_id, told_to, method, told_at, recorded_by
                 FROM critical_communications WHERE report_id = ?1 ORDER BY id",
            )
            .ctx("listing a critical result's communications")?;
        let rows = stmt
            .query_map([report_id], |r| {
                Ok(CriticalCommunication {
                    report_id: r.get(0)?,
                    told_to: r.get(1)?,
                    method: r.get(2)?,
                    told_at: r.get(3)?,
                    recorded_by: r.get(4)?,
                })
            })
            .ctx("listing a critical result's communications")?;
        rows.collect::<Result<_, _>>()
            .ctx("listing a critical result's communications")
    }

    /// The patient and procedure of each of `accessions` that exists.
    pub fn exam_subjects(&self, accessions: &[String]) -> StoreResult<Vec<ExamSubject>> {
        let mut out = Vec::with_capacity(accessions.len());
        // In chunks: SQLite limits the number of parameters of one statement.
        for chunk in accessions.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let mut stmt = self
                .conn
                .prepare(&format!(
                    "SELECT o.accession, COALESCE(p.mrn, ''), COALESCE(p.family_name, ''),
                            COALESCE(p.given_name, ''), COALESCE(p.birth_date, ''),
                            COALESCE(p.sex, ''), COALESCE(pr.name, '')
                     FROM orders o
                     LEFT JOIN his_patients p ON p.id = o.patient
                     LEFT JOIN procedures pr ON pr.code = o.procedure_code
                     WHERE o.accession IN ({marks})"
                ))
                .ctx("preparing the exams' subjects")?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(chunk.iter()), |r| {
                    Ok(ExamSubject {
                        accession: r.get(0)?,
                        mrn: r.get(1)?,
                        family_name: r.get(2)?,
                        given_name: r.get(3)?,
                        birth_date: r.get(4)?,
                        sex: r.get(5)?,
                        procedure_name: r.get(6)?,
                    })
                })
                .ctx("reading the exams' subjects")?;
            for row in rows {
                out.push(row.ctx("reading the exams' subjects")?);
            }
        }
        Ok(out)
    }

    /// Exams ready to read (completed) or awaiting a final (preliminary): STAT first, then
    /// ASAP, then routine; within a priority the oldest first.
    pub fn reading_rows(&self) -> StoreResult<Vec<ReadingRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT o.accession, o.status, o.priority, o.completed_at, o.procedure_code,
                        COALESCE(pr.modality, ''), COALESCE(p.mrn, ''), o.referring,
                        o.assigned_radiologist, s.study_uid,
                        COALESCE(p.family_name, ''), COALESCE(p.given_name, ''),
                        COALESCE(p.birth_date, ''), COALESCE(p.sex, ''), COALESCE(pr.name, ''),
                        COALESCE(p.alerts, ''), COALESCE(p.pregnancy, 'unknown')
                 FROM orders o
                 JOIN scheduled_steps s ON s.order_id = o.id
                 LEFT JOIN procedures pr ON pr.code = o.procedure_code
                 LEFT JOIN his_patients p ON p.id = o.patient
                 WHERE o.status IN ('completed', 'preliminary')
                 ORDER BY CASE o.priority WHEN 'STAT' THEN 0 WHEN 'ASAP' THEN 1 ELSE 2 END,
                          o.completed_at, o.id",
            )
            .ctx("preparing the reading worklist")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ReadingRow {
                    accession: r.get(0)?,
                    status: r.get(1)?,
                    priority: r.get(2)?,
                    completed_at: r.get(3)?,
                    procedure_code: r.get(4)?,
                    modality: r.get(5)?,
                    mrn: r.get(6)?,
                    referring: r.get(7)?,
                    assigned_radiologist: r.get(8)?,
                    study_uid: r.get(9)?,
                    family_name: r.get(10)?,
                    given_name: r.get(11)?,
                    birth_date: r.get(12)?,
                    sex: r.get(13)?,
                    procedure_name: r.get(14)?,
                    alerts: r.get(15)?,
                    pregnancy: r.get(16)?,
                })
            })
            .ctx("reading the reading worklist")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading the reading worklist")
    }
}

/// An archived study of a patient, for prior comparison.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArchivedStudy {
    /// Study Instance UID.
    pub study_uid: String,
    /// Study date (DICOM DA).
    pub study_date: String,
    /// Study description.
    pub description: String,
    /// Modalities of its series, comma-separated.
    pub modalities: String,
    /// Body parts of its series, comma-separated.
    pub body_parts: String,
}

impl Store {
    /// Archived studies whose DICOM Patient ID is one of `patient_ids`.
    pub fn archived_studies_of(&self, patient_ids: &[String]) -> StoreResult<Vec<ArchivedStudy>> {
        let mut out = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT st.study_uid, st.study_date, st.description,
                        COALESCE(group_concat(DISTINCT se.modality), ''),
                        COALESCE(group_concat(DISTINCT se.body_part), '')
                 FROM studies st
                 JOIN patients pa ON pa.id = st.patient_row
                 LEFT JOIN series se ON se.study_row = st.id
                 WHERE pa.patient_id = ?1
                 GROUP BY st.id",
            )
            .ctx("preparing archived studies")?;
        for id in patient_ids {
            let rows = stmt
                .query_map([id], |r| {
                    Ok(ArchivedStudy {
                        study_uid: r.get(0)?,
                        study_date: r.get(1)?,
                        description: r.get(2)?,
                        modalities: r.get(3)?,
                        body_parts: r.get(4)?,
                    })
                })
                .ctx("reading archived studies")?;
            for row in rows {
                out.push(row.ctx("reading archived studies")?);
            }
        }
        Ok(out)
    }
}
