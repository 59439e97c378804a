//! The schedule over the API: rooms, a day's exams, the orders waiting for a slot, one exam,
//! and booking with optimistic concurrency.
//!
//! - `GET /api/v1/rooms` → the rooms with their modality, station AE and opening hours.
//! - `GET /api/v1/schedule?date=YYYY-MM-DD` → the day's exams (patient, procedure, room,
//!   start, status, images archived).
//! - `GET /api/v1/orders/to-be-scheduled` → orders waiting for an appointment.
//! - `GET /api/v1/exams/{accession}` → the exam (audited as a read) with its `version`, also
//!   sent as the `ETag`.
//! - `PUT /api/v1/exams/{accession}/booking` `{room, start: "YYYY-MM-DDTHH:MM", note}` with
//!   `If-Match: "<version>"` (the version the desk showed) → 200 `{accession, version}`;
//!   409 when the slot is taken or the room closed (the message names the booking in the way);
//!   412 when the exam changed since it was shown (its current version in the body).
//!   Without `If-Match` the booking is made if the slot is free, whatever changed before.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ApiState, actor_of, with_practice, with_practice_mut};
use crate::ris::RisError;

impl From<RisError> for ApiError {
    fn from(e: RisError) -> ApiError {
        match e {
            RisError::Access(a) => ApiError::from(a),
            RisError::NotFound(_) => ApiError(StatusCode::NOT_FOUND, e.to_string()),
            RisError::Conflict(_) | RisError::Illegal(_) => {
                ApiError(StatusCode::CONFLICT, e.to_string())
            }
            RisError::Stale { .. } => ApiError(StatusCode::PRECONDITION_FAILED, e.to_string()),
            RisError::Invalid(_) => ApiError(StatusCode::BAD_REQUEST, e.to_string()),
            RisError::Store(store) => {
                tracing::error!(error = %store, "a schedule request failed");
                ApiError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server could not do this; see its log".into(),
                )
            }
        }
    }
}

/// `GET /api/v1/rooms`.
pub(super) async fn rooms(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let rooms = with_practice(&state, move |p| {
        actor_of(p, &headers)?;
        p.rooms(None).map_err(|e| {
            tracing::error!(error = %e, "rooms could not be read");
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the rooms could not be read".into(),
            )
        })
    })
    .await?;
    Ok(Json(rooms).into_response())
}

#[derive(Deserialize)]
pub(super) struct Day {
    date: String,
}

/// `GET /api/v1/schedule?date=`.
pub(super) async fn schedule(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(day): Query<Day>,
) -> Result<Response, ApiError> {
    if chrono::NaiveDate::parse_from_str(&day.date, "%Y-%m-%d").is_err() {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("date must be YYYY-MM-DD, not {:?}", day.date),
        ));
    }
    let rows = with_practice(&state, move |p| {
        let actor = actor_of(p, &headers)?;
        Ok(p.day_exams(&actor, &day.date)?)
    })
    .await?;
    let exams: Vec<_> = rows
        .into_iter()
        .map(|(row, images)| {
            json!({
                "accession": row.order.accession,
                "status": row.order.status,
                "priority": row.order.priority,
                "procedure_code": row.order.procedure_code,
                "procedure_name": row.procedure_name,
                "room": row.step.room,
                "room_name": row.room_name,
                "start": row.step.start_time,
                "duration_minutes": row.step.duration_minutes,
                "mrn": row.patient.mrn,
                "family_name": row.patient.family_name,
                "given_name": row.patient.given_name,
                "birth_date": row.patient.birth_date,
                "sex": row.patient.sex,
                "images": images,
            })
        })
        .collect();
    Ok(Json(exams).into_response())
}

/// `GET /api/v1/orders/to-be-scheduled`.
pub(super) async fn to_be_scheduled(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let orders = with_practice(&state, move |p| {
        let actor = actor_of(p, &headers)?;
        Ok(p.to_be_scheduled(&actor)?)
    })
    .await?;
    Ok(Json(orders).into_response())
}

/// The `ETag` of an exam version.
fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// `GET /api/v1/exams/{accession}`.
pub(super) async fn exam(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(accession): Path<String>,
) -> Result<Response, ApiError> {
    let (mut exam, version) = with_practice(&state, move |p| {
        let actor = actor_of(p, &headers)?;
        let exam = p.exam_json(&actor, &accession)?;
        let version = p.exam_version(&actor, &accession)?;
        Ok((exam, version))
    })
    .await?;
    exam["version"] = json!(version);
    Ok(([(header::ETAG, etag(version))], Json(exam)).into_response())
}

#[derive(Deserialize)]
pub(super) struct Booking {
    room: i64,
    start: String,
    #[serde(default)]
    note: String,
}

/// `PUT /api/v1/exams/{accession}/booking`.
pub(super) async fn book(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(accession): Path<String>,
    Json(booking): Json<Booking>,
) -> Result<Response, ApiError> {
    let start =
        chrono::NaiveDateTime::parse_from_str(&booking.start, crate::ris::LOCAL_TIME_FORMAT)
            .map_err(|_| {
                ApiError(
                    StatusCode::BAD_REQUEST,
                    format!("start must be YYYY-MM-DDTHH:MM, not {:?}", booking.start),
                )
            })?;
    let seen = match headers.get(header::IF_MATCH) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(|| {
                    ApiError(
                        StatusCode::BAD_REQUEST,
                        "If-Match must be the exam's version as its ETag gave it".into(),
                    )
                })?,
        ),
    };
    let note: String = booking.note.chars().take(200).collect();
    let answer_for = accession.clone();
    let version = with_practice_mut(&state, move |p| {
        let actor = actor_of(p, &headers)?;
        let note = if note.is_empty() {
            "booked from a workstation".to_string()
        } else {
            note
        };
        Ok(match seen {
            Some(seen) => p.book_seen(&actor, &accession, booking.room, start, &note, seen)?,
            None => p.book(&actor, &accession, booking.room, start, &note)?,
        })
    })
    .await?;
    Ok((
        [(header::ETAG, etag(version))],
        Json(json!({ "accession": answer_for, "version": version })),
    )
        .into_response())
}
