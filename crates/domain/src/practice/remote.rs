//! The Practice API on a workstation: the same calls, answered by the practice server.
//!
//! A workstation's `Practice` holds a [`PracticeLink`] (the wiring's HTTPS client; this crate
//! opens no socket) instead of a database. Each call sends its arguments — never the actor:
//! the server acts as the user its session token stands for, with its own permission check and
//! audit — and turns the answer back into the call's own result type, errors included, so a
//! screen handles "possible duplicate", "changed since you looked" or "not allowed" the same
//! way on one PC and on a workstation. The server side of each call is
//! [`Practice::answer_remote_call`].

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::access::{AccessError, Actor};
use crate::store::StoreError;

/// How a workstation reaches the practice server (implemented by the wiring over HTTPS).
pub trait PracticeLink: Send + Sync {
    /// Calls `method` on the server with `args` (a JSON array) as the signed-in user.
    fn call(
        &self,
        method: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, RemoteFailure>;
    /// Signs `login` in at the server; later calls act as that user.
    fn sign_in(&self, login: &str, password: &str) -> Result<Actor, RemoteFailure>;
    /// Ends the session at the server (its token is dead at once).
    fn sign_out(&self);
    /// Whether the server ended the session while this workstation was using it.
    fn session_ended(&self) -> bool;
    /// A number that grows with every change the server reports on its event stream: the
    /// screens read again when it moves (the local [`super::Practice::data_version`]).
    fn changes_seen(&self) -> i64;
    /// Why the server cannot be reached right now, in words for the window's banner; `None`
    /// while it answers.
    fn trouble(&self) -> Option<String>;
    /// The server the workstation is paired with (its address, for the title bar).
    fn server(&self) -> String;
    /// Fetches `images` (in this order, the first ones the viewer shows first) into the
    /// workstation's image cache; returns once the first is there (the rest arriving in the
    /// background, their folders carrying the arrival marker meanwhile) or once all are.
    fn fetch_images(&self, images: Vec<CachedImage>, until: Arrival) -> Result<(), RemoteFailure>;
}

/// How long [`PracticeLink::fetch_images`] waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Until the first image is there (the viewer opens on it).
    First,
    /// Until every image is (prefetching, one study after another).
    All,
}

/// One image a workstation brings from the server into its cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedImage {
    /// Its study, series and instance UIDs (the DICOMweb path).
    pub study_uid: String,
    /// Series Instance UID.
    pub series_uid: String,
    /// SOP Instance UID.
    pub sop_uid: String,
    /// Where it goes: `<cache>/<study>/<series>/<instance>.dcm`.
    pub file: std::path::PathBuf,
}

/// A UID as a file name: the digits and dots a UID is made of; anything else a server might
/// send (a path separator, `..`) becomes `_`, so a cache path never leaves the cache.
fn uid_file_name(uid: &str) -> String {
    let name: String = uid
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_digit() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.chars().all(|c| c == '.') {
        "_".into()
    } else {
        name
    }
}

/// A study's images from the server, their rows pointing into the workstation's cache under
/// `cache` and the images on their way there (see [`bring_into_cache`]).
pub(crate) fn study_images_into_cache(
    link: &dyn PracticeLink,
    study_uid: &str,
    cache: &std::path::Path,
    until: Arrival,
) -> Result<Vec<crate::store::index::IndexRow>, RemoteFailure> {
    let answer = link.call("study_images", serde_json::json!([study_uid]))?;
    let mut rows: Vec<crate::store::index::IndexRow> =
        serde_json::from_value(answer).map_err(|e| RemoteFailure::Garbled(e.to_string()))?;
    bring_into_cache(link, &mut rows, cache, until)?;
    Ok(rows)
}

