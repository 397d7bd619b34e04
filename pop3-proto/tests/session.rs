//! The server session driven by scripted input: states and command order, the maildrop
//! view, the decisions (login, APOP, SASL, RETR/TOP, commit at QUIT), STLS injection, limits
//! with flat memory, timeouts, and API misuse.

use std::time::{Duration, Instant};

use sansmail_pop3::{
    Language, Mechanism, MessageNumber, Response, ResponseCode, Uid, apop,
    session::{
        Maildrop, ServerConfig, responses,
        server::{ApiError, Event, LoginMethod, Server},
    },
};

/// How the scripted application answers a login.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Login {
    Check,
    InUse,
    SysTemp,
}

/// A server with a scripted application: the user `alice` with password (and APOP secret)
/// `secret`, and two messages.
struct Script {
    server: Server,
    now: Instant,
    login: Login,
    commit_ok: bool,
    chunk: usize,
    messages: Vec<Vec<u8>>,
    /// What the application saw, in order.
    log: Vec<String>,
}

fn messages() -> Vec<Vec<u8>> {
    vec![
        b"Subject: one\r\n\r\nfirst\r\n.dot\r\n".to_vec(),
        b"Subject: two\n\nsecond\nthird\nfourth".to_vec(),
    ]
}

/// The size RFC 1939 §11 asks for: octets with CRLF line ends, a last line ended.
fn wire_size(body: &[u8]) -> u64 {
    let lf = body.iter().filter(|&&b| b == b'\n').count();
    let crlf = body.windows(2).filter(|w| w == b"\r\n").count();
    let unended = u64::from(!body.is_empty() && !body.ends_with(b"\n"));
    body.len() as u64 + (lf - crlf) as u64 + 2 * unended
}

fn maildrop(messages: &[Vec<u8>]) -> Maildrop {
    let mut m = Maildrop::new();
    for (i, body) in messages.iter().enumerate() {
        m.push(wire_size(body), Uid::new(format!("uid-{}", i + 1)).unwrap());
    }
    m
}

fn config() -> ServerConfig {
    let mut c = ServerConfig::new("pop.test");
    c.auth_requires_tls = false;
    c.apop_timestamp = Some("<1.2@pop.test>".to_owned());
    c
}

impl Script {
    fn new(config: ServerConfig) -> Self {
        let now = Instant::now();
        let server = Server::new(config, now);
        let mut s = Self {
            server,
            now,
            login: Login::Check,
            commit_ok: true,
            chunk: 7,
            messages: messages(),
            log: Vec::new(),
        };
        let greeting = s.run();
        assert!(greeting.starts_with("+OK "), "{greeting}");
        s
    }

    /// Feeds `data`, answers every decision, and returns what the server sent.
    fn feed(&mut self, data: &[u8]) -> String {
        self.server.handle_input(self.now, data);
        self.run()
    }

