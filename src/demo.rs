//! `lightbox --demo`: a believable practice on a throw-away data folder, so anyone can try
//! every screen at once — rooms, this week's schedule, patients, orders in every state,
//! synthetic studies (phantoms in several modalities, with a prior), signed reports, an EHR
//! destination and an account per role. Everything is made through the Practice API the
//! screens use, by the demo's own administrator and radiologist, so the data obeys the same
//! rules and the audit log reads like a real practice's.

use std::path::Path;

use anyhow::Context;
use chrono::{Datelike, Duration, NaiveDateTime, NaiveTime};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;

use crate::app::{self, ArchiveServices, DataFolder};
use crate::his::Registration;
use crate::pacs::synthetic::{SYNTHETIC_ROOT, SyntheticSeries};
use crate::practice::FirstRun;
use crate::records::his::PatientRecord;
use crate::ris::{ExamStatus, OrderRequest, Priority};

pub use crate::demo_accounts::{DEMO_PASSWORD, DEMO_USERS};

const PATIENTS: [(&str, &str, &str, &str); 12] = [
    ("GARCIA", "MARIA", "1968-04-12", "F"),
    ("NGUYEN", "MINH", "1975-09-30", "M"),
    ("OKAFOR", "CHIDI", "1982-01-17", "M"),
    ("MÜLLER", "ANNA", "1959-07-08", "F"),
    ("SMITH", "JOHN", "1947-11-23", "M"),
    ("PATEL", "PRIYA", "1990-02-14", "F"),
    ("JOHNSON", "ROBERT", "1972-06-05", "M"),
    ("KOWALSKI", "EWA", "1965-12-01", "F"),
    ("O'BRIEN", "SEAN", "1988-03-21", "M"),
    ("ROSSI", "GIULIA", "1979-10-10", "F"),
    ("TANAKA", "HIROSHI", "1953-05-29", "M"),
    ("WILLIAMS", "GRACE", "2001-08-18", "F"),
];

/// Where an exam of the demo stops.
#[derive(Clone, Copy)]
enum Stage {
    Scheduled,
    Arrived,
    InProgress,
    Completed,
    Preliminary,
    Final,
    Cancelled,
}

