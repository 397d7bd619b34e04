//! The tokio drivers against each other over in-memory pipes: a client driver sending through
//! a server driver, plaintext, STARTTLS, implicit TLS and LMTP.
#![cfg(feature = "tokio")]

use sansmail_core::tls::{SelfSigned, ServerName};
use sansmail_smtp::{
    ForwardPath, Mailbox, ReversePath,
    session::{
        Protocol, ServerConfig,
        client::{ClientConfig, Envelope, TlsPolicy},
        replies,
        server::Event,
    },
    tokio::{
        client::{Error, SmtpClient},
        server::Connection,
        tls::{Stream, TlsAcceptor, TlsConnector},
    },
    types::{reply::ReplyCode, sasl::Credentials},
};
use tokio::io::DuplexStream;

/// A self-signed certificate for `localhost`: the server's acceptor and a client connector
/// that trusts it.
fn tls_pair() -> (TlsAcceptor, TlsConnector) {
    let cert = SelfSigned::generate(&["localhost"]).unwrap();
    (cert.acceptor().unwrap(), cert.connector().unwrap())
}

fn mailbox(s: &str) -> Mailbox<'static> {
    Mailbox::try_from(s).unwrap().into_owned()
}

fn envelope(to: &[&str]) -> Envelope {
    Envelope::new(
        ReversePath::Mailbox(mailbox("alice@example.org")),
        to.iter().map(|t| ForwardPath::Mailbox(mailbox(t))),
    )
}

/// What the server saw.
#[derive(Debug, Default)]
struct Seen {
    messages: Vec<Vec<u8>>,
    tls_at_mail: Vec<bool>,
    logins: Vec<String>,
}

/// A server that accepts everything except recipients at `refused.example` and passwords
/// other than `secret`; returns what it received.
async fn serve(
    stream: Stream<DuplexStream>,
    config: ServerConfig,
    tls: Option<TlsAcceptor>,
) -> Seen {
    let mut conn = Connection::new(stream, config, tls);
    let mut seen = Seen::default();
    let mut message = Vec::new();
    while let Some(event) = conn.next_event().await.unwrap() {
        let tls = conn.transport().is_tls();
        let s = conn.session_mut();
        match event {
            Event::Mail { .. } => {
                seen.tls_at_mail.push(tls);
                s.accept().unwrap();
            }
            Event::Rcpt { to, .. } => {
                let refused = to
                    .mailbox()
                    .is_some_and(|m| m.domain().to_string() == "refused.example");
                if refused {
                    let no = sansmail_smtp::Reply::new(
                        ReplyCode::MAILBOX_UNAVAILABLE,
                        None,
                        "no such user".to_owned(),
                    )
                    .unwrap();
                    s.reject(&no).unwrap();
                } else {
                    s.accept().unwrap();
                }
            }
            Event::DataStart => s.accept().unwrap(),
            Event::MessageData(d) => message.extend_from_slice(&d),
            Event::MessageEnd { replies: n, .. } => {
                seen.messages.push(std::mem::take(&mut message));
                for _ in 0..n {
                    s.accept().unwrap();
                }
            }
            Event::Auth { credentials, .. } => {
                if credentials.password.expose() == "secret" {
                    seen.logins.push(credentials.authcid);
                    s.accept().unwrap();
                } else {
                    s.reject(&replies::auth_failed()).unwrap();
                }
            }
            _ => {}
        }
    }
    seen
}

fn client_config() -> ClientConfig {
    ClientConfig::new(
        sansmail_smtp::DomainPart::try_from("client.example")
            .unwrap()
            .into_owned(),
    )
}

fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

#[tokio::test]
async fn plaintext_send_reports_each_recipient() {
    let (a, b) = tokio::io::duplex(4096);
    let server = tokio::spawn(serve(
        Stream::plain(b),
        ServerConfig::new("mx.example"),
        None,
    ));
    let mut client = SmtpClient::start(Stream::plain(a), localhost(), client_config(), None)
        .await
        .unwrap();
    assert!(client.capabilities().is_some());
    let sent = client
        .send(
            &envelope(&["bob@example.org", "x@refused.example", "carol@example.org"]),
            b"Subject: one\r\n\r\n.dot first\r\n",
        )
        .await
        .unwrap();
    assert!(sent.is_accepted(0) && !sent.is_accepted(1) && sent.is_accepted(2));
    assert_eq!(sent.accepted(), 2);
    assert_eq!(sent.recipients[1].code(), ReplyCode::MAILBOX_UNAVAILABLE);
    // Every recipient refused: a verdict, not an error; the session goes on.
    let none = client
        .send(&envelope(&["x@refused.example"]), b"x\r\n")
        .await
        .unwrap();
    assert_eq!(none.accepted(), 0);
    let again = client
        .send(
            &envelope(&["bob@example.org"]),
            b"Subject: two\r\n\r\nhi\r\n",
        )
        .await
        .unwrap();
    assert!(again.all_accepted());
    client.quit().await.unwrap();
    let seen = server.await.unwrap();
    assert_eq!(
        seen.messages,
        [
            b"Subject: one\r\n\r\n.dot first\r\n".to_vec(),
            b"Subject: two\r\n\r\nhi\r\n".to_vec()
        ]
    );
}

