//! The server's side of a workstation's calls: each Practice API call by name, its arguments
//! from JSON, acting as the user whose session the request carries (never as an actor the
//! workstation names), its answer or refusal back as JSON. Only the calls listed here exist
//! on the wire: opening sessions, pairing, first-run set-up and acting as the operating
//! system's administrator are not among them.

use serde::Serialize;
use serde_json::Value;

use super::Practice;
use super::remote::{ToWire, WireError};
use crate::access::{ReadOccasion, Role};
use crate::his::Registration;
use crate::ris::reading::ReadingFilter;
use crate::ris::{ExamStatus, OrderRequest};
use crate::store::administration::AuditFilter;
use crate::store::administration::ReportTemplate;
use crate::store::his::{InsurancePolicy, PatientRecord, ReferringPhysician};
use crate::store::hl7::Destination;
use crate::store::hl7_sources::Hl7Source;
use crate::store::index::{Condition, Level};
use crate::store::nodes::DicomNode;
use crate::store::reports::{ChargeRecord, ReportRecord};
use crate::store::ris::{Procedure, Room};
use crate::viewing::hanging::HangingProtocol;
use chrono::NaiveDateTime;

/// Calls a workstation may make before anyone signs in there (the sign-in screen's title).
const BEFORE_SIGN_IN: &[&str] = &["name", "is_demo"];

fn reply<T: Serialize, E: ToWire>(result: Result<T, E>) -> Result<Value, WireError> {
    match result {
        Ok(v) => plain(v),
        Err(e) => Err(e.to_wire()),
    }
}

fn plain<T: Serialize>(value: T) -> Result<Value, WireError> {
    serde_json::to_value(value).map_err(|e| WireError::Failed {
        message: format!("the answer could not be written: {e}"),
    })
}

/// Each call: its name, its arguments (as the workstation sent them, a JSON array) and what
/// the server runs.
macro_rules! calls {
    (
        $p:ident, $actor:ident, $method:ident, $args:ident;
        $( $name:literal ( $($a:ident : $t:ty),* $(,)? ) => $call:expr, )*
    ) => {
        match $method {
            $( $name => {
                #[allow(unused_parens)]
                let ($($a,)*): ($($t,)*) =
                    serde_json::from_value($args).map_err(|e| WireError::Invalid {
                        message: format!("the arguments of {} could not be read: {e}", $name),
                    })?;
                $call
            } )*
            other => Err(WireError::NotFound { what: format!("the call {other:?}") }),
        }
    };
}

