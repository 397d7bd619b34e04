//! Client and server sessions driven against each other in memory, and the server alone
//! against scripted clients (RFC 5321 Appendix D, pipelining, STARTTLS injection, limits).

use std::time::{Duration, Instant};

use sansmail_smtp::{
    DomainPart, ForwardPath, MailParams, Mailbox, RcptParams, Reply, ReplyCode, ReversePath,
    codec::BareLineEndings,
    session::{
        Protocol, ServerConfig,
        client::{Client, ClientConfig, ClientError, Envelope, Event as CEvent, TlsPolicy},
        replies,
        server::{Event as SEvent, Server},
    },
    types::sasl::{Credentials, Mechanism, Secret},
};

fn mailbox(s: &str) -> Mailbox<'static> {
    Mailbox::try_from(s).unwrap().into_owned()
}

/// What the server-side application does.
#[derive(Default)]
struct App {
    /// Recipients (local parts) to refuse.
    refuse: Vec<&'static str>,
    /// Per-recipient final answers in LMTP: local parts whose delivery fails.
    lmtp_fail: Vec<&'static str>,
    password: Option<&'static str>,
    accepted_rcpts: Vec<String>,
    message: Vec<u8>,
    delivered: Vec<(Vec<String>, Vec<u8>)>,
    events: Vec<String>,
    starttls: bool,
}

impl App {
    fn handle(&mut self, server: &mut Server) {
        while let Some(ev) = server.poll_event() {
            self.events.push(format!("{ev:?}"));
            match ev {
                SEvent::Mail { .. } => {
                    self.accepted_rcpts.clear();
                    self.message.clear();
                    server.accept().unwrap();
                }
                SEvent::Rcpt { to, .. } => {
                    let local = to.mailbox().map_or("postmaster".to_owned(), |m| {
                        m.local_part().unquoted().into_owned()
                    });
                    if self.refuse.contains(&local.as_str()) {
                        server
                            .reject(
                                &Reply::new(ReplyCode::MAILBOX_UNAVAILABLE, None, "No such user")
                                    .unwrap(),
                            )
                            .unwrap();
                    } else {
                        self.accepted_rcpts.push(local);
                        server.accept().unwrap();
                    }
                }
                SEvent::DataStart => server.accept().unwrap(),
                SEvent::MessageData(d) => self.message.extend_from_slice(&d),
                SEvent::MessageEnd { replies: n, .. } => {
                    let rcpts = std::mem::take(&mut self.accepted_rcpts);
                    assert_eq!(n, if n > 1 || rcpts.len() <= 1 { n } else { 1 });
                    if n > 1 {
                        for r in &rcpts {
                            if self.lmtp_fail.contains(&r.as_str()) {
                                server
                                    .reject(
                                        &Reply::new(
                                            ReplyCode::INSUFFICIENT_STORAGE,
                                            None,
                                            "Mailbox full",
                                        )
                                        .unwrap(),
                                    )
                                    .unwrap();
                            } else {
                                server.accept().unwrap();
                            }
                        }
                    } else {
                        server.accept().unwrap();
                    }
                    self.delivered
                        .push((rcpts, std::mem::take(&mut self.message)));
                }
                SEvent::Auth { credentials, .. } => {
                    if Some(credentials.password.expose().as_str()) == self.password {
                        server.accept().unwrap();
                    } else {
                        server.reject(&replies::auth_failed()).unwrap();
                    }
                }
                SEvent::StartTls => self.starttls = true,
                SEvent::MessageAborted { .. } | SEvent::TransactionReset => {
                    self.message.clear();
                }
                _ => {}
            }
        }
    }
}

/// A client and a server joined by memory, with the client's application scripted.
struct Pair {
    client: Client,
    server: Server,
    app: App,
    now: Instant,
    envelopes: Vec<(Envelope, Vec<u8>)>,
    client_events: Vec<CEvent>,
    wire_c2s: Vec<u8>,
    tls_handshakes: usize,
}

impl Pair {
    fn new(server_config: ServerConfig, client_config: ClientConfig) -> Self {
        let now = Instant::now();
        Self {
            client: Client::new(client_config, now),
            server: Server::new(server_config, now),
            app: App::default(),
            now,
            envelopes: Vec::new(),
            client_events: Vec::new(),
            wire_c2s: Vec::new(),
            tls_handshakes: 0,
        }
    }

    fn drive(&mut self) {
        for _ in 0..10_000 {
            let mut progress = false;
            let mut buf = Vec::new();
            self.server.poll_transmit(&mut buf);
            if !buf.is_empty() {
                progress = true;
                self.client.handle_input(self.now, &buf);
            }
            while let Some(ev) = self.client.poll_event() {
                progress = true;
                match &ev {
                    CEvent::Ready => {
                        if self.envelopes.is_empty() {
                            self.client.quit().unwrap();
                        } else {
                            let (env, _) = &self.envelopes[0];
                            let env = env.clone();
                            self.client.send_mail(&env).unwrap();
                        }
                    }
                    CEvent::SendData => {
                        let (_, msg) = self.envelopes.remove(0);
                        // Uneven pieces, to exercise the stuffer across boundaries.
                        for piece in msg.chunks(7) {
                            self.client.send_data(piece).unwrap();
                        }
                        self.client.end_data().unwrap();
                    }
                    CEvent::TransactionFailed(_) if !self.envelopes.is_empty() => {
                        self.envelopes.remove(0);
                    }
                    CEvent::StartTls => {
                        // The "handshake": both sides switch.
                        assert!(
                            std::mem::take(&mut self.app.starttls),
                            "server asked for TLS"
                        );
                        self.server.tls_established().unwrap();
                        self.client.tls_established().unwrap();
                        self.tls_handshakes += 1;
                    }
                    _ => {}
                }
                self.client_events.push(ev);
            }
            let mut buf = Vec::new();
            self.client.poll_transmit(&mut buf);
            if !buf.is_empty() {
                progress = true;
                self.wire_c2s.extend_from_slice(&buf);
                self.server.handle_input(self.now, &buf);
            }
            self.app.handle(&mut self.server);
            if !progress {
                return;
            }
        }
        panic!("the pair did not settle");
    }
}

fn envelope(from: &str, to: &[&str]) -> Envelope {
    Envelope {
        from: if from.is_empty() {
            ReversePath::Null
        } else {
            ReversePath::Mailbox(mailbox(from))
        },
        params: MailParams::default(),
        recipients: to
            .iter()
            .map(|t| {
                let path = if t.eq_ignore_ascii_case("postmaster") {
                    ForwardPath::Postmaster
                } else {
                    ForwardPath::Mailbox(mailbox(t))
                };
                (path, RcptParams::default())
            })
            .collect(),
    }
}

fn client_config() -> ClientConfig {
    ClientConfig::new(DomainPart::try_from("client.example").unwrap().into_owned())
}

const MESSAGE: &[u8] =
    b"Subject: test\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nbare lf line\nend without newline";
const MESSAGE_DELIVERED: &[u8] =
    b"Subject: test\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nbare lf line\r\nend without newline\r\n";

#[test]
fn pair_delivers_with_pipelining_and_data() {
    let mut server = ServerConfig::new("mx.example.org");
    server.extensions.chunking = false;
    let mut pair = Pair::new(server, client_config());
    pair.envelopes.push((
        envelope("a@example.org", &["b@example.org", "c@example.org"]),
        MESSAGE.to_vec(),
    ));
    pair.drive();
    assert_eq!(pair.app.delivered.len(), 1);
    assert_eq!(pair.app.delivered[0].0, ["b", "c"]);
    assert_eq!(pair.app.delivered[0].1, MESSAGE_DELIVERED);
    // MAIL, both RCPTs and DATA went out in one batch.
    let wire = String::from_utf8_lossy(&pair.wire_c2s);
    assert!(wire.contains("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n"));
    assert!(matches!(pair.client_events.last(), Some(CEvent::Closed)));
    assert!(pair.client_events.iter().any(|e| matches!(e, CEvent::Sent { replies } if replies.len() == 1 && replies[0].1.code() == ReplyCode::OK)));
    assert!(pair.server.is_closed());
}

