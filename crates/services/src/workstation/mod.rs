//! A workstation's side of the practice server: pairing once (the practice CA pinned, the
//! credential kept in the workstation's folder), then every Practice API call over HTTPS, the
//! event stream followed on a thread of its own (a change on the server moves the window's
//! data version; a dropped stream is resumed from the last event id, so nothing is missed
//! across a server restart), and whether the server answers (the window's banner).
//!
//! The window holds a `Practice::remote` over [`ServerLink`]; it never sees HTTP.

mod archiving;
mod images;
mod pairing;

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lightbox_domain::access::{Actor, Role};
use lightbox_domain::practice::remote::{
    Arrival, CachedImage, PracticeLink, RemoteFailure, WireError,
};

pub use pairing::{PairedServer, PairingError, pair};

/// Header carrying the workstation's credential on sign-in (the server's
/// `api::workstations::WORKSTATION_HEADER`).
const WORKSTATION_HEADER: &str = "Lightbox-Workstation";

/// Largest answer a call reads (a day's worklist, an audit search: far below this).
const MAX_ANSWER_BYTES: u64 = 64 * 1024 * 1024;

/// How long a call waits for the server before the window says it is away.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// How soon the event stream is opened again after it broke.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// What the banner says when the server ended the session this workstation was using.
const SESSION_ENDED: &str = "the session ended on the server; sign out and in again";

/// The server sends a keep-alive every 15 s: a stream silent for longer is dead.
const STREAM_SILENCE: Duration = Duration::from_secs(40);

/// The HTTPS link a workstation's `Practice` forwards every call to.
pub struct ServerLink {
    shared: Arc<Shared>,
}

struct Shared {
    paired: PairedServer,
    /// Calls: each bounded from start to end.
    agent: ureq::Agent,
    /// The event stream, images and uploads: no bound on the whole (a large image over a
    /// slow line takes minutes), only on each wait for the server.
    stream_agent: ureq::Agent,
    /// The session's bearer token, once someone signed in.
    token: Mutex<Option<String>>,
    /// Events received (the window's data version).
    seen: AtomicI64,
    /// Why the server is away, while it is.
    trouble: Mutex<Option<String>>,
    /// Whether the event follower runs (one per link).
    following: AtomicBool,
    /// The event stream is broken: calls fail at once instead of each waiting for a server
    /// that does not answer (the window stays responsive); the follower clears it when the
    /// stream is back.
    stream_down: AtomicBool,
    /// Set when the link is dropped: the follower ends.
    closed: AtomicBool,
    /// Wakes the window when something changed or the server came or went.
    wake: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
}

/// An agent trusting only the practice CA. `whole` bounds a call from start to end (none for
/// the event stream, which lasts); `per_read` bounds each wait for the server.
fn agent(
    paired: &PairedServer,
    per_read: Duration,
    whole: Option<Duration>,
) -> Result<ureq::Agent, PairingError> {
    let ca = ureq::tls::Certificate::from_pem(paired.ca_pem.as_bytes())
        .map_err(|e| PairingError::Saved(format!("the kept practice CA is unreadable: {e}")))?;
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
        .build();
    Ok(ureq::Agent::config_builder()
        .tls_config(tls)
        .https_only(true)
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(5)))
        .timeout_per_read(Some(per_read))
        .timeout_global(whole)
        .build()
        .new_agent())
}

impl ServerLink {
    /// A link to the server this workstation paired with.
    pub fn new(paired: PairedServer) -> Result<ServerLink, PairingError> {
        Ok(ServerLink {
            shared: Arc::new(Shared {
                agent: agent(&paired, CALL_TIMEOUT, Some(CALL_TIMEOUT))?,
                stream_agent: agent(&paired, STREAM_SILENCE, None)?,
                paired,
                token: Mutex::new(None),
                seen: AtomicI64::new(0),
                trouble: Mutex::new(None),
                following: AtomicBool::new(false),
                stream_down: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                wake: Mutex::new(None),
            }),
        })
    }

    /// Calls `wake` whenever a change arrives or the server goes away or comes back (the
    /// window repaints at once instead of at its next look).
    pub fn on_change(&self, wake: Arc<dyn Fn() + Send + Sync>) {
        if let Ok(mut w) = self.shared.wake.lock() {
            *w = Some(wake);
        }
    }
}

impl Drop for ServerLink {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Relaxed);
    }
}

/// The sentence of a refusal's body (`{"error": …}`, as every API refusal has it).
fn error_sentence(body: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(str::to_string))
}

/// A transport failure in words for the banner.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "the connection was refused (is the server running?)".into()
        }
        ureq::Error::Io(io) => format!("the connection broke ({io})"),
        ureq::Error::Timeout(_) => "it did not answer in time".into(),
        ureq::Error::HostNotFound => "its name could not be found on the network".into(),
        ureq::Error::ConnectionFailed => "no connection could be made".into(),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
            "its certificate is not the practice's (pair this workstation again if the server \
             was reinstalled)"
                .into()
        }
        other => other.to_string(),
    }
}

