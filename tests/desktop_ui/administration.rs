//! The administrator: settings, a dcmtk node echoed, the audit log, HL7 sources, the integration
//! monitor with a resend, the status bar's services, locking and the theme.

use super::*;

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
    let mut store = crate::common::store(dir.path());
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
            .query_by_label_contains("0 waiting, 0 retrying after errors, 1 failed")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("AE: unknown patient")
            .is_some()
    );
    // Every screen's status bar says a message did not get through, a click from its cause.
    assert!(harness.query_by_label("HL7: 1 message(s) failed").is_some());
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
    // Still pending after a failed attempt (the EHR down) is trouble too, not "0 failed".
    store.outbound_retry(id, "connection refused", 0).unwrap();
    harness.run();
    assert!(
        harness
            .query_by_label("HL7: 1 message(s) not delivered yet, retrying")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("0 waiting, 1 retrying after errors, 0 failed")
            .is_some()
    );
    click(&mut harness, "Patients");
    click(
        &mut harness,
        "HL7: 1 message(s) not delivered yet, retrying",
    );
    assert_eq!(harness.state().screen(), Screen::Integration);
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
    let store = crate::common::store(dir.path());
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
    let store = crate::common::store(dir.path());
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

#[test]
fn a_disk_running_out_of_space_shows_in_the_status_bar_of_every_screen() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(app(dir.path()));
    first_run(&mut harness);
    assert!(harness.query_by_label_contains("GiB free of").is_none());
    // No test machine's disk is this full: the practice's level is set above any disk's size.
    let store = crate::common::store(dir.path());
    store
        .set_setting(
            lightbox::archive::disk_space::LOW_DISK_WARNING_SETTING,
            "1000000",
        )
        .unwrap();
    // A new window measures at once (a running one within half a minute).
    let mut harness = harness_for_signed_in_admin(dir.path());
    for screen in ["Orders", "Billing", "Integration"] {
        click(&mut harness, screen);
        assert!(
            harness
                .query_by_label_contains("where the archive is; images will be refused")
                .is_some(),
            "{screen}"
        );
    }
}

/// A new window on `dir`'s practice, signed in as the first run's administrator.
fn harness_for_signed_in_admin(dir: &std::path::Path) -> Harness<'static, LightboxApp> {
    let mut harness = harness(app(dir));
    harness.run();
    sign_in_as(&mut harness, "admin", "correct horse battery");
    harness
}

#[test]
fn the_administrator_pairs_a_workstation_with_a_code_on_screen_and_revokes_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    // Without the API running in this process: the tab says why no code can be made.
    let mut first = harness(app(dir.path()).with_services(std::sync::Arc::new(
        lightbox::desktop::ServicesForWindow::new(&data, None),
    )));
    first_run(&mut first);
    click(&mut first, "Settings");
    click(&mut first, "Workstations");
    assert!(
        first
            .query_by_label_contains("the workstations' API is off on this PC")
            .is_some()
    );
    drop(first);
    // With the API on this PC (as the desktop starts it when its port is set).
    let address: std::net::SocketAddr = "127.0.0.1:8443".parse().unwrap();
    let services = lightbox::desktop::ServicesForWindow::new(&data, None).with_api(address);
    let fingerprint = lightbox::api::tls::PracticeTls::ensure(dir.path())
        .unwrap()
        .ca_fingerprint()
        .unwrap();
    let mut harness = harness(app(dir.path()).with_services(std::sync::Arc::new(services)));
    harness.run();
    sign_in_as(&mut harness, "admin", "correct horse battery");
    click(&mut harness, "Settings");
    click(&mut harness, "Workstations");
    assert!(
        harness
            .query_by_label_contains("connect to https://127.0.0.1:8443")
            .is_some()
    );
    type_into(&mut harness, "New workstation's name", "Réception 2");
    click(&mut harness, "Pair a workstation");
    // The code is on screen, large, with the CA check in its first half.
    let code = harness
        .query_all_by_role(Role::Label)
        .filter_map(|n| n.value())
        .find(|l| l.len() == 19 && l.chars().filter(|c| *c == '-').count() == 3)
        .unwrap_or_else(|| {
            let seen: Vec<String> = harness
                .query_all_by_role(Role::Label)
                .filter_map(|n| n.value())
                .collect();
            panic!("a code of four groups on screen: {seen:?}")
        });
    assert!(lightbox::access::workstations::code_fits_ca(
        &code,
        &fingerprint
    ));
    assert!(harness.query_by_label("waiting for its code").is_some());
    // The workstation types it in (as the API does for it).
    let practice = Practice::over(crate::common::store(dir.path()));
    let paired = practice
        .pair_workstation(&code, &fingerprint, "192.168.1.23")
        .unwrap();
    assert_eq!(paired.name, "Réception 2");
    // The tab reads the list again while the code waits: it shows the workstation paired,
    // from where, and the used code is gone.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    harness.run_steps(3);
    assert!(harness.query_by_label("Réception 2 is paired.").is_some());
    assert!(
        harness.query_by_label(&code).is_none(),
        "the used code is gone"
    );
    assert!(harness.query_by_label("paired").is_some());
    assert!(harness.query_by_label("192.168.1.23").is_some());
    // Revoke: asked first; kept; then revoked.
    click(&mut harness, "Réception 2");
    click(&mut harness, "Revoke workstation…");
    click(&mut harness, "Keep it");
    assert!(harness.query_by_label("paired").is_some());
    click(&mut harness, "Revoke workstation…");
    click(&mut harness, "Revoke now");
    assert!(
        harness
            .query_by_label("Réception 2 revoked; its sessions ended.")
            .is_some()
    );
    assert!(harness.query_by_label("revoked").is_some());
    assert!(
        lightbox::access::workstations::workstation_of(
            &crate::common::store(dir.path()),
            &paired.credential
        )
        .is_err()
    );
}
