//! NOTIFY (RFC 5465): known answers for the command and the response codes, every strict
//! prefix incomplete, the negative table, proptest round-trips, and the server session's
//! rules (validity, §5 and §6.1 checks, BADEVENT, unsolicited output, overflow).

use std::{borrow::Cow, time::Instant};

use proptest::{collection::vec, option, prelude::*};
use sansmail_imap::{
    codec::{
        CommandOptions, EncodeBuf, ResponseOptions, decode_command, encode_command,
        encode_response, parse_command, parse_response,
    },
    error::DecodeError,
    session::{
        ServerConfig,
        server::{ApiError, Event, Server},
        view::Update,
    },
    types::{
        capability::Capability,
        command::{Command, CommandBody, State},
        core::{AString, Atom, Tag, Text},
        fetch_attr::FetchAttr,
        mailbox::Mailbox,
        notify::{EventGroup, FilterMailboxes as F, NotifyEvent as E, NotifySet},
        response::{Data, Response, Status, StatusKind},
        response_code::ResponseCode,
        response_data::StatusItem,
    },
};

fn mbx(name: &'static str) -> Mailbox<'static> {
    Mailbox::new(name).unwrap()
}

fn set(status: bool, groups: Vec<(F<'static>, Vec<E<'static>>)>) -> CommandBody<'static> {
    CommandBody::Notify {
        set: Some(NotifySet {
            status,
            groups: groups
                .into_iter()
                .map(|(filter, events)| EventGroup { filter, events })
                .collect(),
        }),
    }
}

fn encode(body: &CommandBody<'static>) -> Vec<u8> {
    let mut out = EncodeBuf::new();
    let cmd = Command::new(Tag::new("A1").unwrap(), body.clone());
    encode_command(&cmd, &CommandOptions::default(), &mut out);
    out.bytes
}

#[test]
fn known_answers() {
    let new = || E::MessageNew(Vec::new());
    let cases: Vec<(&[u8], &[u8], CommandBody<'static>)> = vec![
        (
            b"A1 NOTIFY NONE\r\n",
            b"A1 NOTIFY NONE\r\n",
            CommandBody::Notify { set: None },
        ),
        (
            b"A1 notify none\r\n",
            b"A1 NOTIFY NONE\r\n",
            CommandBody::Notify { set: None },
        ),
        // RFC 5465 §3.1's example, spelled as the RFC spells it.
        (
            b"A1 NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From To)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))\r\n",
            b"A1 NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From To)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))\r\n",
            {
                let CommandBody::Notify { set: Some(s) } = parse_command(
                    b"A0 NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From To)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))\r\n",
                    &CommandOptions::default(),
                )
                .unwrap()
                .body
                else {
                    panic!()
                };
                let E::MessageNew(atts) = &s.groups[0].events[0] else {
                    panic!()
                };
                assert_eq!(atts.len(), 2);
                assert_eq!(atts[0], FetchAttr::Uid);
                assert!(matches!(atts[1], FetchAttr::BodySection { peek: true, .. }));
                assert_eq!(s.groups[1].filter, F::Subtree(vec![mbx("Lists")]));
                CommandBody::Notify { set: Some(s.into_owned()) }
            },
        ),
        (
            b"A1 NOTIFY SET (selected-delayed (MessageNew MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))\r\n",
            b"A1 NOTIFY SET (selected-delayed (MessageNew MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))\r\n",
            set(
                false,
                vec![
                    (F::SelectedDelayed, vec![new(), E::MessageExpunge, E::FlagChange]),
                    (
                        F::Personal,
                        vec![new(), E::MessageExpunge, E::MailboxName, E::SubscriptionChange],
                    ),
                ],
            ),
        ),
        (
            b"A1 NOTIFY SET (INBOXES (messagenew messageexpunge)) (Subscribed NONE) (mailboxes (INBOX \"a b\") (MailboxMetadataChange ServerMetadataChange AnnotationChange XFoo))\r\n",
            b"A1 NOTIFY SET (inboxes (MessageNew MessageExpunge)) (subscribed NONE) (mailboxes (INBOX \"a b\") (MailboxMetadataChange ServerMetadataChange AnnotationChange XFoo))\r\n",
            set(
                false,
                vec![
                    (F::Inboxes, vec![new(), E::MessageExpunge]),
                    (F::Subscribed, vec![]),
                    (
                        F::Mailboxes(vec![mbx("INBOX"), mbx("a b")]),
                        vec![
                            E::MailboxMetadataChange,
                            E::ServerMetadataChange,
                            E::AnnotationChange,
                            E::Other(Atom::new("XFoo").unwrap()),
                        ],
                    ),
                ],
            ),
        ),
        (
            b"A1 NOTIFY SET (subtree (&AMQ-rger Lists) (MailboxName))\r\n",
            b"A1 NOTIFY SET (subtree (&AMQ-rger Lists) (MailboxName))\r\n",
            set(
                false,
                vec![(
                    F::Subtree(vec![mbx("Ärger"), mbx("Lists")]),
                    vec![E::MailboxName],
                )],
            ),
        ),
    ];
    let opts = CommandOptions::default();
    for (input, canonical, expected) in cases {
        let what = String::from_utf8_lossy(input);
        let c = parse_command(input, &opts).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(c.body, expected, "{what}");
        assert_eq!(encode(&c.body), canonical, "{what}");
        assert_eq!(c.body.clone().into_owned(), c.body);
        assert_eq!(c.body.name(), "NOTIFY");
        for i in 0..input.len() {
            assert!(
                matches!(
                    decode_command(&input[..i], &opts),
                    Err(DecodeError::Incomplete)
                ),
                "prefix {i} of {what}"
            );
        }
    }
}

