//! Into the server's archive from a workstation: an imported CD, saved marks, priors from
//! another site.

use super::*;

/// The server's index rows of study `study_uid` (its own database, read as the server's
/// files are: what a workstation sent is really there).
fn server_instances(data: &Path, study_uid: &str) -> Vec<lightbox_store::index::IndexRow> {
    common::store(data)
        .query_index(
            lightbox_store::index::Level::Image,
            &[lightbox_store::index::Condition {
                column: lightbox_store::index::Column::StudyUid,
                matcher: lightbox_store::index::Matcher::Exact(study_uid.into()),
            }],
            1000,
        )
        .unwrap()
}

/// How many `.dcm` files are under `folder` (a workstation's cache of one study).
fn dicom_files_under(folder: &Path) -> usize {
    std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .map(|p| {
                    if p.is_dir() {
                        dicom_files_under(&p)
                    } else {
                        usize::from(p.extension().is_some_and(|x| x == "dcm"))
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Imports `folder` from the workstation's viewer menu (typed path) and waits for the end.
fn import_from_viewer(harness: &mut Harness<'_, LightboxApp>, folder: &Path) {
    harness.get_by_label_contains("Import images").click();
    settle(harness);
    type_into(harness, "or path", folder.to_str().unwrap());
    click(harness, "Import");
    frames_until(harness, Duration::from_secs(60), "the import", |h| {
        !h.state_mut().viewer().importing()
    });
}

#[test]
fn a_workstation_imports_a_cd_into_the_server_s_archive_and_saves_the_radiologist_s_marks_there() {
    let dir = tempfile::tempdir().unwrap();
    practice_with_orders(dir.path(), 0);
    common::add_user(
        dir.path(),
        "rad",
        "Rita Radiologist",
        Role::Radiologist,
        PASSWORD,
    );
    let server = Server::start_at(dir.path(), CLOCK);

    // A CD: six slices of an outside CT (an accented name), one of them twice, a slice too
    // large to read whole (sent as it is on disk, a piece at a time; a Greek name), and a text
    // file.
    let cd = dir.path().join("cd");
    std::fs::create_dir_all(&cd).unwrap();
    let mut outside = lightbox::pacs::synthetic::SyntheticSeries::new(9, 64);
    outside.patient_name = "NÚÑEZ^ZOË Ñandú".into();
    for i in 0..6 {
        outside
            .slice(i)
            .unwrap()
            .write_to_file(cd.join(format!("IM{i:03}")))
            .unwrap();
    }
    std::fs::copy(cd.join("IM000"), cd.join("IM000-again")).unwrap();
    let mut large = lightbox::pacs::synthetic::SyntheticSeries::new(10, 1100);
    large.patient_name = "ΠΑΠΑΔΟΠΟΥΛΟΣ^ΓΙΏΡΓΟΣ".into();
    large
        .slice(0)
        .unwrap()
        .write_to_file(cd.join("LARGE"))
        .unwrap();
    assert!(std::fs::metadata(cd.join("LARGE")).unwrap().len() > 2 << 20);
    std::fs::write(cd.join("README.TXT"), "not DICOM").unwrap();

    let link = paired_link(&server, "Reading room");
    let folder = dir.path().join("ws");
    let mut ws = workstation(link.clone(), &folder);
    sign_in(&mut ws, "rad", PASSWORD);
    click(&mut ws, "Viewer");
    import_from_viewer(&mut ws, &cd);
    assert!(
        ws.query_by_label_contains(
            "Import finished: 7 new, 1 already archived, 0 kept as archived (different content), 1 refused."
        )
        .is_some(),
        "the import's summary"
    );
    assert!(
        ws.query_by_label_contains("README.TXT — not a DICOM file")
            .is_some()
    );
    click(&mut ws, "Dismiss");
    // On the server, every byte of it: the pixels as the CD had them, the names intact.
    let rows = server_instances(&server.data, &outside.study_uid);
    assert_eq!(rows.len(), 6);
    assert!(
        rows.iter().all(|r| r.patient_name == "NÚÑEZ^ZOË Ñandú"),
        "{:?}",
        rows[0].patient_name
    );
    let stored = server.data.join("archive").join(&rows[0].file_path);
    let original = cd.join(format!(
        "IM{:03}",
        rows[0].instance_number.trim().parse::<u32>().unwrap() - 1
    ));
    assert_eq!(stored_values(&stored), stored_values(&original));
    let large_rows = server_instances(&server.data, &large.study_uid);
    assert_eq!(large_rows.len(), 1);
    assert_eq!(large_rows[0].patient_name, "ΠΑΠΑΔΟΠΟΥΛΟΣ^ΓΙΏΡΓΟΣ");

    // The same slice under another study: the server refuses it, and the window says why
    // in the server's words.
    let cd2 = dir.path().join("cd2");
    std::fs::create_dir_all(&cd2).unwrap();
    let mut moved = outside.clone();
    moved.study_uid = format!("{}.99", outside.study_uid);
    moved
        .slice(0)
        .unwrap()
        .write_to_file(cd2.join("ELSEWHERE"))
        .unwrap();
    import_from_viewer(&mut ws, &cd2);
    assert!(
        ws.query_by_label_contains(
            "0 new, 0 already archived, 0 kept as archived (different content), 1 refused."
        )
        .is_some()
    );
    assert!(
        ws.query_by_label_contains("the practice server refused it: SOP instance")
            .is_some(),
        "the server's reason is shown"
    );
    click(&mut ws, "Dismiss");
    assert!(server_instances(&server.data, &moved.study_uid).is_empty());

    // The radiologist marks a key image on the workstation and saves the marks: the server
    // makes the Key Object Selection and archives it with the study.
    let practice = Practice::remote(link, &folder).unwrap();
    ws.state_mut().viewer().open(&practice, &outside.study_uid);
    frames_until(&mut ws, Duration::from_secs(30), "the first image", |h| {
        h.state_mut().viewer().shown_size().is_some()
    });
    click(&mut ws, "Key image");
    click(&mut ws, "Save marks to archive");
    assert!(
        ws.query_by_label_contains(
            "Archived with the study: 1 key image document, 0 presentation states."
        )
        .is_some()
    );
    let rows = server_instances(&server.data, &outside.study_uid);
    assert_eq!(rows.len(), 7);
    // A second workstation's Studies screen, open all along, counts the new series without
    // a click (each batch of arriving images is a change on the event stream, not only a
    // study's first).
    let other_link = paired_link(&server, "Front desk");
    let mut desk = workstation(other_link.clone(), &dir.path().join("ws-desk"));
    common::add_user(
        dir.path(),
        "rad2",
        "Rémy Radiologist",
        Role::Radiologist,
        PASSWORD,
    );
    sign_in(&mut desk, "rad2", PASSWORD);
    click(&mut desk, "Studies");
    let series_of = |h: &mut Harness<'_, LightboxApp>| {
        h.state_mut()
            .studies()
            .studies()
            .iter()
            .find(|r| r.study_uid == outside.study_uid)
            .map(|r| r.related_series)
    };
    assert_eq!(
        series_of(&mut desk),
        Some(2),
        "the CT and the key image document"
    );
    click(&mut ws, "Save marks to archive");
    frames_until(
        &mut desk,
        Duration::from_secs(10),
        "the new series listed",
        |h| series_of(h) == Some(3),
    );
    // Regression: the study opens on the other workstation, key image documents and all (they
    // have no pixels to send compressed: the server used to stop the study mid-way).
    let desk_practice = Practice::remote(other_link, &dir.path().join("ws-desk")).unwrap();
    click(&mut desk, "Viewer");
    desk.state_mut()
        .viewer()
        .open(&desk_practice, &outside.study_uid);
    frames_until(
        &mut desk,
        Duration::from_secs(30),
        "the study shown on the other workstation",
        |h| h.state_mut().viewer().shown_size() == Some([64, 64]),
    );
    let cached = dir
        .path()
        .join("ws-desk")
        .join("archive")
        .join(&outside.study_uid);
    frames_until(
        &mut desk,
        Duration::from_secs(30),
        "every instance in the other workstation's cache",
        |_| dicom_files_under(&cached) == 8,
    );
    assert!(
        rows.iter().any(|r| r.modality == "KO"),
        "{:?}",
        rows.iter().map(|r| &r.modality).collect::<Vec<_>>()
    );
}

#[test]
fn a_workstation_asks_the_server_to_fetch_an_exam_s_priors_from_another_pacs() {
    let dir = tempfile::tempdir().unwrap();
    // Another site's PACS (pynetdicom) holds an older CT of the patient.
    let (qr, outside_id, prior_study) = common::pacs_with_a_prior(dir.path());
    let mut store = common::store(dir.path());
    lightbox::ris::seed_starter_data(&store).unwrap();
    common::add_user(
        dir.path(),
        "rad",
        "Rita Radiologist",
        Role::Radiologist,
        PASSWORD,
    );
    let actor = Actor::system();
    let patient = common::patient_with_priors_elsewhere(
        &mut store,
        &actor,
        ("ÅSTRÖM", "BJÖRN"),
        &outside_id,
        qr.port,
    );
    let accession = place_order(&mut store, &actor, patient.id);
    drop(store);
    let server = Server::start_at(dir.path(), CLOCK);

    let link = paired_link(&server, "Reading room");
    let services = WorkstationServices::new(link.clone(), Err("not in this test".into()));
    // Before anyone signs in, the server is not asked.
    let before = lightbox::ui::WindowServices::fetch_priors(&services, &accession);
    assert_eq!(before.fetched, 0);
    assert!(before.problems[0].contains("signed in"), "{before:?}");
    let mut ws = workstation(link.clone(), &dir.path().join("ws"));
    sign_in(&mut ws, "rad", PASSWORD);
    // Signed in, the server retrieves the prior into its own archive.
    let fetched = lightbox::ui::WindowServices::fetch_priors(&services, &accession);
    assert_eq!((fetched.missing, fetched.fetched), (1, 1), "{fetched:?}");
    assert!(fetched.problems.is_empty(), "{fetched:?}");
    assert_eq!(server_instances(&server.data, &prior_study).len(), 1);
    // The workstation lists it as the exam's prior, through the server.
    let practice = Practice::remote(link, &dir.path().join("ws")).unwrap();
    let rad = ws.state().actor().unwrap().clone();
    let priors = practice.priors(&rad, &accession).unwrap();
    assert!(
        priors.iter().any(|p| p.study_uid == prior_study),
        "{priors:?}"
    );
    // Asked again: nothing is missing.
    let again = lightbox::ui::WindowServices::fetch_priors(&services, &accession);
    assert_eq!(again.missing, 0, "{again:?}");
    // An accession the server does not know: said in words.
    let unknown = lightbox::ui::WindowServices::fetch_priors(&services, "NO-SUCH-EXAM");
    assert!(
        unknown.problems[0].contains("no patient is known"),
        "{unknown:?}"
    );
}
