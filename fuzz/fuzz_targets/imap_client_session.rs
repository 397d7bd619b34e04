//! Arbitrary server bytes, in arbitrary chunks, into an IMAP `Client` whose application sends
//! commands (with literals), ends IDLE and answers SASL continuations at random. Invariants:
//!
//! - no panic; `send` only fails with `Busy` or `Closed`;
//! - a command goes out starting with the tag `send` returned;
//! - every `Completed` answers a command in flight, once;
//! - after `Closed` the session is closed and stays silent.
//!
//! Flags: 0 every leniency, 1 UTF-8 responses, 2 small limits.
#![no_main]

use std::{
    collections::HashSet,
    sync::OnceLock,
    time::{Duration, Instant},
};

use libfuzzer_sys::fuzz_target;
use mail_proto_fuzz::{Rng, SessionInput, split};
use sansmail_imap::{
    codec::{self, CommandOptions, Leniency, frame::FrameLimits},
    session::client::{ApiError, Client, ClientConfig, Event},
    types::command::{CommandBody, SaslResponse},
};

const COMMANDS: &[&[u8]] = &[
    b"x CAPABILITY\r\n",
    b"x NOOP\r\n",
    b"x LOGIN alice \"se cret\"\r\n",
    b"x AUTHENTICATE PLAIN\r\n",
    b"x AUTHENTICATE X-TEST\r\n",
    b"x ENABLE UTF8=ACCEPT CONDSTORE\r\n",
    b"x SELECT INBOX\r\n",
    b"x EXAMINE \"Sent Items\"\r\n",
    b"x LIST \"\" *\r\n",
    b"x STATUS INBOX (MESSAGES UIDNEXT)\r\n",
    b"x FETCH 1:* (FLAGS UID BODY.PEEK[HEADER])\r\n",
    b"x UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5)\r\n",
    b"x STORE 1 +FLAGS (\\Seen)\r\n",
    b"x UID SEARCH CHARSET UTF-8 SUBJECT {4+}\r\ntest\r\n",
    b"x APPEND INBOX (\\Seen) {11+}\r\nHello world\r\n",
    b"x APPEND INBOX {5000+}\r\n",
    b"x IDLE\r\n",
    b"x CLOSE\r\n",
    b"x LOGOUT\r\n",
    b"x STARTTLS\r\n",
];

/// The commands' octets (the 5000-octet literal filled in), kept for the whole run.
static WIRE: OnceLock<Vec<&'static [u8]>> = OnceLock::new();
/// The commands, parsed once.
static BODIES: OnceLock<Vec<CommandBody<'static>>> = OnceLock::new();

fn bodies() -> &'static [CommandBody<'static>] {
    BODIES.get_or_init(|| {
        let wire = WIRE.get_or_init(|| {
            COMMANDS
                .iter()
                .map(|c| {
                    let bytes = if c.starts_with(b"x APPEND INBOX {5000") {
                        let mut big = b"x APPEND INBOX {5000}\r\n".to_vec();
                        big.extend(std::iter::repeat_n(b'a', 5000));
                        big.extend_from_slice(b"\r\n");
                        big
                    } else {
                        c.to_vec()
                    };
                    &*Box::leak(bytes.into_boxed_slice())
                })
                .collect()
        });
        wire.iter()
            .map(|bytes| {
                codec::parse_command(bytes, &CommandOptions::default())
                    .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(bytes)))
                    .body
            })
            .collect()
    })
}

fuzz_target!(|input: SessionInput| {
    let mut config = ClientConfig::default();
    if input.flags & 1 != 0 {
        config.response_options.lenient = Leniency::all();
    }
    config.response_options.utf8 = input.flags & 2 != 0;
    if input.flags & 4 != 0 {
        config.response_options.limits = FrameLimits {
            max_line: 100,
            max_literal: 50,
            max_nonsync_literal: 50,
            max_message: 300,
        };
    }
    let mut now = Instant::now();
    let mut client = Client::new(config, now);
    let mut rng = Rng::new(input.seed);
    let mut in_flight: HashSet<String> = HashSet::new();
    let mut closed = false;
    let mut idling = false;

    for chunk in split(&input.data, &input.chunks) {
        now += Duration::from_secs(1);
        client.handle_input(now, chunk);
        while let Some(event) = client.poll_event() {
            assert!(!closed, "event after Closed: {event:?}");
            match event {
                Event::Completed { tag, .. } => {
                    assert!(
                        in_flight.remove(tag.as_str()),
                        "completion of {tag:?}, not in flight"
                    );
                }
                Event::Closed { .. } => {
                    assert!(client.is_closed());
                    closed = true;
                }
                Event::Idling => idling = true,
                Event::Continue(_) => {
                    let resp = match rng.below(3) {
                        0 => SaslResponse::Cancel,
                        1 => SaslResponse::Empty,
                        _ => SaslResponse::Base64(sansmail_imap::types::command::Secret::new(
                            "AGFsaWNlAHNlY3JldA==".into(),
                        )),
                    };
                    client.sasl_response(&resp);
                }
                _ => {}
            }
        }
        let mut wire = Vec::new();
        client.poll_transmit(&mut wire);
        if closed {
            continue;
        }
        // The application acts.
        for _ in 0..rng.below(3) {
            if idling && rng.coin() {
                let _ = client.idle_done();
                idling = false;
                wire.clear();
                client.poll_transmit(&mut wire);
                continue;
            }
            let body = rng.pick(bodies()).clone();
            match client.send(body) {
                Ok(tag) => {
                    assert!(in_flight.insert(tag.as_str().to_owned()), "tag reused");
                    let mut out = Vec::new();
                    client.poll_transmit(&mut out);
                    assert!(
                        out.starts_with(format!("{} ", tag.as_str()).as_bytes()),
                        "command does not start with its tag: {:?}",
                        String::from_utf8_lossy(&out)
                    );
                }
                Err(ApiError::Busy(_) | ApiError::Closed) => {}
                Err(e) => panic!("send failed: {e}"),
            }
        }
        if client.is_closed() {
            closed = true;
        }
    }
});
