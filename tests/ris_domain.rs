//! The HIS/RIS domain rules through the library, on a fresh store per test: registration and
//! duplicates, orders and their validation, placement on the schedule, conflicts, the exam
//! state machine, roles and the audit log; and `lightbox exam` / `lightbox worklist`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

mod common;

use chrono::{NaiveDate, NaiveDateTime};
use lightbox::access::{self, AccessError, Actor, Role};
use lightbox::his::{self, HisError, Registration};
use lightbox::ris::scheduling;
use lightbox::ris::{self, ExamStatus, OrderRequest, Priority, RisError};
use lightbox_store::Store;
use lightbox_store::his::{InsurancePolicy, PatientIdentifier, PatientRecord};

/// Monday 30 November 2026, 09:00 local.
fn monday_9am() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 30)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
}

fn at(day: u32, hour: u32, minute: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, day)
        .unwrap()
        .and_hms_opt(hour, minute, 0)
        .unwrap()
}

fn fresh_store(dir: &std::path::Path) -> Store {
    let store = Store::open(&dir.join("lightbox.sqlite")).unwrap();
    ris::seed_starter_data(&store).unwrap();
    store
}

fn desk() -> Actor {
    Actor {
        login: "anna".into(),
        role: Role::FrontDesk,
        origin: "desk-1".into(),
    }
}

fn tech() -> Actor {
    Actor {
        login: "tom".into(),
        role: Role::Technologist,
        origin: "ct-console".into(),
    }
}

fn patient(store: &mut Store, family: &str, given: &str, birth: &str) -> PatientRecord {
    his::register(
        store,
        &desk(),
        &Registration {
            patient: PatientRecord {
                family_name: family.into(),
                given_name: given.into(),
                birth_date: birth.into(),
                sex: "F".into(),
                ..PatientRecord::default()
            },
            identifiers: vec![],
            confirmed_new: false,
        },
    )
    .unwrap()
}

fn order(patient: Option<i64>, code: &str, requested: Option<NaiveDateTime>) -> OrderRequest {
    OrderRequest {
        patient,
        placer_number: String::new(),
        placer_app: "EHR".into(),
        procedure_code: code.into(),
        priority: Priority::Routine,
        reason: "pain".into(),
        icd10: vec!["M54.5".into()],
        referring: None,
        insurance: None,
        authorisation: String::new(),
        requested_time: requested,
        supplied: None,
    }
}

#[test]
fn a_fresh_store_has_the_starter_catalogue_and_one_room_per_modality() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(dir.path());
    let mr = store.procedure("70551").unwrap().unwrap();
    assert_eq!((mr.modality.as_str(), mr.duration_minutes), ("MR", 45));
    let rooms = store.rooms(None).unwrap();
    let aes: Vec<&str> = rooms.iter().map(|r| r.station_ae.as_str()).collect();
    for ae in ["CT1", "MR1", "DX1", "US1", "MG1", "BMD1"] {
        assert!(aes.contains(&ae), "{aes:?}");
    }
    assert_eq!(rooms[0].hours[0], "08:00-18:00");
    assert_eq!(rooms[0].hours[6], "");
    // Seeding twice changes nothing.
    ris::seed_starter_data(&store).unwrap();
    assert_eq!(store.rooms(None).unwrap().len(), rooms.len());
}

