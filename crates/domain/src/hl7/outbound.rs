//! Outbound messages: what happened in the RIS/HIS becomes HL7 for each destination that
//! takes it. The producer reads the exam history (reports signed → ORU^R01, status changes →
//! ORM^O01 ORC SC), new charges (DFT^P03) and patient changes made by people (ADT^A04/A08)
//! after each destination's cursors, builds the messages in the destination's version and
//! queues them; queueing and moving the cursors are one transaction, so a restart neither
//! loses nor repeats a message. The sender (`sender.rs`) delivers the queues.
//!
//! Every value put into a message goes through [`escape`], so report text with `|`, `^`, `&`,
//! `~`, `\` or line breaks can never break the message structure.

use chrono::NaiveDateTime;

use super::ack::escape;
use super::codes;
use crate::changes::Change;
use crate::store::hl7::Destination;
use crate::store::reports::ReportRecord;
use crate::store::ris::OrderRecord;
use crate::store::{Store, StoreError};

/// Our MSH-3.
pub const SENDING_APPLICATION: &str = "LIGHTBOX";

/// Events a destination can take.
pub const EVENTS: &[&str] = &["oru", "status", "dft", "adt", "ack"];

/// Rows looked at per destination per round (the rest follow in the next round).
const ROUND_LIMIT: usize = 500;

/// What the builders need besides the record itself.
struct Context<'a> {
    destination: &'a Destination,
    facility: String,
    stamp: String,
    control_id: String,
}

impl Context<'_> {
    fn v2_5(&self) -> bool {
        self.destination.version.starts_with("2.5")
    }

    /// The MSH segment; `kind` is e.g. `ORU^R01` and `structure` e.g. `ORU_R01` (2.5 only).
    fn msh(&self, kind: &str, structure: &str, body: &str) -> String {
        let kind = if self.v2_5() && !structure.is_empty() {
            format!("{kind}^{structure}")
        } else {
            kind.to_string()
        };
        let charset = if body.is_ascii() {
            ""
        } else {
            "||||||UNICODE UTF-8"
        };
        format!(
            "MSH|^~\\&|{SENDING_APPLICATION}|{}|{}|{}|{}||{kind}|{}|P|{}{charset}\r",
            escape(&self.facility),
            escape(&self.destination.receiving_application),
            escape(&self.destination.receiving_facility),
            self.stamp,
            escape(&self.control_id),
            self.destination.version,
        )
    }
}

/// YYYYMMDDHHMMSS from a stored UTC time ("2026-11-27T10:00:00.000Z") or local "YYYY-MM-DDTHH:MM".
fn hl7_stamp(stored: &str) -> String {
    let digits: String = stored
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    digits
}

fn pid(store: &Store, patient: Option<i64>) -> Result<String, StoreError> {
    let Some(patient) = patient else {
        return Ok("PID|1\r".into());
    };
    let record = store.patient(patient)?;
    let issuer = store
        .setting(crate::site::MRN_ISSUER_SETTING)?
        .unwrap_or_else(|| "LIGHTBOX".into());
    // The referrer's own identifiers first: that is what its chart files by.
    let mut ids: Vec<String> = store
        .patient_identifiers(patient)?
        .iter()
        .map(|i| format!("{}^^^{}^MR", escape(&i.value), escape(&i.issuer)))
        .collect();
    ids.push(format!("{}^^^{}^MR", escape(&record.mrn), escape(&issuer)));
    Ok(format!(
        "PID|1||{}||{}^{}^{}^{}^{}||{}|{}|||{}||{}\r",
        ids.join("~"),
        escape(&record.family_name),
        escape(&record.given_name),
        escape(&record.middle_name),
        escape(&record.suffix),
        escape(&record.prefix),
        hl7_stamp(&record.birth_date),
        escape(&record.sex),
        escape(&record.address),
        escape(&record.phone),
    ))
}

fn physician_xcn(store: &Store, id: Option<i64>) -> Result<String, StoreError> {
    let Some(id) = id else {
        return Ok(String::new());
    };
    let p = store.referring(id)?;
    Ok(format!(
        "{}^{}^{}{}",
        escape(&p.npi),
        escape(&p.family_name),
        escape(&p.given_name),
        if p.npi.is_empty() { "" } else { "^^^^^^NPI" }
    ))
}

