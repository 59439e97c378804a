//! Tolerant reading: what the wild sends, read the way the standard and the usual archives
//! read it, in one place for C-STORE, import, C-FIND identifiers and rendering.
//!
//! - **UN of known tags** (anonymisers and old gateways write every element as UN): a UN
//!   element's value is always encoded Implicit VR Little Endian (PS3.5 6.2.2), so it is read
//!   with the dictionary's VR — including UN sequences of undefined length, whose items are
//!   implicit-VR data sets that a plain explicit-VR parser would misread.
//! - **Malformed numbers** (IS/DS values that are no numbers: `Number of Frames` = `1.0x`) in
//!   attributes that identify nothing become absent, with a warning, instead of failing the
//!   whole object.
//!
//! The bytes a peer sent are archived as they came; only what Lightbox *reads* from them is
//! repaired.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::header::Header;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use dicom_object::InMemDicomObject;

/// Explicit VR Little Endian.
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// VRs whose explicit-VR header has a 2-byte reserved field and a 4-byte length.
fn has_long_length(vr: &[u8]) -> bool {
    matches!(
        vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"SV"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"UV"
    )
}

/// The dictionary's VR for `tag`, when it is one VR whatever the context.
fn dictionary_vr(tag: Tag) -> Option<VR> {
    if tag.group() % 2 == 1 {
        return None; // private: no dictionary
    }
    match StandardDataDictionary.by_tag(tag)?.vr() {
        VirtualVr::Exact(vr) if vr != VR::UN => Some(vr),
        // US or SS by Pixel Representation, OB or OW: not decidable here; kept as UN.
        _ => None,
    }
}

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQUENCE_END: (u16, u16) = (0xFFFE, 0xE0DD);

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u16(&mut self) -> Option<u16> {
        let b = self.bytes.get(self.at..self.at + 2)?;
        self.at += 2;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.bytes.get(self.at..self.at + 4)?;
        self.at += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(b)
    }
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

fn put_tag(out: &mut Vec<u8>, group: u16, element: u16) {
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
}

/// Writes an explicit-VR header (long or short form as the VR needs).
fn put_explicit_header(out: &mut Vec<u8>, group: u16, element: u16, vr: VR, len: u32) {
    put_tag(out, group, element);
    let code = vr.to_bytes();
    out.extend_from_slice(&code);
    if has_long_length(&code) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        // Callers check that the length fits.
        out.extend_from_slice(&(len as u16).to_le_bytes());
    }
}

/// Rewrites an Explicit VR Little Endian data set so that UN elements of known tags carry
/// their dictionary VR. None when there is nothing to rewrite or the bytes cannot be walked
/// (the ordinary parser then reports the fault).
pub fn reencode_un(dataset: &[u8]) -> Option<Vec<u8>> {
    // Most data sets have no UN at all: nothing to walk.
    memchr::memmem::find(dataset, b"UN\0\0")?;
    let mut out = Vec::with_capacity(dataset.len() + 64);
    let mut reader = Reader {
        bytes: dataset,
        at: 0,
    };
    let mut changed = 0usize;
    explicit_elements(&mut reader, &mut out, None, &mut changed, 0)?;
    (changed > 0).then_some(out)
}

