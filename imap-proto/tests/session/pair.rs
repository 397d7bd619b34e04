//! The client session against the server session, in memory.

use std::{borrow::Cow, time::Instant};

use sansmail_imap::{
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
        config.auth_requires_tls = false;
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
    config.auth_requires_tls = false;
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
    config.auth_requires_tls = false;
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

/// RFC 9051 §8's sample session through the pair: the client sends the RFC's commands, the
/// server application answers with the RFC's responses, and the client sees them all, routed
/// to the commands that caused them.
#[test]
fn rfc9051_section8_through_the_pair() {
    use sansmail_imap::codec::{Leniency, ResponseOptions, decode_response};
    use sansmail_imap::types::response::Response;

    const HEADER: &str = "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\nFrom: Terry Gray <gray@cac.washington.edu>\r\nSubject: IMAP4rev2 WG mtg summary and minutes\r\nTo: imap@cac.washington.edu\r\ncc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\nMessage-Id: <B27397-0100000@cac.washington.edu>\r\nMIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n";
    let select = "* 18 EXISTS\r\n* OK [UIDVALIDITY 3857529045] UIDs valid\r\n* OK [UIDNEXT 4392] Predicted next UID\r\n* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n* LIST () \"/\" INBOX\r\n".to_owned();
    let full = "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n".to_owned();
    let header = format!(
        "* 12 FETCH (BODY[HEADER] {{{}}}\r\n{HEADER})\r\n",
        HEADER.len()
    );
    let store = "* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n".to_owned();
    let opts = ResponseOptions {
        lenient: Leniency::default(),
        ..ResponseOptions::default()
    };
    let parse_all = |text: &str| -> Vec<Response<'static>> {
        let mut input = text.as_bytes();
        let mut out = Vec::new();
        while !input.is_empty() {
            let (rest, r) = decode_response(input, &opts).unwrap();
            out.push(r.into_owned());
            input = rest;
        }
        out
    };
    let answers = [
        parse_all(&select),
        parse_all(&full),
        parse_all(&header),
        parse_all(&store),
    ];

    let mut p = Pair::plain();
    p.send(login());
    // The application answers each command with the RFC's responses.
    let commands: [CommandBody<'static>; 4] = [
        CommandBody::Select {
            mailbox: Mailbox::inbox(),
            params: vec![],
        },
        sansmail_imap::codec::parse_command(
            b"a003 fetch 12 full\r\n",
            &sansmail_imap::codec::CommandOptions::default(),
        )
        .unwrap()
        .body
        .into_owned(),
        sansmail_imap::codec::parse_command(
            b"a004 fetch 12 body[header]\r\n",
            &sansmail_imap::codec::CommandOptions::default(),
        )
        .unwrap()
        .body
        .into_owned(),
        sansmail_imap::codec::parse_command(
            b"a005 store 12 +flags \\deleted\r\n",
            &sansmail_imap::codec::CommandOptions::default(),
        )
        .unwrap()
        .body
        .into_owned(),
    ];
    for (body, answer) in commands.into_iter().zip(&answers) {
        let tag = p.client.send(body).unwrap();
        // Move the command to the server, then answer by hand instead of through App.
        let mut wire = Vec::new();
        p.client.poll_transmit(&mut wire);
        p.server.handle_input(p.now, &wire);
        match p.server.poll_event() {
            Some(sansmail_imap::session::server::Event::Command(_)) => {}
            other => panic!("expected the command, got {other:?}"),
        }
        for r in answer {
            p.server.send(r);
        }
        if p.server.connection_state() == State::Authenticated {
            p.server.select((1..=18).collect()).unwrap();
        }
        p.server
            .complete(StatusKind::Ok, None, "completed")
            .unwrap();
        p.run();
        let routed: Vec<&Data<'static>> = p
            .events
            .iter()
            .filter_map(|e| match e {
                CEvent::Data { tag: Some(t), data } if *t == tag => Some(data),
                _ => None,
            })
            .collect();
        let sent: Vec<&Data<'static>> = answer
            .iter()
            .filter_map(|r| match r {
                Response::Data(d) => Some(d),
                _ => None,
            })
            .collect();
        assert_eq!(routed, sent, "data for {tag}");
        assert_eq!(p.completed(tag.as_str()), Some(StatusKind::Ok));
    }
    assert_eq!(p.client.state(), State::Selected);
    let t = p.send(CommandBody::Logout);
    assert_eq!(p.completed(&t), Some(StatusKind::Ok));
}