/// Points each row at its file in the workstation's cache under `cache` and has the link
/// bring the images there: the first image of every series first (the viewer reads those as
/// it opens the study), then each series in order.
pub(crate) fn bring_into_cache(
    link: &dyn PracticeLink,
    rows: &mut [crate::store::index::IndexRow],
    cache: &std::path::Path,
    until: Arrival,
) -> Result<(), RemoteFailure> {
    let number = |s: &str| s.trim().parse::<i64>().unwrap_or(i64::MAX);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| {
        (
            number(&rows[i].series_number),
            rows[i].series_uid.clone(),
            number(&rows[i].instance_number),
        )
    });
    let mut firsts = Vec::new();
    let mut rest = Vec::new();
    let mut seen_series = std::collections::HashSet::new();
    for i in order {
        let row = &mut rows[i];
        let relative = std::path::PathBuf::from(uid_file_name(&row.study_uid))
            .join(uid_file_name(&row.series_uid))
            .join(format!("{}.dcm", uid_file_name(&row.sop_uid)));
        row.file_path = relative.to_string_lossy().into_owned();
        let image = CachedImage {
            study_uid: row.study_uid.clone(),
            series_uid: row.series_uid.clone(),
            sop_uid: row.sop_uid.clone(),
            file: cache.join(&relative),
        };
        if seen_series.insert(row.series_uid.clone()) {
            firsts.push(image);
        } else {
            rest.push(image);
        }
    }
    firsts.extend(rest);
    if firsts.is_empty() {
        return Ok(());
    }
    link.fetch_images(firsts, until)
}

/// A refusal as it crosses the wire: the kinds a screen handles differently, each with what
/// it needs to say so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireError {
    /// The user's role may not do this (audited on the server).
    Forbidden {
        /// Who may not do what.
        message: String,
    },
    /// Unknown login, wrong password, or the session ended.
    BadCredentials,
    /// The request is wrong, in words for the user.
    Invalid {
        /// What is wrong.
        message: String,
    },
    /// Registration found a patient who may be the same person.
    PossibleDuplicate {
        /// The registered patients it may be.
        candidates: Vec<crate::records::his::PatientRecord>,
        /// Why they look alike.
        reason: String,
    },
    /// The exam changed since the workstation read it.
    Stale {
        /// The exam.
        accession: String,
        /// Its status now.
        status: String,
        /// Its version now.
        version: i64,
    },
    /// The slot or the record is taken.
    Conflict {
        /// What holds the slot.
        message: String,
    },
    /// No such record.
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// The server failed (its log says why; the workstation is told only that).
    Failed {
        /// A sentence without the server's internals.
        message: String,
    },
}

/// Why a call to the server gave no answer of its own.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RemoteFailure {
    /// The server did not answer (network down, server stopped); the window says so.
    #[error("the practice server cannot be reached ({0}); Lightbox keeps trying")]
    Unreachable(String),
    /// The server answered with a refusal.
    #[error("{}", wire_message(.0))]
    Refused(WireError),
    /// The answer could not be read (a server of another version).
    #[error("the practice server's answer could not be read: {0}")]
    Garbled(String),
    /// The call exists only on the server's own computer.
    #[error("{0} is done on the practice server itself")]
    ServerOnly(&'static str),
}

