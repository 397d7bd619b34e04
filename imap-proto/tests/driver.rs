//! The tokio drivers against each other over in-memory pipes: an `ImapClient` on a small
//! in-memory mailbox served through a server `Connection`, plaintext, STARTTLS and implicit
//! TLS, with IDLE woken by a change the server side pushes.
#![cfg(feature = "tokio")]

use std::time::Duration;

use sansmail_core::{
    Credentials, Secret, TlsPolicy,
    tls::{SelfSigned, ServerName},
};
use sansmail_imap::{
    session::{
        ServerConfig,
        client::{ApiError, ClientConfig},
        server::{Event, Server},
        view::Update,
    },
    tokio::{
        client::{Error, ImapClient},
        server::Connection,
        tls::{Stream, TlsAcceptor, TlsConnector},
    },
    types::{
        capability::Capability,
        command::{CommandBody, StoreAction},
        core::{AString, Atom, IString, Text},
        fetch::FetchItem,
        fetch_attr::FetchAttr,
        flag::Flag,
        response::{Data, Response, Status, StatusKind},
        response_code::ResponseCode,
        response_data::{ContextUpdate, ESearch, ESearchItem, SearchResult},
        search::SearchKey,
        sequence::{SeqNum, SequenceSet},
    },
};
use tokio::{io::DuplexStream, sync::mpsc};

fn tls_pair() -> (TlsAcceptor, TlsConnector) {
    let cert = SelfSigned::generate(&["localhost"]).unwrap();
    (cert.acceptor().unwrap(), cert.connector().unwrap())
}

/// `* ESEARCH (TAG "u1") UID ADDTO (0 7)`: news of another search, not an answer.
fn update_news() -> ESearch<'static> {
    ESearch {
        tag: Some(AString::try_from("u1").unwrap()),
        uid: true,
        items: vec![ESearchItem::AddTo(vec![ContextUpdate {
            position: 0,
            set: SequenceSet::single(7).unwrap(),
        }])],
    }
}

/// One message of the test mailbox.
struct Message {
    uid: u32,
    flags: Vec<Flag<'static>>,
    body: Vec<u8>,
}

fn untagged_ok(server: &mut Server, code: ResponseCode<'_>) {
    server.send(&Response::Status(Status::untagged(
        StatusKind::Ok,
        Some(code),
        Text::new("ok").unwrap(),
    )));
}

