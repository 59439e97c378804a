//! Pairing workstations with the practice server. An administrator names the workstation and
//! gets a one-time code (Settings or `lightbox workstations pair`), valid for
//! [`PAIRING_MINUTES`], shown once: `ABCD-EFGH-JKMN-PQRS`.
//!
//! The code's first half is a check of the practice CA's SHA-256 fingerprint, the second half
//! a secret. The workstation fetches the CA from the server, and before it sends anything
//! compares the CA with the first half: a machine in between (with its own CA) is caught
//! there, so the secret half never reaches it. Then it pins the CA and sends the code; the
//! server answers with the workstation's own credential (`<id>.<secret>`), kept by the
//! workstation and sent with every sign-in. Only hashes of codes and secrets are stored.
//! Revoking a workstation ends its sessions at once and refuses its sign-ins.

use rand::RngCore;

use super::sessions::{rfc3339, token_hash as hash};
use super::{AccessError, Action, Actor, audit, authorise};
use crate::store::Store;
use crate::store::workstations::WorkstationRecord;

/// How long a pairing code stays valid.
pub const PAIRING_MINUTES: i64 = 15;

/// The letters of a code (Crockford's base 32: no I, L, O, U, so nothing is misread).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters per half of a code (40 bits each).
const HALF: usize = 8;

/// A pairing just started: the code to show once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PairingCode {
    /// The workstation's row id.
    pub workstation: i64,
    /// Its name.
    pub name: String,
    /// The code, in groups of four (`ABCD-EFGH-JKMN-PQRS`).
    pub code: String,
    /// When the code stops working (UTC, RFC 3339).
    pub expires_at: String,
}

/// A workstation just paired: what it keeps.
#[derive(Debug, Clone)]
pub struct PairedWorkstation {
    /// Its row id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its credential, `<id>.<secret>`, sent with every sign-in (never stored in clear).
    pub credential: String,
}

