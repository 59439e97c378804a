//! HIS tables: registered patients, their outside identifiers, insurance, referring physicians.

use rusqlite::{OptionalExtension, Row, params};

use super::{SqlContext, Store, StoreError, StoreResult};

mod search;

/// A patient as the practice registered them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PatientRecord {
    /// Row id.
    pub id: i64,
    /// The practice's medical record number.
    pub mrn: String,
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Middle name.
    pub middle_name: String,
    /// Prefix (Dr, Mrs…).
    pub prefix: String,
    /// Suffix (Jr, III…).
    pub suffix: String,
    /// YYYY-MM-DD or empty.
    pub birth_date: String,
    /// F, M, O or U.
    pub sex: String,
    /// Postal address, one line.
    pub address: String,
    /// Phone numbers.
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// Preferred language.
    pub language: String,
    /// Alerts and allergies (contrast reactions, implants, …).
    pub alerts: String,
    /// unknown, not_pregnant, possibly, pregnant.
    pub pregnancy: String,
    /// Set when this record was merged into another.
    pub merged_into: Option<i64>,
}

/// An outside identifier with its assigning authority.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PatientIdentifier {
    /// The identifier.
    pub value: String,
    /// Its assigning authority (issuer).
    pub issuer: String,
}

/// An insurance policy of a patient.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InsurancePolicy {
    /// Row id (0 before insertion).
    pub id: i64,
    /// The patient.
    pub patient: i64,
    /// Payer name.
    pub payer: String,
    /// Plan.
    pub plan: String,
    /// Member number.
    pub member_number: String,
    /// Group number.
    pub group_number: String,
    /// Subscriber's name.
    pub subscriber: String,
    /// Relationship of the patient to the subscriber.
    pub relationship: String,
    /// Whether this payer requires prior authorisation for imaging.
    pub requires_authorisation: bool,
    /// unknown, eligible, ineligible.
    pub eligibility: String,
}

const PATIENT_COLUMNS: &str = "id, mrn, family_name, given_name, middle_name, prefix, suffix, \
     birth_date, sex, address, phone, email, language, alerts, pregnancy, merged_into";

fn patient_from_row(r: &Row<'_>) -> rusqlite::Result<PatientRecord> {
    Ok(PatientRecord {
        id: r.get(0)?,
        mrn: r.get(1)?,
        family_name: r.get(2)?,
        given_name: r.get(3)?,
        middle_name: r.get(4)?,
        prefix: r.get(5)?,
        suffix: r.get(6)?,
        birth_date: r.get(7)?,
        sex: r.get(8)?,
        address: r.get(9)?,
        phone: r.get(10)?,
        email: r.get(11)?,
        language: r.get(12)?,
        alerts: r.get(13)?,
        pregnancy: r.get(14)?,
        merged_into: r.get(15)?,
    })
}

impl Store {
    /// Takes the next number of a named counter (MRN, accession, …) inside the caller's
    /// transaction or on its own.
    pub fn next_counter(&self, name: &str) -> StoreResult<i64> {
        self.cached_query_row(
            "INSERT INTO counters (name, value) VALUES (?1, 1)
                 ON CONFLICT (name) DO UPDATE SET value = value + 1
                 RETURNING value",
            [name],
            |r| r.get(0),
        )
        .ctx("taking the next number")
    }

