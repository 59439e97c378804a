//! Inbound messages become domain calls. Each message is handled in one store transaction:
//! its raw text, everything it changes and the ACK are committed together before the ACK is
//! sent, so an ACK always means "stored and done", and a crash before the commit leaves
//! nothing (the sender, having no ACK, sends again). A resend with the same (MSH-3, MSH-4,
//! MSH-10) gets the stored ACK back and changes nothing.
//!
//! Business problems (unknown procedure, …) are accepted and wait in "needs review"; content
//! that cannot be applied (a cancel for an unknown order) is refused with AE and changes
//! nothing; only a message that cannot be understood is rejected (AR).

use chrono::NaiveDateTime;

use super::ack::{AckCode, AckError, build_ack};
use super::fields::{Segments, component, field, normalise_delimiters, text, unescape};
use super::message::{Header, decode_text, read_header};
use super::sources::{self, Origin};
use crate::access::{Actor, Role};
use crate::archive::ArchiveFolder;
use crate::his::{self, HisError, Registration};
use crate::store::Store;
use crate::store::his::{InsurancePolicy, PatientIdentifier, PatientRecord, ReferringPhysician};

mod patient;

use patient::{adt, identifiers};
pub(super) use patient::{known_patient, patient_for, physician, visit_and_insurance};

/// What a message handler needs: the store and, for merges that move images, the archive.
pub struct Inbound<'a> {
    /// The store, in the message's transaction.
    pub store: &'a mut Store,
    /// The archive (None: merges move no archived studies, e.g. in unit tests).
    pub archive: Option<&'a ArchiveFolder>,
    /// The interface acting for the sender.
    pub actor: Actor,
    /// The message's header.
    pub header: Header,
    /// Receipt time (local).
    pub now: NaiveDateTime,
}

/// A handler's verdict: the ACK code and the ERR segments (warnings with AA).
pub type Outcome = (AckCode, Vec<AckError>);

/// An ERR entry.
pub fn error(
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

/// An AE outcome with one error.
pub fn refuse(segment: &str, field: u32, code: u16, text: impl Into<String>) -> Outcome {
    (AckCode::Error, vec![error(segment, field, code, 'E', text)])
}

/// Processes one inbound message (bytes as framed) that the local operator vouches for (a
/// batch file) in its own transaction and returns the ACK text to send. Messages from the
/// network go through [`receive_in_transaction`] with their peer's address.
pub fn receive(
    store: &mut Store,
    archive: Option<&ArchiveFolder>,
    bytes: &[u8],
    now: NaiveDateTime,
) -> String {
    receive_from(
        store,
        archive,
        bytes,
        now,
        &Origin::File {
            operator: "local operator".into(),
        },
    )
}

/// Like [`receive`], from `origin`.
pub fn receive_from(
    store: &mut Store,
    archive: Option<&ArchiveFolder>,
    bytes: &[u8],
    now: NaiveDateTime,
    origin: &Origin,
) -> String {
    if let Err(e) = store.begin() {
        tracing::error!(error = %e, "HL7 message could not be stored");
        return unavailable_ack(now);
    }
    let received = receive_in_transaction(store, archive, bytes, now, origin);
    match store.commit() {
        Ok(()) => received.ack,
        Err(e) => {
            tracing::error!(error = %e, "HL7 message could not be committed");
            let _ = store.rollback();
            received.if_not_committed
        }
    }
}

/// What `lightbox status` sends to ask whether the listener and its writer answer: an MLLP
/// frame that is not a message, answered AA by the writer and never stored.
pub const STATUS_PROBE: &[u8] = b"LIGHTBOX STATUS PROBE";

/// The ACK of a message handled inside a caller's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The ACK to send once the transaction is committed.
    pub ack: String,
    /// The ACK to send if the commit fails (AE: resend).
    pub if_not_committed: String,
}

/// The answer when the store cannot be reached at all.
pub fn unavailable_ack(now: NaiveDateTime) -> String {
    build_ack(
        &Header::default(),
        AckCode::Error,
        &[error("MSH", 0, 207, 'E', "store unavailable; resend")],
        &now.format("%Y%m%d%H%M%S").to_string(),
        &format!("R{}", now.and_utc().timestamp_millis()),
    )
}

