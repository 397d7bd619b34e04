//! The client session against the server session, in memory.

use std::{borrow::Cow, time::Instant};

use imap_proto::{
    codec::frame::LiteralMode,
    session::{
        ServerConfig,
        client::{Client, ClientConfig, Event as CEvent},
        server::Server,
        view::Update,
    },
    types::{
        capability::Capability,
        command::{AppendData, AppendMessage, CommandBody, Secret, State},
        core::{AString, Literal},
        fetch_attr::{FetchAttr, FetchItems, FetchModifiers},
        mailbox::Mailbox,
        response::{Data, StatusKind},
        sequence::{SeqNum, SequenceSet},
    },
};

use crate::session::app::App;

struct Pair {
    client: Client,
    server: Server,
    app: App,
    now: Instant,
    events: Vec<CEvent>,
    wire_c2s: Vec<u8>,
}

impl Pair {
    fn new(config: ServerConfig) -> Self {
        let now = Instant::now();
        let mut pair = Self {
            client: Client::new(ClientConfig::default(), now),
            server: Server::new(config, now),
            app: App::new(),
            now,
            events: Vec::new(),
            wire_c2s: Vec::new(),
        };
        pair.run();
        pair
    }

    fn plain() -> Self {
        let mut config = ServerConfig::default();
        config.plaintext_auth_requires_tls = false;
        Self::new(config)
    }

    /// Moves bytes both ways until nothing moves.
    fn run(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            let mut buf = Vec::new();
            self.server.poll_transmit(&mut buf);
            if !buf.is_empty() {
                moved = true;
                self.client.handle_input(self.now, &buf);
            }
            while let Some(e) = self.client.poll_event() {
                self.events.push(e);
            }
            let mut buf = Vec::new();
            self.client.poll_transmit(&mut buf);
            if !buf.is_empty() {
                moved = true;
                self.wire_c2s.extend_from_slice(&buf);
                self.server.handle_input(self.now, &buf);
            }
            self.app.handle(&mut self.server);
            if !moved {
                return;
            }
        }
        panic!("the pair did not settle");
    }

    fn completed(&self, tag: &str) -> Option<StatusKind> {
        self.events.iter().find_map(|e| match e {
            CEvent::Completed { tag: t, status, .. } if t.as_str() == tag => Some(status.kind),
            _ => None,
        })
    }

    fn send(&mut self, body: CommandBody<'_>) -> String {
        let tag = self.client.send(body).unwrap();
        self.run();
        tag.as_str().to_owned()
    }
}

fn login() -> CommandBody<'static> {
    CommandBody::Login {
        username: AString::try_from("alice").unwrap().into_owned(),
        password: Secret::new(AString::try_from("secret").unwrap().into_owned()),
    }
}

fn fetch_flags(set: SequenceSet) -> CommandBody<'static> {
    CommandBody::Fetch {
        uid: false,
        set,
        items: FetchItems::List(vec![FetchAttr::Flags]),
        modifiers: FetchModifiers::default(),
    }
}

