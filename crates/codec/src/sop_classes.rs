//! Which SOP classes and transfer syntaxes the archive serves.

use std::sync::OnceLock;

use dicom_dictionary_std::uids;

/// Modality Worklist Information Model – FIND.
pub const MODALITY_WORKLIST_FIND: &str = "1.2.840.10008.5.1.4.31";
/// Modality Performed Procedure Step.
pub const MPPS: &str = "1.2.840.10008.3.1.2.3.3";

/// Verification (C-ECHO).
pub const VERIFICATION: &str = uids::VERIFICATION;
/// Patient Root Q/R FIND.
pub const PATIENT_ROOT_FIND: &str = uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND;
/// Patient Root Q/R MOVE.
pub const PATIENT_ROOT_MOVE: &str = uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_MOVE;
/// Patient Root Q/R GET.
pub const PATIENT_ROOT_GET: &str = uids::PATIENT_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_GET;
/// Study Root Q/R FIND.
pub const STUDY_ROOT_FIND: &str = uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_FIND;
/// Study Root Q/R MOVE.
pub const STUDY_ROOT_MOVE: &str = uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_MOVE;
/// Study Root Q/R GET.
pub const STUDY_ROOT_GET: &str = uids::STUDY_ROOT_QUERY_RETRIEVE_INFORMATION_MODEL_GET;
/// Storage Commitment Push Model.
pub const STORAGE_COMMITMENT: &str = "1.2.840.10008.1.20.1";
/// The Storage Commitment well-known instance.
pub const STORAGE_COMMITMENT_INSTANCE: &str = "1.2.840.10008.1.20.1.1";
/// Implicit VR Little Endian: every peer must accept it.
pub const IMPLICIT_VR_LE: &str = uids::IMPLICIT_VR_LITTLE_ENDIAN;
/// Explicit VR Little Endian: the usual fallback when the stored syntax is refused.
pub const EXPLICIT_VR_LE: &str = uids::EXPLICIT_VR_LITTLE_ENDIAN;

/// Every storage SOP class in the standard dictionary (images, SR, PDF, SEG, presentation
/// states…): what the archive accepts.
pub fn storage_sop_classes() -> &'static [&'static str] {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        STORAGE_CLASSES_TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split('\t').next())
            .collect()
    })
}

/// The table of storage classes, generated from the standard dictionary (see the file).
const STORAGE_CLASSES_TABLE: &str = include_str!("../../../assets/storage_sop_classes.tsv");

/// Whether `uid` is a storage SOP class the archive accepts.
pub fn is_storage_class(uid: &str) -> bool {
    storage_sop_classes().contains(&uid)
}

/// Whether the transfer syntax is one of the three uncompressed native encodings that can be
/// converted to one another without a codec.
pub fn is_native_syntax(ts: &str) -> bool {
    matches!(
        ts,
        "1.2.840.10008.1.2" | "1.2.840.10008.1.2.1" | "1.2.840.10008.1.2.2"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_list_holds_the_common_classes_and_nothing_else() {
        let list = storage_sop_classes();
        assert!(list.contains(&"1.2.840.10008.5.1.4.1.1.2")); // CT
        assert!(list.contains(&"1.2.840.10008.5.1.4.1.1.4")); // MR
        assert!(list.contains(&"1.2.840.10008.5.1.4.1.1.66.4")); // SEG
        assert!(list.contains(&"1.2.840.10008.5.1.4.1.1.104.1")); // PDF
        assert!(!list.contains(&STORAGE_COMMITMENT));
        assert!(!list.contains(&VERIFICATION));
        assert!(list.len() > 100);
    }
}
