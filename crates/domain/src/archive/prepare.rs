//! From received bytes to an index row: read the identifying attributes (tolerantly, and
//! only the attributes: the pixel data is stored as it came), check the UIDs against what the
//! sender announced, write the file meta group, and describe the instance for the index.
//! Objects that arrived whole in memory and objects streamed into a `.part` file take the
//! same checks.

use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::ArchiveFolder;
use super::part::PartFile;
use super::received::{IngestError, ReceivedObject};
use crate::pacs::attributes::{is_usable_uid, is_valid_uid, text};
use crate::store::index::NewInstance;
use lightbox_codec::uids::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION};

fn transfer_syntax(uid: &str) -> Result<&'static dicom_encoding::TransferSyntax, IngestError> {
    TransferSyntaxRegistry
        .get(uid.trim_end_matches('\0'))
        .ok_or_else(|| IngestError::UnsupportedSyntax(uid.to_string()))
}

/// Parses, validates and writes an object that arrived whole; returns the index row to commit
/// and what was tolerated on the way.
pub fn prepare(
    archive: &ArchiveFolder,
    object: ReceivedObject,
) -> Result<(NewInstance, Vec<String>), IngestError> {
    let ts = transfer_syntax(&object.transfer_syntax)?;
    // Impossible lengths are refused before any parse reserves them.
    lightbox_codec::lengths::check_for_transfer_syntax(&object.dataset, ts.uid())
        .map_err(|e| IngestError::Unreadable(e.to_string()))?;
    let read = pixel_data_offset(&object.dataset, object.dataset.len() as u64, ts)
        .and_then(|end| object.dataset.get(..end))
        .and_then(|head| lightbox_codec::tolerant::read_dataset(head, ts).ok());
    let read = match read {
        Some(r) => r,
        None => lightbox_codec::tolerant::read_dataset(object.dataset.as_slice(), ts)
            .map_err(IngestError::Unreadable)?,
    };
    let (obj, mut tolerated) = (read.object, read.warnings);
    let ids = identify(
        &obj,
        object.announced_sop_class.as_deref(),
        object.announced_sop_instance.as_deref(),
        &mut tolerated,
    )?;
    let head = meta_head(&ids.sop_class, &ids.sop_uid, ts.uid(), &object.source)?;
    let file_size = (head.len() + object.dataset.len()) as u64;
    let file_path = archive.put(&[&head, &object.dataset])?;
    Ok((
        new_instance(obj, ids, file_path, file_size, ts.uid(), object.source),
        tolerated,
    ))
}

/// Validates an object streamed into `part` and gives the file its final name. The header is
/// read from the kept prefix, or from the file when the attributes before the pixel data are
/// larger than the prefix.
pub fn prepare_part(
    archive: &ArchiveFolder,
    mut part: PartFile,
) -> Result<(NewInstance, Vec<String>), IngestError> {
    part.close()?;
    let announced = part.announced().clone();
    let ts = transfer_syntax(&announced.transfer_syntax)?;
    let prefix = part.prefix();
    let from_prefix = if part.prefix_is_whole() {
        Some(prefix)
    } else {
        pixel_data_offset(prefix, part.dataset_len(), ts).and_then(|end| prefix.get(..end))
    };
    let (obj, mut tolerated) = match from_prefix {
        Some(head) => {
            let read = lightbox_codec::tolerant::read_dataset(head, ts)
                .map_err(IngestError::Unreadable)?;
            (read.object, read.warnings)
        }
        None => {
            // Attributes beyond the prefix (an enhanced object with thousands of frames):
            // parsed from the file up to the pixel data, never the pixel data itself.
            let file = dicom_object::OpenFileOptions::new()
                .read_until(tags::PIXEL_DATA)
                .open_file(part.temp_path())
                .map_err(|e| IngestError::Unreadable(e.to_string()))?;
            let mut obj = file.into_inner();
            let warnings = lightbox_codec::tolerant::drop_malformed_numbers(&mut obj);
            (obj, warnings)
        }
    };
    let ids = identify(
        &obj,
        Some(announced.sop_class.as_str()),
        Some(announced.sop_instance.as_str()),
        &mut tolerated,
    )?;
    let file_size = part.file_len();
    let file_path = part.keep(archive)?;
    Ok((
        new_instance(obj, ids, file_path, file_size, ts.uid(), announced.source),
        tolerated,
    ))
}

