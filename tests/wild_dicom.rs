//! DICOM from the wild and from strangers, against the running service: files real archives
//! accept (every element UN, a UID with letters, a malformed Number of Frames), a known AE
//! title used from another host, and a retrieve that names nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use lightbox_store::administration::AuditFilter;

/// Writes a wild file from a corpus file with the pydicom peer.
fn wild(kind: &str, source: &str, out: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/wild_files.py");
    let result = Command::new(python())
        .arg(script)
        .args([kind, corpus_dicom().join(source).to_str().unwrap()])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    out.to_path_buf()
}

fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn render(data: &Path, file: &Path, out: &Path) -> (u32, u32, Vec<u8>) {
    let result = lightbox(
        data,
        &[
            "render",
            file.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        result.status.success(),
        "render {}: {}",
        file.display(),
        String::from_utf8_lossy(&result.stderr)
    );
    read_png(out)
}

fn find_study_of_patient(server: &Server, patient_id: &str) -> String {
    let out = dcmtk(
        "findscu",
        &[
            "-S",
            "-aec",
            "LIGHTBOX",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            &format!("PatientID={patient_id}"),
            "-k",
            "StudyInstanceUID",
            "-k",
            "PatientName",
            "127.0.0.1",
            &server.port(),
        ],
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_data_set_sent_all_in_vr_un_is_archived_with_its_dictionary_values() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let un = wild("all_un", "CT_small.dcm", &dir.path().join("un.dcm"));
    let server = Server::start(&data);
    // pynetdicom sends the file's data set bytes as they are (dcmtk's storescu cannot even
    // find the SOP Instance UID in it).
    let sent = send_as_is(&server, &un);
    assert_eq!(sent["status"], 0, "{sent}");
    // Indexed by the values read with the dictionary VR (dcmtk's findscu finds it by them).
    let original = dicom_object::open_file(corpus_dicom().join("CT_small.dcm")).unwrap();
    let patient_id = original
        .element(dicom_dictionary_std::tags::PATIENT_ID)
        .unwrap()
        .to_str()
        .unwrap()
        .trim()
        .to_string();
    let study = original
        .element(dicom_dictionary_std::tags::STUDY_INSTANCE_UID)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches('\0')
        .to_string();
    let found = find_study_of_patient(&server, &patient_id);
    assert!(found.contains(&study), "{found}");
    // The archived file renders like the original.
    let store = common::store(&data);
    let rows = store
        .query_index(
            lightbox_store::index::Level::Image,
            &[lightbox_store::index::Condition {
                column: lightbox_store::index::Column::StudyUid,
                matcher: lightbox_store::index::Matcher::Exact(study.clone()),
            }],
            10,
        )
        .unwrap();
    assert_eq!(rows.len(), 1);
    let archived = data.join("archive").join(&rows[0].file_path);
    let from_un = render(&data, &archived, &dir.path().join("un.png"));
    let plain = render(
        &data,
        &corpus_dicom().join("CT_small.dcm"),
        &dir.path().join("plain.png"),
    );
    assert_eq!(from_un, plain, "the UN file renders like its original");
    // And import reads it the same way.
    let imported = lightbox(&dir.path().join("other"), &["import", un.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&imported.stdout).contains("imported 1"),
        "{}",
        String::from_utf8_lossy(&imported.stdout)
    );
}

/// C-STORE of a file's data set bytes as they are, by pynetdicom.
fn send_as_is(server: &Server, file: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/wild_files.py");
    let sent = Command::new(python())
        .arg(script)
        .args(["send", "127.0.0.1", &server.port(), "LIGHTBOX"])
        .arg(file)
        .output()
        .unwrap();
    serde_json::from_slice(&sent.stdout)
        .unwrap_or_else(|_| serde_json::json!({ "error": String::from_utf8_lossy(&sent.stderr) }))
}

#[test]
fn a_sop_instance_uid_with_letters_is_accepted_and_can_be_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = wild("letter_uid", "MR_small.dcm", &dir.path().join("letter.dcm"));
    let server = Server::start(&data);
    let answer = send_as_is(&server, &file);
    assert_eq!(answer["status"], 0, "{answer}");
    let uid = "1.2.826.0.1.3680043.10.1431.ABC.7";
    let out = dcmtk(
        "findscu",
        &[
            "-S",
            "-aec",
            "LIGHTBOX",
            "-k",
            "QueryRetrieveLevel=IMAGE",
            "-k",
            "StudyInstanceUID",
            "-k",
            "SeriesInstanceUID",
            "-k",
            &format!("SOPInstanceUID={uid}"),
            "127.0.0.1",
            &server.port(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(uid), "{text}");
    // Import takes it too (its file meta group carries the same UID).
    let imported = lightbox(
        &dir.path().join("other"),
        &["import", file.to_str().unwrap()],
    );
    assert!(
        String::from_utf8_lossy(&imported.stdout).contains("imported 1"),
        "{}",
        String::from_utf8_lossy(&imported.stdout)
    );
}

#[test]
fn explicit_vr_is_chosen_over_implicit_when_a_peer_proposes_both() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/wild_files.py");
    let negotiate = |syntaxes: &[&str]| -> serde_json::Value {
        let out = Command::new(python())
            .arg(&script)
            .args(["negotiate", "127.0.0.1", &server.port(), "LIGHTBOX"])
            .args(syntaxes)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!("{}", String::from_utf8_lossy(&out.stderr));
        })
    };
    let (implicit, explicit, jpeg_ls) = (
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.4.80",
    );
    // pynetdicom's default order proposes Implicit first.
    assert_eq!(negotiate(&[implicit, explicit])["accepted"][0], explicit);
    assert_eq!(negotiate(&[implicit])["accepted"][0], implicit);
    // A compressed syntax proposed first is still taken as proposed.
    assert_eq!(
        negotiate(&[jpeg_ls, implicit, explicit])["accepted"][0],
        jpeg_ls
    );
}

