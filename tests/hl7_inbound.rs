//! Inbound HL7 through the library on the corpus messages: registration, orders placed and
//! cancelled, resends answered from the log without doing the work twice, and bad messages
//! rejected with a reason. Every ACK is parsed by python `hl7` (a peer) to check it is valid.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use std::process::Command;

use chrono::NaiveDate;
use common::*;
use lightbox::hl7::inbound::receive;
use lightbox_store::Store;

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
    let mut store = common::store(dir.path());
    lightbox::ris::seed_starter_data(&store).unwrap();
    let now = NaiveDate::from_ymd_opt(2026, 11, 27)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    let ack = receive(&mut store, None, &message("adt_a04_register.hl7"), now);
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
    let again = receive(&mut store, None, &message("adt_a04_register.hl7"), now);
    assert_eq!(again, ack);
    // The same ID from another issuer is another person.
    assert!(
        store
            .patient_by_identifier("100234", "OTHERCLINIC")
            .unwrap()
            .is_none()
    );
    let ack = receive(&mut store, None, &message("orm_o01_new_mri.hl7"), now);
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
    let resend = receive(&mut store, None, &message("orm_o01_new_mri.hl7"), now);
    assert_eq!(resend, ack);
    assert_eq!(
        store.orders_with_status("scheduled").unwrap().len(),
        1,
        "no second order"
    );
    let ack = receive(&mut store, None, &message("orm_o01_cancel.hl7"), now);
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
    let mut store = common::store(dir.path());
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
        let ack = receive(&mut store, None, &message(name), now);
        assert_eq!(msa(&ack).0, "AR", "{name}: {ack}");
        assert!(ack.contains(words), "{name}: {ack}");
    }
    // A processing id or version this receiver does not speak is rejected, named.
    for (header, words) in [
        ("MSH|^~\\&|EPIC|N|LIGHTBOX|R|2026||ADT^A04|V1|X|2.3", "202^"),
        ("MSH|^~\\&|EPIC|N|LIGHTBOX|R|2026||ADT^A04|V2|P|3.0", "203^"),
    ] {
        let ack = receive(
            &mut store,
            None,
            format!("{header}\rPID|1||1^^^H\r").as_bytes(),
            now,
        );
        assert_eq!(msa(&ack).0, "AR", "{ack}");
        assert!(ack.contains(words), "{ack}");
    }
    // A cut message is not half-applied: either refused or, if its header and PID survive,
    // accepted without an order it does not contain.
    let ack = receive(&mut store, None, &message("bad_truncated.hl7"), now);
    assert!(["AR", "AA"].contains(&msa(&ack).0.as_str()), "{ack}");
    assert!(store.orders_with_status("scheduled").unwrap().is_empty());
}

#[test]
fn every_corpus_message_over_mllp_send_gets_its_ack_and_the_omi_order_is_on_the_worklist() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_ne!(server.hl7_port, 0, "serve reports its HL7 port");
    let mllp_send = python().parent().unwrap().join("mllp_send");
    for (name, expected) in [
        ("adt_a04_register.hl7", "MSA|AA|ADT0001"),
        ("adt_a08_update.hl7", "MSA|AA|ADT0002"),
        ("orm_o01_new_mri.hl7", "MSA|AA|ORM0001"),
        ("omi_o23_new_ct_stat.hl7", "MSA|AA|OMI0001"),
        ("orm_o01_cancel.hl7", "MSA|AA|ORM0002"),
        ("adt_a40_merge.hl7", "MSA|AA|ADT0003"),
        ("bad_no_msh.hl7", "MSA|AR"),
        ("bad_missing_pid3.hl7", "MSA|AR|ORM0098"),
        ("bad_truncated.hl7", "MSA|AR|ORM0099"),
        ("bad_unknown_type.hl7", "MSA|AR|ZZZ0001"),
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
        assert!(text.contains(expected), "{name}: {text}");
        assert!(text.contains("ACK^"), "{name}: {text}");
    }
    let store = common::store(dir.path());
    // A08 changed the address; the cancel cancelled the MRI; A40 named an unknown prior.
    let doe = store
        .patient_by_identifier("100234", "NORTHCLINIC")
        .unwrap()
        .unwrap();
    assert!(doe.address.starts_with("48 OAK AVE"), "{}", doe.address);
    let mri = store.order_by_placer("EPIC", "ORD448812").unwrap().unwrap();
    assert_eq!(
        store.order_by_accession(&mri).unwrap().unwrap().status,
        "cancelled"
    );
    let log = store.inbound_log(20).unwrap();
    let merge = log.iter().find(|m| m.control_id == "ADT0003").unwrap();
    assert!(merge.ack.contains("not known here"), "{}", merge.ack);
    // The OMI order is on the CT worklist with the placer's accession and Study Instance UID,
    // as dcmtk's findscu -W sees it.
    let out_dir = tempfile::tempdir_in(dir.path()).unwrap();
    let port = server.port();
    let r = dcmtk(
        "findscu",
        &[
            "-W",
            "-aec",
            "LIGHTBOX",
            "-aet",
            "FINDSCU",
            "-X",
            "-od",
            out_dir.path().to_str().unwrap(),
            "-k",
            "AccessionNumber=ACC550021",
            "-k",
            "StudyInstanceUID",
            "-k",
            "PatientID",
            "-k",
            "(0040,0100)[0].Modality",
            "127.0.0.1",
            &port,
        ],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let answers: Vec<_> = std::fs::read_dir(out_dir.path()).unwrap().collect();
    assert_eq!(answers.len(), 1);
    let obj = dicom_object::open_file(answers[0].as_ref().unwrap().path()).unwrap();
    assert_eq!(
        lightbox::pacs::attributes::text(&obj, dicom_dictionary_std::tags::STUDY_INSTANCE_UID),
        "1.2.826.0.1.3680043.8.498.10000000000000000000000000001"
    );
}

