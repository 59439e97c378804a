//! Nothing lost, nothing doubled: a kill -9 in the middle of a burst of 1000 ORM^O01 over 4
//! connections keeps every acknowledged order, and sending the whole burst again afterwards
//! creates no duplicate.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use lightbox_store::Store;

fn burst(port: u16, count: usize) -> std::process::Child {
    Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/hl7_burst.py"))
        .args([
            "--port",
            &port.to_string(),
            "--count",
            &count.to_string(),
            "--connections",
            "4",
            "--prefix",
            "K",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn present(store: &Store, count: usize) -> BTreeSet<String> {
    (0..count)
        .map(|n| format!("K{n:06}"))
        .filter(|c| !store.orders_by_placer_number(c).unwrap().is_empty())
        .collect()
}

#[test]
fn kill9_during_a_burst_keeps_every_acknowledged_order_and_a_resend_doubles_nothing() {
    const COUNT: usize = 1000;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let mut child = burst(server.hl7_port, COUNT);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = BTreeSet::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let (control, code) = line.split_once(' ').unwrap();
        assert_eq!(code, "AA", "{line}");
        acked.insert(control.to_string());
        if acked.len() == 300 {
            server.kill9();
            break;
        }
    }
    // Whatever ACKs were already on the wire are acknowledged too.
    for line in lines {
        let line = line.unwrap();
        if let Some((control, "AA")) = line.split_once(' ') {
            acked.insert(control.to_string());
        }
    }
    child.wait().unwrap();
    assert!(
        acked.len() < COUNT,
        "the kill came in the middle of the burst"
    );
    drop(server);
    let server = Server::start_untrusted(dir.path());
    let store = common::store(dir.path());
    let found = present(&store, COUNT);
    let lost: Vec<_> = acked.difference(&found).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    // Committed-but-not-yet-acknowledged: at most one in flight per connection.
    assert!(
        found.len() - acked.len() <= 4,
        "{} present, {} acked",
        found.len(),
        acked.len()
    );
    // Everything again: every message acknowledged, nothing twice.
    let mut again = burst(server.hl7_port, COUNT);
    let answers: Vec<String> = BufReader::new(again.stdout.take().unwrap())
        .lines()
        .map(|l| l.unwrap())
        .collect();
    again.wait().unwrap();
    assert_eq!(answers.len(), COUNT);
    assert!(answers.iter().all(|l| l.ends_with(" AA")), "{answers:?}");
    assert_eq!(present(&store, COUNT).len(), COUNT);
    for n in 0..COUNT {
        let control = format!("K{n:06}");
        assert_eq!(
            store.orders_by_placer_number(&control).unwrap().len(),
            1,
            "{control}"
        );
    }
    let log = store.inbound_log(COUNT * 2).unwrap();
    assert_eq!(log.len(), COUNT, "one stored message per control id");
}
