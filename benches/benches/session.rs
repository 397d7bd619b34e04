//! The state machines: a client session and a server session joined in memory, so the cost
//! of the sessions (event queues, buffers, encoders) is visible next to the bare parsers.
//!
//! - `session/smtp_transaction`: a whole SMTP session (greeting, EHLO, pipelined MAIL, three
//!   RCPT and DATA, a 100 KiB message dot-stuffed by the client and unstuffed by the
//!   server, QUIT), from `new` to closed.
//! - `session/imap_fetch_1000`: on a logged-in, selected session, `FETCH 1:1000 (UID FLAGS
//!   RFC822.SIZE BODY.PEEK[HEADER])`, answered by the application with 1000 responses that
//!   carry a 450-octet header literal, encoded by the server and decoded by the client.
//! - `session/pop3_retr_10mb`: on a logged-in session, `RETR 1` of a 10 MB message handed to
//!   the server in 64 KiB pieces, byte-stuffed by the server and unstuffed by the client.
//!
//! Throughput is the payload: the message, or the octets the server sent for the FETCH.
#![allow(missing_docs, clippy::unwrap_used)] // criterion_group! generates undocumented items

use std::{hint::black_box, time::Instant};

use benches::realistic_message;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod smtp {
    use sansmail_smtp::{
        DomainPart, ForwardPath, MailParams, Mailbox, RcptParams, ReversePath,
        session::{
            ServerConfig,
            client::{Client, ClientConfig, Envelope, Event as CEvent, TlsPolicy},
            server::{Event as SEvent, Server},
        },
    };

    use super::{Instant, black_box};

    fn mailbox(s: &str) -> Mailbox<'static> {
        Mailbox::try_from(s).unwrap().into_owned()
    }

    pub fn envelope() -> Envelope {
        Envelope {
            from: ReversePath::Mailbox(mailbox("bob@example.org")),
            params: MailParams::default(),
            recipients: ["alice@example.com", "carol@example.com", "dave@example.com"]
                .iter()
                .map(|r| (ForwardPath::Mailbox(mailbox(r)), RcptParams::default()))
                .collect(),
        }
    }

    /// One session from greeting to close; returns the octets delivered.
    pub fn transaction(envelope: &Envelope, message: &[u8]) -> u64 {
        let now = Instant::now();
        let mut config = ServerConfig::new("mx.example.com");
        config.extensions.chunking = false;
        let mut server = Server::new(config, now);
        let mut cc = ClientConfig::new(
            DomainPart::try_from("client.example.org")
                .unwrap()
                .into_owned(),
        );
        cc.starttls = TlsPolicy::Never;
        let mut client = Client::new(cc, now);
        let mut sent = false;
        let mut received = 0u64;
        let mut buf = Vec::with_capacity(message.len() + 4096);
        loop {
            let mut moved = false;
            buf.clear();
            server.poll_transmit(&mut buf);
            if !buf.is_empty() {
                moved = true;
                client.handle_input(now, &buf);
            }
            while let Some(ev) = client.poll_event() {
                moved = true;
                match ev {
                    CEvent::Ready if !sent => {
                        sent = true;
                        client.send_mail(envelope).unwrap();
                    }
                    CEvent::Ready => client.quit().unwrap(),
                    CEvent::SendData => {
                        client.send_data(message).unwrap();
                        client.end_data().unwrap();
                    }
                    other => {
                        black_box(other);
                    }
                }
            }
            buf.clear();
            client.poll_transmit(&mut buf);
            if !buf.is_empty() {
                moved = true;
                server.handle_input(now, &buf);
            }
            while let Some(ev) = server.poll_event() {
                moved = true;
                match ev {
                    SEvent::Mail { .. }
                    | SEvent::Rcpt { .. }
                    | SEvent::DataStart
                    | SEvent::MessageEnd { .. } => server.accept().unwrap(),
                    SEvent::MessageData(d) => received += d.len() as u64,
                    _ => {}
                }
            }
            if !moved {
                break;
            }
        }
        assert!(server.is_closed() && client.is_closed());
        received
    }
}

mod imap {
    use std::borrow::Cow;

    use sansmail_imap::{
        codec::frame::LiteralMode,
        session::{
            ServerConfig,
            client::{Client, ClientConfig, Event as CEvent},
            server::{Event as SEvent, Server},
        },
        types::{
            command::{CommandBody, Secret},
            core::{AString, IString, Literal},
            fetch::FetchItem,
            fetch_attr::{FetchAttr, FetchItems, FetchModifiers},
            flag::Flag,
            mailbox::Mailbox,
            response::{Data, StatusKind},
            section::{Section, SectionText},
            sequence::{SeqNum, SequenceSet},
        },
    };

