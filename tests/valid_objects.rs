//! Objects Lightbox writes are valid DICOM, as dicom3tools' `dciodvfy` (David Clunie's IOD
//! checker) judges them: the synthetic series, key object selections and presentation states
//! exported from the viewer, headers rewritten by a patient merge, and the demo's studies.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use lightbox::access::{Actor, Role};
use lightbox::imaging::measure::{ImagePoint, Shape};
use lightbox::pacs::synthetic::SyntheticSeries;

/// dciodvfy's errors for a file (its warnings are advice, not failures).
fn iod_errors(path: &Path) -> Vec<String> {
    let out = Command::new("dciodvfy")
        .arg(path)
        .output()
        .expect("dciodvfy (install dicom3tools)");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .chain(String::from_utf8_lossy(&out.stdout).lines())
        .filter(|l| l.starts_with("Error"))
        .map(str::to_string)
        .collect()
}

fn archived_files(data: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "dcm") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&data.join("archive"), &mut out);
    out
}

fn sop_class_of(path: &Path) -> String {
    dicom_object::open_file(path)
        .unwrap()
        .meta()
        .media_storage_sop_class_uid()
        .trim_end_matches('\0')
        .to_string()
}

#[test]
fn synthetic_series_key_images_and_presentation_states_pass_dciodvfy() {
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(&dir.path().join("data"))).unwrap();
    let store = {
        let s = lightbox_store::Store::open(&data.database()).unwrap();
        lightbox::ris::seed_starter_data(&s).unwrap();
        s
    };
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    let series = SyntheticSeries::new(77, 64);
    let files = dir.path().join("ct");
    std::fs::create_dir_all(&files).unwrap();
    for i in 0..3 {
        let path = files.join(format!("{i}.dcm"));
        series.slice(i).unwrap().write_to_file(&path).unwrap();
        assert_eq!(
            iod_errors(&path),
            Vec::<String>::new(),
            "synthetic CT slice"
        );
    }
    let summary = lightbox::import::import_paths(&services.ingest, &[files]);
    assert_eq!(summary.imported, 3);
    let radiologist = Actor {
        login: "drtest".into(),
        role: Role::Radiologist,
        origin: "test".into(),
    };
    lightbox::viewing::set_key_image(
        &store,
        &radiologist,
        &series.study_uid,
        &series.sop_uid(0),
        0,
        true,
    )
    .unwrap();
    lightbox::viewing::annotate(
        &store,
        &radiologist,
        &series.study_uid,
        &series.sop_uid(1),
        0,
        &Shape::Length {
            a: ImagePoint { x: 10.0, y: 10.0 },
            b: ImagePoint { x: 40.0, y: 30.0 },
        },
        lightbox::imaging::measure::Calibration::None,
    )
    .unwrap();
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let archive = lightbox::archive::ArchiveFolder::at(&data.archive());
    lightbox::viewing::export_to_archive(
        &store,
        &services.ingest,
        &archive,
        &radiologist,
        &series.study_uid,
        now,
        Some(lightbox::imaging::Window {
            center: 40.0,
            width: 400.0,
        }),
    )
    .unwrap();
    let mut checked = std::collections::BTreeSet::new();
    for file in archived_files(data.root()) {
        let class = sop_class_of(&file);
        if class == lightbox::pacs::synthetic::CT_IMAGE_STORAGE {
            continue;
        }
        assert_eq!(
            iod_errors(&file),
            Vec::<String>::new(),
            "{class} written by the viewer"
        );
        checked.insert(class);
    }
    // A Key Object Selection and a Grayscale Softcopy Presentation State.
    assert!(
        checked.contains("1.2.840.10008.5.1.4.1.1.88.59"),
        "{checked:?}"
    );
    assert!(
        checked.contains("1.2.840.10008.5.1.4.1.1.11.1"),
        "{checked:?}"
    );
}

#[test]
fn headers_rewritten_by_a_patient_merge_pass_dciodvfy() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let folder = lightbox::app::DataFolder::resolve(Some(&data)).unwrap();
    let mut store = {
        let s = lightbox_store::Store::open(&folder.database()).unwrap();
        lightbox::ris::seed_starter_data(&s).unwrap();
        s
    };
    let admin = lightbox::access::create_first_administrator(
        &store,
        "admin",
        "Admin",
        "long enough password",
    )
    .unwrap();
    let register = |store: &mut lightbox_store::Store, given: &str| {
        lightbox::his::register(
            store,
            &admin,
            &lightbox::his::Registration {
                patient: lightbox_store::his::PatientRecord {
                    family_name: "MÜLLER".into(),
                    given_name: given.into(),
                    birth_date: "1960-01-02".into(),
                    sex: "F".into(),
                    ..Default::default()
                },
                identifiers: vec![],
                confirmed_new: true,
            },
        )
        .unwrap()
    };
    let keep = register(&mut store, "ANNA");
    let duplicate = register(&mut store, "ANNE");
    let mut series = SyntheticSeries::new(91, 64);
    series.patient_id = duplicate.mrn.clone();
    series.patient_name = "MÜLLER^ANNE".into();
    let files = dir.path().join("ct");
    std::fs::create_dir_all(&files).unwrap();
    let path = files.join("0.dcm");
    series.slice(0).unwrap().write_to_file(&path).unwrap();
    drop(store);
    let imported = lightbox(&data, &["import", path.to_str().unwrap()]);
    assert!(imported.status.success());
    let merged = lightbox(
        &data,
        &[
            "patients",
            "merge",
            "--keep",
            &keep.mrn,
            "--merge",
            &duplicate.mrn,
        ],
    );
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let files = archived_files(&data);
    assert_eq!(files.len(), 1);
    let rewritten = dicom_object::open_file(&files[0]).unwrap();
    assert_eq!(
        rewritten
            .element(dicom_dictionary_std::tags::PATIENT_ID)
            .unwrap()
            .to_str()
            .unwrap()
            .trim(),
        keep.mrn
    );
    assert_eq!(iod_errors(&files[0]), Vec::<String>::new());
}

#[test]
fn the_demo_practices_studies_pass_dciodvfy() {
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    lightbox::demo::populate(&data, now).unwrap();
    let mut by_class = std::collections::BTreeMap::new();
    for file in archived_files(data.root()) {
        by_class.entry(sop_class_of(&file)).or_insert(file);
    }
    assert!(by_class.len() >= 3, "{by_class:?}");
    for (class, file) in by_class {
        assert_eq!(iod_errors(&file), Vec::<String>::new(), "{class}");
    }
}
