//! Outbound mail end to end on loopback, without DNS: a submission listener with relaying,
//! the disk queue, the queue runner, and scripted SMTP peers (found through a
//! `StaticResolver`) that answer 4xx then 2xx, 5xx, lack an extension, or are not there.
//! Retries here are a second apart.
#![allow(
    clippy::many_single_char_names,
    clippy::type_complexity,
    clippy::format_push_string
)]

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use mail_parser::MimeHeaders;
use sansmail_core::Credentials;
use sansmail_server::{
    auth::{Accounts, Authenticator, Refusal, ThrottleConfig},
    listener::{ConnectionLimits, Gate},
    outbound::{
        Relay,
        delivery::{Delivery, DeliveryConfig, Outcome},
        dns::{DnsError, Lookup, Mx, Resolver, StaticResolver},
        queue::{DiskQueue, QueueEntry, QueueStore, QueuedRecipient},
        schedule::{Delivering, LocalDelivery, QueueRunner, RetryPolicy, StoreDelivery},
    },
    smtp::{self, SmtpService},
};
use sansmail_smtp::{
    DomainPart, ForwardPath, Mailbox, ReversePath,
    session::client::{ClientConfig, Envelope, TlsPolicy},
    tokio::client::SmtpClient,
    types::{
        params::{Body, Notify, Ret},
        xtext::XText,
    },
};
use sansmail_store::{
    AccountName, FetchQuery, MailStore, Session, UidSet, memory::MemoryStore, model::Content,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

/// alice and bob at example.org.
struct Users;

impl Accounts for Users {
    fn verify(&self, c: &Credentials) -> Option<AccountName> {
        (c.authcid == "alice" && c.password.expose() == "secret")
            .then(|| AccountName::try_from("alice").ok())
            .flatten()
    }

    fn recipient(&self, to: &ForwardPath<'_>) -> Result<AccountName, Refusal> {
        let Some(m) = to.mailbox() else {
            return AccountName::try_from("alice").map_err(|_| Refusal::NoSuchUser);
        };
        let s = m.to_string().to_lowercase();
        match s.split_once('@') {
            Some((user @ ("alice" | "bob"), "example.org")) => {
                AccountName::try_from(user).map_err(|_| Refusal::NoSuchUser)
            }
            Some((_, "example.org")) => Err(Refusal::NoSuchUser),
            _ => Err(Refusal::NotLocal),
        }
    }
}

/// How a scripted peer answers, per connection (numbered from 0).
#[derive(Clone)]
struct Script {
    /// The name it greets with.
    name: &'static str,
    ehlo: &'static [&'static str],
    /// The reply to MAIL, by connection number.
    mail: fn(usize) -> &'static str,
    /// The reply to each RCPT: connection number and the RCPT line (`503` after a refused
    /// MAIL, as servers answer).
    rcpt: fn(usize, &str) -> &'static str,
    /// The reply to DATA (when some recipient was accepted).
    data: fn(usize) -> &'static str,
    data_end: fn(usize) -> &'static str,
    /// Milliseconds the peer waits before the greeting and each reply.
    pause: fn(usize) -> u64,
}

const CAPS: &[&str] = &[
    "PIPELINING",
    "8BITMIME",
    "SIZE 10000000",
    "DSN",
    "ENHANCEDSTATUSCODES",
];

impl Script {
    /// A peer that takes every recipient and message, pausing as `pause` says.
    fn accepting(pause: fn(usize) -> u64) -> Self {
        Self {
            name: "peer.test",
            ehlo: CAPS,
            mail: |_| "250 2.1.0 ok",
            rcpt: |_, _| "250 2.1.5 ok",
            data: |_| "354 go on",
            data_end: |_| "250 2.0.0 queued",
            pause,
        }
    }
}

/// A scripted SMTP peer: counts connections and keeps each message accepted.
struct Peer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    messages: Arc<Mutex<Vec<(Vec<String>, Vec<u8>)>>>,
}

async fn peer(script: Script) -> Peer {
    peer_at(script, "127.0.0.1:0".parse().unwrap()).await
}

/// [`peer`] listening on `at`.
async fn peer_at(script: Script, at: SocketAddr) -> Peer {
    let listener = TcpListener::bind(at).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let messages: Arc<Mutex<Vec<(Vec<String>, Vec<u8>)>>> = Arc::default();
    let (c, m) = (Arc::clone(&connections), Arc::clone(&messages));
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let n = c.fetch_add(1, Ordering::SeqCst);
            let (script, m) = (script.clone(), Arc::clone(&m));
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                let pause = Duration::from_millis((script.pause)(n));
                tokio::time::sleep(pause).await;
                let greeting = format!("220 {} ESMTP\r\n", script.name);
                w.write_all(greeting.as_bytes()).await.ok();
                let mut rcpts = Vec::new();
                let mut accepted = Vec::new();
                let mut mail_ok = false;
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_ascii_uppercase();
                    let reply: String = if cmd.starts_with("EHLO") {
                        let mut s = format!("250-{}\r\n", script.name);
                        for (i, cap) in script.ehlo.iter().enumerate() {
                            let sep = if i + 1 == script.ehlo.len() { ' ' } else { '-' };
                            s += &format!("250{sep}{cap}\r\n");
                        }
                        if script.ehlo.is_empty() {
                            s = format!("250 {}\r\n", script.name);
                        }
                        s
                    } else if cmd.starts_with("MAIL") {
                        rcpts.clear();
                        accepted.clear();
                        let reply = (script.mail)(n);
                        mail_ok = reply.starts_with('2');
                        format!("{reply}\r\n")
                    } else if cmd.starts_with("RCPT") {
                        let reply = if mail_ok {
                            (script.rcpt)(n, line.trim_end())
                        } else {
                            "503 5.5.1 need MAIL command"
                        };
                        rcpts.push(line.trim_end().to_owned());
                        if reply.starts_with('2') {
                            accepted.push(line.trim_end().to_owned());
                        }
                        format!("{reply}\r\n")
                    } else if cmd == "DATA" {
                        let go_on = (script.data)(n);
                        if accepted.is_empty() {
                            "554 5.5.1 no valid recipients\r\n".into()
                        } else if !go_on.starts_with("354") {
                            format!("{go_on}\r\n")
                        } else {
                            w.write_all(format!("{go_on}\r\n").as_bytes()).await.ok();
                            let mut data = Vec::new();
                            while !data.ends_with(b"\r\n.\r\n") {
                                let mut b = [0u8; 4096];
                                let k = r.read(&mut b).await.unwrap_or(0);
                                if k == 0 {
                                    return;
                                }
                                data.extend_from_slice(&b[..k]);
                            }
                            let reply = (script.data_end)(n);
                            if reply.starts_with('2') {
                                m.lock().unwrap().push((accepted.clone(), data));
                            }
                            format!("{reply}\r\n")
                        }
                    } else if cmd == "QUIT" {
                        w.write_all(b"221 bye\r\n").await.ok();
                        return;
                    } else if cmd == "RSET" || cmd == "NOOP" {
                        "250 ok\r\n".into()
                    } else {
                        "502 5.5.1 not implemented\r\n".into()
                    };
                    tokio::time::sleep(pause).await;
                    if w.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Peer {
        addr,
        connections,
        messages,
    }
}

