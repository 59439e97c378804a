//! What ADT messages and the patient segments of orders do to the practice's patients: register,
//! update and merge, identifiers and demographics read from PID, the physician from PV1, visit
//! and insurance from PV1/IN1.

use super::*;

pub(super) fn adt(
    inbound: &mut Inbound<'_>,
    segments: &Segments<'_>,
    pid: &str,
    event: &str,
) -> Outcome {
    let mut warnings = Vec::new();
    match event {
        "A11" | "A23" => {
            let Some(patient) = known_patient(inbound.store, pid) else {
                warnings.push(error(
                    "PID",
                    3,
                    204,
                    'W',
                    "patient not known here; nothing to cancel",
                ));
                return (AckCode::Accept, warnings);
            };
            let visit = segments
                .first("PV1")
                .map(|pv1| text(pv1, 19, 1))
                .unwrap_or_default();
            match inbound.store.encounter_by_outside_number(patient, &visit) {
                Ok(Some(encounter)) => {
                    if let Err(e) = inbound.store.cancel_encounter(encounter) {
                        return refuse("PV1", 19, 207, e.to_string());
                    }
                    let _ = crate::access::audit(
                        inbound.store,
                        &inbound.actor,
                        "patient.encounter.cancel",
                        &format!("encounter:{encounter}"),
                        "ok",
                        event,
                    );
                }
                Ok(None) => warnings.push(error(
                    "PV1",
                    19,
                    204,
                    'W',
                    format!("visit {visit} not known here; nothing to cancel"),
                )),
                Err(e) => return refuse("PV1", 19, 207, e.to_string()),
            }
            (AckCode::Accept, warnings)
        }
        "A40" => merge(inbound, segments, pid),
        _ => {
            let existed = known_patient(inbound.store, pid);
            let patient = match patient_for(inbound, pid) {
                Ok(p) => p,
                Err(e) => return refuse("PID", 3, 207, e.to_string()),
            };
            if existed.is_some() {
                // An empty field in the message means "not sent", not "erase".
                let mut update = demographics(pid);
                if let Ok(current) = inbound.store.patient(patient) {
                    update = keep_unsent(update, current);
                }
                update.id = patient;
                if let Err(e) = his::update_patient(inbound.store, &inbound.actor, &update) {
                    return refuse("PID", 5, 207, e.to_string());
                }
            }
            if let Err(outcome) = visit_and_insurance(inbound, segments, patient, &mut warnings) {
                return outcome;
            }
            (AckCode::Accept, warnings)
        }
    }
}

/// ADT^A40: the patient named by MRG-1 is merged into the one PID-3 names, through the same
/// audited merge the screens use (studies in the archive move with it).
pub(super) fn merge(inbound: &mut Inbound<'_>, segments: &Segments<'_>, pid: &str) -> Outcome {
    let Some(mrg) = segments.first("MRG") else {
        return (
            AckCode::Reject,
            vec![error("MRG", 0, 100, 'E', "ADT^A40 needs an MRG segment")],
        );
    };
    let prior_ids = id_list(field(mrg, 1));
    let mut prior = None;
    for id in &prior_ids {
        match inbound.store.patient_by_identifier(&id.value, &id.issuer) {
            Ok(Some(p)) => {
                prior = Some(p.id);
                break;
            }
            Ok(None) => {}
            Err(e) => return refuse("MRG", 1, 207, e.to_string()),
        }
    }
    let Some(prior) = prior else {
        return (
            AckCode::Accept,
            vec![error(
                "MRG",
                1,
                204,
                'W',
                "the prior patient is not known here; nothing to merge",
            )],
        );
    };
    let survivor = match patient_for(inbound, pid) {
        Ok(p) => p,
        Err(e) => return refuse("PID", 3, 207, e.to_string()),
    };
    if survivor == prior {
        return (
            AckCode::Accept,
            vec![error("MRG", 1, 205, 'W', "already the same patient")],
        );
    }
    let merged = match inbound.archive {
        Some(archive) => {
            his::merge_with_archive(inbound.store, archive, &inbound.actor, survivor, prior)
        }
        None => his::merge(inbound.store, &inbound.actor, survivor, prior),
    };
    match merged {
        Ok(_) => (AckCode::Accept, vec![]),
        Err(e) => refuse("MRG", 1, 207, e.to_string()),
    }
}