/// A server holding one mailbox, INBOX, for alice/secret. Messages sent on `arrivals` are
/// delivered while the session runs, and pushed to it as they would be from a store.
async fn serve(
    stream: Stream<DuplexStream>,
    tls: Option<TlsAcceptor>,
    mut arrivals: mpsc::Receiver<Vec<u8>>,
) -> Vec<String> {
    let mut config = ServerConfig::default();
    config.auth_requires_tls = false;
    config.capabilities.push(Capability::CompressDeflate);
    let mut conn = Connection::new(stream, config, tls);
    let mut inbox = vec![
        Message {
            uid: 1,
            flags: vec![Flag::Seen],
            body: b"Subject: one\r\n\r\nfirst\r\n".to_vec(),
        },
        Message {
            uid: 2,
            flags: Vec::new(),
            body: b"Subject: two\r\n\r\nsecond\r\n".to_vec(),
        },
    ];
    let mut log = Vec::new();
    loop {
        let event = tokio::select! {
            event = conn.next_event() => event.unwrap(),
            Some(body) = arrivals.recv() => {
                let uid = inbox.last().map_or(1, |m| m.uid + 1);
                inbox.push(Message { uid, flags: Vec::new(), body });
                let _ = conn.session_mut().push_update(Update::New(vec![uid]));
                // In IDLE the session tells the client at once.
                conn.flush().await.unwrap();
                continue;
            }
        };
        let Some(event) = event else { break };
        let tls = conn.transport().is_tls();
        let s = conn.session_mut();
        match event {
            Event::Login { credentials } => {
                log.push(format!("login {} tls={tls}", credentials.authcid));
                if credentials.password.expose() == "secret" {
                    s.accept().unwrap();
                } else {
                    s.reject(Some(ResponseCode::AuthenticationFailed), "no")
                        .unwrap();
                }
            }
            Event::LiteralAnnounced { .. } => s.accept_literal().unwrap(),
            Event::Idle => s.accept().unwrap(),
            Event::Command(cmd) => {
                log.push(cmd.body.name().to_owned());
                match cmd.body {
                    CommandBody::Select { .. } => {
                        s.select(inbox.iter().map(|m| m.uid).collect()).unwrap();
                        s.send_data(Data::Flags(vec![Flag::Seen, Flag::Deleted]));
                        s.send_data(Data::Exists(u32::try_from(inbox.len()).unwrap()));
                        untagged_ok(s, ResponseCode::UidValidity(42));
                        untagged_ok(s, ResponseCode::UidNext(3));
                        s.complete(StatusKind::Ok, Some(ResponseCode::ReadWrite), "selected")
                            .unwrap();
                    }
                    CommandBody::Fetch {
                        uid, set, items, ..
                    } => {
                        let view = s.view().unwrap().clone();
                        for (seq, u) in view.resolve(&set, uid, &[]) {
                            let m = inbox.iter().find(|m| m.uid == u).unwrap();
                            let mut out = vec![FetchItem::Uid(u)];
                            for a in items.attrs() {
                                match a {
                                    FetchAttr::Flags => out.push(FetchItem::Flags(m.flags.clone())),
                                    FetchAttr::BodySection { section, .. } => {
                                        out.push(FetchItem::BodySection {
                                            section,
                                            origin: None,
                                            data: IString::from_bytes(m.body.clone()).ok(),
                                        });
                                    }
                                    _ => {}
                                }
                            }
                            s.send_data(Data::Fetch { seq, items: out });
                        }
                        s.complete(StatusKind::Ok, None, "fetched").unwrap();
                    }
                    CommandBody::Store {
                        set,
                        action,
                        flags,
                        silent,
                        ..
                    } => {
                        let view = s.view().unwrap().clone();
                        for (seq, u) in view.resolve(&set, true, &[]) {
                            let m = inbox.iter_mut().find(|m| m.uid == u).unwrap();
                            match action {
                                StoreAction::Add => m.flags.extend(flags.iter().cloned()),
                                StoreAction::Remove => m.flags.retain(|f| !flags.contains(f)),
                                StoreAction::Replace => m.flags.clone_from(&flags),
                            }
                            if !silent {
                                let items =
                                    vec![FetchItem::Uid(u), FetchItem::Flags(m.flags.clone())];
                                s.send_data(Data::Fetch { seq, items });
                            }
                        }
                        s.complete(StatusKind::Ok, None, "stored").unwrap();
                    }
                    // An updating search's news (RFC 5267) arrives with the answer.
                    CommandBody::Search { criteria, .. }
                        if matches!(criteria[..], [SearchKey::Seen]) =>
                    {
                        s.send_data(Data::ESearch(update_news()));
                        s.send_data(Data::ESearch(ESearch {
                            tag: None,
                            uid: true,
                            items: vec![ESearchItem::All(SequenceSet::single(1).unwrap())],
                        }));
                        s.complete(StatusKind::Ok, None, "searched").unwrap();
                    }
                    CommandBody::Search { criteria, .. } => {
                        let unseen = matches!(criteria[..], [SearchKey::Unseen]);
                        let ids = inbox
                            .iter()
                            .filter(|m| !unseen || !m.flags.contains(&Flag::Seen))
                            .map(|m| m.uid)
                            .collect();
                        s.send_data(Data::Search(SearchResult { ids, modseq: None }));
                        s.complete(StatusKind::Ok, None, "searched").unwrap();
                    }
                    CommandBody::Append { messages, .. } => {
                        let uid = inbox.last().map_or(1, |m| m.uid + 1);
                        inbox.push(Message {
                            uid,
                            flags: messages[0].flags.clone().unwrap_or_default(),
                            body: messages[0].data.data().unwrap_or_default().to_vec(),
                        });
                        let code = ResponseCode::AppendUid {
                            uid_validity: 42,
                            uids: SequenceSet::single(uid).unwrap(),
                        };
                        s.complete(StatusKind::Ok, Some(code), "appended").unwrap();
                    }
                    _ => s.complete(StatusKind::No, None, "not here").unwrap(),
                }
            }
            _ => {}
        }
    }
    log
}

fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

