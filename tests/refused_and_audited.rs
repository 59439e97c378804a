//! One refusal, three front ends: merging two patients is not the front desk's to do, and an
//! order feed may not send merges. Whether the request comes from the desktop window, the
//! command line or an HL7 interface, it is refused by the same permission and leaves the same
//! audit row: the action (`MergePatients`), who asked, and outcome `refused`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use common::*;
use egui::accesskit::Role as A11yRole;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use lightbox::access::{Actor, Role};
use lightbox_store::Store;
use lightbox_store::administration::AuditFilter;

const PASSWORD: &str = "long enough password";

/// A practice with an administrator, a front-desk user and two patients (MRNs returned).
fn practice(dir: &std::path::Path) -> (Store, Actor, String, String) {
    let mut store = common::store(dir);
    lightbox::ris::seed_starter_data(&store).unwrap();
    let admin =
        lightbox::access::create_first_administrator(&store, "admin", "Admin", PASSWORD).unwrap();
    lightbox::access::create_user(
        &store,
        &admin,
        "fd",
        "Front Desk",
        Role::FrontDesk,
        PASSWORD,
    )
    .unwrap();
    let mut register = |given: &str| {
        lightbox::his::register(
            &mut store,
            &admin,
            &lightbox::his::Registration {
                patient: lightbox_store::his::PatientRecord {
                    family_name: "NOWAK".into(),
                    given_name: given.into(),
                    birth_date: "1950-05-05".into(),
                    sex: "F".into(),
                    ..Default::default()
                },
                identifiers: vec![lightbox_store::his::PatientIdentifier {
                    value: format!("EXT-{given}"),
                    issuer: "NORTHCLINIC".into(),
                }],
                confirmed_new: true,
            },
        )
        .unwrap()
        .mrn
    };
    let (a, b) = (register("ANNA"), register("HANNA"));
    (store, admin, a, b)
}

/// The refused merges audited for `actor`.
fn refused_merges(store: &Store, actor: &str) -> Vec<lightbox_store::access::AuditEntry> {
    store
        .search_audit(
            &AuditFilter {
                actor: actor.into(),
                action: "MergePatients".into(),
                refused_only: true,
                ..AuditFilter::default()
            },
            10,
        )
        .unwrap()
}

#[test]
fn the_desktop_refuses_a_front_desk_merge_and_audits_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _admin, keep, merge) = practice(dir.path());
    let (_sender, receiver) = lightbox::events::channel(64, None);
    let app = lightbox::ui::LightboxApp::new(
        lightbox::practice::Practice::over(store.reopen().unwrap()),
        receiver,
        "test".into(),
    )
    .unwrap();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1366.0, 768.0))
        .build_ui_state(|ui, app: &mut lightbox::ui::LightboxApp| app.show(ui), app);
    harness.run();
    type_into(&mut harness, "Login", "fd");
    type_into(&mut harness, "Password", PASSWORD);
    click(&mut harness, "Sign in");
    type_into(&mut harness, "Search patients", &keep);
    click(&mut harness, &keep);
    type_into(&mut harness, "MRN of the duplicate", &merge);
    click(&mut harness, "Preview merge");
    assert!(
        harness.query_by_label_contains("may not").is_some(),
        "the front desk is told in plain words"
    );
    assert!(harness.query_by_label("Merge now").is_none());
    let refused = refused_merges(&store, "fd");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].outcome, "refused");
    let duplicate = store.patient_by_identifier(&merge, "").unwrap().unwrap();
    assert!(
        duplicate.merged_into.is_none(),
        "the merge was refused: both records stand"
    );
}

type App = lightbox::ui::LightboxApp;

/// Types into the field labelled `label` (password boxes have their own role).
fn type_into(harness: &mut Harness<'_, App>, label: &str, text: &str) {
    let role = [A11yRole::TextInput, A11yRole::MultilineTextInput]
        .into_iter()
        .find(|r| harness.query_by_role_and_label(*r, label).is_some())
        .unwrap_or(A11yRole::PasswordInput);
    harness.get_by_role_and_label(role, label).click();
    harness.run();
    harness.get_by_role_and_label(role, label).type_text(text);
    harness.run();
}

fn click(harness: &mut Harness<'_, App>, label: &str) {
    harness.get_by_label(label).click();
    harness.run();
}

#[test]
fn the_command_line_refuses_a_front_desk_merge_and_audits_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _admin, keep, merge) = practice(dir.path());
    let out = std::process::Command::new(lightbox_bin())
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "--user", "fd", "patients", "merge", "--keep", &keep, "--merge", &merge,
        ])
        .env("LIGHTBOX_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("may not"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(refused_merges(&store, "fd").len(), 1);
    // A wrong password is no identity at all; the administrator's right one is.
    let wrong = std::process::Command::new(lightbox_bin())
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "--user",
            "admin",
            "--password-stdin",
            "settings",
            "set",
            "practice.phone",
            "555-0100",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"not the password\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(!wrong.status.success());
    let right = std::process::Command::new(lightbox_bin())
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "--user",
            "admin",
            "settings",
            "set",
            "practice.phone",
            "555-0100",
        ])
        .env("LIGHTBOX_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stderr)
    );
    let changes = store
        .search_audit(
            &AuditFilter {
                actor: "admin".into(),
                action: "setting.change".into(),
                ..AuditFilter::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].origin, "command line");
}

