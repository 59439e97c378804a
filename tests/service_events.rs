//! The services announce what they do as typed events (what the desktop window shows live):
//! an association opening, each instance stored with its study, and how the association ended.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::time::{Duration, Instant};

use common::*;
use lightbox::app::{self, DataFolder, ServeOptions};
use lightbox::events::{self, ServiceEvent};

#[test]
fn storing_a_file_emits_opened_stored_and_closed_events() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataFolder::resolve(Some(dir.path())).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (sender, receiver) = events::channel(64, None);
    let options = ServeOptions {
        dicom_port: Some(0),
        bind_ip: Some("127.0.0.1".parse().unwrap()),
        ..ServeOptions::default()
    };
    let services = rt
        .block_on(app::start_services(&data, &options, sender))
        .unwrap();
    let port = services.dicom_addr.port().to_string();
    let file = corpus_dicom().join("CT_small.dcm");
    let out = dcmtk(
        "storescu",
        &[
            "-aet",
            "CT_SCANNER",
            "-aec",
            "LIGHTBOX",
            "127.0.0.1",
            &port,
            file.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let expected_study = peer(&["corpus_index", file.to_str().unwrap()])[0]["study"]
        .as_str()
        .unwrap()
        .to_string();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match receiver.recv_timeout(Duration::from_millis(200)) {
            Ok(event) => {
                let closed = matches!(event, ServiceEvent::AssociationClosed { .. });
                seen.push(event);
                if closed {
                    break;
                }
            }
            Err(_) => continue,
        }
    }
    assert!(
        matches!(seen.first(), Some(ServiceEvent::DicomListening { .. })),
        "{seen:?}"
    );
    assert!(seen.iter().any(|e| matches!(e, ServiceEvent::AssociationOpened { calling_ae, .. } if calling_ae == "CT_SCANNER")), "{seen:?}");
    assert!(seen.iter().any(|e| matches!(e, ServiceEvent::InstanceStored { study_uid, .. } if *study_uid == expected_study)), "{seen:?}");
    assert!(seen.iter().any(|e| matches!(e, ServiceEvent::AssociationClosed { outcome, .. } if outcome == "released, 1 stored")), "{seen:?}");
    services.stop();
}
