//! The tokio drivers against each other over in-memory pipes: a client driver downloading and
//! deleting through a server driver, plaintext, STLS and implicit TLS.
#![cfg(feature = "tokio")]

use sansmail_core::tls::{SelfSigned, ServerName};
use sansmail_pop3::{
    Credentials, MessageNumber, Uid,
    session::{
        Maildrop, ServerConfig,
        client::{ClientConfig, TlsPolicy},
        responses,
        server::Event,
    },
    tokio::{
        client::{Error, Pop3Client},
        server::Connection,
        tls::{Stream, TlsAcceptor, TlsConnector},
    },
};
use tokio::io::DuplexStream;

const MESSAGES: [&[u8]; 3] = [
    b"Subject: one\r\n\r\nfirst\r\n.dot\r\n",
    b"Subject: two\r\n\r\nsecond\r\nline 2\r\nline 3\r\n",
    b"Subject: gone\r\n\r\nnot retrievable\r\n",
];

fn tls_pair() -> (TlsAcceptor, TlsConnector) {
    let cert = SelfSigned::generate(&["localhost"]).unwrap();
    (cert.acceptor().unwrap(), cert.connector().unwrap())
}

/// What the server saw: whether TLS was on at login, and the deletions committed.
#[derive(Debug, Default)]
struct Seen {
    tls_at_login: Vec<bool>,
    committed: Vec<Vec<String>>,
}

/// A server with a three-message maildrop for alice/secret; the third message cannot be
/// read (as if expunged meanwhile).
async fn serve(stream: Stream<DuplexStream>, tls: Option<TlsAcceptor>) -> Seen {
    let mut config = ServerConfig::new("pop.example");
    config.auth_requires_tls = false;
    let mut conn = Connection::new(stream, config, tls);
    let mut seen = Seen::default();
    while let Some(event) = conn.next_event().await.unwrap() {
        let tls = conn.transport().is_tls();
        let s = conn.session_mut();
        match event {
            Event::Login { credentials, .. } => {
                if credentials.authcid == "alice" && credentials.password.expose() == "secret" {
                    seen.tls_at_login.push(tls);
                    let mut drop = Maildrop::new();
                    for (i, m) in MESSAGES.iter().enumerate() {
                        drop.push(m.len() as u64, Uid::new(format!("uid-{i}")).unwrap());
                    }
                    s.accept_login(drop).unwrap();
                } else {
                    s.reject(&responses::auth_failed()).unwrap();
                }
            }
            Event::Retrieve { msg, .. } => match MESSAGES.get(msg.index()) {
                Some(m) if msg.index() < 2 => {
                    s.accept().unwrap();
                    s.message_data(m).unwrap();
                    s.message_end().unwrap();
                }
                _ => s.reject(&responses::message_unavailable()).unwrap(),
            },
            Event::Commit { deletions } => {
                seen.committed
                    .push(deletions.iter().map(|(_, uid)| uid.to_owned()).collect());
                s.accept().unwrap();
            }
            _ => {}
        }
    }
    seen
}

fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

fn alice() -> ClientConfig {
    ClientConfig::new(Some(Credentials::new("alice", "secret")))
}

fn n(i: u32) -> MessageNumber {
    MessageNumber::new(i).unwrap()
}

#[tokio::test]
async fn download_and_delete() {
    let (a, b) = tokio::io::duplex(4096);
    let server = tokio::spawn(serve(Stream::plain(b), None));
    let mut pop = Pop3Client::start(Stream::plain(a), localhost(), alice(), None)
        .await
        .unwrap();
    assert!(pop.session().is_authenticated());
    let stat = pop.stat().await.unwrap();
    assert_eq!(stat.count, 3);
    let list = pop.list().await.unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[1].size, MESSAGES[1].len() as u64);
    let uidl = pop.uidl().await.unwrap();
    assert_eq!(uidl[2].uid.as_str(), "uid-2");
    assert_eq!(pop.retr(n(1)).await.unwrap(), MESSAGES[0]);
    assert_eq!(
        pop.top(n(2), 1).await.unwrap(),
        b"Subject: two\r\n\r\nsecond\r\n"
    );
    // A refusal is an error for that request only.
    let refused = pop.retr(n(3)).await.unwrap_err();
    assert!(matches!(refused, Error::Refused { .. }), "{refused}");
    pop.dele(n(1)).await.unwrap();
    pop.dele(n(3)).await.unwrap();
    pop.noop().await.unwrap();
    assert!(pop.quit().await.unwrap());
    let seen = server.await.unwrap();
    assert_eq!(seen.committed, [["uid-0", "uid-2"]]);
    assert_eq!(seen.tls_at_login, [false]);
}

