//! Connection limits (per client address and in total) and graceful shutdown: in process
//! through `Running::shutdown`, and the `mailserver` binary on SIGINT.

mod common;

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{Raw, directory, start_with};
use examples::server::{self, Options};
use sansmail_server::listener::ConnectionLimits;

/// Retries `f` until it returns true or 10 s pass.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The greeting line of a fresh connection, read raw.
fn greeting(addr: SocketAddr) -> String {
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut line = String::new();
    let _ = BufReader::new(stream).read_line(&mut line);
    line
}

#[test]
fn per_address_limit() {
    let server = start_with("limit-per-ip", |o| {
        o.limits = ConnectionLimits {
            total: 100,
            per_ip: 2,
        };
    });
    // Two connections (over different protocols: the limit is for the whole server).
    let a = Raw::connect(server.imap);
    let b = Raw::connect(server.pop3);
    // The third is told and closed, in each protocol's words.
    let imap = greeting(server.imap);
    assert!(imap.starts_with("* BYE"), "{imap}");
    let smtp = greeting(server.smtp);
    assert!(smtp.starts_with("421 4.7.0"), "{smtp}");
    let pop3 = greeting(server.pop3);
    assert!(pop3.starts_with("-ERR"), "{pop3}");
    // Over implicit TLS too, the refusal comes after the handshake; a plain read sees no
    // greeting.
    let imaps = greeting(server.imaps);
    assert!(!imaps.starts_with("* OK"), "{imaps}");
    // One closes: a new connection is welcome again.
    drop(a);
    eventually("the slot was not released", || {
        greeting(server.imap).starts_with("* OK")
    });
    drop(b);
}

#[test]
fn total_limit() {
    let server = start_with("limit-total", |o| {
        o.limits = ConnectionLimits {
            total: 1,
            per_ip: 10,
        };
    });
    let held = std::net::TcpStream::connect(server.smtp).unwrap();
    held.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut line = String::new();
    BufReader::new(&held).read_line(&mut line).unwrap();
    assert!(line.starts_with("220 "), "{line}");
    let smtp = greeting(server.smtp);
    assert!(smtp.starts_with("421 "), "{smtp}");
    drop(held);
    eventually("the slot was not released", || {
        greeting(server.smtp).starts_with("220 ")
    });
}

/// Refused clients are told why only as many at a time as connections may be open (at
/// least `MIN_TELLING`): past that a refused connection is closed at once. On an
/// implicit-TLS port each refusal waits for the client's handshake, so without the bound
/// every silent client over the limit would hold a socket and a task for the whole refusal
/// timeout.
#[test]
fn refusals_past_the_limit_are_closed_untold() {
    use sansmail_server::listener::{MIN_TELLING, REFUSAL_TIMEOUT};
    let server = start_with("limit-telling", |o| {
        o.limits = ConnectionLimits {
            total: 1,
            per_ip: 1000,
        };
    });
    let _held = Raw::connect(server.imap);
    // Accepted in the order they connect: these refusals wait for their handshakes...
    let silent: Vec<std::net::TcpStream> = (0..MIN_TELLING)
        .map(|_| std::net::TcpStream::connect(server.imaps).unwrap())
        .collect();
    // ...so this one is closed untold, well before the refusal timeout.
    let next = std::net::TcpStream::connect(server.imaps).unwrap();
    next.set_read_timeout(Some(REFUSAL_TIMEOUT / 2)).unwrap();
    let mut buf = [0u8; 64];
    match (&next).read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the refused connection past the bound was not closed: {other:?}"),
    }
    // The first is still being told.
    let first = &silent[0];
    first
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let waiting = (&*first).read(&mut buf);
    assert!(
        waiting.as_ref().is_err_and(|e| matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )),
        "{waiting:?}"
    );
}