/// Logs in over the in-memory plaintext pipe, as the application allows ([`TlsPolicy::Never`]).
fn alice() -> ClientConfig {
    let mut c = ClientConfig::new(Some(Credentials::new("alice", "secret")));
    c.starttls = TlsPolicy::Never;
    c
}

fn all() -> SequenceSet {
    SequenceSet::range(SeqNum::Value(1), SeqNum::Largest).unwrap()
}

#[tokio::test]
async fn a_session_of_the_usual_operations() {
    let (a, b) = tokio::io::duplex(8192);
    let (deliver, arrivals) = mpsc::channel(4);
    let server = tokio::spawn(serve(Stream::plain(b), None, arrivals));
    let mut imap = ImapClient::start(Stream::plain(a), localhost(), alice(), None)
        .await
        .unwrap();
    let inbox = imap.select("INBOX").await.unwrap();
    assert_eq!(inbox.exists, 2);
    assert_eq!(inbox.uid_validity, Some(42));
    assert_eq!(inbox.uid_next, Some(3));
    assert!(!inbox.read_only);

    let fetched = imap
        .uid_fetch(
            &all(),
            vec![
                FetchAttr::Flags,
                FetchAttr::BodySection {
                    peek: true,
                    section: sansmail_imap::types::section::Section::default(),
                    partial: None,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(fetched.len(), 2);
    assert_eq!(fetched[1].uid(), Some(2));
    assert_eq!(
        fetched[1].body(),
        Some(&b"Subject: two\r\n\r\nsecond\r\n"[..])
    );
    assert_eq!(fetched[0].flags(), Some(&[Flag::Seen][..]));

    assert_eq!(imap.uid_search(vec![SearchKey::Unseen]).await.unwrap(), [2]);
    // An updating search's ADDTO is news, not part of this search's answer.
    assert_eq!(imap.uid_search(vec![SearchKey::Seen]).await.unwrap(), [1]);
    assert!(
        imap.take_news().contains(&Data::ESearch(update_news())),
        "RFC 5267 updates go to take_news"
    );
    let stored = imap
        .uid_store(
            &SequenceSet::single(2).unwrap(),
            StoreAction::Add,
            vec![Flag::Flagged],
            false,
        )
        .await
        .unwrap();
    assert_eq!(stored[0].flags(), Some(&[Flag::Flagged][..]));
    let appended = imap
        .append(
            "INBOX",
            vec![Flag::Seen],
            None,
            b"Subject: three\r\n\r\nx\r\n",
        )
        .await
        .unwrap();
    assert_eq!(appended, Some((42, 3)));

    // IDLE returns when the server reports a delivery.
    let idle = tokio::spawn(async move {
        let news = imap.idle(Duration::from_secs(30)).await.unwrap();
        (imap, news)
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    deliver
        .send(b"Subject: four\r\n\r\ny\r\n".to_vec())
        .await
        .unwrap();
    let (imap, news) = tokio::time::timeout(Duration::from_secs(5), idle)
        .await
        .unwrap()
        .unwrap();
    // The view held 2 (this server does not report its own APPEND): the delivery is the 3rd.
    assert!(news.contains(&Data::Exists(3)), "{news:?}");

    // A refusal ends the command, not the session.
    let mut imap = imap;
    let err = imap.run(CommandBody::Namespace).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Refused {
                command: "NAMESPACE",
                ..
            }
        ),
        "{err}"
    );
    imap.logout().await.unwrap();
    let log = server.await.unwrap();
    assert_eq!(log[0], "login alice tls=false");
    assert_eq!(
        log[1..],
        [
            "SELECT",
            "UID FETCH",
            "UID SEARCH",
            "UID SEARCH",
            "UID STORE",
            "APPEND",
            "NAMESPACE"
        ]
    );
}

#[tokio::test]
async fn idle_without_news_ends_after_its_time() {
    let (a, b) = tokio::io::duplex(8192);
    let (_deliver, arrivals) = mpsc::channel(1);
    let server = tokio::spawn(serve(Stream::plain(b), None, arrivals));
    let mut imap = ImapClient::start(Stream::plain(a), localhost(), alice(), None)
        .await
        .unwrap();
    imap.select("INBOX").await.unwrap();
    let news = imap.idle(Duration::from_millis(100)).await.unwrap();
    assert!(news.is_empty(), "{news:?}");
    // The session goes on after DONE.
    assert_eq!(imap.uid_search(vec![SearchKey::All]).await.unwrap(), [1, 2]);
    imap.logout().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn starttls_before_login() {
    let (acceptor, connector) = tls_pair();
    let (a, b) = tokio::io::duplex(16 * 1024);
    let (_deliver, arrivals) = mpsc::channel(1);
    let server = tokio::spawn(serve(Stream::plain(b), Some(acceptor), arrivals));
    let mut config = alice();
    config.starttls = TlsPolicy::Required;
    let imap = ImapClient::start(Stream::plain(a), localhost(), config, Some(connector))
        .await
        .unwrap();
    assert!(imap.transport().is_tls());
    imap.logout().await.unwrap();
    assert_eq!(server.await.unwrap()[0], "login alice tls=true");
}

/// STARTTLS sent by the application (no set-up asked for it): the driver runs the
/// handshake when the server accepts, and the session goes on over TLS.
#[tokio::test]
async fn starttls_sent_by_the_application() {
    let (acceptor, connector) = tls_pair();
    let (a, b) = tokio::io::duplex(16 * 1024);
    let (_deliver, arrivals) = mpsc::channel(1);
    let server = tokio::spawn(serve(Stream::plain(b), Some(acceptor), arrivals));
    let mut config = ClientConfig::new(None);
    config.starttls = TlsPolicy::Never;
    let mut imap = ImapClient::start(Stream::plain(a), localhost(), config, Some(connector))
        .await
        .unwrap();
    assert!(!imap.transport().is_tls());
    let answer = tokio::time::timeout(Duration::from_secs(10), imap.run(CommandBody::StartTls))
        .await
        .expect("STARTTLS answered and the handshake run, not a hang")
        .unwrap();
    assert_eq!(answer.status.kind, StatusKind::Ok);
    assert!(imap.transport().is_tls());
    imap.run(CommandBody::Login {
        username: AString::try_from("alice").unwrap(),
        password: sansmail_imap::types::command::Secret::new(AString::try_from("secret").unwrap()),
    })
    .await
    .unwrap();
    imap.logout().await.unwrap();
    assert_eq!(server.await.unwrap()[0], "login alice tls=true");
}

#[tokio::test]
async fn implicit_tls() {
    let (acceptor, connector) = tls_pair();
    let (a, b) = tokio::io::duplex(16 * 1024);
    let (_deliver, arrivals) = mpsc::channel(1);
    let server = tokio::spawn(async move {
        let mut stream = Stream::plain(b);
        stream.accept_tls(&acceptor).await.unwrap();
        serve(stream, None, arrivals).await
    });
    let mut config = alice();
    config.implicit_tls = true;
    let mut imap = ImapClient::start(Stream::plain(a), localhost(), config, Some(connector))
        .await
        .unwrap();
    assert_eq!(imap.select("INBOX").await.unwrap().exists, 2);
    imap.logout().await.unwrap();
    assert_eq!(server.await.unwrap()[0], "login alice tls=true");
}

#[tokio::test]
async fn wrong_password_fails_the_set_up() {
    let (a, b) = tokio::io::duplex(8192);
    let (_deliver, arrivals) = mpsc::channel(1);
    let server = tokio::spawn(serve(Stream::plain(b), None, arrivals));
    let mut config = ClientConfig::new(Some(Credentials::new("alice", "wrong")));
    config.starttls = TlsPolicy::Never;
    let err = ImapClient::start(Stream::plain(a), localhost(), config, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Imap(_)), "{err}");
    drop(server);
}

/// The server's end of a pipe, for replies a real server would not send: read what the
/// client sends, write what the test needs.
struct Scripted(tokio::io::BufReader<DuplexStream>);

impl Scripted {
    /// The next line from the client, CRLF included, and its first word (the tag).
    async fn command(&mut self) -> (String, String) {
        let line = self.line().await;
        let tag = line.split(' ').next().unwrap_or_default().to_owned();
        (tag, line)
    }

    async fn line(&mut self) -> String {
        use tokio::io::AsyncBufReadExt;
        let mut line = String::new();
        let _ = self.0.read_line(&mut line).await;
        line
    }

    async fn octets(&mut self, n: usize) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0; n];
        self.0.read_exact(&mut buf).await.unwrap();
        buf
    }

    async fn send(&mut self, text: impl AsRef<[u8]>) {
        use tokio::io::AsyncWriteExt;
        self.0.get_mut().write_all(text.as_ref()).await.unwrap();
    }
}

/// An `ImapClient` greeted with `greeting` by a server that `script` plays, on a pipe with
/// `capacity` octets of buffer; plaintext, no set-up beyond the greeting.
async fn against_script<T, F>(
    greeting: &'static str,
    capacity: usize,
    script: impl FnOnce(Scripted) -> F,
) -> (ImapClient<DuplexStream>, tokio::task::JoinHandle<T>)
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let (a, b) = tokio::io::duplex(capacity);
    let mut server = Scripted(tokio::io::BufReader::new(b));
    server.send(greeting).await;
    let server = tokio::spawn(script(server));
    let mut config = ClientConfig::new(None);
    config.starttls = TlsPolicy::Never;
    config.response_timeout = Duration::from_secs(60);
    let imap = ImapClient::start(Stream::plain(a), localhost(), config, None)
        .await
        .unwrap();
    (imap, server)
}