fn at(hour: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 27)
        .unwrap()
        .and_hms_opt(hour, 0, 0)
        .unwrap()
}

/// A message from segment lines (CR-ended, as on the wire).
fn msg(lines: &[&str]) -> Vec<u8> {
    let mut text = lines.join("\r");
    text.push('\r');
    text.into_bytes()
}

fn fresh_store(dir: &std::path::Path) -> Store {
    let store = common::store(dir);
    lightbox::ris::seed_starter_data(&store).unwrap();
    store
}

const MSH_ORM: &str = "MSH|^~\\&|EPIC|NORTHCLINIC|LIGHTBOX|RADPRACTICE|20261127083000||ORM^O01|";
const PID_DOE: &str = "PID|1||100234^^^NORTHCLINIC^MR||DOE^JANE^A||19700315|F";

#[test]
fn omi_o23_uses_the_placers_accession_uid_and_step_and_is_stat() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let ack = receive(
        &mut store,
        None,
        &message("omi_o23_new_ct_stat.hl7"),
        at(11),
    );
    assert_eq!(msa(&ack), ("AA".into(), "OMI0001".into()), "{ack}");
    let order = store.order_by_accession("ACC550021").unwrap().unwrap();
    assert_eq!(order.priority, "STAT");
    assert_eq!(order.placer_number, "ORD550021");
    assert_eq!(order.reason, "Suspected pulmonary embolism");
    let step = store.step_of_order(order.id).unwrap();
    assert_eq!(
        (
            step.requested_procedure_id.as_str(),
            step.step_id.as_str(),
            step.study_uid.as_str()
        ),
        (
            "RP550021",
            "SPS550021",
            "1.2.826.0.1.3680043.8.498.10000000000000000000000000001"
        )
    );
    // OBR-16 is the ordering provider (a valid NPI); PV1-19 opened the visit.
    let referrer = store.referring(order.referring.unwrap()).unwrap();
    assert_eq!(
        (referrer.npi.as_str(), referrer.family_name.as_str()),
        ("2234567891", "PATEL")
    );
    let patient = store
        .patient_by_identifier("200877", "NORTHCLINIC")
        .unwrap()
        .unwrap();
    let visits = store.encounters_of(patient.id).unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(
        store.order_visit_numbers(order.id).unwrap().unwrap().1,
        "V5566"
    );
    // The same accession again (another control id) is refused and changes nothing.
    let again = String::from_utf8(message("omi_o23_new_ct_stat.hl7"))
        .unwrap()
        .replace("OMI0001", "OMI0002")
        .replace("ORD550021", "ORD550099");
    let ack = receive(&mut store, None, again.as_bytes(), at(11));
    assert_eq!(msa(&ack).0, "AE", "{ack}");
    assert!(ack.contains("already") && ack.contains("|205^"), "{ack}");
    assert!(
        store
            .order_by_placer("EPIC", "ORD550099")
            .unwrap()
            .is_none()
    );
}

