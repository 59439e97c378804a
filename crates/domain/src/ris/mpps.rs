//! Modality Performed Procedure Step (PS3.4 F.7): the scanner says it started (N-CREATE, IN
//! PROGRESS), finished (N-SET, COMPLETED, with the series it made) or stopped (N-SET,
//! DISCONTINUED, with a reason). The exam status follows. A step that matches no order is
//! kept (order unknown) for reconciliation, never refused: the scanner has already scanned.

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::{ExamStatus, RisError};
use crate::access::{self, Actor};
use crate::pacs::attributes::text;
use crate::store::Store;
use crate::store::ris::PerformedStep;

pub use lightbox_codec::sop_classes::MPPS as MPPS_SOP_CLASS;

/// A refusal with the DIMSE status and comment the scanner gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{comment} (status {status:#06x})")]
pub struct MppsRefusal {
    /// DIMSE status.
    pub status: u16,
    /// Error Comment.
    pub comment: String,
    /// Error ID (0000,0903), when the standard names one.
    pub error_id: Option<u16>,
}

fn refuse(status: u16, comment: impl Into<String>) -> MppsRefusal {
    MppsRefusal {
        status,
        comment: comment.into(),
        error_id: None,
    }
}

/// Statuses of PS3.7 C used here.
mod dimse_status {
    pub const INVALID_ATTRIBUTE_VALUE: u16 = 0x0106;
    pub const PROCESSING_FAILURE: u16 = 0x0110;
    pub const DUPLICATE_SOP_INSTANCE: u16 = 0x0111;
    pub const NO_SUCH_OBJECT_INSTANCE: u16 = 0x0112;
    pub const MISSING_ATTRIBUTE_VALUE: u16 = 0x0121;
    /// Error ID: the performed step may no longer be updated.
    pub const MAY_NO_LONGER_BE_UPDATED: u16 = 0xA710;
}

/// Performed series from (0040,0340): UID and number of images.
fn performed_series(data: &InMemDicomObject) -> Vec<serde_json::Value> {
    data.get(tags::PERFORMED_SERIES_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let images = s
                .get(tags::REFERENCED_IMAGE_SEQUENCE)
                .and_then(|e| e.items())
                .map_or(0, |i| i.len());
            serde_json::json!({
                "series_uid": text(s, tags::SERIES_INSTANCE_UID),
                "images": images,
            })
        })
        .collect()
}

fn discontinuation_reason(data: &InMemDicomObject) -> String {
    data.get(tags::PERFORMED_PROCEDURE_STEP_DISCONTINUATION_REASON_CODE_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|i| i.first())
        .map(|c| {
            let meaning = text(c, tags::CODE_MEANING);
            if meaning.is_empty() {
                text(c, tags::CODE_VALUE)
            } else {
                meaning
            }
        })
        .unwrap_or_default()
}

/// Moves the exam along if its status allows; a scanner report that does not fit (exam
/// already completed, cancelled) is logged and audited, not refused.
fn follow(
    store: &mut Store,
    actor: &Actor,
    order_id: i64,
    to: ExamStatus,
    note: &str,
) -> Result<(), RisError> {
    let Some(order) = store.order_by_id(order_id)? else {
        return Ok(());
    };
    let from = ExamStatus::from_code(&order.status).unwrap_or(ExamStatus::Ordered);
    // A scanner may skip "arrived": starting implies it.
    if from == to {
        return Ok(());
    }
    match from.check_transition(to) {
        Ok(()) => {
            super::record_status(store, actor, order_id, to, note)?;
            access::audit(
                store,
                actor,
                "exam.status",
                &format!("order:{}", order.accession),
                "ok",
                &format!("{from} -> {to} by MPPS"),
            )?;
        }
        Err(e) => {
            tracing::warn!(accession = %order.accession, error = %e, "MPPS status does not fit the exam; recorded, exam unchanged");
            access::audit(
                store,
                actor,
                "exam.status",
                &format!("order:{}", order.accession),
                "refused",
                &e.to_string(),
            )?;
        }
    }
    Ok(())
}

