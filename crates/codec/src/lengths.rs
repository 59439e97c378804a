//! A walk over a data set's element headers before it is parsed, refusing any declared length
//! that runs past the bytes that follow. dicom-rs reserves and zero-fills a value's declared
//! length before reading it, so a damaged file or a hostile peer declaring a 4 GiB element in a
//! 100-byte message would cost seconds and gigabytes; this check makes that an error instead.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

/// A length that does not fit, or a header cut short.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "element {tag} at byte {offset} declares {declared} bytes, which does not fit ({remaining} follow)"
)]
pub struct LengthError {
    /// The element (or item) with the impossible length.
    pub tag: String,
    /// Where its header starts in the data set.
    pub offset: usize,
    /// The declared length.
    pub declared: u64,
    /// The bytes after its header.
    pub remaining: usize,
}

/// Whether an explicit VR has a 4-byte length after 2 reserved bytes (PS3.5 7.1.2). Only the
/// short-form VRs are listed: an unknown VR is read as UN (long form) by dicom-rs, so it is here.
fn has_long_length(vr: &[u8]) -> bool {
    !matches!(
        vr,
        b"AE"
            | b"AS"
            | b"AT"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"FL"
            | b"FD"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"SL"
            | b"SS"
            | b"ST"
            | b"TM"
            | b"UI"
            | b"UL"
            | b"US"
    )
}

fn dictionary_vr(tag: Tag) -> Option<VR> {
    match StandardDataDictionary.by_tag(tag)?.vr() {
        VirtualVr::Exact(vr) => Some(vr),
        _ => None,
    }
}

/// The size of one value of a fixed-size numeric VR. dicom-rs reads `length / size` values, so
/// a length that is not a multiple would leave it out of step with the bytes.
fn fixed_value_size(vr: &[u8]) -> Option<u32> {
    match vr {
        b"US" | b"SS" => Some(2),
        b"UL" | b"SL" | b"FL" | b"AT" => Some(4),
        b"FD" => Some(8),
        _ => None,
    }
}

