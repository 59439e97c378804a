//! Thousands of mutated corpus messages: every one gets an ACK (AA, AE or AR) that our own
//! reader and python `hl7` can parse, never a panic; over MLLP, every frame gets an ACK or a
//! clean close, and the listener keeps serving.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use lightbox::hl7::inbound::receive;

fn mutate(rng: &mut Rng, original: &[u8]) -> Vec<u8> {
    let mut m = original.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(m.len());
        match rng.below(8) {
            0 => m[at] ^= 1 << rng.below(8),
            1 => m.truncate(at),
            2 => {
                let special = b"\r\n|^~\\&\x0b\x1c\x00\xff";
                m.insert(at, special[rng.below(special.len())]);
            }
            3 => {
                let len = rng.below(64);
                m.drain(at..(at + len).min(m.len()));
            }
            4 => {
                // duplicate a slice (segments repeated, fields doubled)
                let len = rng.below(200).min(m.len() - at);
                let piece = m[at..at + len].to_vec();
                m.splice(at..at, piece);
            }
            5 => m
                .splice(at..at, std::iter::repeat_n(b'9', 1 + rng.below(5000)))
                .for_each(drop),
            6 => {
                let bytes: Vec<u8> = (0..1 + rng.below(32)).map(|_| rng.next() as u8).collect();
                m.splice(at..at, bytes).for_each(drop);
            }
            _ => {
                if let Some(p) = m.iter().position(|b| *b == b'\r') {
                    m[p] = b'\n';
                }
            }
        }
        if m.is_empty() {
            m.push(b'M');
        }
    }
    m
}

fn corpus_messages() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus().join("hl7"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn thousands_of_mutated_messages_each_get_an_ack_and_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = common::store(dir.path());
    lightbox::ris::seed_starter_data(&store).unwrap();
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap();
    let mut rng = Rng(0x0005_eed0_f4c7);
    let mut codes = std::collections::BTreeMap::new();
    let mut samples = Vec::new();
    for round in 0..400 {
        for (name, original) in corpus_messages() {
            let mutated = mutate(&mut rng, &original);
            let ack = receive(&mut store, None, &mutated, now);
            let header = lightbox::hl7::message::read_header(&ack)
                .unwrap_or_else(|e| panic!("round {round} {name}: unreadable ACK {e}: {ack:?}"));
            assert_eq!(header.message_type, "ACK", "round {round} {name}");
            let (code, _, _) = lightbox::hl7::sender::read_ack(ack.as_bytes())
                .unwrap_or_else(|| panic!("round {round} {name}: no MSA: {ack:?}"));
            *codes.entry(code).or_insert(0usize) += 1;
            if round % 100 == 0 {
                samples.push(ack);
            }
        }
    }
    // Each outcome is common: the mutations hit both harmless and fatal places.
    for code in ["AA", "AE", "AR"] {
        assert!(codes.get(code).copied().unwrap_or(0) > 20, "{codes:?}");
    }
    // A real peer reads our ACKs to mutated input too.
    let script = "import sys, hl7\nfor a in sys.stdin.read().split('\\x00'):\n    if a: hl7.parse(a).segment('MSA')\n";
    let mut child = std::process::Command::new(python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(samples.join("\0").as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn mutated_frames_over_mllp_get_an_ack_or_a_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut rng = Rng(0xfeed_beef);
    let messages = corpus_messages();
    let mut acks = 0;
    let mut closes = 0;
    for round in 0..300 {
        let (name, original) = &messages[round % messages.len()];
        let mutated = mutate(&mut rng, original);
        let mut stream = TcpStream::connect(("127.0.0.1", server.hl7_port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut framed = vec![0x0b];
        framed.extend_from_slice(&mutated);
        framed.extend_from_slice(&[0x1c, 0x0d]);
        stream.write_all(&framed).unwrap();
        let mut answer = Vec::new();
        let mut buffer = [0u8; 65536];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.ends_with(&[0x1c, 0x0d]) {
                        break;
                    }
                }
                Err(e) => panic!("round {round} {name}: no answer and no close: {e}"),
            }
        }
        if answer.is_empty() {
            closes += 1;
        } else {
            assert!(
                lightbox::hl7::sender::read_ack(&answer[1..answer.len() - 2]).is_some(),
                "round {round} {name}: {:?}",
                String::from_utf8_lossy(&answer)
            );
            acks += 1;
        }
    }
    assert!(acks > 200, "{acks} ACKs, {closes} closes");
    // Still serving.
    let out = std::process::Command::new(python().parent().unwrap().join("mllp_send"))
        .args(["--loose", "-p", &server.hl7_port.to_string(), "-f"])
        .arg(corpus().join("hl7/adt_a04_register.hl7"))
        .arg("127.0.0.1")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("MSA|"));
}
