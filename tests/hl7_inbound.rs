//! Inbound HL7 through the library on the corpus messages: registration, orders placed and
//! cancelled, resends answered from the log without doing the work twice, and bad messages
//! rejected with a reason. Every ACK is parsed by python `hl7` (a peer) to check it is valid.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::process::Command;

use chrono::NaiveDate;
use common::*;
use lightbox::hl7::inbound::receive;
use lightbox::store::Store;

fn message(name: &str) -> Vec<u8> {
    std::fs::read(corpus().join("hl7").join(name)).unwrap()
}

/// MSA-1 and MSA-2 of an ACK as python `hl7` reads them.
fn msa(ack: &str) -> (String, String) {
    let script = "import sys, hl7\nm = hl7.parse(sys.stdin.read())\nmsa = m.segment('MSA')\nprint(str(msa[1]) + ' ' + str(msa[2]))";
    let mut child = Command::new(python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ack.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python hl7 cannot parse the ACK: {ack:?}"
    );
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (a, b) = text.split_once(' ').unwrap_or((&text, ""));
    (a.to_string(), b.to_string())
}

#[test]
fn registration_orders_cancellation_and_resends() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    lightbox::ris::seed_starter_data(&store).unwrap();
    let now = NaiveDate::from_ymd_opt(2026, 11, 27)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    let ack = receive(&mut store, &message("adt_a04_register.hl7"), now);
    assert_eq!(msa(&ack), ("AA".into(), "ADT0001".into()), "{ack}");
    let patient = store
        .patient_by_identifier("100234", "NORTHCLINIC")
        .unwrap()
        .unwrap();
    assert_eq!(
        (patient.family_name.as_str(), patient.birth_date.as_str()),
        ("DOE", "1970-03-15")
    );
    // A resend after a lost ACK: the same ACK, no second patient.
    let again = receive(&mut store, &message("adt_a04_register.hl7"), now);
    assert_eq!(again, ack);
    // The same ID from another issuer is another person.
    assert!(
        store
            .patient_by_identifier("100234", "OTHERCLINIC")
            .unwrap()
            .is_none()
    );
    let ack = receive(&mut store, &message("orm_o01_new_mri.hl7"), now);
    assert_eq!(msa(&ack), ("AA".into(), "ORM0001".into()), "{ack}");
    let accession = store.order_by_placer("EPIC", "ORD448812").unwrap().unwrap();
    let order = store.order_by_accession(&accession).unwrap().unwrap();
    assert_eq!(
        (order.procedure_code.as_str(), order.patient),
        ("72148", Some(patient.id))
    );
    assert_eq!(order.icd10, "M54.16");
    let step = store.step_of_order(order.id).unwrap();
    assert_eq!(
        step.start_time, "2026-11-30T09:00",
        "placed at the requested time"
    );
    let resend = receive(&mut store, &message("orm_o01_new_mri.hl7"), now);
    assert_eq!(resend, ack);
    assert_eq!(
        store.orders_with_status("scheduled").unwrap().len(),
        1,
        "no second order"
    );
    let ack = receive(&mut store, &message("orm_o01_cancel.hl7"), now);
    assert_eq!(msa(&ack).0, "AA", "{ack}");
    assert_eq!(
        store
            .order_by_accession(&accession)
            .unwrap()
            .unwrap()
            .status,
        "cancelled"
    );
}

#[test]
fn messages_that_cannot_be_understood_are_rejected_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    lightbox::ris::seed_starter_data(&store).unwrap();
    let now = NaiveDate::from_ymd_opt(2026, 11, 27)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    for (name, words) in [
        ("bad_no_msh.hl7", "MSH"),
        ("bad_missing_pid3.hl7", "PID-3"),
        ("bad_unknown_type.hl7", "not handled"),
    ] {
        let ack = receive(&mut store, &message(name), now);
        assert_eq!(msa(&ack).0, "AR", "{name}: {ack}");
        assert!(ack.contains(words), "{name}: {ack}");
    }
    // A cut message is not half-applied: either refused or, if its header and PID survive,
    // accepted without an order it does not contain.
    let ack = receive(&mut store, &message("bad_truncated.hl7"), now);
    assert!(["AR", "AA"].contains(&msa(&ack).0.as_str()), "{ack}");
    assert!(store.orders_with_status("scheduled").unwrap().is_empty());
}

#[test]
fn python_hl7_mllp_send_gets_acks_over_the_listener() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_ne!(server.hl7_port, 0, "serve reports its HL7 port");
    let mllp_send = python().parent().unwrap().join("mllp_send");
    for name in [
        "adt_a04_register.hl7",
        "orm_o01_new_mri.hl7",
        "bad_unknown_type.hl7",
    ] {
        let out = Command::new(&mllp_send)
            .args(["--loose", "-p", &server.hl7_port.to_string(), "-f"])
            .arg(corpus().join("hl7").join(name))
            .arg("127.0.0.1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = if name.starts_with("bad") {
            "MSA|AR"
        } else {
            "MSA|AA"
        };
        assert!(text.contains(expected), "{name}: {text}");
    }
    // The order is in the RIS, scheduled (for the requested time, or the first slot after
    // today if that time has passed) and so on the scanner's worklist.
    let store = Store::open(&dir.path().join("lightbox.sqlite")).unwrap();
    let accession = store.order_by_placer("EPIC", "ORD448812").unwrap().unwrap();
    let order = store.order_by_accession(&accession).unwrap().unwrap();
    assert_eq!(order.status, "scheduled");
    let rows = store.worklist_rows(None, None, Some("MR1")).unwrap();
    assert!(rows.iter().any(|r| r.order.accession == accession));
}