#[test]
fn an_order_feed_sending_a_merge_is_refused_and_audited_like_a_role() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _admin, _keep, _merge) = practice(dir.path());
    // EPIC is trusted for registrations and orders, not for merges.
    store
        .save_hl7_source(&lightbox_store::hl7_sources::Hl7Source {
            name: "ehr".into(),
            application: "EPIC".into(),
            host: "127.0.0.1".into(),
            messages: "adt,orders".into(),
            ..Default::default()
        })
        .unwrap();
    let server = Server::start_with(dir.path(), "LIGHTBOX", 0);
    let out = std::process::Command::new(python().parent().unwrap().join("mllp_send"))
        .args(["--loose", "-p", &server.hl7_port.to_string(), "-f"])
        .arg(corpus().join("hl7/adt_a40_merge.hl7"))
        .arg("127.0.0.1")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("MSA|AR"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(refused_merges(&store, "hl7:EPIC").len(), 1);
}

#[test]
fn without_a_user_the_command_line_is_the_os_administrator_recorded_as_such_or_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _admin, _keep, _merge) = practice(dir.path());
    let out = std::process::Command::new(lightbox_bin())
        .arg("--data-dir")
        .arg(dir.path())
        .args(["settings", "set", "practice.phone", "555-0199"])
        // A name from the environment is no identity.
        .env("USER", "admin")
        .env_remove("LIGHTBOX_PASSWORD")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let changes = store
        .search_audit(
            &AuditFilter {
                action: "setting.change".into(),
                ..AuditFilter::default()
            },
            10,
        )
        .unwrap();
    if running_as_root() {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].actor, "os-administrator");
        assert!(changes[0].origin.contains("operating system administrator"));
    } else {
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("--user"));
        assert!(changes.is_empty(), "{changes:?}");
    }
}

#[test]
fn a_new_server_gets_its_first_administrator_from_the_command_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let init = |login: &str| {
        std::process::Command::new(lightbox_bin())
            .arg("--data-dir")
            .arg(dir.path())
            .args(["users", "init", "--login", login, "--name", "Zoë Ødegård"])
            .args(["--practice", "Praxis Müller 東京"])
            .env("LIGHTBOX_PASSWORD", PASSWORD)
            .output()
            .unwrap()
    };
    let first = init("zoe");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Once there is a user, nobody creates another administrator this way.
    let second = init("mallory");
    assert!(!second.status.success());
    let store = common::store(dir.path());
    let users = store.users().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].full_name, "Zoë Ødegård");
    assert_eq!(users[0].role, "administrator");
    assert_eq!(
        store.setting("practice.name").unwrap().as_deref(),
        Some("Praxis Müller 東京")
    );
    // And that administrator can act.
    let out = std::process::Command::new(lightbox_bin())
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--user", "zoe", "nodes", "list"])
        .env("LIGHTBOX_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_administrator_adds_and_lists_accounts_from_the_command_line_and_others_may_not() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let lightbox = |args: &[&str], stdin: &str| {
        let mut child = std::process::Command::new(lightbox_bin())
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env_remove("LIGHTBOX_PASSWORD")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let init = lightbox(
        &[
            "users",
            "init",
            "--login",
            "zoe",
            "--name",
            "Zoë",
            "--practice",
            "Praxis",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    // The administrator's own password first, then the new account's, both on standard input.
    let add = lightbox(
        &[
            "--user",
            "zoe",
            "--password-stdin",
            "users",
            "add",
            "--login",
            "drreed",
            "--role",
            "radiologist",
            "--name",
            "Dr Ana Reed-Ødegård, MD",
        ],
        &format!("{PASSWORD}\nreading room 東京 password\n"),
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let list = lightbox(
        &["--user", "zoe", "--password-stdin", "users", "list"],
        &format!("{PASSWORD}\n"),
    );
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert!(
        listed.contains("drreed\tradiologist\tactive\tDr Ana Reed-Ødegård, MD"),
        "{listed}"
    );
    // The new account signs in with its password; a radiologist may not add accounts, a
    // made-up role is refused, and nothing is created either way.
    let by_radiologist = lightbox(
        &[
            "--user",
            "drreed",
            "--password-stdin",
            "users",
            "add",
            "--login",
            "eve",
            "--role",
            "administrator",
            "--name",
            "Eve",
        ],
        "reading room 東京 password\nsecret password\n",
    );
    assert!(!by_radiologist.status.success());
    let refusal = String::from_utf8_lossy(&by_radiologist.stderr);
    assert!(!refusal.contains("wrong password"), "{refusal}");
    let bad_role = lightbox(
        &[
            "--user",
            "zoe",
            "--password-stdin",
            "users",
            "add",
            "--login",
            "eve",
            "--role",
            "chief",
            "--name",
            "Eve",
        ],
        &format!("{PASSWORD}\nsecret password\n"),
    );
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"));
    let store = common::store(dir.path());
    let logins: Vec<String> = store
        .users()
        .unwrap()
        .into_iter()
        .map(|u| u.login)
        .collect();
    assert_eq!(logins.len(), 2, "{logins:?}");
    let created = store
        .search_audit(
            &AuditFilter {
                action: "user.create".into(),
                ..AuditFilter::default()
            },
            10,
        )
        .unwrap();
    assert!(
        created
            .iter()
            .any(|a| a.actor == "zoe" && a.subject.contains("drreed")),
        "{created:?}"
    );
}
