//! The practice server's network API against an independent client (python `requests`): TLS
//! only with the practice's own CA, sign-in to a bearer token, the same permission checks and
//! audit as the desktop, sign-out and a disabled account ending sessions at once.
//!
//! Kind: starts the binary (`lightbox serve`) and a Python peer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use common::Server;
use lightbox_store::administration::AuditFilter;

const PASSWORD: &str = "reading room password";

#[test]
fn a_workstation_signs_in_over_tls_searches_patients_as_its_user_and_is_refused_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = common::store(dir.path());
    let admin = lightbox::access::Actor::system();
    lightbox::access::create_user(
        &store,
        &admin,
        "zoe",
        "Zoë Admin",
        lightbox::access::Role::Administrator,
        PASSWORD,
    )
    .unwrap();
    lightbox::access::create_user(
        &store,
        &admin,
        "drreed",
        "Dr Ana Reed",
        lightbox::access::Role::Radiologist,
        PASSWORD,
    )
    .unwrap();
    let patient = lightbox::his::register(
        &mut store,
        &admin,
        &lightbox::his::Registration {
            patient: lightbox_store::his::PatientRecord {
                family_name: "MÜLLER".into(),
                given_name: "Zoë 東京".into(),
                birth_date: "1959-07-08".into(),
                sex: "F".into(),
                ..Default::default()
            },
            identifiers: vec![],
            confirmed_new: true,
        },
    )
    .unwrap();
    drop(store);
    let server = Server::start(dir.path());
    assert_ne!(server.api_port, 0, "serve said where the API listens");
    assert!(
        dir.path().join("tls").join("ca.pem").is_file(),
        "the practice CA is made on the first start"
    );
    let station = common::pair_workstation(dir.path(), server.api_port, "Reading room");
    let ca = station.ca.clone();
    let out = std::process::Command::new(common::python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/api_client.py"))
        .arg(format!("https://localhost:{}", server.api_port))
        .arg(&ca)
        .args(["drreed", PASSWORD, "müller", &station.credential])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // No plain HTTP, no unpinned TLS, no token, no forged token, no wrong password.
    assert_eq!(got["plain_http"], "connection-refused", "{got}");
    assert_eq!(got["unpinned"], "tls-refused", "{got}");
    assert_eq!(got["no_token"], 401, "{got}");
    assert_eq!(got["forged_token"], 401, "{got}");
    assert_eq!(got["wrong_password"], 401, "{got}");
    // Not from a paired workstation: refused even with the right password.
    assert_eq!(got["unpaired_sign_in"], 401, "{got}");
    assert_eq!(got["forged_workstation"], 401, "{got}");
    assert!(
        got["wrong_password_says"]
            .as_str()
            .unwrap()
            .contains("wrong password")
    );
    // Signed in, the token is drreed and finds the patient by an accented name.
    assert_eq!(got["sign_in"], 201, "{got}");
    assert_eq!(got["me"]["login"], "drreed");
    assert_eq!(got["me"]["role"], "radiologist");
    assert_eq!(got["search"], 200);
    assert_eq!(
        got["patients"],
        serde_json::json!([[patient.mrn, "MÜLLER", "Zoë 東京"]])
    );
    // Signed out, the token is dead at once.
    assert_eq!(got["sign_out"], 204);
    assert_eq!(got["after_sign_out"], 401);
    // The search was audited as drreed, from the network API.
    let store = common::store(dir.path());
    let searches = store
        .search_audit(
            &AuditFilter {
                actor: "drreed".into(),
                ..AuditFilter::default()
            },
            50,
        )
        .unwrap();
    assert!(
        searches
            .iter()
            .any(|a| a.subject == "patient:search" && a.origin.contains("network API")),
        "{searches:?}"
    );
    // Disabling the account ends its other session at once.
    let token = got["second_token"].as_str().unwrap();
    let me = |token: &str| {
        std::process::Command::new(common::python())
            .args(["-c", "import sys, requests; r = requests.get(sys.argv[1] + '/api/v1/me', headers={'Authorization': 'Bearer ' + sys.argv[2]}, verify=sys.argv[3]); print(r.status_code)"])
            .arg(format!("https://127.0.0.1:{}", server.api_port))
            .arg(token)
            .arg(&ca)
            .output()
            .unwrap()
    };
    assert_eq!(String::from_utf8_lossy(&me(token).stdout).trim(), "200");
    lightbox::administration::change_user(
        &store,
        &admin,
        "drreed",
        lightbox::access::Role::Radiologist,
        false,
    )
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&me(token).stdout).trim(), "401");
}

