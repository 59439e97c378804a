//! The radiologist's workstation: the worklist's images brought ahead, others opened over
//! DICOMweb.

use super::*;

/// Stores `slices` slices of `series` on the server through dcmtk's storescu (a scanner);
/// the files as sent.
fn scanner_sends(
    server: &Server,
    series: &lightbox::pacs::synthetic::SyntheticSeries,
    slices: u32,
    folder: &Path,
) -> Vec<std::path::PathBuf> {
    std::fs::create_dir_all(folder).unwrap();
    let mut args = vec![
        "-aec".to_string(),
        "LIGHTBOX".into(),
        "127.0.0.1".into(),
        server.port(),
    ];
    let files: Vec<_> = (0..slices)
        .map(|i| {
            let path = folder.join(format!("IM{i:03}.dcm"));
            series.slice(i).unwrap().write_to_file(&path).unwrap();
            args.push(path.display().to_string());
            path
        })
        .collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(common::dcmtk("storescu", &refs).status.success());
    files
}

/// Whether every slice of `series` is in the workstation cache under `folder` and its
/// folder no longer waits for any.
fn cached_complete(
    folder: &Path,
    series: &lightbox::pacs::synthetic::SyntheticSeries,
    slices: u32,
) -> bool {
    let cache = folder
        .join("archive")
        .join(&series.study_uid)
        .join(&series.series_uid);
    !cache
        .join(lightbox::imaging::arrival::ARRIVING_MARKER)
        .exists()
        && (0..slices).all(|i| cache.join(format!("{}.dcm", series.sop_uid(i))).exists())
}

#[test]
fn the_radiologist_s_workstation_brings_the_worklist_s_images_ahead_and_opens_others_over_dicomweb()
{
    const SLICES: u32 = 40;
    let dir = tempfile::tempdir().unwrap();
    let accessions = practice_with_orders(dir.path(), 1);
    common::add_user(
        dir.path(),
        "rad",
        "Rita Radiologist",
        Role::Radiologist,
        PASSWORD,
    );
    let server = Server::start_at(dir.path(), CLOCK);
    // The exam on the worklist: scanned (its images carry the order's accession) and
    // completed by the technologist.
    let mut scanned = lightbox::pacs::synthetic::SyntheticSeries::new(7, 64);
    scanned.patient_name = "ÅSTRÖM^BJÖRN".into();
    scanned.accession = accessions[0].clone();
    {
        let mut practice = Practice::over(common::store(dir.path()));
        let admin = practice.sign_in("admin", PASSWORD, "test").unwrap();
        let room = practice.rooms(Some("MR")).unwrap()[0].id;
        practice
            .book(&admin, &accessions[0], room, test_now(), "")
            .unwrap();
        for to in [
            lightbox::ris::ExamStatus::Arrived,
            lightbox::ris::ExamStatus::InProgress,
        ] {
            practice
                .change_status(&admin, &accessions[0], to, "")
                .unwrap();
        }
        scanner_sends(&server, &scanned, SLICES, &dir.path().join("scanner-1"));
        practice
            .change_status(
                &admin,
                &accessions[0],
                lightbox::ris::ExamStatus::Completed,
                "",
            )
            .unwrap();
    }
    // An outside study nobody ordered here (no worklist entry): opened on demand.
    let mut outside = lightbox::pacs::synthetic::SyntheticSeries::new(8, 64);
    outside.patient_name = "MÜLLER^ZOË".into();
    let sent = scanner_sends(&server, &outside, SLICES, &dir.path().join("scanner-2"));

    let link = paired_link(&server, "Reading room at home");
    let folder = dir.path().join("ws-home");
    let mut home = workstation(link.clone(), &folder);
    sign_in(&mut home, "rad", PASSWORD);

    // Signed in, the worklist's study comes into the cache without being opened.
    frames_until(
        &mut home,
        Duration::from_secs(60),
        "the worklist's study brought ahead",
        |_| cached_complete(&folder, &scanned, SLICES),
    );
    assert!(
        !folder.join("archive").join(&outside.study_uid).exists(),
        "only the worklist's studies are brought ahead"
    );

    // The outside study opens from the server: the first image shows while the rest still
    // arrive.
    let practice = Practice::remote(link, &folder).unwrap();
    click(&mut home, "Viewer");
    home.state_mut()
        .viewer()
        .open(&practice, &outside.study_uid);
    frames_until(&mut home, Duration::from_secs(30), "the first image", |h| {
        h.state_mut().viewer().shown_size().is_some()
    });
    assert_eq!(home.state_mut().viewer().shown_size(), Some([64, 64]));
    assert!(
        home.state_mut().viewer().title().contains("MÜLLER"),
        "the patient is named: {}",
        home.state_mut().viewer().title()
    );
    frames_until(
        &mut home,
        Duration::from_secs(60),
        "every slice of the opened study",
        |_| cached_complete(&folder, &outside, SLICES),
    );

    // Every slice came compressed on the wire (JPEG-LS lossless) and is identical in every
    // stored value to what the scanner sent.
    for (series, files) in [(&outside, sent), (&scanned, Vec::new())] {
        let cache = folder
            .join("archive")
            .join(&series.study_uid)
            .join(&series.series_uid);
        for i in 0..SLICES {
            let cached = cache.join(format!("{}.dcm", series.sop_uid(i)));
            let syntax = dicom_object::open_file(&cached)
                .unwrap()
                .meta()
                .transfer_syntax()
                .trim_end_matches('\0')
                .to_string();
            assert_eq!(
                syntax, "1.2.840.10008.1.2.4.80",
                "slice {i} came as JPEG-LS"
            );
            if let Some(original) = files.get(i as usize) {
                assert_eq!(stored_values(&cached), stored_values(original), "slice {i}");
            }
        }
    }

    // The image on screen is the scanner's slice as its own window shows it (±1 level).
    home.state_mut().viewer().read_back();
    frames_until(
        &mut home,
        Duration::from_secs(30),
        "the shown pixels",
        |h| h.state_mut().viewer().shown_pixels().is_some(),
    );
    let shown = home.state_mut().viewer().shown_pixels().unwrap().to_vec();
    let file = lightbox::imaging::ImageFile::open(&dir.path().join("scanner-2").join("IM000.dcm"))
        .unwrap();
    let reference = lightbox::imaging::render_cpu(
        &file.frame(0).unwrap(),
        &lightbox::imaging::RenderOptions::default(),
    );
    assert_eq!(shown.len(), reference.pixels.len());
    let worst = shown
        .iter()
        .zip(&reference.pixels)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 1, "the shown slice differs by {worst} levels");
}