/// N-CREATE: a step started on a scanner.
pub fn create(
    store: &mut Store,
    actor: &Actor,
    sop_instance_uid: &str,
    station_ae: &str,
    data: &InMemDicomObject,
) -> Result<(), MppsRefusal> {
    let internal = |e: RisError| refuse(dimse_status::PROCESSING_FAILURE, e.to_string());
    let status = text(data, tags::PERFORMED_PROCEDURE_STEP_STATUS);
    if status.is_empty() {
        return Err(refuse(
            dimse_status::MISSING_ATTRIBUTE_VALUE,
            "Performed Procedure Step Status is required",
        ));
    }
    if status != "IN PROGRESS" {
        return Err(refuse(
            dimse_status::INVALID_ATTRIBUTE_VALUE,
            format!("N-CREATE needs status IN PROGRESS, not {status}"),
        ));
    }
    let scheduled = data
        .get(tags::SCHEDULED_STEP_ATTRIBUTES_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|i| i.first());
    let study_uid = scheduled
        .map(|s| text(s, tags::STUDY_INSTANCE_UID))
        .unwrap_or_default();
    let accession = scheduled
        .map(|s| text(s, tags::ACCESSION_NUMBER))
        .unwrap_or_default();
    let order = if !study_uid.is_empty() {
        store
            .order_by_study_uid(&study_uid)
            .map_err(|e| internal(e.into()))?
    } else {
        None
    };
    let order = match order {
        Some(o) => Some(o),
        None if !accession.is_empty() => store
            .order_by_accession(&accession)
            .map_err(|e| internal(e.into()))?,
        None => None,
    };
    let step = PerformedStep {
        sop_instance_uid: sop_instance_uid.to_string(),
        order_id: order.as_ref().map(|o| o.id),
        status,
        station_ae: station_ae.to_string(),
        study_uid,
        performed_series: serde_json::Value::Array(performed_series(data)).to_string(),
        discontinue_reason: String::new(),
    };
    if !store
        .insert_performed_step(&step)
        .map_err(|e| internal(e.into()))?
    {
        return Err(refuse(
            dimse_status::DUPLICATE_SOP_INSTANCE,
            format!("performed step {sop_instance_uid} already exists"),
        ));
    }
    match &order {
        Some(o) => follow(
            store,
            actor,
            o.id,
            ExamStatus::InProgress,
            "scanner started (MPPS)",
        )
        .map_err(internal)?,
        None => {
            tracing::warn!(
                uid = sop_instance_uid,
                station = station_ae,
                "MPPS matches no order; kept for reconciliation"
            );
            access::audit(
                store,
                actor,
                "mpps.unmatched",
                &format!("mpps:{sop_instance_uid}"),
                "ok",
                "",
            )
            .map_err(|e| internal(e.into()))?;
        }
    }
    Ok(())
}

/// N-SET: the step changed (completed, discontinued, or more attributes while in progress).
pub fn set(
    store: &mut Store,
    actor: &Actor,
    sop_instance_uid: &str,
    data: &InMemDicomObject,
) -> Result<(), MppsRefusal> {
    let internal = |e: RisError| refuse(dimse_status::PROCESSING_FAILURE, e.to_string());
    let Some(mut step) = store
        .performed_step(sop_instance_uid)
        .map_err(|e| internal(e.into()))?
    else {
        return Err(refuse(
            dimse_status::NO_SUCH_OBJECT_INSTANCE,
            format!("no performed step {sop_instance_uid}"),
        ));
    };
    if step.status != "IN PROGRESS" {
        return Err(MppsRefusal {
            status: dimse_status::PROCESSING_FAILURE,
            comment: format!(
                "performed step is {} and may no longer be updated",
                step.status
            ),
            error_id: Some(dimse_status::MAY_NO_LONGER_BE_UPDATED),
        });
    }
    let status = text(data, tags::PERFORMED_PROCEDURE_STEP_STATUS);
    let new_status = if status.is_empty() {
        step.status.clone()
    } else {
        status
    };
    if !matches!(
        new_status.as_str(),
        "IN PROGRESS" | "COMPLETED" | "DISCONTINUED"
    ) {
        return Err(refuse(
            dimse_status::INVALID_ATTRIBUTE_VALUE,
            format!("unknown Performed Procedure Step Status {new_status}"),
        ));
    }
    let series = performed_series(data);
    if !series.is_empty() {
        step.performed_series = serde_json::Value::Array(series).to_string();
    }
    if new_status == "DISCONTINUED" {
        step.discontinue_reason = discontinuation_reason(data);
    }
    step.status = new_status.clone();
    store
        .update_performed_step(&step)
        .map_err(|e| internal(e.into()))?;
    if let Some(order_id) = step.order_id {
        match new_status.as_str() {
            "COMPLETED" => follow(
                store,
                actor,
                order_id,
                ExamStatus::Completed,
                "scanner completed (MPPS)",
            )
            .map_err(internal)?,
            "DISCONTINUED" => {
                let note = format!("scanner discontinued (MPPS): {}", step.discontinue_reason);
                follow(store, actor, order_id, ExamStatus::Discontinued, &note).map_err(internal)?
            }
            _ => {}
        }
    }
    Ok(())
}