/// Copies explicit-VR elements until the end, or until the delimiter `until` (copied too).
fn explicit_elements(
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
    until: Option<(u16, u16)>,
    changed: &mut usize,
    depth: usize,
) -> Option<()> {
    if depth > 32 {
        return None;
    }
    while !r.done() {
        let (group, element) = (r.u16()?, r.u16()?);
        if group == 0xFFFE {
            let len = r.u32()?;
            put_tag(out, group, element);
            if (group, element) == ITEM && len != UNDEFINED {
                // A defined-length item: its contents may change length.
                out.extend_from_slice(&0u32.to_le_bytes());
                let start = out.len();
                let body = r.take(len as usize)?;
                let mut inner = Reader { bytes: body, at: 0 };
                explicit_elements(&mut inner, out, None, changed, depth + 1)?;
                patch_length(out, start)?;
            } else {
                out.extend_from_slice(&len.to_le_bytes());
            }
            if Some((group, element)) == until {
                return Some(());
            }
            continue;
        }
        let vr = r.take(2)?;
        let long = has_long_length(vr);
        let len = if long {
            r.take(2)?;
            r.u32()?
        } else {
            u32::from(r.u16()?)
        };
        let tag = Tag(group, element);
        if vr == b"UN"
            && let Some(known) = dictionary_vr(tag)
        {
            if known == VR::SQ {
                put_explicit_header(out, group, element, VR::SQ, UNDEFINED);
                implicit_sequence(r, out, len, changed, depth + 1)?;
                put_tag(out, SEQUENCE_END.0, SEQUENCE_END.1);
                out.extend_from_slice(&0u32.to_le_bytes());
                *changed += 1;
                continue;
            }
            let code = known.to_bytes();
            if len != UNDEFINED && (has_long_length(&code) || len <= 0xFFFF) {
                put_explicit_header(out, group, element, known, len);
                out.extend_from_slice(r.take(len as usize)?);
                *changed += 1;
                continue;
            }
        }
        // Copied as it is.
        put_tag(out, group, element);
        out.extend_from_slice(vr);
        if long {
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&len.to_le_bytes());
        } else {
            out.extend_from_slice(&(len as u16).to_le_bytes());
        }
        if len == UNDEFINED {
            if vr == b"UN" {
                // An unknown UN sequence: its contents are implicit VR; copy them as they are
                // up to the matching delimiter.
                copy_implicit_until_sequence_end(r, out, depth + 1)?;
            } else if vr == b"SQ" {
                explicit_elements(r, out, Some(SEQUENCE_END), changed, depth + 1)?;
            } else {
                // Encapsulated pixel data: fragments are bytes, copied as they are.
                copy_fragments(r, out)?;
            }
        } else if vr == b"SQ" {
            let start = out.len();
            let body = r.take(len as usize)?;
            let mut inner = Reader { bytes: body, at: 0 };
            explicit_elements(&mut inner, out, None, changed, depth + 1)?;
            patch_length(out, start)?;
        } else {
            out.extend_from_slice(r.take(len as usize)?);
        }
    }
    Some(())
}

/// Sets the 4-byte length that ends just before `start` to what was written since.
fn patch_length(out: &mut [u8], start: usize) -> Option<()> {
    let new_len = u32::try_from(out.len().checked_sub(start)?).ok()?;
    out.get_mut(start.checked_sub(4)?..start)?
        .copy_from_slice(&new_len.to_le_bytes());
    Some(())
}

/// Copies the items of encapsulated pixel data up to its sequence delimiter.
fn copy_fragments(r: &mut Reader<'_>, out: &mut Vec<u8>) -> Option<()> {
    loop {
        let (group, element) = (r.u16()?, r.u16()?);
        let len = r.u32()?;
        put_tag(out, group, element);
        out.extend_from_slice(&len.to_le_bytes());
        if (group, element) == SEQUENCE_END {
            return Some(());
        }
        if len != UNDEFINED {
            out.extend_from_slice(r.take(len as usize)?);
        }
    }
}

/// The items of a UN sequence (implicit VR inside), written as explicit-VR items of undefined
/// length. `len` is the UN element's length (undefined: read up to the sequence delimiter).
fn implicit_sequence(
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
    len: u32,
    changed: &mut usize,
    depth: usize,
) -> Option<()> {
    let end = (len != UNDEFINED).then(|| r.at.saturating_add(len as usize));
    loop {
        if end.is_some_and(|e| r.at >= e) || r.done() {
            return if len == UNDEFINED { None } else { Some(()) };
        }
        let (group, element) = (r.u16()?, r.u16()?);
        let item_len = r.u32()?;
        match (group, element) {
            SEQUENCE_END => return Some(()),
            ITEM => {
                put_tag(out, ITEM.0, ITEM.1);
                out.extend_from_slice(&UNDEFINED.to_le_bytes());
                if item_len == UNDEFINED {
                    implicit_elements(r, out, None, changed, depth + 1)?;
                } else {
                    let body = r.take(item_len as usize)?;
                    let mut inner = Reader { bytes: body, at: 0 };
                    implicit_elements(&mut inner, out, Some(()), changed, depth + 1)?;
                }
                put_tag(out, ITEM_END.0, ITEM_END.1);
                out.extend_from_slice(&0u32.to_le_bytes());
            }
            _ => return None,
        }
    }
}

