//! The RIS lane: the procedure catalogue, rooms, orders with their requested procedure and
//! scheduled step, the schedule, and exam status. Screens, the HL7 handler, the DICOM services
//! and the CLI all call these functions; none of them touches the tables directly.

pub mod arrival;
pub mod billing;
pub mod exam_status;
pub mod mpps;
pub mod reading;
pub mod reconcile;
pub mod reports;
pub mod scheduling;
pub mod worklist;

use chrono::{Datelike, NaiveDateTime};

use crate::access::{self, AccessError, Action, Actor};
use crate::store::ris::{OrderRecord, Procedure, StepRecord};
use crate::store::{Store, StoreError};
pub use exam_status::{ExamStatus, IllegalTransition};

/// The setting naming the modalities that go straight onto today's worklist as walk-ins.
pub const WALK_IN_MODALITIES: &str = "ris.walk_in_modalities";
/// Its default: plain X-ray.
pub const WALK_IN_DEFAULT: &str = "CR,DX";

/// Local date-time format used in the schedule.
pub const LOCAL_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M";

/// Errors of the RIS lane, each with what went wrong for the user.
#[derive(Debug, thiserror::Error)]
pub enum RisError {
    /// No such order/room/procedure.
    #[error("{0} not found")]
    NotFound(String),
    /// The status change is not allowed.
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// The slot is taken or outside opening hours.
    #[error("{0}")]
    Conflict(String),
    /// The exam changed since the user (or workstation) looked at it: their change would
    /// overwrite someone else's, so it is refused; look again and decide.
    #[error(
        "exam {accession} changed since you looked at it (it is now {status}); look again before changing it"
    )]
    Stale {
        /// The exam.
        accession: String,
        /// Its status now.
        status: String,
        /// Its version now.
        version: i64,
    },
    /// Input that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// Not allowed for this user.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Order priority (ORC-7 / OBR-27 / TQ1-9 map onto these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Priority {
    /// Immediately.
    Stat,
    /// As soon as possible.
    Asap,
    /// Normal.
    Routine,
}

impl Priority {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Priority::Stat => "STAT",
            Priority::Asap => "ASAP",
            Priority::Routine => "ROUTINE",
        }
    }
}

/// What the referrer (screen or HL7) asks for.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderRequest {
    /// The registered patient, or None when the order could not be matched to one.
    pub patient: Option<i64>,
    /// Placer order number.
    pub placer_number: String,
    /// Placer application (so two EHRs' numbers never clash).
    pub placer_app: String,
    /// Procedure code (CPT).
    pub procedure_code: String,
    /// Priority.
    pub priority: Priority,
    /// Reason for exam.
    pub reason: String,
    /// ICD-10 codes.
    pub icd10: Vec<String>,
    /// Referring physician row.
    pub referring: Option<i64>,
    /// Insurance policy row used.
    pub insurance: Option<i64>,
    /// Prior authorisation number, if any.
    pub authorisation: String,
    /// Requested local start, if the referrer gave one.
    pub requested_time: Option<NaiveDateTime>,
    /// Numbers the placer already gave the exam (OMI^O23 IPC segment), used instead of ours.
    pub supplied: Option<SuppliedIdentifiers>,
}

impl OrderRequest {
    /// A routine order of `procedure_code` for a registered patient, with a reason and
    /// nothing else: what the order screen's plainest form (and many a test) asks for.
    pub fn routine(patient: i64, procedure_code: &str, reason: &str) -> OrderRequest {
        OrderRequest {
            patient: Some(patient),
            placer_number: String::new(),
            placer_app: String::new(),
            procedure_code: procedure_code.to_string(),
            priority: Priority::Routine,
            reason: reason.to_string(),
            icd10: Vec::new(),
            referring: None,
            insurance: None,
            authorisation: String::new(),
            requested_time: None,
            supplied: None,
        }
    }
}

