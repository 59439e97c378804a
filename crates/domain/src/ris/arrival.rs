//! Images meet the order (the PACS tells the RIS): a newly arrived study is matched to its
//! requested procedure by Study Instance UID, then by accession number. Matched, with a patient
//! that agrees → the exam is ready to read. Unmatched, or a patient that disagrees with the
//! order → the reconciliation queue; never a silent merge.

use super::RisError;
use crate::access::{self, Actor};
use crate::store::Store;
use crate::store::ris::{OrderRecord, ReconciliationItem};

/// What the archive knows about a study when its first instance is indexed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Arrival {
    /// Study Instance UID.
    pub study_uid: String,
    /// Accession Number.
    pub accession: String,
    /// Patient ID.
    pub patient_id: String,
    /// Issuer of Patient ID.
    pub issuer: String,
    /// Patient's Name (DICOM PN).
    pub patient_name: String,
    /// Patient's Birth Date (YYYYMMDD).
    pub birth_date: String,
    /// The AE that sent it.
    pub sender: String,
}

/// What became of an arrival.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArrivalOutcome {
    /// The study arrived before; nothing done.
    AlreadySeen,
    /// Matched: the exam is ready to read.
    Matched {
        /// Accession of the exam.
        accession: String,
    },
    /// Queued for a person, with the reason.
    Reconcile {
        /// Why.
        reason: String,
    },
}

/// Why the images' patient and the order's patient are not clearly the same, if they are not.
fn identity_disagreement(
    store: &Store,
    order: &OrderRecord,
    arrival: &Arrival,
) -> Result<Option<String>, RisError> {
    let Some(patient_row) = order.patient else {
        return Ok(Some("the order has no identified patient".into()));
    };
    let patient = store.patient(patient_row)?;
    let identifiers = store.patient_identifiers(patient_row)?;
    let id_matches = arrival.patient_id == patient.mrn
        || identifiers.iter().any(|i| {
            i.value == arrival.patient_id
                && (arrival.issuer.is_empty() || arrival.issuer == i.issuer)
        });
    if !id_matches {
        return Ok(Some(format!(
            "Patient ID {} in the images is not the ordered patient's (MRN {})",
            arrival.patient_id, patient.mrn
        )));
    }
    let birth = patient.birth_date.replace('-', "");
    if !arrival.birth_date.is_empty() && !birth.is_empty() && arrival.birth_date != birth {
        return Ok(Some(format!(
            "birth date {} in the images differs from the order's patient ({})",
            arrival.birth_date, birth
        )));
    }
    let family = arrival.patient_name.split('^').next().unwrap_or("").trim();
    if !family.is_empty() && !family.eq_ignore_ascii_case(patient.family_name.trim()) {
        return Ok(Some(format!(
            "family name in the images differs from the order's patient {}",
            patient.mrn
        )));
    }
    Ok(None)
}

/// Journals images that arrived (every batch: the screens listing the study read again) and
/// matches a newly arrived study to its order, or queues it for reconciliation.
pub fn images_arrived(store: &mut Store, arrival: &Arrival) -> Result<ArrivalOutcome, RisError> {
    let actor = Actor {
        login: format!("dicom:{}", arrival.sender),
        role: access::Role::Interface,
        origin: arrival.sender.clone(),
    };
    let first = store.note_study_arrival(&arrival.study_uid)?;
    // Every batch of images is a change the screens listing the study read again (a second
    // series, a key image document saved at a workstation); only the first is matched.
    crate::changes::record(
        store,
        &actor,
        &crate::changes::Change::ImagesArrived {
            study_uid: arrival.study_uid.clone(),
        },
    )?;
    if !first {
        return Ok(ArrivalOutcome::AlreadySeen);
    }
    let by_uid = store.order_by_study_uid(&arrival.study_uid)?;
    let order = match by_uid {
        Some(o) => Some(o),
        None if !arrival.accession.is_empty() => store.order_by_accession(&arrival.accession)?,
        None => None,
    };
    let queue = |store: &Store,
                 order: Option<&OrderRecord>,
                 reason: String|
     -> Result<ArrivalOutcome, RisError> {
        store.queue_for_reconciliation(&ReconciliationItem {
            id: 0,
            study_uid: arrival.study_uid.clone(),
            accession: arrival.accession.clone(),
            patient_id: arrival.patient_id.clone(),
            patient_name: arrival.patient_name.clone(),
            birth_date: arrival.birth_date.clone(),
            order_id: order.map(|o| o.id),
            reason: reason.clone(),
            status: "open".into(),
        })?;
        tracing::warn!(study = %arrival.study_uid, %reason, "study queued for reconciliation");
        access::audit(
            store,
            &actor,
            "study.reconcile",
            &format!("study:{}", arrival.study_uid),
            "ok",
            &reason,
        )?;
        Ok(ArrivalOutcome::Reconcile { reason })
    };
    let Some(order) = order else {
        return queue(
            store,
            None,
            format!(
                "no order has Study Instance UID {} or accession {:?}",
                arrival.study_uid, arrival.accession
            ),
        );
    };
    if let Some(reason) = identity_disagreement(store, &order, arrival)? {
        return queue(store, Some(&order), reason);
    }
    store.link_study_to_order(&arrival.study_uid, order.id)?;
    // Images without MPPS still carry the exam to "ready to read" (completed), step by step.
    super::advance_to_ready(store, &actor, &order, "images arrived")?;
    access::audit(
        store,
        &actor,
        "study.matched",
        &format!("order:{}", order.accession),
        "ok",
        &arrival.study_uid,
    )?;
    Ok(ArrivalOutcome::Matched {
        accession: order.accession,
    })
}
