//! `Limits::max_body_search_keys`: a SEARCH, SORT or THREAD with more `BODY` and `TEXT`
//! keys than the limit, nested ones counted, is answered `NO [LIMIT]` by the session and
//! never reaches the application; one at the limit does, whatever its other keys.

use std::time::Instant;

use sansmail_imap::{
    session::{
        ServerConfig,
        server::{Event, Server},
    },
    types::command::CommandBody,
};

fn selected(max_keys: usize) -> Server {
    let mut config = ServerConfig::default();
    config.auth_requires_tls = false;
    config.limits.max_body_search_keys = max_keys;
    let now = Instant::now();
    let mut server = Server::new(config, now);
    server.poll_transmit(&mut Vec::new());
    server.handle_input(now, b"a LOGIN alice secret\r\n");
    assert!(matches!(server.poll_event(), Some(Event::Login { .. })));
    server.accept().unwrap();
    server.handle_input(now, b"b SELECT INBOX\r\n");
    assert!(matches!(server.poll_event(), Some(Event::Command(_))));
    server.select(vec![1, 2]).unwrap();
    server
        .complete(
            sansmail_imap::types::response::StatusKind::Ok,
            None,
            "selected",
        )
        .unwrap();
    server.poll_transmit(&mut Vec::new());
    server
}

fn answer(server: &mut Server) -> String {
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn too_many_body_keys_are_refused_with_limit() {
    let mut server = selected(2);
    let now = Instant::now();
    // NOT BODY x, OR TEXT y (NEW BODY z): three.
    server.handle_input(now, b"c SEARCH NOT BODY x OR TEXT y (NEW BODY z)\r\n");
    assert!(
        server.poll_event().is_none(),
        "refused before the application"
    );
    let out = answer(&mut server);
    assert!(
        out.starts_with("c NO [LIMIT] 3 BODY and TEXT keys"),
        "{out}"
    );
    server.handle_input(now, b"d UID SORT (DATE) UTF-8 BODY a BODY b BODY c\r\n");
    assert!(server.poll_event().is_none());
    assert!(answer(&mut server).starts_with("d NO [LIMIT]"));
    // Two, among many cheap keys: taken.
    server.handle_input(
        now,
        b"e SEARCH NOT BODY x TEXT y OR SEEN (OR DRAFT FROM a) SUBJECT b HEADER c d\r\n",
    );
    match server.poll_event() {
        Some(Event::Command(cmd)) => {
            assert!(matches!(cmd.body, CommandBody::Search { .. }));
        }
        other => panic!("expected the SEARCH, got {other:?}"),
    }
}