/// The DICOM identifiers an OMI^O23 placer assigns itself (IPC-1…4): the scanner and the
/// placer's own PACS then agree on them without asking us.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SuppliedIdentifiers {
    /// Accession number (IPC-1), at most 16 characters.
    pub accession: String,
    /// Requested Procedure ID (IPC-2).
    pub requested_procedure_id: String,
    /// Study Instance UID (IPC-3).
    pub study_uid: String,
    /// Scheduled Procedure Step ID (IPC-4).
    pub step_id: String,
}

/// The result of placing an order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlacedOrder {
    /// The order.
    pub order: OrderRecord,
    /// Its scheduled step.
    pub step: StepRecord,
    /// Reasons it waits in "needs review" (empty when accepted).
    pub review_reasons: Vec<String>,
}

/// Loads the starter catalogue and one room per catalogue modality into a fresh store.
pub fn seed_starter_data(store: &Store) -> Result<(), RisError> {
    if store.catalogue_is_empty()? {
        for (n, line) in include_str!("../../../../assets/procedure_catalogue.tsv")
            .lines()
            .enumerate()
            .skip(1)
        {
            let f: Vec<&str> = line.split('\t').collect();
            let [
                code,
                name,
                modality,
                body_part,
                duration,
                preparation,
                charge,
            ] = f[..]
            else {
                return Err(RisError::Invalid(format!(
                    "procedure_catalogue.tsv line {}: 7 columns expected",
                    n + 1
                )));
            };
            let number = |v: &str| {
                v.parse::<i64>().map_err(|_| {
                    RisError::Invalid(format!("procedure_catalogue.tsv line {}: {v}", n + 1))
                })
            };
            store.put_procedure(&Procedure {
                code: code.into(),
                name: name.into(),
                modality: modality.into(),
                body_part: body_part.into(),
                duration_minutes: number(duration)? as u32,
                preparation: preparation.into(),
                charge_cents: number(charge)?,
            })?;
        }
    }
    reports::seed_templates(store)?;
    crate::viewing::seed_protocols(store).map_err(|e| RisError::Invalid(e.to_string()))?;
    if !store.any_room()? {
        let weekday = "08:00-18:00".to_string();
        let hours = [
            weekday.clone(),
            weekday.clone(),
            weekday.clone(),
            weekday.clone(),
            weekday,
            String::new(),
            String::new(),
        ];
        for modality in store.catalogue_modalities()? {
            store.insert_room(
                &format!("{modality} 1"),
                &modality,
                &format!("{modality}1"),
                &hours,
            )?;
        }
    }
    Ok(())
}

pub use lightbox_codec::uids::new_uid;

/// Whether `code` has the shape of an ICD-10(-CM) code: a letter, two characters (a digit, then
/// a digit or letter), and optionally a dot with one to four letters or digits ("R51.9",
/// "M54.5", "S72.001A", "U07.1"). The shape, not the catalogue: Lightbox ships no code list.
pub fn icd10_is_well_formed(code: &str) -> bool {
    let code = code.trim();
    let (head, tail) = match code.split_once('.') {
        Some((h, t)) => (h, Some(t)),
        None => (code, None),
    };
    let head: Vec<char> = head.chars().collect();
    let head_ok = head.len() == 3
        && head[0].is_ascii_uppercase()
        && head[1].is_ascii_digit()
        && (head[2].is_ascii_digit() || head[2].is_ascii_uppercase());
    let tail_ok = tail.is_none_or(|t| {
        (1..=4).contains(&t.chars().count())
            && t.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    });
    head_ok && tail_ok
}

