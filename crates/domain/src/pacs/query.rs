//! What a C-FIND identifier asks for, and how an answer is shaped (PS3.4 C.2, C.6).
//!
//! Matching kinds: single value, `*`/`?` wildcards, date/time ranges, UID lists and
//! universal (empty) matching. The index does the matching; this module decides which
//! condition each key means and builds the response identifiers.

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::attributes::{is_usable_uid, text, trim_padding};
use crate::store::index::{Column, Condition, IndexRow, Level, Matcher};

/// Why an identifier cannot be answered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    /// (0008,0052) is missing or not one of PATIENT/STUDY/SERIES/IMAGE.
    #[error("query/retrieve level {0:?} is missing or unknown")]
    BadLevel(String),
    /// A UID key holds something that is not a UID.
    #[error("{0} holds an invalid UID")]
    BadUid(&'static str),
    /// A retrieve without the unique key of its level (PS3.4 C.4.2.2.1): universal or
    /// wildcard matching would send everything.
    #[error("a retrieve at {level} level needs {key} (one value or a list, no wildcards)")]
    NoUniqueKey {
        /// The level.
        level: &'static str,
        /// The key it needs.
        key: &'static str,
    },
}

/// A C-MOVE or C-GET names what it wants by the unique key of its level — Patient ID,
/// Study/Series/SOP Instance UID — as one value or a list of UIDs (PS3.4 C.4.2.2.1); an empty
/// or wildcard key would retrieve the whole archive, so it is refused.
pub fn check_retrieve_keys(q: &IndexQuery) -> Result<(), QueryError> {
    let (column, level, key) = match q.level {
        Level::Patient => (Column::PatientId, "PATIENT", "Patient ID"),
        Level::Study => (Column::StudyUid, "STUDY", "Study Instance UID"),
        Level::Series => (Column::SeriesUid, "SERIES", "Series Instance UID"),
        Level::Image => (Column::SopUid, "IMAGE", "SOP Instance UID"),
    };
    let unique = q
        .conditions
        .iter()
        .any(|c| c.column == column && matches!(c.matcher, Matcher::Exact(_) | Matcher::AnyOf(_)));
    if unique {
        Ok(())
    } else {
        Err(QueryError::NoUniqueKey { level, key })
    }
}

/// A parsed query: level, conditions, and the keys whose values the requester wants back.
#[derive(Debug, Clone)]
pub struct IndexQuery {
    /// Query/Retrieve Level.
    pub level: Level,
    /// Matching conditions (universal keys have none).
    pub conditions: Vec<Condition>,
    /// The identifier as received, to shape each answer.
    pub requested: InMemDicomObject,
}

/// Parses the Query/Retrieve Level.
pub fn parse_level(identifier: &InMemDicomObject) -> Result<Level, QueryError> {
    let level = text(identifier, tags::QUERY_RETRIEVE_LEVEL).to_ascii_uppercase();
    match level.as_str() {
        "PATIENT" => Ok(Level::Patient),
        "STUDY" => Ok(Level::Study),
        "SERIES" => Ok(Level::Series),
        "IMAGE" => Ok(Level::Image),
        _ => Err(QueryError::BadLevel(level)),
    }
}