#[test]
fn render_reads_a_malformed_number_of_frames_as_absent_as_dcmtk_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = wild("bad_frames", "CT_small.dcm", &dir.path().join("frames.dcm"));
    let ours = render(dir.path(), &file, &dir.path().join("ours.png"));
    let theirs = dir.path().join("dcmtk.png");
    let result = dcmtk(
        "dcmj2pnm",
        &[
            "+on",
            "+Wm",
            file.to_str().unwrap(),
            theirs.to_str().unwrap(),
        ],
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let theirs = read_png(&theirs);
    assert_eq!((ours.0, ours.1), (theirs.0, theirs.1));
    let worst = ours
        .2
        .iter()
        .zip(&theirs.2)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap_or(255);
    assert!(worst <= 1, "differs from dcmtk by {worst} levels");
}

#[test]
fn a_known_ae_title_from_another_host_gets_no_patient_data_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // FINDSCU is a node — on 10.0.0.7, not on this machine.
    let out = lightbox(
        &data,
        &[
            "nodes", "add", "--name", "viewer", "--ae", "FINDSCU", "--host", "10.0.0.7", "--port",
            "104",
        ],
    );
    assert!(out.status.success());
    let imported = lightbox(
        &data,
        &[
            "import",
            corpus_dicom().join("CT_small.dcm").to_str().unwrap(),
        ],
    );
    assert!(imported.status.success());
    let server = Server::start_untrusted(&data);
    let found = dcmtk(
        "findscu",
        &[
            "-S",
            "-aet",
            "FINDSCU",
            "-aec",
            "LIGHTBOX",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "PatientName",
            "-k",
            "PatientBirthDate",
            "-k",
            "StudyInstanceUID",
            "127.0.0.1",
            &server.port(),
        ],
    );
    let text = String::from_utf8_lossy(&found.stderr);
    assert!(!text.contains("PatientName"), "answers were given: {text}");
    let store = common::store(&data);
    let audit = store
        .search_audit(
            &AuditFilter {
                action: "dicom.wrong_host".into(),
                ..AuditFilter::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(audit[0].origin.starts_with("127.0.0.1:"), "{audit:?}");
    assert!(audit[0].detail.contains("viewer"), "{audit:?}");
    // From its own host (here: configured as 127.0.0.1) the same title gets its answers.
    let out = lightbox(
        &data,
        &[
            "nodes",
            "add",
            "--name",
            "viewer",
            "--ae",
            "FINDSCU",
            "--host",
            "127.0.0.1",
            "--port",
            "104",
        ],
    );
    assert!(out.status.success());
    let found = dcmtk(
        "findscu",
        &[
            "-S",
            "-aet",
            "FINDSCU",
            "-aec",
            "LIGHTBOX",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "PatientName",
            "127.0.0.1",
            &server.port(),
        ],
    );
    let text = String::from_utf8_lossy(&found.stderr);
    assert!(text.contains("PatientName"), "{text}");
}

#[test]
fn a_retrieve_without_a_unique_key_is_refused_not_the_whole_archive() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for f in ["CT_small.dcm", "MR_small.dcm"] {
        let imported = lightbox(&data, &["import", corpus_dicom().join(f).to_str().unwrap()]);
        assert!(imported.status.success());
    }
    let server = Server::start(&data);
    let got = dir.path().join("got");
    std::fs::create_dir_all(&got).unwrap();
    let out = dcmtk(
        "getscu",
        &[
            "-S",
            "-aec",
            "LIGHTBOX",
            "-od",
            got.to_str().unwrap(),
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "StudyInstanceUID=",
            "127.0.0.1",
            &server.port(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        std::fs::read_dir(&got).unwrap().count(),
        0,
        "an empty key retrieved images: {text}"
    );
    assert!(
        text.contains("DataSetDoesNotMatchSOPClass") || text.contains("a900"),
        "{text}"
    );
    // A wildcard is no unique key either; the real UID is.
    let study = dicom_object::open_file(corpus_dicom().join("CT_small.dcm"))
        .unwrap()
        .element(dicom_dictionary_std::tags::STUDY_INSTANCE_UID)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches('\0')
        .to_string();
    for (key, expected) in [("1.3.6*", 0), (study.as_str(), 1)] {
        let out = dcmtk(
            "getscu",
            &[
                "-S",
                "-aec",
                "LIGHTBOX",
                "-od",
                got.to_str().unwrap(),
                "-k",
                "QueryRetrieveLevel=STUDY",
                "-k",
                &format!("StudyInstanceUID={key}"),
                "127.0.0.1",
                &server.port(),
            ],
        );
        assert_eq!(
            std::fs::read_dir(&got).unwrap().count(),
            expected,
            "{key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
