//! The mailserver binary in a child process, and small clients for tests/deploy.rs.
#![allow(dead_code, clippy::unwrap_used)]

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// A directory removed at the end.
pub struct Tmp(PathBuf);

impl Tmp {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("deploy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Repeats `f` until it gives something or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(t) = f() {
            return Some(t);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An Argon2id hash for a users file.
pub fn hash(password: &str) -> String {
    sansmail_server::passwd_file::hash_password(password).unwrap()
}

/// The running binary: where it listens (from its standard output) and its log.
pub struct Mailserver {
    child: Child,
    addrs: HashMap<String, SocketAddr>,
    stdout: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Mailserver {
    /// Starts `mailserver ARGS` and waits until it listens.
    pub fn start(args: &[&str]) -> Self {
        Self::spawn(Command::new(env!("CARGO_BIN_EXE_mailserver")).args(args))
    }

    /// [`Mailserver::start`] with every listener on a free loopback port (the tests run at
    /// once, and the defaults are fixed ports) and `args` after, overriding.
    pub fn start_on_any_ports(args: &[&str]) -> Self {
        Self::spawn(
            Command::new(env!("CARGO_BIN_EXE_mailserver"))
                .args(Self::any_ports())
                .args(args),
        )
    }

    /// The arguments that put every listener on a free loopback port.
    pub fn any_ports() -> Vec<String> {
        let mut all = Vec::new();
        for listener in [
            "smtp",
            "submission",
            "smtps",
            "imap",
            "imaps",
            "pop3",
            "pop3s",
        ] {
            all.extend([format!("--{listener}"), "127.0.0.1:0".to_owned()]);
        }
        all
    }

    /// [`Mailserver::start`] in the directory `dir`.
    pub fn start_in(dir: &Path, args: &[&str]) -> Self {
        Self::spawn(
            Command::new(env!("CARGO_BIN_EXE_mailserver"))
                .args(args)
                .current_dir(dir),
        )
    }

    /// Runs `cmd` (the mailserver, or something that execs it) and waits until it listens.
    pub fn spawn(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut addrs = HashMap::new();
        let mut stdout = Vec::new();
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                let status = child.wait().unwrap();
                panic!(
                    "mailserver ended ({status}) before listening:\n{}\n{}",
                    stdout.join(""),
                    stderr.lock().unwrap()
                );
            }
            if let Some((what, addr)) = line.trim().split_once(" listening on ") {
                addrs.insert(what.to_owned(), addr.parse().unwrap());
            }
            let done = line.starts_with("metrics ");
            stdout.push(line);
            if done {
                break;
            }
        }
        // The rest of standard output, so the server never blocks writing it.
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = out.read_to_string(&mut rest);
        });
        Self {
            child,
            addrs,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn addr(&self, listener: &str) -> Option<SocketAddr> {
        self.addrs.get(listener).copied()
    }

    /// The demo account's password, when the server announced one.
    pub fn demo_password(&self) -> Option<String> {
        self.stdout.iter().find_map(|l| {
            l.split_once(" with password ")
                .map(|(_, p)| p.trim().to_owned())
        })
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends a signal by name (`HUP`, `TERM`).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    /// `SIGHUP`, then waits until the log has one more line containing `marker`.
    pub fn reload_and_wait(&self, marker: &str) {
        let before = self.stderr().matches(marker).count();
        self.signal("HUP");
        let seen = wait_for(Duration::from_secs(20), || {
            (self.stderr().matches(marker).count() > before).then_some(())
        });
        assert!(
            seen.is_some(),
            "no {marker:?} after SIGHUP:\n{}",
            self.stderr()
        );
    }

    /// `SIGTERM` and the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        let end = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < end,
                "mailserver did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Mailserver {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let end = Instant::now() + Duration::from_secs(10);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A line-at-a-time IMAP (or POP3) client over plaintext.
pub struct Imap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

impl Imap {
    /// Connected, greeting read.
    pub fn connect(addr: SocketAddr) -> Self {
        let mut c = Self::connect_raw(addr);
        let greeting = c.line();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        c
    }

    /// Connected, nothing read.
    pub fn connect_raw(addr: SocketAddr) -> Self {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Self {
            reader: BufReader::new(tcp.try_clone().unwrap()),
            writer: tcp,
            tag: 0,
        }
    }

    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line
    }

    pub fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
    }

    /// Sends a tagged command; returns the tagged answer's status word.
    fn command(&mut self, cmd: &str) -> String {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        self.send(&format!("{tag} {cmd}"));
        loop {
            let line = self.line();
            assert!(!line.is_empty(), "connection closed during {cmd}");
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                return rest.split_whitespace().next().unwrap_or("").to_owned();
            }
        }
    }

    pub fn ok(&mut self, cmd: &str) {
        assert_eq!(self.command(cmd), "OK", "{cmd}");
    }

    pub fn no(&mut self, cmd: &str) {
        assert_eq!(self.command(cmd), "NO", "{cmd}");
    }
}

/// `GET path` over HTTP/1.0; the whole answer.
pub fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(tcp, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).unwrap();
    out
}

fn insecure() -> Arc<rustls::ClientConfig> {
    sansmail_core::tls::client_config(&sansmail_core::tls::Verify::Insecure).unwrap()
}

/// The certificate an implicit-TLS listener presents (DER).
pub fn peer_certificate(addr: SocketAddr) -> Vec<u8> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(insecure(), name).unwrap();
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).unwrap();
    }
    conn.peer_certificates().unwrap()[0].as_ref().to_vec()
}

/// A PEM certificate's DER.
pub fn der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}

/// Completes a TLS handshake with an implicit-TLS listener, reads the greeting, and closes
/// the socket without TLS `close_notify`.
pub fn tls_and_vanish(addr: SocketAddr) {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(insecure(), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut line = [0u8; 64];
    let n = tls.read(&mut line).unwrap();
    assert!(line[..n].starts_with(b"* OK"));
    // Dropped: the TCP connection closes with no close_notify.
}

/// The JSON objects among `text`'s lines.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