/// A hostile ESEARCH (`ALL 1:4294967295` is a few octets, 16 GiB of UIDs) fails the search
/// instead of the process; an honest one is expanded. A response that cannot be read and an
/// `[ALERT]` on the way are kept for the application, not dropped.
#[tokio::test]
async fn a_huge_esearch_set_is_refused_not_expanded() {
    let (mut imap, server) = against_script("* PREAUTH ready\r\n", 8192, async |mut s| {
        for all in ["2,4:6", "1:4294967295"] {
            let (tag, _) = s.command().await;
            s.send(format!(
                "* NO [ALERT] Mailbox is at 98% of quota\r\n* 1 FETCH (FLAGS (\\Seen) junk\r\n\
                 * ESEARCH (TAG \"{tag}\") UID ALL {all}\r\n{tag} OK done\r\n"
            ))
            .await;
        }
        s.line().await;
    })
    .await;
    assert_eq!(
        imap.uid_search(vec![SearchKey::All]).await.unwrap(),
        [2, 4, 5, 6]
    );
    // What could not be read, and the alert, are kept for the application.
    let (unreadable, more) = imap.take_unreadable();
    assert_eq!(more, 0);
    assert!(
        unreadable.len() == 1 && unreadable[0].response.starts_with(b"* 1 FETCH"),
        "{unreadable:?}"
    );
    let alerts = imap.take_alerts();
    assert!(
        alerts.len() == 1 && alerts[0].text.as_str().contains("98%"),
        "{alerts:?}"
    );
    let err = imap.uid_search(vec![SearchKey::All]).await.unwrap_err();
    assert!(matches!(err, Error::Imap(_)), "{err}");
    drop(imap);
    let _ = server.await;
}