/// Which index column a key is, if the index holds it.
pub fn column_of(tag: Tag) -> Option<Column> {
    Some(match tag {
        tags::PATIENT_ID => Column::PatientId,
        tags::ISSUER_OF_PATIENT_ID => Column::Issuer,
        tags::PATIENT_NAME => Column::PatientName,
        tags::PATIENT_BIRTH_DATE => Column::BirthDate,
        tags::PATIENT_SEX => Column::Sex,
        tags::STUDY_INSTANCE_UID => Column::StudyUid,
        tags::STUDY_DATE => Column::StudyDate,
        tags::STUDY_TIME => Column::StudyTime,
        tags::ACCESSION_NUMBER => Column::Accession,
        tags::STUDY_ID => Column::StudyId,
        tags::STUDY_DESCRIPTION => Column::StudyDescription,
        tags::REFERRING_PHYSICIAN_NAME => Column::Referring,
        tags::SERIES_INSTANCE_UID => Column::SeriesUid,
        tags::MODALITY | tags::MODALITIES_IN_STUDY => Column::Modality,
        tags::SERIES_NUMBER => Column::SeriesNumber,
        tags::SERIES_DESCRIPTION => Column::SeriesDescription,
        tags::BODY_PART_EXAMINED => Column::BodyPart,
        tags::SOP_INSTANCE_UID => Column::SopUid,
        tags::SOP_CLASS_UID => Column::SopClass,
        tags::INSTANCE_NUMBER => Column::InstanceNumber,
        _ => return None,
    })
}

fn is_uid_column(c: Column) -> bool {
    matches!(
        c,
        Column::StudyUid | Column::SeriesUid | Column::SopUid | Column::SopClass
    )
}

fn is_range_column(c: Column) -> bool {
    matches!(c, Column::StudyDate | Column::StudyTime | Column::BirthDate)
}

fn is_person_name(c: Column) -> bool {
    matches!(c, Column::PatientName | Column::Referring)
}

/// Turns one key's value into a matcher; `None` is universal matching.
pub fn matcher_for(column: Column, raw: &str, tag: Tag) -> Result<Option<Matcher>, QueryError> {
    let value = trim_padding(raw);
    if value.is_empty() || value == "*" {
        return Ok(None);
    }
    if is_uid_column(column) {
        let list: Vec<String> = value
            .split('\\')
            .map(|u| trim_padding(u).to_string())
            .collect();
        // Tolerated non-conformant UIDs (letters) are archived as identifiers: they can be
        // asked for too.
        if list.iter().any(|u| !is_usable_uid(u)) {
            return Err(QueryError::BadUid(uid_name(tag)));
        }
        return Ok(Some(if list.len() == 1 {
            Matcher::Exact(list.into_iter().next().unwrap_or_default())
        } else {
            Matcher::AnyOf(list)
        }));
    }
    if column == Column::Modality && value.contains('\\') {
        return Ok(Some(Matcher::AnyOf(
            value
                .split('\\')
                .map(|m| trim_padding(m).to_string())
                .collect(),
        )));
    }
    if is_range_column(column) && value.contains('-') {
        let (lo, hi) = value.split_once('-').unwrap_or((value, ""));
        let lo = lo.trim().to_string();
        let mut hi = hi.trim().to_string();
        if column == Column::StudyTime && !hi.is_empty() {
            // "1600" means up to the end of 16:00, so compare against the padded maximum.
            hi = pad_time_upper(&hi);
        }
        return Ok(Some(Matcher::Range(lo, hi)));
    }
    if value.contains('*') || value.contains('?') {
        let mut pattern = String::with_capacity(value.len() + 4);
        for ch in value.chars() {
            match ch {
                '[' => pattern.push_str("[[]"),
                ']' => pattern.push_str("[]]"),
                other => pattern.push(other),
            }
        }
        return Ok(Some(Matcher::Glob {
            pattern,
            case_insensitive: is_person_name(column),
        }));
    }
    if is_range_column(column) && column == Column::StudyTime {
        // A single time matches that whole minute/second as given.
        return Ok(Some(Matcher::Range(
            value.to_string(),
            pad_time_upper(value),
        )));
    }
    Ok(Some(Matcher::Exact(value.to_string())))
}

fn pad_time_upper(t: &str) -> String {
    let mut s = t.to_string();
    let full = "235959.999999";
    // `full` is ASCII; `get` keeps a peer's odd (multi-byte) value from ever panicking.
    if let Some(rest) = full.get(s.len()..) {
        s.push_str(rest);
    }
    s
}

