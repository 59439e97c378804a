//! A practice server and its workstations on loopback: `lightbox serve` runs as its own
//! process; two workstation windows (egui_kittest driving the real screens) run in this one,
//! each over its own HTTPS link — paired with a code, signed in as a person, following the
//! server's event stream. The front desk books on one and the technologist sees it on the
//! other without a click; strangers are refused; the server killed -9 and restarted loses the
//! workstations nothing.
//!
//! Kind: drives the UI in-process against a server process (the binary started).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

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

#[test]
fn the_front_desk_books_on_one_workstation_and_the_technologist_sees_it_live_on_another() {
    let dir = tempfile::tempdir().unwrap();
    let accessions = practice_with_orders(dir.path(), 1);
    let server = Server::start_at(dir.path(), CLOCK);
    let mut desk = workstation(
        paired_link(&server, "Front desk Zoë"),
        &dir.path().join("ws-desk"),
    );
    let mut tech = workstation(
        paired_link(&server, "CT console 東"),
        &dir.path().join("ws-tech"),
    );
    // Before anyone signs in, a workstation shows the server's sign-in screen.
    settle(&mut desk);
    assert!(desk.query_by_label("Sign in").is_some());
    sign_in(&mut desk, "desk", PASSWORD);
    sign_in(&mut tech, "tech", PASSWORD);
    assert_eq!(desk.state().actor().unwrap().role, Role::FrontDesk);
    assert_eq!(tech.state().actor().unwrap().login, "tech");

    // The technologist looks at today's exams: nothing booked yet.
    click(&mut tech, "Today");
    assert_eq!(tech.state().screen(), Screen::Today);
    assert!(!today_lists(&mut tech, &accessions[0]));

    // The front desk books the first free MR slot, this morning.
    click(&mut desk, "Schedule");
    let waiting = desk.state_mut().schedule().waiting();
    assert_eq!(waiting.len(), 1, "the waiting order came from the server");
    let (_, suggested) = waiting[0].1.expect("a free MR slot");
    click(&mut desk, &format!("Book {}", accessions[0]));
    assert!(desk.query_by_label_contains("booked in MR").is_some());
    let booked = suggested.format("%Y-%m-%dT%H:%M").to_string();
    assert_eq!(start_of(dir.path(), &accessions[0]), booked);
    assert_eq!(suggested.date(), test_now().date(), "booked for today");

    // The technologist's window shows it without a click, through the event stream.
    let latency = frames_until(
        &mut tech,
        Duration::from_secs(10),
        "the booking reaching the other workstation",
        |h| today_lists(h, &accessions[0]),
    );
    eprintln!("booking visible on the other workstation after {latency:?}");
    assert!(
        tech.query_all_by_label_contains(&accessions[0]).count() > 0,
        "the row is drawn"
    );

    // The server audited both as the people signed in, from their workstations.
    let audit = common::store(dir.path())
        .search_audit(
            &lightbox_store::administration::AuditFilter {
                actor: "desk".into(),
                ..Default::default()
            },
            1000,
        )
        .unwrap();
    assert!(
        audit.iter().any(|e| e.subject.contains(&accessions[0])
            && e.origin.contains("127.0.0.1")
            && e.origin.contains("Front desk Zoë")),
        "the booking is audited as the front desk, from its workstation: {audit:?}"
    );
}