/// Places an order: validated, numbered (filler number, accession), given its Study Instance
/// UID and scheduled step, then placed on the schedule (walk-in, first free slot at or after the
/// requested time, or the to-be-scheduled list). An order that fails validation is kept in
/// "needs review" with its reasons, never dropped.
pub fn place_order(
    store: &mut Store,
    actor: &Actor,
    request: &OrderRequest,
    now: NaiveDateTime,
) -> Result<PlacedOrder, RisError> {
    access::authorise(store, actor, Action::ManageOrders, "order:new")?;
    let procedure = store.procedure(&request.procedure_code)?;
    let mut review = Vec::new();
    if request.patient.is_none() {
        review.push("patient not identified".to_string());
    }
    if procedure.is_none() {
        review.push(format!("unknown procedure code {}", request.procedure_code));
    }
    for code in &request.icd10 {
        if !icd10_is_well_formed(code) {
            review.push(format!("{code:?} is not an ICD-10 code"));
        }
    }
    if let Some(policy) = request.insurance {
        let policy = store.insurance(policy)?;
        if policy.requires_authorisation && request.authorisation.trim().is_empty() {
            review.push(format!(
                "{} requires prior authorisation and none was given",
                policy.payer
            ));
        }
    }
    let number = store.next_counter("accession")?;
    let supplied = request.supplied.clone().unwrap_or_default();
    let or_ours = |given: &str, ours: String| {
        if given.trim().is_empty() {
            ours
        } else {
            given.trim().to_string()
        }
    };
    let accession = or_ours(&supplied.accession, format!("LB{number:08}"));
    if accession.len() > 16 {
        return Err(RisError::Invalid(format!(
            "accession number {accession} is longer than 16 characters"
        )));
    }
    if !supplied.study_uid.is_empty() && !crate::pacs::attributes::is_valid_uid(&supplied.study_uid)
    {
        return Err(RisError::Invalid(format!(
            "Study Instance UID {} is not a valid UID",
            supplied.study_uid
        )));
    }
    if !supplied.study_uid.is_empty() && store.order_by_study_uid(&supplied.study_uid)?.is_some() {
        return Err(RisError::Conflict(format!(
            "Study Instance UID {} already belongs to another order",
            supplied.study_uid
        )));
    }
    if store.order_by_accession(&accession)?.is_some() {
        return Err(RisError::Conflict(format!(
            "accession number {accession} is already used"
        )));
    }
    let filler = format!("F{number:08}");
    let duration = procedure.as_ref().map_or(30, |p| p.duration_minutes);
    let status = if review.is_empty() {
        ExamStatus::Ordered
    } else {
        ExamStatus::NeedsReview
    };
    let order = OrderRecord {
        patient: request.patient,
        placer_number: request.placer_number.clone(),
        placer_app: request.placer_app.clone(),
        filler_number: filler,
        accession: accession.clone(),
        procedure_code: request.procedure_code.clone(),
        priority: request.priority.code().into(),
        reason: request.reason.clone(),
        icd10: request.icd10.join("~"),
        referring: request.referring,
        insurance: request.insurance,
        authorisation: request.authorisation.clone(),
        requested_time: request
            .requested_time
            .map(|t| t.format(LOCAL_TIME_FORMAT).to_string())
            .unwrap_or_default(),
        status: status.code().into(),
        review_reasons: review.join("; "),
        ..OrderRecord::default()
    };
    let step = StepRecord {
        requested_procedure_id: or_ours(&supplied.requested_procedure_id, format!("RP{number:08}")),
        step_id: or_ours(&supplied.step_id, format!("SPS{number:08}")),
        study_uid: or_ours(&supplied.study_uid, new_uid()),
        duration_minutes: duration,
        ..StepRecord::default()
    };
    let note = if review.is_empty() {
        "order accepted".to_string()
    } else {
        format!("needs review: {}", review.join("; "))
    };
    let (order_id, _) = store.insert_order(&order, &step, &actor.login, &note)?;
    access::audit(
        store,
        actor,
        "order.place",
        &format!("order:{accession}"),
        "ok",
        &format!("{} {}", request.procedure_code, status),
    )?;
    if review.is_empty()
        && let Some(procedure) = &procedure
    {
        let walk_in = store
            .setting(WALK_IN_MODALITIES)?
            .unwrap_or_else(|| WALK_IN_DEFAULT.into())
            .split(',')
            .any(|m| m.trim().eq_ignore_ascii_case(&procedure.modality));
        if walk_in {
            scheduling::book_walk_in(store, actor, order_id, &procedure.modality, now)?;
        } else if let Some(requested) = request.requested_time {
            let after = requested.max(now);
            if let Some(slot) =
                scheduling::find_slot(store, &procedure.modality, duration, after, 62)?
            {
                scheduling::book(
                    store,
                    actor,
                    &accession,
                    slot.room,
                    slot.start,
                    "placed at the first free slot",
                    None,
                )?;
            }
        }
    }
    let order = order_named(store, &accession)?;
    let step = store.step_of_order(order.id)?;
    Ok(PlacedOrder {
        order,
        step,
        review_reasons: review,
    })
}

