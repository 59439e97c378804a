//! What changed in the practice, as typed events: a patient registered or updated, two
//! patients merged, an order placed, an exam's status moved, images arrived, a report signed,
//! a setting changed. Each lane function that makes such a change records it here, in the
//! transaction of the change where there is one (orders, exam status), else right after it,
//! beside its audit row. Followers — the
//! outbound HL7 producer, the window (which reads again only the screens a change concerns),
//! and later remote workstations — read the journal after their own cursor: a follower that
//! was down catches up, and nobody reads the audit log to find out what happened.

use crate::access::Actor;
use crate::store::changes::StoredChange;
use crate::store::{Store, StoreError};

/// One change, typed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Change {
    /// A patient was registered (here, or by an ADT feed).
    PatientRegistered {
        /// Their MRN.
        mrn: String,
    },
    /// A patient's demographics, identifiers or insurance changed.
    PatientUpdated {
        /// Their MRN.
        mrn: String,
    },
    /// Two patients were merged (`merged` now points to `kept`), or a merge was undone.
    PatientsMerged {
        /// The MRN kept.
        kept: String,
        /// The MRN merged into it.
        merged: String,
        /// Whether this undid the merge.
        undone: bool,
    },
    /// An order was placed (at the desk or by an order feed).
    OrderPlaced {
        /// Its accession number.
        accession: String,
    },
    /// An exam's status moved (scheduled, arrived, started, completed, cancelled, reported…).
    ExamStatusChanged {
        /// The exam's accession number.
        accession: String,
        /// The status it moved to (its stored code).
        status: String,
    },
    /// A study's first images were archived (later images of it are not journalled: the
    /// archive's own events show them arriving).
    ImagesArrived {
        /// The Study Instance UID.
        study_uid: String,
    },
    /// A report was signed, preliminary or final (an addendum is signed like a report).
    ReportSigned {
        /// The exam's accession number.
        accession: String,
    },
    /// A practice setting changed.
    SettingChanged {
        /// Its key.
        key: String,
    },
}

impl Change {
    /// The stored kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::PatientRegistered { .. } => "patient.registered",
            Change::PatientUpdated { .. } => "patient.updated",
            Change::PatientsMerged { undone: false, .. } => "patient.merged",
            Change::PatientsMerged { undone: true, .. } => "patient.unmerged",
            Change::OrderPlaced { .. } => crate::store::changes::ORDER_PLACED,
            Change::ExamStatusChanged { .. } => crate::store::changes::EXAM_STATUS,
            Change::ImagesArrived { .. } => "images.arrived",
            Change::ReportSigned { .. } => "report.signed",
            Change::SettingChanged { .. } => "setting.changed",
        }
    }

    /// The stored subject: what the change concerns, as text — identifiers only (an MRN, an
    /// accession, a study UID, a setting's key), never demographics, so it may go to any
    /// signed-in workstation.
    pub fn subject(&self) -> String {
        match self {
            Change::PatientRegistered { mrn } | Change::PatientUpdated { mrn } => mrn.clone(),
            Change::PatientsMerged { kept, merged, .. } => format!("{kept} {merged}"),
            Change::OrderPlaced { accession } | Change::ReportSigned { accession } => {
                accession.clone()
            }
            Change::ExamStatusChanged { accession, status } => format!("{accession} {status}"),
            Change::ImagesArrived { study_uid } => study_uid.clone(),
            Change::SettingChanged { key } => key.clone(),
        }
    }

    /// The change a journal row stands for (`None` for a kind this version does not know:
    /// a newer program wrote it).
    pub fn from_stored(kind: &str, subject: &str) -> Option<Change> {
        let two = || {
            subject
                .split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        };
        Some(match kind {
            "patient.registered" => Change::PatientRegistered {
                mrn: subject.into(),
            },
            "patient.updated" => Change::PatientUpdated {
                mrn: subject.into(),
            },
            "patient.merged" | "patient.unmerged" => {
                let (kept, merged) = two()?;
                Change::PatientsMerged {
                    kept,
                    merged,
                    undone: kind == "patient.unmerged",
                }
            }
            crate::store::changes::ORDER_PLACED => Change::OrderPlaced {
                accession: subject.into(),
            },
            crate::store::changes::EXAM_STATUS => {
                let (accession, status) = two()?;
                Change::ExamStatusChanged { accession, status }
            }
            "images.arrived" => Change::ImagesArrived {
                study_uid: subject.into(),
            },
            "report.signed" => Change::ReportSigned {
                accession: subject.into(),
            },
            "setting.changed" => Change::SettingChanged {
                key: subject.into(),
            },
            _ => return None,
        })
    }

    /// Whether it concerns patients' records (the Patients screen reads again).
    pub fn concerns_patients(&self) -> bool {
        matches!(
            self,
            Change::PatientRegistered { .. }
                | Change::PatientUpdated { .. }
                | Change::PatientsMerged { .. }
        )
    }

    /// Whether it concerns orders, schedules or exams.
    pub fn concerns_exams(&self) -> bool {
        matches!(
            self,
            Change::OrderPlaced { .. }
                | Change::ExamStatusChanged { .. }
                | Change::ReportSigned { .. }
                | Change::PatientsMerged { .. }
        )
    }

    /// Whether it concerns the archive's studies.
    pub fn concerns_studies(&self) -> bool {
        matches!(
            self,
            Change::ImagesArrived { .. } | Change::PatientsMerged { .. }
        )
    }
}

