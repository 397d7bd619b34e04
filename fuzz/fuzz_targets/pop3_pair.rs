//! Our POP3 `Client` and `Server` talking to each other through arbitrary chunking, each
//! application deciding at random, the messages' contents taken from the fuzz input.
//! Invariants:
//!
//! - no panic and no deadlock: the session ends in bounded steps once the client quits;
//! - the client never fails for a reason the server did not give (no invalid or unexpected
//!   response, no timeout);
//! - a retrieved message arrives as the server's application gave it (CRLF line ends; TOP: a
//!   prefix), and nothing arrives for a refused one;
//! - QUIT reports the deletions committed exactly when the server's application committed.
//!
//! Flags: 0 APOP, 1 no SASL PLAIN (client), 2 STLS, 3 no PIPELINING (server), 4 no
//! pipelining (client), 5 no CAPA (client), 6 UTF8, 7 no USER/PASS (server).
#![no_main]

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use libfuzzer_sys::fuzz_target;
use mail_proto_fuzz::{Rng, SessionInput, Stall, Wire, normalize_lines};
use sansmail_pop3::{
    Credentials, MessageNumber, Uid,
    session::{
        Maildrop, ServerConfig,
        client::{self, Client, ClientConfig, ClientError},
        responses,
        server::{self, Server},
    },
};