#[test]
fn registration_gives_an_mrn_and_stops_at_likely_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let first = patient(&mut store, "Doe", "Jane", "1980-02-03");
    assert!(
        first.mrn.starts_with('M') && first.mrn.len() == 8,
        "{}",
        first.mrn
    );
    let again = Registration {
        patient: PatientRecord {
            family_name: "DOE".into(),
            given_name: "jane".into(),
            birth_date: "1980-02-03".into(),
            ..PatientRecord::default()
        },
        identifiers: vec![],
        confirmed_new: false,
    };
    match his::register(&mut store, &desk(), &again) {
        Err(HisError::PossibleDuplicate { candidates, .. }) => {
            assert_eq!(candidates[0].mrn, first.mrn)
        }
        other => panic!("expected a duplicate warning, got {other:?}"),
    }
    // The user looked and says it is another person.
    let second = his::register(
        &mut store,
        &desk(),
        &Registration {
            confirmed_new: true,
            ..again
        },
    )
    .unwrap();
    assert_ne!(second.mrn, first.mrn);
    // One ID from two issuers is two people; the same ID and issuer twice is refused.
    let with_id = |value: &str, issuer: &str, family: &str| Registration {
        patient: PatientRecord {
            family_name: family.into(),
            ..PatientRecord::default()
        },
        identifiers: vec![PatientIdentifier {
            value: value.into(),
            issuer: issuer.into(),
        }],
        confirmed_new: false,
    };
    his::register(&mut store, &desk(), &with_id("12345", "HOSP_A", "Smith")).unwrap();
    his::register(&mut store, &desk(), &with_id("12345", "HOSP_B", "Jones")).unwrap();
    assert!(matches!(
        his::register(&mut store, &desk(), &with_id("12345", "HOSP_A", "Other")),
        Err(HisError::PossibleDuplicate { .. })
    ));
    assert_eq!(
        store
            .patient_by_identifier("12345", "HOSP_B")
            .unwrap()
            .unwrap()
            .family_name,
        "Jones"
    );
}

#[test]
fn an_order_with_a_requested_time_takes_the_first_free_slot_at_or_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let p = patient(&mut store, "Doe", "Jane", "1980-02-03");
    // Tuesday 1 December, 14:00: MR brain, 45 minutes.
    let first = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(p.id), "70551", Some(at(1, 14, 0))),
        monday_9am(),
    )
    .unwrap();
    assert_eq!(first.order.status, "scheduled");
    assert_eq!(first.step.start_time, "2026-12-01T14:00");
    assert!(first.order.accession.len() <= 16);
    assert!(first.step.study_uid.starts_with("2.25."));
    let second = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(p.id), "70553", Some(at(1, 14, 10))),
        monday_9am(),
    )
    .unwrap();
    assert_eq!(
        second.step.start_time, "2026-12-01T14:45",
        "after the first exam ends"
    );
    // 17:30 has no room for 60 minutes before 18:00: next opening day.
    let late = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(p.id), "70553", Some(at(1, 17, 30))),
        monday_9am(),
    )
    .unwrap();
    assert_eq!(late.step.start_time, "2026-12-02T08:00");
    // Saturday request: the room is closed at weekends → Monday 08:00.
    let weekend = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(p.id), "72148", Some(at(5, 10, 0))),
        monday_9am(),
    )
    .unwrap();
    assert_eq!(weekend.step.start_time, "2026-12-07T08:00");
    // Slot search answers the scheduler's question directly.
    let slot = scheduling::find_slot(&store, "MR", 45, at(1, 14, 0), 30)
        .unwrap()
        .unwrap();
    assert_eq!(slot.start, at(1, 15, 45));
}

#[test]
fn orders_that_fail_validation_wait_in_needs_review_with_their_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let p = patient(&mut store, "Doe", "Jane", "1980-02-03");
    let unknown = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(p.id), "99999", None),
        monday_9am(),
    )
    .unwrap();
    assert_eq!(unknown.order.status, "needs_review");
    assert!(
        unknown
            .order
            .review_reasons
            .contains("unknown procedure code 99999")
    );
    let nobody = ris::place_order(
        &mut store,
        &desk(),
        &order(None, "70551", None),
        monday_9am(),
    )
    .unwrap();
    assert!(
        nobody
            .review_reasons
            .iter()
            .any(|r| r.contains("patient not identified"))
    );
    let policy = his::add_insurance(
        &store,
        &desk(),
        &InsurancePolicy {
            patient: p.id,
            payer: "ACME Health".into(),
            requires_authorisation: true,
            ..InsurancePolicy::default()
        },
    )
    .unwrap();
    let mut needs_auth = order(Some(p.id), "70551", None);
    needs_auth.insurance = Some(policy);
    let placed = ris::place_order(&mut store, &desk(), &needs_auth, monday_9am()).unwrap();
    assert!(
        placed
            .order
            .review_reasons
            .contains("ACME Health requires prior authorisation")
    );
    needs_auth.authorisation = "AUTH-77".into();
    let placed = ris::place_order(&mut store, &desk(), &needs_auth, monday_9am()).unwrap();
    assert_eq!(
        placed.order.status, "ordered",
        "authorised and without a time: to be scheduled"
    );
    let waiting = scheduling::to_be_scheduled(&store).unwrap();
    assert!(
        waiting
            .iter()
            .any(|o| o.accession == placed.order.accession)
    );
    assert_eq!(store.orders_with_status("needs_review").unwrap().len(), 3);
}