#[test]
fn negative_table() {
    let cases: &[(&[u8], usize)] = &[
        (b"A1 NOTIFY\r\n", 9),
        (b"A1 NOTIFY FOO\r\n", 10),
        (b"A1 NOTIFY NONE STATUS\r\n", 14),
        // notify-set needs at least one event group.
        (b"A1 NOTIFY SET\r\n", 13),
        (b"A1 NOTIFY SET STATUS\r\n", 20),
        (b"A1 NOTIFY SET ()\r\n", 15),
        (b"A1 NOTIFY SET (nowhere (MessageNew))\r\n", 15),
        (b"A1 NOTIFY SET (personal ())\r\n", 25),
        (b"A1 NOTIFY SET (personal)\r\n", 23),
        // `(MessageNew)` is the mailbox list; the events are missing.
        (b"A1 NOTIFY SET (subtree (MessageNew))\r\n", 35),
        (b"A1 NOTIFY SET (mailboxes () (MessageNew))\r\n", 26),
        (b"A1 NOTIFY SET (selected (MessageNew ()))\r\n", 37),
        (b"A1 NOTIFY SET (selected (MessageNew (BOGUS)))\r\n", 37),
        (b"A1 NOTIFY SET (selected NONE\r\n", 28),
        (b"A1 NOTIFY SET (selected NONE)(personal NONE)\r\n", 29),
    ];
    let opts = CommandOptions::default();
    for &(input, offset) in cases {
        let what = String::from_utf8_lossy(input);
        let err = parse_command(input, &opts).expect_err(&what);
        assert_eq!(err.offset, offset, "{what}: {err}");
        assert_eq!(err.tag, Some(Tag::new("A1").unwrap()), "{what}");
    }
}

#[test]
fn states() {
    let none = CommandBody::Notify { set: None };
    assert!(none.valid_in(State::Authenticated) && none.valid_in(State::Selected));
    assert!(!none.valid_in(State::NotAuthenticated) && !none.valid_in(State::Logout));
}

fn say(r: &Response<'_>) -> String {
    let mut out = EncodeBuf::new();
    encode_response(r, &ResponseOptions::default(), &mut out);
    String::from_utf8(out.bytes).unwrap()
}

