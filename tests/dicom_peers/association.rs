//! Associations: echo, rejection of wrong and unknown titles, garbage on the port, idle
//! timeouts and stopping on a signal.

use super::*;

#[test]
fn echoscu_gets_success() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_echo(&server);
}

#[test]
fn wrong_called_ae_is_rejected_and_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let out = dcmtk(
        "echoscu",
        &["-aec", "SOMEONE_ELSE", "127.0.0.1", &server.port()],
    );
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        text.contains("called ae title not recognized") || text.contains("rejected"),
        "{text}"
    );
    assert_echo(&server);
}

#[test]
fn random_bytes_on_the_port_do_not_stop_the_server() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for round in 0..20u8 {
        if let Ok(mut s) = std::net::TcpStream::connect(server.addr) {
            let junk: Vec<u8> = (0..(200 + round as usize * 37))
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(round))
                .collect();
            let _ = s.write_all(&junk);
        }
    }
    // An A-ASSOCIATE-RQ header announcing a 4 GB PDU must not make us allocate it.
    if let Ok(mut s) = std::net::TcpStream::connect(server.addr) {
        let _ = s.write_all(&[0x01, 0x00, 0xff, 0xff, 0xff, 0xf0, 0, 1]);
    }
    assert_echo(&server);
}

#[test]
fn unknown_ae_may_store_but_not_query_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_untrusted(dir.path());
    let f = corpus_dicom().join("CT_small.dcm");
    let out = dcmtk(
        "storescu",
        &[
            "-aet",
            "STRANGER",
            "-aec",
            "LIGHTBOX",
            "127.0.0.1",
            &server.port(),
            f.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = dcmtk(
        "findscu",
        &[
            "-v",
            "-S",
            "-aet",
            "STRANGER",
            "-aec",
            "LIGHTBOX",
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "StudyInstanceUID",
            "127.0.0.1",
            &server.port(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Status: 0x124"), "{text}");
    let r = peer(&[
        "find",
        "127.0.0.1",
        &server.port(),
        "LIGHTBOX",
        "STUDY",
        "StudyInstanceUID=",
    ]);
    assert_eq!(r["final"], 0x0124, "{r}");
    // Once PYPEER is a configured node, the same query is answered.
    let out = lightbox(
        dir.path(),
        &[
            "nodes",
            "add",
            "--name",
            "pypeer",
            "--ae",
            "PYPEER",
            "--host",
            "127.0.0.1",
            "--port",
            "1",
        ],
    );
    assert!(out.status.success());
    let r = peer(&[
        "find",
        "127.0.0.1",
        &server.port(),
        "LIGHTBOX",
        "STUDY",
        "StudyInstanceUID=",
    ]);
    assert_eq!(r["final"], 0, "{r}");
    assert_eq!(r["matches"].as_array().unwrap().len(), 1, "{r}");
}

#[test]
fn serve_stops_cleanly_on_sigterm_and_sigint() {
    for signal in ["-TERM", "-INT"] {
        let dir = tempfile::tempdir().unwrap();
        let mut server = Server::start(dir.path());
        let f = corpus_dicom().join("CT_small.dcm");
        let out = dcmtk(
            "storescu",
            &[
                "-aec",
                "LIGHTBOX",
                "127.0.0.1",
                &server.port(),
                f.to_str().unwrap(),
            ],
        );
        assert!(out.status.success());
        let _ = Command::new("kill")
            .args([signal, &server.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let status = loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "serve did not stop on {signal}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert!(status.success(), "serve exited with {status} on {signal}");
        let out = lightbox(dir.path(), &["check"]);
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("instances 1,"));
    }
}

#[test]
fn a_silent_connection_is_closed_after_the_idle_timeout() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    assert!(
        lightbox(
            dir.path(),
            &["settings", "set", "dicom.idle_timeout_secs", "1"]
        )
        .status
        .success()
    );
    let server = Server::start(dir.path());
    let mut socket = std::net::TcpStream::connect(server.addr).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    let mut buf = [0u8; 64];
    // The server must close the connection (end of stream or reset) before our 15 s read
    // timeout; a timeout means it kept the silent connection open.
    match socket.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("unexpected {n} bytes from the server"),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            panic!("the idle connection was not closed")
        }
        Err(_) => {} // reset by the server: closed too
    }
    assert_echo(&server);
}