/// Implicit-VR elements of one item, written explicit with dictionary VRs (UN where unknown).
/// `bounded`: the reader holds exactly the item; else read up to the item delimiter.
fn implicit_elements(
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
    bounded: Option<()>,
    changed: &mut usize,
    depth: usize,
) -> Option<()> {
    if depth > 32 {
        return None;
    }
    loop {
        if r.done() {
            return bounded;
        }
        let (group, element) = (r.u16()?, r.u16()?);
        let len = r.u32()?;
        if (group, element) == ITEM_END {
            return Some(());
        }
        let tag = Tag(group, element);
        let vr = dictionary_vr(tag).unwrap_or(VR::UN);
        if vr == VR::SQ || len == UNDEFINED {
            put_explicit_header(out, group, element, VR::SQ, UNDEFINED);
            implicit_sequence(r, out, len, changed, depth + 1)?;
            put_tag(out, SEQUENCE_END.0, SEQUENCE_END.1);
            out.extend_from_slice(&0u32.to_le_bytes());
            continue;
        }
        let code = vr.to_bytes();
        let vr = if has_long_length(&code) || len <= 0xFFFF {
            vr
        } else {
            VR::UN
        };
        put_explicit_header(out, group, element, vr, len);
        out.extend_from_slice(r.take(len as usize)?);
        *changed += 1;
    }
}

/// Copies an undefined-length UN sequence's implicit contents up to its delimiter.
fn copy_implicit_until_sequence_end(
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Option<()> {
    if depth > 32 {
        return None;
    }
    loop {
        let (group, element) = (r.u16()?, r.u16()?);
        let len = r.u32()?;
        put_tag(out, group, element);
        out.extend_from_slice(&len.to_le_bytes());
        match (group, element) {
            SEQUENCE_END => return Some(()),
            ITEM | ITEM_END => {}
            _ if len == UNDEFINED => copy_implicit_until_sequence_end(r, out, depth + 1)?,
            _ => out.extend_from_slice(r.take(len as usize)?),
        }
    }
}

/// Removes IS/DS values that are no numbers (recursively, in sequences too); returns what was
/// removed, for the warnings.
pub fn drop_malformed_numbers(obj: &mut InMemDicomObject) -> Vec<String> {
    let mut dropped = Vec::new();
    let mut bad = Vec::new();
    for element in obj.iter() {
        match element.vr() {
            VR::IS | VR::DS => {
                let text = element.to_str().map(|s| s.to_string()).unwrap_or_default();
                let numbers_ok = text
                    .split('\\')
                    .map(|v| v.trim_matches(|c: char| c == ' ' || c == '\0'))
                    .all(|v| {
                        v.is_empty()
                            || if element.vr() == VR::IS {
                                v.parse::<i64>().is_ok()
                            } else {
                                v.parse::<f64>().is_ok_and(f64::is_finite)
                            }
                    });
                if !numbers_ok {
                    bad.push((element.tag(), text));
                }
            }
            _ => {}
        }
    }
    for (tag, text) in bad {
        obj.remove_element(tag);
        let name = StandardDataDictionary
            .by_tag(tag)
            .map(|e| e.alias().to_string())
            .unwrap_or_else(|| format!("{tag}"));
        dropped.push(format!("{name} {text:?} is not a number; read as absent"));
    }
    // Into sequences.
    let sequence_tags: Vec<Tag> = obj
        .iter()
        .filter(|e| e.vr() == VR::SQ)
        .map(|e| e.tag())
        .collect();
    for tag in sequence_tags {
        let mut element = match obj.take_element(tag) {
            Ok(e) => e,
            Err(_) => continue,
        };
        if let Some(items) = element.items_mut() {
            for item in items.iter_mut() {
                dropped.extend(drop_malformed_numbers(item));
            }
        }
        obj.put(element);
    }
    dropped
}

/// A data set read tolerantly, with what was repaired on the way.
#[derive(Debug)]
pub struct TolerantRead {
    /// The attributes.
    pub object: InMemDicomObject,
    /// What was repaired (UN read with the dictionary VR, numbers dropped), for the log.
    pub warnings: Vec<String>,
}

/// Reads a data set from a peer or a file: declared lengths checked first (nothing is reserved
/// for what a header merely claims), UN of known tags read with their dictionary VR, malformed
/// numbers dropped.
pub fn read_dataset(
    bytes: &[u8],
    ts: &dicom_encoding::TransferSyntax,
) -> Result<TolerantRead, String> {
    let mut warnings = Vec::new();
    let rewritten = if ts.uid() == EXPLICIT_LE {
        reencode_un(bytes)
    } else {
        None
    };
    let bytes = match &rewritten {
        Some(b) => {
            warnings.push("elements sent as UN were read with their dictionary VR".to_string());
            b.as_slice()
        }
        None => bytes,
    };
    let mut object = super::lengths::read_checked_strict(bytes, ts)?;
    warnings.extend(drop_malformed_numbers(&mut object));
    Ok(TolerantRead { object, warnings })
}

/// What a file meta group says, read without judging its UIDs (a letter in the SOP Instance
/// UID must not make the whole file unreadable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaFacts {
    /// (0002,0010).
    pub transfer_syntax: String,
    /// (0002,0002).
    pub sop_class: String,
    /// (0002,0003).
    pub sop_instance: String,
    /// Where the data set starts, counted from just after the `DICM` marker.
    pub dataset_offset: usize,
}

