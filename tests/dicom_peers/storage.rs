//! C-STORE from dcmtk and pynetdicom: the corpus, truncated files, a sender killed half-way,
//! four senders at once, a full disk, and Lightbox sending to another Lightbox.

use super::*;

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