#[test]
fn the_front_desk_registers_an_accented_patient_through_the_server_and_a_duplicate_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    practice_with_orders(dir.path(), 0);
    let server = Server::start_at(dir.path(), CLOCK);
    let mut desk = workstation(
        paired_link(&server, "Front desk"),
        &dir.path().join("ws-desk"),
    );
    sign_in(&mut desk, "desk", PASSWORD);
    assert_eq!(desk.state().screen(), Screen::Patients);
    click(&mut desk, "Register patient");
    type_into(&mut desk, "Family name", "Müller-Łukasiewicz");
    type_into(&mut desk, "Given name", "Zoë");
    type_into(&mut desk, "Birth date", "1980-04-02");
    click(&mut desk, "Save patient");
    let store = common::store(dir.path());
    let found = store.search_patients("müller-ł", 10).unwrap();
    assert_eq!(found.len(), 1, "registered on the server");
    assert_eq!(found[0].family_name, "MÜLLER-ŁUKASIEWICZ");
    assert_eq!(found[0].given_name, "ZOË");
    // The same person again: the server's duplicate check reaches this screen as its own
    // warning (not a generic failure).
    click(&mut desk, "Register patient");
    type_into(&mut desk, "Family name", "Müller-Łukasiewicz");
    type_into(&mut desk, "Given name", "Zoë");
    type_into(&mut desk, "Birth date", "1980-04-02");
    click(&mut desk, "Save patient");
    assert!(
        desk.query_by_label_contains("may be a patient we already have")
            .is_some(),
        "the duplicate warning is shown"
    );
    assert_eq!(store.search_patients("müller-ł", 10).unwrap().len(), 1);

    // CJK and Latin-1 cross the wire unchanged both ways (the test's fonts draw no CJK, so
    // through the Practice API the screens call rather than by typing).
    let link = paired_link(&server, "Desk 2");
    let actor = link.sign_in("desk", PASSWORD).unwrap();
    let mut practice = Practice::remote(link, &dir.path().join("ws-2")).unwrap();
    let registered = practice
        .register_patient(
            &actor,
            &lightbox::his::Registration {
                patient: lightbox_store::his::PatientRecord {
                    family_name: "山田".into(),
                    given_name: "太郎 Ñandú".into(),
                    birth_date: "1975-01-31".into(),
                    ..Default::default()
                },
                identifiers: vec![],
                confirmed_new: true,
            },
        )
        .unwrap();
    let again = practice.search_patients(&actor, "山田", 10).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].mrn, registered.mrn);
    assert_eq!(again[0].given_name, "太郎 Ñandú");
    assert_eq!(
        store.search_patients("山田", 10).unwrap()[0].given_name,
        "太郎 Ñandú"
    );
}

