//! Resolving the reconciliation queue: a person links a study that arrived unmatched (or with
//! a disagreeing patient) to the right order. The archive's headers are rewritten to the
//! ordered patient and accession — the received values kept in the Original Attributes
//! Sequence — the index follows, and the exam becomes ready to read.

use dicom_core::VR;
use dicom_dictionary_std::tags;

use super::RisError;
use crate::access::{self, Action, Actor};
use crate::archive::ArchiveFolder;
use crate::pacs::coercion::{Correction, correct_attributes};
use crate::store::Store;

/// Links reconciliation item `item_id` to the order with `accession`; returns how many
/// archived instances were rewritten.
pub fn link_to_order(
    store: &mut Store,
    archive: &ArchiveFolder,
    actor: &Actor,
    item_id: i64,
    accession: &str,
) -> Result<usize, RisError> {
    let subject = format!("reconciliation:{item_id}");
    let (item, order, patient) = open_item_and_order(store, actor, item_id, accession)?;
    let (corrections, (issuer, name, birth, sex)) =
        patient_corrections(store, &patient, Some(&order.accession))?;
    let rewritten = rewrite(
        store,
        archive,
        store.study_instances(&item.study_uid)?,
        &corrections,
    )?;
    store.relink_study(
        &item.study_uid,
        (&patient.mrn, &issuer, &name, &birth, &sex),
        Some(&order.accession),
    )?;
    store.link_study_to_order(&item.study_uid, order.id)?;
    super::advance_to_ready(store, actor, &order, "images linked in reconciliation")?;
    let resolution = format!("linked to {accession}; {rewritten} instances corrected");
    store.resolve_reconciliation(item_id, &actor.login, &resolution)?;
    access::audit(
        store,
        actor,
        "reconciliation.link",
        &subject,
        "ok",
        &resolution,
    )?;
    Ok(rewritten)
}

/// Splits series out of a queued study into the order with `accession`: those series get
/// the order's Study Instance UID, patient and accession (originals kept), move to its study in
/// the index, and the exam becomes ready to read. The rest of the study stays where it was.
pub fn split_series(
    store: &mut Store,
    archive: &ArchiveFolder,
    actor: &Actor,
    item_id: i64,
    series_uids: &[String],
    accession: &str,
) -> Result<usize, RisError> {
    let subject = format!("reconciliation:{item_id}");
    if series_uids.is_empty() {
        return Err(RisError::Invalid("name the series to split out".into()));
    }
    let (_, order, patient) = open_item_and_order(store, actor, item_id, accession)?;
    let target_study = store.step_of_order(order.id)?.study_uid;
    let (mut corrections, (issuer, name, birth, sex)) =
        patient_corrections(store, &patient, Some(&order.accession))?;
    corrections.push(Correction {
        tag: tags::STUDY_INSTANCE_UID,
        vr: VR::UI,
        value: target_study.clone(),
    });
    let mut rewritten = 0;
    for series in series_uids {
        let instances = store.series_instances(series)?;
        if instances.is_empty() {
            return Err(RisError::NotFound(format!("series {series}")));
        }
        rewritten += rewrite(store, archive, instances, &corrections)?;
        store.move_series_to_study(
            series,
            &target_study,
            (&patient.mrn, &issuer, &name, &birth, &sex),
            &order.accession,
        )?;
    }
    store.note_study_arrival(&target_study)?;
    store.link_study_to_order(&target_study, order.id)?;
    super::advance_to_ready(
        store,
        actor,
        &order,
        "series split to this exam in reconciliation",
    )?;
    let resolution = format!(
        "{} series split to {accession}; {rewritten} instances corrected",
        series_uids.len()
    );
    store.resolve_reconciliation(item_id, &actor.login, &resolution)?;
    access::audit(
        store,
        actor,
        "reconciliation.split",
        &subject,
        "ok",
        &resolution,
    )?;
    Ok(rewritten)
}

/// The checks both resolutions start with: the user may edit patients, the item is open, the
/// order exists and has an identified patient.
fn open_item_and_order(
    store: &Store,
    actor: &Actor,
    item_id: i64,
    accession: &str,
) -> Result<
    (
        crate::store::ris::ReconciliationItem,
        crate::store::ris::OrderRecord,
        crate::store::his::PatientRecord,
    ),
    RisError,
