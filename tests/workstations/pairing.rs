//! Pairing an unpaired workstation from its window.

use super::*;

#[test]
fn an_unpaired_workstation_pairs_from_its_window_and_a_wrong_code_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    practice_with_orders(dir.path(), 0);
    let server = Server::start_at(dir.path(), CLOCK);
    let folder = dir.path().join("ws-new");
    let keep_in = folder.clone();
    let pair_with: lightbox::ui::PairWith = Arc::new(move |server, code| {
        let paired = pair(server, code).map_err(|e| e.to_string())?;
        paired.save(&keep_in).map_err(|e| e.to_string())?;
        Ok(paired.name)
    });
    let form = lightbox::ui::PairingScreen::new(
        &format!("https://localhost:{}", server.api_port),
        pair_with,
    );
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(
            |ui, state: &mut (lightbox::ui::PairingScreen, Option<String>)| {
                if let Some(name) = state.0.show(ui) {
                    state.1 = Some(name);
                }
            },
            (form, None),
        );
    harness.run();
    assert!(
        harness
            .query_by_label("Pair this computer with the practice server")
            .is_some()
    );
    // A code from another server (or mistyped): its first half does not fit this server's
    // certificate, and nothing is sent.
    let code_field = |h: &mut Harness<'_, (lightbox::ui::PairingScreen, Option<String>)>| {
        h.get_by_role_and_label(AccessRole::TextInput, "Pairing code")
            .click();
        h.run();
    };
    code_field(&mut harness);
    harness
        .get_by_role_and_label(AccessRole::TextInput, "Pairing code")
        .type_text("ABCD-EFGH-JKMN-PQRS");
    harness.get_by_label("Pair").click();
    let start = Instant::now();
    while harness
        .query_by_label_contains("does not fit this code")
        .is_none()
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no refusal shown"
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!folder.join("server.json").exists(), "nothing kept");

    // The real code, typed in lower case with spaces: paired, and kept for the next start.
    let code = common::pairing_code(dir.path(), "Reading room à la maison");
    code_field(&mut harness);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.key_press(egui::Key::Backspace);
    harness
        .get_by_role_and_label(AccessRole::TextInput, "Pairing code")
        .type_text(&code.to_lowercase().replace('-', " "));
    harness.get_by_label("Pair").click();
    let start = Instant::now();
    while harness.state().1.is_none() {
        assert!(start.elapsed() < Duration::from_secs(20), "not paired");
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        harness.state().1.as_deref(),
        Some("Reading room à la maison")
    );
    assert!(lightbox::workstation::is_paired(&folder));
    let store = common::store(dir.path());
    assert!(
        store
            .workstations()
            .unwrap()
            .iter()
            .any(|w| w.name == "Reading room à la maison" && w.paired_at.is_some()),
        "the server lists it as paired"
    );
}
