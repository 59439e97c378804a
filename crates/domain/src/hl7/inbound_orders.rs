//! Orders (ORM^O01, OMI^O23, OMG^O19) and results from a dictation system (ORU^R01) become
//! RIS calls. Every ORC with its OBR (and TQ1, IPC, DG1 after it) is one order; the fields read
//! and the code mappings are listed in `codes.rs` and the README.

use super::ack::{AckCode, AckError};
use super::codes;
use super::fields::{
    Segments, component, field, first_of, hl7_time, segment_id, subcomponent, text, unescape,
};
use super::inbound::{
    Inbound, Outcome, error, known_patient, patient_for, physician, refuse, visit_and_insurance,
};
use crate::access::Actor;
use crate::ris::{self, ExamStatus, OrderRequest, SuppliedIdentifiers};

/// The table 0357 code for a refused RIS action.
fn ris_code(e: &ris::RisError) -> u16 {
    match e {
        ris::RisError::Conflict(_) => 205,
        ris::RisError::NotFound(_) => 204,
        _ => 207,
    }
}

/// One ORC and the segments that belong to it.
#[derive(Default)]
struct OrderGroup<'a> {
    orc: &'a str,
    obr: Option<&'a str>,
    tq1: Option<&'a str>,
    ipc: Option<&'a str>,
    zds: Option<&'a str>,
    diagnoses: Vec<String>,
}

/// Splits the order part of a message into groups; DG1 before the first ORC apply to all.
fn order_groups<'a>(segments: &Segments<'a>) -> (Vec<OrderGroup<'a>>, Vec<String>) {
    let mut groups: Vec<OrderGroup<'a>> = Vec::new();
    let mut shared = Vec::new();
    for line in segments.lines() {
        match (segment_id(line), groups.last_mut()) {
            ("ORC", _) => groups.push(OrderGroup {
                orc: line,
                ..OrderGroup::default()
            }),
            ("OBR", Some(g)) if g.obr.is_none() => g.obr = Some(line),
            // A second OBR after one ORC (allowed in ORM) is a further order with the same ORC.
            ("OBR", Some(g)) => {
                let orc = g.orc;
                groups.push(OrderGroup {
                    orc,
                    obr: Some(line),
                    ..OrderGroup::default()
                });
            }
            ("TQ1", Some(g)) => {
                g.tq1.get_or_insert(line);
            }
            ("IPC", Some(g)) => {
                g.ipc.get_or_insert(line);
            }
            ("ZDS", Some(g)) => {
                g.zds.get_or_insert(line);
            }
            ("DG1", Some(g)) => g.diagnoses.push(text(line, 3, 1)),
            ("DG1", None) => shared.push(text(line, 3, 1)),
            _ => {}
        }
    }
    (groups, shared)
}

/// The placer's identifiers (IPC, OBR-18/19/20, ZDS-1) are optional: one that does not fit
/// what it must be — a ZDS carrying site-specific content instead of a Study Instance UID, an
/// accession longer than DICOM allows — is ignored with a warning (ERR severity W) and
/// Lightbox's own is used. The order itself does not need them.
fn vet_supplied(
    mut supplied: SuppliedIdentifiers,
    from_ipc: bool,
    uid_from_ipc: bool,
    warnings: &mut Vec<AckError>,
) -> SuppliedIdentifiers {
    let (segment, uid_field) = if uid_from_ipc { ("IPC", 3) } else { ("ZDS", 1) };
    let study_uid = supplied.study_uid.trim();
    if !study_uid.is_empty() && !crate::pacs::attributes::is_valid_uid(study_uid) {
        warnings.push(error(
            segment,
            uid_field,
            102,
            'W',
            format!(
                "{:?} is not a Study Instance UID; ignored, Lightbox assigns one",
                supplied.study_uid.chars().take(64).collect::<String>()
            ),
        ));
        supplied.study_uid.clear();
    }
    // DICOM's SH: at most 16 characters, no backslash or control characters.
    let short_string =
        |v: &str| v.chars().count() <= 16 && !v.chars().any(|c| c == '\\' || c.is_control());
    let (ipc_or_obr, fields) = if from_ipc {
        ("IPC", [1, 2, 4])
    } else {
        ("OBR", [18, 19, 20])
    };
    for ((value, name), field_number) in [
        (&mut supplied.accession, "accession number"),
        (
            &mut supplied.requested_procedure_id,
            "requested procedure ID",
        ),
        (&mut supplied.step_id, "scheduled procedure step ID"),
    ]
    .into_iter()
    .zip(fields)
    {
        if !value.trim().is_empty() && !short_string(value.trim()) {
            warnings.push(error(
                ipc_or_obr,
                field_number,
                102,
                'W',
                format!("the {name} is longer than 16 characters or not plain text; ignored, Lightbox assigns one"),
            ));
            value.clear();
        }
    }
    supplied
}

