//! Setting the practice up (the Settings screen and the CLI): settings, rooms and their hours,
//! the procedure catalogue, report templates, DICOM nodes, user accounts, and reading the
//! audit log. Every change needs the administrator's permission and is written to the audit
//! log, so "who changed the CT room's hours" has an answer.

use crate::access::{self, AccessError, Action, Actor, Role};
use crate::store::access::AuditEntry;
use crate::store::administration::{AuditFilter, ReportTemplate};
use crate::store::nodes::DicomNode;
use crate::store::ris::{Procedure, Room};
use crate::store::{Store, StoreError};

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The user may not administer, or the account rules refuse it.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The value cannot be used; the text says what is expected.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn authorise(store: &Store, actor: &Actor, subject: &str) -> Result<(), AdminError> {
    access::authorise(store, actor, Action::Administer, subject)?;
    Ok(())
}

/// Changes one setting after checking its value (so a typo cannot stop the services).
pub fn change_setting(
    store: &Store,
    actor: &Actor,
    key: &str,
    value: &str,
) -> Result<(), AdminError> {
    let subject = format!("setting:{key}");
    authorise(store, actor, &subject)?;
    crate::settings::validate(key, value).map_err(AdminError::Invalid)?;
    store.set_setting(key, value)?;
    access::audit(store, actor, "setting.change", &subject, "ok", value)?;
    crate::changes::record(
        store,
        actor,
        &crate::changes::Change::SettingChanged { key: key.into() },
    )?;
    Ok(())
}

/// Checks opening hours: "HH:MM-HH:MM" with open before close, or "" for closed.
pub fn check_hours(text: &str) -> Result<(), AdminError> {
    if text.trim().is_empty() {
        return Ok(());
    }
    let parse = |t: &str| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").ok();
    match text.split_once('-').map(|(a, b)| (parse(a), parse(b))) {
        Some((Some(open), Some(close))) if open < close => Ok(()),
        _ => Err(AdminError::Invalid(format!(
            "opening hours {text:?}: write them as 08:00-18:00, or leave empty when closed"
        ))),
    }
}

fn check_room(room: &Room) -> Result<(), AdminError> {
    if room.name.trim().is_empty() {
        return Err(AdminError::Invalid("a room needs a name".into()));
    }
    if room.modality.trim().is_empty() || room.modality.len() > 16 {
        return Err(AdminError::Invalid(
            "a room needs its modality code (CT, MR, DX…)".into(),
        ));
    }
    crate::settings::check_ae_title(room.station_ae.trim())
        .map_err(|e| AdminError::Invalid(format!("the scanner's AE title: {e}")))?;
    room.hours.iter().try_for_each(|h| check_hours(h))
}

/// Adds a room; returns its id.
pub fn add_room(store: &Store, actor: &Actor, room: &Room) -> Result<i64, AdminError> {
    let subject = format!("room:{}", room.name);
    authorise(store, actor, &subject)?;
    check_room(room)?;
    let id = store
        .insert_room(
            room.name.trim(),
            &room.modality.trim().to_uppercase(),
            room.station_ae.trim(),
            &room.hours,
        )
        .map_err(|e| match e {
            StoreError::Sql { .. } => AdminError::Invalid(
                "the room name or scanner AE title is used by another room".into(),
            ),
            other => other.into(),
        })?;
    access::audit(
        store,
        actor,
        "room.add",
        &subject,
        "ok",
        &room.hours.join(","),
    )?;
    Ok(id)
}

/// Changes a room (name, modality, scanner, hours). Existing bookings keep their times.
pub fn change_room(store: &Store, actor: &Actor, room: &Room) -> Result<(), AdminError> {
    let subject = format!("room:{}", room.id);
    authorise(store, actor, &subject)?;
    check_room(room)?;
    store.update_room(room)?;
    access::audit(
        store,
        actor,
        "room.change",
        &subject,
        "ok",
        &room.hours.join(","),
    )?;
    Ok(())
}

/// Takes a room out of use.
pub fn retire_room(store: &Store, actor: &Actor, room_id: i64) -> Result<(), AdminError> {
    let subject = format!("room:{room_id}");
    authorise(store, actor, &subject)?;
    store.set_room_active(room_id, false)?;
    access::audit(store, actor, "room.retire", &subject, "ok", "")?;
    Ok(())
}