/// Handles one message inside a transaction the caller opened (and commits, so several
/// messages can share one commit): a savepoint makes the message all-or-nothing on its own.
pub fn receive_in_transaction(
    store: &mut Store,
    archive: Option<&ArchiveFolder>,
    bytes: &[u8],
    now: NaiveDateTime,
    origin: &Origin,
) -> Received {
    let stamp = now.format("%Y%m%d%H%M%S").to_string();
    if bytes == STATUS_PROBE {
        // `lightbox status` asking whether messages are being answered: nothing is stored.
        let ack = build_ack(&Header::default(), AckCode::Accept, &[], &stamp, "PROBE");
        return Received {
            ack: ack.clone(),
            if_not_committed: ack,
        };
    }
    let text = decode_text(bytes);
    let header = match read_header(&text) {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "HL7 message rejected: not understood");
            let ack = build_ack(
                &Header::default(),
                AckCode::Reject,
                &[error("MSH", 0, 100, 'E', e.to_string())],
                &stamp,
                &format!("R{}", now.and_utc().timestamp_millis()),
            );
            return Received {
                ack: ack.clone(),
                if_not_committed: ack,
            };
        }
    };
    let key = (
        header.sending_application.as_str(),
        header.sending_facility.as_str(),
        header.control_id.as_str(),
    );
    let message_type = format!("{}^{}", header.message_type, header.trigger_event);
    let peer_address = match origin {
        Origin::Network(addr) => addr.to_string(),
        Origin::File { .. } => String::new(),
    };
    if let Some(refused) = turned_away(store, &header, &text, &message_type, origin, &stamp, now) {
        return refused;
    }
    let internal = build_ack(
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
        &format!("R{}", now.and_utc().timestamp_millis()),
    );
    let failed = |store: &Store, why: String| {
        tracing::error!(control_id = %header.control_id, error = %why, "HL7 message could not be stored");
        let _ = store.rollback_to_savepoint(MESSAGE_SAVEPOINT);
        let _ = store.release_savepoint(MESSAGE_SAVEPOINT);
        Received {
            ack: internal.clone(),
            if_not_committed: internal.clone(),
        }
    };
    if let Err(e) = store.savepoint(MESSAGE_SAVEPOINT) {
        return failed(store, e.to_string());
    }
    let stored = match store.store_inbound(key, &message_type, &text, &peer_address) {
        Ok(Ok(id)) => id,
        Ok(Err(existing)) if !existing.ack.is_empty() => {
            let _ = store.release_savepoint(MESSAGE_SAVEPOINT);
            tracing::info!(control_id = %header.control_id, "HL7 resend: stored ACK returned");
            return Received {
                ack: existing.ack,
                if_not_committed: internal,
            };
        }
        Ok(Err(existing)) => existing.id,
        Err(e) => return failed(store, e.to_string()),
    };
    let ack_id = format!("A{stored}");
    let actor = Actor {
        login: format!("hl7:{}", header.sending_application),
        role: Role::Interface,
        origin: format!("{} ({})", origin.describe(), header.sending_facility),
    };
    let normal = normalise_delimiters(&text);
    let mut inbound = Inbound {
        store,
        archive,
        actor,
        header: header.clone(),
        now,
    };
    // A fault in one message's handling fails that message (AE, nothing of it applied, the
    // raw text kept), never the writer that serves every sender.
    let processed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        process(&mut inbound, &normal)
    }));
    let (code, errors) = match processed {
        Ok(outcome) => outcome,
        Err(payload) => {
            let why = crate::faults::panic_text(payload.as_ref());
            tracing::error!(control_id = %header.control_id, message = %message_type, error = %why,
                "HL7 message handling failed; refused with AE");
            refuse(
                "MSH",
                0,
                207,
                "internal error while handling this message; nothing was applied (see the log)",
            )
        }
    };
    let store = inbound.store;
    let ack = build_ack(&header, code, &errors, &stamp, &ack_id);
    let finished = if code == AckCode::Accept {
        store
            .finish_inbound(stored, "processed", &ack)
            .and_then(|()| queue_application_ack(store, &header, code, &errors, &stamp, &ack_id))
    } else {
        // Nothing of a refused message is applied: undo its changes, keep the message.
        store
            .rollback_to_savepoint(MESSAGE_SAVEPOINT)
            .and_then(|()| store.store_inbound(key, &message_type, &text, &peer_address))
            .and_then(|r| {
                let id = r.unwrap_or_else(|existing| existing.id);
                store.finish_inbound(id, "refused", &ack)
            })
            .and_then(|()| queue_application_ack(store, &header, code, &errors, &stamp, &ack_id))
    };
    match finished.and_then(|()| store.release_savepoint(MESSAGE_SAVEPOINT)) {
        Ok(()) => {
            if code == AckCode::Accept {
                tracing::debug!(control_id = %header.control_id, message = %message_type, warnings = errors.len(), "HL7 message processed");
            } else {
                tracing::warn!(control_id = %header.control_id, message = %message_type, reason = %errors.first().map(|e| e.text.as_str()).unwrap_or(""), "HL7 message refused");
            }
            Received {
                ack,
                if_not_committed: internal,
            }
        }
        Err(e) => failed(store, e.to_string()),
    }
}