/// Checks every declared length in `data` (a data set without its file meta group, in the
/// given encoding). Contents of undefined-length UN elements and deflated data sets are not
/// walked (their inner encoding differs); everything else is.
pub fn check_declared_lengths(
    data: &[u8],
    explicit: bool,
    big_endian: bool,
) -> Result<(), LengthError> {
    let u16_at = |at: usize| -> u16 {
        let b = [data[at], data[at + 1]];
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let u32_at = |at: usize| -> u32 {
        let b = [data[at], data[at + 1], data[at + 2], data[at + 3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    // Depth of encapsulated pixel data we are inside (items there hold fragments, not elements).
    let mut in_pixel_sequence = 0usize;
    let mut at = 0usize;
    while at < data.len() {
        let cut = |need: usize| LengthError {
            tag: "header".into(),
            offset: at,
            declared: need as u64,
            remaining: data.len() - at,
        };
        if data.len() - at < 8 {
            // Trailing padding shorter than a header is tolerated by every reader.
            return if data[at..].iter().all(|b| *b == 0) {
                Ok(())
            } else {
                Err(cut(8))
            };
        }
        let tag = Tag(u16_at(at), u16_at(at + 2));
        let too_long = |declared: u64, header: usize| LengthError {
            tag: format!("{tag}"),
            offset: at,
            declared,
            remaining: data.len() - at - header,
        };
        if tag.0 == 0xFFFE {
            let length = u32_at(at + 4);
            match tag.1 {
                0xE0DD => in_pixel_sequence = in_pixel_sequence.saturating_sub(1),
                0xE000 if length != u32::MAX => {
                    if u64::from(length) > (data.len() - at - 8) as u64 {
                        return Err(too_long(u64::from(length), 8));
                    }
                    if in_pixel_sequence > 0 {
                        at += length as usize; // a fragment: skip its bytes
                    }
                }
                _ => {}
            }
            at += 8;
            continue;
        }
        let vr: [u8; 2] = if explicit {
            [data[at + 4], data[at + 5]]
        } else {
            dictionary_vr(tag)
                .map(|v| {
                    let b = v.to_bytes();
                    [b[0], b[1]]
                })
                .unwrap_or(*b"UN")
        };
        let (length, header) = if explicit {
            if has_long_length(&vr) {
                if data.len() - at < 12 {
                    return Err(cut(12));
                }
                (u32_at(at + 8), 12)
            } else {
                (u32::from(u16_at(at + 6)), 8)
            }
        } else {
            (u32_at(at + 4), 8)
        };
        let sequence = &vr == b"SQ";
        if let Some(size) = fixed_value_size(&vr)
            && length != u32::MAX
            && length % size != 0
        {
            return Err(LengthError {
                tag: format!(
                    "{tag} ({} of {size}-byte values)",
                    String::from_utf8_lossy(&vr)
                ),
                offset: at,
                declared: u64::from(length),
                remaining: data.len() - at - header,
            });
        }
        if length == u32::MAX {
            if tag == Tag(0x7FE0, 0x0010) {
                in_pixel_sequence += 1;
            } else if explicit && &vr == b"UN" {
                // Undefined-length UN holds implicit VR inside: stop here, it is rare and the
                // parser bounds what it reads by the bytes it actually has.
                return Ok(());
            }
            at += header;
            continue;
        }
        if u64::from(length) > (data.len() - at - header) as u64 {
            return Err(too_long(u64::from(length), header));
        }
        // Walk into defined-length sequences (their items hold elements); skip other values.
        at += header + if sequence { 0 } else { length as usize };
    }
    Ok(())
}

/// `check_declared_lengths` for a transfer syntax UID (deflated syntaxes are not walked).
pub fn check_for_transfer_syntax(data: &[u8], transfer_syntax: &str) -> Result<(), LengthError> {
    match transfer_syntax.trim_end_matches('\0') {
        "1.2.840.10008.1.2" => check_declared_lengths(data, false, false),
        "1.2.840.10008.1.2.2" => check_declared_lengths(data, true, true),
        "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.8.1" => Ok(()),
        _ => check_declared_lengths(data, true, false),
    }
}

/// Checks a DICOM file from just after its `DICM` marker: the file meta group (always explicit
/// VR little endian), then the data set in the transfer syntax the meta group names.
pub fn check_file_after_marker(bytes: &[u8]) -> Result<(), LengthError> {
    let mut at = 0usize;
    let mut transfer_syntax = String::new();
    while at + 8 <= bytes.len() && u16::from_le_bytes([bytes[at], bytes[at + 1]]) == 0x0002 {
        let element = u16::from_le_bytes([bytes[at + 2], bytes[at + 3]]);
        let vr = &bytes[at + 4..at + 6];
        let (length, header) = if has_long_length(vr) {
            if at + 12 > bytes.len() {
                break;
            }
            let b = &bytes[at + 8..at + 12];
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        } else {
            (
                usize::from(u16::from_le_bytes([bytes[at + 6], bytes[at + 7]])),
                8,
            )
        };
        if length > bytes.len() - at - header {
            return Err(LengthError {
                tag: format!("{}", Tag(0x0002, element)),
                offset: at,
                declared: length as u64,
                remaining: bytes.len() - at - header,
            });
        }
        if element == 0x0010 {
            transfer_syntax = String::from_utf8_lossy(&bytes[at + header..at + header + length])
                .trim_end_matches(['\0', ' '])
                .to_string();
        }
        at += header + length;
    }
    check_for_transfer_syntax(&bytes[at..], &transfer_syntax)
}

/// Parses a data set after checking its declared lengths: the one entry point for data sets
/// that come from peers or files (the parser alone would reserve whatever a header declares).
/// Read tolerantly (see [`super::tolerant`]): what was repaired is logged.
pub fn read_checked(
    bytes: &[u8],
    ts: &dicom_encoding::TransferSyntax,
) -> Result<dicom_object::InMemDicomObject, String> {
    let read = super::tolerant::read_dataset(bytes, ts)?;
    for warning in &read.warnings {
        tracing::warn!(%warning, "tolerated in a data set");
    }
    Ok(read.object)
}

/// Parses after checking declared lengths, with no repair (the tolerant reader's last step).
pub fn read_checked_strict(
    bytes: &[u8],
    ts: &dicom_encoding::TransferSyntax,
) -> Result<dicom_object::InMemDicomObject, String> {
    check_for_transfer_syntax(bytes, ts.uid()).map_err(|e| e.to_string())?;
    dicom_object::InMemDicomObject::read_dataset_with_ts(bytes, ts).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit_element(group: u16, element: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&group.to_le_bytes());
        out.extend_from_slice(&element.to_le_bytes());
        out.extend_from_slice(vr);
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn a_well_formed_data_set_passes() {
        let mut data = explicit_element(0x0008, 0x0060, b"CS", b"CT");
        data.extend(explicit_element(0x0010, 0x0010, b"PN", b"DOE^JO"));
        assert_eq!(check_declared_lengths(&data, true, false), Ok(()));
    }

    #[test]
    fn a_length_past_the_end_is_refused_before_any_allocation() {
        let mut data = explicit_element(0x0008, 0x0060, b"CS", b"CT");
        // OB with a 4-byte length of 0x7FFFFFFF and 4 bytes of value.
        data.extend_from_slice(&[0x09, 0x00, 0x10, 0x10, b'O', b'B', 0, 0]);
        data.extend_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
        data.extend_from_slice(&[1, 2, 3, 4]);
        let error = check_declared_lengths(&data, true, false).unwrap_err();
        assert_eq!(error.declared, 0x7FFF_FFFF);
        assert_eq!(error.remaining, 4);
        assert!(error.to_string().contains("(0009,1010)"), "{error}");
    }

    #[test]
    fn lengths_inside_implicit_sequences_are_checked_too() {
        // Implicit VR: Referenced Study Sequence (0008,1110) with one item whose element lies.
        let mut inner = Vec::new();
        inner.extend_from_slice(&[0x08, 0x00, 0x50, 0x11]);
        inner.extend_from_slice(&0xFFFF_0000u32.to_le_bytes());
        let mut item = vec![0xFE, 0xFF, 0x00, 0xE0];
        item.extend_from_slice(&(inner.len() as u32).to_le_bytes());
        item.extend(inner);
        let mut data = vec![0x08, 0x00, 0x10, 0x11];
        data.extend_from_slice(&(item.len() as u32).to_le_bytes());
        data.extend(item);
        assert!(check_declared_lengths(&data, false, false).is_err());
    }

    #[test]
    fn encapsulated_fragments_are_skipped_and_checked() {
        let mut data = vec![
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        // Empty offset table, one 4-byte fragment that looks like a huge element inside.
        data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
        data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        data.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        assert_eq!(check_declared_lengths(&data, true, false), Ok(()));
        // A fragment longer than what follows.
        let n = data.len();
        data[n - 16] = 0x40;
        assert!(check_declared_lengths(&data, true, false).is_err());
    }
}