#[tokio::test]
async fn rset_unmarks() {
    let (a, b) = tokio::io::duplex(4096);
    let server = tokio::spawn(serve(Stream::plain(b), None));
    let mut pop = Pop3Client::start(Stream::plain(a), localhost(), alice(), None)
        .await
        .unwrap();
    pop.dele(n(2)).await.unwrap();
    pop.rset().await.unwrap();
    assert!(pop.quit().await.unwrap());
    assert_eq!(server.await.unwrap().committed, [Vec::<String>::new()]);
}

#[tokio::test]
async fn stls_before_login() {
    let (acceptor, connector) = tls_pair();
    let (a, b) = tokio::io::duplex(16 * 1024);
    let server = tokio::spawn(serve(Stream::plain(b), Some(acceptor)));
    let mut config = alice();
    config.starttls = TlsPolicy::Required;
    let pop = Pop3Client::start(Stream::plain(a), localhost(), config, Some(connector))
        .await
        .unwrap();
    assert!(pop.transport().is_tls());
    pop.quit().await.unwrap();
    assert_eq!(server.await.unwrap().tls_at_login, [true]);
}

#[tokio::test]
async fn implicit_tls() {
    let (acceptor, connector) = tls_pair();
    let (a, b) = tokio::io::duplex(16 * 1024);
    let server = tokio::spawn(async move {
        let mut stream = Stream::plain(b);
        stream.accept_tls(&acceptor).await.unwrap();
        serve(stream, None).await
    });
    let mut config = alice();
    config.implicit_tls = true;
    let mut pop = Pop3Client::start(Stream::plain(a), localhost(), config, Some(connector))
        .await
        .unwrap();
    assert_eq!(pop.retr(n(2)).await.unwrap(), MESSAGES[1]);
    pop.quit().await.unwrap();
    assert_eq!(server.await.unwrap().tls_at_login, [true]);
}

#[tokio::test]
async fn wrong_password_fails() {
    let (a, b) = tokio::io::duplex(4096);
    let server = tokio::spawn(serve(Stream::plain(b), None));
    let config = ClientConfig::new(Some(Credentials::new("alice", "wrong")));
    let err = Pop3Client::start(Stream::plain(a), localhost(), config, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Pop3(_)), "{err}");
    drop(server);
}

#[tokio::test]
async fn shutdown_deletes_nothing_and_tells_the_client() {
    let (a, b) = tokio::io::duplex(4096);
    let conn = Connection::new(Stream::plain(b), ServerConfig::new("pop.example"), None);
    conn.shutdown().await;
    let mut wire = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut Stream::plain(a), &mut wire)
        .await
        .unwrap();
    let text = String::from_utf8(wire).unwrap();
    assert!(text.starts_with("+OK "), "{text}");
    assert!(
        text.ends_with("-ERR [SYS/TEMP] Server shutting down, try again later\r\n"),
        "{text}"
    );
}

/// A client that pipelines RETR of a large message and never reads: the server stops
/// producing answers while they are unsent, so its buffers stay near one answer.
#[tokio::test]
async fn pipelined_retr_to_a_client_that_never_reads_is_bounded() {
    let big = vec![b'x'; 256 * 1024];
    let (a, b) = tokio::io::duplex(64 * 1024);
    let mut config = ServerConfig::new("pop.example");
    config.auth_requires_tls = false;
    let mut conn = Connection::new(Stream::plain(b), config, None);
    let mut client = Stream::plain(a);
    let mut script = b"USER alice\r\nPASS secret\r\n".to_vec();
    for _ in 0..400 {
        script.extend_from_slice(b"RETR 1\r\n");
    }
    tokio::io::AsyncWriteExt::write_all(&mut client, &script)
        .await
        .unwrap();
    let mut answered = 0;
    let serving = async {
        while let Some(event) = conn.next_event().await.unwrap() {
            let s = conn.session_mut();
            match event {
                Event::Login { .. } => {
                    let mut drop = Maildrop::new();
                    drop.push(big.len() as u64, Uid::new("u").unwrap());
                    s.accept_login(drop).unwrap();
                }
                Event::Retrieve { .. } => {
                    s.accept().unwrap();
                    s.message_data(&big).unwrap();
                    s.message_end().unwrap();
                    answered += 1;
                }
                _ => {}
            }
        }
    };
    // The client reads nothing: the server blocks once the pipe and one answer are full.
    let _ = tokio::time::timeout(std::time::Duration::from_millis(300), serving).await;
    assert!((1..=3).contains(&answered), "{answered} answers produced");
}
