//! Roles, the append-only audit log, and passwords.

use super::*;

#[test]
fn roles_are_checked_and_the_audit_log_cannot_be_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = fresh_store(dir.path());
    let p = patient(&mut store, "Doe", "Jane", "1980-02-03");
    let refused = ris::place_order(
        &mut store,
        &tech(),
        &order(Some(p.id), "70450", None),
        monday_9am(),
    );
    assert!(matches!(
        refused,
        Err(RisError::Access(AccessError::Forbidden { .. }))
    ));
    his::read_patient(&store, &tech(), p.id).unwrap();
    let reads = store.audit_about(&format!("patient:{}", p.mrn)).unwrap();
    assert!(
        reads
            .iter()
            .any(|a| a.action == "patient.read" && a.actor == "tom")
    );
    assert!(
        store.try_rewrite_audit().is_err(),
        "the audit log is append-only"
    );
}

#[test]
fn users_sign_in_with_argon2_hashed_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(dir.path());
    access::create_user(
        &store,
        &Actor::system(),
        "rita",
        "Rita Reader",
        Role::Radiologist,
        "correct horse battery",
    )
    .unwrap();
    assert!(matches!(
        access::create_user(
            &store,
            &Actor::system(),
            "bob",
            "Bob",
            Role::FrontDesk,
            "short"
        ),
        Err(AccessError::WeakPassword(_))
    ));
    assert!(matches!(
        access::create_user(
            &store,
            &desk(),
            "eve",
            "Eve",
            Role::Administrator,
            "a long enough one"
        ),
        Err(AccessError::Forbidden { .. })
    ));
    let user = store.user("rita").unwrap().unwrap();
    assert!(
        user.password_hash.starts_with("$argon2id$"),
        "{}",
        user.password_hash
    );
    let rita = access::sign_in(&store, "rita", "correct horse battery", "reading-1").unwrap();
    assert_eq!(rita.role, Role::Radiologist);
    assert!(matches!(
        access::sign_in(&store, "rita", "wrong", "reading-1"),
        Err(AccessError::BadCredentials)
    ));
    assert!(matches!(
        access::sign_in(&store, "nobody", "x", "reading-1"),
        Err(AccessError::BadCredentials)
    ));
}
