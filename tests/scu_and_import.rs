//! `lightbox import` on the corpus and its DICOMDIR, and Lightbox as the requester (echo,
//! send, query, retrieve by C-GET and C-MOVE) against pynetdicom and dcmtk peers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Parses "imported N, duplicates N, conflicts N, refused N".
fn import_counts(text: &str) -> (usize, usize, usize, usize) {
    let first = text.lines().next().unwrap_or_default();
    let nums: Vec<usize> = first
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(nums.len(), 4, "{text}");
    (nums[0], nums[1], nums[2], nums[3])
}

#[test]
fn import_of_the_corpus_folder_reports_each_file_and_refuses_the_truncated_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = lightbox(dir.path(), &["import", corpus_dicom().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let (imported, duplicates, conflicts, refused) = import_counts(&text);
    // The DICOMDIR tree is walked once: its files are not counted twice.
    let expected = peer(&["corpus_index", corpus_dicom().to_str().unwrap()]);
    // pydicom reads MR_truncated.dcm's header; we refuse the file (its pixel data is cut).
    let expected = serde_json::Value::Array(
        expected
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| !e["path"].as_str().unwrap().ends_with("MR_truncated.dcm"))
            .cloned()
            .collect(),
    );
    let distinct: std::collections::BTreeSet<&str> = expected
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sop"].as_str().unwrap())
        .collect();
    assert_eq!(imported, distinct.len(), "{text}");
    assert_eq!(
        imported + duplicates + conflicts,
        expected.as_array().unwrap().len(),
        "{text}"
    );
    assert!(refused >= 1, "{text}");
    assert!(
        text.contains("refused") && text.contains("MR_truncated.dcm"),
        "{text}"
    );
    // A second import is all duplicates and changes nothing.
    let out = lightbox(dir.path(), &["import", corpus_dicom().to_str().unwrap()]);
    let (imported2, duplicates2, conflicts2, _) = import_counts(&stdout(&out));
    assert_eq!(imported2, 0);
    assert_eq!(duplicates2 + conflicts2, expected.as_array().unwrap().len());
    let out = lightbox(dir.path(), &["check"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with(&format!("instances {imported},")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn import_of_a_dicomdir_follows_its_references() {
    let dir = tempfile::tempdir().unwrap();
    let dicomdir = corpus_dicom().join("dicomdir/DICOMDIR");
    let out = lightbox(dir.path(), &["import", dicomdir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (imported, _, _, refused) = import_counts(&stdout(&out));
    // dcmtk's dcmdump counts the DICOMDIR's file references.
    let dump = Command::new("dcmdump").arg(&dicomdir).output().unwrap();
    let references = String::from_utf8_lossy(&dump.stdout)
        .matches("ReferencedFileID")
        .count();
    assert!(references >= 10, "{references}");
    assert_eq!(imported, references, "{}", stdout(&out));
    assert_eq!(refused, 0, "{}", stdout(&out));
}

#[test]
fn import_of_nothing_readable_fails() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("notes.txt"), "not dicom").unwrap();
    let out = lightbox(
        &dir.path().join("data"),
        &["import", junk.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("not a DICOM file"),
        "{}",
        stdout(&out)
    );
}

fn copy_corpus_subset(to: &Path) -> Vec<&'static str> {
    let names = [
        "CT_small.dcm",
        "MR_small.dcm",
        "US1_UNCR.dcm",
        "emri_small.dcm",
    ];
    std::fs::create_dir_all(to).unwrap();
    for n in names {
        std::fs::copy(corpus_dicom().join(n), to.join(n)).unwrap();
    }
    names.to_vec()
}

fn study_uid_of(name: &str) -> String {
    let e = peer(&["corpus_index", corpus_dicom().join(name).to_str().unwrap()]);
    e[0]["study"].as_str().unwrap().to_string()
}

#[test]
fn echo_query_and_c_get_against_pynetdicom() {
    let dir = tempfile::tempdir().unwrap();
    let remote_files = dir.path().join("remote");
    copy_corpus_subset(&remote_files);
    let qr = start_pyqr(&remote_files, &[]);
    let data = dir.path().join("data");
    let out = lightbox(
        &data,
        &[
            "nodes",
            "add",
            "--name",
            "pacs2",
            "--ae",
            "PYQR",
            "--host",
            "127.0.0.1",
            "--port",
            &qr.port.to_string(),
        ],
    );
    assert!(out.status.success());
    let out = lightbox(&data, &["nodes", "echo", "pacs2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("echo pacs2 ok"));

    let out = lightbox(
        &data,
        &[
            "query",
            "--from",
            "pacs2",
            "StudyInstanceUID=",
            "PatientID=",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{}", stdout(&out));
    assert!(
        lines
            .iter()
            .any(|l| l["StudyInstanceUID"] == study_uid_of("CT_small.dcm"))
    );

    let study = study_uid_of("emri_small.dcm");
    let out = lightbox(
        &data,
        &["retrieve", "--from", "pacs2", "--study", &study, "--get"],
    );
    assert!(
        out.status.success(),
        "{} {}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = lightbox(&data, &["check"]);
    assert!(stdout(&out).starts_with("instances 1,"), "{}", stdout(&out));
}

#[test]
fn c_move_from_pynetdicom_into_our_listener() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let our_port = free_port();
    let out = lightbox(
        &data,
        &["settings", "set", "dicom.port", &our_port.to_string()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let remote_files = dir.path().join("remote");
    copy_corpus_subset(&remote_files);
    let qr = start_pyqr(&remote_files, &[format!("LIGHTBOX=127.0.0.1:{our_port}")]);
    let out = lightbox(
        &data,
        &[
            "nodes",
            "add",
            "--name",
            "pacs2",
            "--ae",
            "PYQR",
            "--host",
            "127.0.0.1",
            "--port",
            &qr.port.to_string(),
        ],
    );
    assert!(out.status.success());
    let study = study_uid_of("CT_small.dcm");
    let out = lightbox(&data, &["retrieve", "--from", "pacs2", "--study", &study]);
    assert!(
        out.status.success(),
        "{} {}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("completed 1"), "{}", stdout(&out));
    let out = lightbox(&data, &["check"]);
    assert!(stdout(&out).starts_with("instances 1,"), "{}", stdout(&out));
}

#[test]
fn send_a_study_to_dcmtk_storescp() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = lightbox(
        &data,
        &[
            "import",
            corpus_dicom().join("MR2_J2KR.dcm").to_str().unwrap(),
            corpus_dicom().join("CT_small.dcm").to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    let dest = dir.path().join("dest");
    std::fs::create_dir_all(&dest).unwrap();
    let port = free_port();
    // storescp accepts only uncompressed syntaxes by default: the JPEG 2000 file must be
    // transcoded to Explicit VR Little Endian on the way.
    let mut storescp = Command::new("storescp")
        .env("TCP_NODELAY", "1")
        .args([
            "-aet",
            "DEST",
            "-od",
            dest.to_str().unwrap(),
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port);
    let out = lightbox(
        &data,
        &[
            "nodes",
            "add",
            "--name",
            "dest",
            "--ae",
            "DEST",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ],
    );
    assert!(out.status.success());
    for name in ["MR2_J2KR.dcm", "CT_small.dcm"] {
        let study = study_uid_of(name);
        let out = lightbox(&data, &["send", "--to", "dest", "--study", &study]);
        assert!(
            out.status.success(),
            "{} {}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout(&out).starts_with("sent 1,"), "{}", stdout(&out));
    }
    let _ = storescp.kill();
    let _ = storescp.wait();
    let files: Vec<_> = std::fs::read_dir(&dest)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 2);
    let mr = files
        .iter()
        .find(|f| f.file_name().unwrap().to_string_lossy().starts_with("MR"))
        .expect("MR arrived");
    let ts = Command::new("dcmdump")
        .args(["+P", "0002,0010"])
        .arg(mr)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&ts.stdout).contains("LittleEndianExplicit"),
        "{}",
        String::from_utf8_lossy(&ts.stdout)
    );
    // The pixels survived the transcoding: same as pydicom's decode of the original.
    let r = peer(&[
        "same_pixels",
        corpus_dicom().join("MR2_UNCR.dcm").to_str().unwrap(),
        mr.to_str().unwrap(),
    ]);
    assert_eq!(r["same"], true, "{r}");
}

#[test]
fn priors_on_another_pacs_are_fetched_for_an_exam_and_for_tomorrows_patients() {
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote");
    copy_corpus_subset(&remote);
    let index = peer(&[
        "corpus_index",
        remote.join("CT_small.dcm").to_str().unwrap(),
    ]);
    let outside_id = index[0]["patient_id"].as_str().unwrap().to_string();
    let prior_study = index[0]["study"].as_str().unwrap().to_string();
    let qr = start_pyqr(&remote, &[]);

    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let mut store = {
        let s = lightbox_store::Store::open(&data.database()).unwrap();
        lightbox::ris::seed_starter_data(&s).unwrap();
        s
    };
    lightbox::ris::seed_starter_data(&store).unwrap();
    let admin =
        lightbox::access::create_first_administrator(&store, "admin", "A", "long enough pw")
            .unwrap();
    // The patient is known here under the other PACS's patient ID too.
    let patient = lightbox::his::register(
        &mut store,
        &admin,
        &lightbox::his::Registration {
            patient: lightbox_store::his::PatientRecord {
                family_name: "PRIOR".into(),
                given_name: "PAT".into(),
                birth_date: "1950-01-01".into(),
                ..Default::default()
            },
            identifiers: vec![lightbox_store::his::PatientIdentifier {
                value: outside_id.clone(),
                issuer: "OLDPACS".into(),
            }],
            confirmed_new: true,
        },
    )
    .unwrap();
    // Nothing is fetched until a prior node is configured.
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    // Ingest hands blocking work to the runtime: a multi-threaded one, as the services use.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // The test's own clock: Wednesday 2026-11-25, 08:00.
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let now = today.and_hms_opt(8, 0, 0).unwrap();
    let tomorrow = (today + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let none = runtime.block_on(lightbox::dicom::priors::prefetch_for_day(
        &store,
        &services.ingest,
        "LIGHTBOX",
        &tomorrow,
    ));
    assert_eq!(none.missing, 0);
    store
        .save_node(&lightbox_store::nodes::DicomNode::new(
            "oldpacs",
            "PYQR",
            "127.0.0.1",
            qr.port,
        ))
        .unwrap();
    lightbox::app::validate_setting(lightbox::dicom::priors::PRIOR_NODES_SETTING, "oldpacs")
        .unwrap();
    store
        .set_setting(lightbox::dicom::priors::PRIOR_NODES_SETTING, "oldpacs")
        .unwrap();
    // An exam tomorrow (an MR, booked into tomorrow's first free slot if the room is open).
    let placed = lightbox::ris::place_order(
        &mut store,
        &admin,
        &lightbox::ris::OrderRequest {
            patient: Some(patient.id),
            placer_number: String::new(),
            placer_app: String::new(),
            procedure_code: "70551".into(),
            priority: lightbox::ris::Priority::Routine,
            reason: "Headache".into(),
            icd10: vec![],
            referring: None,
            insurance: None,
            authorisation: String::new(),
            requested_time: None,
            supplied: None,
        },
        now,
    )
    .unwrap();
    let at = (today + chrono::Duration::days(1))
        .and_hms_opt(3, 0, 0)
        .unwrap();
    // Booked as a walk-in style step at a fixed time tomorrow, whatever the room's hours.
    let room = store.rooms(Some("MR")).unwrap()[0].id;
    store
        .book_step(
            placed.order.id,
            Some((room, &at.format("%Y-%m-%dT%H:%M").to_string())),
            true,
            "scheduled",
            "admin",
            "test",
        )
        .unwrap();
    let fetched = runtime.block_on(lightbox::dicom::priors::prefetch_for_day(
        &store,
        &services.ingest,
        "LIGHTBOX",
        &tomorrow,
    ));
    assert!(fetched.problems.is_empty(), "{:?}", fetched.problems);
    assert_eq!((fetched.missing, fetched.fetched), (1, 1), "{fetched:?}");
    assert!(fetched.instances >= 1);
    // The prior is archived and listed as the exam's prior.
    let priors = lightbox::ris::reading::priors(&store, &admin, &placed.order.accession).unwrap();
    assert!(
        priors.iter().any(|p| p.study_uid == prior_study),
        "{priors:?}"
    );
    // A second run finds nothing missing.
    let again = runtime.block_on(lightbox::dicom::priors::fetch(
        &store,
        &services.ingest,
        "LIGHTBOX",
        &lightbox::dicom::priors::prior_nodes(&store),
        &lightbox::dicom::priors::patient_identifiers(&store, &patient.mrn),
    ));
    assert_eq!(again.missing, 0);
}

/// Regression: the prior fetch for an exam a radiologist opens (the desktop's viewer, a
/// workstation's request to the server) ran on a single-threaded runtime of its own, where the
/// ingest's `block_in_place` panicked: the fetch thread died and nothing was archived.
#[test]
fn prior_fetch_for_an_opened_exam_outside_any_runtime_archives_the_prior() {
    let dir = tempfile::tempdir().unwrap();
    let (qr, outside_id, prior_study) = pacs_with_a_prior(dir.path());
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let mut store = lightbox_store::Store::open(&data.database()).unwrap();
    lightbox::ris::seed_starter_data(&store).unwrap();
    let admin =
        lightbox::access::create_first_administrator(&store, "admin", "A", "long enough pw")
            .unwrap();
    let patient = patient_with_priors_elsewhere(
        &mut store,
        &admin,
        ("ÖZTÜRK", "ÇAĞLA"),
        &outside_id,
        qr.port,
    );
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    let accession = lightbox::ris::place_order(
        &mut store,
        &admin,
        &lightbox::ris::OrderRequest::routine(patient.id, "70551", "Headache"),
        now,
    )
    .unwrap()
    .order
    .accession;
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    let ingest = services.ingest.clone();
    let database = data.database();
    // On a plain thread, as the viewer's background fetch runs.
    let fetched = std::thread::spawn(move || {
        lightbox::dicom::priors::fetch_for_exam(&database, &ingest, &accession)
    })
    .join()
    .expect("the fetch thread panicked");
    assert!(fetched.problems.is_empty(), "{:?}", fetched.problems);
    assert_eq!((fetched.missing, fetched.fetched), (1, 1), "{fetched:?}");
    let rows = store
        .query_index(
            lightbox_store::index::Level::Image,
            &[lightbox_store::index::Condition {
                column: lightbox_store::index::Column::StudyUid,
                matcher: lightbox_store::index::Matcher::Exact(prior_study),
            }],
            10,
        )
        .unwrap();
    assert_eq!(rows.len(), 1);
}
