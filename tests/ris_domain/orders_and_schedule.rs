//! Orders and the schedule: the starter catalogue, validation and needs-review, slots,
//! conflicts and opening hours, walk-ins, the exam's states, and the exam/worklist commands.

use super::*;

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
        None,
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
        None,
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
        None,
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
        None,
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

#[test]
fn two_desks_booking_one_slot_at_once_get_one_booking_and_one_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let p = patient(&mut store, "Ñúñez", "Zoë 東京", "1980-02-03");
    // Two CT orders waiting for a slot (no requested time).
    let exams: Vec<String> = (0..2)
        .map(|_| {
            ris::place_order(
                &mut store,
                &desk(),
                &order(Some(p.id), "71250", None),
                monday_9am(),
            )
            .unwrap()
            .order
            .accession
        })
        .collect();
    let ct = store.rooms(Some("CT")).unwrap()[0].id;
    // Many rounds, each with its own slot: two connections (as two processes would have) race
    // for it; the check and the write are one exclusive write, so exactly one wins each round.
    for round in 0..20u32 {
        let slot = at(1 + round / 8, 8 + round % 8, 0);
        let gate = std::sync::Arc::new(std::sync::Barrier::new(2));
        let racers: Vec<_> = exams
            .iter()
            .map(|accession| {
                let mut own = store.reopen().unwrap();
                let gate = gate.clone();
                let accession = accession.clone();
                std::thread::spawn(move || {
                    gate.wait();
                    scheduling::book(&mut own, &desk(), &accession, ct, slot, "", None)
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
        let booked = results.iter().filter(|r| r.is_ok()).count();
        let conflicts: Vec<_> = results
            .iter()
            .filter_map(|r| match r {
                Err(RisError::Conflict(m)) => Some(m.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            (booked, conflicts.len()),
            (1, 1),
            "round {round}: {results:?}"
        );
        assert!(conflicts[0].contains("is booked"), "{conflicts:?}");
        // Both back to "to be scheduled" for the next round.
        for accession in &exams {
            let _ = scheduling::no_show(&mut store, &desk(), accession);
        }
    }
}

#[test]
fn a_booking_of_an_exam_changed_since_it_was_shown_is_refused_as_stale() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let p = patient(&mut store, "Doe", "Jane", "1980-02-03");
    let a = ris::place_order(
        &mut store,
        &desk(),
        &order(Some(p.id), "71250", None),
        monday_9am(),
    )
    .unwrap();
    let accession = a.order.accession;
    let ct = store.rooms(Some("CT")).unwrap()[0].id;
    let shown = store.exam_version(a.order.id).unwrap();
    // Desk 1 books it at 10:00 from what it showed.
    let after_desk_1 = scheduling::book(
        &mut store,
        &desk(),
        &accession,
        ct,
        at(1, 10, 0),
        "",
        Some(shown),
    )
    .unwrap();
    assert!(after_desk_1 > shown);
    // Desk 2 still shows the old version and tries 11:00: refused, the 10:00 booking stands.
    let stale = scheduling::book(
        &mut store,
        &desk(),
        &accession,
        ct,
        at(1, 11, 0),
        "",
        Some(shown),
    );
    assert!(
        matches!(&stale, Err(RisError::Stale { status, .. }) if status == "scheduled"),
        "{stale:?}"
    );
    assert!(stale.unwrap_err().to_string().contains("look again"));
    let step = store.step_of_order(a.order.id).unwrap();
    assert_eq!(step.start_time, "2026-12-01T10:00");
    // With the version it now shows, desk 2 can move it.
    scheduling::book(
        &mut store,
        &desk(),
        &accession,
        ct,
        at(1, 11, 0),
        "",
        Some(after_desk_1),
    )
    .unwrap();
    assert_eq!(
        store.step_of_order(a.order.id).unwrap().start_time,
        "2026-12-01T11:00"
    );
}
