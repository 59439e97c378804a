//! Storage Commitment (PS3.4 J): what a modality asks before it deletes its copy, and what
//! we answer. "Committed" means fsynced (see `archive::durability`), never merely received.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::attributes::{is_valid_uid, text};

/// An N-ACTION request: a transaction and the instances it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentRequest {
    /// Transaction UID (0008,1195), echoed in the report.
    pub transaction_uid: String,
    /// (SOP Class UID, SOP Instance UID) pairs.
    pub references: Vec<(String, String)>,
}

/// The state of one referenced instance when the report is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// On stable storage.
    Yes,
    /// Received but not yet synced in time.
    NotYet,
    /// Not in the archive (or under another SOP class).
    Unknown,
}

/// Reads the N-ACTION data set; `None` if it lacks a transaction or references.
pub fn parse_request(obj: &InMemDicomObject) -> Option<CommitmentRequest> {
    let transaction_uid = text(obj, tags::TRANSACTION_UID);
    if !is_valid_uid(&transaction_uid) {
        return None;
    }
    let items = obj.get(tags::REFERENCED_SOP_SEQUENCE)?.items()?;
    let references: Vec<(String, String)> = items
        .iter()
        .map(|item| {
            (
                text(item, tags::REFERENCED_SOP_CLASS_UID),
                text(item, tags::REFERENCED_SOP_INSTANCE_UID),
            )
        })
        .collect();
    if references.is_empty() {
        return None;
    }
    Some(CommitmentRequest {
        transaction_uid,
        references,
    })
}

/// Failure Reason (0008,1197): no such object instance.
const NO_SUCH_OBJECT_INSTANCE: u16 = 0x0112;
/// Failure Reason: processing failure (not yet on stable storage in time).
const PROCESSING_FAILURE: u16 = 0x0110;

/// Builds the N-EVENT-REPORT: Event Type 1 when all are committed, 2 otherwise.
pub fn event_report(request: &CommitmentRequest, states: &[Committed]) -> (u16, InMemDicomObject) {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for ((class, inst), state) in request.references.iter().zip(states) {
        let mut item = InMemDicomObject::new_empty();
        item.put(DataElement::new(
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(class.as_str()),
        ));
        item.put(DataElement::new(
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(inst.as_str()),
        ));
        match state {
            Committed::Yes => ok.push(item),
            Committed::NotYet => {
                item.put(DataElement::new(
                    tags::FAILURE_REASON,
                    VR::US,
                    PrimitiveValue::from(PROCESSING_FAILURE),
                ));
                failed.push(item);
            }
            Committed::Unknown => {
                item.put(DataElement::new(
                    tags::FAILURE_REASON,
                    VR::US,
                    PrimitiveValue::from(NO_SUCH_OBJECT_INSTANCE),
                ));
                failed.push(item);
            }
        }
    }
    let mut ds = InMemDicomObject::new_empty();
    ds.put(DataElement::new(
        tags::TRANSACTION_UID,
        VR::UI,
        PrimitiveValue::from(request.transaction_uid.as_str()),
    ));
    let event_type = if failed.is_empty() { 1 } else { 2 };
    if !ok.is_empty() {
        ds.put(DataElement::new(
            tags::REFERENCED_SOP_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(ok),
        ));
    }
    if !failed.is_empty() {
        ds.put(DataElement::new(
            tags::FAILED_SOP_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(failed),
        ));
    }
    (event_type, ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_splits_committed_and_failed() {
        let req = CommitmentRequest {
            transaction_uid: "1.2.3".into(),
            references: vec![
                ("1.2.840.10008.5.1.4.1.1.2".into(), "1.2.3.4".into()),
                ("1.2.840.10008.5.1.4.1.1.2".into(), "1.2.3.5".into()),
            ],
        };
        let (t, ds) = event_report(&req, &[Committed::Yes, Committed::Unknown]);
        assert_eq!(t, 2);
        assert_eq!(
            ds.get(tags::FAILED_SOP_SEQUENCE)
                .and_then(|e| e.items())
                .map(|i| i.len()),
            Some(1)
        );
        let (t, _) = event_report(&req, &[Committed::Yes, Committed::Yes]);
        assert_eq!(t, 1);
    }
}
