//! TLS on every listener, with real clients: swaks (STARTTLS, implicit TLS, AUTH on
//! submission), curl (IMAPS, IMAP STARTTLS, POP3S), Python's imaplib and poplib (implicit
//! TLS and STARTTLS/STLS), and STARTTLS injection over a real socket. The server's
//! certificate is the self-signed one it generates, so clients skip verification.
//!
//! These need the clients installed; `.ci/run` installs them. A missing client fails the
//! test rather than skipping it.

mod common;

use std::{process::Command, time::Duration};

use common::{TestServer, python, run, start, start_with};
use examples::tls::{self, Stream, TlsConnector, Verify};
use rustls::pki_types::ServerName;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

fn swaks(server: &TestServer, port: u16, extra: &[&str]) -> (bool, String) {
    let port = port.to_string();
    let mut args = vec![
        "--server",
        "127.0.0.1",
        "--port",
        &port,
        "--from",
        "alice@example.org",
        "--to",
        "alice@example.org",
        "--helo",
        "client.test",
        "--header",
        "Subject: tls test",
        "--body",
        "hello over TLS",
        "--timeout",
        "20",
    ];
    args.extend_from_slice(extra);
    let _ = server;
    run(Command::new("swaks").args(&args))
}

fn inbox_len(server: &TestServer) -> usize {
    server.messages("alice", "INBOX").len()
}

#[test]
fn swaks_starttls_on_smtp() {
    let server = start("tls-swaks-starttls");
    let (ok, log) = swaks(&server, server.smtp.port(), &["-tls"]);
    assert!(ok, "{log}");
    assert!(log.contains("STARTTLS"), "{log}");
    assert!(log.contains("TLS started"), "{log}");
    assert_eq!(inbox_len(&server), 1);
}

#[test]
fn swaks_tls_on_connect_to_smtps() {
    let server = start("tls-swaks-smtps");
    let (ok, log) = swaks(&server, server.smtps.port(), &["--tls-on-connect"]);
    assert!(ok, "{log}");
    assert!(log.contains("TLS started"), "{log}");
    // No STARTTLS offered on a connection that is TLS already.
    assert!(!log.contains("250-STARTTLS"), "{log}");
    assert_eq!(inbox_len(&server), 1);
}

#[test]
fn submission_needs_auth_plain_and_login_work_over_starttls() {
    let server = start("tls-submission");
    let port = server.submission.port();
    // Without AUTH: MAIL is refused.
    let (ok, log) = swaks(&server, port, &["-tls"]);
    assert!(!ok, "{log}");
    assert!(log.contains("530"), "{log}");
    // A wrong password.
    let (ok, log) = swaks(
        &server,
        port,
        &[
            "-tls",
            "--auth",
            "PLAIN",
            "--auth-user",
            "alice",
            "--auth-password",
            "wrong",
        ],
    );
    assert!(!ok, "{log}");
    assert!(log.contains("535"), "{log}");
    assert_eq!(inbox_len(&server), 0);
    for mech in ["PLAIN", "LOGIN"] {
        let (ok, log) = swaks(
            &server,
            port,
            &[
                "-tls",
                "--auth",
                mech,
                "--auth-user",
                "alice",
                "--auth-password",
                "secret",
            ],
        );
        assert!(ok, "{mech}: {log}");
        assert!(log.contains("235"), "{mech}: {log}");
    }
    assert_eq!(inbox_len(&server), 2);
}

#[test]
fn auth_is_offered_only_over_tls_without_loopback_exemption() {
    let server = start_with("tls-no-plaintext", |o| o.allow_plaintext_loopback = false);
    // SMTP AUTH without TLS: refused (538) even from loopback.
    let (ok, log) = swaks(
        &server,
        server.submission.port(),
        &[
            "--auth",
            "PLAIN",
            "--auth-user",
            "alice",
            "--auth-password",
            "secret",
        ],
    );
    assert!(!ok, "{log}");
    // With STARTTLS it works.
    let (ok, log) = swaks(
        &server,
        server.submission.port(),
        &[
            "-tls",
            "--auth",
            "PLAIN",
            "--auth-user",
            "alice",
            "--auth-password",
            "secret",
        ],
    );
    assert!(ok, "{log}");
    // IMAP LOGIN and POP3 USER/PASS in plaintext: refused; over TLS: fine.
    python(
        r#"
import imaplib, poplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
imap, imaps, pop, pops = (int(a) for a in sys.argv[1:5])
M = imaplib.IMAP4("127.0.0.1", imap)
assert "LOGINDISABLED" in M.capabilities, M.capabilities
try:
    M.login("alice", "secret"); raise SystemExit("plaintext IMAP LOGIN accepted")
except imaplib.IMAP4.error:
    pass
M = imaplib.IMAP4_SSL("127.0.0.1", imaps, ssl_context=ctx); M.login("alice", "secret"); M.logout()
p = poplib.POP3("127.0.0.1", pop, timeout=10)
try:
    p.user("alice"); p.pass_("secret"); raise SystemExit("plaintext POP3 login accepted")
except poplib.error_proto:
    pass
p = poplib.POP3_SSL("127.0.0.1", pops, timeout=10, context=ctx); p.user("alice"); p.pass_("secret"); p.quit()
"#,
        &[
            &server.imap.port().to_string(),
            &server.imaps.port().to_string(),
            &server.pop3.port().to_string(),
            &server.pop3s.port().to_string(),
        ],
    );
}

