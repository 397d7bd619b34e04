//! An in-memory client–server pair driven to completion: the RFC 1939 §10 example session
//! byte for byte, CAPA/STLS/AUTH PLAIN/USER/APOP logins, pipelining, streamed messages, the
//! UPDATE outcome, and the client's handling of broken servers.

use std::time::{Duration, Instant};

use sansmail_pop3::{
    Credentials, DecodeError, DropListing, Mechanism, MessageNumber, ResponseCode, ScanListing,
    Uid, apop,
    session::{
        Maildrop, ServerConfig,
        client::{self, ApiError, Client, ClientConfig, ClientError, Request, Stage, TlsPolicy},
        responses,
        server::{Event as ServerEvent, Server},
    },
};

/// A client event, message data apart.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Event(client::Event),
    Data(Vec<u8>),
}

fn own(e: client::Event) -> Seen {
    match e {
        client::Event::MessageData(d) => Seen::Data(d),
        e => Seen::Event(e),
    }
}

/// The application behind the server: users, messages, and what happened.
struct Store {
    user: &'static str,
    secret: &'static str,
    messages: Vec<Vec<u8>>,
    in_use: bool,
    /// Whether APOP can succeed (a server keeping only password hashes refuses it).
    apop: bool,
    commit_ok: bool,
    chunk: usize,
    committed: Vec<(MessageNumber, String)>,
}

impl Store {
    fn new(messages: Vec<Vec<u8>>) -> Self {
        Self {
            user: "alice",
            secret: "secret",
            messages,
            in_use: false,
            apop: true,
            commit_ok: true,
            chunk: 5,
            committed: Vec::new(),
        }
    }

    fn maildrop(&self) -> Maildrop {
        let mut m = Maildrop::new();
        for (i, body) in self.messages.iter().enumerate() {
            m.push(body.len() as u64, Uid::new(format!("u{}", i + 1)).unwrap());
        }
        m
    }

    /// Answers every decision the server asks for.
    fn serve(&mut self, server: &mut Server) {
        loop {
            let login = match server.poll_event() {
                None => return,
                Some(ServerEvent::Login { credentials, .. }) => {
                    credentials.authcid == self.user && credentials.password.expose() == self.secret
                }
                Some(ServerEvent::Apop {
                    name,
                    digest,
                    timestamp,
                }) => {
                    self.apop && name == self.user && apop::verify(&timestamp, self.secret, &digest)
                }
                Some(ServerEvent::Retrieve { msg, .. }) => {
                    let body = self.messages[msg.index()].clone();
                    for piece in body.chunks(self.chunk) {
                        if !server.message_data(piece).unwrap() {
                            break;
                        }
                    }
                    server.message_end().unwrap();
                    continue;
                }
                Some(ServerEvent::Commit { deletions }) => {
                    self.committed = deletions.iter().map(|(m, u)| (m, u.to_owned())).collect();
                    if self.commit_ok {
                        server.accept().unwrap();
                    } else {
                        server.reject(&responses::commit_failed()).unwrap();
                    }
                    continue;
                }
                // In memory the handshake is instant; the +OK stays queued until sent.
                Some(ServerEvent::StartTls) => {
                    server.tls_established().unwrap();
                    continue;
                }
                Some(_) => continue,
            };
            if !login {
                server.reject(&responses::auth_failed()).unwrap();
            } else if self.in_use {
                server.reject(&responses::in_use()).unwrap();
            } else {
                server.accept_login(self.maildrop()).unwrap();
            }
        }
    }
}

struct Pair {
    client: Client,
    server: Server,
    store: Store,
    now: Instant,
    c2s: Vec<u8>,
    s2c: Vec<u8>,
    seen: Vec<Seen>,
}