#[test]
fn several_order_groups_omg_xo_sc_and_insurance() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    // Two ORC/OBR groups: two orders; IN1 becomes the patient's policy; OBR-16 the referrer.
    let two = msg(&[
        &format!("{MSH_ORM}M1|P|2.3"),
        PID_DOE,
        "PV1|1|O|||||||||||||||||V9",
        "IN1|1|PPO|ACME01|ACME HEALTH||||G77||||||||DOE^JANE|SEL|19700315||||||||||||||||||M123",
        "ORC|NW|P-1^EPIC|||SC||^^^20261201100000^^A",
        "OBR|1|P-1^EPIC||71260^CT CHEST^CPT4|||||||||Cough|||1234567893^HOUSE^GREGORY",
        "DG1|1||R05^Cough^I10",
        "ORC|NW|P-2^EPIC|||SC",
        "OBR|1|P-2^EPIC||99999^UNKNOWN THING^CPT4||20261201120000",
    ]);
    let ack = receive(&mut store, None, &two, at(9));
    assert_eq!(msa(&ack).0, "AA", "{ack}");
    assert!(
        ack.contains("accepted for review: unknown procedure code 99999"),
        "{ack}"
    );
    let first = store.order_by_placer("EPIC", "P-1").unwrap().unwrap();
    let first = store.order_by_accession(&first).unwrap().unwrap();
    assert_eq!(
        (first.priority.as_str(), first.icd10.as_str()),
        ("ASAP", "R05")
    );
    let referrer = store.referring(first.referring.unwrap()).unwrap();
    assert_eq!(
        (referrer.npi.as_str(), referrer.family_name.as_str()),
        ("1234567893", "HOUSE")
    );
    let policy = store.insurance(first.insurance.unwrap()).unwrap();
    assert_eq!(
        (
            policy.payer.as_str(),
            policy.member_number.as_str(),
            policy.group_number.as_str()
        ),
        ("ACME HEALTH", "M123", "G77")
    );
    let second = store.order_by_placer("EPIC", "P-2").unwrap().unwrap();
    let second = store.order_by_accession(&second).unwrap().unwrap();
    assert_eq!(second.status, "needs_review");
    // XO changes the first order's procedure and priority; SC is recorded.
    let change = msg(&[
        &format!("{MSH_ORM}M2|P|2.3"),
        PID_DOE,
        "ORC|XO|P-1^EPIC|||SC||^^^^^S",
        "OBR|1|P-1^EPIC||71250^CT CHEST WO^CPT4|||||||||Cough, worse",
    ]);
    let ack = receive(&mut store, None, &change, at(9));
    assert_eq!(msa(&ack).0, "AA", "{ack}");
    let changed = store.order_by_accession(&first.accession).unwrap().unwrap();
    assert_eq!(
        (
            changed.procedure_code.as_str(),
            changed.priority.as_str(),
            changed.reason.as_str()
        ),
        ("71250", "STAT", "Cough, worse")
    );
    let status = msg(&[
        &format!("{MSH_ORM}M3|P|2.3"),
        PID_DOE,
        "ORC|SC|P-1^EPIC|||HD",
        "OBR|1|P-1^EPIC||71250^CT CHEST WO^CPT4",
    ]);
    assert_eq!(msa(&receive(&mut store, None, &status, at(9))).0, "AA");
    let audit = store
        .audit_about(&format!("order:{}", first.accession))
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "order.placer_status" && a.detail.contains("HD"))
    );
    // OMG^O19 is an order too; an XO for an unknown order is refused and changes nothing.
    let omg = msg(&[
        "MSH|^~\\&|EPIC|NORTHCLINIC|LIGHTBOX|RADPRACTICE|20261127||OMG^O19^OMG_O19|M4|P|2.5.1",
        PID_DOE,
        "ORC|NW|P-3^EPIC",
        "TQ1|1||||||20261202080000||R",
        "OBR|1|P-3^EPIC||73030^XR SHOULDER^CPT4",
    ]);
    assert_eq!(msa(&receive(&mut store, None, &omg, at(9))).0, "AA");
    assert!(store.order_by_placer("EPIC", "P-3").unwrap().is_some());
    let unknown = msg(&[
        &format!("{MSH_ORM}M5|P|2.3"),
        PID_DOE,
        "ORC|NW|P-4^EPIC",
        "OBR|1|P-4^EPIC||71260^CT CHEST^CPT4",
        "ORC|XO|NOPE^EPIC",
        "OBR|1|NOPE^EPIC||71260^CT CHEST^CPT4",
    ]);
    let ack = receive(&mut store, None, &unknown, at(9));
    assert_eq!(msa(&ack).0, "AE", "{ack}");
    assert!(
        ack.contains("ERR||ORC^2^2|204"),
        "names the second group: {ack}"
    );
    assert!(
        store.order_by_placer("EPIC", "P-4").unwrap().is_none(),
        "a refused message applies nothing, not even its first group"
    );
}

