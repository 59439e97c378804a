//! Who may do what: user accounts (argon2-hashed passwords), roles, the permission check every
//! domain action makes, and the audit trail of patient data. Interfaces act as system actors
//! (`hl7:<app>`, `dicom:<AE>`) with the rights their role gives.

pub mod peers;
pub mod sessions;
pub mod workstations;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash};

use crate::store::access::AuditEntry;
use crate::store::{Store, StoreError};

/// A role shapes what a user sees and may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Role {
    /// Registration, orders, scheduling.
    FrontDesk,
    /// Runs the day's exams.
    Technologist,
    /// Reads and reports.
    Radiologist,
    /// Sets everything up; may do everything.
    Administrator,
    /// An interface (HL7 feed, scanner): what the interface's messages may do.
    Interface,
}

impl Role {
    /// Stored name.
    pub fn code(self) -> &'static str {
        match self {
            Role::FrontDesk => "front_desk",
            Role::Technologist => "technologist",
            Role::Radiologist => "radiologist",
            Role::Administrator => "administrator",
            Role::Interface => "interface",
        }
    }

    /// The role a stored name stands for.
    pub fn from_code(code: &str) -> Option<Role> {
        [
            Role::FrontDesk,
            Role::Technologist,
            Role::Radiologist,
            Role::Administrator,
            Role::Interface,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

/// Why a list is read: a person opened it (or changed what it shows), which the audit log
/// records, or the window read it again because the data changed underneath, which it does not
/// (the person did nothing; one entry per opening, not one per refresh).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReadOccasion {
    /// The person opened the list or changed its filter: audited.
    Opened,
    /// Read again after a change elsewhere: permission checked, not audited again.
    Refreshed,
}

/// What someone wants to do (checked against their role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See a patient's record.
    ReadPatient,
    /// Register or edit a patient.
    EditPatient,
    /// Merge two patients (or undo a merge).
    MergePatients,
    /// Place, change or cancel an order.
    ManageOrders,
    /// Book, move, cancel appointments; record no-shows.
    Schedule,
    /// Arrive a patient, start and complete exams.
    PerformExam,
    /// Write and sign reports.
    Report,
    /// Rooms, catalogue, users, settings.
    Administer,
}

impl Role {
    /// Whether this role may do `action`.
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Administrator => true,
            Role::FrontDesk => {
                matches!(action, ReadPatient | EditPatient | ManageOrders | Schedule)
            }
            Role::Technologist => matches!(action, ReadPatient | PerformExam | Schedule),
            Role::Radiologist => matches!(action, ReadPatient | Report | PerformExam),
            Role::Interface => matches!(
                action,
                ReadPatient
                    | EditPatient
                    | MergePatients
                    | ManageOrders
                    | Schedule
                    | PerformExam
                    | Report
            ),
        }
    }
}

/// Someone acting: a signed-in user or an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Login, or `hl7:<app>` / `dicom:<AE>` / `system`.
    pub login: String,
    /// Role.
    pub role: Role,
    /// Where from: workstation name or peer address.
    pub origin: String,
}

impl Actor {
    /// The program itself (start-up seeding, recovery).
    pub fn system() -> Actor {
        Actor {
            login: "system".into(),
            role: Role::Administrator,
            origin: "local".into(),
        }
    }
}