#[test]
fn a_revoked_workstation_a_wrong_password_no_session_and_plain_http_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    practice_with_orders(dir.path(), 1);
    let server = Server::start_at(dir.path(), CLOCK);
    let link = paired_link(&server, "Desk 2");

    // No session: whatever actor the workstation names, the server refuses.
    let practice = Practice::remote(link.clone(), &dir.path().join("ws")).unwrap();
    let pretender = Actor {
        login: "admin".into(),
        role: Role::Administrator,
        origin: "desk".into(),
    };
    assert!(matches!(
        practice.users(&pretender),
        Err(lightbox::administration::AdminError::Access(
            lightbox::access::AccessError::BadCredentials
        ))
    ));
    assert_eq!(
        link.call("recent_orders", serde_json::json!([10])),
        Err(RemoteFailure::Refused(WireError::BadCredentials))
    );

    // A wrong password, through the sign-in screen.
    let mut desk = workstation(link.clone(), &dir.path().join("ws"));
    sign_in(&mut desk, "desk", "not the password");
    assert!(desk.state().actor().is_none());
    assert!(
        desk.query_by_label_contains("wrong password").is_some(),
        "the screen says why"
    );

    // Signed in, the front desk may not list the staff: the server's permission check.
    for (field, text) in [("Login", "desk"), ("Password", PASSWORD)] {
        let role = if field == "Login" {
            AccessRole::TextInput
        } else {
            AccessRole::PasswordInput
        };
        desk.get_by_role_and_label(role, field).click();
        settle(&mut desk);
        desk.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        desk.key_press(egui::Key::Backspace);
        desk.get_by_role_and_label(role, field).type_text(text);
        settle(&mut desk);
    }
    click(&mut desk, "Sign in");
    let actor = desk.state().actor().expect("signed in").clone();
    assert!(matches!(
        practice.users(&actor),
        Err(lightbox::administration::AdminError::Access(
            lightbox::access::AccessError::Denied(_)
        ))
    ));
    assert!(practice.recent_orders(&actor, 10).is_ok());
    // Only the screens' calls exist on the wire: not the server's own (acting as the
    // operating system's administrator, first-run set-up, opening sessions).
    for inner in [
        "act_as_os_administrator",
        "set_up",
        "open_api_session",
        "api_actor",
    ] {
        assert!(
            matches!(
                link.call(inner, serde_json::json!(["x"])),
                Err(RemoteFailure::Refused(WireError::NotFound { .. }))
            ),
            "{inner} is not callable"
        );
    }
    // Arguments of the wrong shape are refused in words, not half-used.
    match link.call("recent_orders", serde_json::json!(["ten", "Zoë 東"])) {
        Err(RemoteFailure::Refused(WireError::Invalid { message })) => {
            assert!(message.contains("recent_orders"), "{message}")
        }
        other => panic!("odd arguments accepted: {other:?}"),
    }

    // Revoked on the server: its session ends at once and it cannot sign in again.
    let store = common::store(dir.path());
    let id = store
        .workstations()
        .unwrap()
        .into_iter()
        .find(|w| w.name == "Desk 2")
        .unwrap()
        .id;
    let out = common::lightbox(dir.path(), &["workstations", "revoke", &id.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(matches!(
        practice.recent_orders(&actor, 10),
        Err(lightbox::ris::RisError::Access(
            lightbox::access::AccessError::BadCredentials
        ))
    ));
    // The window goes back to signing in and says why.
    frames_until(
        &mut desk,
        Duration::from_secs(20),
        "the revoked workstation's window back at sign-in",
        |h| {
            h.query_by_label_contains("Your session on the practice server ended")
                .is_some()
        },
    );
    assert!(desk.state().actor().is_none());
    match link.sign_in("desk", PASSWORD) {
        Err(RemoteFailure::Refused(WireError::Invalid { message })) => {
            assert!(
                message.contains("revoked") || message.contains("paired"),
                "{message}"
            )
        }
        other => panic!("a revoked workstation signed in: {other:?}"),
    }

    // Plain HTTP: no pairing over it, and the port does not speak it.
    assert!(matches!(
        pair(
            &format!("http://localhost:{}", server.api_port),
            "ABCD-EFGH-JKMN-PQRS"
        ),
        Err(lightbox::workstation::PairingError::Address(_))
    ));
    use std::io::{Read as _, Write as _};
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", server.api_port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET /api/v1/me HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP got an HTTP answer: {:?}",
        String::from_utf8_lossy(&answer)
    );
}

#[test]
fn the_server_killed_and_restarted_the_workstations_say_so_and_miss_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let accessions = practice_with_orders(dir.path(), 2);
    let mut server = Server::start_at(dir.path(), CLOCK);
    let api_port = server.api_port;
    let mut tech = workstation(paired_link(&server, "CT console"), &dir.path().join("ws"));
    sign_in(&mut tech, "tech", PASSWORD);
    click(&mut tech, "Today");
    assert!(!today_lists(&mut tech, &accessions[1]));

    server.kill9();
    frames_until(
        &mut tech,
        Duration::from_secs(10),
        "the banner saying the server is away",
        |h| h.query_by_label_contains("is not answering").is_some(),
    );
    // What was on screen stays.
    assert_eq!(tech.state().screen(), Screen::Today);
    assert!(tech.state().actor().is_some(), "still signed in");

    // While it is down, the practice changes (a booking written by another process on the
    // server's computer): the journal keeps it for the workstations.
    {
        let mut practice = Practice::over(common::store(dir.path()));
        let admin = practice.sign_in("admin", PASSWORD, "test").unwrap();
        let room = practice
            .rooms(Some("MR"))
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
            .id;
        practice
            .book(
                &admin,
                &accessions[1],
                room,
                test_now() + chrono::Duration::hours(2),
                "",
            )
            .unwrap();
    }

    let _restarted = Server::start_at_on(dir.path(), CLOCK, api_port);
    frames_until(
        &mut tech,
        Duration::from_secs(20),
        "the workstation back with the change made while it was away",
        |h| {
            h.query_by_label_contains("is not answering").is_none()
                && today_lists(h, &accessions[1])
        },
    );
    // The same session, resumed: no second sign-in was needed.
    assert_eq!(tech.state().actor().unwrap().login, "tech");
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