/// The preamble, `DICM` and the file meta group Lightbox writes before a data set.
pub fn meta_head(
    sop_class: &str,
    sop_uid: &str,
    transfer_syntax: &str,
    source: &str,
) -> Result<Vec<u8>, IngestError> {
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop_uid)
        .transfer_syntax(transfer_syntax)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION)
        .source_application_entity_title(source)
        .build()
        .map_err(|e| IngestError::Unreadable(format!("cannot build the file meta group: {e}")))?;
    let mut head = Vec::with_capacity(400);
    head.extend_from_slice(&[0u8; 128]);
    head.extend_from_slice(b"DICM");
    meta.write(&mut head)
        .map_err(|e| IngestError::Unreadable(format!("cannot write the file meta group: {e}")))?;
    Ok(head)
}

/// The four UIDs an archived instance cannot do without.
struct Identity {
    sop_class: String,
    sop_uid: String,
    study_uid: String,
    series_uid: String,
}

/// Reads the UIDs and checks them against what the sender announced.
fn identify(
    obj: &InMemDicomObject,
    announced_class: Option<&str>,
    announced_instance: Option<&str>,
    tolerated: &mut Vec<String>,
) -> Result<Identity, IngestError> {
    let sop_class = required_uid(obj, tags::SOP_CLASS_UID, "SOP Class UID", tolerated)?;
    let sop_uid = required_uid(obj, tags::SOP_INSTANCE_UID, "SOP Instance UID", tolerated)?;
    let study_uid = required_uid(
        obj,
        tags::STUDY_INSTANCE_UID,
        "Study Instance UID",
        tolerated,
    )?;
    let series_uid = required_uid(
        obj,
        tags::SERIES_INSTANCE_UID,
        "Series Instance UID",
        tolerated,
    )?;
    if let Some(announced) = announced_class
        && announced != sop_class
    {
        return Err(IngestError::Mismatch {
            what: "SOP Class UID",
            found: sop_class,
            announced: announced.to_string(),
        });
    }
    if let Some(announced) = announced_instance
        && announced != sop_uid
    {
        return Err(IngestError::Mismatch {
            what: "SOP Instance UID",
            found: sop_uid,
            announced: announced.to_string(),
        });
    }
    Ok(Identity {
        sop_class,
        sop_uid,
        study_uid,
        series_uid,
    })
}

fn new_instance(
    mut obj: InMemDicomObject,
    ids: Identity,
    file_path: String,
    file_size: u64,
    transfer_syntax: &str,
    source: String,
) -> NewInstance {
    let header_hash = header_hash(&mut obj);
    NewInstance {
        patient_id: text(&obj, tags::PATIENT_ID),
        issuer: text(&obj, tags::ISSUER_OF_PATIENT_ID),
        patient_name: text(&obj, tags::PATIENT_NAME),
        birth_date: text(&obj, tags::PATIENT_BIRTH_DATE),
        sex: text(&obj, tags::PATIENT_SEX),
        study_uid: ids.study_uid,
        study_date: text(&obj, tags::STUDY_DATE),
        study_time: text(&obj, tags::STUDY_TIME),
        accession: text(&obj, tags::ACCESSION_NUMBER),
        study_id: text(&obj, tags::STUDY_ID),
        study_description: text(&obj, tags::STUDY_DESCRIPTION),
        referring: text(&obj, tags::REFERRING_PHYSICIAN_NAME),
        series_uid: ids.series_uid,
        modality: text(&obj, tags::MODALITY),
        series_number: text(&obj, tags::SERIES_NUMBER),
        series_description: text(&obj, tags::SERIES_DESCRIPTION),
        body_part: text(&obj, tags::BODY_PART_EXAMINED),
        sop_uid: ids.sop_uid,
        sop_class: ids.sop_class,
        instance_number: text(&obj, tags::INSTANCE_NUMBER),
        file_path,
        file_size,
        transfer_syntax: transfer_syntax.to_string(),
        header_hash,
        received_from: source,
    }
}

