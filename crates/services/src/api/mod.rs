//! The practice server's network API, HTTPS only (rustls with the practice's own CA): a
//! workstation signs in with a Lightbox user and carries a short-lived bearer token; every call
//! goes through the Practice API as that user, with the same permission checks and audit as
//! the desktop. Plain HTTP is not spoken at all on the port.
//!
//! Routes (JSON):
//! - `POST /api/v1/sessions` `{login, password}` with the header `Lightbox-Workstation:
//!   <credential>` (from pairing) → 201 `{token, expires_at, login, role}`; 401 for an unknown
//!   login or a wrong password (one message for both), and for a computer that is not a
//!   paired workstation or was revoked.
//! - Pairing and revoking workstations: see [`workstations`].
//! - `DELETE /api/v1/sessions/current` → 204 (sign-out; the token is dead at once).
//! - `GET /api/v1/me` → who the token is.
//! - `GET /api/v1/patients?search=TEXT&limit=N` → the matching patients (audited as a search).
//! - `GET /api/v1/events?after=N` (or `Last-Event-ID: N`) → the practice's changes as
//!   server-sent events, each with its journal sequence number as `id`: a workstation that
//!   reconnects with the last id it saw misses nothing. Without a cursor: changes from now on.
//!   Events carry identifiers only (MRN, accession, study UID), never demographics; the stream
//!   ends when the session does (signed out, expired, account disabled).
//!
//! - The schedule, with booking by optimistic concurrency: see [`schedule`].
//! - Every other Practice API call a workstation's screens make: see [`practice_calls`].
//!
//! Without a valid token: 401. A role without the permission: 403 (and an audit row).

pub mod connections;
mod dicomweb;
pub(crate) use dicomweb::{STOW_CONFLICT, STOW_DUPLICATE, stow_warning_text};
mod practice_calls;
mod schedule;
mod throttle;
pub mod tls;
mod workstations;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::access::{AccessError, Actor};
use lightbox_domain::Practice;

/// What a 401 says when the login, the password or the session is wrong (one sentence for
/// all three: the answer does not tell a guesser which). Any other 401 names its reason.
pub const BAD_CREDENTIALS: &str = "unknown user, wrong password or no live session";

/// The default port of the API (HTTPS).
pub const DEFAULT_API_PORT: u16 = 8443;

/// Largest request body the API reads (sign-in and searches are small).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Connections to the practice the API's requests share (SQLite in WAL: readers run side by
/// side; writers take turns, each its own transaction).
const POOL_CONNECTIONS: usize = 4;

/// A few connections to the practice: a request takes a free one, or waits for one.
struct PracticePool {
    members: Vec<Mutex<Practice>>,
    next: std::sync::atomic::AtomicUsize,
}

impl PracticePool {
    /// `first` and `extra` more connections to the same practice.
    fn new(first: Practice, extra: usize) -> PracticePool {
        let mut members = Vec::with_capacity(extra + 1);
        for _ in 0..extra {
            match first.reopen() {
                Ok(another) => members.push(Mutex::new(another)),
                Err(e) => {
                    tracing::warn!(error = %e, "the API runs with fewer database connections");
                    break;
                }
            }
        }
        members.push(Mutex::new(first));
        PracticePool {
            members,
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// A free connection if there is one, else the next in turn once it is free (blocking:
    /// called on blocking threads only).
    fn take(&self) -> Option<std::sync::MutexGuard<'_, Practice>> {
        let start = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let n = self.members.len();
        for i in 0..n {
            if let Ok(guard) = self.members[(start + i) % n].try_lock() {
                return Some(guard);
            }
        }
        self.members[start % n].lock().ok()
    }
}

/// The practice the handlers act through, on blocking threads.
#[derive(Clone)]
struct ApiState {
    practice: Arc<PracticePool>,
    /// DICOMweb clients signing in with HTTP Basic: one session per login, reused.
    basic_sessions: Arc<dicomweb::BasicSessions>,
    /// Where STOW-RS puts images (the server's ingest; none where no archive runs).
    ingest: Option<crate::archive::ingest::Ingest>,
    /// The practice CA, as pairing needs it.
    tls: Arc<CaFacts>,
    /// Failed sign-ins by address (password guessing is refused after a few).
    throttle: Arc<throttle::SignInThrottle>,
}

/// The practice CA as the API hands it out and checks pairing codes against.
struct CaFacts {
    ca_pem: String,
    ca_fingerprint: Vec<u8>,
}

/// A refusal or failure as the client sees it: a status and a sentence.
#[derive(Debug)]
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> ApiError {
        match e {
            AccessError::BadCredentials => {
                ApiError(StatusCode::UNAUTHORIZED, BAD_CREDENTIALS.into())
            }
            AccessError::Forbidden { .. } => ApiError(StatusCode::FORBIDDEN, e.to_string()),
            AccessError::Workstation(why) => ApiError(StatusCode::UNAUTHORIZED, why),
            AccessError::Denied(why) => ApiError(StatusCode::BAD_REQUEST, why),
            other => {
                tracing::error!(error = %other, "API request failed");
                ApiError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server could not do this; see its log".into(),
                )
            }
        }
    }
}

