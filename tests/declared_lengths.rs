//! Regression tests for the declared-length bug found by the mutation test: dicom-rs reserves
//! and zero-fills whatever length a header declares, so a 2 GiB Pixel Data length in a 40 KB
//! file (or C-STORE) cost seconds and gigabytes. Now every path refuses it before parsing: the
//! renderer, `lightbox import` and the C-STORE service (which answers with a failure status
//! and keeps serving).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// CT_small.dcm with its Pixel Data length set to 0x7FFFFFF0.
fn lying_file(dir: &Path) -> PathBuf {
    let mut bytes = std::fs::read(corpus_dicom().join("CT_small.dcm")).unwrap();
    let header = [0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0];
    let at = bytes
        .windows(8)
        .position(|w| w == header)
        .expect("CT_small has explicit OW pixel data");
    bytes[at + 8..at + 12].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
    let path = dir.join("lying_length.dcm");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_2gib_declared_length_is_refused_by_render_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let file = lying_file(dir.path());
    let out = dir.path().join("x.png");
    let r = lightbox(
        dir.path(),
        &[
            "render",
            file.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success());
    assert!(
        text.contains("lying_length.dcm") && text.contains("2147483632"),
        "{text}"
    );
    let r = lightbox(dir.path(), &["import", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(!r.status.success(), "{text}");
    assert!(
        text.contains("refused 1") && text.contains("2147483632"),
        "{text}"
    );
}

#[test]
fn a_2gib_declared_length_over_c_store_gets_a_failure_and_the_server_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let file = lying_file(dir.path());
    let port = server.port();
    let good = corpus_dicom().join("MR_small.dcm");
    let r = peer(&[
        "store_as_is",
        "127.0.0.1",
        port.as_str(),
        server.ae.as_str(),
        file.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    let refused = r[file.to_str().unwrap()].as_u64().unwrap();
    assert!(refused >= 0xA000, "damaged object was not refused: {r}");
    assert_eq!(
        r[good.to_str().unwrap()],
        0,
        "the next object on the association: {r}"
    );
    assert_echo(&server);
}