#[test]
fn curl_imaps_and_imap_starttls() {
    let server = start("tls-curl-imap");
    server.deliver(&["alice@example.org"], b"Subject: hi\r\n\r\nbody\r\n");
    for url in [
        format!("imaps://127.0.0.1:{}/INBOX;UID=1", server.imaps.port()),
        format!("imap://127.0.0.1:{}/INBOX;UID=1", server.imap.port()),
    ] {
        let (ok, log) = run(Command::new("curl").args([
            "-sS",
            "-k",
            "--ssl-reqd",
            "--max-time",
            "20",
            &url,
            "-u",
            "alice:secret",
        ]));
        assert!(ok, "{url}: {log}");
        assert!(log.contains("Subject: hi"), "{url}: {log}");
    }
    let (ok, log) = run(Command::new("curl").args([
        "-sS",
        "-k",
        "--max-time",
        "20",
        &format!("pop3s://127.0.0.1:{}/1", server.pop3s.port()),
        "-u",
        "alice:secret",
    ]));
    assert!(ok, "{log}");
    assert!(log.contains("Subject: hi"), "{log}");
}

#[test]
fn python_imap_and_pop3_over_tls() {
    let server = start("tls-python");
    server.deliver(&["alice@example.org"], b"Subject: one\r\n\r\nfirst\r\n");
    python(
        r#"
import imaplib, poplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
imap, imaps, pop, pops = (int(a) for a in sys.argv[1:5])
M = imaplib.IMAP4_SSL("127.0.0.1", imaps, ssl_context=ctx)
assert "STARTTLS" not in M.capabilities, M.capabilities
M.login("alice", "secret"); M.select("INBOX")
typ, data = M.uid("FETCH", "1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert b"Subject: one" in data[0][1], data
M.logout()
M = imaplib.IMAP4("127.0.0.1", imap)
assert "STARTTLS" in M.capabilities, M.capabilities
M.starttls(ssl_context=ctx)
M.login("alice", "secret"); M.select("INBOX")
typ, data = M.uid("SEARCH", None, "ALL"); assert data == [b"1"], data
M.logout()
p = poplib.POP3_SSL("127.0.0.1", pops, timeout=10, context=ctx)
assert "STLS" not in p.capa(), p.capa()
p.user("alice"); p.pass_("secret")
assert p.stat()[0] == 1
p.quit()
p = poplib.POP3("127.0.0.1", pop, timeout=10)
assert "STLS" in p.capa(), p.capa()
p.stls(context=ctx)
p.user("alice"); p.pass_("secret")
resp, lines, octets = p.retr(1)
assert b"Subject: one" in lines, lines
p.quit()
"#,
        &[
            &server.imap.port().to_string(),
            &server.imaps.port().to_string(),
            &server.pop3.port().to_string(),
            &server.pop3s.port().to_string(),
        ],
    );
}

/// A line-oriented client over [`Stream`], to switch to TLS mid-connection.
struct Client {
    io: BufReader<Stream>,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr) -> Self {
        let tcp = TcpStream::connect(addr).await.unwrap();
        Self {
            io: BufReader::new(Stream::Plain(tcp)),
        }
    }

    async fn line(&mut self) -> String {
        let mut s = String::new();
        let n = tokio::time::timeout(Duration::from_secs(10), self.io.read_line(&mut s))
            .await
            .expect("timed out waiting for a line")
            .unwrap();
        assert!(n > 0, "connection closed");
        s.trim_end().to_owned()
    }

    /// Lines until one that starts with `prefix`, which is returned.
    async fn until(&mut self, prefix: &str) -> String {
        loop {
            let l = self.line().await;
            if l.starts_with(prefix) {
                return l;
            }
        }
    }

    async fn send(&mut self, text: &str) {
        let w = self.io.get_mut();
        w.write_all(text.as_bytes()).await.unwrap();
        w.flush().await.unwrap();
    }

    async fn start_tls(&mut self) {
        assert!(self.io.buffer().is_empty(), "plaintext left over");
        let connector = TlsConnector::from(tls::client_config(&Verify::Insecure).unwrap());
        let name = ServerName::try_from("localhost").unwrap();
        self.io
            .get_mut()
            .connect_tls(&connector, name)
            .await
            .unwrap();
    }
}