#[test]
fn a40_merges_through_the_audited_merge_and_a11_cancels_the_visit() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    assert_eq!(
        msa(&receive(
            &mut store,
            None,
            &message("adt_a04_register.hl7"),
            at(8)
        ))
        .0,
        "AA"
    );
    let prior = msg(&[
        "MSH|^~\\&|EPIC|NORTHCLINIC|LIGHTBOX|RADPRACTICE|20261127||ADT^A04|P1|P|2.3",
        "PID|1||100299^^^NORTHCLINIC^MR||DOE^JANE||19700315|F",
        "PV1|1|O|||||||||||||||||V7001",
    ]);
    assert_eq!(msa(&receive(&mut store, None, &prior, at(8))).0, "AA");
    let order = msg(&[
        &format!("{MSH_ORM}P2|P|2.3"),
        "PID|1||100299^^^NORTHCLINIC^MR||DOE^JANE||19700315|F",
        "ORC|NW|DUP-1^EPIC",
        "OBR|1|DUP-1^EPIC||72148^MRI L SPINE^CPT4",
    ]);
    assert_eq!(msa(&receive(&mut store, None, &order, at(8))).0, "AA");
    let kept = store
        .patient_by_identifier("100234", "NORTHCLINIC")
        .unwrap()
        .unwrap();
    let merged = store
        .patient_by_identifier("100299", "NORTHCLINIC")
        .unwrap()
        .unwrap();
    let ack = receive(&mut store, None, &message("adt_a40_merge.hl7"), at(9));
    assert_eq!(msa(&ack), ("AA".into(), "ADT0003".into()), "{ack}");
    assert_eq!(store.patient(merged.id).unwrap().merged_into, Some(kept.id));
    let accession = store.order_by_placer("EPIC", "DUP-1").unwrap().unwrap();
    assert_eq!(
        store
            .order_by_accession(&accession)
            .unwrap()
            .unwrap()
            .patient,
        Some(kept.id),
        "the merged patient's order moved"
    );
    let audit = store.audit_about(&format!("patient:{}", kept.mrn)).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "patient.merge" && a.actor == "hl7:EPIC"),
        "{audit:?}"
    );
    // A11 cancels the visit V7001 the prior's A04 opened (now the kept patient's? no: the
    // visit stays with the merged record; A11 names the patient by the identifier it knows).
    let cancel = msg(&[
        "MSH|^~\\&|EPIC|NORTHCLINIC|LIGHTBOX|RADPRACTICE|20261127||ADT^A11|P3|P|2.3",
        "PID|1||100299^^^NORTHCLINIC^MR||DOE^JANE||19700315|F",
        "PV1|1|O|||||||||||||||||V9999",
    ]);
    let ack = receive(&mut store, None, &cancel, at(9));
    assert_eq!(msa(&ack).0, "AA", "{ack}");
    assert!(ack.contains("visit V9999 not known here"), "{ack}");
    let register_visit = msg(&[
        "MSH|^~\\&|EPIC|NORTHCLINIC|LIGHTBOX|RADPRACTICE|20261127||ADT^A01|P4|P|2.3",
        "PID|1||100234^^^NORTHCLINIC^MR||DOE^JANE||19700315|F",
        "PV1|1|I|||||||||||||||||V8001",
    ]);
    assert_eq!(
        msa(&receive(&mut store, None, &register_visit, at(9))).0,
        "AA"
    );
    let visit = store
        .encounter_by_outside_number(kept.id, "V8001")
        .unwrap()
        .unwrap();
    let delete = msg(&[
        "MSH|^~\\&|EPIC|NORTHCLINIC|LIGHTBOX|RADPRACTICE|20261127||ADT^A23|P5|P|2.3",
        "PID|1||100234^^^NORTHCLINIC^MR||DOE^JANE||19700315|F",
        "PV1|1|I|||||||||||||||||V8001",
    ]);
    assert_eq!(msa(&receive(&mut store, None, &delete, at(9))).0, "AA");
    assert_eq!(store.encounter_status(visit).unwrap(), "cancelled");
}

