//! DICOMweb on the practice server's HTTPS port against the independent client
//! `dicomweb-client` (with pydicom and Pillow): QIDO-RS searches, WADO-RS retrieval as stored
//! and transcoded, metadata, frames, rendered images and thumbnails, STOW-RS, the refusals,
//! and a study that cannot be completed ending in an error rather than a quiet gap.
//!
//! Kind: starts the binary (`lightbox serve`), dcmtk's storescu and Python peers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use common::Server;
use lightbox_store::administration::AuditFilter;

const PASSWORD: &str = "reading room password";

#[test]
fn dicomweb_client_searches_and_retrieves_what_a_scanner_stored_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    common::add_user(
        dir.path(),
        "drreed",
        "Dr Ana Reed",
        lightbox::access::Role::Radiologist,
        PASSWORD,
    );
    let server = Server::start(dir.path());
    // A scanner (dcmtk's storescu) stores a small series for MÜLLER^ZOË.
    let mut series = lightbox::pacs::synthetic::SyntheticSeries::new(41, 32);
    series.patient_name = "MÜLLER^ZOË".into();
    series.study_date = "20261124".into();
    let folder = dir.path().join("scanner");
    std::fs::create_dir_all(&folder).unwrap();
    let mut files = Vec::new();
    for i in 0..3 {
        let path = folder.join(format!("IM{i}.dcm"));
        series.slice(i).unwrap().write_to_file(&path).unwrap();
        files.push(path);
    }
    let mut args = vec![
        "-aec".to_string(),
        "LIGHTBOX".into(),
        "127.0.0.1".into(),
        server.port(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(common::dcmtk("storescu", &refs).status.success());
    // Another patient's image, for STOW-RS.
    let to_store = folder.join("STOW.dcm");
    lightbox::pacs::synthetic::SyntheticSeries::new(42, 32)
        .slice(0)
        .unwrap()
        .write_to_file(&to_store)
        .unwrap();
    let stow_sop = lightbox::pacs::synthetic::SyntheticSeries::new(42, 32).sop_uid(0);
    let out = std::process::Command::new(common::python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/dicomweb_peer.py"))
        .arg(format!("https://localhost:{}", server.api_port))
        .arg(dir.path().join("tls").join("ca.pem"))
        .args(["drreed", PASSWORD, "mül*", &series.study_uid])
        .arg(&to_store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // QIDO-RS: a lower-case accented wildcard finds the study, named as stored.
    assert_eq!(
        got["studies"],
        serde_json::json!([series.study_uid]),
        "{got}"
    );
    assert_eq!(got["names"], serde_json::json!(["MÜLLER^ZOË"]));
    assert_eq!(got["instances_in_study"], serde_json::json!([3]));
    assert_eq!(got["by_date_range"], 1);
    assert_eq!(got["series"], serde_json::json!([series.series_uid]));
    let mut sops: Vec<String> = (0..3).map(|i| series.sop_uid(i)).collect();
    sops.sort();
    assert_eq!(got["instances"], serde_json::json!(sops));
    // WADO-RS: every instance back, its pixels those the scanner sent.
    assert_eq!(got["retrieved"], serde_json::json!(sops));
    for (i, file) in files.iter().enumerate() {
        let object = dicom_object::open_file(file).unwrap();
        let pixels = object
            .element(dicom_dictionary_std::tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap();
        let hex: String = pixels.iter().take(32).map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            got["pixels"][series.sop_uid(i as u32)],
            format!("{hex}{}", pixels.len())
        );
    }
    assert_eq!(got["one_instance"], sops[0]);
    // Refusals as statuses.
    assert_eq!(got["wrong_password"], 401);
    assert_eq!(got["unknown_key"], 400);
    assert_eq!(got["missing_study"], 404);
    // STOW-RS stored the instance (then found by QIDO-RS) and refused what is not DICOM.
    assert_eq!(got["stored"], serde_json::json!([stow_sop]));
    assert_eq!(got["found_after_store"], serde_json::json!([stow_sop]));
    assert_eq!(got["garbage_status"], 409);
    assert_eq!(got["garbage_failed"], 1);
    // The archive's files are what the scanner sent: WADO-RS served them unchanged.
    let store = common::store(dir.path());
    let audited = store
        .search_audit(
            &AuditFilter {
                actor: "drreed".into(),
                action: "dicomweb.".into(),
                ..AuditFilter::default()
            },
            50,
        )
        .unwrap();
    assert!(audited.iter().any(|a| a.action == "dicomweb.query"));
    assert!(audited.iter().any(|a| a.action == "dicomweb.retrieve"));
}

#[test]
fn dicomweb_client_loads_metadata_frames_rendered_images_and_a_lossless_jpeg_ls_copy() {
    let dir = tempfile::tempdir().unwrap();
    common::add_user(
        dir.path(),
        "drreed",
        "Dr Ana Reed",
        lightbox::access::Role::Radiologist,
        PASSWORD,
    );
    let server = Server::start(dir.path());
    let mut series = lightbox::pacs::synthetic::SyntheticSeries::new(43, 64);
    series.patient_name = "ÅSTRÖM^BJÖRN".into();
    let folder = dir.path().join("scanner");
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("IM0.dcm");
    series.slice(0).unwrap().write_to_file(&file).unwrap();
    let second = folder.join("IM1.dcm");
    series.slice(1).unwrap().write_to_file(&second).unwrap();
    let port = server.port();
    assert!(
        common::dcmtk(
            "storescu",
            &[
                "-aec",
                "LIGHTBOX",
                "127.0.0.1",
                &port,
                &file.display().to_string(),
                &second.display().to_string()
            ]
        )
        .status
        .success()
    );
    let saved = dir.path().join("transcoded.dcm");
    let out = std::process::Command::new(common::python())
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/peers/dicomweb_wado_peer.py"),
        )
        .arg(format!("https://localhost:{}", server.api_port))
        .arg(dir.path().join("tls").join("ca.pem"))
        .args(["drreed", PASSWORD])
        .args([&series.study_uid, &series.series_uid, &series.sop_uid(0)])
        .arg(&saved)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let original = dicom_object::open_file(&file).unwrap();
    let pixels = original
        .element(dicom_dictionary_std::tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap();
    // Metadata: both instances, named as stored, pixels as a link to the frames.
    assert_eq!(got["metadata_count"], 2, "{got}");
    assert_eq!(got["metadata_name"], "ÅSTRÖM^BJÖRN");
    assert_eq!(got["metadata_rows"], 64);
    let bulk = got["metadata_pixel_data"]["BulkDataURI"].as_str().unwrap();
    assert!(
        bulk.ends_with(&format!("{}/frames/1", series.sop_uid(0))),
        "{bulk}"
    );
    assert!(got["metadata_pixel_data"].get("InlineBinary").is_none());
    // Metadata travels gzipped to a client that accepts it, and reads the same.
    assert_eq!(got["metadata_encoding"], "gzip", "{got}");
    assert_eq!(got["metadata_same_when_zipped"], true);
    // A raw frame is the scanner's pixel bytes.
    let hex: String = pixels.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got["raw_frame_hex"], hex);
    // JPEG-LS: a JPEG-LS code stream (SOI, SOF-55), the same as the transcoded instance's
    // frame, and decoding that instance gives every stored value back.
    assert_eq!(got["jls_frame_starts"], "ffd8fff7", "{got}");
    assert_eq!(got["transcoded_syntax"], "1.2.840.10008.1.2.4.80");
    assert_eq!(got["jls_frame_is_the_instance_fragment"], true);
    let stored_values =
        |path: &std::path::Path| match lightbox::imaging::frame::ImageFile::open(path)
            .unwrap()
            .frame(0)
            .unwrap()
            .content
        {
            lightbox::imaging::frame::FrameContent::Grey { stored, .. } => stored,
            other => panic!("grey expected, got {other:?}"),
        };
    assert_eq!(stored_values(&saved), stored_values(&file), "lossless");
    // Rendered: a PNG of the image's size with the window asked for; JPEG by default; a
    // thumbnail fitted into the viewport asked for.
    assert_eq!(got["rendered_png"], serde_json::json!(["PNG", 64, 64, "L"]));
    assert_ne!(
        got["rendered_extrema"][0], got["rendered_extrema"][1],
        "not flat"
    );
    assert_eq!(got["rendered_default"], "JPEG");
    assert_eq!(
        got["thumbnail"],
        serde_json::json!([200, "image/jpeg", 16, 16])
    );
    // Refusals: a syntax not offered (406, naming what is), a frame that does not exist, no
    // sign-in.
    assert_eq!(got["unoffered_syntax"][0], 406);
    assert!(
        got["unoffered_syntax"][1]
            .as_str()
            .unwrap()
            .contains("JPEG-LS lossless"),
        "{got}"
    );
    assert_eq!(got["frame_beyond"], 404);
    assert_eq!(got["frame_zero"], 400);
    assert_eq!(got["metadata_unsigned"], 401);
}

#[test]
fn a_study_with_an_unreadable_file_ends_in_an_error_not_a_quiet_gap() {
    let dir = tempfile::tempdir().unwrap();
    common::add_user(
        dir.path(),
        "drreed",
        "Dr Ana Reed",
        lightbox::access::Role::Radiologist,
        PASSWORD,
    );
    let server = Server::start(dir.path());
    let series = lightbox::pacs::synthetic::SyntheticSeries::new(44, 32);
    let folder = dir.path().join("scanner");
    std::fs::create_dir_all(&folder).unwrap();
    let mut args = vec![
        "-aec".to_string(),
        "LIGHTBOX".into(),
        "127.0.0.1".into(),
        server.port(),
    ];
    for i in 0..3 {
        let path = folder.join(format!("IM{i}.dcm"));
        series.slice(i).unwrap().write_to_file(&path).unwrap();
        args.push(path.display().to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(common::dcmtk("storescu", &refs).status.success());
    // The last instance's file disappears from the archive (a disk fault).
    let store = common::store(dir.path());
    let rows = store
        .query_index(
            lightbox_store::index::Level::Image,
            &[lightbox_store::index::Condition {
                column: lightbox_store::index::Column::SopUid,
                matcher: lightbox_store::index::Matcher::Exact(series.sop_uid(2)),
            }],
            1,
        )
        .unwrap();
    std::fs::remove_file(dir.path().join("archive").join(&rows[0].file_path)).unwrap();
    let out = std::process::Command::new(common::python())
        .args([
            "-c",
            concat!(
                "import sys, requests\n",
                "try:\n",
                "    r = requests.get(sys.argv[1] + '/dicomweb/studies/' + sys.argv[5],",
                " auth=(sys.argv[3], sys.argv[4]), verify=sys.argv[2], timeout=30)\n",
                "    print('complete' if r.content.rstrip().endswith(b'--') else 'error truncated')\n",
                "except requests.exceptions.RequestException as e:\n",
                "    print('error', type(e).__name__)\n",
            ),
        ])
        .arg(format!("https://localhost:{}", server.api_port))
        .arg(dir.path().join("tls").join("ca.pem"))
        .args(["drreed", PASSWORD, &series.study_uid])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        said.starts_with("error"),
        "a study missing an instance must not arrive as complete: {said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The server is fine afterwards: a single instance still comes.
    let one = std::process::Command::new(common::python())
        .args([
            "-c",
            "import sys, requests\n\
r = requests.get(sys.argv[1], auth=(sys.argv[2], sys.argv[3]), verify=sys.argv[4])\n\
print(r.status_code)\n",
        ])
        .arg(format!(
            "https://localhost:{}/dicomweb/studies/{}/series/{}/instances/{}",
            server.api_port,
            series.study_uid,
            series.series_uid,
            series.sop_uid(0)
        ))
        .args(["drreed", PASSWORD])
        .arg(dir.path().join("tls").join("ca.pem"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&one.stdout).trim(), "200");
}

#[test]
fn password_guessing_from_one_address_is_refused_after_five_failures() {
    let dir = tempfile::tempdir().unwrap();
    common::add_user(
        dir.path(),
        "drreed",
        "Dr Ana Reed",
        lightbox::access::Role::Radiologist,
        PASSWORD,
    );
    let server = Server::start(dir.path());
    let out = std::process::Command::new(common::python())
        .args([
            "-c",
            concat!(
                "import sys, json, requests\n",
                "url, ca, login, password = sys.argv[1:5]\n",
                "codes = [requests.get(url, auth=(login, password + str(i)), verify=ca).status_code for i in range(5)]\n",
                "right = requests.get(url, auth=(login, password), verify=ca)\n",
                "print(json.dumps({'wrong': codes, 'right': right.status_code, 'says': right.json().get('error', '')}))\n",
            ),
        ])
        .arg(format!(
            "https://localhost:{}/dicomweb/studies",
            server.api_port
        ))
        .arg(dir.path().join("tls").join("ca.pem"))
        .args(["drreed", PASSWORD])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["wrong"], serde_json::json!([401, 401, 401, 401, 401]));
    // Even the right password waits now: the address guessed too often.
    assert_eq!(got["right"], 429, "{got}");
    assert!(
        got["says"]
            .as_str()
            .unwrap()
            .contains("too many failed sign-ins"),
        "{got}"
    );
}
