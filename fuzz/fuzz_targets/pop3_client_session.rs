//! Arbitrary server bytes, in arbitrary chunks, into a POP3 `Client` whose application makes
//! requests and quits at random. Invariants:
//!
//! - no panic; requests succeed once `Ready` has been seen and before `quit`;
//! - message content arrives only between `MessageStart` and `MessageEnd`, ending in CRLF;
//! - after `Failed` or `Closed` the session is closed and stays silent;
//! - everything the client sends is whole command lines that decode (or SASL lines).
//!
//! Flags: 0 no credentials, 1 APOP off, 2 SASL PLAIN off, 3 STLS required, 4 no CAPA,
//! 5 UTF8, 6 no pipelining, 7 small limits.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mail_proto_fuzz::{Rng, SessionInput, split};
use sansmail_pop3::{
    Credentials, MessageNumber, codec,
    session::client::{Client, ClientConfig, Event, TlsPolicy},
};

fn config(flags: u8) -> ClientConfig {
    let creds = (flags & 1 == 0).then(|| Credentials::new("alice", "secret words"));
    let mut c = ClientConfig::new(creds);
    c.apop = flags & 2 == 0;
    c.sasl_plain = flags & 4 == 0;
    if flags & 8 != 0 {
        c.starttls = TlsPolicy::Required;
    }
    c.capa = flags & 16 == 0;
    c.utf8 = flags & 32 != 0;
    c.pipelining = flags & 64 == 0;
    if flags & 128 != 0 {
        c.limits.max_response_line = 40;
        c.limits.max_response_size = 200;
        c.limits.max_sasl_line = 40;
    }
    c
}

fn check_lines(wire: &[u8]) {
    let mut rest = wire;
    while !rest.is_empty() {
        let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
            panic!("partial line sent: {:?}", String::from_utf8_lossy(rest));
        };
        let line = &rest[..=lf];
        let ok = codec::decode_command(line).is_ok() || codec::decode_sasl_line(line, 1024).is_ok();
        assert!(
            ok,
            "sent an invalid line {:?}",
            String::from_utf8_lossy(line)
        );
        rest = &rest[lf + 1..];
    }
}

fuzz_target!(|input: SessionInput| {
    let mut now = Instant::now();
    let mut client = Client::new(config(input.flags), now);
    let mut rng = Rng::new(input.seed);
    let mut ready = false;
    let mut finished = false;
    let mut in_message = false;
    let mut content = Vec::new();

    for chunk in split(&input.data, &input.chunks) {
        now += Duration::from_secs(1);
        client.handle_input(now, chunk);
        if rng.chance(1, 200) {
            client.handle_timeout(now);
            client.handle_timeout(now + Duration::from_secs(7200));
        }
        loop {
            let Some(event) = client.poll_event() else {
                break;
            };
            assert!(!finished, "event after the session ended: {event:?}");
            match event {
                Event::Ready => ready = true,
                Event::StartTls => {
                    client.tls_established().expect("tls");
                    continue;
                }
                Event::MessageStart { .. } => {
                    assert!(!in_message, "MessageStart inside a message");
                    in_message = true;
                    content.clear();
                }
                Event::MessageData(d) => {
                    assert!(in_message, "MessageData outside a message");
                    content.extend_from_slice(&d);
                }
                Event::MessageEnd { .. } => {
                    assert!(in_message, "MessageEnd outside a message");
                    in_message = false;
                    assert!(
                        content.is_empty() || content.ends_with(b"\r\n"),
                        "content without its last CRLF"
                    );
                }
                Event::Failed(_) | Event::Closed { .. } => {
                    assert!(client.is_closed());
                    finished = true;
                    ready = false;
                }
                _ => {}
            }
        }
        if ready && !finished {
            for _ in 0..rng.below(3) {
                let msg = MessageNumber::new(1 + rng.below(3) as u32).expect("msg");
                let result = match rng.below(10) {
                    0 => client.stat(),
                    1 => client.list(rng.coin().then_some(msg)),
                    2 => client.uidl(rng.coin().then_some(msg)),
                    3 | 4 => client.retr(msg),
                    5 => client.top(msg, rng.below(3) as u64),
                    6 => client.dele(msg),
                    7 => client.rset(),
                    8 => client.noop(),
                    _ => {
                        ready = false;
                        client.quit()
                    }
                };
                result.expect("request in the Ready state");
                if !ready {
                    break;
                }
            }
        }
        let mut wire = Vec::new();
        client.poll_transmit(&mut wire);
        check_lines(&wire);
    }
});