fn pv1(store: &Store, order: Option<&OrderRecord>) -> Result<String, StoreError> {
    let Some(order) = order else {
        return Ok("PV1|1|O\r".into());
    };
    let visit = store
        .order_visit_numbers(order.id)?
        .map(|(ours, theirs)| if theirs.is_empty() { ours } else { theirs })
        .unwrap_or_default();
    Ok(format!(
        "PV1|1|O|||||{}|||||||||||{}\r",
        physician_xcn(store, order.referring)?,
        escape(&visit)
    ))
}

fn order_numbers(order: &OrderRecord) -> (String, String) {
    let placer = if order.placer_number.is_empty() {
        String::new()
    } else {
        format!(
            "{}^{}",
            escape(&order.placer_number),
            escape(&order.placer_app)
        )
    };
    (
        placer,
        format!("{}^{SENDING_APPLICATION}", escape(&order.filler_number)),
    )
}

fn service(store: &Store, order: &OrderRecord) -> Result<(String, String), StoreError> {
    let procedure = store.procedure(&order.procedure_code)?;
    let name = procedure
        .as_ref()
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let modality = procedure.map(|p| p.modality).unwrap_or_default();
    Ok((
        format!("{}^{}^CPT4", escape(&order.procedure_code), escape(&name)),
        modality,
    ))
}

/// The report text an ORU carries for an exam status: the signed report (the version signed
/// with that status), and for "amended" the final report followed by every signed addendum.
fn report_text(
    store: &Store,
    reports: &[ReportRecord],
    exam_status: &str,
) -> Result<(String, String), StoreError> {
    let Some(report) = reports.iter().find(|r| r.kind == "report") else {
        return Ok((String::new(), String::new()));
    };
    let wanted = if exam_status == "preliminary" {
        "preliminary"
    } else {
        "final"
    };
    let body = store
        .report_versions(report.id)?
        .into_iter()
        .rev()
        .find(|v| v.status == wanted)
        .map(|v| v.body)
        .unwrap_or_else(|| report.body.clone());
    let mut text = body;
    let mut signer = report.signer.clone();
    if exam_status == "amended" {
        for addendum in reports
            .iter()
            .filter(|r| r.kind == "addendum" && r.status == "final")
        {
            text.push_str(&format!(
                "\n\nADDENDUM ({}, {}):\n{}",
                display_signer(&addendum.signer),
                addendum
                    .signed_at
                    .get(..16)
                    .unwrap_or(&addendum.signed_at)
                    .replace('T', " "),
                addendum.body
            ));
            signer = addendum.signer.clone();
        }
    }
    Ok((text, signer))
}

/// A signer for people: a dictation system's `hl7:APP:NAME` shows as NAME.
fn display_signer(login: &str) -> &str {
    match login.strip_prefix("hl7:") {
        Some(rest) => rest.split_once(':').map_or(rest, |(_, name)| name),
        None => login,
    }
}

/// ORU^R01 for a report signed preliminary, final or amended.
fn oru(
    store: &Store,
    cx: &Context<'_>,
    order: &OrderRecord,
    exam_status: &str,
    at: &str,
) -> Result<Option<String>, StoreError> {
    let Some(result_status) = codes::outbound_result_status(exam_status) else {
        return Ok(None);
    };
    let reports = store.reports_of_order(order.id)?;
    let (text, signer) = report_text(store, &reports, exam_status)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let step = store.step_of_order(order.id)?;
    let (placer, filler) = order_numbers(order);
    let (service, modality) = service(store, order)?;
    let observed = hl7_stamp(if step.start_time.is_empty() {
        at
    } else {
        &step.start_time
    });
    let result_time = hl7_stamp(at);
    let mut body = String::new();
    body.push_str(&pid(store, order.patient)?);
    body.push_str(&pv1(store, Some(order))?);
    body.push_str(&format!("ORC|RE|{placer}|{filler}||CM\r"));
    // OBR: 2 placer, 3 filler, 4 service, 7 observation time, 16 ordering provider,
    // 18 accession, 19 requested procedure id, 22 result time, 24 section, 25 status,
    // 32 principal result interpreter.
    body.push_str(&format!(
        "OBR|1|{placer}|{filler}|{service}|||{observed}|||||||||{}||{}|{}|||{result_time}||{}|{result_status}|||||||{}\r",
        physician_xcn(store, order.referring)?,
        escape(&order.accession),
        escape(&step.requested_procedure_id),
        escape(&modality),
        escape(display_signer(&signer)),
    ));
    let observation = "18782-3^Radiology Study observation^LN";
    if cx.destination.report_text == "ft" {
        body.push_str(&format!(
            "OBX|1|FT|{observation}||{}||||||{result_status}|||{result_time}\r",
            escape(&text)
        ));
    } else {
        for (n, line) in text.lines().enumerate() {
            body.push_str(&format!(
                "OBX|{}|TX|{observation}||{}||||||{result_status}|||{result_time}\r",
                n + 1,
                escape(line)
            ));
        }
    }
    Ok(Some(format!(
        "{}{body}",
        cx.msh("ORU^R01", "ORU_R01", &body)
    )))
}

