//! A practice server and its workstations on loopback: `lightbox serve` runs as its own
//! process; two workstation windows (egui_kittest driving the real screens) run in this one,
//! each over its own HTTPS link — paired with a code, signed in as a person, following the
//! server's event stream. The front desk books on one and the technologist sees it on the
//! other without a click; strangers are refused; the server killed -9 and restarted loses the
//! workstations nothing.
//!
//! Kind: drives the UI in-process against a server process (the binary started).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

#[path = "../common/mod.rs"]
mod common;

mod front_desk;
mod into_the_archive;
mod pairing;
mod reading;
mod refusals;
mod server_restart;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Server;
use egui::accesskit::Role as AccessRole;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use lightbox::access::{Actor, Role};
use lightbox::practice::Practice;
use lightbox::practice::remote::{PracticeLink, RemoteFailure, WireError};
use lightbox::ui::{LightboxApp, Screen};
use lightbox::workstation::{ServerLink, WorkstationServices, pair};

const PASSWORD: &str = "correct horse battery";
/// The server's and the windows' "now": Wednesday 2026-11-25, 08:00.
const CLOCK: &str = "2026-11-25T08:00";

fn test_now() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap()
}

/// A practice with starter rooms and procedures, a front desk, a technologist and an
/// administrator, and `orders` MR lumbar spine orders waiting for a slot (their accessions).
fn practice_with_orders(data: &Path, orders: usize) -> Vec<String> {
    let mut store = common::store(data);
    lightbox::ris::seed_starter_data(&store).unwrap();
    common::add_user(data, "desk", "Dora Désirée Desk", Role::FrontDesk, PASSWORD);
    common::add_user(data, "tech", "Théo 山田 Tech", Role::Technologist, PASSWORD);
    common::add_user(data, "admin", "Ada Admin", Role::Administrator, PASSWORD);
    let actor = Actor::system();
    let patient = lightbox::his::register(
        &mut store,
        &actor,
        &lightbox::his::Registration {
            patient: lightbox_store::his::PatientRecord {
                family_name: "ÅSTRÖM".into(),
                given_name: "BJÖRN".into(),
                birth_date: "1970-03-15".into(),
                ..Default::default()
            },
            identifiers: vec![],
            confirmed_new: true,
        },
    )
    .unwrap();
    (0..orders)
        .map(|_| place_order(&mut store, &actor, patient.id))
        .collect()
}

fn place_order(store: &mut lightbox_store::Store, actor: &Actor, patient: i64) -> String {
    lightbox::ris::place_order(
        store,
        actor,
        &lightbox::ris::OrderRequest::routine(patient, "72148", "Back pain"),
        test_now(),
    )
    .unwrap()
    .order
    .accession
}

/// Pairs a new workstation named `name` with the server (code from `lightbox workstations
/// pair`, the CA checked against it by the workstation's own client) and opens its link.
fn paired_link(server: &Server, name: &str) -> Arc<ServerLink> {
    let code = common::pairing_code(&server.data, name);
    let paired = pair(&format!("https://localhost:{}", server.api_port), &code).unwrap();
    assert_eq!(paired.name, name);
    Arc::new(ServerLink::new(paired).unwrap())
}

/// A workstation window over `link`, its clock at [`test_now`].
fn workstation(link: Arc<ServerLink>, folder: &Path) -> Harness<'static, LightboxApp> {
    let services = Arc::new(WorkstationServices::new(
        link.clone(),
        Err("not in this test".into()),
    ));
    let practice = Practice::remote(link, folder).unwrap();
    let (_sender, receiver) = lightbox::events::channel(4, None);
    let mut app = LightboxApp::new(practice, receiver, "Workstation".into())
        .unwrap()
        .with_services(services);
    app.set_clock(test_now());
    Harness::builder()
        .with_size(egui::vec2(1366.0, 768.0))
        .build_ui_state(|ui, app: &mut LightboxApp| app.show(ui), app)
}

fn settle(harness: &mut Harness<'_, LightboxApp>) {
    for _ in 0..5 {
        if harness.try_run().is_ok() {
            return;
        }
    }
    harness.run();
}

fn type_into(harness: &mut Harness<'_, LightboxApp>, label: &str, text: &str) {
    let role = [AccessRole::TextInput, AccessRole::MultilineTextInput]
        .into_iter()
        .find(|r| harness.query_by_role_and_label(*r, label).is_some())
        .unwrap_or(AccessRole::PasswordInput);
    harness.get_by_role_and_label(role, label).click();
    settle(harness);
    harness.get_by_role_and_label(role, label).type_text(text);
    settle(harness);
}

fn click(harness: &mut Harness<'_, LightboxApp>, label: &str) {
    harness.get_by_label(label).click();
    settle(harness);
}

fn sign_in(harness: &mut Harness<'_, LightboxApp>, login: &str, password: &str) {
    settle(harness);
    type_into(harness, "Login", login);
    type_into(harness, "Password", password);
    click(harness, "Sign in");
}

/// Runs frames (the window repaints itself twice a second; the link wakes it sooner) until
/// `done` holds; how long it took. Fails after `limit`.
fn frames_until(
    harness: &mut Harness<'_, LightboxApp>,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&mut Harness<'_, LightboxApp>) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        harness.step();
        if done(harness) {
            settle(harness);
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn start_of(data: &Path, accession: &str) -> String {
    let store = common::store(data);
    let order = store.order_by_accession(accession).unwrap().unwrap();
    store.step_of_order(order.id).unwrap().start_time
}

fn today_lists(harness: &mut Harness<'_, LightboxApp>, accession: &str) -> bool {
    harness
        .state()
        .today()
        .listed()
        .iter()
        .any(|(a, status, _)| a == accession && status == "scheduled")
}

/// The stored values of an image file's first frame.
fn stored_values(path: &Path) -> Vec<i32> {
    match lightbox::imaging::ImageFile::open(path)
        .unwrap()
        .frame(0)
        .unwrap()
        .content
    {
        lightbox::imaging::frame::FrameContent::Grey { stored, .. } => stored,
        _ => panic!("a greyscale CT slice"),
    }
}
