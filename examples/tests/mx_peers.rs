//! The `mailserver` binary sending to and receiving from other systems (#17) on loopback:
//! a full queue that survives kill -9 (each message delivered exactly once after restart),
//! delivery by MX (found through a DNS server the test runs) into Postfix's `smtp-sink`, and
//! Postfix's `smtp-source` sending into port 25.

mod deploy_support;
mod peers_support;

use std::{
    collections::{BTreeSet, HashMap},
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use deploy_support::{Mailserver, Tmp, hash, wait_for};
use peers_support::{
    SmtpSink, Zone, dns_server, dumped, free_port, have_postfix_tools, recording_peer, send_all,
};

/// A configuration file in `dir`: port 25 on a free loopback port (everything else off),
/// alice@example.org local, loopback clients allowed to relay, and `extra` lines.
fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let users = dir.join("users");
    std::fs::write(&users, format!("alice:{}\n", hash("secret"))).unwrap();
    let config = dir.join("mail.toml");
    std::fs::write(
        &config,
        format!(
            "data-dir = \"{}\"\nusers = \"{}\"\ndomain = \"example.org\"\n\
             hostname = \"mx.example.org\"\n\
             smtp = \"127.0.0.1:0\"\nsubmission = \"none\"\nsmtps = \"none\"\n\
             imap = \"none\"\nimaps = \"none\"\npop3 = \"none\"\npop3s = \"none\"\n\
             relay-networks = [\"127.0.0.0/8\"]\n{extra}",
            dir.join("data").display(),
            users.display()
        ),
    )
    .unwrap();
    config
}

fn start(config: &Path) -> Mailserver {
    Mailserver::start(&["--config", config.to_str().unwrap()])
}

fn mailctl(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mailctl"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "mailctl {args:?}: {text}");
    text
}

fn message(n: usize, to: &str) -> String {
    format!(
        "From: alice@example.org\r\nTo: {to}\r\nSubject: number {n}\r\n\
         Message-ID: <{n}@mx-peers.test>\r\n\r\nmessage {n}"
    )
}

/// Messages queued in the kill -9 test.
const N: usize = 20;

/// kill -9 with 20 messages queued for a next hop that is down: after the restart, with the
/// next hop up, each is delivered exactly once, and a second kill -9 and restart send none
/// again.
#[test]
fn kill_9_with_a_full_queue_delivers_each_message_once() {
    let dir = Tmp::new("mx-kill9");
    let hop_port = free_port("127.0.0.1");
    let config = write_config(
        dir.path(),
        &format!("smarthost = \"127.0.0.1:{hop_port}\"\n"),
    );
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let server = start(&config);
    let batch: Vec<_> = (0..N)
        .map(|n| {
            let to = format!("user{n}@elsewhere.example");
            ("alice@example.org", to.clone(), message(n, &to))
        })
        .collect();
    let batch: Vec<_> = batch
        .iter()
        .map(|(f, t, m)| (*f, t.as_str(), m.clone()))
        .collect();
    send_all(server.addr("smtp").unwrap(), &batch);
    // Every message queued and tried once (refused: nothing listens), its next try minutes
    // away. Watched in the log: `mailctl queue` opening the queue while the server writes
    // it is not safe yet (its crash clean-up removes files being written).
    let tried = wait_for(Duration::from_secs(30), || {
        (server.stderr().matches("queue: deferred").count() == N).then_some(())
    });
    assert!(tried.is_some(), "{}", server.stderr());
    server.signal("KILL");
    drop(server);

    let list = mailctl(&["queue", "list", "--data-dir", data]);
    assert!(list.contains(&format!("\n{N} messages")), "{list}");
    let got = recording_peer(TcpListener::bind(("127.0.0.1", hop_port)).unwrap());
    assert!(mailctl(&["queue", "retry", "--data-dir", data]).contains("due now"));
    let server = start(&config);
    let all = wait_for(Duration::from_secs(60), || {
        (got.lock().unwrap().len() >= N).then_some(())
    });
    assert!(
        all.is_some(),
        "{:?}\n{}",
        got.lock().unwrap(),
        server.stderr()
    );
    let removed = wait_for(Duration::from_secs(20), || {
        (server.stderr().matches("queue: done, removed").count() == N).then_some(())
    });
    assert!(removed.is_some(), "{}", server.stderr());
    server.signal("KILL");
    drop(server);
    let list = mailctl(&["queue", "list", "--data-dir", data]);
    assert!(list.contains("\n0 messages"), "{list}");
    // Restarted once more: nothing is sent again.
    let server = start(&config);
    std::thread::sleep(Duration::from_secs(2));
    drop(server);

    let got = got.lock().unwrap();
    let ids: Vec<_> = got
        .iter()
        .map(|r| r.message_id().unwrap().to_owned())
        .collect();
    let distinct: BTreeSet<_> = ids.iter().cloned().collect();
    let wanted: BTreeSet<_> = (0..N).map(|n| format!("<{n}@mx-peers.test>")).collect();
    assert_eq!(ids.len(), N, "delivered more than once: {ids:?}");
    assert_eq!(distinct, wanted);
    for r in got.iter() {
        let n: usize = r.message_id().unwrap()[1..]
            .split('@')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(r.mail_from, "MAIL FROM:<alice@example.org>");
        assert_eq!(r.rcpt_to, [format!("RCPT TO:<user{n}@elsewhere.example>")]);
        assert!(
            r.data.ends_with(&format!("\r\n\r\nmessage {n}\r\n")),
            "{}",
            r.data
        );
    }
}

