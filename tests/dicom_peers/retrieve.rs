//! C-GET and C-MOVE into real peers: identical data back, unknown destinations, C-CANCEL.

use super::*;

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