/// Commands pipelined behind STARTTLS/STLS in the same write (CVE-2011-0411) do not run:
/// after the handshake the session is as if they were never sent.
#[test]
fn starttls_injection_is_discarded() {
    let server = start("tls-injection");
    server.runtime.block_on(async {
        // SMTP: MAIL pipelined behind STARTTLS; over TLS, RCPT finds no transaction.
        let mut c = Client::connect(server.smtp).await;
        c.until("220 ").await;
        c.send("EHLO client.test\r\n").await;
        c.until("250 ").await;
        c.send("STARTTLS\r\nMAIL FROM:<evil@remote.example>\r\n")
            .await;
        assert!(c.line().await.starts_with("220 "));
        c.start_tls().await;
        c.send("EHLO client.test\r\n").await;
        c.until("250 ").await;
        c.send("RCPT TO:<alice@example.org>\r\n").await;
        let rcpt = c.line().await;
        assert!(rcpt.starts_with("503 "), "{rcpt}");

        // IMAP: LOGIN pipelined behind STARTTLS; over TLS, SELECT is refused.
        let mut c = Client::connect(server.imap).await;
        c.until("* OK").await;
        c.send("a STARTTLS\r\nb LOGIN alice secret\r\n").await;
        let ok = c.until("a ").await;
        assert!(ok.starts_with("a OK"), "{ok}");
        c.start_tls().await;
        c.send("c SELECT INBOX\r\n").await;
        let select = c.until("c ").await;
        assert!(!select.starts_with("c OK"), "{select}");
        c.send("d LOGIN alice secret\r\n").await;
        let login = c.until("d ").await;
        assert!(login.starts_with("d OK"), "{login}");

        // POP3: USER pipelined behind STLS; over TLS, PASS has no user.
        let mut c = Client::connect(server.pop3).await;
        c.until("+OK").await;
        c.send("STLS\r\nUSER alice\r\n").await;
        assert!(c.line().await.starts_with("+OK"));
        c.start_tls().await;
        c.send("PASS secret\r\n").await;
        let pass = c.line().await;
        assert!(pass.starts_with("-ERR"), "{pass}");
    });
    assert_eq!(inbox_len(&server), 0);
}

/// ALPACA: a TLS client that offers ALPN for another protocol (a browser's `http/1.1`) is
/// refused in the handshake on IMAPS and POP3S, whose ALPN IDs (`imap`, `pop3`) are
/// registered; one that offers the right ID, or none, is served. SMTP has no registered ID,
/// so its listeners do not negotiate ALPN.
#[test]
fn alpn_for_another_protocol_is_refused() {
    let server = start("tls-alpn");
    server.runtime.block_on(async {
        let handshake = |addr: std::net::SocketAddr, alpn: &'static [u8]| async move {
            let mut config = (*tls::client_config(&Verify::Insecure).unwrap()).clone();
            if !alpn.is_empty() {
                config.alpn_protocols = vec![alpn.to_vec()];
            }
            let mut stream = Stream::Plain(TcpStream::connect(addr).await.unwrap());
            let name = ServerName::try_from("localhost").unwrap();
            let done = stream
                .connect_tls(&TlsConnector::from(std::sync::Arc::new(config)), name)
                .await;
            let mut greeting = String::new();
            if done.is_ok() {
                let mut io = BufReader::new(stream);
                let read =
                    tokio::time::timeout(Duration::from_secs(10), io.read_line(&mut greeting));
                read.await.expect("no greeting").unwrap();
            }
            (done.is_ok(), greeting)
        };
        for (addr, own) in [(server.imaps, &b"imap"[..]), (server.pop3s, b"pop3")] {
            let (ok, _) = handshake(addr, b"http/1.1").await;
            assert!(!ok, "{addr}: http/1.1 was served");
            for alpn in [own, b""] {
                let (ok, greeting) = handshake(addr, alpn).await;
                assert!(
                    ok && greeting.contains("OK"),
                    "{addr} {alpn:?}: {greeting:?}"
                );
            }
        }
        let (ok, greeting) = handshake(server.smtps, b"http/1.1").await;
        assert!(ok && greeting.starts_with("220 "), "{greeting:?}");
    });
}

