//! The radiologist's reading worklist: exams ready to read (and preliminary ones awaiting a
//! final), STAT first, then ASAP, then routine, oldest first; filtered by modality, referring
//! physician and assigned radiologist.

use super::RisError;
use crate::access::{self, Action, Actor};
use crate::store::Store;
use crate::store::reports::ReadingRow;

/// Filters of the reading worklist (None: any).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadingFilter {
    /// Modality.
    pub modality: Option<String>,
    /// Referring physician row.
    pub referring: Option<i64>,
    /// Assigned radiologist login ("" for unassigned).
    pub radiologist: Option<String>,
}

/// The reading worklist under a filter.
pub fn reading_worklist(
    store: &Store,
    actor: &Actor,
    filter: &ReadingFilter,
    occasion: access::ReadOccasion,
) -> Result<Vec<ReadingRow>, RisError> {
    access::authorise(store, actor, Action::ReadPatient, "reading-worklist")?;
    let rows = store
        .reading_rows()?
        .into_iter()
        .filter(|r| {
            filter
                .modality
                .as_deref()
                .is_none_or(|m| r.modality.eq_ignore_ascii_case(m))
        })
        .filter(|r| filter.referring.is_none_or(|id| r.referring == Some(id)))
        .filter(|r| {
            filter
                .radiologist
                .as_deref()
                .is_none_or(|who| r.assigned_radiologist == who)
        })
        .collect::<Vec<_>>();
    if occasion == access::ReadOccasion::Opened {
        access::audit(
            store,
            actor,
            "reading_worklist.read",
            "reading-worklist",
            "ok",
            &format!("{} exams", rows.len()),
        )?;
    }
    Ok(rows)
}

/// Assigns an exam to a radiologist.
pub fn assign(
    store: &Store,
    actor: &Actor,
    accession: &str,
    radiologist: &str,
) -> Result<(), RisError> {
    access::authorise(store, actor, Action::Report, &format!("order:{accession}"))?;
    let order = super::order_named(store, accession)?;
    store.assign_radiologist(order.id, radiologist)?;
    access::audit(
        store,
        actor,
        "reading.assign",
        &format!("order:{accession}"),
        "ok",
        radiologist,
    )?;
    Ok(())
}

/// Relevant priors of an exam: the patient's other archived studies (found by MRN and every
/// outside identifier), same modality and body part first, then newest first.
pub fn priors(
    store: &Store,
    actor: &Actor,
    accession: &str,
) -> Result<Vec<crate::store::reports::ArchivedStudy>, RisError> {
    access::authorise(
        store,
        actor,
        Action::ReadPatient,
        &format!("order:{accession}"),
    )?;
    let order = super::order_named(store, accession)?;
    let Some(patient_row) = order.patient else {
        return Ok(Vec::new());
    };
    let patient = store.patient(patient_row)?;
    let mut ids = vec![patient.mrn.clone()];
    ids.extend(
        store
            .patient_identifiers(patient_row)?
            .into_iter()
            .map(|i| i.value),
    );
    let current = store.step_of_order(order.id)?.study_uid;
    let procedure = store.procedure(&order.procedure_code)?;
    let (modality, body_part) = procedure
        .map(|p| (p.modality, p.body_part))
        .unwrap_or_default();
    let mut studies: Vec<_> = store
        .archived_studies_of(&ids)?
        .into_iter()
        .filter(|s| s.study_uid != current)
        .collect();
    let relevance = |s: &crate::store::reports::ArchivedStudy| {
        let same_modality = s.modalities.split(',').any(|m| m == modality);
        let same_part = !body_part.is_empty()
            && s.body_parts
                .split(',')
                .any(|b| b.eq_ignore_ascii_case(&body_part));
        u8::from(!same_modality) + u8::from(!same_part)
    };
    studies.sort_by(|a, b| {
        relevance(a)
            .cmp(&relevance(b))
            .then(b.study_date.cmp(&a.study_date))
    });
    access::audit(
        store,
        actor,
        "priors.read",
        &format!("patient:{}", patient.mrn),
        "ok",
        &format!("{} studies", studies.len()),
    )?;
    Ok(studies)
}