fn uid_name(tag: Tag) -> &'static str {
    match tag {
        tags::STUDY_INSTANCE_UID => "Study Instance UID",
        tags::SERIES_INSTANCE_UID => "Series Instance UID",
        tags::SOP_INSTANCE_UID => "SOP Instance UID",
        tags::SOP_CLASS_UID => "SOP Class UID",
        _ => "a UID key",
    }
}

/// Parses a C-FIND (or C-MOVE/C-GET) identifier.
pub fn parse_identifier(identifier: InMemDicomObject) -> Result<IndexQuery, QueryError> {
    let level = parse_level(&identifier)?;
    let mut conditions = Vec::new();
    for elem in identifier.iter() {
        let tag = elem.header().tag;
        if tag.group() == 0x0008 && (tag.element() == 0x0052 || tag.element() == 0x0005) {
            continue;
        }
        let Some(column) = column_of(tag) else {
            continue;
        };
        let raw = match elem.to_str() {
            Ok(s) => s.to_string(),
            Err(_) => continue,
        };
        if let Some(matcher) = matcher_for(column, &raw, tag)? {
            conditions.push(Condition { column, matcher });
        }
    }
    Ok(IndexQuery {
        level,
        conditions,
        requested: identifier,
    })
}

/// The value of a key for an answer row, or `None` when the index does not hold it.
pub fn row_value(row: &IndexRow, tag: Tag, level: Level) -> Option<String> {
    Some(match tag {
        tags::PATIENT_ID => row.patient_id.clone(),
        tags::ISSUER_OF_PATIENT_ID => row.issuer.clone(),
        tags::PATIENT_NAME => row.patient_name.clone(),
        tags::PATIENT_BIRTH_DATE => row.birth_date.clone(),
        tags::PATIENT_SEX => row.sex.clone(),
        tags::STUDY_INSTANCE_UID => row.study_uid.clone(),
        tags::STUDY_DATE => row.study_date.clone(),
        tags::STUDY_TIME => row.study_time.clone(),
        tags::ACCESSION_NUMBER => row.accession.clone(),
        tags::STUDY_ID => row.study_id.clone(),
        tags::STUDY_DESCRIPTION => row.study_description.clone(),
        tags::REFERRING_PHYSICIAN_NAME => row.referring.clone(),
        tags::SERIES_INSTANCE_UID => row.series_uid.clone(),
        tags::MODALITY => row.modality.clone(),
        tags::SERIES_NUMBER => row.series_number.clone(),
        tags::SERIES_DESCRIPTION => row.series_description.clone(),
        tags::BODY_PART_EXAMINED => row.body_part.clone(),
        tags::SOP_INSTANCE_UID => row.sop_uid.clone(),
        tags::SOP_CLASS_UID => row.sop_class.clone(),
        tags::INSTANCE_NUMBER => row.instance_number.clone(),
        tags::MODALITIES_IN_STUDY => row.modalities_in_study.clone(),
        tags::NUMBER_OF_PATIENT_RELATED_STUDIES if level == Level::Patient => {
            row.related_studies.to_string()
        }
        tags::NUMBER_OF_PATIENT_RELATED_SERIES if level == Level::Patient => {
            row.related_series.to_string()
        }
        tags::NUMBER_OF_PATIENT_RELATED_INSTANCES if level == Level::Patient => {
            row.related_instances.to_string()
        }
        tags::NUMBER_OF_STUDY_RELATED_SERIES if level == Level::Study => {
            row.related_series.to_string()
        }
        tags::NUMBER_OF_STUDY_RELATED_INSTANCES if level == Level::Study => {
            row.related_instances.to_string()
        }
        tags::NUMBER_OF_SERIES_RELATED_INSTANCES if level == Level::Series => {
            row.related_instances.to_string()
        }
        _ => return None,
    })
}