    fn run(&mut self) -> String {
        loop {
            let action = match self.server.poll_event() {
                None => break,
                Some(Event::Login {
                    method,
                    credentials,
                }) => {
                    self.log
                        .push(format!("login {method:?} {}", credentials.authcid));
                    Some(
                        credentials.authcid == "alice" && credentials.password.expose() == "secret",
                    )
                }
                Some(Event::Apop {
                    name,
                    digest,
                    timestamp,
                }) => {
                    self.log.push(format!("apop {name}"));
                    Some(name == "alice" && apop::verify(&timestamp, "secret", &digest))
                }
                Some(Event::AuthExchange {
                    mechanism,
                    response,
                }) => {
                    self.log.push(format!("exchange {mechanism} {response:?}"));
                    match response.as_deref() {
                        Some(b"done") => Some(true),
                        Some(b"fail") => Some(false),
                        _ => {
                            self.server.auth_challenge(b"more").unwrap();
                            None
                        }
                    }
                }
                Some(Event::Retrieve {
                    msg,
                    uid,
                    size,
                    top,
                }) => {
                    self.log
                        .push(format!("retrieve {msg} {uid} {size} {top:?}"));
                    let body = self.messages[msg.index()].clone();
                    for piece in body.chunks(self.chunk) {
                        if !self.server.message_data(piece).unwrap() {
                            break;
                        }
                    }
                    self.server.message_end().unwrap();
                    None
                }
                Some(Event::Commit { deletions }) => {
                    let list: Vec<String> =
                        deletions.iter().map(|(m, u)| format!("{m}:{u}")).collect();
                    self.log.push(format!("commit {}", list.join(",")));
                    if self.commit_ok {
                        self.server.accept().unwrap();
                    } else {
                        self.server.reject(&responses::commit_failed()).unwrap();
                    }
                    None
                }
                Some(Event::StartTls) => {
                    self.log.push("starttls".to_owned());
                    None
                }
                Some(Event::Utf8Enabled) => {
                    self.log.push("utf8".to_owned());
                    None
                }
                Some(other) => panic!("unexpected {other:?}"),
            };
            match action {
                Some(true) => match self.login {
                    Login::Check => self.server.accept_login(maildrop(&self.messages)).unwrap(),
                    Login::InUse => self.server.reject(&responses::in_use()).unwrap(),
                    Login::SysTemp => self.server.reject(&responses::sys_temp()).unwrap(),
                },
                Some(false) => self.server.reject(&responses::auth_failed()).unwrap(),
                None => {}
            }
        }
        let mut out = Vec::new();
        self.server.poll_transmit(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn login(&mut self) {
        let out = self.feed(b"USER alice\r\nPASS secret\r\n");
        assert_eq!(
            out,
            "+OK\r\n+OK alice's maildrop has 2 messages (68 octets)\r\n"
        );
    }
}

#[test]
fn user_pass_transaction_and_update() {
    let mut s = Script::new(config());
    assert_eq!(
        s.feed(b"STAT\r\n"),
        "-ERR Command not valid in this state\r\n"
    );
    assert_eq!(s.feed(b"PASS secret\r\n"), "-ERR Send USER first\r\n");
    s.login();
    assert_eq!(s.log, ["login UserPass alice"]);
    assert!(s.server.is_authenticated());
    assert_eq!(s.feed(b"STAT\r\n"), "+OK 2 68\r\n");
    assert_eq!(
        s.feed(b"LIST\r\n"),
        "+OK 2 messages (68 octets)\r\n1 29\r\n2 39\r\n.\r\n"
    );
    assert_eq!(s.feed(b"LIST 2\r\n"), "+OK 2 39\r\n");
    assert_eq!(s.feed(b"LIST 3\r\n"), "-ERR no such message\r\n");
    assert_eq!(s.feed(b"UIDL\r\n"), "+OK\r\n1 uid-1\r\n2 uid-2\r\n.\r\n");
    assert_eq!(s.feed(b"UIDL 1\r\n"), "+OK 1 uid-1\r\n");
    assert_eq!(
        s.feed(b"RETR 1\r\n"),
        "+OK 29 octets\r\nSubject: one\r\n\r\nfirst\r\n..dot\r\n.\r\n"
    );
    // LF line ends from the store become CRLF; a last line without one is ended.
    assert_eq!(
        s.feed(b"RETR 2\r\n"),
        "+OK 39 octets\r\nSubject: two\r\n\r\nsecond\r\nthird\r\nfourth\r\n.\r\n"
    );
    assert_eq!(
        s.feed(b"TOP 2 1\r\n"),
        "+OK\r\nSubject: two\r\n\r\nsecond\r\n.\r\n"
    );
    assert_eq!(s.feed(b"TOP 1 0\r\n"), "+OK\r\nSubject: one\r\n\r\n.\r\n");
    assert_eq!(s.feed(b"DELE 1\r\n"), "+OK message 1 deleted\r\n");
    assert_eq!(s.feed(b"DELE 1\r\n"), "-ERR message 1 already deleted\r\n");
    assert_eq!(s.feed(b"DELE 9\r\n"), "-ERR no such message\r\n");
    assert_eq!(s.feed(b"RETR 1\r\n"), "-ERR no such message\r\n");
    assert_eq!(s.feed(b"LIST 1\r\n"), "-ERR no such message\r\n");
    assert_eq!(s.feed(b"STAT\r\n"), "+OK 1 39\r\n");
    assert_eq!(
        s.feed(b"LIST\r\n"),
        "+OK 1 messages (39 octets)\r\n2 39\r\n.\r\n"
    );
    assert_eq!(
        s.feed(b"RSET\r\n"),
        "+OK maildrop has 2 messages (68 octets)\r\n"
    );
    assert_eq!(s.feed(b"NOOP\r\n"), "+OK\r\n");
    assert_eq!(
        s.feed(b"USER bob\r\n"),
        "-ERR Command not valid in this state\r\n"
    );
    assert_eq!(s.feed(b"DELE 2\r\n"), "+OK message 2 deleted\r\n");
    assert_eq!(
        s.feed(b"QUIT\r\nNOOP\r\n"),
        "+OK pop.test POP3 server signing off (1 messages left)\r\n"
    );
    assert!(s.server.is_closed());
    assert_eq!(s.log.last().unwrap(), "commit 2:uid-2");
    assert!(s.log.contains(&"retrieve 2 uid-2 39 Some(1)".to_owned()));
}

#[test]
fn quit_before_login_commits_nothing() {
    let mut s = Script::new(config());
    assert_eq!(
        s.feed(b"QUIT\r\n"),
        "+OK pop.test POP3 server signing off\r\n"
    );
    assert!(s.server.is_closed());
    assert!(s.log.is_empty());
    assert_eq!(s.feed(b"USER alice\r\n"), "", "nothing after QUIT");
}

#[test]
fn a_failed_commit_is_reported_with_sys_temp_and_closes() {
    let mut s = Script::new(config());
    s.commit_ok = false;
    s.login();
    s.feed(b"DELE 1\r\nDELE 2\r\n");
    assert_eq!(
        s.feed(b"QUIT\r\n"),
        "-ERR [SYS/TEMP] Some deleted messages not removed\r\n"
    );
    assert!(s.server.is_closed());
    assert_eq!(s.log.last().unwrap(), "commit 1:uid-1,2:uid-2");
}

#[test]
fn apop_is_checked_by_the_application_with_the_greeting_timestamp() {
    let mut s = Script::new(config());
    let digest = apop::digest("<1.2@pop.test>", "secret");
    let out = s.feed(format!("APOP alice {digest}\r\n").as_bytes());
    assert_eq!(out, "+OK alice's maildrop has 2 messages (68 octets)\r\n");
    let mut s = Script::new(config());
    let out = s.feed(b"APOP alice 00000000000000000000000000000000\r\n");
    assert_eq!(out, "-ERR [AUTH] Authentication failed\r\n");
    // Without a timestamp in the greeting, APOP is not offered.
    let mut c = config();
    c.apop_timestamp = Some("not a timestamp".to_owned());
    let mut s = Script::new(c);
    assert_eq!(
        s.feed(format!("APOP alice {digest}\r\n").as_bytes()),
        "-ERR APOP not available\r\n"
    );
}

#[test]
fn login_failures_carry_response_codes_and_are_limited() {
    let mut s = Script::new(config());
    s.login = Login::InUse;
    assert_eq!(
        s.feed(b"USER alice\r\nPASS secret\r\n"),
        "+OK\r\n-ERR [IN-USE] Maildrop is locked by another session\r\n"
    );
    s.login = Login::SysTemp;
    assert_eq!(
        s.feed(b"USER alice\r\nPASS secret\r\n"),
        "+OK\r\n-ERR [SYS/TEMP] Temporary failure, try again later\r\n"
    );
    assert!(!s.server.is_closed());
    // The third failure reaches max_auth_failures (3): answered, then closed.
    assert_eq!(
        s.feed(b"USER alice\r\nPASS wrong\r\nUSER alice\r\n"),
        "+OK\r\n-ERR [AUTH] Authentication failed\r\n"
    );
    assert!(s.server.is_closed());
}

#[test]
fn auth_plain_with_and_without_initial_response_and_cancel() {
    let mut s = Script::new(config());
    assert_eq!(
        s.feed(b"AUTH\r\n"),
        "+OK SASL mechanisms follow\r\nPLAIN\r\n.\r\n"
    );
    assert_eq!(s.feed(b"AUTH PLAIN\r\n"), "+ \r\n");
    assert_eq!(s.feed(b"*\r\n"), "-ERR Authentication cancelled\r\n");
    assert_eq!(s.feed(b"AUTH PLAIN\r\n"), "+ \r\n");
    assert_eq!(s.feed(b"not base64!\r\n"), "-ERR Invalid SASL response\r\n");
    assert_eq!(
        s.feed(b"AUTH PLAIN AGFsaWNl\r\n"),
        "-ERR Invalid SASL response\r\n"
    );
    assert_eq!(
        s.feed(b"AUTH CRAM-MD5\r\n"),
        "-ERR Unsupported authentication mechanism\r\n"
    );
    assert_eq!(s.feed(b"AUTH PLAIN\r\n"), "+ \r\n");
    assert_eq!(
        s.feed(b"AGFsaWNlAHNlY3JldA==\r\n"),
        "+OK alice's maildrop has 2 messages (68 octets)\r\n"
    );
    assert_eq!(s.log, ["login Plain alice"]);
    let mut s = Script::new(config());
    assert_eq!(
        s.feed(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
        "+OK alice's maildrop has 2 messages (68 octets)\r\n"
    );
    // PLAIN's names and password are UTF-8 (RFC 4616 §2), UTF8 USER or not: the
    // application decides (here it refuses, with the names it was given).
    let mut s = Script::new(config());
    let plain = sansmail_core::base64_encode("\0d\u{f6}rte\0p\u{e4}ss".as_bytes());
    let answer = s.feed(format!("AUTH PLAIN {plain}\r\n").as_bytes());
    assert!(answer.starts_with("-ERR [AUTH]"), "{answer}");
    assert_eq!(s.log, ["login Plain d\u{f6}rte"]);
}

#[test]
fn other_mechanisms_are_exchanged_with_the_application() {
    let mut c = config();
    c.sasl.push(Mechanism::new("X-TEST").unwrap());
    let mut s = Script::new(c.clone());
    assert_eq!(s.feed(b"AUTH X-TEST dGVzdA==\r\n"), "+ bW9yZQ==\r\n");
    // The session does not know who logged in through the application's mechanism.
    assert_eq!(
        s.feed(b"ZG9uZQ==\r\n"),
        "+OK maildrop has 2 messages (68 octets)\r\n"
    );
    assert_eq!(
        s.log,
        [
            "exchange X-TEST Some([116, 101, 115, 116])",
            "exchange X-TEST Some([100, 111, 110, 101])"
        ]
    );
    let mut s = Script::new(c.clone());
    assert_eq!(s.feed(b"AUTH X-TEST\r\n"), "+ bW9yZQ==\r\n");
    assert_eq!(
        s.feed(b"ZmFpbA==\r\n"),
        "-ERR [AUTH] Authentication failed\r\n"
    );
    assert_eq!(
        s.feed(b"STAT\r\n"),
        "-ERR Command not valid in this state\r\n",
        "back to commands"
    );
    let mut s = Script::new(c);
    assert_eq!(s.feed(b"AUTH X-TEST =\r\n"), "+ bW9yZQ==\r\n");
    assert_eq!(s.feed(b"*\r\n"), "-ERR Authentication cancelled\r\n");
}

#[test]
fn plaintext_logins_wait_for_tls_when_required() {
    let mut c = config();
    c.auth_requires_tls = true;
    c.starttls = true;
    let mut s = Script::new(c);
    let capa = s.feed(b"CAPA\r\n");
    assert!(
        !capa.contains("\r\nUSER\r\n") && !capa.contains("SASL") && capa.contains("\r\nSTLS\r\n"),
        "{capa}"
    );
    let refused = "-ERR Plaintext authentication disallowed without TLS, use STLS\r\n";
    assert_eq!(s.feed(b"USER alice\r\n"), refused);
    assert_eq!(s.feed(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), refused);
    assert_eq!(s.feed(b"STLS\r\n"), "+OK Begin TLS negotiation\r\n");
    assert_eq!(s.log, ["starttls"]);
    s.server.tls_established().unwrap();
    assert!(s.server.is_tls());
    let capa = s.feed(b"CAPA\r\n");
    assert!(
        capa.contains("\r\nUSER\r\n")
            && capa.contains("\r\nSASL PLAIN\r\n")
            && !capa.contains("STLS"),
        "{capa}"
    );
    assert_eq!(s.feed(b"STLS\r\n"), "-ERR STLS not available\r\n");
    s.login();
}

#[test]
fn stls_discards_pipelined_commands() {
    let mut c = config();
    c.starttls = true;
    let mut s = Script::new(c);
    // The injected USER and PASS ride in the same packet as STLS (CVE-2011-0411 class).
    assert_eq!(
        s.feed(b"STLS\r\nUSER alice\r\nPASS secret\r\n"),
        "+OK Begin TLS negotiation\r\n"
    );
    // Anything arriving before the handshake completes is dropped too.
    assert_eq!(s.feed(b"USER alice\r\n"), "");
    s.server.tls_established().unwrap();
    assert_eq!(s.feed(b"PASS secret\r\n"), "-ERR Send USER first\r\n");
    assert_eq!(s.log, ["starttls"]);
    // A USER given before STLS is forgotten as well.
    let mut c = config();
    c.starttls = true;
    let mut s = Script::new(c);
    s.feed(b"USER alice\r\n");
    s.feed(b"STLS\r\n");
    s.server.tls_established().unwrap();
    assert_eq!(s.feed(b"PASS secret\r\n"), "-ERR Send USER first\r\n");
}

#[test]
fn capa_lists_what_the_configuration_offers() {
    let mut c = config();
    c.starttls = true;
    c.utf8 = true;
    c.utf8_user = true;
    c.languages = vec![Language::new("en", "English").unwrap()];
    c.extra_capabilities = vec![
        sansmail_pop3::Capability::Expire {
            days: None,
            per_user: false,
        },
        sansmail_pop3::Capability::parse("IMPLEMENTATION pop3-proto")
            .unwrap()
            .into_owned(),
    ];
    let mut s = Script::new(c);
    assert_eq!(
        s.feed(b"CAPA\r\n"),
        "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\nRESP-CODES\r\n\
         AUTH-RESP-CODE\r\nPIPELINING\r\nSTLS\r\nUTF8 USER\r\nLANG\r\nEXPIRE NEVER\r\n\
         IMPLEMENTATION pop3-proto\r\n.\r\n"
    );
    s.login();
    // In the TRANSACTION state STLS is gone.
    assert!(!s.feed(b"CAPA\r\n").contains("STLS"));
}

#[test]
fn utf8_and_lang() {
    let mut c = config();
    c.languages = vec![
        Language::new("en", "English").unwrap(),
        Language::new("es", "Espa\u{f1}ol").unwrap(),
    ];
    let mut s = Script::new(c.clone());
    assert_eq!(s.feed(b"UTF8\r\n"), "-ERR UTF8 not available\r\n");
    assert_eq!(
        s.feed("USER j\u{f6}rg\r\n".as_bytes()),
        "-ERR UTF-8 user names not accepted\r\n"
    );
    assert_eq!(
        s.feed(b"LANG\r\n"),
        "+OK Language listing follows\r\nen English\r\nes Espa\u{f1}ol\r\n.\r\n"
    );
    assert_eq!(s.feed(b"LANG ES\r\n"), "+OK es Language changed\r\n");
    assert_eq!(s.server.language().map(Language::tag), Some("es"));
    assert_eq!(s.feed(b"LANG *\r\n"), "+OK en Language changed\r\n");
    assert_eq!(s.feed(b"LANG uga\r\n"), "-ERR Unknown language\r\n");
    c.utf8 = true;
    c.utf8_user = true;
    let mut s = Script::new(c);
    assert_eq!(s.feed(b"UTF8\r\n"), "+OK UTF8 enabled\r\n");
    assert!(s.server.is_utf8());
    assert_eq!(s.feed("USER j\u{f6}rg\r\n".as_bytes()), "+OK\r\n");
    assert_eq!(s.log, ["utf8"]);
}

/// Command lines ended by LF alone are read, as Dovecot reads them (`nc` without -C); a CR
/// inside a line is still refused.
#[test]
fn lines_ended_by_lf_alone_are_commands() {
    let mut s = Script::new(config());
    assert!(s.feed(b"CAPA\n").starts_with("+OK"));
    assert!(s.feed(b"QUIT\r\n").starts_with("+OK"));
    let mut s = Script::new(config());
    assert_eq!(s.feed(b"BOG\rUS\n"), "-ERR Bare CR or LF not allowed\r\n");
    assert!(!s.server.is_closed());
}

/// Before login, commands of the other states count as bad ones: NOOP every few minutes
/// does not hold a connection for ever.
#[test]
fn wrong_state_commands_before_login_are_limited() {
    let mut s = Script::new(config());
    for _ in 0..9 {
        assert_eq!(
            s.feed(b"NOOP\r\n"),
            "-ERR Command not valid in this state\r\n"
        );
    }
    assert!(!s.server.is_closed());
    assert_eq!(
        s.feed(b"STAT\r\n"),
        "-ERR Too many bad commands, closing connection\r\n"
    );
    assert!(s.server.is_closed());
}

#[test]
fn bad_commands_are_answered_without_echo_and_limited() {
    let mut limited = config();
    limited.limits.max_argument = 40;
    let mut s = Script::new(limited);
    assert_eq!(s.feed(b"XYZZY hunter2\r\n"), "-ERR Unknown command\r\n");
    assert_eq!(
        s.feed(b"RETR hunter2\r\n"),
        "-ERR Syntax error at octet 5: expected message number\r\n"
    );
    assert_eq!(s.feed(b"NO\rOP\r\n"), "-ERR Bare CR or LF not allowed\r\n");
    let too_long = format!("USER {}\r\n", "a".repeat(41));
    assert_eq!(
        s.feed(too_long.as_bytes()),
        "-ERR Argument longer than 40 characters\r\n"
    );
    for _ in 4..9 {
        assert_eq!(s.feed(b"BOGUS\r\n"), "-ERR Unknown command\r\n");
    }
    assert!(!s.server.is_closed());
    assert_eq!(
        s.feed(b"BOGUS\r\nQUIT\r\n"),
        "-ERR Too many bad commands, closing connection\r\n"
    );
    assert!(s.server.is_closed());
}

#[test]
fn a_long_line_is_refused_and_memory_stays_flat() {
    let mut s = Script::new(config());
    let chunk = vec![b'A'; 64 * 1024];
    for _ in 0..16 {
        assert_eq!(s.feed(&chunk), "", "nothing to say until the line ends");
        assert!(
            s.server.buffered_len() <= 255,
            "{} octets held",
            s.server.buffered_len()
        );
    }
    assert_eq!(
        s.feed(b"\r\nQUIT\r\n"),
        "-ERR Command line longer than 255 octets\r\n+OK pop.test POP3 server signing off\r\n"
    );
    // The same in one piece, and in a SASL exchange (with its own, larger limit).
    let mut s = Script::new(config());
    let mut line = vec![b'A'; 300];
    line.extend_from_slice(b"\r\nQUIT\r\n");
    assert_eq!(
        s.feed(&line),
        "-ERR Command line longer than 255 octets\r\n+OK pop.test POP3 server signing off\r\n"
    );
    let mut s = Script::new(config());
    s.feed(b"AUTH PLAIN\r\n");
    for _ in 0..4 {
        s.feed(&chunk);
        assert!(s.server.buffered_len() <= 12 * 1024);
    }
    assert_eq!(s.feed(b"\r\n"), "-ERR Authentication line too long\r\n");
}

#[test]
fn pipelined_commands_in_one_read_are_answered_in_order() {
    let mut s = Script::new(config());
    let out = s
        .feed(b"CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nRETR 1\r\nDELE 1\r\nLIST\r\nQUIT\r\n");
    let want = [
        "+OK Capability list follows",
        "+OK",
        "+OK alice's maildrop has 2 messages (68 octets)",
        "+OK 2 68",
        "+OK 29 octets",
        "+OK message 1 deleted",
        "+OK 1 messages (39 octets)",
        "+OK pop.test POP3 server signing off (1 messages left)",
    ];
    let firsts: Vec<&str> = out
        .split("\r\n")
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .collect();
    assert_eq!(firsts, want);
}

#[test]
fn every_split_of_the_client_stream_gives_the_same_answers() {
    let input: &[u8] =
        b"CAPA\r\nUSER alice\r\nPASS secret\r\nTOP 2 1\r\nDELE 2\r\nUIDL\r\nQUIT\r\n";
    let whole = Script::new(config()).feed(input);
    for i in 0..=input.len() {
        let mut s = Script::new(config());
        let out = s.feed(&input[..i]) + &s.feed(&input[i..]);
        assert_eq!(out, whole, "split at {i}");
    }
    let mut s = Script::new(config());
    let out: String = input.chunks(1).map(|b| s.feed(b)).collect();
    assert_eq!(out, whole);
}

#[test]
fn timeouts_close_the_session_without_update() {
    let mut s = Script::new(config());
    let start = s.now;
    assert_eq!(
        s.server.poll_timeout(),
        Some(start + Duration::from_secs(600))
    );
    s.login();
    s.feed(b"DELE 1\r\n");
    s.server.handle_timeout(start + Duration::from_secs(599));
    assert!(!s.server.is_closed());
    s.server.handle_timeout(start + Duration::from_secs(600));
    assert!(s.server.is_closed());
    let mut out = Vec::new();
    s.server.poll_transmit(&mut out);
    assert_eq!(out, b"-ERR Disconnected for inactivity\r\n");
    assert!(
        !s.log.iter().any(|l| l.starts_with("commit")),
        "no UPDATE without QUIT"
    );
    assert_eq!(s.server.poll_timeout(), None);
}

/// Slowloris: octets of a command line that never ends do not restart the idle timeout; each
/// earns 1/min_input_rate s (2 ms at 500 octets/s). A complete line does restart it.
#[test]
fn trickled_line_does_not_restart_the_timeout() {
    let second = Duration::from_secs(1);
    let mut s = Script::new(config());
    let start = s.now;
    // A complete command at 300 s restarts the timeout.
    s.now = start + 300 * second;
    assert!(s.feed(b"CAPA\r\n").starts_with("+OK"));
    assert_eq!(s.server.poll_timeout(), Some(s.now + 600 * second));
    let line_start = s.now;
    // Then one octet every 10 s of a line that never ends.
    for i in 1..=59u32 {
        s.now = line_start + i * 10 * second;
        assert_eq!(s.feed(b"x"), "");
        s.server.handle_timeout(s.now);
        assert!(!s.server.is_closed(), "closed early, at octet {i}");
    }
    let earned = Duration::from_millis(59 * 2);
    assert_eq!(
        s.server.poll_timeout(),
        Some(line_start + 600 * second + earned)
    );
    s.server.handle_timeout(line_start + 600 * second + earned);
    assert!(
        s.server.is_closed(),
        "a peer trickling an endless line stays"
    );
    let mut out = Vec::new();
    s.server.poll_transmit(&mut out);
    assert_eq!(out, b"-ERR Disconnected for inactivity\r\n");
}

#[test]
fn the_clock_pauses_while_the_application_decides() {
    let now = Instant::now();
    let mut server = Server::new(config(), now);
    server.handle_input(now, b"USER alice\r\nPASS secret\r\n");
    assert!(matches!(
        server.poll_event(),
        Some(Event::Login {
            method: LoginMethod::UserPass,
            ..
        })
    ));
    assert_eq!(server.poll_timeout(), None, "waiting for the application");
    server.handle_timeout(now + Duration::from_secs(3600));
    assert!(!server.is_closed());
    server.accept_login(Maildrop::new()).unwrap();
    // Right after the decision the session asks for the time, then counts from there.
    assert_eq!(server.poll_timeout(), Some(now));
    let later = now + Duration::from_secs(7200);
    server.handle_timeout(later);
    assert!(!server.is_closed());
    assert_eq!(
        server.poll_timeout(),
        Some(later + Duration::from_secs(600))
    );
}

#[test]
fn api_misuse_is_an_error_not_a_panic() {
    let now = Instant::now();
    let mut server = Server::new(config(), now);
    assert_eq!(server.accept(), Err(ApiError::NothingPending));
    assert_eq!(
        server.accept_login(Maildrop::new()),
        Err(ApiError::NothingPending)
    );
    assert_eq!(
        server.reject(&responses::auth_failed()),
        Err(ApiError::NothingPending)
    );
    assert_eq!(server.message_data(b"x"), Err(ApiError::WrongDecision));
    assert_eq!(server.message_end(), Err(ApiError::WrongDecision));
    assert_eq!(server.auth_challenge(b"x"), Err(ApiError::WrongDecision));
    assert_eq!(server.tls_established(), Err(ApiError::NoStartTls));
    server.handle_input(now, b"USER alice\r\nPASS secret\r\n");
    assert!(server.poll_event().is_some());
    assert_eq!(server.accept(), Err(ApiError::WrongDecision));
    assert_eq!(
        server.reject(&Response::ok("fine").unwrap()),
        Err(ApiError::NotAnError)
    );
    let long = Response::err(Some(ResponseCode::SysTemp), "x".repeat(600)).unwrap();
    assert_eq!(server.reject(&long), Err(ApiError::ResponseTooLong));
    server.accept_login(maildrop(&messages())).unwrap();
    server.handle_input(now, b"RETR 1\r\n");
    assert!(matches!(server.poll_event(), Some(Event::Retrieve { .. })));
    assert!(
        server.poll_event().is_none(),
        "nothing more until the decision"
    );
    assert_eq!(
        server.accept_login(Maildrop::new()),
        Err(ApiError::WrongDecision)
    );
    server.message_data(b"Subject: x\r\n").unwrap();
    assert_eq!(
        server.reject(&responses::message_unavailable()),
        Err(ApiError::WrongDecision)
    );
    // A store failing mid-message can only close.
    server.close();
    assert!(server.is_closed());
}

#[test]
fn a_refused_retrieve_keeps_the_session() {
    let now = Instant::now();
    let mut server = Server::new(config(), now);
    server.handle_input(now, b"USER alice\r\nPASS secret\r\n");
    server.poll_event();
    server.accept_login(maildrop(&messages())).unwrap();
    server.handle_input(now, b"RETR 2\r\nNOOP\r\n");
    let Some(Event::Retrieve { msg, .. }) = server.poll_event() else {
        panic!()
    };
    assert_eq!(msg, MessageNumber::new(2).unwrap());
    server.reject(&responses::message_unavailable()).unwrap();
    assert!(server.poll_event().is_none());
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    assert!(out.ends_with(b"-ERR [SYS/TEMP] Message unavailable, try again later\r\n+OK\r\n"));
}

#[test]
fn an_unsendable_greeting_falls_back_and_keeps_the_timestamp() {
    let mut c = config();
    c.greeting = "ready\r\n+OK injected".to_owned();
    let mut server = Server::new(c, Instant::now());
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    assert_eq!(out, b"+OK POP3 server ready <1.2@pop.test>\r\n");
    let mut c = config();
    c.greeting = "Welcome".to_owned();
    c.apop_timestamp = None;
    let mut server = Server::new(c, Instant::now());
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    assert_eq!(out, b"+OK Welcome\r\n");
}

/// A closed session keeps why it closed.
#[test]
fn the_reason_a_session_closed_stays() {
    use sansmail_core::CloseReason;
    use sansmail_pop3::session::server::Server;
    let now = Instant::now();
    let why = |input: &[u8], then: fn(&mut Server, Instant)| {
        let mut s = Server::new(config(), now);
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
        why(b"", |s, now| {
            s.handle_timeout(now);
            s.handle_timeout(now + Duration::from_secs(3600));
        }),
        Some(CloseReason::Timeout)
    );
    assert_eq!(why(b"", |s, _| s.shutdown()), Some(CloseReason::Shutdown));
    assert_eq!(why(b"", |s, _| s.close()), Some(CloseReason::Application));
}