/// ORM^O01 with ORC-1 SC telling the placer where its order is (ORC-5 SC/IP/CM/CA/DC).
fn order_status(
    store: &Store,
    cx: &Context<'_>,
    order: &OrderRecord,
    exam_status: &str,
) -> Result<Option<String>, StoreError> {
    let Some(status) = codes::outbound_order_status(exam_status) else {
        return Ok(None);
    };
    let (placer, filler) = order_numbers(order);
    let (service, modality) = service(store, order)?;
    let mut body = String::new();
    body.push_str(&pid(store, order.patient)?);
    body.push_str(&pv1(store, Some(order))?);
    body.push_str(&format!(
        "ORC|SC|{placer}|{filler}||{status}||||{}\r",
        cx.stamp
    ));
    body.push_str(&format!(
        "OBR|1|{placer}|{filler}|{service}|||||||||||||||{}|||||||{}\r",
        escape(&order.accession),
        escape(&modality)
    ));
    Ok(Some(format!(
        "{}{body}",
        cx.msh("ORM^O01", "ORM_O01", &body)
    )))
}

/// DFT^P03 for a charge.
fn charge(
    store: &Store,
    cx: &Context<'_>,
    charge_id: i64,
    order: &OrderRecord,
) -> Result<Option<String>, StoreError> {
    let Some(charge) = store.charge(charge_id)? else {
        return Ok(None);
    };
    let name = store
        .procedure(&charge.cpt)?
        .map(|p| p.name)
        .unwrap_or_default();
    let code = format!("{}^{}^CPT4", escape(&charge.cpt), escape(&name));
    let diagnoses = charge
        .icd10
        .split('~')
        .filter(|c| !c.is_empty())
        .map(|c| format!("{}^^I10", escape(c)))
        .collect::<Vec<_>>()
        .join("~");
    let modifiers = charge
        .modifiers
        .split([',', '~', ' '])
        .filter(|m| !m.is_empty())
        .map(escape)
        .collect::<Vec<_>>()
        .join("~");
    let service_date = hl7_stamp(if order.requested_time.is_empty() {
        &cx.stamp
    } else {
        &order.requested_time
    });
    let amount = format!(
        "{}.{:02}",
        charge.amount_cents / 100,
        charge.amount_cents % 100
    );
    let mut body = String::new();
    body.push_str(&format!("EVN|P03|{}\r", cx.stamp));
    body.push_str(&pid(store, order.patient)?);
    body.push_str(&pv1(store, Some(order))?);
    // FT1: 2 transaction id, 4 date, 5 posting date, 6 type, 7 code, 8 description,
    // 10 quantity, 11 amount, 19 diagnoses, 21 ordered by, 23 filler number, 25 procedure,
    // 26 modifiers.
    body.push_str(&format!(
        "FT1|1|{}||{}|{}|CG|{code}|{}||{}|{amount}||||||||{diagnoses}||{}||{}||{code}|{modifiers}\r",
        charge.id,
        service_date.chars().take(8).collect::<String>(),
        cx.stamp,
        escape(&name),
        charge.units,
        physician_xcn(store, order.referring)?,
        escape(&order.filler_number),
    ));
    Ok(Some(format!(
        "{}{body}",
        cx.msh("DFT^P03", "DFT_P03", &body)
    )))
}