/// A LIST pattern names mailboxes: without UTF-8 it goes in modified UTF-7, as Dovecot
/// expects it (a raw UTF-8 literal matches nothing there).
#[tokio::test]
async fn list_patterns_go_in_modified_utf7() {
    let (mut imap, server) = against_script("* PREAUTH ready\r\n", 8192, async |mut s| {
        let (tag, line) = s.command().await;
        s.send(format!(
            "* LIST () \"/\" Entw&APw-rfe/Alt\r\n{tag} OK done\r\n"
        ))
        .await;
        line
    })
    .await;
    let listed = imap.list("Entwürfe/*").await.unwrap();
    assert_eq!(listed.len(), 1);
    drop(imap);
    let sent = server.await.unwrap();
    assert!(sent.ends_with(" LIST \"\" Entw&APw-rfe/*\r\n"), "{sent:?}");
}

/// A server may end IDLE itself with OK: that is the end of the wait, not a refusal.
#[tokio::test]
async fn idle_ended_by_the_server_is_no_refusal() {
    let (mut imap, server) = against_script("* PREAUTH ready\r\n", 8192, async |mut s| {
        let (tag, _) = s.command().await;
        s.send(format!("+ idling\r\n{tag} OK IDLE terminated\r\n"))
            .await;
        s.line().await;
    })
    .await;
    let news = imap.idle(Duration::from_secs(20)).await.unwrap();
    assert!(news.is_empty(), "{news:?}");
    drop(imap);
    let _ = server.await;
}

