//! Arbitrary server bytes, in arbitrary chunks, into an SMTP/LMTP `Client` whose application
//! starts transactions, sends message data and quits at random. Invariants:
//!
//! - no panic; every call the events invite succeeds;
//! - after `Failed` or `Closed` the session is closed and stays silent;
//! - the octets of each message (DATA with dot-stuffing, or BDAT chunks) read back as the
//!   data given, with CRLF line ends, ending exactly at the end marker or the `LAST` chunk;
//! - every other line the client sends is a command that decodes, a SASL line, or the `.`
//!   that ends an empty message.
//!
//! Flags: 0 LMTP, 1 credentials, 2 STARTTLS required, 3 no pipelining, 4 no chunking,
//! 5 small reply limits, 6 BODY=BINARYMIME, 7 implicit TLS.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mail_proto_fuzz::{CONTENT_ALPHABET, Rng, SessionInput, normalize_lines, split};
use sansmail_smtp::{
    Body, DomainPart, ForwardPath, MailParams, Mailbox, RcptParams, ReversePath, Secret,
    codec::{self, BareLineEndings, DataReceiver, ReplyLimits},
    session::{
        Protocol,
        client::{Client, ClientConfig, Envelope, Event, TlsPolicy},
    },
    types::sasl::Credentials,
};

fn config(flags: u8) -> ClientConfig {
    let mut c = ClientConfig::new(DomainPart::try_from("client.example").expect("domain"));
    if flags & 1 != 0 {
        c.protocol = Protocol::Lmtp;
    }
    if flags & 2 != 0 {
        c.credentials = Some(Credentials {
            authzid: None,
            authcid: "alice".to_owned(),
            password: Secret::new("secret".to_owned()),
        });
    }
    c.starttls = if flags & 4 != 0 {
        TlsPolicy::Required
    } else {
        TlsPolicy::Opportunistic
    };
    c.pipelining = flags & 8 == 0;
    c.chunking = flags & 16 == 0;
    if flags & 32 != 0 {
        c.reply_limits = ReplyLimits {
            max_line: 40,
            max_size: 200,
            max_lines: 4,
            any_text: flags & 64 != 0,
        };
    }
    c.implicit_tls = flags & 128 != 0;
    c
}

fn envelope(rng: &mut Rng, binary: bool) -> Envelope {
    const RCPTS: &[&str] = &["a@example.org", "b@example.net", "\"c d\"@example.com"];
    let from = if rng.chance(1, 4) {
        ReversePath::Null
    } else {
        ReversePath::Mailbox(
            Mailbox::try_from("s@example.org")
                .expect("mailbox")
                .into_owned(),
        )
    };
    let mut params = MailParams::default();
    if rng.coin() {
        params.size = Some(rng.below(100_000) as u64);
    }
    if binary {
        params.body = Some(Body::BinaryMime);
    }
    let n = 1 + rng.below(3);
    let recipients = (0..n)
        .map(|_| {
            let to = if rng.chance(1, 8) {
                ForwardPath::Postmaster
            } else {
                ForwardPath::Mailbox(
                    Mailbox::try_from(*rng.pick(RCPTS))
                        .expect("mailbox")
                        .into_owned(),
                )
            };
            (to, RcptParams::default())
        })
        .collect();
    Envelope {
        from,
        params,
        recipients,
    }
}

/// Checks the lines of a segment sent outside message data.
fn check_lines(wire: &[u8]) {
    let mut rest = wire;
    while !rest.is_empty() {
        let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
            panic!("unterminated line {:?}", String::from_utf8_lossy(rest));
        };
        let line = &rest[..=lf];
        assert!(
            line.ends_with(b"\r\n"),
            "bare LF in {:?}",
            String::from_utf8_lossy(line)
        );
        let body = &line[..line.len() - 2];
        let ok = codec::decode_command(line).is_ok()
            || body == b"."
            || codec::parse_sasl_line(body).is_ok();
        assert!(
            ok,
            "sent an invalid line {:?}",
            String::from_utf8_lossy(line)
        );
        rest = &rest[lf + 1..];
    }
}