/// ORM^O01, OMI^O23, OMG^O19.
pub fn orders(inbound: &mut Inbound<'_>, segments: &Segments<'_>, pid: &str) -> Outcome {
    let (groups, shared_diagnoses) = order_groups(segments);
    if groups.is_empty() {
        return (
            AckCode::Reject,
            vec![error(
                "ORC",
                0,
                100,
                'E',
                "an order message needs ORC and OBR segments",
            )],
        );
    }
    if let Some(n) = groups.iter().position(|g| g.obr.is_none()) {
        let mut e = error("OBR", 0, 100, 'E', "each ORC needs its OBR");
        e.sequence = n as u32 + 1;
        return (AckCode::Reject, vec![e]);
    }
    let patient = match patient_for(inbound, pid) {
        Ok(p) => p,
        Err(e) => return refuse("PID", 3, 207, e.to_string()),
    };
    let mut warnings = Vec::new();
    let (encounter, insurance) =
        match visit_and_insurance(inbound, segments, patient, &mut warnings) {
            Ok(v) => v,
            Err(outcome) => return outcome,
        };
    for (n, group) in groups.iter().enumerate() {
        let sequence = n as u32 + 1;
        let obr = group.obr.unwrap_or("");
        let orc = group.orc;
        let placer = unescape(component(first_of(&[field(orc, 2), field(obr, 2)]), 1));
        let filler = unescape(component(first_of(&[field(orc, 3), field(obr, 3)]), 1));
        let control = field(orc, 1);
        let result = match control {
            "NW" => new_order(
                inbound,
                group,
                patient,
                encounter,
                insurance,
                &placer,
                &shared_diagnoses,
                &mut warnings,
            ),
            "CA" | "DC" => cancel(inbound, control, &placer, &filler),
            "XO" => change(inbound, group, &placer, &filler, &shared_diagnoses),
            "SC" => placer_status(inbound, &placer, &filler, field(orc, 5)),
            other => Err(refuse(
                "ORC",
                1,
                103,
                format!("order control {other} is not handled"),
            )),
        };
        if let Err((code, mut errors)) = result {
            for e in &mut errors {
                e.sequence = sequence;
            }
            return (code, errors);
        }
    }
    (AckCode::Accept, warnings)
}