/// Identifiers of a repeating CX field (`id^^^authority^type~…`).
pub fn id_list(value: &str) -> Vec<PatientIdentifier> {
    value
        .split('~')
        .filter_map(|r| {
            let value = unescape(r.split('^').next().unwrap_or(""));
            let issuer_field = r.split('^').nth(3).unwrap_or("");
            let issuer = unescape(issuer_field.split('&').next().unwrap_or(""));
            (!value.is_empty()).then_some(PatientIdentifier { value, issuer })
        })
        .collect()
}

/// The patient identifiers of PID-3 (repeating), each with its assigning authority.
pub fn identifiers(pid: &str) -> Vec<PatientIdentifier> {
    id_list(field(pid, 3))
}

/// Demographics from PID.
pub fn demographics(pid: &str) -> PatientRecord {
    let birth = field(pid, 7);
    PatientRecord {
        family_name: text(pid, 5, 1),
        given_name: text(pid, 5, 2),
        middle_name: text(pid, 5, 3),
        suffix: text(pid, 5, 4),
        prefix: text(pid, 5, 5),
        birth_date: crate::hl7::fields::hl7_date(birth)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        sex: match field(pid, 8) {
            s @ ("F" | "M" | "O" | "U") => s.to_string(),
            _ => "U".into(),
        },
        address: {
            let parts: Vec<String> = field(pid, 11)
                .split('~')
                .next()
                .unwrap_or("")
                .split('^')
                .map(unescape)
                .filter(|p| !p.is_empty())
                .collect();
            parts.join(", ")
        },
        phone: {
            let first = field(pid, 13).split('~').next().unwrap_or("");
            // XTN: the old free-text number in component 1, else area code + local number.
            let old = unescape(component(first, 1));
            if old.is_empty() {
                format!(
                    "{}{}",
                    unescape(component(first, 6)),
                    unescape(component(first, 7))
                )
            } else {
                old
            }
        },
        language: text(pid, 15, 1),
        ..PatientRecord::default()
    }
}

/// The registered patient a PID names by any identifier with its issuer.
pub fn known_patient(store: &Store, pid: &str) -> Option<i64> {
    identifiers(pid).iter().find_map(|id| {
        if id.issuer.is_empty() {
            return None;
        }
        store
            .patient_by_identifier(&id.value, &id.issuer)
            .ok()
            .flatten()
            .map(|p| p.id)
    })
}

/// The registered patient a PID names, registering a new one when none matches.
pub fn patient_for(inbound: &mut Inbound<'_>, pid: &str) -> Result<i64, HisError> {
    if let Some(p) = known_patient(inbound.store, pid) {
        return Ok(p);
    }
    let registration = Registration {
        patient: demographics(pid),
        identifiers: identifiers(pid)
            .into_iter()
            .filter(|i| !i.issuer.is_empty())
            .collect(),
        // The EHR knows its patient: a same-name-and-birth-date person here is someone else
        // unless an identifier says otherwise.
        confirmed_new: true,
    };
    Ok(his::register(inbound.store, &inbound.actor, &registration)?.id)
}