/// Fills `data` (a fresh folder) with the demo practice as of `now`, through the Practice API
/// as its administrator and radiologist would.
pub fn populate(data: &DataFolder, now: NaiveDateTime) -> anyhow::Result<()> {
    let mut practice = data.open_practice()?;
    practice.seed_starter_data()?;
    let admin = practice
        .set_up(&FirstRun {
            practice_name: "Riverside Imaging (demo)".into(),
            ae_title: app::DEFAULT_AE_TITLE.into(),
            // Any free ports: the demo never clashes with a real install on the same PC.
            dicom_port: "0".into(),
            hl7_port: "0".into(),
            login: "admin".into(),
            full_name: "Alex Admin".into(),
            password: DEMO_PASSWORD.into(),
            ehr_application: String::new(),
            ehr_host: String::new(),
        })
        .context("setting up the demo practice")?;
    for (key, value) in [
        (app::PRACTICE_ADDRESS_SETTING, "12 River Road, Springfield"),
        (app::PRACTICE_PHONE_SETTING, "555-0142"),
        (app::LOCK_AFTER_SETTING, "0"),
    ] {
        practice.change_setting(&admin, key, value)?;
    }
    // Full names as the practice would write them (the radiologist's with credentials: they
    // sign reports with it).
    for (login, role) in &DEMO_USERS[1..] {
        let full_name = match *login {
            "frontdesk" => "Fran Desk",
            "tech" => "Theo Tech, RT(R)",
            "drreed" => "Dr. Ana Reed, MD",
            other => other,
        };
        practice.create_user(&admin, login, full_name, *role, DEMO_PASSWORD)?;
    }
    let radiologist = practice.sign_in("drreed", DEMO_PASSWORD, "demo")?;
    practice.save_hl7_source(
        &admin,
        &crate::records::hl7_sources::Hl7Source {
            id: 0,
            name: "Springfield EHR".into(),
            application: "SPRINGFIELD".into(),
            facility: String::new(),
            host: "127.0.0.1".into(),
            messages: "adt,merge,orders".into(),
        },
    )?;
    practice.add_destination(
        &admin,
        &crate::records::hl7::Destination {
            name: "Springfield EHR".into(),
            host: "127.0.0.1".into(),
            port: 2576,
            version: "2.5.1".into(),
            events: "oru,status".into(),
            report_text: "tx".into(),
            ack_timeout_secs: 10,
            enabled: true,
            ..Default::default()
        },
    )?;
    let patients: Vec<PatientRecord> = PATIENTS
        .iter()
        .map(|(family, given, birth, sex)| {
            practice.register_patient(
                &admin,
                &Registration {
                    patient: PatientRecord {
                        family_name: (*family).into(),
                        given_name: (*given).into(),
                        birth_date: (*birth).into(),
                        sex: (*sex).into(),
                        phone: "555-0100".into(),
                        ..Default::default()
                    },
                    identifiers: vec![],
                    confirmed_new: true,
                },
            )
        })
        .collect::<Result<_, _>>()?;
    let monday = now.date() - Duration::days(i64::from(now.weekday().num_days_from_monday()));
    let at = |day: i64, hour: u32, minute: u32| {
        (monday + Duration::days(day))
            .and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN))
    };
    let today = i64::from(now.weekday().num_days_from_monday()).min(4);
    // (patient, procedure, day of week, hour, minute, where it stops)
    let plan: [(usize, &str, i64, u32, u32, Stage); 19] = [
        // A prior: the same exam a year ago, reported.
        (0, "70450", today - 371, 9, 0, Stage::Final),
        // Waiting to be read, with the prior above to compare.
        (0, "70450", today - 2, 9, 0, Stage::Completed),
        (1, "72148", today - 2, 10, 0, Stage::Final),
        (2, "71250", today - 1, 9, 30, Stage::Preliminary),
        (3, "70551", today - 1, 11, 0, Stage::Completed),
        (4, "74177", today - 1, 14, 0, Stage::Completed),
        (5, "76700", today, 8, 30, Stage::Completed),
        (6, "70450", today, 9, 0, Stage::InProgress),
        (7, "73721", today, 10, 0, Stage::Arrived),
        (8, "76856", today, 11, 0, Stage::Scheduled),
        (9, "77067", today, 13, 0, Stage::Scheduled),
        (10, "71260", today, 15, 0, Stage::Cancelled),
        (11, "70553", today + 1, 9, 0, Stage::Scheduled),
        (0, "71250", today + 1, 11, 0, Stage::Scheduled),
        (1, "76536", today + 2, 10, 0, Stage::Scheduled),
        (2, "72148", today + 3, 13, 0, Stage::Scheduled),
        (3, "77066", today + 4, 9, 0, Stage::Scheduled),
        // Earlier reported studies to look at: a mammogram and a chest radiograph.
        (3, "77067", today - 364, 10, 0, Stage::Final),
        (5, "71046", today - 28, 9, 0, Stage::Final),
    ];
    let images = data.root().join("demo-images");
    let mut series_number = 0u64;
    for (patient, code, day, hour, minute, stage) in plan {
        let when = at(day, hour, minute);
        let placed = practice.place_order(
            &admin,
            &request(&patients[patient], code, Priority::Routine, Some(when)),
            when - Duration::hours(2),
        )?;
        let accession = placed.order.accession.clone();
        let steps: &[ExamStatus] = match stage {
            Stage::Scheduled => &[],
            Stage::Arrived => &[ExamStatus::Arrived],
            Stage::InProgress => &[ExamStatus::Arrived, ExamStatus::InProgress],
            Stage::Cancelled => &[ExamStatus::Cancelled],
            Stage::Completed | Stage::Preliminary | Stage::Final => &[
                ExamStatus::Arrived,
                ExamStatus::InProgress,
                ExamStatus::Completed,
            ],
        };
        for to in steps {
            practice.change_status(&admin, &accession, *to, "demo")?;
        }
        // Images of exams done; the scan in progress has not sent any yet.
        if matches!(stage, Stage::Completed | Stage::Preliminary | Stage::Final) {
            series_number += 1;
            let procedure = practice.procedure(code)?;
            // Head exams show a head (the 3-D Shepp–Logan phantom); the others a body, a
            // chest radiograph, a breast or an abdominal ultrasound by modality.
            let head = procedure.as_ref().is_some_and(|p| {
                p.body_part.eq_ignore_ascii_case("head") || p.name.contains("brain")
            });
            let modality = procedure.map(|p| p.modality).unwrap_or_else(|| "CT".into());
            write_study(
                &images,
                &patients[patient],
                &placed.step.study_uid,
                &accession,
                (&modality, head),
                &when.format("%Y%m%d").to_string(),
                series_number,
            )?;
        }
        if matches!(stage, Stage::Preliminary | Stage::Final) {
            let report = practice.open_report(&radiologist, &accession)?;
            let body = format!(
                "TECHNIQUE: Standard protocol.\n\nFINDINGS: No acute abnormality.\n\nIMPRESSION: Normal {} examination.",
                code
            );
            practice.save_report(&radiologist, report.id, &body, false)?;
            let to = if matches!(stage, Stage::Final) {
                ExamStatus::Final
            } else {
                ExamStatus::Preliminary
            };
            practice.sign_report(&radiologist, report.id, to)?;
        }
    }
    // Waiting for a slot, a STAT walk-in, and one that needs review.
    practice.place_order(
        &admin,
        &request(&patients[4], "70553", Priority::Routine, None),
        now,
    )?;
    practice.place_order(
        &admin,
        &request(&patients[5], "71046", Priority::Stat, None),
        now,
    )?;
    practice.place_order(
        &admin,
        &request(&patients[6], "99999", Priority::Routine, None),
        now,
    )?;
    drop(practice);
    let services = ArchiveServices::start(data)?;
    let summary = crate::import::import_paths(&services.ingest, std::slice::from_ref(&images));
    tracing::info!(
        imported = summary.imported,
        refused = summary.refused.len(),
        "demo studies archived"
    );
    let _ = std::fs::remove_dir_all(&images);
    if summary.imported == 0 {
        anyhow::bail!("the demo studies could not be archived");
    }
    Ok(())
}

