//! One IMAP session of the mixed workload, driven through our sans-IO client session.

use std::{
    borrow::Cow,
    net::SocketAddr,
    time::{Duration, Instant},
};

use sansmail_imap::{
    codec::frame::LiteralMode,
    session::client::{Client, ClientConfig, Event},
    types::{
        command::{AppendData, AppendMessage, CommandBody, Secret, StoreAction},
        core::{AString, Literal},
        fetch_attr::{FetchAttr, FetchItems, FetchModifiers},
        flag::Flag,
        mailbox::Mailbox,
        response::{Data, StatusKind},
        section::{Section, SectionText},
        sequence::{SeqNum, SequenceSet},
    },
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::stats::Stats;

/// What one session does.
#[derive(Debug, Clone)]
pub struct Workload {
    pub user: String,
    pub password: String,
    /// Rounds of fetch/store/append/expunge between SELECT and LOGOUT.
    pub rounds: usize,
    /// Messages the mailbox should hold before the measured part starts.
    pub seed_messages: u32,
    pub deadline: Instant,
    pub timeout: Duration,
}

struct Conn {
    stream: TcpStream,
    client: Client,
    buf: Vec<u8>,
    out: Vec<u8>,
    timeout: Duration,
}

/// What a completed command brought.
struct Done {
    kind: StatusKind,
    exists: Option<u32>,
}

impl Conn {
    async fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self, String> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| "connect timed out".to_owned())?
            .map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).ok();
        let mut c = Self {
            stream,
            client: Client::new(ClientConfig::default(), Instant::now()),
            buf: vec![0; 64 * 1024],
            out: Vec::new(),
            timeout,
        };
        // The greeting.
        loop {
            if let Some(ev) = c.client.poll_event() {
                match ev {
                    Event::Greeting(_) => return Ok(c),
                    Event::Closed { reason } => return Err(format!("closed: {reason}")),
                    _ => continue,
                }
            }
            c.read().await?;
        }
    }

    async fn read(&mut self) -> Result<(), String> {
        let n = tokio::time::timeout(self.timeout, self.stream.read(&mut self.buf))
            .await
            .map_err(|_| "read timed out".to_owned())?
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed".to_owned());
        }
        self.client.handle_input(Instant::now(), &self.buf[..n]);
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), String> {
        self.client.poll_transmit(&mut self.out);
        if !self.out.is_empty() {
            tokio::time::timeout(self.timeout, self.stream.write_all(&self.out))
                .await
                .map_err(|_| "write timed out".to_owned())?
                .map_err(|e| format!("write: {e}"))?;
            self.out.clear();
        }
        Ok(())
    }

    /// Sends a command and waits for its completion.
    async fn command(&mut self, body: CommandBody<'_>) -> Result<Done, String> {
        let is_logout = matches!(body, CommandBody::Logout);
        let tag = self.client.send(body).map_err(|e| e.to_string())?;
        let mut exists = None;
        let mut closed = None;
        loop {
            self.flush().await?;
            while let Some(ev) = self.client.poll_event() {
                match ev {
                    Event::Completed { tag: t, status, .. } if t == tag => {
                        return Ok(Done {
                            kind: status.kind,
                            exists,
                        });
                    }
                    Event::Data {
                        data: Data::Exists(n),
                        ..
                    } => exists = Some(n),
                    Event::Closed { reason } => closed = Some(reason),
                    _ => {}
                }
            }
            if let Err(e) = self.read().await {
                // After BYE (LOGOUT) the server may close before or after the tagged OK.
                return match closed {
                    Some(reason) if reason.contains("BYE") || is_logout => Ok(Done {
                        kind: StatusKind::Ok,
                        exists,
                    }),
                    Some(reason) => Err(format!("closed: {reason}")),
                    None => Err(e),
                };
            }
        }
    }
}

fn seq(from: u32, to: SeqNum) -> SequenceSet {
    SequenceSet::range(SeqNum::Value(from.max(1)), to).expect("a valid range")
}

