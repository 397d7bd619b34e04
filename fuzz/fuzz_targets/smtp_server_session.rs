//! Arbitrary client bytes, in arbitrary chunks, into an SMTP/LMTP `Server` whose application
//! answers every decision at random. Invariants:
//!
//! - no panic, and no API misuse error for an answer that fits the pending decision;
//! - after the events are drained, the buffered input is at most the longest line allowed
//!   plus one chunk;
//! - everything the server transmits, drained after each step, is a whole sequence of valid
//!   replies;
//! - the message data handed out adds up to the size `MessageEnd` reports.
//!
//! Flags: 0 LMTP, 1 normalize bare line endings, 2 STARTTLS, 3 AUTH (PLAIN, LOGIN, X-TEST),
//! 4 small limits, 5 require AUTH, 6 accept unknown parameters, 7 no CHUNKING.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mail_proto_fuzz::{MAX_CHUNK, Rng, SessionInput, split};
use sansmail_smtp::{
    Mechanism, Reply, ReplyCode,
    codec::{self, BareLineEndings},
    session::{
        Protocol, ServerConfig, replies,
        server::{Event, Server},
    },
};

fn config(flags: u8) -> ServerConfig {
    let mut c = ServerConfig::new("mx.example.org");
    if flags & 1 != 0 {
        c.protocol = Protocol::Lmtp;
    }
    if flags & 2 != 0 {
        c.bare_line_endings = BareLineEndings::Normalize;
    }
    c.starttls = flags & 4 != 0;
    if flags & 8 != 0 {
        c.extensions.auth = vec![
            Mechanism::PLAIN,
            Mechanism::LOGIN,
            Mechanism::new("X-TEST").expect("mechanism"),
        ];
        c.auth_requires_tls = false;
    }
    if flags & 16 != 0 {
        c.limits.max_command_line = 64;
        c.limits.max_sasl_line = 80;
        c.limits.max_text_line = Some(40);
        c.limits.max_message_size = 200;
        c.limits.max_recipients = 2;
        c.limits.max_errors = 4;
    } else {
        c.limits.max_errors = 1000;
    }
    c.require_auth = flags & 32 != 0;
    c.accept_unknown_params = flags & 64 != 0;
    c.extensions.chunking = flags & 128 == 0;
    c
}

fn negative(rng: &mut Rng) -> Reply<'static> {
    rng.pick(&[
        replies::auth_failed(),
        replies::too_large(),
        Reply::new(ReplyCode::MAILBOX_BUSY, None, "Try again later").expect("reply"),
        Reply::new(ReplyCode::TRANSACTION_FAILED, None, "Nope").expect("reply"),
    ])
    .clone()
}

/// Checks that `wire` is a whole sequence of valid replies.
fn check_replies(wire: &[u8]) {
    let mut rest = wire;
    while !rest.is_empty() {
        match codec::decode_reply(rest) {
            Ok((r, _)) => rest = r,
            Err(e) => panic!(
                "server sent an invalid reply ({e}): {:?}",
                String::from_utf8_lossy(rest)
            ),
        }
    }
}

struct App {
    rng: Rng,
    message: u64,
}

impl App {
    /// Drains the events, answering every decision.
    fn drain(&mut self, server: &mut Server) {
        loop {
            let Some(event) = server.poll_event() else {
                return;
            };
            let rng = &mut self.rng;
            match event {
                Event::Mail { .. } | Event::Rcpt { .. } | Event::Auth { .. } => {
                    if rng.chance(3, 4) {
                        server.accept().expect("accept");
                    } else {
                        server.reject(&negative(rng)).expect("reject");
                    }
                }
                Event::DataStart => {
                    self.message = 0;
                    if rng.chance(3, 4) {
                        server.accept().expect("accept DataStart");
                    } else {
                        server.reject(&negative(rng)).expect("reject DataStart");
                    }
                }
                Event::MessageData(d) => self.message += d.len() as u64,
                Event::MessageEnd { size, replies } => {
                    assert_eq!(
                        size, self.message,
                        "MessageEnd size is not the data handed out"
                    );
                    self.message = 0;
                    assert!(replies >= 1);
                    for _ in 0..replies {
                        if rng.chance(3, 4) {
                            server.accept().expect("accept MessageEnd");
                        } else {
                            server.reject(&negative(rng)).expect("reject MessageEnd");
                        }
                    }
                    assert!(server.accept().is_err(), "a decision left pending");
                }
                Event::AuthExchange { .. } => match rng.below(3) {
                    0 => server.accept().expect("accept exchange"),
                    1 => server.reject(&negative(rng)).expect("reject exchange"),
                    _ => server.auth_challenge(b"challenge").expect("challenge"),
                },
                Event::MessageAborted { reply } => {
                    assert!(reply.code().is_negative());
                    self.message = 0;
                }
                Event::TransactionReset => self.message = 0,
                Event::StartTls => server.tls_established().expect("tls"),
                Event::Hello { .. } => {}
                _ => {}
            }
        }
    }
}

fuzz_target!(|input: SessionInput| {
    let config = config(input.flags);
    let limits = config.limits.clone();
    let max_line = limits.max_command_line.max(limits.max_sasl_line);
    let mut now = Instant::now();
    let mut server = Server::new(config, now);
    let mut app = App {
        rng: Rng::new(input.seed),
        message: 0,
    };
    let mut wire = Vec::new();
    server.poll_transmit(&mut wire);
    check_replies(&wire);

    for chunk in split(&input.data, &input.chunks) {
        now += Duration::from_secs(1);
        server.handle_input(now, chunk);
        app.drain(&mut server);
        assert!(
            server.buffered_len() <= max_line + MAX_CHUNK,
            "buffered {} octets",
            server.buffered_len()
        );
        if app.rng.chance(1, 200) {
            server.handle_timeout(now + Duration::from_secs(3600));
        }
        wire.clear();
        server.poll_transmit(&mut wire);
        check_replies(&wire);
        if server.is_closed() {
            break;
        }
    }
});