#[test]
fn enhanced_mode_gets_a_commit_ack_and_the_application_ack_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    lightbox::hl7::outbound::add_destination(
        &store,
        &lightbox::access::Actor {
            login: "admin".into(),
            role: lightbox::access::Role::Administrator,
            origin: "test".into(),
        },
        &lightbox_store::hl7::Destination {
            name: "EPIC acks".into(),
            host: "127.0.0.1".into(),
            port: 2576,
            version: "2.5.1".into(),
            receiving_application: "EPIC".into(),
            events: "ack".into(),
            report_text: "tx".into(),
            ack_timeout_secs: 5,
            enabled: true,
            ..Default::default()
        },
    )
    .unwrap();
    let enhanced = msg(&[
        "MSH|^~\\&|EPIC|NORTHCLINIC|LIGHTBOX|RADPRACTICE|20261127||ADT^A04|E1|P|2.5.1|||AL|AL",
        PID_DOE,
    ]);
    let ack = receive(&mut store, None, &enhanced, at(8));
    assert_eq!(msa(&ack), ("CA".into(), "E1".into()), "{ack}");
    let destination = store.destinations().unwrap()[0].id;
    let queued = store.outbound_queue(destination).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        msa(&queued[0].message),
        ("AA".into(), "E1".into()),
        "{}",
        queued[0].message
    );
    // Regression: the queued application ACK's MSH-10 is the control id its own ACK must
    // name (they differed, so the receiver's AA never matched and it was sent forever).
    let msh10 = queued[0].message.split('|').nth(9).unwrap();
    assert_eq!(msh10, queued[0].control_id);
}