/// Adds or changes a catalogue entry.
pub fn save_procedure(store: &Store, actor: &Actor, p: &Procedure) -> Result<(), AdminError> {
    let subject = format!("procedure:{}", p.code);
    authorise(store, actor, &subject)?;
    if p.code.trim().is_empty() || p.name.trim().is_empty() {
        return Err(AdminError::Invalid(
            "a procedure needs a code and a name".into(),
        ));
    }
    if p.modality.trim().is_empty() {
        return Err(AdminError::Invalid(
            "a procedure needs its modality (CT, MR, DX…)".into(),
        ));
    }
    if !(5..=480).contains(&p.duration_minutes) {
        return Err(AdminError::Invalid(
            "the duration is 5 to 480 minutes".into(),
        ));
    }
    if p.charge_cents < 0 {
        return Err(AdminError::Invalid("the charge cannot be negative".into()));
    }
    store.put_procedure(p)?;
    access::audit(store, actor, "procedure.save", &subject, "ok", &p.name)?;
    Ok(())
}

/// Adds or changes a report template.
pub fn save_template(store: &Store, actor: &Actor, t: &ReportTemplate) -> Result<(), AdminError> {
    let subject = format!("template:{}:{}", t.modality, t.name);
    authorise(store, actor, &subject)?;
    if t.name.trim().is_empty() || t.body.trim().is_empty() {
        return Err(AdminError::Invalid(
            "a template needs a name and some text".into(),
        ));
    }
    store.put_report_template(t.modality.trim(), t.name.trim(), &t.body)?;
    access::audit(store, actor, "template.save", &subject, "ok", "")?;
    Ok(())
}

/// Adds or changes a DICOM node.
pub fn save_node(store: &Store, actor: &Actor, node: &DicomNode) -> Result<(), AdminError> {
    let subject = format!("node:{}", node.name);
    authorise(store, actor, &subject)?;
    if node.host.trim().is_empty() || node.port == 0 {
        return Err(AdminError::Invalid("a node needs its host and port".into()));
    }
    store.save_node(node).map_err(|e| match e {
        StoreError::Invalid(m) => AdminError::Invalid(m),
        other => other.into(),
    })?;
    access::audit(
        store,
        actor,
        "node.save",
        &subject,
        "ok",
        &format!("{}@{}:{}", node.ae_title, node.host, node.port),
    )?;
    Ok(())
}

/// Removes a DICOM node.
pub fn remove_node(store: &Store, actor: &Actor, name: &str) -> Result<(), AdminError> {
    let subject = format!("node:{name}");
    authorise(store, actor, &subject)?;
    store.remove_node(name)?;
    access::audit(store, actor, "node.remove", &subject, "ok", "")?;
    Ok(())
}

/// Changes a user's role or whether they may sign in. The practice always keeps one active
/// administrator, so nobody can lock everyone out of Settings.
pub fn change_user(
    store: &Store,
    actor: &Actor,
    login: &str,
    role: Role,
    active: bool,
) -> Result<(), AdminError> {
    let subject = format!("user:{login}");
    authorise(store, actor, &subject)?;
    if role == Role::Interface {
        return Err(AdminError::Invalid(
            "interfaces are not user accounts".into(),
        ));
    }
    let admins_left = store
        .users()?
        .iter()
        .filter(|u| u.active && u.role == Role::Administrator.code() && u.login != login)
        .count();
    if admins_left == 0 && (role != Role::Administrator || !active) {
        return Err(AdminError::Invalid(
            "this is the last active administrator; make another administrator first".into(),
        ));
    }
    store.set_user_access(login, role.code(), active)?;
    if !active {
        // A disabled account's workstations lose their sessions at once.
        store.revoke_api_sessions_of(login)?;
    }
    access::audit(
        store,
        actor,
        "user.change",
        &subject,
        "ok",
        &format!(
            "{} {}",
            role.code(),
            if active { "active" } else { "disabled" }
        ),
    )?;
    Ok(())
}

