//! The archive against real peers: dcmtk's echoscu/storescu/findscu/getscu/movescu/storescp
//! and pynetdicom, with every file of the shared corpus.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::*;

/// Corpus files expected to be archived (MR_truncated.dcm is bad input and must be refused).
fn good_corpus_files() -> Vec<PathBuf> {
    corpus_files()
        .into_iter()
        .filter(|p| !p.ends_with("MR_truncated.dcm"))
        .collect()
}

fn corpus_index() -> Vec<serde_json::Value> {
    let files: Vec<String> = good_corpus_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["corpus_index"];
    args.extend(files.iter().map(|s| s.as_str()));
    let index = peer(&args).as_array().cloned().unwrap_or_default();
    // Guard against a vacuous pass: the corpus has 28 readable objects.
    assert!(index.len() >= 25, "corpus index too small: {}", index.len());
    index
}

/// Stores the whole corpus with pynetdicom, proposing each file in its own transfer syntax
/// so every object is stored exactly as received. Returns the status per file.
fn store_corpus(server: &Server) -> serde_json::Value {
    let files: Vec<String> = good_corpus_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let port = server.port();
    let mut args = vec!["store", "127.0.0.1", port.as_str(), server.ae.as_str()];
    args.extend(files.iter().map(|s| s.as_str()));
    let r = peer(&args);
    // The corpus holds some objects twice under one SOP Instance UID (other syntax, or a
    // derived copy with other attributes). The first copy must be stored; a later one is
    // either the same object (success) or different content (warning 0xB000, existing kept).
    let mut seen = BTreeSet::new();
    for entry in corpus_index() {
        let file = entry["path"].as_str().unwrap();
        let status = &r[file];
        if seen.insert(entry["sop"].as_str().unwrap().to_string()) {
            assert_eq!(status, 0, "{file} was not stored: {r}");
        } else {
            assert!(status == 0 || status == 0xB000, "{file}: {status}");
        }
    }
    r
}

#[test]
fn storescu_sends_the_uncompressed_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut args: Vec<String> = vec![
        "-aec".into(),
        "LIGHTBOX".into(),
        "127.0.0.1".into(),
        server.port(),
    ];
    for name in [
        "CT_small.dcm",
        "MR_small.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "US1_UNCR.dcm",
        "MR2_UNCR.dcm",
        "OT-PAL-8-face.dcm",
    ] {
        args.push(corpus_dicom().join(name).display().to_string());
    }
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let out = dcmtk("storescu", &refs);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = peer(&[
        "find",
        "127.0.0.1",
        &server.port(),
        "LIGHTBOX",
        "IMAGE",
        "SOPInstanceUID=",
    ]);
    // MR_small in three syntaxes is one instance: 5 distinct objects.
    assert_eq!(r["matches"].as_array().unwrap().len(), 5, "{r}");
}

#[test]
fn echoscu_gets_success() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_echo(&server);
}

#[test]
fn wrong_called_ae_is_rejected_and_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let out = dcmtk(
        "echoscu",
        &["-aec", "SOMEONE_ELSE", "127.0.0.1", &server.port()],
    );
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        text.contains("called ae title not recognized") || text.contains("rejected"),
        "{text}"
    );
    assert_echo(&server);
}

#[test]
fn random_bytes_on_the_port_do_not_stop_the_server() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for round in 0..20u8 {
        if let Ok(mut s) = std::net::TcpStream::connect(server.addr) {
            let junk: Vec<u8> = (0..(200 + round as usize * 37))
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(round))
                .collect();
            let _ = s.write_all(&junk);
        }
    }
    // An A-ASSOCIATE-RQ header announcing a 4 GB PDU must not make us allocate it.
    if let Ok(mut s) = std::net::TcpStream::connect(server.addr) {
        let _ = s.write_all(&[0x01, 0x00, 0xff, 0xff, 0xff, 0xf0, 0, 1]);
    }
    assert_echo(&server);
}