/// A change as a follower reads it: the change, who made it, when, and the journal cursor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalEntry {
    /// The cursor after this entry.
    pub id: i64,
    /// When (UTC, ISO 8601).
    pub at: String,
    /// Who made it (a login, `hl7:<app>`, `dicom:<AE>`, `system`).
    pub actor: String,
    /// What changed.
    pub change: Change,
}

/// Records `change` made by `actor` (call it inside the change's transaction).
pub fn record(store: &Store, actor: &Actor, change: &Change) -> Result<(), StoreError> {
    record_as(store, &actor.login, change)
}

/// Records `change` made by the actor named `login` (services that hold only a name).
pub fn record_as(store: &Store, login: &str, change: &Change) -> Result<(), StoreError> {
    store.record_change(change.kind(), &change.subject(), login)?;
    Ok(())
}

/// Up to `limit` changes after `cursor`, oldest first, and the cursor to pass next time
/// (past rows of kinds this version does not know, too).
pub fn after(
    store: &Store,
    cursor: i64,
    limit: usize,
) -> Result<(Vec<JournalEntry>, i64), StoreError> {
    let rows: Vec<StoredChange> = store.changes_after(cursor, limit)?;
    let next = rows.last().map_or(cursor, |r| r.id);
    let entries = rows
        .into_iter()
        .filter_map(|r| {
            Some(JournalEntry {
                id: r.id,
                change: Change::from_stored(&r.kind, &r.subject)?,
                at: r.at,
                actor: r.actor,
            })
        })
        .collect();
    Ok((entries, next))
}

/// Where a new follower starts: after everything already recorded.
pub fn head(store: &Store) -> Result<i64, StoreError> {
    store.last_change()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_reads_back_as_itself() {
        let all = [
            Change::PatientRegistered { mrn: "M1".into() },
            Change::PatientUpdated { mrn: "M1".into() },
            Change::PatientsMerged {
                kept: "M1".into(),
                merged: "M2".into(),
                undone: true,
            },
            Change::OrderPlaced {
                accession: "A1".into(),
            },
            Change::ExamStatusChanged {
                accession: "A1".into(),
                status: "in_progress".into(),
            },
            Change::ImagesArrived {
                study_uid: "1.2.3".into(),
            },
            Change::ReportSigned {
                accession: "A1".into(),
            },
            Change::SettingChanged {
                key: "dicom.port".into(),
            },
        ];
        for change in all {
            assert_eq!(
                Change::from_stored(change.kind(), &change.subject()),
                Some(change.clone())
            );
        }
        assert_eq!(Change::from_stored("newer.kind", "x"), None);
    }

    #[test]
    fn a_follower_reads_after_its_cursor_and_skips_unknown_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let start = head(&store).unwrap();
        record(
            &store,
            &Actor::system(),
            &Change::OrderPlaced {
                accession: "A1".into(),
            },
        )
        .unwrap();
        store.record_change("newer.kind", "x", "system").unwrap();
        record_as(
            &store,
            "hl7:EPIC",
            &Change::PatientRegistered { mrn: "M9".into() },
        )
        .unwrap();
        let (entries, next) = after(&store, start, 10).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].actor, "hl7:EPIC");
        assert_eq!(next, head(&store).unwrap());
        assert!(after(&store, next, 10).unwrap().0.is_empty());
    }
}
