//! The Practice API: the one door the desktop window and the command line (and, next, the
//! practice server) go through. Every call names who acts; the permission check and the audit
//! row happen here or in the lane function it calls, once. The SQLite store is held privately:
//! a front end holding a `Practice` can do what the practice allows and nothing more, and a
//! crate that depends only on `lightbox-domain` cannot name `Store` at all.
//!
//! The methods are grouped by the lane they open onto: `patients` (HIS), `orders` (orders,
//! scheduling, exams), `reading` (worklist, reports, priors), `images` (the archive index and
//! the viewer's annotations, protocols and key images), `integration` (HL7 sources and
//! queues, reconciliation), `billing` and `administration` (set-up, users, settings, audit).
//! Plain practice facts a screen needs before anyone signs in (the practice's name, whether it
//! is the demo) need no actor.

mod administration;
mod answer;
mod billing;
mod images;
mod integration;
mod orders;
mod patients;
mod reading;
pub mod remote;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::access::{self, AccessError, Action, Actor};
use crate::archive::ArchiveFolder;
use crate::changes::JournalEntry;
use crate::store::{Store, StoreError};

pub use administration::{FirstRun, SetUpError};

/// The login the operating system's administrator acts under (audit rows say so).
pub const OS_ADMINISTRATOR: &str = "os-administrator";
pub use integration::DeliveryTrouble;
pub use patients::{MergePreview, PatientChart};
use remote::{PracticeLink, forward};

/// The practice as its staff and interfaces act on it: its database, the archive beside it
/// and where printed documents go — or, on a workstation, the practice server standing for
/// all three.
pub struct Practice {
    /// The practice's database; on a workstation an empty stand-in that refuses writes (every
    /// call is forwarded before it could reach it).
    store: Store,
    /// On a workstation: the server every call is forwarded to.
    link: Option<Arc<dyn PracticeLink>>,
}

impl Practice {
    /// Opens the practice whose database is at `database` (the archive and the exports folder
    /// live beside it).
    pub fn open(database: &Path) -> Result<Practice, StoreError> {
        Ok(Practice::over(Store::open(database)?))
    }

    /// The practice over an open store (the wiring and tests open it; front ends receive the
    /// `Practice`).
    pub fn over(store: Store) -> Practice {
        Practice { store, link: None }
    }

    /// A workstation's practice: every call goes to the server through `link`. `folder` is
    /// the workstation's own data folder (its image cache and exports; no patient database).
    pub fn remote(link: Arc<dyn PracticeLink>, folder: &Path) -> Result<Practice, StoreError> {
        std::fs::create_dir_all(folder)
            .map_err(|e| StoreError::Invalid(format!("cannot create {}: {e}", folder.display())))?;
        Ok(Practice {
            store: Store::open_inert(&folder.join("workstation.db"))?,
            link: Some(link),
        })
    }

    /// Whether this is a workstation of a practice server (some screens say where they are).
    pub fn server(&self) -> Option<String> {
        self.link.as_ref().map(|l| l.server())
    }

    /// Why the practice server cannot be reached right now, for the window's banner (`None`
    /// on the server's own computer and while it answers).
    pub fn connection_trouble(&self) -> Option<String> {
        self.link.as_ref().and_then(|l| l.trouble())
    }

    /// Whether the server ended the session this workstation was signed in with (the window
    /// then asks to sign in again). Never on the server's own computer.
    pub fn session_ended(&self) -> bool {
        self.link.as_ref().is_some_and(|l| l.session_ended())
    }

    /// A second door onto the same practice, for another thread (the viewer's loader).
    pub fn reopen(&self) -> Result<Practice, StoreError> {
        Ok(Practice {
            store: match &self.link {
                Some(_) => Store::open_inert(self.store.path())?,
                None => self.store.reopen()?,
            },
            link: self.link.clone(),
        })
    }

    /// Refuses a call that only the server's own computer makes.
    fn local_only(&self, call: &'static str) -> Result<(), remote::RemoteFailure> {
        match self.link {
            Some(_) => Err(remote::RemoteFailure::ServerOnly(call)),
            None => Ok(()),
        }
    }