/// A physician from an XCN field (`id^family^given^…^^^^authority`), added or found. An NPI
/// that fails its check digit is dropped (with a warning) and the physician kept by name.
pub fn physician(
    inbound: &Inbound<'_>,
    value: &str,
    segment: &str,
    field_number: u32,
    warnings: &mut Vec<AckError>,
) -> Option<i64> {
    let family = unescape(component(value, 2));
    if family.is_empty() {
        return None;
    }
    let mut npi = unescape(component(value, 1));
    if !npi.is_empty() && !his::npi_is_valid(&npi) {
        warnings.push(error(
            segment,
            field_number,
            102,
            'W',
            format!("{npi} is not a valid NPI; the physician is recorded by name"),
        ));
        npi.clear();
    }
    let record = ReferringPhysician {
        id: 0,
        npi,
        family_name: family,
        given_name: unescape(component(value, 3)),
        phone: String::new(),
    };
    match his::add_referring(inbound.store, &inbound.actor, &record) {
        Ok(id) => Some(id),
        Err(e) => {
            warnings.push(error(segment, field_number, 207, 'W', e.to_string()));
            None
        }
    }
}

/// PV1 (visit: PV1-19 number, PV1-2 class, PV1-8 referring doctor) and IN1 (insurance):
/// recorded for the patient; returns (encounter, insurance policy) when present.
pub fn visit_and_insurance(
    inbound: &mut Inbound<'_>,
    segments: &Segments<'_>,
    patient: i64,
    warnings: &mut Vec<AckError>,
) -> Result<(Option<i64>, Option<i64>), Outcome> {
    let mut encounter = None;
    if let Some(pv1) = segments.first("PV1") {
        let referring = physician(inbound, field(pv1, 8), "PV1", 8, warnings);
        let visit = text(pv1, 19, 1);
        if !visit.is_empty() {
            let found = inbound
                .store
                .encounter_by_outside_number(patient, &visit)
                .map_err(|e| refuse("PV1", 19, 207, e.to_string()))?;
            encounter = match found {
                Some(id) => Some(id),
                None => {
                    let kind = match field(pv1, 2) {
                        "I" => "inpatient",
                        "E" => "emergency",
                        _ => "outpatient",
                    };
                    let started = crate::hl7::fields::hl7_time(field(pv1, 44))
                        .unwrap_or(inbound.now)
                        .format(crate::ris::LOCAL_TIME_FORMAT)
                        .to_string();
                    let opened = his::open_encounter(
                        inbound.store,
                        &inbound.actor,
                        patient,
                        kind,
                        &started,
                        referring,
                    )
                    .map_err(|e| refuse("PV1", 19, 207, e.to_string()))?;
                    inbound
                        .store
                        .set_outside_visit_number(opened.id, &visit)
                        .map_err(|e| refuse("PV1", 19, 207, e.to_string()))?;
                    Some(opened.id)
                }
            };
        }
    }
    let mut policy = None;
    for in1 in segments.all("IN1") {
        let payer = crate::hl7::fields::first_of(&[field(in1, 4), field(in1, 3)]);
        let payer = unescape(component(payer, 1));
        if payer.is_empty() {
            continue;
        }
        let member = unescape(component(
            crate::hl7::fields::first_of(&[field(in1, 36), field(in1, 49)]),
            1,
        ));
        let existing = inbound
            .store
            .insurance_like(patient, &payer, &member)
            .map_err(|e| refuse("IN1", 4, 207, e.to_string()))?;
        let id = match existing {
            Some(id) => id,
            None => {
                let subscriber = [text(in1, 16, 2), text(in1, 16, 1)]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ");
                let record = InsurancePolicy {
                    id: 0,
                    patient,
                    payer,
                    plan: text(in1, 2, 1),
                    member_number: member,
                    group_number: text(in1, 8, 1),
                    subscriber,
                    relationship: text(in1, 17, 1),
                    requires_authorisation: false,
                    eligibility: "unknown".into(),
                };
                his::add_insurance(inbound.store, &inbound.actor, &record)
                    .map_err(|e| refuse("IN1", 4, 207, e.to_string()))?
            }
        };
        policy.get_or_insert(id);
    }
    Ok((encounter, policy))
}