/// A line over RFC 5321's 998 octets reaches a server that refuses such lines broken by
/// CRLF SP (as Postfix sends it), with DATA and with BDAT; without the client's limit it
/// goes as it is, and after DATA the server refuses the message.
#[test]
fn long_lines_are_broken_for_the_receiver() {
    let line = "x".repeat(2500);
    let message = format!("Subject: {line}\r\n\r\n{line}\r\n");
    let folded = |s: &str| format!("{}\r\n {}\r\n {}", &s[..998], &s[998..1995], &s[1995..]);
    let want = format!(
        "{}\r\n\r\n{}\r\n",
        folded(&format!("Subject: {line}")),
        folded(&line)
    );
    for chunking in [false, true] {
        let mut server = ServerConfig::new("mx.example.org");
        server.extensions.chunking = chunking;
        server.limits.max_text_line = Some(1000);
        let mut pair = Pair::new(server.clone(), client_config());
        pair.envelopes.push((
            envelope("a@example.org", &["b@example.org"]),
            message.clone().into_bytes(),
        ));
        pair.drive();
        assert_eq!(pair.app.delivered.len(), 1, "chunking {chunking}");
        assert!(
            pair.app.delivered[0].1 == want.as_bytes(),
            "chunking {chunking}"
        );

        let mut unlimited = client_config();
        unlimited.max_line = None;
        let mut pair = Pair::new(server, unlimited);
        pair.envelopes.push((
            envelope("a@example.org", &["b@example.org"]),
            message.clone().into_bytes(),
        ));
        pair.drive();
        // (The server checks line lengths after DATA only: BDAT has no lines to frame.)
        match pair.app.delivered.first() {
            Some((_, data)) => assert!(chunking && data == message.as_bytes()),
            None => assert!(!chunking && String::from_utf8_lossy(&pair.wire_c2s).contains(&line)),
        }
    }
}

#[test]
fn pair_delivers_with_bdat() {
    let mut pair = Pair::new(ServerConfig::new("mx.example.org"), client_config());
    pair.envelopes.push((
        envelope("a@example.org", &["b@example.org"]),
        MESSAGE.to_vec(),
    ));
    pair.drive();
    assert_eq!(pair.app.delivered.len(), 1);
    assert_eq!(pair.app.delivered[0].1, MESSAGE_DELIVERED);
    let wire = String::from_utf8_lossy(&pair.wire_c2s);
    assert!(wire.contains("BDAT "), "{wire}");
    assert!(wire.contains(" LAST\r\n"));
    assert!(!wire.contains("DATA\r\n"));
}

#[test]
fn pair_without_pipelining_sends_one_command_at_a_time() {
    let mut server = ServerConfig::new("mx.example.org");
    server.extensions.pipelining = false;
    let mut pair = Pair::new(server, client_config());
    pair.app.refuse = vec!["nobody"];
    pair.envelopes.push((
        envelope("a@example.org", &["nobody@example.org", "b@example.org"]),
        b"hi\r\n".to_vec(),
    ));
    pair.drive();
    assert_eq!(pair.app.delivered.len(), 1);
    assert_eq!(pair.app.delivered[0].0, ["b"]);
    let recipients: Vec<_> = pair
        .client_events
        .iter()
        .filter_map(|e| match e {
            CEvent::Recipient { index, reply } => Some((*index, reply.code().get())),
            _ => None,
        })
        .collect();
    assert_eq!(recipients, [(0, 550), (1, 250)]);
}

#[test]
fn pair_all_recipients_refused_fails_transaction_and_continues() {
    let mut pair = Pair::new(ServerConfig::new("mx.example.org"), client_config());
    pair.app.refuse = vec!["x", "y"];
    pair.envelopes.push((
        envelope("a@example.org", &["x@example.org", "y@example.org"]),
        b"hi\r\n".to_vec(),
    ));
    pair.envelopes
        .push((envelope("", &["postmaster"]), b"bounce\r\n".to_vec()));
    pair.drive();
    assert!(
        pair.client_events
            .iter()
            .any(|e| matches!(e, CEvent::TransactionFailed(ClientError::NoValidRecipients)))
    );
    assert_eq!(
        pair.app.delivered.len(),
        1,
        "the second transaction still goes through"
    );
    assert_eq!(pair.app.delivered[0].0, ["postmaster"]);
    assert!(matches!(pair.client_events.last(), Some(CEvent::Closed)));
}

#[test]
fn pair_lmtp_gives_one_reply_per_recipient() {
    let mut server = ServerConfig::new("lmtp.example.org");
    server.protocol = Protocol::Lmtp;
    server.extensions.chunking = false;
    let mut client = client_config();
    client.protocol = Protocol::Lmtp;
    let mut pair = Pair::new(server, client);
    pair.app.lmtp_fail = vec!["full"];
    pair.app.refuse = vec!["gone"];
    pair.envelopes.push((
        envelope(
            "a@example.org",
            &[
                "b@example.org",
                "gone@example.org",
                "full@example.org",
                "c@example.org",
            ],
        ),
        b"hi\r\n".to_vec(),
    ));
    pair.drive();
    let sent = pair
        .client_events
        .iter()
        .find_map(|e| match e {
            CEvent::Sent { replies } => Some(replies.clone()),
            _ => None,
        })
        .expect("a Sent event");
    let codes: Vec<_> = sent.iter().map(|(i, r)| (*i, r.code().get())).collect();
    assert_eq!(codes, [(0, 250), (2, 452), (3, 250)]);
    assert!(String::from_utf8_lossy(&pair.wire_c2s).starts_with("LHLO client.example\r\n"));
}

#[test]
fn pair_starttls_then_auth_plain() {
    let mut server = ServerConfig::new("mx.example.org");
    server.starttls = true;
    server.extensions.auth = vec![Mechanism::PLAIN, Mechanism::LOGIN];
    server.require_auth = true;
    let mut client = client_config();
    client.starttls = TlsPolicy::Required;
    client.credentials = Some(Credentials {
        authzid: None,
        authcid: "alice".into(),
        password: Secret::new("secret".into()),
    });
    let mut pair = Pair::new(server, client);
    pair.app.password = Some("secret");
    pair.envelopes.push((
        envelope("alice@example.org", &["b@example.org"]),
        b"hi\r\n".to_vec(),
    ));
    pair.drive();
    assert_eq!(pair.tls_handshakes, 1);
    assert!(pair.client_events.contains(&CEvent::Authenticated));
    assert_eq!(pair.app.delivered.len(), 1);
    let wire = String::from_utf8_lossy(&pair.wire_c2s);
    assert_eq!(
        wire.matches("EHLO client.example").count(),
        2,
        "EHLO again after TLS"
    );
    assert!(wire.contains("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"));
}

/// Opportunistic TLS sends no password in the clear (RFC 8314): a server without STARTTLS
/// ends a session that would log in, as under `Required`, before AUTH goes out.
#[test]
fn pair_opportunistic_sends_no_password_without_tls() {
    let mut server = ServerConfig::new("mx.example.org");
    server.extensions.auth = vec![Mechanism::PLAIN];
    server.auth_requires_tls = false;
    let mut client = client_config();
    assert_eq!(client.starttls, TlsPolicy::Opportunistic);
    client.credentials = Some(Credentials {
        authzid: None,
        authcid: "alice".into(),
        password: Secret::new("secret".into()),
    });
    let mut pair = Pair::new(server, client);
    pair.app.password = Some("secret");
    pair.drive();
    assert!(
        pair.client_events
            .contains(&CEvent::Failed(ClientError::TlsNotOffered)),
        "{:?}",
        pair.client_events
    );
    assert!(!String::from_utf8_lossy(&pair.wire_c2s).contains("AUTH"));
}

#[test]
fn pair_auth_login_and_wrong_password() {
    let mut server = ServerConfig::new("mx.example.org");
    server.extensions.auth = vec![Mechanism::LOGIN];
    server.auth_requires_tls = false;
    let mut client = client_config();
    client.starttls = TlsPolicy::Never;
    client.credentials = Some(Credentials {
        authzid: None,
        authcid: "alice".into(),
        password: Secret::new("wrong".into()),
    });
    let mut pair = Pair::new(server, client);
    pair.app.password = Some("secret");
    pair.drive();
    let failed = pair.client_events.iter().find_map(|e| match e {
        CEvent::Failed(ClientError::Rejected { reply, .. }) => Some(reply.clone()),
        _ => None,
    });
    assert_eq!(failed.map(|r| r.code().get()), Some(535));
    let wire = String::from_utf8_lossy(&pair.wire_c2s);
    assert!(
        wire.contains("AUTH LOGIN\r\nYWxpY2U=\r\nd3Jvbmc=\r\n"),
        "{wire}"
    );
}

#[test]
fn pair_size_limit_checked_before_sending() {
    let mut server = ServerConfig::new("mx.example.org");
    server.limits.max_message_size = 100;
    let mut pair = Pair::new(server, client_config());
    let mut env = envelope("a@example.org", &["b@example.org"]);
    env.params.size = Some(1000);
    pair.envelopes.push((env, vec![b'x'; 1000]));
    pair.drive();
    assert!(pair.client_events.iter().any(|e| matches!(
        e,
        CEvent::TransactionFailed(ClientError::TooLarge {
            size: 1000,
            limit: 100
        })
    )));
    assert!(pair.app.delivered.is_empty());
}

// --- The server alone, against scripted client bytes. ---

struct Script {
    server: Server,
    app: App,
    now: Instant,
    out: Vec<u8>,
}

impl Script {
    fn new(config: ServerConfig) -> Self {
        let now = Instant::now();
        let mut s = Self {
            server: Server::new(config, now),
            app: App::default(),
            now,
            out: Vec::new(),
        };
        s.server.poll_transmit(&mut s.out);
        s.out.clear();
        s
    }

