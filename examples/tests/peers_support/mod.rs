//! Peers for tests/mx_peers.rs: a DNS server answering MX and A queries from a table, a
//! recording SMTP next hop, a plain SMTP sender, and Postfix's tools.
#![allow(dead_code, clippy::unwrap_used)]

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

/// What a name has in the test DNS: MX records (preference, host) and IPv4 addresses.
#[derive(Default, Clone)]
pub struct Zone {
    pub mx: Vec<(u16, String)>,
    pub a: Vec<Ipv4Addr>,
}

const TYPE_A: u16 = 1;
const TYPE_MX: u16 = 15;

/// A DNS server on a free UDP port of 127.0.0.1 answering from `table` (lower-case names
/// without the final dot): NXDOMAIN for names it does not have, an empty answer for types a
/// name lacks.
pub fn dns_server(table: HashMap<String, Zone>) -> SocketAddr {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = udp.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            if let Some(answer) = answer(&table, &buf[..n]) {
                let _ = udp.send_to(&answer, from);
            }
        }
    });
    addr
}

/// The question's name (dotted, lower case) and where the question ends.
fn question_name(query: &[u8]) -> Option<(String, usize)> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*query.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        // No compression in questions from a resolver; refuse anything else.
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    Some((labels.join("."), at))
}

/// `name` in DNS wire form.
fn encode_name(name: &str, out: &mut Vec<u8>) {
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(u8::try_from(label.len()).unwrap());
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

fn answer(table: &HashMap<String, Zone>, query: &[u8]) -> Option<Vec<u8>> {
    let (name, end) = question_name(query)?;
    let qtype = u16::from_be_bytes([*query.get(end)?, *query.get(end + 1)?]);
    let question = query.get(12..end + 4)?;
    let mut records: Vec<(u16, Vec<u8>)> = Vec::new();
    let zone = table.get(&name);
    match (zone, qtype) {
        (Some(z), TYPE_MX) => {
            for (pref, host) in &z.mx {
                let mut rdata = pref.to_be_bytes().to_vec();
                encode_name(host, &mut rdata);
                records.push((TYPE_MX, rdata));
            }
        }
        (Some(z), TYPE_A) => {
            for ip in &z.a {
                records.push((TYPE_A, ip.octets().to_vec()));
            }
        }
        _ => {}
    }
    let rcode: u8 = if zone.is_some() { 0 } else { 3 };
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&query[..2]); // id
    // QR, AA, RD copied from the query; RA; the response code.
    out.push(0x84 | (query[2] & 0x01));
    out.push(0x80 | rcode);
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&u16::try_from(records.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(question);
    for (rtype, rdata) in records {
        out.extend_from_slice(&[0xc0, 12]); // the question's name
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes()); // IN
        out.extend_from_slice(&60u32.to_be_bytes());
        out.extend_from_slice(&u16::try_from(rdata.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some(out)
}

/// One message as a next hop got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The Message-ID header's value.
    pub fn message_id(&self) -> Option<&str> {
        self.data.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("message-id")
                .then_some(value.trim())
        })
    }
}

/// A next hop on `listener` that accepts everything (any number of connections, several
/// transactions each, pipelined or not) and records each message.
pub fn recording_peer(listener: TcpListener) -> Arc<Mutex<Vec<Received>>> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || serve(stream, &sink));
        }
    });
    got
}

fn serve(stream: TcpStream, sink: &Mutex<Vec<Received>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut lines = BufReader::new(stream);
    let mut say = |s: &str| out.write_all(format!("{s}\r\n").as_bytes()).is_ok();
    if !say("220 next.example ESMTP") {
        return;
    }
    let mut mail_from = String::new();
    let mut rcpt_to = Vec::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        let verb = line.to_ascii_uppercase();
        let ok = if verb.starts_with("EHLO") {
            say("250-next.example\r\n250-8BITMIME\r\n250 PIPELINING")
        } else if verb.starts_with("MAIL FROM:") {
            line.clone_into(&mut mail_from);
            rcpt_to.clear();
            say("250 ok")
        } else if verb.starts_with("RCPT TO:") {
            rcpt_to.push(line.to_owned());
            say("250 ok")
        } else if verb == "DATA" {
            say("354 go on");
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if lines.read_line(&mut l).unwrap_or(0) == 0 {
                    return;
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            // Recorded before the reply: a message answered 250 is one the peer has.
            sink.lock().unwrap().push(Received {
                mail_from: std::mem::take(&mut mail_from),
                rcpt_to: std::mem::take(&mut rcpt_to),
                data,
            });
            say("250 queued here")
        } else if verb == "QUIT" {
            let _ = say("221 bye");
            return;
        } else {
            say("250 ok")
        };
        if !ok {
            return;
        }
    }
}

/// A plain SMTP client: one session, each message a transaction; panics on any refusal.
pub fn send_all(addr: SocketAddr, messages: &[(&str, &str, String)]) {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut out = tcp.try_clone().unwrap();
    let mut lines = BufReader::new(tcp);
    let mut expect = |code: &str| {
        let mut all = String::new();
        loop {
            let mut l = String::new();
            lines.read_line(&mut l).unwrap();
            all.push_str(&l);
            if l.len() < 4 || l.as_bytes()[3] != b'-' {
                break;
            }
        }
        assert!(all.starts_with(code), "wanted {code}, got {all:?}");
    };
    expect("220");
    let mut cmd = |line: &str, code: &str, out: &mut TcpStream| {
        out.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        expect(code);
    };
    cmd("EHLO client.test", "250", &mut out);
    for (from, to, data) in messages {
        cmd(&format!("MAIL FROM:<{from}>"), "250", &mut out);
        cmd(&format!("RCPT TO:<{to}>"), "250", &mut out);
        cmd("DATA", "354", &mut out);
        cmd(&format!("{data}\r\n."), "250", &mut out);
    }
    cmd("QUIT", "221", &mut out);
}

/// A free TCP port on `ip` (nothing listens there once this returns).
pub fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether Postfix's tools are here; in CI (`CI` set) their absence fails the test.
pub fn have_postfix_tools() -> bool {
    let found = ["smtp-sink", "smtp-source"].iter().all(|tool| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "smtp-sink/smtp-source (Debian package postfix) are missing; .ci/run installs them"
        );
        eprintln!("skipped: smtp-sink/smtp-source (Debian package postfix) not installed");
    }
    found
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Postfix's `smtp-sink` on `addr`, writing each message (with its envelope as `X-Mail-Args:`
/// and `X-Rcpt-Args:` headers) to a file in `dump`; stopped when dropped.
pub struct SmtpSink(Child);

impl SmtpSink {
    pub fn start(addr: SocketAddr, dump: Option<&Path>) -> Self {
        let mut cmd = Command::new("smtp-sink");
        // As root it must drop privileges after binding; the dump folder is then nobody's.
        if is_root() {
            cmd.args(["-u", "nobody"]);
        }
        if let Some(dir) = dump {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o777))
                .unwrap();
            cmd.args(["-d", &format!("{}/%H%M%S.", dir.display())]);
        }
        let child = cmd
            .args([&addr.to_string(), "100"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        // Listening once a connection gets through.
        let up = crate::deploy_support::wait_for(Duration::from_secs(10), || {
            TcpStream::connect(addr).ok()
        });
        assert!(up.is_some(), "smtp-sink did not listen on {addr}");
        Self(child)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The files in `dir`, read.
pub fn dumped(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect()
}
