//! DKIM, SPF and DMARC end to end on loopback: a DNS server started here (UDP and TCP on
//! 127.0.0.1) publishes the keys and policies; one server signs what it queues and delivers
//! it to a second, whose port 25 checks what it receives.
#![allow(clippy::too_many_lines)]

use std::{
    collections::{HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use hickory_resolver::proto::{
    op::{Message, MessageType, OpCode, ResponseCode},
    rr::{RData, Record, RecordType, rdata::TXT},
};
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator};
use sansmail_core::Credentials;
use sansmail_server::{
    auth::{Accounts, Authenticator, Refusal, ThrottleConfig},
    listener::{ConnectionLimits, Gate},
    mailauth::{AuthResult, Client, KeyDir, KeyType, Signer, SigningQueue, Verifier},
    outbound::{
        Relay,
        delivery::{Delivery, DeliveryConfig},
        dns::{HickoryResolver, Mx, StaticResolver},
        queue::{DiskQueue, QueueStore},
        schedule::{QueueRunner, RetryPolicy},
    },
    smtp::{self, SmtpService},
};
use sansmail_smtp::{
    DomainPart, ForwardPath, Mailbox, ReversePath,
    session::client::{ClientConfig, Envelope, TlsPolicy},
    tokio::client::SmtpClient,
};
use sansmail_store::{
    AccountName, FetchQuery, MailStore, Session, UidSet, memory::MemoryStore, model::Content,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, UdpSocket},
};

