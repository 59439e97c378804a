//! Modality Worklist against real peers. The same schedule is served twice: by Lightbox, and
//! by dcmtk's `wlmscpfs` from worklist files the test writes from the same entries. dcmtk's
//! `findscu -W` and pynetdicom ask both the same questions and must get the same matches.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use chrono::{NaiveDate, NaiveDateTime};
use common::*;
use lightbox::access::{Actor, Role};
use lightbox::his::{self, Registration};
use lightbox::ris::{self, OrderRequest, Priority};
use lightbox_store::his::PatientRecord;

fn at(day: u32, hour: u32, minute: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, day)
        .unwrap()
        .and_hms_opt(hour, minute, 0)
        .unwrap()
}

/// Three patients (one with a non-ASCII name), six exams in CT and MR over two days, one
/// cancelled (must not appear) and one waiting without a slot (must not appear).
fn build_schedule(data: &Path) -> BTreeSet<String> {
    let mut store = common::store(data);
    ris::seed_starter_data(&store).unwrap();
    let desk = Actor {
        login: "anna".into(),
        role: Role::FrontDesk,
        origin: "test".into(),
    };
    let mut patients = Vec::new();
    for (family, given, birth) in [
        ("Doe", "Jane", "1980-02-03"),
        ("Müller", "Jürgen", "1975-06-07"),
        ("Roe", "Richard", "1990-12-24"),
    ] {
        let p = his::register(
            &mut store,
            &desk,
            &Registration {
                patient: PatientRecord {
                    family_name: family.into(),
                    given_name: given.into(),
                    birth_date: birth.into(),
                    sex: "M".into(),
                    ..PatientRecord::default()
                },
                identifiers: vec![],
                confirmed_new: false,
            },
        )
        .unwrap();
        patients.push(p.id);
    }
    let now = NaiveDate::from_ymd_opt(2026, 11, 30)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    let mut scheduled = BTreeSet::new();
    let plan = [
        (0, "70450", at(1, 9, 0)),
        (1, "71250", at(1, 10, 0)),
        (2, "70551", at(1, 11, 0)),
        (0, "73721", at(2, 9, 0)),
        (1, "74177", at(2, 13, 0)),
        (2, "70450", at(2, 15, 0)),
    ];
    for (who, code, when) in plan {
        let placed = ris::place_order(
            &mut store,
            &desk,
            &OrderRequest {
                patient: Some(patients[who]),
                placer_number: String::new(),
                placer_app: "EHR".into(),
                procedure_code: code.into(),
                priority: Priority::Routine,
                reason: "test".into(),
                icd10: vec![],
                referring: None,
                insurance: None,
                authorisation: String::new(),
                requested_time: Some(when),
                supplied: None,
            },
            now,
        )
        .unwrap();
        assert_eq!(placed.order.status, "scheduled");
        scheduled.insert(placed.order.accession);
    }
    // Cancel one: it leaves the worklist.
    let cancelled = scheduled.iter().next().unwrap().clone();
    ris::change_status(
        &mut store,
        &desk,
        &cancelled,
        ris::ExamStatus::Cancelled,
        "",
    )
    .unwrap();
    scheduled.remove(&cancelled);
    scheduled
}

/// Writes the worklist items wlmscpfs serves for AE `ae` from the same store.
fn write_wlmscpfs_files(data: &Path, dir: &Path, ae: &str) {
    let store = common::store(data);
    let folder = dir.join(ae);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("lockfile"), b"").unwrap();
    for (i, row) in store
        .worklist_rows(None, None, None)
        .unwrap()
        .iter()
        .enumerate()
    {
        let mut item = lightbox::ris::worklist::worklist_item(row);
        lightbox::ris::worklist::declare_character_set(&mut item, false);
        let file = item
            .with_meta(
                dicom_object::meta::FileMetaTableBuilder::new()
                    .transfer_syntax("1.2.840.10008.1.2.1")
                    .media_storage_sop_class_uid("1.2.840.10008.5.1.4.31")
                    .media_storage_sop_instance_uid(format!("2.25.{}", 1000 + i)),
            )
            .unwrap();
        file.write_to_file(folder.join(format!("item{i}.wl")))
            .unwrap();
    }
}