    /// Inserts a patient with its identifiers, in one transaction; `mrn` must be new.
    pub fn insert_patient(
        &mut self,
        patient: &PatientRecord,
        identifiers: &[PatientIdentifier],
    ) -> StoreResult<i64> {
        let tx = self.conn.savepoint().ctx("starting a registration")?;
        crate::exec_cached(
            &tx,
            "INSERT INTO his_patients (mrn, family_name, given_name, middle_name, prefix, suffix,
                birth_date, sex, address, phone, email, language, alerts, pregnancy,
                family_folded, given_folded)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                patient.mrn,
                patient.family_name,
                patient.given_name,
                patient.middle_name,
                patient.prefix,
                patient.suffix,
                patient.birth_date,
                patient.sex,
                patient.address,
                patient.phone,
                patient.email,
                patient.language,
                patient.alerts,
                patient.pregnancy,
                crate::fold(&patient.family_name),
                crate::fold(&patient.given_name)
            ],
        )
        .ctx("registering a patient")?;
        let id = tx.last_insert_rowid();
        for identifier in identifiers {
            crate::exec_cached(
                &tx,
                "INSERT INTO patient_identifiers (patient, value, issuer) VALUES (?1, ?2, ?3)",
                params![id, identifier.value, identifier.issuer],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::Invalid(format!(
                        "identifier {} from {} belongs to another patient",
                        identifier.value, identifier.issuer
                    ))
                }
                other => StoreError::Sql {
                    context: "adding an identifier",
                    source: other,
                },
            })?;
        }
        tx.commit().ctx("committing a registration")?;
        Ok(id)
    }

    /// Updates a patient's demographics (not the MRN, not the identifiers).
    pub fn update_patient(&self, patient: &PatientRecord) -> StoreResult<()> {
        let n = self
            .conn
            .execute(
                "UPDATE his_patients SET family_name = ?2, given_name = ?3, middle_name = ?4,
                    prefix = ?5, suffix = ?6, birth_date = ?7, sex = ?8, address = ?9,
                    phone = ?10, email = ?11, language = ?12, alerts = ?13, pregnancy = ?14,
                    family_folded = ?15, given_folded = ?16
                 WHERE id = ?1",
                params![
                    patient.id,
                    patient.family_name,
                    patient.given_name,
                    patient.middle_name,
                    patient.prefix,
                    patient.suffix,
                    patient.birth_date,
                    patient.sex,
                    patient.address,
                    patient.phone,
                    patient.email,
                    patient.language,
                    patient.alerts,
                    patient.pregnancy,
                    crate::fold(&patient.family_name),
                    crate::fold(&patient.given_name)
                ],
            )
            .ctx("updating a patient")?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("patient {}", patient.id)));
        }
        Ok(())
    }

    /// One patient by row id.
    pub fn patient(&self, id: i64) -> StoreResult<PatientRecord> {
        self.cached_query_row(
            &format!("SELECT {PATIENT_COLUMNS} FROM his_patients WHERE id = ?1"),
            [id],
            patient_from_row,
        )
        .optional()
        .ctx("reading a patient")?
        .ok_or_else(|| StoreError::NotFound(format!("patient {id}")))
    }

    /// The patient holding an identifier from an issuer (the MRN counts, with issuer "").
    pub fn patient_by_identifier(
        &self,
        value: &str,
        issuer: &str,
    ) -> StoreResult<Option<PatientRecord>> {
        if issuer.is_empty() {
            return self
                .conn
                .query_row(
                    &format!("SELECT {PATIENT_COLUMNS} FROM his_patients WHERE mrn = ?1"),
                    [value],
                    patient_from_row,
                )
                .optional()
                .ctx("finding a patient by MRN");
        }
        self.cached_query_row(
            &format!(
                "SELECT {} FROM his_patients p JOIN patient_identifiers i ON i.patient = p.id
                     WHERE i.value = ?1 AND i.issuer = ?2",
                PATIENT_COLUMNS
                    .split(", ")
                    .map(|c| format!("p.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            params![value, issuer],
            patient_from_row,
        )
        .optional()
        .ctx("finding a patient by identifier")
    }

    /// Patients with the same family name, given name and birth date (case-insensitive), not
    /// merged away: candidates for "is this the same person?".
    pub fn patients_like(
        &self,
        family: &str,
        given: &str,
        birth_date: &str,
    ) -> StoreResult<Vec<PatientRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {PATIENT_COLUMNS} FROM his_patients
                 WHERE family_name = ?1 COLLATE NOCASE AND given_name = ?2 COLLATE NOCASE
                   AND birth_date = ?3 AND merged_into IS NULL"
            ))
            .ctx("preparing the duplicate check")?;
        let rows = stmt
            .query_map(params![family, given, birth_date], patient_from_row)
            .ctx("checking for duplicates")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading duplicates")
    }

    /// Identifiers of a patient.
    pub fn patient_identifiers(&self, patient: i64) -> StoreResult<Vec<PatientIdentifier>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT value, issuer FROM patient_identifiers WHERE patient = ?1 ORDER BY id",
            )
            .ctx("preparing identifiers")?;
        let rows = stmt
            .query_map([patient], |r| {
                Ok(PatientIdentifier {
                    value: r.get(0)?,
                    issuer: r.get(1)?,
                })
            })
            .ctx("reading identifiers")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading identifiers")
    }

    /// Adds an insurance policy; returns its id.
    pub fn insert_insurance(&self, policy: &InsurancePolicy) -> StoreResult<i64> {
        self.cached_execute(
            "INSERT INTO insurance_policies (patient, payer, plan, member_number, group_number,
                    subscriber, relationship, requires_authorisation, eligibility)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                policy.patient,
                policy.payer,
                policy.plan,
                policy.member_number,
                policy.group_number,
                policy.subscriber,
                policy.relationship,
                policy.requires_authorisation,
                policy.eligibility
            ],
        )
        .ctx("adding an insurance policy")?;
        Ok(self.conn.last_insert_rowid())
    }

    /// One insurance policy.
    pub fn insurance(&self, id: i64) -> StoreResult<InsurancePolicy> {
        self.cached_query_row(
            "SELECT id, patient, payer, plan, member_number, group_number, subscriber,
                        relationship, requires_authorisation, eligibility
                 FROM insurance_policies WHERE id = ?1",
            [id],
            |r| {
                Ok(InsurancePolicy {
                    id: r.get(0)?,
                    patient: r.get(1)?,
                    payer: r.get(2)?,
                    plan: r.get(3)?,
                    member_number: r.get(4)?,
                    group_number: r.get(5)?,
                    subscriber: r.get(6)?,
                    relationship: r.get(7)?,
                    requires_authorisation: r.get(8)?,
                    eligibility: r.get(9)?,
                })
            },
        )
        .optional()
        .ctx("reading an insurance policy")?
        .ok_or_else(|| StoreError::NotFound(format!("insurance policy {id}")))
    }
}