impl Shared {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.paired.server.trim_end_matches('/'))
    }

    fn set_trouble(&self, why: Option<String>) {
        let changed = match self.trouble.lock() {
            Ok(mut t) => {
                let changed = t.is_some() != why.is_some();
                if why.is_some() && t.is_none() {
                    tracing::warn!(server = %self.paired.server, why = why.as_deref().unwrap_or(""), "the practice server is away");
                } else if why.is_none() && t.is_some() {
                    tracing::info!(server = %self.paired.server, "the practice server answers again");
                }
                *t = why;
                changed
            }
            Err(_) => false,
        };
        if changed {
            self.wake();
        }
    }

    fn wake(&self) {
        if let Some(wake) = self.wake.lock().ok().and_then(|w| w.clone()) {
            wake();
        }
    }

    /// One more change seen: the window reads again.
    fn changed(&self) {
        self.seen.fetch_add(1, Ordering::Relaxed);
        self.wake();
    }

    fn token(&self) -> Option<String> {
        self.token.lock().ok().and_then(|t| t.clone())
    }

    /// One Practice API call (the body of [`PracticeLink::call`]).
    fn call(
        &self,
        method: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, RemoteFailure> {
        let s = self;
        if s.following.load(Ordering::Relaxed) && s.stream_down.load(Ordering::Relaxed) {
            let why = s
                .trouble
                .lock()
                .ok()
                .and_then(|t| t.clone())
                .unwrap_or_else(|| "the practice server is not answering".into());
            return Err(if why == SESSION_ENDED {
                RemoteFailure::Refused(WireError::BadCredentials)
            } else {
                RemoteFailure::Unreachable(why)
            });
        }
        let mut request = s.agent.post(s.url(&format!("/api/v1/practice/{method}")));
        if let Some(token) = s.token() {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let mut response = match request.send_json(&args) {
            Ok(r) => r,
            Err(e) => {
                let why = describe(&e);
                s.set_trouble(Some(why.clone()));
                return Err(RemoteFailure::Unreachable(why));
            }
        };
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| {
                let why = describe(&e);
                s.set_trouble(Some(why.clone()));
                RemoteFailure::Unreachable(why)
            })?;
        if !s.following.load(Ordering::Relaxed) {
            s.set_trouble(None);
        }
        if status == 200 {
            let mut answer: serde_json::Value =
                serde_json::from_str(&body).map_err(|e| RemoteFailure::Garbled(e.to_string()))?;
            return Ok(answer
                .get_mut("ok")
                .map(serde_json::Value::take)
                .unwrap_or_default());
        }
        Err(Shared::refusal(status, &body))
    }

    /// Reads a refusal's body (`{"refused": …, "error": …}`) into what the call returns.
    fn refusal(status: u16, body: &str) -> RemoteFailure {
        #[derive(serde::Deserialize)]
        struct Refusal {
            refused: Option<WireError>,
            error: Option<String>,
        }
        let parsed: Option<Refusal> = serde_json::from_str(body).ok();
        match parsed {
            Some(Refusal {
                refused: Some(wire),
                ..
            }) => RemoteFailure::Refused(wire),
            _ if status == 401 => RemoteFailure::Refused(WireError::BadCredentials),
            Some(Refusal {
                error: Some(message),
                ..
            }) => RemoteFailure::Refused(WireError::Failed { message }),
            _ => RemoteFailure::Garbled(format!("status {status}")),
        }
    }

    /// Follows the server's changes until the link is dropped: each event moves `seen`; a
    /// broken stream is opened again from the last event id.
    fn follow(self: Arc<Shared>) {
        let mut last_id: Option<String> = None;
        while !self.closed.load(Ordering::Relaxed) {
            let Some(token) = self.token() else {
                std::thread::sleep(RECONNECT_AFTER);
                continue;
            };
            let mut request = self
                .stream_agent
                .get(self.url("/api/v1/events"))
                .header("Authorization", &format!("Bearer {token}"))
                .header("Accept", "text/event-stream");
            if let Some(id) = &last_id {
                request = request.header("Last-Event-ID", id);
            }
            match request.call() {
                Ok(response) if response.status().is_success() => {
                    self.stream_down.store(false, Ordering::Relaxed);
                    self.set_trouble(None);
                    // Whatever happened while the stream was down: read everything again.
                    self.changed();
                    let reader =
                        std::io::BufReader::new(response.into_body().into_with_config().reader());
                    let why = self.read_stream(reader, &mut last_id);
                    // Signed out here (the server then ends the stream): no trouble at all.
                    let signed_out = self.token().is_none() && why != SESSION_ENDED;
                    if !self.closed.load(Ordering::Relaxed) && !signed_out {
                        self.stream_down.store(true, Ordering::Relaxed);
                        self.set_trouble(Some(why));
                    }
                }
                Ok(response) => {
                    self.stream_down.store(true, Ordering::Relaxed);
                    let status = response.status().as_u16();
                    if status == 401 {
                        let ours = self.token.lock().ok().and_then(|mut t| t.take()).is_some();
                        if ours {
                            self.set_trouble(Some(SESSION_ENDED.into()));
                        }
                    } else {
                        self.set_trouble(Some(format!("the server answered {status}")));
                    }
                }
                Err(e) => {
                    self.stream_down.store(true, Ordering::Relaxed);
                    self.set_trouble(Some(describe(&e)));
                }
            }
            std::thread::sleep(RECONNECT_AFTER);
        }
    }

    /// Reads events until the stream breaks (a read waits at most [`STREAM_SILENCE`]: the
    /// server's keep-alives arrive well within it); why it did.
    fn read_stream(&self, reader: impl BufRead, last_id: &mut Option<String>) -> String {
        for line in reader.lines() {
            if self.closed.load(Ordering::Relaxed) {
                return "closed".into();
            }
            let line = match line {
                Ok(l) => l,
                Err(e) => return format!("the connection to the server broke: {e}"),
            };
            // Anything from the server (a keep-alive included) shows it answers: a call's
            // passing failure no longer stands on the banner.
            if self
                .trouble
                .lock()
                .ok()
                .is_some_and(|t| t.as_deref().is_some_and(|w| w != SESSION_ENDED))
            {
                self.set_trouble(None);
            }
            if let Some(id) = line.strip_prefix("id:") {
                *last_id = Some(id.trim().to_string());
            } else if let Some(kind) = line.strip_prefix("event:") {
                if kind.trim() == "session.ended" {
                    // Ended by the server (expired, revoked, the account disabled) while this
                    // workstation still used it — or by signing out here, which cleared it.
                    let ours = self.token.lock().ok().and_then(|mut t| t.take()).is_some();
                    return if ours {
                        SESSION_ENDED.into()
                    } else {
                        "signed out".into()
                    };
                }
            } else if line.starts_with("data:") {
                self.changed();
            }
        }
        "the server closed the connection".into()
    }
}