#[test]
fn oru_from_dictation_files_the_report_and_is_forwarded() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    assert_eq!(
        msa(&receive(
            &mut store,
            None,
            &message("orm_o01_new_mri.hl7"),
            at(8)
        ))
        .0,
        "AA"
    );
    let accession = store.order_by_placer("EPIC", "ORD448812").unwrap().unwrap();
    let admin = lightbox::access::Actor {
        login: "admin".into(),
        role: lightbox::access::Role::Administrator,
        origin: "test".into(),
    };
    lightbox::hl7::outbound::add_destination(
        &store,
        &admin,
        &lightbox_store::hl7::Destination {
            name: "EHR".into(),
            host: "127.0.0.1".into(),
            port: 2576,
            version: "2.3".into(),
            events: "oru".into(),
            report_text: "ft".into(),
            ack_timeout_secs: 5,
            enabled: true,
            ..Default::default()
        },
    )
    .unwrap();
    let oru = |control: &str, status: &str, text: &[&str]| {
        let mut lines = vec![
            format!("MSH|^~\\&|DICTATE|RAD|LIGHTBOX|RADPRACTICE|20261127||ORU^R01|{control}|P|2.3"),
            PID_DOE.to_string(),
            format!(
                "OBR|1|ORD448812^EPIC||72148^MRI L SPINE^CPT4||||||||||||||{accession}|||||||{status}|||||||1234567893&HOUSE&GREGORY"
            ),
        ];
        for (n, t) in text.iter().enumerate() {
            lines.push(format!(
                "OBX|{}|TX|18782-3^Study^LN||{t}||||||{status}",
                n + 1
            ));
        }
        msg(&lines.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let ack = receive(
        &mut store,
        None,
        &oru(
            "D1",
            "P",
            &["FINDINGS: disc bulge L4\\T\\L5.", "IMPRESSION: mild."],
        ),
        at(10),
    );
    assert_eq!(msa(&ack).0, "AA", "{ack}");
    let order = store.order_by_accession(&accession).unwrap().unwrap();
    assert_eq!(order.status, "preliminary");
    let report = store.reports_of_order(order.id).unwrap().remove(0);
    assert_eq!(
        report.body,
        "FINDINGS: disc bulge L4&L5.\nIMPRESSION: mild."
    );
    assert_eq!(report.signer, "hl7:DICTATE:HOUSE GREGORY");
    let ack = receive(
        &mut store,
        None,
        &oru(
            "D2",
            "F",
            &[
                "FINDINGS: disc bulge L4-L5.",
                "IMPRESSION: mild, no stenosis.",
            ],
        ),
        at(11),
    );
    assert_eq!(msa(&ack).0, "AA", "{ack}");
    let ack = receive(
        &mut store,
        None,
        &oru("D3", "C", &["Correction: L5-S1 also bulging."]),
        at(12),
    );
    assert_eq!(msa(&ack).0, "AA", "{ack}");
    assert_eq!(
        store
            .order_by_accession(&accession)
            .unwrap()
            .unwrap()
            .status,
        "amended"
    );
    // A preliminary after the final is refused.
    let ack = receive(&mut store, None, &oru("D4", "P", &["late"]), at(12));
    assert_eq!(msa(&ack).0, "AE", "{ack}");
    // Forwarded to the EHR like a report written here: P, F, then C with the addendum.
    lightbox::hl7::outbound::produce(&store, at(12)).unwrap();
    let destination = store.destinations().unwrap()[0].id;
    let queued = store.outbound_queue(destination).unwrap();
    let statuses: Vec<String> = queued
        .iter()
        .map(|m| {
            let obr = m
                .message
                .split('\r')
                .find(|s| s.starts_with("OBR|"))
                .unwrap();
            obr.split('|').nth(25).unwrap().to_string()
        })
        .collect();
    assert_eq!(statuses, ["P", "F", "C"]);
    let amended = &queued[2].message;
    assert!(
        amended.contains("OBX|1|FT|"),
        "one FT observation: {amended}"
    );
    assert!(
        amended.contains("no stenosis.\\.br\\\\.br\\ADDENDUM (HOUSE GREGORY"),
        "{amended}"
    );
    assert!(
        amended.contains("|HOUSE GREGORY\r"),
        "signer in OBR-32: {amended}"
    );
}

#[test]
fn a_batch_file_imports_through_the_same_processing_and_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut file =
        b"FHS|^~\\&|EPIC|NORTHCLINIC|LIGHTBOX|RADPRACTICE|20261127\rBHS|^~\\&|EPIC|NORTHCLINIC\r"
            .to_vec();
    for name in [
        "adt_a04_register.hl7",
        "orm_o01_new_mri.hl7",
        "omi_o23_new_ct_stat.hl7",
    ] {
        // Exported with LF line ends, as batch files often are.
        file.extend(
            message(name)
                .iter()
                .map(|b| if *b == b'\r' { b'\n' } else { *b }),
        );
        if !file.ends_with(b"\n") {
            file.push(b'\n');
        }
    }
    file.extend_from_slice(b"BTS|3\rFTS|1\r");
    let path = dir.path().join("export.hl7");
    std::fs::write(&path, &file).unwrap();
    let data = dir.path().join("data");
    for round in 0..2 {
        let out = lightbox(&data, &["hl7", "import", path.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "round {round}: {text}");
        assert!(text.contains("3 messages, 3 accepted, 0 refused"), "{text}");
    }
    let store = common::store(&data);
    assert_eq!(store.orders_by_placer_number("ORD448812").unwrap().len(), 1);
    assert!(store.order_by_accession("ACC550021").unwrap().is_some());
    assert_eq!(store.inbound_log(10).unwrap().len(), 3);
    // A file whose trailer counts more messages than it holds (cut or edited) says so.
    let cut = String::from_utf8(file).unwrap().replace("BTS|3", "BTS|5");
    std::fs::write(&path, cut).unwrap();
    let out = lightbox(&data, &["hl7", "import", path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("declares 5 messages; 3 were found"), "{text}");
}

#[test]
fn a_taken_hl7_port_stops_serve_but_not_the_desktop_services() {
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let options = |optional| lightbox::app::ServeOptions {
        dicom_port: Some(0),
        hl7_port: Some(port),
        hl7_optional: optional,
        ..Default::default()
    };
    let served = runtime.block_on(lightbox::app::start_services(
        &data,
        &options(false),
        lightbox::events::EventSender::discard(),
    ));
    assert!(served.is_err(), "serve refuses to run half-configured");
    let desktop = runtime
        .block_on(lightbox::app::start_services(
            &data,
            &options(true),
            lightbox::events::EventSender::discard(),
        ))
        .unwrap();
    assert!(desktop.hl7_addr.is_none());
    assert!(
        desktop
            .hl7_error
            .as_deref()
            .unwrap_or("")
            .contains(&format!("cannot listen for HL7 on 0.0.0.0 port {port}"))
    );
    // DICOM still answers.
    let r = dcmtk(
        "echoscu",
        &[
            "-aec",
            "LIGHTBOX",
            "127.0.0.1",
            &desktop.dicom_addr.port().to_string(),
        ],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    desktop.stop();
}
