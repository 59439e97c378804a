//! Sessions of the network API: a workstation signs in with a Lightbox user's password once and
//! carries a short-lived token; every request is then that user, with the same permission checks
//! and audit as at the desktop. Only the token's hash is stored; a session ends at its expiry,
//! at sign-out, or when the account is disabled.

use rand::RngCore;

use super::{AccessError, Actor, Role, audit, sign_in};
use crate::store::Store;

/// How long a session lasts: a working day, then the workstation signs in again.
pub const SESSION_HOURS: i64 = 10;

/// A session just opened: the token to send as `Authorization: Bearer …` and its expiry.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    /// The bearer token (64 hex characters; shown once, never stored).
    pub token: String,
    /// When it ends (UTC, RFC 3339).
    pub expires_at: String,
    /// Who signed in.
    pub actor: Actor,
}

/// The hash kept of a secret (session token, pairing code, workstation secret).
pub(super) fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// A time as stored: UTC, RFC 3339, milliseconds.
pub(super) fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Signs `login` in (audited as any sign-in) and opens a session for `origin`, on the paired
/// `workstation` when it came from one (the session then ends when the workstation is
/// revoked).
pub fn open_session(
    store: &Store,
    login: &str,
    password: &str,
    origin: &str,
    workstation: Option<i64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<OpenedSession, AccessError> {
    let actor = sign_in(store, login, password, origin)?;
    if let Some(id) = workstation {
        store.workstation_seen(id, &rfc3339(now))?;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let expires_at = rfc3339(now + chrono::Duration::hours(SESSION_HOURS));
    store.insert_api_session(
        &token_hash(&token),
        &actor.login,
        origin,
        &expires_at,
        workstation,
    )?;
    audit(
        store,
        &actor,
        "api.session_open",
        &format!("user:{}", actor.login),
        "ok",
        &format!("until {expires_at}"),
    )?;
    Ok(OpenedSession {
        token,
        expires_at,
        actor,
    })
}

/// The user a token stands for, if its session is live and the account still active.
pub fn session_actor(
    store: &Store,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Actor, AccessError> {
    let session = store
        .live_api_session(&token_hash(token), &rfc3339(now))?
        .ok_or(AccessError::BadCredentials)?;
    let user = store
        .user(&session.login)?
        .filter(|u| u.active)
        .ok_or(AccessError::BadCredentials)?;
    let role = Role::from_code(&user.role).ok_or(AccessError::BadCredentials)?;
    Ok(Actor {
        login: user.login,
        role,
        origin: format!("network API from {}", session.origin),
    })
}

/// Ends the session of `token` (sign-out); audited when it was live.
pub fn close_session(store: &Store, actor: &Actor, token: &str) -> Result<(), AccessError> {
    if store.revoke_api_session(&token_hash(token))? {
        audit(
            store,
            actor,
            "api.session_close",
            &format!("user:{}", actor.login),
            "ok",
            "",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_its_user_until_it_expires_is_revoked_or_the_account_is_disabled() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = Store::open(&dir.path().join("db.sqlite")).expect("store");
        let admin = Actor::system();
        super::super::create_user(
            &store,
            &admin,
            "ana",
            "Ana Reed",
            Role::Radiologist,
            "long enough password",
        )
        .expect("user");
        let now = chrono::Utc::now();
        assert!(matches!(
            open_session(&store, "ana", "wrong password!!", "10.0.0.5", None, now),
            Err(AccessError::BadCredentials)
        ));
        let opened = open_session(&store, "ana", "long enough password", "10.0.0.5", None, now)
            .expect("signed in");
        let actor = session_actor(&store, &opened.token, now).expect("live");
        assert_eq!(
            (actor.login.as_str(), actor.role),
            ("ana", Role::Radiologist)
        );
        assert!(actor.origin.contains("10.0.0.5"));
        // A made-up token, an expired one, a revoked one: nobody.
        assert!(session_actor(&store, "00", now).is_err());
        let later = now + chrono::Duration::hours(SESSION_HOURS + 1);
        assert!(session_actor(&store, &opened.token, later).is_err());
        close_session(&store, &actor, &opened.token).expect("signed out");
        assert!(session_actor(&store, &opened.token, now).is_err());
        // A disabled account's sessions end at once.
        let second = open_session(&store, "ana", "long enough password", "10.0.0.5", None, now)
            .expect("signed in");
        store.revoke_api_sessions_of("ana").expect("revoked");
        assert!(session_actor(&store, &second.token, now).is_err());
        // The database keeps no token, only its hash.
        let dump = std::fs::read(dir.path().join("db.sqlite")).expect("database");
        let text = String::from_utf8_lossy(&dump);
        assert!(!text.contains(&second.token));
    }
}
