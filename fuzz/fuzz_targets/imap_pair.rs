//! Our IMAP `Client` and `Server` talking to each other through arbitrary chunking: the
//! client's application sends commands (with synchronizing and non-synchronizing literals,
//! IDLE, AUTHENTICATE) at random, the server's application answers at random. Invariants:
//!
//! - no panic and no deadlock: the session ends in bounded steps after LOGOUT;
//! - the client never closes over the server's output (invalid response, unknown tag);
//! - each command the server's application completed completes at the client with that
//!   status, and a refused literal's command ends with NO;
//! - when nothing is in flight, client and server agree on the connection state.
//!
//! Flags: 0 no LITERAL+ (server), 1 LITERAL- (server), 2 every leniency (client).
#![no_main]

use std::{
    collections::HashMap,
    sync::OnceLock,
    time::{Duration, Instant},
};

use libfuzzer_sys::fuzz_target;
use mail_proto_fuzz::{Rng, SessionInput, Stall, Wire};
use sansmail_imap::{
    codec::{self, CommandOptions, Leniency},
    session::{
        ServerConfig,
        client::{self, Client, ClientConfig},
        server::{self, Server},
    },
    types::{
        capability::Capability,
        command::{CommandBody, SaslResponse, Secret},
        response::{Data, StatusKind},
    },
};

const COMMANDS: &[&[u8]] = &[
    b"x CAPABILITY\r\n",
    b"x NOOP\r\n",
    b"x LOGIN alice {6}\r\nsecret\r\n",
    b"x LOGIN alice secret\r\n",
    b"x AUTHENTICATE PLAIN\r\n",
    b"x AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n",
    b"x ENABLE CONDSTORE\r\n",
    b"x SELECT INBOX\r\n",
    b"x EXAMINE {10}\r\nSent Items\r\n",
    b"x LIST \"\" *\r\n",
    b"x STATUS INBOX (MESSAGES UIDNEXT)\r\n",
    b"x FETCH 1:* (FLAGS UID)\r\n",
    b"x UID FETCH 1:* (FLAGS)\r\n",
    b"x STORE 1 +FLAGS (\\Seen)\r\n",
    b"x SEARCH SUBJECT {4}\r\ntest\r\n",
    b"x APPEND INBOX (\\Seen) {11}\r\nHello world\r\n",
    b"x APPEND INBOX {3}\r\nabc {5}\r\nshort\r\n",
    b"x IDLE\r\n",
    b"x CLOSE\r\n",
    b"x UNSELECT\r\n",
    b"x EXPUNGE\r\n",
];

static BODIES: OnceLock<Vec<CommandBody<'static>>> = OnceLock::new();

fn bodies() -> &'static [CommandBody<'static>] {
    BODIES.get_or_init(|| {
        COMMANDS
            .iter()
            .map(|c| {
                let body = codec::parse_command(c, &CommandOptions::default())
                    .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(c)))
                    .body;
                body
            })
            .collect()
    })
}