/// Checks one message's octets against the data given.
fn check_message(wire: &[u8], content: &[u8], binary: bool) {
    if wire.starts_with(b"BDAT ") {
        let mut rest = wire;
        let mut data = Vec::new();
        loop {
            let (after, cmd) = codec::decode_command(rest).expect("BDAT line");
            let sansmail_smtp::Command::Bdat { size, last } = cmd else {
                panic!("expected BDAT, got {cmd:?}");
            };
            let size = usize::try_from(size).expect("size");
            assert!(after.len() >= size, "BDAT chunk shorter than announced");
            data.extend_from_slice(&after[..size]);
            rest = &after[size..];
            if last {
                break;
            }
        }
        assert!(rest.is_empty(), "octets after BDAT LAST");
        let expected = if binary {
            content.to_vec()
        } else {
            normalize_lines(content)
        };
        assert_eq!(data, expected, "BDAT data differs");
    } else {
        let mut rx = DataReceiver::new(BareLineEndings::Reject, u64::MAX, None);
        let mut out = Vec::new();
        let (used, end) = rx.decode(wire, &mut out);
        assert_eq!(
            used,
            wire.len(),
            "message ends before the end of its octets"
        );
        let end = end.expect("message has its end marker");
        assert!(!end.bare_line_ending);
        assert_eq!(out, normalize_lines(content), "DATA data differs");
    }
}

fuzz_target!(|input: SessionInput| {
    // FUZZ_TRACE=1 prints the conversation (for reproducing a failure).
    let trace = std::env::var_os("FUZZ_TRACE").is_some();
    let binary = input.flags & 64 != 0;
    let mut now = Instant::now();
    let mut client = Client::new(config(input.flags), now);
    let mut rng = Rng::new(input.seed);
    let mut wire = Vec::new();
    let mut finished = false;

    for chunk in split(&input.data, &input.chunks) {
        now += Duration::from_secs(1);
        if trace {
            eprintln!("S: {:?}", String::from_utf8_lossy(chunk));
        }
        client.handle_input(now, chunk);
        if rng.chance(1, 200) {
            client.handle_timeout(now + Duration::from_secs(3600));
        }
        wire.clear();
        client.poll_transmit(&mut wire);
        check_lines(&wire);
        while let Some(event) = client.poll_event() {
            assert!(!finished, "event after the session ended: {event:?}");
            if trace {
                eprintln!("event: {event:?}");
            }
            match event {
                Event::StartTls => {
                    client.tls_established().expect("tls");
                }
                Event::Ready => {
                    if rng.chance(1, 5) {
                        // A Ready read in the same batch as a later failure is stale.
                        let r = client.quit();
                        assert!(r.is_ok() || client.is_closed(), "quit: {r:?}");
                    } else {
                        let env = envelope(&mut rng, binary);
                        let r = client.send_mail(&env);
                        assert!(r.is_ok() || client.is_closed(), "send_mail: {r:?}");
                    }
                }
                Event::SendData => {
                    if client.is_closed() {
                        // Stale: the session failed later in the same batch of events.
                        continue;
                    }
                    let mut content = Vec::new();
                    for _ in 0..rng.below(4) {
                        let piece = rng.bytes_from(CONTENT_ALPHABET, 40);
                        client.send_data(&piece).expect("send_data");
                        content.extend_from_slice(&piece);
                    }
                    client.end_data().expect("end_data");
                    let mut msg = Vec::new();
                    client.poll_transmit(&mut msg);
                    check_message(&msg, &content, binary);
                }
                Event::Failed(_) | Event::Closed => {
                    assert!(client.is_closed());
                    finished = true;
                }
                _ => {}
            }
            wire.clear();
            client.poll_transmit(&mut wire);
            check_lines(&wire);
        }
        if client.is_closed() {
            finished = true;
        }
    }
});