    /// The folder holding the database (the data folder).
    fn folder(&self) -> PathBuf {
        self.store
            .path()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// The database file, for a service that opens its own connection to it (the server's
    /// prior fetch for a workstation).
    pub fn database(&self) -> PathBuf {
        self.store.path().to_path_buf()
    }

    /// The archive beside the database, as a reader (the services own writing and clean-up).
    pub fn archive(&self) -> ArchiveFolder {
        ArchiveFolder::at(&self.folder().join("archive"))
    }

    /// The archive's disk when it is running out of space (the status bar warns), at the level
    /// the practice set.
    pub fn low_disk_space(&self) -> Option<crate::archive::disk_space::LowDiskSpace> {
        forward!(self, "low_disk_space");
        use crate::archive::disk_space as disk;
        let warn_gib = self.setting_or(
            disk::LOW_DISK_WARNING_SETTING,
            disk::DEFAULT_LOW_DISK_WARNING_GIB,
        );
        disk::low_disk_space(&self.folder().join("archive"), warn_gib)
    }

    /// The `exports/` folder beside the database, where printed and exported files go.
    pub fn exports_folder(&self) -> PathBuf {
        self.folder().join("exports")
    }

    /// A number that changes whenever another connection commits: the window reads again
    /// when it does (an HL7 order, an arriving study, a failed ORU).
    pub fn data_version(&self) -> i64 {
        if let Some(link) = &self.link {
            return link.changes_seen();
        }
        self.store.data_version().unwrap_or(0)
    }

    /// A practice setting (not patient data: names, ports, preferences).
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        forward!(self, "setting", key);
        self.store.setting(key)
    }

    /// Signs a user in for the network API and opens a session (its bearer token). A
    /// workstation's sign-in carries its credential: an unknown or revoked one is refused
    /// before the password is looked at.
    pub fn open_api_session(
        &self,
        login: &str,
        password: &str,
        origin: &str,
        workstation_credential: Option<&str>,
    ) -> Result<access::sessions::OpenedSession, AccessError> {
        self.local_only("opening a session")?;
        let workstation = match workstation_credential {
            Some(credential) => {
                match access::workstations::workstation_of(&self.store, credential) {
                    Ok(w) => Some(w),
                    Err(refused) => {
                        access::audit(
                            &self.store,
                            &Actor {
                                login: login.chars().take(64).collect(),
                                role: access::Role::Interface,
                                origin: origin.to_string(),
                            },
                            "api.session_open",
                            "workstations",
                            "refused",
                            "not a paired workstation",
                        )?;
                        return Err(refused);
                    }
                }
            }
            None => None,
        };
        // The audit names the workstation as well as its address: where a hand-off broke is
        // "the front desk's PC", not an IP the practice has to look up.
        let origin = match &workstation {
            Some(w) => format!("workstation \"{}\" at {origin}", w.name),
            None => origin.to_string(),
        };
        access::sessions::open_session(
            &self.store,
            login,
            password,
            &origin,
            workstation.map(|w| w.id),
            chrono::Utc::now(),
        )
    }

    /// Starts pairing a workstation: the one-time code to show (administrators).
    /// `ca_fingerprint` is the SHA-256 of the practice CA's certificate.
    pub fn start_workstation_pairing(
        &self,
        actor: &Actor,
        name: &str,
        ca_fingerprint: &[u8],
    ) -> Result<access::workstations::PairingCode, AccessError> {
        forward!(self, "start_workstation_pairing", name, ca_fingerprint);
        access::workstations::start_pairing(
            &self.store,
            actor,
            name,
            ca_fingerprint,
            chrono::Utc::now(),
        )
    }

    /// Completes a pairing with the code a workstation sent; its credential.
    pub fn pair_workstation(
        &self,
        code: &str,
        ca_fingerprint: &[u8],
        origin: &str,
    ) -> Result<access::workstations::PairedWorkstation, AccessError> {
        self.local_only("pairing")?;
        access::workstations::complete_pairing(
            &self.store,
            code,
            ca_fingerprint,
            origin,
            chrono::Utc::now(),
        )
    }

    /// Every workstation, pending, paired and revoked (administrators).
    pub fn workstations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<crate::store::workstations::WorkstationRecord>, AccessError> {
        forward!(self, "workstations");
        access::workstations::list(&self.store, actor)
    }

    /// Revokes a workstation: its sessions end at once (administrators). False if it already
    /// was.
    pub fn revoke_workstation(&self, actor: &Actor, id: i64) -> Result<bool, AccessError> {
        forward!(self, "revoke_workstation", id);
        access::workstations::revoke(&self.store, actor, id, chrono::Utc::now())
    }

    /// The user a bearer token stands for (every API request), if its session is live.
    pub fn api_actor(&self, token: &str) -> Result<Actor, AccessError> {
        self.local_only("checking a session")?;
        access::sessions::session_actor(&self.store, token, chrono::Utc::now())
    }

    /// Ends a session (sign-out).
    pub fn close_api_session(&self, actor: &Actor, token: &str) -> Result<(), AccessError> {
        self.local_only("ending a session")?;
        access::sessions::close_session(&self.store, actor, token)
    }