    /// Feeds `input` and returns what the server answered.
    fn feed(&mut self, input: &[u8]) -> String {
        self.server.handle_input(self.now, input);
        self.app.handle(&mut self.server);
        self.server.poll_transmit(&mut self.out);
        String::from_utf8(std::mem::take(&mut self.out)).unwrap()
    }

    fn codes(&mut self, input: &[u8]) -> Vec<u16> {
        self.feed(input)
            .lines()
            .filter(|l| l.as_bytes().get(3) != Some(&b'-'))
            .map(|l| l[..3].parse().unwrap())
            .collect()
    }
}

#[test]
fn appendix_d1_typical_transaction() {
    // RFC 5321 D.1, with the client's lines as given there.
    let mut s = Script::new(ServerConfig::new("foo.com"));
    assert_eq!(s.codes(b"EHLO bar.com\r\n"), [250]);
    assert_eq!(s.codes(b"MAIL FROM:<Smith@bar.com>\r\n"), [250]);
    assert_eq!(s.codes(b"RCPT TO:<Jones@foo.com>\r\n"), [250]);
    assert_eq!(s.codes(b"RCPT TO:<Green@foo.com>\r\n"), [250]);
    assert_eq!(s.codes(b"RCPT TO:<Brown@foo.com>\r\n"), [250]);
    assert_eq!(s.codes(b"DATA\r\n"), [354]);
    assert_eq!(
        s.codes(b"Blah blah blah...\r\n...etc. etc. etc.\r\n.\r\n"),
        [250]
    );
    assert_eq!(s.codes(b"QUIT\r\n"), [221]);
    assert_eq!(
        s.app.delivered[0].1,
        b"Blah blah blah...\r\n..etc. etc. etc.\r\n"
    );
    assert_eq!(s.app.delivered[0].0, ["Jones", "Green", "Brown"]);
    assert!(s.server.is_closed());
}

/// After HELO no extension was offered: parameters on RCPT get 555 as on MAIL (RFC 5321
/// §4.1.1.11), not passed on.
#[test]
fn rcpt_parameters_after_helo_are_refused() {
    let mut s = Script::new(ServerConfig::new("foo.com"));
    assert_eq!(
        s.codes(b"HELO bar.com\r\nMAIL FROM:<a@bar.com>\r\nRCPT TO:<c@foo.com> NOTIFY=SUCCESS\r\nRCPT TO:<c@foo.com>\r\n"),
        [250, 250, 555, 250]
    );
}

#[test]
fn appendix_d2_aborted_transaction() {
    let mut s = Script::new(ServerConfig::new("foo.com"));
    s.app.refuse = vec!["Green"];
    assert_eq!(
        s.codes(b"EHLO bar.com\r\nMAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\nRCPT TO:<Green@foo.com>\r\nRSET\r\nQUIT\r\n"),
        [250, 250, 250, 550, 250, 221]
    );
    assert!(s.app.delivered.is_empty());
}

#[test]
fn appendix_d3_relayed_mail_with_source_route() {
    let mut s = Script::new(ServerConfig::new("xyz.com"));
    assert_eq!(s.codes(b"EHLO foo.com\r\n"), [250]);
    assert_eq!(
        s.codes(b"MAIL FROM:<@foo.com:JQP@bar.com>\r\nRCPT TO:<Jones@XYZ.COM>\r\nDATA\r\n"),
        [250, 250, 354]
    );
    assert_eq!(
        s.codes(b"Date: Thu, 21 May 1998 05:33:29 -0700\r\n\r\nHi\r\n.\r\nQUIT\r\n"),
        [250, 221]
    );
    assert!(
        s.app.events[1].contains("JQP"),
        "source route dropped, mailbox kept: {}",
        s.app.events[1]
    );
}

#[test]
fn appendix_d4_verify_and_send() {
    let mut s = Script::new(ServerConfig::new("foo.com"));
    assert_eq!(s.codes(b"EHLO bar.com\r\nVRFY Crispin\r\nMAIL FROM:<EAK@bar.com>\r\nRCPT TO:<Admin.MRC@foo.com>\r\nDATA\r\n"), [250, 252, 250, 250, 354]);
    assert_eq!(s.codes(b"Blah blah blah...\r\n.\r\nQUIT\r\n"), [250, 221]);
}

#[test]
fn command_order_is_enforced() {
    let mut s = Script::new(ServerConfig::new("mx"));
    assert_eq!(s.codes(b"MAIL FROM:<a@b.c>\r\n"), [503]);
    assert_eq!(
        s.codes(b"EHLO c\r\nRCPT TO:<a@b.c>\r\nDATA\r\n"),
        [250, 503, 503]
    );
    assert_eq!(
        s.codes(b"MAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\nDATA\r\n"),
        [250, 503, 503]
    );
    // All recipients refused: DATA gets 554 (RFC 2920 §3.1).
    s.app.refuse = vec!["x"];
    assert_eq!(s.codes(b"RCPT TO:<x@b.c>\r\nDATA\r\n"), [550, 554]);
}