/// ADT^A04 (registered here) or ADT^A08 (changed here), for a clinic whose HIS is Lightbox.
fn adt(
    store: &Store,
    cx: &Context<'_>,
    patient: i64,
    event: &str,
) -> Result<Option<String>, StoreError> {
    let mut body = String::new();
    body.push_str(&format!("EVN|{event}|{}\r", cx.stamp));
    body.push_str(&pid(store, Some(patient))?);
    body.push_str("PV1|1|O\r");
    // A04 and A08 share the ADT_A01 structure.
    Ok(Some(format!(
        "{}{body}",
        cx.msh(&format!("ADT^{event}"), "ADT_A01", &body)
    )))
}

/// Whether a destination should get messages about an order: its receiving application is
/// unset, the order was made here, or the order came from that application.
fn concerns(destination: &Destination, order: &OrderRecord) -> bool {
    destination.receiving_application.is_empty()
        || order.placer_app.is_empty()
        || destination
            .receiving_application
            .eq_ignore_ascii_case(&order.placer_app)
}

/// One production round: queues the messages of everything that happened since each
/// destination's cursors. Returns how many messages were queued.
pub fn produce(store: &Store, now: NaiveDateTime) -> Result<usize, StoreError> {
    let mut queued = 0;
    let heads = store.log_heads()?;
    for destination in store.destinations()? {
        if !destination.enabled {
            continue;
        }
        // Nothing new since this destination's cursors: no write transaction at all (the
        // sender polls several times a second; the inbound writer should not wait for it).
        let cursors = store.destination_cursors(destination.id)?;
        if heads.0 <= cursors.0 && heads.1 <= cursors.1 && heads.2 <= cursors.2 {
            continue;
        }
        store.begin()?;
        match produce_for(store, &destination, now) {
            Ok(n) => {
                store.commit()?;
                queued += n;
            }
            Err(e) => {
                let _ = store.rollback();
                return Err(e);
            }
        }
    }
    Ok(queued)
}