#[tokio::test]
async fn starttls_then_auth() {
    let (acceptor, connector) = tls_pair();
    let (a, b) = tokio::io::duplex(16 * 1024);
    let mut config = ServerConfig::new("mx.example");
    config.extensions.auth = vec![sansmail_smtp::Mechanism::PLAIN];
    let server = tokio::spawn(serve(Stream::plain(b), config, Some(acceptor)));
    let mut cc = client_config();
    cc.starttls = TlsPolicy::Required;
    cc.credentials = Some(Credentials::new("alice", "secret"));
    let mut client = SmtpClient::start(Stream::plain(a), localhost(), cc, Some(connector))
        .await
        .unwrap();
    assert!(client.transport().is_tls());
    let sent = client
        .send(&envelope(&["bob@example.org"]), b"x\r\n")
        .await
        .unwrap();
    assert!(sent.all_accepted());
    client.quit().await.unwrap();
    let seen = server.await.unwrap();
    assert_eq!(seen.tls_at_mail, [true]);
    assert_eq!(seen.logins, ["alice"]);
}

#[tokio::test]
async fn wrong_password_fails_the_session() {
    let (acceptor, connector) = tls_pair();
    let (a, b) = tokio::io::duplex(16 * 1024);
    let mut config = ServerConfig::new("mx.example");
    config.extensions.auth = vec![sansmail_smtp::Mechanism::PLAIN];
    let server = tokio::spawn(serve(Stream::plain(b), config, Some(acceptor)));
    let mut cc = client_config();
    cc.credentials = Some(Credentials::new("alice", "wrong"));
    let err = SmtpClient::start(Stream::plain(a), localhost(), cc, Some(connector))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Smtp(_)), "{err}");
    drop(server);
}

#[tokio::test]
async fn required_tls_without_a_connector_is_refused_before_any_byte() {
    let (a, _b) = tokio::io::duplex(64);
    let mut cc = client_config();
    cc.starttls = TlsPolicy::Required;
    let err = SmtpClient::start(Stream::plain(a), localhost(), cc, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoTlsConnector));
}

#[tokio::test]
async fn implicit_tls() {
    let (acceptor, connector) = tls_pair();
    let (a, b) = tokio::io::duplex(16 * 1024);
    let server = tokio::spawn(async move {
        let mut stream = Stream::plain(b);
        stream.accept_tls(&acceptor).await.unwrap();
        serve(stream, ServerConfig::new("mx.example"), None).await
    });
    let mut cc = client_config();
    cc.implicit_tls = true;
    let mut client = SmtpClient::start(Stream::plain(a), localhost(), cc, Some(connector))
        .await
        .unwrap();
    assert!(client.transport().is_tls());
    client
        .send(&envelope(&["bob@example.org"]), b"x\r\n")
        .await
        .unwrap();
    client.quit().await.unwrap();
    assert_eq!(server.await.unwrap().tls_at_mail, [true]);
}

