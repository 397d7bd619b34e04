//! The tokio drivers against each other over in-memory pipes: a client driver downloading and
//! deleting through a server driver, plaintext, STLS and implicit TLS.
#![cfg(feature = "tokio")]

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

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
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

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

/// Logs in over the in-memory plaintext pipe, as the application allows ([`TlsPolicy::Never`]).
fn alice() -> ClientConfig {
    let mut c = ClientConfig::new(Some(Credentials::new("alice", "secret")));
    c.starttls = TlsPolicy::Never;
    c
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
    let mut config = ClientConfig::new(Some(Credentials::new("alice", "wrong")));
    config.starttls = TlsPolicy::Never;
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

/// What the streaming server below has done, for the test to watch from outside.
#[derive(Debug, Default)]
struct Watch {
    /// RETRs started.
    started: AtomicUsize,
    /// The most octets held at once between the client and the server: output queued in the
    /// driver and in the session, and input read but not processed.
    peak_held: AtomicUsize,
}

const PIECE: usize = 64 * 1024;

/// Serves `body` as the only message, read in pieces of [`PIECE`] octets as the session asks
/// for them (as `mail-server` reads a store).
async fn serve_in_pieces(
    mut conn: Connection<DuplexStream>,
    body: Arc<Vec<u8>>,
    watch: Arc<Watch>,
) {
    loop {
        // The client hangs up at the test's end.
        let Ok(Some(event)) = conn.next_event().await else {
            return;
        };
        let s = conn.session_mut();
        let offset = match event {
            Event::Login { .. } => {
                let mut drop = Maildrop::new();
                drop.push(body.len() as u64, Uid::new("u").unwrap());
                s.accept_login(drop).unwrap();
                continue;
            }
            Event::Retrieve { .. } => {
                watch.started.fetch_add(1, Ordering::Relaxed);
                0
            }
            Event::RetrieveMore { offset, .. } => usize::try_from(offset).unwrap(),
            _ => continue,
        };
        let end = (offset + PIECE).min(body.len());
        s.message_data(&body[offset..end]).unwrap();
        if end == body.len() {
            s.message_end().unwrap();
        }
        let held = conn.transport().pending_output()
            + conn.session().queued_output()
            + conn.session().buffered_len();
        watch.peak_held.fetch_max(held, Ordering::Relaxed);
    }
}

/// A 1 MiB message whose lines start with a dot every third line, at every offset into a
/// piece, and what RETR sends for it.
fn dotted_message() -> (Vec<u8>, Vec<u8>) {
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    let mut stuffed = body.clone();
    let mut i = 0;
    while body.len() < 1024 * 1024 - 200 {
        let line = if i % 3 == 0 {
            format!(".{}\r\n", "x".repeat(i % 97))
        } else {
            format!("{}\r\n", "y".repeat(i % 89))
        };
        if line.starts_with('.') {
            stuffed.push(b'.');
        }
        body.extend_from_slice(line.as_bytes());
        stuffed.extend_from_slice(line.as_bytes());
        i += 1;
    }
    let answer = [
        format!("+OK {} octets\r\n", body.len()).into_bytes(),
        stuffed,
        b".\r\n".to_vec(),
    ]
    .concat();
    (body, answer)
}

/// A client pipelines 20 000 `RETR 1` of a 1 MiB message and reads nothing: the server stops
/// reading and answering, and holds a few pieces, not an answer per command (a server that
/// answered a whole read's worth of commands held gigabytes). Once the client reads, every
/// answer comes whole and byte-exact.
#[tokio::test]
async fn pipelined_retr_to_a_client_that_never_reads_is_bounded() {
    let (body, answer) = dotted_message();
    let (a, b) = tokio::io::duplex(64 * 1024);
    let mut config = ServerConfig::new("pop.example");
    config.auth_requires_tls = false;
    let conn = Connection::new(Stream::plain(b), config, None);
    let watch = Arc::new(Watch::default());
    let server = tokio::spawn(serve_in_pieces(conn, Arc::new(body), Arc::clone(&watch)));
    let (mut rx, mut tx) = tokio::io::split(Stream::plain(a));
    let mut script = b"USER alice\r\nPASS secret\r\n".to_vec();
    for _ in 0..20_000 {
        script.extend_from_slice(b"RETR 1\r\n");
    }
    // The server stops reading: the write blocks, so it runs on its own.
    let writer = tokio::spawn(async move {
        let _ = tx.write_all(&script).await;
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = watch.started.load(Ordering::Relaxed);
    let peak = watch.peak_held.load(Ordering::Relaxed);
    assert_eq!(started, 1, "RETRs started while nothing was read");
    assert!(peak <= 4 * PIECE, "{peak} octets held");
    // Now the client reads: each answer whole, in order.
    let mut greeting = Vec::new();
    for want in [
        "+OK POP3 server ready\r\n",
        "+OK\r\n",
        "+OK alice's maildrop",
    ] {
        let mut line = vec![0u8; want.len()];
        rx.read_exact(&mut line).await.unwrap();
        greeting.extend_from_slice(&line);
    }
    assert_eq!(
        String::from_utf8_lossy(&greeting),
        "+OK POP3 server ready\r\n+OK\r\n+OK alice's maildrop"
    );
    let mut rest = Vec::new();
    loop {
        let mut b = [0u8];
        rx.read_exact(&mut b).await.unwrap();
        rest.push(b[0]);
        if rest.ends_with(b"\r\n") {
            break;
        }
    }
    let reading = async {
        let mut got = vec![0u8; answer.len()];
        for i in 0..12 {
            rx.read_exact(&mut got).await.unwrap();
            assert!(got == answer, "answer {i} differs");
        }
    };
    tokio::time::timeout(Duration::from_secs(60), reading)
        .await
        .expect("the answers come once the client reads");
    assert!(watch.started.load(Ordering::Relaxed) >= 12);
    let peak = watch.peak_held.load(Ordering::Relaxed);
    assert!(
        peak <= 4 * PIECE,
        "{peak} octets held while the client read"
    );
    // Hanging up (the writer is still blocked on the commands the server has not read).
    writer.abort();
    let _ = writer.await;
    drop(rx);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server notices the client is gone")
        .unwrap();
}

/// Commands pipelined beyond what the session answers at once are answered once the client
/// reads, even when it sent them all before reading: the driver asks the session again
/// after each drain instead of waiting for input that never comes.
#[tokio::test]
async fn pipelined_listings_all_come_to_a_client_that_reads_after_sending() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let mut config = ServerConfig::new("pop.example");
    config.auth_requires_tls = false;
    let mut conn = Connection::new(Stream::plain(b), config, None);
    let server = tokio::spawn(async move {
        while let Ok(Some(event)) = conn.next_event().await {
            match event {
                Event::Login { .. } => {
                    let mut drop = Maildrop::new();
                    for i in 0..500 {
                        drop.push(1000 + i, Uid::new(format!("u{i}")).unwrap());
                    }
                    conn.session_mut().accept_login(drop).unwrap();
                }
                Event::Commit { .. } => conn.session_mut().accept().unwrap(),
                _ => {}
            }
        }
    });
    let mut client = Stream::plain(a);
    let mut script = b"USER alice\r\nPASS secret\r\n".to_vec();
    for _ in 0..3000 {
        script.extend_from_slice(b"LIST\r\n");
    }
    script.extend_from_slice(b"QUIT\r\n");
    // 18 KB: the pipe takes it all before the client reads anything.
    client.write_all(&script).await.unwrap();
    let mut wire = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), client.read_to_end(&mut wire))
        .await
        .expect("every answer comes")
        .unwrap();
    let text = String::from_utf8(wire).unwrap();
    assert_eq!(text.matches("+OK 500 messages").count(), 3000);
    assert!(
        text.ends_with("POP3 server signing off (500 messages left)\r\n"),
        "{}",
        &text[text.len() - 100..]
    );
    server.await.unwrap();
}

