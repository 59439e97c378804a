//! The desktop shell driven through its real widgets (egui_kittest): first run creates the
//! practice and its administrator, sign-in refuses a wrong password, the front desk registers a
//! patient (with the duplicate warning) and finds them by typing, and the Integration monitor
//! shows an HL7 message that arrived on another connection and resends a failed ORU — all
//! without a refresh button. Screens are checked against reference images rendered on lavapipe.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use egui_kittest::{Harness, SnapshotOptions};
use lightbox::events;
use lightbox::practice::Practice;
use lightbox::ui::{LightboxApp, Screen};
use lightbox_store::Store;

/// The tests' "now": Wednesday 2026-11-25, 08:00 (never the wall clock, never its weekday).
fn test_now() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap()
}

/// A window on a fresh store, its clock at [`test_now`].
fn app(dir: &std::path::Path) -> LightboxApp {
    let store = Store::open(&dir.join("lightbox.sqlite")).unwrap();
    lightbox::ris::seed_starter_data(&store).unwrap();
    let (_sender, receiver) = events::channel(64, None);
    let mut app = LightboxApp::new(
        Practice::over(store),
        receiver,
        "DICOM: LIGHTBOX on 0.0.0.0:11112".into(),
    )
    .unwrap();
    app.set_clock(test_now());
    app
}

/// The window's services over the archive services a test started in `dir`.
fn window_services(
    dir: &std::path::Path,
    ingest: &lightbox::archive::ingest::Ingest,
) -> std::sync::Arc<dyn lightbox::ui::WindowServices> {
    let data = lightbox::app::DataFolder::resolve(Some(dir)).unwrap();
    std::sync::Arc::new(lightbox::desktop::ServicesForWindow::new(
        &data,
        Some(ingest.clone()),
    ))
}

fn harness(app: LightboxApp) -> Harness<'static, LightboxApp> {
    Harness::builder()
        .with_size(egui::vec2(1366.0, 768.0))
        .build_ui_state(|ui, app: &mut LightboxApp| app.show(ui), app)
}

fn type_into(harness: &mut Harness<'_, LightboxApp>, label: &str, text: &str) {
    // Password boxes have their own role.
    let role = [Role::TextInput, Role::MultilineTextInput]
        .into_iter()
        .find(|r| harness.query_by_role_and_label(*r, label).is_some())
        .unwrap_or(Role::PasswordInput);
    harness.get_by_role_and_label(role, label).click();
    settle(harness);
    harness.get_by_role_and_label(role, label).type_text(text);
    settle(harness);
}

/// Empties a text field (as a user selects all and deletes), then types into it.
fn retype_into(harness: &mut Harness<'_, LightboxApp>, label: &str, text: &str) {
    harness
        .get_by_role_and_label(Role::TextInput, label)
        .click();
    settle(harness);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.key_press(egui::Key::Backspace);
    settle(harness);
    harness
        .get_by_role_and_label(Role::TextInput, label)
        .type_text(text);
    settle(harness);
}

fn click(harness: &mut Harness<'_, LightboxApp>, label: &str) {
    harness.get_by_label(label).click();
    settle(harness);
}

/// Runs frames until the window is idle. The viewer's render thread may ask for a repaint at
/// any moment (an answer arriving), which is not a runaway loop: a few more frames settle it.
fn settle(harness: &mut Harness<'_, LightboxApp>) {
    for _ in 0..5 {
        if harness.try_run().is_ok() {
            return;
        }
    }
    harness.run();
}

fn first_run(harness: &mut Harness<'_, LightboxApp>) {
    harness.run();
    assert!(harness.query_by_label("Welcome to Lightbox").is_some());
    type_into(harness, "Practice name", "Springfield Imaging");
    type_into(harness, "Full name", "Ada Admin");
    type_into(harness, "Password", "correct horse battery");
    type_into(harness, "Repeat password", "correct horse battery");
    click(harness, "Create practice");
}

#[test]
fn first_run_sign_in_and_registering_a_patient_with_the_duplicate_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(app(dir.path()));
    // A too-short password is refused in plain words.
    harness.run();
    type_into(&mut harness, "Practice name", "Springfield Imaging");
    type_into(&mut harness, "Password", "short");
    type_into(&mut harness, "Repeat password", "short");
    click(&mut harness, "Create practice");
    assert!(
        harness
            .query_by_label_contains("at least 10 characters")
            .is_some()
    );
    drop(harness);
    let mut harness = self::harness(app(dir.path()));
    first_run(&mut harness);
    assert_eq!(harness.state().actor().unwrap().login, "admin");
    assert_eq!(harness.state().screen(), Screen::Patients);
    assert!(harness.query_by_label("Springfield Imaging").is_some());

    // Register a patient.
    click(&mut harness, "Register patient");
    type_into(&mut harness, "Family name", "Rivera");
    type_into(&mut harness, "Given name", "Roberto");
    type_into(&mut harness, "Birth date", "1958-11-02");
    type_into(&mut harness, "Outside ID", "200877");
    type_into(&mut harness, "Issued by", "NORTHCLINIC");
    click(&mut harness, "Save patient");
    assert!(
        harness
            .query_by_label_contains("Registered RIVERA ROBERTO with MRN")
            .is_some()
    );
    assert_eq!(harness.state().patients().results().len(), 1);
    assert!(
        harness
            .query_by_label_contains("ID 200877 from NORTHCLINIC")
            .is_some()
    );

    // The same person again: a warning naming the existing record, nothing saved yet.
    click(&mut harness, "Register patient");
    type_into(&mut harness, "Family name", "RIVERA");
    type_into(&mut harness, "Given name", "roberto");
    type_into(&mut harness, "Birth date", "1958-11-02");
    click(&mut harness, "Save patient");
    assert!(
        harness
            .query_by_label_contains("may be a patient we already have")
            .is_some()
    );
    assert!(harness.query_by_label("Register anyway").is_some());
    let store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    assert_eq!(store.search_patients("RIVERA", 10).unwrap().len(), 1);
    // A bad birth date is explained.
    click(&mut harness, "Cancel");
    click(&mut harness, "Register patient");
    type_into(&mut harness, "Family name", "Nguyen");
    type_into(&mut harness, "Birth date", "02/11/1958");
    click(&mut harness, "Save patient");
    assert!(harness.query_by_label_contains("YYYY-MM-DD").is_some());

    // Search as you type, by outside ID.
    let search = harness.get_by_role_and_label(Role::TextInput, "Search patients");
    search.click();
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, "Search patients")
        .type_text("");
    harness.run();
    // Sign out; a wrong password is refused; the right one signs in.
    click(&mut harness, "Sign out");
    type_into(&mut harness, "Login", "admin");
    type_into(&mut harness, "Password", "wrong password!!");
    click(&mut harness, "Sign in");
    assert!(harness.query_by_label_contains("wrong password").is_some());
    assert!(harness.state().actor().is_none());
    // The password field was kept; clear it by a new form.
    drop(harness);
    let mut harness = self::harness(app(dir.path()));
    harness.run();
    type_into(&mut harness, "Login", "admin");
    type_into(&mut harness, "Password", "correct horse battery");
    click(&mut harness, "Sign in");
    assert!(harness.state().actor().is_some());
    type_into(&mut harness, "Search patients", "2008");
    assert_eq!(
        harness.state().patients().results().len(),
        1,
        "found by the outside ID"
    );
    harness.get_by_label_contains("RIVERA, ROBERTO");
}

#[test]
fn the_integration_monitor_shows_live_hl7_and_resends_a_failed_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path());
    // The monitor shows "today" (the worklist); a fixed day keeps the reference image stable.
    app.set_clock(
        chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap(),
    );
    let mut harness = harness(app);
    first_run(&mut harness);
    click(&mut harness, "Integration");
    assert!(
        harness
            .query_by_label("No messages received yet.")
            .is_some()
    );
    // A destination whose receiver refused a message: failed, with the reason and Resend.
    let mut store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    let admin = harness.state().actor().unwrap().clone();
    let destination = lightbox::hl7::outbound::add_destination(
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
    let id = store
        .enqueue_outbound(
            destination,
            "oru",
            "order:LB00000001",
            "LB000000042",
            "MSH|^~\\&|LIGHTBOX|X|EHR|Y|20261127||ORU^R01^ORU_R01|LB000000042|P|2.5.1\r",
        )
        .unwrap();
    store
        .outbound_failed(id, "AE: unknown patient", "")
        .unwrap();
    harness.run();
    assert!(
        harness
            .query_by_label_contains("0 waiting, 1 failed")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("AE: unknown patient")
            .is_some()
    );
    // The reference image before any inbound message (receipt times differ per run).
    harness.snapshot_options(
        "integration_monitor",
        &SnapshotOptions::new().max_failed_pixels(50),
    );
    // An ORM arrives on another connection (as the HL7 listener would store it).
    let orm = std::fs::read(common::corpus().join("hl7/orm_o01_new_mri.hl7")).unwrap();
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    lightbox::hl7::inbound::receive(&mut store, None, &orm, now);
    harness.run();
    assert!(
        harness.query_by_label("ORM0001").is_some(),
        "shown without a refresh"
    );
    click(&mut harness, "ORM0001");
    assert!(
        harness.query_by_label_contains("MSA|AA|ORM0001").is_some(),
        "the ACK sent"
    );
    // The parsed view numbers the fields as the standard does.
    click(&mut harness, "Parsed fields");
    assert!(harness.query_by_label("MSH-10").is_some());
    assert!(harness.query_by_label("ORC-1").is_some());
    click(&mut harness, &format!("Resend #{id}"));
    assert!(
        harness
            .query_by_label_contains("will be sent again")
            .is_some()
    );
    assert_eq!(
        store.outbound_queue(destination).unwrap()[0].status,
        "pending"
    );
}

