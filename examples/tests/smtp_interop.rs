//! Real SMTP clients (swaks, Python's smtplib, curl) deliver to the example server.
//!
//! These need the clients installed; `.ci/run` installs them. A missing client fails the test
//! rather than skipping it, so CI cannot pass without having run it.

mod common;

use std::{collections::HashMap, net::SocketAddr, path::PathBuf, process::Command, sync::Arc};

use examples::server::{self, Options, Store};
use sansmail_server::passwd_file::Directory;
use sansmail_store::{AccountName, FetchQuery, MailStore, Session, UidSet, model::Content};

struct TestServer {
    addr: SocketAddr,
    data_dir: PathBuf,
    store: Arc<Store>,
    runtime: tokio::runtime::Runtime,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn start(name: &str) -> TestServer {
    let data_dir = std::env::temp_dir().join(format!("smtp-interop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let directory = Directory {
        domains: vec!["example.org".into()],
        users: HashMap::from([
            ("alice".into(), "secret".into()),
            ("bob".into(), "hunter2".into()),
        ]),
        postmaster: "alice".into(),
        senders: HashMap::new(),
    };
    let mut options = Options::new(data_dir.clone(), "mx.example.org", directory);
    options.smtp = Some("127.0.0.1:0".parse().unwrap());
    let running = runtime.block_on(server::start(options)).unwrap();
    TestServer {
        addr: running.smtp.unwrap(),
        data_dir,
        store: running.store,
        runtime,
    }
}

/// The messages in `user`'s INBOX, read back through the store.
fn messages(server: &TestServer, user: &str) -> Vec<Vec<u8>> {
    let session = Session::new(AccountName::try_from(user).unwrap());
    let query = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    server
        .runtime
        .block_on(server.store.fetch(&session, "INBOX", &UidSet::all(), query))
        .unwrap()
        .into_iter()
        .map(|m| common::strip_trace(&m.content.unwrap()).to_vec())
        .collect()
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?} (is it installed? .ci/run installs it): {e}")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn swaks(server: &TestServer, extra: &[&str]) -> (bool, String) {
    run(Command::new("swaks")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &server.addr.port().to_string(),
        ])
        .args(["--from", "sender@remote.example", "--helo", "client.test"])
        .args(extra))
}

const BODY: &str = "first line\n.leading dot\n..two dots\n.\nlast line";

#[test]
fn swaks_delivers_plain_and_pipelined() {
    let server = start("swaks");
    for (i, extra) in [&[][..], &["--pipeline"][..]].iter().enumerate() {
        let subject = format!("swaks {i}");
        let mut args = vec![
            "--to",
            "alice@example.org",
            "--header",
            "Subject: SUBJ",
            "--body",
            BODY,
        ];
        args.extend_from_slice(extra);
        let args: Vec<String> = args.iter().map(|a| a.replace("SUBJ", &subject)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, log) = swaks(&server, &args);
        assert!(ok, "swaks {extra:?} failed:\n{log}");
        if extra.contains(&"--pipeline") {
            assert!(log.contains("PIPELINING"), "{log}");
        }
        let got = messages(&server, "alice");
        assert_eq!(got.len(), i + 1);
        let text = String::from_utf8(
            got.iter()
                .find(|m| String::from_utf8_lossy(m).contains(&subject))
                .unwrap()
                .clone(),
        )
        .unwrap();
        assert!(
            text.contains("\r\n\r\nfirst line\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n"),
            "body not intact: {text:?}"
        );
        assert!(!text.contains("\n\n") || text.contains("\r\n\r\n"));
    }
}

#[test]
fn swaks_relay_and_unknown_user_are_refused() {
    let server = start("refuse");
    let (ok, log) = swaks(
        &server,
        &["--to", "someone@elsewhere.example", "--quit-after", "RCPT"],
    );
    assert!(!ok, "relaying must fail:\n{log}");
    assert!(log.contains("554 5.7.1"), "{log}");
    let (ok, log) = swaks(
        &server,
        &["--to", "nobody@example.org", "--quit-after", "RCPT"],
    );
    assert!(!ok);
    assert!(log.contains("550 5.1.1"), "{log}");
    assert!(messages(&server, "alice").is_empty());
}