/// A server that takes any login and answers RETR with `+OK` and `body`, then says
/// nothing more.
async fn stalling(mut io: DuplexStream, body: Vec<u8>) {
    io.write_all(b"+OK ready\r\n").await.unwrap();
    let mut buf = vec![0; 4096];
    let mut pending = Vec::new();
    loop {
        let n = io.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        pending.extend_from_slice(&buf[..n]);
        while let Some(i) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            let reply = if line.starts_with(b"CAPA") {
                b"+OK\r\nUSER\r\n.\r\n".to_vec()
            } else if line.starts_with(b"RETR") {
                [&b"+OK\r\n"[..], &body].concat()
            } else {
                b"+OK\r\n".to_vec()
            };
            if io.write_all(&reply).await.is_err() {
                return;
            }
        }
    }
}

/// A message whose content stops coming fails with a timeout, as any answer does (the
/// session stopped asking for one once the `+OK` came); one larger than the limit fails
/// instead of growing memory.
#[tokio::test]
async fn a_stalled_message_times_out_and_a_large_one_is_bounded() {
    use sansmail_pop3::{DecodeError, session::client::ClientError};
    let mut config = alice();
    config.starttls = TlsPolicy::Never;
    config.limits.response_timeout = Duration::from_millis(300);
    let (a, b) = tokio::io::duplex(64 * 1024);
    tokio::spawn(stalling(b, b"Subject: x\r\n\r\nbody\r\n".to_vec()));
    let mut pop = Pop3Client::start(Stream::plain(a), localhost(), config.clone(), None)
        .await
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), pop.retr(n(1)))
        .await
        .expect("retr hung")
        .unwrap_err();
    assert!(matches!(e, Error::Pop3(ClientError::Timeout)), "{e}");

    config.limits.max_message_size = 1024;
    let (a, b) = tokio::io::duplex(64 * 1024);
    tokio::spawn(stalling(
        b,
        format!("{}\r\n", "x".repeat(100)).repeat(20).into_bytes(),
    ));
    let mut pop = Pop3Client::start(Stream::plain(a), localhost(), config, None)
        .await
        .unwrap();
    let e = pop.retr(n(1)).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Pop3(ClientError::Protocol(DecodeError::ResponseTooLarge {
                max: 1024
            }))
        ),
        "{e}"
    );
}

/// Without a TLS connector no STLS can run: under the default Opportunistic policy a client
/// with a password is refused at once rather than send it in plaintext (one without a
/// password goes on in plaintext).
#[tokio::test]
async fn a_password_without_a_tls_connector_is_refused() {
    let (a, _b) = tokio::io::duplex(4096);
    let opportunistic = ClientConfig::new(Some(Credentials::new("alice", "secret")));
    let refused = Pop3Client::start(Stream::plain(a), localhost(), opportunistic, None).await;
    assert!(
        matches!(refused, Err(Error::NoTlsConnector)),
        "{:?}",
        refused.err()
    );
}