#[test]
fn the_patients_screen_matches_its_reference_image() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(app(dir.path()));
    first_run(&mut harness);
    for (family, given, birth) in [
        ("DOE", "JANE", "1970-03-15"),
        ("RIVERA", "ROBERTO", "1958-11-02"),
        ("DOE", "JOHN", "1968-07-30"),
    ] {
        click(&mut harness, "Register patient");
        type_into(&mut harness, "Family name", family);
        type_into(&mut harness, "Given name", given);
        type_into(&mut harness, "Birth date", birth);
        click(&mut harness, "Save patient");
    }
    type_into(&mut harness, "Search patients", "");
    let search = harness.get_by_role_and_label(Role::TextInput, "Search patients");
    search.click();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, "Search patients")
        .type_text("DOE");
    harness.run();
    assert_eq!(harness.state().patients().results().len(), 2);
    harness.snapshot_options("patients", &SnapshotOptions::new().max_failed_pixels(50));
}

#[test]
fn the_front_desk_places_an_order_and_works_the_needs_review_queue() {
    let dir = tempfile::tempdir().unwrap();
    // The window's clock, not the wall clock, decides what "the past" is (regression: the
    // Orders screen booked by the computer's clock, so a requested time that had passed in
    // the real world moved to the next free slot).
    let mut harness = harness(app(dir.path()));
    first_run(&mut harness);
    let mut store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    let admin = harness.state().actor().unwrap().clone();
    let patient = lightbox::his::register(
        &mut store,
        &admin,
        &lightbox::his::Registration {
            patient: lightbox_store::his::PatientRecord {
                family_name: "DOE".into(),
                given_name: "JANE".into(),
                birth_date: "1970-03-15".into(),
                sex: "F".into(),
                ..Default::default()
            },
            identifiers: vec![],
            confirmed_new: true,
        },
    )
    .unwrap();
    click(&mut harness, "Orders");
    type_into(&mut harness, "Patient MRN", &patient.mrn);
    click(&mut harness, "Place order");
    assert!(
        harness
            .query_by_label_contains("Choose the procedure")
            .is_some()
    );
    type_into(&mut harness, "Procedure", "lumbar");
    click(&mut harness, "72148 MR lumbar spine without contrast (MR)");
    click(&mut harness, "STAT");
    type_into(&mut harness, "Reason for exam", "Back pain");
    type_into(&mut harness, "Requested time", "tomorrow");
    click(&mut harness, "Place order");
    assert!(
        harness
            .query_by_label_contains("YYYY-MM-DD HH:MM")
            .is_some()
    );
    harness
        .get_by_role_and_label(Role::TextInput, "Requested time")
        .click();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_role_and_label(Role::TextInput, "Requested time")
        .type_text("2026-11-26 09:00");
    harness.run();
    type_into(&mut harness, "Referring physician", "Hart, Linda");
    type_into(&mut harness, "Referring NPI", "1234567890");
    click(&mut harness, "Place order");
    assert!(
        harness
            .query_by_label_contains("not a valid 10-digit NPI")
            .is_some()
    );
    assert!(lightbox::his::npi_is_valid("1245319599"));
    replace_text(&mut harness, "Referring NPI", "1245319599");
    click(&mut harness, "Place order");
    assert!(
        harness
            .query_by_label_contains("placed, booked for 2026-11-26 09:00")
            .is_some(),
        "the first free MR slot at the requested time"
    );
    let placed = store.orders_of_patient(patient.id).unwrap().remove(0);
    let referring = store.referring(placed.referring.unwrap()).unwrap();
    assert_eq!(
        (referring.family_name.as_str(), referring.npi.as_str()),
        ("HART", "1245319599")
    );
    let orders = store.orders_of_patient(patient.id).unwrap();
    assert_eq!(
        (
            orders[0].procedure_code.as_str(),
            orders[0].priority.as_str()
        ),
        ("72148", "STAT")
    );
    // An HL7 order with an unknown procedure arrives: it shows in "needs review" at once.
    let orm =
        String::from_utf8(std::fs::read(common::corpus().join("hl7/orm_o01_new_mri.hl7")).unwrap())
            .unwrap()
            .replace("72148^MRI", "99999^MRI");
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    lightbox::hl7::inbound::receive(&mut store, None, orm.as_bytes(), now);
    harness.run();
    assert_eq!(harness.state().orders().needs_review().len(), 1);
    assert!(
        harness
            .query_by_label_contains("unknown procedure code 99999")
            .is_some()
    );
    let accession = harness.state().orders().needs_review()[0].accession.clone();
    click(&mut harness, &format!("Cancel {accession}"));
    assert!(
        harness
            .query_by_label("Nothing waits for review.")
            .is_some()
    );
    assert_eq!(
        store
            .order_by_accession(&accession)
            .unwrap()
            .unwrap()
            .status,
        "cancelled"
    );
}

fn sign_in_as(harness: &mut Harness<'_, LightboxApp>, login: &str, password: &str) {
    if harness.state().actor().is_some() {
        click(harness, "Sign out");
    }
    type_into(harness, "Login", login);
    type_into(harness, "Password", password);
    click(harness, "Sign in");
    assert_eq!(harness.state().actor().unwrap().login, login);
}

