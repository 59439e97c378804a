//! The front desk at a workstation: a booking seen live on another workstation, a
//! registration with the duplicate check.

use super::*;

#[test]
fn the_front_desk_books_on_one_workstation_and_the_technologist_sees_it_live_on_another() {
    let dir = tempfile::tempdir().unwrap();
    let accessions = practice_with_orders(dir.path(), 1);
    let server = Server::start_at(dir.path(), CLOCK);
    let mut desk = workstation(
        paired_link(&server, "Front desk Zoë"),
        &dir.path().join("ws-desk"),
    );
    let mut tech = workstation(
        paired_link(&server, "CT console 東"),
        &dir.path().join("ws-tech"),
    );
    // Before anyone signs in, a workstation shows the server's sign-in screen.
    settle(&mut desk);
    assert!(desk.query_by_label("Sign in").is_some());
    sign_in(&mut desk, "desk", PASSWORD);
    sign_in(&mut tech, "tech", PASSWORD);
    assert_eq!(desk.state().actor().unwrap().role, Role::FrontDesk);
    assert_eq!(tech.state().actor().unwrap().login, "tech");

    // The technologist looks at today's exams: nothing booked yet.
    click(&mut tech, "Today");
    assert_eq!(tech.state().screen(), Screen::Today);
    assert!(!today_lists(&mut tech, &accessions[0]));

    // The front desk books the first free MR slot, this morning.
    click(&mut desk, "Schedule");
    let waiting = desk.state_mut().schedule().waiting();
    assert_eq!(waiting.len(), 1, "the waiting order came from the server");
    let (_, suggested) = waiting[0].1.expect("a free MR slot");
    click(&mut desk, &format!("Book {}", accessions[0]));
    assert!(desk.query_by_label_contains("booked in MR").is_some());
    let booked = suggested.format("%Y-%m-%dT%H:%M").to_string();
    assert_eq!(start_of(dir.path(), &accessions[0]), booked);
    assert_eq!(suggested.date(), test_now().date(), "booked for today");

    // The technologist's window shows it without a click, through the event stream.
    let latency = frames_until(
        &mut tech,
        Duration::from_secs(10),
        "the booking reaching the other workstation",
        |h| today_lists(h, &accessions[0]),
    );
    eprintln!("booking visible on the other workstation after {latency:?}");
    assert!(
        tech.query_all_by_label_contains(&accessions[0]).count() > 0,
        "the row is drawn"
    );

    // The server audited both as the people signed in, from their workstations.
    let audit = common::store(dir.path())
        .search_audit(
            &lightbox_store::administration::AuditFilter {
                actor: "desk".into(),
                ..Default::default()
            },
            1000,
        )
        .unwrap();
    assert!(
        audit.iter().any(|e| e.subject.contains(&accessions[0])
            && e.origin.contains("127.0.0.1")
            && e.origin.contains("Front desk Zoë")),
        "the booking is audited as the front desk, from its workstation: {audit:?}"
    );
}

#[test]
fn the_front_desk_registers_an_accented_patient_through_the_server_and_a_duplicate_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    practice_with_orders(dir.path(), 0);
    let server = Server::start_at(dir.path(), CLOCK);
    let mut desk = workstation(
        paired_link(&server, "Front desk"),
        &dir.path().join("ws-desk"),
    );
    sign_in(&mut desk, "desk", PASSWORD);
    assert_eq!(desk.state().screen(), Screen::Patients);
    click(&mut desk, "Register patient");
    type_into(&mut desk, "Family name", "Müller-Łukasiewicz");
    type_into(&mut desk, "Given name", "Zoë");
    type_into(&mut desk, "Birth date", "1980-04-02");
    click(&mut desk, "Save patient");
    let store = common::store(dir.path());
    let found = store.search_patients("müller-ł", 10).unwrap();
    assert_eq!(found.len(), 1, "registered on the server");
    assert_eq!(found[0].family_name, "MÜLLER-ŁUKASIEWICZ");
    assert_eq!(found[0].given_name, "ZOË");
    // The same person again: the server's duplicate check reaches this screen as its own
    // warning (not a generic failure).
    click(&mut desk, "Register patient");
    type_into(&mut desk, "Family name", "Müller-Łukasiewicz");
    type_into(&mut desk, "Given name", "Zoë");
    type_into(&mut desk, "Birth date", "1980-04-02");
    click(&mut desk, "Save patient");
    assert!(
        desk.query_by_label_contains("may be a patient we already have")
            .is_some(),
        "the duplicate warning is shown"
    );
    assert_eq!(store.search_patients("müller-ł", 10).unwrap().len(), 1);

    // CJK and Latin-1 cross the wire unchanged both ways (the test's fonts draw no CJK, so
    // through the Practice API the screens call rather than by typing).
    let link = paired_link(&server, "Desk 2");
    let actor = link.sign_in("desk", PASSWORD).unwrap();
    let mut practice = Practice::remote(link, &dir.path().join("ws-2")).unwrap();
    let registered = practice
        .register_patient(
            &actor,
            &lightbox::his::Registration {
                patient: lightbox_store::his::PatientRecord {
                    family_name: "山田".into(),
                    given_name: "太郎 Ñandú".into(),
                    birth_date: "1975-01-31".into(),
                    ..Default::default()
                },
                identifiers: vec![],
                confirmed_new: true,
            },
        )
        .unwrap();
    let again = practice.search_patients(&actor, "山田", 10).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].mrn, registered.mrn);
    assert_eq!(again[0].given_name, "太郎 Ñandú");
    assert_eq!(
        store.search_patients("山田", 10).unwrap()[0].given_name,
        "太郎 Ñandú"
    );
}
