//! Our SMTP `Client` and `Server` talking to each other through arbitrary chunking, each
//! application deciding at random, the message contents taken from the fuzz input.
//! Invariants:
//!
//! - no panic and no deadlock: the session ends (QUIT answered, or a failure) in bounded
//!   steps;
//! - the client never fails for a reason the server did not give (no invalid or unexpected
//!   reply, no timeout);
//! - every message the server accepted arrives as the client gave it (CRLF line ends), and
//!   the client reports `Sent` exactly when the server accepted; in LMTP, one reply per
//!   accepted recipient, in order.
//!
//! Flags: 0 LMTP, 1 AUTH with credentials, 2 STARTTLS, 3 no pipelining (client), 4 no
//! chunking (client), 5 no CHUNKING (server), 6 bare line endings normalized (server).
#![no_main]

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use libfuzzer_sys::fuzz_target;
use mail_proto_fuzz::{Rng, SessionInput, Stall, Wire, normalize_lines};
use sansmail_smtp::{
    DomainPart, ForwardPath, MailParams, Mailbox, Mechanism, RcptParams, Reply, ReplyCode,
    ReversePath, Secret,
    codec::BareLineEndings,
    session::{
        Protocol, ServerConfig,
        client::{self, Client, ClientConfig, ClientError, Envelope},
        server::{self, Server},
    },
    types::sasl::Credentials,
};

/// What the server's application decided about one message.
#[derive(Debug)]
struct Verdict {
    data: Vec<u8>,
    /// One per reply owed, true for accepted.
    answers: Vec<bool>,
}

fn negative() -> Reply<'static> {
    Reply::new(ReplyCode::MAILBOX_BUSY, None, "Try again later").expect("reply")
}

