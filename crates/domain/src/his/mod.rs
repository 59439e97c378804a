//! The HIS lane: registration with a practice MRN, outside identifiers with their issuers,
//! duplicate detection, insurance. Lightbox is the HIS where the clinic has none; where an EHR
//! is the HIS, ADT messages call the same functions.

use crate::access::{self, AccessError, Action, Actor};
use crate::changes::{self, Change};
use crate::store::his::{InsurancePolicy, PatientIdentifier, PatientRecord};
use crate::store::{Store, StoreError};

/// Errors of the HIS lane.
#[derive(Debug, thiserror::Error)]
pub enum HisError {
    /// Probably an existing patient: registration stopped so a person can decide.
    #[error("possible duplicate of {}: {reason}", .candidates.iter().map(|c| c.mrn.as_str()).collect::<Vec<_>>().join(", "))]
    PossibleDuplicate {
        /// The existing records it resembles.
        candidates: Vec<PatientRecord>,
        /// Why they look the same.
        reason: String,
    },
    /// Input that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// Not allowed.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The longest a name part may be: DICOM's PN allows 64 characters per component group, and
/// every name goes into image headers and worklists.
pub const NAME_PART_MAX_CHARS: usize = 64;

/// The sex codes a record takes (DICOM and HL7 agree on these).
pub const SEX_CODES: [(&str, &str); 4] = [
    ("F", "female"),
    ("M", "male"),
    ("O", "other"),
    ("U", "unknown"),
];

/// What is wrong with a patient's demographics, field by field ("Birth date", why), in the
/// words the form shows beside the field; empty when they can be saved. `today` is the
/// practice clock's date (a birth date after it is refused).
pub fn demographics_problems(
    p: &PatientRecord,
    today: chrono::NaiveDate,
) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if p.family_name.trim().is_empty() {
        problems.push(("Family name", "a family name is required".to_string()));
    }
    for (field, value) in [
        ("Family name", &p.family_name),
        ("Given name", &p.given_name),
        ("Middle name", &p.middle_name),
        ("Prefix", &p.prefix),
        ("Suffix", &p.suffix),
    ] {
        let length = value.chars().count();
        if length > NAME_PART_MAX_CHARS {
            problems.push((
                field,
                format!("{length} characters; at most {NAME_PART_MAX_CHARS} fit in DICOM and HL7"),
            ));
        }
        // DICOM's name separators and value delimiter (HL7's own are escaped on the way out).
        if value.contains(['^', '\\', '=']) {
            problems.push((field, "may not contain ^, = or \\".to_string()));
        }
    }
    if let Some(why) = birth_date_problem(&p.birth_date, today) {
        problems.push(("Birth date", why));
    }
    if !p.sex.is_empty() && !SEX_CODES.iter().any(|(code, _)| *code == p.sex) {
        problems.push((
            "Sex",
            format!("{:?} is not one of female, male, other or unknown", p.sex),
        ));
    }
    problems
}

/// Why a birth date cannot be saved, if it cannot: the format, a day the calendar does not
/// have, the future, before 1900. Each gets its own words.
pub fn birth_date_problem(value: &str, today: chrono::NaiveDate) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    let parts: Vec<&str> = value.split('-').collect();
    let shaped = parts.len() == 3
        && parts[0].len() == 4
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()));
    if !shaped {
        return Some(format!(
            "write it as year-month-day, e.g. 1980-02-03 (not {value:?})"
        ));
    }
    let Ok(date) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") else {
        return Some(format!("{value} is not a day of the calendar"));
    };
    if date > today {
        return Some(format!("{value} is in the future"));
    }
    if date < chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(date) {
        return Some(format!("{value} is before 1900"));
    }
    None
}

/// The latest date a birth date may have when the caller has no clock: tomorrow by the system
/// clock, so a record typed just after midnight somewhere else is not refused. The window checks
/// against the practice clock before it gets here.
fn latest_plausible_today() -> chrono::NaiveDate {
    let today = chrono::Local::now().date_naive();
    today.succ_opt().unwrap_or(today)
}

/// What registration asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Registration {
    /// Demographics (id and MRN are assigned).
    pub patient: PatientRecord,
    /// Outside identifiers with their issuers.
    pub identifiers: Vec<PatientIdentifier>,
    /// Register even if it looks like an existing patient (the user confirmed).
    pub confirmed_new: bool,
}

