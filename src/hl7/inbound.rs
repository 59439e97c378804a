//! Inbound messages become domain calls. The raw message is committed to the store before
//! anything else; a resend with the same (MSH-3, MSH-4, MSH-10) gets the stored ACK back and
//! changes nothing. ADT^A01/A04/A05/A08 register or update the patient (chosen by PID-3 with
//! its assigning authority, never by position); ORM^O01 NW places an order, CA cancels it.
//! Business problems (unknown procedure, …) are accepted and wait in "needs review"; only a
//! message that cannot be understood is rejected (AR).

use chrono::NaiveDateTime;

use super::ack::{AckCode, AckError, build_ack};
use super::message::{Header, decode_text, read_header};
use crate::access::{Actor, Role};
use crate::his::{self, HisError, Registration};
use crate::ris::{self, ExamStatus, OrderRequest, Priority};
use crate::store::Store;
use crate::store::his::{PatientIdentifier, PatientRecord};

/// The segments of a decoded message, for field access by HL7 position.
struct Segments<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Segments<'a> {
    fn new(text: &'a str) -> Segments<'a> {
        Segments {
            lines: text.split('\r').filter(|l| !l.trim().is_empty()).collect(),
        }
    }

    fn all(&self, id: &str) -> impl Iterator<Item = &'a str> + '_ {
        let id = id.to_string();
        self.lines
            .iter()
            .copied()
            .filter(move |l| l.split('|').next() == Some(id.as_str()))
    }

    fn first(&self, id: &str) -> Option<&'a str> {
        self.all(id).next()
    }
}

/// Field `n` of a segment line (HL7 numbering; for MSH use the header instead).
fn field(segment: &str, n: usize) -> &str {
    segment.split('|').nth(n).unwrap_or("")
}

/// Component `c` (from 1) of a field value.
fn component(value: &str, c: usize) -> &str {
    value.split('^').nth(c - 1).unwrap_or("")
}

