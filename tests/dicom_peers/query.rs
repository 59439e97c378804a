//! C-FIND from findscu and pynetdicom at every level and with every kind of matching, the
//! answer limit and C-CANCEL.

use super::*;

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
