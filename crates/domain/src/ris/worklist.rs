//! Modality Worklist (PS3.4 K): the scheduled steps as the scanner asks for them. Each step is
//! turned into a complete worklist item (patient, requested procedure, scheduled step), the
//! request's keys are matched against it (single value, `*`/`?` wildcards, date/time ranges,
//! UID lists, universal), and the answer carries exactly the keys asked for, so the scanner can
//! fill its headers and the technologist types nothing.

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::pacs::attributes::{text, trim_padding};
use crate::store::Store;
use crate::store::ris::WorklistRow;

use super::RisError;

pub use lightbox_codec::sop_classes::MODALITY_WORKLIST_FIND;

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

/// DICOM person name from family^given^middle^prefix^suffix, trailing empties dropped.
fn person_name(parts: [&str; 5]) -> String {
    let mut name = parts.join("^");
    while name.ends_with('^') {
        name.pop();
    }
    name
}

/// A complete worklist item for one scheduled step (every key Lightbox can fill).
pub fn worklist_item(row: &WorklistRow) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    let p = &row.patient;
    put(
        &mut item,
        tags::PATIENT_NAME,
        VR::PN,
        &person_name([
            &p.family_name,
            &p.given_name,
            &p.middle_name,
            &p.prefix,
            &p.suffix,
        ]),
    );
    put(&mut item, tags::PATIENT_ID, VR::LO, &p.mrn);
    put(
        &mut item,
        tags::ISSUER_OF_PATIENT_ID,
        VR::LO,
        &row.mrn_issuer,
    );
    put(
        &mut item,
        tags::PATIENT_BIRTH_DATE,
        VR::DA,
        &p.birth_date.replace('-', ""),
    );
    put(
        &mut item,
        tags::PATIENT_SEX,
        VR::CS,
        if p.sex == "U" { "" } else { &p.sex },
    );
    put(&mut item, tags::MEDICAL_ALERTS, VR::LO, &p.alerts);
    put(&mut item, tags::ALLERGIES, VR::LO, "");
    let pregnancy = match p.pregnancy.as_str() {
        "not_pregnant" => "1",
        "possibly" => "3",
        "pregnant" => "2",
        _ => "4",
    };
    item.put(DataElement::new(
        tags::PREGNANCY_STATUS,
        VR::US,
        PrimitiveValue::from(pregnancy.parse::<u16>().unwrap_or(4)),
    ));
    put(
        &mut item,
        tags::ACCESSION_NUMBER,
        VR::SH,
        &row.order.accession,
    );
    put(
        &mut item,
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        &row.referring_name,
    );
    put(
        &mut item,
        tags::REQUESTING_PHYSICIAN,
        VR::PN,
        &row.referring_name,
    );
    put(
        &mut item,
        tags::REQUESTED_PROCEDURE_ID,
        VR::SH,
        &row.step.requested_procedure_id,
    );
    put(
        &mut item,
        tags::REQUESTED_PROCEDURE_DESCRIPTION,
        VR::LO,
        &row.procedure_name,
    );
    put(
        &mut item,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        &row.step.study_uid,
    );
    put(
        &mut item,
        tags::REQUESTED_PROCEDURE_PRIORITY,
        VR::SH,
        &row.order.priority,
    );
    put(
        &mut item,
        tags::REASON_FOR_THE_REQUESTED_PROCEDURE,
        VR::LO,
        &row.order.reason,
    );
    put(
        &mut item,
        tags::PLACER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
        VR::LO,
        &row.order.placer_number,
    );
    put(
        &mut item,
        tags::FILLER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
        VR::LO,
        &row.order.filler_number,
    );
    put(&mut item, tags::ADMISSION_ID, VR::LO, "");
    let code = |meaning: &str| {
        let mut c = InMemDicomObject::new_empty();
        put(&mut c, tags::CODE_VALUE, VR::SH, &row.order.procedure_code);
        put(&mut c, tags::CODING_SCHEME_DESIGNATOR, VR::SH, "CPT4");
        put(&mut c, tags::CODE_MEANING, VR::LO, meaning);
        c
    };
    item.put(DataElement::new(
        tags::REQUESTED_PROCEDURE_CODE_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(vec![code(&row.procedure_name)]),
    ));
    let (date, time) = row
        .step
        .start_time
        .split_once('T')
        .map(|(d, t)| (d.replace('-', ""), format!("{}00", t.replace(':', ""))))
        .unwrap_or_default();
    let mut sps = InMemDicomObject::new_empty();
    put(
        &mut sps,
        tags::SCHEDULED_STATION_AE_TITLE,
        VR::AE,
        &row.station_ae,
    );
    put(
        &mut sps,
        tags::SCHEDULED_STATION_NAME,
        VR::SH,
        &row.room_name,
    );
    put(
        &mut sps,
        tags::SCHEDULED_PROCEDURE_STEP_LOCATION,
        VR::SH,
        &row.room_name,
    );
    put(
        &mut sps,
        tags::SCHEDULED_PROCEDURE_STEP_START_DATE,
        VR::DA,
        &date,
    );
    put(
        &mut sps,
        tags::SCHEDULED_PROCEDURE_STEP_START_TIME,
        VR::TM,
        &time,
    );
    put(&mut sps, tags::MODALITY, VR::CS, &row.modality);
    put(
        &mut sps,
        tags::SCHEDULED_PERFORMING_PHYSICIAN_NAME,
        VR::PN,
        "",
    );
    put(
        &mut sps,
        tags::SCHEDULED_PROCEDURE_STEP_DESCRIPTION,
        VR::LO,
        &row.procedure_name,
    );
    put(
        &mut sps,
        tags::SCHEDULED_PROCEDURE_STEP_ID,
        VR::SH,
        &row.step.step_id,
    );
    put(
        &mut sps,
        tags::SCHEDULED_PROCEDURE_STEP_STATUS,
        VR::CS,
        "SCHEDULED",
    );
    put(&mut sps, tags::PRE_MEDICATION, VR::LO, "");
    put(&mut sps, tags::REQUESTED_CONTRAST_AGENT, VR::LO, "");
    sps.put(DataElement::new(
        tags::SCHEDULED_PROTOCOL_CODE_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(vec![code(&row.procedure_name)]),
    ));
    item.put(DataElement::new(
        tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(vec![sps]),
    ));
    item
}