#[test]
fn a_technologist_runs_a_walk_in_and_the_radiologist_signs_it_and_the_oru_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(app(dir.path()));
    first_run(&mut harness);
    let admin = harness.state().actor().unwrap().clone();
    let mut store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
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
    for step in ["Arrived", "Start", "Complete"] {
        click(&mut harness, &format!("{step} {accession}"));
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
    click(&mut harness, &format!("Claim {accession}"));
    click(&mut harness, &format!("Report {accession}"));
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
    click(&mut harness, "Sign final");
    assert!(harness.query_by_label_contains("signed final").is_some());
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
    replace_text(&mut harness, &format!("ICD-10 {accession}"), "R05.1, cough");
    click(&mut harness, &format!("Save codes {accession}"));
    assert!(
        harness
            .query_by_label_contains("is not an ICD-10 code")
            .is_some()
    );
    replace_text(&mut harness, &format!("ICD-10 {accession}"), "R05.1");
    click(&mut harness, &format!("Save codes {accession}"));
    assert_eq!(store.charges(Some("pending")).unwrap()[0].icd10, "R05.1");
    type_into(&mut harness, &format!("Modifiers {accession}"), "26");
    click(&mut harness, &format!("Review {accession}"));
    click(&mut harness, "reviewed");
    click(&mut harness, &format!("Mark billed {accession}"));
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

/// Registers a patient and places `count` orders for `procedure` without a requested time
/// (so they wait for a slot); returns the accessions.
fn orders_waiting(
    store: &mut Store,
    actor: &lightbox::access::Actor,
    procedure: &str,
    count: usize,
) -> Vec<String> {
    let patient = lightbox::his::register(
        store,
        actor,
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
    (0..count)
        .map(|_| {
            lightbox::ris::place_order(
                store,
                actor,
                &lightbox::ris::OrderRequest {
                    patient: Some(patient.id),
                    placer_number: String::new(),
                    placer_app: String::new(),
                    procedure_code: procedure.into(),
                    priority: lightbox::ris::Priority::Routine,
                    reason: "Back pain".into(),
                    icd10: vec![],
                    referring: None,
                    insurance: None,
                    authorisation: String::new(),
                    requested_time: None,
                    supplied: None,
                },
                test_now(),
            )
            .unwrap()
            .order
            .accession
        })
        .collect()
}

fn start_of(store: &Store, accession: &str) -> String {
    let order = store.order_by_accession(accession).unwrap().unwrap();
    store.step_of_order(order.id).unwrap().start_time
}

#[test]
fn the_front_desk_books_moves_checks_in_and_prints_preparation_on_the_schedule() {
    // SAFETY of the test: no viewer pops up for the printed sheet.
    unsafe { std::env::set_var("LIGHTBOX_NO_OPEN", "1") };
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(app(dir.path()));
    first_run(&mut harness);
    let admin = harness.state().actor().unwrap().clone();
    let mut store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    let accessions = orders_waiting(&mut store, &admin, "72148", 2);
    click(&mut harness, "Schedule");
    let waiting = harness.state_mut().schedule().waiting();
    assert_eq!(waiting.len(), 2);
    let (room, suggested) = waiting[0].1.expect("a free MR slot within two months");
    assert_eq!(
        harness
            .query_all_by_label_contains("First free: MR")
            .count(),
        2
    );

    // Book the suggestion; the calendar shows that day.
    click(&mut harness, &format!("Book {}", accessions[0]));
    assert_eq!(
        start_of(&store, &accessions[0]),
        suggested.format("%Y-%m-%dT%H:%M").to_string()
    );
    assert!(harness.query_by_label_contains("booked in MR").is_some());
    harness
        .state_mut()
        .schedule()
        .go_to(suggested.date(), lightbox::ui::CalendarSpan::Day);
    harness.run();
    assert!(
        harness
            .state_mut()
            .schedule()
            .bookings()
            .iter()
            .any(|b| b.0 == accessions[0] && b.3 == "scheduled")
    );

    // Select it and move it with the keyboard: 15 minutes later, then back.
    harness
        .get_by_label_contains(&format!("{} · DOE, JANE", accessions[0]))
        .click();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::ArrowDown);
    harness.run();
    let later = suggested + chrono::Duration::minutes(15);
    assert_eq!(
        start_of(&store, &accessions[0]),
        later.format("%Y-%m-%dT%H:%M").to_string()
    );

    // Show only the MR room, then drag the booking to a later hour.
    click(&mut harness, "Rooms");
    click(&mut harness, "MR 1");
    let booking = harness
        .get_by_label_contains(&format!("{} · DOE, JANE", accessions[0]))
        .rect();
    let target_hour = (later.format("%H").to_string().parse::<u32>().unwrap() + 2).min(16);
    let target = harness
        .get_all_by_label(&format!("{target_hour:02}:00"))
        .map(|n| n.rect())
        .min_by(|a, b| {
            (a.center().x - booking.center().x)
                .abs()
                .total_cmp(&(b.center().x - booking.center().x).abs())
        })
        .unwrap();
    harness.drag_at(booking.center());
    harness.run();
    harness.hover_at(booking.center() + egui::vec2(5.0, 5.0));
    harness.run();
    harness.hover_at(target.center());
    harness.run();
    // Release over the hour (kittest's drop_at also removes the pointer in the same frame,
    // before the drop zone could see it).
    harness.hover_at(target.center() + egui::vec2(1.0, 1.0));
    harness.run();
    harness.event(egui::Event::PointerButton {
        pos: target.center(),
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    harness.run();
    harness.run();
    assert_eq!(
        start_of(&store, &accessions[0]),
        format!(
            "{}T{target_hour:02}:{}",
            later.format("%Y-%m-%d"),
            later.format("%M")
        ),
        "dropped on {target_hour}:00 keeps the minutes"
    );
    let _ = room;

    // Check in; the preparation sheet prints as a PDF a real reader can read.
    harness
        .get_all_by_label_contains(&format!("{} · DOE, JANE", accessions[0]))
        .next()
        .unwrap()
        .click();
    harness.run();
    click(&mut harness, "Check in");
    assert_eq!(
        store
            .order_by_accession(&accessions[0])
            .unwrap()
            .unwrap()
            .status,
        "arrived"
    );
    click(&mut harness, "Print preparation");
    let pdf = dir
        .path()
        .join("exports")
        .join(format!("preparation-{}.pdf", accessions[0]));
    let text = std::process::Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Springfield Imaging"), "{text}");
    assert!(text.contains("Preparing for your exam"), "{text}");
    assert!(text.contains(accessions[0].as_str()), "{text}");

    // The second order: book, then no-show puts it back to be scheduled.
    click(&mut harness, &format!("Book {}", accessions[1]));
    let start = start_of(&store, &accessions[1]);
    let day = chrono::NaiveDate::parse_from_str(start.get(..10).unwrap(), "%Y-%m-%d").unwrap();
    harness
        .state_mut()
        .schedule()
        .go_to(day, lightbox::ui::CalendarSpan::Week);
    harness.run();
    harness
        .get_by_label_contains(&format!("DOE · {}", accessions[1]))
        .click();
    harness.run();
    click(&mut harness, "No-show");
    assert_eq!(
        store
            .order_by_accession(&accessions[1])
            .unwrap()
            .unwrap()
            .status,
        "ordered"
    );
    assert!(
        harness
            .state_mut()
            .schedule()
            .waiting()
            .iter()
            .any(|w| w.0 == accessions[1])
    );
}

/// Runs frames until the settings screen's background check answered (at most 20 s).
fn wait_for_check(harness: &mut Harness<'_, LightboxApp>) {
    for _ in 0..200 {
        // step, not run: the spinner repaints until the answer comes.
        harness.step();
        if !harness.state_mut().settings().checking() {
            harness.run();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the check did not finish");
}

fn replace_text(harness: &mut Harness<'_, LightboxApp>, label: &str, text: &str) {
    harness
        .get_by_role_and_label(Role::TextInput, label)
        .click();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, label)
        .type_text(text);
    harness.run();
}

#[test]
fn the_administrator_sets_up_the_practice_echoes_a_dcmtk_node_and_reads_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    // The window's network requests go through the services' requester (no archive needed).
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let mut harness = harness(app(dir.path()).with_services(std::sync::Arc::new(
        lightbox::desktop::ServicesForWindow::new(&data, None),
    )));
    first_run(&mut harness);
    click(&mut harness, "Settings");
    // Practice: letterhead and a bad port explained.
    replace_text(&mut harness, "Address", "1 Main St, Springfield");
    replace_text(&mut harness, "DICOM port", "eleven");
    click(&mut harness, "Save practice settings");
    assert!(
        harness
            .query_by_label_contains("a port is a number")
            .is_some()
    );
    replace_text(&mut harness, "DICOM port", "11113");
    click(&mut harness, "Save practice settings");
    assert!(harness.query_by_label("Practice settings saved.").is_some());
    let store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    assert_eq!(
        store.setting("practice.address").unwrap().as_deref(),
        Some("1 Main St, Springfield")
    );
    assert_eq!(
        store.setting("dicom.port").unwrap().as_deref(),
        Some("11113")
    );

    // Rooms: a second CT open Saturday mornings; a bad hour is explained.
    click(&mut harness, "Rooms");
    click(&mut harness, "Add room");
    type_into(&mut harness, "Room name", "CT 2");
    type_into(&mut harness, "Modality", "ct");
    type_into(&mut harness, "Scanner AE title", "CT2");
    type_into(&mut harness, "Sat hours", "9-12");
    click(&mut harness, "Save room");
    assert!(
        harness
            .query_by_label_contains("write them as 08:00-18:00")
            .is_some()
    );
    replace_text(&mut harness, "Sat hours", "09:00-12:00");
    click(&mut harness, "Save room");
    let ct2 = store
        .rooms(Some("CT"))
        .unwrap()
        .into_iter()
        .find(|r| r.name == "CT 2")
        .expect("room saved");
    assert_eq!(ct2.hours[5], "09:00-12:00");
    assert_eq!(ct2.hours[6], "");

    // DICOM nodes: dcmtk's storescp answers the echo; a closed port does not.
    let port = common::free_port();
    let mut storescp = std::process::Command::new("storescp")
        .args(["-aet", "DCMTKSCP", &port.to_string()])
        .spawn()
        .unwrap();
    common::wait_for_port(port);
    click(&mut harness, "DICOM nodes");
    type_into(&mut harness, "Node name", "workstation");
    type_into(&mut harness, "Node AE title", "DCMTKSCP");
    type_into(&mut harness, "Node host", "127.0.0.1");
    type_into(&mut harness, "Node port", &port.to_string());
    click(&mut harness, "Save node");
    harness.get_by_label("Echo workstation").click();
    wait_for_check(&mut harness);
    assert!(
        harness
            .query_by_label_contains("workstation answered the echo")
            .is_some()
    );
    let _ = storescp.kill();
    let _ = storescp.wait();
    harness.get_by_label("Echo workstation").click();
    wait_for_check(&mut harness);
    assert!(
        harness
            .query_by_label_contains("did not answer the echo")
            .is_some()
    );

    // HL7 destination: the test button reaches a listening port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hl7_port = listener.local_addr().unwrap().port();
    click(&mut harness, "HL7 destinations");
    type_into(&mut harness, "Destination name", "EHR");
    type_into(&mut harness, "Destination host", "127.0.0.1");
    type_into(&mut harness, "Destination port", &hl7_port.to_string());
    click(&mut harness, "Add destination");
    harness.get_by_label("Test EHR").click();
    wait_for_check(&mut harness);
    assert!(
        harness
            .query_by_label_contains("EHR accepts connections")
            .is_some()
    );
    drop(listener);

    // Viewer: image memory checked before it is stored, prior nodes must exist, the corner
    // overlay without the patient line and the zoom (a shared reading room).
    click(&mut harness, "Viewing");
    type_into(&mut harness, "Image memory for the viewer (MiB)", "lots");
    click(&mut harness, "Save viewer settings");
    assert!(
        harness
            .query_by_label_contains("whole number of MiB")
            .is_some()
    );
    retype_into(&mut harness, "Image memory for the viewer (MiB)", "512");
    type_into(
        &mut harness,
        "Prior nodes (names, comma-separated)",
        "archive-two",
    );
    click(&mut harness, "Save viewer settings");
    assert!(
        harness
            .query_by_label_contains("no DICOM node is named archive-two")
            .is_some()
    );
    retype_into(
        &mut harness,
        "Prior nodes (names, comma-separated)",
        "workstation",
    );
    click(&mut harness, "Patient and study");
    click(&mut harness, "Zoom");
    click(&mut harness, "Save viewer settings");
    assert!(
        harness.query_by_label("Viewer settings saved.").is_some(),
        "{:?}",
        harness
            .query_all_by_label_contains("saved")
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
    );
    harness.snapshot_options(
        "settings_viewing",
        &SnapshotOptions::new().max_failed_pixels(50),
    );
    assert_eq!(
        store.setting("viewer.cache_mib").unwrap().as_deref(),
        Some("512")
    );
    assert_eq!(
        store.setting("viewer.prior_nodes").unwrap().as_deref(),
        Some("workstation")
    );
    assert_eq!(
        lightbox::viewing::overlay::overlay_fields(&store),
        vec![
            lightbox::viewing::overlay::OverlayField::Series,
            lightbox::viewing::overlay::OverlayField::Image,
            lightbox::viewing::overlay::OverlayField::Position,
            lightbox::viewing::overlay::OverlayField::Window,
            lightbox::viewing::overlay::OverlayField::Spacing,
        ]
    );

    // Users: a front-desk account, then disabled; it can no longer sign in.
    click(&mut harness, "Users");
    type_into(&mut harness, "New login", "frank");
    type_into(&mut harness, "Full name", "Frank Desk");
    type_into(&mut harness, "New password", "long enough password");
    click(&mut harness, "Create user");
    assert!(harness.query_by_label("frank created.").is_some());
    click(&mut harness, "Disable frank");
    assert!(lightbox::access::sign_in(&store, "frank", "long enough password", "test").is_err());
    // The last administrator cannot be disabled.
    click(&mut harness, "Disable admin");
    assert!(
        harness
            .query_by_label_contains("last active administrator")
            .is_some()
    );

    // Audit log: every change above is there, filtered and exported.
    click(&mut harness, "Audit log");
    type_into(&mut harness, "Action starts with", "user.");
    click(&mut harness, "Search audit log");
    let actions: Vec<String> = harness
        .state_mut()
        .settings()
        .audit_entries()
        .iter()
        .map(|e| format!("{} {}", e.action, e.subject))
        .collect();
    assert!(
        actions.contains(&"user.create user:frank".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"user.change user:frank".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.iter().all(|a| a.starts_with("user.")),
        "{actions:?}"
    );
    click(&mut harness, "Export audit CSV");
    let exported: Vec<_> = std::fs::read_dir(dir.path().join("exports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(exported.len(), 1);
    assert!(
        std::fs::read_to_string(&exported[0])
            .unwrap()
            .contains("\"user.create\",\"user:frank\"")
    );
    let audited: Vec<_> = store
        .audit_about("audit_log")
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        audited,
        vec!["audit.read".to_string()],
        "the search was audited"
    );
    for (action, subject) in [
        ("room.add", "room:CT 2"),
        ("node.save", "node:workstation"),
        ("setting.change", "setting:practice.address"),
    ] {
        assert_eq!(store.audit_about(subject).unwrap()[0].action, action);
    }
}

#[test]
fn the_window_locks_after_inactivity_and_the_dark_theme_applies() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(app(dir.path()));
    first_run(&mut harness);
    click(&mut harness, "Settings");
    click(&mut harness, "Dark");
    replace_text(&mut harness, "Lock after minutes (0 = never)", "5");
    click(&mut harness, "Save practice settings");
    // The preferences are re-read at most once a second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    harness.run();
    assert_eq!(harness.ctx.theme(), egui::Theme::Dark);

    // Four idle minutes: still open. Six: locked, and nothing of the screen shows.
    harness
        .state_mut()
        .idle_for(std::time::Duration::from_secs(4 * 60));
    harness.run();
    assert!(!harness.state().locked());
    harness
        .state_mut()
        .idle_for(std::time::Duration::from_secs(6 * 60));
    harness.run();
    assert!(harness.state().locked());
    assert!(harness.query_by_label("Save practice settings").is_none());
    type_into(&mut harness, "Password", "wrong password!!");
    click(&mut harness, "Sign in");
    assert!(harness.state().locked());
    harness
        .get_by_role_and_label(Role::PasswordInput, "Password")
        .click();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_role_and_label(Role::PasswordInput, "Password")
        .type_text("correct horse battery");
    harness.run();
    click(&mut harness, "Sign in");
    assert!(!harness.state().locked());
    assert_eq!(
        harness.state().screen(),
        Screen::Settings,
        "back where they were"
    );
    // Ctrl+2 goes to the second screen of the bar.
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Num2);
    harness.run();
    assert_eq!(harness.state().screen(), Screen::Orders);
    // The Lock button locks at once.
    click(&mut harness, "Lock");
    assert!(harness.state().locked());
}

/// Drags with the left button between two image pixel positions of the viewer.
fn drag_on_image(harness: &mut Harness<'_, LightboxApp>, from: (f32, f32), to: (f32, f32)) {
    step_until(harness, "the current image", |app| {
        app.viewer().shown_size().is_some()
    });
    let rect = harness.state_mut().viewer().image_rect().unwrap();
    let zoom = rect.width() / harness.state_mut().viewer().shown_size().unwrap()[0] as f32;
    let at = |p: (f32, f32)| rect.min + egui::vec2(p.0 * zoom, p.1 * zoom);
    let button = |pos, pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    harness.hover_at(at(from));
    harness.step();
    harness.event(button(at(from), true));
    harness.step();
    for k in 1..=4 {
        let t = k as f32 / 4.0;
        harness.hover_at(at((
            from.0 + (to.0 - from.0) * t,
            from.1 + (to.1 - from.1) * t,
        )));
        harness.step();
    }
    harness.event(button(at(to), false));
    harness.step();
    harness.step();
}

/// Steps frames (the viewer renders on its own thread) until `done` or 30 s.
/// A harness whose renderer shares its wgpu device with the app, as the window does: the
/// viewer draws images on that device and egui shows them straight from the GPU (no read
/// back). The demo test keeps the other path (a device of the viewer's own, pixels read back).
fn on_gpu_harness<'a>(app: LightboxApp) -> Harness<'a, LightboxApp> {
    let screen = egui_kittest::wgpu::create_render_state(
        egui_kittest::wgpu::default_wgpu_setup(),
        eframe::egui_wgpu::RendererOptions::PREDICTABLE,
    );
    Harness::builder()
        .with_size(egui::vec2(1366.0, 768.0))
        .renderer(egui_kittest::wgpu::WgpuTestRenderer::from_render_state(
            screen.clone(),
        ))
        .build_ui_state(
            |ui, app: &mut LightboxApp| app.show(ui),
            app.with_render_state(screen),
        )
}

/// Imports `input` (expecting `files` images), starts the app on the GPU harness through its
/// first run, and opens the first study from the Studies screen, waiting for its first image.
fn open_imported_study<'a>(
    dir: &std::path::Path,
    services: &lightbox::app::ArchiveServices,
    input: std::path::PathBuf,
    files: usize,
) -> Harness<'a, LightboxApp> {
    let imported = lightbox::import::import_paths(&services.ingest, &[input]);
    assert_eq!(imported.imported, files, "{imported:?}");
    let mut harness =
        on_gpu_harness(app(dir).with_services(window_services(dir, &services.ingest)));
    first_run(&mut harness);
    click(&mut harness, "Studies");
    harness
        .get_all_by_label_contains("Open ")
        .next()
        .unwrap()
        .click();
    step_until(&mut harness, "the study's first image", |app| {
        app.viewer().shown_size().is_some()
    });
    harness
}

fn step_until(
    harness: &mut Harness<'_, LightboxApp>,
    what: &str,
    mut done: impl FnMut(&mut LightboxApp) -> bool,
) {
    for _ in 0..600 {
        harness.step();
        if done(harness.state_mut()) {
            harness.step();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn images_imported_from_a_folder_open_in_the_viewer_which_scrolls_windows_and_zooms() {
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    let input = dir.path().join("cd");
    std::fs::create_dir_all(&input).unwrap();
    let series = lightbox::pacs::synthetic::SyntheticSeries::new(7, 64);
    for i in 0..12 {
        series
            .slice(i)
            .unwrap()
            .write_to_file(input.join(format!("IM{i:03}")))
            .unwrap();
    }
    std::fs::write(input.join("README.TXT"), "not DICOM").unwrap();
    let mut harness = on_gpu_harness(
        app(dir.path()).with_services(window_services(dir.path(), &services.ingest)),
    );
    first_run(&mut harness);
    click(&mut harness, "Viewer");
    assert!(
        harness
            .query_by_label_contains("Open a study from the Studies screen")
            .is_some()
    );
    type_into(&mut harness, "or path", input.to_str().unwrap());
    harness.get_by_label("Import").click();
    step_until(&mut harness, "the import", |app| !app.viewer().importing());
    assert!(
        harness
            .query_by_label_contains("Import finished: 12 new, 0 already archived")
            .is_some()
    );
    assert!(harness.query_by_label_contains("1 refused").is_some());
    click(&mut harness, "Dismiss");

    click(&mut harness, "Studies");
    harness.run();
    assert_eq!(harness.state_mut().studies().studies().len(), 1);
    harness
        .get_all_by_label_contains("Open ")
        .next()
        .unwrap()
        .click();
    harness.step();
    assert_eq!(harness.state().screen(), Screen::Viewer);
    step_until(&mut harness, "the first image", |app| {
        app.viewer().shown_size().is_some()
    });
    assert_eq!(harness.state_mut().viewer().shown_size(), Some([64, 64]));
    assert_eq!(harness.state_mut().viewer().series()[0].images.len(), 12);
    // The series' plane comes from Image Orientation (for protocols that hang by plane).
    assert_eq!(
        harness.state_mut().viewer().series()[0].plane,
        Some(lightbox::viewing::hanging::Plane::Axial)
    );
    let first_window = harness.state_mut().viewer().shown_window().unwrap();

    // The wheel over the image scrolls the stack; keys too.
    let centre = egui::pos2(760.0, 420.0);
    harness.hover_at(centre);
    harness.step();
    harness.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, -1.0),
        modifiers: egui::Modifiers::NONE,
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
    });
    harness.step();
    assert_eq!(harness.state_mut().viewer().position(), (0, 1));
    harness.key_press(egui::Key::ArrowDown);
    harness.step();
    harness.key_press(egui::Key::End);
    harness.step();
    assert_eq!(harness.state_mut().viewer().position(), (0, 11));

    // Right-drag widens the window and raises the level.
    harness.event(egui::Event::PointerButton {
        pos: centre,
        button: egui::PointerButton::Secondary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    harness.step();
    for step in 1..=4 {
        harness.hover_at(centre + egui::vec2(20.0 * step as f32, 10.0 * step as f32));
        harness.step();
    }
    harness.event(egui::Event::PointerButton {
        pos: centre + egui::vec2(80.0, 40.0),
        button: egui::PointerButton::Secondary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    step_until(&mut harness, "the new window", |app| {
        app.viewer()
            .shown_window()
            .is_some_and(|w| w.width > first_window.width)
    });
    let window = harness.state_mut().viewer().shown_window().unwrap();
    assert!(
        window.center > first_window.center,
        "{window:?} vs {first_window:?}"
    );
    // Measure on the last slice (organ radius 8 + 11 = 19 px around the centre, 60 HU; pixels
    // of 0.5 mm): a 40-pixel line is 20 mm, an ellipse inside the organ reads 60 HU.
    click(&mut harness, "Length");
    drag_on_image(&mut harness, (12.0, 32.0), (52.0, 32.0));
    click(&mut harness, "Ellipse");
    drag_on_image(&mut harness, (24.0, 24.0), (40.0, 40.0));
    let measured: Vec<String> = harness
        .state_mut()
        .viewer()
        .measurements()
        .into_iter()
        .map(|m| m.1)
        .collect();
    assert_eq!(measured.len(), 2, "{measured:?}");
    assert!(
        measured[0].starts_with("20.0 mm (Pixel Spacing)"),
        "{measured:?}"
    );
    assert!(measured[1].contains("mean 60.0 HU, SD 0.0"), "{measured:?}");
    // A manual calibration: the same 40 pixels declared 10 mm.
    click(&mut harness, "Calibrate");
    type_into(&mut harness, "Known length (mm)", "10");
    drag_on_image(&mut harness, (12.0, 40.0), (52.0, 40.0));
    click(&mut harness, "Length");
    drag_on_image(&mut harness, (12.0, 44.0), (32.0, 44.0));
    let measured = harness.state_mut().viewer().measurements();
    assert!(
        measured[2]
            .1
            .starts_with("5.0 mm (manual calibration against 10.0 mm)"),
        "{measured:?}"
    );
    // Reopened, the measurements are there again on that slice.
    let study = harness
        .state_mut()
        .viewer()
        .study_uid()
        .unwrap()
        .to_string();
    let practice = Practice::open(&dir.path().join("lightbox.sqlite")).unwrap();
    harness.state_mut().viewer().open(&practice, &study);
    step_until(&mut harness, "the reopened image", |app| {
        app.viewer().shown_size().is_some()
    });
    assert!(
        harness.state_mut().viewer().measurements().is_empty(),
        "slice 1 has none"
    );
    harness.state_mut().viewer().scroll_by(11);
    step_until(&mut harness, "slice 12", |app| {
        app.viewer().shown_size().is_some()
    });
    let again: Vec<String> = harness
        .state_mut()
        .viewer()
        .measurements()
        .into_iter()
        .map(|m| m.1)
        .collect();
    assert_eq!(again.len(), 3, "{again:?}");
    assert_eq!(again, measured.into_iter().map(|m| m.1).collect::<Vec<_>>());
    click(&mut harness, "Pan");
    // Cine plays the stack (looping) until stopped.
    let before = harness.state_mut().viewer().position().1;
    harness.get_by_label("Cine").click();
    for _ in 0..20 {
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    harness.get_by_label("Cine").click();
    harness.step();
    assert_ne!(
        harness.state_mut().viewer().position().1,
        before,
        "cine moved"
    );
    harness.state_mut().viewer().scroll_by(11);
    settle(&mut harness);
    // A CT preset (lung), a quarter turn, invert, and the view exported as a PNG.
    click(&mut harness, "Window preset");
    click(&mut harness, "Lung (1500/-600)");
    step_until(&mut harness, "the lung window", |app| {
        app.viewer()
            .shown_window()
            .is_some_and(|w| w.center == -600.0 && w.width == 1500.0)
    });
    click(&mut harness, "Rotate");
    click(&mut harness, "Invert");
    // The image is shown straight from the GPU: Export PNG reads it back first.
    click(&mut harness, "Export PNG");
    let exports = dir.path().join("exports");
    let pngs = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&exports)
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|e| e == "png"))
                    .collect()
            })
            .unwrap_or_default()
    };
    step_until(&mut harness, "the exported view", |_| pngs().len() == 1);
    let png = pngs();
    let mut decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png[0]).unwrap(),
    ))
    .read_info()
    .unwrap();
    assert_eq!((decoder.info().width, decoder.info().height), (64, 64));
    let mut exported = vec![0; decoder.output_buffer_size().unwrap()];
    decoder.next_frame(&mut exported).unwrap();
    // Its pixels are the lung window's, inverted (turned a quarter, so compared as sorted
    // levels), within one level of the CPU reference.
    let mut expected: Vec<u8> = lightbox::imaging::render_cpu(
        &lightbox::imaging::ImageFile::open(&input.join("IM011"))
            .unwrap()
            .frame(0)
            .unwrap(),
        &lightbox::imaging::RenderOptions {
            window: Some(lightbox::imaging::Window {
                center: -600.0,
                width: 1500.0,
            }),
            overlays: false,
        },
    )
    .pixels
    .iter()
    .map(|v| 255 - v)
    .collect();
    expected.sort_unstable();
    exported.sort_unstable();
    let worst = exported
        .iter()
        .zip(&expected)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 1, "the exported view differs by {worst} levels");
    click(&mut harness, "Reset");
    step_until(&mut harness, "the image after reset", |app| {
        app.viewer().shown_size().is_some()
    });
    // Regression: Reset after a preset kept the preset's window on the GPU while the overlay
    // said the file's. The pixels now match the file's own rendering (CPU reference, ±1),
    // Invert undone too.
    harness.state_mut().viewer().read_back();
    step_until(&mut harness, "the shown pixels", |app| {
        app.viewer().shown_pixels().is_some()
    });
    let file = lightbox::imaging::ImageFile::open(&input.join("IM011")).unwrap();
    let reference = lightbox::imaging::render_cpu(
        &file.frame(0).unwrap(),
        &lightbox::imaging::RenderOptions::default(),
    );
    let shown = harness
        .state_mut()
        .viewer()
        .shown_pixels()
        .unwrap()
        .to_vec();
    assert_eq!(shown.len(), reference.pixels.len());
    let worst = shown
        .iter()
        .zip(&reference.pixels)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(
        worst <= 1,
        "after Reset the image differs from the file's window by {worst}"
    );
    // 1:1 zoom; the snapshot shows the thumbnail, the image and its overlay.
    click(&mut harness, "1:1");
    step_until(&mut harness, "the thumbnail", |app| {
        app.viewer().thumbnail_count() == 1
    });
    harness.hover_at(egui::pos2(5.0, 760.0));
    harness.step();
    // The whole series went onto the GPU in the background (16 bits a pixel, plus the
    // display target); the status corner says so (see the snapshot).
    step_until(&mut harness, "the series on the GPU", |app| {
        app.viewer().series_loaded() == (12, 12)
    });
    let (cache_bytes, gpu_bytes) = harness.state_mut().viewer().memory_bytes();
    assert_eq!(gpu_bytes, 12 * 64 * 64 * 2 + 64 * 64 * 4);
    // The slices shown were decoded into the frame cache too (for their modality values).
    assert!(
        cache_bytes >= 64 * 64 * (4 + 8),
        "cache holds {cache_bytes} bytes"
    );
    harness.step();
    harness.snapshot_options("viewer", &SnapshotOptions::new().max_failed_pixels(50));
    // The magnifier shows what is under the pointer, three times larger.
    click(&mut harness, "Magnifier");
    let centre = harness.state_mut().viewer().image_rect().unwrap().center();
    harness.hover_at(centre);
    harness.step();
    harness.step();
    harness.snapshot_options(
        "viewer_magnifier",
        &SnapshotOptions::new().max_failed_pixels(50),
    );
    click(&mut harness, "Magnifier");
    // The imported study matched no order: it waits in reconciliation, and the monitor links
    // it to the right order (its headers take the order's patient and accession).
    let mut store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    let items = store.open_reconciliation().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    let admin = harness.state().actor().unwrap().clone();
    let accession = orders_waiting(&mut store, &admin, "70450", 1).remove(0);
    click(&mut harness, "Integration");
    type_into(
        &mut harness,
        &format!("Accession for #{}", items[0].id),
        &accession,
    );
    click(&mut harness, &format!("Link #{}", items[0].id));
    assert!(
        harness
            .query_by_label_contains(&format!("linked to {accession}: 12 images"))
            .is_some()
    );
    assert!(store.open_reconciliation().unwrap().is_empty());
    drop(services);
}