/// Changes an exam's status, refusing illegal moves with the reason; the change is recorded
/// with who made it.
pub fn change_status(
    store: &mut Store,
    actor: &Actor,
    accession: &str,
    to: ExamStatus,
    note: &str,
) -> Result<(), RisError> {
    let action = match to {
        ExamStatus::Preliminary | ExamStatus::Final | ExamStatus::Amended => Action::Report,
        ExamStatus::InProgress | ExamStatus::Completed | ExamStatus::Discontinued => {
            Action::PerformExam
        }
        // Checking a patient in is the front desk's job (and the technologist's).
        ExamStatus::Arrived | ExamStatus::Scheduled => Action::Schedule,
        _ => Action::ManageOrders,
    };
    let subject = format!("order:{accession}");
    access::authorise(store, actor, action, &subject)?;
    let order = order_named(store, accession)?;
    let from = status_of(&order)?;
    if let Err(e) = from.check_transition(to) {
        access::audit(
            store,
            actor,
            "exam.status",
            &subject,
            "refused",
            &e.to_string(),
        )?;
        return Err(e.into());
    }
    record_status(store, actor, order.id, to, note)?;
    access::audit(
        store,
        actor,
        "exam.status",
        &subject,
        "ok",
        &format!("{from} -> {to}"),
    )?;
    Ok(())
}

/// What a change to an order (ORC-1 XO, or the order screen) may alter before the exam
/// starts; empty values leave the field as it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderChange {
    /// New procedure code (must be in the catalogue).
    pub procedure_code: String,
    /// New priority.
    pub priority: Option<Priority>,
    /// New reason for exam.
    pub reason: String,
    /// New requested time.
    pub requested_time: Option<NaiveDateTime>,
    /// New diagnoses.
    pub icd10: Vec<String>,
}

/// Changes an order that has not started (needs review, ordered or scheduled).
pub fn change_order(
    store: &mut Store,
    actor: &Actor,
    accession: &str,
    change: &OrderChange,
) -> Result<(), RisError> {
    let subject = format!("order:{accession}");
    access::authorise(store, actor, Action::ManageOrders, &subject)?;
    let order = order_named(store, accession)?;
    let status = status_of(&order)?;
    if !matches!(
        status,
        ExamStatus::NeedsReview | ExamStatus::Ordered | ExamStatus::Scheduled
    ) {
        return Err(RisError::Invalid(format!(
            "{accession} is {status}: only an order that has not started can change"
        )));
    }
    let code = if change.procedure_code.is_empty() {
        order.procedure_code.clone()
    } else {
        if store.procedure(&change.procedure_code)?.is_none() {
            return Err(RisError::Invalid(format!(
                "unknown procedure code {}",
                change.procedure_code
            )));
        }
        change.procedure_code.clone()
    };
    let pick = |new: &str, old: &str| {
        if new.is_empty() {
            old.to_string()
        } else {
            new.to_string()
        }
    };
    let requested = change
        .requested_time
        .map(|t| t.format(LOCAL_TIME_FORMAT).to_string())
        .unwrap_or_else(|| order.requested_time.clone());
    store.change_order_request(
        order.id,
        &code,
        change
            .priority
            .map_or(order.priority.as_str(), |p| p.code()),
        &pick(&change.reason, &order.reason),
        &requested,
        &pick(&change.icd10.join("~"), &order.icd10),
    )?;
    access::audit(
        store,
        actor,
        "order.change",
        &subject,
        "ok",
        &format!("{} -> {code}", order.procedure_code),
    )?;
    Ok(())
}

/// An order by accession, or NotFound naming it.
pub(crate) fn order_named(store: &Store, accession: &str) -> Result<OrderRecord, RisError> {
    store
        .order_by_accession(accession)?
        .ok_or_else(|| RisError::NotFound(format!("order {accession}")))
}