/// Stores `slices` slices of `series` on the server through dcmtk's storescu (a scanner);
/// the files as sent.
fn scanner_sends(
    server: &Server,
    series: &lightbox::pacs::synthetic::SyntheticSeries,
    slices: u32,
    folder: &Path,
) -> Vec<std::path::PathBuf> {
    std::fs::create_dir_all(folder).unwrap();
    let mut args = vec![
        "-aec".to_string(),
        "LIGHTBOX".into(),
        "127.0.0.1".into(),
        server.port(),
    ];
    let files: Vec<_> = (0..slices)
        .map(|i| {
            let path = folder.join(format!("IM{i:03}.dcm"));
            series.slice(i).unwrap().write_to_file(&path).unwrap();
            args.push(path.display().to_string());
            path
        })
        .collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(common::dcmtk("storescu", &refs).status.success());
    files
}

/// Whether every slice of `series` is in the workstation cache under `folder` and its
/// folder no longer waits for any.
fn cached_complete(
    folder: &Path,
    series: &lightbox::pacs::synthetic::SyntheticSeries,
    slices: u32,
) -> bool {
    let cache = folder
        .join("archive")
        .join(&series.study_uid)
        .join(&series.series_uid);
    !cache
        .join(lightbox::imaging::arrival::ARRIVING_MARKER)
        .exists()
        && (0..slices).all(|i| cache.join(format!("{}.dcm", series.sop_uid(i))).exists())
}

#[test]
fn the_radiologist_s_workstation_brings_the_worklist_s_images_ahead_and_opens_others_over_dicomweb()
{
    const SLICES: u32 = 40;
    let dir = tempfile::tempdir().unwrap();
    let accessions = practice_with_orders(dir.path(), 1);
    common::add_user(
        dir.path(),
        "rad",
        "Rita Radiologist",
        Role::Radiologist,
        PASSWORD,
    );
    let server = Server::start_at(dir.path(), CLOCK);
    // The exam on the worklist: scanned (its images carry the order's accession) and
    // completed by the technologist.
    let mut scanned = lightbox::pacs::synthetic::SyntheticSeries::new(7, 64);
    scanned.patient_name = "ÅSTRÖM^BJÖRN".into();
    scanned.accession = accessions[0].clone();
    {
        let mut practice = Practice::over(common::store(dir.path()));
        let admin = practice.sign_in("admin", PASSWORD, "test").unwrap();
        let room = practice.rooms(Some("MR")).unwrap()[0].id;
        practice
            .book(&admin, &accessions[0], room, test_now(), "")
            .unwrap();
        for to in [
            lightbox::ris::ExamStatus::Arrived,
            lightbox::ris::ExamStatus::InProgress,
        ] {
            practice
                .change_status(&admin, &accessions[0], to, "")
                .unwrap();
        }
        scanner_sends(&server, &scanned, SLICES, &dir.path().join("scanner-1"));
        practice
            .change_status(
                &admin,
                &accessions[0],
                lightbox::ris::ExamStatus::Completed,
                "",
            )
            .unwrap();
    }
    // An outside study nobody ordered here (no worklist entry): opened on demand.
    let mut outside = lightbox::pacs::synthetic::SyntheticSeries::new(8, 64);
    outside.patient_name = "MÜLLER^ZOË".into();
    let sent = scanner_sends(&server, &outside, SLICES, &dir.path().join("scanner-2"));

    let link = paired_link(&server, "Reading room at home");
    let folder = dir.path().join("ws-home");
    let mut home = workstation(link.clone(), &folder);
    sign_in(&mut home, "rad", PASSWORD);

    // Signed in, the worklist's study comes into the cache without being opened.
    frames_until(
        &mut home,
        Duration::from_secs(60),
        "the worklist's study brought ahead",
        |_| cached_complete(&folder, &scanned, SLICES),
    );
    assert!(
        !folder.join("archive").join(&outside.study_uid).exists(),
        "only the worklist's studies are brought ahead"
    );

    // The outside study opens from the server: the first image shows while the rest still
    // arrive.
    let practice = Practice::remote(link, &folder).unwrap();
    click(&mut home, "Viewer");
    home.state_mut()
        .viewer()
        .open(&practice, &outside.study_uid);
    frames_until(&mut home, Duration::from_secs(30), "the first image", |h| {
        h.state_mut().viewer().shown_size().is_some()
    });
    assert_eq!(home.state_mut().viewer().shown_size(), Some([64, 64]));
    assert!(
        home.state_mut().viewer().title().contains("MÜLLER"),
        "the patient is named: {}",
        home.state_mut().viewer().title()
    );
    frames_until(
        &mut home,
        Duration::from_secs(60),
        "every slice of the opened study",
        |_| cached_complete(&folder, &outside, SLICES),
    );

    // Every slice came compressed on the wire (JPEG-LS lossless) and is identical in every
    // stored value to what the scanner sent.
    for (series, files) in [(&outside, sent), (&scanned, Vec::new())] {
        let cache = folder
            .join("archive")
            .join(&series.study_uid)
            .join(&series.series_uid);
        for i in 0..SLICES {
            let cached = cache.join(format!("{}.dcm", series.sop_uid(i)));
            let syntax = dicom_object::open_file(&cached)
                .unwrap()
                .meta()
                .transfer_syntax()
                .trim_end_matches('\0')
                .to_string();
            assert_eq!(
                syntax, "1.2.840.10008.1.2.4.80",
                "slice {i} came as JPEG-LS"
            );
            if let Some(original) = files.get(i as usize) {
                assert_eq!(stored_values(&cached), stored_values(original), "slice {i}");
            }
        }
    }

    // The image on screen is the scanner's slice as its own window shows it (±1 level).
    home.state_mut().viewer().read_back();
    frames_until(
        &mut home,
        Duration::from_secs(30),
        "the shown pixels",
        |h| h.state_mut().viewer().shown_pixels().is_some(),
    );
    let shown = home.state_mut().viewer().shown_pixels().unwrap().to_vec();
    let file = lightbox::imaging::ImageFile::open(&dir.path().join("scanner-2").join("IM000.dcm"))
        .unwrap();
    let reference = lightbox::imaging::render_cpu(
        &file.frame(0).unwrap(),
        &lightbox::imaging::RenderOptions::default(),
    );
    assert_eq!(shown.len(), reference.pixels.len());
    let worst = shown
        .iter()
        .zip(&reference.pixels)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 1, "the shown slice differs by {worst} levels");
}

