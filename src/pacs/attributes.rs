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

#[cfg(test)]
mod tests {
    use super::*;

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