fuzz_target!(|input: SessionInput| {
    let trace = std::env::var_os("FUZZ_TRACE").is_some();
    let flags = input.flags;
    let mut rng = Rng::new(input.seed);
    let mut now = Instant::now();

    let mut sc = ServerConfig::default();
    sc.auth_requires_tls = false;
    if flags & 1 != 0 {
        sc.capabilities.retain(|c| *c != Capability::LiteralPlus);
    }
    if flags & 2 != 0 {
        sc.capabilities.push(Capability::LiteralMinus);
    }
    let mut server = Server::new(sc, now);
    let mut cc = ClientConfig::default();
    if flags & 4 != 0 {
        cc.response_options.lenient = Leniency::all();
    }
    let mut client = Client::new(cc, now);

    let mut to_server = Wire::new(input.chunks, "C", trace);
    let mut to_client = Wire::new(input.chunks, "S", trace);
    to_client.fill(|b| server.poll_transmit(b));
    // The status the server's application gave each tag.
    let mut decided: HashMap<String, StatusKind> = HashMap::new();
    let mut in_flight = 0usize;
    let mut sent = 0usize;
    let mut idling = false;
    let mut logged_out = false;
    let mut stall = Stall::default();
    let script = input.data.as_slice();

    for _round in 0..20_000 {
        now += Duration::from_millis(10);
        let mut progressed = false;

        progressed |= to_server.deliver(|piece| server.handle_input(now, piece));
        while let Some(event) = server.poll_event() {
            progressed = true;
            if trace {
                eprintln!("server event: {event:?}");
            }
            match event {
                server::Event::LiteralAnnounced { tag, .. } => {
                    let tag = tag.map(|t| t.as_str().to_owned());
                    if rng.chance(7, 8) {
                        server.accept_literal().expect("accept_literal");
                    } else {
                        if let Some(t) = tag {
                            decided.insert(t, StatusKind::No);
                        }
                        server
                            .reject_literal(None, "Too big")
                            .expect("reject_literal");
                    }
                }
                server::Event::Command(cmd) => {
                    let tag = cmd.tag.as_str().to_owned();
                    let select = matches!(
                        cmd.body,
                        CommandBody::Select { .. } | CommandBody::Examine { .. }
                    );
                    let kind = match rng.below(8) {
                        0 => StatusKind::No,
                        1 => StatusKind::Bad,
                        _ => StatusKind::Ok,
                    };
                    if select && kind == StatusKind::Ok {
                        let n = rng.below(5) as u32;
                        server.select((1..=n).collect()).expect("select");
                        server.send_data(Data::Exists(n));
                    }
                    server.complete(kind, None, "done").expect("complete");
                    decided.insert(tag, kind);
                }
                server::Event::Login { .. } | server::Event::AuthExchange { .. } => {
                    // Logins are decided but their tag is not in the event: not recorded.
                    if rng.chance(3, 4) {
                        server.accept().expect("accept login");
                    } else {
                        server.reject(None, "No").expect("reject login");
                    }
                }
                server::Event::Idle => {
                    if rng.chance(3, 4) {
                        server.accept().expect("accept idle");
                    } else {
                        server.reject(None, "No").expect("reject idle");
                    }
                }
                server::Event::StartTls => server.tls_established().expect("tls"),
                _ => {}
            }
        }
        to_client.fill(|b| server.poll_transmit(b));

        progressed |= to_client.deliver(|piece| client.handle_input(now, piece));
        while let Some(event) = client.poll_event() {
            progressed = true;
            if trace {
                eprintln!("client event: {event:?}");
            }
            match event {
                client::Event::Completed { tag, status, .. } => {
                    in_flight -= 1;
                    if let Some(kind) = decided.remove(tag.as_str()) {
                        assert_eq!(
                            status.kind, kind,
                            "{tag:?} completed as the server did not decide"
                        );
                    }
                }
                client::Event::Idling => idling = true,
                client::Event::Continue(_) => {
                    client.sasl_response(&SaslResponse::Base64(Secret::new(
                        "AGFsaWNlAHNlY3JldA==".into(),
                    )));
                }
                client::Event::Closed { reason } => {
                    if trace {
                        eprintln!("closed: {reason}");
                    }
                    return;
                }
                client::Event::Failed(e) => {
                    panic!("the client failed over the server's output: {e}");
                }
                _ => {}
            }
        }
        // Settled: nothing in flight, nothing on the wire.
        if in_flight == 0 && to_server.is_empty() && to_client.is_empty() {
            let ours = client.state();
            let theirs = server.connection_state();
            assert_eq!(ours, theirs, "client and server disagree on the state");
        }
        // The client's application: one command at a time, from the script.
        if idling {
            client.idle_done().expect("idle_done");
            idling = false;
        } else if !logged_out && in_flight == 0 && client.is_ready() {
            if sent >= script.len().min(16) {
                client.send(CommandBody::Logout).expect("logout");
                logged_out = true;
            } else {
                let body = bodies()[usize::from(script[sent]) % bodies().len()].clone();
                sent += 1;
                client.send(body).expect("send with nothing in flight");
            }
            in_flight += 1;
        }
        to_server.fill(|b| client.poll_transmit(b));

        stall.round(progressed);
    }
    panic!("the session did not end");
});
