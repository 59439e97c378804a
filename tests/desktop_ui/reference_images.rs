//! Screens against their reference images (wgpu's software adapter; tolerance in each test).

use super::*;

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
fn the_demo_practice_fills_every_screen_and_each_main_screen_matches_its_reference_image() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(demo_app(dir.path()));
    harness.run();
    assert!(
        harness
            .query_by_label_contains("Demo practice: sign in as admin (administrator)")
            .is_some()
    );
    let store = crate::common::store(dir.path());
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
    // Today's table sorts by a heading (up, down) and goes back to room and time.
    let accessions = |h: &Harness<'_, LightboxApp>| -> Vec<String> {
        h.state()
            .today()
            .listed()
            .into_iter()
            .map(|r| r.0)
            .collect()
    };
    let own_order = accessions(&harness);
    let mut sorted = own_order.clone();
    sorted.sort();
    assert_ne!(
        own_order, sorted,
        "the demo's day is not in accession order"
    );
    click(&mut harness, "Accession");
    assert_eq!(accessions(&harness), sorted);
    click(&mut harness, "Accession ^");
    sorted.reverse();
    assert_eq!(accessions(&harness), sorted);
    click(&mut harness, "Accession v");
    assert_eq!(accessions(&harness), own_order);
    // Radiologist: the worklist holds the completed and preliminary exams.
    sign_in_as(&mut harness, "drreed", "demo-password");
    assert_eq!(harness.state().reading().rows().len(), 5);
    // Every exam row names its patient with the birth date: two identifiers on each row.
    for row in harness.state().reading().rows().to_vec() {
        let name = format!("{}, {}", row.family_name.to_uppercase(), row.given_name);
        assert!(
            harness.query_all_by_label(&name).next().is_some(),
            "{name} not shown"
        );
        assert!(
            harness
                .query_all_by_label_contains(&format!("{} (", row.birth_date))
                .next()
                .is_some()
        );
    }
    // A click on a heading sorts the worklist by it (names A→Z, then Z→A), and back.
    let names = |h: &Harness<'_, LightboxApp>| -> Vec<String> {
        h.state()
            .reading()
            .rows()
            .iter()
            .map(|r| r.family_name.to_uppercase())
            .collect()
    };
    let own_order = names(&harness);
    click(&mut harness, "Patient");
    let mut sorted = own_order.clone();
    sorted.sort();
    assert_eq!(names(&harness), sorted);
    harness.get_by_label("Patient ^").click();
    settle(&mut harness);
    sorted.reverse();
    assert_eq!(names(&harness), sorted);
    harness.get_by_label("Priority").click();
    settle(&mut harness);
    // The reading room: the worklist and the report editor docked beside it.
    let first = harness.state().reading().rows()[0].accession.clone();
    click(&mut harness, &first);
    let before = harness.get_by_label(&first).rect();
    click(&mut harness, "Open report");
    // Reading the sorted list again after the action leaves the row where it was.
    assert_eq!(harness.get_by_label(&first).rect(), before);
    assert_eq!(harness.state().reading().selected(), Some(first.as_str()));
    harness.snapshot_options("reading", &SnapshotOptions::new().max_failed_pixels(50));
    // GARCIA's head CT opens with last year's head CT listed as its prior.
    let garcia_exam = store
        .orders_of_patient(garcia.id)
        .unwrap()
        .into_iter()
        .find(|o| o.status == "completed")
        .unwrap();
    click(&mut harness, &garcia_exam.accession);
    click(&mut harness, "Images");
    // The reading room shows the images beside the report.
    assert_eq!(harness.state().screen(), Screen::Reading);
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
    click(&mut harness, "Save as protocol…");
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
    // Down the exam's stack to image 8, then to the prior and back: still image 8.
    harness.state_mut().viewer().scroll_by(7);
    harness.step();
    let left_at = harness.state_mut().viewer().position();
    assert_eq!(left_at.1, 7);
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
    assert_eq!(
        harness.state_mut().viewer().position(),
        left_at,
        "the exam is found where it was left"
    );
    // Only the unassigned exams when asked.
    click(&mut harness, "Reading");
    click(&mut harness, "Close images");
    click(&mut harness, &garcia_exam.accession);
    click(&mut harness, "Claim");
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
    click(&mut harness, &first);
    click(&mut harness, "Assign to");
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
    // Charges sort by amount as numbers, not as text.
    click(&mut harness, "Amount");
    let amounts: Vec<i64> = harness
        .state()
        .billing()
        .charges()
        .iter()
        .map(|c| c.amount_cents)
        .collect();
    assert!(amounts.windows(2).all(|w| w[0] <= w[1]), "{amounts:?}");
    click(&mut harness, "Amount ^");
    click(&mut harness, "Amount v");
}

/// Every main screen of the demo practice at one window size and theme, as reference images
/// `screens_<w>x<h>_<theme>_<screen>.png`: the front desk's, the technologist's, the
/// radiologist's (worklist with a report open, the viewer with the prior) and the
/// administrator's. Each was looked at when it changed.
fn every_screen_at(width: f32, height: f32, theme: &str) {
    let dir = tempfile::tempdir().unwrap();
    let app = demo_app(dir.path());
    crate::common::store(dir.path())
        .set_setting("desktop.theme", theme)
        .unwrap();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(width, height))
        .build_ui_state(|ui, app: &mut LightboxApp| app.show(ui), app);
    harness.run();
    sign_in_as(&mut harness, "admin", "demo-password");
    let name = |screen: &str| format!("screens_{width}x{height}_{theme}_{screen}");
    let options = SnapshotOptions::new().max_failed_pixels(50);
    for screen in [
        "Patients",
        "Orders",
        "Schedule",
        "Today",
        "Billing",
        "Integration",
        "Settings",
    ] {
        // The navigation bar's entry (a screen's heading may carry the same word).
        harness.get_all_by_label(screen).next().unwrap().click();
        settle(&mut harness);
        harness.snapshot_options(name(&screen.to_lowercase()), &options);
    }
    click(&mut harness, "Reading");
    let first = harness.state().reading().rows()[0].accession.clone();
    click(&mut harness, &first);
    click(&mut harness, "Open report");
    harness.snapshot_options(name("reading"), &options);
    click(&mut harness, "Images");
    step_until(&mut harness, "the exam and its prior", |app| {
        app.viewer().shown_size().is_some() && app.viewer().every_pane_drawn()
    });
    harness.hover_at(egui::pos2(2.0, height - 2.0));
    settle(&mut harness);
    harness.snapshot_options(name("viewer"), &options);
}

#[test]
fn every_screen_at_1280x720_light() {
    every_screen_at(1280.0, 720.0, "light");
}

#[test]
fn every_screen_at_1280x720_dark() {
    every_screen_at(1280.0, 720.0, "dark");
}

#[test]
fn every_screen_at_1920x1080_light() {
    every_screen_at(1920.0, 1080.0, "light");
}

#[test]
fn every_screen_at_1920x1080_dark() {
    every_screen_at(1920.0, 1080.0, "dark");
}