/// `*` and `?` matching (PS3.4 C.2.2.2.4), whole value.
fn wildcard_match(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether `value` matches the request's `key` of VR `vr`.
fn value_matches(vr: VR, key: &str, value: &str) -> bool {
    let key = trim_padding(key);
    if key.is_empty() || key == "*" {
        return true;
    }
    match vr {
        VR::DA | VR::TM | VR::DT => match key.split_once('-') {
            Some((from, to)) => {
                let v = value.replace(':', "");
                (from.is_empty() || v.as_str() >= from)
                    && (to.is_empty() || v.as_str() <= to || v.starts_with(to))
            }
            None => value.replace(':', "") == key.replace(':', ""),
        },
        VR::UI => key.split('\\').any(|k| trim_padding(k) == value),
        // Person names match case-insensitively, as practices type them.
        VR::PN => wildcard_match(&key.to_uppercase(), &value.to_uppercase()),
        _ => wildcard_match(key, value),
    }
}

/// Whether an item matches every key of the request (sequence keys inside its first item).
pub fn matches(request: &InMemDicomObject, item: &InMemDicomObject) -> bool {
    request.iter().all(|element| {
        let tag = element.header().tag;
        if tag == tags::SPECIFIC_CHARACTER_SET || tag.0 == 0x0000 {
            return true;
        }
        if element.header().vr == VR::SQ || element.items().is_some() {
            let Some(request_item) = element.items().and_then(|i| i.first()) else {
                return true;
            };
            // Code sequences are return keys; only the SPS sequence is matched.
            if tag != tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE {
                return true;
            }
            return item
                .get(tag)
                .and_then(|e| e.items())
                .is_some_and(|items| items.iter().any(|i| matches(request_item, i)));
        }
        let key = element.to_str().map(|s| s.to_string()).unwrap_or_default();
        if trim_padding(&key).is_empty() {
            return true;
        }
        match item.get(tag) {
            Some(value) => value_matches(
                element.header().vr,
                &key,
                trim_padding(&value.to_str().map(|s| s.to_string()).unwrap_or_default()),
            ),
            // A key we cannot fill cannot be matched: only universal matching passes.
            None => false,
        }
    })
}

/// The answer: the request's keys, with the item's values (empty where it has none).
pub fn answer(request: &InMemDicomObject, item: &InMemDicomObject) -> InMemDicomObject {
    let mut out = InMemDicomObject::new_empty();
    for element in request.iter() {
        let tag = element.header().tag;
        if tag == tags::SPECIFIC_CHARACTER_SET || tag.0 == 0x0000 {
            continue;
        }
        if let Some(request_items) = element.items() {
            let answered: Vec<InMemDicomObject> =
                match (request_items.first(), item.get(tag).and_then(|e| e.items())) {
                    (Some(request_item), Some(items)) if request_item.iter().next().is_some() => {
                        items.iter().map(|i| answer(request_item, i)).collect()
                    }
                    (_, Some(items)) => items.to_vec(),
                    _ => vec![],
                };
            out.put(DataElement::new(
                tag,
                VR::SQ,
                dicom_core::value::DataSetSequence::from(answered),
            ));
            continue;
        }
        match item.get(tag) {
            Some(value) => {
                out.put(value.clone());
            }
            None => {
                out.put(DataElement::new(
                    tag,
                    element.header().vr,
                    PrimitiveValue::Empty,
                ));
            }
        }
    }
    out
}

/// Date bounds of the request's SPS start date, to let the store narrow the candidates.
fn requested_dates(request: &InMemDicomObject) -> (Option<String>, Option<String>, Option<String>) {
    let sps = request
        .get(tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|i| i.first());
    let Some(sps) = sps else {
        return (None, None, None);
    };
    let date = text(sps, tags::SCHEDULED_PROCEDURE_STEP_START_DATE);
    let station = text(sps, tags::SCHEDULED_STATION_AE_TITLE);
    let station = (!station.is_empty() && !station.contains(['*', '?'])).then_some(station);
    let iso = |d: &str| crate::pacs::attributes::iso_date(d);
    match date.split_once('-') {
        Some((from, to)) => (iso(from), iso(to), station),
        None if !date.is_empty() => (iso(&date), iso(&date), station),
        None => (None, None, station),
    }
}

/// Answers a worklist request: every scheduled (or arrived) step that matches, as answers.
pub fn find(store: &Store, request: &InMemDicomObject) -> Result<Vec<InMemDicomObject>, RisError> {
    let (from, to, station) = requested_dates(request);
    let rows = store.worklist_rows(from.as_deref(), to.as_deref(), station.as_deref())?;
    Ok(rows
        .iter()
        .map(worklist_item)
        .filter(|item| matches(request, item))
        .map(|item| answer(request, &item))
        .collect())
}

/// Sets Specific Character Set on an answer: none for plain ASCII, ISO_IR 100 when the
/// requester asked in Latin-1 and every character fits, else ISO_IR 192 (UTF-8).
pub fn declare_character_set(answer: &mut InMemDicomObject, latin1_asked: bool) {
    fn texts(obj: &InMemDicomObject, out: &mut String) {
        for e in obj.iter() {
            if let Some(items) = e.items() {
                for i in items {
                    texts(i, out);
                }
            } else if let Ok(s) = e.to_str() {
                out.push_str(&s);
            }
        }
    }
    let mut all = String::new();
    texts(answer, &mut all);
    if all.is_ascii() {
        return;
    }
    let value = if latin1_asked && all.chars().all(|c| (c as u32) < 256) {
        "ISO_IR 100"
    } else {
        "ISO_IR 192"
    };
    put(answer, tags::SPECIFIC_CHARACTER_SET, VR::CS, value);
}

/// One line of a scanner's worklist.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScannerItem {
    /// Scheduled Station AE Title.
    pub station_ae: String,
    /// SPS start date and time as sent (YYYYMMDD HHMMSS).
    pub start: String,
    /// Patient's Name as sent (DICOM PN).
    pub patient_name: String,
    /// Patient ID.
    pub patient_id: String,
    /// Accession Number.
    pub accession: String,
    /// Modality of the step.
    pub modality: String,
    /// Scheduled Procedure Step Description.
    pub description: String,
}