#[test]
fn postmaster_is_not_the_null_path() {
    let mut s = Script::new(ServerConfig::new("mx"));
    s.feed(b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\n");
    assert!(s.app.events.iter().any(|e| e.contains("Null")));
    assert!(s.app.events.iter().any(|e| e.contains("to: Postmaster")));
}

#[test]
fn pipelined_batch_in_one_read_answers_in_order() {
    let mut s = Script::new(ServerConfig::new("mx"));
    s.app.refuse = vec!["bad"];
    let out = s.feed(
        b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<bad@b.c>\r\nRCPT TO:<good@b.c>\r\nDATA\r\nhello\r\n.\r\nNOOP\r\nQUIT\r\n",
    );
    let codes: Vec<&str> = out
        .lines()
        .filter(|l| l.as_bytes()[3] == b' ')
        .map(|l| &l[..3])
        .collect();
    assert_eq!(
        codes,
        ["250", "250", "550", "250", "354", "250", "250", "221"]
    );
    assert_eq!(s.app.delivered[0].1, b"hello\r\n");
}

#[test]
fn every_split_of_a_session_gives_the_same_answers() {
    let input: &[u8] = b"EHLO c\r\nMAIL FROM:<a@b.c> SIZE=10\r\nRCPT TO:<d@b.c>\r\nDATA\r\nx\r\n..y\r\n.\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nBDAT 5\r\nab\r\ncBDAT 0 LAST\r\nQUIT\r\n";
    let whole = {
        let mut s = Script::new(ServerConfig::new("mx"));
        let out = s.feed(input);
        (out, s.app.delivered)
    };
    assert_eq!(whole.1.len(), 2);
    assert_eq!(whole.1[1].1, b"ab\r\nc");
    for split in 0..input.len() {
        let mut s = Script::new(ServerConfig::new("mx"));
        let mut out = s.feed(&input[..split]);
        out.push_str(&s.feed(&input[split..]));
        assert_eq!((out, s.app.delivered), whole, "split at {split}");
    }
    let mut s = Script::new(ServerConfig::new("mx"));
    let mut out = String::new();
    for b in input {
        out.push_str(&s.feed(std::slice::from_ref(b)));
    }
    assert_eq!((out, s.app.delivered), whole, "byte at a time");
}

#[test]
fn starttls_discards_pipelined_commands() {
    let mut config = ServerConfig::new("mx");
    config.starttls = true;
    let mut s = Script::new(config);
    let out = s.feed(
        b"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.org>\r\n",
    );
    assert!(out.ends_with("220 2.0.0 Ready to start TLS\r\n"), "{out}");
    assert!(s.app.events.iter().any(|e| e == "StartTls"));
    // More plaintext before the handshake completes is dropped too.
    assert_eq!(s.feed(b"DATA\r\n"), "");
    s.server.tls_established().unwrap();
    assert!(s.server.is_tls());
    // The injected MAIL was never executed: a MAIL now needs a new EHLO first.
    assert_eq!(s.codes(b"MAIL FROM:<a@b.c>\r\n"), [503]);
    assert!(!s.app.events.iter().any(|e| e.contains("evil")));
    let ehlo = s.feed(b"EHLO c\r\n");
    assert!(!ehlo.contains("STARTTLS"), "not offered again: {ehlo}");
}

#[test]
fn smuggling_vectors_never_end_data() {
    for vector in [&b"\n.\n"[..], b"\n.\r\n", b"\r.\r", b"\r.\r\n", b"\r\n.\n"] {
        for policy in [BareLineEndings::Reject, BareLineEndings::Normalize] {
            let mut config = ServerConfig::new("mx");
            config.bare_line_endings = policy;
            let mut s = Script::new(config);
            s.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nDATA\r\n");
            let mut body = b"hello".to_vec();
            body.extend_from_slice(vector);
            body.extend_from_slice(
                b"MAIL FROM:<smuggled@evil>\r\nRCPT TO:<x@b.c>\r\nDATA\r\nevil\r\n.\r\n",
            );
            let out = s.feed(&body);
            assert!(
                !s.app.events.iter().any(|e| e.contains("smuggled")),
                "{vector:?} {policy:?}: {out}"
            );
            match policy {
                BareLineEndings::Reject => {
                    assert!(out.starts_with("550 5.6.0"), "{vector:?}: {out}");
                    assert!(s.app.delivered.is_empty());
                }
                BareLineEndings::Normalize => {
                    assert_eq!(
                        out, "250 2.0.0 Message accepted for delivery\r\n",
                        "{vector:?}"
                    );
                    let msg = &s.app.delivered[0].1;
                    assert!(
                        msg.windows(9).any(|w| w == b"MAIL FROM"),
                        "the smuggled text is data"
                    );
                    assert!(
                        !msg.iter()
                            .enumerate()
                            .any(|(i, &b)| b == b'\n' && (i == 0 || msg[i - 1] != b'\r'))
                    );
                }
            }
        }
    }
}

#[test]
fn long_line_is_refused_and_memory_stays_flat() {
    let mut s = Script::new(ServerConfig::new("mx"));
    let chunk = vec![b'A'; 64 * 1024];
    let mut out = String::new();
    for _ in 0..16 {
        out.push_str(&s.feed(&chunk));
        assert!(
            s.server.buffered_len() <= 64 * 1024,
            "buffer grew to {}",
            s.server.buffered_len()
        );
    }
    assert_eq!(out, "", "nothing to say until the line ends");
    assert_eq!(s.codes(b"\r\nNOOP\r\n"), [500, 250]);
}

#[test]
fn too_many_errors_closes() {
    let mut config = ServerConfig::new("mx");
    config.limits.max_errors = 3;
    let mut s = Script::new(config);
    assert_eq!(
        s.codes(b"FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n"),
        [500, 500, 500, 421]
    );
    assert!(s.server.is_closed());
}

/// Commands out of sequence (`503`) count as errors, as Postfix counts them: a client that
/// sends MAIL without EHLO over and over is closed. Before, they were answered for ever.
#[test]
fn out_of_sequence_commands_count_as_errors() {
    let mut config = ServerConfig::new("mx");
    config.limits.max_errors = 3;
    let mut s = Script::new(config);
    assert_eq!(
        s.codes(b"MAIL FROM:<x@b.c>\r\nRCPT TO:<a@b.c>\r\nDATA\r\nNOOP\r\n"),
        [503, 503, 503, 421]
    );
    assert!(s.server.is_closed());
}

/// The application's refusals count as errors (a client guessing recipients is cut off, as
/// by Postfix's `smtpd_hard_error_limit`); a delivered message starts the count again.
#[test]
fn refusals_count_as_errors_until_a_message_is_delivered() {
    let mut config = ServerConfig::new("mx");
    config.limits.max_errors = 3;
    let mut s = Script::new(config);
    s.app.refuse = vec!["a", "b", "c", "d"];
    assert_eq!(
        s.codes(b"EHLO c\r\nMAIL FROM:<x@b.c>\r\nRCPT TO:<a@b.c>\r\nRCPT TO:<b@b.c>\r\nRCPT TO:<ok@b.c>\r\nDATA\r\nhi\r\n.\r\n"),
        [250, 250, 550, 550, 250, 354, 250]
    );
    assert_eq!(s.app.delivered.len(), 1);
    // Counted from zero again: two refusals and a bad command are three.
    assert_eq!(
        s.codes(b"MAIL FROM:<x@b.c>\r\nRCPT TO:<c@b.c>\r\nRCPT TO:<d@b.c>\r\nFOO\r\nNOOP\r\n"),
        [250, 550, 550, 500, 421]
    );
    assert!(s.server.is_closed());
}

/// LMTP's clients are the site's own MTAs: refused recipients are theirs to report, not
/// errors that close the session.
#[test]
fn lmtp_refusals_are_not_errors() {
    let mut config = ServerConfig::new("lmtp");
    config.protocol = Protocol::Lmtp;
    config.limits.max_errors = 3;
    let mut s = Script::new(config);
    s.app.refuse = vec!["a", "b", "c", "d"];
    assert_eq!(
        s.codes(b"LHLO c\r\nMAIL FROM:<x@b.c>\r\nRCPT TO:<a@b.c>\r\nRCPT TO:<b@b.c>\r\nRCPT TO:<c@b.c>\r\nRCPT TO:<d@b.c>\r\nNOOP\r\n"),
        [250, 250, 550, 550, 550, 550, 250]
    );
    assert!(!s.server.is_closed());
}

/// What Postfix takes by default (`strict_rfc821_envelopes = no`) is taken: spaces after the
/// colon, a path without brackets, extra spaces between parameters and at the end; a quoted
/// local part keeps its spaces. Without the leniency, and for a line with no path, 501;
/// white space at the end is taken either way (RFC 5321 §4.1.1).
#[test]
fn envelopes_postfix_takes_are_taken() {
    let mut s = Script::new(ServerConfig::new("mx"));
    assert_eq!(
        s.codes(
            b"EHLO c\r\nMAIL FROM: <a@b.c>\r\nRCPT TO: <d@b.c> \r\n\
              RCPT TO:<\"x  y\"@b.c>  NOTIFY=NEVER \r\nRSET\r\nMAIL FROM:a@b.c  SIZE=10 \r\n\
              RCPT TO:\r\nMAIL FROM:\r\n"
        ),
        [250, 250, 250, 250, 250, 250, 501, 501]
    );
    let quoted = s.app.events.iter().any(|e| e.contains("x  y"));
    assert!(quoted, "{:?}", s.app.events);
    let mut config = ServerConfig::new("mx");
    config.lenient_envelope = false;
    let mut strict = Script::new(config);
    assert_eq!(
        strict.codes(b"EHLO c\r\nMAIL FROM: <a@b.c>\r\nMAIL FROM:<a@b.c> \r\n"),
        [250, 501, 250]
    );
}

/// The HELO names Postfix takes are taken: `_` in a label, the root's trailing `.`
/// (dropped), an address literal after HELO, a space at the end. Without the leniency, and
/// for names no DNS label can hold, 501.
#[test]
fn hello_names_postfix_takes_are_taken() {
    let mut s = Script::new(ServerConfig::new("mx"));
    assert_eq!(
        s.codes(
            b"EHLO DESKTOP_4F2.corp.example\r\nEHLO mx.example.org.\r\nHELO [192.0.2.1]\r\n\
              EHLO c \r\nEHLO a..b\r\nEHLO -a\r\nEHLO a b\r\nHELO [x]\r\nEHLO\r\n"
        ),
        [250, 250, 250, 250, 501, 501, 501, 501, 501]
    );
    let hellos: Vec<_> = s
        .app
        .events
        .iter()
        .filter(|e| e.starts_with("Hello"))
        .collect();
    assert_eq!(hellos.len(), 4, "{hellos:?}");
    assert!(hellos[0].contains("DESKTOP_4F2.corp.example"), "{hellos:?}");
    assert!(hellos[1].contains("\"mx.example.org\""), "{hellos:?}");
    assert!(
        hellos[2].contains("192.0.2.1") && hellos[2].contains("Helo"),
        "{hellos:?}"
    );
    let mut config = ServerConfig::new("mx");
    config.lenient_envelope = false;
    let mut strict = Script::new(config);
    assert_eq!(
        strict.codes(b"EHLO DESKTOP_4F2\r\nEHLO mx.example.org.\r\nHELO [192.0.2.1]\r\n"),
        [501, 501, 501]
    );
}

/// RFC 5321 §4.1.1: "SMTP receivers SHOULD tolerate trailing white space before the
/// terminating <CRLF>". Commands without arguments too, with or without the leniency; what
/// is left after the white space is still checked.
#[test]
fn trailing_white_space_is_tolerated() {
    for lenient in [true, false] {
        let mut config = ServerConfig::new("mx");
        config.lenient_envelope = lenient;
        let mut s = Script::new(config);
        assert_eq!(
            s.codes(
                b"EHLO c \t\r\nNOOP \r\nHELP\t\r\nMAIL FROM:<a@b.c> \r\nRCPT TO:<d@b.c>  \r\n\
                  RSET \r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nDATA \r\nhi\r\n.\r\n\
                  MAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nBDAT 2 LAST \r\nhi\
                  NOOP x y \r\nDATA x \r\nQUIT \r\n"
            ),
            [
                250, 250, 214, 250, 250, 250, 250, 250, 354, 250, 250, 250, 250, 250, 501, 221
            ],
            "lenient: {lenient}"
        );
        assert_eq!(s.app.delivered.len(), 2);
        assert!(s.server.is_closed());
    }
}

/// Lines longer than RFC 5321's 1000 octets are taken by default (as Postfix and Dovecot
/// take them); with the limit set, the message is refused once its end arrives.
#[test]
fn long_data_lines_are_taken_unless_limited() {
    let long = format!("{}\r\n.\r\n", "x".repeat(5000));
    let mut s = Script::new(ServerConfig::new("mx"));
    s.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nDATA\r\n");
    assert_eq!(s.codes(long.as_bytes()), [250]);
    assert_eq!(s.app.delivered.len(), 1);
    let mut config = ServerConfig::new("mx");
    config.limits.max_text_line = Some(1000);
    let mut s = Script::new(config);
    s.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nDATA\r\n");
    assert_eq!(s.codes(long.as_bytes()), [550]);
    assert!(s.app.delivered.is_empty());
}

/// Malformed SASL responses and refused AUTH commands are errors like bad commands: a
/// client cannot repeat them for ever.
#[test]
fn bad_sasl_responses_count_as_errors() {
    let mut config = ServerConfig::new("mx");
    config.extensions.auth = vec![Mechanism::PLAIN];
    config.auth_requires_tls = false;
    config.limits.max_errors = 3;
    let mut s = Script::new(config);
    assert_eq!(
        s.codes(b"EHLO c\r\nAUTH PLAIN !!!\r\nAUTH CRAM-MD5\r\nAUTH PLAIN\r\n@@@\r\nNOOP\r\n"),
        [250, 501, 504, 334, 501, 421]
    );
    assert!(s.server.is_closed());
}

/// An initial response that is not base64 gets the reply of any SASL response that does
/// not decode, `501 5.5.2` (RFC 4954 §4), not the generic syntax error's 5.5.4, once AUTH
/// with its mechanism would be taken (else that refusal: 503, 504); a SIZE of
/// twenty digits past 64 bits is a size over the limit, `552 5.3.4` (RFC 1870 §6), not a
/// syntax error.
#[test]
fn bad_initial_response_and_huge_size_get_their_own_codes() {
    let mut config = ServerConfig::new("mx");
    config.extensions.auth = vec![Mechanism::PLAIN];
    config.auth_requires_tls = false;
    let mut s = Script::new(config);
    // Before EHLO, AUTH is out of sequence whatever its initial response.
    let out = s.feed(b"AUTH PLAIN !!!!\r\n");
    assert!(out.ends_with("503 5.5.1 Send EHLO first\r\n"), "{out}");
    let out = s.feed(b"EHLO c\r\nAUTH PLAIN !!!!\r\n");
    assert!(
        out.ends_with("501 5.5.2 Invalid SASL response\r\n"),
        "{out}"
    );
    // A mechanism not offered is refused as such (RFC 4954 §4: 504).
    let out = s.feed(b"AUTH CRAM-MD5 !!!!\r\n");
    assert!(out.starts_with("504 5.5.4 "), "{out}");
    let out = s.feed(b"MAIL FROM:<a@b.c> SIZE=99999999999999999999\r\n");
    assert!(out.starts_with("552 5.3.4 "), "{out}");
    let out = s.feed(b"MAIL FROM:<a@b.c> SIZE=999999999999999999999\r\n");
    assert!(out.starts_with("501 "), "{out}");
}

#[test]
fn recipient_limit() {
    let mut config = ServerConfig::new("mx");
    config.limits.max_recipients = 2;
    let mut s = Script::new(config);
    assert_eq!(
        s.codes(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<1@b.c>\r\nRCPT TO:<2@b.c>\r\nRCPT TO:<3@b.c>\r\n"),
        [250, 250, 250, 250, 452]
    );
}

/// A BDAT chunk that takes the message past the size limit is read and discarded (its
/// octets never run as commands), answered 552, and so are the chunks behind it up to LAST
/// (RFC 3030 §2); the application drops what it had; the session goes on. So is a single
/// chunk larger than the limit, up to twice it, as Postfix skips one. A larger chunk cannot
/// be skipped in reasonable time (BDAT 2^63): 552, then 421 as the connection closes
/// (RFC 5321 §3.8).
#[test]
fn an_oversized_bdat_chunk_is_read_and_refused() {
    let mut config = ServerConfig::new("mx");
    config.limits.max_message_size = 30;
    let mut s = Script::new(config);
    assert_eq!(
        s.codes(
            b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nBDAT 20\r\nabcdeabcdeabcdeabcde\
              BDAT 18\r\nQUIT\r\nQUIT\r\nQUIT\r\nBDAT 3 LAST\r\nxyzNOOP\r\n"
        ),
        [250, 250, 250, 250, 552, 552, 250]
    );
    assert!(!s.server.is_closed());
    assert!(s.app.delivered.is_empty());
    assert!(
        s.app.events.iter().any(|e| e.starts_with("MessageAborted")),
        "{:?}",
        s.app.events
    );
    // A new transaction goes through.
    assert_eq!(
        s.codes(b"MAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nBDAT 2 LAST\r\nok"),
        [250, 250, 250]
    );
    assert_eq!(s.app.delivered.len(), 1);
    let sixty = [b'x'; 60];
    let one_chunk = [
        &b"MAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nBDAT 60 LAST\r\n"[..],
        &sixty,
        b"NOOP\r\n",
    ]
    .concat();
    assert_eq!(s.codes(&one_chunk), [250, 250, 552, 250]);
    assert!(!s.server.is_closed());
    assert_eq!(s.app.delivered.len(), 1);
    let out = s.feed(b"MAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nBDAT 61 LAST\r\nQUIT\r\n");
    assert!(
        out.ends_with(
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n\
             421 4.3.0 Chunk too large to skip, closing connection\r\n"
        ),
        "{out}"
    );
    assert!(s.server.is_closed());
}

/// RFC 3030 §2: chunks already in the pipeline behind a refused one are read, discarded
/// and answered alike, and a client that sends them is not counted as making errors.
#[test]
fn chunks_after_a_refused_one_are_not_errors() {
    let mut config = ServerConfig::new("mx");
    config.limits.max_errors = 3;
    let mut s = Script::new(config);
    s.app.refuse = vec!["nouser"];
    assert_eq!(
        s.codes(
            b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<nouser@b.c>\r\n\
              BDAT 1\r\naBDAT 1\r\nbBDAT 1\r\ncBDAT 1\r\ndBDAT 1 LAST\r\neNOOP\r\n"
        ),
        [250, 250, 550, 554, 554, 554, 554, 554, 250]
    );
    assert!(!s.server.is_closed());
    // The same behind a MAIL that failed (here: none at all).
    assert_eq!(
        s.codes(b"BDAT 1\r\naBDAT 1\r\nbBDAT 1\r\ncBDAT 1 LAST\r\ndNOOP\r\n"),
        [503, 503, 503, 503, 250]
    );
    assert!(!s.server.is_closed());
}

#[test]
fn refused_bdat_chunk_is_skipped() {
    let mut s = Script::new(ServerConfig::new("mx"));
    // No transaction: the chunk is read and discarded, then answered.
    assert_eq!(
        s.codes(b"EHLO c\r\nBDAT 10\r\nQUIT\r\nQUITNOOP\r\n"),
        [250, 503, 250]
    );
}

#[test]
fn auth_refused_before_tls_by_default() {
    let mut config = ServerConfig::new("mx");
    config.extensions.auth = vec![Mechanism::PLAIN];
    let mut s = Script::new(config);
    // Not offered before TLS either (a client trusting the list would send its password).
    let ehlo = s.feed(b"EHLO c\r\n");
    assert!(
        ehlo.starts_with("250-mx\r\n") && !ehlo.contains("AUTH"),
        "{ehlo}"
    );
    assert_eq!(s.codes(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), [538]);
}

#[test]
fn auth_plain_without_initial_response_and_cancel() {
    let mut config = ServerConfig::new("mx");
    config.extensions.auth = vec![Mechanism::PLAIN];
    config.auth_requires_tls = false;
    let mut s = Script::new(config);
    s.app.password = Some("secret");
    assert_eq!(
        s.feed(b"EHLO c\r\nAUTH PLAIN\r\n").lines().last(),
        Some("334 ")
    );
    assert_eq!(s.codes(b"*\r\n"), [501]);
    assert_eq!(s.feed(b"AUTH PLAIN\r\n"), "334 \r\n");
    assert_eq!(s.codes(b"AGFsaWNlAHNlY3JldA==\r\n"), [235]);
    assert_eq!(s.codes(b"AUTH PLAIN\r\n"), [503]);
}

#[test]
fn timeouts_close_the_session() {
    let mut s = Script::new(ServerConfig::new("mx"));
    let deadline = s.server.poll_timeout().unwrap();
    assert_eq!(deadline - s.now, Duration::from_secs(300));
    s.server.handle_timeout(s.now + Duration::from_secs(299));
    assert!(!s.server.is_closed());
    s.server.handle_timeout(deadline);
    assert!(s.server.is_closed());
    let mut out = Vec::new();
    s.server.poll_transmit(&mut out);
    assert!(out.starts_with(b"421 4.4.2"));
}

/// Slowloris: octets of a command line that never ends, or of message data, do not restart
/// the timeouts; they earn 1/min_input_rate s each (2 ms at 500 octets/s). Only a complete
/// command line or message does.
#[test]
fn trickled_input_does_not_restart_the_timeouts() {
    let second = Duration::from_secs(1);
    let mut config = ServerConfig::new("mx");
    config.limits.command_timeout = 10 * second;
    config.limits.data_timeout = 10 * second;
    let mut s = Script::new(config);
    let start = s.now;
    // One octet every half second of a line that never ends.
    for i in 1..=19u32 {
        s.now = start + i * second / 2;
        assert_eq!(s.feed(b"x"), "");
        s.server.handle_timeout(s.now);
    }
    let earned = Duration::from_millis(19 * 2);
    assert_eq!(s.server.poll_timeout(), Some(start + 10 * second + earned));
    s.now = start + 10 * second + earned;
    s.server.handle_timeout(s.now);
    assert!(
        s.server.is_closed(),
        "a peer trickling an endless line stays"
    );
    let mut out = Vec::new();
    s.server.poll_transmit(&mut out);
    assert!(out.starts_with(b"421 4.4.2"));

    // A complete line restarts them; message data trickled as whole lines does not.
    let mut config = ServerConfig::new("mx");
    config.limits.data_timeout = 10 * second;
    let mut s = Script::new(config);
    let start = s.now;
    s.now = start + 5 * second;
    assert_eq!(
        s.codes(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nDATA\r\n"),
        [250, 250, 250, 354]
    );
    let data_start = s.now;
    // After the application's decision the session asks for a call to learn the time.
    assert_eq!(s.server.poll_timeout(), Some(start));
    s.server.handle_timeout(s.now);
    assert_eq!(s.server.poll_timeout(), Some(data_start + 10 * second));
    for i in 1..=40u32 {
        s.now = data_start + i * second / 2;
        s.feed(b"a\r\n");
        s.server.handle_timeout(s.now);
        if s.server.is_closed() {
            break;
        }
    }
    assert!(s.server.is_closed(), "a peer trickling message lines stays");
    // Data at a decent rate keeps the session: a 1000-octet line a second.
    let mut s = Script::new(ServerConfig::new("mx"));
    let start = s.now;
    s.codes(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nDATA\r\n");
    let mut line = vec![b'a'; 998];
    line.extend_from_slice(b"\r\n");
    for i in 1..=1000u32 {
        s.now = start + i * second;
        s.feed(&line);
        s.server.handle_timeout(s.now);
    }
    assert!(!s.server.is_closed());
    assert_eq!(s.codes(b".\r\n"), [250]);
}

#[test]
fn unsupported_parameters_get_555() {
    let mut config = ServerConfig::new("mx");
    config.extensions.dsn = false;
    let mut s = Script::new(config);
    assert_eq!(
        s.codes(b"EHLO c\r\nMAIL FROM:<a@b.c> RET=HDRS\r\nMAIL FROM:<a@b.c> X-FOO=1\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c> NOTIFY=NEVER\r\n"),
        [250, 555, 555, 250, 555]
    );
}

#[test]
fn utf8_address_needs_smtputf8() {
    let mut s = Script::new(ServerConfig::new("mx"));
    assert_eq!(s.codes("EHLO c\r\nMAIL FROM:<jösé@bücher.example>\r\nMAIL FROM:<jösé@bücher.example> SMTPUTF8\r\n".as_bytes()), [250, 553, 250]);
}

#[test]
fn api_misuse_is_an_error_not_a_panic() {
    let mut s = Script::new(ServerConfig::new("mx"));
    assert!(s.server.accept().is_err());
    assert!(s.server.tls_established().is_err());
    s.server
        .handle_input(s.now, b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
    let _ = s.server.poll_event();
    let _ = s.server.poll_event();
    assert!(
        s.server.reject(&replies::ok()).is_err(),
        "reject needs a negative reply"
    );
    assert!(s.server.accept_with(&replies::auth_failed()).is_err());
}

#[test]
fn large_message_data_is_streamed_not_buffered() {
    let mut s = Script::new(ServerConfig::new("mx"));
    s.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nDATA\r\n");
    let line = [b'x'; 78]
        .iter()
        .chain(b"\r\n")
        .copied()
        .collect::<Vec<u8>>();
    let block: Vec<u8> = line.iter().copied().cycle().take(80 * 800).collect();
    for _ in 0..200 {
        s.feed(&block);
        assert!(
            s.server.buffered_len() <= block.len(),
            "{}",
            s.server.buffered_len()
        );
    }
    assert_eq!(s.codes(b".\r\n"), [250]);
    assert_eq!(s.app.delivered[0].1.len(), 200 * block.len());
}

#[test]
fn appendix_d1_through_a_client_server_pair() {
    // RFC 5321 D.1: Smith@bar.com to Jones, Green and Brown at foo.com, all accepted.
    let mut server = ServerConfig::new("foo.com");
    server.extensions.chunking = false;
    let mut pair = Pair::new(
        server,
        ClientConfig::new(DomainPart::try_from("bar.com").unwrap().into_owned()),
    );
    pair.envelopes.push((
        envelope(
            "Smith@bar.com",
            &["Jones@foo.com", "Green@foo.com", "Brown@foo.com"],
        ),
        b"Blah blah blah...\r\n...etc. etc. etc.\r\n".to_vec(),
    ));
    pair.drive();
    assert_eq!(
        pair.app.delivered,
        [(
            vec!["Jones".to_owned(), "Green".to_owned(), "Brown".to_owned()],
            b"Blah blah blah...\r\n...etc. etc. etc.\r\n".to_vec()
        )]
    );
    let wire = String::from_utf8_lossy(&pair.wire_c2s);
    assert!(
        wire.contains("\r\n....etc. etc. etc.\r\n.\r\n"),
        "dot-stuffed on the wire: {wire}"
    );
}

#[test]
fn appendix_d2_refused_recipient_through_a_client_server_pair() {
    // RFC 5321 D.2: Green is refused; the others still get the message.
    let mut pair = Pair::new(
        ServerConfig::new("foo.com"),
        ClientConfig::new(DomainPart::try_from("bar.com").unwrap().into_owned()),
    );
    pair.app.refuse = vec!["Green"];
    pair.envelopes.push((
        envelope(
            "Smith@bar.com",
            &["Jones@foo.com", "Green@foo.com", "Brown@foo.com"],
        ),
        b"Hi\r\n".to_vec(),
    ));
    pair.drive();
    assert_eq!(pair.app.delivered[0].0, ["Jones", "Brown"]);
    let refused: Vec<_> = pair
        .client_events
        .iter()
        .filter_map(|e| match e {
            CEvent::Recipient { index, reply } if !reply.code().is_positive() => {
                Some((*index, reply.text().into_owned()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(refused, [(1, "No such user".to_owned())]);
}

/// A transaction started long after the last reply waits its full reply timeout: requests
/// carry no clock, so the session restarts it at the next `handle_timeout`.
#[test]
fn client_reply_timeout_counts_from_the_request() {
    let t0 = Instant::now();
    let mut c = Client::new(client_config(), t0);
    c.handle_input(t0, b"220 mx ready\r\n");
    let mut wire = Vec::new();
    c.poll_transmit(&mut wire);
    c.handle_input(t0, b"250 mx\r\n");
    let ready: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(ready.contains(&CEvent::Ready), "{ready:?}");
    assert_eq!(c.poll_timeout(), None);
    let later = t0 + Duration::from_secs(3600);
    c.send_mail(&envelope("a@example.org", &["b@example.org"]))
        .unwrap();
    c.handle_timeout(later);
    assert!(!c.is_closed());
    assert_eq!(c.poll_timeout(), Some(later + Duration::from_secs(300)));
    c.handle_timeout(later + Duration::from_secs(300));
    assert!(c.is_closed());
}

/// A server that trickles its reply an octet at a time does not restart the client's reply
/// timeout with each octet: the reply must be complete within it.
#[test]
fn client_reply_timeout_is_for_the_whole_reply() {
    let t0 = Instant::now();
    let mut c = Client::new(client_config(), t0);
    let greeting = b"220 mx.example.org ready, slowly\r\n";
    let step = Duration::from_secs(60);
    let mut now = t0;
    for &octet in &greeting[..greeting.len() - 1] {
        now += step;
        c.handle_input(now, &[octet]);
        c.handle_timeout(now);
        if c.is_closed() {
            break;
        }
    }
    assert!(c.is_closed(), "a reply trickled over {:?}", now - t0);
    assert!(
        now - t0 <= Duration::from_secs(300) + step,
        "{:?}",
        now - t0
    );
}

/// A closed session keeps why it closed.
#[test]
fn the_reason_a_session_closed_stays() {
    use sansmail_core::CloseReason;
    let now = Instant::now();
    let why = |input: &[u8], then: fn(&mut Server, Instant)| {
        let mut s = Server::new(ServerConfig::new("mx.example"), now);
        s.handle_input(now, input);
        while s.poll_event().is_some() {}
        then(&mut s, now);
        assert!(s.is_closed());
        s.close_reason().cloned()
    };
    assert_eq!(why(b"QUIT\r\n", |_, _| {}), Some(CloseReason::Quit));
    assert_eq!(
        why(&b"FOO\r\n".repeat(20), |_, _| {}),
        Some(CloseReason::TooManyErrors)
    );
    assert_eq!(
        why(b"", |s, now| s
            .handle_timeout(now + Duration::from_secs(3600))),
        Some(CloseReason::Timeout)
    );
    assert_eq!(why(b"", |s, _| s.shutdown()), Some(CloseReason::Shutdown));
    // The first reason stays: a shutdown after QUIT does not replace it.
    assert_eq!(
        why(b"QUIT\r\n", |s, _| s.shutdown()),
        Some(CloseReason::Quit)
    );
    let open = Server::new(ServerConfig::new("mx.example"), now);
    assert_eq!(open.close_reason(), None);
}

/// The time the application takes over a decision (a delivery's fsync, a DMARC lookup) does
/// not count against the client: the timeouts restart once it has answered, for the
/// command it answered and for one pipelined behind it. (The 250 used to be followed at
/// once by 421 4.4.2 when the decision took longer than the command timeout.)
#[test]
fn the_applications_time_does_not_count_against_the_client() {
    let minute = Duration::from_secs(60);
    let t0 = Instant::now();
    let mut server = Server::new(ServerConfig::new("mx"), t0);
    server.poll_transmit(&mut Vec::new());
    server.handle_input(
        t0,
        b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@b.c>\r\nDATA\r\nhi\r\n.\r\nNOOP\r\n",
    );
    let later = t0 + 7 * minute;
    let mut replies = Vec::new();
    while let Some(event) = server.poll_event() {
        match event {
            SEvent::MessageEnd { .. } => {
                // Seven minutes of delivery, then the answer; the driver then asks when
                // the next timeout is, and calls at once (as mail-core's does).
                server.accept().unwrap();
                let due = server.poll_timeout().expect("a call to learn the time");
                assert!(due <= later);
                server.handle_timeout(later);
            }
            SEvent::Mail { .. } | SEvent::Rcpt { .. } | SEvent::DataStart => {
                server.accept().unwrap();
            }
            _ => {}
        }
    }
    server.poll_transmit(&mut replies);
    let replies = String::from_utf8(replies).unwrap();
    assert!(!server.is_closed(), "{replies}");
    assert!(replies.ends_with("250 2.0.0 OK\r\n"), "{replies}");
    // The NOOP behind the message was answered, and the client has its full five minutes
    // from the answer.
    assert_eq!(server.poll_timeout(), Some(later + 5 * minute));
    server.handle_timeout(later + 4 * minute);
    assert!(!server.is_closed());
}

/// A client past EHLO with the server's `extensions`, its output drained.
fn ready_client(t0: Instant, extensions: &str) -> Client {
    let mut c = Client::new(client_config(), t0);
    c.handle_input(t0, b"220 mx ready\r\n");
    c.poll_transmit(&mut Vec::new());
    c.handle_input(
        t0,
        format!("250-mx\r\n{extensions}250 8BITMIME\r\n").as_bytes(),
    );
    c.poll_transmit(&mut Vec::new());
    let ready: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(ready.contains(&CEvent::Ready), "{ready:?}");
    c
}

/// A 250 to EHLO that is not the grammar's (no domain; enhanced codes on every line) still
/// greets, with the extensions it names (the codes dropped), and replies whose lines
/// disagree on the code are read by the last line's, as Postfix's client reads them.
#[test]
fn client_takes_odd_ehlo_replies_and_mixed_codes() {
    for (ehlo, pipelining) in [
        (&b"250\r\n"[..], false),
        (
            b"250-2.0.0 mx\r\n250-2.0.0 SIZE 100\r\n250 2.0.0 PIPELINING\r\n",
            true,
        ),
    ] {
        let t0 = Instant::now();
        let mut c = Client::new(client_config(), t0);
        c.handle_input(t0, b"220 mx ready\r\n");
        c.poll_transmit(&mut Vec::new());
        c.handle_input(t0, ehlo);
        let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
        assert!(events.contains(&CEvent::Ready), "{events:?}");
        let caps = c.capabilities().unwrap();
        assert_eq!(caps.has("PIPELINING"), pipelining, "{caps:?}");
        assert_eq!(caps.size_limit(), pipelining.then_some(100));
        c.send_mail(&envelope("a@example.org", &["b@example.org"]))
            .unwrap();
        let mut wire = Vec::new();
        c.poll_transmit(&mut wire);
        let mail = b"MAIL FROM:<a@example.org>\r\n";
        assert_eq!(&wire[..mail.len()], mail);
        assert_eq!(wire.len() > mail.len(), pipelining);
        c.handle_input(
            t0,
            b"451-Temporary local problem\r\n450 4.7.1 try later\r\n",
        );
        if pipelining {
            c.handle_input(
                t0,
                b"503 5.5.1 need MAIL\r\n554 5.5.1 no valid recipients\r\n",
            );
        }
        let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
        let refused = events.iter().any(|e| {
            matches!(e, CEvent::TransactionFailed(ClientError::Rejected { reply, .. }) if reply.code().get() == 450)
        });
        assert!(refused && !c.is_closed(), "{events:?}");
    }
}

/// RFC 5321 §4.3.2: only 354 lets the message go. A server that answers DATA with 250
/// has not taken a message that was never sent: the transaction fails, it is not `Sent`.
#[test]
fn client_takes_no_250_to_data_as_delivery() {
    for extensions in ["", "250-PIPELINING\r\n"] {
        let t0 = Instant::now();
        let mut c = ready_client(t0, extensions);
        c.send_mail(&envelope("a@example.org", &["b@example.org"]))
            .unwrap();
        c.handle_input(t0, b"250 sender ok\r\n");
        c.handle_input(t0, b"250 recipient ok\r\n");
        c.handle_input(t0, b"250 ok\r\n");
        let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
        assert!(
            !events.iter().any(|e| matches!(e, CEvent::Sent { .. })),
            "{extensions:?}: {events:?}"
        );
        assert!(
            events.iter().any(|e| matches!(
                e,
                CEvent::TransactionFailed(ClientError::Unexpected(r)) if r.code().get() == 250
            )),
            "{extensions:?}: {events:?}"
        );
    }
}

/// RFC 5321 §3.8: a `421` in answer to anything means the server is closing the channel.
/// The client sends nothing more (no next RCPT, no RSET) and fails the session with the
/// reply; a recipient's `421` is that recipient's reply too.
#[test]
fn client_stops_at_a_421() {
    let t0 = Instant::now();
    // Without pipelining: MAIL taken, the first RCPT answered 421.
    let mut c = ready_client(t0, "");
    c.send_mail(&envelope(
        "a@example.org",
        &["b@example.org", "c@example.org"],
    ))
    .unwrap();
    c.poll_transmit(&mut Vec::new());
    c.handle_input(t0, b"250 sender ok\r\n");
    c.poll_transmit(&mut Vec::new());
    c.handle_input(t0, b"421 4.3.2 shutting down\r\n");
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    assert_eq!(out, b"", "{}", String::from_utf8_lossy(&out));
    assert!(c.is_closed());
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(
        matches!(&events[..], [CEvent::Recipient { index: 0, reply }, CEvent::Failed(ClientError::Rejected { reply: r, .. })]
            if reply.code().get() == 421 && r.code().get() == 421),
        "{events:?}"
    );
    // Pipelined: MAIL answered 421, the rest never answered.
    let mut c = ready_client(t0, "250-PIPELINING\r\n");
    c.send_mail(&envelope("a@example.org", &["b@example.org"]))
        .unwrap();
    c.poll_transmit(&mut Vec::new());
    c.handle_input(t0, b"421 4.3.2 shutting down\r\n");
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    assert_eq!(out, b"");
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(
        matches!(&events[..], [CEvent::Failed(ClientError::Rejected { reply, .. })] if reply.code().get() == 421),
        "{events:?}"
    );
}

/// RFC 5321 §4.5.3.2: a pipelined MAIL (and the RCPTs with it) waits its full reply
/// timeout from when it was sent, however long the session sat idle before.
#[test]
fn client_pipelined_mail_timeout_counts_from_the_request() {
    let t0 = Instant::now();
    let mut c = ready_client(t0, "250-PIPELINING\r\n");
    let later = t0 + Duration::from_secs(240);
    c.send_mail(&envelope("a@example.org", &["b@example.org"]))
        .unwrap();
    c.handle_timeout(later);
    assert!(!c.is_closed());
    assert_eq!(c.poll_timeout(), Some(later + Duration::from_secs(300)));
}

/// A client of a server with PIPELINING and CHUNKING, its transaction's MAIL and RCPT
/// accepted: waiting for the message.
fn chunking_client_at_data(t0: Instant) -> Client {
    let mut c = ready_client(t0, "250-PIPELINING\r\n250-CHUNKING\r\n");
    c.send_mail(&envelope("a@example.org", &["b@example.org"]))
        .unwrap();
    c.poll_transmit(&mut Vec::new());
    c.handle_input(t0, b"250 sender ok\r\n250 recipient ok\r\n");
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(events.contains(&CEvent::SendData), "{events:?}");
    c
}

/// The reply to `BDAT … LAST` is the verdict on the message, as after DATA's dot: it gets
/// the 10-minute data-end timeout (RFC 5321 §4.5.3.2.6), not the 5-minute one.
#[test]
fn client_waits_for_bdat_last_as_for_the_dot() {
    let t0 = Instant::now();
    let mut c = chunking_client_at_data(t0);
    // The message is handed over a minute later: the wait counts from then.
    let later = t0 + Duration::from_secs(60);
    c.send_data(b"Subject: x\r\n\r\nhi\r\n").unwrap();
    c.end_data().unwrap();
    let mut wire = Vec::new();
    c.poll_transmit(&mut wire);
    assert!(
        wire.starts_with(b"BDAT "),
        "{}",
        String::from_utf8_lossy(&wire)
    );
    c.handle_timeout(later);
    assert_eq!(c.poll_timeout(), Some(later + Duration::from_secs(600)));
}

/// RFC 3030 §2: after a refused chunk the client sends no further BDAT, not even LAST; the
/// refusal is the transaction's verdict and RSET clears the server's state.
#[test]
fn client_sends_no_chunk_after_a_refused_one() {
    let t0 = Instant::now();
    let mut c = chunking_client_at_data(t0);
    c.send_data(b"first part\r\n").unwrap();
    c.send_data(b"second part\r\n").unwrap();
    let mut wire = Vec::new();
    c.poll_transmit(&mut wire);
    assert_eq!(wire, b"BDAT 12\r\nfirst part\r\n");
    c.handle_input(t0, b"552 5.3.4 message too big\r\n");
    c.send_data(b"third part\r\n").unwrap();
    c.end_data().unwrap();
    let mut wire = Vec::new();
    c.poll_transmit(&mut wire);
    assert_eq!(String::from_utf8_lossy(&wire), "RSET\r\n");
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    let refused = events.iter().any(|e| {
        matches!(e, CEvent::TransactionFailed(ClientError::Rejected { stage: sansmail_smtp::session::client::Stage::Data, reply }) if reply.code().get() == 552)
    });
    assert!(refused, "{events:?}");
    c.handle_input(t0, b"250 reset\r\n");
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(events.contains(&CEvent::Ready), "{events:?}");
}

/// A message is sent only with the extensions it needs (RFC 6152 §3, RFC 3030 §3, RFC
/// 6531 §3.4): without them the transaction fails before anything is sent
/// (`NotOffered`); an address beyond ASCII brings SMTPUTF8 of itself.
#[test]
fn client_sends_only_what_the_server_offers() {
    use sansmail_smtp::Body;
    let t0 = Instant::now();
    let client = |extensions: &str| {
        let mut c = Client::new(client_config(), t0);
        c.handle_input(t0, b"220 mx ready\r\n");
        c.poll_transmit(&mut Vec::new());
        c.handle_input(t0, format!("250-mx\r\n{extensions}250 HELP\r\n").as_bytes());
        c.poll_transmit(&mut Vec::new());
        let ready: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
        assert!(ready.contains(&CEvent::Ready), "{ready:?}");
        c
    };
    let refused = |c: &mut Client, env: &Envelope| {
        c.send_mail(env).unwrap();
        let mut wire = Vec::new();
        c.poll_transmit(&mut wire);
        assert!(wire.is_empty(), "{}", String::from_utf8_lossy(&wire));
        let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
        match &events[..] {
            [
                CEvent::TransactionFailed(ClientError::NotOffered(x)),
                CEvent::Ready,
            ] => *x,
            other => panic!("{other:?}"),
        }
    };
    let mut eight = envelope("a@example.org", &["b@example.org"]);
    eight.params.body = Some(Body::EightBitMime);
    assert_eq!(refused(&mut client(""), &eight), "8BITMIME");
    let mut binary = envelope("a@example.org", &["b@example.org"]);
    binary.params.body = Some(Body::BinaryMime);
    let no_chunking = "250-8BITMIME\r\n250-BINARYMIME\r\n";
    assert_eq!(
        refused(&mut client(no_chunking), &binary),
        "BINARYMIME and CHUNKING"
    );
    let utf8 = envelope("a@example.org", &["j\u{f6}rg@example.org"]);
    assert_eq!(refused(&mut client("250-8BITMIME\r\n"), &utf8), "SMTPUTF8");
    let mut c = client("250-8BITMIME\r\n250-SMTPUTF8\r\n");
    c.send_mail(&utf8).unwrap();
    let mut wire = Vec::new();
    c.poll_transmit(&mut wire);
    assert_eq!(
        String::from_utf8_lossy(&wire),
        "MAIL FROM:<a@example.org> SMTPUTF8\r\n"
    );
}

/// A message refused at the end of its DATA is followed by RSET before the next command:
/// Postfix keeps the transaction after a refusal there (`503 nested MAIL command` for the
/// next MAIL), and Python's smtplib resets too.
#[test]
fn client_resets_after_a_message_refused_at_the_dot() {
    let t0 = Instant::now();
    let mut c = ready_client(t0, "250-PIPELINING\r\n");
    c.send_mail(&envelope("a@example.org", &["b@example.org"]))
        .unwrap();
    c.poll_transmit(&mut Vec::new());
    c.handle_input(t0, b"250 sender ok\r\n250 recipient ok\r\n354 go ahead\r\n");
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(events.contains(&CEvent::SendData), "{events:?}");
    c.send_data(b"Subject: x\r\n\r\nhi\r\n").unwrap();
    c.end_data().unwrap();
    c.poll_transmit(&mut Vec::new());
    c.handle_input(t0, b"554 5.7.1 message refused\r\n");
    let mut wire = Vec::new();
    c.poll_transmit(&mut wire);
    assert_eq!(String::from_utf8_lossy(&wire), "RSET\r\n");
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(!events.contains(&CEvent::Ready), "{events:?}");
    c.handle_input(t0, b"250 reset\r\n");
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(events.contains(&CEvent::Ready), "{events:?}");
}

/// RFC 3030 §3: BODY=BINARYMIME goes with BDAT, also to a server without PIPELINING, where
/// each chunk would wait for the last one's reply: the message goes as one `BDAT n LAST`,
/// exactly as given (not with DATA, dot-stuffed and line ends changed).
#[test]
fn client_sends_binarymime_with_bdat_without_pipelining() {
    let t0 = Instant::now();
    let mut c = ready_client(t0, "250-CHUNKING\r\n250-BINARYMIME\r\n");
    let mut env = envelope("a@example.org", &["b@example.org"]);
    env.params.body = Some(sansmail_smtp::Body::BinaryMime);
    c.send_mail(&env).unwrap();
    let mut wire = Vec::new();
    c.poll_transmit(&mut wire);
    c.handle_input(t0, b"250 sender ok\r\n");
    c.poll_transmit(&mut wire);
    c.handle_input(t0, b"250 recipient ok\r\n");
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(events.contains(&CEvent::SendData), "{events:?}");
    c.send_data(b"\x00\xff.\n").unwrap();
    c.send_data(b"bare\rcr").unwrap();
    c.end_data().unwrap();
    c.poll_transmit(&mut wire);
    let wire = String::from_utf8_lossy(&wire).into_owned();
    assert!(!wire.contains("DATA\r\n"), "{wire}");
    assert!(
        wire.ends_with("BDAT 11 LAST\r\n\u{0}\u{fffd}.\nbare\rcr"),
        "{wire:?}"
    );
}

/// RFC 3463 §3.2: a malformed path is a bad address (X.1.7 sender, X.1.3 recipient), as
/// Postfix answers; a malformed parameter or command stays X.5.4.
#[test]
fn bad_addresses_get_address_status_codes() {
    let mut s = Script::new(ServerConfig::new("foo.com"));
    s.feed(b"EHLO bar.com\r\n");
    for (line, want) in [
        (&b"MAIL FROM:<a b@c.example>\r\n"[..], "501 5.1.7 "),
        (b"MAIL FROM:<a@b.example> SIZE=x\r\n", "501 5.5.4 "),
        (b"MAIL\r\n", "501 5.5.4 "),
    ] {
        let r = s.feed(line);
        assert!(
            r.starts_with(want),
            "{}: {r}",
            String::from_utf8_lossy(line)
        );
    }
    s.feed(b"MAIL FROM:<a@b.example>\r\n");
    for (line, want) in [
        (&b"RCPT TO:<>\r\n"[..], "501 5.1.3 "),
        (b"RCPT TO:<c@d..example>\r\n", "501 5.1.3 "),
    ] {
        let r = s.feed(line);
        assert!(
            r.starts_with(want),
            "{}: {r}",
            String::from_utf8_lossy(line)
        );
    }
}