/// Registers a patient with a new MRN. Same name and birth date, or an outside identifier from
/// the same issuer already known, stops with `PossibleDuplicate` unless the user confirmed
/// (an identifier clash is never overridden: that would be two people with one ID).
pub fn register(
    store: &mut Store,
    actor: &Actor,
    registration: &Registration,
) -> Result<PatientRecord, HisError> {
    access::authorise(store, actor, Action::EditPatient, "patient:new")?;
    let p = &registration.patient;
    if let Some((field, why)) = demographics_problems(p, latest_plausible_today())
        .into_iter()
        .next()
    {
        return Err(HisError::Invalid(format!("{field}: {why}")));
    }
    for identifier in &registration.identifiers {
        if identifier.issuer.trim().is_empty() {
            return Err(HisError::Invalid(format!(
                "identifier {} has no assigning authority",
                identifier.value
            )));
        }
        if let Some(existing) =
            store.patient_by_identifier(&identifier.value, &identifier.issuer)?
        {
            return Err(HisError::PossibleDuplicate {
                candidates: vec![existing],
                reason: format!(
                    "identifier {} from {} is already registered",
                    identifier.value, identifier.issuer
                ),
            });
        }
    }
    if !registration.confirmed_new && !p.birth_date.is_empty() {
        let candidates = store.patients_like(&p.family_name, &p.given_name, &p.birth_date)?;
        if !candidates.is_empty() {
            return Err(HisError::PossibleDuplicate {
                candidates,
                reason: "same name and birth date".into(),
            });
        }
    }
    let mut record = p.clone();
    record.mrn = format!("M{:07}", store.next_counter("mrn")?);
    if record.sex.is_empty() {
        record.sex = "U".into();
    }
    if record.pregnancy.is_empty() {
        record.pregnancy = "unknown".into();
    }
    record.id = store.insert_patient(&record, &registration.identifiers)?;
    access::audit(
        store,
        actor,
        "patient.register",
        &format!("patient:{}", record.mrn),
        "ok",
        "",
    )?;
    changes::record(
        store,
        actor,
        &Change::PatientRegistered {
            mrn: record.mrn.clone(),
        },
    )?;
    Ok(record)
}

/// Changes a patient's demographics (MRN, alerts and pregnancy stay as they are unless
/// given); audited as `patient.update`.
pub fn update_patient(
    store: &Store,
    actor: &Actor,
    patient: &PatientRecord,
) -> Result<(), HisError> {
    let existing = store.patient(patient.id)?;
    let subject = format!("patient:{}", existing.mrn);
    access::authorise(store, actor, Action::EditPatient, &subject)?;
    if let Some((field, why)) = demographics_problems(patient, latest_plausible_today())
        .into_iter()
        .next()
    {
        return Err(HisError::Invalid(format!("{field}: {why}")));
    }
    let mut record = patient.clone();
    record.mrn = existing.mrn;
    if record.sex.is_empty() {
        record.sex = existing.sex;
    }
    if record.pregnancy.is_empty() {
        record.pregnancy = existing.pregnancy;
    }
    if record.alerts.is_empty() {
        record.alerts = existing.alerts;
    }
    store.update_patient(&record)?;
    access::audit(store, actor, "patient.update", &subject, "ok", "")?;
    changes::record(store, actor, &Change::PatientUpdated { mrn: record.mrn })?;
    Ok(())
}

/// Reads a patient (audited).
pub fn read_patient(store: &Store, actor: &Actor, id: i64) -> Result<PatientRecord, HisError> {
    access::authorise(
        store,
        actor,
        Action::ReadPatient,
        &format!("patient-row:{id}"),
    )?;
    let patient = store.patient(id)?;
    access::audit(
        store,
        actor,
        "patient.read",
        &format!("patient:{}", patient.mrn),
        "ok",
        "",
    )?;
    Ok(patient)
}

/// Adds an insurance policy to a patient.
pub fn add_insurance(
    store: &Store,
    actor: &Actor,
    policy: &InsurancePolicy,
) -> Result<i64, HisError> {
    let patient = store.patient(policy.patient)?;
    let subject = format!("patient:{}", patient.mrn);
    access::authorise(store, actor, Action::EditPatient, &subject)?;
    let id = store.insert_insurance(policy)?;
    access::audit(
        store,
        actor,
        "patient.insurance.add",
        &subject,
        "ok",
        &policy.payer,
    )?;
    Ok(id)
}