/// Delivery by MX into Postfix's `smtp-sink` on 127.0.0.2: the domain's first MX
/// (127.0.0.3) refuses connections and the second takes the mail; a domain without MX
/// gets its mail at its A address (RFC 5321 §5.1).
#[test]
fn delivers_by_mx_to_postfix() {
    if !have_postfix_tools() {
        return;
    }
    let dir = Tmp::new("mx-postfix-out");
    let port = free_port("127.0.0.2");
    let dump = dir.path().join("sink");
    let _sink = SmtpSink::start(SocketAddr::from(([127, 0, 0, 2], port)), Some(&dump));
    let zone = |mx: &[(u16, &str)], a: &[[u8; 4]]| Zone {
        mx: mx.iter().map(|(p, h)| (*p, (*h).to_owned())).collect(),
        a: a.iter().map(|ip| (*ip).into()).collect(),
    };
    let dns = dns_server(HashMap::from([
        (
            "postfix.test".to_owned(),
            zone(&[(20, "mx2.postfix.test"), (10, "mx1.postfix.test")], &[]),
        ),
        ("mx1.postfix.test".to_owned(), zone(&[], &[[127, 0, 0, 3]])),
        ("mx2.postfix.test".to_owned(), zone(&[], &[[127, 0, 0, 2]])),
        ("a-only.test".to_owned(), zone(&[], &[[127, 0, 0, 2]])),
    ]));
    let config = write_config(
        dir.path(),
        &format!("dns-server = \"{dns}\"\nmx-port = {port}\n"),
    );
    let server = start(&config);
    send_all(
        server.addr("smtp").unwrap(),
        &[
            (
                "alice@example.org",
                "carol@postfix.test",
                message(1, "carol@postfix.test"),
            ),
            (
                "alice@example.org",
                "dave@a-only.test",
                message(2, "dave@a-only.test"),
            ),
        ],
    );
    let files = wait_for(Duration::from_secs(30), || {
        let files = dumped(&dump);
        let complete = files.iter().filter(|f| f.contains("\nmessage ")).count();
        (complete == 2).then_some(files)
    });
    let files = files.unwrap_or_else(|| panic!("{:?}\n{}", dumped(&dump), server.stderr()));
    for (n, rcpt) in [(1, "carol@postfix.test"), (2, "dave@a-only.test")] {
        let file = files
            .iter()
            .find(|f| f.contains(&format!("Message-ID: <{n}@mx-peers.test>")))
            .unwrap_or_else(|| panic!("message {n} missing: {files:?}"));
        // smtp-sink writes the envelope as headers, then its Received:, then the message.
        assert!(file.contains("X-Client-Addr: 127.0.0.1"), "{file}");
        assert!(file.contains("X-Helo-Args: mx.example.org"), "{file}");
        assert!(file.contains("X-Mail-Args: <alice@example.org>"), "{file}");
        assert!(file.contains(&format!("X-Rcpt-Args: <{rcpt}>\n")), "{file}");
        assert!(file.contains("\nReceived: from client.test"), "{file}");
        assert!(file.contains(&format!("\nmessage {n}")), "{file}");
    }
    // The preferred MX was tried first.
    assert!(server.stderr().contains("127.0.0.3"), "{}", server.stderr());
    drop(server);
    let queue = mailctl(&[
        "queue",
        "list",
        "--data-dir",
        dir.path().join("data").to_str().unwrap(),
    ]);
    assert!(queue.contains("\n0 messages"), "{queue}");
}

/// Postfix's `smtp-source` sends ten messages into port 25 for a local user; each is in
/// alice's Maildir with the envelope sender as Return-Path.
#[test]
fn receives_from_postfix() {
    if !have_postfix_tools() {
        return;
    }
    let dir = Tmp::new("mx-postfix-in");
    let config = write_config(dir.path(), "");
    let server = start(&config);
    let addr = server.addr("smtp").unwrap();
    let out = Command::new("smtp-source")
        .args([
            "-m",
            "10",
            "-s",
            "2",
            "-M",
            "source.test",
            "-f",
            "sender@postfix.test",
        ])
        .args(["-t", "alice@example.org", &addr.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "smtp-source: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let maildir = dir.path().join("data/alice/Maildir");
    let stored: Vec<String> = ["new", "cur"]
        .iter()
        .filter_map(|d| std::fs::read_dir(maildir.join(d)).ok())
        .flatten()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(stored.len(), 10, "{}", server.stderr());
    for m in &stored {
        assert!(
            m.starts_with("Return-Path: <sender@postfix.test>\r\n"),
            "{m}"
        );
        assert!(m.contains("Received: from source.test"), "{m}");
        assert!(m.contains("\r\nTo: <alice@example.org>\r\n"), "{m}");
        assert!(m.contains("La de da de da 4.\r\n"), "{m}");
    }
}