/// 40 bits as eight base-32 letters.
fn base32_40(bytes: [u8; 5]) -> String {
    let mut bits = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut out = [0u8; HALF];
    for slot in out.iter_mut().rev() {
        // The index is below 32 by the mask.
        *slot = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    out.iter().map(|b| char::from(*b)).collect()
}

/// The first half of every code of a server with this CA fingerprint (SHA-256 of the CA
/// certificate's DER): what a workstation compares before sending the rest.
pub fn ca_check(ca_fingerprint: &[u8]) -> String {
    let mut first = [0u8; 5];
    for (slot, b) in first.iter_mut().zip(ca_fingerprint) {
        *slot = *b;
    }
    base32_40(first)
}

/// A code as typed (any case, with or without dashes or spaces; O read as 0, I and L as 1),
/// as its sixteen letters; None if it cannot be a code.
pub fn normalise_code(typed: &str) -> Option<String> {
    let letters: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{2010}'..='\u{2015}'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (letters.chars().count() == 2 * HALF && letters.bytes().all(|b| ALPHABET.contains(&b)))
        .then_some(letters)
}

/// Whether a typed code was made by the server whose CA has this fingerprint.
pub fn code_fits_ca(typed: &str, ca_fingerprint: &[u8]) -> bool {
    normalise_code(typed).is_some_and(|c| c.get(..HALF) == Some(ca_check(ca_fingerprint).as_str()))
}

fn grouped(letters: &str) -> String {
    let chars: Vec<char> = letters.chars().collect();
    chars
        .chunks(4)
        .map(|g| g.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Starts pairing a workstation named `name` (administrators only; audited).
pub fn start_pairing(
    store: &Store,
    actor: &Actor,
    name: &str,
    ca_fingerprint: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PairingCode, AccessError> {
    let name = name.trim();
    authorise(store, actor, Action::Administer, "workstations")?;
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(AccessError::Denied(
            "a workstation needs a name of 1 to 64 characters (where it stands or whose it is)"
                .into(),
        ));
    }
    let mut secret = [0u8; 5];
    rand::rng().fill_bytes(&mut secret);
    let secret_half = base32_40(secret);
    let expires_at = rfc3339(now + chrono::Duration::minutes(PAIRING_MINUTES));
    let id =
        store.insert_workstation_pairing(name, &hash(&secret_half), &expires_at, &actor.login)?;
    audit(
        store,
        actor,
        "workstation.pairing_start",
        &format!("workstation:{id}"),
        "ok",
        &format!("until {expires_at}"),
    )?;
    Ok(PairingCode {
        workstation: id,
        name: name.to_string(),
        code: grouped(&format!("{}{secret_half}", ca_check(ca_fingerprint))),
        expires_at,
    })
}

/// Who acts when a workstation pairs (no person is signed in yet).
fn pairing_actor(origin: &str) -> Actor {
    Actor {
        login: "workstation-pairing".into(),
        role: super::Role::Interface,
        origin: origin.to_string(),
    }
}

/// Completes a pairing with the code a workstation sent from `origin` (audited either way).
pub fn complete_pairing(
    store: &Store,
    typed: &str,
    ca_fingerprint: &[u8],
    origin: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PairedWorkstation, AccessError> {
    let refuse = |why: &str| -> Result<PairedWorkstation, AccessError> {
        audit(
            store,
            &pairing_actor(origin),
            "workstation.pair",
            "workstations",
            "refused",
            why,
        )?;
        tracing::warn!(origin, why, "a workstation pairing was refused");
        Err(AccessError::Workstation(
            "this pairing code is wrong, used or expired: ask the administrator for a new one"
                .into(),
        ))
    };
    let Some(letters) = normalise_code(typed) else {
        return refuse("not a pairing code");
    };
    if !code_fits_ca(&letters, ca_fingerprint) {
        return refuse("a code of another server");
    }
    let secret_half: String = letters.chars().skip(HALF).collect();
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let Some(workstation) = store.complete_workstation_pairing(
        &hash(&secret_half),
        &rfc3339(now),
        &hash(&secret),
        origin,
    )?
    else {
        return refuse("no pending pairing has this code");
    };
    audit(
        store,
        &pairing_actor(origin),
        "workstation.pair",
        &format!("workstation:{}", workstation.id),
        "ok",
        "",
    )?;
    Ok(PairedWorkstation {
        id: workstation.id,
        name: workstation.name,
        credential: format!("{}.{secret}", workstation.id),
    })
}

/// The paired, unrevoked workstation a credential (`<id>.<secret>`) stands for.
pub fn workstation_of(store: &Store, credential: &str) -> Result<WorkstationRecord, AccessError> {
    let refused = || {
        AccessError::Workstation(
            "this computer is not a paired workstation of the practice, or it was revoked".into(),
        )
    };
    let (id, secret) = credential.trim().split_once('.').ok_or_else(refused)?;
    let id: i64 = id.parse().map_err(|_| refused())?;
    store
        .paired_workstation(id, &hash(secret))?
        .ok_or_else(refused)
}

/// Every workstation (administrators only).
pub fn list(store: &Store, actor: &Actor) -> Result<Vec<WorkstationRecord>, AccessError> {
    authorise(store, actor, Action::Administer, "workstations")?;
    Ok(store.workstations()?)
}

/// Revokes a workstation: its sessions end at once, it cannot sign in again (administrators
/// only; audited). False if it was already revoked.
pub fn revoke(
    store: &Store,
    actor: &Actor,
    id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, AccessError> {
    let subject = format!("workstation:{id}");
    authorise(store, actor, Action::Administer, &subject)?;
    if store.workstation(id)?.is_none() {
        return Err(AccessError::Denied(format!("there is no workstation {id}")));
    }
    let revoked = store.revoke_workstation(id, &actor.login, &rfc3339(now))?;
    audit(
        store,
        actor,
        "workstation.revoke",
        &subject,
        if revoked { "ok" } else { "already revoked" },
        "",
    )?;
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FINGERPRINT: [u8; 32] = [7u8; 32];

    fn store(dir: &std::path::Path) -> Store {
        Store::open(&dir.join("db.sqlite")).expect("store")
    }

    #[test]
    fn a_code_pairs_once_before_it_expires_and_a_revoked_workstation_is_nobody() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = store(dir.path());
        let admin = Actor::system();
        let now = chrono::Utc::now();
        let code = start_pairing(&store, &admin, "Réception 東京", &FINGERPRINT, now)
            .expect("pairing started");
        assert_eq!(code.code.chars().count(), 19, "{}", code.code);
        assert!(code_fits_ca(&code.code, &FINGERPRINT));
        assert!(!code_fits_ca(&code.code, &[8u8; 32]));
        // Typed in lower case without dashes: the same code.
        let typed = code.code.replace('-', "").to_lowercase();
        // A code for another server's CA is refused before the store is asked.
        assert!(complete_pairing(&store, &typed, &[8u8; 32], "10.0.0.9", now).is_err());
        let paired =
            complete_pairing(&store, &typed, &FINGERPRINT, "10.0.0.9", now).expect("paired");
        assert_eq!(paired.name, "Réception 東京");
        assert_eq!(
            workstation_of(&store, &paired.credential)
                .expect("known")
                .id,
            paired.id
        );
        // Used up.
        assert!(complete_pairing(&store, &typed, &FINGERPRINT, "10.0.0.9", now).is_err());
        // A forged secret is nobody.
        assert!(workstation_of(&store, &format!("{}.00", paired.id)).is_err());
        assert!(workstation_of(&store, "garbage").is_err());
        // Revoked: nobody.
        assert!(revoke(&store, &admin, paired.id, now).expect("revoked"));
        assert!(workstation_of(&store, &paired.credential).is_err());
        assert!(!revoke(&store, &admin, paired.id, now).expect("again"));
        // An expired code does not pair.
        let late = start_pairing(&store, &admin, "Late", &FINGERPRINT, now).expect("started");
        let after = now + chrono::Duration::minutes(PAIRING_MINUTES + 1);
        assert!(complete_pairing(&store, &late.code, &FINGERPRINT, "10.0.0.9", after).is_err());
        // Only administrators pair.
        let desk = Actor {
            login: "anna".into(),
            role: super::super::Role::FrontDesk,
            origin: "desk".into(),
        };
        assert!(matches!(
            start_pairing(&store, &desk, "Mine", &FINGERPRINT, now),
            Err(AccessError::Forbidden { .. })
        ));
        // The database keeps no code and no secret.
        let dump = std::fs::read(dir.path().join("db.sqlite")).expect("database");
        let text = String::from_utf8_lossy(&dump);
        assert!(!text.contains(paired.credential.split_once('.').expect("dot").1));
    }

    #[test]
    fn codes_are_read_as_people_type_them() {
        let code = "0123-4567-89AB-CDEF";
        assert_eq!(normalise_code(code).as_deref(), Some("0123456789ABCDEF"));
        assert_eq!(
            normalise_code("o123 4567 89ab cdef").as_deref(),
            Some("0123456789ABCDEF")
        );
        assert_eq!(
            normalise_code("LI23-4567-89AB-CDEF").as_deref(),
            Some("1123456789ABCDEF")
        );
        assert_eq!(normalise_code("0123-4567-89AB-CDE"), None);
        assert_eq!(normalise_code("0123-4567-89AB-CDEU"), None);
        assert_eq!(normalise_code("0123-4567-89AB-CDÉF"), None);
    }
}
