//! HL7 benchmarks. Sustained ORM^O01 intake with a durable ACK (stored, processed and
//! committed before the ACK) over 1 and 8 MLLP connections against the in-process listener,
//! median of 3 runs of 2,000 messages each, reported against the 1,000 messages/s commercial
//! engines publish and the issue's 2,000/s target. Then ORU^R01 out: building the message from
//! a signed report, and send + ACK round trip to a receiver on loopback (criterion).

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failed step is a failed run

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use criterion::Criterion;
use lightbox::access::{Actor, Role};
use lightbox::app::{self, DataFolder, ServeOptions};
use lightbox::events::EventSender;
use lightbox::ris::{self, ExamStatus};
use lightbox_store::hl7::Destination;

/// Messages per intake run.
const MESSAGES: usize = 2_000;
/// Published throughput of commercial interface engines (messages/s).
const PUBLISHED_ENGINE_RATE: f64 = 1_000.0;

/// The starter catalogue's procedure codes: the intake is a practice's mix (walk-in X-ray,
/// CT, MR, US, mammography, DEXA), not one procedure piling up in one room.
const CODES: [&str; 21] = [
    "71045", "71046", "73030", "73110", "73560", "73630", "72100", "70450", "71250", "71260",
    "74177", "70551", "70553", "72148", "73721", "76700", "76856", "76536", "77067", "77066",
    "77080",
];

fn orm(run: usize, n: usize) -> Vec<u8> {
    let control = format!("R{run}N{n:06}");
    let code = CODES[n % CODES.len()];
    // Requested over the next 60 days, at 08:00–17:00.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        + chrono::Duration::days(((n / CODES.len()) % 60) as i64);
    let when = format!("{}{:02}0000", day.format("%Y%m%d"), 8 + n % 10);
    let priority = ["R", "R", "R", "A", "S"][n % 5];
    let text = format!(
        "MSH|^~\\&|BENCH|NORTH|LIGHTBOX|RAD|20261127083000||ORM^O01|{control}|P|2.3\r\
         PID|1||P{run}X{n:06}^^^NORTH^MR||BENCH^PATIENT{n}||19700315|F\r\
         PV1|1|O|||||||||||||||||V{run}X{n}\r\
         ORC|NW|{control}^BENCH|||SC||^^^{when}^^{priority}\r\
         OBR|1|{control}^BENCH||{code}^PROCEDURE^CPT4|||||||||Clinical question\r\
         DG1|1||M54.16^Radiculopathy, lumbar region^I10\r"
    );
    let mut framed = vec![0x0b];
    framed.extend_from_slice(text.as_bytes());
    framed.extend_from_slice(&[0x1c, 0x0d]);
    framed
}