/// Where the top-level Pixel Data element starts, if that can be told for certain from the
/// bytes: the first (7FE0,0010) tag, if its header is consistent with the rest of the data set
/// (its length reaches the end — `total_len` bytes, of which `dataset` may be only the start
/// — allowing trailing padding, or is undefined for encapsulated data). Deflated data sets
/// are never split.
fn pixel_data_offset(
    dataset: &[u8],
    total_len: u64,
    ts: &dicom_encoding::TransferSyntax,
) -> Option<usize> {
    if ts.uid() == "1.2.840.10008.1.2.1.99" || dataset.len() < 12 {
        return None;
    }
    let big_endian = ts.uid() == "1.2.840.10008.1.2.2";
    let tag: [u8; 4] = if big_endian {
        [0x7F, 0xE0, 0x00, 0x10]
    } else {
        [0xE0, 0x7F, 0x10, 0x00]
    };
    // Forward search (SIMD-accelerated, and the pixel data follows a header of a few KiB).
    // A hit inside an earlier value fails the length check below and we parse in full.
    let start = memchr::memmem::find(dataset, &tag)?;
    let rest = &dataset[start..];
    let u32_at = |b: &[u8]| -> Option<u32> {
        let a: [u8; 4] = b.get(0..4)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    };
    let (header_len, len) = if ts.uid() == "1.2.840.10008.1.2" {
        (8usize, u32_at(rest.get(4..8)?)?)
    } else {
        let vr = rest.get(4..6)?;
        if vr != b"OB" && vr != b"OW" && vr != b"UN" || rest.get(6..8)? != [0, 0] {
            return None;
        }
        (12usize, u32_at(rest.get(8..12)?)?)
    };
    if len == u32::MAX {
        return Some(start);
    }
    let end = start.checked_add(header_len)?.checked_add(len as usize)?;
    if end as u64 == total_len {
        return Some(start);
    }
    // Only Data Set Trailing Padding (FFFC,FFFC) may follow the pixel data.
    let after = dataset.get(end..)?;
    let padding_tag: [u8; 4] = [0xFC, 0xFF, 0xFC, 0xFF];
    (after.is_empty() || after.starts_with(&padding_tag)).then_some(start)
}

/// Hash of the attributes without pixel data in Explicit VR Little Endian: equal for the
/// same object received in two transfer syntaxes. Consumes the pixel data of `obj`.
fn header_hash(obj: &mut InMemDicomObject) -> String {
    obj.remove_element(tags::PIXEL_DATA);
    obj.remove_element(tags::DATA_SET_TRAILING_PADDING);
    let mut bytes = Vec::new();
    let written = TransferSyntaxRegistry
        .get("1.2.840.10008.1.2.1")
        .map(|ts| obj.write_dataset_with_ts(&mut bytes, ts).is_ok())
        .unwrap_or(false);
    if written {
        blake3::hash(&bytes).to_hex().to_string()
    } else {
        String::new()
    }
}

/// A UID the object cannot be archived without. A non-conformant one (letters, say) that can
/// still serve as an identifier is accepted and noted in `tolerated`.
fn required_uid(
    obj: &InMemDicomObject,
    tag: dicom_core::Tag,
    name: &'static str,
    tolerated: &mut Vec<String>,
) -> Result<String, IngestError> {
    let value = text(obj, tag);
    if is_valid_uid(&value) {
        Ok(value)
    } else if is_usable_uid(&value) {
        tolerated.push(format!(
            "{name} {value:?} is not a conformant UID; accepted as an identifier"
        ));
        Ok(value)
    } else {
        Err(IngestError::BadUid { name, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(uid: &str) -> &'static dicom_encoding::TransferSyntax {
        TransferSyntaxRegistry.get(uid).expect("known syntax")
    }

    #[test]
    fn pixel_data_split_finds_native_pixel_data_and_refuses_lookalikes() {
        // Explicit VR LE: (0010,0010) PN "A^B", then (7FE0,0010) OW with 4 bytes.
        let mut ds = vec![
            0x10, 0x00, 0x10, 0x00, b'P', b'N', 4, 0, b'A', b'^', b'B', b' ',
        ];
        let start = ds.len();
        ds.extend_from_slice(&[
            0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0, 4, 0, 0, 0, 1, 2, 3, 4,
        ]);
        assert_eq!(
            pixel_data_offset(&ds, ds.len() as u64, ts("1.2.840.10008.1.2.1")),
            Some(start)
        );
        // A length that does not reach the end exactly is not trusted.
        let mut bad = ds.clone();
        bad.push(9);
        assert_eq!(
            pixel_data_offset(&bad, bad.len() as u64, ts("1.2.840.10008.1.2.1")),
            None
        );
        // Deflated data sets are never split.
        assert_eq!(
            pixel_data_offset(&ds, ds.len() as u64, ts("1.2.840.10008.1.2.1.99")),
            None
        );
    }
}