/// An order's status, refusing a value the state machine does not know.
pub(crate) fn status_of(order: &OrderRecord) -> Result<ExamStatus, RisError> {
    ExamStatus::from_code(&order.status).ok_or_else(|| {
        RisError::Invalid(format!(
            "order {} has status {}",
            order.accession, order.status
        ))
    })
}

/// Carries an exam whose images are here to "ready to read" (completed) through the steps it
/// may still take (scheduled → in progress → completed); later states are left alone.
pub(crate) fn advance_to_ready(
    store: &mut Store,
    actor: &Actor,
    order: &OrderRecord,
    note: &str,
) -> Result<(), RisError> {
    let mut status = status_of(order)?;
    for next in [ExamStatus::InProgress, ExamStatus::Completed] {
        if status.check_transition(next).is_ok() {
            record_status(store, actor, order.id, next, note)?;
            status = next;
        }
    }
    Ok(())
}

/// The one place an exam's status is written (after the transition was checked): records
/// the change with its actor, and creates the charge when the exam is completed.
pub(crate) fn record_status(
    store: &mut Store,
    actor: &Actor,
    order_id: i64,
    to: ExamStatus,
    note: &str,
) -> Result<(), RisError> {
    store.set_order_status(order_id, to.code(), &actor.login, note)?;
    if to == ExamStatus::Completed {
        billing::charge_for(store, order_id)?;
    }
    Ok(())
}

/// An exam as JSON: patient, procedure, status, step and history (`lightbox exam`). Reading
/// it is audited.
pub fn exam_json(
    store: &Store,
    actor: &Actor,
    accession: &str,
) -> Result<serde_json::Value, RisError> {
    access::authorise(
        store,
        actor,
        Action::ReadPatient,
        &format!("order:{accession}"),
    )?;
    let order = order_named(store, accession)?;
    let step = store.step_of_order(order.id)?;
    let patient = match order.patient {
        Some(id) => Some(store.patient(id)?),
        None => None,
    };
    let procedure = store.procedure(&order.procedure_code)?;
    let room = match step.room {
        Some(id) => store.rooms(None)?.into_iter().find(|r| r.id == id),
        None => None,
    };
    let history = store.exam_history(order.id)?;
    access::audit(
        store,
        actor,
        "exam.read",
        &format!("order:{accession}"),
        "ok",
        &patient
            .as_ref()
            .map(|p| format!("patient:{}", p.mrn))
            .unwrap_or_default(),
    )?;
    Ok(serde_json::json!({
        "accession": order.accession,
        "status": order.status,
        "priority": order.priority,
        "placer_number": order.placer_number,
        "filler_number": order.filler_number,
        "review_reasons": order.review_reasons,
        "patient": patient,
        "procedure": procedure,
        "procedure_code": order.procedure_code,
        "study_uid": step.study_uid,
        "scheduled_step": {
            "step_id": step.step_id,
            "requested_procedure_id": step.requested_procedure_id,
            "room": room.as_ref().map(|r| r.name.clone()),
            "station_ae": room.as_ref().map(|r| r.station_ae.clone()),
            "start": step.start_time,
            "duration_minutes": step.duration_minutes,
            "walk_in": step.walk_in,
        },
        "history": history,
    }))
}

/// The ISO weekday index (Monday 0) of a date-time.
pub(crate) fn weekday_index(t: NaiveDateTime) -> usize {
    t.weekday().num_days_from_monday() as usize
}

#[cfg(test)]
mod icd10_tests {
    #[test]
    fn icd10_codes_are_checked_by_shape() {
        for good in ["R51.9", "M54.5", "S72.001A", "U07.1", "R05", "C50.911"] {
            assert!(super::icd10_is_well_formed(good), "{good}");
        }
        for bad in [
            "XYZ",
            "",
            "R5",
            "51.9",
            "R51.",
            "R51.12345",
            "r51.9",
            "R5É.1",
        ] {
            assert!(!super::icd10_is_well_formed(bad), "{bad}");
        }
    }
}