/// The order a placer or filler number names (placer number from this sender first).
fn find_order(inbound: &Inbound<'_>, placer: &str, filler: &str) -> Result<String, Outcome> {
    let by_placer = if placer.is_empty() {
        None
    } else {
        inbound
            .store
            .order_by_placer(&inbound.header.sending_application, placer)
            .map_err(|e| refuse("ORC", 2, 207, e.to_string()))?
    };
    let by_filler = if by_placer.is_some() || filler.is_empty() {
        None
    } else {
        inbound
            .store
            .order_by_filler(filler)
            .map_err(|e| refuse("ORC", 3, 207, e.to_string()))?
    };
    by_placer.or(by_filler).ok_or_else(|| {
        refuse(
            "ORC",
            2,
            204,
            format!("no order with placer number {placer} or filler number {filler}"),
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn new_order(
    inbound: &mut Inbound<'_>,
    group: &OrderGroup<'_>,
    patient: i64,
    encounter: Option<i64>,
    insurance: Option<i64>,
    placer: &str,
    shared_diagnoses: &[String],
    warnings: &mut Vec<AckError>,
) -> Result<(), Outcome> {
    let obr = group.obr.unwrap_or("");
    let orc = group.orc;
    if !placer.is_empty()
        && let Ok(Some(existing)) = inbound
            .store
            .order_by_placer(&inbound.header.sending_application, placer)
    {
        return Err(refuse(
            "ORC",
            2,
            205,
            format!("placer number {placer} is already order {existing}"),
        ));
    }
    let tq1 = group.tq1.unwrap_or("");
    let priority = codes::priority(first_of(&[
        component(field(tq1, 9), 1),
        component(field(obr, 27), 6),
        component(field(orc, 7), 6),
        component(field(obr, 5), 1),
    ]));
    let requested_time = hl7_time(first_of(&[
        component(field(tq1, 7), 1),
        component(field(obr, 27), 4),
        component(field(orc, 7), 4),
        component(field(obr, 6), 1),
    ]));
    let mut code = text(obr, 4, 1);
    let alternate = text(obr, 4, 4);
    if !alternate.is_empty()
        && matches!(inbound.store.procedure(&code), Ok(None))
        && matches!(inbound.store.procedure(&alternate), Ok(Some(_)))
    {
        code = alternate;
    }
    let reason = [text(obr, 13, 1), {
        let r = text(obr, 31, 2);
        if r.is_empty() { text(obr, 31, 1) } else { r }
    }]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join("; ");
    let mut icd10: Vec<String> = shared_diagnoses.to_vec();
    icd10.extend(group.diagnoses.iter().cloned());
    icd10.retain(|c| !c.is_empty());
    icd10.dedup();
    let referring = physician(
        inbound,
        first_of(&[field(obr, 16), field(orc, 12)]),
        "OBR",
        16,
        warnings,
    );
    let ipc = group.ipc.unwrap_or("");
    let supplied = SuppliedIdentifiers {
        accession: unescape(first_of(&[
            component(field(ipc, 1), 1),
            component(field(obr, 18), 1),
        ])),
        requested_procedure_id: unescape(first_of(&[
            component(field(ipc, 2), 1),
            component(field(obr, 19), 1),
        ])),
        study_uid: unescape(first_of(&[
            component(field(ipc, 3), 1),
            group.zds.map_or("", |z| component(field(z, 1), 1)),
        ])),
        step_id: unescape(first_of(&[
            component(field(ipc, 4), 1),
            component(field(obr, 20), 1),
        ])),
    };
    let uid_from_ipc = !component(field(ipc, 3), 1).is_empty();
    let supplied = vet_supplied(supplied, group.ipc.is_some(), uid_from_ipc, warnings);
    let ordered_modality = first_of(&[component(field(ipc, 5), 1), component(field(obr, 24), 1)]);
    let request = OrderRequest {
        patient: Some(patient),
        placer_number: placer.to_string(),
        placer_app: inbound.header.sending_application.clone(),
        procedure_code: code.clone(),
        priority,
        reason,
        icd10,
        referring,
        insurance,
        authorisation: String::new(),
        requested_time,
        supplied: (supplied != SuppliedIdentifiers::default()).then_some(supplied),
    };
    let placed = ris::place_order(inbound.store, &inbound.actor, &request, inbound.now)
        .map_err(|e| refuse("ORC", 2, ris_code(&e), e.to_string()))?;
    if let Some(encounter) = encounter {
        inbound
            .store
            .set_order_encounter(placed.order.id, encounter)
            .map_err(|e| refuse("PV1", 19, 207, e.to_string()))?;
    }
    for reason in &placed.review_reasons {
        warnings.push(error(
            "OBR",
            4,
            103,
            'W',
            format!("accepted for review: {reason}"),
        ));
    }
    if !ordered_modality.is_empty()
        && let Ok(Some(procedure)) = inbound.store.procedure(&code)
        && codes::modality(ordered_modality).is_some_and(|m| m != procedure.modality)
    {
        warnings.push(error(
            "OBR",
            24,
            103,
            'W',
            format!(
                "modality {ordered_modality} was sent but procedure {code} is {}",
                procedure.modality
            ),
        ));
    }
    Ok(())
}

fn cancel(
    inbound: &mut Inbound<'_>,
    control: &str,
    placer: &str,
    filler: &str,
) -> Result<(), Outcome> {
    let accession = find_order(inbound, placer, filler)?;
    let (to, note) = if control == "CA" {
        (ExamStatus::Cancelled, "cancelled by the placer")
    } else {
        (ExamStatus::Discontinued, "discontinued by the placer")
    };
    ris::change_status(inbound.store, &inbound.actor, &accession, to, note)
        .map_err(|e| refuse("ORC", 1, 207, e.to_string()))
}

/// ORC-1 XO: the placer changes what it asks for, while the exam has not started.
fn change(
    inbound: &mut Inbound<'_>,
    group: &OrderGroup<'_>,
    placer: &str,
    filler: &str,
    shared_diagnoses: &[String],
) -> Result<(), Outcome> {
    let accession = find_order(inbound, placer, filler)?;
    let obr = group.obr.unwrap_or("");
    let orc = group.orc;
    let tq1 = group.tq1.unwrap_or("");
    let mut icd10: Vec<String> = shared_diagnoses.to_vec();
    icd10.extend(group.diagnoses.iter().cloned());
    icd10.retain(|c| !c.is_empty());
    let change = ris::OrderChange {
        procedure_code: text(obr, 4, 1),
        priority: {
            let code = first_of(&[
                component(field(tq1, 9), 1),
                component(field(obr, 27), 6),
                component(field(orc, 7), 6),
                component(field(obr, 5), 1),
            ]);
            (!code.is_empty()).then(|| codes::priority(code))
        },
        reason: text(obr, 13, 1),
        requested_time: hl7_time(first_of(&[
            component(field(tq1, 7), 1),
            component(field(obr, 27), 4),
            component(field(orc, 7), 4),
        ])),
        icd10,
    };
    ris::change_order(inbound.store, &inbound.actor, &accession, &change)
        .map_err(|e| refuse("ORC", 1, 207, e.to_string()))
}

/// ORC-1 SC from the placer: its view of the order's status, recorded for people to see.
fn placer_status(
    inbound: &mut Inbound<'_>,
    placer: &str,
    filler: &str,
    status: &str,
) -> Result<(), Outcome> {
    let accession = find_order(inbound, placer, filler)?;
    crate::access::audit(
        inbound.store,
        &inbound.actor,
        "order.placer_status",
        &format!("order:{accession}"),
        "ok",
        &format!("placer reports status {status}"),
    )
    .map_err(|e| refuse("ORC", 5, 207, e.to_string()))
}

/// ORU^R01 from a dictation system: matched to the order by accession (OBR-18), our filler
/// number (OBR-3) or the placer number (OBR-2); its text and OBR-25 status become the exam's
/// report through the report rules, signed by the OBR-32 interpreter.
pub fn result(inbound: &mut Inbound<'_>, segments: &Segments<'_>, pid: &str) -> Outcome {
    let Some(obr) = segments.first("OBR") else {
        return (
            AckCode::Reject,
            vec![error("OBR", 0, 100, 'E', "ORU^R01 needs an OBR segment")],
        );
    };
    let accession = text(obr, 18, 1);
    let filler = text(obr, 3, 1);
    let placer = text(obr, 2, 1);
    let store = &*inbound.store;
    let found = (|| -> Result<Option<String>, crate::store::StoreError> {
        if !accession.is_empty() && store.order_by_accession(&accession)?.is_some() {
            return Ok(Some(accession.clone()));
        }
        if !filler.is_empty()
            && let Some(a) = store.order_by_filler(&filler)?
        {
            return Ok(Some(a));
        }
        if !placer.is_empty() {
            let matches = store.orders_by_placer_number(&placer)?;
            if matches.len() == 1 {
                return Ok(matches.into_iter().next());
            }
        }
        Ok(None)
    })();
    let accession = match found {
        Ok(Some(a)) => a,
        Ok(None) => {
            return refuse(
                "OBR",
                3,
                204,
                format!(
                    "no order with accession {accession}, filler number {filler} or placer number {placer}"
                ),
            );
        }
        Err(e) => return refuse("OBR", 3, 207, e.to_string()),
    };
    let order = match inbound.store.order_by_accession(&accession) {
        Ok(Some(o)) => o,
        Ok(None) => return refuse("OBR", 18, 204, format!("order {accession} not found")),
        Err(e) => return refuse("OBR", 18, 207, e.to_string()),
    };
    if let Some(named) = known_patient(inbound.store, pid)
        && order.patient.is_some_and(|p| p != named)
    {
        return refuse(
            "PID",
            3,
            204,
            format!("the patient does not match order {accession}"),
        );
    }
    let status_code = first_of(&[
        field(obr, 25),
        field(segments.first("OBX").unwrap_or(""), 11),
    ]);
    let Some(status) = codes::result_status(status_code) else {
        return refuse(
            "OBR",
            25,
            103,
            format!("result status {status_code} is not one a report can take (P, F, C)"),
        );
    };
    let mut lines = Vec::new();
    for obx in segments.all("OBX") {
        for repetition in field(obx, 5).split('~') {
            let value = unescape(component(repetition, 1));
            let value = if field(obx, 2) == "FT" || field(obx, 2) == "TX" {
                unescape(repetition)
            } else {
                value
            };
            lines.push(value);
        }
    }
    let body = lines.join("\n");
    if body.trim().is_empty() {
        return refuse("OBX", 5, 101, "the result has no report text");
    }
    let interpreter = component(field(obr, 32), 1);
    let name = [subcomponent(interpreter, 2), subcomponent(interpreter, 3)]
        .iter()
        .map(|s| unescape(s))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    // The interpreter by name; by ID only when the name is missing.
    let signer = if name.is_empty() {
        unescape(subcomponent(interpreter, 1))
    } else {
        name
    };
    let actor = Actor {
        login: if signer.is_empty() {
            inbound.actor.login.clone()
        } else {
            format!("{}:{signer}", inbound.actor.login)
        },
        ..inbound.actor.clone()
    };
    match ris::reports::file_dictated(inbound.store, &actor, &accession, &body, status) {
        Ok(()) => (AckCode::Accept, vec![]),
        Err(e) => refuse("OBR", 25, 207, e.to_string()),
    }
}