#[test]
fn response_codes() {
    let cases: Vec<(&str, ResponseCode<'static>)> = vec![
        (
            "* OK [NOTIFICATIONOVERFLOW] Too many notifications\r\n",
            ResponseCode::NotificationOverflow,
        ),
        (
            "A1 NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName)] Unsupported\r\n",
            ResponseCode::BadEvent(vec![
                E::MessageNew(Vec::new()),
                E::MessageExpunge,
                E::FlagChange,
                E::MailboxName,
            ]),
        ),
        (
            "A1 NO [BADEVENT (MessageNew (UID FLAGS) XEvent)] Unsupported\r\n",
            ResponseCode::BadEvent(vec![
                E::MessageNew(vec![FetchAttr::Uid, FetchAttr::Flags]),
                E::Other(Atom::new("XEvent").unwrap()),
            ]),
        ),
    ];
    for (wire, code) in cases {
        let r = parse_response(wire.as_bytes(), &ResponseOptions::default()).unwrap();
        let Response::Status(Status { code: Some(c), .. }) = &r else {
            panic!("{wire}: {r:?}")
        };
        assert_eq!(*c, code, "{wire}");
        assert_eq!(say(&r), wire);
        assert_eq!(c.clone().into_owned(), code);
    }
    // An empty BADEVENT list is not the code: kept as an unknown one, never mistaken.
    let r = parse_response(b"A1 NO [BADEVENT ()] x\r\n", &ResponseOptions::default()).unwrap();
    let Response::Status(Status { code: Some(c), .. }) = &r else {
        panic!()
    };
    assert!(!matches!(c, ResponseCode::BadEvent(_)), "{c:?}");
    assert_eq!(
        Capability::parse("NOTIFY").unwrap(),
        Capability::Notify,
        "NOTIFY is a known capability"
    );
}

// ---------------------------------------------------------------------------------------------
// Round trips.

fn mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    prop_oneof![
        Just(mbx("INBOX")),
        "[a-zA-Z][a-zA-Z0-9 /.]{0,10}".prop_map(|s| Mailbox::new(s).unwrap()),
        Just(mbx("Ärger")),
    ]
}

fn filter() -> impl Strategy<Value = F<'static>> {
    prop_oneof![
        Just(F::Selected),
        Just(F::SelectedDelayed),
        Just(F::Inboxes),
        Just(F::Personal),
        Just(F::Subscribed),
        vec(mailbox(), 1..4).prop_map(F::Subtree),
        vec(mailbox(), 1..4).prop_map(F::Mailboxes),
    ]
}

fn event() -> impl Strategy<Value = E<'static>> {
    prop_oneof![
        vec(
            prop_oneof![
                Just(FetchAttr::Uid),
                Just(FetchAttr::Flags),
                Just(FetchAttr::Envelope),
                Just(FetchAttr::ModSeq)
            ],
            0..3
        )
        .prop_map(E::MessageNew),
        Just(E::MessageExpunge),
        Just(E::FlagChange),
        Just(E::AnnotationChange),
        Just(E::MailboxName),
        Just(E::SubscriptionChange),
        Just(E::MailboxMetadataChange),
        Just(E::ServerMetadataChange),
        "X[a-zA-Z]{1,8}".prop_map(|s| E::Other(Atom::new(s).unwrap())),
    ]
}

fn notify_body() -> impl Strategy<Value = CommandBody<'static>> {
    option::of((any::<bool>(), vec((filter(), vec(event(), 0..5)), 1..4))).prop_map(|o| match o {
        None => CommandBody::Notify { set: None },
        Some((status, groups)) => set(status, groups),
    })
}

proptest! {
    #[test]
    fn parse_encode_round_trip(body in notify_body()) {
        let wire = encode(&body);
        let back = parse_command(&wire, &CommandOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(&wire)));
        prop_assert_eq!(back.body, body);
    }

    #[test]
    fn badevent_round_trip(events in vec(event(), 1..6)) {
        let r = Response::Status(Status {
            tag: Some(Tag::new("A1").unwrap()),
            kind: StatusKind::No,
            code: Some(ResponseCode::BadEvent(events)),
            text: Text::new("x").unwrap(),
        });
        let wire = say(&r);
        let back = parse_response(wire.as_bytes(), &ResponseOptions::default()).unwrap();
        prop_assert_eq!(back, r);
    }

    #[test]
    fn mutated_notify_never_panics(body in notify_body(), at in any::<usize>(), byte in any::<u8>()) {
        let mut wire = encode(&body);
        let i = at % wire.len();
        wire[i] = byte;
        let _ = parse_command(&wire, &CommandOptions::default());
    }
}