/// Shutdown closes connections that wait for their client (IMAP BYE, SMTP 421 mid-message
/// with nothing delivered and nothing left in the spool, POP3 -ERR without deleting), stops
/// accepting, and returns once every connection is gone.
#[test]
fn graceful_shutdown_in_process() {
    let data_dir = std::env::temp_dir().join(format!("shutdown-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let any = || Some("127.0.0.1:0".parse().unwrap());
    let mut options = Options::new(data_dir.clone(), "mail.example.org", directory());
    options.smtp = any();
    options.imap = any();
    options.pop3 = any();
    let running = runtime.block_on(server::start(options)).unwrap();
    let (smtp, imap, pop3) = (
        running.smtp.unwrap(),
        running.imap.unwrap(),
        running.pop3.unwrap(),
    );

    // Something to keep in POP3.
    let mut c = Raw::connect(smtp);
    c.send("EHLO client.test");
    c.until("250 ");
    c.send("MAIL FROM:<a@remote.example>");
    c.line();
    c.send("RCPT TO:<alice@example.org>");
    c.line();
    c.send("DATA");
    c.line();
    c.send("Subject: kept\r\n\r\nkept\r\n.");
    assert!(c.line().starts_with("250"));
    c.send("QUIT");
    c.line();

    let mut i = Raw::connect(imap);
    i.command("a1", "LOGIN alice secret");
    i.command("a2", "SELECT INBOX");
    let mut p = Raw::connect(pop3);
    p.send("USER alice");
    p.line();
    p.send("PASS secret");
    assert!(p.line().starts_with("+OK"));
    p.send("DELE 1");
    assert!(p.line().starts_with("+OK"));
    let mut s = Raw::connect(smtp);
    s.send("EHLO client.test");
    s.until("250 ");
    s.send("MAIL FROM:<a@remote.example>");
    s.line();
    s.send("RCPT TO:<alice@example.org>");
    s.line();
    s.send("DATA");
    assert!(s.line().starts_with("354"));
    s.send("Subject: half\r\n\r\nonly half of it");

    let store = std::sync::Arc::clone(&running.store);
    let left = runtime.block_on(running.shutdown(Duration::from_secs(10)));
    assert_eq!(left, 0);
    assert!(i.line().starts_with("* BYE"));
    assert!(i.closed());
    assert!(s.line().starts_with("421 4.3.2"));
    assert!(s.closed());
    assert!(p.line().starts_with("-ERR"));
    assert!(p.closed());
    // No longer accepting.
    for addr in [smtp, imap, pop3] {
        let refused = std::net::TcpStream::connect(addr).map_or(true, |mut c| {
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            matches!(c.read(&mut [0u8; 64]), Ok(0) | Err(_))
        });
        assert!(refused, "{addr} still answers");
    }
    // The kept message is still there (POP3 did not commit), the half one never arrived,
    // and nothing is left in the spool or a tmp/ folder.
    let session =
        sansmail_store::Session::new(sansmail_store::AccountName::try_from("alice").unwrap());
    let messages = runtime
        .block_on(sansmail_store::MailStore::fetch(
            &*store,
            &session,
            "INBOX",
            &sansmail_store::UidSet::all(),
            sansmail_store::FetchQuery::meta(),
        ))
        .unwrap();
    assert_eq!(messages.len(), 1);
    let leftovers: Vec<_> = walk(&data_dir)
        .into_iter()
        .filter(|p| {
            p.strip_prefix(&data_dir)
                .unwrap()
                .components()
                .any(|c| c.as_os_str() == "tmp" || c.as_os_str() == ".spool")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(runtime);
    let _ = std::fs::remove_dir_all(&data_dir);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// The binary stops on SIGINT: it says so, closes an idle IMAP connection with BYE and
/// exits 0.
#[test]
fn mailserver_stops_on_sigint() {
    let data_dir = std::env::temp_dir().join(format!("sigint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let any = "127.0.0.1:0";
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailserver"))
        .args(["--smtp", any, "--submission", "none", "--smtps", "none"])
        .args([
            "--imap", any, "--imaps", "none", "--pop3", "none", "--pop3s", "none",
        ])
        .args(["--user", "alice:secret", "--domain", "example.org"])
        .arg("--data-dir")
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut imap = None;
    let mut line = String::new();
    while imap.is_none() {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "mailserver exited");
        if let Some(addr) = line.trim().strip_prefix("imap listening on ") {
            imap = Some(addr.parse::<SocketAddr>().unwrap());
        }
    }
    let mut c = Raw::connect(imap.unwrap());
    c.command("a1", "LOGIN alice secret");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(c.line().starts_with("* BYE"));
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(
        rest.contains("shutting down") && rest.contains("stopped"),
        "{rest}"
    );
    assert!(child.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&data_dir);
}