/// A refused OAuth token: the server sends its error details as a challenge and waits for
/// the client's answer, `%x01` for OAUTHBEARER (RFC 7628 §3.2.3), an empty one for Gmail's
/// XOAUTH2. The AUTHENTICATE the application runs gives it, and the refusal (with its code)
/// comes at once, not at the response timeout.
#[tokio::test]
async fn a_challenge_to_an_authenticate_run_is_answered() {
    use sansmail_imap::types::command::{SaslData, SaslResponse};
    for (mechanism, expected) in [("XOAUTH2", "\r\n"), ("OAUTHBEARER", "AQ==\r\n")] {
        let (mut imap, server) = against_script("* OK ready\r\n", 8192, async |mut s| {
            let (tag, _) = s.command().await;
            s.send("+ eyJzdGF0dXMiOiI0MDAifQ==\r\n").await;
            let answer = s.line().await;
            s.send(format!(
                "{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"
            ))
            .await;
            answer
        })
        .await;
        let run = imap.run(CommandBody::Authenticate {
            mechanism: sansmail_imap::types::core::Atom::new(mechanism).unwrap(),
            initial: Some(SaslResponse::Base64(SaslData::new("dG9rZW4=".into()))),
        });
        let err = tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("the refusal came at once")
            .unwrap_err();
        let Error::Refused { status, .. } = err else {
            panic!("{err}")
        };
        assert_eq!(status.kind, StatusKind::No);
        drop(imap);
        assert_eq!(server.await.unwrap(), expected, "{mechanism}");
    }
}

/// The capabilities from before a LOGIN the application runs are not kept: the client asks
/// again, unless the server said the new ones, in the `OK` or untagged before it as Gmail
/// does (RFC 9051 §6.2.3).
#[tokio::test]
async fn a_login_run_refreshes_the_capabilities() {
    let greeting = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n";
    for said in ["not", "in the OK", "untagged"] {
        let (mut imap, server) = against_script(greeting, 8192, async move |mut s| {
            let (tag, _) = s.command().await;
            match said {
                "in the OK" => {
                    s.send(format!("{tag} OK [CAPABILITY IMAP4rev1 MOVE] in\r\n"))
                        .await;
                }
                "untagged" => {
                    s.send(format!("* CAPABILITY IMAP4rev1 MOVE\r\n{tag} OK in\r\n"))
                        .await;
                }
                _ => {
                    s.send(format!("{tag} OK in\r\n")).await;
                    let (tag, line) = s.command().await;
                    assert!(line.ends_with(" CAPABILITY\r\n"), "{line}");
                    s.send(format!("* CAPABILITY IMAP4rev1 MOVE\r\n{tag} OK done\r\n"))
                        .await;
                }
            }
            s.line().await
        })
        .await;
        assert!(
            imap.capabilities()
                .contains(&Capability::Auth(Atom::new("PLAIN").unwrap()))
        );
        imap.run(CommandBody::Login {
            username: AString::try_from("alice").unwrap(),
            password: Secret::new(AString::try_from("secret").unwrap()),
        })
        .await
        .unwrap();
        assert_eq!(
            imap.capabilities(),
            [Capability::Imap4Rev1, Capability::Move],
            "capabilities {said} said"
        );
        drop(imap);
        assert_eq!(server.await.unwrap(), "", "nothing more was sent");
    }
}

