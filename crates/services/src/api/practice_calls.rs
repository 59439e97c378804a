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

use super::{ApiError, ApiState, bearer, with_practice_mut};

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
    let answer = with_practice_mut(&state, move |p| {
        let actor = match bearer(&headers) {
            Some(token) => Some(p.api_actor(&token)?),
            None => None,
        };
        Ok(p.answer_remote_call(actor.as_ref(), &method, args))
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