impl Pair {
    fn new(server: ServerConfig, client: ClientConfig, store: Store) -> Self {
        let now = Instant::now();
        Self {
            client: Client::new(client, now),
            server: Server::new(server, now),
            store,
            now,
            c2s: Vec::new(),
            s2c: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// Runs until neither side has anything to say; `app` sees every client event.
    fn run(&mut self, mut app: impl FnMut(&mut Client, &Seen)) {
        loop {
            let mut progress = false;
            let mut buf = Vec::new();
            self.client.poll_transmit(&mut buf);
            if !buf.is_empty() {
                progress = true;
                self.c2s.extend_from_slice(&buf);
                self.server.handle_input(self.now, &buf);
            }
            self.store.serve(&mut self.server);
            let mut buf = Vec::new();
            self.server.poll_transmit(&mut buf);
            if !buf.is_empty() {
                progress = true;
                self.s2c.extend_from_slice(&buf);
                self.client.handle_input(self.now, &buf);
            }
            while let Some(e) = self.client.poll_event() {
                progress = true;
                let seen = own(e);
                if seen == Seen::Event(client::Event::StartTls) {
                    self.client.tls_established().unwrap();
                }
                app(&mut self.client, &seen);
                self.seen.push(seen);
            }
            if !progress {
                return;
            }
        }
    }

    fn events(&self) -> Vec<client::Event> {
        self.seen
            .iter()
            .filter_map(|s| match s {
                Seen::Event(e) => Some(e.clone()),
                Seen::Data(_) => None,
            })
            .collect()
    }

    /// The message data received, joined per message.
    fn messages(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for s in &self.seen {
            match s {
                Seen::Event(client::Event::MessageStart { .. }) => out.push(Vec::new()),
                Seen::Data(d) => out.last_mut().unwrap().extend_from_slice(d),
                Seen::Event(_) => {}
            }
        }
        out
    }
}

fn n(i: u32) -> MessageNumber {
    MessageNumber::new(i).unwrap()
}

/// A message of exactly `size` octets with CRLF lines and a dot-led line to stuff.
fn message(size: usize, tag: &str) -> Vec<u8> {
    let mut m = format!("Subject: {tag}\r\n\r\n.leading dot\r\n").into_bytes();
    while m.len() + 2 < size {
        m.push(b'x');
    }
    m.extend_from_slice(b"\r\n");
    m.truncate(size);
    m
}

fn login_events(greeting: &str) -> Vec<client::Event> {
    vec![client::Event::Greeting(
        sansmail_pop3::Response::ok(greeting.to_owned()).unwrap(),
    )]
}

/// RFC 1939 §10, "Example POP3 Session", byte for byte on both sides.
#[test]
fn rfc1939_example_session() {
    let mut config = ServerConfig::new("dewey");
    config.apop_timestamp = Some("<1896.697170952@dbc.mtview.ca.us>".to_owned());
    let mut store = Store::new(vec![message(120, "one"), message(200, "two")]);
    store.user = "mrose";
    store.secret = "tanstaaf";
    let mut client = ClientConfig::new(Some(Credentials::new("mrose", "tanstaaf")));
    client.capa = false;
    // The example runs without TLS, as an application may choose.
    client.starttls = TlsPolicy::Never;
    let mut pair = Pair::new(config, client, store);
    pair.run(|c, seen| {
        if *seen == Seen::Event(client::Event::Ready) {
            c.stat().unwrap();
            c.list(None).unwrap();
            c.retr(n(1)).unwrap();
            c.dele(n(1)).unwrap();
            c.retr(n(2)).unwrap();
            c.dele(n(2)).unwrap();
            c.quit().unwrap();
        }
    });
    assert_eq!(
        String::from_utf8(pair.c2s.clone()).unwrap(),
        "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\nSTAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\n\
         RETR 2\r\nDELE 2\r\nQUIT\r\n"
    );
    let m1 = String::from_utf8(message(120, "one"))
        .unwrap()
        .replace("\r\n.", "\r\n..");
    let m2 = String::from_utf8(message(200, "two"))
        .unwrap()
        .replace("\r\n.", "\r\n..");
    let want = format!(
        "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n\
         +OK mrose's maildrop has 2 messages (320 octets)\r\n\
         +OK 2 320\r\n\
         +OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n\
         +OK 120 octets\r\n{m1}.\r\n\
         +OK message 1 deleted\r\n\
         +OK 200 octets\r\n{m2}.\r\n\
         +OK message 2 deleted\r\n\
         +OK dewey POP3 server signing off (maildrop empty)\r\n"
    );
    assert_eq!(String::from_utf8(pair.s2c.clone()).unwrap(), want);
    let events = pair.events();
    let ok = |t: &str| sansmail_pop3::Response::ok(t.to_owned()).unwrap();
    assert_eq!(
        events,
        [
            login_events("POP3 server ready <1896.697170952@dbc.mtview.ca.us>")[0].clone(),
            client::Event::Authenticated(ok("mrose's maildrop has 2 messages (320 octets)")),
            client::Event::Ready,
            client::Event::Stat(DropListing {
                count: 2,
                size: 320
            }),
            client::Event::List(vec![
                ScanListing {
                    msg: n(1),
                    size: 120
                },
                ScanListing {
                    msg: n(2),
                    size: 200
                }
            ]),
            client::Event::MessageStart {
                msg: n(1),
                response: ok("120 octets")
            },
            client::Event::MessageEnd { msg: n(1) },
            client::Event::Deleted(n(1)),
            client::Event::MessageStart {
                msg: n(2),
                response: ok("200 octets")
            },
            client::Event::MessageEnd { msg: n(2) },
            client::Event::Deleted(n(2)),
            client::Event::Closed {
                committed: true,
                response: ok("dewey POP3 server signing off (maildrop empty)")
            },
        ]
    );
    assert_eq!(pair.messages(), [message(120, "one"), message(200, "two")]);
    assert_eq!(
        pair.store.committed,
        [(n(1), "u1".to_owned()), (n(2), "u2".to_owned())]
    );
    assert!(pair.client.is_closed() && pair.server.is_closed());
    // Greeting and eight commands.
    assert_eq!(read_transcript(&pair.c2s, &pair.s2c), 9);

    // A client fed the same server stream in any chunking sees the same events.
    let stream = pair.s2c.clone();
    let whole = replay_client(&[&stream]);
    assert_eq!(
        whole.iter().filter(|s| matches!(s, Seen::Event(_))).count(),
        events.len()
    );
    for i in 0..=stream.len() {
        assert_eq!(
            replay_client(&[&stream[..i], &stream[i..]]),
            whole,
            "split at {i}"
        );
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(replay_client(&bytes), whole);
}

/// Runs the RFC 1939 example's client on a recorded server stream; data chunks are joined.
fn replay_client(chunks: &[&[u8]]) -> Vec<Seen> {
    let now = Instant::now();
    let mut config = ClientConfig::new(Some(Credentials::new("mrose", "tanstaaf")));
    config.capa = false;
    config.starttls = TlsPolicy::Never;
    let mut c = Client::new(config, now);
    let mut seen: Vec<Seen> = Vec::new();
    for chunk in chunks {
        c.handle_input(now, chunk);
        while let Some(e) = c.poll_event() {
            let s = own(e);
            if s == Seen::Event(client::Event::Ready) {
                c.stat().unwrap();
                c.list(None).unwrap();
                c.retr(n(1)).unwrap();
                c.dele(n(1)).unwrap();
                c.retr(n(2)).unwrap();
                c.dele(n(2)).unwrap();
                c.quit().unwrap();
            }
            match (seen.last_mut(), s) {
                (Some(Seen::Data(d)), Seen::Data(more)) => d.extend_from_slice(&more),
                (_, s) => seen.push(s),
            }
        }
    }
    seen
}

fn server_config() -> ServerConfig {
    let mut c = ServerConfig::new("pop.test");
    c.auth_requires_tls = false;
    c
}

/// Logs in over the in-memory plaintext pipe, as the application allows ([`TlsPolicy::Never`]).
fn client_config() -> ClientConfig {
    let mut c = ClientConfig::new(Some(Credentials::new("alice", "secret")));
    c.starttls = TlsPolicy::Never;
    c
}

#[test]
fn capa_auth_plain_and_pipelined_requests() {
    let store = Store::new(vec![message(50, "a"), message(60, "b"), message(70, "c")]);
    let mut pair = Pair::new(server_config(), client_config(), store);
    let mut batch = Vec::new();
    pair.run(|c, seen| {
        if *seen == Seen::Event(client::Event::Ready) {
            c.stat().unwrap();
            c.uidl(None).unwrap();
            c.uidl(Some(n(2))).unwrap();
            c.list(Some(n(3))).unwrap();
            c.top(n(1), 0).unwrap();
            c.dele(n(3)).unwrap();
            c.retr(n(3)).unwrap();
            c.rset().unwrap();
            c.noop().unwrap();
            c.quit().unwrap();
            // PIPELINING is offered: the whole batch goes out at once.
            c.poll_transmit(&mut batch);
        }
    });
    assert_eq!(
        String::from_utf8(batch.clone()).unwrap(),
        "STAT\r\nUIDL\r\nUIDL 2\r\nLIST 3\r\nTOP 1 0\r\nDELE 3\r\nRETR 3\r\nRSET\r\nNOOP\r\nQUIT\r\n"
    );
    assert!(
        String::from_utf8_lossy(&pair.c2s)
            .starts_with("CAPA\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
    );
    // The batch never reached the server through `run`: feed it now.
    pair.server.handle_input(pair.now, &batch);
    pair.run(|_, _| {});
    let events = pair.events();
    assert!(matches!(events[1], client::Event::Capabilities(ref c) if c.pipelining() && c.user()));
    assert!(matches!(events[2], client::Event::Authenticated(_)));
    let tail: Vec<_> = events[4..].to_vec();
    assert!(matches!(
        tail[0],
        client::Event::Stat(DropListing {
            count: 3,
            size: 180
        })
    ));
    assert!(
        matches!(&tail[1], client::Event::Uidl(u) if u.len() == 3 && u[2].uid.as_str() == "u3")
    );
    assert!(
        matches!(&tail[2], client::Event::UniqueId(u) if u.msg == n(2) && u.uid.as_str() == "u2")
    );
    assert_eq!(
        tail[3],
        client::Event::Scan(ScanListing {
            msg: n(3),
            size: 70
        })
    );
    assert!(matches!(tail[4], client::Event::MessageStart { msg, .. } if msg == n(1)));
    assert_eq!(tail[5], client::Event::MessageEnd { msg: n(1) });
    assert_eq!(tail[6], client::Event::Deleted(n(3)));
    assert!(
        matches!(&tail[7], client::Event::Refused { request: Request::Retr(m), .. } if *m == n(3))
    );
    assert_eq!(tail[8], client::Event::Reset);
    assert_eq!(tail[9], client::Event::Noop);
    assert!(matches!(
        tail[10],
        client::Event::Closed {
            committed: true,
            ..
        }
    ));
    assert_eq!(
        pair.messages(),
        [b"Subject: a\r\n\r\n".to_vec()],
        "TOP 1 0: the header only"
    );
    assert!(
        pair.store.committed.is_empty(),
        "RSET unmarked the deletion"
    );
}

#[test]
fn user_pass_without_pipelining_sends_one_request_at_a_time() {
    let mut config = client_config();
    config.sasl_plain = false;
    config.pipelining = false;
    let mut pair = Pair::new(server_config(), config, Store::new(vec![message(30, "a")]));
    let mut first = Vec::new();
    pair.run(|c, seen| {
        if *seen == Seen::Event(client::Event::Ready) {
            c.stat().unwrap();
            c.retr(n(1)).unwrap();
            c.quit().unwrap();
            c.poll_transmit(&mut first);
        }
    });
    assert_eq!(first, b"STAT\r\n", "the rest waits for the answer");
    pair.c2s.extend_from_slice(&first);
    pair.server.handle_input(pair.now, &first);
    pair.run(|_, _| {});
    assert_eq!(
        String::from_utf8(pair.c2s.clone()).unwrap(),
        "CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nRETR 1\r\nQUIT\r\n"
    );
    assert_eq!(pair.messages(), [message(30, "a")]);
}

#[test]
fn stls_then_login_over_tls() {
    let mut config = ServerConfig::new("pop.test");
    config.starttls = true;
    let opportunistic = ClientConfig::new(Some(Credentials::new("alice", "secret")));
    let mut pair = Pair::new(config, opportunistic, Store::new(vec![]));
    pair.run(|c, seen| {
        if *seen == Seen::Event(client::Event::Ready) {
            c.quit().unwrap();
        }
    });
    assert_eq!(
        String::from_utf8(pair.c2s.clone()).unwrap(),
        "CAPA\r\nSTLS\r\nCAPA\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\n"
    );
    assert!(pair.client.is_tls() && pair.server.is_tls());
    let caps: Vec<_> = pair
        .events()
        .into_iter()
        .filter_map(|e| match e {
            client::Event::Capabilities(c) => Some(c),
            _ => None,
        })
        .collect();
    assert!(caps[0].stls() && !caps[0].user() && caps[0].sasl().is_empty());
    assert!(!caps[1].stls() && caps[1].user());
    assert!(pair.events().contains(&client::Event::StartTls));
}

#[test]
fn required_tls_fails_without_stls() {
    let mut config = client_config();
    config.starttls = TlsPolicy::Required;
    let mut pair = Pair::new(server_config(), config, Store::new(vec![]));
    pair.run(|_, _| {});
    assert_eq!(
        pair.events().last(),
        Some(&client::Event::Failed(ClientError::TlsNotOffered))
    );
    assert!(pair.client.is_closed());
    assert_eq!(pair.c2s, b"CAPA\r\n", "no password went out");
}

#[test]
fn login_failures_keep_the_server_response() {
    let mut store = Store::new(vec![]);
    store.in_use = true;
    let mut pair = Pair::new(server_config(), client_config(), store);
    pair.run(|_, _| {});
    let Some(client::Event::Failed(ClientError::Rejected { stage, response })) =
        pair.events().pop()
    else {
        panic!("{:?}", pair.events())
    };
    assert_eq!(stage, Stage::Login);
    assert_eq!(response.code(), Some(&ResponseCode::InUse));
    let mut config = client_config();
    config.credentials = Some(Credentials::new("alice", "wrong"));
    let mut pair = Pair::new(server_config(), config, Store::new(vec![]));
    pair.run(|_, _| {});
    assert!(matches!(
        pair.events().pop(),
        Some(client::Event::Failed(ClientError::Rejected { response, .. }))
            if response.code() == Some(&ResponseCode::Auth)
    ));
}

#[test]
fn a_failed_commit_reaches_the_client() {
    let mut store = Store::new(vec![message(30, "a")]);
    store.commit_ok = false;
    let mut pair = Pair::new(server_config(), client_config(), store);
    pair.run(|c, seen| {
        if *seen == Seen::Event(client::Event::Ready) {
            c.dele(n(1)).unwrap();
            c.quit().unwrap();
            assert_eq!(
                c.noop(),
                Err(ApiError::WrongState(
                    "requests need the Ready state, before quit"
                ))
            );
        }
    });
    let Some(client::Event::Closed {
        committed,
        response,
    }) = pair.events().pop()
    else {
        panic!()
    };
    assert!(!committed);
    assert_eq!(response.code(), Some(&ResponseCode::SysTemp));
}

#[test]
fn apop_is_preferred_when_the_greeting_has_a_timestamp() {
    let mut config = server_config();
    config.apop_timestamp = Some("<42.1@pop.test>".to_owned());
    let mut pair = Pair::new(config, client_config(), Store::new(vec![]));
    pair.run(|_, _| {});
    let digest = apop::digest("<42.1@pop.test>", "secret");
    assert_eq!(
        String::from_utf8(pair.c2s.clone()).unwrap(),
        format!("CAPA\r\nAPOP alice {digest}\r\n")
    );
    assert!(pair.client.is_authenticated());
}

/// A refused APOP (a server that keeps only password hashes refuses every one) falls back
/// to the password methods; under TLS AUTH PLAIN comes first and APOP is not tried.
#[test]
fn a_refused_apop_falls_back_to_the_password() {
    let mut config = server_config();
    config.apop_timestamp = Some("<42.1@pop.test>".to_owned());
    let mut store = Store::new(vec![]);
    store.apop = false;
    let mut pair = Pair::new(config.clone(), client_config(), store);
    pair.run(|_, _| {});
    let digest = apop::digest("<42.1@pop.test>", "secret");
    assert_eq!(
        String::from_utf8(pair.c2s.clone()).unwrap(),
        format!("CAPA\r\nAPOP alice {digest}\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
    );
    assert!(pair.client.is_authenticated());

    let mut client = client_config();
    client.implicit_tls = true;
    let mut pair = Pair::new(config, client, Store::new(vec![]));
    pair.run(|_, _| {});
    assert_eq!(
        String::from_utf8(pair.c2s.clone()).unwrap(),
        "CAPA\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"
    );
    assert!(pair.client.is_authenticated());
}

/// Opportunistic TLS sends no password in the clear (RFC 8314), and no APOP digest either:
/// the greeting's timestamp may be a man in the middle's, who then searches for the
/// password offline. Without STLS the session ends before any login; with the plaintext
/// chosen (`Never`), APOP goes first.
#[test]
fn opportunistic_sends_no_password_without_tls() {
    let opportunistic = ClientConfig::new(Some(Credentials::new("alice", "secret")));
    let mut config = server_config();
    let mut pair = Pair::new(config.clone(), opportunistic.clone(), Store::new(vec![]));
    pair.run(|_, _| {});
    assert_eq!(String::from_utf8(pair.c2s.clone()).unwrap(), "CAPA\r\n");
    let refused = client::Event::Failed(ClientError::TlsNotOffered);
    assert!(pair.events().contains(&refused), "{:?}", pair.events());
    config.apop_timestamp = Some("<42.1@pop.test>".to_owned());
    let mut pair = Pair::new(config.clone(), opportunistic.clone(), Store::new(vec![]));
    pair.run(|_, _| {});
    assert_eq!(String::from_utf8(pair.c2s.clone()).unwrap(), "CAPA\r\n");
    assert!(pair.events().contains(&refused), "{:?}", pair.events());
    let mut plaintext = opportunistic;
    plaintext.starttls = TlsPolicy::Never;
    let mut pair = Pair::new(config, plaintext, Store::new(vec![]));
    pair.run(|_, _| {});
    let digest = apop::digest("<42.1@pop.test>", "secret");
    assert_eq!(
        String::from_utf8(pair.c2s.clone()).unwrap(),
        format!("CAPA\r\nAPOP alice {digest}\r\n")
    );
    assert!(pair.client.is_authenticated());
}

#[test]
fn a_long_plain_response_goes_after_the_continuation() {
    let password = "p".repeat(200);
    let mut config = client_config();
    config.credentials = Some(Credentials::new("alice", password.clone()));
    let mut store = Store::new(vec![]);
    store.secret = Box::leak(password.into_boxed_str());
    let mut pair = Pair::new(server_config(), config, store);
    pair.run(|_, _| {});
    let c2s = String::from_utf8(pair.c2s.clone()).unwrap();
    assert!(c2s.starts_with("CAPA\r\nAUTH PLAIN\r\n"), "{c2s}");
    assert!(pair.client.is_authenticated());
    assert!(String::from_utf8_lossy(&pair.s2c).contains("\r\n+ \r\n"));
}

#[test]
fn utf8_mode_is_enabled_before_login() {
    let mut sc = server_config();
    sc.utf8 = true;
    let mut cc = client_config();
    cc.utf8 = true;
    let mut pair = Pair::new(sc, cc, Store::new(vec![]));
    pair.run(|_, _| {});
    assert!(String::from_utf8_lossy(&pair.c2s).starts_with("CAPA\r\nUTF8\r\nAUTH PLAIN "));
    assert!(pair.client.is_utf8() && pair.server.is_utf8());
}

#[test]
fn a_large_message_streams_in_bounded_chunks() {
    let now = Instant::now();
    let mut server = Server::new(server_config(), now);
    let mut client = Client::new(client_config(), now);
    let mut wire = Vec::new();
    let pump = |server: &mut Server, client: &mut Client, wire: &mut Vec<u8>| {
        wire.clear();
        server.poll_transmit(wire);
        client.handle_input(now, wire);
        let mut got = 0;
        let mut biggest = 0;
        while let Some(e) = client.poll_event() {
            if let client::Event::MessageData(d) = e {
                got += d.len();
                biggest = biggest.max(d.len());
            }
        }
        let mut out = Vec::new();
        client.poll_transmit(&mut out);
        server.handle_input(now, &out);
        (got, biggest)
    };
    // Greeting, CAPA, AUTH.
    for _ in 0..3 {
        pump(&mut server, &mut client, &mut wire);
        let mut store = Store::new(vec![]);
        store.messages = vec![Vec::new(); 1];
        store.serve(&mut server);
    }
    assert!(client.is_authenticated());
    client.retr(n(1)).unwrap();
    let mut out = Vec::new();
    client.poll_transmit(&mut out);
    server.handle_input(now, &out);
    assert!(matches!(
        server.poll_event(),
        Some(ServerEvent::Retrieve { .. })
    ));
    let chunk = vec![b'.'; 64 * 1024];
    let mut total = 0;
    for i in 0..80 {
        let mut piece = chunk.clone();
        piece[100] = b'\n';
        server.message_data(&piece).unwrap();
        let (got, biggest) = pump(&mut server, &mut client, &mut wire);
        // What crossed the wire was this chunk (stuffed; the first one after the +OK line),
        // and the client handed it over at once: neither side holds the message.
        assert!(wire.len() <= 64 * 1024 + 32, "chunk {i}: {}", wire.len());
        assert!(biggest <= wire.len());
        total += got;
    }
    server.message_end().unwrap();
    total += pump(&mut server, &mut client, &mut wire).0;
    // 80 chunks of 64 KiB with one LF each (made CRLF), plus the final CRLF.
    assert_eq!(total, 80 * (64 * 1024 + 1) + 2);
}

/// A scripted server, for replies a real session would not send.
fn client_against(server_says: &[&[u8]], config: ClientConfig) -> (Vec<Seen>, Client) {
    let now = Instant::now();
    let mut c = Client::new(config, now);
    let mut seen = Vec::new();
    for s in server_says {
        c.handle_input(now, s);
        while let Some(e) = c.poll_event() {
            let e = own(e);
            if e == Seen::Event(client::Event::Ready) {
                c.stat().unwrap();
            }
            seen.push(e);
        }
    }
    (seen, c)
}

#[test]
fn the_client_copes_with_old_and_broken_servers() {
    // An RFC 1939 server without CAPA: USER/PASS.
    let (seen, mut c) = client_against(
        &[
            b"+OK hi\r\n",
            b"-ERR unknown command\r\n",
            b"+OK\r\n",
            b"+OK in\r\n",
            b"+OK 0 0\r\n",
        ],
        client_config(),
    );
    assert!(seen.contains(&Seen::Event(client::Event::Stat(DropListing {
        count: 0,
        size: 0
    }))));
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    assert_eq!(out, b"CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\n");
    // A refused greeting.
    let (seen, c) = client_against(&[b"-ERR go away\r\n"], client_config());
    assert!(matches!(
        &seen[0],
        Seen::Event(client::Event::Failed(ClientError::Rejected {
            stage: Stage::Greeting,
            ..
        }))
    ));
    assert!(c.is_closed());
    // Garbage, a bare LF, an overlong first line.
    for bad in [&b"HELLO\r\n"[..], b"+OK hi\n", &[b'+'; 600]] {
        let (seen, c) = client_against(&[bad], client_config());
        assert!(
            matches!(
                &seen[0],
                Seen::Event(client::Event::Failed(ClientError::Protocol(_)))
            ),
            "{seen:?}"
        );
        assert!(c.is_closed());
    }
    // A STAT answer without numbers, after a login without CAPA.
    let mut config = client_config();
    config.capa = false;
    let (seen, _) = client_against(&[b"+OK\r\n+OK\r\n+OK\r\n+OK many\r\n"], config.clone());
    assert!(matches!(
        seen.last(),
        Some(Seen::Event(client::Event::Failed(ClientError::Unexpected(
            _
        ))))
    ));
    // A response nobody asked for.
    let (seen, _) = client_against(
        &[b"+OK\r\n+OK\r\n+OK\r\n+OK 1 1\r\n+OK extra\r\n"],
        config.clone(),
    );
    assert!(matches!(
        seen.last(),
        Some(Seen::Event(client::Event::Failed(ClientError::Unexpected(
            _
        ))))
    ));
    // A challenge where none fits.
    let (seen, _) = client_against(&[b"+OK\r\n+ abc=\r\n"], config);
    assert!(matches!(
        seen.last(),
        Some(Seen::Event(client::Event::Failed(ClientError::Protocol(_))))
    ));
}

/// What real servers send beside the grammar is taken: Latin-1 text in a greeting and in
/// an error (the status is what counts), CAPA lines with odd spacing or none of the
/// grammar (left out), UIDL lines padded with spaces. A CAPA answer past 64 KiB still ends
/// the session, as does a user name no command can carry (at once, not at the timeout).
#[test]
fn the_client_is_liberal_in_what_servers_say() {
    let (seen, mut c) = client_against(
        &[
            b"+OK Willkommen f\xfcr Kunden\r\n",
            b"+OK\r\nUSER \r\nSASL  PLAIN\tLOGIN \r\n\x01\xff junk\r\nPIPELINING\r\n.\r\n",
            b"+OK\r\n+OK 1 10\r\n",
        ],
        client_config(),
    );
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    assert_eq!(out, b"CAPA\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nSTAT\r\n");
    let Some(Seen::Event(client::Event::Greeting(g))) = seen.first() else {
        panic!("{seen:?}")
    };
    assert_eq!(g.text(), Some("Willkommen f\u{fffd}r Kunden"));
    let caps = seen.iter().find_map(|e| match e {
        Seen::Event(client::Event::Capabilities(c)) => Some(c.clone()),
        _ => None,
    });
    let caps = caps.expect("capabilities");
    assert!(caps.user() && caps.pipelining(), "{caps:?}");
    assert_eq!(caps.sasl(), [Mechanism::PLAIN, Mechanism::LOGIN]);
    c.dele(n(1)).unwrap();
    c.uidl(None).unwrap();
    c.handle_input(
        Instant::now(),
        b"-ERR Nachricht gel\xf6scht\r\n+OK\r\n1 abc  \r\n.\r\n",
    );
    let mut later = Vec::new();
    while let Some(e) = c.poll_event() {
        later.push(own(e));
    }
    assert!(
        matches!(&later[0], Seen::Event(client::Event::Refused { .. })),
        "{later:?}"
    );
    assert!(
        matches!(&later[1], Seen::Event(client::Event::Uidl(v)) if v[0].uid.as_str() == "abc"),
        "{later:?}"
    );
    assert!(!c.is_closed());

    let mut capa = b"+OK\r\n+OK\r\n".to_vec();
    for i in 0..10_000 {
        capa.extend_from_slice(format!("X-CAP-{i}\r\n").as_bytes());
    }
    let (seen, c) = client_against(&[&capa], client_config());
    let too_large = seen.iter().any(|e| {
        matches!(
            e,
            Seen::Event(client::Event::Failed(ClientError::Protocol(
                DecodeError::ResponseTooLarge { .. }
            )))
        )
    });
    assert!(too_large && c.is_closed(), "{:?}", seen.last());

    let mut config = client_config();
    config.credentials = Some(Credentials::new("john smith", "secret"));
    config.sasl_plain = false;
    let (seen, c) = client_against(&[b"+OK\r\n+OK\r\nUSER\r\n.\r\n"], config);
    assert!(
        matches!(
            seen.last(),
            Some(Seen::Event(client::Event::Failed(ClientError::Unsendable(
                _
            ))))
        ),
        "{seen:?}"
    );
    assert!(c.is_closed());
}

/// Without PIPELINING nothing is sent while a message's body is still coming (RFC 2449
/// §6.6): a DELE asked for at the message's start goes after its end.
#[test]
fn no_request_goes_out_during_a_body_without_pipelining() {
    let now = Instant::now();
    let mut c = Client::new(client_config(), now);
    c.handle_input(now, b"+OK hi\r\n+OK\r\nUSER\r\n.\r\n+OK\r\n+OK in\r\n");
    while c.poll_event().is_some() {}
    c.poll_transmit(&mut Vec::new());
    c.retr(n(1)).unwrap();
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    assert_eq!(out, b"RETR 1\r\n");
    c.handle_input(now, b"+OK 12 octets\r\nSubject: x\r\n");
    let mut asked = false;
    while let Some(e) = c.poll_event() {
        if matches!(e, client::Event::MessageStart { .. }) {
            c.dele(n(1)).unwrap();
            asked = true;
        }
    }
    assert!(asked);
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    assert!(out.is_empty(), "{:?}", String::from_utf8_lossy(&out));
    c.handle_input(now, b"\r\nbody\r\n.\r\n");
    while c.poll_event().is_some() {}
    c.poll_transmit(&mut out);
    assert_eq!(out, b"DELE 1\r\n");
}

/// Under TLS the password goes first; a server that takes only APOP (and says nothing of
/// it without CAPA) refuses it, and APOP follows, once.
#[test]
fn under_tls_apop_follows_a_refused_password() {
    let mut config = client_config();
    config.implicit_tls = true;
    let (seen, mut c) = client_against(
        &[b"+OK <1.2@pop.test>\r\n-ERR no CAPA\r\n-ERR no such user\r\n+OK in\r\n+OK 0 0\r\n"],
        config.clone(),
    );
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    let digest = apop::digest("<1.2@pop.test>", "secret");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("CAPA\r\nUSER alice\r\nAPOP alice {digest}\r\nSTAT\r\n")
    );
    assert!(c.is_authenticated(), "{seen:?}");
    // A refused APOP after that ends it, reporting the password's refusal: the password
    // is not tried twice.
    let (seen, c) = client_against(
        &[b"+OK <1.2@pop.test>\r\n-ERR no CAPA\r\n-ERR no such user\r\n-ERR bad\r\n"],
        config.clone(),
    );
    let refused = |seen: &[Seen], text: &str| matches!(seen.last(), Some(Seen::Event(client::Event::Failed(ClientError::Rejected { response, .. }))) if response.text() == Some(text));
    assert!(refused(&seen, "no such user"), "{seen:?}");
    assert!(c.is_closed());
    // Where CAPA told the methods, or the refusal gives a reason, a refused password is
    // the verdict: no APOP after it.
    for script in [
        &b"+OK <1.2@pop.test>\r\n+OK\r\nUSER\r\n.\r\n+OK\r\n-ERR wrong password\r\n"[..],
        b"+OK <1.2@pop.test>\r\n-ERR no CAPA\r\n+OK\r\n-ERR [IN-USE] wrong password\r\n",
    ] {
        let (seen, mut c) = client_against(&[script], config.clone());
        let mut out = Vec::new();
        c.poll_transmit(&mut out);
        assert!(!String::from_utf8_lossy(&out).contains("APOP"), "{seen:?}");
        assert!(refused(&seen, "wrong password"), "{seen:?}");
    }
}

#[test]
fn client_timeouts_and_api_misuse() {
    let now = Instant::now();
    let mut c = Client::new(client_config(), now);
    assert_eq!(
        c.stat(),
        Err(ApiError::WrongState(
            "requests need the Ready state, before quit"
        ))
    );
    assert!(c.tls_established().is_err());
    let deadline = c.poll_timeout().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(600));
    c.handle_timeout(now + Duration::from_secs(599));
    assert!(!c.is_closed());
    c.handle_timeout(deadline);
    assert!(matches!(
        c.poll_event(),
        Some(client::Event::Failed(ClientError::Timeout))
    ));
    assert!(c.is_closed());
    assert_eq!(c.poll_timeout(), None);
}

/// Reads a recorded session from both sides by the rules in [`sansmail_pop3::Expect`]'s
/// documentation, as a protocol dump would, and checks that every reply re-encodes to the
/// same bytes. Returns how many replies there were.
fn read_transcript(mut c2s: &[u8], mut s2c: &[u8]) -> usize {
    use sansmail_pop3::{Command, Expect, Reply, codec};
    let mut replies = 0;
    let mut reply = |s2c: &mut &[u8], kind: Expect| {
        let (rest, r) = codec::decode_response(s2c, kind).unwrap();
        let mut out = Vec::new();
        codec::encode_reply(&r, &mut out);
        assert_eq!(out, &s2c[..s2c.len() - rest.len()]);
        *s2c = rest;
        replies += 1;
        r.into_owned()
    };
    reply(&mut s2c, Expect::SingleLine);
    while !c2s.is_empty() {
        let (rest, cmd) = codec::decode_command(c2s).unwrap();
        c2s = rest;
        let mut r = reply(&mut s2c, cmd.response_kind());
        while let Reply::Continue(_) = r {
            let (rest, _line) = codec::decode_sasl_line(c2s, 1 << 16).unwrap();
            c2s = rest;
            r = reply(&mut s2c, Expect::Sasl);
        }
        if cmd == Command::Stls && matches!(r, Reply::Single(ref x) if x.is_ok()) {
            break;
        }
    }
    assert!(s2c.is_empty(), "{:?}", String::from_utf8_lossy(s2c));
    replies
}

#[test]
fn recorded_sessions_read_back_from_both_sides() {
    // With a SASL continuation.
    let password = "p".repeat(200);
    let mut config = client_config();
    config.credentials = Some(Credentials::new("alice", password.clone()));
    let mut store = Store::new(vec![message(40, "a")]);
    store.secret = Box::leak(password.into_boxed_str());
    let mut pair = Pair::new(server_config(), config, store);
    pair.run(|c, seen| {
        if *seen == Seen::Event(client::Event::Ready) {
            c.uidl(None).unwrap();
            c.top(n(1), 1).unwrap();
            c.retr(n(1)).unwrap();
            c.quit().unwrap();
        }
    });
    // Greeting, CAPA, AUTH (+ challenge, final), UIDL, TOP, RETR, QUIT.
    assert_eq!(read_transcript(&pair.c2s, &pair.s2c), 8);
}