fuzz_target!(|input: SessionInput| {
    let trace = std::env::var_os("FUZZ_TRACE").is_some();
    let flags = input.flags;
    let mut rng = Rng::new(input.seed);
    let mut now = Instant::now();

    let mut sc = ServerConfig::new("pop.example.org");
    sc.auth_requires_tls = false;
    if flags & 1 != 0 {
        sc.apop_timestamp = Some("<1896.697170952@pop.example.org>".to_owned());
    }
    sc.starttls = flags & 4 != 0;
    sc.pipelining = flags & 8 == 0;
    sc.utf8 = flags & 64 != 0;
    sc.user_pass = flags & 128 == 0;
    let mut server = Server::new(sc, now);

    let mut cc = ClientConfig::new(Some(Credentials::new("alice", "secret words")));
    cc.sasl_plain = flags & 2 == 0;
    cc.pipelining = flags & 16 == 0;
    cc.capa = flags & 32 == 0;
    cc.utf8 = flags & 64 != 0;
    // A password goes in plaintext only when asked for: without STLS, say so.
    if flags & 4 == 0 {
        cc.starttls = sansmail_pop3::session::client::TlsPolicy::Never;
    }
    let mut client = Client::new(cc, now);

    // The maildrop's messages: the fuzz input, cut at 0xFF octets.
    let contents: Vec<&[u8]> = input.data.split(|&b| b == 0xFF).take(5).collect();

    let mut to_server = Wire::new(input.chunks, "C", trace);
    let mut to_client = Wire::new(input.chunks, "S", trace);
    to_client.fill(|b| server.poll_transmit(b));
    // What the server sent for each retrieval, in order, and what the client received.
    let mut served: VecDeque<(Vec<u8>, bool)> = VecDeque::new();
    let mut receiving: Option<Vec<u8>> = None;
    let mut committed: Option<bool> = None;
    let mut requests = 0;
    let mut quitting = false;
    let mut stall = Stall::default();

    for _round in 0..10_000 {
        now += Duration::from_millis(10);
        let mut progressed = false;

        progressed |= to_server.deliver(|piece| server.handle_input(now, piece));
        loop {
            let (login, retrieve) = match server.poll_event() {
                None => break,
                Some(e) => {
                    progressed = true;
                    if trace {
                        eprintln!("server event: {e:?}");
                    }
                    match e {
                        server::Event::Login { .. } | server::Event::Apop { .. } => (true, None),
                        server::Event::AuthExchange { .. } => (true, None),
                        server::Event::Retrieve { msg, top, .. } => (false, Some((msg, top))),
                        server::Event::Commit { .. } => {
                            let yes = rng.chance(3, 4);
                            committed = Some(yes);
                            if yes {
                                server.accept().expect("accept commit");
                            } else {
                                server
                                    .reject(&responses::commit_failed())
                                    .expect("reject commit");
                            }
                            continue;
                        }
                        server::Event::StartTls => {
                            server.tls_established().expect("server tls");
                            continue;
                        }
                        _ => continue,
                    }
                }
            };
            if login {
                if rng.chance(7, 8) {
                    let mut m = Maildrop::new();
                    for (i, c) in contents.iter().enumerate() {
                        m.push(
                            normalize_lines(c).len() as u64,
                            Uid::new(format!("u{i}")).expect("uid"),
                        );
                    }
                    server.accept_login(m).expect("accept_login");
                } else {
                    server
                        .reject(&responses::auth_failed())
                        .expect("reject login");
                }
            } else if let Some((msg, top)) = retrieve {
                if rng.chance(1, 8) {
                    server
                        .reject(&responses::message_unavailable())
                        .expect("reject retrieve");
                    continue;
                }
                let content = contents.get(msg.index()).copied().unwrap_or_default();
                let mut at = 0;
                while at < content.len() {
                    let n = (1 + rng.below(64)).min(content.len() - at);
                    if !server
                        .message_data(&content[at..at + n])
                        .expect("message_data")
                    {
                        break;
                    }
                    at += n;
                }
                server.message_end().expect("message_end");
                served.push_back((normalize_lines(content), top.is_some()));
            }
        }
        to_client.fill(|b| server.poll_transmit(b));

        progressed |= to_client.deliver(|piece| client.handle_input(now, piece));
        let mut ready = false;
        let mut done = false;
        loop {
            let Some(event) = client.poll_event() else {
                break;
            };
            progressed = true;
            if trace {
                eprintln!("client event: {event:?}");
            }
            match event {
                client::Event::StartTls => {
                    client.tls_established().expect("client tls");
                }
                client::Event::Ready => ready = true,
                client::Event::MessageStart { .. } => {
                    assert!(receiving.is_none(), "MessageStart inside a message");
                    receiving = Some(Vec::new());
                }
                client::Event::MessageData(d) => {
                    receiving
                        .as_mut()
                        .expect("data outside a message")
                        .extend_from_slice(&d);
                }
                client::Event::MessageEnd { .. } => {
                    let got = receiving.take().expect("MessageEnd outside a message");
                    let (sent, top) = served
                        .pop_front()
                        .expect("a message the server did not send");
                    if top {
                        assert!(sent.starts_with(&got), "TOP is not a prefix of the message");
                    } else {
                        assert_eq!(got, sent, "RETR content differs");
                    }
                }
                client::Event::Failed(e) => {
                    assert!(
                        !matches!(
                            e,
                            ClientError::Protocol(_)
                                | ClientError::Unexpected(_)
                                | ClientError::Timeout
                        ),
                        "session failed: {e}"
                    );
                    done = true;
                }
                client::Event::Closed { committed: c, .. } => {
                    if let Some(yes) = committed {
                        assert_eq!(c, yes, "QUIT reports a commit the server did not make");
                    }
                    done = true;
                }
                _ => {}
            }
        }
        // The application acts when the session is ready, and later when nothing else moves.
        if ready || (requests > 0 && !quitting && (!progressed || rng.chance(1, 4))) {
            for _ in 0..1 + rng.below(3) {
                if quitting {
                    break;
                }
                let msg =
                    MessageNumber::new(1 + rng.below(contents.len() + 1) as u32).expect("msg");
                requests += 1;
                let result = match rng.below(12) {
                    _ if requests > 12 => {
                        quitting = true;
                        client.quit()
                    }
                    0 => client.stat(),
                    1 => client.list(rng.coin().then_some(msg)),
                    2 => client.uidl(rng.coin().then_some(msg)),
                    3..=5 => client.retr(msg),
                    6 => client.top(msg, rng.below(3) as u64),
                    7 => client.dele(msg),
                    8 => client.rset(),
                    9 => client.noop(),
                    _ => {
                        quitting = true;
                        client.quit()
                    }
                };
                if result.is_err() {
                    // Not in the Ready state (yet, or any more).
                    requests -= 1;
                    break;
                }
            }
        }
        to_server.fill(|b| client.poll_transmit(b));

        if done {
            return;
        }
        stall.round(progressed);
    }
    panic!("the session did not end");
});
