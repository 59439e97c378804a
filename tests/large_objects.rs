//! Large objects (breast tomosynthesis, long cine) stream through Lightbox: received into the
//! archive as they arrive, sent from the file a PDU at a time, imported a piece at a time —
//! memory does not follow the sender, and a transfer killed half-way leaves nothing behind.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A multi-frame object of about `mib` MiB from the pydicom peer; returns its path and what
/// the peer says about it.
fn big_object(mib: u32, dir: &Path) -> (PathBuf, serde_json::Value) {
    let out = dir.join(format!("big{mib}.dcm"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/wild_files.py");
    let made = Command::new(python())
        .arg(script)
        .args(["big", &mib.to_string()])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    (out, serde_json::from_slice(&made.stdout).unwrap())
}

/// A value in kB from /proc/PID/status (Linux).
fn proc_status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The data set of a Part 10 file (after its meta group).
fn dataset_of(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let group = u32::from_le_bytes([bytes[140], bytes[141], bytes[142], bytes[143]]) as usize;
    bytes[144 + group..].to_vec()
}

#[test]
fn a_large_object_streams_in_and_out_byte_for_byte_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (file, about) = big_object(160, dir.path());
    let server = Server::start(&data);
    let pid = server.child.id();
    let before_kib = proc_status_kib(pid, "VmRSS:");
    let sent = dcmtk(
        "storescu",
        &[
            "-aec",
            "LIGHTBOX",
            "127.0.0.1",
            &server.port(),
            file.to_str().unwrap(),
        ],
    );
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let peak_kib = proc_status_kib(pid, "VmHWM:");
    let growth_mib = peak_kib.saturating_sub(before_kib) / 1024;
    // Held whole, 160 MiB would show here; streamed, a few PDUs and the header prefix do.
    assert!(
        growth_mib < 64,
        "the server's peak memory grew by {growth_mib} MiB for a 160 MiB object"
    );
    // C-GET sends it back from the file; the bytes are the sender's.
    let got = dir.path().join("got");
    std::fs::create_dir_all(&got).unwrap();
    let out = dcmtk(
        "getscu",
        &[
            "-aec",
            "LIGHTBOX",
            "-od",
            got.to_str().unwrap(),
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            &format!("StudyInstanceUID={}", about["study"].as_str().unwrap()),
            "127.0.0.1",
            &server.port(),
        ],
    );
    let received: Vec<PathBuf> = std::fs::read_dir(&got)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        received.len(),
        1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dataset_of(&received[0]) == dataset_of(&file),
        "the retrieved data set differs from the one sent"
    );
    // Import takes the same object a piece at a time (as a duplicate of the one received).
    drop(server);
    let imported = lightbox(&data, &["import", file.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&imported.stdout).contains("duplicates 1"),
        "{}",
        String::from_utf8_lossy(&imported.stdout)
    );
    let other = lightbox(
        &dir.path().join("other"),
        &["import", file.to_str().unwrap()],
    );
    assert!(
        String::from_utf8_lossy(&other.stdout).contains("imported 1"),
        "{}",
        String::from_utf8_lossy(&other.stdout)
    );
    let check = lightbox(&dir.path().join("other"), &["check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn a_large_transfer_killed_half_way_leaves_no_file_and_no_index_row() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (file, about) = big_object(200, dir.path());
    let mut server = Server::start(&data);
    let mut sender = Command::new("storescu")
        .env("TCP_NODELAY", "1")
        .args([
            "-aec",
            "LIGHTBOX",
            "127.0.0.1",
            &server.port(),
            file.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    // Wait until part of it is on disk, then kill the server.
    let archive = data.join("archive");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let partial: u64 = walk(&archive)
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "part"))
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum();
        if partial > 8 << 20 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no partial file appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.kill9();
    let _ = sender.wait();
    // After a restart: the half file is gone, nothing points at it, nothing was lost that
    // was acknowledged (nothing was).
    let server = Server::start(&data);
    assert!(
        walk(&archive)
            .iter()
            .all(|p| p.extension().is_none_or(|e| e != "part")),
        "a partial file survived the restart"
    );
    let check = lightbox(&data, &["check"]);
    assert!(check.status.success());
    let found = dcmtk(
        "findscu",
        &[
            "-S",
            "-aec",
            "LIGHTBOX",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            &format!("StudyInstanceUID={}", about["study"].as_str().unwrap()),
            "127.0.0.1",
            &server.port(),
        ],
    );
    assert!(
        !String::from_utf8_lossy(&found.stderr).contains("StudyInstanceUID"),
        "a study was indexed from an unfinished transfer"
    );
    // And the sender's retry succeeds.
    let sent = dcmtk(
        "storescu",
        &[
            "-aec",
            "LIGHTBOX",
            "127.0.0.1",
            &server.port(),
            file.to_str().unwrap(),
        ],
    );
    assert!(sent.status.success());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
