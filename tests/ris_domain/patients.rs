//! Patients: registration with duplicate detection, merge with undo, referring physicians,
//! encounters and authorisations.

use super::*;

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