fn append(data: &'static [u8]) -> CommandBody<'static> {
    CommandBody::Append {
        mailbox: Mailbox::inbox(),
        messages: vec![AppendMessage {
            flags: None,
            date: None,
            data: AppendData::Literal(
                Literal::new(Cow::Borrowed(data), LiteralMode::Sync).unwrap(),
            ),
        }],
    }
}

#[test]
fn rfc9051_section8_style_session() {
    let mut p = Pair::plain();
    assert!(matches!(p.events.first(), Some(CEvent::Greeting(_))));
    assert!(
        p.client.has(&Capability::Imap4Rev2),
        "capabilities learned from the greeting"
    );
    let t = p.send(CommandBody::Capability);
    assert_eq!(p.completed(&t), Some(StatusKind::Ok));
    let t = p.send(login());
    assert_eq!(p.completed(&t), Some(StatusKind::Ok));
    assert_eq!(p.client.state(), State::Authenticated);
    let t = p.send(CommandBody::Select {
        mailbox: Mailbox::inbox(),
        params: vec![],
    });
    assert_eq!(p.completed(&t), Some(StatusKind::Ok));
    assert_eq!(p.client.state(), State::Selected);
    let exists = p.events.iter().any(
        |e| matches!(e, CEvent::Data { tag: Some(tg), data: Data::Exists(3) } if tg.as_str() == t),
    );
    assert!(exists, "EXISTS routed to the SELECT: {:?}", p.events);
    let t = p.send(fetch_flags(
        SequenceSet::range(SeqNum::Value(1), SeqNum::Largest).unwrap(),
    ));
    let fetches = p
        .events
        .iter()
        .filter(|e| matches!(e, CEvent::Data { tag: Some(tg), data: Data::Fetch { .. } } if tg.as_str() == t))
        .count();
    assert_eq!(fetches, 3);
    let t = p.send(CommandBody::Logout);
    assert_eq!(p.completed(&t), Some(StatusKind::Ok));
    assert!(p.client.is_closed() && p.server.is_closed());
}

#[test]
fn synchronizing_literal_waits_for_continuation() {
    let mut config = ServerConfig::default();
    config.plaintext_auth_requires_tls = false;
    config
        .capabilities
        .retain(|c| *c != Capability::LiteralPlus);
    let mut p = Pair::new(config);
    p.send(login());
    let t = p.send(append(b"Subject: hi\r\n\r\nbody\r\n"));
    assert_eq!(p.completed(&t), Some(StatusKind::Ok));
    assert_eq!(p.app.appended, [b"Subject: hi\r\n\r\nbody\r\n".to_vec()]);
    let wire = String::from_utf8_lossy(&p.wire_c2s);
    assert!(wire.contains("APPEND INBOX {21}\r\n"), "{wire}");
    assert!(p.app.events.iter().any(|e| e.contains("LiteralAnnounced")));
}

#[test]
fn literal_plus_sends_at_once() {
    let mut p = Pair::plain();
    p.send(login());
    let t = p.send(append(b"x\r\n"));
    assert_eq!(p.completed(&t), Some(StatusKind::Ok));
    assert!(String::from_utf8_lossy(&p.wire_c2s).contains("APPEND INBOX {3+}\r\nx\r\n"));
    assert!(!p.app.events.iter().any(|e| e.contains("LiteralAnnounced")));
}

#[test]
fn refused_literal_is_never_sent() {
    let mut config = ServerConfig::default();
    config.plaintext_auth_requires_tls = false;
    config
        .capabilities
        .retain(|c| *c != Capability::LiteralPlus);
    let mut p = Pair::new(config);
    p.send(login());
    p.app.accept_literals = false;
    let t = p.send(append(b"secret body\r\n"));
    assert_eq!(p.completed(&t), Some(StatusKind::No));
    assert!(!String::from_utf8_lossy(&p.wire_c2s).contains("secret body"));
    // The session goes on.
    let t = p.send(CommandBody::Noop);
    assert_eq!(p.completed(&t), Some(StatusKind::Ok));
}

#[test]
fn idle_receives_updates_from_other_sessions() {
    let mut p = Pair::plain();
    p.send(login());
    p.send(CommandBody::Select {
        mailbox: Mailbox::inbox(),
        params: vec![],
    });
    let t = p.send(CommandBody::Idle);
    assert!(p.events.contains(&CEvent::Idling));
    p.server.push_update(Update::New(vec![99])).unwrap();
    p.run();
    assert!(p.events.iter().any(|e| matches!(
        e,
        CEvent::Data {
            data: Data::Exists(4),
            ..
        }
    )));
    p.client.idle_done().unwrap();
    p.run();
    assert_eq!(p.completed(&t), Some(StatusKind::Ok));
}

#[test]
fn failed_select_leaves_authenticated_state() {
    let mut p = Pair::plain();
    p.send(login());
    p.send(CommandBody::Select {
        mailbox: Mailbox::inbox(),
        params: vec![],
    });
    let t = p.send(CommandBody::Select {
        mailbox: Mailbox::new("Nope").unwrap(),
        params: vec![],
    });
    assert_eq!(p.completed(&t), Some(StatusKind::No));
    assert_eq!(p.client.state(), State::Authenticated);
    assert_eq!(p.server.connection_state(), State::Authenticated);
}
