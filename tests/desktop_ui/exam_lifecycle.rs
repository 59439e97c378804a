//! Whole exams through the window: a walk-in from the technologist to the signed report and its
//! ORU, and registration to a delivered ORU with pynetdicom's MPPS and dcmtk's images.

use super::*;

#[test]
fn a_technologist_runs_a_walk_in_and_the_radiologist_signs_it_and_the_oru_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(app(dir.path()));
    first_run(&mut harness);
    let admin = harness.state().actor().unwrap().clone();
    let mut store = crate::common::store(dir.path());
    for (login, role) in [
        ("tina", lightbox::access::Role::Technologist),
        ("drjones", lightbox::access::Role::Radiologist),
    ] {
        lightbox::access::create_user(&store, &admin, login, login, role, "long enough password")
            .unwrap();
    }
    lightbox::hl7::outbound::add_destination(
        &store,
        &admin,
        &lightbox_store::hl7::Destination {
            name: "EHR".into(),
            host: "127.0.0.1".into(),
            port: 2599,
            version: "2.5.1".into(),
            events: "oru".into(),
            report_text: "tx".into(),
            ack_timeout_secs: 5,
            enabled: true,
            ..Default::default()
        },
    )
    .unwrap();
    let patient = lightbox::his::register(
        &mut store,
        &admin,
        &lightbox::his::Registration {
            patient: lightbox_store::his::PatientRecord {
                family_name: "DOE".into(),
                given_name: "JANE".into(),
                birth_date: "1970-03-15".into(),
                ..Default::default()
            },
            identifiers: vec![],
            confirmed_new: true,
        },
    )
    .unwrap();
    let placed = lightbox::ris::place_order(
        &mut store,
        &admin,
        &lightbox::ris::OrderRequest {
            patient: Some(patient.id),
            placer_number: String::new(),
            placer_app: String::new(),
            procedure_code: "71046".into(),
            priority: lightbox::ris::Priority::Stat,
            reason: "Cough".into(),
            icd10: vec!["R05".into()],
            referring: None,
            insurance: None,
            authorisation: String::new(),
            requested_time: None,
            supplied: None,
        },
        test_now(),
    )
    .unwrap();
    let accession = placed.order.accession.clone();
    // The technologist starts on Today and takes the exam through by hand.
    sign_in_as(&mut harness, "tina", "long enough password");
    assert_eq!(harness.state().screen(), Screen::Today);
    assert!(
        harness.query_by_label("Orders").is_none(),
        "not a technologist's screen"
    );
    assert_eq!(
        harness.state().today().listed(),
        vec![(accession.clone(), "scheduled".to_string(), 0)]
    );
    // The exam is a row naming the patient; its steps are in the toolbar above the table.
    assert!(harness.query_by_label("DOE, JANE").is_some());
    click(&mut harness, &accession);
    for step in ["Arrived", "Start", "Complete"] {
        click(&mut harness, step);
        if step == "Complete" {
            // No image arrived (no scanner here): the technologist is asked first.
            assert!(harness.query_by_label("Complete with no images?").is_some());
            assert_eq!(
                store
                    .order_by_accession(&accession)
                    .unwrap()
                    .unwrap()
                    .status,
                "in_progress"
            );
            click(&mut harness, "Complete anyway");
        }
    }
    assert_eq!(
        store
            .order_by_accession(&accession)
            .unwrap()
            .unwrap()
            .status,
        "completed"
    );
    // The radiologist starts on the reading worklist, claims, writes and signs.
    sign_in_as(&mut harness, "drjones", "long enough password");
    assert_eq!(harness.state().screen(), Screen::Reading);
    assert!(harness.query_by_label("STAT").is_some());
    // The row names the patient (two identifiers) and the procedure, not only codes.
    assert!(harness.query_by_label("DOE, JANE").is_some());
    assert!(harness.query_by_label_contains("1970-03-15 (").is_some());
    click(&mut harness, &accession);
    // A message appearing does not move the rows: the accession's cell stays where it was.
    let row_before = harness.get_by_label(&accession).rect();
    click(&mut harness, "Claim");
    assert!(harness.query_by_label_contains("is yours").is_some());
    let row_after = harness.get_by_label(&accession).rect();
    assert_eq!(row_before, row_after, "the row moved under the mouse");
    click(&mut harness, "Open report");
    // The editor is docked beside the worklist, never over it, under the patient's banner.
    let editor = harness.get_by_label("Report text").rect();
    let row = harness.get_by_label(&accession).rect();
    assert!(
        !editor.intersects(row),
        "editor {editor:?} overlaps the worklist row {row:?}"
    );
    assert!(harness.query_by_label_contains("MRN ").is_some());
    // The template came with the indication and the comparison filled in.
    let draft = harness.state().reading().editor_text().unwrap().to_string();
    assert!(draft.contains("Cough (R05)"), "{draft}");
    assert!(draft.contains("COMPARISON: None."), "{draft}");
    let started = store.reports_of_order(placed.order.id).unwrap().remove(0);
    assert!(
        started.body.contains("VIEWS:"),
        "started from the DX template"
    );
    assert!(harness.query_by_label_contains("open.").is_some());
    type_into(
        &mut harness,
        "Report text",
        "\nNo acute cardiopulmonary process.",
    );
    // A critical result: who was told, how and when, kept with the report (Zoë: not ASCII).
    harness.get_by_label("Critical result").click();
    settle(&mut harness);
    type_into(&mut harness, "Told", "Dr Zoë Hart (referrer)");
    click(&mut harness, "Record who was told");
    assert!(
        harness
            .query_by_label_contains("Told Dr Zoë Hart (referrer) by phone on")
            .is_some()
    );
    click(&mut harness, "Sign final");
    // Nothing is signed until the radiologist confirms, and the dialog says whose report.
    assert_eq!(
        store
            .order_by_accession(&accession)
            .unwrap()
            .unwrap()
            .status,
        "completed"
    );
    assert!(harness.query_by_label("Sign the final report?").is_some());
    assert!(harness.query_by_label_contains("DOE, JANE — ").is_some());
    click(&mut harness, "Sign final now");
    assert!(harness.query_by_label_contains("signed final").is_some());
    // The signature names the radiologist and the local time, not a bare login and UTC.
    assert!(
        harness
            .query_by_label_contains("Signed by drjones (drjones) on")
            .is_some()
    );
    // One audit entry for opening the worklist, however often it was read again since.
    let reads = store
        .search_audit(
            &lightbox_store::administration::AuditFilter {
                actor: "drjones".into(),
                action: "reading_worklist.read".into(),
                ..Default::default()
            },
            50,
        )
        .unwrap();
    assert_eq!(reads.len(), 1, "{reads:?}");
    let order = store.order_by_accession(&accession).unwrap().unwrap();
    assert_eq!(order.status, "final");
    let report = store.reports_of_order(order.id).unwrap().remove(0);
    assert_eq!(report.signer, "drjones");
    assert!(report.body.contains("No acute cardiopulmonary process."));
    // The signed report prints under the practice's letterhead (read back by poppler).
    unsafe { std::env::set_var("LIGHTBOX_NO_OPEN", "1") };
    click(&mut harness, "Print report");
    let pdf = dir
        .path()
        .join("exports")
        .join(format!("report-{accession}.pdf"));
    let text = std::process::Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for expected in [
        "Springfield Imaging",
        "Radiology report",
        "DOE, JANE",
        "No acute cardiopulmonary process.",
        "Final report signed by drjones",
        "Critical result communicated",
        "Told Dr Zoë Hart (referrer) by phone",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(!text.contains("DRAFT"));
    // The ORU for the EHR is built and queued.
    lightbox::hl7::outbound::produce(&store, test_now()).unwrap();
    let queued = store
        .outbound_queue(store.destinations().unwrap()[0].id)
        .unwrap();
    assert_eq!(queued.len(), 1);
    assert!(
        queued[0]
            .message
            .contains("No acute cardiopulmonary process.")
    );
    // The completed exam made a charge: the administrator reviews, bills and exports it.
    sign_in_as(&mut harness, "admin", "correct horse battery");
    click(&mut harness, "Billing");
    assert_eq!(harness.state().billing().charges().len(), 1);
    assert_eq!(harness.state().billing().charges()[0].cpt, "71046");
    // The coder corrects the diagnosis: a malformed code is refused, a good one kept.
    // One row per charge naming the patient; the selected charge's codes in the side panel.
    click(&mut harness, &accession);
    replace_text(&mut harness, "ICD-10", "R05.1, cough");
    click(&mut harness, "Save codes");
    assert!(
        harness
            .query_by_label_contains("is not an ICD-10 code")
            .is_some()
    );
    replace_text(&mut harness, "ICD-10", "R05.1");
    click(&mut harness, "Save codes");
    assert_eq!(store.charges(Some("pending")).unwrap()[0].icd10, "R05.1");
    type_into(&mut harness, "Modifiers", "26");
    click(&mut harness, "Review");
    click(&mut harness, "reviewed");
    click(&mut harness, "Mark billed");
    click(&mut harness, "billed");
    assert_eq!(harness.state().billing().charges().len(), 1);
    click(&mut harness, "Export CSV");
    let exported: Vec<_> = std::fs::read_dir(dir.path().join("exports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    assert_eq!(exported.len(), 1);
    assert!(
        std::fs::read_to_string(&exported[0])
            .unwrap()
            .contains(&accession)
    );
}

#[test]
fn an_exam_goes_from_registration_to_a_delivered_oru_with_pynetdicom_mpps_and_dcmtk_images() {
    unsafe { std::env::set_var("LIGHTBOX_NO_OPEN", "1") };
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    // The EHR: python hl7's parser behind an MLLP receiver that answers AA.
    let port_file = dir.path().join("ehr.port");
    let ehr_log = dir.path().join("ehr.jsonl");
    let ehr = std::process::Command::new(common::python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/hl7_receiver.py"))
        .arg("--port-file")
        .arg(&port_file)
        .arg("--log")
        .arg(&ehr_log)
        .spawn()
        .unwrap();
    let _ehr = KillOnDrop(ehr);
    // The services in this process, as the desktop runs them.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (sender, receiver) = events::channel(1024, None);
    let services = runtime
        .block_on(lightbox::app::start_services(
            &data,
            &lightbox::app::ServeOptions {
                dicom_port: Some(0),
                clock: lightbox::clock::Clock::starting_at(
                    chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
                        .unwrap()
                        .and_hms_opt(8, 0, 0)
                        .unwrap(),
                ),
                ..Default::default()
            },
            sender,
        ))
        .unwrap();
    let port = services.dicom_addr.port().to_string();
    let store = {
        let s = lightbox_store::Store::open(&data.database()).unwrap();
        lightbox::ris::seed_starter_data(&s).unwrap();
        s
    };
    lightbox::ris::seed_starter_data(&store).unwrap();
    let mut app = LightboxApp::new(Practice::over(store), receiver, "test".into())
        .unwrap()
        .with_services(window_services(data.root(), &services.archive.ingest));
    let wednesday = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    app.set_clock(wednesday.and_hms_opt(8, 0, 0).unwrap());
    let mut harness = harness(app);
    first_run(&mut harness);
    let admin = harness.state().actor().unwrap().clone();
    let store = crate::common::store(dir.path());
    for (login, role) in [
        ("fd", lightbox::access::Role::FrontDesk),
        ("tina", lightbox::access::Role::Technologist),
        ("drjones", lightbox::access::Role::Radiologist),
    ] {
        lightbox::access::create_user(&store, &admin, login, login, role, "long enough password")
            .unwrap();
    }
    // The administrator adds the EHR in Settings.
    let ehr_port = {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Ok(p) = std::fs::read_to_string(&port_file)
                && let Ok(p) = p.trim().parse::<u16>()
            {
                break p;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the EHR receiver did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    click(&mut harness, "Settings");
    click(&mut harness, "HL7 destinations");
    type_into(&mut harness, "Destination name", "EHR");
    type_into(&mut harness, "Destination host", "127.0.0.1");
    type_into(&mut harness, "Destination port", &ehr_port.to_string());
    click(&mut harness, "Add destination");
    // … and the scanner (pynetdicom calls as PYPEER, dcmtk's storescu as STORESCU).
    click(&mut harness, "DICOM nodes");
    for (name, ae) in [("CT scanner", "PYPEER"), ("CT sender", "STORESCU")] {
        type_into(&mut harness, "Node name", name);
        type_into(&mut harness, "Node AE title", ae);
        type_into(&mut harness, "Node host", "127.0.0.1");
        type_into(&mut harness, "Node port", "104");
        click(&mut harness, "Save node");
    }
    assert_eq!(store.nodes().unwrap().len(), 2);

    // Front desk: register, order, and the booking shows on the schedule; check in.
    sign_in_as(&mut harness, "fd", "long enough password");
    click(&mut harness, "Register patient");
    type_into(&mut harness, "Family name", "Rivera");
    type_into(&mut harness, "Given name", "Roberto");
    type_into(&mut harness, "Birth date", "1958-11-02");
    click(&mut harness, "Save patient");
    let patient = store.search_patients("RIVERA", 5).unwrap().remove(0);
    click(&mut harness, "Orders");
    type_into(&mut harness, "Patient MRN", &patient.mrn);
    type_into(&mut harness, "Procedure", "CT head");
    click(&mut harness, "70450 CT head without contrast (CT)");
    type_into(&mut harness, "Requested time", "2026-12-02 09:00");
    click(&mut harness, "Place order");
    let order = store.orders_of_patient(patient.id).unwrap().remove(0);
    let accession = order.accession.clone();
    let step = store.step_of_order(order.id).unwrap();
    assert_eq!(step.start_time, "2026-12-02T09:00");
    click(&mut harness, "Schedule");
    harness
        .get_by_label_contains(&format!("RIVERA, ROBERTO\n{accession}"))
        .click();
    harness.run();
    click(&mut harness, "Check in");
    // Booked for today (the window's clock): no question asked.
    assert!(harness.query_by_label("Check in on another day?").is_none());
    assert_eq!(
        store
            .order_by_accession(&accession)
            .unwrap()
            .unwrap()
            .status,
        "arrived"
    );

    // The scanner (pynetdicom) finds it on its worklist and reports MPPS IN PROGRESS.
    sign_in_as(&mut harness, "tina", "long enough password");
    let found = common::peer(&[
        "mwl",
        "127.0.0.1",
        &port,
        "LIGHTBOX",
        "CT1",
        "20261202",
        "",
        "ISO_IR 100",
    ]);
    assert!(
        found["accessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == &accession),
        "{found}"
    );
    let mpps_uid = format!("{}.99", lightbox::ris::new_uid());
    let created = common::peer(&[
        "mpps",
        "127.0.0.1",
        &port,
        "LIGHTBOX",
        "create",
        &mpps_uid,
        &step.study_uid,
        &accession,
    ]);
    assert_eq!(created["status"], 0, "{created}");
    // The technologist's screen follows without a refresh button.
    std::thread::sleep(std::time::Duration::from_millis(50));
    harness.run();
    assert_eq!(
        harness.state().today().listed(),
        vec![(accession.clone(), "in_progress".to_string(), 0)]
    );
    let done = common::peer(&[
        "mpps",
        "127.0.0.1",
        &port,
        "LIGHTBOX",
        "set",
        &mpps_uid,
        "COMPLETED",
    ]);
    assert_eq!(done["status"], 0, "{done}");
    // dcmtk storescu sends the images.
    let images = dir.path().join("scanner");
    std::fs::create_dir_all(&images).unwrap();
    let mut series = lightbox::pacs::synthetic::SyntheticSeries::new(4242, 64);
    series.patient_id = patient.mrn.clone();
    series.patient_name = "RIVERA^ROBERTO".into();
    series.study_uid = step.study_uid.clone();
    series.accession = accession.clone();
    let mut files = Vec::new();
    for i in 0..5 {
        let f = images.join(format!("CT{i}"));
        series.slice(i).unwrap().write_to_file(&f).unwrap();
        files.push(f.to_string_lossy().into_owned());
    }
    let mut args = vec!["-aec", "LIGHTBOX", "127.0.0.1", port.as_str()];
    args.extend(files.iter().map(String::as_str));
    let sent = common::dcmtk("storescu", &args);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    step_until(&mut harness, "the images on the Today screen", |app| {
        app.today().listed() == vec![(accession.clone(), "completed".to_string(), 5)]
    });

    // The radiologist: worklist, viewer, report.
    sign_in_as(&mut harness, "drjones", "long enough password");
    assert!(
        harness
            .state()
            .reading()
            .rows()
            .iter()
            .any(|r| r.accession == accession)
    );
    click(&mut harness, &accession);
    click(&mut harness, "Images");
    step_until(&mut harness, "the image", |app| {
        app.viewer().shown_size().is_some()
    });
    assert_eq!(harness.state_mut().viewer().series()[0].images.len(), 5);
    // The tag browser shows the image's attributes as the scanner sent them.
    click(&mut harness, "Tags");
    assert!(harness.query_by_label("AccessionNumber").is_some());
    assert!(harness.query_by_label(&accession).is_some());
    click(&mut harness, "Tags");
    assert!(harness.query_by_label("AccessionNumber").is_none());
    // A key image and a measurement go into the exam's report.
    click(&mut harness, "Key image");
    assert_eq!(harness.state_mut().viewer().key_images().len(), 1);
    click(&mut harness, "Length");
    drag_on_image(&mut harness, (10.0, 32.0), (30.0, 32.0));
    // The marks go into the archive as DICOM other viewers read (checked by dcmtk), with the
    // window the radiologist read in (a brain preset).
    click(&mut harness, "Window preset");
    click(&mut harness, "Brain (80/40)");
    click(&mut harness, "Save marks to archive");
    assert!(
        harness
            .query_by_label_contains("1 key image document, 1 presentation state.")
            .is_some()
    );
    let rows = store
        .query_index(
            lightbox_store::index::Level::Image,
            &[lightbox_store::index::Condition {
                column: lightbox_store::index::Column::StudyUid,
                matcher: lightbox_store::index::Matcher::Exact(step.study_uid.clone()),
            }],
            100,
        )
        .unwrap();
    let file_of = |class: &str| {
        let row = rows.iter().find(|r| r.sop_class == class).expect(class);
        dir.path().join("archive").join(&row.file_path)
    };
    let kos = common::dcmtk(
        "dsrdump",
        &[file_of(lightbox::pacs::presentation::KEY_OBJECT_SELECTION)
            .to_str()
            .unwrap()],
    );
    let kos_text = String::from_utf8_lossy(&kos.stdout);
    assert!(
        kos.status.success(),
        "{kos_text}{}",
        String::from_utf8_lossy(&kos.stderr)
    );
    assert!(
        kos_text.contains("Key Object Selection Document"),
        "{kos_text}"
    );
    assert!(kos_text.contains("Of Interest"), "{kos_text}");
    let pr = common::dcmtk(
        "dcmpschk",
        &[
            file_of(lightbox::pacs::presentation::GRAYSCALE_PRESENTATION_STATE)
                .to_str()
                .unwrap(),
        ],
    );
    let pr_text = format!(
        "{}{}",
        String::from_utf8_lossy(&pr.stdout),
        String::from_utf8_lossy(&pr.stderr)
    );
    assert!(pr_text.contains("Test passed"), "{pr_text}");
    let dump = common::dcmtk(
        "dcmdump",
        &[
            file_of(lightbox::pacs::presentation::GRAYSCALE_PRESENTATION_STATE)
                .to_str()
                .unwrap(),
        ],
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("(0028,1050) DS [40.0]"), "{dump}");
    assert!(dump.contains("(0028,1051) DS [80.0]"), "{dump}");
    assert!(dump.contains("(0070,0022) FL"), "graphic data: {dump}");
    assert!(!pr_text.contains("Error"), "{pr_text}");
    click(&mut harness, "Insert into report");
    assert!(
        harness
            .query_by_label_contains("Added to the draft report of")
            .is_some()
    );
    click(&mut harness, "Reading");
    // The images stay docked in the reading room; the worklist comes back beside them.
    click(&mut harness, "Worklist");
    click(&mut harness, &accession);
    click(&mut harness, "Claim");
    click(&mut harness, "Open report");
    type_into(
        &mut harness,
        "Report text",
        "\nNo acute intracranial abnormality.",
    );
    assert!(
        harness
            .state()
            .reading()
            .editor_text()
            .unwrap()
            .contains("KEY IMAGES: series 1 image 1."),
        "{:?}",
        harness.state().reading().editor_text()
    );
    click(&mut harness, "Sign final");
    click(&mut harness, "Sign final now");
    assert_eq!(
        store
            .order_by_accession(&accession)
            .unwrap()
            .unwrap()
            .status,
        "final"
    );

    // The administrator sees the ORU leave, acknowledged by the EHR.
    sign_in_as(&mut harness, "admin", "correct horse battery");
    click(&mut harness, "Integration");
    step_until(&mut harness, "the ORU delivered", |app| {
        app.integration_delivered() > 0
    });
    harness.run();
    assert!(harness.query_by_label_contains("ORU^R01").is_some());
    assert!(
        harness
            .query_by_label_contains("delivered, ACK AA")
            .is_some()
    );
    let received = std::fs::read_to_string(&ehr_log).unwrap();
    assert!(received.contains(&accession), "{received}");
    assert!(
        received.contains("No acute intracranial abnormality."),
        "{received}"
    );
    assert!(
        received.contains("MEASUREMENTS (image 1): 10.0 mm (Pixel Spacing)"),
        "{received}"
    );
    let associations = harness.state_mut().studies().associations().len();
    assert!(
        associations >= 3,
        "worklist, MPPS and storescu associations shown: {associations}"
    );
    services.stop();
}

/// A peer process stopped however the test ends.
pub(super) struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
