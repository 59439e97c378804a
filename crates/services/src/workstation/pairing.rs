//! Pairing a workstation with the practice server, and remembering it.
//!
//! The workstation fetches the practice CA without trusting anything, checks its SHA-256
//! fingerprint against the first half of the one-time code *before* sending anything (a
//! machine in between, with its own CA, is caught here), pins it, then sends the code and
//! keeps the credential it gets back in `<folder>/server.json` (readable by its owner only).

use std::path::{Path, PathBuf};
use std::time::Duration;

use lightbox_domain::access::workstations::code_fits_ca;

/// The file a paired workstation keeps its server in.
const PAIRED_FILE: &str = "server.json";

/// A server this workstation is paired with: where it is, its CA, and the credential.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct PairedServer {
    /// `https://HOST:PORT`.
    pub server: String,
    /// The practice CA, pinned: the only certificate authority the workstation trusts.
    pub ca_pem: String,
    /// The workstation's credential (a secret: sent with every sign-in).
    pub credential: String,
    /// The name the server knows this workstation by.
    pub name: String,
}

impl std::fmt::Debug for PairedServer {
    // The credential stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairedServer")
            .field("server", &self.server)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Why pairing did not happen, in words for the person at the workstation.
#[derive(Debug, thiserror::Error)]
pub enum PairingError {
    /// The address is not an `https://` URL.
    #[error("the server's address must look like https://HOST:PORT (it was {0:?})")]
    Address(String),
    /// The server could not be reached.
    #[error("the server at {server} cannot be reached: {why}")]
    Unreachable {
        /// The address tried.
        server: String,
        /// What went wrong.
        why: String,
    },
    /// The CA the server showed does not fit the code: someone may be in between.
    #[error(
        "the server's certificate does not fit this code: check the address and the code; \
         if both are right, someone may be between this computer and the server"
    )]
    WrongCa,
    /// The server refused the code.
    #[error("the server refused the code: {0}")]
    Refused(String),
    /// The kept pairing could not be read or written.
    #[error("{0}")]
    Saved(String),
}

impl PairedServer {
    fn file(folder: &Path) -> PathBuf {
        folder.join(PAIRED_FILE)
    }

    /// The pairing kept in `folder`, if there is one.
    pub fn load(folder: &Path) -> Result<Option<PairedServer>, PairingError> {
        let path = PairedServer::file(folder);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| PairingError::Saved(format!("{} is unreadable: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PairingError::Saved(format!(
                "{} cannot be read: {e}",
                path.display()
            ))),
        }
    }

    /// The SHA-256 fingerprint of the pinned practice CA (the first half of every pairing
    /// code the server makes), for an administrator pairing another workstation from here.
    pub fn ca_fingerprint(&self) -> Result<Vec<u8>, PairingError> {
        fingerprint_of(&self.ca_pem)
            .ok_or_else(|| PairingError::Saved("the kept practice CA is unreadable".into()))
    }

    /// Keeps the pairing in `folder` (written whole, then renamed into place).
    pub fn save(&self, folder: &Path) -> Result<(), PairingError> {
        let failed = |e: std::io::Error| {
            PairingError::Saved(format!(
                "the pairing cannot be kept in {}: {e}",
                folder.display()
            ))
        };
        std::fs::create_dir_all(folder).map_err(failed)?;
        let text =
            serde_json::to_string_pretty(self).map_err(|e| PairingError::Saved(e.to_string()))?;
        let temporary = folder.join(format!("{PAIRED_FILE}.new"));
        std::fs::write(&temporary, text).map_err(failed)?;
        owner_only(&temporary).map_err(failed)?;
        std::fs::rename(&temporary, PairedServer::file(folder)).map_err(failed)
    }
}

/// The SHA-256 of a PEM certificate's DER: what pairing codes check (`None`: not a
/// certificate).
fn fingerprint_of(pem: &str) -> Option<Vec<u8>> {
    let ca = ureq::tls::Certificate::from_pem(pem.as_bytes()).ok()?;
    Some(
        ring::digest::digest(&ring::digest::SHA256, ca.der())
            .as_ref()
            .to_vec(),
    )
}

/// Only the file's owner may read it (it holds the credential).
#[cfg(unix)]
fn owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// Windows: the file lives in the user's own profile folder, whose ACL admits only that user
/// and administrators already.
#[cfg(not(unix))]
fn owner_only(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Pairs this computer with the server at `server` using the one-time `code` shown there
/// (the server's administrator named the workstation when making the code).
pub fn pair(server: &str, code: &str) -> Result<PairedServer, PairingError> {
    let server = server.trim().trim_end_matches('/').to_string();
    if !server.starts_with("https://") || server.len() <= "https://".len() {
        return Err(PairingError::Address(server));
    }
    let unreachable = |e: ureq::Error| PairingError::Unreachable {
        server: server.clone(),
        why: e.to_string(),
    };
    // 1. The CA as the server hands it out, trusting nothing yet.
    let blind = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .disable_verification(true)
                .build(),
        )
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(15)))
        .build()
        .new_agent();
    let ca_pem = blind
        .get(format!("{server}/api/v1/tls/ca.pem"))
        .call()
        .map_err(unreachable)?
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .map_err(unreachable)?;
    // 2. Does it fit the code? Nothing is sent before this holds.
    let fingerprint = fingerprint_of(&ca_pem).ok_or(PairingError::WrongCa)?;
    if !code_fits_ca(code, &fingerprint) {
        tracing::warn!(server = %server, "pairing stopped: the server's CA does not fit the code");
        return Err(PairingError::WrongCa);
    }
    // 3. Pinned: send the code.
    let mut pending = PairedServer {
        server: server.clone(),
        ca_pem,
        credential: String::new(),
        name: String::new(),
    };
    let pinned = super::agent(
        &pending,
        Duration::from_secs(15),
        Some(Duration::from_secs(30)),
    )?;
    let mut answer = pinned
        .post(format!("{server}/api/v1/workstations/pair"))
        .send_json(serde_json::json!({ "code": code }))
        .map_err(unreachable)?;
    let status = answer.status().as_u16();
    let body: serde_json::Value = answer.body_mut().read_json().unwrap_or_default();
    if status != 201 {
        let why = body
            .get("error")
            .and_then(|e| e.as_str())
            .unwrap_or("no reason given")
            .to_string();
        return Err(PairingError::Refused(why));
    }
    let field = |key: &str| {
        body.get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| PairingError::Refused(format!("the server's answer has no {key}")))
    };
    pending.credential = field("credential")?;
    pending.name = field("name")?;
    tracing::info!(server = %server, name = %pending.name, "paired with the practice server");
    Ok(pending)
}