#[test]
fn whole_corpus_stores_and_queries_match_the_corpus_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    store_corpus(&server);
    let index = corpus_index();
    assert!(index.len() >= 25, "corpus index too small: {}", index.len());
    let expected_studies: BTreeSet<String> = index
        .iter()
        .map(|e| e["study"].as_str().unwrap().to_string())
        .collect();
    let expected_series: BTreeSet<String> = index
        .iter()
        .map(|e| e["series"].as_str().unwrap().to_string())
        .collect();
    let expected_sops: BTreeSet<String> = index
        .iter()
        .map(|e| e["sop"].as_str().unwrap().to_string())
        .collect();
    // The corpus holds some instances twice (the same object in several syntaxes);
    // those are duplicates, not new instances.

    let port = server.port();
    // Study Root, STUDY level, universal matching on the UID.
    let r = peer(&[
        "find",
        "127.0.0.1",
        &port,
        "LIGHTBOX",
        "STUDY",
        "StudyInstanceUID=",
        "ModalitiesInStudy=",
        "NumberOfStudyRelatedInstances=",
    ]);
    let got: BTreeSet<String> = matched(&r, "StudyInstanceUID");
    assert_eq!(got, expected_studies);
    assert_eq!(r["final"], 0);
    // Number of Study Related Instances adds up to the distinct instances.
    let total: u64 = r["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["NumberOfStudyRelatedInstances"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(total as usize, expected_sops.len());

    // SERIES level within each study.
    let mut series_seen = BTreeSet::new();
    for study in &expected_studies {
        let r = peer(&[
            "find",
            "127.0.0.1",
            &port,
            "LIGHTBOX",
            "SERIES",
            &format!("StudyInstanceUID={study}"),
            "SeriesInstanceUID=",
            "Modality=",
        ]);
        for m in r["matches"].as_array().unwrap() {
            series_seen.insert(m["SeriesInstanceUID"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(series_seen, expected_series);

    // IMAGE level for one series: exactly its instances.
    let first = &index[0];
    let r = peer(&[
        "find",
        "127.0.0.1",
        &port,
        "LIGHTBOX",
        "IMAGE",
        &format!("StudyInstanceUID={}", first["study"].as_str().unwrap()),
        &format!("SeriesInstanceUID={}", first["series"].as_str().unwrap()),
        "SOPInstanceUID=",
        "Rows=",
    ]);
    let got: BTreeSet<String> = matched(&r, "SOPInstanceUID");
    let want: BTreeSet<String> = index
        .iter()
        .filter(|e| e["series"] == first["series"])
        .map(|e| e["sop"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want);
    // Rows is not an index column: it is answered from the stored file.
    assert!(
        r["matches"][0]["Rows"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{}",
        r
    );

    // PATIENT level (Patient Root) by ID, and a wildcard.
    let by_patient: BTreeMap<String, usize> = index.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e["patient_id"].as_str().unwrap().to_string())
            .or_default() += 1;
        m
    });
    let r = peer(&[
        "find",
        "127.0.0.1",
        &port,
        "LIGHTBOX",
        "PATIENT",
        "PatientID=",
        "PatientName=",
    ]);
    let got: BTreeSet<String> = matched(&r, "PatientID");
    assert_eq!(got, by_patient.keys().cloned().collect::<BTreeSet<_>>());

    // dcmtk findscu agrees with pynetdicom on a modality query.
    let out = dcmtk(
        "findscu",
        &[
            "-S",
            "-aec",
            "LIGHTBOX",
            "-k",
            "QueryRetrieveLevel=SERIES",
            "-k",
            "Modality=MR",
            "-k",
            "SeriesInstanceUID",
            "127.0.0.1",
            &port,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stderr);
    let findscu_count = text.matches("(0020,000e)").count();
    let mr_series: BTreeSet<&str> = index
        .iter()
        .filter(|e| e["modality"] == "MR")
        .map(|e| e["series"].as_str().unwrap())
        .collect();
    assert_eq!(findscu_count, mr_series.len(), "{text}");
}

#[test]
fn truncated_file_is_refused_with_a_failure_status_and_not_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let bad = corpus_dicom().join("MR_truncated.dcm");
    let out = dcmtk(
        "storescu",
        &[
            "-aec",
            "LIGHTBOX",
            "127.0.0.1",
            &server.port(),
            bad.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stderr);
    // storescu reports the failure status; the server stays up.
    assert!(
        !out.status.success() || text.contains("Status") || text.contains("Error"),
        "{text}"
    );
    let r = peer(&[
        "find",
        "127.0.0.1",
        &server.port(),
        "LIGHTBOX",
        "IMAGE",
        "SOPInstanceUID=",
    ]);
    assert_eq!(r["matches"].as_array().unwrap().len(), 0, "{r}");
    assert_echo(&server);
}

#[test]
fn c_get_with_pynetdicom_returns_identical_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    store_corpus(&server);
    let index = corpus_index();
    let out_dir = tempfile::tempdir().unwrap();
    let studies: BTreeSet<String> = index
        .iter()
        .map(|e| e["study"].as_str().unwrap().to_string())
        .collect();
    let classes: BTreeSet<String> = index
        .iter()
        .map(|e| e["sop_class"].as_str().unwrap().to_string())
        .collect();
    assert!(classes.len() >= 5, "{classes:?}");
    let mut received = BTreeSet::new();
    for study in &studies {
        let port = server.port();
        let mut args = vec![
            "get",
            "127.0.0.1",
            port.as_str(),
            "LIGHTBOX",
            study.as_str(),
            out_dir.path().to_str().unwrap(),
        ];
        args.extend(classes.iter().map(|c| c.as_str()));
        let r = peer(&args);
        assert_eq!(r["final"], 0, "C-GET of {study}: {r}");
        for uid in r["received"].as_array().unwrap() {
            received.insert(uid.as_str().unwrap().to_string());
        }
    }
    let expected: BTreeSet<String> = index
        .iter()
        .map(|e| e["sop"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(received, expected);
    // Every original compares equal to what came back (same data set, any meta group).
    let mut compared = BTreeSet::new();
    for e in &index {
        let sop = e["sop"].as_str().unwrap();
        if !compared.insert(sop.to_string()) {
            continue; // the same instance in another syntax: only the first stored copy is kept
        }
        let back = out_dir.path().join(sop);
        let r = peer(&[
            "same_dataset",
            e["path"].as_str().unwrap(),
            back.to_str().unwrap(),
        ]);
        assert_eq!(r["same"], true, "{} differs: {r}", e["path"]);
    }
}

#[test]
fn c_move_into_dcmtk_storescp_returns_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    store_corpus(&server);
    let index = corpus_index();
    let dest_dir = tempfile::tempdir().unwrap();
    let dest_port = free_port();
    let mut storescp = Command::new("storescp")
        .env("TCP_NODELAY", "1")
        .args([
            "-aet",
            "DEST",
            "+xa",
            "-od",
            dest_dir.path().to_str().unwrap(),
            &dest_port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(dest_port);
    let out = lightbox(
        dir.path(),
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
            &dest_port.to_string(),
        ],
    );
    assert!(out.status.success());
    // movescu acts as a configured node (so it may retrieve).
    let studies: BTreeSet<String> = index
        .iter()
        .map(|e| e["study"].as_str().unwrap().to_string())
        .collect();
    for study in &studies {
        let out = dcmtk(
            "movescu",
            &[
                "-S",
                "-aet",
                "MOVESCU",
                "-aec",
                "LIGHTBOX",
                "-aem",
                "DEST",
                "-k",
                "QueryRetrieveLevel=STUDY",
                "-k",
                &format!("StudyInstanceUID={study}"),
                "127.0.0.1",
                &server.port(),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = storescp.kill();
    let _ = storescp.wait();
    let files: Vec<PathBuf> = std::fs::read_dir(dest_dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let distinct: BTreeSet<&str> = index.iter().map(|e| e["sop"].as_str().unwrap()).collect();
    assert_eq!(files.len(), distinct.len());
    let mut compared = BTreeSet::new();
    for e in &index {
        let sop = e["sop"].as_str().unwrap();
        if !compared.insert(sop) {
            continue;
        }
        let back = files
            .iter()
            .find(|f| f.file_name().unwrap().to_string_lossy().contains(sop))
            .unwrap_or_else(|| panic!("{sop} not moved"));
        let r = peer(&[
            "same_dataset",
            e["path"].as_str().unwrap(),
            back.to_str().unwrap(),
        ]);
        assert_eq!(r["same"], true, "{} differs: {r}", e["path"]);
    }
}

#[test]
fn c_move_to_an_unknown_destination_fails_with_a801() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let out = dcmtk(
        "movescu",
        &[
            "-S",
            "-aet",
            "MOVESCU",
            "-aec",
            "LIGHTBOX",
            "-aem",
            "NOBODY",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "StudyInstanceUID=1.2.3",
            "127.0.0.1",
            &server.port(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("a801") || text.contains("A801") || text.contains("MoveDestinationUnknown"),
        "{text}"
    );
}

#[test]
fn unknown_ae_may_store_but_not_query_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_untrusted(dir.path());
    let f = corpus_dicom().join("CT_small.dcm");
    let out = dcmtk(
        "storescu",
        &[
            "-aet",
            "STRANGER",
            "-aec",
            "LIGHTBOX",
            "127.0.0.1",
            &server.port(),
            f.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = dcmtk(
        "findscu",
        &[
            "-v",
            "-S",
            "-aet",
            "STRANGER",
            "-aec",
            "LIGHTBOX",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "StudyInstanceUID",
            "127.0.0.1",
            &server.port(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Status: 0x124"), "{text}");
    let r = peer(&[
        "find",
        "127.0.0.1",
        &server.port(),
        "LIGHTBOX",
        "STUDY",
        "StudyInstanceUID=",
    ]);
    assert_eq!(r["final"], 0x0124, "{r}");
    // Once PYPEER is a configured node, the same query is answered.
    let out = lightbox(
        dir.path(),
        &[
            "nodes",
            "add",
            "--name",
            "pypeer",
            "--ae",
            "PYPEER",
            "--host",
            "127.0.0.1",
            "--port",
            "1",
        ],
    );
    assert!(out.status.success());
    let r = peer(&[
        "find",
        "127.0.0.1",
        &server.port(),
        "LIGHTBOX",
        "STUDY",
        "StudyInstanceUID=",
    ]);
    assert_eq!(r["final"], 0, "{r}");
    assert_eq!(r["matches"].as_array().unwrap().len(), 1, "{r}");
}

#[test]
fn c_cancel_stops_a_long_c_find() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // 1,500 tiny studies: far more answers than can be sent before the cancel arrives.
    let synth = dir.path().join("synth");
    synth_ct(
        &data,
        &synth,
        &["--series", "1500", "--slices", "1", "--size", "8"],
    );
    let out = lightbox(&data, &["import", synth.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("imported 1500,"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let server = Server::start(&data);
    let r = peer(&[
        "find_cancel",
        "127.0.0.1",
        &server.port(),
        "LIGHTBOX",
        "STUDY",
    ]);
    assert_eq!(r["final"], 0xFE00, "{r}");
    assert!(r["matches"].as_u64().unwrap() < 1500, "{r}");
    // The association is still usable afterwards for everyone.
    assert_echo(&server);
}

#[test]
fn a_sender_killed_mid_transfer_leaves_nothing_half_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let synth = dir.path().join("synth");
    // Large instances (2048² × 16 bit = 8 MB each) so the kill lands inside a transfer.
    synth_ct(&data, &synth, &["--slices", "16", "--size", "2048"]);
    let server = Server::start(&data);
    let mut storescu = Command::new("storescu")
        .env("TCP_NODELAY", "1")
        .args(["-aec", "LIGHTBOX", "+sd", "127.0.0.1", &server.port()])
        .arg(&synth)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill the sender as soon as the first instance is archived: the next one is in flight.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let has_file = || {
        std::fs::read_dir(data.join("archive"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|d| d.path().is_dir())
            .any(|d| {
                std::fs::read_dir(d.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|f| f.path().extension().is_some_and(|e| e == "dcm"))
            })
    };
    while !has_file() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = storescu.kill();
    let _ = storescu.wait();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Whatever arrived completely is indexed and readable; nothing partial is.
    let out = lightbox(&data, &["check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let count: usize = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        count < 16,
        "the kill came too late to test anything: {text}"
    );
    let archive = lightbox::archive::ArchiveFolder::open(&data.join("archive")).unwrap();
    assert!(
        archive.partial_files().is_empty(),
        "a partial file was left behind"
    );
    assert_echo(&server);
}

#[test]
fn four_senders_at_once_are_all_archived() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let synth = dir.path().join("synth");
    synth_ct(
        &data,
        &synth,
        &["--series", "4", "--slices", "50", "--size", "64"],
    );
    let server = Server::start(&data);
    let port = server.port();
    let senders: Vec<_> = (1..=4)
        .map(|s| {
            let files: Vec<String> = (0..50)
                .map(|i| synth.join(format!("s{s}_{i:05}.dcm")).display().to_string())
                .collect();
            let mut cmd = Command::new("storescu");
            cmd.env("TCP_NODELAY", "1")
                .args([
                    "-aet",
                    &format!("SENDER{s}"),
                    "-aec",
                    "LIGHTBOX",
                    "127.0.0.1",
                    &port,
                ])
                .args(&files);
            cmd.stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in senders {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let r = peer(&[
        "find",
        "127.0.0.1",
        &port,
        "LIGHTBOX",
        "STUDY",
        "StudyInstanceUID=",
        "NumberOfStudyRelatedInstances=",
    ]);
    let studies = r["matches"].as_array().unwrap();
    assert_eq!(studies.len(), 4, "{r}");
    assert!(
        studies
            .iter()
            .all(|s| s["NumberOfStudyRelatedInstances"] == "50"),
        "{r}"
    );
}

#[test]
fn query_matching_kinds_against_peers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let files: Vec<String> = good_corpus_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["import"];
    args.extend(files.iter().map(|s| s.as_str()));
    let out = lightbox(&data, &args);
    assert!(out.status.success());
    let server = Server::start(&data);
    let port = server.port();
    let index = corpus_index();
    let studies_where = |f: &dyn Fn(&serde_json::Value) -> bool| -> BTreeSet<String> {
        index
            .iter()
            .filter(|e| f(e))
            .map(|e| e["study"].as_str().unwrap().to_string())
            .collect()
    };
    let found = |keys: &[&str]| -> BTreeSet<String> {
        let mut args = vec![
            "find",
            "127.0.0.1",
            port.as_str(),
            "LIGHTBOX",
            "STUDY",
            "StudyInstanceUID=",
        ];
        args.extend_from_slice(keys);
        let r = peer(&args);
        assert_eq!(r["final"], 0, "{r}");
        matched(&r, "StudyInstanceUID")
    };
    // Wildcard on patient ID (single-character and any-length).
    let ct_small = index
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with("CT_small.dcm"))
        .unwrap();
    let pid = ct_small["patient_id"].as_str().unwrap();
    let chars: Vec<char> = pid.chars().collect();
    let pattern = format!("{}?{}*", chars[0], chars[2]);
    let want = studies_where(&|e| {
        let p: Vec<char> = e["patient_id"].as_str().unwrap().chars().collect();
        p.len() >= 3 && p[0] == chars[0] && p[2] == chars[2]
    });
    assert_eq!(found(&[&format!("PatientID={pattern}")]), want);
    // UID list.
    let a = index[0]["study"].as_str().unwrap();
    let b = index[index.len() - 1]["study"].as_str().unwrap();
    let want: BTreeSet<String> = [a.to_string(), b.to_string()].into_iter().collect();
    let keys = format!("StudyInstanceUID={a}\\{b}");
    let r = peer(&["find", "127.0.0.1", &port, "LIGHTBOX", "STUDY", &keys]);
    let got: BTreeSet<String> = matched(&r, "StudyInstanceUID");
    assert_eq!(got, want);
    // Date range, open-ended: dcmtk findscu and pynetdicom agree.
    let r = peer(&[
        "find",
        "127.0.0.1",
        &port,
        "LIGHTBOX",
        "STUDY",
        "StudyInstanceUID=",
        "StudyDate=20040501-",
        "PatientID=",
    ]);
    let by_py: BTreeSet<String> = matched(&r, "StudyInstanceUID");
    assert!(!by_py.is_empty() && by_py.len() < found(&[]).len(), "{r}");
    let out = dcmtk(
        "findscu",
        &[
            "-S",
            "-aec",
            "LIGHTBOX",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "StudyDate=20040501-",
            "-k",
            "StudyInstanceUID",
            "127.0.0.1",
            &port,
        ],
    );
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(text.matches("(0020,000d)").count(), by_py.len(), "{text}");
}

#[test]
fn a_full_disk_gets_out_of_resources_and_loses_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    trust_test_peers(&data);
    let synth = dir.path().join("synth");
    // 525 KB each: three fit in 2 MB, the rest do not.
    synth_ct(&data, &synth, &["--slices", "8", "--size", "512"]);
    let server = Server::start_with_small_archive(&data, 2 * 1024 * 1024);
    let out = dcmtk(
        "storescu",
        &[
            "-v",
            "-aec",
            "LIGHTBOX",
            "+sd",
            "127.0.0.1",
            &server.port(),
            synth.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(text.contains("Refused: OutOfResources"), "{text}");
    // What was acknowledged is complete and indexed; the refused ones left nothing behind.
    let r = peer(&[
        "find",
        "127.0.0.1",
        &server.port(),
        "LIGHTBOX",
        "IMAGE",
        "SOPInstanceUID=",
    ]);
    let stored = r["matches"].as_array().unwrap().len();
    assert!((1..8).contains(&stored), "{r}");
    assert_echo(&server);
}

#[test]
fn serve_stops_cleanly_on_sigterm_and_sigint() {
    for signal in ["-TERM", "-INT"] {
        let dir = tempfile::tempdir().unwrap();
        let mut server = Server::start(dir.path());
        let f = corpus_dicom().join("CT_small.dcm");
        let out = dcmtk(
            "storescu",
            &[
                "-aec",
                "LIGHTBOX",
                "127.0.0.1",
                &server.port(),
                f.to_str().unwrap(),
            ],
        );
        assert!(out.status.success());
        let _ = Command::new("kill")
            .args([signal, &server.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let status = loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "serve did not stop on {signal}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert!(status.success(), "serve exited with {status} on {signal}");
        let out = lightbox(dir.path(), &["check"]);
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("instances 1,"));
    }
}

#[test]
fn c_find_answers_stop_at_the_configured_limit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let synth = dir.path().join("synth");
    synth_ct(
        &data,
        &synth,
        &["--series", "5", "--slices", "1", "--size", "8"],
    );
    assert!(
        lightbox(&data, &["import", synth.to_str().unwrap()])
            .status
            .success()
    );
    assert!(
        lightbox(&data, &["settings", "set", "dicom.find_limit", "2"])
            .status
            .success()
    );
    let server = Server::start(&data);
    let r = peer(&[
        "find",
        "127.0.0.1",
        &server.port(),
        "LIGHTBOX",
        "STUDY",
        "StudyInstanceUID=",
    ]);
    assert_eq!(r["final"], 0, "{r}");
    assert_eq!(r["matches"].as_array().unwrap().len(), 2, "{r}");
    // A bad value is refused before it can reach the service.
    let out = lightbox(&data, &["settings", "set", "dicom.find_limit", "lots"]);
    assert!(!out.status.success());
}

#[test]
fn c_cancel_stops_a_c_get_between_sub_operations() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let synth = dir.path().join("synth");
    synth_ct(
        &data,
        &synth,
        &["--slices", "300", "--size", "8", "--seed", "31"],
    );
    assert!(
        lightbox(&data, &["import", synth.to_str().unwrap()])
            .status
            .success()
    );
    let server = Server::start(&data);
    let study = lightbox::pacs::synthetic::SyntheticSeries::new(31, 8).study_uid;
    let r = peer(&[
        "get_cancel",
        "127.0.0.1",
        &server.port(),
        "LIGHTBOX",
        &study,
        "1.2.840.10008.5.1.4.1.1.2",
    ]);
    assert_eq!(r["final"], 0xFE00, "{r}");
    assert!(r["received"].as_u64().unwrap() < 300, "{r}");
    assert_echo(&server);
}

/// Regression: the sender used to guess it was on a C-GET requester's association when both
/// sides had the same maximum PDU size, and then failed every instance for want of an SCP role.
#[test]
fn send_to_another_lightbox_with_the_same_pdu_size() {
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours");
    let theirs = dir.path().join("theirs");
    let out = lightbox(
        &ours,
        &[
            "import",
            corpus_dicom().join("CT_small.dcm").to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    let other = Server::start(&theirs);
    let out = lightbox(
        &ours,
        &[
            "nodes",
            "add",
            "--name",
            "other",
            "--ae",
            "LIGHTBOX",
            "--host",
            "127.0.0.1",
            "--port",
            &other.port(),
        ],
    );
    assert!(out.status.success());
    let out = lightbox(&ours, &["send", "--to", "other", "--patient", "1CT1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("sent 1,"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = lightbox(&theirs, &["check"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("instances 1,"));
}

#[test]
fn a_silent_connection_is_closed_after_the_idle_timeout() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    assert!(
        lightbox(
            dir.path(),
            &["settings", "set", "dicom.idle_timeout_secs", "1"]
        )
        .status
        .success()
    );
    let server = Server::start(dir.path());
    let mut socket = std::net::TcpStream::connect(server.addr).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    let mut buf = [0u8; 64];
    // The server must close the connection (end of stream or reset) before our 15 s read
    // timeout; a timeout means it kept the silent connection open.
    match socket.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("unexpected {n} bytes from the server"),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            panic!("the idle connection was not closed")
        }
        Err(_) => {} // reset by the server: closed too
    }
    assert_echo(&server);
}
