//! A ten-year practice archive in the index: how searches hold up as it grows. The index is
//! filled in steps (default 100,000 → 1,000,000 → 3,000,000 instances; 10 instances per study,
//! 2 studies per patient, dates over ten years, names from many languages) and at each step
//! the searches the staff and the peers make are timed, medians of 30:
//! the study browser's search (a patient-name prefix, any case, through the Practice API),
//! C-FIND at study level through the DICOM listener (our SCU; association included), QIDO-RS
//! over HTTPS (python `requests`, one kept-alive connection), an accession lookup, and the
//! front desk's patient search over as many registered patients, and the radiologist's reading
//! worklist over ten years of orders (one per study, all read but the day's 40); with the
//! database's size.
//!
//! Run: `cargo bench --bench scale` (LIGHTBOX_SCALE_STEPS=100000,1000000,3000000; needs the
//! test venv for the QIDO-RS client). Targets: searches < 50 ms median, the reading worklist
//! < 20 ms.

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failed step is a failed run

use std::path::Path;
use std::time::Instant;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use lightbox::app::{self, DataFolder, ServeOptions};
use lightbox::dicom::scu;
use lightbox::events::EventSender;
use lightbox_store::Store;
use lightbox_store::index::{Column, Condition, Level, Matcher, NewInstance};
use lightbox_store::nodes::DicomNode;

const INSTANCES_PER_SERIES: usize = 5;
const SERIES_PER_STUDY: usize = 2;
const STUDIES_PER_PATIENT: usize = 2;
const PASSWORD: &str = "scale bench password";

const FAMILIES: [&str; 12] = [
    "MÜLLER",
    "GARCÍA",
    "NGUYỄN",
    "SMITH",
    "ØDEGÅRD",
    "O'BRIEN",
    "DUBOIS",
    "KOWALSKI",
    "ROSSI",
    "ÅSTRÖM",
    "YAMADA",
    "ANDERSSON",
];
const GIVENS: [&str; 8] = [
    "ZOË", "JOSÉ", "ANNA", "LI", "MARÍA", "JOHN", "SØREN", "AMÉLIE",
];
const MODALITIES: [&str; 6] = ["CT", "MR", "DX", "US", "MG", "CT"];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_ms(rounds: usize, mut work: impl FnMut()) -> f64 {
    work();
    median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                work();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect(),
    )
}

/// Adds studies `from..to` (each 10 instances) to the index.
fn fill(store: &mut Store, from: usize, to: usize) {
    let mut batch = Vec::with_capacity(10_000);
    for s in from..to {
        let p = s / STUDIES_PER_PATIENT;
        let family = FAMILIES[p % FAMILIES.len()];
        let given = GIVENS[(p / FAMILIES.len()) % GIVENS.len()];
        let day = s % 3650;
        let (year, month, dom) = (2016 + day / 365, 1 + (day % 365) / 31 % 12, 1 + day % 28);
        for se in 0..SERIES_PER_STUDY {
            for i in 0..INSTANCES_PER_SERIES {
                batch.push(NewInstance {
                    patient_id: format!("P{p:07}"),
                    patient_name: format!("{family}{p:07}^{given}"),
                    birth_date: format!("19{:02}0{}1{}", 30 + p % 60, 1 + p % 9, p % 10),
                    sex: if p.is_multiple_of(2) {
                        "F".into()
                    } else {
                        "M".into()
                    },
                    study_uid: format!("1.2.826.0.1.9.{s}"),
                    study_date: format!("{year}{month:02}{dom:02}"),
                    study_time: "101500".into(),
                    accession: format!("A{s:08}"),
                    study_description: "CT CHEST".into(),
                    series_uid: format!("1.2.826.0.1.9.{s}.{se}"),
                    modality: MODALITIES[s % MODALITIES.len()].into(),
                    series_number: (se + 1).to_string(),
                    sop_uid: format!("1.2.826.0.1.9.{s}.{se}.{i}"),
                    sop_class: "1.2.840.10008.5.1.4.1.1.2".into(),
                    instance_number: (i + 1).to_string(),
                    file_path: format!("{:02}/{s}_{se}_{i}.dcm", s % 100),
                    file_size: 526_000,
                    transfer_syntax: "1.2.840.10008.1.2.1".into(),
                    header_hash: String::new(),
                    received_from: "SCALE".into(),
                    ..NewInstance::default()
                });
                if batch.len() == 10_000 {
                    store.index_instances(&batch).expect("index");
                    batch.clear();
                }
            }
        }
    }
    store.index_instances(&batch).expect("index");
}

