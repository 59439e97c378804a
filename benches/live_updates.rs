//! Live updates between workstations: a change made on one (here: a registration committed by
//! another connection, as the desk's workstation does through the server) and the moment a
//! second workstation following the server's change stream (`/api/v1/events`, python
//! `requests` over TLS) receives it. 200 changes, 20 ms apart; prints p50, p99 and max.
//!
//! Then the same through two Lightbox workstations (`Practice::remote` over their own HTTPS
//! links, as `lightbox --server` runs them): the front desk's books an exam, and the clock
//! stops when the technologist's workstation has seen the change on its event stream and
//! read the day's exams again with the booking in them — what its Today screen does.
//!
//! Run: `cargo bench --bench live_updates` (needs the test venv: scripts/install-test-deps.sh).
//! Env: LIGHTBOX_BENCH_CHANGES (default 200).

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failed step is a failed run

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "live updates password";

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn main() {
    // `cargo test --benches` (and nextest listing) runs bench targets without --bench: do
    // nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let changes: usize = std::env::var("LIGHTBOX_BENCH_CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let practice = data.open_practice().unwrap();
    let admin = practice.act_as_os_administrator("bench").unwrap();
    practice
        .create_user(
            &admin,
            "desk",
            "Front Desk",
            lightbox::access::Role::FrontDesk,
            PASSWORD,
        )
        .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_lightbox"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "serve",
            "--dicom-port",
            "0",
            "--hl7-port",
            "0",
            "--api-port",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let api_port = loop {
        let line = lines.next().expect("serve output").unwrap();
        if let Some(addr) = line.strip_prefix("listening api ") {
            break addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let python = std::env::var_os("LIGHTBOX_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    // The follower is a paired workstation.
    let fingerprint = lightbox::api::tls::PracticeTls::ensure(dir.path())
        .unwrap()
        .ca_fingerprint()
        .unwrap();
    let code = practice
        .start_workstation_pairing(&admin, "Bench follower", &fingerprint)
        .unwrap();
    let pinned = dir.path().join("pinned-ca.pem");
    let paired = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/workstation.py"))
        .arg(format!("https://localhost:{api_port}"))
        .arg(&code.code)
        .arg(&pinned)
        .output()
        .unwrap();
    let paired: serde_json::Value = serde_json::from_slice(&paired.stdout).unwrap();
    let credential = paired["credential"].as_str().unwrap().to_string();
    let mut follower = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/api_events.py"))
        .arg(format!("https://localhost:{api_port}"))
        .arg(&pinned)
        .args(["desk", PASSWORD, "--credential", &credential])
        .args(["--count", &changes.to_string(), "--ready"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut events = BufReader::new(follower.stdout.take().unwrap()).lines();
    assert_eq!(events.next().unwrap().unwrap(), "ready");
    let mut practice = practice;
    let mut made: HashMap<String, f64> = HashMap::new();
    for i in 0..changes {
        let at = now_secs();
        let patient = practice
            .register_patient(
                &admin,
                &lightbox::his::Registration {
                    patient: lightbox_store::his::PatientRecord {
                        family_name: format!("LIVE{i}"),
                        given_name: "Zoë".into(),
                        birth_date: "1980-01-01".into(),
                        sex: "F".into(),
                        ..Default::default()
                    },
                    identifiers: vec![],
                    confirmed_new: true,
                },
            )
            .unwrap();
        made.insert(patient.mrn, at);
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut latencies_ms: Vec<f64> = events
        .take(changes)
        .map(|l| {
            let event: serde_json::Value = serde_json::from_str(&l.unwrap()).unwrap();
            let mrn = event["data"]["subject"].as_str().unwrap().to_string();
            (event["received_at"].as_f64().unwrap() - made[&mrn]) * 1000.0
        })
        .collect();
    let _ = follower.wait();
    report("event stream (python follower)", &mut latencies_ms);
    let mut booked_ms =
        workstation_to_workstation(dir.path(), &practice, &admin, api_port, changes);
    let _ = server.kill();
    let _ = server.wait();
    report("booking, workstation to workstation", &mut booked_ms);
}

fn report(what: &str, latencies_ms: &mut [f64]) {
    latencies_ms.sort_by(f64::total_cmp);
    let at = |q: f64| latencies_ms[((latencies_ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "live updates, {what}, over {} changes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 < 1000 ms)",
        latencies_ms.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

/// `changes` bookings made on one workstation, each timed until the other shows it.
fn workstation_to_workstation(
    data_dir: &Path,
    practice: &lightbox::practice::Practice,
    admin: &lightbox::access::Actor,
    api_port: u16,
    changes: usize,
) -> Vec<f64> {
    use std::sync::Arc;
    practice.seed_starter_data().unwrap();
    practice
        .create_user(
            admin,
            "tech",
            "Théo Tech",
            lightbox::access::Role::Technologist,
            PASSWORD,
        )
        .unwrap();
    let fingerprint = lightbox::api::tls::PracticeTls::ensure(data_dir)
        .unwrap()
        .ca_fingerprint()
        .unwrap();
    let link = |name: &str| {
        let code = practice
            .start_workstation_pairing(admin, name, &fingerprint)
            .unwrap();
        let paired =
            lightbox::workstation::pair(&format!("https://localhost:{api_port}"), &code.code)
                .unwrap();
        Arc::new(lightbox::workstation::ServerLink::new(paired).unwrap())
    };
    let folders = tempfile::tempdir().unwrap();
    let desk_link = link("Front desk");
    let tech_link = link("CT console");
    use lightbox::practice::remote::PracticeLink as _;
    let desk_actor = desk_link.sign_in("desk", PASSWORD).unwrap();
    let tech_actor = tech_link.sign_in("tech", PASSWORD).unwrap();
    let mut desk =
        lightbox::practice::Practice::remote(desk_link, &folders.path().join("desk")).unwrap();
    let tech =
        lightbox::practice::Practice::remote(tech_link, &folders.path().join("tech")).unwrap();
    let room = desk.rooms(Some("MR")).unwrap()[0].id;
    // One exam a weekday from next week on, 09:00: never a clash, never a closed day.
    let now = chrono::Local::now().naive_local();
    let mut days = (7..)
        .map(|d| (now + chrono::Duration::days(d)).date())
        .filter(|d| {
            use chrono::Datelike;
            d.weekday().number_from_monday() <= 5
        });
    let mut latencies = Vec::with_capacity(changes);
    let registered = desk
        .register_patient(
            &desk_actor,
            &lightbox::his::Registration {
                patient: lightbox_store::his::PatientRecord {
                    family_name: "ÅSTRÖM".into(),
                    given_name: "Björn".into(),
                    birth_date: "1970-03-15".into(),
                    ..Default::default()
                },
                identifiers: vec![],
                confirmed_new: true,
            },
        )
        .unwrap();
    for _ in 0..changes {
        let order = desk
            .place_order(
                &desk_actor,
                &lightbox::ris::OrderRequest::routine(registered.id, "72148", "Back pain"),
                now,
            )
            .unwrap();
        let accession = order.order.accession;
        let day = days.next().unwrap();
        let date = day.format("%Y-%m-%d").to_string();
        // Let the order's own change reach the technologist first.
        std::thread::sleep(Duration::from_millis(30));
        let seen = tech.data_version();
        let start = std::time::Instant::now();
        desk.book(
            &desk_actor,
            &accession,
            room,
            day.and_hms_opt(9, 0, 0).unwrap(),
            "",
        )
        .unwrap();
        loop {
            if tech.data_version() != seen
                && tech
                    .day_exams(&tech_actor, &date)
                    .unwrap()
                    .iter()
                    .any(|(row, _)| row.order.accession == accession)
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    latencies
}
