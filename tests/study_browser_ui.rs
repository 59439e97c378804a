//! The study browser driven through its real widgets (egui_kittest): the archive's studies
//! are listed, the search narrows them, association events appear live, and the screen
//! matches its reference image rendered on lavapipe.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::net::SocketAddr;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use egui_kittest::{Harness, SnapshotOptions};
use lightbox::events::{self, ServiceEvent};
use lightbox::ui::StudyBrowser;

use common::*;

fn app_with_corpus(
    dir: &std::path::Path,
) -> (
    StudyBrowser,
    lightbox::events::EventSender,
    lightbox::access::Actor,
) {
    let mut paths = vec![];
    for name in ["CT_small.dcm", "MR_small.dcm", "US1_UNCR.dcm"] {
        paths.push(corpus_dicom().join(name).display().to_string());
    }
    let mut args = vec!["import"];
    args.extend(paths.iter().map(|s| s.as_str()));
    let out = lightbox(dir, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = common::store(dir);
    let admin =
        lightbox::access::create_first_administrator(&store, "admin", "Admin", PASSWORD).unwrap();
    lightbox::access::create_user(
        &store,
        &admin,
        "tina",
        "Tina Tech",
        lightbox::access::Role::Technologist,
        PASSWORD,
    )
    .unwrap();
    let practice = lightbox::practice::Practice::over(store);
    let tech = practice.sign_in("tina", PASSWORD, "test").unwrap();
    let (sender, receiver) = events::channel(64, None);
    (
        StudyBrowser::new(
            practice,
            receiver,
            "DICOM: LIGHTBOX on 0.0.0.0:11112".into(),
        ),
        sender,
        tech,
    )
}

const PASSWORD: &str = "long enough password";

#[test]
fn lists_studies_filters_by_patient_name_and_shows_associations_live() {
    let dir = tempfile::tempdir().unwrap();
    let (app, sender, tech) = app_with_corpus(dir.path());
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1366.0, 768.0))
        .build_ui_state(move |ui, app: &mut StudyBrowser| app.show(ui, &tech), app);
    harness.run();
    assert!(harness.query_by_label("3 studies").is_some());
    assert_eq!(harness.state().studies().len(), 3);

    // Type part of the CT patient's name: only that study stays.
    let ct_name = harness
        .state()
        .studies()
        .iter()
        .find(|s| s.modalities_in_study == "CT")
        .unwrap()
        .patient_name
        .clone();
    // All three corpus patients are "CompressedSamples^…": type all but the last letter.
    let prefix: String = ct_name.chars().take(ct_name.chars().count() - 1).collect();
    harness
        .get_by_role_and_label(Role::TextInput, "Patient name")
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, "Patient name")
        .type_text(&prefix.to_lowercase());
    harness.run();
    let typed = harness
        .get_by_role_and_label(Role::TextInput, "Patient name")
        .value();
    assert!(
        harness.query_by_label("1 studies").is_some(),
        "search did not narrow the list (field holds {typed:?}, prefix {prefix:?})"
    );
    assert_eq!(harness.state().studies()[0].patient_name, ct_name);

    harness.get_by_label("Clear").click();
    harness.run();
    assert!(harness.query_by_label("3 studies").is_some());

    // A service event shows up without any refresh.
    assert!(harness.query_by_label("No associations yet.").is_some());
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    sender.send(ServiceEvent::AssociationOpened {
        id: 7,
        calling_ae: "CT_SCANNER".into(),
        peer,
    });
    sender.send(ServiceEvent::AssociationClosed {
        id: 7,
        outcome: "released, 0 stored".into(),
    });
    harness.run();
    assert!(harness.query_by_label_contains("#7 CT_SCANNER").is_some());
    assert!(
        harness
            .query_by_label_contains("released, 0 stored")
            .is_some()
    );
}

#[test]
fn study_browser_matches_its_reference_image() {
    let dir = tempfile::tempdir().unwrap();
    let (app, sender, tech) = app_with_corpus(dir.path());
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    sender.send(ServiceEvent::AssociationOpened {
        id: 1,
        calling_ae: "MR_SCANNER".into(),
        peer,
    });
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1366.0, 768.0))
        .build_ui_state(move |ui, app: &mut StudyBrowser| app.show(ui, &tech), app);
    harness.run();
    // Rendered on Mesa lavapipe; tolerance: egui's default per-pixel colour threshold, and at
    // most 50 pixels may exceed it (font hinting differences between Mesa versions).
    harness.snapshot_options(
        "study_browser",
        &SnapshotOptions::new().max_failed_pixels(50),
    );
}