/// Reads one MLLP frame; returns whether it holds MSA|AA.
fn read_ack(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buffer.windows(2).position(|w| w == [0x1c, 0x0d]) {
            let frame: Vec<u8> = buffer.drain(..end + 2).collect();
            return frame.windows(7).any(|w| w == b"MSA|AA|");
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "listener closed");
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// One intake run: `connections` senders, each waiting for every ACK; messages/s.
fn intake(port: u16, run: usize, connections: usize, messages: usize) -> f64 {
    let started = Instant::now();
    let threads: Vec<_> = (0..connections)
        .map(|c| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut buffer = Vec::new();
                for n in (c..messages).step_by(connections) {
                    stream.write_all(&orm(run, n)).unwrap();
                    assert!(read_ack(&mut stream, &mut buffer), "not accepted");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    messages as f64 / started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A receiver that answers every message with AA for its MSH-10.
fn receiver() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            stream.set_nodelay(true).unwrap();
            std::thread::spawn(move || {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 65536];
                loop {
                    let Ok(n) = stream.read(&mut chunk) else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buffer.windows(2).position(|w| w == [0x1c, 0x0d]) {
                        let frame: Vec<u8> = buffer.drain(..end + 2).collect();
                        let text = String::from_utf8_lossy(&frame);
                        let control = text.split('|').nth(9).unwrap_or("");
                        let ack = format!(
                            "\x0bMSH|^~\\&|EHR|X|LIGHTBOX|Y|20261127||ACK^R01^ACK|A{control}|P|2.5.1\rMSA|AA|{control}\r\x1c\x0d"
                        );
                        if stream.write_all(ack.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

/// A fresh practice (new data folder, services running): each run starts from the same
/// state, so runs compare, and the schedule has room for a run's orders as a real one would.
struct Practice {
    _dir: tempfile::TempDir,
    data: DataFolder,
    services: app::RunningServices,
}

fn practice(runtime: &tokio::runtime::Runtime) -> Practice {
    let dir = tempfile::tempdir().unwrap();
    let data = DataFolder::resolve(Some(dir.path())).unwrap();
    drop({
        let s = lightbox_store::Store::open(&data.database()).unwrap();
        lightbox::ris::seed_starter_data(&s).unwrap();
        s
    });
    let options = ServeOptions {
        dicom_port: Some(0),
        hl7_port: Some(0),
        ..ServeOptions::default()
    };
    let services = runtime
        .block_on(app::start_services(&data, &options, EventSender::discard()))
        .unwrap();
    Practice {
        _dir: dir,
        data,
        services,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        // Test runners (nextest) list benchmarks before running them as tests.
        println!("hl7/intake_orm_o01: benchmark");
        println!("hl7/oru_send_and_ack_round_trip: benchmark");
        return;
    }
    // Run as a test (no --bench): a short smoke run of the same code.
    let quick = !args.iter().any(|a| a == "--bench");
    let messages = if quick { 100 } else { MESSAGES };
    let runs = if quick { 1 } else { 3 };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut run = 0;
    let mut last = None;
    for connections in [1, 8] {
        let rates: Vec<f64> = (0..runs)
            .map(|_| {
                run += 1;
                let p = practice(&runtime);
                let port = p.services.hl7_addr.unwrap().port();
                let rate = intake(port, run, connections, messages);
                last = Some(p);
                rate
            })
            .collect();
        let m = median(rates.clone());
        println!(
            "hl7/intake_orm_o01/{connections}_connections: median {m:.0} messages/s (runs {:?}); {:.2}x the published 1,000/s, {:.2}x the 2,000/s target",
            rates.iter().map(|r| r.round()).collect::<Vec<_>>(),
            m / PUBLISHED_ENGINE_RATE,
            m / 2_000.0
        );
    }
    let Some(Practice {
        _dir,
        data,
        services,
    }) = last
    else {
        return;
    };
    let store = {
        let s = lightbox_store::Store::open(&data.database()).unwrap();
        lightbox::ris::seed_starter_data(&s).unwrap();
        s
    };
    let first_run = run;

    // ORU out, measured here rather than by the service's sender: stop the services first.
    services.stop();
    runtime.block_on(async { tokio::time::sleep(Duration::from_millis(500)).await });
    // A destination on loopback that acknowledges at once.
    let receiver_port = receiver();
    let admin = Actor {
        login: "admin".into(),
        role: Role::Administrator,
        origin: "bench".into(),
    };
    lightbox::hl7::outbound::add_destination(
        &store,
        &admin,
        &Destination {
            name: "EHR".into(),
            host: "127.0.0.1".into(),
            port: receiver_port,
            version: "2.5.1".into(),
            events: "oru".into(),
            report_text: "tx".into(),
            ack_timeout_secs: 10,
            enabled: true,
            ..Destination::default()
        },
    )
    .unwrap();
    // 90 signed reports, then one production round builds their ORUs.
    let mut store = store;
    let tech = Actor {
        login: "tech".into(),
        role: Role::Technologist,
        origin: "bench".into(),
    };
    let rad = Actor {
        login: "drbench".into(),
        role: Role::Radiologist,
        origin: "bench".into(),
    };
    let accessions: Vec<String> = (0..if quick { 4 } else { 90 })
        .map(|n| {
            // MR lumbar spine orders of the last run (code index 13).
            let placer = format!("R{first_run}N{:06}", 13 + 21 * n);
            store.orders_by_placer_number(&placer).unwrap().remove(0)
        })
        .collect();
    for accession in &accessions {
        for to in [
            ExamStatus::Arrived,
            ExamStatus::InProgress,
            ExamStatus::Completed,
        ] {
            let _ = ris::change_status(&mut store, &tech, accession, to, "");
        }
        let report = ris::reports::start(&mut store, &rad, accession).unwrap();
        let body = "FINDINGS:\nMild degenerative change at L4-L5 with a small disc bulge.\n\nIMPRESSION:\nNo canal stenosis.";
        ris::reports::save(&mut store, &rad, report, body, false).unwrap();
        ris::reports::sign(&mut store, &rad, report, ExamStatus::Final).unwrap();
    }
    let started = Instant::now();
    let built =
        lightbox::hl7::outbound::produce(&store, chrono::Local::now().naive_local()).unwrap();
    let per_message = started.elapsed() / built.max(1) as u32;
    println!(
        "hl7/oru_build: {built} ORU^R01 built and queued, {:.0} µs each",
        per_message.as_secs_f64() * 1e6
    );
    let destination = store.destinations().unwrap()[0].id;
    let queued = store.outbound_queue(destination).unwrap();
    let mut stream = runtime
        .block_on(tokio::net::TcpStream::connect(("127.0.0.1", receiver_port)))
        .unwrap();
    stream.set_nodelay(true).unwrap();
    let mut criterion = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(5));
    let mut n = 0;
    criterion.bench_function("hl7/oru_send_and_ack_round_trip", |b| {
        b.iter(|| {
            let message = &queued[n % queued.len()];
            n += 1;
            let outcome = runtime.block_on(lightbox::hl7::sender::deliver(
                &mut stream,
                message,
                Duration::from_secs(10),
            ));
            assert!(matches!(
                outcome,
                lightbox::hl7::sender::Delivery::Accepted(_)
            ));
        })
    });
    criterion.final_summary();
    drop(services);
}