/// Errors of this lane.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The role does not allow the action (it was written to the audit log as refused).
    #[error("{login} ({role}) may not {action:?}")]
    Forbidden {
        /// Who.
        login: String,
        /// Their role.
        role: &'static str,
        /// What.
        action: Action,
    },
    /// Not possible in the current state (e.g. a second "first administrator").
    #[error("{0}")]
    Denied(String),
    /// Unknown login, inactive account or wrong password (one message for all three).
    #[error("unknown user or wrong password")]
    BadCredentials,
    /// A password that cannot be accepted.
    #[error("{0}")]
    WeakPassword(String),
    /// The network API was reached from a computer that is not a paired workstation, or one
    /// that was revoked (or the pairing code was wrong, used or expired).
    #[error("{0}")]
    Workstation(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Checks `actor` may do `action` on `subject`; a refusal is audited, then returned.
pub fn authorise(
    store: &Store,
    actor: &Actor,
    action: Action,
    subject: &str,
) -> Result<(), AccessError> {
    if actor.role.may(action) {
        return Ok(());
    }
    audit(
        store,
        actor,
        &format!("{action:?}"),
        subject,
        "refused",
        "role does not allow it",
    )?;
    Err(AccessError::Forbidden {
        login: actor.login.clone(),
        role: actor.role.code(),
        action,
    })
}

/// Appends an audit entry for `actor`.
pub fn audit(
    store: &Store,
    actor: &Actor,
    action: &str,
    subject: &str,
    outcome: &str,
    detail: &str,
) -> Result<(), StoreError> {
    store.audit(&AuditEntry {
        at: String::new(),
        actor: actor.login.clone(),
        action: action.to_string(),
        subject: subject.to_string(),
        origin: actor.origin.clone(),
        outcome: outcome.to_string(),
        detail: detail.to_string(),
    })
}

/// Creates a user with an argon2id password hash.
pub fn create_user(
    store: &Store,
    by: &Actor,
    login: &str,
    full_name: &str,
    role: Role,
    password: &str,
) -> Result<i64, AccessError> {
    authorise(store, by, Action::Administer, &format!("user:{login}"))?;
    if password.chars().count() < 10 {
        return Err(AccessError::WeakPassword(
            "a password needs at least 10 characters".into(),
        ));
    }
    if role == Role::Interface {
        return Err(AccessError::WeakPassword(
            "interfaces are not user accounts".into(),
        ));
    }
    let hash = hash_password(password)?;
    let id = store.insert_user(login, full_name, role.code(), &hash)?;
    audit(
        store,
        by,
        "user.create",
        &format!("user:{login}"),
        "ok",
        role.code(),
    )?;
    Ok(id)
}

/// An argon2id hash of a new password, refusing one shorter than 10 characters.
pub fn hash_password(password: &str) -> Result<String, AccessError> {
    if password.chars().count() < 10 {
        return Err(AccessError::WeakPassword(
            "a password needs at least 10 characters".into(),
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AccessError::Hash(e.to_string()))?
        .to_string())
}

/// Signs a user in: the actor they act as from now on.
pub fn sign_in(
    store: &Store,
    login: &str,
    password: &str,
    origin: &str,
) -> Result<Actor, AccessError> {
    let user = store.user(login)?.filter(|u| u.active);
    let verified = user.as_ref().and_then(|u| {
        let parsed = PasswordHash::new(&u.password_hash).ok()?;
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .ok()
            .map(|_| u)
    });
    let outcome_actor = Actor {
        login: login.to_string(),
        role: Role::FrontDesk,
        origin: origin.to_string(),
    };
    match verified.and_then(|u| Role::from_code(&u.role).map(|r| (u, r))) {
        Some((u, role)) => {
            let actor = Actor {
                login: u.login.clone(),
                role,
                origin: origin.to_string(),
            };
            audit(
                store,
                &actor,
                "user.sign_in",
                &format!("user:{login}"),
                "ok",
                "",
            )?;
            Ok(actor)
        }
        None => {
            audit(
                store,
                &outcome_actor,
                "user.sign_in",
                &format!("user:{login}"),
                "refused",
                "",
            )?;
            Err(AccessError::BadCredentials)
        }
    }
}

/// Creates the practice's first administrator; refused once any account exists (later
/// accounts are made by an administrator with [`create_user`]).
pub fn create_first_administrator(
    store: &Store,
    login: &str,
    full_name: &str,
    password: &str,
) -> Result<Actor, AccessError> {
    if store.user_count()? > 0 {
        return Err(AccessError::Denied(
            "the first administrator already exists; sign in".into(),
        ));
    }
    create_user(
        store,
        &Actor::system(),
        login,
        full_name,
        Role::Administrator,
        password,
    )?;
    sign_in(store, login, password, "first run")
}