/// Walks the file meta group (Explicit VR Little Endian, group 0002) from just after `DICM`.
pub fn meta_facts(after_marker: &[u8]) -> Option<MetaFacts> {
    let mut r = Reader {
        bytes: after_marker,
        at: 0,
    };
    let mut facts = MetaFacts {
        transfer_syntax: String::new(),
        sop_class: String::new(),
        sop_instance: String::new(),
        dataset_offset: 0,
    };
    loop {
        let start = r.at;
        let group = match r.bytes.get(r.at..r.at + 2) {
            Some(b) => u16::from_le_bytes([b[0], b[1]]),
            None => break,
        };
        if group != 0x0002 {
            r.at = start;
            break;
        }
        r.u16()?;
        let element = r.u16()?;
        let vr = r.take(2)?;
        let len = if has_long_length(vr) {
            r.take(2)?;
            r.u32()?
        } else {
            u32::from(r.u16()?)
        };
        let value = r.take(len as usize)?;
        let text = || {
            String::from_utf8_lossy(value)
                .trim_end_matches(['\0', ' '])
                .to_string()
        };
        match element {
            0x0002 => facts.sop_class = text(),
            0x0003 => facts.sop_instance = text(),
            0x0010 => facts.transfer_syntax = text(),
            _ => {}
        }
    }
    facts.dataset_offset = r.at;
    (!facts.transfer_syntax.is_empty()).then_some(facts)
}