/// A recorded merge.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MergeRecord {
    /// Row id.
    pub id: i64,
    /// The patient kept.
    pub kept: i64,
    /// The patient merged into it.
    pub merged: i64,
    /// Orders that moved.
    pub moved_orders: Vec<i64>,
    /// Identifier rows that moved.
    pub moved_identifiers: Vec<i64>,
    /// Whether it was undone.
    pub undone: bool,
}

impl Store {
    /// Order ids and identifier row ids of a patient (what a merge would move).
    pub fn patient_links(&self, patient: i64) -> StoreResult<(Vec<i64>, Vec<i64>)> {
        let ids = |sql: &str| -> StoreResult<Vec<i64>> {
            let mut stmt = self
                .conn
                .prepare_cached(sql)
                .ctx("preparing patient links")?;
            let rows = stmt
                .query_map([patient], |r| r.get(0))
                .ctx("reading patient links")?;
            rows.collect::<Result<Vec<i64>, _>>()
                .ctx("reading patient links")
        };
        Ok((
            ids("SELECT id FROM orders WHERE patient = ?1 ORDER BY id")?,
            ids("SELECT id FROM patient_identifiers WHERE patient = ?1 ORDER BY id")?,
        ))
    }

    /// Merges `merged` into `kept` in one transaction: its orders and identifiers move, it is
    /// marked merged, and the merge is recorded with what moved.
    pub fn merge_patients(&mut self, kept: i64, merged: i64, by: &str) -> StoreResult<MergeRecord> {
        let (orders, identifiers) = self.patient_links(merged)?;
        let tx = self.conn.savepoint().ctx("starting a merge")?;
        let flagged = tx
            .execute(
                "UPDATE his_patients SET merged_into = ?1 WHERE id = ?2 AND merged_into IS NULL",
                params![kept, merged],
            )
            .ctx("marking the merged patient")?;
        if flagged == 0 {
            return Err(StoreError::Invalid(format!(
                "patient {merged} is already merged"
            )));
        }
        crate::exec_cached(
            &tx,
            "UPDATE orders SET patient = ?1 WHERE patient = ?2",
            params![kept, merged],
        )
        .ctx("moving orders")?;
        crate::exec_cached(
            &tx,
            "UPDATE patient_identifiers SET patient = ?1 WHERE patient = ?2",
            params![kept, merged],
        )
        .ctx("moving identifiers")?;
        let json = |v: &[i64]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        crate::exec_cached(
            &tx,
            "INSERT INTO patient_merges (kept, merged, moved_orders, moved_identifiers, merged_by)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![kept, merged, json(&orders), json(&identifiers), by],
        )
        .ctx("recording a merge")?;
        let id = tx.last_insert_rowid();
        tx.commit().ctx("committing a merge")?;
        Ok(MergeRecord {
            id,
            kept,
            merged,
            moved_orders: orders,
            moved_identifiers: identifiers,
            undone: false,
        })
    }

