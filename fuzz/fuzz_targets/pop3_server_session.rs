//! Arbitrary client bytes, in arbitrary chunks, into a POP3 `Server` whose application
//! answers every decision at random and streams message content. Invariants:
//!
//! - no panic, and no API error for an answer that fits the pending decision;
//! - after the events are drained, the buffered input is at most the longest line allowed
//!   plus one chunk;
//! - everything transmitted is whole CRLF lines of at most 512 octets;
//! - a RETR's octets decode as a multi-line reply whose body is the content given (TOP: a
//!   prefix of it), with CRLF line ends.
//!
//! Flags: 0 STLS, 1 plaintext login allowed, 2 APOP, 3 an application SASL mechanism,
//! 4 small limits, 5 UTF8 and LANG, 6 no PIPELINING, 7 no USER/PASS.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mail_proto_fuzz::{CONTENT_ALPHABET, MAX_CHUNK, Rng, SessionInput, normalize_lines, split};
use sansmail_pop3::{
    Expect, Language, Mechanism, Reply, Uid, codec,
    session::{
        Maildrop, ServerConfig, responses,
        server::{Event, Server},
    },
};

fn config(flags: u8) -> ServerConfig {
    let mut c = ServerConfig::new("pop.example.org");
    c.starttls = flags & 1 != 0;
    c.auth_requires_tls = flags & 2 == 0;
    if flags & 4 != 0 {
        c.apop_timestamp = Some("<1896.697170952@pop.example.org>".to_owned());
    }
    if flags & 8 != 0 {
        c.sasl.push(Mechanism::new("X-TEST").expect("mechanism"));
    }
    if flags & 16 != 0 {
        c.limits.max_command_line = 32;
        c.limits.max_argument = 8;
        c.limits.max_sasl_line = 40;
        c.limits.max_errors = 4;
        c.limits.max_auth_failures = 2;
    } else {
        c.limits.max_errors = 1000;
        c.limits.max_auth_failures = 1000;
    }
    if flags & 32 != 0 {
        c.utf8 = true;
        c.languages = vec![
            Language::new("en", "English").expect("language"),
            Language::new("de", "Deutsch").expect("language"),
        ];
    }
    c.pipelining = flags & 64 == 0;
    c.user_pass = flags & 128 == 0;
    c
}

/// Checks that `wire` is whole CRLF lines of at most 512 octets.
fn check_lines(wire: &[u8]) {
    assert!(
        wire.is_empty() || wire.ends_with(b"\r\n"),
        "partial line sent: {:?}",
        String::from_utf8_lossy(wire)
    );
    assert!(
        mail_proto_fuzz::only_crlf(wire),
        "bare CR or LF sent: {:?}",
        String::from_utf8_lossy(wire)
    );
    for line in wire.split(|&b| b == b'\n') {
        assert!(line.len() < 512, "line of {} octets", line.len() + 1);
    }
}

fn drain(server: &mut Server, rng: &mut Rng) {
    loop {
        let mut before = Vec::new();
        server.poll_transmit(&mut before);
        check_lines(&before);
        let (login, retrieve) = match server.poll_event() {
            None => return,
            Some(Event::Login { .. } | Event::Apop { .. }) => (true, None),
            Some(Event::AuthExchange { .. }) => {
                if rng.coin() {
                    server.auth_challenge(b"again").expect("challenge");
                    continue;
                }
                (true, None)
            }
            Some(Event::Retrieve { top, .. }) => (false, Some(top)),
            Some(Event::Commit { .. }) => {
                if rng.chance(3, 4) {
                    server.accept().expect("accept commit");
                } else {
                    server
                        .reject(&responses::commit_failed())
                        .expect("reject commit");
                }
                continue;
            }
            Some(Event::StartTls) => {
                server.tls_established().expect("tls");
                continue;
            }
            Some(_) => continue,
        };
        if login {
            if rng.chance(3, 4) {
                let mut m = Maildrop::new();
                for i in 0..rng.below(4) {
                    m.push(10 + i as u64, Uid::new(format!("u{i}")).expect("uid"));
                }
                server.accept_login(m).expect("accept_login");
            } else {
                server
                    .reject(&responses::auth_failed())
                    .expect("reject login");
            }
        } else if let Some(top) = retrieve {
            if rng.chance(1, 6) {
                server
                    .reject(&responses::message_unavailable())
                    .expect("reject retrieve");
                continue;
            }
            if rng.coin() {
                server.accept().expect("accept retrieve");
            }
            let mut content = Vec::new();
            for _ in 0..rng.below(4) {
                let piece = rng.bytes_from(CONTENT_ALPHABET, 30);
                let more = server.message_data(&piece).expect("message_data");
                content.extend_from_slice(&piece);
                assert!(more || top.is_some(), "RETR wants no more content");
                if !more {
                    break;
                }
            }
            server.message_end().expect("message_end");
            let mut wire = Vec::new();
            server.poll_transmit(&mut wire);
            check_lines(&wire);
            let (rest, reply) =
                codec::decode_response(&wire, Expect::MultiLine).unwrap_or_else(|e| {
                    panic!(
                        "RETR reply does not decode ({e}): {:?}",
                        String::from_utf8_lossy(&wire)
                    )
                });
            assert!(rest.is_empty(), "octets after the RETR reply");
            let Reply::MultiLine { body, .. } = reply else {
                panic!("RETR answered with {reply:?}");
            };
            let expected = normalize_lines(&content);
            let got = body.unstuffed();
            match top {
                None => assert_eq!(got, expected, "RETR content differs"),
                Some(_) => assert!(expected.starts_with(&got), "TOP is not a prefix"),
            }
        }
    }
}

fuzz_target!(|input: SessionInput| {
    let config = config(input.flags);
    let max_line = config
        .limits
        .max_command_line
        .max(config.limits.max_sasl_line);
    let mut now = Instant::now();
    let mut server = Server::new(config, now);
    let mut rng = Rng::new(input.seed);
    for chunk in split(&input.data, &input.chunks) {
        now += Duration::from_secs(1);
        server.handle_input(now, chunk);
        drain(&mut server, &mut rng);
        assert!(
            server.buffered_len() <= max_line + MAX_CHUNK,
            "buffered {} octets",
            server.buffered_len()
        );
        if rng.chance(1, 200) {
            server.handle_timeout(now);
            server.handle_timeout(now + Duration::from_secs(7200));
        }
        let mut wire = Vec::new();
        server.poll_transmit(&mut wire);
        check_lines(&wire);
        if server.is_closed() {
            break;
        }
    }
});