impl Practice {
    /// Answers one call a workstation sent: `actor` is the user of the request's session
    /// (`None` without one, which only the sign-in screen's calls accept); `archiver` is the
    /// server's ingest, for the calls that archive objects the server makes (saved marks).
    pub fn answer_remote_call(
        &mut self,
        actor: Option<&crate::access::Actor>,
        method: &str,
        args: Value,
        archiver: Option<&dyn crate::archive::received::ObjectArchiver>,
    ) -> Result<Value, WireError> {
        let p = self;
        let actor = match actor {
            Some(a) => a,
            None if BEFORE_SIGN_IN.contains(&method) => {
                return match method {
                    "name" => plain(p.name()),
                    _ => plain(p.is_demo()),
                };
            }
            None => return Err(WireError::BadCredentials),
        };
        calls!(p, actor, method, args;
        "change_setting" (key: String, value: String)
            => reply(p.change_setting(actor, &key, &value)),
        "rooms" (modality: Option<String>) => reply(p.rooms(modality.as_deref())),
        "add_room" (room: Room) => reply(p.add_room(actor, &room)),
        "change_room" (room: Room) => reply(p.change_room(actor, &room)),
        "retire_room" (room: i64) => reply(p.retire_room(actor, room)),
        "procedures" () => reply(p.procedures()),
        "procedure" (code: String) => reply(p.procedure(&code)),
        "catalogue_modalities" () => reply(p.catalogue_modalities()),
        "save_procedure" (procedure: Procedure) => reply(p.save_procedure(actor, &procedure)),
        "report_templates" () => reply(p.report_templates()),
        "save_template" (template: ReportTemplate) => reply(p.save_template(actor, &template)),
        "nodes" () => reply(p.nodes()),
        "node" (name: String) => reply(p.node(&name)),
        "save_node" (node: DicomNode) => reply(p.save_node(actor, &node)),
        "remove_node" (name: String) => reply(p.remove_node(actor, &name)),
        "hl7_sources" () => reply(p.hl7_sources()),
        "save_hl7_source" (source: Hl7Source) => reply(p.save_hl7_source(actor, &source)),
        "remove_hl7_source" (name: String) => reply(p.remove_hl7_source(actor, &name)),
        "destinations" () => reply(p.destinations()),
        "add_destination" (destination: Destination)
            => reply(p.add_destination(actor, &destination)),
        "users" () => reply(p.users(actor)),
        "create_user" (login: String, full_name: String, role: Role, password: String)
            => reply(p.create_user(actor, &login, &full_name, role, &password)),
        "change_user" (login: String, role: Role, active: bool)
            => reply(p.change_user(actor, &login, role, active)),
        "reset_password" (login: String, password: String)
            => reply(p.reset_password(actor, &login, &password)),
        "search_audit" (filter: AuditFilter) => reply(p.search_audit(actor, &filter)),
        "overlay_fields" () => plain(p.overlay_fields()),
        "charges" (status: Option<String>) => reply(p.charges(actor, status.as_deref())),
        "correct_diagnoses" (charge: i64, icd10: Vec<String>)
            => reply(p.correct_diagnoses(actor, charge, &icd10)),
        "review_charge" (charge: i64, modifiers: Option<String>)
            => reply(p.review_charge(actor, charge, modifiers.as_deref())),
        "mark_billed" (charge: i64) => reply(p.mark_billed(actor, charge)),
        "charges_csv" (charges: Vec<ChargeRecord>) => reply(p.charges_csv(actor, &charges)),
        "find_studies" (level: Level, conditions: Vec<Condition>, limit: usize)
            => reply(p.find_studies(actor, level, &conditions, limit)),
        "authorise_exchange" (action: String, subject: String, detail: String)
            => reply(p.authorise_exchange(actor, &action, &subject, &detail)),
        "check_archive" () => reply(p.check_archive(actor)),
        "open_study" (study_uid: String) => reply(p.open_study(actor, &study_uid)),
        "study_images" (study_uid: String) => reply(p.study_images(&study_uid)),
        "key_images" (study_uid: String) => reply(p.key_images(&study_uid)),
        "set_key_image" (study_uid: String, sop_instance_uid: String, frame: u32, key: bool)
            => reply(p.set_key_image(actor, &study_uid, &sop_instance_uid, frame, key)),
        "export_marks" (study_uid: String, now: NaiveDateTime, window: Option<crate::imaging::Window>)
            => reply(p.export_marks(archiver, actor, &study_uid, now, window)),
        "annotations" (study_uid: String) => reply(p.annotations(&study_uid)),
        "annotate" (
            study_uid: String,
            sop_instance_uid: String,
            frame: u32,
            shape: crate::imaging::measure::Shape,
            calibration: crate::imaging::measure::Calibration,
        )
            => reply(p.annotate(actor, &study_uid, &sop_instance_uid, frame, &shape, calibration)),
        "remove_annotation" (study_uid: String, id: i64)
            => reply(p.remove_annotation(actor, &study_uid, id)),
        "hanging_protocols" () => reply(p.hanging_protocols()),
        "save_protocol" (protocol: HangingProtocol) => reply(p.save_protocol(actor, &protocol)),
        "window_presets" (modality: String) => plain(p.window_presets(&modality)),
        "viewer_memory_mib" () => plain(p.viewer_memory_mib()),
        "inbound_log" (limit: usize) => reply(p.inbound_log(actor, limit)),
        "delivery_trouble" () => reply(p.delivery_trouble()),
        "outbound_queues" (sent: usize) => reply(p.outbound_queues(actor, sent)),
        "outbound_messages" (all: bool) => reply(p.outbound_messages(actor, all)),
        "import_hl7_batch" (bytes: Vec<u8>, now: chrono::NaiveDateTime)
            => reply(p.import_hl7_batch(actor, &bytes, now)),
        "resend" (message: i64) => reply(p.resend(actor, message)),
        "cancel_outbound" (message: i64) => reply(p.cancel_outbound(actor, message)),
        "open_reconciliation" () => reply(p.open_reconciliation(actor)),
        "link_to_order" (item: i64, accession: String)
            => reply(p.link_to_order(actor, item, &accession)),
        "split_series" (item: i64, series: Vec<String>, accession: String)
            => reply(p.split_series(actor, item, &series, &accession)),
        "low_disk_space" () => plain(p.low_disk_space()),
        "setting" (key: String) => reply(p.setting(&key)),
        "start_workstation_pairing" (name: String, ca_fingerprint: Vec<u8>)
            => reply(p.start_workstation_pairing(actor, &name, &ca_fingerprint)),
        "workstations" () => reply(p.workstations(actor)),
        "revoke_workstation" (id: i64) => reply(p.revoke_workstation(actor, id)),
        "preference" (key: String) => plain(p.preference(actor, &key)),
        "set_preference" (key: String, value: String)
            => reply(p.set_preference(actor, &key, &value)),
        "setting_or" (key: String, default: u64) => plain(p.setting_or(&key, default)),
        "name" () => plain(p.name()),
        "is_demo" () => plain(p.is_demo()),
        "letterhead" () => plain(p.letterhead()),
        "service_health" () => reply(p.service_health()),
        "changes_after" (cursor: i64, limit: usize) => reply(p.changes_after(cursor, limit)),
        "changes_head" () => plain(p.changes_head()),
        "place_order" (request: OrderRequest, now: NaiveDateTime)
            => reply(p.place_order(actor, &request, now)),
        "change_status" (accession: String, to: ExamStatus, note: String)
            => reply(p.change_status(actor, &accession, to, &note)),
        "orders_with_status" (status: ExamStatus) => reply(p.orders_with_status(actor, status)),
        "recent_orders" (limit: usize) => reply(p.recent_orders(actor, limit)),
        "order" (accession: String) => reply(p.order(actor, &accession)),
        "accession_of_study" (study_uid: String) => plain(p.accession_of_study(actor, &study_uid)),
        "insurance_for_order" (patient: i64) => reply(p.insurance_for_order(actor, patient)),
        "day_exams" (date: String) => reply(p.day_exams(actor, &date)),
        "steps_on" (date: String, room: Option<i64>) => reply(p.steps_on(actor, &date, room)),
        "scanner_worklist" (date: String) => reply(p.scanner_worklist(actor, &date)),
        "to_be_scheduled" () => reply(p.to_be_scheduled(actor)),
        "find_slot" (modality: String, duration_minutes: u32, after: NaiveDateTime, days: u32)
            => reply(p.find_slot(&modality, duration_minutes, after, days)),
        "book" (accession: String, room: i64, start: NaiveDateTime, note: String)
            => reply(p.book(actor, &accession, room, start, &note)),
        "book_seen" (
            accession: String,
            room: i64,
            start: NaiveDateTime,
            note: String,
            seen_version: i64,
        )
            => reply(p.book_seen(actor, &accession, room, start, &note, seen_version)),
        "exam_version" (accession: String) => reply(p.exam_version(actor, &accession)),
        "no_show" (accession: String) => reply(p.no_show(actor, &accession)),
        "exam_json" (accession: String) => reply(p.exam_json(actor, &accession)),
        "search_patients" (text: String, limit: usize)
            => reply(p.search_patients(actor, &text, limit)),
        "patient_chart" (patient: i64, occasion: ReadOccasion)
            => reply(p.patient_chart(actor, patient, occasion)),
        "patient_by_mrn" (mrn: String) => reply(p.patient_by_mrn(actor, &mrn)),
        "register_patient" (registration: Registration)
            => reply(p.register_patient(actor, &registration)),
        "update_patient" (patient: PatientRecord) => reply(p.update_patient(actor, &patient)),
        "add_insurance" (policy: InsurancePolicy) => reply(p.add_insurance(actor, &policy)),
        "record_eligibility" (policy: i64, eligible: bool)
            => reply(p.record_eligibility(actor, policy, eligible)),
        "record_authorisation" (policy: i64, number: String, valid_from: String, valid_to: String)
            => reply(p.record_authorisation(actor, policy, &number, &valid_from, &valid_to)),
        "merge_preview" (kept: i64, duplicate: String)
            => reply(p.merge_preview(actor, kept, &duplicate)),
        "merge_patients" (kept: i64, merged: i64) => reply(p.merge_patients(actor, kept, merged)),
        "unmerge_patients" (merge_id: i64) => reply(p.unmerge_patients(actor, merge_id)),
        "add_referring" (physician: ReferringPhysician)
            => reply(p.add_referring(actor, &physician)),
        "reading_worklist" (filter: ReadingFilter, occasion: ReadOccasion)
            => reply(p.reading_worklist(actor, &filter, occasion)),
        "radiologists" () => plain(p.radiologists()),
        "assign" (accession: String, radiologist: String)
            => reply(p.assign(actor, &accession, &radiologist)),
        "exam_subjects" (accessions: Vec<String>) => reply(p.exam_subjects(actor, &accessions)),
        "record_critical_communication" (report_id: i64, told_to: String, method: String)
            => reply(p.record_critical_communication(actor, report_id, &told_to, &method)),
        "critical_communications" (report_id: i64) => plain(p.critical_communications(report_id)),
        "signature" (report: ReportRecord) => plain(p.signature(&report)),
        "open_report" (accession: String) => reply(p.open_report(actor, &accession)),
        "save_report" (report: i64, body: String, critical: bool)
            => reply(p.save_report(actor, report, &body, critical)),
        "sign_report" (report: i64, to: ExamStatus) => reply(p.sign_report(actor, report, to)),
        "add_addendum" (accession: String, body: String)
            => reply(p.add_addendum(actor, &accession, &body)),
        "printed_report" (accession: String) => reply(p.printed_report(actor, &accession)),
        "append_to_draft" (study_uid: String, text: String)
            => reply(p.append_to_draft(actor, &study_uid, &text)),
        "priors" (accession: String) => reply(p.priors(actor, &accession)),
        )
    }
}
