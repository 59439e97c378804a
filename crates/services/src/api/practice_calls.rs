//! `POST /api/v1/practice/{call}`: a workstation's Practice API call. The body is the call's
//! arguments as a JSON array; the answer `200 {"ok": …}`, or a refusal with the status of its
//! kind and `{"refused": {kind, …}, "error": sentence}` — the workstation turns it back into the
//! call's own error. The call acts as the session's user (the workstation never names one);
//! only the sign-in screen's calls (the practice's name) answer without a session.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lightbox_domain::practice::remote::WireError;
use serde_json::json;

use super::{ApiError, ApiState, actor_of, bearer, with_practice, with_practice_mut};

/// Largest call a workstation sends (an HL7 batch file to import is the largest).
pub(super) const MAX_CALL_BYTES: usize = 32 * 1024 * 1024;

fn status_of(refusal: &WireError) -> StatusCode {
    match refusal {
        WireError::Forbidden { .. } => StatusCode::FORBIDDEN,
        WireError::BadCredentials => StatusCode::UNAUTHORIZED,
        WireError::Invalid { .. } | WireError::PossibleDuplicate { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        WireError::Stale { .. } => StatusCode::PRECONDITION_FAILED,
        WireError::Conflict { .. } => StatusCode::CONFLICT,
        WireError::NotFound { .. } => StatusCode::NOT_FOUND,
        WireError::Failed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(super) async fn call(
    State(state): State<ApiState>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let args: serde_json::Value = if body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError(
                StatusCode::BAD_REQUEST,
                format!("the body must be the call's arguments as JSON: {e}"),
            )
        })?
    };
    let method: String = method.chars().take(64).collect();
    // Saved marks are archived by the server's own ingest, like a scanner's images.
    let ingest = state.ingest.clone();
    let answer = with_practice_mut(&state, move |p| {
        let actor = match bearer(&headers) {
            Some(token) => Some(p.api_actor(&token)?),
            None => None,
        };
        let archiver = ingest
            .as_ref()
            .map(|i| i as &dyn lightbox_domain::archive::received::ObjectArchiver);
        Ok(p.answer_remote_call(actor.as_ref(), &method, args, archiver))
    })
    .await?;
    Ok(match answer {
        Ok(value) => (StatusCode::OK, axum::Json(json!({ "ok": value }))).into_response(),
        Err(refusal) => {
            let sentence =
                lightbox_domain::practice::remote::RemoteFailure::Refused(refusal.clone())
                    .to_string();
            (
                status_of(&refusal),
                axum::Json(json!({ "refused": refusal, "error": sentence })),
            )
                .into_response()
        }
    })
}

/// `POST /api/v1/exams/{accession}/priors`: a radiologist on a workstation opened the exam; the
/// server asks the prior nodes for the patient's older studies and retrieves them into its
/// archive (the workstation runs no DICOM services). Answers what was fetched, in the shape
/// the viewer says it (`FetchSummary`), once the retrieval is over.
pub(super) async fn fetch_priors(
    State(state): State<ApiState>,
    Path(accession): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(ingest) = state.ingest.clone() else {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server does not take images".into(),
        ));
    };
    let accession: String = accession.chars().take(64).collect();
    let asked = accession.clone();
    let database = with_practice(&state, move |p| {
        let actor = actor_of(p, &headers)?;
        p.authorise_exchange(&actor, "dicom.retrieve", &asked, "priors for a workstation")
            .map_err(|e| match e {
                lightbox_domain::PracticeError::Access(a) => ApiError::from(a),
                other => ApiError(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
            })?;
        Ok(p.database())
    })
    .await?;
    // The fetch runs its own small runtime: on a thread of its own, not the API's.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("priors-for-workstation".into())
        .spawn(move || {
            let _ = tx.send(crate::dicom::priors::fetch_for_exam(
                &database, &ingest, &accession,
            ));
        })
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let summary = rx.await.map_err(|_| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the prior fetch stopped".into(),
        )
    })?;
    Ok((StatusCode::OK, axum::Json(summary)).into_response())
}