// ---------------------------------------------------------------------------------------------
// The server session.

struct Session {
    server: Server,
    now: Instant,
}

impl Session {
    fn new(notify: bool) -> Self {
        let mut config = ServerConfig::default();
        config.auth_requires_tls = false;
        if notify {
            config.capabilities.push(Capability::Notify);
        }
        let now = Instant::now();
        let mut s = Self {
            server: Server::new(config, now),
            now,
        };
        s.out();
        s
    }

    fn out(&mut self) -> String {
        let mut out = Vec::new();
        self.server.poll_transmit(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// Feeds input and answers as a small application: logins accepted, SELECT opens a
    /// mailbox of three messages, NOTIFY SET STATUS sends one STATUS, the rest is OK.
    fn feed(&mut self, input: &[u8]) -> String {
        self.server.handle_input(self.now, input);
        while let Some(ev) = self.server.poll_event() {
            match ev {
                Event::Login { .. } => self.server.accept().unwrap(),
                Event::Command(c) => {
                    match &c.body {
                        CommandBody::Select { .. } => {
                            self.server.select(vec![1, 2, 3]).unwrap();
                            self.server.send_data(Data::Exists(3));
                        }
                        CommandBody::Notify { set: Some(s) } if s.status => {
                            self.server.send_data(status("Other", 7));
                        }
                        _ => {}
                    }
                    self.server.complete(StatusKind::Ok, None, "done").unwrap();
                }
                _ => {}
            }
        }
        self.out()
    }
}

fn status(name: &'static str, messages: u32) -> Data<'static> {
    Data::Status {
        mailbox: mbx(name),
        items: vec![StatusItem::Messages(messages)],
    }
}

#[test]
fn session_refuses_what_rfc5465_forbids() {
    let mut s = Session::new(true);
    assert!(
        s.feed(b"a0 NOTIFY NONE\r\n").starts_with("a0 BAD"),
        "not before login"
    );
    s.feed(b"a1 LOGIN u p\r\n");
    let cases: &[(&[u8], &str)] = &[
        (
            b"b1 NOTIFY SET (personal (MessageNew))\r\n",
            "b1 BAD MessageNew and MessageExpunge must be given together\r\n",
        ),
        (
            b"b2 NOTIFY SET (selected (FlagChange))\r\n",
            "b2 BAD FlagChange and AnnotationChange require MessageNew and MessageExpunge\r\n",
        ),
        (
            b"b3 NOTIFY SET (selected NONE) (selected-delayed NONE)\r\n",
            "b3 BAD only one selected or selected-delayed filter is allowed\r\n",
        ),
        (
            b"b4 NOTIFY SET (selected (MessageNew MessageExpunge MailboxName))\r\n",
            "b4 BAD only message events can be used with selected or selected-delayed\r\n",
        ),
        (
            b"b5 NOTIFY SET (personal (MessageNew (UID) MessageExpunge))\r\n",
            "b5 BAD MessageNew fetch attributes are only allowed with selected or selected-delayed\r\n",
        ),
        (
            b"b6 NOTIFY SET (inboxes (MessageNew MessageExpunge AnnotationChange))\r\n",
            "b6 NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] Unsupported NOTIFY events\r\n",
        ),
        (
            b"b7 NOTIFY SET (personal (XUnknown))\r\n",
            "b7 NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] Unsupported NOTIFY events\r\n",
        ),
    ];
    for (input, answer) in cases {
        assert_eq!(s.feed(input), *answer);
        assert!(s.server.notify_set().is_none());
    }
    // An unknown mailbox in a filter is no error (§6).
    let out = s.feed(b"c1 NOTIFY SET (mailboxes Nowhere (MessageNew MessageExpunge))\r\n");
    assert_eq!(out, "c1 OK done\r\n");
    assert!(s.server.notify_set().is_some());
}

#[test]
fn session_without_the_capability_refuses_notify() {
    let mut s = Session::new(false);
    s.feed(b"a1 LOGIN u p\r\n");
    assert_eq!(
        s.feed(b"a2 NOTIFY NONE\r\n"),
        "a2 BAD NOTIFY is not available\r\n"
    );
}

#[test]
fn notifications_go_out_only_while_notify_is_on() {
    let mut s = Session::new(true);
    s.feed(b"a1 LOGIN u p\r\n");
    assert_eq!(
        s.server
            .send_notification(&Response::Data(status("Other", 1))),
        Err(ApiError::NotifyOff)
    );
    assert_eq!(s.out(), "");
    let out =
        s.feed(b"a2 NOTIFY SET STATUS (personal (MessageNew MessageExpunge MailboxName))\r\n");
    assert_eq!(out, "* STATUS Other (MESSAGES 7)\r\na2 OK done\r\n");
    // Between commands, unasked.
    s.server
        .send_notification(&Response::Data(status("Other", 8)))
        .unwrap();
    assert_eq!(s.out(), "* STATUS Other (MESSAGES 8)\r\n");
    // A failed NOTIFY leaves the one in effect.
    s.feed(b"a3 NOTIFY SET (personal (MessageNew))\r\n");
    assert!(s.server.notify_set().is_some());
    // Overflow: told once, and NOTIFY is off.
    s.server.notification_overflow();
    assert_eq!(
        s.out(),
        "* OK [NOTIFICATIONOVERFLOW] Too many notifications, NOTIFY is off\r\n"
    );
    assert!(s.server.notify_set().is_none());
    s.server.notification_overflow();
    assert_eq!(s.out(), "");
    assert!(
        s.server
            .send_notification(&Response::Data(status("Other", 9)))
            .is_err()
    );
    // NOTIFY NONE ends it too.
    s.feed(b"a4 NOTIFY SET (personal (MailboxName))\r\n");
    assert!(s.server.notify_set().is_some());
    assert_eq!(s.feed(b"a5 NOTIFY NONE\r\n"), "a5 OK done\r\n");
    assert!(s.server.notify_set().is_none());
}

#[test]
fn selected_filter_tells_changes_between_commands() {
    // Without NOTIFY: held until a command.
    let mut s = Session::new(true);
    s.feed(b"a1 LOGIN u p\r\na2 SELECT INBOX\r\n");
    s.server.push_update(Update::New(vec![4])).unwrap();
    assert_eq!(s.out(), "");
    assert!(s.feed(b"a3 NOOP\r\n").starts_with("* 4 EXISTS\r\n"));

    // `selected`: at once, expunges included.
    s.feed(b"a4 NOTIFY SET (selected (MessageNew MessageExpunge))\r\n");
    s.server.push_update(Update::New(vec![5])).unwrap();
    assert_eq!(s.out(), "* 5 EXISTS\r\n");
    s.server
        .push_update(Update::Expunged {
            uids: vec![1],
            modseq: None,
        })
        .unwrap();
    assert_eq!(s.out(), "* 1 EXPUNGE\r\n");

    // `selected-delayed`: new messages at once, expunges at the next command allowing them.
    s.feed(b"a5 NOTIFY SET (selected-delayed (MessageNew MessageExpunge))\r\n");
    s.server
        .push_update(Update::Expunged {
            uids: vec![2],
            modseq: None,
        })
        .unwrap();
    s.server.push_update(Update::New(vec![6])).unwrap();
    assert_eq!(s.out(), "* 5 EXISTS\r\n");
    let out = s.feed(b"a6 NOOP\r\n");
    assert!(out.starts_with("* 1 EXPUNGE\r\n"), "{out}");

    // `selected NONE` (or no selected group): as without NOTIFY.
    s.feed(b"a7 NOTIFY SET (selected NONE) (personal (MailboxName))\r\n");
    s.server.push_update(Update::New(vec![7])).unwrap();
    assert_eq!(s.out(), "");
}

#[test]
fn hand_built_notify_encodes_quoted_mailboxes() {
    let body = set(
        false,
        vec![(
            F::Mailboxes(vec![
                Mailbox::from_wire(AString::Atom(Cow::Borrowed("a")), false).unwrap(),
                mbx("b c"),
            ]),
            vec![E::MailboxName],
        )],
    );
    assert_eq!(
        encode(&body),
        b"A1 NOTIFY SET (mailboxes (a \"b c\") (MailboxName))\r\n"
    );
}

// ---------------------------------------------------------------------------------------------
// The tokio drivers: ImapClient::notify and wait_news against a server Connection.

#[cfg(feature = "tokio")]
mod driver {
    use std::time::Duration;

    use sansmail_core::{Credentials, tls::ServerName};
    use sansmail_imap::{
        session::{ServerConfig, client::ClientConfig, server::Event},
        tokio::{
            client::{Error, ImapClient},
            server::Connection,
            tls::Stream,
        },
        types::{
            capability::Capability,
            command::CommandBody,
            notify::{EventGroup, FilterMailboxes, NotifyEvent, NotifySet},
            response::{Response, StatusKind},
            response_code::ResponseCode,
        },
    };
    use tokio::sync::mpsc;

    use super::status;

    /// A server that accepts alice, answers NOTIFY SET with one STATUS, and sends a STATUS
    /// unasked for each name sent on `changes` while NOTIFY is on.
    async fn serve(
        stream: Stream<tokio::io::DuplexStream>,
        mut changes: mpsc::Receiver<&'static str>,
    ) {
        let mut config = ServerConfig::default();
        config.auth_requires_tls = false;
        config.capabilities.push(Capability::Notify);
        let mut conn = Connection::new(stream, config, None);
        loop {
            tokio::select! {
                ev = conn.next_event() => match ev.unwrap() {
                    None => return,
                    Some(Event::Login { .. }) => conn.session_mut().accept().unwrap(),
                    Some(Event::Command(c)) => {
                        let s = conn.session_mut();
                        if let CommandBody::Notify { set: Some(set) } = &c.body
                            && set.status
                        {
                            s.send_data(status("Other", 1));
                        }
                        s.complete(StatusKind::Ok, None, "done").unwrap();
                    }
                    Some(_) => {}
                },
                Some(name) = changes.recv() => {
                    let _ = conn
                        .session_mut()
                        .send_notification(&Response::Data(status(name, 2)));
                    conn.flush().await.unwrap();
                }
            }
        }
    }

    #[tokio::test]
    async fn client_asks_and_hears_without_a_command() {
        let (a, b) = tokio::io::duplex(8192);
        let (tx, rx) = mpsc::channel(4);
        let server = tokio::spawn(serve(Stream::plain(b), rx));
        let mut config = ClientConfig::new(Some(Credentials::new("alice", "secret")));
        config.starttls = sansmail_core::TlsPolicy::Never;
        let name = ServerName::try_from("localhost").unwrap();
        let mut imap = ImapClient::start(Stream::plain(a), name, config, None)
            .await
            .unwrap();
        // Refused by the session: the client sees NO [BADEVENT (the supported events)].
        let refused = imap
            .notify(Some(NotifySet {
                status: false,
                groups: vec![EventGroup {
                    filter: FilterMailboxes::Personal,
                    events: vec![NotifyEvent::MailboxMetadataChange],
                }],
            }))
            .await;
        let Err(Error::Refused { status: s, .. }) = refused else {
            panic!("{refused:?}")
        };
        assert!(
            matches!(&s.code, Some(ResponseCode::BadEvent(e)) if e.len() == 5),
            "{s:?}"
        );
        // Accepted: the initial STATUS is the answer's data.
        let initial = imap
            .notify(Some(NotifySet {
                status: true,
                groups: vec![EventGroup {
                    filter: FilterMailboxes::Personal,
                    events: vec![
                        NotifyEvent::MessageNew(Vec::new()),
                        NotifyEvent::MessageExpunge,
                    ],
                }],
            }))
            .await
            .unwrap();
        assert_eq!(initial, vec![status("Other", 1)]);
        assert!(
            imap.wait_news(Duration::from_millis(100))
                .await
                .unwrap()
                .is_empty()
        );
        tx.send("Lists").await.unwrap();
        let news = imap.wait_news(Duration::from_secs(5)).await.unwrap();
        assert_eq!(news, vec![status("Lists", 2)]);
        imap.notify(None).await.unwrap();
        // NOTIFY NONE: the server may no longer send any.
        tx.send("Quiet").await.unwrap();
        assert!(
            imap.wait_news(Duration::from_millis(200))
                .await
                .unwrap()
                .is_empty()
        );
        imap.logout().await.unwrap();
        server.await.unwrap();
    }
}