    /// The acting user's own preference (a layout choice), if they made one. A person reads
    /// and writes only their own, without a permission: it is neither patient data nor a
    /// practice setting.
    pub fn preference(&self, actor: &Actor, key: &str) -> Option<String> {
        forward!(self, "preference", key);
        self.store
            .user_preference(&actor.login, key)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, key, "a user preference could not be read");
                None
            })
    }

    /// Keeps the acting user's own preference.
    pub fn set_preference(&self, actor: &Actor, key: &str, value: &str) -> Result<(), StoreError> {
        forward!(self, "set_preference", key, value);
        self.store.set_user_preference(&actor.login, key, value)
    }

    /// A setting as a number, or `default` when unset or unreadable.
    pub fn setting_or(&self, key: &str, default: u64) -> u64 {
        forward!(self, "setting_or", key, default);
        self.store
            .setting(key)
            .ok()
            .flatten()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }

    /// The practice's name (the window title and the sign-in screen).
    pub fn name(&self) -> String {
        forward!(self, "name");
        self.setting(crate::site::PRACTICE_NAME_SETTING)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Whether this is the throw-away demo practice (the sign-in screen lists its accounts).
    pub fn is_demo(&self) -> bool {
        forward!(self, "is_demo");
        crate::demo::is_demo(&self.store)
    }

    /// Whether the practice has no user yet: the first run creates its administrator.
    pub fn needs_first_run(&self) -> bool {
        // A workstation's server was set up on its own computer.
        if self.link.is_some() {
            return false;
        }
        self.store.user_count().map(|n| n == 0).unwrap_or(false)
    }

    /// Signs a person in; `origin` names the workstation or front end ("desktop", "command
    /// line"). Audited by [`access::sign_in`].
    pub fn sign_in(&self, login: &str, password: &str, origin: &str) -> Result<Actor, AccessError> {
        if let Some(link) = &self.link {
            // The server audits the sign-in with the workstation's address as its origin.
            return Ok(link.sign_in(login, password)?);
        }
        access::sign_in(&self.store, login, password, origin)
    }

    /// Signs the person out. On a workstation their session at the server ends at once (the
    /// next person signs in afresh); the window itself forgets them either way.
    pub fn sign_out(&self, actor: &Actor) {
        if let Some(link) = &self.link {
            tracing::info!(login = %actor.login, "signing out at the practice server");
            link.sign_out();
        }
    }

    /// The practice's letterhead for printed documents.
    pub fn letterhead(&self) -> crate::documents::Letterhead {
        forward!(self, "letterhead");
        crate::documents::letterhead(&self.store)
    }

    /// The actor for someone the operating system says is its administrator (root, an
    /// elevated account): the practice's administrator role, under the login
    /// [`OS_ADMINISTRATOR`], recorded as such in the audit log. `origin` says how it was
    /// recognised. Only the wiring of a local front end may call it, after asking the OS.
    pub fn act_as_os_administrator(&self, origin: &str) -> Result<Actor, StoreError> {
        self.local_only("acting as the operating system's administrator")?;
        let actor = Actor {
            login: OS_ADMINISTRATOR.into(),
            role: access::Role::Administrator,
            origin: origin.into(),
        };
        access::audit(
            &self.store,
            &actor,
            "user.os_administrator",
            "cli",
            "ok",
            "",
        )?;
        Ok(actor)
    }

    /// Every service's last reported state (the status bar and `lightbox status`).
    pub fn service_health(&self) -> Result<Vec<crate::records::health::ServiceHealth>, StoreError> {
        forward!(self, "service_health");
        self.store.service_health()
    }

    /// Checks `actor` may do `action` (a refusal is audited) — for the calls below that read
    /// the store directly.
    fn allow(&self, actor: &Actor, action: Action, subject: &str) -> Result<(), AccessError> {
        access::authorise(&self.store, actor, action, subject)
    }

    /// Records that `actor` read `subject` (reads of patient data are audited, never their
    /// content).
    fn audit_read(&self, actor: &Actor, action: &str, subject: &str, detail: &str) {
        if let Err(e) = access::audit(&self.store, actor, action, subject, "ok", detail) {
            tracing::error!(error = %e, action, "a read could not be audited");
        }
    }

    /// Follows the practice's changes: up to `limit` after `cursor`, and the next cursor.
    /// Start at [`Practice::changes_head`].
    pub fn changes_after(
        &self,
        cursor: i64,
        limit: usize,
    ) -> Result<(Vec<JournalEntry>, i64), StoreError> {
        forward!(self, "changes_after", cursor, limit);
        crate::changes::after(&self.store, cursor, limit)
    }

    /// Where a new follower of the changes starts (after everything recorded so far).
    pub fn changes_head(&self) -> i64 {
        forward!(self, "changes_head");
        crate::changes::head(&self.store).unwrap_or(0)
    }
}

/// Why a Practice API call did not happen: refused, invalid, or the store failed. Lane errors
/// keep their own enums; calls that only read carry this one.
#[derive(Debug, thiserror::Error)]
pub enum PracticeError {
    /// Not allowed (the refusal is in the audit log).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request itself is wrong (unknown MRN, no such node), in words for the user.
    #[error("{0}")]
    Invalid(String),
}