#[test]
fn the_front_desk_edits_a_patient_records_insurance_and_merges_a_duplicate_with_undo() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(app(dir.path()));
    first_run(&mut harness);
    let admin = harness.state().actor().unwrap().clone();
    let mut store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    // The duplicate (registered by an HL7 feed, say) has the order.
    let accessions = orders_waiting(&mut store, &admin, "72148", 1);
    let duplicate = store.search_patients("DOE", 10).unwrap().remove(0);
    let kept = lightbox::his::register(
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
    type_into(&mut harness, "Search patients", &kept.mrn);
    click(&mut harness, &kept.mrn);
    // Edit: phone and an allergy.
    click(&mut harness, "Edit patient");
    replace_text(&mut harness, "Edit phone", "555-0100");
    replace_text(
        &mut harness,
        "Alerts and allergies",
        "iodinated contrast allergy",
    );
    click(&mut harness, "Save changes");
    let saved = store.patient(kept.id).unwrap();
    assert_eq!(saved.phone, "555-0100");
    assert_eq!(saved.alerts, "iodinated contrast allergy");
    assert!(
        harness
            .query_by_label_contains("Alerts: iodinated contrast allergy")
            .is_some()
    );
    // Insurance needing prior authorisation: eligibility, then the authorisation.
    click(&mut harness, "Add insurance");
    type_into(&mut harness, "Payer", "ACME Health");
    type_into(&mut harness, "Member number", "XG-1234");
    click(
        &mut harness,
        "Payer requires prior authorisation for imaging",
    );
    click(&mut harness, "Save insurance");
    assert!(
        harness
            .query_by_label_contains("needs prior authorisation")
            .is_some()
    );
    click(&mut harness, "Eligible ACME Health");
    type_into(&mut harness, "Authorisation number", "PA-778");
    type_into(&mut harness, "Valid from", "2026-11-01");
    type_into(&mut harness, "Valid to", "2026-10-01");
    click(&mut harness, "Record authorisation");
    assert!(
        harness
            .query_by_label_contains("valid-to date after")
            .is_some()
    );
    replace_text(&mut harness, "Valid to", "2027-01-31");
    click(&mut harness, "Record authorisation");
    let policy = store.insurance_of(kept.id).unwrap().remove(0);
    assert_eq!(policy.eligibility, "eligible");
    assert_eq!(
        store.authorisation(policy.id).unwrap(),
        (
            "approved".to_string(),
            "PA-778".to_string(),
            "2026-11-01".to_string(),
            "2027-01-31".to_string()
        )
    );
    // Merge the duplicate: preview first, then merge, then undo.
    type_into(&mut harness, "MRN of the duplicate", &duplicate.mrn);
    click(&mut harness, "Preview merge");
    assert!(
        harness
            .query_by_label_contains("moves 1 orders, 0 identifiers and 0 archived studies")
            .is_some()
    );
    assert_eq!(
        store.orders_of_patient(kept.id).unwrap().len(),
        0,
        "a preview changes nothing"
    );
    click(&mut harness, "Merge now");
    assert_eq!(store.orders_of_patient(kept.id).unwrap().len(), 1);
    assert!(
        harness
            .state()
            .patients()
            .timeline()
            .iter()
            .any(|w| w.contains(&accessions[0]) && w.contains("ordered")),
        "{:?}",
        harness.state().patients().timeline()
    );
    click(&mut harness, &format!("Undo merge of {}", duplicate.mrn));
    assert_eq!(store.orders_of_patient(kept.id).unwrap().len(), 0);
    assert_eq!(store.orders_of_patient(duplicate.id).unwrap().len(), 1);
    let audit: Vec<String> = store
        .audit_about(&format!("patient:{}", kept.mrn))
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "patient.update",
        "patient.insurance.add",
        "patient.insurance.eligibility",
        "patient.insurance.authorisation",
        "patient.merge",
        "patient.unmerge",
    ] {
        assert!(audit.contains(&action.to_string()), "{action} in {audit:?}");
    }
}