#[test]
fn x_ray_goes_straight_onto_todays_worklist_as_a_walk_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let p = patient(&mut store, "Doe", "Jane", "1980-02-03");
    let placed = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(p.id), "71046", None),
        monday_9am(),
    )
    .unwrap();
    assert_eq!(placed.order.status, "scheduled");
    assert!(placed.step.walk_in);
    assert_eq!(placed.step.start_time, "2026-11-30T09:00");
    let today = store.steps_on("2026-11-30", None).unwrap();
    assert_eq!(today.len(), 1);
    // The setting decides which modalities are walk-ins.
    store.set_setting(ris::WALK_IN_MODALITIES, "US").unwrap();
    let xr = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(p.id), "71046", None),
        monday_9am(),
    )
    .unwrap();
    assert_eq!(xr.order.status, "ordered");
}

#[test]
fn booking_refuses_conflicts_and_closed_hours_and_no_show_returns_to_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let p = patient(&mut store, "Doe", "Jane", "1980-02-03");
    let a = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(p.id), "71250", Some(at(1, 10, 0))),
        monday_9am(),
    )
    .unwrap();
    let b = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(p.id), "71250", None),
        monday_9am(),
    )
    .unwrap();
    let ct = a.step.room.unwrap();
    let overlapping = scheduling::book(
        &mut store,
        &desk(),
        &b.order.accession,
        ct,
        at(1, 10, 10),
        "",
    );
    assert!(
        matches!(overlapping, Err(RisError::Conflict(ref m)) if m.contains("10:00–10:20")),
        "{overlapping:?}"
    );
    let closed = scheduling::book(
        &mut store,
        &desk(),
        &b.order.accession,
        ct,
        at(1, 17, 50),
        "",
    );
    assert!(
        matches!(closed, Err(RisError::Conflict(ref m)) if m.contains("closed")),
        "{closed:?}"
    );
    scheduling::book(
        &mut store,
        &desk(),
        &b.order.accession,
        ct,
        at(1, 10, 20),
        "",
    )
    .unwrap();
    // Reschedule the first one later the same day.
    scheduling::book(
        &mut store,
        &desk(),
        &a.order.accession,
        ct,
        at(1, 15, 0),
        "patient asked",
    )
    .unwrap();
    scheduling::no_show(&mut store, &desk(), &a.order.accession).unwrap();
    let back = store
        .order_by_accession(&a.order.accession)
        .unwrap()
        .unwrap();
    assert_eq!(back.status, "ordered");
    assert!(
        scheduling::to_be_scheduled(&store)
            .unwrap()
            .iter()
            .any(|o| o.id == back.id)
    );
    let history = store.exam_history(back.id).unwrap();
    let notes: Vec<&str> = history.iter().map(|h| h.note.as_str()).collect();
    assert!(
        notes.contains(&"patient asked") && notes.contains(&"no-show"),
        "{notes:?}"
    );
}

#[test]
fn the_exam_moves_through_its_states_and_illegal_moves_are_refused_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let p = patient(&mut store, "Doe", "Jane", "1980-02-03");
    let placed = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(p.id), "70450", Some(at(1, 9, 0))),
        monday_9am(),
    )
    .unwrap();
    let acc = placed.order.accession.clone();
    let radiologist = Actor {
        login: "rita".into(),
        role: Role::Radiologist,
        origin: "reading-1".into(),
    };
    ris::change_status(&mut store, &tech(), &acc, ExamStatus::Arrived, "").unwrap();
    ris::change_status(&mut store, &tech(), &acc, ExamStatus::InProgress, "").unwrap();
    let refused = ris::change_status(&mut store, &desk(), &acc, ExamStatus::Cancelled, "");
    assert!(
        matches!(refused, Err(RisError::Illegal(ref e)) if e.reason.contains("discontinue")),
        "{refused:?}"
    );
    ris::change_status(&mut store, &tech(), &acc, ExamStatus::Completed, "").unwrap();
    // A technologist may not sign a report.
    assert!(matches!(
        ris::change_status(&mut store, &tech(), &acc, ExamStatus::Final, ""),
        Err(RisError::Access(AccessError::Forbidden { .. }))
    ));
    ris::change_status(&mut store, &radiologist, &acc, ExamStatus::Final, "signed").unwrap();
    ris::change_status(
        &mut store,
        &radiologist,
        &acc,
        ExamStatus::Amended,
        "addendum",
    )
    .unwrap();
    let order = store.order_by_accession(&acc).unwrap().unwrap();
    let history = store.exam_history(order.id).unwrap();
    let path: Vec<&str> = history.iter().map(|h| h.to.as_str()).collect();
    assert_eq!(
        path,
        [
            "ordered",
            "scheduled",
            "arrived",
            "in_progress",
            "completed",
            "final",
            "amended"
        ]
    );
    assert_eq!(history[5].actor, "rita");
    let audit = store.audit_about(&format!("order:{acc}")).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.outcome == "refused" && a.actor == "tom")
    );
    assert!(
        audit.iter().all(|a| !a.detail.contains("Jane")),
        "audit carries no demographics"
    );
}