/// The server's index rows of study `study_uid` (its own database, read as the server's
/// files are: what a workstation sent is really there).
fn server_instances(data: &Path, study_uid: &str) -> Vec<lightbox_store::index::IndexRow> {
    common::store(data)
        .query_index(
            lightbox_store::index::Level::Image,
            &[lightbox_store::index::Condition {
                column: lightbox_store::index::Column::StudyUid,
                matcher: lightbox_store::index::Matcher::Exact(study_uid.into()),
            }],
            1000,
        )
        .unwrap()
}

/// Imports `folder` from the workstation's viewer menu (typed path) and waits for the end.
fn import_from_viewer(harness: &mut Harness<'_, LightboxApp>, folder: &Path) {
    harness.get_by_label_contains("Import images").click();
    settle(harness);
    type_into(harness, "or path", folder.to_str().unwrap());
    click(harness, "Import");
    frames_until(harness, Duration::from_secs(60), "the import", |h| {
        !h.state_mut().viewer().importing()
    });
}

#[test]
fn a_workstation_imports_a_cd_into_the_server_s_archive_and_saves_the_radiologist_s_marks_there() {
    let dir = tempfile::tempdir().unwrap();
    practice_with_orders(dir.path(), 0);
    common::add_user(
        dir.path(),
        "rad",
        "Rita Radiologist",
        Role::Radiologist,
        PASSWORD,
    );
    let server = Server::start_at(dir.path(), CLOCK);

    // A CD: six slices of an outside CT (an accented name), one of them twice, a slice too
    // large to read whole (sent as it is on disk, a piece at a time; a Greek name), and a text
    // file.
    let cd = dir.path().join("cd");
    std::fs::create_dir_all(&cd).unwrap();
    let mut outside = lightbox::pacs::synthetic::SyntheticSeries::new(9, 64);
    outside.patient_name = "NÚÑEZ^ZOË Ñandú".into();
    for i in 0..6 {
        outside
            .slice(i)
            .unwrap()
            .write_to_file(cd.join(format!("IM{i:03}")))
            .unwrap();
    }
    std::fs::copy(cd.join("IM000"), cd.join("IM000-again")).unwrap();
    let mut large = lightbox::pacs::synthetic::SyntheticSeries::new(10, 1100);
    large.patient_name = "ΠΑΠΑΔΟΠΟΥΛΟΣ^ΓΙΏΡΓΟΣ".into();
    large
        .slice(0)
        .unwrap()
        .write_to_file(cd.join("LARGE"))
        .unwrap();
    assert!(std::fs::metadata(cd.join("LARGE")).unwrap().len() > 2 << 20);
    std::fs::write(cd.join("README.TXT"), "not DICOM").unwrap();

    let link = paired_link(&server, "Reading room");
    let folder = dir.path().join("ws");
    let mut ws = workstation(link.clone(), &folder);
    sign_in(&mut ws, "rad", PASSWORD);
    click(&mut ws, "Viewer");
    import_from_viewer(&mut ws, &cd);
    assert!(
        ws.query_by_label_contains(
            "Import finished: 7 new, 1 already archived, 0 kept as archived (different content), 1 refused."
        )
        .is_some(),
        "the import's summary"
    );
    assert!(
        ws.query_by_label_contains("README.TXT — not a DICOM file")
            .is_some()
    );
    click(&mut ws, "Dismiss");
    // On the server, every byte of it: the pixels as the CD had them, the names intact.
    let rows = server_instances(&server.data, &outside.study_uid);
    assert_eq!(rows.len(), 6);
    assert!(
        rows.iter().all(|r| r.patient_name == "NÚÑEZ^ZOË Ñandú"),
        "{:?}",
        rows[0].patient_name
    );
    let stored = server.data.join("archive").join(&rows[0].file_path);
    let original = cd.join(format!(
        "IM{:03}",
        rows[0].instance_number.trim().parse::<u32>().unwrap() - 1
    ));
    assert_eq!(stored_values(&stored), stored_values(&original));
    let large_rows = server_instances(&server.data, &large.study_uid);
    assert_eq!(large_rows.len(), 1);
    assert_eq!(large_rows[0].patient_name, "ΠΑΠΑΔΟΠΟΥΛΟΣ^ΓΙΏΡΓΟΣ");

    // The same slice under another study: the server refuses it, and the window says why
    // in the server's words.
    let cd2 = dir.path().join("cd2");
    std::fs::create_dir_all(&cd2).unwrap();
    let mut moved = outside.clone();
    moved.study_uid = format!("{}.99", outside.study_uid);
    moved
        .slice(0)
        .unwrap()
        .write_to_file(cd2.join("ELSEWHERE"))
        .unwrap();
    import_from_viewer(&mut ws, &cd2);
    assert!(
        ws.query_by_label_contains(
            "0 new, 0 already archived, 0 kept as archived (different content), 1 refused."
        )
        .is_some()
    );
    assert!(
        ws.query_by_label_contains("the practice server refused it: SOP instance")
            .is_some(),
        "the server's reason is shown"
    );
    click(&mut ws, "Dismiss");
    assert!(server_instances(&server.data, &moved.study_uid).is_empty());

    // The radiologist marks a key image on the workstation and saves the marks: the server
    // makes the Key Object Selection and archives it with the study.
    let practice = Practice::remote(link, &folder).unwrap();
    ws.state_mut().viewer().open(&practice, &outside.study_uid);
    frames_until(&mut ws, Duration::from_secs(30), "the first image", |h| {
        h.state_mut().viewer().shown_size().is_some()
    });
    click(&mut ws, "Key image");
    click(&mut ws, "Save marks to archive");
    assert!(
        ws.query_by_label_contains(
            "Archived with the study: 1 key image document, 0 presentation states."
        )
        .is_some()
    );
    let rows = server_instances(&server.data, &outside.study_uid);
    assert_eq!(rows.len(), 7);
    // A second workstation's Studies screen, open all along, counts the new series without
    // a click (each batch of arriving images is a change on the event stream, not only a
    // study's first).
    let other_link = paired_link(&server, "Front desk");
    let mut desk = workstation(other_link, &dir.path().join("ws-desk"));
    common::add_user(
        dir.path(),
        "rad2",
        "Rémy Radiologist",
        Role::Radiologist,
        PASSWORD,
    );
    sign_in(&mut desk, "rad2", PASSWORD);
    click(&mut desk, "Studies");
    let series_of = |h: &mut Harness<'_, LightboxApp>| {
        h.state_mut()
            .studies()
            .studies()
            .iter()
            .find(|r| r.study_uid == outside.study_uid)
            .map(|r| r.related_series)
    };
    assert_eq!(
        series_of(&mut desk),
        Some(2),
        "the CT and the key image document"
    );
    click(&mut ws, "Save marks to archive");
    frames_until(
        &mut desk,
        Duration::from_secs(10),
        "the new series listed",
        |h| series_of(h) == Some(3),
    );
    assert!(
        rows.iter().any(|r| r.modality == "KO"),
        "{:?}",
        rows.iter().map(|r| &r.modality).collect::<Vec<_>>()
    );
}