struct Wlmscpfs(Child);

impl Drop for Wlmscpfs {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_wlmscpfs(dir: &Path) -> (Wlmscpfs, u16) {
    let port = free_port();
    let child = Command::new("wlmscpfs")
        .args(["-dfp", dir.to_str().unwrap(), "-dfr", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port);
    (Wlmscpfs(child), port)
}

/// findscu -W with `keys` against `port`; the accession numbers of the answers, and the
/// extracted answers' patient names.
fn findscu(dir: &Path, port: u16, keys: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = tempfile::tempdir_in(dir).unwrap();
    let port = port.to_string();
    let mut args = vec![
        "-W",
        "-aec",
        "LIGHTBOX",
        "-aet",
        "FINDSCU",
        "-X",
        "-od",
        out.path().to_str().unwrap(),
    ];
    for k in keys {
        args.extend(["-k", k]);
    }
    // Return keys every query asks for.
    args.extend([
        "-k",
        "AccessionNumber",
        "-k",
        "PatientName",
        "-k",
        "PatientID",
        "-k",
        "StudyInstanceUID",
        "-k",
        "(0040,0100)[0].ScheduledStationAETitle",
        "-k",
        "(0040,0100)[0].Modality",
        "-k",
        "(0040,0100)[0].ScheduledProcedureStepStartDate",
    ]);
    args.extend(["127.0.0.1", port.as_str()]);
    let r = dcmtk("findscu", &args);
    assert!(
        r.status.success(),
        "findscu: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    let mut accessions = BTreeSet::new();
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let obj = dicom_object::open_file(entry.unwrap().path()).unwrap();
        accessions.insert(lightbox::pacs::attributes::text(
            &obj,
            dicom_dictionary_std::tags::ACCESSION_NUMBER,
        ));
        names.insert(lightbox::pacs::attributes::text(
            &obj,
            dicom_dictionary_std::tags::PATIENT_NAME,
        ));
    }
    (accessions, names)
}

#[test]
fn findscu_gets_the_same_worklist_matches_from_lightbox_and_wlmscpfs() {
    let dir = tempfile::tempdir().unwrap();
    let scheduled = build_schedule(dir.path());
    let wl = dir.path().join("wl");
    write_wlmscpfs_files(dir.path(), &wl, "LIGHTBOX");
    let server = Server::start(dir.path());
    let ours: u16 = server.port().parse().unwrap();
    let (_wlm, theirs) = start_wlmscpfs(&wl);
    let queries: &[&[&str]] = &[
        &["(0040,0100)[0].Modality"],
        &["(0040,0100)[0].ScheduledStationAETitle=CT1"],
        &["(0040,0100)[0].Modality=MR"],
        &["(0040,0100)[0].ScheduledProcedureStepStartDate=20261201"],
        &["(0040,0100)[0].ScheduledProcedureStepStartDate=20261202-"],
        &[
            "(0040,0100)[0].ScheduledStationAETitle=CT1",
            "(0040,0100)[0].ScheduledProcedureStepStartDate=20261202",
        ],
        &["PatientName=Doe*", "(0040,0100)[0].Modality"],
        &["PatientName=R?e^Richard", "(0040,0100)[0].Modality"],
        &[
            "(0040,0100)[0].ScheduledProcedureStepStartTime=0900-1030",
            "(0040,0100)[0].Modality",
        ],
        &["(0040,0100)[0].ScheduledStationAETitle=NOSUCH"],
    ];
    let mut nonempty = 0;
    for keys in queries {
        let (a, names_ours) = findscu(dir.path(), ours, keys);
        let (b, names_theirs) = findscu(dir.path(), theirs, keys);
        assert_eq!(a, b, "query {keys:?}: Lightbox vs wlmscpfs");
        // wlmscpfs sends its files' UTF-8 bytes without declaring Specific Character Set (a
        // dcmtk limitation), so only the names Lightbox sends are checked for correct decoding
        // (below); here the same number of people must come back.
        assert_eq!(names_ours.len(), names_theirs.len(), "query {keys:?}");
        assert!(a.is_subset(&scheduled), "{keys:?}: {a:?} not all scheduled");
        if !a.is_empty() {
            nonempty += 1;
        }
    }
    assert!(nonempty >= 8, "too few queries matched anything");
    // Everything scheduled is on the worklist, nothing cancelled.
    let (all, names) = findscu(dir.path(), ours, &["(0040,0100)[0].Modality"]);
    assert_eq!(all, scheduled);
    assert!(
        names.iter().any(|n| n.contains("Müller^Jürgen")),
        "{names:?}"
    );
}

#[test]
fn pynetdicom_gets_the_same_worklist_matches_as_from_wlmscpfs() {
    let dir = tempfile::tempdir().unwrap();
    build_schedule(dir.path());
    let wl = dir.path().join("wl");
    write_wlmscpfs_files(dir.path(), &wl, "LIGHTBOX");
    let server = Server::start(dir.path());
    let (_wlm, theirs) = start_wlmscpfs(&wl);
    let theirs = theirs.to_string();
    for (station, date, name, charset) in [
        ("MR1", "", "", "ISO_IR 192"),
        ("", "20261201", "", "ISO_IR 100"),
        ("", "", "M*ller*", "ISO_IR 192"),
        ("", "", "M*ller*", "ISO_IR 100"),
    ] {
        let ask = |port: &str| {
            peer(&[
                "mwl",
                "127.0.0.1",
                port,
                "LIGHTBOX",
                station,
                date,
                name,
                charset,
            ])
        };
        let a = ask(&server.port());
        let b = ask(&theirs);
        assert_eq!(
            a["accessions"], b["accessions"],
            "{station} {date} {name} {charset}"
        );
        assert!(
            !a["accessions"].as_array().unwrap().is_empty(),
            "{station} {date} {name}: {a}"
        );
        if !name.is_empty() {
            // Declared as ISO_IR 100 or 192 as asked, so pydicom decodes "Müller" either way
            // (wlmscpfs does not declare its character set; its names are not compared).
            assert!(
                a["names"].to_string().contains("Müller^Jürgen"),
                "asked in {charset}: {a}"
            );
            assert_eq!(
                a["names"].as_array().unwrap().len(),
                b["names"].as_array().unwrap().len()
            );
        }
    }
}

fn exam(dir: &Path, accession: &str) -> serde_json::Value {
    let r = lightbox(dir, &["exam", "--accession", accession]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    serde_json::from_slice(&r.stdout).unwrap()
}

#[test]
fn pynetdicom_mpps_moves_the_exam_and_wrong_requests_get_the_right_status() {
    let dir = tempfile::tempdir().unwrap();
    let scheduled: Vec<String> = build_schedule(dir.path()).into_iter().collect();
    let server = Server::start(dir.path());
    let port = server.port();
    let mpps = |args: &[&str]| {
        let mut all = vec!["mpps", "127.0.0.1", port.as_str(), "LIGHTBOX"];
        all.extend_from_slice(args);
        peer(&all)
    };
    let first = exam(dir.path(), &scheduled[0]);
    let study = first["study_uid"].as_str().unwrap().to_string();
    assert_eq!(first["status"], "scheduled");
    // Started: found by Study Instance UID.
    let r = mpps(&["create", "1.2.826.0.1.3680043.10.1", &study, ""]);
    assert_eq!(r["status"], 0, "{r}");
    assert_eq!(exam(dir.path(), &scheduled[0])["status"], "in_progress");
    // The same instance twice: duplicate.
    let r = mpps(&["create", "1.2.826.0.1.3680043.10.1", &study, ""]);
    assert_eq!(r["status"], 0x0111, "{r}");
    // Completed with its series.
    let r = mpps(&[
        "set",
        "1.2.826.0.1.3680043.10.1",
        "COMPLETED",
        "1.2.826.0.1.3680043.10.2",
        "3",
    ]);
    assert_eq!(r["status"], 0, "{r}");
    let done = exam(dir.path(), &scheduled[0]);
    assert_eq!(done["status"], "completed");
    let history = done["history"].as_array().unwrap();
    assert!(
        history.iter().any(|h| h["actor"] == "dicom:PYPEER"),
        "{history:?}"
    );
    // No more changes after COMPLETED: processing failure, Error ID A710.
    let r = mpps(&["set", "1.2.826.0.1.3680043.10.1", "IN PROGRESS"]);
    assert_eq!(
        (r["status"].as_u64(), r["error_id"].as_u64()),
        (Some(0x0110), Some(0xA710)),
        "{r}"
    );
    // Unknown instance; wrong status on create.
    let r = mpps(&["set", "1.2.826.0.1.3680043.10.99", "COMPLETED"]);
    assert_eq!(r["status"], 0x0112, "{r}");
    let second = exam(dir.path(), &scheduled[1]);
    let r = mpps(&[
        "create",
        "1.2.826.0.1.3680043.10.3",
        "",
        &scheduled[1],
        "COMPLETED",
    ]);
    assert_eq!(r["status"], 0x0106, "{r}");
    // Found by accession; discontinued with a reason.
    let r = mpps(&["create", "1.2.826.0.1.3680043.10.3", "", &scheduled[1]]);
    assert_eq!(r["status"], 0, "{r}");
    let r = mpps(&[
        "set",
        "1.2.826.0.1.3680043.10.3",
        "DISCONTINUED",
        "",
        "0",
        "Patient refused",
    ]);
    assert_eq!(r["status"], 0, "{r}");
    let stopped = exam(dir.path(), &scheduled[1]);
    assert_eq!(stopped["status"], "discontinued");
    assert!(
        stopped["history"].to_string().contains("Patient refused"),
        "{stopped}"
    );
    assert_eq!(second["study_uid"], stopped["study_uid"]);
    // A step for no known order is accepted (the scan happened) and kept for reconciliation.
    let r = mpps(&[
        "create",
        "1.2.826.0.1.3680043.10.4",
        "1.2.3.4.5.6",
        "UNKNOWN",
    ]);
    assert_eq!(r["status"], 0, "{r}");
}

/// A copy of MR_small.dcm carrying the given study, accession and patient, made by dcmodify.
fn study_file(
    dir: &Path,
    name: &str,
    study_uid: &str,
    accession: &str,
    patient_id: &str,
    patient_name: &str,
    birth: &str,
) -> std::path::PathBuf {
    let out = dir.join(name);
    std::fs::copy(corpus_dicom().join("MR_small.dcm"), &out).unwrap();
    let r = dcmtk(
        "dcmodify",
        &[
            "-nb",
            "-gse",
            "-gin",
            "-i",
            "(0008,0005)=ISO_IR 192",
            "-i",
            &format!("(0020,000D)={study_uid}"),
            "-i",
            &format!("(0008,0050)={accession}"),
            "-i",
            &format!("(0010,0020)={patient_id}"),
            "-i",
            &format!("(0010,0010)={patient_name}"),
            "-i",
            &format!("(0010,0030)={birth}"),
            out.to_str().unwrap(),
        ],
    );
    assert!(
        r.status.success(),
        "dcmodify: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    out
}

#[test]
fn a_study_from_storescu_with_the_worklist_keys_makes_the_exam_ready_and_a_wrong_patient_is_queued()
{
    let dir = tempfile::tempdir().unwrap();
    let scheduled: Vec<String> = build_schedule(dir.path()).into_iter().collect();
    let server = Server::start(dir.path());
    let port = server.port();
    let store_file = |file: &Path| {
        let r = dcmtk(
            "storescu",
            &[
                "-aec",
                "LIGHTBOX",
                "-aet",
                "STORESCU",
                "127.0.0.1",
                &port,
                file.to_str().unwrap(),
            ],
        );
        assert!(
            r.status.success(),
            "storescu: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    };
    // The right patient, the worklist's Study UID and accession.
    let first = exam(dir.path(), &scheduled[0]);
    let p = &first["patient"];
    let good = study_file(
        dir.path(),
        "good.dcm",
        first["study_uid"].as_str().unwrap(),
        &scheduled[0],
        p["mrn"].as_str().unwrap(),
        &format!(
            "{}^{}",
            p["family_name"].as_str().unwrap(),
            p["given_name"].as_str().unwrap()
        ),
        &p["birth_date"].as_str().unwrap().replace('-', ""),
    );
    store_file(&good);
    let ready = exam(dir.path(), &scheduled[0]);
    assert_eq!(ready["status"], "completed", "{ready}");
    assert!(ready["history"].to_string().contains("images arrived"));
    // Another exam's keys but somebody else's Patient ID: reconciliation, exam unchanged.
    let second = exam(dir.path(), &scheduled[1]);
    let wrong = study_file(
        dir.path(),
        "wrong.dcm",
        second["study_uid"].as_str().unwrap(),
        &scheduled[1],
        "OTHER-123",
        "Someone^Else",
        "19990101",
    );
    store_file(&wrong);
    // Keys no order has: reconciliation too.
    let stray = study_file(
        dir.path(),
        "stray.dcm",
        "1.2.826.0.1.3680043.10.77",
        "NOACC",
        "X1",
        "Stray^Study",
        "20000101",
    );
    store_file(&stray);
    assert_eq!(exam(dir.path(), &scheduled[1])["status"], "scheduled");
    let store = common::store(dir.path());
    let queue = store.open_reconciliation().unwrap();
    assert_eq!(queue.len(), 2, "{queue:?}");
    assert!(
        queue[0].reason.contains("OTHER-123") && queue[0].order_id.is_some(),
        "{queue:?}"
    );
    assert!(
        queue[1].reason.contains("no order") && queue[1].order_id.is_none(),
        "{queue:?}"
    );
    // A person links the wrong-patient study to its order: headers corrected, originals kept.
    drop(store);
    let r = lightbox(dir.path(), &["reconcile", "list"]);
    let items: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let item = items[0]["id"].as_i64().unwrap().to_string();
    let r = lightbox(
        dir.path(),
        &[
            "reconcile",
            "link",
            "--item",
            &item,
            "--accession",
            &scheduled[1],
        ],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stdout).contains("1 instances corrected"));
    let linked = exam(dir.path(), &scheduled[1]);
    assert_eq!(linked["status"], "completed");
    let store = common::store(dir.path());
    assert_eq!(
        store.open_reconciliation().unwrap().len(),
        1,
        "one item left"
    );
    let instances = store
        .study_instances(second["study_uid"].as_str().unwrap())
        .unwrap();
    let file = dir.path().join("archive").join(&instances[0].file_path);
    let dump = dcmtk("dcmdump", &[file.to_str().unwrap()]);
    let dump = String::from_utf8_lossy(&dump.stdout);
    let mrn = linked["patient"]["mrn"].as_str().unwrap();
    assert!(dump.contains(&format!("[{mrn}]")), "{dump}");
    assert!(
        dump.contains("OriginalAttributesSequence") && dump.contains("[OTHER-123]"),
        "{dump}"
    );
    assert!(dump.contains("[CORRECT]"), "{dump}");
    // The images themselves are archived either way.
    let r = lightbox(dir.path(), &["check"]);
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("instances 3"),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
}

#[test]
fn splitting_a_series_out_of_a_mixed_study_gives_it_the_orders_study_and_patient() {
    let dir = tempfile::tempdir().unwrap();
    let scheduled: Vec<String> = build_schedule(dir.path()).into_iter().collect();
    let server = Server::start(dir.path());
    let port = server.port();
    // One stray study holding two series; the second belongs to another exam.
    let stray = "1.2.826.0.1.3680043.10.88";
    let first = study_file(
        dir.path(),
        "s1.dcm",
        stray,
        "NOACC",
        "X1",
        "Stray^One",
        "20000101",
    );
    let second = study_file(
        dir.path(),
        "s2.dcm",
        stray,
        "NOACC",
        "X1",
        "Stray^One",
        "20000101",
    );
    let r = dcmtk(
        "dcmodify",
        &[
            "-nb",
            "-i",
            "(0020,000E)=1.2.826.0.1.3680043.10.88.2",
            second.to_str().unwrap(),
        ],
    );
    assert!(r.status.success());
    let r = dcmtk(
        "dcmodify",
        &[
            "-nb",
            "-i",
            "(0020,000E)=1.2.826.0.1.3680043.10.88.1",
            first.to_str().unwrap(),
        ],
    );
    assert!(r.status.success());
    let r = dcmtk(
        "storescu",
        &[
            "-aec",
            "LIGHTBOX",
            "-aet",
            "STORESCU",
            "127.0.0.1",
            &port,
            first.to_str().unwrap(),
            second.to_str().unwrap(),
        ],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = lightbox(dir.path(), &["reconcile", "list"]);
    let items: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    let item = items[0]["id"].as_i64().unwrap().to_string();
    let target = exam(dir.path(), &scheduled[2]);
    let r = lightbox(
        dir.path(),
        &[
            "reconcile",
            "split",
            "--item",
            &item,
            "--series",
            "1.2.826.0.1.3680043.10.88.2",
            "--accession",
            &scheduled[2],
        ],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(exam(dir.path(), &scheduled[2])["status"], "completed");
    let store = common::store(dir.path());
    let moved = store
        .study_instances(target["study_uid"].as_str().unwrap())
        .unwrap();
    let stayed = store.study_instances(stray).unwrap();
    assert_eq!((moved.len(), stayed.len()), (1, 1));
    let dump = dcmtk(
        "dcmdump",
        &[dir
            .path()
            .join("archive")
            .join(&moved[0].file_path)
            .to_str()
            .unwrap()],
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.contains(target["study_uid"].as_str().unwrap()),
        "{dump}"
    );
    assert!(
        dump.contains(&format!("[{stray}]")),
        "original Study UID kept: {dump}"
    );
    assert!(dump.contains(&format!("[{}]", target["patient"]["mrn"].as_str().unwrap())));
}

#[test]
fn merging_patients_moves_their_archived_studies_and_undo_moves_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let scheduled: Vec<String> = build_schedule(dir.path()).into_iter().collect();
    let server = Server::start(dir.path());
    let port = server.port();
    let keep = exam(dir.path(), &scheduled[0])["patient"]["mrn"]
        .as_str()
        .unwrap()
        .to_string();
    let other = exam(dir.path(), &scheduled[1])["patient"]["mrn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(keep, other);
    // An old study of the patient to be merged, archived under its MRN.
    let old = study_file(
        dir.path(),
        "old.dcm",
        "1.2.826.0.1.3680043.10.99",
        "OLDACC",
        &other,
        "Muller^Jurgen",
        "19750607",
    );
    let r = dcmtk(
        "storescu",
        &[
            "-aec",
            "LIGHTBOX",
            "-aet",
            "STORESCU",
            "127.0.0.1",
            &port,
            old.to_str().unwrap(),
        ],
    );
    assert!(r.status.success());
    let patient_of = |dir: &Path| {
        let store = common::store(dir);
        let instances = store.study_instances("1.2.826.0.1.3680043.10.99").unwrap();
        let file = dir.join("archive").join(&instances[0].file_path);
        let dump = dcmtk("dcmdump", &[file.to_str().unwrap()]);
        String::from_utf8_lossy(&dump.stdout).to_string()
    };
    let r = lightbox(
        dir.path(),
        &["patients", "merge", "--keep", &keep, "--merge", &other],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let text = String::from_utf8_lossy(&r.stdout).to_string();
    let merge_id = text
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    let merged = patient_of(dir.path());
    assert!(
        merged.contains(&format!("(0010,0020) LO [{keep}]")),
        "{merged}"
    );
    assert!(
        merged.contains(&format!("[{other}]")),
        "the old ID kept as original: {merged}"
    );
    // The other patient's order now belongs to the kept patient.
    assert_eq!(
        exam(dir.path(), &scheduled[1])["patient"]["mrn"],
        keep.as_str()
    );
    let r = lightbox(
        dir.path(),
        &["patients", "unmerge", "--merge-id", &merge_id],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let back = patient_of(dir.path());
    assert!(
        back.contains(&format!("(0010,0020) LO [{other}]")),
        "{back}"
    );
    assert_eq!(
        exam(dir.path(), &scheduled[1])["patient"]["mrn"],
        other.as_str()
    );
}
