//! The front desk: first run, registration with the duplicate warning, orders and the
//! needs-review queue, the schedule (book, move, check in, preparation sheet), editing a patient,
//! insurance and merging with undo.

use super::*;

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
    let store = crate::common::store(dir.path());
    assert_eq!(store.search_patients("RIVERA", 10).unwrap().len(), 1);
    // A bad birth date is explained.
    click(&mut harness, "Cancel");
    click(&mut harness, "Register patient");
    type_into(&mut harness, "Family name", "Nguyen");
    type_into(&mut harness, "Birth date", "02/11/1958");
    click(&mut harness, "Save patient");
    // Beside the field, in words that say what is wrong with this value.
    assert!(
        harness
            .query_by_label_contains("write it as year-month-day")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("see the fields marked in red")
            .is_some()
    );
    // A day the calendar does not have is told apart from a wrong format.
    retype_into(&mut harness, "Birth date", "1980-02-31");
    click(&mut harness, "Save patient");
    assert!(
        harness
            .query_by_label_contains("1980-02-31 is not a day of the calendar")
            .is_some()
    );
    // A birth date after today (the practice clock's) is refused; Enter submits the form.
    retype_into(&mut harness, "Birth date", "2030-01-01");
    harness.key_press(egui::Key::Enter);
    settle(&mut harness);
    assert!(
        harness
            .query_by_label_contains("2030-01-01 is in the future")
            .is_some()
    );
    // A family name longer than DICOM's 64 characters is refused beside its field.
    retype_into(&mut harness, "Family name", &"Ø".repeat(210));
    retype_into(&mut harness, "Birth date", "1958-11-02");
    click(&mut harness, "Save patient");
    assert!(
        harness
            .query_by_label_contains("210 characters; at most 64")
            .is_some()
    );
    assert!(store.search_patients("ØØØ", 10).unwrap().is_empty());

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
    let button = harness.get_by_label("Sign in").rect();
    click(&mut harness, "Sign in");
    assert!(harness.query_by_label_contains("wrong password").is_some());
    // The refusal appears below the button: a second click lands where the first did.
    assert_eq!(harness.get_by_label("Sign in").rect(), button);
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
fn the_front_desk_places_an_order_and_works_the_needs_review_queue() {
    let dir = tempfile::tempdir().unwrap();
    // The window's clock, not the wall clock, decides what "the past" is (regression: the
    // Orders screen booked by the computer's clock, so a requested time that had passed in
    // the real world moved to the next free slot).
    let mut harness = harness(app(dir.path()));
    first_run(&mut harness);
    let mut store = crate::common::store(dir.path());
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
    // A code that is not ICD-10 is refused at the desk, and nothing is ordered.
    let orders_before = store.recent_orders(100).unwrap().len();
    type_into(&mut harness, "ICD-10", "XYZ");
    click(&mut harness, "Place order");
    assert!(
        harness
            .query_by_label_contains("\"XYZ\" is not an ICD-10 code")
            .is_some()
    );
    assert_eq!(store.recent_orders(100).unwrap().len(), orders_before);
    retype_into(&mut harness, "ICD-10", "M54.5");
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
    // Selected (the only one), then cancelled after the confirmation.
    click(&mut harness, "Cancel order…");
    assert!(harness.query_by_label("Cancel this order?").is_some());
    click(&mut harness, "Cancel the order");
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

pub(super) fn start_of(store: &Store, accession: &str) -> String {
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
    let mut store = crate::common::store(dir.path());
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
        .get_by_label_contains(&format!("DOE, JANE\n{}", accessions[0]))
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
        .get_by_label_contains(&format!("DOE, JANE\n{}", accessions[0]))
        .rect();
    let target_hour = (later.format("%H").to_string().parse::<u32>().unwrap() + 2).min(16);
    // The hour's row on the day view's one time axis, in the booking's room column.
    let hour_label = harness
        .get_all_by_label(&format!("{target_hour:02}:00"))
        .map(|n| n.rect())
        .next()
        .unwrap();
    let target = egui::Rect::from_center_size(
        egui::pos2(booking.center().x, hour_label.center().y),
        egui::vec2(2.0, 2.0),
    );
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
        .get_all_by_label_contains(&format!("DOE, JANE\n{}", accessions[0]))
        .next()
        .unwrap()
        .click();
    harness.run();
    click(&mut harness, "Check in");
    // A booking on another day than the clock's asks before checking in.
    let booked_today =
        start_of(&store, &accessions[0]).starts_with(&test_now().format("%Y-%m-%d").to_string());
    assert_eq!(
        harness.query_by_label("Check in on another day?").is_some(),
        !booked_today
    );
    if !booked_today {
        click(&mut harness, "Check in anyway");
    }
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
    // Cancelling asks first; keeping it changes nothing.
    click(&mut harness, "Cancel exam…");
    assert!(harness.query_by_label("Cancel this exam?").is_some());
    click(&mut harness, "Keep it as it is");
    assert!(harness.query_by_label("Cancel this exam?").is_none());
    assert_eq!(
        store
            .order_by_accession(&accessions[0])
            .unwrap()
            .unwrap()
            .status,
        "arrived"
    );

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

#[test]
fn the_front_desk_edits_a_patient_records_insurance_and_merges_a_duplicate_with_undo() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(app(dir.path()));
    first_run(&mut harness);
    let admin = harness.state().actor().unwrap().clone();
    let mut store = crate::common::store(dir.path());
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
    // Opening the record is one audit entry, however often it is read again after changes
    // made elsewhere (here an interface registering someone else).
    for n in 0..3 {
        lightbox::his::register(
            &mut store,
            &admin,
            &lightbox::his::Registration {
                patient: lightbox_store::his::PatientRecord {
                    family_name: format!("ELSEWHERE{n}"),
                    ..Default::default()
                },
                identifiers: vec![],
                confirmed_new: true,
            },
        )
        .unwrap();
        harness.run();
    }
    let opened = store
        .search_audit(
            &lightbox_store::administration::AuditFilter {
                action: "patient.read".into(),
                subject: format!("patient:{}", kept.mrn),
                ..Default::default()
            },
            50,
        )
        .unwrap();
    assert_eq!(opened.len(), 1, "{opened:?}");
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

#[test]
fn every_room_is_on_screen_at_1280x720_and_checking_in_on_another_day_asks_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(
            |ui, app: &mut LightboxApp| app.show(ui),
            demo_app(dir.path()),
        );
    harness.run();
    sign_in_as(&mut harness, "frontdesk", "demo-password");
    click(&mut harness, "Schedule");
    let store = crate::common::store(dir.path());
    let rooms = store.rooms(None).unwrap();
    assert!(rooms.len() >= 6, "the demo has its six rooms");
    // Every room's column is on screen, left of the booking panel: no booking out of reach.
    let calendar_right = harness
        .get_by_label_contains("Select a booking")
        .rect()
        .left();
    for room in &rooms {
        let header = harness
            .get_by_label(&format!("{} ({})", room.name, room.modality))
            .rect();
        assert!(
            header.right() <= calendar_right && header.left() >= 0.0,
            "{} at {header:?} is hidden (the calendar ends at {calendar_right})",
            room.name
        );
    }
    // A booking of tomorrow, checked in today: the dialog asks, keeping it changes nothing.
    let tomorrow_exam = store
        .orders_with_status("scheduled")
        .unwrap()
        .into_iter()
        .find(|o| {
            store
                .step_of_order(o.id)
                .unwrap()
                .start_time
                .starts_with("2026-11-26")
        })
        .expect("the demo books exams tomorrow");
    harness.state_mut().schedule().go_to(
        chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        lightbox::ui::CalendarSpan::Day,
    );
    harness.run();
    harness
        .get_by_label_contains(&tomorrow_exam.accession)
        .click();
    harness.run();
    click(&mut harness, "Check in");
    assert!(harness.query_by_label("Check in on another day?").is_some());
    click(&mut harness, "Keep it as it is");
    assert_eq!(
        store
            .order_by_accession(&tomorrow_exam.accession)
            .unwrap()
            .unwrap()
            .status,
        "scheduled"
    );
    click(&mut harness, "Check in");
    click(&mut harness, "Check in anyway");
    assert_eq!(
        store
            .order_by_accession(&tomorrow_exam.accession)
            .unwrap()
            .unwrap()
            .status,
        "arrived"
    );
    harness.snapshot_options(
        "schedule_day_1280",
        &SnapshotOptions::new().max_failed_pixels(50),
    );
}