    /// A recorded merge.
    pub fn merge_record(&self, id: i64) -> StoreResult<MergeRecord> {
        self.cached_query_row(
            "SELECT id, kept, merged, moved_orders, moved_identifiers, undone_at != ''
                 FROM patient_merges WHERE id = ?1",
            [id],
            |r| {
                let orders: String = r.get(3)?;
                let identifiers: String = r.get(4)?;
                Ok(MergeRecord {
                    id: r.get(0)?,
                    kept: r.get(1)?,
                    merged: r.get(2)?,
                    moved_orders: serde_json::from_str(&orders).unwrap_or_default(),
                    moved_identifiers: serde_json::from_str(&identifiers).unwrap_or_default(),
                    undone: r.get(5)?,
                })
            },
        )
        .optional()
        .ctx("reading a merge")?
        .ok_or_else(|| StoreError::NotFound(format!("merge {id}")))
    }

    /// Undoes a merge exactly: what moved goes back, the merged patient is active again.
    pub fn undo_merge(&mut self, id: i64, by: &str) -> StoreResult<()> {
        let record = self.merge_record(id)?;
        if record.undone {
            return Err(StoreError::Invalid(format!(
                "merge {id} was already undone"
            )));
        }
        let tx = self.conn.savepoint().ctx("starting an unmerge")?;
        for order in &record.moved_orders {
            crate::exec_cached(
                &tx,
                "UPDATE orders SET patient = ?1 WHERE id = ?2",
                params![record.merged, order],
            )
            .ctx("moving an order back")?;
        }
        for identifier in &record.moved_identifiers {
            crate::exec_cached(
                &tx,
                "UPDATE patient_identifiers SET patient = ?1 WHERE id = ?2",
                params![record.merged, identifier],
            )
            .ctx("moving an identifier back")?;
        }
        crate::exec_cached(
            &tx,
            "UPDATE his_patients SET merged_into = NULL WHERE id = ?1",
            [record.merged],
        )
        .ctx("reactivating the merged patient")?;
        crate::exec_cached(
            &tx,
            "UPDATE patient_merges SET undone_by = ?2,
                undone_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?1",
            params![id, by],
        )
        .ctx("recording the unmerge")?;
        tx.commit().ctx("committing an unmerge")
    }
}

/// A referring physician.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReferringPhysician {
    /// Row id (0 before insertion).
    pub id: i64,
    /// National Provider Identifier (10 digits) or "".
    pub npi: String,
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Phone.
    pub phone: String,
}

/// An encounter (visit).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Encounter {
    /// Row id.
    pub id: i64,
    /// The patient.
    pub patient: i64,
    /// Visit number (PV1-19).
    pub visit_number: String,
    /// outpatient, inpatient, emergency.
    pub kind: String,
    /// Local start.
    pub started_at: String,
    /// Referring physician row.
    pub referring: Option<i64>,
}

impl Store {
    /// Adds a referring physician, or returns the existing row with the same NPI and name.
    pub fn upsert_referring(&self, physician: &ReferringPhysician) -> StoreResult<i64> {
        self.cached_execute(
            "INSERT INTO referring_physicians (npi, family_name, given_name, phone)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (npi, family_name, given_name) DO NOTHING",
            params![
                physician.npi,
                physician.family_name,
                physician.given_name,
                physician.phone
            ],
        )
        .ctx("adding a referring physician")?;
        self.cached_query_row(
                "SELECT id FROM referring_physicians WHERE npi = ?1 AND family_name = ?2 AND given_name = ?3",
                params![physician.npi, physician.family_name, physician.given_name],
                |r| r.get(0),
            )
            .ctx("finding a referring physician")
    }