    use super::{Instant, black_box};

    pub const MESSAGES: u32 = 1000;

    pub struct Pair {
        client: Client,
        server: Server,
        header: Vec<u8>,
        now: Instant,
        buf: Vec<u8>,
        /// Octets the server sent during the last `run`.
        pub sent: u64,
        done: bool,
    }

    impl Pair {
        pub fn new(header: Vec<u8>) -> Self {
            let now = Instant::now();
            let mut config = ServerConfig::default();
            config.auth_requires_tls = false;
            let mut pair = Self {
                client: Client::new(ClientConfig::default(), now),
                server: Server::new(config, now),
                header,
                now,
                buf: Vec::new(),
                sent: 0,
                done: false,
            };
            pair.run();
            pair.command(CommandBody::Login {
                username: AString::try_from("alice").unwrap().into_owned(),
                password: Secret::new(AString::try_from("secret").unwrap().into_owned()),
            });
            pair.command(CommandBody::Select {
                mailbox: Mailbox::inbox(),
                params: vec![],
            });
            pair
        }

        pub fn fetch_all(&mut self) -> u64 {
            let items = FetchItems::List(vec![
                FetchAttr::Uid,
                FetchAttr::Flags,
                FetchAttr::Rfc822Size,
                FetchAttr::BodySection {
                    peek: true,
                    section: Section {
                        part: vec![],
                        text: Some(SectionText::Header),
                    },
                    partial: None,
                },
            ]);
            self.command(CommandBody::Fetch {
                uid: false,
                set: SequenceSet::range(SeqNum::Value(1), SeqNum::Largest).unwrap(),
                items,
                modifiers: FetchModifiers::default(),
            })
        }

        /// Sends a command and runs until it completes; returns the octets the server sent.
        fn command(&mut self, body: CommandBody<'_>) -> u64 {
            self.client.send(body).unwrap();
            self.done = false;
            self.run();
            assert!(self.done, "the command completed");
            self.sent
        }

        fn run(&mut self) {
            self.sent = 0;
            loop {
                let mut moved = false;
                self.buf.clear();
                self.client.poll_transmit(&mut self.buf);
                if !self.buf.is_empty() {
                    moved = true;
                    self.server.handle_input(self.now, &self.buf);
                }
                self.serve();
                self.buf.clear();
                self.server.poll_transmit(&mut self.buf);
                if !self.buf.is_empty() {
                    moved = true;
                    self.sent += self.buf.len() as u64;
                    self.client.handle_input(self.now, &self.buf);
                }
                while let Some(ev) = self.client.poll_event() {
                    moved = true;
                    if let CEvent::Completed { status, .. } = &ev {
                        assert_eq!(status.kind, StatusKind::Ok);
                        self.done = true;
                    }
                    black_box(ev);
                }
                if !moved {
                    return;
                }
            }
        }

        /// The application: accepts the login, serves INBOX with 1000 messages.
        fn serve(&mut self) {
            while let Some(ev) = self.server.poll_event() {
                match ev {
                    SEvent::Login { .. } => self.server.accept().unwrap(),
                    SEvent::Command(cmd) => match cmd.body {
                        CommandBody::Select { .. } => {
                            self.server.send_data(Data::Exists(MESSAGES));
                            self.server.select((1..=MESSAGES).collect()).unwrap();
                            self.server
                                .complete(StatusKind::Ok, None, "SELECT completed")
                                .unwrap();
                        }
                        CommandBody::Fetch { uid, set, .. } => {
                            let hits = self.server.view().unwrap().resolve(&set, uid, &[]);
                            for (seq, uid) in hits {
                                self.server.send_data(Data::Fetch {
                                    seq,
                                    items: vec![
                                        FetchItem::Uid(uid),
                                        FetchItem::Flags(vec![Flag::Seen]),
                                        FetchItem::Rfc822Size(24_000 + u64::from(uid)),
                                        FetchItem::BodySection {
                                            section: Section {
                                                part: vec![],
                                                text: Some(SectionText::Header),
                                            },
                                            origin: None,
                                            data: Some(IString::Literal(
                                                Literal::new(
                                                    Cow::Borrowed(self.header.as_slice()),
                                                    LiteralMode::Sync,
                                                )
                                                .unwrap(),
                                            )),
                                        },
                                    ],
                                });
                            }
                            self.server
                                .complete(StatusKind::Ok, None, "FETCH completed")
                                .unwrap();
                        }
                        _ => self.server.complete(StatusKind::Ok, None, "done").unwrap(),
                    },
                    _ => {}
                }
            }
        }
    }
}