/// Unsolicited data that comes with an answer is news, never dropped: EXISTS and RECENT
/// with an APPEND (RFC 9051 §6.3.12) or a LIST, and every EXPUNGE of a burst that ends IDLE
/// (the client stops at the first; the rest arrive before its DONE is answered).
#[tokio::test]
async fn unsolicited_data_with_an_answer_is_news() {
    let (mut imap, server) = against_script("* PREAUTH ready\r\n", 8192, async |mut s| {
        let (tag, _) = s.command().await;
        s.send("+ go on\r\n").await;
        s.octets("Subject: x\r\n\r\nx\r\n".len() + 2).await;
        s.send(format!(
            "* 7 EXISTS\r\n* 1 RECENT\r\n{tag} OK [APPENDUID 9 5] done\r\n"
        ))
        .await;
        let (tag, _) = s.command().await;
        s.send(format!(
            "* LIST () \"/\" INBOX\r\n* 8 EXISTS\r\n{tag} OK done\r\n"
        ))
        .await;
        let (tag, _) = s.command().await;
        s.send("+ idling\r\n* 2 EXPUNGE\r\n* 1 EXPUNGE\r\n").await;
        assert_eq!(s.line().await, "DONE\r\n");
        s.send(format!("{tag} OK done\r\n")).await;
        s.line().await;
    })
    .await;
    let appended = imap
        .append("INBOX", vec![], None, b"Subject: x\r\n\r\nx\r\n")
        .await
        .unwrap();
    assert_eq!(appended, Some((9, 5)));
    let news = imap.take_news();
    assert!(
        matches!(news.as_slice(), [Data::Exists(7), Data::Recent(1)]),
        "{news:?}"
    );
    assert_eq!(imap.list("*").await.unwrap().len(), 1);
    assert!(matches!(imap.take_news().as_slice(), [Data::Exists(8)]));
    let idle = imap.idle(Duration::from_secs(10)).await.unwrap();
    assert!(
        matches!(idle.as_slice(), [Data::Expunge(2), Data::Expunge(1)]),
        "{idle:?}"
    );
    drop(imap);
    let _ = server.await;
}

/// A message with a NUL needs a literal8, which needs BINARY (RFC 3516 §4.3) or IMAP4rev2
/// (RFC 9051 §6.3.12): refused before anything is sent to a server without either, sent as
/// `~{n}` to one with it.
#[tokio::test]
async fn a_binary_append_needs_binary() {
    let message = b"Subject: nul\r\n\r\na\0b\r\n";
    for (greeting, binary) in [
        ("* PREAUTH [CAPABILITY IMAP4rev1] ready\r\n", false),
        ("* PREAUTH [CAPABILITY IMAP4rev1 BINARY] ready\r\n", true),
        ("* PREAUTH [CAPABILITY IMAP4rev2] ready\r\n", true),
    ] {
        let (mut imap, server) = against_script(greeting, 8192, async move |mut s| {
            let (tag, line) = s.command().await;
            if line.is_empty() {
                return line;
            }
            s.send("+ go on\r\n").await;
            s.octets(message.len() + 2).await;
            s.send(format!("{tag} OK done\r\n")).await;
            s.line().await;
            line
        })
        .await;
        let appended = imap.append("INBOX", vec![], None, message).await;
        if binary {
            appended.unwrap();
        } else {
            let err = appended.unwrap_err();
            assert!(
                matches!(err, Error::Api(ApiError::NotOffered("BINARY"))),
                "{err}"
            );
        }
        drop(imap);
        let line = server.await.unwrap();
        let expected = if binary {
            format!("APPEND INBOX ~{{{}}}\r\n", message.len())
        } else {
            String::new()
        };
        assert!(line.ends_with(&expected), "{line:?}");
    }
}

/// Another session's flag change reported during UID FETCH (no UID without CONDSTORE, or a
/// UID not asked for) is news, not part of the answer.
#[tokio::test]
async fn unsolicited_fetches_are_news_not_answers() {
    let (mut imap, server) = against_script("* PREAUTH ready\r\n", 8192, async |mut s| {
        let (tag, _) = s.command().await;
        s.send(format!(
            "* 5 FETCH (FLAGS (\\Seen))\r\n* 1 FETCH (UID 1 FLAGS ())\r\n\
             * 9 FETCH (UID 40 FLAGS ())\r\n{tag} OK done\r\n"
        ))
        .await;
        s.line().await;
    })
    .await;
    let set = SequenceSet::range(SeqNum::Value(1), SeqNum::Value(3)).unwrap();
    let fetched = imap.uid_fetch(&set, vec![FetchAttr::Flags]).await.unwrap();
    assert_eq!(fetched.len(), 1, "{fetched:?}");
    assert_eq!(fetched[0].uid(), Some(1));
    assert_eq!(imap.take_news().len(), 2);
    drop(imap);
    let _ = server.await;
}