fn wire_message(wire: &WireError) -> String {
    match wire {
        WireError::Forbidden { message }
        | WireError::Invalid { message }
        | WireError::Conflict { message }
        | WireError::Failed { message } => message.clone(),
        WireError::BadCredentials => "unknown user or wrong password".into(),
        WireError::PossibleDuplicate { candidates, reason } => format!(
            "possible duplicate of {}: {reason}",
            candidates
                .iter()
                .map(|c| c.mrn.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        WireError::Stale {
            accession, status, ..
        } => format!(
            "exam {accession} changed since you looked at it (it is now {status}); look again \
             before changing it"
        ),
        WireError::NotFound { what } => format!("{what} not found"),
    }
}

/// Builds a call's own result from the server's answer.
pub trait FromReply {
    /// The result of the call, from the server's answer or its failure.
    fn from_reply(reply: Result<serde_json::Value, RemoteFailure>) -> Self;
}

impl<T: DeserializeOwned, E: From<RemoteFailure>> FromReply for Result<T, E> {
    fn from_reply(reply: Result<serde_json::Value, RemoteFailure>) -> Self {
        reply
            .and_then(|v| {
                serde_json::from_value(v).map_err(|e| RemoteFailure::Garbled(e.to_string()))
            })
            .map_err(E::from)
    }
}

/// Calls whose result has no error side: a failure is logged and reads as nothing (the banner
/// already says the server is away).
macro_rules! plain_replies {
    ($($t:ty),* $(,)?) => {$(
        impl FromReply for $t {
            fn from_reply(reply: Result<serde_json::Value, RemoteFailure>) -> Self {
                match reply.and_then(|v| {
                    serde_json::from_value(v).map_err(|e| RemoteFailure::Garbled(e.to_string()))
                }) {
                    Ok(v) => v,
                    // Before anyone signed in, the window asks for what needs a session.
                    Err(RemoteFailure::Refused(WireError::BadCredentials)) => Default::default(),
                    Err(e) => {
                        tracing::warn!(error = %e, "a call to the practice server failed");
                        Default::default()
                    }
                }
            }
        }
    )*};
}

plain_replies!(
    bool,
    usize,
    u64,
    i64,
    String,
    Option<String>,
    Vec<String>,
    crate::documents::Letterhead,
    Vec<crate::viewing::overlay::OverlayField>,
    Vec<(String, crate::imaging::Window)>,
    Option<crate::archive::disk_space::LowDiskSpace>,
);

/// Forwards the call to the server when this `Practice` is a workstation's: `forward!(self,
/// "name", arg, …)` returns the server's answer as the method's own result.
macro_rules! forward {
    ($self:ident, $method:literal $(, $arg:expr)* $(,)?) => {
        if let Some(link) = &$self.link {
            let args = serde_json::to_value(($(&$arg,)*))
                .map_err(|e| $crate::practice::remote::RemoteFailure::Garbled(e.to_string()));
            return $crate::practice::remote::FromReply::from_reply(
                args.and_then(|a| link.call($method, a)),
            );
        }
    };
}
pub(crate) use forward;

/// How each lane's error carries a remote failure: a refusal becomes the lane's own variant
/// where it has one, so a screen's `match` works unchanged.
macro_rules! lane_error_from_remote {
    ($($t:ty),*) => {$(
        impl From<RemoteFailure> for $t {
            fn from(failure: RemoteFailure) -> $t {
                type Lane = $t;
                match failure {
                    RemoteFailure::Refused(WireError::Forbidden { message }) => {
                        Lane::Access(AccessError::Denied(message))
                    }
                    RemoteFailure::Refused(WireError::BadCredentials) => {
                        Lane::Access(AccessError::BadCredentials)
                    }
                    RemoteFailure::Refused(WireError::Invalid { message }) => Lane::Invalid(message),
                    other => Lane::Store(StoreError::from(other)),
                }
            }
        }
    )*};
}

impl From<RemoteFailure> for StoreError {
    fn from(failure: RemoteFailure) -> StoreError {
        match failure {
            RemoteFailure::Refused(WireError::NotFound { what }) => StoreError::NotFound(what),
            RemoteFailure::Refused(WireError::Invalid { message }) => StoreError::Invalid(message),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

impl From<RemoteFailure> for AccessError {
    fn from(failure: RemoteFailure) -> AccessError {
        match failure {
            RemoteFailure::Refused(WireError::BadCredentials) => AccessError::BadCredentials,
            RemoteFailure::Refused(WireError::Forbidden { message })
            | RemoteFailure::Refused(WireError::Invalid { message }) => {
                AccessError::Denied(message)
            }
            other => AccessError::Store(StoreError::from(other)),
        }
    }
}

lane_error_from_remote!(
    crate::administration::AdminError,
    super::PracticeError,
    crate::viewing::ViewingError,
    crate::hl7::outbound::OutboundError,
    crate::hl7::sources::SourceError
);

impl From<RemoteFailure> for crate::his::HisError {
    fn from(failure: RemoteFailure) -> crate::his::HisError {
        use crate::his::HisError;
        match failure {
            RemoteFailure::Refused(WireError::PossibleDuplicate { candidates, reason }) => {
                HisError::PossibleDuplicate { candidates, reason }
            }
            RemoteFailure::Refused(WireError::Invalid { message }) => HisError::Invalid(message),
            RemoteFailure::Refused(WireError::Forbidden { message }) => {
                HisError::Access(AccessError::Denied(message))
            }
            RemoteFailure::Refused(WireError::BadCredentials) => {
                HisError::Access(AccessError::BadCredentials)
            }
            other => HisError::Store(StoreError::from(other)),
        }
    }
}

impl From<RemoteFailure> for crate::ris::RisError {
    fn from(failure: RemoteFailure) -> crate::ris::RisError {
        use crate::ris::RisError;
        match failure {
            RemoteFailure::Refused(WireError::Stale {
                accession,
                status,
                version,
            }) => RisError::Stale {
                accession,
                status,
                version,
            },
            RemoteFailure::Refused(WireError::Conflict { message }) => RisError::Conflict(message),
            RemoteFailure::Refused(WireError::NotFound { what }) => RisError::NotFound(what),
            RemoteFailure::Refused(WireError::Invalid { message }) => RisError::Invalid(message),
            RemoteFailure::Refused(WireError::Forbidden { message }) => {
                RisError::Access(AccessError::Denied(message))
            }
            RemoteFailure::Refused(WireError::BadCredentials) => {
                RisError::Access(AccessError::BadCredentials)
            }
            other => RisError::Store(StoreError::from(other)),
        }
    }
}

/// How a lane error is told to a workstation (the server's side of [`FromReply`]). Database
/// failures are logged here, once, and the workstation hears only that the server failed.
pub trait ToWire {
    /// The refusal as it crosses the wire.
    fn to_wire(&self) -> WireError;
}

fn failed(e: &dyn std::fmt::Display) -> WireError {
    tracing::error!(error = %e, "a workstation's call failed on the server");
    WireError::Failed {
        message: "the practice server could not do this; its log says why".into(),
    }
}

impl ToWire for StoreError {
    fn to_wire(&self) -> WireError {
        match self {
            StoreError::NotFound(what) => WireError::NotFound { what: what.clone() },
            StoreError::Invalid(message) => WireError::Invalid {
                message: message.clone(),
            },
            other => failed(other),
        }
    }
}

impl ToWire for AccessError {
    fn to_wire(&self) -> WireError {
        match self {
            AccessError::Forbidden { .. } => WireError::Forbidden {
                message: self.to_string(),
            },
            AccessError::BadCredentials => WireError::BadCredentials,
            AccessError::Denied(m) | AccessError::WeakPassword(m) | AccessError::Workstation(m) => {
                WireError::Invalid { message: m.clone() }
            }
            AccessError::Store(s) => s.to_wire(),
            other => failed(other),
        }
    }
}

macro_rules! lane_error_to_wire {
    ($($t:ty),*) => {$(
        impl ToWire for $t {
            fn to_wire(&self) -> WireError {
                type Lane = $t;
                match self {
                    Lane::Access(a) => a.to_wire(),
                    Lane::Store(s) => s.to_wire(),
                    Lane::Invalid(m) => WireError::Invalid { message: m.clone() },
                }
            }
        }
    )*};
}

lane_error_to_wire!(
    crate::administration::AdminError,
    super::PracticeError,
    crate::viewing::ViewingError,
    crate::hl7::outbound::OutboundError,
    crate::hl7::sources::SourceError
);

impl ToWire for crate::his::HisError {
    fn to_wire(&self) -> WireError {
        use crate::his::HisError;
        match self {
            HisError::PossibleDuplicate { candidates, reason } => WireError::PossibleDuplicate {
                candidates: candidates.clone(),
                reason: reason.clone(),
            },
            HisError::Invalid(m) => WireError::Invalid { message: m.clone() },
            HisError::Access(a) => a.to_wire(),
            HisError::Store(s) => s.to_wire(),
        }
    }
}

impl ToWire for crate::ris::RisError {
    fn to_wire(&self) -> WireError {
        use crate::ris::RisError;
        match self {
            RisError::NotFound(what) => WireError::NotFound { what: what.clone() },
            RisError::Illegal(_) | RisError::Invalid(_) => WireError::Invalid {
                message: self.to_string(),
            },
            RisError::Conflict(m) => WireError::Conflict { message: m.clone() },
            RisError::Stale {
                accession,
                status,
                version,
            } => WireError::Stale {
                accession: accession.clone(),
                status: status.clone(),
                version: *version,
            },
            RisError::Access(a) => a.to_wire(),
            RisError::Store(s) => s.to_wire(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Mutex;

    /// A link that records what it was asked to fetch.
    #[derive(Default)]
    struct Recording(Mutex<Vec<CachedImage>>);

    impl PracticeLink for Recording {
        fn call(&self, _: &str, _: serde_json::Value) -> Result<serde_json::Value, RemoteFailure> {
            Err(RemoteFailure::ServerOnly("nothing"))
        }
        fn sign_in(&self, _: &str, _: &str) -> Result<Actor, RemoteFailure> {
            Err(RemoteFailure::ServerOnly("nothing"))
        }
        fn sign_out(&self) {}
        fn session_ended(&self) -> bool {
            false
        }
        fn changes_seen(&self) -> i64 {
            0
        }
        fn trouble(&self) -> Option<String> {
            None
        }
        fn server(&self) -> String {
            String::new()
        }
        fn fetch_images(&self, images: Vec<CachedImage>, _: Arrival) -> Result<(), RemoteFailure> {
            self.0.lock().unwrap().extend(images);
            Ok(())
        }
    }

    fn row(series: &str, number: &str, sop: &str, instance: &str) -> crate::store::index::IndexRow {
        crate::store::index::IndexRow {
            study_uid: "1.2.3".into(),
            series_uid: series.into(),
            series_number: number.into(),
            sop_uid: sop.into(),
            instance_number: instance.into(),
            file_path: "ab/cd/server-side-name".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_first_image_of_every_series_comes_first_and_paths_stay_inside_the_cache() {
        let link = Recording::default();
        let mut rows = vec![
            row("1.9", "2", "1.9.2", "2"),
            row("1.8", "1", "1.8.2", "2"),
            row("1.9", "2", "1.9.1", "1"),
            row("1.8", "1", "1.8.1", "1"),
            // A hostile server's UID: separators and dots only.
            row("1.8", "1", "../../etc/passwd", "3"),
        ];
        let cache = std::path::Path::new("/cache");
        bring_into_cache(&link, &mut rows, cache, Arrival::First).unwrap();
        let asked: Vec<String> = link
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|i| i.sop_uid.clone())
            .collect();
        assert_eq!(
            asked,
            ["1.8.1", "1.9.1", "1.8.2", "../../etc/passwd", "1.9.2"],
            "series 1's first, series 2's first, then each series in order"
        );
        for image in link.0.lock().unwrap().iter() {
            assert!(image.file.starts_with(cache));
            assert!(
                image
                    .file
                    .components()
                    .all(|c| c != std::path::Component::ParentDir),
                "{}",
                image.file.display()
            );
        }
        assert_eq!(rows[0].file_path, "1.2.3/1.9/1.9.2.dcm");
        // Only the digits and dots of a UID become a file name.
        assert_eq!(rows[4].file_path, "1.2.3/1.8/.._..___________.dcm");
    }

    #[test]
    fn a_refusal_comes_back_as_the_lane_s_own_error() {
        use crate::his::HisError;
        use crate::ris::RisError;
        let stale = RemoteFailure::Refused(WireError::Stale {
            accession: "A1".into(),
            status: "arrived".into(),
            version: 3,
        });
        assert!(matches!(
            RisError::from(stale),
            RisError::Stale { version: 3, .. }
        ));
        let duplicate = RemoteFailure::Refused(WireError::PossibleDuplicate {
            candidates: vec![],
            reason: "same name and birth date".into(),
        });
        assert!(matches!(
            HisError::from(duplicate),
            HisError::PossibleDuplicate { .. }
        ));
        let away = RemoteFailure::Unreachable("connection refused".into());
        assert!(matches!(
            RisError::from(away.clone()),
            RisError::Store(StoreError::Unavailable(_))
        ));
        // And back: what the server sends for each lane error.
        let wire = RisError::Conflict("CT 1 is booked 10:00-10:20".into()).to_wire();
        assert_eq!(
            wire,
            WireError::Conflict {
                message: "CT 1 is booked 10:00-10:20".into()
            }
        );
    }
}