/// Runs `work` on the practice on a blocking thread (SQLite is synchronous).
async fn with_practice<T: Send + 'static>(
    state: &ApiState,
    work: impl FnOnce(&Practice) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    with_practice_mut(state, move |p| work(p)).await
}

/// [`with_practice`] for the calls that change the practice through `&mut`.
async fn with_practice_mut<T: Send + 'static>(
    state: &ApiState,
    work: impl FnOnce(&mut Practice) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let practice = state.practice.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = practice.take().ok_or_else(|| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server is restarting".into(),
            )
        })?;
        work(&mut guard)
    })
    .await
    .map_err(|_| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request was interrupted".into(),
        )
    })?
}

/// The bearer token of a request, if it carries one.
fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty() && t.len() <= 128)
}

fn actor_of(practice: &Practice, headers: &HeaderMap) -> Result<Actor, ApiError> {
    let token = bearer(headers).ok_or_else(|| {
        ApiError(
            StatusCode::UNAUTHORIZED,
            "sign in first: POST /api/v1/sessions, then send Authorization: Bearer <token>".into(),
        )
    })?;
    Ok(practice.api_actor(&token)?)
}

#[derive(Deserialize)]
struct SignIn {
    login: String,
    password: String,
}

async fn sign_in(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<SignIn>,
) -> Result<Response, ApiError> {
    let origin = peer.ip().to_string();
    state.throttle.check(peer.ip())?;
    // Only a paired workstation signs in here (DICOMweb viewers use HTTP Basic).
    let Some(credential) = workstations::credential(&headers) else {
        return Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "this computer is not a paired workstation: pair it with a code from the server \
             (Settings → Workstations, or `lightbox workstations pair`)"
                .into(),
        ));
    };
    let opened = with_practice(&state, move |p| {
        Ok(p.open_api_session(&body.login, &body.password, &origin, Some(&credential))?)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "token": opened.token,
            "expires_at": opened.expires_at,
            "login": opened.actor.login,
            "role": opened.actor.role.code(),
        })),
    )
        .into_response())
}