/// What merging `merged` into `kept` would move: (orders, identifier rows).
pub fn merge_preview(
    store: &Store,
    actor: &Actor,
    kept: i64,
    merged: i64,
) -> Result<(Vec<i64>, Vec<i64>), HisError> {
    access::authorise(
        store,
        actor,
        Action::MergePatients,
        &format!("patient-row:{merged}"),
    )?;
    if kept == merged {
        return Err(HisError::Invalid(
            "a patient cannot be merged into itself".into(),
        ));
    }
    store.patient(kept)?;
    store.patient(merged)?;
    Ok(store.patient_links(merged)?)
}

/// Merges `merged` into `kept` (an explicit, audited action; undoable with [`unmerge`]).
pub fn merge(
    store: &mut Store,
    actor: &Actor,
    kept: i64,
    merged: i64,
) -> Result<crate::store::his::MergeRecord, HisError> {
    merge_preview(store, actor, kept, merged)?;
    let (kept_mrn, merged_mrn) = (store.patient(kept)?.mrn, store.patient(merged)?.mrn);
    let record = store.merge_patients(kept, merged, &actor.login)?;
    access::audit(
        store,
        actor,
        "patient.merge",
        &format!("patient:{kept_mrn}"),
        "ok",
        &format!("merged {merged_mrn}; merge {}", record.id),
    )?;
    changes::record(
        store,
        actor,
        &Change::PatientsMerged {
            kept: kept_mrn,
            merged: merged_mrn,
            undone: false,
        },
    )?;
    Ok(record)
}

/// Undoes a merge exactly.
pub fn unmerge(store: &mut Store, actor: &Actor, merge_id: i64) -> Result<(), HisError> {
    let record = store.merge_record(merge_id)?;
    access::authorise(
        store,
        actor,
        Action::MergePatients,
        &format!("merge:{merge_id}"),
    )?;
    store.undo_merge(merge_id, &actor.login)?;
    let kept_mrn = store.patient(record.kept)?.mrn;
    access::audit(
        store,
        actor,
        "patient.unmerge",
        &format!("patient:{kept_mrn}"),
        "ok",
        &format!("merge {merge_id}"),
    )?;
    changes::record(
        store,
        actor,
        &Change::PatientsMerged {
            kept: kept_mrn,
            merged: store.patient(record.merged)?.mrn,
            undone: true,
        },
    )?;
    Ok(())
}

/// Adds (or finds) a referring physician; an NPI must be 10 digits with a valid check digit.
pub fn add_referring(
    store: &Store,
    actor: &Actor,
    physician: &crate::store::his::ReferringPhysician,
) -> Result<i64, HisError> {
    access::authorise(store, actor, Action::EditPatient, "referring:new")?;
    if !physician.npi.is_empty() && !npi_is_valid(&physician.npi) {
        return Err(HisError::Invalid(format!(
            "NPI {} is not a valid 10-digit NPI",
            physician.npi
        )));
    }
    Ok(store.upsert_referring(physician)?)
}

/// The NPI check digit (Luhn over "80840" + the first nine digits).
pub fn npi_is_valid(npi: &str) -> bool {
    if npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    // The prefix and the first nine digits (ASCII digits only, checked above).
    let digits: Vec<u32> = "80840"
        .bytes()
        .chain(npi.bytes().take(9))
        .map(|b| u32::from(b - b'0'))
        .collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                *d
            }
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    u32::from(npi.as_bytes()[9] - b'0') == check
}

/// Opens an encounter with a new visit number (`V` + 8 digits).
pub fn open_encounter(
    store: &Store,
    actor: &Actor,
    patient: i64,
    kind: &str,
    started_at: &str,
    referring: Option<i64>,
) -> Result<crate::store::his::Encounter, HisError> {
    let record = store.patient(patient)?;
    let subject = format!("patient:{}", record.mrn);
    access::authorise(store, actor, Action::EditPatient, &subject)?;
    let mut encounter = crate::store::his::Encounter {
        id: 0,
        patient,
        visit_number: format!("V{:08}", store.next_counter("visit")?),
        kind: kind.to_string(),
        started_at: started_at.to_string(),
        referring,
    };
    encounter.id = store.insert_encounter(&encounter)?;
    access::audit(
        store,
        actor,
        "patient.encounter",
        &subject,
        "ok",
        &encounter.visit_number,
    )?;
    Ok(encounter)
}

