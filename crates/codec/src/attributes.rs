//! Reading identifying attributes from a data set and checking UIDs.

use dicom_core::Tag;
use dicom_object::InMemDicomObject;

/// The text value of an attribute, trimmed of DICOM padding; empty when absent or binary.
pub fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| trim_padding(&s).to_string())
        .unwrap_or_default()
}

/// Removes the trailing spaces and NULs DICOM pads values with.
pub fn trim_padding(s: &str) -> &str {
    s.trim_end_matches(['\0', ' ']).trim_start_matches(' ')
}

/// Whether `uid` is a syntactically valid UID (`^[0-9.]{1,64}$`, no empty components).
/// Every UID from a peer passes through this before any use, so none can smuggle a path.
pub fn is_valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 64
        && uid.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !uid.starts_with('.')
        && !uid.ends_with('.')
        && !uid.contains("..")
}

/// Whether a UID that is not conformant can still serve as an identifier: the wild has
/// files whose UIDs carry letters or stray characters, and refusing them loses the image.
/// Files are named by internal ids, so a UID never reaches a path; what is refused is what
/// would break DICOM encoding or a query (`\\`, control characters, wildcards, over 64
/// bytes, empty) and, for defence in depth, anything that reads like a path (`/`).
pub fn is_usable_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 64
        && uid
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '\\' | '*' | '?' | '/'))
}

/// A DICOM date `YYYYMMDD` as `YYYY-MM-DD`, if it is one (a real calendar day).
pub fn iso_date(dicom_date: &str) -> Option<String> {
    let d = trim_padding(dicom_date);
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    chrono::NaiveDate::parse_from_str(d, "%Y%m%d")
        .ok()
        .map(|date| date.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_tolerated_uids() {
        assert_eq!(iso_date("20261202").as_deref(), Some("2026-12-02"));
        assert_eq!(iso_date("2026120é"), None);
        assert_eq!(iso_date("20260231"), None);
        assert_eq!(iso_date("1234567é"), None);
        assert!(is_usable_uid("1.2.3.ABC.4"));
        assert!(!is_usable_uid("1.2\\3"));
        assert!(!is_usable_uid("1.2\n3"));
        assert!(!is_usable_uid("1.2.*"));
        assert!(!is_usable_uid(&"1".repeat(65)));
        assert!(!is_usable_uid("1.2.é"));
    }

    #[test]
    fn uid_validation_refuses_path_tricks() {
        assert!(is_valid_uid("1.2.840.10008.1.1"));
        assert!(!is_valid_uid("../x"));
        assert!(!is_valid_uid("1..2"));
        assert!(!is_valid_uid(""));
        assert!(!is_valid_uid("1.2.3/4"));
        assert!(!is_valid_uid(&"1".repeat(65)));
    }
}