/// Plaintext sent after the STARTTLS reply but before the handshake is not a handshake:
/// the connection fails rather than running it.
#[test]
fn plaintext_after_starttls_reply_fails_the_handshake() {
    let server = start("tls-late-injection");
    server.runtime.block_on(async {
        let mut c = Client::connect(server.smtp).await;
        c.until("220 ").await;
        c.send("EHLO client.test\r\nSTARTTLS\r\n").await;
        c.until("220 ").await;
        c.send("MAIL FROM:<evil@remote.example>\r\n").await;
        let mut s = String::new();
        let r = tokio::time::timeout(Duration::from_secs(10), c.io.read_line(&mut s)).await;
        // The server closed the connection (after a TLS alert, which is no line of SMTP).
        let r = r.expect("the server neither answered nor closed");
        assert!(!s.starts_with("250"), "{s}");
        // 0x15: a TLS alert record (the handshake failed on the plaintext).
        assert!(
            matches!(r, Ok(0) | Err(_)) || s.starts_with('\u{15}'),
            "{s:?}"
        );
    });
}

/// The self-signed certificate is generated once and reused at the next start.
#[test]
fn self_signed_certificate_is_kept() {
    let dir = std::env::temp_dir().join(format!("tls-selfsigned-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (cert, key) = tls::self_signed(&dir, "mail.example.org").unwrap();
    let first = (std::fs::read(&cert).unwrap(), std::fs::read(&key).unwrap());
    assert!(first.0.starts_with(b"-----BEGIN CERTIFICATE-----"));
    let again = tls::self_signed(&dir, "mail.example.org").unwrap();
    assert_eq!(again, (cert.clone(), key.clone()));
    assert_eq!(
        (std::fs::read(&cert).unwrap(), std::fs::read(&key).unwrap()),
        first
    );
    // And it loads, as --cert/--key would.
    assert!(tls::load_pem(&cert, &key).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Python's smtplib: STARTTLS then login on submission, SMTP_SSL then login on SMTPS; curl
/// over SMTPS and with --ssl-reqd on submission.
#[test]
fn smtplib_and_curl_submit_over_tls() {
    let server = start("tls-smtplib");
    python(
        r#"
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
sub, smtps = int(sys.argv[1]), int(sys.argv[2])
raw = b"Subject: smtplib\r\n\r\nbody\r\n"
s = smtplib.SMTP("127.0.0.1", sub, timeout=10)
s.ehlo("client.test")
assert s.has_extn("starttls")
s.starttls(context=ctx)
s.ehlo("client.test")
assert not s.has_extn("starttls")
s.login("alice", "secret")
assert not s.sendmail("alice@example.org", ["alice@example.org"], raw)
s.quit()
s = smtplib.SMTP_SSL("127.0.0.1", smtps, timeout=10, context=ctx)
s.login("alice", "secret")
assert not s.sendmail("alice@example.org", ["alice@example.org"], raw)
s.quit()
"#,
        &[
            &server.submission.port().to_string(),
            &server.smtps.port().to_string(),
        ],
    );
    let dir = std::env::temp_dir().join(format!("tls-curl-smtp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let msg = dir.join("msg.eml");
    std::fs::write(&msg, b"Subject: curl\r\n\r\nbody\r\n").unwrap();
    for url in [
        format!("smtps://127.0.0.1:{}", server.smtps.port()),
        format!("smtp://127.0.0.1:{}", server.submission.port()),
    ] {
        let (ok, log) = run(Command::new("curl").args([
            "-sS",
            "-k",
            "--ssl-reqd",
            "--max-time",
            "20",
            &url,
            "-u",
            "alice:secret",
            "--mail-from",
            "alice@example.org",
            "--mail-rcpt",
            "alice@example.org",
            "--upload-file",
            msg.to_str().unwrap(),
        ]));
        assert!(ok, "{url}: {log}");
    }
    assert_eq!(inbox_len(&server), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--cert`/`--key`: the server presents the given certificate (a client trusting only it
/// connects), and a missing file stops the start with its name.
#[test]
fn certificate_from_files() {
    let dir = std::env::temp_dir().join(format!("tls-cert-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (cert, key) = tls::self_signed(&dir, "files.example.org").unwrap();
    let server = start_with("tls-cert-files", |o| {
        o.cert = tls::CertSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        };
    });
    assert!(!server.data_dir.join("tls/cert.pem").exists());
    let imaps = server.imaps;
    server.runtime.block_on(async {
        let connector =
            TlsConnector::from(tls::client_config(&Verify::CaFile(cert.clone())).unwrap());
        let tcp = TcpStream::connect(imaps).await.unwrap();
        let mut stream = Stream::Plain(tcp);
        stream
            .connect_tls(&connector, ServerName::try_from("localhost").unwrap())
            .await
            .unwrap();
        let mut io = BufReader::new(stream);
        let mut greeting = String::new();
        io.read_line(&mut greeting).await.unwrap();
        assert!(greeting.starts_with("* OK"), "{greeting}");
    });

    let data_dir = dir.join("data");
    let mut options = examples::server::Options::new(&data_dir, "x", common::directory());
    options.cert = tls::CertSource::Files {
        cert: dir.join("missing.pem"),
        key,
    };
    let err = server
        .runtime
        .block_on(examples::server::start(options))
        .unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
