//! Strangers at the server: no session, a wrong password, a revoked workstation, plain HTTP.

use super::*;

#[test]
fn a_revoked_workstation_a_wrong_password_no_session_and_plain_http_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    practice_with_orders(dir.path(), 1);
    let server = Server::start_at(dir.path(), CLOCK);
    let link = paired_link(&server, "Desk 2");

    // No session: whatever actor the workstation names, the server refuses.
    let practice = Practice::remote(link.clone(), &dir.path().join("ws")).unwrap();
    let pretender = Actor {
        login: "admin".into(),
        role: Role::Administrator,
        origin: "desk".into(),
    };
    assert!(matches!(
        practice.users(&pretender),
        Err(lightbox::administration::AdminError::Access(
            lightbox::access::AccessError::BadCredentials
        ))
    ));
    assert_eq!(
        link.call("recent_orders", serde_json::json!([10])),
        Err(RemoteFailure::Refused(WireError::BadCredentials))
    );

    // A wrong password, through the sign-in screen.
    let mut desk = workstation(link.clone(), &dir.path().join("ws"));
    sign_in(&mut desk, "desk", "not the password");
    assert!(desk.state().actor().is_none());
    assert!(
        desk.query_by_label_contains("wrong password").is_some(),
        "the screen says why"
    );

    // Signed in, the front desk may not list the staff: the server's permission check.
    for (field, text) in [("Login", "desk"), ("Password", PASSWORD)] {
        let role = if field == "Login" {
            AccessRole::TextInput
        } else {
            AccessRole::PasswordInput
        };
        desk.get_by_role_and_label(role, field).click();
        settle(&mut desk);
        desk.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        desk.key_press(egui::Key::Backspace);
        desk.get_by_role_and_label(role, field).type_text(text);
        settle(&mut desk);
    }
    click(&mut desk, "Sign in");
    let actor = desk.state().actor().expect("signed in").clone();
    assert!(matches!(
        practice.users(&actor),
        Err(lightbox::administration::AdminError::Access(
            lightbox::access::AccessError::Denied(_)
        ))
    ));
    assert!(practice.recent_orders(&actor, 10).is_ok());
    // Only the screens' calls exist on the wire: not the server's own (acting as the
    // operating system's administrator, first-run set-up, opening sessions).
    for inner in [
        "act_as_os_administrator",
        "set_up",
        "open_api_session",
        "api_actor",
    ] {
        assert!(
            matches!(
                link.call(inner, serde_json::json!(["x"])),
                Err(RemoteFailure::Refused(WireError::NotFound { .. }))
            ),
            "{inner} is not callable"
        );
    }
    // Arguments of the wrong shape are refused in words, not half-used.
    match link.call("recent_orders", serde_json::json!(["ten", "Zoë 東"])) {
        Err(RemoteFailure::Refused(WireError::Invalid { message })) => {
            assert!(message.contains("recent_orders"), "{message}")
        }
        other => panic!("odd arguments accepted: {other:?}"),
    }

    // Revoked on the server: its session ends at once and it cannot sign in again.
    let store = common::store(dir.path());
    let id = store
        .workstations()
        .unwrap()
        .into_iter()
        .find(|w| w.name == "Desk 2")
        .unwrap()
        .id;
    let out = common::lightbox(dir.path(), &["workstations", "revoke", &id.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(matches!(
        practice.recent_orders(&actor, 10),
        Err(lightbox::ris::RisError::Access(
            lightbox::access::AccessError::BadCredentials
        ))
    ));
    // The window goes back to signing in and says why.
    frames_until(
        &mut desk,
        Duration::from_secs(20),
        "the revoked workstation's window back at sign-in",
        |h| {
            h.query_by_label_contains("Your session on the practice server ended")
                .is_some()
        },
    );
    assert!(desk.state().actor().is_none());
    match link.sign_in("desk", PASSWORD) {
        Err(RemoteFailure::Refused(WireError::Invalid { message })) => {
            assert!(
                message.contains("revoked") || message.contains("paired"),
                "{message}"
            )
        }
        other => panic!("a revoked workstation signed in: {other:?}"),
    }

    // Plain HTTP: no pairing over it, and the port does not speak it.
    assert!(matches!(
        pair(
            &format!("http://localhost:{}", server.api_port),
            "ABCD-EFGH-JKMN-PQRS"
        ),
        Err(lightbox::workstation::PairingError::Address(_))
    ));
    use std::io::{Read as _, Write as _};
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", server.api_port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET /api/v1/me HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP got an HTTP answer: {:?}",
        String::from_utf8_lossy(&answer)
    );
}