impl PracticeLink for ServerLink {
    fn call(
        &self,
        method: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, RemoteFailure> {
        self.shared.call(method, args)
    }

    fn sign_in(&self, login: &str, password: &str) -> Result<Actor, RemoteFailure> {
        let s = &self.shared;
        let mut response = s
            .agent
            .post(s.url("/api/v1/sessions"))
            .header(WORKSTATION_HEADER, &s.paired.credential)
            .send_json(serde_json::json!({ "login": login, "password": password }))
            .map_err(|e| {
                let why = describe(&e);
                s.set_trouble(Some(why.clone()));
                RemoteFailure::Unreachable(why)
            })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| RemoteFailure::Unreachable(e.to_string()))?;
        if status == 401 {
            // A wrong password, or a reason of its own (this workstation was revoked).
            let why = error_sentence(&body).filter(|why| why != crate::api::BAD_CREDENTIALS);
            return Err(RemoteFailure::Refused(match why {
                Some(message) => WireError::Invalid { message },
                None => WireError::BadCredentials,
            }));
        }
        if status != 201 {
            return Err(Shared::refusal(status, &body));
        }
        #[derive(serde::Deserialize)]
        struct Opened {
            token: String,
            login: String,
            role: String,
        }
        let opened: Opened =
            serde_json::from_str(&body).map_err(|e| RemoteFailure::Garbled(e.to_string()))?;
        let role = Role::from_code(&opened.role)
            .ok_or_else(|| RemoteFailure::Garbled(format!("unknown role {}", opened.role)))?;
        if let Ok(mut t) = s.token.lock() {
            *t = Some(opened.token);
        }
        s.set_trouble(None);
        if !s.following.swap(true, Ordering::Relaxed) {
            let shared = s.clone();
            std::thread::Builder::new()
                .name("server-events".into())
                .spawn(move || shared.follow())
                .map_err(|e| RemoteFailure::Unreachable(e.to_string()))?;
        }
        Ok(Actor {
            login: opened.login,
            role,
            origin: s.paired.name.clone(),
        })
    }

    fn sign_out(&self) {
        let s = &self.shared;
        let token = s.token.lock().ok().and_then(|mut t| t.take());
        if let Some(token) = token {
            let ended = s
                .agent
                .delete(s.url("/api/v1/sessions/current"))
                .header("Authorization", &format!("Bearer {token}"))
                .call();
            if let Err(e) = ended {
                // The session expires on its own within hours; nobody can use it from here.
                tracing::warn!(error = %describe(&e), "the session could not be ended at the server");
            }
        }
    }

    fn session_ended(&self) -> bool {
        self.shared
            .trouble
            .lock()
            .ok()
            .is_some_and(|t| t.as_deref() == Some(SESSION_ENDED))
    }

    fn changes_seen(&self) -> i64 {
        self.shared.seen.load(Ordering::Relaxed)
    }

    fn trouble(&self) -> Option<String> {
        self.shared.trouble.lock().ok().and_then(|t| t.clone())
    }

    fn server(&self) -> String {
        self.shared.paired.server.clone()
    }

    fn fetch_images(&self, images: Vec<CachedImage>, until: Arrival) -> Result<(), RemoteFailure> {
        self.shared.fetch_images(images, until)
    }
}
