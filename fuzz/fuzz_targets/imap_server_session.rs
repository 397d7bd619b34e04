//! Arbitrary client bytes, in arbitrary chunks, into an IMAP `Server` whose application
//! answers every decision at random and pushes mailbox changes from "other sessions".
//! Invariants:
//!
//! - no panic, and no API error for an answer that fits the pending decision;
//! - after the events are drained, the buffered input is at most one message plus a chunk;
//! - everything the server transmits, drained after each step, is a whole sequence of valid
//!   responses;
//! - no `EXPUNGE` (nor `VANISHED`) goes out while a FETCH, STORE, SEARCH, SORT or THREAD by
//!   sequence number is answered (RFC 9051 §7.4.1).
//!
//! Flags: 0 STARTTLS, 1 plaintext login allowed, 2 small limits, 3 an application SASL
//! mechanism, 4 no LITERAL+, 5 LITERAL-.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mail_proto_fuzz::{MAX_CHUNK, Rng, SessionInput, split};
use sansmail_imap::{
    codec::{self, ResponseOptions},
    session::{
        ServerConfig,
        server::{Event, Server},
        view::Update,
    },
    types::{
        capability::Capability,
        command::CommandBody,
        core::Atom,
        flag::Flag,
        response::{Data, Response, StatusKind},
    },
};

fn config(flags: u8) -> ServerConfig {
    let mut c = ServerConfig::default();
    c.starttls = flags & 1 != 0;
    c.auth_requires_tls = flags & 2 == 0;
    if flags & 4 != 0 {
        c.limits.frame.max_line = 200;
        c.limits.frame.max_literal = 100;
        c.limits.frame.max_message = 1000;
        c.limits.max_errors = 5;
    } else {
        c.limits.max_errors = 1000;
    }
    if flags & 8 != 0 {
        c.auth_mechanisms.push(Atom::new("X-TEST").expect("atom"));
    }
    if flags & 16 != 0 {
        c.capabilities.retain(|cap| *cap != Capability::LiteralPlus);
    }
    if flags & 32 != 0 {
        c.capabilities.push(Capability::LiteralMinus);
    }
    c
}

/// Decodes `wire` as a whole sequence of responses.
fn responses(wire: &[u8]) -> Vec<Response<'_>> {
    let opts = ResponseOptions {
        utf8: true,
        ..ResponseOptions::default()
    };
    let mut out = Vec::new();
    let mut rest = wire;
    while !rest.is_empty() {
        match codec::decode_response(rest, &opts) {
            Ok((r, resp)) => {
                out.push(resp);
                rest = r;
            }
            Err(e) => panic!(
                "server sent an invalid response ({e}): {:?}",
                String::from_utf8_lossy(rest)
            ),
        }
    }
    out
}

fn random_update(rng: &mut Rng, uids: &[u32]) -> Update {
    let some =
        |rng: &mut Rng| -> Vec<u32> { uids.iter().copied().filter(|_| rng.chance(1, 3)).collect() };
    match rng.below(3) {
        0 => Update::Expunged {
            uids: some(rng),
            modseq: rng.chance(1, 2).then(|| rng.next_u64() >> 1),
        },
        1 => {
            let top = uids.last().copied().unwrap_or(0);
            Update::New(
                (1..=1 + rng.below(3) as u32)
                    .map(|i| top.saturating_add(i))
                    .collect(),
            )
        }
        _ => Update::Flags {
            uid: uids.first().copied().unwrap_or(1),
            flags: vec![Flag::Seen],
            modseq: Some(rng.next_u64() >> 1),
        },
    }
}

fn push_updates(server: &mut Server, rng: &mut Rng) {
    let Some(uids) = server.view().map(|v| v.uids().to_vec()) else {
        return;
    };
    for _ in 0..rng.below(3) {
        let u = random_update(rng, &uids);
        server.push_update(u).expect("push_update with a view");
    }
}

fn drain(server: &mut Server, rng: &mut Rng) {
    loop {
        let mut before = Vec::new();
        server.poll_transmit(&mut before);
        responses(&before);
        let Some(event) = server.poll_event() else {
            return;
        };
        match event {
            Event::LiteralAnnounced { .. } => {
                if rng.chance(3, 4) {
                    server.accept_literal().expect("accept_literal");
                } else {
                    server
                        .reject_literal(None, "Too big")
                        .expect("reject_literal");
                }
            }
            Event::Command(cmd) => {
                let no_expunge = matches!(
                    cmd.body,
                    CommandBody::Fetch { uid: false, .. }
                        | CommandBody::Store { uid: false, .. }
                        | CommandBody::Search { uid: false, .. }
                        | CommandBody::Sort { uid: false, .. }
                        | CommandBody::Thread { uid: false, .. }
                );
                let select = matches!(
                    cmd.body,
                    CommandBody::Select { .. } | CommandBody::Examine { .. }
                );
                let mut ok = rng.chance(3, 4);
                if select && ok {
                    let n = rng.below(6) as u32;
                    let uids = (1..=n).map(|i| i * 3).collect();
                    server.select(uids).expect("select");
                    server.send_data(Data::Exists(n));
                }
                push_updates(server, rng);
                if rng.coin() {
                    server.send_data(Data::Exists(server.view().map_or(0, |v| v.len())));
                }
                if !select && rng.chance(1, 8) {
                    ok = false;
                }
                let kind = if ok {
                    StatusKind::Ok
                } else if rng.coin() {
                    StatusKind::No
                } else {
                    StatusKind::Bad
                };
                server.complete(kind, None, "done").expect("complete");
                let mut wire = Vec::new();
                server.poll_transmit(&mut wire);
                for resp in responses(&wire) {
                    if no_expunge {
                        assert!(
                            !matches!(
                                resp,
                                Response::Data(
                                    Data::Expunge(_) | Data::Vanished { earlier: false, .. }
                                )
                            ),
                            "expunge told during FETCH/STORE/SEARCH: {resp:?}"
                        );
                    }
                }
            }
            Event::Login { .. } => {
                if rng.chance(3, 4) {
                    server.accept().expect("accept login");
                } else {
                    server.reject(None, "No").expect("reject login");
                }
            }
            Event::AuthExchange { .. } => match rng.below(3) {
                0 => server.accept().expect("accept exchange"),
                1 => server.reject(None, "No").expect("reject exchange"),
                _ => server.auth_challenge(b"more").expect("challenge"),
            },
            Event::Idle => {
                if rng.chance(3, 4) {
                    server.accept().expect("accept idle");
                    push_updates(server, rng);
                } else {
                    server.reject(None, "No").expect("reject idle");
                }
            }
            Event::StartTls => server.tls_established().expect("tls"),
            _ => {}
        }
    }
}

fuzz_target!(|input: SessionInput| {
    let config = config(input.flags);
    let max_message = usize::try_from(config.limits.frame.max_message).unwrap_or(usize::MAX);
    let mut now = Instant::now();
    let mut server = Server::new(config, now);
    let mut rng = Rng::new(input.seed);
    for chunk in split(&input.data, &input.chunks) {
        now += Duration::from_secs(1);
        server.handle_input(now, chunk);
        drain(&mut server, &mut rng);
        assert!(
            server.buffered_len() <= max_message.saturating_add(MAX_CHUNK),
            "buffered {} octets",
            server.buffered_len()
        );
        if rng.chance(1, 200) {
            server.handle_timeout(now + Duration::from_secs(7200));
        }
        let mut wire = Vec::new();
        server.poll_transmit(&mut wire);
        responses(&wire);
        if server.is_closed() {
            break;
        }
    }
});