/// A demo practice as of Wednesday 2026-11-25 10:00, opened in the window at that time.
fn demo_app(dir: &std::path::Path) -> LightboxApp {
    let data = lightbox::app::DataFolder::resolve(Some(dir)).unwrap();
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    lightbox::demo::populate(&data, now).unwrap();
    let store = {
        let s = lightbox_store::Store::open(&data.database()).unwrap();
        lightbox::ris::seed_starter_data(&s).unwrap();
        s
    };
    let (_sender, receiver) = events::channel(64, None);
    let mut app = LightboxApp::new(
        Practice::over(store),
        receiver,
        "DICOM: LIGHTBOX on 0.0.0.0:11112".into(),
    )
    .unwrap();
    app.set_clock(now);
    app
}

#[test]
fn the_demo_practice_fills_every_screen_and_each_main_screen_matches_its_reference_image() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(demo_app(dir.path()));
    harness.run();
    assert!(
        harness
            .query_by_label_contains("Demo practice: sign in as admin (administrator)")
            .is_some()
    );
    let store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    // Orders in every state.
    for status in [
        "needs_review",
        "ordered",
        "scheduled",
        "arrived",
        "in_progress",
        "completed",
        "preliminary",
        "final",
        "cancelled",
    ] {
        assert!(
            !store.orders_with_status(status).unwrap().is_empty(),
            "no {status} order in the demo"
        );
    }
    // Studies of several modalities, and a prior for the first patient.
    let studies = store
        .query_index(lightbox_store::index::Level::Study, &[], 100)
        .unwrap();
    let modalities: std::collections::BTreeSet<String> = studies
        .iter()
        .flat_map(|s| s.modalities_in_study.split(['\\', ',']).map(str::to_string))
        .collect();
    for m in ["CT", "MR", "US"] {
        assert!(modalities.contains(m), "{m} in {modalities:?}");
    }
    let garcia = store.search_patients("GARCIA", 5).unwrap().remove(0);
    assert_eq!(
        store
            .archived_studies_of(std::slice::from_ref(&garcia.mrn))
            .unwrap()
            .len(),
        2,
        "the exam and its prior"
    );
    assert_eq!(store.destinations().unwrap().len(), 1);

    // Front desk: the week's schedule.
    sign_in_as(&mut harness, "frontdesk", "demo-password");
    click(&mut harness, "Schedule");
    click(&mut harness, "Week");
    assert!(harness.state_mut().schedule().bookings().len() >= 12);
    harness.snapshot_options(
        "schedule_week",
        &SnapshotOptions::new().max_failed_pixels(50),
    );
    click(&mut harness, "Orders");
    harness.snapshot_options("orders", &SnapshotOptions::new().max_failed_pixels(50));
    // Technologist: today's exams by room.
    sign_in_as(&mut harness, "tech", "demo-password");
    assert!(harness.state().today().listed().len() >= 6);
    harness.snapshot_options("today", &SnapshotOptions::new().max_failed_pixels(50));
    // Radiologist: the worklist holds the completed and preliminary exams.
    sign_in_as(&mut harness, "drreed", "demo-password");
    assert_eq!(harness.state().reading().rows().len(), 5);
    // GARCIA's head CT opens with last year's head CT listed as its prior.
    let garcia_exam = store
        .orders_of_patient(garcia.id)
        .unwrap()
        .into_iter()
        .find(|o| o.status == "completed")
        .unwrap();
    click(&mut harness, &format!("Images {}", garcia_exam.accession));
    assert_eq!(harness.state().screen(), Screen::Viewer);
    let exam_uid = harness
        .state_mut()
        .viewer()
        .study_uid()
        .unwrap()
        .to_string();
    let priors = harness.state_mut().viewer().priors();
    assert_eq!(priors.len(), 1);
    assert_ne!(priors[0], exam_uid);
    // Hung by the shipped "CT with prior" protocol: the exam beside its prior, scrolling
    // together.
    assert_eq!(
        harness.state_mut().viewer().protocol(),
        Some("CT with prior")
    );
    assert_eq!(harness.state_mut().viewer().layout(), (1, 2));
    let panes = harness.state_mut().viewer().panes();
    assert_eq!(panes[0].as_ref().unwrap().0, exam_uid);
    assert_eq!(panes[1].as_ref().unwrap().0, priors[0]);
    harness.state_mut().viewer().scroll_by(3);
    harness.step();
    harness.step();
    assert_eq!(harness.state_mut().viewer().image_positions(), vec![3, 3]);
    // Linked: the prior takes the exam's window (a preset) and zoom.
    click(&mut harness, "Link window and zoom");
    step_until(&mut harness, "the exam's image", |app| {
        app.viewer().shown_size().is_some()
    });
    click(&mut harness, "Window preset");
    click(&mut harness, "Bone (1800/400)");
    click(&mut harness, "1:1");
    let views = harness.state_mut().viewer().pane_views();
    assert_eq!(views[0], views[1], "{views:?}");
    assert_eq!(views[1].0.unwrap().width, 1800.0);
    // Saved as a protocol for studies like this one: it is stored, matches CT with a prior.
    type_into(&mut harness, "New protocol name", "My CT compare");
    click(&mut harness, "Save layout as protocol");
    let saved = lightbox::viewing::protocols(&store)
        .unwrap()
        .into_iter()
        .find(|p| p.name == "My CT compare")
        .expect("saved");
    assert_eq!((saved.rows, saved.columns), (1, 2));
    assert_eq!(saved.matches.modalities, vec!["CT".to_string()]);
    assert_eq!(saved.matches.min_priors, 1);
    assert_eq!(
        saved.viewports[1].series.study, 1,
        "the second viewport hangs the prior"
    );
    // A layout picked by hand: 2×2 panes.
    click(&mut harness, "Layout");
    click(&mut harness, "2×2");
    assert_eq!(harness.state_mut().viewer().layout(), (2, 2));
    assert_eq!(harness.state_mut().viewer().panes().len(), 4);
    // Switched back to one image: a single pane.
    click(&mut harness, "Hanging protocol");
    click(&mut harness, "one image (no protocol)");
    assert_eq!(harness.state_mut().viewer().layout(), (1, 1));
    harness
        .get_all_by_label_contains("CT CT demo study")
        .next()
        .unwrap()
        .click();
    harness.step();
    assert_eq!(
        harness.state_mut().viewer().study_uid(),
        Some(priors[0].as_str())
    );
    harness.step();
    harness.get_by_label("Back to the exam").click();
    harness.step();
    assert_eq!(
        harness.state_mut().viewer().study_uid(),
        Some(exam_uid.as_str())
    );
    // Only the unassigned exams when asked.
    click(&mut harness, "Reading");
    click(&mut harness, &format!("Claim {}", garcia_exam.accession));
    click(&mut harness, "Unassigned");
    assert_eq!(harness.state().reading().rows().len(), 4);
    click(&mut harness, "Mine");
    assert_eq!(harness.state().reading().rows().len(), 1);
    // Administrator: settings and billing.
    sign_in_as(&mut harness, "admin", "demo-password");
    click(&mut harness, "Settings");
    click(&mut harness, "Rooms");
    harness.snapshot_options(
        "settings_rooms",
        &SnapshotOptions::new().max_failed_pixels(50),
    );
    // The monitor shows today's worklist as the scanners get it (built by the C-FIND code).
    click(&mut harness, "Integration");
    assert!(harness.query_by_label("Station MR1").is_some());
    let mr_today = store
        .orders_with_status("arrived")
        .unwrap()
        .remove(0)
        .accession;
    assert!(harness.query_by_label(&mr_today).is_some());
    // The administrator hands an exam to a radiologist.
    click(&mut harness, "Reading");
    let first = harness.state().reading().rows()[0].accession.clone();
    click(&mut harness, &format!("Assign {first}"));
    // The popup's entry (the worklist's Reader column may say "drreed" too).
    harness.get_all_by_label("drreed").last().unwrap().click();
    settle(&mut harness);
    let row = store
        .reading_rows()
        .unwrap()
        .into_iter()
        .find(|r| r.accession == first)
        .unwrap();
    assert_eq!(row.assigned_radiologist, "drreed");
    click(&mut harness, "Billing");
    assert!(!harness.state().billing().charges().is_empty());
    harness.snapshot_options("billing", &SnapshotOptions::new().max_failed_pixels(50));
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
    let store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
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
        .get_by_label_contains(&format!("{accession} · RIVERA"))
        .click();
    harness.run();
    click(&mut harness, "Check in");
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
    click(&mut harness, &format!("Images {accession}"));
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
            .query_by_label_contains("1 key image document, 1 presentation states")
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
    click(&mut harness, &format!("Claim {accession}"));
    click(&mut harness, &format!("Report {accession}"));
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
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_multi_frame_file_becomes_a_stack_and_measurements_keep_their_frame() {
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    let mut harness = on_gpu_harness(
        app(dir.path()).with_services(window_services(dir.path(), &services.ingest)),
    );
    first_run(&mut harness);
    // The practice shows no patient line in the corner (a shared reading room).
    Store::open(&dir.path().join("lightbox.sqlite"))
        .unwrap()
        .set_setting(
            "viewer.overlay",
            "series, image, position, window, zoom, spacing",
        )
        .unwrap();
    // A 10-frame clip (the corpus's emri_small) acquired at 40 ms a frame, as an ultrasound
    // cine says in Frame Time.
    let mut clip = dicom_object::open_file(common::corpus_dicom().join("emri_small.dcm")).unwrap();
    clip.put(dicom_core::DataElement::new(
        dicom_dictionary_std::tags::FRAME_TIME,
        dicom_core::VR::DS,
        dicom_core::PrimitiveValue::from("40"),
    ));
    let clip_path = dir.path().join("clip.dcm");
    clip.write_to_file(&clip_path).unwrap();
    let summary = lightbox::import::import_paths(&services.ingest, &[clip_path]);
    assert_eq!(summary.imported, 1);
    click(&mut harness, "Studies");
    harness
        .get_all_by_label_contains("Open ")
        .next()
        .unwrap()
        .click();
    step_until(&mut harness, "the stack of frames", |app| {
        app.viewer().shown_size().is_some() && app.viewer().series()[0].images.len() == 10
    });
    assert_eq!(
        harness.state_mut().viewer().series()[0].frames,
        (0..10).collect::<Vec<u32>>()
    );
    harness.state_mut().viewer().scroll_by(9);
    step_until(&mut harness, "frame 10", |app| {
        app.viewer().shown_size().is_some()
    });
    assert_eq!(harness.state_mut().viewer().position(), (0, 9));
    let overlay = harness.state_mut().viewer().overlay_text();
    assert!(overlay.contains("Image 10 / 10"), "{overlay}");
    assert!(overlay.contains("Zoom "), "{overlay}");
    assert!(overlay.starts_with("Series "), "no patient line: {overlay}");
    click(&mut harness, "Value");
    let rect = harness.state_mut().viewer().image_rect().unwrap();
    harness.hover_at(rect.center());
    harness.step();
    harness.event(egui::Event::PointerButton {
        pos: rect.center(),
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    harness.step();
    harness.event(egui::Event::PointerButton {
        pos: rect.center(),
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    settle(&mut harness);
    let store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    let study = harness
        .state_mut()
        .viewer()
        .study_uid()
        .unwrap()
        .to_string();
    let stored = store.annotations_of_study(&study).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].frame, 9, "the measurement belongs to frame 10");
    assert_eq!(harness.state_mut().viewer().measurements().len(), 1);
    // Frame 1 of the same file shows none of it.
    harness.state_mut().viewer().scroll_by(-9);
    harness.step();
    assert!(harness.state_mut().viewer().measurements().is_empty());
    // Cine plays the clip at the file's own rate (25 frames/s), and says so.
    click(&mut harness, "Pan");
    harness.get_by_label("Cine").click();
    harness.step();
    assert_eq!(harness.state_mut().viewer().cine_fps(), Some(25.0));
    assert!(harness.query_by_label("file: 25/s").is_some());
    for _ in 0..10 {
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    assert_ne!(
        harness.state_mut().viewer().position(),
        (0, 0),
        "the clip plays"
    );
    harness.get_by_label("Cine").click();
    harness.step();
    assert_eq!(harness.state_mut().viewer().cine_fps(), None);
    drop(services);
}

#[test]
fn an_axial_slice_shows_as_a_reference_line_on_the_sagittal_series_beside_it() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    let input = dir.path().join("mr");
    std::fs::create_dir_all(&input).unwrap();
    let axial = lightbox::pacs::synthetic::SyntheticSeries::new(31, 64);
    let mut sagittal = axial.clone();
    sagittal.series_uid = format!("{}.9", axial.series_uid);
    let frame_of_reference = format!("{}.4", axial.series_uid);
    for i in 0..4 {
        axial
            .slice(i)
            .unwrap()
            .write_to_file(input.join(format!("AX{i}")))
            .unwrap();
        let mut s = sagittal.slice(i).unwrap();
        let put = |s: &mut dicom_object::FileDicomObject<dicom_object::InMemDicomObject>,
                   tag,
                   vr,
                   v: &str| {
            s.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        };
        // Rows run posterior, columns to the feet; through the axial block's middle.
        put(
            &mut s,
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            "0\\1\\0\\0\\0\\-1",
        );
        put(
            &mut s,
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            &format!("{}\\-128\\16", -8 + i as i32),
        );
        put(
            &mut s,
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &frame_of_reference,
        );
        put(&mut s, tags::SERIES_NUMBER, VR::IS, "2");
        s.write_to_file(input.join(format!("SAG{i}"))).unwrap();
    }
    let mut harness = open_imported_study(dir.path(), &services, input, 8);
    // Axial beside sagittal.
    click(&mut harness, "Layout");
    click(&mut harness, "1×2");
    assert_eq!(harness.state_mut().viewer().layout(), (1, 2));
    let series = harness.state_mut().viewer().series().to_vec();
    assert_eq!(
        series[1].plane,
        Some(lightbox::viewing::hanging::Plane::Sagittal)
    );
    step_until(&mut harness, "the reference line", |app| {
        app.viewer().reference_lines() == 1
    });
    drop(services);
}

#[test]
fn synchronised_scrolling_follows_slice_position_and_an_anchor_across_frames_of_reference() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    let input = dir.path().join("ct");
    std::fs::create_dir_all(&input).unwrap();
    let base = lightbox::pacs::synthetic::SyntheticSeries::new(41, 32);
    let frame = format!("{}.4", base.series_uid);
    // Series 1: 20 slices of 2.5 mm from z = 0. Series 2, same frame: 10 slices of 5 mm
    // running down from z = 45. Series 3, another frame (as a prior is): 20 slices of 5 mm
    // from z = 300.
    let series: [(u32, u32, f64, f64, String); 3] = [
        (1, 20, 0.0, 2.5, frame.clone()),
        (2, 10, 45.0, -5.0, frame.clone()),
        (3, 20, 300.0, 5.0, format!("{frame}.9")),
    ];
    for (number, slices, first_z, step_mm, frame_of_reference) in &series {
        let mut s = base.clone();
        s.series_uid = format!("{}.{number}", base.series_uid);
        for i in 0..*slices {
            let mut obj = s.slice(i).unwrap();
            let mut put = |tag, vr, v: &str| {
                obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
            };
            put(
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                &format!("-8\\-8\\{}", first_z + step_mm * f64::from(i)),
            );
            put(tags::FRAME_OF_REFERENCE_UID, VR::UI, frame_of_reference);
            put(tags::SERIES_NUMBER, VR::IS, &number.to_string());
            obj.write_to_file(input.join(format!("S{number}_{i:02}")))
                .unwrap();
        }
    }
    let mut harness = open_imported_study(dir.path(), &services, input, 50);
    click(&mut harness, "Layout");
    click(&mut harness, "2×2");
    // Every pane's series loads onto the GPU, and with it where each slice lies.
    step_until(&mut harness, "the three series loaded", |app| {
        let loaded = app.viewer().panes_loaded();
        loaded[..3] == [(20, 20), (10, 10), (20, 20)]
    });
    // The viewer's image memory (2 GiB by default) is shared by the four viewports.
    assert_eq!(
        harness.state_mut().viewer().memory_shares(),
        vec![Some(512 << 20); 4]
    );
    click(&mut harness, "Sync scroll");
    // 8 slices down series 1 is z = 20: series 2 (same frame) is at its slice 5 (z = 20);
    // series 3 (another frame, no anchor yet) moves as many images.
    harness.state_mut().viewer().scroll_by(8);
    harness.step();
    harness.step();
    assert_eq!(
        harness.state_mut().viewer().image_positions()[..3],
        [8, 5, 8]
    );
    // The radiologist lines the prior up by hand: sync off, series 1 two slices further
    // (z = 25) while series 3 stays at z = 340; anchored there.
    click(&mut harness, "Sync scroll");
    harness.state_mut().viewer().scroll_by(2);
    harness.step();
    assert_eq!(
        harness.state_mut().viewer().image_positions()[..3],
        [10, 5, 8]
    );
    click(&mut harness, "Anchor sync here");
    // 20 mm further (8 slices of 2.5 mm): series 2 by position (z = 45, its first slice),
    // series 3 by distance from the anchor (20 mm = 4 of its slices).
    harness.state_mut().viewer().scroll_by(8);
    harness.step();
    harness.step();
    assert_eq!(
        harness.state_mut().viewer().image_positions()[..3],
        [18, 0, 12]
    );
    drop(services);
}

#[test]
fn an_hl7_source_is_added_in_settings_and_a_restarted_service_shows_in_the_status_bar() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(app(dir.path()));
    first_run(&mut harness);
    click(&mut harness, "Settings");
    click(&mut harness, "HL7 sources");
    type_into(&mut harness, "Source name", "Dictation");
    type_into(&mut harness, "Sending application (MSH-3)", "DICTATE");
    type_into(&mut harness, "Source host (empty: any)", "10.1.2.3");
    click(&mut harness, "orders (ORM, OMI, OMG)");
    click(&mut harness, "registrations and visits (ADT)");
    click(&mut harness, "dictated reports (ORU)");
    click(&mut harness, "Save source");
    let store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    let sources = store.hl7_sources().unwrap();
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert_eq!(
        (
            sources[0].application.as_str(),
            sources[0].host.as_str(),
            sources[0].messages.as_str()
        ),
        ("DICTATE", "10.1.2.3", "results")
    );
    assert!(harness.query_by_label_contains("Dictation saved").is_some());
    // A service of this process restarted by its supervisor: the status bar says so.
    let board = lightbox::health::HealthBoard::new(Some(dir.path().join("lightbox.sqlite")));
    board.running("hl7-writer", "storing and processing inbound messages");
    board.failed("hl7-writer", "panic: disk on fire", true);
    std::thread::sleep(std::time::Duration::from_millis(20));
    harness.run();
    assert!(
        harness
            .query_by_label_contains("hl7-writer restarting")
            .is_some(),
        "the status bar does not show the restarting writer"
    );
    board.running("hl7-writer", "storing and processing inbound messages");
    harness.run();
    assert!(
        harness
            .query_by_label_contains("hl7-writer restarted 1×")
            .is_some()
    );
    click(&mut harness, "Integration");
    // In the status bar and in the Integration screen's services.
    assert_eq!(
        harness
            .query_all_by_label_contains("panic: disk on fire")
            .count(),
        2
    );
}