> {
    access::authorise(
        store,
        actor,
        Action::EditPatient,
        &format!("reconciliation:{item_id}"),
    )?;
    let item = store.reconciliation_item(item_id)?;
    if item.status != "open" {
        return Err(RisError::Invalid(format!(
            "reconciliation item {item_id} is already resolved"
        )));
    }
    let order = super::order_named(store, accession)?;
    let patient_row = order
        .patient
        .ok_or_else(|| RisError::Invalid(format!("order {accession} has no identified patient")))?;
    let patient = store.patient(patient_row)?;
    Ok((item, order, patient))
}

/// The patient as the index records it: (issuer, DICOM name, birth date YYYYMMDD, sex).
pub(crate) type IndexedPatient = (String, String, String, String);

/// The attributes that make archived images name the ordered patient and accession, and the
/// values the index needs: (issuer, name, birth date, sex).
pub(crate) fn patient_corrections(
    store: &Store,
    patient: &crate::store::his::PatientRecord,
    accession: Option<&str>,
) -> Result<(Vec<Correction>, IndexedPatient), RisError> {
    let issuer = store
        .setting(crate::site::MRN_ISSUER_SETTING)?
        .unwrap_or_else(|| "LIGHTBOX".into());
    let mut name = [
        patient.family_name.as_str(),
        patient.given_name.as_str(),
        patient.middle_name.as_str(),
    ]
    .join("^");
    while name.ends_with('^') {
        name.pop();
    }
    let birth = patient.birth_date.replace('-', "");
    let sex = if patient.sex == "U" {
        String::new()
    } else {
        patient.sex.clone()
    };
    let mut corrections = vec![
        Correction {
            tag: tags::PATIENT_ID,
            vr: VR::LO,
            value: patient.mrn.clone(),
        },
        Correction {
            tag: tags::ISSUER_OF_PATIENT_ID,
            vr: VR::LO,
            value: issuer.clone(),
        },
        Correction {
            tag: tags::PATIENT_NAME,
            vr: VR::PN,
            value: name.clone(),
        },
        Correction {
            tag: tags::PATIENT_BIRTH_DATE,
            vr: VR::DA,
            value: birth.clone(),
        },
        Correction {
            tag: tags::PATIENT_SEX,
            vr: VR::CS,
            value: sex.clone(),
        },
    ];
    if let Some(accession) = accession {
        corrections.push(Correction {
            tag: tags::ACCESSION_NUMBER,
            vr: VR::SH,
            value: accession.to_string(),
        });
    }
    if !name.is_ascii() {
        corrections.push(Correction {
            tag: tags::SPECIFIC_CHARACTER_SET,
            vr: VR::CS,
            value: "ISO_IR 192".into(),
        });
    }
    Ok((corrections, (issuer, name, birth, sex)))
}

/// Rewrites each instance with `corrections` (originals kept): new file on stable storage,
/// index pointed at it, old file removed. Returns how many changed.
pub(crate) fn rewrite(
    store: &Store,
    archive: &ArchiveFolder,
    instances: Vec<crate::store::index::StudyInstance>,
    corrections: &[Correction],
) -> Result<usize, RisError> {
    let when = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let mut rewritten = 0;
    for instance in instances {
        let path = archive
            .path_of(&instance.file_path)
            .map_err(|e| RisError::Invalid(e.to_string()))?;
        let mut obj = dicom_object::open_file(&path)
            .map_err(|e| RisError::Invalid(format!("cannot read {}: {e}", path.display())))?;
        if correct_attributes(&mut obj, corrections, "CORRECT", "LIGHTBOX", &when) == 0 {
            continue;
        }
        let mut bytes = Vec::new();
        obj.write_all(&mut bytes)
            .map_err(|e| RisError::Invalid(format!("cannot rewrite {}: {e}", path.display())))?;
        // The new file is on stable storage before the index points at it; the old one goes
        // only after that, so a crash leaves one complete copy in the index either way.
        let relative = archive
            .put_synced(&[&bytes])
            .map_err(|e| RisError::Invalid(e.to_string()))?;
        store.replace_instance_file(instance.row, &relative, bytes.len() as u64)?;
        if let Err(e) = archive.delete(&instance.file_path) {
            tracing::warn!(error = %e, "old file of a rewritten instance left behind");
        }
        rewritten += 1;
    }
    Ok(rewritten)
}