    /// Opens an encounter; returns its id.
    pub fn insert_encounter(&self, encounter: &Encounter) -> StoreResult<i64> {
        self.cached_execute(
            "INSERT INTO encounters (patient, visit_number, kind, started_at, referring)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                encounter.patient,
                encounter.visit_number,
                encounter.kind,
                encounter.started_at,
                encounter.referring
            ],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Invalid(format!("visit number {} is taken", encounter.visit_number))
            }
            other => StoreError::Sql {
                context: "opening an encounter",
                source: other,
            },
        })?;
        Ok(self.conn.last_insert_rowid())
    }

    /// A patient's encounters, newest first.
    pub fn encounters_of(&self, patient: i64) -> StoreResult<Vec<Encounter>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, patient, visit_number, kind, started_at, referring FROM encounters
                 WHERE patient = ?1 ORDER BY started_at DESC, id DESC",
            )
            .ctx("preparing encounters")?;
        let rows = stmt
            .query_map([patient], |r| {
                Ok(Encounter {
                    id: r.get(0)?,
                    patient: r.get(1)?,
                    visit_number: r.get(2)?,
                    kind: r.get(3)?,
                    started_at: r.get(4)?,
                    referring: r.get(5)?,
                })
            })
            .ctx("reading encounters")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading encounters")
    }

    /// Records a policy's prior-authorisation status, number and validity dates.
    pub fn set_authorisation(
        &self,
        policy: i64,
        status: &str,
        number: &str,
        valid_from: &str,
        valid_to: &str,
    ) -> StoreResult<()> {
        let n = self
            .conn
            .execute(
                "UPDATE insurance_policies SET authorisation_status = ?2, authorisation_number = ?3,
                    authorisation_valid_from = ?4, authorisation_valid_to = ?5 WHERE id = ?1",
                params![policy, status, number, valid_from, valid_to],
            )
            .ctx("recording an authorisation")?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("insurance policy {policy}")));
        }
        Ok(())
    }

    /// A patient's insurance policies, newest first.
    pub fn insurance_of(&self, patient: i64) -> StoreResult<Vec<InsurancePolicy>> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT id FROM insurance_policies WHERE patient = ?1 ORDER BY id DESC",
                )
                .ctx("preparing policies")?;
            let rows = stmt
                .query_map([patient], |r| r.get(0))
                .ctx("reading policies")?;
            rows.collect::<Result<Vec<_>, _>>()
                .ctx("reading policies")?
        };
        ids.into_iter().map(|id| self.insurance(id)).collect()
    }

    /// Records the payer's answer to an eligibility check.
    pub fn set_eligibility(&self, policy: i64, eligibility: &str) -> StoreResult<()> {
        let n = self
            .cached_execute(
                "UPDATE insurance_policies SET eligibility = ?2,
                    eligibility_checked = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?1",
                params![policy, eligibility],
            )
            .ctx("recording eligibility")?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("insurance policy {policy}")));
        }
        Ok(())
    }

    /// A policy's authorisation: (status, number, valid from, valid to).
    pub fn authorisation(&self, policy: i64) -> StoreResult<(String, String, String, String)> {
        self.cached_query_row(
            "SELECT authorisation_status, authorisation_number, authorisation_valid_from,
                        authorisation_valid_to FROM insurance_policies WHERE id = ?1",
            [policy],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .ctx("reading an authorisation")?
        .ok_or_else(|| StoreError::NotFound(format!("insurance policy {policy}")))
    }
}

impl Store {
    /// Records which archived studies a merge moved.
    pub fn set_merge_studies(&self, merge: i64, study_uids: &[String]) -> StoreResult<()> {
        let json = serde_json::to_string(study_uids).unwrap_or_else(|_| "[]".into());
        self.cached_execute(
            "UPDATE patient_merges SET moved_studies = ?2 WHERE id = ?1",
            params![merge, json],
        )
        .ctx("recording a merge's studies")?;
        Ok(())
    }

    /// The archived studies a merge moved.
    pub fn merge_studies(&self, merge: i64) -> StoreResult<Vec<String>> {
        let json: String = self
            .conn
            .query_row(
                "SELECT moved_studies FROM patient_merges WHERE id = ?1",
                [merge],
                |r| r.get(0),
            )
            .ctx("reading a merge's studies")?;
        Ok(serde_json::from_str(&json).unwrap_or_default())
    }
}

impl Store {
    /// How many user accounts exist (none: the first run creates the administrator).
    pub fn user_count(&self) -> StoreResult<i64> {
        self.cached_query_row("SELECT count(*) FROM users", [], |r| r.get(0))
            .ctx("counting users")
    }

    /// Changes whenever another connection commits: the screens poll it to know when to
    /// read again, so a new HL7 order or an arriving study shows without a refresh button.
    pub fn data_version(&self) -> StoreResult<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .ctx("reading the data version")
    }
}
