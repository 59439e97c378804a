//! Pairing and revoking workstations over the API (see `access::workstations` for the rules).
//!
//! - `GET /api/v1/tls/ca.pem` → the practice CA (public: a workstation fetches it before it
//!   trusts anything, and checks it against the first half of the pairing code).
//! - `POST /api/v1/workstations/pair` `{code}` → 201 `{id, name, credential}`; 401 for a code
//!   that is wrong, used, expired or another server's. No sign-in: the code is the proof.
//! - `POST /api/v1/workstations` `{name}` (administrator) → 201 `{id, name, code, expires_at}`.
//! - `GET /api/v1/workstations` (administrator) → every workstation.
//! - `DELETE /api/v1/workstations/{id}` (administrator) → 204; its sessions end at once.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ApiState, actor_of, with_practice};

/// The header a workstation signs in with: its credential from pairing.
pub(super) const WORKSTATION_HEADER: &str = "lightbox-workstation";

/// `GET /api/v1/tls/ca.pem`.
pub(super) async fn ca_pem(State(state): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.tls.ca_pem.as_str().to_owned(),
    )
        .into_response()
}

#[derive(Deserialize)]
pub(super) struct Pair {
    code: String,
}

/// `POST /api/v1/workstations/pair`.
pub(super) async fn pair(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<Pair>,
) -> Result<Response, ApiError> {
    let origin = peer.ip().to_string();
    let fingerprint = state.tls.ca_fingerprint.clone();
    let code: String = body.code.chars().take(64).collect();
    let paired = with_practice(&state, move |p| {
        Ok(p.pair_workstation(&code, &fingerprint, &origin)?)
    })
    .await?;
    tracing::info!(workstation = paired.id, "a workstation paired");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": paired.id, "name": paired.name, "credential": paired.credential })),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(super) struct Start {
    name: String,
}

/// `POST /api/v1/workstations`.
pub(super) async fn start(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Json(body): Json<Start>,
) -> Result<Response, ApiError> {
    let fingerprint = state.tls.ca_fingerprint.clone();
    let code = with_practice(&state, move |p| {
        let actor = actor_of(p, &headers)?;
        Ok(p.start_workstation_pairing(&actor, &body.name, &fingerprint)?)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": code.workstation,
            "name": code.name,
            "code": code.code,
            "expires_at": code.expires_at,
        })),
    )
        .into_response())
}

/// `GET /api/v1/workstations`.
pub(super) async fn list(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let all = with_practice(&state, move |p| {
        let actor = actor_of(p, &headers)?;
        Ok(p.workstations(&actor)?)
    })
    .await?;
    Ok(Json(all).into_response())
}

/// `DELETE /api/v1/workstations/{id}`.
pub(super) async fn revoke(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    with_practice(&state, move |p| {
        let actor = actor_of(p, &headers)?;
        p.revoke_workstation(&actor, id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// The credential a request carries in [`WORKSTATION_HEADER`], if any.
pub(super) fn credential(headers: &HeaderMap) -> Option<String> {
    headers
        .get(WORKSTATION_HEADER)?
        .to_str()
        .ok()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty() && c.len() <= 128)
}
