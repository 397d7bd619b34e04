//! One SMTP session delivering messages, driven through our sans-IO client session.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use sansmail_smtp::{
    DomainPart, ForwardPath, MailParams, Mailbox, RcptParams, ReversePath,
    session::client::{Client, ClientConfig, Envelope, Event, TlsPolicy},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::stats::Stats;

/// What one session does.
#[derive(Debug, Clone)]
pub struct Workload {
    pub from: String,
    pub to: Vec<String>,
    pub messages: usize,
    pub deadline: Instant,
    pub timeout: Duration,
}

fn mailbox(s: &str) -> Result<Mailbox<'static>, String> {
    Mailbox::try_from(s)
        .map(Mailbox::into_owned)
        .map_err(|e| format!("{s}: {e}"))
}

/// A message of about 8 KB.
fn message(i: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Load <load@example.org>\r\nSubject: smtp load {i}\r\n\
Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <smtp.{i}@example.org>\r\n\r\n"
    )
    .into_bytes();
    while m.len() < 8000 {
        m.extend_from_slice(b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n");
    }
    m.extend_from_slice(b".a line that needs stuffing\r\n");
    m
}

/// Runs one session: EHLO, `messages` transactions, QUIT. Each transaction's latency (MAIL
/// through the reply after the data) is recorded as "transaction", and each command's share
/// is counted as the number of commands sent.
pub async fn session(addr: SocketAddr, w: Workload, stats: &mut Stats) -> Result<(), String> {
    let envelope = Envelope {
        from: ReversePath::Mailbox(mailbox(&w.from)?),
        params: MailParams::default(),
        recipients: w
            .to
            .iter()
            .map(|t| Ok((ForwardPath::Mailbox(mailbox(t)?), RcptParams::default())))
            .collect::<Result<_, String>>()?,
    };
    let t0 = Instant::now();
    let mut stream = tokio::time::timeout(w.timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).ok();
    let mut config = ClientConfig::new(
        DomainPart::try_from("mailload.example.org")
            .map_err(|e| e.to_string())?
            .into_owned(),
    );
    config.starttls = TlsPolicy::Never;
    let mut client = Client::new(config, Instant::now());
    let mut buf = vec![0; 64 * 1024];
    let mut out = Vec::new();
    let mut sent = 0;
    let mut started = None;
    let mut ready_at = None;
    loop {
        while let Some(ev) = client.poll_event() {
            match ev {
                Event::Ready => {
                    if ready_at.is_none() {
                        ready_at = Some(());
                        stats.commands += 1; // EHLO
                        stats.record("connect+EHLO", t0.elapsed());
                    }
                    if sent < w.messages && Instant::now() < w.deadline {
                        started = Some(Instant::now());
                        stats.commands += 2 + envelope.recipients.len();
                        client.send_mail(&envelope).map_err(|e| e.to_string())?;
                    } else {
                        let t = Instant::now();
                        stats.commands += 1;
                        client.quit().map_err(|e| e.to_string())?;
                        started = Some(t);
                    }
                }
                Event::SendData => {
                    client
                        .send_data(&message(sent))
                        .and_then(|()| client.end_data())
                        .map_err(|e| e.to_string())?;
                }
                Event::Sent { .. } => {
                    sent += 1;
                    if let Some(t) = started.take() {
                        stats.record("transaction (MAIL, RCPTs, DATA)", t.elapsed());
                    }
                }
                Event::TransactionFailed(e) => {
                    sent += 1;
                    started = None;
                    stats.error(format!("transaction: {e}"));
                }
                Event::Failed(e) => return Err(format!("session failed: {e}")),
                Event::Closed => {
                    if let Some(t) = started.take() {
                        stats.record("QUIT", t.elapsed());
                    }
                    return Ok(());
                }
                _ => {}
            }
        }
        client.poll_transmit(&mut out);
        if !out.is_empty() {
            tokio::time::timeout(w.timeout, stream.write_all(&out))
                .await
                .map_err(|_| "write timed out".to_owned())?
                .map_err(|e| format!("write: {e}"))?;
            out.clear();
        }
        let n = tokio::time::timeout(w.timeout, stream.read(&mut buf))
            .await
            .map_err(|_| "read timed out".to_owned())?
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed".to_owned());
        }
        client.handle_input(Instant::now(), &buf[..n]);
    }
}