/// Decodes HL7 escapes (`\F\ \S\ \T\ \R\ \E\ \Xhh\ \.br\`).
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find('\\') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('\\') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let code = &after[..end];
        match code {
            "F" => out.push('|'),
            "S" => out.push('^'),
            "T" => out.push('&'),
            "R" => out.push('~'),
            "E" => out.push('\\'),
            ".br" => out.push('\n'),
            hex if hex.starts_with('X') => {
                let bytes: Vec<u8> = (1..hex.len())
                    .step_by(2)
                    .filter_map(|i| {
                        hex.get(i..i + 2)
                            .and_then(|h| u8::from_str_radix(h, 16).ok())
                    })
                    .collect();
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
            _ => {}
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// HL7 date/time (YYYYMMDD[HHMM[SS]]) as a local date-time.
fn hl7_time(value: &str) -> Option<NaiveDateTime> {
    let digits: String = value.chars().take_while(|c| c.is_ascii_digit()).collect();
    match digits.len() {
        14.. => NaiveDateTime::parse_from_str(&digits[..14], "%Y%m%d%H%M%S").ok(),
        12..=13 => NaiveDateTime::parse_from_str(&digits[..12], "%Y%m%d%H%M").ok(),
        8..=11 => chrono::NaiveDate::parse_from_str(&digits[..8], "%Y%m%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0)),
        _ => None,
    }
}

/// The patient identifiers of PID-3 (repeating), each with its assigning authority.
fn identifiers(pid: &str) -> Vec<PatientIdentifier> {
    field(pid, 3)
        .split('~')
        .filter_map(|r| {
            let value = unescape(component(r, 1));
            let issuer = unescape(component(r, 4));
            (!value.is_empty()).then_some(PatientIdentifier { value, issuer })
        })
        .collect()
}

/// Demographics from PID.
fn demographics(pid: &str) -> PatientRecord {
    let name = field(pid, 5);
    let birth = field(pid, 7);
    PatientRecord {
        family_name: unescape(component(name, 1)),
        given_name: unescape(component(name, 2)),
        middle_name: unescape(component(name, 3)),
        birth_date: if birth.len() >= 8 {
            format!("{}-{}-{}", &birth[..4], &birth[4..6], &birth[6..8])
        } else {
            String::new()
        },
        sex: match field(pid, 8) {
            s @ ("F" | "M" | "O" | "U") => s.to_string(),
            _ => "U".into(),
        },
        address: unescape(&field(pid, 11).replace('^', ", ")),
        phone: unescape(field(pid, 13).split('~').next().unwrap_or("")),
        ..PatientRecord::default()
    }
}

/// The registered patient a PID names (by any identifier with its issuer), registering a new
/// one when none matches.
fn patient_for(store: &mut Store, actor: &Actor, pid: &str) -> Result<i64, HisError> {
    let ids = identifiers(pid);
    for id in &ids {
        if !id.issuer.is_empty()
            && let Some(p) = store.patient_by_identifier(&id.value, &id.issuer)?
        {
            return Ok(p.id);
        }
    }
    let registration = Registration {
        patient: demographics(pid),
        identifiers: ids.into_iter().filter(|i| !i.issuer.is_empty()).collect(),
        // The EHR knows its patient: a same-name-and-birth-date person here is someone else
        // unless an identifier says otherwise.
        confirmed_new: true,
    };
    Ok(his::register(store, actor, &registration)?.id)
}

fn error(
    segment: &str,
    field: u32,
    code: u16,
    severity: char,
    text: impl Into<String>,
) -> AckError {
    AckError {
        segment: segment.into(),
        sequence: 1,
        field,
        code,
        severity,
        text: text.into(),
    }
}

/// Processes one inbound message (bytes as framed) and returns the ACK text to send.
pub fn receive(store: &mut Store, bytes: &[u8], now: NaiveDateTime) -> String {
    let text = decode_text(bytes);
    let stamp = now.format("%Y%m%d%H%M%S").to_string();
    let header = match read_header(&text) {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "HL7 message rejected: not understood");
            let empty = Header::default();
            return build_ack(
                &empty,
                AckCode::Reject,
                &[error("MSH", 0, 100, 'E', e.to_string())],
                &stamp,
                &format!("L{}", now.and_utc().timestamp_millis()),
            );
        }
    };
    let ack_id = format!("L{}", now.and_utc().timestamp_millis());
    let key = (
        header.sending_application.as_str(),
        header.sending_facility.as_str(),
        header.control_id.as_str(),
    );
    let stored = match store.store_inbound(
        key,
        &format!("{}^{}", header.message_type, header.trigger_event),
        &text,
    ) {
        Ok(Ok(id)) => id,
        Ok(Err(existing)) if !existing.ack.is_empty() => {
            tracing::info!(control_id = %header.control_id, "HL7 resend: stored ACK returned");
            return existing.ack;
        }
        Ok(Err(existing)) => existing.id, // stored but never answered (a crash): process now
        Err(e) => {
            tracing::error!(error = %e, "HL7 message could not be stored");
            return build_ack(
                &header,
                AckCode::Error,
                &[error(
                    "MSH",
                    10,
                    207,
                    'E',
                    "message could not be stored; resend",
                )],
                &stamp,
                &ack_id,
            );
        }
    };
    let actor = Actor {
        login: format!("hl7:{}", header.sending_application),
        role: Role::Interface,
        origin: header.sending_facility.clone(),
    };
    let (code, errors) = process(store, &actor, &header, &text, now);
    let ack = build_ack(&header, code, &errors, &stamp, &ack_id);
    let status = if code == AckCode::Accept {
        "processed"
    } else {
        "refused"
    };
    if let Err(e) = store.finish_inbound(stored, status, &ack) {
        tracing::error!(error = %e, "HL7 outcome could not be recorded");
    }
    ack
}

fn process(
    store: &mut Store,
    actor: &Actor,
    header: &Header,
    text: &str,
    now: NaiveDateTime,
) -> (AckCode, Vec<AckError>) {
    let segments = Segments::new(text);
    let supported = matches!(
        (header.message_type.as_str(), header.trigger_event.as_str()),
        ("ADT", "A01" | "A04" | "A05" | "A08") | ("ORM", "O01")
    );
    if !supported {
        return (
            AckCode::Reject,
            vec![error(
                "MSH",
                9,
                200,
                'E',
                format!(
                    "{}^{} is not handled",
                    header.message_type, header.trigger_event
                ),
            )],
        );
    }
    let Some(pid) = segments.first("PID") else {
        return (
            AckCode::Reject,
            vec![error("PID", 0, 100, 'E', "PID segment missing")],
        );
    };
    if identifiers(pid).is_empty() {
        return (
            AckCode::Reject,
            vec![error(
                "PID",
                3,
                101,
                'E',
                "PID-3 patient identifier missing",
            )],
        );
    }
    let patient = match patient_for(store, actor, pid) {
        Ok(p) => p,
        Err(e) => {
            return (
                AckCode::Error,
                vec![error("PID", 3, 207, 'E', e.to_string())],
            );
        }
    };
    if header.message_type == "ADT" {
        if header.trigger_event == "A08" {
            let mut update = demographics(pid);
            if let Ok(existing) = store.patient(patient) {
                update.id = existing.id;
                update.mrn = existing.mrn;
                update.pregnancy = existing.pregnancy;
                update.alerts = existing.alerts;
                if let Err(e) = store.update_patient(&update) {
                    return (
                        AckCode::Error,
                        vec![error("PID", 5, 207, 'E', e.to_string())],
                    );
                }
            }
        }
        return (AckCode::Accept, vec![]);
    }
    // ORM^O01: each ORC/OBR pair is one order.
    let orcs: Vec<&str> = segments.all("ORC").collect();
    let obrs: Vec<&str> = segments.all("OBR").collect();
    if orcs.is_empty() || obrs.len() < orcs.len() {
        return (
            AckCode::Reject,
            vec![error("ORC", 0, 100, 'E', "each ORC needs its OBR")],
        );
    }
    let icd10: Vec<String> = segments
        .all("DG1")
        .map(|dg1| unescape(component(field(dg1, 3), 1)))
        .filter(|c| !c.is_empty())
        .collect();
    let mut warnings = Vec::new();
    for (orc, obr) in orcs.iter().zip(&obrs) {
        let placer = unescape(component(field(orc, 2), 1));
        let placer = if placer.is_empty() {
            unescape(component(field(obr, 2), 1))
        } else {
            placer
        };
        match field(orc, 1) {
            "NW" => {
                let timing = if field(orc, 7).is_empty() {
                    field(obr, 27)
                } else {
                    field(orc, 7)
                };
                let priority = match (component(timing, 6), field(obr, 5)) {
                    ("S", _) | (_, "S") => Priority::Stat,
                    ("A", _) | (_, "A") => Priority::Asap,
                    _ => Priority::Routine,
                };
                let request = OrderRequest {
                    patient: Some(patient),
                    placer_number: placer,
                    placer_app: header.sending_application.clone(),
                    procedure_code: unescape(component(field(obr, 4), 1)),
                    priority,
                    reason: unescape(
                        &[field(obr, 13), component(field(obr, 31), 2)]
                            .iter()
                            .filter(|s| !s.is_empty())
                            .copied()
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                    icd10: icd10.clone(),
                    referring: None,
                    insurance: None,
                    authorisation: String::new(),
                    requested_time: hl7_time(component(timing, 4)),
                };
                match ris::place_order(store, actor, &request, now) {
                    Ok(placed) => {
                        for reason in placed.review_reasons {
                            warnings.push(error(
                                "OBR",
                                4,
                                103,
                                'W',
                                format!("accepted for review: {reason}"),
                            ));
                        }
                    }
                    Err(e) => {
                        return (
                            AckCode::Error,
                            vec![error("ORC", 2, 205, 'E', e.to_string())],
                        );
                    }
                }
            }
            "CA" | "DC" => {
                let Ok(Some(accession)) =
                    store.order_by_placer(&header.sending_application, &placer)
                else {
                    return (
                        AckCode::Error,
                        vec![error(
                            "ORC",
                            2,
                            204,
                            'E',
                            format!("no order with placer number {placer}"),
                        )],
                    );
                };
                let to = if field(orc, 1) == "CA" {
                    ExamStatus::Cancelled
                } else {
                    ExamStatus::Discontinued
                };
                if let Err(e) =
                    ris::change_status(store, actor, &accession, to, "cancelled by the placer")
                {
                    return (
                        AckCode::Error,
                        vec![error("ORC", 1, 207, 'E', e.to_string())],
                    );
                }
            }
            other => {
                return (
                    AckCode::Error,
                    vec![error(
                        "ORC",
                        1,
                        103,
                        'E',
                        format!("order control {other} is not handled"),
                    )],
                );
            }
        }
    }
    (AckCode::Accept, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode() {
        assert_eq!(
            unescape("A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\F\\.br\\G"),
            "A|B^C&D~E\\F\nG"
        );
        assert_eq!(unescape("\\XC3A9\\t\\"), "ét\\");
        assert_eq!(
            hl7_time("20261130090000"),
            NaiveDateTime::parse_from_str("2026-11-30 09:00", "%Y-%m-%d %H:%M").ok()
        );
    }
}