/// The door: a message from a sender that is not a configured source (or not allowed this
/// kind of message, or calling from another host) is refused with AR before anything of it is
/// applied, kept for the administrator and audited with the peer address. None: let in.
fn turned_away(
    store: &Store,
    header: &Header,
    text: &str,
    message_type: &str,
    origin: &Origin,
    stamp: &str,
    now: NaiveDateTime,
) -> Option<Received> {
    let class = sources::message_class(&header.message_type, &header.trigger_event);
    let verdict = store
        .hl7_sources()
        .and_then(|all| Ok((all, store.flag(sources::ALLOW_UNKNOWN_ORDERS, false)?)))
        .map(|(all, unknown_orders)| {
            sources::admit(
                &all,
                &header.sending_application,
                &header.sending_facility,
                class,
                origin,
                unknown_orders,
                crate::access::peers::host_matches,
            )
        });
    let (reason, audit_action) = match verdict {
        Ok(sources::Verdict::Known(_)) => return None,
        Ok(sources::Verdict::UnknownOrdersAllowed) => {
            tracing::info!(sender = %header.sending_application, origin = %origin.describe(),
                "orders from an unknown sender let in (hl7.allow_unknown_orders)");
            return None;
        }
        // The same refusal as a role's (the audit row names the action it would have been).
        Ok(sources::Verdict::NotAllowed { source, class }) => (
            format!("source {source} may not send {class} messages"),
            format!("{:?}", sources::action_of(&class)),
        ),
        Ok(sources::Verdict::Refused(reason)) => (reason, "hl7.refused_sender".to_string()),
        Err(e) => {
            tracing::error!(error = %e, "HL7 sources could not be read; message refused");
            let ack = unavailable_ack(now);
            return Some(Received {
                ack: ack.clone(),
                if_not_committed: ack,
            });
        }
    };
    tracing::warn!(sender = %header.sending_application, facility = %header.sending_facility,
        origin = %origin.describe(), message = %message_type, reason = %reason, "HL7 message refused at the door");
    let ack = build_ack(
        header,
        AckCode::Reject,
        &[error("MSH", 3, 207, 'E', reason.clone())],
        stamp,
        &format!("R{}", now.and_utc().timestamp_millis()),
    );
    let key = (
        header.sending_application.as_str(),
        header.sending_facility.as_str(),
        header.control_id.as_str(),
    );
    let peer = match origin {
        Origin::Network(addr) => addr.to_string(),
        Origin::File { .. } => String::new(),
    };
    if let Err(e) = store.store_refused_at_door(key, message_type, text, &peer, &ack) {
        tracing::error!(error = %e, "a message refused at the door could not be kept");
    }
    let audited = store.audit(&crate::store::access::AuditEntry {
        at: String::new(),
        actor: format!("hl7:{}", header.sending_application),
        action: audit_action,
        subject: format!("hl7:{}", header.control_id),
        origin: format!("{} ({})", origin.describe(), header.sending_facility),
        outcome: "refused".into(),
        detail: format!("{message_type}: {reason}"),
    });
    if let Err(e) = audited {
        tracing::error!(error = %e, "a refused sender could not be audited");
    }
    Some(Received {
        ack: ack.clone(),
        if_not_committed: ack,
    })
}

/// The savepoint each message runs in.
const MESSAGE_SAVEPOINT: &str = "hl7_message";