/// The worklist items of `date` for every station, as the C-FIND SCP would answer them,
/// read back attribute by attribute (what the scanner shows).
pub fn scanner_view(
    store: &Store,
    date: &str,
) -> Result<Vec<ScannerItem>, crate::store::StoreError> {
    let rows = store.worklist_rows(Some(date), Some(date), None)?;
    Ok(rows
        .iter()
        .map(|row| {
            let item = worklist_item(row);
            let step = item
                .get(tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE)
                .and_then(|e| e.items())
                .and_then(|items| items.first().cloned())
                .unwrap_or_else(InMemDicomObject::new_empty);
            ScannerItem {
                station_ae: text(&step, tags::SCHEDULED_STATION_AE_TITLE),
                start: format!(
                    "{} {}",
                    text(&step, tags::SCHEDULED_PROCEDURE_STEP_START_DATE),
                    text(&step, tags::SCHEDULED_PROCEDURE_STEP_START_TIME)
                ),
                patient_name: text(&item, tags::PATIENT_NAME),
                patient_id: text(&item, tags::PATIENT_ID),
                accession: text(&item, tags::ACCESSION_NUMBER),
                modality: text(&step, tags::MODALITY),
                description: text(&step, tags::SCHEDULED_PROCEDURE_STEP_DESCRIPTION),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_ranges() {
        assert!(wildcard_match("DOE*", "DOE^JANE"));
        assert!(wildcard_match("D?E*", "DOE^JANE"));
        assert!(!wildcard_match("DOE", "DOE^JANE"));
        assert!(wildcard_match("*", ""));
        assert!(value_matches(VR::DA, "20261201-20261202", "20261202"));
        assert!(!value_matches(VR::DA, "20261201-20261202", "20261203"));
        assert!(value_matches(VR::DA, "-20261202", "20250101"));
        assert!(value_matches(VR::TM, "0800-1200", "101500"));
        assert!(!value_matches(VR::TM, "0800-1000", "101500"));
        assert!(value_matches(VR::PN, "doe*", "DOE^JANE"));
        assert!(value_matches(VR::UI, "1.2\\1.3", "1.3"));
    }
}