/// Moves archived studies to `to` (headers rewritten, the received values kept in the Original
/// Attributes Sequence; index relinked).
fn move_archived_studies(
    store: &mut Store,
    archive: &crate::archive::ArchiveFolder,
    studies: &[String],
    to: &PatientRecord,
) -> Result<(), HisError> {
    let fail = |e: crate::ris::RisError| HisError::Invalid(e.to_string());
    let (corrections, (issuer, name, birth, sex)) =
        crate::ris::reconcile::patient_corrections(store, to, None).map_err(fail)?;
    for study in studies {
        let instances = store.study_instances(study)?;
        crate::ris::reconcile::rewrite(store, archive, instances, &corrections).map_err(fail)?;
        store.relink_study(study, (&to.mrn, &issuer, &name, &birth, &sex), None)?;
    }
    Ok(())
}

/// Merges `merged` into `kept` and moves the merged patient's archived studies (found by its
/// MRN and outside identifiers) to the kept patient; undo with [`unmerge_with_archive`].
pub fn merge_with_archive(
    store: &mut Store,
    archive: &crate::archive::ArchiveFolder,
    actor: &Actor,
    kept: i64,
    merged: i64,
) -> Result<crate::store::his::MergeRecord, HisError> {
    let merged_record = store.patient(merged)?;
    let mut ids = vec![merged_record.mrn.clone()];
    ids.extend(
        store
            .patient_identifiers(merged)?
            .into_iter()
            .map(|i| i.value),
    );
    let record = merge(store, actor, kept, merged)?;
    let studies: Vec<String> = store
        .archived_studies_of(&ids)?
        .into_iter()
        .map(|s| s.study_uid)
        .collect();
    let kept_record = store.patient(kept)?;
    move_archived_studies(store, archive, &studies, &kept_record)?;
    store.set_merge_studies(record.id, &studies)?;
    access::audit(
        store,
        actor,
        "patient.merge.studies",
        &format!("patient:{}", kept_record.mrn),
        "ok",
        &format!("{} studies", studies.len()),
    )?;
    Ok(record)
}

/// Undoes a merge made with [`merge_with_archive`]: its studies go back to the merged patient.
pub fn unmerge_with_archive(
    store: &mut Store,
    archive: &crate::archive::ArchiveFolder,
    actor: &Actor,
    merge_id: i64,
) -> Result<(), HisError> {
    let record = store.merge_record(merge_id)?;
    unmerge(store, actor, merge_id)?;
    let studies = store.merge_studies(merge_id)?;
    let merged_record = store.patient(record.merged)?;
    move_archived_studies(store, archive, &studies, &merged_record)?;
    Ok(())
}

/// Records the payer's eligibility answer (eligible or ineligible) for a policy.
pub fn record_eligibility(
    store: &Store,
    actor: &Actor,
    policy: i64,
    eligible: bool,
) -> Result<(), HisError> {
    let p = store.insurance(policy)?;
    let subject = format!("patient:{}", store.patient(p.patient)?.mrn);
    access::authorise(store, actor, Action::EditPatient, &subject)?;
    let status = if eligible { "eligible" } else { "ineligible" };
    store.set_eligibility(policy, status)?;
    access::audit(
        store,
        actor,
        "patient.insurance.eligibility",
        &subject,
        "ok",
        status,
    )?;
    Ok(())
}

/// Records a prior authorisation (number and validity dates YYYY-MM-DD) for a policy.
pub fn record_authorisation(
    store: &Store,
    actor: &Actor,
    policy: i64,
    number: &str,
    valid_from: &str,
    valid_to: &str,
) -> Result<(), HisError> {
    let p = store.insurance(policy)?;
    let subject = format!("patient:{}", store.patient(p.patient)?.mrn);
    access::authorise(store, actor, Action::EditPatient, &subject)?;
    let date = |d: &str| chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok();
    let (Some(from), Some(to)) = (date(valid_from), date(valid_to)) else {
        return Err(HisError::Invalid(
            "write the authorisation dates as YYYY-MM-DD".into(),
        ));
    };
    if number.trim().is_empty() || to < from {
        return Err(HisError::Invalid(
            "an authorisation needs its number and a valid-to date after the valid-from date"
                .into(),
        ));
    }
    store.set_authorisation(
        policy,
        "approved",
        number.trim(),
        &from.to_string(),
        &to.to_string(),
    )?;
    access::audit(
        store,
        actor,
        "patient.insurance.authorisation",
        &subject,
        "ok",
        number.trim(),
    )?;
    Ok(())
}

/// One line of a patient's timeline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimelineEntry {
    /// When (sortable text: UTC timestamps, or a study's date).
    pub at: String,
    /// What happened, in the practice's words.
    pub what: String,
}