fuzz_target!(|input: SessionInput| {
    // FUZZ_TRACE=1 prints the conversation (for reproducing a failure).
    let trace = std::env::var_os("FUZZ_TRACE").is_some();
    let flags = input.flags;
    let lmtp = flags & 1 != 0;
    let auth = flags & 2 != 0;
    let mut rng = Rng::new(input.seed);
    let mut now = Instant::now();

    let mut sc = ServerConfig::new("mx.example.org");
    sc.protocol = if lmtp { Protocol::Lmtp } else { Protocol::Smtp };
    if auth {
        sc.extensions.auth = vec![Mechanism::PLAIN, Mechanism::LOGIN];
        sc.auth_requires_tls = false;
    }
    sc.starttls = flags & 4 != 0;
    sc.extensions.chunking = flags & 32 == 0;
    if flags & 64 != 0 {
        sc.bare_line_endings = BareLineEndings::Normalize;
    }
    sc.limits.max_errors = 1000;
    let mut server = Server::new(sc, now);

    let mut cc = ClientConfig::new(DomainPart::try_from("client.example").expect("domain"));
    cc.protocol = sc_protocol(lmtp);
    if auth {
        cc.credentials = Some(Credentials {
            authzid: None,
            authcid: "alice".to_owned(),
            password: Secret::new("secret".to_owned()),
        });
    }
    cc.pipelining = flags & 8 == 0;
    cc.chunking = flags & 16 == 0;
    // A password goes in plaintext only when asked for: without STARTTLS, say so.
    if flags & 4 == 0 {
        cc.starttls = sansmail_smtp::session::client::TlsPolicy::Never;
    }
    let mut client = Client::new(cc, now);

    // Message contents: the fuzz input, cut into messages at 0xFF octets.
    let mut contents: VecDeque<&[u8]> = input.data.split(|&b| b == 0xFF).take(4).collect();
    let mut sent_contents: VecDeque<Vec<u8>> = VecDeque::new();
    let mut verdicts: VecDeque<Verdict> = VecDeque::new();
    let mut receiving: Option<Vec<u8>> = None;
    let mut accepted_rcpts = 0usize;

    let mut to_server = Wire::new(input.chunks, "C", trace);
    let mut to_client = Wire::new(input.chunks, "S", trace);
    to_client.fill(|b| server.poll_transmit(b));
    let mut done = false;
    let mut stall = Stall::default();
    for _round in 0..10_000 {
        now += Duration::from_millis(10);
        let mut progressed = false;

        // Client -> server.
        progressed |= to_server.deliver(|piece| server.handle_input(now, piece));
        // Server application.
        while let Some(event) = server.poll_event() {
            progressed = true;
            if trace {
                eprintln!("server event: {event:?}");
            }
            match event {
                server::Event::Mail { .. } | server::Event::Auth { .. } => {
                    // A new transaction (or none yet): no recipient accepted.
                    accepted_rcpts = 0;
                    if rng.chance(7, 8) {
                        server.accept().expect("accept");
                    } else {
                        server.reject(&negative()).expect("reject");
                    }
                }
                server::Event::Rcpt { .. } => {
                    if rng.chance(3, 4) {
                        accepted_rcpts += 1;
                        server.accept().expect("accept rcpt");
                    } else {
                        server.reject(&negative()).expect("reject rcpt");
                    }
                }
                server::Event::DataStart => {
                    if rng.chance(7, 8) {
                        receiving = Some(Vec::new());
                        server.accept().expect("accept data");
                    } else {
                        server.reject(&negative()).expect("reject data");
                    }
                }
                server::Event::MessageData(d) => {
                    receiving
                        .as_mut()
                        .expect("data after DataStart")
                        .extend_from_slice(&d);
                }
                server::Event::MessageEnd { replies, .. } => {
                    if lmtp {
                        assert_eq!(replies, accepted_rcpts.max(1), "LMTP replies owed");
                    } else {
                        assert_eq!(replies, 1);
                    }
                    let mut answers = Vec::new();
                    for _ in 0..replies {
                        let yes = rng.chance(3, 4);
                        answers.push(yes);
                        if yes {
                            server.accept().expect("accept message");
                        } else {
                            server.reject(&negative()).expect("reject message");
                        }
                    }
                    verdicts.push_back(Verdict {
                        data: receiving.take().expect("message data"),
                        answers,
                    });
                    accepted_rcpts = 0;
                }
                server::Event::MessageAborted { .. } | server::Event::TransactionReset => {
                    receiving = None;
                    accepted_rcpts = 0;
                }
                server::Event::StartTls => server.tls_established().expect("server tls"),
                _ => {}
            }
        }
        to_client.fill(|b| server.poll_transmit(b));

        // Server -> client.
        progressed |= to_client.deliver(|piece| client.handle_input(now, piece));
        // Client application.
        while let Some(event) = client.poll_event() {
            progressed = true;
            if trace {
                eprintln!("client event: {event:?}");
            }
            match event {
                client::Event::StartTls => client.tls_established().expect("client tls"),
                client::Event::Ready => {
                    if client.is_closed() {
                        // Stale: the session failed later in the same batch of events.
                        continue;
                    }
                    if contents.is_empty() || rng.chance(1, 8) {
                        client.quit().expect("quit");
                    } else {
                        let n = 1 + rng.below(3);
                        let env = Envelope {
                            from: ReversePath::Mailbox(
                                Mailbox::try_from("s@example.org")
                                    .expect("mailbox")
                                    .into_owned(),
                            ),
                            params: MailParams::default(),
                            recipients: (0..n)
                                .map(|i| {
                                    let to = format!("r{i}@example.net");
                                    let m = Mailbox::try_from(to.as_str())
                                        .expect("mailbox")
                                        .into_owned();
                                    (ForwardPath::Mailbox(m), RcptParams::default())
                                })
                                .collect(),
                        };
                        client.send_mail(&env).expect("send_mail");
                    }
                }
                client::Event::SendData => {
                    if client.is_closed() {
                        // Stale: the session failed later in the same batch of events.
                        continue;
                    }
                    let content = contents.pop_front().unwrap_or_default();
                    let mut at = 0;
                    while at < content.len() {
                        let n = (1 + rng.below(64)).min(content.len() - at);
                        client.send_data(&content[at..at + n]).expect("send_data");
                        at += n;
                    }
                    client.end_data().expect("end_data");
                    sent_contents.push_back(content.to_vec());
                }
                client::Event::Sent { replies } => {
                    let content = sent_contents.pop_front().expect("content");
                    if verdicts.is_empty() {
                        // A `BDAT ... LAST` whose data the server refused: that refusal is
                        // the verdict (in LMTP once per recipient).
                        assert!(
                            replies.iter().all(|(_, r)| !r.code().is_positive())
                                && (lmtp || replies.len() == 1),
                            "Sent without a message the server took: {replies:?}"
                        );
                        continue;
                    }
                    let v = verdicts.pop_front().expect("verdict");
                    let codes: Vec<bool> = replies
                        .iter()
                        .map(|(_, r)| r.code().is_positive())
                        .collect();
                    assert_eq!(
                        codes, v.answers,
                        "final replies differ from the server's answers"
                    );
                    if v.answers.iter().any(|&a| a)
                        && !(flags & 64 != 0 && content.contains(&b'\r'))
                    {
                        // Lines past 998 octets are broken with CRLF SP: the same text once
                        // unfolded, and no line longer.
                        assert_eq!(
                            unfold(&v.data),
                            unfold(&normalize_lines(&content)),
                            "message data differs"
                        );
                        assert!(
                            v.data.split(|&b| b == b'\n').all(|l| l.len() <= 999),
                            "a line over 998 octets"
                        );
                    }
                }
                client::Event::TransactionFailed(e) => {
                    assert!(
                        !matches!(
                            e,
                            ClientError::Protocol(_)
                                | ClientError::Unexpected(_)
                                | ClientError::Timeout
                        ),
                        "transaction failed: {e}"
                    );
                    // The server answered the message: then it refused it for everyone
                    // (a transaction that failed before the data leaves no verdict).
                    if let Some(v) = verdicts.pop_front() {
                        assert!(
                            v.answers.iter().all(|&a| !a),
                            "the client reports a failed transaction, but the server accepted the message for some recipients: {v:?} ({e})"
                        );
                    }
                    // Content handed over but not answered is dropped with the transaction.
                    sent_contents.clear();
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
                client::Event::Closed => done = true,
                _ => {}
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

fn sc_protocol(lmtp: bool) -> Protocol {
    if lmtp { Protocol::Lmtp } else { Protocol::Smtp }
}

/// `data` without the CRLF SP sequences that breaking long lines inserts.
fn unfold(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(b"\r\n ") {
            i += 3;
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}