fn request(
    patient: &PatientRecord,
    code: &str,
    priority: Priority,
    when: Option<NaiveDateTime>,
) -> OrderRequest {
    OrderRequest {
        patient: Some(patient.id),
        placer_number: String::new(),
        placer_app: String::new(),
        procedure_code: code.into(),
        priority,
        reason: "Demo".into(),
        icd10: vec!["R51.9".into()],
        referring: None,
        insurance: None,
        authorisation: String::new(),
        requested_time: when,
        supplied: None,
    }
}

/// Writes a small phantom series for an exam (its study UID and accession, the patient's
/// MRN and name) as Part 10 files under `folder`: a head for head exams (`head`), else the
/// modality's phantom (a chest and abdomen for CT and MR, a chest radiograph, mammogram views,
/// ultrasound frames).
fn write_study(
    folder: &Path,
    patient: &PatientRecord,
    study_uid: &str,
    accession: &str,
    (modality, head): (&str, bool),
    date: &str,
    number: u64,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(folder)?;
    let mut series = SyntheticSeries::new(number, 128);
    series.patient_id = patient.mrn.clone();
    series.patient_name = format!("{}^{}", patient.family_name, patient.given_name);
    series.study_uid = study_uid.to_string();
    series.series_uid = format!("{SYNTHETIC_ROOT}.2.77{number}{}", rand::random::<u32>());
    series.accession = accession.to_string();
    series.study_date = date.to_string();
    let (slices, sop_class) = match modality {
        "MR" => (20, "1.2.840.10008.5.1.4.1.1.4"),
        "US" => (3, "1.2.840.10008.5.1.4.1.1.6.1"),
        "MG" => (4, "1.2.840.10008.5.1.4.1.1.1.2"),
        "DX" => (2, "1.2.840.10008.5.1.4.1.1.1.1"),
        _ => (30, crate::pacs::synthetic::CT_IMAGE_STORAGE),
    };
    {
        use crate::pacs::synthetic::Anatomy;
        series.anatomy = match (modality, head) {
            ("MR", true) => Anatomy::HeadMr { slices },
            (_, true) => Anatomy::HeadCt { slices },
            ("MR", false) => Anatomy::BodyMr { slices },
            ("DX" | "CR", false) => Anatomy::ChestRadiograph,
            ("MG", false) => Anatomy::Mammogram,
            ("US", false) => Anatomy::Ultrasound,
            _ => Anatomy::BodyCt { slices },
        };
    }
    for i in 0..slices {
        let mut object = series.slice(i).map_err(anyhow::Error::msg)?;
        let put = |o: &mut dicom_object::FileDicomObject<dicom_object::InMemDicomObject>,
                   tag,
                   vr,
                   v: &str| {
            o.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        };
        put(
            &mut object,
            tags::SPECIFIC_CHARACTER_SET,
            VR::CS,
            "ISO_IR 192",
        );
        put(&mut object, tags::MODALITY, VR::CS, modality);
        put(&mut object, tags::SOP_CLASS_UID, VR::UI, sop_class);
        put(
            &mut object,
            tags::STUDY_DESCRIPTION,
            VR::LO,
            &format!("{modality} demo study"),
        );
        put(
            &mut object,
            tags::PATIENT_BIRTH_DATE,
            VR::DA,
            &patient.birth_date.replace('-', ""),
        );
        put(&mut object, tags::PATIENT_SEX, VR::CS, &patient.sex);
        // What each modality's image IOD asks for beyond the CT phantom's attributes.
        let extra: &[(dicom_core::Tag, VR, &str)] = match modality {
            "MR" => &[
                (tags::SCANNING_SEQUENCE, VR::CS, "SE"),
                (tags::SEQUENCE_VARIANT, VR::CS, "NONE"),
                (tags::SCAN_OPTIONS, VR::CS, ""),
                (tags::MR_ACQUISITION_TYPE, VR::CS, "2D"),
                (tags::REPETITION_TIME, VR::DS, "500"),
                (tags::ECHO_TIME, VR::DS, "20"),
                (tags::ECHO_TRAIN_LENGTH, VR::IS, "1"),
                (tags::MAGNETIC_FIELD_STRENGTH, VR::DS, "1.5"),
            ],
            _ => &[],
        };
        for (tag, vr, value) in extra {
            put(&mut object, *tag, *vr, value);
        }
        if matches!(modality, "DX" | "MG") {
            projection_attributes(&mut object, modality, i);
        }
        if modality == "US" {
            eight_bit_ultrasound(&mut object);
        }
        object.update_meta(|meta| meta.media_storage_sop_class_uid = sop_class.to_string());
        object
            .write_to_file(folder.join(format!("{accession}-{i:03}.dcm")))
            .with_context(|| format!("writing a demo image of {accession}"))?;
    }
    Ok(())
}