fn size_mib(dir: &Path) -> f64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("lightbox.sqlite")
                })
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len() as f64)
                .sum::<f64>()
                / 1_048_576.0
        })
        .unwrap_or(0.0)
}

fn main() {
    // `cargo test --benches` (and nextest listing) runs bench targets without --bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let steps: Vec<usize> = std::env::var("LIGHTBOX_SCALE_STEPS")
        .unwrap_or_else(|_| "100000,1000000,3000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let per_study = INSTANCES_PER_SERIES * SERIES_PER_STUDY;
    let dir = tempfile::tempdir().unwrap();
    let data = DataFolder::resolve(Some(dir.path())).unwrap();
    let practice = data.open_practice().unwrap();
    let admin = practice.act_as_os_administrator("bench").unwrap();
    practice
        .create_user(
            &admin,
            "reader",
            "Dr Scale",
            lightbox::access::Role::Radiologist,
            PASSWORD,
        )
        .unwrap();
    let mut store = Store::open(&data.database()).unwrap();
    store
        .save_node(&DicomNode::new("me", "BENCH", "127.0.0.1", 1))
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let services = rt
        .block_on(app::start_services(
            &data,
            &ServeOptions {
                dicom_port: Some(0),
                ..Default::default()
            },
            EventSender::discard(),
        ))
        .unwrap();
    let tls = lightbox::api::tls::PracticeTls::ensure(dir.path()).unwrap();
    let api = rt
        .block_on(lightbox::api::ApiServer::start(
            "127.0.0.1:0".parse().unwrap(),
            data.open_practice().unwrap(),
            None,
            &tls,
        ))
        .unwrap();
    let python = std::env::var_os("LIGHTBOX_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let node = DicomNode::new("self", "LIGHTBOX", "127.0.0.1", services.dicom_addr.port());
    println!(
        "instances   studies  patients  fill_s  db_MiB  browser_ms  cfind_ms  qido_ms  accession_ms  desk_ms  worklist_ms  (matches)"
    );
    let reader = practice.sign_in("reader", PASSWORD, "bench").unwrap();
    let mut studies_done = 0;
    let mut registered = 0;
    let mut patient_ids: Vec<i64> = Vec::new();
    for step in steps {
        let studies = step / per_study;
        let t = Instant::now();
        fill(&mut store, studies_done, studies);
        // The front desk's registered patients, as many as the archive's.
        let patients = studies / STUDIES_PER_PATIENT;
        for p in registered..patients {
            let id = store
                .insert_patient(
                    &lightbox_store::his::PatientRecord {
                        mrn: format!("M{p:07}"),
                        family_name: format!("{}{p:07}", FAMILIES[p % FAMILIES.len()]),
                        given_name: GIVENS[(p / FAMILIES.len()) % GIVENS.len()].into(),
                        birth_date: "1960-01-01".into(),
                        sex: "U".into(),
                        pregnancy: "unknown".into(),
                        ..Default::default()
                    },
                    &[],
                )
                .unwrap();
            patient_ids.push(id);
        }
        registered = patients;
        // Ten years of orders, one per study: all read (final) but the day's last 40, which
        // wait on the reading worklist.
        for st in studies_done..studies {
            let status = if st + 40 >= studies {
                "completed"
            } else {
                "final"
            };
            store
                .insert_order(
                    &lightbox_store::ris::OrderRecord {
                        patient: patient_ids.get(st / STUDIES_PER_PATIENT).copied(),
                        filler_number: format!("F{st:08}"),
                        accession: format!("A{st:08}"),
                        procedure_code: "71250".into(),
                        priority: "ROUTINE".into(),
                        status: status.into(),
                        ..Default::default()
                    },
                    &lightbox_store::ris::StepRecord {
                        requested_procedure_id: format!("RP{st:08}"),
                        step_id: format!("SPS{st:08}"),
                        study_uid: format!("1.2.826.0.1.9.{st}"),
                        duration_minutes: 15,
                        ..Default::default()
                    },
                    "bench",
                    "",
                )
                .unwrap();
        }
        // The earlier step's waiting exams were read meanwhile.
        if studies_done > 0 {
            for st in studies_done.saturating_sub(40)..studies_done {
                let order = store
                    .order_by_accession(&format!("A{st:08}"))
                    .unwrap()
                    .unwrap();
                store
                    .set_order_status(order.id, "final", "bench", "")
                    .unwrap();
            }
        }
        let fill_s = t.elapsed().as_secs_f64();
        studies_done = studies;
        // One patient near the end of what was filled: about two studies match.
        let p = (studies / STUDIES_PER_PATIENT).saturating_sub(7);
        let prefix = format!("{}{p:07}", FAMILIES[p % FAMILIES.len()]);
        let typed = prefix.to_lowercase();
        let browser_conditions = [Condition {
            column: Column::PatientName,
            matcher: Matcher::Glob {
                pattern: format!("{typed}*"),
                case_insensitive: true,
            },
        }];
        let mut browser_matches = 0;
        let browser_ms = time_ms(30, || {
            browser_matches = practice
                .find_studies(&admin, Level::Study, &browser_conditions, 500)
                .unwrap()
                .len();
        });
        let mut id = InMemDicomObject::new_empty();
        id.put(DataElement::new(
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            PrimitiveValue::from("STUDY"),
        ));
        id.put(DataElement::new(
            tags::PATIENT_NAME,
            VR::PN,
            PrimitiveValue::from(format!("{prefix}*")),
        ));
        for (tag, vr) in [
            (tags::STUDY_INSTANCE_UID, VR::UI),
            (tags::STUDY_DATE, VR::DA),
            (tags::ACCESSION_NUMBER, VR::SH),
            (tags::MODALITIES_IN_STUDY, VR::CS),
            (tags::NUMBER_OF_STUDY_RELATED_INSTANCES, VR::IS),
        ] {
            id.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
        }
        let mut cfind_matches = 0;
        let cfind_ms = time_ms(30, || {
            cfind_matches = rt.block_on(scu::find(&node, "BENCH", &id)).unwrap().len();
        });
        let qido = std::process::Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/qido_timing.py"))
            .arg(format!("https://localhost:{}", api.addr.port()))
            .arg(tls.ca_path())
            .args(["reader", PASSWORD, "30"])
            .arg(format!("PatientName={prefix}*"))
            .output()
            .unwrap();
        let qido: serde_json::Value = serde_json::from_slice(&qido.stdout).unwrap_or_else(|_| {
            panic!(
                "QIDO timing failed: {}",
                String::from_utf8_lossy(&qido.stderr)
            )
        });
        let accession = [Condition {
            column: Column::Accession,
            matcher: Matcher::Exact(format!("A{:08}", studies / 3)),
        }];
        let accession_ms = time_ms(30, || {
            assert_eq!(
                practice
                    .find_studies(&admin, Level::Study, &accession, 10)
                    .unwrap()
                    .len(),
                1
            );
        });
        // The radiologist's reading worklist (what the Reading screen reads on every change).
        let mut worklist_rows = 0;
        let worklist_ms = time_ms(30, || {
            worklist_rows = practice
                .reading_worklist(
                    &reader,
                    &lightbox::ris::reading::ReadingFilter::default(),
                    lightbox::access::ReadOccasion::Refreshed,
                )
                .unwrap()
                .len();
        });
        // The front desk types the patient's name, lower case, accents and all.
        let mut desk_matches = 0;
        let desk_ms = time_ms(30, || {
            desk_matches = practice.search_patients(&admin, &typed, 50).unwrap().len();
        });
        println!(
            "{step:>9} {studies:>9} {:>9} {fill_s:>7.1} {:>7.0} {browser_ms:>11.2} {cfind_ms:>9.2} {:>8.2} {accession_ms:>13.2} {desk_ms:>8.2} {worklist_ms:>12.2}  ({browser_matches}, {cfind_matches}, {}, {desk_matches}, {worklist_rows})",
            studies / STUDIES_PER_PATIENT,
            size_mib(dir.path()),
            qido["median_ms"].as_f64().unwrap_or(f64::NAN),
            qido["matches"],
        );
    }
    api.stop();
    services.stop();
}
