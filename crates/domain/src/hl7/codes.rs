//! How HL7 codes map onto Lightbox's: one table per code set, used by the inbound handler and
//! repeated in the README ("HL7 code mappings").

use crate::ris::Priority;
use crate::ris::reports::DictatedStatus;

/// Priority codes (TQ1-9, OBR-27.6, ORC-7.6, OBR-5 — the first one present wins).
/// P pre-op, C callback and T timing-critical go to ASAP: sooner than routine, not STAT.
pub const PRIORITIES: &[(&str, Priority)] = &[
    ("S", Priority::Stat),
    ("STAT", Priority::Stat),
    ("A", Priority::Asap),
    ("ASAP", Priority::Asap),
    ("P", Priority::Asap),
    ("C", Priority::Asap),
    ("T", Priority::Asap),
    ("R", Priority::Routine),
    ("ROUTINE", Priority::Routine),
];

/// The priority an HL7 code stands for; unknown or empty codes are routine.
pub fn priority(code: &str) -> Priority {
    let code = code.trim().to_ascii_uppercase();
    PRIORITIES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(Priority::Routine, |(_, p)| *p)
}

/// Diagnostic service sections (OBR-24, HL7 table 0074) and DICOM modality codes (IPC-5, and
/// what many senders put in OBR-24) → the DICOM modality of the catalogue.
pub const MODALITIES: &[(&str, &str)] = &[
    ("CT", "CT"),
    ("CTH", "CT"),
    ("NMR", "MR"),
    ("MR", "MR"),
    ("MRI", "MR"),
    ("RUS", "US"),
    ("US", "US"),
    ("RX", "DX"),
    ("RAD", "DX"),
    ("CR", "DX"),
    ("DX", "DX"),
    ("MG", "MG"),
    ("MAM", "MG"),
    ("NMS", "NM"),
    ("NM", "NM"),
    ("BMD", "BMD"),
    ("DXA", "BMD"),
];

/// The DICOM modality an OBR-24 / IPC-5 code stands for, if known.
pub fn modality(code: &str) -> Option<&'static str> {
    let code = code.trim().to_ascii_uppercase();
    MODALITIES.iter().find(|(c, _)| *c == code).map(|(_, m)| *m)
}

/// Result statuses of an inbound ORU (OBR-25, table 0123) → how the report is filed.
pub const RESULT_STATUSES: &[(&str, DictatedStatus)] = &[
    ("P", DictatedStatus::Preliminary),
    ("F", DictatedStatus::Final),
    ("C", DictatedStatus::Corrected),
];

/// How an OBR-25 result status is filed, if it is one a report can take.
pub fn result_status(code: &str) -> Option<DictatedStatus> {
    RESULT_STATUSES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code.trim()))
        .map(|(_, s)| *s)
}

/// Outbound: the exam status that sends a result (OBR-25 / OBX-11 code).
pub fn outbound_result_status(exam_status: &str) -> Option<&'static str> {
    match exam_status {
        "preliminary" => Some("P"),
        "final" => Some("F"),
        "amended" => Some("C"),
        _ => None,
    }
}

/// Outbound: the exam status that sends an order status to the placer (ORC-5, table 0038).
pub fn outbound_order_status(exam_status: &str) -> Option<&'static str> {
    match exam_status {
        "scheduled" => Some("SC"),
        "in_progress" => Some("IP"),
        "completed" => Some("CM"),
        "cancelled" => Some("CA"),
        "discontinued" => Some("DC"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_as_documented() {
        assert_eq!(priority("s"), Priority::Stat);
        assert_eq!(priority("T"), Priority::Asap);
        assert_eq!(priority(""), Priority::Routine);
        assert_eq!(modality("NMR"), Some("MR"));
        assert_eq!(modality("RUS"), Some("US"));
        assert_eq!(modality("XX"), None);
        assert_eq!(result_status("C"), Some(DictatedStatus::Corrected));
        assert_eq!(result_status("X"), None);
    }
}
