//! Reports: started from the procedure's template, saved as drafts, signed preliminary then
//! final (signer and time recorded); after the final, only addenda — the signed original is
//! never changed, and every saved state of every report is kept as a version.

use super::{ExamStatus, RisError};
use crate::access::{self, Action, Actor};
use crate::store::Store;
use crate::store::reports::ReportRecord;

/// Default templates loaded into a fresh store: (modality, name, body).
const STARTER_TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "",
        "General",
        "CLINICAL INDICATION:\n\nTECHNIQUE:\n\nCOMPARISON:\n\nFINDINGS:\n\nIMPRESSION:\n",
    ),
    (
        "CT",
        "CT",
        "CLINICAL INDICATION:\n\nTECHNIQUE: CT\nContrast:\n\nCOMPARISON:\n\nFINDINGS:\n\nIMPRESSION:\n",
    ),
    (
        "MR",
        "MR",
        "CLINICAL INDICATION:\n\nTECHNIQUE: MR, sequences:\n\nCOMPARISON:\n\nFINDINGS:\n\nIMPRESSION:\n",
    ),
    (
        "DX",
        "Radiograph",
        "CLINICAL INDICATION:\n\nVIEWS:\n\nCOMPARISON:\n\nFINDINGS:\n\nIMPRESSION:\n",
    ),
    (
        "US",
        "Ultrasound",
        "CLINICAL INDICATION:\n\nTECHNIQUE: Real-time ultrasound\n\nFINDINGS:\n\nIMPRESSION:\n",
    ),
    (
        "MG",
        "Mammography",
        "CLINICAL INDICATION:\n\nBREAST COMPOSITION:\n\nFINDINGS:\n\nIMPRESSION:\nBI-RADS:\n",
    ),
];

/// Loads the starter templates where none exist for their modality and name.
pub fn seed_templates(store: &Store) -> Result<(), RisError> {
    for (modality, name, body) in STARTER_TEMPLATES {
        store.add_report_template_if_missing(modality, name, body)?;
    }
    Ok(())
}