/// Builds one answer identifier: every requested key, with the index's value where it has
/// one, from `extra` (the stored file) next, and empty otherwise; plus the level and the
/// Retrieve AE Title.
pub fn answer_identifier(
    query: &IndexQuery,
    row: &IndexRow,
    retrieve_ae: &str,
    extra: Option<&InMemDicomObject>,
) -> InMemDicomObject {
    let mut out = InMemDicomObject::new_empty();
    for elem in query.requested.iter() {
        let tag = elem.header().tag;
        let vr = elem.header().vr;
        if tag == tags::SPECIFIC_CHARACTER_SET {
            continue;
        }
        if let Some(value) = row_value(row, tag, query.level) {
            out.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
        } else if let Some(found) = extra.and_then(|e| e.get(tag)) {
            out.put(found.clone());
        } else if vr == VR::SQ {
            out.put(DataElement::new(
                tag,
                VR::SQ,
                dicom_core::value::DataSetSequence::<InMemDicomObject>::empty(),
            ));
        } else {
            out.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
        }
    }
    let level = match query.level {
        Level::Patient => "PATIENT",
        Level::Study => "STUDY",
        Level::Series => "SERIES",
        Level::Image => "IMAGE",
    };
    out.put(DataElement::new(
        tags::QUERY_RETRIEVE_LEVEL,
        VR::CS,
        PrimitiveValue::from(level),
    ));
    out.put(DataElement::new(
        tags::RETRIEVE_AE_TITLE,
        VR::AE,
        PrimitiveValue::from(retrieve_ae),
    ));
    let non_ascii = out
        .iter()
        .any(|e| e.to_str().map(|s| !s.is_ascii()).unwrap_or(false));
    if non_ascii {
        out.put(DataElement::new(
            tags::SPECIFIC_CHARACTER_SET,
            VR::CS,
            PrimitiveValue::from("ISO_IR 192"),
        ));
    }
    out
}

/// Whether the requested keys go beyond what the index holds (then the stored file is read
/// to answer them, at IMAGE level only).
pub fn needs_file_values(query: &IndexQuery) -> bool {
    query.level == Level::Image
        && query.requested.iter().any(|e| {
            let tag = e.header().tag;
            tag != tags::QUERY_RETRIEVE_LEVEL
                && tag != tags::SPECIFIC_CHARACTER_SET
                && row_value(&IndexRow::default(), tag, Level::Image).is_none()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_ranges_lists_and_universal() -> Result<(), QueryError> {
        let t = tags::PATIENT_NAME;
        assert_eq!(matcher_for(Column::PatientName, "", t)?, None);
        assert_eq!(matcher_for(Column::PatientName, "*", t)?, None);
        assert_eq!(
            matcher_for(Column::PatientName, "Doe^J*", t)?,
            Some(Matcher::Glob {
                pattern: "Doe^J*".into(),
                case_insensitive: true
            })
        );
        assert_eq!(
            matcher_for(Column::StudyDate, "20200101-20201231", tags::STUDY_DATE)?,
            Some(Matcher::Range("20200101".into(), "20201231".into()))
        );
        assert_eq!(
            matcher_for(Column::StudyDate, "-20201231", tags::STUDY_DATE)?,
            Some(Matcher::Range("".into(), "20201231".into()))
        );
        assert_eq!(
            matcher_for(Column::StudyUid, "1.2.3\\1.2.4", tags::STUDY_INSTANCE_UID)?,
            Some(Matcher::AnyOf(vec!["1.2.3".into(), "1.2.4".into()]))
        );
        assert!(matcher_for(Column::StudyUid, "../x", tags::STUDY_INSTANCE_UID).is_err());
        assert_eq!(
            matcher_for(Column::PatientId, "[x]", tags::PATIENT_ID)?,
            Some(Matcher::Exact("[x]".into()))
        );
        assert_eq!(
            matcher_for(Column::PatientId, "a[b*", tags::PATIENT_ID)?,
            Some(Matcher::Glob {
                pattern: "a[[]b*".into(),
                case_insensitive: false
            })
        );
        Ok(())
    }

    #[test]
    fn level_is_required() {
        let obj = InMemDicomObject::new_empty();
        assert!(parse_level(&obj).is_err());
    }
}