/// Everything that happened to a patient, newest first: orders and every exam status change,
/// reports signed, charges, and archived studies (under all the patient's identifiers).
/// Audited as a read of the patient.
pub fn timeline(
    store: &Store,
    actor: &Actor,
    patient_id: i64,
    occasion: access::ReadOccasion,
) -> Result<Vec<TimelineEntry>, HisError> {
    let patient = match occasion {
        access::ReadOccasion::Opened => read_patient(store, actor, patient_id)?,
        access::ReadOccasion::Refreshed => {
            access::authorise(
                store,
                actor,
                Action::ReadPatient,
                &format!("patient-row:{patient_id}"),
            )?;
            store.patient(patient_id)?
        }
    };
    let mut out = Vec::new();
    for order in store.orders_of_patient(patient_id)? {
        for h in store.exam_history(order.id)? {
            let what = if h.from.is_empty() {
                format!(
                    "{} {} ordered ({})",
                    order.accession, order.procedure_code, order.priority
                )
            } else {
                format!(
                    "{} {} → {}{}",
                    order.accession,
                    h.from.replace('_', " "),
                    h.to.replace('_', " "),
                    if h.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", h.note)
                    }
                )
            };
            out.push(TimelineEntry { at: h.at, what });
        }
        for r in store.reports_of_order(order.id)? {
            if !r.signed_at.is_empty() {
                out.push(TimelineEntry {
                    at: r.signed_at.clone(),
                    what: format!(
                        "{} {} {} signed by {}{}",
                        order.accession,
                        r.kind,
                        r.status,
                        r.signer,
                        if r.critical {
                            " — CRITICAL RESULT"
                        } else {
                            ""
                        }
                    ),
                });
            }
        }
    }
    let accessions: std::collections::HashSet<String> = store
        .orders_of_patient(patient_id)?
        .into_iter()
        .map(|o| o.accession)
        .collect();
    for status in ["pending", "reviewed", "billed"] {
        for c in store.charges(Some(status))? {
            if accessions.contains(&c.accession) {
                out.push(TimelineEntry {
                    at: String::new(),
                    what: format!(
                        "{} charge {} {}.{:02} ({status})",
                        c.accession,
                        c.cpt,
                        c.amount_cents / 100,
                        c.amount_cents % 100
                    ),
                });
            }
        }
    }
    let mut ids = vec![patient.mrn.clone()];
    ids.extend(
        store
            .patient_identifiers(patient_id)?
            .into_iter()
            .map(|i| i.value),
    );
    for s in store.archived_studies_of(&ids)? {
        let date = if let Some(iso) = crate::pacs::attributes::iso_date(&s.study_date) {
            iso
        } else {
            s.study_date.clone()
        };
        out.push(TimelineEntry {
            at: date,
            what: format!("study {} ({}) archived", s.description, s.modalities),
        });
    }
    out.sort_by(|a, b| b.at.cmp(&a.at));
    Ok(out)
}

#[cfg(test)]
mod demographics_tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn each_bad_birth_date_gets_its_own_words() {
        let today = day(2026, 12, 6);
        assert!(birth_date_problem("1980-02-03", today).is_none());
        assert!(birth_date_problem("", today).is_none());
        let shape = birth_date_problem("31/02/1980", today).unwrap_or_default();
        let calendar = birth_date_problem("1980-02-31", today).unwrap_or_default();
        assert!(shape.contains("year-month-day"), "{shape}");
        assert!(calendar.contains("not a day of the calendar"), "{calendar}");
        assert_ne!(shape, calendar);
        assert!(
            birth_date_problem("2030-01-01", today)
                .unwrap_or_default()
                .contains("future")
        );
        assert!(
            birth_date_problem("1880-01-01", today)
                .unwrap_or_default()
                .contains("1900")
        );
    }

    #[test]
    fn long_names_odd_separators_and_bad_sex_are_named_by_field() {
        let p = PatientRecord {
            family_name: "Ø".repeat(210),
            given_name: "Zoë^X".into(),
            sex: "Q".into(),
            ..PatientRecord::default()
        };
        let fields: Vec<&str> = demographics_problems(&p, day(2026, 12, 6))
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["Family name", "Given name", "Sex"]);
        let ok = PatientRecord {
            family_name: "山田".into(),
            given_name: "太郎".into(),
            sex: "M".into(),
            birth_date: "1990-05-17".into(),
            ..PatientRecord::default()
        };
        assert!(demographics_problems(&ok, day(2026, 12, 6)).is_empty());
    }
}