fn produce_for(
    store: &Store,
    destination: &Destination,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let (mut history, mut charges, journal_cursor) = store.destination_cursors(destination.id)?;
    let facility = store
        .setting(crate::site::MRN_ISSUER_SETTING)?
        .unwrap_or_else(|| "LIGHTBOX".into());
    let stamp = now.format("%Y%m%d%H%M%S").to_string();
    let mut queued = 0;
    let mut queue = |event: &str,
                     subject: &str,
                     build: &dyn Fn(&Context<'_>) -> Result<Option<String>, StoreError>|
     -> Result<(), StoreError> {
        let control_id = format!("LB{:09}", store.next_counter("hl7_out")?);
        let cx = Context {
            destination,
            facility: facility.clone(),
            stamp: stamp.clone(),
            control_id: control_id.clone(),
        };
        if let Some(message) = build(&cx)? {
            store.enqueue_outbound(destination.id, event, subject, &control_id, &message)?;
            queued += 1;
        }
        Ok(())
    };
    for event in store.status_events_after(history, ROUND_LIMIT)? {
        history = event.id;
        let Some(order) = store.order_by_id(event.order_id)? else {
            continue;
        };
        if !concerns(destination, &order) {
            continue;
        }
        let subject = format!("order:{}", order.accession);
        if destination.takes("oru") && codes::outbound_result_status(&event.to_status).is_some() {
            queue("oru", &subject, &|cx| {
                oru(store, cx, &order, &event.to_status, &event.at)
            })?;
        }
        // Status goes back to the placer only, and not for a change the placer itself made.
        let placers_own = event.actor == format!("hl7:{}", order.placer_app);
        if destination.takes("status")
            && !order.placer_number.is_empty()
            && !placers_own
            && codes::outbound_order_status(&event.to_status).is_some()
        {
            queue("status", &subject, &|cx| {
                order_status(store, cx, &order, &event.to_status)
            })?;
        }
    }
    for (charge_id, order_id) in store.charge_ids_after(charges, ROUND_LIMIT)? {
        charges = charge_id;
        if !destination.takes("dft") {
            continue;
        }
        let Some(order) = store.order_by_id(order_id)? else {
            continue;
        };
        queue("dft", &format!("order:{}", order.accession), &|cx| {
            charge(store, cx, charge_id, &order)
        })?;
    }
    // Patients registered or changed here (an interface's own changes are not echoed back).
    let (journal, journal_cursor) = crate::changes::after(store, journal_cursor, ROUND_LIMIT)?;
    if destination.takes("adt") {
        for entry in journal {
            if entry.actor.starts_with("hl7:") {
                continue;
            }
            let (mrn, event) = match &entry.change {
                Change::PatientRegistered { mrn } => (mrn, "A04"),
                Change::PatientUpdated { mrn } => (mrn, "A08"),
                _ => continue,
            };
            let Some(patient) = store.patient_by_mrn(mrn)? else {
                continue;
            };
            queue("adt", &format!("patient:{mrn}"), &|cx| {
                adt(store, cx, patient, event)
            })?;
        }
    }
    store.set_destination_cursors(destination.id, (history, charges, journal_cursor))?;
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signers_show_as_people() {
        assert_eq!(display_signer("drjones"), "drjones");
        assert_eq!(display_signer("hl7:DICT:SMITH ANNA"), "SMITH ANNA");
        assert_eq!(display_signer("hl7:DICT"), "DICT");
        assert_eq!(hl7_stamp("2026-11-27T10:15:00.000Z"), "20261127101500");
    }
}

/// Errors of destination and queue administration.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// Input that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// Not allowed for this user.
    #[error(transparent)]
    Access(#[from] crate::access::AccessError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Versions a destination can be sent.
pub const VERSIONS: &[&str] = &["2.3", "2.3.1", "2.4", "2.5", "2.5.1"];

/// Adds a destination (administrator), checking what it is given.
pub fn add_destination(
    store: &Store,
    actor: &crate::access::Actor,
    destination: &Destination,
) -> Result<i64, OutboundError> {
    crate::access::authorise(
        store,
        actor,
        crate::access::Action::Administer,
        &format!("hl7-destination:{}", destination.name),
    )?;
    let invalid = |m: String| Err(OutboundError::Invalid(m));
    if destination.name.trim().is_empty() || destination.host.trim().is_empty() {
        return invalid("a destination needs a name and a host".into());
    }
    if destination.port == 0 {
        return invalid("the port must be 1 to 65535".into());
    }
    if !VERSIONS.contains(&destination.version.as_str()) {
        return invalid(format!(
            "version {} is not one of {}",
            destination.version,
            VERSIONS.join(", ")
        ));
    }
    for event in destination.events.split(',').map(str::trim) {
        if !EVENTS.contains(&event) {
            return invalid(format!(
                "event {event:?} is not one of {}",
                EVENTS.join(", ")
            ));
        }
    }
    if !matches!(destination.report_text.as_str(), "tx" | "ft") {
        return invalid("report text is tx or ft".into());
    }
    let id = store.insert_destination(destination)?;
    crate::access::audit(
        store,
        actor,
        "hl7.destination.add",
        &format!("hl7-destination:{}", destination.name),
        "ok",
        &format!(
            "{}:{} {}",
            destination.host, destination.port, destination.events
        ),
    )?;
    Ok(id)
}

/// Puts a failed message back in its queue (a person decided it should go again).
pub fn resend(store: &Store, actor: &crate::access::Actor, id: i64) -> Result<(), OutboundError> {
    let subject = format!("hl7-outbound:{id}");
    crate::access::authorise(store, actor, crate::access::Action::Administer, &subject)?;
    if !store.outbound_resend(id)? {
        return Err(OutboundError::Invalid(format!(
            "message {id} is not waiting or failed"
        )));
    }
    crate::access::audit(store, actor, "hl7.outbound.resend", &subject, "ok", "")?;
    Ok(())
}

/// Cancels a message that was not delivered; the queue behind it moves on.
pub fn cancel(store: &Store, actor: &crate::access::Actor, id: i64) -> Result<(), OutboundError> {
    let subject = format!("hl7-outbound:{id}");
    crate::access::authorise(store, actor, crate::access::Action::Administer, &subject)?;
    if !store.outbound_cancel(id)? {
        return Err(OutboundError::Invalid(format!(
            "message {id} is not waiting or failed"
        )));
    }
    crate::access::audit(store, actor, "hl7.outbound.cancel", &subject, "ok", "")?;
    Ok(())
}