mod pop3 {
    use sansmail_pop3::{
        Credentials, MessageNumber, Uid,
        session::{
            Maildrop, ServerConfig,
            client::{Client, ClientConfig, Event as CEvent, TlsPolicy},
            server::{Event as SEvent, Server},
        },
    };

    use super::{Instant, black_box};

    pub struct Pair {
        client: Client,
        server: Server,
        message: Vec<u8>,
        now: Instant,
        buf: Vec<u8>,
        received: u64,
        done: bool,
    }

    impl Pair {
        pub fn new(message: Vec<u8>) -> Self {
            let now = Instant::now();
            let mut sc = ServerConfig::new("pop.example.com");
            sc.auth_requires_tls = false;
            let mut cc = ClientConfig::new(Some(Credentials::new("alice", "secret")));
            cc.starttls = TlsPolicy::Never;
            let mut pair = Self {
                client: Client::new(cc, now),
                server: Server::new(sc, now),
                message,
                now,
                buf: Vec::new(),
                received: 0,
                done: false,
            };
            pair.run();
            assert!(pair.client.is_authenticated());
            pair
        }

        /// RETR 1; returns the octets the client received.
        pub fn retr(&mut self) -> u64 {
            self.client.retr(MessageNumber::new(1).unwrap()).unwrap();
            self.received = 0;
            self.done = false;
            self.run();
            assert!(self.done);
            self.received
        }

        fn run(&mut self) {
            loop {
                let mut moved = false;
                self.buf.clear();
                self.client.poll_transmit(&mut self.buf);
                if !self.buf.is_empty() {
                    moved = true;
                    self.server.handle_input(self.now, &self.buf);
                }
                while let Some(ev) = self.server.poll_event() {
                    moved = true;
                    match ev {
                        SEvent::Login { .. } => {
                            let mut drop = Maildrop::new();
                            drop.push(self.message.len() as u64, Uid::new("m1").unwrap());
                            self.server.accept_login(drop).unwrap();
                        }
                        SEvent::Retrieve { .. } => {
                            for piece in self.message.chunks(64 * 1024) {
                                self.server.message_data(piece).unwrap();
                            }
                            self.server.message_end().unwrap();
                        }
                        _ => {}
                    }
                }
                self.buf.clear();
                self.server.poll_transmit(&mut self.buf);
                if !self.buf.is_empty() {
                    moved = true;
                    self.client.handle_input(self.now, &self.buf);
                }
                while let Some(ev) = self.client.poll_event() {
                    moved = true;
                    match ev {
                        CEvent::MessageData(d) => self.received += d.len() as u64,
                        CEvent::MessageEnd { .. } => self.done = true,
                        other => {
                            black_box(other);
                        }
                    }
                }
                if !moved {
                    return;
                }
            }
        }
    }
}

fn header() -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(
        b"Return-Path: <bob@example.org>\r\nReceived: from relay.example.net by mx.example.com\r\n\
\twith ESMTPS id 4ZxQ2abcd; Thu, 26 Nov 2026 10:00:00 +0000\r\n\
From: Bob Example <bob@example.org>\r\nTo: Alice Example <alice@example.com>\r\n\
Subject: Quarterly report and the meeting notes\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <report.2026.11.26@example.org>\r\nMIME-Version: 1.0\r\n",
    );
    while h.len() < 430 {
        h.extend_from_slice(b"X-Filler: header padding\r\n");
    }
    h.extend_from_slice(b"\r\n");
    h
}

fn sessions(c: &mut Criterion) {
    let mut g = c.benchmark_group("session");

    let message = realistic_message(100 * 1024, 3);
    let envelope = smtp::envelope();
    let delivered = smtp::transaction(&envelope, &message);
    assert_eq!(delivered, message.len() as u64);
    g.throughput(Throughput::Bytes(message.len() as u64));
    g.bench_function("smtp_transaction", |b| {
        b.iter(|| smtp::transaction(&envelope, black_box(&message)));
    });

    let mut pair = imap::Pair::new(header());
    let sent = pair.fetch_all();
    assert!(sent > u64::from(imap::MESSAGES) * 450);
    g.throughput(Throughput::Bytes(sent));
    g.bench_function("imap_fetch_1000", |b| b.iter(|| pair.fetch_all()));

    let big = realistic_message(10_000_000, 5);
    let mut pair = pop3::Pair::new(big.clone());
    assert_eq!(pair.retr(), big.len() as u64);
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.sample_size(10);
    g.bench_function("pop3_retr_10mb", |b| b.iter(|| pair.retr()));
    g.finish();
}

criterion_group!(benches, sessions);
criterion_main!(benches);