#[test]
fn a_workstation_asks_the_server_to_fetch_an_exam_s_priors_from_another_pacs() {
    let dir = tempfile::tempdir().unwrap();
    // Another site's PACS (pynetdicom) holds an older CT of the patient.
    let (qr, outside_id, prior_study) = common::pacs_with_a_prior(dir.path());
    let mut store = common::store(dir.path());
    lightbox::ris::seed_starter_data(&store).unwrap();
    common::add_user(
        dir.path(),
        "rad",
        "Rita Radiologist",
        Role::Radiologist,
        PASSWORD,
    );
    let actor = Actor::system();
    let patient = common::patient_with_priors_elsewhere(
        &mut store,
        &actor,
        ("ÅSTRÖM", "BJÖRN"),
        &outside_id,
        qr.port,
    );
    let accession = place_order(&mut store, &actor, patient.id);
    drop(store);
    let server = Server::start_at(dir.path(), CLOCK);

    let link = paired_link(&server, "Reading room");
    let services = WorkstationServices::new(link.clone(), Err("not in this test".into()));
    // Before anyone signs in, the server is not asked.
    let before = lightbox::ui::WindowServices::fetch_priors(&services, &accession);
    assert_eq!(before.fetched, 0);
    assert!(before.problems[0].contains("signed in"), "{before:?}");
    let mut ws = workstation(link.clone(), &dir.path().join("ws"));
    sign_in(&mut ws, "rad", PASSWORD);
    // Signed in, the server retrieves the prior into its own archive.
    let fetched = lightbox::ui::WindowServices::fetch_priors(&services, &accession);
    assert_eq!((fetched.missing, fetched.fetched), (1, 1), "{fetched:?}");
    assert!(fetched.problems.is_empty(), "{fetched:?}");
    assert_eq!(server_instances(&server.data, &prior_study).len(), 1);
    // The workstation lists it as the exam's prior, through the server.
    let practice = Practice::remote(link, &dir.path().join("ws")).unwrap();
    let rad = ws.state().actor().unwrap().clone();
    let priors = practice.priors(&rad, &accession).unwrap();
    assert!(
        priors.iter().any(|p| p.study_uid == prior_study),
        "{priors:?}"
    );
    // Asked again: nothing is missing.
    let again = lightbox::ui::WindowServices::fetch_priors(&services, &accession);
    assert_eq!(again.missing, 0, "{again:?}");
    // An accession the server does not know: said in words.
    let unknown = lightbox::ui::WindowServices::fetch_priors(&services, "NO-SUCH-EXAM");
    assert!(
        unknown.problems[0].contains("no patient is known"),
        "{unknown:?}"
    );
}

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