/// A DNS server answering TXT queries from a table: NXDOMAIN for names it does not have.
async fn dns_server(table: HashMap<String, Vec<String>>) -> SocketAddr {
    // The same port for both; a port free for UDP may be taken for TCP: try another.
    let mut tries = 0;
    let (udp, tcp, addr) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        match TcpListener::bind(addr).await {
            Ok(tcp) => break (udp, tcp, addr),
            Err(_) if tries < 50 => tries += 1,
            Err(e) => panic!("no port free for UDP and TCP: {e}"),
        }
    };
    let table = Arc::new(table);
    let t = Arc::clone(&table);
    serve_udp(udp, move |query| answer(&t, query));
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = tcp.accept().await else {
                return;
            };
            let t = Arc::clone(&table);
            tokio::spawn(async move {
                loop {
                    let mut len = [0u8; 2];
                    if sock.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if sock.read_exact(&mut q).await.is_err() {
                        return;
                    }
                    let Some(a) = answer(&t, &q) else { return };
                    let len = u16::try_from(a.len()).unwrap().to_be_bytes();
                    if sock.write_all(&len).await.is_err() || sock.write_all(&a).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn answer(table: &HashMap<String, Vec<String>>, query: &[u8]) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    let question = q.queries().first()?.clone();
    let name = question.name().to_ascii().to_ascii_lowercase();
    let name = name.trim_end_matches('.');
    let mut m = Message::new(q.id(), MessageType::Response, OpCode::Query);
    m.set_recursion_desired(true)
        .set_recursion_available(true)
        .set_authoritative(true);
    m.add_query(question.clone());
    match table.get(name) {
        None => {
            m.set_response_code(ResponseCode::NXDomain);
        }
        Some(values) if question.query_type() == RecordType::TXT => {
            for v in values {
                // A TXT record is made of strings of 255 octets at most.
                let strings = v
                    .as_bytes()
                    .chunks(255)
                    .map(|c| String::from_utf8(c.to_vec()).unwrap())
                    .collect();
                m.add_answer(Record::from_rdata(
                    question.name().clone(),
                    60,
                    RData::TXT(TXT::new(strings)),
                ));
            }
        }
        Some(_) => {} // The name exists, without records of that type.
    }
    m.to_vec().ok()
}

/// One local user: `.0` is the address, its local part the account; alice may log in.
struct Users(&'static str);

impl Accounts for Users {
    fn verify(&self, c: &Credentials) -> Option<AccountName> {
        (c.authcid == "alice" && c.password.expose() == "secret")
            .then(|| AccountName::try_from("alice").ok())
            .flatten()
    }

    fn recipient(&self, to: &ForwardPath<'_>) -> Result<AccountName, Refusal> {
        let address = to.mailbox().map(|m| m.to_string().to_lowercase());
        match (address.as_deref(), self.0.split_once('@')) {
            (Some(a), Some((user, _))) if a == self.0 => {
                AccountName::try_from(user).map_err(|_| Refusal::NoSuchUser)
            }
            _ => Err(Refusal::NotLocal),
        }
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mailauth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A key from the fixtures, installed as `selector._domainkey.domain` in `keys`.
fn fixture_key(
    keys: &KeyDir,
    domain: &str,
    selector: &str,
    pem: &str,
) -> sansmail_server::mailauth::DomainKey {
    std::fs::write(keys.path(domain, selector).unwrap(), pem).unwrap();
    let (key, generated) = keys
        .load_or_generate(domain, selector, KeyType::Rsa2048)
        .unwrap();
    assert!(!generated);
    key
}

const KEY_1: &str = include_str!("fixtures/dkim-rsa.pem");
const KEY_2: &str = include_str!("fixtures/dkim-rsa-2.pem");

/// The receiving server: port 25 of `mx.example.net`, checking with the DNS server at
/// `dns`; returns its address and store.
async fn receiver(dns: SocketAddr) -> (SocketAddr, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    for u in ["alice", "bob"] {
        store
            .create_account(&AccountName::try_from(u).unwrap())
            .await
            .unwrap();
    }
    let auth = Arc::new(Authenticator::new(
        Arc::new(Users("bob@example.net")),
        ThrottleConfig::default(),
    ));
    let gate = Gate::new(ConnectionLimits::default());
    let mut mx = SmtpService::new("mx.example.net", false, auth, store.clone(), gate);
    let resolver = HickoryResolver::with_servers(&[dns], Duration::from_secs(2));
    mx.verify = Some(Arc::new(Verifier::new(&resolver, "MX.example.net")));
    let addr = smtp::spawn("127.0.0.1:0".parse().unwrap(), Arc::new(mx))
        .await
        .unwrap();
    (addr, store)
}

async fn inbox(store: &MemoryStore, user: &str) -> Vec<String> {
    let session = Session::new(AccountName::try_from(user).unwrap());
    let query = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    store
        .fetch(&session, "INBOX", &UidSet::all(), query)
        .await
        .map(|v| {
            v.into_iter()
                .filter_map(|m| m.content)
                .map(|c| String::from_utf8_lossy(&c).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn mailbox(s: &str) -> Mailbox<'static> {
    Mailbox::try_from(s).unwrap().into_owned()
}

/// Sends `message` from `sender` to bob@example.net without logging in; the reply to the
/// recipient (the end of DATA's when RCPT was accepted).
async fn send(at: SocketAddr, sender: &str, message: &[u8]) -> (u16, String) {
    let mut config = ClientConfig::new(DomainPart::try_from("client.test").unwrap().into_owned());
    config.starttls = TlsPolicy::Never;
    let mut c = SmtpClient::connect("127.0.0.1", at.port(), config, None)
        .await
        .unwrap();
    let from = if sender.is_empty() {
        ReversePath::Null
    } else {
        ReversePath::Mailbox(mailbox(sender))
    };
    let envelope = Envelope::new(from, [ForwardPath::Mailbox(mailbox("bob@example.net"))]);
    let sent = c.send(&envelope, message).await.unwrap();
    c.quit().await.ok();
    let r = &sent.recipients[0];
    (r.code().get(), format!("{r:?}"))
}

/// The `Authentication-Results:` field a stored message starts with (after Return-Path),
/// unfolded.
fn results_of(message: &str) -> String {
    let Some((_, rest)) = message.split_once("\r\nAuthentication-Results: ") else {
        panic!("no Authentication-Results: {message}")
    };
    let mut field = String::new();
    for (i, line) in rest.split("\r\n").enumerate() {
        if i > 0 && !line.starts_with('\t') && !line.starts_with(' ') {
            break;
        }
        field.push_str(line.trim_start());
        field.push(' ');
    }
    field.trim_end().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_mail_is_signed_and_verifies_at_the_receiver() {
    let dir = temp_dir("signed");
    let keys = KeyDir::open(dir.join("dkim")).unwrap();
    let key = fixture_key(&keys, "example.org", "s1", KEY_1);
    let record = key.record().clone();
    assert_eq!(record.name, "s1._domainkey.example.org");
    let mut table = HashMap::new();
    table.insert(record.name.clone(), vec![record.value.clone()]);
    table.insert(
        "example.org".to_owned(),
        vec!["v=spf1 ip4:127.0.0.1 -all".to_owned()],
    );
    table.insert(
        "_dmarc.example.org".to_owned(),
        vec!["v=DMARC1; p=reject".to_owned()],
    );
    let dns = dns_server(table).await;
    let (mx, mx_store) = receiver(dns).await;

    // The sending server: submission relaying into a signing disk queue, delivered to the
    // receiver found through a static MX.
    let store = Arc::new(MemoryStore::new());
    let accounts: Arc<dyn Accounts> = Arc::new(Users("alice@example.org"));
    let auth = Arc::new(Authenticator::new(
        Arc::clone(&accounts),
        ThrottleConfig::default(),
    ));
    let gate = Gate::new(ConnectionLimits::default());
    let disk: Arc<dyn QueueStore> = Arc::new(DiskQueue::open(dir.join("queue")).unwrap());
    let signer = Arc::new(Signer::new([key]));
    assert_eq!(signer.records().count(), 1);
    let queue: Arc<dyn QueueStore> = Arc::new(SigningQueue::new(Arc::clone(&disk), signer));
    let relay = Arc::new(Relay::new(Arc::clone(&queue)));
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
    let mut config = DeliveryConfig::new("mail.example.org");
    config.port = mx.port();
    config.reply_timeout = Duration::from_secs(5);
    let delivery = Arc::new(Delivery::new(config, Arc::new(resolver)).unwrap());
    let policy = RetryPolicy {
        first: Duration::from_secs(1),
        max: Duration::from_secs(2),
        rescan: Duration::from_secs(1),
        ..RetryPolicy::default()
    };
    let runner = QueueRunner::new(
        queue,
        delivery,
        None,
        policy,
        "mail.example.org",
        Arc::clone(&relay.wakeup),
    );
    tokio::spawn(runner.run(std::future::pending()));
    let mut sub = SmtpService::new("mail.example.org", true, auth, store, gate);
    sub.relay = Some(relay);
    let submission = smtp::spawn("127.0.0.1:0".parse().unwrap(), Arc::new(sub))
        .await
        .unwrap();

    let mut config = ClientConfig::new(DomainPart::try_from("laptop.test").unwrap().into_owned());
    config.starttls = TlsPolicy::Never;
    config.credentials = Some(Credentials::new("alice", "secret"));
    let mut c = SmtpClient::connect("127.0.0.1", submission.port(), config, None)
        .await
        .unwrap();
    let envelope = Envelope::new(
        ReversePath::Mailbox(mailbox("alice@example.org")),
        [ForwardPath::Mailbox(mailbox("bob@example.net"))],
    );
    let message = b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n\
        Subject: signed\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n\
        Message-ID: <1@example.org>\r\n\r\nHello  Bob,\r\nthis is signed.\r\n";
    let sent = c.send(&envelope, message).await.unwrap();
    assert!(sent.all_accepted(), "{:?}", sent.recipients);
    c.quit().await.ok();

    let end = Instant::now() + Duration::from_secs(20);
    let stored = loop {
        if let Some(m) = inbox(&mx_store, "bob").await.pop() {
            break m;
        }
        assert!(Instant::now() < end, "not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // The receiving side's checks: SPF (127.0.0.1 is example.org's), the signature, and so
    // DMARC, all pass.
    let lines: Vec<&str> = stored.split("\r\n").collect();
    assert!(
        lines[0].starts_with("Return-Path: <alice@example.org>"),
        "{stored}"
    );
    assert!(
        lines[1].starts_with("Authentication-Results: mx.example.net"),
        "{stored}"
    );
    let results = results_of(&stored);
    assert!(
        results.contains("spf=pass smtp.mailfrom=alice@example.org"),
        "{results}"
    );
    assert!(
        results.contains("dkim=pass header.d=example.org header.s=s1 header.b="),
        "{results}"
    );
    assert!(
        results.contains("dmarc=pass (p=reject) header.from=example.org"),
        "{results}"
    );
    // Our Received above the signature; the sender's Received below it, unsigned.
    let received = stored.find("Received: from mail.example.org").unwrap();
    let signature = stored.find("DKIM-Signature: ").unwrap();
    let sender_received = stored.find("Received: from laptop.test").unwrap();
    assert!(
        received < signature && signature < sender_received,
        "{stored}"
    );
    assert!(
        stored.contains("a=rsa-sha256") && stored.contains("c=relaxed/relaxed"),
        "{stored}"
    );

    // And mail-auth on its own, against the published key.
    let resolver = HickoryResolver::with_servers(&[dns], Duration::from_secs(2));
    let auth = MessageAuthenticator(resolver.inner().clone());
    let parsed = AuthenticatedMessage::parse(stored.as_bytes()).unwrap();
    let outputs = auth.verify_dkim(&parsed).await;
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].result(), &DkimResult::Pass);
    let sig = outputs[0].signature().unwrap();
    assert_eq!((sig.d.as_str(), sig.s.as_str()), ("example.org", "s1"));
    assert!(sig.h.iter().any(|h| h.eq_ignore_ascii_case("from")));
    assert!(!sig.h.iter().any(|h| h.eq_ignore_ascii_case("received")));
    // A changed body no longer verifies.
    let tampered = stored.replace("this is signed", "this is forged");
    let parsed = AuthenticatedMessage::parse(tampered.as_bytes()).unwrap();
    let tampered = auth.verify_dkim(&parsed).await;
    assert!(
        matches!(
            tampered[0].result(),
            DkimResult::Fail(_) | DkimResult::Neutral(mail_auth::Error::FailedBodyHashMatch)
        ),
        "{tampered:?}"
    );
    // Delivered once, and gone from the queue.
    assert_eq!(inbox(&mx_store, "bob").await.len(), 1);
    let end = Instant::now() + Duration::from_secs(10);
    while !disk.entries().unwrap().is_empty() {
        assert!(Instant::now() < end, "still queued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spf_dkim_and_dmarc_results_for_honest_and_spoofed_senders() {
    let dir = temp_dir("inbound");
    let keys = KeyDir::open(dir.join("dkim")).unwrap();
    // pass.example signs and lists 127.0.0.1; none.example signs but lists another
    // address, with p=none; bank.example lists another address and says p=reject;
    // plain.example publishes nothing.
    let pass_key = fixture_key(&keys, "pass.example", "k", KEY_1);
    let none_key = fixture_key(&keys, "none.example", "k", KEY_2);
    let mut table = HashMap::new();
    for k in [&pass_key, &none_key] {
        table.insert(k.record().name.clone(), vec![k.record().value.clone()]);
    }
    let txt = |v: &str| vec![v.to_owned()];
    table.insert("pass.example".into(), txt("v=spf1 ip4:127.0.0.1 -all"));
    table.insert("_dmarc.pass.example".into(), txt("v=DMARC1; p=reject"));
    table.insert("none.example".into(), txt("v=spf1 ip4:192.0.2.1 -all"));
    table.insert("_dmarc.none.example".into(), txt("v=DMARC1; p=none"));
    table.insert("bank.example".into(), txt("v=spf1 ip4:192.0.2.1 -all"));
    table.insert("_dmarc.bank.example".into(), txt("v=DMARC1; p=reject"));
    table.insert("softfail.example".into(), txt("v=spf1 ~all"));
    let dns = dns_server(table).await;
    let (mx, store) = receiver(dns).await;
    let signer = Signer::new([pass_key, none_key]);
    let signed = |m: &str| {
        let field = signer.sign(m.as_bytes()).unwrap().unwrap();
        format!("{field}{m}")
    };

    // Honest: SPF passes, the signature verifies, DMARC aligns.
    let honest =
        signed("From: news@pass.example\r\nTo: bob@example.net\r\nSubject: honest\r\n\r\nnews\r\n");
    assert_eq!(
        send(mx, "news@pass.example", honest.as_bytes()).await.0,
        250
    );
    // Forged results claiming to be ours go; another server's stay.
    let claims = "Authentication-Results: mx.example.net; dmarc=pass header.from=bank.example\r\n\
        Authentication-Results: other.example; spf=pass\r\n\
        From: x@plain.example\r\nSubject: plain\r\n\r\nhi\r\n";
    assert_eq!(send(mx, "x@plain.example", claims.as_bytes()).await.0, 250);
    // p=none, SPF fails and the signature is broken (the body changed after signing):
    // accepted, the failure recorded.
    let broken = signed(
        "From: x@none.example\r\nTo: bob@example.net\r\nSubject: broken\r\n\r\noriginal\r\n",
    )
    .replace("original", "altered");
    assert_eq!(send(mx, "x@none.example", broken.as_bytes()).await.0, 250);
    // A soft fail and a null sender (checked as postmaster@ the HELO name).
    let soft = "From: y@softfail.example\r\nSubject: soft\r\n\r\nhi\r\n";
    assert_eq!(send(mx, "y@softfail.example", soft.as_bytes()).await.0, 250);
    assert_eq!(
        send(mx, "", b"From: daemon@client.test\r\n\r\nbounce\r\n")
            .await
            .0,
        250
    );

    // bank.example's policy is reject: the spoof is refused at the end of DATA, and not
    // stored. The same spoof under an envelope sender that passes SPF is refused too:
    // DMARC needs alignment with From:.
    let spoof = "From: ceo@bank.example\r\nTo: bob@example.net\r\nSubject: wire now\r\n\r\npay\r\n";
    let (code, reply) = send(mx, "ceo@bank.example", spoof.as_bytes()).await;
    assert_eq!(code, 550, "{reply}");
    assert!(reply.contains("class: 5, subject: 7, detail: 1"), "{reply}");
    assert!(reply.contains("bank.example"), "{reply}");
    let (code, _) = send(mx, "news@pass.example", spoof.as_bytes()).await;
    assert_eq!(code, 550);
    // A second From: naming the envelope's own domain made mail-auth call the message
    // exempt (several author domains), so the spoof passed; none at all did the same.
    // DMARC needs exactly one From: field (RFC 7489 §6.6.1): refused.
    let two_from = "From: ceo@bank.example\r\nFrom: x@pass.example\r\nSubject: two\r\n\r\npay\r\n";
    let (code, reply) = send(mx, "news@pass.example", two_from.as_bytes()).await;
    assert_eq!(code, 550, "{reply}");
    assert!(reply.contains("From:"), "{reply}");
    let no_from = "To: bob@example.net\r\nSubject: none\r\n\r\npay\r\n";
    assert_eq!(
        send(mx, "news@pass.example", no_from.as_bytes()).await.0,
        550
    );

    let messages = inbox(&store, "bob").await;
    assert_eq!(
        messages.len(),
        5,
        "the spoofs are not stored: {messages:#?}"
    );
    let find = |subject: &str| {
        messages
            .iter()
            .find(|m| m.contains(&format!("Subject: {subject}")))
            .unwrap_or_else(|| panic!("{subject}: {messages:#?}"))
    };

    let r = results_of(find("honest"));
    assert!(r.starts_with("mx.example.net;"), "{r}");
    assert!(
        r.contains("spf=pass smtp.mailfrom=news@pass.example"),
        "{r}"
    );
    assert!(
        r.contains("dkim=pass header.d=pass.example header.s=k"),
        "{r}"
    );
    assert!(
        r.contains("dmarc=pass (p=reject) header.from=pass.example"),
        "{r}"
    );

    let plain = find("plain");
    let r = results_of(plain);
    assert!(r.contains("spf=none smtp.mailfrom=x@plain.example"), "{r}");
    assert!(r.contains("dkim=none"), "{r}");
    assert!(r.contains("dmarc=none header.from=plain.example"), "{r}");
    assert_eq!(plain.matches("mx.example.net;").count(), 1, "{plain}");
    assert!(!plain.contains("header.from=bank.example"), "{plain}");
    assert!(
        plain.contains("Authentication-Results: other.example; spf=pass"),
        "{plain}"
    );

    let r = results_of(find("broken"));
    assert!(r.contains("spf=fail smtp.mailfrom=x@none.example"), "{r}");
    assert!(r.contains("dkim=fail reason="), "{r}");
    assert!(r.contains("header.d=none.example"), "{r}");
    assert!(
        r.contains("dmarc=fail (p=none) header.from=none.example"),
        "{r}"
    );

    let r = results_of(find("soft"));
    assert!(r.contains("spf=softfail"), "{r}");
    let bounce = messages.iter().find(|m| m.contains("bounce")).unwrap();
    let r = results_of(bounce);
    assert!(r.contains("spf=none smtp.helo=client.test"), "{r}");

    // Trace order: Return-Path, then the results, then this server's Received.
    for m in &messages {
        let lines: Vec<&str> = m.split("\r\n").collect();
        assert!(lines[0].starts_with("Return-Path: "), "{m}");
        assert!(
            lines[1].starts_with("Authentication-Results: mx.example.net;"),
            "{m}"
        );
        let received = m.find("Received: from client.test").unwrap();
        assert!(
            m.find("Authentication-Results: mx.example.net").unwrap() < received,
            "{m}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A name server on UDP that answers every query NXDOMAIN (or, `silent`, none at all), and
/// the names of the DKIM keys it was asked for.
async fn counting_dns(silent: bool) -> (SocketAddr, Arc<Mutex<HashSet<String>>>) {
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let keys = Arc::new(Mutex::new(HashSet::new()));
    let seen = Arc::clone(&keys);
    serve_udp(udp, move |query| {
        if let Some(name) = Message::from_vec(query)
            .ok()
            .and_then(|q| q.queries().first().map(|q| q.name().to_ascii()))
            .filter(|name| name.contains("._domainkey."))
        {
            seen.lock().unwrap().insert(name);
        }
        (!silent).then(|| answer(&HashMap::new(), query)).flatten()
    });
    (addr, keys)
}

/// Answers each datagram `udp` receives with what `answer` makes of it, if anything.
fn serve_udp(udp: UdpSocket, answer: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static) {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = udp.recv_from(&mut buf).await else {
                return;
            };
            if let Some(reply) = answer(&buf[..n]) {
                udp.send_to(&reply, from).await.ok();
            }
        }
    });
}

/// The sender chooses how many DKIM signatures a message carries, and so how many keys are
/// looked up, and its name servers choose how slowly they answer: eight signatures are
/// checked, and all the checks of a message end at the verifier's deadline.
#[tokio::test]
async fn dkim_checks_are_bounded_in_number_and_time() {
    let dir = temp_dir("flood");
    let keys = KeyDir::open(dir.join("dkim")).unwrap();
    let key = fixture_key(&keys, "flood.example", "k", KEY_1);
    let message = "From: x@flood.example\r\nTo: bob@example.net\r\nSubject: flood\r\n\r\nhi\r\n";
    let field = Signer::new([key])
        .sign(message.as_bytes())
        .unwrap()
        .unwrap();
    assert!(field.contains(" s=k;"), "{field}");
    // Twenty signatures whose body hashes hold, each naming a key of its own.
    let flood: String = (0..20)
        .map(|i| field.replacen(" s=k;", &format!(" s=k{i};"), 1))
        .chain([message.to_owned()])
        .collect();
    let client = Client {
        ip: IpAddr::from([127, 0, 0, 1]),
        helo: "client.test",
        mail_from: "x@flood.example",
    };

    let (dns, asked) = counting_dns(false).await;
    let resolver = HickoryResolver::with_servers(&[dns], Duration::from_secs(2));
    let verdict = Verifier::new(&resolver, "mx.example.net")
        .verify(&client, flood.as_bytes())
        .await;
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 8, "{asked:?}");
    assert_eq!(
        verdict.field.matches("dkim=").count(),
        8,
        "{}",
        verdict.field
    );

    let (silent, _) = counting_dns(true).await;
    let resolver = HickoryResolver::with_servers(&[silent], Duration::from_secs(1));
    let mut verifier = Verifier::new(&resolver, "mx.example.net");
    verifier.deadline = Duration::from_secs(3);
    let verdict = tokio::time::timeout(
        Duration::from_secs(30),
        verifier.verify(&client, flood.as_bytes()),
    )
    .await
    .expect("the checks ran past their deadline");
    assert_eq!(
        (verdict.spf, verdict.dkim, verdict.dmarc, verdict.refuse),
        (
            AuthResult::TempError,
            AuthResult::TempError,
            AuthResult::TempError,
            false
        )
    );
    assert!(
        verdict.field.contains("dkim=temperror"),
        "{}",
        verdict.field
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A name server that fails (SERVFAIL, REFUSED) says nothing about the name: the lookup is
/// temporary, so mail is retried (RFC 5321 §5.1), never bounced as "no such domain"
/// (hickory reports those failures as "no records", with their code). NXDOMAIN and NODATA
/// are the permanent answers.
#[tokio::test]
async fn dns_server_failures_are_temporary() {
    use sansmail_server::outbound::dns::{DnsError, Resolver};
    for (code, permanent) in [
        (ResponseCode::ServFail, false),
        (ResponseCode::Refused, false),
        (ResponseCode::NXDomain, true),
        (ResponseCode::NoError, true),
    ] {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        serve_udp(udp, move |query| {
            let q = Message::from_vec(query).ok()?;
            let mut m = Message::new(q.id(), MessageType::Response, OpCode::Query);
            m.set_recursion_desired(true).set_recursion_available(true);
            m.add_query(q.queries().first()?.clone());
            m.set_response_code(code);
            m.to_vec().ok()
        });
        let resolver = HickoryResolver::with_servers(&[addr], Duration::from_secs(1));
        let mx = resolver.mx("example.test").await;
        let ips = resolver.ips("mx.example.test").await;
        for r in [mx.map(drop), ips.map(drop)] {
            match r {
                Err(DnsError::NotFound(_)) => assert!(permanent, "{code:?}: NotFound"),
                Err(DnsError::Temporary { .. }) => assert!(!permanent, "{code:?}: Temporary"),
                other => panic!("{code:?}: {other:?}"),
            }
        }
    }
}

/// A host's IPv4 and IPv6 addresses both: hickory's default asks for AAAA only when there
/// is no A, so a dual-stack MX unreachable over IPv4 was never tried over IPv6.
#[tokio::test]
async fn both_address_families_are_looked_up() {
    use hickory_resolver::proto::rr::rdata::{A, AAAA};
    use sansmail_server::outbound::dns::Resolver;
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    serve_udp(udp, |query| {
        let q = Message::from_vec(query).ok()?;
        let question = q.queries().first()?.clone();
        let mut m = Message::new(q.id(), MessageType::Response, OpCode::Query);
        m.set_recursion_desired(true).set_recursion_available(true);
        m.add_query(question.clone());
        let data = match question.query_type() {
            RecordType::A => Some(RData::A(A::new(192, 0, 2, 1))),
            RecordType::AAAA => Some(RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))),
            _ => None,
        };
        if let Some(d) = data {
            m.add_answer(Record::from_rdata(question.name().clone(), 60, d));
        }
        m.to_vec().ok()
    });
    let resolver = HickoryResolver::with_servers(&[addr], Duration::from_secs(2));
    let ips = resolver.ips("mx.example.test").await.unwrap();
    assert!(ips.contains(&"192.0.2.1".parse().unwrap()), "{ips:?}");
    assert!(ips.contains(&"2001:db8::1".parse().unwrap()), "{ips:?}");
}