/// In enhanced mode (MSH-15 present) the sender may ask for an application ACK (MSH-16 AL,
/// ER on errors, SU on success): it is queued to the destination whose receiving application
/// is the sender and that takes `ack` events.
fn queue_application_ack(
    store: &Store,
    header: &Header,
    code: AckCode,
    errors: &[AckError],
    stamp: &str,
    ack_id: &str,
) -> Result<(), crate::store::StoreError> {
    if header.accept_ack_type.is_empty() {
        return Ok(());
    }
    let wanted = match header.application_ack_type.as_str() {
        "AL" => true,
        "ER" => code != AckCode::Accept,
        "SU" => code == AckCode::Accept,
        _ => false,
    };
    if !wanted {
        return Ok(());
    }
    let original = Header {
        accept_ack_type: String::new(),
        ..header.clone()
    };
    let mut queued = false;
    for destination in store.destinations()? {
        if destination.takes("ack")
            && destination
                .receiving_application
                .eq_ignore_ascii_case(&header.sending_application)
        {
            // MSH-10 of the application ACK is the queue's control id: its own ACK must match.
            let control_id = format!("{ack_id}APP{}", destination.id);
            let message = build_ack(&original, code, errors, stamp, &control_id);
            store.enqueue_outbound(
                destination.id,
                "ack",
                &format!("hl7:{}", header.control_id),
                &control_id,
                &message,
            )?;
            queued = true;
        }
    }
    if !queued {
        tracing::warn!(sender = %header.sending_application, "application ACK asked for, but no destination takes ack events for this sender");
    }
    Ok(())
}

fn process(inbound: &mut Inbound<'_>, text: &str) -> Outcome {
    let segments = Segments::new(text);
    let (kind, event) = (
        inbound.header.message_type.clone(),
        inbound.header.trigger_event.clone(),
    );
    let handled = matches!(
        (kind.as_str(), event.as_str()),
        ("ADT", "A01" | "A04" | "A05" | "A08" | "A11" | "A23" | "A40")
            | ("ORM", "O01")
            | ("OMI", "O23")
            | ("OMG", "O19")
            | ("ORU", "R01")
    );
    if !handled {
        let code = if matches!(kind.as_str(), "ADT" | "ORM" | "OMI" | "OMG" | "ORU") {
            201
        } else {
            200
        };
        return (
            AckCode::Reject,
            vec![error(
                "MSH",
                9,
                code,
                'E',
                format!("{kind}^{event} is not handled"),
            )],
        );
    }
    let header = &inbound.header;
    if !matches!(header.processing_id.as_str(), "" | "P" | "T" | "D") {
        return (
            AckCode::Reject,
            vec![error(
                "MSH",
                11,
                202,
                'E',
                format!("processing id {} is not P, T or D", header.processing_id),
            )],
        );
    }
    if !header.version.is_empty() && !header.version.starts_with("2.") {
        return (
            AckCode::Reject,
            vec![error(
                "MSH",
                12,
                203,
                'E',
                format!("version {} is not HL7 v2", header.version),
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
    match kind.as_str() {
        "ADT" => adt(inbound, &segments, pid, &event),
        "ORU" => super::inbound_orders::result(inbound, &segments, pid),
        _ => super::inbound_orders::orders(inbound, &segments, pid),
    }
}

/// Fills the fields a message left empty with what is on record.
fn keep_unsent(mut sent: PatientRecord, current: PatientRecord) -> PatientRecord {
    for (new, old) in [
        (&mut sent.family_name, current.family_name),
        (&mut sent.given_name, current.given_name),
        (&mut sent.middle_name, current.middle_name),
        (&mut sent.prefix, current.prefix),
        (&mut sent.suffix, current.suffix),
        (&mut sent.birth_date, current.birth_date),
        (&mut sent.address, current.address),
        (&mut sent.phone, current.phone),
        (&mut sent.email, current.email),
        (&mut sent.language, current.language),
    ] {
        if new.is_empty() {
            *new = old;
        }
    }
    if sent.sex == "U" && !current.sex.is_empty() {
        sent.sex = current.sex;
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::patient::demographics;
    use super::*;

    #[test]
    fn pid_reads_names_dates_and_identifiers_by_issuer() {
        let pid = "PID|1||100234^^^NORTH&1.2.3&ISO^MR~55^^^SSA^SS||DOE^JANE^A^JR^MRS||19700315|F|||1 MAIN\\S\\ST^^SPRINGFIELD||^PRN^PH^^^217^5550134||ENG";
        let ids = identifiers(pid);
        assert_eq!(ids.len(), 2);
        assert_eq!(
            (ids[0].value.as_str(), ids[0].issuer.as_str()),
            ("100234", "NORTH")
        );
        assert_eq!(ids[1].issuer, "SSA");
        let p = demographics(pid);
        assert_eq!(
            (
                p.family_name.as_str(),
                p.given_name.as_str(),
                p.suffix.as_str(),
                p.prefix.as_str()
            ),
            ("DOE", "JANE", "JR", "MRS")
        );
        assert_eq!(p.birth_date, "1970-03-15");
        assert_eq!(p.address, "1 MAIN^ST, SPRINGFIELD");
        assert_eq!(p.phone, "2175550134");
        assert_eq!(p.language, "ENG");
    }
}