async fn sign_out(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    with_practice(&state, move |p| {
        let actor = actor_of(p, &headers)?;
        let token = bearer(&headers).unwrap_or_default();
        p.close_api_session(&actor, &token)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

async fn me(State(state): State<ApiState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let actor = with_practice(&state, move |p| actor_of(p, &headers)).await?;
    Ok(Json(json!({ "login": actor.login, "role": actor.role.code() })).into_response())
}

#[derive(Deserialize)]
struct PatientSearch {
    search: String,
    limit: Option<usize>,
}

async fn patients(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(query): Query<PatientSearch>,
) -> Result<Response, ApiError> {
    let found = with_practice(&state, move |p| {
        let actor = actor_of(p, &headers)?;
        let limit = query.limit.unwrap_or(50).clamp(1, 500);
        p.search_patients(&actor, &query.search, limit)
            .map_err(|e| match e {
                crate::his::HisError::Access(a) => ApiError::from(a),
                other => {
                    tracing::error!(error = %other, "patient search failed");
                    ApiError(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the search failed; see the server's log".into(),
                    )
                }
            })
    })
    .await?;
    Ok(Json(found).into_response())
}

#[derive(Deserialize)]
struct EventsFrom {
    after: Option<i64>,
}

/// How often a follower looks at the journal, and re-checks its session.
const EVENT_POLL: std::time::Duration = std::time::Duration::from_millis(100);
const SESSION_RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

async fn events(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(from): Query<EventsFrom>,
) -> Result<Response, ApiError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let resume = from.after.or_else(|| {
        headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    });
    let check_headers = headers.clone();
    let (actor, start) = with_practice(&state, move |p| {
        let actor = actor_of(p, &headers)?;
        Ok((actor, resume.unwrap_or_else(|| p.changes_head())))
    })
    .await?;
    tracing::info!(login = %actor.login, after = start, "a workstation follows the changes");
    struct Follow {
        state: ApiState,
        headers: HeaderMap,
        cursor: i64,
        pending: std::collections::VecDeque<Event>,
        checked: std::time::Instant,
        ended: bool,
    }
    let follow = Follow {
        state,
        headers: check_headers,
        cursor: start,
        pending: Default::default(),
        checked: std::time::Instant::now(),
        ended: false,
    };
    let stream = futures_util::stream::unfold(follow, |mut f| async move {
        loop {
            if let Some(event) = f.pending.pop_front() {
                return Some((Ok::<Event, std::convert::Infallible>(event), f));
            }
            if f.ended {
                return None;
            }
            // The session may have ended meanwhile: the stream ends with it.
            if f.checked.elapsed() >= SESSION_RECHECK {
                f.checked = std::time::Instant::now();
                let headers = f.headers.clone();
                if with_practice(&f.state, move |p| actor_of(p, &headers))
                    .await
                    .is_err()
                {
                    f.ended = true;
                    f.pending.push_back(
                        Event::default()
                            .event("session.ended")
                            .data("sign in again"),
                    );
                    continue;
                }
            }
            let cursor = f.cursor;
            let read = with_practice(&f.state, move |p| {
                p.changes_after(cursor, 256).map_err(|e| {
                    tracing::error!(error = %e, "the change journal could not be read");
                    ApiError(StatusCode::INTERNAL_SERVER_ERROR, String::new())
                })
            })
            .await;
            match read {
                Ok((entries, next)) if !entries.is_empty() => {
                    for entry in entries {
                        let data = json!({
                            "at": entry.at,
                            "actor": entry.actor,
                            "kind": entry.change.kind(),
                            "subject": entry.change.subject(),
                        });
                        f.pending.push_back(
                            Event::default()
                                .id(entry.id.to_string())
                                .event(entry.change.kind())
                                .data(data.to_string()),
                        );
                    }
                    f.cursor = next;
                }
                Ok((_, next)) => {
                    // Kinds this version does not know are skipped, not re-read forever.
                    f.cursor = next.max(f.cursor);
                    tokio::time::sleep(EVENT_POLL).await;
                }
                Err(_) => tokio::time::sleep(EVENT_POLL * 10).await,
            }
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response())
}

/// Answers in JSON (searches, DICOMweb metadata: a 1,000-instance study's metadata is
/// megabytes of repetitive text) are gzipped for clients that accept it; images are not (the
/// client asks for JPEG-LS instead, and gzip would make a LAN transfer CPU-bound), nor is the
/// event stream.
fn compression()
-> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::Predicate as _;
    let json =
        |_: StatusCode, _: axum::http::Version, headers: &HeaderMap, _: &axum::http::Extensions| {
            headers
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| {
                    t.starts_with("application/dicom+json") || t.starts_with("application/json")
                })
        };
    tower_http::compression::CompressionLayer::new()
        .compress_when(tower_http::compression::predicate::SizeAbove::new(1024).and(json))
}

/// The API's routes over `practice`, storing STOW-RS images through `ingest`.
fn router(
    practice: Practice,
    ingest: Option<crate::archive::ingest::Ingest>,
    tls: CaFacts,
) -> Router {
    Router::new()
        .route("/api/v1/sessions", post(sign_in))
        .route("/api/v1/tls/ca.pem", get(workstations::ca_pem))
        .route("/api/v1/workstations/pair", post(workstations::pair))
        .route(
            "/api/v1/workstations",
            get(workstations::list).post(workstations::start),
        )
        .route("/api/v1/workstations/{id}", delete(workstations::revoke))
        .route("/api/v1/sessions/current", delete(sign_out))
        .route("/api/v1/me", get(me))
        .route("/api/v1/patients", get(patients))
        .route("/api/v1/events", get(events))
        .route("/api/v1/rooms", get(schedule::rooms))
        .route("/api/v1/schedule", get(schedule::schedule))
        .route(
            "/api/v1/orders/to-be-scheduled",
            get(schedule::to_be_scheduled),
        )
        .route("/api/v1/exams/{accession}", get(schedule::exam))
        .route(
            "/api/v1/exams/{accession}/booking",
            axum::routing::put(schedule::book),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .route(
            "/api/v1/exams/{accession}/priors",
            post(practice_calls::fetch_priors),
        )
        .route(
            "/api/v1/practice/{call}",
            post(practice_calls::call).layer(axum::extract::DefaultBodyLimit::max(
                practice_calls::MAX_CALL_BYTES,
            )),
        )
        .route(
            "/dicomweb/studies",
            get(dicomweb::search_studies)
                .post(dicomweb::store_instances)
                .layer(axum::extract::DefaultBodyLimit::max(
                    dicomweb::MAX_STOW_BYTES,
                )),
        )
        .route("/dicomweb/series", get(dicomweb::search_all_series))
        .route("/dicomweb/instances", get(dicomweb::search_all_instances))
        .route("/dicomweb/studies/{study}", get(dicomweb::retrieve))
        .route(
            "/dicomweb/studies/{study}/instances",
            get(dicomweb::search_study_instances),
        )
        .route(
            "/dicomweb/studies/{study}/series",
            get(dicomweb::search_series),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}",
            get(dicomweb::retrieve),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}/instances",
            get(dicomweb::search_instances),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}/instances/{instance}",
            get(dicomweb::retrieve),
        )
        .route(
            "/dicomweb/studies/{study}/metadata",
            get(dicomweb::metadata),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}/metadata",
            get(dicomweb::metadata),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}/instances/{instance}/metadata",
            get(dicomweb::metadata),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/{frames}",
            get(dicomweb::frames),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}/instances/{instance}/rendered",
            get(dicomweb::rendered),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/{frame}/rendered",
            get(dicomweb::rendered),
        )
        .route(
            "/dicomweb/studies/{study}/thumbnail",
            get(dicomweb::thumbnail),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}/thumbnail",
            get(dicomweb::thumbnail),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}/instances/{instance}/thumbnail",
            get(dicomweb::thumbnail),
        )
        .layer(compression())
        .with_state(ApiState {
            practice: Arc::new(PracticePool::new(practice, POOL_CONNECTIONS - 1)),
            basic_sessions: Arc::new(Default::default()),
            ingest,
            tls: Arc::new(tls),
            throttle: Arc::new(Default::default()),
        })
}