#[test]
fn python_smtplib_delivers_byte_exact() {
    let server = start("python");
    let script = r#"
import smtplib, sys
port = int(sys.argv[1])
raw = b"From: a@remote.example\r\nTo: alice@example.org, bob@example.org\r\nSubject: py\r\n\r\n.\r\n..\r\nline with 8bit \xc3\xa9\r\n.end\r\n"
s = smtplib.SMTP("127.0.0.1", port, timeout=10)
code, caps = s.ehlo("client.test")
assert code == 250 and b"PIPELINING" in caps, caps
refused = s.sendmail("a@remote.example", ["alice@example.org", "bob@example.org", "ghost@example.org"], raw)
assert list(refused) == ["ghost@example.org"], refused
s.sendmail("", ["Postmaster@example.org"], b"Subject: bounce\r\n\r\nnull sender\r\n")
# This host's postmaster (RFC 5321 section 4.5.1), though mx.example.org is no local domain.
s.sendmail("", ["postmaster@MX.example.org"], b"Subject: to the host\r\n\r\nhost postmaster\r\n")
s.mail("")
code, text = s.rcpt("bob@mx.example.org")
assert code == 554 and b"Relay" in text, (code, text)
s.rset()
s.quit()
"#;
    let (ok, log) =
        run(Command::new("python3").args(["-c", script, &server.addr.port().to_string()]));
    assert!(ok, "smtplib failed:\n{log}");
    let expected: &[u8] = b"From: a@remote.example\r\nTo: alice@example.org, bob@example.org\r\nSubject: py\r\n\r\n.\r\n..\r\nline with 8bit \xc3\xa9\r\n.end\r\n";
    let alice = messages(&server, "alice");
    let bob = messages(&server, "bob");
    assert_eq!(bob, [expected.to_vec()]);
    assert!(alice.contains(&expected.to_vec()));
    assert!(
        alice.iter().any(|m| m.ends_with(b"null sender\r\n")),
        "postmaster goes to alice"
    );
    assert!(
        alice.iter().any(|m| m.ends_with(b"host postmaster\r\n")),
        "postmaster@<hostname> goes to alice"
    );
}

/// smtplib sends `bytes` as they are, so bare LF line ends reach the server; they are stored
/// as CRLF, the trace fields in front, as Postfix's default `smtpd_forbid_bare_newline =
/// normalize` does.
#[test]
fn python_smtplib_bare_lf_is_stored_as_crlf_with_trace_fields() {
    let server = start("python-lf");
    let script = r#"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("client.test")
s.sendmail("a@remote.example", ["bob@example.org"], b"Subject: lf\n\nbare\nline feeds\n.dot\n")
s.quit()
"#;
    let (ok, log) =
        run(Command::new("python3").args(["-c", script, &server.addr.port().to_string()]));
    assert!(ok, "smtplib failed:\n{log}");
    let session = Session::new(AccountName::try_from("bob").unwrap());
    let query = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    let stored = server
        .runtime
        .block_on(server.store.fetch(&session, "INBOX", &UidSet::all(), query))
        .unwrap()
        .remove(0)
        .content
        .unwrap();
    let text = String::from_utf8(stored.clone()).unwrap();
    assert!(
        text.starts_with("Return-Path: <a@remote.example>\r\nReceived: from client.test ([127.0.0.1])\r\n\tby mx.example.org (sansmail) with ESMTP id "),
        "{text:?}"
    );
    assert!(
        text.contains("\r\n\tfor <bob@example.org>;\r\n\t"),
        "{text:?}"
    );
    // smtplib stuffed `.dot` after its LF, and ended the data with a CRLF of its own after
    // the last LF.
    assert_eq!(
        String::from_utf8_lossy(common::strip_trace(&stored)),
        "Subject: lf\r\n\r\nbare\r\nline feeds\r\n.dot\r\n\r\n"
    );
}

#[test]
fn curl_uploads_a_message() {
    let server = start("curl");
    let msg = server.data_dir.join("msg.eml");
    std::fs::write(&msg, "Subject: curl\r\n\r\nvia curl\r\n").unwrap();
    let (ok, log) = run(Command::new("curl")
        .args(["-sS", &format!("smtp://127.0.0.1:{}", server.addr.port())])
        .args([
            "--mail-from",
            "a@remote.example",
            "--mail-rcpt",
            "alice@example.org",
        ])
        .args(["--upload-file", msg.to_str().unwrap()]));
    assert!(ok, "curl failed:\n{log}");
    assert_eq!(
        messages(&server, "alice"),
        [b"Subject: curl\r\n\r\nvia curl\r\n".to_vec()]
    );
}