/// Registers a patient straight in the store (another connection, as the desktop or an HL7
/// feed would); their MRN.
fn register(dir: &std::path::Path, family: &str) -> String {
    let mut store = common::store(dir);
    lightbox::his::register(
        &mut store,
        &lightbox::access::Actor::system(),
        &lightbox::his::Registration {
            patient: lightbox_store::his::PatientRecord {
                family_name: family.into(),
                given_name: "Zoë".into(),
                birth_date: "1980-02-29".into(),
                sex: "F".into(),
                ..Default::default()
            },
            identifiers: vec![],
            confirmed_new: true,
        },
    )
    .unwrap()
    .mrn
}

#[test]
fn a_workstation_follows_the_changes_live_and_resumes_from_its_last_event_without_a_gap() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    common::add_user(
        dir.path(),
        "desk",
        "Front Desk",
        lightbox::access::Role::FrontDesk,
        PASSWORD,
    );
    let before: Vec<String> = ["ÅSTRÖM", "MÜLLER", "山田"]
        .iter()
        .map(|f| register(dir.path(), f))
        .collect();
    let server = Server::start(dir.path());
    let station = common::pair_workstation(dir.path(), server.api_port, "Front desk");
    let ca = station.ca.clone();
    let follower = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(common::python());
        cmd.arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/api_events.py"))
            .arg(format!("https://localhost:{}", server.api_port))
            .arg(&ca)
            .args(["desk", PASSWORD, "--credential", &station.credential])
            .args(extra)
            .stdout(std::process::Stdio::piped());
        cmd
    };
    let events = |out: &[u8]| -> Vec<serde_json::Value> {
        String::from_utf8_lossy(out)
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    // From the beginning of the journal: the three registrations, in order, with their ids.
    let out = follower(&["--after", "0", "--count", "3"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let all = events(&out.stdout);
    let subjects: Vec<&str> = all
        .iter()
        .map(|e| e["data"]["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        before.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(all.iter().all(|e| e["event"] == "patient.registered"));
    let ids: Vec<i64> = all
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    // Reconnecting with the second event's id gives the third and nothing before it.
    let out = follower(&["--last-event-id", &ids[1].to_string(), "--count", "1"])
        .output()
        .unwrap();
    assert_eq!(events(&out.stdout)[0]["data"]["subject"], before[2]);
    // Live: a registration made elsewhere reaches the open stream.
    let mut child = follower(&["--count", "1", "--ready"]).spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let live = register(dir.path(), "NGUYỄN");
    let event: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(event["data"]["subject"], live);
    assert_eq!(event["data"]["actor"], "system");
    // Identifiers only: no name travels in the stream.
    assert!(!event.to_string().contains("NGUY"));
    assert!(child.wait().unwrap().success());
    let last_seen = event["id"].as_str().unwrap().to_string();
    // The server killed -9; a change made while it is down; the restarted server (same data,
    // same CA) gives the workstation what it missed, from its last id.
    let mut server = server;
    server.kill9();
    let while_down = register(dir.path(), "O'BRIEN");
    let restarted = Server::start(dir.path());
    let out = std::process::Command::new(common::python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/api_events.py"))
        .arg(format!("https://localhost:{}", restarted.api_port))
        .arg(&ca)
        .args([
            "desk",
            PASSWORD,
            "--credential",
            &station.credential,
            "--last-event-id",
            &last_seen,
            "--count",
            "1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(events(&out.stdout)[0]["data"]["subject"], while_down);
}

/// One request through the independent client (`tests/peers/api_request.py`).
fn request(method: &str, url: &str, ca: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(common::python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/api_request.py"))
        .args([method, url])
        .arg(ca)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_workstation_pairs_once_with_a_code_that_checks_the_ca_and_a_revoked_one_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    common::add_user(
        dir.path(),
        "desk",
        "Front Desk",
        lightbox::access::Role::FrontDesk,
        PASSWORD,
    );
    let server = Server::start(dir.path());
    let base = format!("https://localhost:{}", server.api_port);
    // A code shown by another server (another practice CA): the client sees the CA does not
    // fit before it sends the code.
    let elsewhere = tempfile::tempdir().unwrap();
    let foreign = common::pairing_code(elsewhere.path(), "Front desk");
    let pinned = dir.path().join("pinned.pem");
    let refused = common::peer_pairing(server.api_port, &foreign, &pinned);
    assert!(
        refused["refused"]
            .as_str()
            .unwrap_or_default()
            .contains("does not fit"),
        "{refused}"
    );
    assert!(
        !pinned.exists(),
        "nothing pinned from a server that does not fit"
    );
    // This server's CA half with a guessed secret half: 401.
    let real = common::pairing_code(dir.path(), "Accueil — Zoë");
    let ca_half: String = real.chars().take(9).collect();
    let guessed = format!("{ca_half}-0000-0000");
    let wrong = common::peer_pairing(server.api_port, &guessed, &pinned);
    assert_eq!(wrong["status"], 401, "{wrong}");
    // The real code pairs once, typed in lower case.
    let paired = common::peer_pairing(server.api_port, &real.to_lowercase(), &pinned);
    assert_eq!(paired["name"], "Accueil — Zoë", "{paired}");
    let credential = paired["credential"].as_str().unwrap().to_string();
    let again = common::peer_pairing(server.api_port, &real, &pinned);
    assert_eq!(again["status"], 401, "a code pairs once: {again}");
    let sign_in = |credential: &str| {
        request(
            "POST",
            &format!("{base}/api/v1/sessions"),
            &pinned,
            &[
                &format!("Lightbox-Workstation:{credential}"),
                "--json",
                &serde_json::json!({"login": "desk", "password": PASSWORD}).to_string(),
            ],
        )
    };
    let signed = sign_in(&credential);
    assert_eq!(signed["status"], 201, "{signed}");
    let token = signed["body"]["token"].as_str().unwrap().to_string();
    let me = || {
        request(
            "GET",
            &format!("{base}/api/v1/me"),
            &pinned,
            &[&format!("Authorization:Bearer {token}")],
        )["status"]
            .clone()
    };
    assert_eq!(me(), 200);
    // The administrator sees it paired, from where, and revokes it.
    let list = common::lightbox(dir.path(), &["workstations", "list"]);
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    let row = listed
        .lines()
        .find(|l| l.contains("Accueil — Zoë"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(
        row.contains("\tpaired\t") && row.contains("127.0.0.1"),
        "{row}"
    );
    let id = paired["id"].as_i64().unwrap().to_string();
    let revoked = common::lightbox(dir.path(), &["workstations", "revoke", &id]);
    assert!(revoked.status.success());
    // Its session ends at once, and it cannot sign in again.
    assert_eq!(me(), 401);
    let after = sign_in(&credential);
    assert_eq!(after["status"], 401, "{after}");
    assert!(
        after["body"]["error"]
            .as_str()
            .unwrap()
            .contains("not a paired workstation"),
        "{after}"
    );
    let listed =
        String::from_utf8_lossy(&common::lightbox(dir.path(), &["workstations", "list"]).stdout)
            .to_string();
    assert!(listed.contains("\trevoked\tAccueil — Zoë"), "{listed}");
    // Pairing, the refusals and the revocation are in the audit log.
    let store = common::store(dir.path());
    let audit = store
        .search_audit(
            &AuditFilter {
                action: "workstation".into(),
                ..AuditFilter::default()
            },
            50,
        )
        .unwrap();
    let outcomes: Vec<(String, String)> = audit
        .iter()
        .map(|a| (a.action.clone(), a.outcome.clone()))
        .collect();
    for expected in [
        ("workstation.pair", "ok"),
        ("workstation.pair", "refused"),
        ("workstation.revoke", "ok"),
        ("workstation.pairing_start", "ok"),
    ] {
        assert!(
            outcomes.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {outcomes:?}"
        );
    }
}

#[test]
fn two_front_desks_booking_one_slot_through_the_api_get_one_booking_and_one_clear_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let (accessions, room) = {
        let mut store = common::store(dir.path());
        let admin = lightbox::access::Actor::system();
        lightbox::ris::seed_starter_data(&store).unwrap();
        for login in ["desk1", "desk2"] {
            lightbox::access::create_user(
                &store,
                &admin,
                login,
                "Front Desk",
                lightbox::access::Role::FrontDesk,
                PASSWORD,
            )
            .unwrap();
        }
        let patient = register(dir.path(), "ÅSTRÖM");
        let patient = store.patient_by_mrn(&patient).unwrap().unwrap();
        let accessions: Vec<String> = (0..2)
            .map(|_| {
                lightbox::ris::place_order(
                    &mut store,
                    &admin,
                    &lightbox::ris::OrderRequest {
                        patient: Some(patient),
                        placer_number: String::new(),
                        placer_app: "EHR".into(),
                        procedure_code: "71250".into(),
                        priority: lightbox::ris::Priority::Routine,
                        reason: "cough".into(),
                        icd10: vec!["R05".into()],
                        referring: None,
                        insurance: None,
                        authorisation: String::new(),
                        requested_time: None,
                        supplied: None,
                    },
                    chrono::Local::now().naive_local(),
                )
                .unwrap()
                .order
                .accession
            })
            .collect();
        let room = store.rooms(Some("CT")).unwrap()[0].id;
        (accessions, room)
    };
    let server = Server::start(dir.path());
    let desk1 = common::pair_workstation(dir.path(), server.api_port, "Desk 1");
    let desk2 = common::pair_workstation(dir.path(), server.api_port, "Desk 2");
    // A Tuesday well ahead, inside the CT room's hours.
    let out = std::process::Command::new(common::python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/api_booking.py"))
        .arg(format!("https://localhost:{}", server.api_port))
        .arg(&desk1.ca)
        .args([
            "2027-01-05",
            &room.to_string(),
            "2027-01-05T10:00",
            PASSWORD,
        ])
        .args(["desk1", &desk1.credential, &accessions[0]])
        .args(["desk2", &desk2.credential, &accessions[1]])
        .arg("2027-01-05T15:00")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(got["rooms"].as_array().unwrap().len() >= 6, "{got}");
    let mut statuses: Vec<i64> = got["race"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 409], "{got}");
    let conflict = got["race"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == 409)
        .unwrap();
    assert!(
        conflict["body"]["error"]
            .as_str()
            .unwrap()
            .contains("is booked 10:00"),
        "{conflict}"
    );
    // The other desk sees the one booking, with the patient named.
    let schedule = got["schedule"].as_array().unwrap();
    assert_eq!(schedule.len(), 1, "{got}");
    assert_eq!(schedule[0][1], "2027-01-05T10:00");
    assert_eq!(schedule[0][2], "ÅSTRÖM");
    // From a stale view: 412 with a sentence; after looking again: booked.
    assert_eq!(got["winner_moves"], 200, "{got}");
    assert_eq!(got["stale"]["status"], 412, "{got}");
    assert!(
        got["stale"]["body"]["error"]
            .as_str()
            .unwrap()
            .contains("changed since you looked"),
        "{got}"
    );
    assert_eq!(got["after_looking_again"], 200, "{got}");
    assert_eq!(got["bad_start"], 400);
    assert_eq!(got["unknown_exam"], 404);
    // The booking is recorded as the desk that made it.
    let store = common::store(dir.path());
    let booked = store
        .search_audit(
            &AuditFilter {
                action: "schedule.book".into(),
                ..AuditFilter::default()
            },
            50,
        )
        .unwrap();
    assert!(
        booked
            .iter()
            .any(|a| a.outcome == "refused" && a.origin.contains("network API")),
        "{booked:?}"
    );
}

#[test]
fn the_service_definition_runs_serve_on_the_data_folder_and_systemd_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("Praxis Müller");
    let out = std::process::Command::new(common::lightbox_bin())
        .arg("--data-dir")
        .arg(&data)
        .args(["service", "install", "--dry-run", "--api-port", "9443"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unit = String::from_utf8(out.stdout).unwrap();
    let exec = unit
        .lines()
        .find(|l| l.starts_with("ExecStart="))
        .unwrap_or_else(|| panic!("{unit}"));
    assert!(
        exec.contains(&format!("--data-dir \"{}\" serve", data.display()))
            && exec.ends_with("--api-port 9443"),
        "{exec}"
    );
    assert!(unit.contains("Restart=on-failure") && unit.contains("WantedBy=multi-user.target"));
    // A dry run changes nothing: no data folder made.
    assert!(!data.exists());
    // systemd's own checker reads the unit without a complaint.
    let file = dir.path().join("lightbox-server.service");
    std::fs::write(&file, &unit).unwrap();
    let verify = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    let complaints = String::from_utf8_lossy(&verify.stderr).to_string();
    assert!(
        verify.status.success() && !complaints.contains("lightbox-server.service:"),
        "{complaints}"
    );
    // Status on a machine whose service manager does not run (a container): a sentence, not a
    // crash.
    let status = std::process::Command::new(common::lightbox_bin())
        .args(["service", "status"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(said.starts_with("service lightbox-server: "), "{said}");
    assert!(status.status.code().is_some(), "no signal death");
}

#[test]
fn idle_sockets_beyond_the_connection_limit_are_refused_and_a_stalled_handshake_frees_its_place() {
    use std::io::Read as _;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = common::store(dir.path());
        store.set_setting("api.max_connections", "4").unwrap();
    }
    let server = Server::start(dir.path());
    let addr = format!("127.0.0.1:{}", server.api_port);
    // Four strangers open sockets and never speak.
    let mut idle: Vec<std::net::TcpStream> = (0..4)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // A fifth is closed at once, not queued.
    let mut fifth = std::net::TcpStream::connect(&addr).unwrap();
    fifth
        .set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .unwrap();
    let mut byte = [0u8; 1];
    match fifth.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the fifth connection should be closed at once: {other:?}"),
    }
    // The silent four lose their places when the handshake time runs out…
    for socket in &mut idle {
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        match socket.read(&mut byte) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("a stalled handshake should be dropped: {other:?}"),
        }
    }
    // …and a real client is served again.
    let answer = request(
        "GET",
        &format!("https://localhost:{}/api/v1/tls/ca.pem", server.api_port),
        &dir.path().join("tls").join("ca.pem"),
        &[],
    );
    assert_eq!(answer["status"], 200, "{answer}");
    assert!(
        answer["body"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
}
