//! The desktop shell driven through its real widgets (egui_kittest): first run creates the
//! practice and its administrator, sign-in refuses a wrong password, the front desk registers a
//! patient (with the duplicate warning) and finds them by typing, and the Integration monitor
//! shows an HL7 message that arrived on another connection and resends a failed ORU — all
//! without a refresh button. Screens are checked against reference images rendered on lavapipe.
//!
//! Kind: drives the UI in-process (no binary started); the fixtures every test shares are here,
//! the tests by role in the modules below.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

#[path = "../common/mod.rs"]
mod common;

mod administration;
mod exam_lifecycle;
mod front_desk;
mod reading_room;
mod reference_images;
mod viewer;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use egui_kittest::{Harness, SnapshotOptions};
use lightbox::events;
use lightbox::practice::Practice;
use lightbox::ui::{ImagesPlacement, LightboxApp, Screen};
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
    let store = crate::common::store(dir);
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
    // The first run ends on the set-up checklist; the tests go on from Patients.
    assert_eq!(harness.state().screen(), Screen::Settings);
    assert!(
        harness
            .query_by_label_contains("Getting started: ")
            .is_some()
    );
    assert!(harness.query_by_label("Set up staff accounts").is_some());
    click(harness, "Set up practice details");
    assert!(harness.query_by_label("Address").is_some());
    click(harness, "Patients");
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