#[tokio::test]
async fn lmtp_gives_each_recipient_its_own_verdict() {
    let (a, b) = tokio::io::duplex(4096);
    let mut config = ServerConfig::new("lmtp.example");
    config.protocol = Protocol::Lmtp;
    let server = tokio::spawn(async move {
        let mut conn = Connection::new(Stream::plain(b), config, None);
        while let Some(event) = conn.next_event().await.unwrap() {
            let s = conn.session_mut();
            match event {
                Event::Mail { .. } | Event::Rcpt { .. } | Event::DataStart => s.accept().unwrap(),
                Event::MessageEnd { replies: n, .. } => {
                    assert_eq!(n, 2);
                    s.accept().unwrap();
                    s.reject(
                        &sansmail_smtp::Reply::new(
                            ReplyCode::EXCEEDED_STORAGE,
                            None,
                            "mailbox full".to_owned(),
                        )
                        .unwrap(),
                    )
                    .unwrap();
                }
                _ => {}
            }
        }
    });
    let mut cc = client_config();
    cc.protocol = Protocol::Lmtp;
    let mut client = SmtpClient::start(Stream::plain(a), localhost(), cc, None)
        .await
        .unwrap();
    let sent = client
        .send(&envelope(&["a@example.org", "b@example.org"]), b"x\r\n")
        .await
        .unwrap();
    assert!(sent.is_accepted(0));
    assert_eq!(sent.recipients[1].code(), ReplyCode::EXCEEDED_STORAGE);
    client.quit().await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn shutdown_tells_the_client() {
    let (a, b) = tokio::io::duplex(4096);
    let conn = Connection::new(Stream::plain(b), ServerConfig::new("mx.example"), None);
    conn.shutdown().await;
    let mut client_side = Stream::plain(a);
    let mut wire = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut client_side, &mut wire)
        .await
        .unwrap();
    let text = String::from_utf8(wire).unwrap();
    assert!(text.starts_with("220 "), "{text}");
    assert!(
        text.ends_with("421 4.3.2 Server shutting down, try again later\r\n"),
        "{text}"
    );
}

/// A server written line by line: it greets, answers EHLO with `ehlo`, then each line the
/// client sends with what `reply` says, closing after an answer marked so (`true`); the
/// lines it saw.
async fn scripted(
    b: DuplexStream,
    ehlo: &'static str,
    mut reply: impl FnMut(&str) -> (&'static str, bool) + Send + 'static,
) -> Vec<String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut b = BufReader::new(b);
    let mut seen = Vec::new();
    b.get_mut().write_all(b"220 mx ready\r\n").await.unwrap();
    loop {
        let mut line = String::new();
        if b.read_line(&mut line).await.unwrap() == 0 {
            break;
        }
        let (answer, close) = if seen.is_empty() {
            (ehlo, false)
        } else {
            reply(&line)
        };
        seen.push(line);
        b.get_mut().write_all(answer.as_bytes()).await.unwrap();
        if close {
            break;
        }
    }
    seen
}

/// A server that refuses right behind its 354 and closes (smtp-sink -A): `send` reports the
/// server's doing, not an API error of its own.
#[tokio::test]
async fn a_refusal_right_after_354_is_the_servers() {
    let (a, b) = tokio::io::duplex(16 * 1024);
    let replies = "250 ok\r\n250 ok\r\n354 go\r\n550 5.7.0 This violates SMTP\r\n";
    let server = tokio::spawn(scripted(b, "250-mx\r\n250 PIPELINING\r\n", move |line| {
        if line.starts_with("DATA") {
            (replies, true)
        } else {
            ("", false)
        }
    }));
    let mut client = SmtpClient::start(Stream::plain(a), localhost(), client_config(), None)
        .await
        .unwrap();
    let err = client
        .send(&envelope(&["b@example.org"]), b"Subject: x\r\n\r\nhi\r\n")
        .await
        .unwrap_err();
    assert!(!matches!(err, Error::Api(_)), "{err:?}");
    drop(client);
    server.await.unwrap();
}

/// Without a SIZE in the envelope, `send` declares the message's length where the server
/// offers SIZE (RFC 1870): one over the server's limit is refused before anything is sent,
/// one under it goes with `SIZE=`.
#[tokio::test]
async fn send_declares_the_size() {
    let (a, b) = tokio::io::duplex(16 * 1024);
    let server = tokio::spawn(scripted(b, "250-mx\r\n250 SIZE 100\r\n", |line| {
        (
            if line.starts_with("MAIL") {
                "550 no\r\n"
            } else {
                ""
            },
            false,
        )
    }));
    let mut client = SmtpClient::start(Stream::plain(a), localhost(), client_config(), None)
        .await
        .unwrap();
    let big = vec![b'x'; 200];
    let err = client
        .send(&envelope(&["b@example.org"]), &big)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Smtp(sansmail_smtp::session::client::ClientError::TooLarge {
                size: 200,
                limit: 100
            })
        ),
        "{err:?}"
    );
    let _ = client
        .send(&envelope(&["b@example.org"]), b"Subject: x\r\n\r\nhi\r\n")
        .await;
    drop(client);
    let seen = server.await.unwrap();
    assert!(seen[1].ends_with(" SIZE=18\r\n"), "{seen:?}");
}
