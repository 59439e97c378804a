//! The reading room: the exam's images docked between the worklist and the report (never over
//! either), or in their own window; each radiologist's layout kept for their next sign-in; the
//! viewer's toolbar keys; files dropped on the window imported.

use super::*;

/// GARCIA's completed head CT, selected on drreed's reading worklist.
fn garcia_selected(harness: &mut Harness<'_, LightboxApp>, dir: &std::path::Path) -> String {
    let store = crate::common::store(dir);
    let garcia = store.search_patients("GARCIA", 5).unwrap().remove(0);
    let exam = store
        .orders_of_patient(garcia.id)
        .unwrap()
        .into_iter()
        .find(|o| o.status == "completed")
        .unwrap();
    click(harness, "Reading");
    click(harness, &exam.accession);
    exam.accession
}

fn disjoint(a: egui::Rect, b: egui::Rect) -> bool {
    !a.intersects(b)
}

#[test]
fn the_images_dock_between_worklist_and_report_and_each_reader_keeps_their_layout() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = on_gpu_harness(demo_app(dir.path()));
    harness.run();
    sign_in_as(&mut harness, "drreed", "demo-password");
    let accession = garcia_selected(&mut harness, dir.path());
    click(&mut harness, "Open report");
    click(&mut harness, "Images");
    // The images open in the reading room itself, between the worklist and the report.
    assert_eq!(harness.state().screen(), Screen::Reading);
    assert_eq!(
        harness.state().reading().images_placement(),
        Some(ImagesPlacement::Docked)
    );
    step_until(&mut harness, "the exam's image", |app| {
        app.viewer().shown_size().is_some()
    });
    let image = harness.state_mut().viewer().image_rect().unwrap();
    let report = harness.get_by_label("Report text").rect();
    assert!(disjoint(image, report), "{image:?} over {report:?}");
    // The worklist is folded away while reading; shown, it takes its own column.
    assert!(harness.query_by_label(&accession).is_none());
    click(&mut harness, "Worklist");
    step_until(&mut harness, "the image beside the worklist", |app| {
        app.viewer().shown_size().is_some()
    });
    let row = harness.get_by_label(&accession).rect();
    let image = harness.state_mut().viewer().image_rect().unwrap();
    let report = harness.get_by_label("Report text").rect();
    assert!(disjoint(row, image), "{row:?} under {image:?}");
    assert!(disjoint(row, report), "{row:?} under {report:?}");
    assert!(disjoint(image, report), "{image:?} over {report:?}");

    // Keys of the viewer's toolbar act on the docked images, not while typing the report.
    harness.key_press(egui::Key::L);
    harness.key_press(egui::Key::R);
    harness.key_press(egui::Key::I);
    // (Steps, not run(): the viewer draws again after a rotation, and keeps asking to.)
    step_until(&mut harness, "the keys' effect", |app| {
        app.viewer().tool_and_view() == ("Length", 1, false, true)
    });
    harness.get_by_label("Report text").click();
    harness.run_steps(3);
    harness.key_press(egui::Key::R);
    harness.run_steps(3);
    assert_eq!(harness.state_mut().viewer().tool_and_view().1, 1);
    harness.key_press(egui::Key::Escape);
    harness.run_steps(3);

    // The images go to their own window (a second monitor); the choice is drreed's.
    click(&mut harness, "Images in own window");
    assert_eq!(
        harness.state().reading().images_placement(),
        Some(ImagesPlacement::OwnWindow)
    );
    step_until(&mut harness, "the image in its window", |app| {
        app.viewer().shown_size().is_some()
    });
    let store = crate::common::store(dir.path());
    assert_eq!(
        store
            .user_preference("drreed", "reading.images_in_own_window")
            .unwrap()
            .as_deref(),
        Some("yes")
    );
    assert_eq!(
        store
            .user_preference("drreed", "reading.worklist_shown_while_reading")
            .unwrap()
            .as_deref(),
        Some("yes")
    );
    // Signed out and in again, drreed's images open in their own window at once ...
    click(&mut harness, "Sign out");
    sign_in_as(&mut harness, "drreed", "demo-password");
    garcia_selected(&mut harness, dir.path());
    click(&mut harness, "Images");
    assert_eq!(
        harness.state().reading().images_placement(),
        Some(ImagesPlacement::OwnWindow)
    );
    // (Here the window floats inside the main one, as where a platform has a single window.)
    harness.get_by_label("Close images").click_accesskit();
    harness.run();
    assert_eq!(harness.state().reading().images_placement(), None);
    // ... and the administrator's stay docked: one person's layout is not another's.
    click(&mut harness, "Sign out");
    sign_in_as(&mut harness, "admin", "demo-password");
    garcia_selected(&mut harness, dir.path());
    click(&mut harness, "Images");
    assert_eq!(
        harness.state().reading().images_placement(),
        Some(ImagesPlacement::Docked)
    );
}

/// A file dropped on the window, as a desktop hands it over.
#[derive(Debug)]
struct DroppedPath(std::path::PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn files_dropped_on_the_window_are_imported_and_shown_in_the_viewer() {
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    let input = dir.path().join("dropped");
    std::fs::create_dir_all(&input).unwrap();
    let series = lightbox::pacs::synthetic::SyntheticSeries::new(3, 32);
    for i in 0..4 {
        series
            .slice(i)
            .unwrap()
            .write_to_file(input.join(format!("IM{i:03}")))
            .unwrap();
    }
    let mut harness =
        harness(app(dir.path()).with_services(window_services(dir.path(), &services.ingest)));
    first_run(&mut harness);
    assert_ne!(harness.state().screen(), Screen::Viewer);
    harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(DroppedPath(input.clone())));
    harness.step();
    // The viewer comes forward with the import's progress, and the files reach the archive.
    assert_eq!(harness.state().screen(), Screen::Viewer);
    step_until(&mut harness, "the import", |app| !app.viewer().importing());
    assert!(
        harness
            .query_by_label_contains("Import finished: 4 new, 0 already archived")
            .is_some()
    );
    let store = crate::common::store(dir.path());
    assert_eq!(
        store
            .query_index(lightbox_store::index::Level::Image, &[], 100)
            .unwrap()
            .len(),
        4
    );
}
