//! Reading and billing: the reading worklist, reports from draft to addendum, relevant priors,
//! and the charge of a completed exam.

use super::*;

/// An exam taken to "completed" (ready to read) by the technologist.
pub(super) fn completed_exam(
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

pub(super) fn rita() -> Actor {
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
    use lightbox::access::ReadOccasion;
    use lightbox::ris::reading::{self, ReadingFilter};
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let routine_ct = completed_exam(&mut store, "71250", Priority::Routine, 1, 9);
    let routine_mr = completed_exam(&mut store, "70551", Priority::Routine, 1, 10);
    let stat_ct = completed_exam(&mut store, "70450", Priority::Stat, 1, 11);
    let list = reading::reading_worklist(
        &store,
        &rita(),
        &ReadingFilter::default(),
        ReadOccasion::Opened,
    )
    .unwrap();
    // Each row names its patient and procedure (two identifiers and what was done).
    assert!(
        list.iter().all(|r| r.family_name == "Doe"
            && r.given_name == "Jane"
            && r.birth_date == "1980-02-03"
            && !r.procedure_name.is_empty()),
        "{list:?}"
    );
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
        ReadOccasion::Refreshed,
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
        ReadOccasion::Refreshed,
    )
    .unwrap();
    assert_eq!(
        mine.iter().map(|r| r.accession.clone()).collect::<Vec<_>>(),
        [routine_ct]
    );
    // One opening, two reads after changes: one audit entry, not three.
    let reads = store
        .search_audit(
            &lightbox_store::administration::AuditFilter {
                action: "reading_worklist.read".into(),
                ..Default::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(reads.len(), 1, "{reads:?}");
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