fn fetch(set: SequenceSet, attrs: Vec<FetchAttr<'static>>) -> CommandBody<'static> {
    CommandBody::Fetch {
        uid: false,
        set,
        items: FetchItems::List(attrs),
        modifiers: FetchModifiers::default(),
    }
}

fn section(text: Option<SectionText<'static>>) -> FetchAttr<'static> {
    FetchAttr::BodySection {
        peek: true,
        section: Section { part: vec![], text },
        partial: None,
    }
}

fn append(message: &[u8]) -> CommandBody<'_> {
    CommandBody::Append {
        mailbox: Mailbox::inbox(),
        messages: vec![AppendMessage {
            flags: Some(vec![Flag::Seen]),
            date: None,
            data: AppendData::Literal(
                Literal::new(Cow::Borrowed(message), LiteralMode::Sync).expect("no NUL"),
            ),
        }],
    }
}

/// A small message for APPEND.
pub fn message(user: &str, i: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Load <load@example.org>\r\nTo: {user}@example.com\r\nSubject: load message {i}\r\n\
Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <load.{i}.{user}@example.org>\r\n\r\n"
    )
    .into_bytes();
    while m.len() < 3000 {
        m.extend_from_slice(b"The quick brown fox jumps over the lazy dog, once more.\r\n");
    }
    m
}

/// Runs one session; each command's latency goes to `stats` under its kind.
pub async fn session(addr: SocketAddr, w: Workload, stats: &mut Stats) -> Result<(), String> {
    let t = Instant::now();
    let mut c = Conn::connect(addr, w.timeout).await?;
    stats.record("connect+greeting", t.elapsed());

    macro_rules! timed {
        ($kind:expr, $body:expr) => {{
            let t = Instant::now();
            stats.commands += 1;
            let done = c.command($body).await?;
            if done.kind != StatusKind::Ok {
                stats.error(format!("{} {:?}", $kind, done.kind));
            }
            stats.record($kind, t.elapsed());
            done
        }};
    }

    timed!(
        "LOGIN",
        CommandBody::Login {
            username: AString::try_from(w.user.as_str())
                .map_err(|e| e.to_string())?
                .into_owned(),
            password: Secret::new(
                AString::try_from(w.password.as_str())
                    .map_err(|e| e.to_string())?
                    .into_owned()
            ),
        }
    );
    let select = CommandBody::Select {
        mailbox: Mailbox::inbox(),
        params: vec![],
    };
    let mut exists = timed!("SELECT", select.clone()).exists.unwrap_or(0);
    // Seeding is not measured.
    let mut seeded = 0;
    while exists < w.seed_messages {
        let m = message(&w.user, seeded);
        let done = c.command(append(&m)).await?;
        if done.kind != StatusKind::Ok {
            return Err(format!("seeding APPEND: {:?}", done.kind));
        }
        exists = done.exists.unwrap_or(exists + 1);
        seeded += 1;
    }
    if seeded > 0 {
        exists = c.command(select).await?.exists.unwrap_or(exists);
    }
    for round in 0..w.rounds {
        if Instant::now() > w.deadline {
            break;
        }
        timed!(
            "FETCH 1:* FLAGS",
            fetch(
                seq(1, SeqNum::Largest),
                vec![FetchAttr::Uid, FetchAttr::Flags]
            )
        );
        let last = exists.max(1);
        timed!(
            "FETCH 10 headers",
            fetch(
                seq(last.saturating_sub(9), SeqNum::Value(last)),
                vec![
                    FetchAttr::Uid,
                    FetchAttr::Rfc822Size,
                    section(Some(SectionText::Header))
                ]
            )
        );
        let one = 1 + u32::try_from(round).unwrap_or(0) % last;
        timed!(
            "FETCH body",
            fetch(seq(one, SeqNum::Value(one)), vec![section(None)])
        );
        let m = message(&w.user, 1_000_000 + round);
        let done = timed!("APPEND", append(&m));
        exists = done.exists.unwrap_or(exists + 1);
        timed!(
            "STORE",
            CommandBody::Store {
                uid: false,
                set: seq(exists, SeqNum::Value(exists)),
                unchanged_since: None,
                action: StoreAction::Add,
                silent: true,
                flags: vec![Flag::Deleted],
            }
        );
        let done = timed!("EXPUNGE", CommandBody::Expunge);
        exists = done.exists.unwrap_or(exists.saturating_sub(1));
    }
    timed!("LOGOUT", CommandBody::Logout);
    Ok(())
}
