//! Data sets out: encoding in a transfer syntax (in the character set the data set declares),
//! and finding where a stored Part 10 file's data set starts.

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// Encodes a data set in a transfer syntax, in UTF-8 when it declares ISO_IR 192 (Latin-1 for
/// ISO_IR 100).
pub fn encode_dataset(
    obj: &InMemDicomObject,
    ts: &dicom_encoding::TransferSyntax,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let declared = obj
        .get(tags::SPECIFIC_CHARACTER_SET)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.to_string())
        .unwrap_or_default();
    let result = if declared.contains("192") {
        obj.write_dataset_with_ts_cs(
            &mut out,
            ts,
            dicom_encoding::text::SpecificCharacterSet::ISO_IR_192,
        )
    } else if declared.contains("ISO_IR 100") {
        obj.write_dataset_with_ts_cs(
            &mut out,
            ts,
            dicom_encoding::text::SpecificCharacterSet::ISO_IR_100,
        )
    } else {
        obj.write_dataset_with_ts(&mut out, ts)
    };
    result.map_err(|e| e.to_string())?;
    Ok(out)
}

/// Where the data set starts in a Part 10 file: 128-byte preamble, "DICM", then the meta
/// group whose length (0002,0000) is the first element.
pub fn dataset_offset(file: &[u8]) -> Option<usize> {
    let head = file.get(..144)?;
    if head.get(128..132) != Some(b"DICM".as_slice()) || head.get(132..136) != Some(&[2, 0, 0, 0]) {
        return None;
    }
    let len = u32::from_le_bytes([head[140], head[141], head[142], head[143]]) as usize;
    let offset = 144usize.checked_add(len)?;
    (offset <= file.len()).then_some(offset)
}
