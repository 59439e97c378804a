//! Correcting attributes in a stored object while keeping what they were: the old values go
//! into the Original Attributes Sequence (PS3.3 C.12.1.1.9), so a reconciled study still shows
//! what the scanner sent.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// One attribute to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// The attribute.
    pub tag: Tag,
    /// Its VR.
    pub vr: VR,
    /// The new value.
    pub value: String,
}

/// A corrected value that is not plain ASCII (a name with an accent) is only readable if the
/// object declares a character set that holds it: where the object declares none (ASCII), or
/// Latin-1 for a value outside it, it now declares UTF-8 — every text value, decoded when the
/// object was read, is written again in it.
fn declare_utf8_if_needed(obj: &mut InMemDicomObject, corrections: &[Correction]) {
    let declared = obj
        .get(tags::SPECIFIC_CHARACTER_SET)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        .unwrap_or_default();
    let fits = |v: &str| match declared.as_str() {
        "ISO_IR 192" => true,
        "ISO_IR 100" => v.chars().all(|c| u32::from(c) < 0x100),
        "" => v.is_ascii(),
        _ => v.is_ascii(),
    };
    if !corrections.iter().all(|c| fits(&c.value)) {
        obj.put(DataElement::new(
            tags::SPECIFIC_CHARACTER_SET,
            VR::CS,
            PrimitiveValue::from("ISO_IR 192"),
        ));
    }
}

/// Applies `corrections` to `obj`; attributes whose value changes are recorded with their old
/// values in a new Original Attributes Sequence item. Returns how many changed.
pub fn correct_attributes(
    obj: &mut InMemDicomObject,
    corrections: &[Correction],
    reason: &str,
    modifying_system: &str,
    when_dt: &str,
) -> usize {
    let mut old_values = InMemDicomObject::new_empty();
    let mut changed = 0;
    for c in corrections {
        let old = obj.get(c.tag).cloned();
        let same = old
            .as_ref()
            .and_then(|e| e.to_str().ok())
            .is_some_and(|v| v.trim_end_matches(['\0', ' ']) == c.value);
        if same {
            continue;
        }
        match old {
            Some(e) => {
                old_values.put(e);
            }
            None => {
                old_values.put(DataElement::new(c.tag, c.vr, PrimitiveValue::Empty));
            }
        }
        obj.put(DataElement::new(
            c.tag,
            c.vr,
            PrimitiveValue::from(c.value.as_str()),
        ));
        changed += 1;
    }
    if changed == 0 {
        return 0;
    }
    declare_utf8_if_needed(obj, corrections);
    let mut item = InMemDicomObject::new_empty();
    item.put(DataElement::new(
        tags::MODIFIED_ATTRIBUTES_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![old_values]),
    ));
    item.put(DataElement::new(
        tags::ATTRIBUTE_MODIFICATION_DATE_TIME,
        VR::DT,
        PrimitiveValue::from(when_dt),
    ));
    item.put(DataElement::new(
        tags::MODIFYING_SYSTEM,
        VR::LO,
        PrimitiveValue::from(modifying_system),
    ));
    // Type 2: who the values came from, when known (here: not recorded separately).
    item.put(DataElement::new(
        tags::SOURCE_OF_PREVIOUS_VALUES,
        VR::LO,
        PrimitiveValue::Empty,
    ));
    item.put(DataElement::new(
        tags::REASON_FOR_THE_ATTRIBUTE_MODIFICATION,
        VR::CS,
        PrimitiveValue::from(reason),
    ));
    let mut items: Vec<InMemDicomObject> = obj
        .get(tags::ORIGINAL_ATTRIBUTES_SEQUENCE)
        .and_then(|e| e.items())
        .map(|i| i.to_vec())
        .unwrap_or_default();
    items.push(item);
    obj.put(DataElement::new(
        tags::ORIGINAL_ATTRIBUTES_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(items),
    ));
    changed
}