/// The running API: where it listens, and how to stop it.
pub struct ApiServer {
    /// The bound address.
    pub addr: SocketAddr,
    handle: axum_server::Handle,
}

impl ApiServer {
    /// Starts serving HTTPS on `addr` (port 0: any free port) with the practice's certificate.
    pub async fn start(
        addr: SocketAddr,
        practice: Practice,
        ingest: Option<crate::archive::ingest::Ingest>,
        tls: &tls::PracticeTls,
    ) -> anyhow::Result<ApiServer> {
        let config = axum_server::tls_rustls::RustlsConfig::from_config(tls.server_config()?);
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| anyhow::anyhow!("cannot listen for the API on {addr}: {e}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let handle = axum_server::Handle::new();
        let max_connections = practice
            .setting(connections::MAX_CONNECTIONS_SETTING)
            .ok()
            .flatten()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(connections::DEFAULT_MAX_CONNECTIONS);
        let server = axum_server::from_tcp_rustls(listener, config)
            .map(|tls| {
                tls.handshake_timeout(connections::HANDSHAKE_TIMEOUT)
                    .acceptor(connections::BoundedAcceptor::new(max_connections))
            })
            .handle(handle.clone());
        let facts = CaFacts {
            ca_pem: tls.ca_pem()?,
            ca_fingerprint: tls.ca_fingerprint()?,
        };
        let app =
            router(practice, ingest, facts).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            if let Err(e) = server.serve(app).await {
                tracing::error!(error = %e, "the API stopped");
            }
        });
        Ok(ApiServer { addr, handle })
    }

    /// Stops accepting and lets requests in flight finish (a few seconds at most).
    pub fn stop(&self) {
        self.handle
            .graceful_shutdown(Some(std::time::Duration::from_secs(5)));
    }
}