/// Sets a new password for a user (who forgot theirs).
pub fn reset_password(
    store: &Store,
    actor: &Actor,
    login: &str,
    password: &str,
) -> Result<(), AdminError> {
    let subject = format!("user:{login}");
    authorise(store, actor, &subject)?;
    let hash = access::hash_password(password)?;
    if store.user(login)?.is_none() {
        return Err(AdminError::Invalid(format!("there is no user {login}")));
    }
    store.set_password_hash(login, &hash)?;
    access::audit(store, actor, "user.password", &subject, "ok", "")?;
    Ok(())
}

/// Most entries the audit viewer shows at once.
pub const AUDIT_PAGE: usize = 500;

/// Searches the audit log; the search itself is audited (reading who saw which patient is
/// itself sensitive).
pub fn search_audit(
    store: &Store,
    actor: &Actor,
    filter: &AuditFilter,
) -> Result<Vec<AuditEntry>, AdminError> {
    authorise(store, actor, "audit_log")?;
    let entries = store.search_audit(filter, AUDIT_PAGE)?;
    access::audit(
        store,
        actor,
        "audit.read",
        "audit_log",
        "ok",
        &format!(
            "actor={} action={} subject={} from={} to={}",
            filter.actor, filter.action, filter.subject, filter.from_date, filter.to_date
        ),
    )?;
    Ok(entries)
}

/// The entries as CSV (RFC 4180 quoting), for the practice's compliance officer.
pub fn audit_csv(entries: &[AuditEntry]) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut out = String::from("at,actor,action,subject,origin,outcome,detail\r\n");
    for e in entries {
        let fields = [
            &e.at, &e.actor, &e.action, &e.subject, &e.origin, &e.outcome, &e.detail,
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| quote(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn store() -> (tempfile::TempDir, Store, Actor) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
        crate::ris::seed_starter_data(&store).unwrap();
        let admin =
            access::create_first_administrator(&store, "admin", "A", "long enough pw").unwrap();
        (dir, store, admin)
    }

    #[test]
    fn the_last_administrator_cannot_be_demoted_or_disabled() {
        let (_d, store, admin) = store();
        let err = change_user(&store, &admin, "admin", Role::FrontDesk, true).unwrap_err();
        assert!(
            err.to_string().contains("last active administrator"),
            "{err}"
        );
        assert!(change_user(&store, &admin, "admin", Role::Administrator, false).is_err());
        access::create_user(
            &store,
            &admin,
            "bob",
            "Bob",
            Role::Administrator,
            "long enough pw",
        )
        .unwrap();
        change_user(&store, &admin, "admin", Role::FrontDesk, true).unwrap();
        assert_eq!(store.user("admin").unwrap().unwrap().role, "front_desk");
    }

    #[test]
    fn opening_hours_are_checked_and_a_bad_setting_is_refused() {
        assert!(check_hours("08:00-18:00").is_ok());
        assert!(check_hours("").is_ok());
        assert!(check_hours("18:00-08:00").is_err());
        assert!(check_hours("8-6").is_err());
        let (_d, store, admin) = store();
        assert!(change_setting(&store, &admin, crate::site::DICOM_PORT_SETTING, "eighty").is_err());
        change_setting(&store, &admin, crate::site::DICOM_PORT_SETTING, "11113").unwrap();
        let found = search_audit(
            &store,
            &admin,
            &AuditFilter {
                action: "setting.".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, "setting:dicom.port");
        let csv = audit_csv(&found);
        assert!(csv.starts_with("at,actor,action"));
        assert!(csv.contains("\"setting.change\""));
    }

    #[test]
    fn a_front_desk_user_cannot_change_the_practice() {
        let (_d, store, admin) = store();
        access::create_user(&store, &admin, "fd", "F", Role::FrontDesk, "long enough pw").unwrap();
        let fd = access::sign_in(&store, "fd", "long enough pw", "test").unwrap();
        assert!(matches!(
            change_setting(&store, &fd, crate::site::PRACTICE_NAME_SETTING, "X"),
            Err(AdminError::Access(_))
        ));
        assert!(search_audit(&store, &fd, &AuditFilter::default()).is_err());
    }
}