/// What the DX and mammography image IODs ask of a "for presentation" projection image beyond
/// the CT phantom's attributes: the view, laterality, detector, and how pixel values relate to
/// X-ray intensity (a viewer inverts nothing: bright is dense).
fn projection_attributes(
    object: &mut dicom_object::FileDicomObject<dicom_object::InMemDicomObject>,
    modality: &str,
    index: u32,
) {
    use dicom_core::value::DataSetSequence;
    use dicom_object::InMemDicomObject;
    let code = |value: &str, scheme: &str, meaning: &str| {
        let mut item = InMemDicomObject::new_empty();
        for (tag, vr, v) in [
            (tags::CODE_VALUE, VR::SH, value),
            (tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
            (tags::CODE_MEANING, VR::LO, meaning),
        ] {
            item.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        }
        DataSetSequence::from(vec![item])
    };
    // The views: a PA and a lateral chest; right and left craniocaudal and mediolateral
    // oblique mammograms.
    let mammogram = modality == "MG";
    let (laterality, view, view_code, orientation) = if mammogram {
        let side = if index.is_multiple_of(2) { "R" } else { "L" };
        let (view, view_code, meaning) = if index < 2 {
            ("CC", "399162004", "cranio-caudal")
        } else {
            ("MLO", "399368009", "medio-lateral oblique")
        };
        let orientation = if side == "R" { "A\\R" } else { "P\\L" };
        (side, view, (view_code, meaning), orientation)
    } else if index.is_multiple_of(2) {
        ("U", "PA", ("399348003", "postero-anterior"), "L\\F")
    } else {
        ("U", "LL", ("399198007", "left lateral"), "A\\F")
    };
    let spacing = object
        .element(tags::PIXEL_SPACING)
        .ok()
        .and_then(|e| e.to_str().ok().map(|s| s.to_string()))
        .unwrap_or_else(|| "1\\1".into());
    for (tag, vr, value) in [
        (tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY"),
        (tags::PRESENTATION_INTENT_TYPE, VR::CS, "FOR PRESENTATION"),
        (tags::PATIENT_ORIENTATION, VR::CS, orientation),
        (tags::IMAGE_LATERALITY, VR::CS, laterality),
        (tags::VIEW_POSITION, VR::CS, view),
        (tags::PIXEL_INTENSITY_RELATIONSHIP, VR::CS, "LOG"),
        (tags::RESCALE_TYPE, VR::LO, "US"),
        (tags::PRESENTATION_LUT_SHAPE, VR::CS, "IDENTITY"),
        (tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"),
        (tags::BURNED_IN_ANNOTATION, VR::CS, "NO"),
        (tags::DETECTOR_TYPE, VR::CS, "DIRECT"),
        (tags::IMAGER_PIXEL_SPACING, VR::DS, spacing.as_str()),
        (
            tags::POSITIONER_TYPE,
            VR::CS,
            if mammogram { "MAMMOGRAPHIC" } else { "NONE" },
        ),
        (
            tags::BODY_PART_EXAMINED,
            VR::CS,
            if mammogram { "BREAST" } else { "CHEST" },
        ),
    ] {
        object.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    }
    object.put(DataElement::new(
        tags::PIXEL_INTENSITY_RELATIONSHIP_SIGN,
        VR::SS,
        PrimitiveValue::from(1_i16),
    ));
    object.put(DataElement::new(
        tags::ACQUISITION_CONTEXT_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(Vec::<InMemDicomObject>::new()),
    ));
    let (region, region_meaning) = if mammogram {
        ("76752008", "Breast")
    } else {
        ("51185008", "Thorax")
    };
    object.put(DataElement::new(
        tags::ANATOMIC_REGION_SEQUENCE,
        VR::SQ,
        code(region, "SCT", region_meaning),
    ));
    let mut view_item = code(view_code.0, "SCT", view_code.1);
    if mammogram {
        // A mammogram's view may be modified (spot, magnified…): none here, said as such.
        for item in view_item.items_mut() {
            item.put(DataElement::new(
                tags::VIEW_MODIFIER_CODE_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(Vec::<InMemDicomObject>::new()),
            ));
        }
    }
    object.put(DataElement::new(
        tags::VIEW_CODE_SEQUENCE,
        VR::SQ,
        view_item,
    ));
    // Projection images have no slice geometry, and laterality is the image's own.
    for tag in [
        tags::LATERALITY,
        tags::IMAGE_POSITION_PATIENT,
        tags::IMAGE_ORIENTATION_PATIENT,
        tags::SLICE_THICKNESS,
        tags::FRAME_OF_REFERENCE_UID,
        tags::POSITION_REFERENCE_INDICATOR,
    ] {
        object.remove_element(tag);
    }
    if mammogram {
        for (tag, vr, value) in [
            (tags::BREAST_IMPLANT_PRESENT, VR::CS, "NO"),
            (tags::PARTIAL_VIEW, VR::CS, "NO"),
            (tags::ORGAN_EXPOSED, VR::CS, "BREAST"),
        ] {
            object.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
        }
    }
}

/// An ultrasound image is 8-bit grey without rescale or patient geometry: the phantom's echo
/// values (already 0..255 in 16-bit words) become bytes and the CT-only attributes are dropped.
fn eight_bit_ultrasound(
    object: &mut dicom_object::FileDicomObject<dicom_object::InMemDicomObject>,
) {
    let words: Vec<u16> = object
        .element(tags::PIXEL_DATA)
        .ok()
        .and_then(|e| e.to_bytes().ok())
        .map(|b| {
            b.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect()
        })
        .unwrap_or_default();
    let bytes: Vec<u8> = words
        .iter()
        .map(|v| u8::try_from(*v).unwrap_or(u8::MAX))
        .collect();
    for tag in [
        tags::RESCALE_INTERCEPT,
        tags::RESCALE_SLOPE,
        tags::WINDOW_CENTER,
        tags::WINDOW_WIDTH,
        tags::IMAGE_POSITION_PATIENT,
        tags::IMAGE_ORIENTATION_PATIENT,
        tags::FRAME_OF_REFERENCE_UID,
        tags::POSITION_REFERENCE_INDICATOR,
        tags::SLICE_THICKNESS,
        tags::KVP,
        tags::PIXEL_SPACING,
    ] {
        object.remove_element(tag);
    }
    for (tag, value) in [
        (tags::BITS_ALLOCATED, 8u16),
        (tags::BITS_STORED, 8),
        (tags::HIGH_BIT, 7),
    ] {
        object.put(DataElement::new(tag, VR::US, PrimitiveValue::from(value)));
    }
    object.put(DataElement::new(
        tags::PATIENT_ORIENTATION,
        VR::CS,
        PrimitiveValue::Empty,
    ));
    object.put(DataElement::new(
        tags::IMAGE_TYPE,
        VR::CS,
        PrimitiveValue::from("DERIVED\\SECONDARY"),
    ));
    object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(bytes.into()),
    ));
}

/// A data folder for one demo run under the system's temporary folder; removed by
/// [`DemoFolder`]'s drop when the window closes.
pub struct DemoFolder {
    /// The folder.
    pub data: DataFolder,
}

impl DemoFolder {
    /// Creates a fresh folder named after this process.
    pub fn create() -> anyhow::Result<DemoFolder> {
        let root = std::env::temp_dir().join(format!("lightbox-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        Ok(DemoFolder {
            data: DataFolder::resolve(Some(&root))?,
        })
    }
}

impl Drop for DemoFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.data.root());
    }
}
