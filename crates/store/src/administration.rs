//! What the Settings screen reads and changes beyond single settings: rooms, users, report
//! templates and the audit log search. Callers authorise and audit (see `crate::administration`).

use rusqlite::params;

use super::access::{AuditEntry, UserRecord};
use super::ris::Room;
use super::{SqlContext, Store, StoreError, StoreResult};

/// Filters for the audit log viewer; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditFilter {
    /// Exact actor (login, `hl7:<app>`, `dicom:<AE>`).
    pub actor: String,
    /// Action prefix (`patient.` finds every patient action).
    pub action: String,
    /// Subject contains (`patient:12`, an accession).
    pub subject: String,
    /// From this UTC date (YYYY-MM-DD), inclusive.
    pub from_date: String,
    /// To this UTC date (YYYY-MM-DD), inclusive.
    pub to_date: String,
    /// Only refused actions.
    pub refused_only: bool,
}

/// A report template row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportTemplate {
    /// Modality it is for ("" = any).
    pub modality: String,
    /// Its name.
    pub name: String,
    /// The text the editor starts from.
    pub body: String,
}

impl Store {
    /// Changes a room's name, modality, scanner AE title and hours.
    pub fn update_room(&self, room: &Room) -> StoreResult<()> {
        let hours_json = serde_json::to_string(&room.hours)
            .map_err(|e| StoreError::Invalid(format!("opening hours: {e}")))?;
        let changed = self
            .cached_execute(
                "UPDATE rooms SET name = ?2, modality = ?3, station_ae = ?4, hours_json = ?5
                 WHERE id = ?1",
                params![
                    room.id,
                    room.name,
                    room.modality,
                    room.station_ae,
                    hours_json
                ],
            )
            .map_err(|e| {
                unique_or(
                    e,
                    "the room name or scanner AE title is used by another room",
                )
            })?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("room {}", room.id)));
        }
        Ok(())
    }

    /// Takes a room out of use (its past bookings stay) or back into use.
    pub fn set_room_active(&self, id: i64, active: bool) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE rooms SET active = ?2 WHERE id = ?1",
            params![id, active],
        )
        .ctx("changing a room")?;
        Ok(())
    }

    /// Every user account, by login.
    pub fn users(&self) -> StoreResult<Vec<UserRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, login, full_name, role, password_hash, active FROM users ORDER BY login",
            )
            .ctx("preparing users")?;
        let rows = stmt
            .query_map([], super::access::user_from_row)
            .ctx("reading users")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading users")
    }

    /// Changes a user's role and whether they may sign in.
    pub fn set_user_access(&self, login: &str, role: &str, active: bool) -> StoreResult<()> {
        let changed = self
            .cached_execute(
                "UPDATE users SET role = ?2, active = ?3 WHERE login = ?1",
                params![login, role, active],
            )
            .ctx("changing a user")?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("user {login}")));
        }
        Ok(())
    }

    /// Replaces a user's password hash.
    pub fn set_password_hash(&self, login: &str, hash: &str) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE users SET password_hash = ?2 WHERE login = ?1",
            params![login, hash],
        )
        .ctx("changing a password")?;
        Ok(())
    }

    /// Every report template, by modality and name.
    pub fn report_templates(&self) -> StoreResult<Vec<ReportTemplate>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT modality, name, body FROM report_templates ORDER BY modality, name",
            )
            .ctx("preparing templates")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ReportTemplate {
                    modality: r.get(0)?,
                    name: r.get(1)?,
                    body: r.get(2)?,
                })
            })
            .ctx("reading templates")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading templates")
    }

    /// Audit entries matching `filter`, newest first, at most `limit`.
    pub fn search_audit(&self, filter: &AuditFilter, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let like = |s: &str| {
            s.trim()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, actor, action, subject, origin, outcome, detail FROM audit_log
                 WHERE (?1 = '' OR actor = ?1)
                   AND (?2 = '' OR action LIKE ?2 || '%' ESCAPE '\\')
                   AND (?3 = '' OR subject LIKE '%' || ?3 || '%' ESCAPE '\\')
                   AND (?4 = '' OR at >= ?4)
                   AND (?5 = '' OR at < ?5 || 'T99')
                   AND (?6 = 0 OR outcome = 'refused')
                 ORDER BY id DESC LIMIT ?7",
            )
            .ctx("preparing the audit search")?;
        let rows = stmt
            .query_map(
                params![
                    filter.actor.trim(),
                    like(&filter.action),
                    like(&filter.subject),
                    filter.from_date.trim(),
                    filter.to_date.trim(),
                    filter.refused_only,
                    limit as i64
                ],
                super::access::audit_from_row,
            )
            .ctx("searching the audit log")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("searching the audit log")
    }
}

fn unique_or(e: rusqlite::Error, message: &str) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Invalid(message.into())
        }
        other => StoreError::Sql {
            context: "changing a room",
            source: other,
        },
    }
}