/// Starts the report of a completed exam from its modality's template; returns its id.
pub fn start(store: &mut Store, actor: &Actor, accession: &str) -> Result<i64, RisError> {
    let subject = format!("order:{accession}");
    access::authorise(store, actor, Action::Report, &subject)?;
    let order = super::order_named(store, accession)?;
    if order.status != ExamStatus::Completed.code() {
        return Err(RisError::Invalid(format!(
            "{accession} is {}: a report starts on a completed exam",
            order.status
        )));
    }
    if store
        .reports_of_order(order.id)?
        .iter()
        .any(|r| r.kind == "report")
    {
        return Err(RisError::Invalid(format!(
            "{accession} already has a report"
        )));
    }
    let modality = store
        .procedure(&order.procedure_code)?
        .map(|p| p.modality)
        .unwrap_or_default();
    let template = store.report_template(&modality)?.unwrap_or_default();
    let procedure_name = store
        .procedure(&order.procedure_code)?
        .map(|p| p.name)
        .unwrap_or_default();
    let comparison = super::reading::priors(store, actor, accession)
        .map(|priors| {
            priors
                .iter()
                .take(3)
                .map(|p| {
                    let date = match (
                        p.study_date.get(..4),
                        p.study_date.get(4..6),
                        p.study_date.get(6..8),
                    ) {
                        (Some(y), Some(m), Some(d)) => format!("{y}-{m}-{d}"),
                        _ => p.study_date.clone(),
                    };
                    format!("{date} {} {}", p.modalities, p.description)
                        .trim()
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    let indication = match (order.reason.trim(), order.icd10.trim()) {
        ("", "") => String::new(),
        (reason, "") => reason.to_string(),
        ("", code) => code.to_string(),
        (reason, code) => format!("{reason} ({code})"),
    };
    let body = prefilled(&template, &indication, &procedure_name, &comparison);
    let id = store.insert_report(order.id, "report", &body, &actor.login)?;
    access::audit(store, actor, "report.start", &subject, "ok", "")?;
    Ok(id)
}

/// A template with what the order and the archive already say filled in: the clinical
/// indication (the order's reason and ICD-10 code), the technique (the procedure's name, where
/// the template leaves it open) and the comparison (the relevant priors, or "None."). Sections
/// the template does not have are not added.
pub fn prefilled(template: &str, indication: &str, technique: &str, comparison: &str) -> String {
    let comparison = if comparison.trim().is_empty() {
        "None."
    } else {
        comparison
    };
    template
        .lines()
        .map(|line| {
            let fill = match line.trim_end() {
                "CLINICAL INDICATION:" => indication,
                "TECHNIQUE:" => technique,
                "COMPARISON:" => comparison,
                _ => "",
            };
            if fill.trim().is_empty() {
                line.to_string()
            } else {
                format!("{} {}", line.trim_end(), fill.trim())
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if template.ends_with('\n') { "\n" } else { "" }
}

/// The template sections of a report left empty ("FINDINGS:" with nothing under it), by
/// heading: warned about before signing. A heading is a line in capitals ending in a colon,
/// optionally with text after it on the same line.
pub fn empty_sections(body: &str) -> Vec<String> {
    let heading_of = |line: &str| -> Option<(String, String)> {
        let (head, rest) = line.split_once(':')?;
        let head = head.trim();
        let is_heading = !head.is_empty()
            && head.chars().any(|c| c.is_alphabetic())
            && head
                .chars()
                .all(|c| c.is_uppercase() || c.is_ascii_digit() || " -/()".contains(c));
        is_heading.then(|| (head.to_string(), rest.trim().to_string()))
    };
    let mut empty = Vec::new();
    let mut current: Option<(String, bool)> = None;
    for line in body.lines() {
        if let Some((head, rest)) = heading_of(line) {
            if let Some((previous, false)) = current.take() {
                empty.push(previous);
            }
            current = Some((head, !rest.is_empty()));
        } else if let Some((_, filled)) = current.as_mut() {
            *filled |= !line.trim().is_empty();
        }
    }
    if let Some((previous, false)) = current {
        empty.push(previous);
    }
    empty
}

/// How a signature reads on screen and on paper: the signer's full name as the practice set it
/// up (with their credentials if written there), their login, and the local time with its
/// offset from UTC.
pub fn signature(store: &Store, login: &str, signed_at_utc: &str) -> String {
    let name = store
        .user(login)
        .ok()
        .flatten()
        .map(|u| u.full_name)
        .filter(|n| !n.trim().is_empty());
    let who = match name {
        Some(full) => format!("{full} ({login})"),
        None => login.to_string(),
    };
    let when = chrono::DateTime::parse_from_rfc3339(signed_at_utc)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M (UTC%:z)")
                .to_string()
        })
        .unwrap_or_else(|_| signed_at_utc.to_string());
    format!("{who} on {when}")
}

/// How a critical result may be told.
pub const CRITICAL_METHODS: [&str; 4] = ["phone", "in person", "secure message", "fax"];

/// Records that the critical result of a report was told to `told_to` by `method` (now, by the
/// actor): who was told, how and when, kept with the report and printed with it. Only for a
/// report marked critical.
pub fn record_critical_communication(
    store: &Store,
    actor: &Actor,
    report_id: i64,
    told_to: &str,
    method: &str,
) -> Result<(), RisError> {
    let subject = format!("report:{report_id}");
    access::authorise(store, actor, Action::Report, &subject)?;
    let report = store.report(report_id)?;
    if !report.critical {
        return Err(RisError::Invalid(
            "only a report marked critical records who was told".into(),
        ));
    }
    let told_to = told_to.trim();
    if told_to.is_empty() {
        return Err(RisError::Invalid("say who was told".into()));
    }
    if !CRITICAL_METHODS.contains(&method) {
        return Err(RisError::Invalid(format!(
            "{method:?} is not one of {}",
            CRITICAL_METHODS.join(", ")
        )));
    }
    store.insert_critical_communication(report_id, told_to, method, &actor.login)?;
    access::audit(store, actor, "report.critical_told", &subject, "ok", method)?;
    Ok(())
}

/// "Told Dr Linda Hart by phone on 2026-12-06 14:32 (UTC+01:00), by Dr. Ana Reed, MD (drreed)".
pub fn critical_communication_text(
    store: &Store,
    c: &crate::store::reports::CriticalCommunication,
) -> String {
    let by = signature(store, &c.recorded_by, &c.told_at);
    // The signature says "name (login) on time"; here the time leads.
    match by.split_once(" on ") {
        Some((who, when)) => format!("Told {} by {} on {when}, by {who}", c.told_to, c.method),
        None => format!("Told {} by {}, by {by}", c.told_to, c.method),
    }
}

fn editable(report: &ReportRecord) -> Result<(), RisError> {
    if report.status == "final" {
        return Err(RisError::Invalid(
            "a signed final report cannot change; add an addendum".into(),
        ));
    }
    Ok(())
}

/// Saves a draft's text and critical flag (a new version).
pub fn save(
    store: &mut Store,
    actor: &Actor,
    report_id: i64,
    body: &str,
    critical: bool,
) -> Result<(), RisError> {
    let mut report = store.report(report_id)?;
    let subject = format!("report:{report_id}");
    access::authorise(store, actor, Action::Report, &subject)?;
    editable(&report)?;
    report.body = body.to_string();
    report.critical = critical;
    store.save_report(&report, &actor.login)?;
    access::audit(
        store,
        actor,
        "report.save",
        &subject,
        "ok",
        if critical { "critical" } else { "" },
    )?;
    Ok(())
}

/// Signs a report as preliminary or final; the exam follows (and an addendum makes it amended).
pub fn sign(
    store: &mut Store,
    actor: &Actor,
    report_id: i64,
    status: ExamStatus,
) -> Result<(), RisError> {
    let mut report = store.report(report_id)?;
    let subject = format!("report:{report_id}");
    access::authorise(store, actor, Action::Report, &subject)?;
    editable(&report)?;
    let order = store
        .order_by_id(report.order_id)?
        .ok_or_else(|| RisError::NotFound(format!("order {}", report.order_id)))?;
    let (report_status, exam_status) = match (report.kind.as_str(), status) {
        ("report", ExamStatus::Preliminary) => ("preliminary", ExamStatus::Preliminary),
        ("report", ExamStatus::Final) => ("final", ExamStatus::Final),
        ("addendum", ExamStatus::Final | ExamStatus::Amended) => ("final", ExamStatus::Amended),
        (kind, other) => {
            return Err(RisError::Invalid(format!(
                "a {kind} cannot be signed as {other}"
            )));
        }
    };
    if report.body.trim().is_empty() {
        return Err(RisError::Invalid("an empty report cannot be signed".into()));
    }
    // The exam moves first: an illegal move leaves the report unsigned.
    super::change_status(
        store,
        actor,
        &order.accession,
        exam_status,
        &format!("{report_status} report signed by {}", actor.login),
    )?;
    report.status = report_status.into();
    report.signer = actor.login.clone();
    report.signed_at = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    store.save_report(&report, &actor.login)?;
    access::audit(store, actor, "report.sign", &subject, "ok", report_status)?;
    crate::changes::record(
        store,
        actor,
        &crate::changes::Change::ReportSigned {
            accession: order.accession,
        },
    )?;
    Ok(())
}

/// Starts an addendum to a signed (final) report; returns its id.
pub fn add_addendum(
    store: &mut Store,
    actor: &Actor,
    accession: &str,
    body: &str,
) -> Result<i64, RisError> {
    let subject = format!("order:{accession}");
    access::authorise(store, actor, Action::Report, &subject)?;
    let order = super::order_named(store, accession)?;
    if !matches!(order.status.as_str(), "final" | "amended") {
        return Err(RisError::Invalid(format!(
            "{accession} is {}: an addendum follows a final report",
            order.status
        )));
    }
    let id = store.insert_report(order.id, "addendum", body, &actor.login)?;
    access::audit(store, actor, "report.addendum", &subject, "ok", "")?;
    Ok(id)
}

/// The status a dictation or speech-recognition system gives its report (ORU OBR-25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DictatedStatus {
    /// P: preliminary.
    Preliminary,
    /// F: final.
    Final,
    /// C: a correction of a final report (becomes a signed addendum).
    Corrected,
}

/// Files a report written in a dictation system through the same rules as one written here:
/// the exam is carried to "ready to read" if the images are not in yet, the report is started,
/// saved and signed preliminary or final; a correction of a final report becomes an addendum.
/// The signer is the actor (the interface acting for the radiologist it names).
pub fn file_dictated(
    store: &mut Store,
    actor: &Actor,
    accession: &str,
    body: &str,
    status: DictatedStatus,
) -> Result<(), RisError> {
    let order = super::order_named(store, accession)?;
    let exam = super::status_of(&order)?;
    if matches!(
        exam,
        ExamStatus::NeedsReview | ExamStatus::Cancelled | ExamStatus::Discontinued
    ) {
        return Err(RisError::Invalid(format!(
            "{accession} is {exam}: a report cannot be filed on it"
        )));
    }
    access::authorise(store, actor, Action::Report, &format!("order:{accession}"))?;
    super::advance_to_ready(store, actor, &order, "report received from dictation")?;
    let report = store
        .reports_of_order(order.id)?
        .into_iter()
        .find(|r| r.kind == "report");
    let report = match report {
        Some(r) => r,
        None => {
            let id = start(store, actor, accession)?;
            store.report(id)?
        }
    };
    match (status, report.status.as_str()) {
        (DictatedStatus::Corrected, "final") | (DictatedStatus::Final, "final") => {
            let addendum = add_addendum(store, actor, accession, body)?;
            sign(store, actor, addendum, ExamStatus::Amended)
        }
        (DictatedStatus::Preliminary, "final") => Err(RisError::Invalid(format!(
            "{accession} already has a final report; a preliminary cannot replace it"
        ))),
        (DictatedStatus::Preliminary, "preliminary") => save(store, actor, report.id, body, false),
        (DictatedStatus::Preliminary, _) => {
            save(store, actor, report.id, body, false)?;
            sign(store, actor, report.id, ExamStatus::Preliminary)
        }
        (DictatedStatus::Final | DictatedStatus::Corrected, _) => {
            save(store, actor, report.id, body, false)?;
            sign(store, actor, report.id, ExamStatus::Final)
        }
    }
}

/// The exam's report (with its addenda) as a printable document under the practice's
/// letterhead. An unsigned report prints marked as a draft. Printing is audited: the sheet
/// carries the patient's name and birth date.
pub fn printed_report(
    store: &Store,
    actor: &Actor,
    accession: &str,
) -> Result<crate::documents::PrintedDocument, RisError> {
    let subject = format!("order:{accession}");
    access::authorise(store, actor, Action::ReadPatient, &subject)?;
    let order = super::order_named(store, accession)?;
    let patient = match order.patient {
        Some(id) => Some(store.patient(id)?),
        None => None,
    };
    let procedure = store.procedure(&order.procedure_code)?;
    let step = store.step_of_order(order.id)?;
    let referring = match order.referring {
        Some(id) => store
            .referring(id)
            .ok()
            .map(|r| format!("{}, {}", r.family_name, r.given_name)),
        None => None,
    };
    let reports = store.reports_of_order(order.id)?;
    let main = reports.iter().find(|r| r.kind == "report");
    let signed = main.is_some_and(|r| r.status == "preliminary" || r.status == "final");
    let mut facts = vec![
        (
            "Patient".to_string(),
            patient
                .as_ref()
                .map(|p| format!("{}, {}", p.family_name, p.given_name))
                .unwrap_or_default(),
        ),
        (
            "MRN".into(),
            patient.as_ref().map(|p| p.mrn.clone()).unwrap_or_default(),
        ),
        (
            "Born".into(),
            patient
                .as_ref()
                .map(|p| p.birth_date.clone())
                .unwrap_or_default(),
        ),
        (
            "Exam".into(),
            procedure
                .map(|p| format!("{} ({})", p.name, p.code))
                .unwrap_or_else(|| order.procedure_code.clone()),
        ),
        ("Accession".into(), accession.to_string()),
        (
            "Exam date".into(),
            step.start_time.get(..10).unwrap_or_default().to_string(),
        ),
    ];
    if let Some(r) = referring {
        facts.push(("Referring physician".into(), r));
    }
    if !order.reason.is_empty() {
        facts.push(("Reason for exam".into(), order.reason.clone()));
    }
    let mut sections = Vec::new();
    let mut footer = String::new();
    if let Some(r) = main {
        if r.critical {
            sections.push((
                "CRITICAL RESULT".to_string(),
                "This report contains a critical finding.".to_string(),
            ));
        }
        sections.push(("Report".to_string(), r.body.clone()));
        let told = store.critical_communications(r.id)?;
        if !told.is_empty() {
            sections.push((
                "Critical result communicated".to_string(),
                told.iter()
                    .map(|c| critical_communication_text(store, c))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ));
        }
        footer = if signed {
            format!(
                "{} report signed by {}.",
                if r.status == "final" {
                    "Final"
                } else {
                    "Preliminary"
                },
                signature(store, &r.signer, &r.signed_at)
            )
        } else {
            "DRAFT: not signed; not for clinical use.".to_string()
        };
    }
    for a in reports
        .iter()
        .filter(|r| r.kind == "addendum" && r.status == "final")
    {
        sections.push((
            format!(
                "Addendum signed by {}",
                signature(store, &a.signer, &a.signed_at)
            ),
            a.body.clone(),
        ));
    }
    access::audit(store, actor, "report.print", &subject, "ok", "")?;
    Ok(crate::documents::PrintedDocument {
        letterhead: crate::documents::letterhead(store),
        title: if signed {
            "Radiology report".into()
        } else {
            "Radiology report (DRAFT)".into()
        },
        facts,
        sections,
        footer,
    })
}

/// Appends `text` (key images, measurements) to the exam's report still being written —
/// starting one from the template if there is none — and returns the accession. A signed
/// final report is not changed: that needs an addendum.
pub fn append_to_draft(
    store: &mut Store,
    actor: &Actor,
    study_uid: &str,
    text: &str,
) -> Result<String, RisError> {
    let order = store
        .order_by_study_uid(study_uid)?
        .ok_or_else(|| RisError::NotFound(format!("an exam for study {study_uid}")))?;
    let open = store
        .reports_of_order(order.id)?
        .into_iter()
        .rev()
        .find(|r| r.status == "draft" || (r.kind == "report" && r.status == "preliminary"));
    let report = match open {
        Some(r) => r,
        None => {
            if matches!(order.status.as_str(), "final" | "amended") {
                return Err(RisError::Invalid(format!(
                    "the report of {} is signed; add an addendum first",
                    order.accession
                )));
            }
            let id = start(store, actor, &order.accession)?;
            store.report(id)?
        }
    };
    let body = format!("{}\n{}", report.body.trim_end(), text.trim_end());
    save(store, actor, report.id, &body, report.critical)?;
    Ok(order.accession)
}

#[cfg(test)]
mod template_tests {
    use super::*;

    #[test]
    fn a_template_gets_the_indication_technique_and_comparison_filled_in() {
        let body = prefilled(
            "CLINICAL INDICATION:\n\nTECHNIQUE:\n\nCOMPARISON:\n\nFINDINGS:\n\nIMPRESSION:\n",
            "Kopfschmerz seit 3 Tagen (R51)",
            "CT head without contrast",
            "",
        );
        assert!(body.starts_with("CLINICAL INDICATION: Kopfschmerz seit 3 Tagen (R51)\n"));
        assert!(body.contains("TECHNIQUE: CT head without contrast\n"));
        assert!(body.contains("COMPARISON: None.\n"));
        assert!(body.ends_with("IMPRESSION:\n"));
        // A template whose technique is already written keeps it.
        let ct = prefilled("TECHNIQUE: CT\nContrast:\n", "", "CT head", "");
        assert_eq!(ct, "TECHNIQUE: CT\nContrast:\n");
    }

    #[test]
    fn empty_sections_are_found_by_heading() {
        let body = "CLINICAL INDICATION: Husten\n\nCOMPARISON: None.\n\nFINDINGS:\n\nIMPRESSION:\nNo acute disease.\nBI-RADS:\n";
        assert_eq!(empty_sections(body), ["FINDINGS", "BI-RADS"]);
        assert!(empty_sections("FINDINGS: normal\nIMPRESSION:\n正常。\n").is_empty());
        // Free text without headings has no sections to be empty.
        assert!(empty_sections("Normal chest radiograph.").is_empty());
    }
}