#[test]
fn roles_are_checked_and_the_audit_log_cannot_be_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let p = patient(&mut store, "Doe", "Jane", "1980-02-03");
    let refused = ris::place_order(
        &mut store,
        &tech(),
        &order(Some(p.id), "70450", None),
        monday_9am(),
    );
    assert!(matches!(
        refused,
        Err(RisError::Access(AccessError::Forbidden { .. }))
    ));
    his::read_patient(&store, &tech(), p.id).unwrap();
    let reads = store.audit_about(&format!("patient:{}", p.mrn)).unwrap();
    assert!(
        reads
            .iter()
            .any(|a| a.action == "patient.read" && a.actor == "tom")
    );
    assert!(
        store.try_rewrite_audit().is_err(),
        "the audit log is append-only"
    );
}

#[test]
fn users_sign_in_with_argon2_hashed_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(dir.path());
    access::create_user(
        &store,
        &Actor::system(),
        "rita",
        "Rita Reader",
        Role::Radiologist,
        "correct horse battery",
    )
    .unwrap();
    assert!(matches!(
        access::create_user(
            &store,
            &Actor::system(),
            "bob",
            "Bob",
            Role::FrontDesk,
            "short"
        ),
        Err(AccessError::WeakPassword(_))
    ));
    assert!(matches!(
        access::create_user(
            &store,
            &desk(),
            "eve",
            "Eve",
            Role::Administrator,
            "a long enough one"
        ),
        Err(AccessError::Forbidden { .. })
    ));
    let user = store.user("rita").unwrap().unwrap();
    assert!(
        user.password_hash.starts_with("$argon2id$"),
        "{}",
        user.password_hash
    );
    let rita = access::sign_in(&store, "rita", "correct horse battery", "reading-1").unwrap();
    assert_eq!(rita.role, Role::Radiologist);
    assert!(matches!(
        access::sign_in(&store, "rita", "wrong", "reading-1"),
        Err(AccessError::BadCredentials)
    ));
    assert!(matches!(
        access::sign_in(&store, "nobody", "x", "reading-1"),
        Err(AccessError::BadCredentials)
    ));
}

#[test]
fn exam_and_worklist_commands_print_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let p = patient(&mut store, "Doe", "Jane", "1980-02-03");
    let placed = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(p.id), "70551", Some(at(1, 14, 0))),
        monday_9am(),
    )
    .unwrap();
    drop(store);
    let r = common::lightbox(
        dir.path(),
        &["exam", "--accession", &placed.order.accession],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let exam: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(exam["status"], "scheduled");
    assert_eq!(exam["patient"]["mrn"], p.mrn.as_str());
    assert_eq!(exam["procedure"]["modality"], "MR");
    assert_eq!(exam["scheduled_step"]["station_ae"], "MR1");
    assert_eq!(exam["history"].as_array().unwrap().len(), 2);
    let r = common::lightbox(
        dir.path(),
        &["worklist", "--date", "2026-12-01", "--room", "MR1"],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let list: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["accession"], placed.order.accession.as_str());
    let r = common::lightbox(
        dir.path(),
        &["worklist", "--date", "2026-12-01", "--room", "CT1"],
    );
    let list: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0);
    let r = common::lightbox(dir.path(), &["exam", "--accession", "NOPE"]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("NOPE"));
}

