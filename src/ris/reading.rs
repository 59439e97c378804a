//! The radiologist's reading worklist: exams ready to read (and preliminary ones awaiting a
//! final), STAT first, then ASAP, then routine, oldest first; filtered by modality, referring
//! physician and assigned radiologist.

use super::RisError;
use crate::access::{self, Action, Actor};
use crate::store::Store;
use crate::store::reports::ReadingRow;

/// Filters of the reading worklist (None: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    access::audit(
        store,
        actor,
        "reading_worklist.read",
        "reading-worklist",
        "ok",
        &format!("{} exams", rows.len()),
    )?;
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
    let order = store
        .order_by_accession(accession)?
        .ok_or_else(|| RisError::NotFound(format!("order {accession}")))?;
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
