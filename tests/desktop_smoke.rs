//! The README's first command: `lightbox` opens its window (here under Xvfb, rendering on
//! Mesa's software adapter) with the DICOM services running in the same process.

#![cfg(unix)] // Xvfb and process groups: the desktop smoke test runs on Linux CI
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

#[test]
fn desktop_window_starts_with_its_dicom_service() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let out = lightbox(
        dir.path(),
        &["settings", "set", "dicom.port", &port.to_string()],
    );
    assert!(out.status.success());
    let hl7_port = free_port();
    let out = lightbox(
        dir.path(),
        &["settings", "set", "hl7.port", &hl7_port.to_string()],
    );
    assert!(out.status.success());
    let mut child = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1366x768x24"])
        .arg(lightbox_bin())
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("xvfb-run (install xvfb)");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut echoed = false;
    while Instant::now() < deadline {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the desktop app exited on its own"
        );
        let out = dcmtk(
            "echoscu",
            &["-aec", "LIGHTBOX", "127.0.0.1", &port.to_string()],
        );
        if out.status.success() {
            echoed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // The window's HL7 listener takes an ADT from python hl7's mllp_send.
    let hl7 = echoed.then(|| {
        Command::new(python().parent().unwrap().join("mllp_send"))
            .args(["--loose", "-p", &hl7_port.to_string(), "-f"])
            .arg(corpus().join("hl7/adt_a04_register.hl7"))
            .arg("127.0.0.1")
            .output()
            .unwrap()
    });
    // Stop Xvfb and the app together (their process group).
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
    assert!(echoed, "the window's DICOM service never answered C-ECHO");
    let hl7 = hl7.unwrap();
    assert!(
        String::from_utf8_lossy(&hl7.stdout).contains("MSA|AA|ADT0001"),
        "the window's HL7 listener: {}",
        String::from_utf8_lossy(&hl7.stderr)
    );
    // The first start created the practice's store and archive in the data folder.
    assert!(dir.path().join("lightbox.sqlite").is_file());
    assert!(dir.path().join("archive").is_dir());
}