/// An exam taken to "completed" (ready to read) by the technologist.
fn completed_exam(
    store: &mut Store,
    code: &str,
    priority: Priority,
    day: u32,
    hour: u32,
) -> String {
    let p = store
        .patient_by_identifier("M0000001", "")
        .unwrap()
        .map(|p| p.id)
        .unwrap_or_else(|| patient(store, "Doe", "Jane", "1980-02-03").id);
    let mut request = order(Some(p), code, Some(at(day, hour, 0)));
    request.priority = priority;
    let placed = ris::place_order(store, &desk(), &request, monday_9am()).unwrap();
    let acc = placed.order.accession;
    for s in [
        ExamStatus::Arrived,
        ExamStatus::InProgress,
        ExamStatus::Completed,
    ] {
        ris::change_status(store, &tech(), &acc, s, "").unwrap();
    }
    acc
}

fn rita() -> Actor {
    Actor {
        login: "rita".into(),
        role: Role::Radiologist,
        origin: "reading-1".into(),
    }
}

#[test]
fn reports_go_draft_preliminary_final_and_addenda_keep_the_signed_original() {
    use lightbox::ris::reports;
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let acc = completed_exam(&mut store, "70551", Priority::Routine, 1, 9);
    let id = reports::start(&mut store, &rita(), &acc).unwrap();
    let draft = store.report(id).unwrap();
    assert!(
        draft.body.contains("TECHNIQUE: MR"),
        "the MR template: {}",
        draft.body
    );
    assert!(
        reports::start(&mut store, &rita(), &acc).is_err(),
        "one report per exam"
    );
    reports::save(
        &mut store,
        &rita(),
        id,
        "FINDINGS: small infarct.\nIMPRESSION: acute infarct.",
        true,
    )
    .unwrap();
    reports::sign(&mut store, &rita(), id, ExamStatus::Preliminary).unwrap();
    assert_eq!(
        store.order_by_accession(&acc).unwrap().unwrap().status,
        "preliminary"
    );
    reports::save(
        &mut store,
        &rita(),
        id,
        "FINDINGS: small acute infarct, left MCA.\nIMPRESSION: acute infarct.",
        true,
    )
    .unwrap();
    reports::sign(&mut store, &rita(), id, ExamStatus::Final).unwrap();
    let signed = store.report(id).unwrap();
    assert_eq!(
        (signed.status.as_str(), signed.signer.as_str()),
        ("final", "rita")
    );
    assert!(signed.critical && !signed.signed_at.is_empty());
    // The signed report never changes again.
    assert!(reports::save(&mut store, &rita(), id, "changed", false).is_err());
    let add = reports::add_addendum(
        &mut store,
        &rita(),
        &acc,
        "ADDENDUM: also a small old lacune.",
    )
    .unwrap();
    reports::sign(&mut store, &rita(), add, ExamStatus::Final).unwrap();
    let order = store.order_by_accession(&acc).unwrap().unwrap();
    assert_eq!(order.status, "amended");
    assert_eq!(store.report(id).unwrap().body, signed.body, "original kept");
    let versions = store.report_versions(id).unwrap();
    let statuses: Vec<&str> = versions.iter().map(|v| v.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["draft", "draft", "preliminary", "preliminary", "final"]
    );
    // Technologists do not report.
    assert!(reports::add_addendum(&mut store, &tech(), &acc, "x").is_err());
}

#[test]
fn a_completed_exam_gets_one_charge_that_is_reviewed_billed_and_exported() {
    use lightbox::ris::billing;
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let acc = completed_exam(&mut store, "71250", Priority::Routine, 1, 9);
    let charges = store.charges(None).unwrap();
    assert_eq!(charges.len(), 1);
    let c = &charges[0];
    assert_eq!(
        (
            c.accession.as_str(),
            c.cpt.as_str(),
            c.amount_cents,
            c.icd10.as_str(),
            c.payer.as_str()
        ),
        (acc.as_str(), "71250", 40000, "M54.5", "self-pay")
    );
    assert!(
        billing::mark_billed(&store, &Actor::system(), c.id).is_err(),
        "review comes first"
    );
    assert!(
        billing::review(&store, &desk(), c.id, None).is_err(),
        "front desk does not bill"
    );
    billing::review(&store, &Actor::system(), c.id, Some("26")).unwrap();
    billing::mark_billed(&store, &Actor::system(), c.id).unwrap();
    let csv = billing::export_csv(&store.charges(None).unwrap());
    assert_eq!(
        csv.lines().next().unwrap(),
        "accession,cpt,modifiers,icd10,units,amount,payer,status"
    );
    assert!(
        csv.contains(&format!("{acc},71250,26,M54.5,1,400.00,self-pay,billed")),
        "{csv}"
    );
}

