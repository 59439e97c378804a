//! The practice server under a working morning's load at once: three workstations following
//! the change stream, two scanners storing series, and an EHR sending 1,000 orders over four
//! MLLP connections. Nothing is lost: every order acknowledged AA and placed, every image
//! indexed, and each workstation receives every change of the journal exactly once, in order.
//!
//! Kind: starts the binary (`lightbox serve`), dcmtk's storescu and Python peers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::Server;

const PASSWORD: &str = "a busy morning password";
const ORDERS: usize = 1000;
const SLICES: usize = 60;

#[test]
fn three_workstations_two_scanners_and_a_thousand_orders_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    common::add_user(
        dir.path(),
        "desk",
        "Front Desk",
        lightbox::access::Role::FrontDesk,
        PASSWORD,
    );
    // Two scanners' series, made before the clock starts.
    let series: Vec<_> = (0..2)
        .map(|n| {
            let out = dir.path().join(format!("scanner{n}"));
            common::synth_ct(
                dir.path(),
                &out,
                &[
                    "--series",
                    "1",
                    "--seed",
                    &(10 + n).to_string(),
                    "--slices",
                    &SLICES.to_string(),
                    "--size",
                    "128",
                ],
            );
            out
        })
        .collect();
    let server = Server::start(dir.path());
    let head = lightbox::practice::Practice::over(common::store(dir.path())).changes_head();
    let stations: Vec<_> = (0..3)
        .map(|n| common::pair_workstation(dir.path(), server.api_port, &format!("Station {n}")))
        .collect();
    // Three workstations follow the changes from here.
    let mut followers: Vec<_> = stations
        .iter()
        .map(|station| {
            let mut child = Command::new(common::python())
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/api_events.py"))
                .arg(format!("https://localhost:{}", server.api_port))
                .arg(&station.ca)
                .args(["desk", PASSWORD, "--credential", &station.credential])
                .args(["--after", &head.to_string(), "--quiet-exit", "5", "--ready"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            assert_eq!(lines.next().unwrap().unwrap(), "ready");
            (child, lines)
        })
        .collect();
    let started = std::time::Instant::now();
    // The load, all at once: two scanners and the EHR.
    let scanners: Vec<_> = series
        .iter()
        .map(|folder| {
            Command::new("storescu")
                .env("TCP_NODELAY", "1")
                .args(["-aec", "LIGHTBOX", "+sd", "+r", "127.0.0.1", &server.port()])
                .arg(folder)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let ehr = Command::new(common::python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/hl7_burst.py"))
        .args(["--port", &server.hl7_port.to_string()])
        .args([
            "--count",
            &ORDERS.to_string(),
            "--connections",
            "4",
            "--prefix",
            "L",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let acks = ehr.wait_with_output().unwrap();
    let acks = String::from_utf8_lossy(&acks.stdout).to_string();
    let accepted = acks.lines().filter(|l| l.ends_with(" AA")).count();
    assert_eq!(accepted, ORDERS, "every order acknowledged AA: {acks:.400}");
    for scanner in scanners {
        let done = scanner.wait_with_output().unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    let load_secs = started.elapsed().as_secs_f64();
    // Every workstation got every change, once, in order.
    let store = common::store(dir.path());
    let practice = lightbox::practice::Practice::over(common::store(dir.path()));
    let (journal, _) = practice.changes_after(head, 1_000_000).unwrap();
    let expected: Vec<i64> = journal.iter().map(|e| e.id).collect();
    assert!(expected.len() > ORDERS, "{} changes", expected.len());
    for (n, (child, lines)) in followers.iter_mut().enumerate() {
        let got: Vec<i64> = lines
            .by_ref()
            .map(|l| l.unwrap())
            .filter(|l| l.starts_with('{'))
            .map(|l| {
                let event: serde_json::Value = serde_json::from_str(&l).unwrap();
                event["id"].as_str().unwrap().parse().unwrap()
            })
            .collect();
        child.wait().unwrap();
        assert_eq!(
            got.len(),
            expected.len(),
            "station {n} received {} of {} changes",
            got.len(),
            expected.len()
        );
        assert_eq!(got, expected, "station {n}: every change once, in order");
    }
    // Every order placed, every image indexed.
    let placed = (0..ORDERS)
        .filter(|n| {
            !store
                .orders_by_placer_number(&format!("L{n:06}"))
                .unwrap()
                .is_empty()
        })
        .count();
    assert_eq!(placed, ORDERS);
    assert_eq!(store.instance_count().unwrap(), (2 * SLICES) as i64);
    eprintln!(
        "load: {ORDERS} orders, {} images and {} changes to 3 workstations in {load_secs:.1} s",
        2 * SLICES,
        expected.len()
    );
}