/// Reads a Part 10 file from its `DICM` marker on, tolerantly (see [`read_dataset`]): the
/// file meta group as it is, the data set repaired.
pub fn read_file_after_marker(
    rest: &[u8],
) -> Result<(dicom_object::DefaultDicomObject, Vec<String>), String> {
    let after_marker = rest.get(4..).ok_or("no DICM marker")?;
    super::lengths::check_file_after_marker(after_marker).map_err(|e| e.to_string())?;
    let facts = meta_facts(after_marker).ok_or("unreadable file meta group")?;
    let mut warnings = Vec::new();
    let meta = match dicom_object::meta::FileMetaTable::from_reader(rest) {
        Ok(meta) => meta,
        Err(e) => {
            // A UID the strict reader refuses (letters): rebuilt from what the group says.
            warnings.push(format!("file meta group read leniently: {e}"));
            dicom_object::meta::FileMetaTableBuilder::new()
                .transfer_syntax(facts.transfer_syntax.as_str())
                .media_storage_sop_class_uid(facts.sop_class.as_str())
                .media_storage_sop_instance_uid(facts.sop_instance.as_str())
                .implementation_class_uid(crate::uids::IMPLEMENTATION_CLASS_UID)
                .build()
                .map_err(|e| e.to_string())?
        }
    };
    let dataset = after_marker.get(facts.dataset_offset..).unwrap_or_default();
    use dicom_encoding::TransferSyntaxIndex;
    let ts = dicom_transfer_syntax_registry::TransferSyntaxRegistry.get(&facts.transfer_syntax);
    let (mut obj, more) = match ts {
        Some(ts) if ts.uid() == EXPLICIT_LE => {
            let read = read_dataset(dataset, ts)?;
            (read.object.with_exact_meta(meta), read.warnings)
        }
        Some(ts) if !matches!(ts.uid(), "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.8.1") => {
            let object = super::lengths::read_checked_strict(dataset, ts)?;
            (object.with_exact_meta(meta), Vec::new())
        }
        _ => (
            dicom_object::from_reader(rest).map_err(|e| e.to_string())?,
            Vec::new(),
        ),
    };
    warnings.extend(more);
    if !matches!(ts.map(|t| t.uid()), Some(EXPLICIT_LE)) {
        warnings.extend(drop_malformed_numbers(&mut obj));
    }
    Ok((obj, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_dictionary_std::tags;
    use dicom_encoding::TransferSyntaxIndex;
    use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

    /// An explicit-VR LE header + value, as a test writes it.
    fn el(out: &mut Vec<u8>, tag: Tag, vr: &[u8; 2], value: &[u8]) {
        put_tag(out, tag.group(), tag.element());
        out.extend_from_slice(vr);
        if has_long_length(vr) {
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(value);
    }

    /// An implicit-VR element.
    fn imp(out: &mut Vec<u8>, tag: Tag, value: &[u8]) {
        put_tag(out, tag.group(), tag.element());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(value);
    }

    #[test]
    fn un_elements_and_un_sequences_of_undefined_length_read_with_the_dictionary_vr() {
        let mut ds = Vec::new();
        el(
            &mut ds,
            tags::SOP_CLASS_UID,
            b"UN",
            b"1.2.840.10008.5.1.4.1.1.2\0",
        );
        el(&mut ds, tags::PATIENT_NAME, b"UN", b"DOE^JANE");
        el(&mut ds, tags::ROWS, b"UN", &512u16.to_le_bytes());
        // (0008,1140) Referenced Image Sequence as UN, undefined length, one item of
        // undefined length holding an implicit-VR Referenced SOP Instance UID.
        put_tag(&mut ds, 0x0008, 0x1140);
        ds.extend_from_slice(b"UN\0\0");
        ds.extend_from_slice(&UNDEFINED.to_le_bytes());
        put_tag(&mut ds, ITEM.0, ITEM.1);
        ds.extend_from_slice(&UNDEFINED.to_le_bytes());
        imp(&mut ds, tags::REFERENCED_SOP_INSTANCE_UID, b"1.2.3.4\0");
        put_tag(&mut ds, ITEM_END.0, ITEM_END.1);
        ds.extend_from_slice(&0u32.to_le_bytes());
        put_tag(&mut ds, SEQUENCE_END.0, SEQUENCE_END.1);
        ds.extend_from_slice(&0u32.to_le_bytes());
        el(&mut ds, tags::PATIENT_ID, b"UN", b"ID-7");
        let Some(ts) = TransferSyntaxRegistry.get(EXPLICIT_LE) else {
            panic!("explicit VR LE is registered");
        };
        let read = read_dataset(&ds, ts);
        let Ok(read) = read else {
            panic!("read: {read:?}");
        };
        let text = |tag| crate::attributes::text(&read.object, tag);
        assert_eq!(text(tags::SOP_CLASS_UID), "1.2.840.10008.5.1.4.1.1.2");
        assert_eq!(text(tags::PATIENT_NAME), "DOE^JANE");
        assert_eq!(text(tags::PATIENT_ID), "ID-7");
        assert_eq!(
            read.object
                .get(tags::ROWS)
                .and_then(|e| e.to_int::<u16>().ok()),
            Some(512)
        );
        let item = read
            .object
            .get(Tag(0x0008, 0x1140))
            .and_then(|e| e.items())
            .and_then(|i| i.first())
            .map(|i| crate::attributes::text(i, tags::REFERENCED_SOP_INSTANCE_UID));
        assert_eq!(item.as_deref(), Some("1.2.3.4"));
        assert!(!read.warnings.is_empty());
    }

    #[test]
    fn a_number_that_is_none_becomes_absent_with_a_warning() {
        let mut ds = Vec::new();
        el(&mut ds, tags::NUMBER_OF_FRAMES, b"IS", b"1.0x");
        el(&mut ds, tags::SLICE_THICKNESS, b"DS", b"2.5 ");
        let Some(ts) = TransferSyntaxRegistry.get(EXPLICIT_LE) else {
            panic!("explicit VR LE is registered");
        };
        let Ok(read) = read_dataset(&ds, ts) else {
            panic!("readable");
        };
        assert!(read.object.get(tags::NUMBER_OF_FRAMES).is_none());
        assert!(read.object.get(tags::SLICE_THICKNESS).is_some());
        assert!(
            read.warnings
                .iter()
                .any(|w| w.contains("NumberOfFrames") && w.contains("not a number")),
            "{:?}",
            read.warnings
        );
    }
}