#[test]
fn the_reading_worklist_puts_stat_first_then_the_oldest_and_filters() {
    use lightbox::ris::reading::{self, ReadingFilter};
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let routine_ct = completed_exam(&mut store, "71250", Priority::Routine, 1, 9);
    let routine_mr = completed_exam(&mut store, "70551", Priority::Routine, 1, 10);
    let stat_ct = completed_exam(&mut store, "70450", Priority::Stat, 1, 11);
    let list = reading::reading_worklist(&store, &rita(), &ReadingFilter::default()).unwrap();
    let order: Vec<&str> = list.iter().map(|r| r.accession.as_str()).collect();
    assert_eq!(
        order,
        [stat_ct.as_str(), routine_ct.as_str(), routine_mr.as_str()]
    );
    let mr = reading::reading_worklist(
        &store,
        &rita(),
        &ReadingFilter {
            modality: Some("MR".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(mr.len(), 1);
    reading::assign(&store, &rita(), &routine_ct, "rita").unwrap();
    let mine = reading::reading_worklist(
        &store,
        &rita(),
        &ReadingFilter {
            radiologist: Some("rita".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        mine.iter().map(|r| r.accession.clone()).collect::<Vec<_>>(),
        [routine_ct]
    );
}

#[test]
fn merging_two_patients_is_explicit_audited_and_can_be_undone() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let admin = Actor {
        login: "ada".into(),
        role: Role::Administrator,
        origin: "office".into(),
    };
    let registered = |store: &mut Store, family: &str, id: &str, issuer: &str| {
        his::register(
            store,
            &desk(),
            &Registration {
                patient: PatientRecord {
                    family_name: family.into(),
                    ..PatientRecord::default()
                },
                identifiers: vec![PatientIdentifier {
                    value: id.into(),
                    issuer: issuer.into(),
                }],
                confirmed_new: false,
            },
        )
        .unwrap()
    };
    let a = registered(&mut store, "Doe", "123", "HOSP_A");
    let b = registered(&mut store, "Doe", "999", "HOSP_B");
    let placed = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(b.id), "70450", None),
        monday_9am(),
    )
    .unwrap();
    assert!(matches!(
        his::merge(&mut store, &desk(), a.id, b.id),
        Err(HisError::Access(AccessError::Forbidden { .. }))
    ));
    let (orders, identifiers) = his::merge_preview(&store, &admin, a.id, b.id).unwrap();
    assert_eq!((orders.len(), identifiers.len()), (1, 1));
    let record = his::merge(&mut store, &admin, a.id, b.id).unwrap();
    assert_eq!(
        store
            .order_by_accession(&placed.order.accession)
            .unwrap()
            .unwrap()
            .patient,
        Some(a.id)
    );
    assert_eq!(
        store
            .patient_by_identifier("999", "HOSP_B")
            .unwrap()
            .unwrap()
            .id,
        a.id
    );
    assert_eq!(store.patient(b.id).unwrap().merged_into, Some(a.id));
    assert!(
        his::merge(&mut store, &admin, a.id, b.id).is_err(),
        "already merged"
    );
    let audit = store.audit_about(&format!("patient:{}", a.mrn)).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "patient.merge" && e.actor == "ada")
    );
    his::unmerge(&mut store, &admin, record.id).unwrap();
    assert_eq!(
        store
            .order_by_accession(&placed.order.accession)
            .unwrap()
            .unwrap()
            .patient,
        Some(b.id)
    );
    assert_eq!(
        store
            .patient_by_identifier("999", "HOSP_B")
            .unwrap()
            .unwrap()
            .id,
        b.id
    );
    assert_eq!(store.patient(b.id).unwrap().merged_into, None);
    assert!(
        his::unmerge(&mut store, &admin, record.id).is_err(),
        "undone once"
    );
}