/// A search for text beyond ASCII names its charset (RFC 3501 §6.4.4: US-ASCII otherwise).
#[tokio::test]
async fn a_search_for_non_ascii_text_names_utf8() {
    use sansmail_imap::types::core::AString;
    let (mut imap, server) = against_script("* PREAUTH ready\r\n", 8192, async |mut s| {
        let (tag, line) = s.command().await;
        s.send("+ go on\r\n").await;
        let literal = s.octets("Grüße".len() + 2).await;
        s.send(format!("* SEARCH 3\r\n{tag} OK done\r\n")).await;
        s.line().await;
        (line, literal)
    })
    .await;
    let subject = SearchKey::Subject(AString::try_from("Grüße").unwrap());
    assert_eq!(imap.uid_search(vec![subject]).await.unwrap(), [3]);
    drop(imap);
    let (line, literal) = server.await.unwrap();
    assert!(
        line.contains(" UID SEARCH CHARSET UTF-8 SUBJECT {7}\r\n"),
        "{line:?}"
    );
    assert_eq!(literal, "Grüße\r\n".as_bytes());
}

/// Unreadable responses are kept for the application within bounds: the first 64, each cut
/// to 4 KiB, however many a server sends; the rest are counted.
#[tokio::test]
async fn unreadable_responses_kept_are_bounded() {
    let (mut imap, server) = against_script("* PREAUTH ready\r\n", 1 << 16, async |mut s| {
        let (tag, _) = s.command().await;
        let junk = format!("* 1 FETCH (FLAGS (\\Seen) {})\r\n", "(".repeat(10_000));
        for _ in 0..100 {
            s.send(&junk).await;
        }
        s.send(format!("{tag} OK done\r\n")).await;
        s.line().await;
    })
    .await;
    imap.noop().await.unwrap();
    let (kept, more) = imap.take_unreadable();
    assert_eq!((kept.len(), more), (64, 36));
    assert!(kept.iter().all(|u| u.response.len() == 4096));
    drop(imap);
    let _ = server.await;
}

#[tokio::test]
async fn shutdown_says_bye() {
    let (a, b) = tokio::io::duplex(4096);
    let conn = Connection::new(Stream::plain(b), ServerConfig::default(), None);
    conn.shutdown().await;
    let mut wire = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut Stream::plain(a), &mut wire)
        .await
        .unwrap();
    let text = String::from_utf8(wire).unwrap();
    assert!(text.starts_with("* OK "), "{text}");
    assert!(text.ends_with("* BYE Server shutting down\r\n"), "{text}");
}

/// COMPRESS=DEFLATE with both drivers: after `compress()` everything goes compressed both
/// ways (SELECT, news pushed during IDLE, SEARCH), a second COMPRESS is refused with
/// [COMPRESSIONACTIVE], and LOGOUT ends it cleanly.
#[tokio::test]
async fn compress_deflate_both_ways() {
    let (a, b) = tokio::io::duplex(8192);
    let (deliver, arrivals) = mpsc::channel(4);
    let server = tokio::spawn(serve(Stream::plain(b), None, arrivals));
    let mut imap = ImapClient::start(Stream::plain(a), localhost(), alice(), None)
        .await
        .unwrap();
    assert!(!imap.transport().is_deflate());
    imap.compress().await.unwrap();
    assert!(imap.transport().is_deflate());
    assert_eq!(imap.select("INBOX").await.unwrap().exists, 2);
    let err = imap.compress().await.unwrap_err();
    assert!(
        matches!(&err, Error::Refused { status, .. }
            if status.code == Some(ResponseCode::CompressionActive)),
        "{err}"
    );
    let idle = tokio::spawn(async move {
        let news = imap.idle(Duration::from_secs(30)).await.unwrap();
        (imap, news)
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    deliver
        .send(b"Subject: three\r\n\r\nz\r\n".to_vec())
        .await
        .unwrap();
    let (mut imap, news) = tokio::time::timeout(Duration::from_secs(5), idle)
        .await
        .unwrap()
        .unwrap();
    assert!(news.contains(&Data::Exists(3)), "{news:?}");
    assert_eq!(
        imap.uid_search(vec![SearchKey::All]).await.unwrap(),
        [1, 2, 3]
    );
    imap.logout().await.unwrap();
    server.await.unwrap();
}
