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
    // Two scanners' series, made before the clock starts; two more for the same scanners
    // with the server idle (the ingest figure without the load).
    let mut series: Vec<_> = (0..4)
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
    let idle_series = series.split_off(2);
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
        .map(|folder| scanner(folder, "LIGHTBOX", &server.port()))
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
    let ingest_secs = scanners
        .into_iter()
        .map(|s| s.join().unwrap())
        .fold(0.0, f64::max);
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
    // The same two scanners again with the server idle, and into dcmtk's storescp on its own:
    // what the load costs the scanners, and the ingest figure's peer.
    let idle_secs = idle_series
        .iter()
        .map(|folder| scanner(folder, "LIGHTBOX", &server.port()))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|s| s.join().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(store.instance_count().unwrap(), (4 * SLICES) as i64);
    // The same two scanners into dcmtk's storescp, on its own: the ingest figure's peer.
    let peer_dir = dir.path().join("storescp");
    std::fs::create_dir_all(&peer_dir).unwrap();
    let peer_port = common::free_port();
    let mut peer = Command::new("storescp")
        .env("TCP_NODELAY", "1")
        .args(["--fork", "-od"])
        .arg(&peer_dir)
        .arg(peer_port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    common::wait_for_port(peer_port);
    let peer_secs = series
        .iter()
        .map(|folder| scanner(folder, "ANY-SCP", &peer_port.to_string()))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|s| s.join().unwrap())
        .fold(0.0, f64::max);
    let _ = peer.kill();
    let _ = peer.wait();
    eprintln!(
        "load: {ORDERS} orders, {} images and {} changes to 3 workstations in {load_secs:.1} s; \
         the scanners' images in {ingest_secs:.2} s under the load, {idle_secs:.2} s with the \
         server idle (×{:.1}), into storescp in {peer_secs:.2} s (Lightbox idle / storescp = \
         {:.2}, under load / storescp = {:.2}; this build's profile: {})",
        2 * SLICES,
        expected.len(),
        ingest_secs / idle_secs,
        idle_secs / peer_secs,
        ingest_secs / peer_secs,
        if cfg!(debug_assertions) {
            "debug, unoptimised"
        } else {
            "release"
        }
    );
}

/// A scanner (dcmtk's storescu, a fresh association) sending `folder` to `ae` on `port`: how
/// long it took, once it is done (it must succeed).
fn scanner(folder: &Path, ae: &str, port: &str) -> std::thread::JoinHandle<f64> {
    let mut command = Command::new("storescu");
    command
        .env("TCP_NODELAY", "1")
        .args(["-aec", ae, "+sd", "+r", "127.0.0.1", port])
        .arg(folder)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    std::thread::spawn(move || {
        let start = std::time::Instant::now();
        let done = command.output().unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        start.elapsed().as_secs_f64()
    })
}
