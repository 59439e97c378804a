//! The server killed and restarted: the workstations say so and miss no change.

use super::*;

#[test]
fn the_server_killed_and_restarted_the_workstations_say_so_and_miss_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let accessions = practice_with_orders(dir.path(), 2);
    let mut server = Server::start_at(dir.path(), CLOCK);
    let api_port = server.api_port;
    let mut tech = workstation(paired_link(&server, "CT console"), &dir.path().join("ws"));
    sign_in(&mut tech, "tech", PASSWORD);
    click(&mut tech, "Today");
    assert!(!today_lists(&mut tech, &accessions[1]));

    server.kill9();
    frames_until(
        &mut tech,
        Duration::from_secs(10),
        "the banner saying the server is away",
        |h| h.query_by_label_contains("is not answering").is_some(),
    );
    // What was on screen stays.
    assert_eq!(tech.state().screen(), Screen::Today);
    assert!(tech.state().actor().is_some(), "still signed in");

    // While it is down, the practice changes (a booking written by another process on the
    // server's computer): the journal keeps it for the workstations.
    {
        let mut practice = Practice::over(common::store(dir.path()));
        let admin = practice.sign_in("admin", PASSWORD, "test").unwrap();
        let room = practice
            .rooms(Some("MR"))
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
            .id;
        practice
            .book(
                &admin,
                &accessions[1],
                room,
                test_now() + chrono::Duration::hours(2),
                "",
            )
            .unwrap();
    }

    let _restarted = Server::start_at_on(dir.path(), CLOCK, api_port);
    frames_until(
        &mut tech,
        Duration::from_secs(20),
        "the workstation back with the change made while it was away",
        |h| {
            h.query_by_label_contains("is not answering").is_none()
                && today_lists(h, &accessions[1])
        },
    );
    // The same session, resumed: no second sign-in was needed.
    assert_eq!(tech.state().actor().unwrap().login, "tech");
}
