//! Outbound HL7 against a real receiver (python `hl7` parses every message): status, charges and
//! results reach the EHR in order; a dropped connection and a stale ACK (MSA-2 of another
//! message) are retried, not taken as delivery; an AE holds the queue with its reason until a
//! person resends; a kill -9 and restart resume the queue where it stopped.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;
use lightbox::access::{Actor, Role};
use lightbox::ris::{self, ExamStatus};

struct Receiver {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Receiver {
    fn start(dir: &Path, script: &str) -> Receiver {
        let port_file = dir.join("receiver.port");
        let log = dir.join("receiver.jsonl");
        let child = Command::new(python())
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/hl7_receiver.py"))
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .args(["--script", script])
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Ok(port) = text.trim().parse()
            {
                break port;
            }
            assert!(Instant::now() < deadline, "receiver did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        Receiver { child, port, log }
    }

    /// Messages received so far, as the receiver parsed them.
    fn received(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn wait_for(&self, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "receiver got {} of {n} messages: {got:#?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn actor(login: &str, role: Role) -> Actor {
    Actor {
        login: login.into(),
        role,
        origin: "test".into(),
    }
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(v: &serde_json::Value, key: &str) -> String {
    v[key].as_str().unwrap_or("").to_string()
}

#[test]
fn results_status_and_charges_reach_the_ehr_in_order_through_failures_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // The receiver: drops the first attempt, answers the second with an ACK for another
    // message, accepts three, refuses the fourth message.
    let receiver = Receiver::start(dir.path(), "drop,stale,AA,AA,AA,AE");
    ok(lightbox(
        &data,
        &["settings", "set", "hl7.retry_initial_ms", "100"],
    ));
    ok(lightbox(
        &data,
        &[
            "hl7",
            "destinations",
            "add",
            "--name",
            "EHR",
            "--host",
            "127.0.0.1",
            "--port",
            &receiver.port.to_string(),
            "--events",
            "oru,status,dft",
            "--application",
            "EPIC",
            "--ack-timeout",
            "2",
        ],
    ));
    let mut server = Server::start(&data);
    let mllp_send = python().parent().unwrap().join("mllp_send");
    let out = Command::new(&mllp_send)
        .args(["--loose", "-p", &server.hl7_port.to_string(), "-f"])
        .arg(corpus().join("hl7/orm_o01_new_mri.hl7"))
        .arg("127.0.0.1")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("MSA|AA"));
    // The exam runs (as the screens would do it) on the same store the server uses.
    let mut store = common::store(&data);
    let accession = store.order_by_placer("EPIC", "ORD448812").unwrap().unwrap();
    let tech = actor("tina", Role::Technologist);
    for to in [
        ExamStatus::Arrived,
        ExamStatus::InProgress,
        ExamStatus::Completed,
    ] {
        ris::change_status(&mut store, &tech, &accession, to, "").unwrap();
    }
    let rad = actor("drjones", Role::Radiologist);
    let report = ris::reports::start(&mut store, &rad, &accession).unwrap();
    let text = "FINDINGS: L4|L5 disc ^bulge^ & facet~ change \\ mild.\nIMPRESSION: No stenosis.";
    ris::reports::save(&mut store, &rad, report, text, false).unwrap();
    ris::reports::sign(&mut store, &rad, report, ExamStatus::Final).unwrap();
    // 4 messages (IP, CM, DFT, ORU F) in 6 deliveries: 3 tries of the first, the refusal last.
    let got = receiver.wait_for(6);
    let controls: Vec<String> = got.iter().map(|m| s(m, "control")).collect();
    assert_eq!(controls[0], controls[1]);
    assert_eq!(
        controls[1], controls[2],
        "the stale ACK was not taken: {controls:?}"
    );
    let distinct: std::collections::BTreeSet<_> = controls.iter().collect();
    assert_eq!(distinct.len(), 4, "{controls:?}");
    assert!(
        got.iter().all(|m| m.get("error").is_none()),
        "python hl7 parses every message: {got:#?}"
    );
    // The queue is held by the refusal; an addendum queues an ORU C behind it.
    let addendum =
        ris::reports::add_addendum(&mut store, &rad, &accession, "Also: L5-S1 small bulge.")
            .unwrap();
    ris::reports::sign(&mut store, &rad, addendum, ExamStatus::Amended).unwrap();
    let queue_text = |data: &Path| ok(lightbox(data, &["hl7", "queue"]));
    let deadline = Instant::now() + Duration::from_secs(20);
    let held = loop {
        let q = queue_text(&data);
        if q.contains("1 pending, 1 failed") {
            break q;
        }
        assert!(Instant::now() < deadline, "queue: {q}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(held.contains("receiver refuses this result"), "{held}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        receiver.received().len(),
        6,
        "nothing passes a failed message"
    );
    // kill -9 and restart: the queue is where it was; a resend delivers the rest in order.
    server.kill9();
    drop(server);
    let _server = Server::start_untrusted(&data);
    assert!(queue_text(&data).contains("1 pending, 1 failed"));
    let failed_id = held
        .lines()
        .find(|l| l.contains(" failed "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    ok(lightbox(&data, &["hl7", "resend", &failed_id]));
    let got = receiver.wait_for(8);
    assert_eq!(
        s(&got[6], "control"),
        controls[5],
        "the refused message again"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !queue_text(&data).contains("0 pending, 0 failed") {
        assert!(Instant::now() < deadline, "{}", queue_text(&data));
        std::thread::sleep(Duration::from_millis(100));
    }
    // Order: every message in the order it was queued; content as the receiver read it.
    let in_order: Vec<String> = [&got[2..6], &got[7..8]]
        .concat()
        .iter()
        .map(|m| s(m, "control"))
        .collect();
    let mut sorted = in_order.clone();
    sorted.sort();
    assert_eq!(in_order, sorted, "delivered in queue order");
    let by_type = |t: &str| -> Vec<&serde_json::Value> {
        got.iter().filter(|m| s(m, "type").starts_with(t)).collect()
    };
    let statuses: Vec<String> = by_type("ORM^O01").iter().map(|m| s(m, "orc5")).collect();
    assert!(statuses.contains(&"IP".to_string()) && statuses.contains(&"CM".to_string()));
    assert!(
        by_type("ORM^O01")
            .iter()
            .all(|m| s(m, "orc1") == "SC" && s(m, "orc2") == "ORD448812^EPIC")
    );
    let dft = by_type("DFT^P03")[0];
    assert!(s(dft, "ft17").starts_with("72148^"), "{dft}");
    assert_eq!(
        (s(dft, "ft110"), s(dft, "ft119")),
        ("1".into(), "M54.16^^I10".into())
    );
    let orus = by_type("ORU^R01");
    let final_oru = orus.iter().find(|m| s(m, "obr25") == "F").unwrap();
    assert_eq!(s(final_oru, "type"), "ORU^R01^ORU_R01");
    let lines: Vec<String> = final_oru["obx"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        lines.join("\n"),
        text,
        "report text survives escaping exactly"
    );
    assert!(
        final_oru["obx_types"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t == "TX")
    );
    assert!(
        final_oru["obx_status"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t == "F")
    );
    assert!(s(final_oru, "pid3").contains("100234^^^NORTHCLINIC^MR"));
    assert_eq!(s(final_oru, "orc2"), "ORD448812^EPIC");
    assert_eq!(s(final_oru, "obr18"), accession);
    assert_eq!(s(final_oru, "obr32"), "drjones");
    let corrected = orus.iter().find(|m| s(m, "obr25") == "C").unwrap();
    let text_c: Vec<&str> = corrected["obx"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        text_c.iter().any(|l| l.starts_with("ADDENDUM (drjones")),
        "{text_c:?}"
    );
    assert!(text_c.contains(&"Also: L5-S1 small bulge."));
}

#[test]
fn registrations_here_go_out_as_adt_and_interface_changes_do_not_echo() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = common::store(dir.path());
    let admin = actor("admin", Role::Administrator);
    lightbox::hl7::outbound::add_destination(
        &store,
        &admin,
        &lightbox_store::hl7::Destination {
            name: "Billing".into(),
            host: "127.0.0.1".into(),
            port: 2999,
            version: "2.3".into(),
            events: "adt".into(),
            report_text: "tx".into(),
            ack_timeout_secs: 5,
            enabled: true,
            ..Default::default()
        },
    )
    .unwrap();
    let desk = actor("fran", Role::FrontDesk);
    let registration = lightbox::his::Registration {
        patient: lightbox_store::his::PatientRecord {
            family_name: "O'BRIEN|SMITH".into(),
            given_name: "ÉILÍS".into(),
            birth_date: "1981-02-03".into(),
            sex: "F".into(),
            ..Default::default()
        },
        identifiers: vec![],
        confirmed_new: true,
    };
    let mut patient = lightbox::his::register(&mut store, &desk, &registration).unwrap();
    patient.phone = "555-0100".into();
    lightbox::his::update_patient(&store, &desk, &patient).unwrap();
    // The same kinds of change made by an interface are its own news: not sent back.
    let interface = actor("hl7:EPIC", Role::Interface);
    let mut other = registration.clone();
    other.patient.family_name = "FROMEPIC".into();
    lightbox::his::register(&mut store, &interface, &other).unwrap();
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap();
    assert_eq!(lightbox::hl7::outbound::produce(&store, now).unwrap(), 2);
    assert_eq!(
        lightbox::hl7::outbound::produce(&store, now).unwrap(),
        0,
        "cursors moved"
    );
    let queued = store
        .outbound_queue(store.destinations().unwrap()[0].id)
        .unwrap();
    let kinds: Vec<&str> = queued
        .iter()
        .map(|m| m.message.split('|').nth(8).unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["ADT^A04", "ADT^A08"],
        "v2.3 has no structure component"
    );
    let a04 = &queued[0].message;
    assert!(a04.contains("|O'BRIEN\\F\\SMITH^ÉILÍS^"), "{a04}");
    assert!(
        a04.contains("||||||UNICODE UTF-8\r"),
        "non-ASCII declared: {a04}"
    );
    assert!(
        a04.contains(&format!("{}^^^LIGHTBOX^MR", patient.mrn)),
        "{a04}"
    );
    assert!(
        queued[1].message.contains("|555-0100\r"),
        "{}",
        queued[1].message
    );
}
