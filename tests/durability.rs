//! "Nothing lost": kill -9 the server at random moments during an ingest; after restart every
//! instance the sender saw acknowledged is present, readable and indexed, and no index row
//! lacks its file. Storage Commitment reports only what is on stable storage.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn synth(dir: &std::path::Path, slices: u32, size: u16, seed: u64) -> Vec<PathBuf> {
    let (slices, size, seed) = (slices.to_string(), size.to_string(), seed.to_string());
    synth_ct(
        dir,
        &dir.join("synth"),
        &["--slices", &slices, "--size", &size, "--seed", &seed],
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("synth"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

/// Sends `files` with the streaming peer, kills the server after `kill_after`, and returns
/// the SOP UIDs the peer saw acknowledged.
fn send_and_kill(server: &mut Server, files: &[PathBuf], kill_after: Duration) -> BTreeSet<String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/dicom_peer.py");
    let mut child = Command::new(python())
        .arg(script)
        .args(["store_stream", "127.0.0.1", &server.port(), "LIGHTBOX"])
        .args(files)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    std::thread::sleep(kill_after);
    server.kill9();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    reader.join().unwrap().into_iter().collect()
}

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_instance() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    trust_test_peers(&data);
    let files = synth(dir.path(), 1000, 128, 7);
    assert_eq!(files.len(), 1000);
    let mut acknowledged = BTreeSet::new();
    // Several rounds, each killed at a different moment; every round resends everything, so
    // acknowledged instances are also resent as duplicates.
    // Random kill moments within the ingest, printed so a failure can be replayed.
    let delays_ms: Vec<u64> = (0..4).map(|_| rand::random_range(150..2200)).collect();
    eprintln!("kill -9 after {delays_ms:?} ms");
    for delay in delays_ms {
        let mut server = Server::start_with(&data, "LIGHTBOX", 0);
        let acked = send_and_kill(&mut server, &files, Duration::from_millis(delay));
        acknowledged.extend(acked);
        // After the crash: no index row lacks its file, nothing unreadable.
        let out = lightbox(&data, &["check"]);
        assert!(
            out.status.success(),
            "check after kill at {delay} ms: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert!(
        !acknowledged.is_empty(),
        "the server never acknowledged anything before being killed"
    );
    // Restart and ask: every acknowledged instance is there.
    let server = Server::start_with(&data, "LIGHTBOX", 0);
    let r = peer(&[
        "find",
        "127.0.0.1",
        &server.port(),
        "LIGHTBOX",
        "IMAGE",
        "SOPInstanceUID=",
    ]);
    let present: BTreeSet<String> = matched(&r, "SOPInstanceUID");
    let lost: Vec<&String> = acknowledged.difference(&present).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged instances lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    let out = lightbox(&data, &["check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("instances {}", present.len())),
        "{text}"
    );
}

#[test]
fn storage_commitment_reports_stored_instances_and_fails_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let files = synth(dir.path(), 3, 64, 11);
    let mut args = vec![
        "-aec".to_string(),
        "LIGHTBOX".into(),
        "127.0.0.1".into(),
        server.port(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let out = dcmtk("storescu", &refs);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ct = "1.2.840.10008.5.1.4.1.1.2";
    let series = lightbox::pacs::synthetic::SyntheticSeries::new(11, 64);
    let known: Vec<String> = (0..3)
        .map(|i| format!("{ct}={}", series.sop_uid(i)))
        .collect();
    let mut args = vec!["commit", "127.0.0.1"];
    let port = server.port();
    args.push(&port);
    args.push("LIGHTBOX");
    args.extend(known.iter().map(|s| s.as_str()));
    let unknown = format!("{ct}=1.2.3.4.5.6.7");
    args.push(&unknown);
    let r = peer(&args);
    assert_eq!(r["status"], 0, "{r}");
    let report = &r["reports"][0];
    assert_eq!(report["event_type"], 2, "{r}");
    assert_eq!(report["committed"].as_array().unwrap().len(), 3, "{r}");
    assert_eq!(
        report["failed"],
        serde_json::json!(["1.2.3.4.5.6.7"]),
        "{r}"
    );
}

#[test]
fn storage_commitment_report_reaches_a_requester_that_released() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let listen_port = free_port();
    // The modality is a configured node: that is where the report goes.
    let out = lightbox(
        &data,
        &[
            "nodes",
            "add",
            "--name",
            "modality",
            "--ae",
            "PYPEER",
            "--host",
            "127.0.0.1",
            "--port",
            &listen_port.to_string(),
        ],
    );
    assert!(out.status.success());
    let server = Server::start_untrusted(&data);
    let files = synth(dir.path(), 2, 64, 21);
    let mut args = vec![
        "-aec".to_string(),
        "LIGHTBOX".into(),
        "127.0.0.1".into(),
        server.port(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert!(dcmtk("storescu", &refs).status.success());
    let series = lightbox::pacs::synthetic::SyntheticSeries::new(21, 64);
    let ct = "1.2.840.10008.5.1.4.1.1.2";
    let pairs: Vec<String> = (0..2)
        .map(|i| format!("{ct}={}", series.sop_uid(i)))
        .collect();
    let port = server.port();
    let listen = listen_port.to_string();
    let mut args = vec![
        "commit_then_release",
        "127.0.0.1",
        port.as_str(),
        "LIGHTBOX",
        listen.as_str(),
    ];
    args.extend(pairs.iter().map(|s| s.as_str()));
    let r = peer(&args);
    assert_eq!(r["status"], 0, "{r}");
    assert_eq!(
        r["reports"].as_array().map(|a| a.len()),
        Some(1),
        "no report arrived: {r}"
    );
    assert_eq!(r["reports"][0]["event_type"], 1, "{r}");
    assert_eq!(
        r["reports"][0]["committed"].as_array().unwrap().len(),
        2,
        "{r}"
    );
}