/// What is stored as delivered: a BINARYMIME message octet for octet, bare CR and LF
/// included (RFC 3030 §3); an internationalized HELO name as its A-label in `Received:`
/// of a message without SMTPUTF8 (RFC 6531 §3.7.3); `<Postmaster>` named with this host in
/// `for`, which takes a Path, and no `Return-Path:` but the server's own (RFC 5321 §4.4).
#[test]
fn stored_messages_keep_binary_and_ascii_trace_fields() {
    use std::io::{BufRead, BufReader, Write};
    let server = start("binary");
    let mut c = std::net::TcpStream::connect(server.addr).unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    // The last line of each reply to what was written.
    let mut replies = |c: &mut std::net::TcpStream, out: &[u8], n: usize| {
        c.write_all(out).unwrap();
        (0..n)
            .map(|_| {
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).unwrap();
                    if line.as_bytes().get(3) != Some(&b'-') {
                        break line;
                    }
                }
            })
            .collect::<Vec<_>>()
    };
    replies(&mut c, b"", 1);
    let body = b"Subject: bin\r\n\r\n\x00\n\r\x01\r\r\n\n";
    let mut out = "EHLO xn--caf-dma.test\r\nMAIL FROM:<b@remote.example> BODY=BINARYMIME\r\n\
                   RCPT TO:<alice@example.org>\r\n"
        .as_bytes()
        .to_vec();
    out.extend_from_slice(format!("BDAT {} LAST\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice("EHLO café.test\r\nMAIL FROM:<b@remote.example>\r\n".as_bytes());
    out.extend_from_slice(b"RCPT TO:<Postmaster>\r\nDATA\r\n");
    let codes: Vec<_> = replies(&mut c, &out, 8)
        .iter()
        .map(|l| l[..3].to_owned())
        .collect();
    assert_eq!(
        codes,
        ["250", "250", "250", "250", "250", "250", "250", "354"]
    );
    let forged = b"Return-Path: <ceo@bank.example>\r\nSubject: idn\r\n\r\nhi\r\n.\r\nQUIT\r\n";
    let codes = replies(&mut c, forged, 2);
    assert!(codes[0].starts_with("250 ") && codes[1].starts_with("221 "));
    let session = Session::new(AccountName::try_from("alice").unwrap());
    let query = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    let stored: Vec<_> = server
        .runtime
        .block_on(server.store.fetch(&session, "INBOX", &UidSet::all(), query))
        .unwrap()
        .into_iter()
        .map(|m| m.content.unwrap())
        .collect();
    assert_eq!(common::strip_trace(&stored[0]), body);
    let trace = String::from_utf8_lossy(&stored[1]).into_owned();
    assert!(
        trace.contains("Received: from xn--caf-dma.test ([127.0.0.1])"),
        "{trace}"
    );
    assert!(
        trace.contains("\r\n\tfor <postmaster@mx.example.org>;"),
        "{trace}"
    );
    // A Return-Path the client wrote is dropped: final delivery writes the one there is.
    assert_eq!(trace.matches("Return-Path:").count(), 1, "{trace}");
    assert!(!trace.contains("ceo@bank.example"), "{trace}");
}

/// A message that has been through 50 hops (with ours, over the 50 `Received:` fields a
/// message may carry) is refused at the end of its data as a mail loop (RFC 5321 §6.3),
/// as Postfix refuses it, not delivered and bounced later; one hop fewer is taken, and so
/// is a message without header fields larger than the header filter's limit.
#[test]
fn a_looping_message_is_refused_at_its_end() {
    use std::io::{BufRead, BufReader, Write};
    let server = start("hops");
    let mut c = std::net::TcpStream::connect(server.addr).unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    let mut last_line = |c: &mut std::net::TcpStream, out: &[u8]| {
        c.write_all(out).unwrap();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                break line;
            }
        }
    };
    assert!(last_line(&mut c, b"").starts_with("220 "));
    assert!(last_line(&mut c, b"EHLO client.test\r\n").starts_with("250 "));
    for (hops, expected) in [(50, "554 5.4.6 "), (49, "250 ")] {
        for line in [
            "MAIL FROM:<a@remote.example>\r\n",
            "RCPT TO:<alice@example.org>\r\n",
            "DATA\r\n",
        ] {
            let answer = last_line(&mut c, line.as_bytes());
            assert!(answer.starts_with(['2', '3']), "{line}{answer}");
        }
        let received = "Received: from a by b; Mon, 7 Dec 2026 00:00:00 +0000\r\n".repeat(hops);
        let message = format!("{received}Subject: hops\r\n\r\nx\r\n.\r\n");
        let answer = last_line(&mut c, message.as_bytes());
        assert!(answer.starts_with(expected), "{hops} hops: {answer}");
    }
    for line in [
        "MAIL FROM:<a@remote.example>\r\n",
        "RCPT TO:<alice@example.org>\r\n",
        "DATA\r\n",
    ] {
        last_line(&mut c, line.as_bytes());
    }
    let headless = format!("\r\n{}.\r\n", "no header at all\r\n".repeat(20_000));
    let answer = last_line(&mut c, headless.as_bytes());
    assert!(answer.starts_with("250 "), "{answer}");
    assert_eq!(messages(&server, "alice").len(), 2);
}