#[test]
fn relevant_priors_come_same_modality_and_body_part_first_then_newest() {
    use lightbox_store::index::NewInstance;
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let p = patient(&mut store, "Doe", "Jane", "1980-02-03");
    let acc = completed_exam(&mut store, "70551", Priority::Routine, 1, 9); // MR head
    let current = store
        .step_of_order(store.order_by_accession(&acc).unwrap().unwrap().id)
        .unwrap()
        .study_uid;
    let study = |uid: &str, date: &str, modality: &str, part: &str, patient_id: &str| NewInstance {
        patient_id: patient_id.into(),
        patient_name: "Doe^Jane".into(),
        study_uid: uid.into(),
        study_date: date.into(),
        series_uid: format!("{uid}.1"),
        modality: modality.into(),
        body_part: part.into(),
        sop_uid: format!("{uid}.1.1"),
        sop_class: "1.2.840.10008.5.1.4.1.1.4".into(),
        file_path: format!("x/{uid}.dcm"),
        transfer_syntax: "1.2.840.10008.1.2.1".into(),
        ..NewInstance::default()
    };
    store
        .index_instances(&[
            study("1.2.3.1", "20200101", "CT", "CHEST", &p.mrn),
            study("1.2.3.2", "20210101", "MR", "HEAD", &p.mrn),
            study("1.2.3.3", "20240101", "MR", "KNEE", &p.mrn),
            study("1.2.3.4", "20250101", "MR", "HEAD", "SOMEONE-ELSE"),
            study(&current, "20261201", "MR", "HEAD", &p.mrn),
        ])
        .unwrap();
    let priors = lightbox::ris::reading::priors(&store, &rita(), &acc).unwrap();
    let uids: Vec<&str> = priors.iter().map(|s| s.study_uid.as_str()).collect();
    assert_eq!(
        uids,
        ["1.2.3.2", "1.2.3.3", "1.2.3.1"],
        "same modality and part, then same modality, then the rest; never another patient's or the current study"
    );
}

#[test]
fn referring_physicians_encounters_and_authorisations() {
    use lightbox_store::his::ReferringPhysician;
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let p = patient(&mut store, "Doe", "Jane", "1980-02-03");
    // 1234567893 is the CMS example of a valid NPI; change its check digit and it is not.
    assert!(his::npi_is_valid("1234567893"));
    assert!(!his::npi_is_valid("1234567890"));
    let doctor = ReferringPhysician {
        npi: "1234567893".into(),
        family_name: "House".into(),
        given_name: "Gregory".into(),
        ..ReferringPhysician::default()
    };
    let id = his::add_referring(&store, &desk(), &doctor).unwrap();
    assert_eq!(
        his::add_referring(&store, &desk(), &doctor).unwrap(),
        id,
        "the same physician once"
    );
    let bad = ReferringPhysician {
        npi: "1234567890".into(),
        ..doctor.clone()
    };
    assert!(matches!(
        his::add_referring(&store, &desk(), &bad),
        Err(HisError::Invalid(_))
    ));
    let first = his::open_encounter(
        &store,
        &desk(),
        p.id,
        "outpatient",
        "2026-12-01T09:00",
        Some(id),
    )
    .unwrap();
    let second = his::open_encounter(
        &store,
        &desk(),
        p.id,
        "outpatient",
        "2026-12-08T09:00",
        Some(id),
    )
    .unwrap();
    assert_ne!(first.visit_number, second.visit_number);
    let visits = store.encounters_of(p.id).unwrap();
    assert_eq!(visits[0].visit_number, second.visit_number, "newest first");
    let policy = his::add_insurance(
        &store,
        &desk(),
        &InsurancePolicy {
            patient: p.id,
            payer: "ACME Health".into(),
            requires_authorisation: true,
            ..InsurancePolicy::default()
        },
    )
    .unwrap();
    store
        .set_authorisation(policy, "approved", "AUTH-77", "2026-12-01", "2027-02-28")
        .unwrap();
    assert_eq!(
        store.authorisation(policy).unwrap(),
        (
            "approved".into(),
            "AUTH-77".into(),
            "2026-12-01".into(),
            "2027-02-28".into()
        )
    );
}