struct Server {
    submission: SocketAddr,
    smtp: SocketAddr,
    store: Arc<MemoryStore>,
    queue: Arc<DiskQueue>,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        first: Duration::from_secs(1),
        max: Duration::from_secs(2),
        lifetime: Duration::from_secs(3600),
        delay_warning: None,
        rescan: Duration::from_secs(1),
        max_parallel: 8,
    }
}

/// A submission and an SMTP listener relaying into a disk queue, a runner delivering
/// `example.net` (MX `mx.example.net`) to `peer_port` on 127.0.0.1.
async fn server(name: &str, peer_port: u16, policy: RetryPolicy) -> Server {
    let dir = std::env::temp_dir().join(format!("outbound-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    start_on(dir, peer_port, policy).await
}

async fn start_on(dir: PathBuf, peer_port: u16, policy: RetryPolicy) -> Server {
    let store = Arc::new(MemoryStore::new());
    for u in ["alice", "bob"] {
        store
            .create_account(&AccountName::try_from(u).unwrap())
            .await
            .unwrap();
    }
    let accounts: Arc<dyn Accounts> = Arc::new(Users);
    let auth = Arc::new(Authenticator::new(
        Arc::clone(&accounts),
        ThrottleConfig::default(),
    ));
    let gate = Gate::new(ConnectionLimits::default());
    let queue = Arc::new(DiskQueue::open(dir.join("queue")).unwrap());
    let relay = Arc::new(Relay::new(queue.clone()));
    let mut resolver = StaticResolver::default();
    resolver.mx.insert(
        "example.net".into(),
        vec![Mx {
            preference: 10,
            exchange: "mx.example.net".into(),
        }],
    );
    let lo: IpAddr = [127, 0, 0, 1].into();
    resolver.hosts.insert("mx.example.net".into(), vec![lo]);
    // example.com: no MX, no address.
    resolver.mx.insert(
        "null.example".into(),
        vec![Mx {
            preference: 0,
            exchange: ".".into(),
        }],
    );
    let mut config = DeliveryConfig::new("mail.example.org");
    config.port = peer_port;
    config.reply_timeout = Duration::from_secs(5);
    config.connect_timeout = Duration::from_secs(2);
    let delivery = Arc::new(Delivery::new(config, Arc::new(resolver)).unwrap());
    let local = Arc::new(StoreDelivery {
        store: Arc::clone(&store),
        accounts,
    });
    let runner = QueueRunner::new(
        queue.clone(),
        delivery,
        Some(local),
        policy,
        "mail.example.org",
        Arc::clone(&relay.wakeup),
    );
    tokio::spawn(runner.run(std::future::pending()));
    let mut sub = SmtpService::new(
        "mail.example.org",
        true,
        auth.clone(),
        store.clone(),
        gate.clone(),
    );
    sub.relay = Some(Arc::clone(&relay));
    let mut mx = SmtpService::new("mail.example.org", false, auth, store.clone(), gate);
    mx.relay = Some(relay);
    let any = "127.0.0.1:0".parse().unwrap();
    Server {
        submission: smtp::spawn(any, Arc::new(sub)).await.unwrap(),
        smtp: smtp::spawn(any, Arc::new(mx)).await.unwrap(),
        store,
        queue,
        dir,
    }
}

fn mailbox(s: &str) -> Mailbox<'static> {
    Mailbox::try_from(s).unwrap().into_owned()
}

/// Submits a message as alice (AUTH PLAIN, no TLS on loopback); the reply per recipient.
async fn submit(at: SocketAddr, envelope: &Envelope, message: &[u8]) -> Vec<u16> {
    submit_with(at, envelope, message, |_| {}).await
}

/// [`submit`] with lines sent as they are, however long (as a client that does not break
/// them sends them).
async fn submit_unfolded(at: SocketAddr, envelope: &Envelope, message: &[u8]) -> Vec<u16> {
    submit_with(at, envelope, message, |c| c.max_line = None).await
}

async fn submit_with(
    at: SocketAddr,
    envelope: &Envelope,
    message: &[u8],
    configure: impl FnOnce(&mut ClientConfig),
) -> Vec<u16> {
    let mut config = ClientConfig::new(DomainPart::try_from("client.test").unwrap().into_owned());
    config.starttls = TlsPolicy::Never;
    config.credentials = Some(Credentials::new("alice", "secret"));
    configure(&mut config);
    let mut c = SmtpClient::connect("127.0.0.1", at.port(), config, None)
        .await
        .unwrap();
    let sent = c.send(envelope, message).await.unwrap();
    c.quit().await.unwrap();
    sent.recipients.iter().map(|r| r.code().get()).collect()
}

fn envelope(to: &[&str]) -> Envelope {
    Envelope::new(
        ReversePath::Mailbox(mailbox("alice@example.org")),
        to.iter().map(|t| ForwardPath::Mailbox(mailbox(t))),
    )
}

const MESSAGE: &[u8] =
    b"From: alice@example.org\r\nTo: carol@example.net\r\nSubject: outbound\r\n\r\nHello there\r\n";

async fn inbox(store: &MemoryStore, user: &str) -> Vec<Vec<u8>> {
    let session = Session::new(AccountName::try_from(user).unwrap());
    let query = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    store
        .fetch(&session, "INBOX", &UidSet::all(), query)
        .await
        .map(|v| v.into_iter().filter_map(|m| m.content).collect())
        .unwrap_or_default()
}

/// Waits until `check` holds, for up to `secs` seconds.
async fn until(secs: u64, mut check: impl AsyncFnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn queue_len(q: &DiskQueue) -> usize {
    q.entries().unwrap().len()
}

#[tokio::test]
async fn tempfail_then_delivered_exactly_once() {
    let p = peer(Script {
        rcpt: |n, _| {
            if n == 0 {
                "451 4.3.0 try later"
            } else {
                "250 2.1.5 ok"
            }
        },
        ..Script::accepting(|_| 0)
    })
    .await;
    let s = server("tempfail", p.addr.port(), policy()).await;
    let codes = submit(s.submission, &envelope(&["carol@example.net"]), MESSAGE).await;
    assert_eq!(codes, [250]);
    assert!(
        until(15, async || p.messages.lock().unwrap().len() == 1).await,
        "not delivered"
    );
    assert!(
        until(5, async || queue_len(&s.queue) == 0).await,
        "still queued"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = p.messages.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "delivered once");
    assert!(
        p.connections.load(Ordering::SeqCst) >= 2,
        "a retry happened"
    );
    let data = String::from_utf8_lossy(&got[0].1).into_owned();
    assert!(data.starts_with("Received: from client.test"), "{data}");
    assert!(
        !data.contains("Return-Path"),
        "a relay adds no Return-Path: {data}"
    );
    assert!(data.contains("Hello there"));
    assert!(got[0].0[0].contains("carol@example.net"));
    assert!(
        inbox(&s.store, "alice").await.is_empty(),
        "no DSN on success"
    );
}

/// A next hop that answers slowly (but within the reply timeout) is waited for: delivered on
/// the first connection. One that says nothing at first is given up on at the timeout and
/// tried again: delivered once, on the second connection.
#[tokio::test]
async fn slow_peers_are_waited_for_and_silent_ones_retried() {
    let slow = peer(Script::accepting(|_| 400)).await;
    let s = server("slow", slow.addr.port(), policy()).await;
    let codes = submit(s.submission, &envelope(&["carol@example.net"]), MESSAGE).await;
    assert_eq!(codes, [250]);
    assert!(
        until(15, async || slow.messages.lock().unwrap().len() == 1).await,
        "the slow peer never got it"
    );
    assert_eq!(slow.connections.load(Ordering::SeqCst), 1);
    drop(s);

    // Past the 5 s reply timeout on the first connection, prompt afterwards.
    let silent = peer(Script::accepting(|n| if n == 0 { 60_000 } else { 0 })).await;
    let s = server("silent", silent.addr.port(), policy()).await;
    let codes = submit(s.submission, &envelope(&["carol@example.net"]), MESSAGE).await;
    assert_eq!(codes, [250]);
    assert!(
        until(20, async || silent.messages.lock().unwrap().len() == 1).await,
        "not delivered after the silent first try"
    );
    assert!(until(5, async || queue_len(&s.queue) == 0).await);
    assert!(silent.connections.load(Ordering::SeqCst) >= 2);
    assert_eq!(silent.messages.lock().unwrap().len(), 1, "delivered once");
    assert!(inbox(&s.store, "alice").await.is_empty(), "no DSN");
}

#[tokio::test]
async fn permanent_failure_gives_one_dsn() {
    let p = peer(Script {
        rcpt: |_, _| "550 5.1.1 <carol@example.net>: no such user",
        data_end: |_| "250 ok",
        ..Script::accepting(|_| 0)
    })
    .await;
    let s = server("permfail", p.addr.port(), policy()).await;
    let mut env = envelope(&["carol@example.net", "bob@example.org"]);
    env.params.envid = Some(XText::encode("ENV 42"));
    env.params.ret = Some(Ret::Hdrs);
    env.recipients[0].1.orcpt = Some(sansmail_smtp::types::params::Orcpt {
        addr_type: "rfc822".into(),
        addr: XText::encode("carol@example.net"),
    });
    let codes = submit(s.submission, &env, MESSAGE).await;
    assert_eq!(codes, [250, 250]);
    // The local recipient has it at once.
    assert_eq!(inbox(&s.store, "bob").await.len(), 1);
    assert!(
        until(15, async || !inbox(&s.store, "alice").await.is_empty()).await,
        "no DSN"
    );
    assert!(until(5, async || queue_len(&s.queue) == 0).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let dsns = inbox(&s.store, "alice").await;
    assert_eq!(dsns.len(), 1, "one DSN");
    assert!(p.messages.lock().unwrap().is_empty());
    let raw = &dsns[0];
    let text = String::from_utf8_lossy(raw);
    assert!(text.starts_with("Return-Path: <>\r\n"), "{text}");
    let msg = mail_parser::MessageParser::default().parse(raw).unwrap();
    let ct = msg.content_type().unwrap();
    assert_eq!(ct.ctype(), "multipart");
    assert_eq!(ct.subtype(), Some("report"));
    assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
    let parts: Vec<String> = msg
        .parts
        .iter()
        .filter_map(|p| p.content_type())
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
        .collect();
    assert_eq!(
        parts,
        [
            "multipart/report",
            "text/plain",
            "message/delivery-status",
            "text/rfc822-headers"
        ]
    );
    for field in [
        "Reporting-MTA: dns; mail.example.org",
        "Original-Envelope-Id: ENV 42",
        "Original-Recipient: rfc822; carol@example.net",
        "Final-Recipient: rfc822; carol@example.net",
        "Action: failed",
        "Status: 5.1.1",
        "Remote-MTA: dns; mx.example.net",
        "Diagnostic-Code: smtp; 550 5.1.1 <carol@example.net>: no such user",
    ] {
        assert!(text.contains(field), "missing {field} in {text}");
    }
    assert!(
        !text.contains("bob@example.org>:"),
        "the delivered recipient is not reported"
    );
    assert!(text.contains("Subject: outbound"), "the header is returned");
    assert!(!text.contains("Hello there"), "RET=HDRS: no body");
}

#[tokio::test]
async fn unreachable_warns_then_expires_and_null_sender_gets_nothing() {
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut p = policy();
    p.lifetime = Duration::from_secs(4);
    p.delay_warning = Some(Duration::from_secs(1));
    let s = server("expire", port, p).await;
    let mut env = envelope(&["carol@example.net"]);
    env.recipients[0].1.notify = Some(Notify::On {
        success: false,
        failure: true,
        delay: true,
    });
    assert_eq!(submit(s.submission, &env, MESSAGE).await, [250]);
    // And a bounce-like message from <>: never a DSN for it.
    let mut null = envelope(&["dave@example.net"]);
    null.from = ReversePath::Null;
    assert_eq!(submit(s.submission, &null, MESSAGE).await, [250]);
    assert!(
        until(25, async || queue_len(&s.queue) == 0).await,
        "not expired"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let dsns: Vec<String> = inbox(&s.store, "alice")
        .await
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    assert_eq!(dsns.len(), 2, "one delay warning, one failure: {dsns:#?}");
    let delayed = dsns
        .iter()
        .find(|d| d.contains("Action: delayed"))
        .expect("delay DSN");
    assert!(delayed.contains("Final-Recipient: rfc822; carol@example.net"));
    assert!(delayed.contains("Will-Retry-Until: "));
    assert!(delayed.contains("Content-Type: text/rfc822-headers"));
    let failed = dsns
        .iter()
        .find(|d| d.contains("Action: failed"))
        .expect("failure DSN");
    assert!(failed.contains("Status: 4.4.7"), "{failed}");
    assert!(failed.contains("connection refused"), "{failed}");
    assert!(
        failed.contains("Content-Type: message/rfc822"),
        "the message returned"
    );
    assert!(!dsns.iter().any(|d| d.contains("dave@")), "no DSN to <>");
}

#[tokio::test]
async fn refuses_rather_than_mangles_8bit_and_relays_only_when_allowed() {
    let p = peer(Script {
        ehlo: &["PIPELINING", "SIZE 10000000"],
        rcpt: |_, _| "250 ok",
        data_end: |_| "250 ok",
        ..Script::accepting(|_| 0)
    })
    .await;
    let s = server("8bit", p.addr.port(), policy()).await;
    let mut env = envelope(&["carol@example.net"]);
    env.params.body = Some(Body::EightBitMime);
    let msg = "Subject: caf\u{e9}\r\n\r\nd\u{e9}j\u{e0} vu\r\n";
    assert_eq!(submit(s.submission, &env, msg.as_bytes()).await, [250]);
    assert!(until(15, async || !inbox(&s.store, "alice").await.is_empty()).await);
    let dsn = String::from_utf8_lossy(&inbox(&s.store, "alice").await[0]).into_owned();
    assert!(dsn.contains("Status: 5.6.3"), "{dsn}");
    assert!(dsn.contains("8BITMIME"), "{dsn}");
    assert!(
        p.messages.lock().unwrap().is_empty(),
        "nothing sent altered"
    );

    // Port 25 without login: no relaying.
    let mut config = ClientConfig::new(DomainPart::try_from("client.test").unwrap().into_owned());
    config.starttls = TlsPolicy::Never;
    let mut c = SmtpClient::connect("127.0.0.1", s.smtp.port(), config, None)
        .await
        .unwrap();
    let sent = c
        .send(
            &envelope(&["carol@example.net", "bob@example.org"]),
            MESSAGE,
        )
        .await
        .unwrap();
    let codes: Vec<u16> = sent.recipients.iter().map(|r| r.code().get()).collect();
    assert_eq!(codes, [554, 250]);
    assert_eq!(sent.recipients[0].status().unwrap().to_string(), "5.7.1");
}

#[tokio::test]
async fn null_mx_and_a_queue_that_outlives_its_server() {
    let s = server("restart", 1, policy()).await;
    // Null MX: refused for good at the first attempt.
    assert_eq!(
        submit(s.submission, &envelope(&["x@null.example"]), MESSAGE).await,
        [250]
    );
    assert!(until(15, async || !inbox(&s.store, "alice").await.is_empty()).await);
    let dsn = String::from_utf8_lossy(&inbox(&s.store, "alice").await[0]).into_owned();
    assert!(dsn.contains("Status: 5.1.10"), "{dsn}");

    // Queued while the peer is down (port 1 refuses)...
    assert_eq!(
        submit(s.submission, &envelope(&["carol@example.net"]), MESSAGE).await,
        [250]
    );
    assert!(until(5, async || queue_len(&s.queue) == 1).await);
    let dir = s.dir.clone();
    // ...the server goes (its runner keeps failing on port 1)...
    let p = peer(Script {
        rcpt: |_, _| "250 ok",
        data_end: |_| "250 ok",
        ..Script::accepting(|_| 0)
    })
    .await;
    // ...and a new one on the same queue delivers it, once.
    let s2 = start_on(dir, p.addr.port(), policy()).await;
    assert!(until(15, async || p.messages.lock().unwrap().len() == 1).await);
    assert!(until(5, async || queue_len(&s2.queue) == 0).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(p.messages.lock().unwrap().len(), 1);
    drop(s);
}

#[test]
fn deliveries_without_dns_entries_are_routed_by_the_table() {
    // The resolver table itself: an unknown domain is NotFound, a failing one temporary.
    let mut r = StaticResolver::default();
    r.failing.push("broken.example".into());
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert!(matches!(
        rt.block_on(r.mx("nowhere.example")),
        Err(DnsError::NotFound(_))
    ));
    assert!(matches!(
        rt.block_on(r.mx("broken.example")),
        Err(DnsError::Temporary { .. })
    ));
}

/// Names every domain's mail server `mx.example.net` at loopback; the first address lookup
/// waits until `release` is notified.
struct SlowFirstLookup {
    lookups: AtomicUsize,
    release: tokio::sync::Notify,
}

impl Resolver for SlowFirstLookup {
    fn mx<'a>(&'a self, _: &'a str) -> Lookup<'a, Vec<Mx>> {
        Box::pin(async {
            Ok(vec![Mx {
                preference: 10,
                exchange: "mx.example.net".into(),
            }])
        })
    }

    fn ips<'a>(&'a self, _: &'a str) -> Lookup<'a, Vec<IpAddr>> {
        Box::pin(async {
            if self.lookups.fetch_add(1, Ordering::SeqCst) == 0 {
                self.release.notified().await;
            }
            Ok(vec![[127, 0, 0, 1].into()])
        })
    }
}

/// With one connection allowed to a destination, a delivery waiting for its name server
/// holds no connection slot: a second delivery to the same destination goes meanwhile.
#[tokio::test]
async fn a_slow_lookup_holds_no_connection_slot() {
    let p = peer(Script::accepting(|_| 0)).await;
    let mut config = DeliveryConfig::new("mail.example.org");
    config.port = p.addr.port();
    config.max_connections_per_destination = 1;
    config.reply_timeout = Duration::from_secs(5);
    let resolver = Arc::new(SlowFirstLookup {
        lookups: AtomicUsize::new(0),
        release: tokio::sync::Notify::new(),
    });
    let delivery = Arc::new(Delivery::new(config, resolver.clone()).unwrap());
    let entry = QueueEntry::new(
        "alice@example.org",
        vec![QueuedRecipient::new("carol@example.net")],
    );
    let delivered = |got: &[(usize, Outcome)]| matches!(got, [(0, Outcome::Delivered { .. })]);
    let first = {
        let (delivery, entry) = (Arc::clone(&delivery), entry.clone());
        tokio::spawn(async move { delivery.deliver("example.net", &entry, MESSAGE, &[0]).await })
    };
    assert!(
        until(5, async || resolver.lookups.load(Ordering::SeqCst) == 1).await,
        "the first delivery never looked its host up"
    );
    let second = tokio::time::timeout(
        Duration::from_secs(5),
        delivery.deliver("example.net", &entry, MESSAGE, &[0]),
    )
    .await
    .expect("the second delivery waited for the first one's lookup");
    assert!(delivered(&second), "{second:?}");
    resolver.release.notify_one();
    let first = first.await.unwrap();
    assert!(delivered(&first), "{first:?}");
    assert_eq!(p.messages.lock().unwrap().len(), 2);
}

/// Local delivery whose first call panics; later ones take every message.
struct PanicsOnce {
    calls: AtomicUsize,
    delivered: Mutex<Vec<Vec<u8>>>,
}

impl LocalDelivery for PanicsOnce {
    fn is_local(&self, _: &str) -> bool {
        true
    }

    fn deliver<'a>(
        &'a self,
        _sender: &'a str,
        message: &'a [u8],
        addresses: &'a [String],
    ) -> Delivering<'a> {
        Box::pin(async move {
            assert!(
                self.calls.fetch_add(1, Ordering::SeqCst) > 0,
                "a local delivery that panics"
            );
            self.delivered.lock().unwrap().push(message.to_vec());
            addresses
                .iter()
                .map(|_| Outcome::Delivered {
                    reply: "250 2.0.0 stored".into(),
                    mta: "local".into(),
                    dsn_passed: false,
                })
                .collect()
        })
    }
}

/// An attempt that panics fails alone: the message is tried again and delivered, instead of
/// staying in flight for good.
#[tokio::test]
async fn an_attempt_that_panics_is_retried() {
    let dir = std::env::temp_dir().join(format!("outbound-panic-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let queue = Arc::new(DiskQueue::open(dir.join("queue")).unwrap());
    let delivery = Arc::new(
        Delivery::new(
            DeliveryConfig::new("mail.example.org"),
            Arc::new(StaticResolver::default()),
        )
        .unwrap(),
    );
    let local = Arc::new(PanicsOnce {
        calls: AtomicUsize::new(0),
        delivered: Mutex::default(),
    });
    let relay = Relay::new(queue.clone());
    let runner = QueueRunner::new(
        queue.clone(),
        delivery,
        Some(local.clone()),
        policy(),
        "mail.example.org",
        Arc::clone(&relay.wakeup),
    );
    tokio::spawn(runner.run(std::future::pending()));
    let up = sansmail_store::Upload::from_bytes(MESSAGE.to_vec());
    let mut entry = QueueEntry::new(
        "carol@example.net",
        vec![QueuedRecipient::new("alice@example.org")],
    );
    let id = queue.commit(up, &mut entry).unwrap();
    relay.wakeup.queued(id);
    assert!(
        until(15, async || local.delivered.lock().unwrap().len() == 1).await,
        "not delivered after the attempt that panicked"
    );
    assert!(local.calls.load(Ordering::SeqCst) >= 2);
    assert!(
        until(5, async || queue_len(&queue) == 0).await,
        "still queued"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Twenty MX hosts, each at an address where nothing listens; counts the address lookups.
struct ManyDeadHosts {
    lookups: AtomicUsize,
}

impl Resolver for ManyDeadHosts {
    fn mx<'a>(&'a self, _: &'a str) -> Lookup<'a, Vec<Mx>> {
        Box::pin(async {
            Ok((0..20)
                .map(|i| Mx {
                    preference: 10,
                    exchange: format!("mx{i}.example.net"),
                })
                .collect())
        })
    }

    fn ips<'a>(&'a self, _: &'a str) -> Lookup<'a, Vec<IpAddr>> {
        Box::pin(async {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            Ok(vec![[127, 0, 0, 1].into()])
        })
    }
}

/// One attempt tries at most `max_addresses` addresses, however many hosts the
/// destination's DNS names (each may take the whole connect timeout); the rest wait for the
/// next attempt.
#[tokio::test]
async fn an_attempt_tries_a_bounded_number_of_addresses() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut config = DeliveryConfig::new("mail.example.org");
    config.port = port;
    let resolver = Arc::new(ManyDeadHosts {
        lookups: AtomicUsize::new(0),
    });
    let delivery = Delivery::new(config, resolver.clone()).unwrap();
    let entry = QueueEntry::new(
        "alice@example.org",
        vec![QueuedRecipient::new("carol@example.net")],
    );
    let got = delivery.deliver("example.net", &entry, MESSAGE, &[0]).await;
    assert!(
        matches!(got[..], [(0, Outcome::Deferred { .. })]),
        "{got:?}"
    );
    assert_eq!(resolver.lookups.load(Ordering::SeqCst), 5);
}

/// RFC 5321 §6.3: a message with more than 50 Received: fields is in a loop (two relays
/// sending it to each other): it is refused at the end of its data, 554 5.4.6, as Postfix
/// refuses it, so that nothing is queued, sent on or bounced.
#[tokio::test]
async fn a_looping_message_is_refused_before_the_queue() {
    let p = peer(Script {
        rcpt: |_, _| "250 ok",
        data_end: |_| "250 ok",
        ..Script::accepting(|_| 0)
    })
    .await;
    let s = server("loop", p.addr.port(), policy()).await;
    let env = envelope(&["carol@example.net"]);
    let mut hops = String::new();
    for i in 0..51 {
        hops.push_str(&format!(
            "Received: from relay{i}.example by relay{}.example; Sat, 1 Nov 2025 10:00:00 +0000\r\n",
            i + 1
        ));
    }
    let looping = [hops.as_bytes(), MESSAGE].concat();
    assert_eq!(submit(s.submission, &env, &looping).await, [554]);
    assert_eq!(queue_len(&s.queue), 0);
    assert!(p.messages.lock().unwrap().is_empty(), "it was sent on");
    assert!(inbox(&s.store, "alice").await.is_empty());
}

/// RFC 5321 §5.1: recipients one MX refused for now (a greylisting 450) go on to the next
/// in the same attempt, as Postfix sends them, instead of waiting for the first to change
/// its mind; those it took or refused for good stay settled.
#[tokio::test]
async fn soft_failures_go_on_to_the_next_mx() {
    let first = peer(Script {
        rcpt: |_, _| "450 4.7.1 greylisted, try again later",
        data_end: |_| "250 ok",
        ..Script::accepting(|_| 0)
    })
    .await;
    let port = first.addr.port();
    let second = peer_at(
        Script {
            rcpt: |_, _| "250 ok",
            ..Script::accepting(|_| 0)
        },
        SocketAddr::from(([127, 0, 0, 2], port)),
    )
    .await;
    let mut resolver = StaticResolver::default();
    let mx = |preference, exchange: &str| Mx {
        preference,
        exchange: exchange.into(),
    };
    resolver.mx.insert(
        "example.net".into(),
        vec![mx(10, "mx1.example.net"), mx(20, "mx2.example.net")],
    );
    resolver
        .hosts
        .insert("mx1.example.net".into(), vec![[127, 0, 0, 1].into()]);
    resolver
        .hosts
        .insert("mx2.example.net".into(), vec![[127, 0, 0, 2].into()]);
    let mut config = DeliveryConfig::new("mail.example.org");
    config.port = port;
    config.reply_timeout = Duration::from_secs(5);
    let delivery = Delivery::new(config, Arc::new(resolver)).unwrap();
    let entry = QueueEntry::new(
        "alice@example.org",
        vec![QueuedRecipient::new("carol@example.net")],
    );
    let outcomes = delivery.deliver("example.net", &entry, MESSAGE, &[0]).await;
    assert!(
        matches!(outcomes[..], [(0, Outcome::Delivered { .. })]),
        "{outcomes:?}"
    );
    assert!(first.messages.lock().unwrap().is_empty());
    assert_eq!(second.messages.lock().unwrap().len(), 1);
}

/// An entry whose message file is gone (deleted by the operator, or left by a commit that
/// failed and was answered so) is removed at its next attempt instead of being tried for
/// ever, and no DSN goes out for it.
#[tokio::test]
async fn an_entry_without_its_message_is_removed() {
    let dir = std::env::temp_dir().join(format!("outbound-orphan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let queue = Arc::new(DiskQueue::open(dir.join("queue")).unwrap());
    let mut upload = queue.spool();
    upload.write(MESSAGE).unwrap();
    let mut entry = QueueEntry::new(
        "alice@example.org",
        vec![QueuedRecipient::new("carol@example.net")],
    );
    let id = queue.commit(upload, &mut entry).unwrap();
    std::fs::remove_file(dir.join("queue").join(format!("{id}.eml"))).unwrap();
    assert_eq!(queue_len(&queue), 1);
    let delivery = Delivery::new(
        DeliveryConfig::new("mail.example.org"),
        Arc::new(StaticResolver::default()),
    )
    .unwrap();
    let relay = Relay::new(queue.clone());
    let runner = QueueRunner::new(
        queue.clone(),
        Arc::new(delivery),
        None,
        policy(),
        "mail.example.org",
        Arc::clone(&relay.wakeup),
    );
    assert_eq!(runner.attempt(&id).await.unwrap(), None);
    assert_eq!(queue_len(&queue), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A refusal of the whole transaction (DATA refused) is the verdict of the recipients the
/// peer had accepted; one refused at RCPT keeps its own reply: here greylisted, so it is
/// tried again and delivered, not failed with the DATA refusal (RFC 5321 §3.3).
#[tokio::test]
async fn a_recipients_own_reply_outlives_the_transactions() {
    let p = peer(Script {
        rcpt: |n, line| {
            if n == 0 && line.contains("dave@") {
                "450 4.7.1 greylisted, try again later"
            } else {
                "250 2.1.5 ok"
            }
        },
        data: |n| {
            if n == 0 {
                "554 5.7.1 carol may not receive this"
            } else {
                "354 go on"
            }
        },
        ..Script::accepting(|_| 0)
    })
    .await;
    // carol's failure is reported with the DATA refusal, dave is not in it.
    let dsn = dave_delivered_carol_bounced(&p, "own-reply", "5.7.1").await;
    assert!(
        !dsn.contains("Final-Recipient: rfc822; dave@example.net"),
        "{dsn}"
    );
}

/// RFC 3461 §6.2: a local recipient that asked NOTIFY=SUCCESS gets its sender a
/// "delivered" DSN (through the queue), with ENVID and ORCPT given back; without NOTIFY,
/// none.
#[tokio::test]
async fn a_local_delivery_asked_for_is_reported() {
    let p = peer(Script::accepting(|_| 0)).await;
    let s = server("delivered-dsn", p.addr.port(), policy()).await;
    let mut env = envelope(&["bob@example.org"]);
    env.params.envid = Some(XText::encode("LOCAL 7"));
    env.recipients[0].1.notify = Some(Notify::On {
        success: true,
        failure: true,
        delay: false,
    });
    env.recipients[0].1.orcpt = Some(sansmail_smtp::types::params::Orcpt {
        addr_type: "rfc822".into(),
        addr: XText::encode("bob@example.org"),
    });
    assert_eq!(submit(s.submission, &env, MESSAGE).await, [250]);
    assert_eq!(inbox(&s.store, "bob").await.len(), 1);
    assert!(
        until(15, async || !inbox(&s.store, "alice").await.is_empty()).await,
        "no delivered DSN"
    );
    assert!(until(5, async || queue_len(&s.queue) == 0).await);
    let dsn = String::from_utf8_lossy(&inbox(&s.store, "alice").await[0]).into_owned();
    for field in [
        "Subject: Successful Mail Delivery Report",
        "Original-Envelope-Id: LOCAL 7",
        "Original-Recipient: rfc822; bob@example.org",
        "Final-Recipient: rfc822; bob@example.org",
        "Action: delivered",
        "Status: 2.0.0",
    ] {
        assert!(dsn.contains(field), "missing {field} in {dsn}");
    }
    assert!(!dsn.contains("Remote-MTA"), "{dsn}");
    // Without NOTIFY: delivered, no notice.
    let before = inbox(&s.store, "alice").await.len();
    assert_eq!(
        submit(s.submission, &envelope(&["bob@example.org"]), MESSAGE).await,
        [250]
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(inbox(&s.store, "bob").await.len(), 2);
    assert_eq!(inbox(&s.store, "alice").await.len(), before);
    assert!(p.messages.lock().unwrap().is_empty());
}

/// RFC 8601 §5: results that claim this server's name are taken out of what a user submits
/// (nobody but this server may write them; a user could forge them for another), those of
/// other servers stay, and the body is not touched.
#[tokio::test]
async fn forged_results_are_taken_out_of_submissions() {
    let p = peer(Script::accepting(|_| 0)).await;
    let s = server("forged-results", p.addr.port(), policy()).await;
    let message = b"Authentication-Results: mail.example.org; dkim=pass header.d=bank.example\r\n\
Authentication-Results: other.example; spf=pass\r\n\
AUTHENTICATION-RESULTS:\r\n (folded) MAIL.example.org;\r\n\tdmarc=pass\r\n\
From: security@bank.example\r\nSubject: forged\r\n\r\n\
Authentication-Results: mail.example.org; in the body, kept\r\n";
    assert_eq!(
        submit(s.submission, &envelope(&["bob@example.org"]), message).await,
        [250]
    );
    let got = inbox(&s.store, "bob").await;
    let text = String::from_utf8_lossy(&got[0]).into_owned();
    assert!(!text.contains("dkim=pass"), "{text}");
    assert!(!text.contains("dmarc=pass"), "{text}");
    assert!(
        text.contains("Authentication-Results: other.example; spf=pass\r\n"),
        "{text}"
    );
    assert!(
        text.ends_with("\r\n\r\nAuthentication-Results: mail.example.org; in the body, kept\r\n"),
        "{text}"
    );
}

/// A temporary refusal of MAIL defers the message: the RCPTs pipelined behind it were
/// answered `503` for that, which is no verdict on the recipients.
#[tokio::test]
async fn a_refused_mail_defers_whatever_the_rcpts_behind_it_got() {
    let p = peer(Script {
        mail: |n| {
            if n == 0 {
                "452 4.3.1 Insufficient system resources"
            } else {
                "250 2.1.0 ok"
            }
        },
        ..Script::accepting(|_| 0)
    })
    .await;
    let s = server("mail-refused", p.addr.port(), policy()).await;
    let codes = submit(s.submission, &envelope(&["carol@example.net"]), MESSAGE).await;
    assert_eq!(codes, [250]);
    assert!(
        until(20, async || p.messages.lock().unwrap().len() == 1).await,
        "not delivered on a later try"
    );
    assert!(inbox(&s.store, "alice").await.is_empty(), "no DSN");
}

/// A `421` in the middle of the recipients (a peer at its error limit): the recipients it
/// refused for good before it fail with their own replies; the rest are deferred and
/// delivered at the next try.
#[tokio::test]
async fn a_421_among_the_rcpts_keeps_the_earlier_verdicts() {
    let p = peer(Script {
        // At the first try only; later every recipient is taken, so a verdict lost at the
        // first try shows as a delivery to carol.
        rcpt: |n, line| match (n, line.contains("carol@")) {
            (0, true) => "550 5.1.1 no such user",
            (0, false) => "421 4.7.0 too many errors, closing",
            _ => "250 2.1.5 ok",
        },
        ..Script::accepting(|_| 0)
    })
    .await;
    dave_delivered_carol_bounced(&p, "rcpt-421", "5.1.1").await;
}

/// Submits one message for carol and dave through a server relaying to `p`, and checks
/// that only dave's copy reaches `p` and that the sender gets a DSN failing carol with
/// `status`; returns the DSN.
/// A next hop that greets with this server's own name is this server, reached again
/// (an implicit MX, an address that leads back): the message fails at once with 5.4.6,
/// as Postfix's "loops back to myself", instead of going round until the hop limit.
#[tokio::test]
async fn a_peer_with_our_own_name_is_a_loop() {
    let p = peer(Script {
        name: "mail.example.org",
        ..Script::accepting(|_| 0)
    })
    .await;
    let s = server("loop", p.addr.port(), policy()).await;
    let codes = submit(s.submission, &envelope(&["carol@example.net"]), MESSAGE).await;
    assert_eq!(codes, [250]);
    assert!(until(15, async || !inbox(&s.store, "alice").await.is_empty()).await);
    let dsn = String::from_utf8_lossy(&inbox(&s.store, "alice").await[0]).into_owned();
    assert!(dsn.contains("Status: 5.4.6"), "{dsn}");
    assert!(dsn.contains("loops back"), "{dsn}");
    assert!(p.messages.lock().unwrap().is_empty());
}

async fn dave_delivered_carol_bounced(p: &Peer, name: &str, status: &str) -> String {
    let s = server(name, p.addr.port(), policy()).await;
    let codes = submit(
        s.submission,
        &envelope(&["carol@example.net", "dave@example.net"]),
        MESSAGE,
    )
    .await;
    assert_eq!(codes, [250, 250]);
    assert!(
        until(20, async || p.messages.lock().unwrap().len() == 1).await,
        "dave's copy was never delivered"
    );
    let got = p.messages.lock().unwrap().clone();
    assert_eq!(got[0].0.len(), 1, "{:?}", got[0].0);
    assert!(got[0].0[0].contains("dave@example.net"), "{:?}", got[0].0);
    assert!(
        until(15, async || !inbox(&s.store, "alice").await.is_empty()).await,
        "no DSN for carol"
    );
    let dsn = String::from_utf8_lossy(&inbox(&s.store, "alice").await[0]).into_owned();
    assert!(
        dsn.contains("Final-Recipient: rfc822; carol@example.net"),
        "{dsn}"
    );
    assert!(dsn.contains(&format!("Status: {status}")), "{dsn}");
    dsn
}

/// A line past RFC 5321's 998 octets is broken for the next hop (CRLF SP), unless the
/// message is DKIM-signed: breaking it would break the signature.
#[tokio::test]
async fn long_lines_are_broken_unless_the_message_is_signed() {
    let p = peer(Script::accepting(|_| 0)).await;
    let s = server("long-lines", p.addr.port(), policy()).await;
    let line = "x".repeat(2500);
    let plain = format!("Subject: long\r\n\r\n{line}\r\n");
    let signed = format!("DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s; b=abc\r\n{plain}");
    for message in [&plain, &signed] {
        let codes = submit_unfolded(
            s.submission,
            &envelope(&["carol@example.net"]),
            message.as_bytes(),
        )
        .await;
        assert_eq!(codes, [250]);
    }
    assert!(
        until(15, async || p.messages.lock().unwrap().len() == 2).await,
        "not delivered"
    );
    let got = p.messages.lock().unwrap().clone();
    let (folded, kept): (Vec<_>, Vec<_>) = got
        .iter()
        .map(|(_, data)| String::from_utf8_lossy(data).into_owned())
        .partition(|d| !d.contains("DKIM-Signature"));
    assert!(
        folded[0].lines().all(|l| l.len() <= 998),
        "{}",
        &folded[0][..200]
    );
    assert!(folded[0].replace("\r\n ", "").contains(&line));
    assert!(kept[0].contains(&line));
}

/// A header section longer than the results filter reads (256 KiB) is refused: passed on
/// unfiltered, results forged past that point would get through.
#[tokio::test]
async fn a_header_section_too_long_to_filter_is_refused() {
    let p = peer(Script::accepting(|_| 0)).await;
    let s = server("long-header", p.addr.port(), policy()).await;
    let mut message = Vec::new();
    for i in 0..6000 {
        message.extend_from_slice(format!("X-Padding-{i}: {}\r\n", "x".repeat(40)).as_bytes());
    }
    message
        .extend_from_slice(b"Authentication-Results: mail.example.org; dkim=pass\r\n\r\nbody\r\n");
    assert_eq!(
        submit(s.submission, &envelope(&["bob@example.org"]), &message).await,
        [552]
    );
    assert!(inbox(&s.store, "bob").await.is_empty());
    // A long message with a short header goes through.
    let mut long = b"Subject: long\r\n\r\n".to_vec();
    long.extend_from_slice(&message);
    assert_eq!(
        submit(s.submission, &envelope(&["bob@example.org"]), &long).await,
        [250]
    );
}

/// A recipient named twice in one transaction gets one copy, as Postfix's duplicate filter
/// gives: a local mailbox named by differently written addresses is delivered to once, a
/// remote address repeated is sent once. Every RCPT is still answered 250.
#[tokio::test]
async fn duplicate_recipients_get_one_copy() {
    let p = peer(Script::accepting(|_| 0)).await;
    let s = server("duplicates", p.addr.port(), policy()).await;
    let to = [
        "carol@example.net",
        "bob@example.org",
        "carol@example.net",
        "BOB@example.org",
        "bob@EXAMPLE.ORG",
    ];
    let codes = submit(s.submission, &envelope(&to), MESSAGE).await;
    assert_eq!(codes, [250; 5]);
    assert_eq!(inbox(&s.store, "bob").await.len(), 1, "one local copy");
    assert!(
        until(15, async || p.messages.lock().unwrap().len() == 1).await,
        "not relayed"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = p.messages.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].0.len(),
        1,
        "one RCPT for the remote address: {:?}",
        got[0].0
    );
}
