//! Users and the audit log: the accounts the practice set up and every read and change made
//! of patient data, by whom, from where.

use rusqlite::{OptionalExtension, Row, params};

use crate::{SqlContext, Store, StoreError, StoreResult};

/// One audit entry to append.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// UTC time (filled by the store when read back).
    pub at: String,
    /// Who: a login, `hl7:<app>`, `dicom:<AE>` or `system`.
    pub actor: String,
    /// What: `patient.read`, `order.place`, …
    pub action: String,
    /// Which record: `patient:12`, `order:LB00000001`.
    pub subject: String,
    /// Where from (workstation, peer).
    pub origin: String,
    /// ok or refused.
    pub outcome: String,
    /// Anything else (never full demographics).
    pub detail: String,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserRecord {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub login: String,
    /// Full name.
    pub full_name: String,
    /// Role code.
    pub role: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// Whether the account may sign in.
    pub active: bool,
}

/// An audit row read as `at, actor, action, subject, origin, outcome, detail`.
pub(crate) fn audit_from_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        at: r.get(0)?,
        actor: r.get(1)?,
        action: r.get(2)?,
        subject: r.get(3)?,
        origin: r.get(4)?,
        outcome: r.get(5)?,
        detail: r.get(6)?,
    })
}

/// A user row read as `id, login, full_name, role, password_hash, active`.
pub(crate) fn user_from_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: r.get(0)?,
        login: r.get(1)?,
        full_name: r.get(2)?,
        role: r.get(3)?,
        password_hash: r.get(4)?,
        active: r.get(5)?,
    })
}

impl Store {
    /// Appends to the audit log.
    pub fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.cached_execute(
            "INSERT INTO audit_log (actor, action, subject, origin, outcome, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                entry.actor,
                entry.action,
                entry.subject,
                entry.origin,
                entry.outcome,
                entry.detail
            ],
        )
        .ctx("writing the audit log")?;
        Ok(())
    }

    /// Audit entries about a subject, oldest first.
    pub fn audit_about(&self, subject: &str) -> StoreResult<Vec<AuditEntry>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, actor, action, subject, origin, outcome, detail FROM audit_log
                 WHERE subject = ?1 ORDER BY id",
            )
            .ctx("preparing the audit query")?;
        let rows = stmt
            .query_map([subject], audit_from_row)
            .ctx("reading the audit log")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading the audit log")
    }

    /// Tries to change an audit entry (always refused by the schema); for tests of that rule.
    pub fn try_rewrite_audit(&self) -> StoreResult<usize> {
        self.cached_execute("UPDATE audit_log SET outcome = 'changed'", [])
            .ctx("rewriting the audit log")
    }

    /// Adds a user.
    pub fn insert_user(
        &self,
        login: &str,
        full_name: &str,
        role: &str,
        password_hash: &str,
    ) -> StoreResult<i64> {
        self.cached_execute(
            "INSERT INTO users (login, full_name, role, password_hash) VALUES (?1, ?2, ?3, ?4)",
            params![login, full_name, role, password_hash],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Invalid(format!(
                    "the login {login} is taken (or the role is unknown)"
                ))
            }
            other => StoreError::Sql {
                context: "adding a user",
                source: other,
            },
        })?;
        Ok(self.conn.last_insert_rowid())
    }

    /// A user by login.
    pub fn user(&self, login: &str) -> StoreResult<Option<UserRecord>> {
        self.cached_query_row(
            "SELECT id, login, full_name, role, password_hash, active FROM users WHERE login = ?1",
            [login],
            user_from_row,
        )
        .optional()
        .ctx("reading a user")
    }
}

/// A live session of the network API, as read for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSession {
    /// Whose session.
    pub login: String,
    /// Where it was opened from (the workstation's address).
    pub origin: String,
    /// When it ends (UTC, RFC 3339).
    pub expires_at: String,
    /// The paired workstation it was opened from, if any.
    pub workstation: Option<i64>,
}

impl Store {
    /// Keeps a new session by its token's hash.
    pub fn insert_api_session(
        &self,
        token_hash: &str,
        login: &str,
        origin: &str,
        expires_at: &str,
        workstation: Option<i64>,
    ) -> StoreResult<()> {
        self.cached_execute(
            "INSERT INTO api_sessions (token_hash, login, origin, expires_at, workstation_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![token_hash, login, origin, expires_at, workstation],
        )
        .ctx("keeping an API session")?;
        Ok(())
    }

    /// The session of a token's hash, unless revoked, past `now` (RFC 3339, UTC) or opened
    /// from a workstation since revoked.
    pub fn live_api_session(&self, token_hash: &str, now: &str) -> StoreResult<Option<ApiSession>> {
        self.cached_query_row(
            "SELECT s.login, s.origin, s.expires_at, s.workstation_id FROM api_sessions s
               LEFT JOIN workstations w ON w.id = s.workstation_id
              WHERE s.token_hash = ?1 AND s.revoked = 0 AND s.expires_at > ?2
                AND w.revoked_at IS NULL",
            [token_hash, now],
            |r| {
                Ok(ApiSession {
                    login: r.get(0)?,
                    origin: r.get(1)?,
                    expires_at: r.get(2)?,
                    workstation: r.get(3)?,
                })
            },
        )
        .optional()
        .ctx("reading an API session")
    }

    /// Ends one session (sign-out); true if it was live.
    pub fn revoke_api_session(&self, token_hash: &str) -> StoreResult<bool> {
        let n = self
            .cached_execute(
                "UPDATE api_sessions SET revoked = 1 WHERE token_hash = ?1 AND revoked = 0",
                [token_hash],
            )
            .ctx("ending an API session")?;
        Ok(n > 0)
    }

    /// Ends every session of a user (their account was disabled or their password reset).
    pub fn revoke_api_sessions_of(&self, login: &str) -> StoreResult<usize> {
        self.cached_execute(
            "UPDATE api_sessions SET revoked = 1 WHERE login = ?1 AND revoked = 0",
            [login],
        )
        .ctx("ending a user's API sessions")
    }
}
