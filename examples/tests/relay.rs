//! Sending to other systems (#17) with the example server as configured by default: a
//! logged-in user's mail for another domain goes into the outbound queue and out to the next
//! hop (here a smarthost: a scripted SMTP peer on loopback), DKIM-signed when keys are set;
//! a message for a local and a remote recipient reaches both; without login it is refused.

mod common;

use std::{
    io::{BufRead, BufReader, Write},
    net::{SocketAddr, TcpListener},
    sync::mpsc,
    time::Duration,
};

use common::{python, run, start_with};

/// A next hop that accepts everything and hands each message (envelope and data) over.
fn peer() -> (SocketAddr, mpsc::Receiver<(Vec<String>, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut out = stream.try_clone().unwrap();
                let mut lines = BufReader::new(stream);
                let mut say = |s: &str| out.write_all(format!("{s}\r\n").as_bytes());
                say("220 next.example ESMTP").unwrap();
                let mut envelope = Vec::new();
                loop {
                    let mut line = String::new();
                    if lines.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let verb = line.trim_end().to_ascii_uppercase();
                    if verb.starts_with("EHLO") {
                        say("250-next.example\r\n250-8BITMIME\r\n250 PIPELINING").unwrap();
                    } else if verb.starts_with("MAIL") || verb.starts_with("RCPT") {
                        envelope.push(line.trim_end().to_owned());
                        say("250 ok").unwrap();
                    } else if verb == "DATA" {
                        say("354 go on").unwrap();
                        let mut data = String::new();
                        loop {
                            let mut l = String::new();
                            lines.read_line(&mut l).unwrap();
                            if l == ".\r\n" {
                                break;
                            }
                            data.push_str(&l);
                        }
                        say("250 queued here").unwrap();
                        let _ = tx.send((std::mem::take(&mut envelope), data));
                    } else if verb == "QUIT" {
                        let _ = say("221 bye");
                        return;
                    } else {
                        say("250 ok").unwrap();
                    }
                }
            });
        }
    });
    (addr, rx)
}

const SUBMIT: &str = r#"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.ehlo("client.test")
s.login("alice", "secret")
msg = b"From: alice@example.org\r\nTo: carol@elsewhere.example, bob@example.org\r\nSubject: out\r\n\r\nto another system\r\n"
refused = s.sendmail("alice@example.org", ["carol@elsewhere.example", "bob@example.org"], msg)
print("refused", refused)
s.quit()
"#;

#[test]
fn a_logged_in_user_sends_to_another_system_signed() {
    let (next_hop, received) = peer();
    let server = start_with("relay-out", |o| {
        o.outbound.smarthost = Some(("127.0.0.1".to_owned(), next_hop.port()));
        o.outbound.dkim_keys = Some(o.data_dir.join("dkim"));
    });
    let out = python(SUBMIT, &[&server.submission.port().to_string()]);
    assert!(out.contains("refused {}"), "{out}");
    let (envelope, data) = received
        .recv_timeout(Duration::from_secs(20))
        .expect("the message reached the next hop");
    assert!(
        envelope[0].starts_with("MAIL FROM:<alice@example.org>"),
        "{envelope:?}"
    );
    assert_eq!(
        envelope[1..],
        ["RCPT TO:<carol@elsewhere.example>".to_owned()]
    );
    // Signed for the From: domain, then our Received:, then the message as sent.
    assert!(data.starts_with("DKIM-Signature: "), "{data}");
    assert!(
        data.contains(" d=example.org;") && data.contains(" s=sansmail;"),
        "{data}"
    );
    assert!(data.contains("\r\nReceived: from client.test"), "{data}");
    assert!(data.ends_with("\r\n\r\nto another system\r\n"), "{data}");
    assert!(
        !data.contains("Return-Path:"),
        "only final delivery adds it: {data}"
    );
    // The local recipient has it at once; the key file is private.
    assert_eq!(server.messages("bob", "INBOX").len(), 1);
    let key = server
        .data_dir
        .join("dkim/sansmail._domainkey.example.org.pem");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
}

/// Without logging in, port 25 relays nothing, relay on or not.
#[test]
fn port_25_without_login_relays_nothing() {
    let (next_hop, received) = peer();
    let server = start_with("relay-closed", |o| {
        o.outbound.smarthost = Some(("127.0.0.1".to_owned(), next_hop.port()));
    });
    let script = r#"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
try:
    s.sendmail("a@remote.example", ["carol@elsewhere.example"], b"Subject: x\r\n\r\ny\r\n")
    print("accepted")
except smtplib.SMTPRecipientsRefused as e:
    print("refused", e.recipients["carol@elsewhere.example"][0])
"#;
    let out = python(script, &[&server.smtp.port().to_string()]);
    assert!(out.contains("refused 554"), "{out}");
    assert!(received.recv_timeout(Duration::from_secs(2)).is_err());
}

fn mailctl(args: &[&str]) -> (bool, String) {
    run(std::process::Command::new(env!("CARGO_BIN_EXE_mailctl")).args(args))
}

/// `mailctl queue`: a message the next hop did not take (nothing listens there) is listed
/// as pending with the failure, made due again, and deleted.
#[test]
fn mailctl_lists_retries_and_deletes_queued_mail() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = start_with("relay-queue", |o| {
        o.outbound.smarthost = Some(("127.0.0.1".to_owned(), closed.port()));
    });
    let out = python(SUBMIT, &[&server.submission.port().to_string()]);
    assert!(out.contains("refused {}"), "{out}");
    let dir = server.data_dir.to_str().unwrap();
    // The first attempt fails at once (connection refused) and is recorded.
    let mut listed = String::new();
    for _ in 0..100 {
        let (ok, text) = mailctl(&["queue", "list", "--data-dir", dir]);
        assert!(ok, "{text}");
        listed = text;
        if listed.contains("1/1") && listed.contains(" in ") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(listed.contains("1 messages"), "{listed}");
    assert!(listed.contains("<alice@example.org>"), "{listed}");
    let id = listed
        .lines()
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let (ok, shown) = mailctl(&["queue", "show", &id, "--data-dir", dir]);
    assert!(ok, "{shown}");
    assert!(
        shown.contains("<carol@elsewhere.example> pending"),
        "{shown}"
    );
    assert!(shown.contains("attempts:     1"), "{shown}");
    assert!(
        !shown.contains("bob@example.org"),
        "local copies are not queued: {shown}"
    );
    let (ok, text) = mailctl(&["queue", "retry", &id, "--data-dir", dir]);
    assert!(ok && text.contains(&format!("{id}: due now")), "{text}");
    let (ok, text) = mailctl(&["queue", "delete", &id, "--data-dir", dir]);
    assert!(ok && text.contains("deleted"), "{text}");
    let (ok, text) = mailctl(&["queue", "list", "--data-dir", dir]);
    assert!(ok && text.contains("0 messages"), "{text}");
    let (ok, text) = mailctl(&["queue", "show", "../etc", "--data-dir", dir]);
    assert!(!ok && text.contains("not a queue id"), "{text}");
}
