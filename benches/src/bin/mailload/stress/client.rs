//! One stress client: a connection through our sans-IO client session, commands sent one at
//! a time, and every untagged response fed to the session's [`View`].

use std::{
    borrow::Cow,
    net::SocketAddr,
    time::{Duration, Instant},
};

use sansmail_imap::{
    codec::frame::LiteralMode,
    session::client::{Client, ClientConfig, Event},
    types::{
        command::{AppendData, AppendMessage, CommandBody},
        core::Literal,
        flag::Flag,
        mailbox::Mailbox,
        response::{Data, StatusKind},
        response_code::ResponseCode,
    },
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::view::{Fetched, View, Violations, kind};

/// What a completed command brought besides its untagged data.
pub struct Done {
    pub kind: StatusKind,
    pub text: String,
}

/// How a command's untagged FETCH responses are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Checked against the view and applied.
    Normal,
    /// A FETCH, STORE or SEARCH by sequence number: no EXPUNGE may come.
    NoExpunge,
    /// MOVE into the selected mailbox: its EXPUNGEs must come before EXISTS.
    MoveHere,
    /// The final `FETCH 1:*`: collected for [`View::final_check`], not applied.
    Final,
}

pub struct Conn {
    stream: TcpStream,
    client: Client,
    buf: Vec<u8>,
    out: Vec<u8>,
    timeout: Duration,
    pub view: Option<View>,
    pub violations: Violations,
    /// CONDSTORE is on: FETCH FLAGS must come with MODSEQ.
    pub condstore: bool,
    /// The responses of the final FETCH.
    pub collected: Vec<(u32, Fetched)>,
}

impl Conn {
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self, String> {
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
            view: None,
            violations: Violations::default(),
            condstore: false,
            collected: Vec::new(),
        };
        loop {
            if let Some(ev) = c.client.poll_event() {
                match ev {
                    Event::Greeting(g) if g.kind == StatusKind::Bye => {
                        return Err(format!("greeting: BYE {}", g.text));
                    }
                    Event::Greeting(_) => return Ok(c),
                    Event::Closed { reason } => return Err(format!("closed: {reason}")),
                    _ => continue,
                }
            }
            c.read(c.timeout).await?;
        }
    }

    /// Reads once; `Ok(false)` if nothing came within `wait`.
    async fn read(&mut self, wait: Duration) -> Result<bool, String> {
        let n = match tokio::time::timeout(wait, self.stream.read(&mut self.buf)).await {
            Err(_) => return Ok(false),
            Ok(r) => r.map_err(|e| format!("read: {e}"))?,
        };
        if n == 0 {
            return Err("connection closed".to_owned());
        }
        self.client.handle_input(Instant::now(), &self.buf[..n]);
        Ok(true)
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

    /// One untagged response against the view.
    fn data(&mut self, data: Data<'static>, mode: Mode, exists_seen: &mut bool) {
        let Some(view) = self.view.as_mut() else {
            return;
        };
        let v = &mut self.violations;
        match data {
            Data::Exists(n) => {
                *exists_seen = true;
                view.on_exists(n, v);
            }
            Data::Expunge(seq) => {
                if mode == Mode::MoveHere && *exists_seen {
                    v.add(
                        kind::MOVE_ORDER,
                        format!("{}: * {seq} EXPUNGE", view.mailbox),
                    );
                }
                view.on_expunge(seq, mode == Mode::NoExpunge, v);
            }
            Data::Recent(n) => view.on_recent(n, v),
            Data::Flags(flags) => view.on_flags(&flags),
            Data::Fetch { seq, items } => {
                let f = Fetched::of(&items);
                if mode == Mode::Final {
                    self.collected.push((seq, f));
                } else {
                    view.on_fetch(seq, &f, self.condstore, v);
                }
            }
            _ => {}
        }
    }

    /// An untagged status: UIDVALIDITY is noted.
    fn untagged(&mut self, code: Option<&ResponseCode<'static>>) {
        if let (Some(ResponseCode::UidValidity(n)), Some(view)) = (code, self.view.as_mut()) {
            view.uidvalidity = *n;
        }
    }

    /// Sends a command and reads until its completion, checking what comes.
    pub async fn command(&mut self, body: CommandBody<'_>, mode: Mode) -> Result<Done, String> {
        let tag = self.client.send(body).map_err(|e| e.to_string())?;
        let mut exists_seen = false;
        loop {
            self.flush().await?;
            while let Some(ev) = self.client.poll_event() {
                match ev {
                    Event::Completed { tag: t, status, .. } if t == tag => {
                        return Ok(Done {
                            kind: status.kind,
                            text: status.text.to_string(),
                        });
                    }
                    Event::Data { data, .. } => self.data(data, mode, &mut exists_seen),
                    Event::Untagged(status) => self.untagged(status.code.as_ref()),
                    Event::Closed { reason } => return Err(format!("closed: {reason}")),
                    Event::Failed(e) => return Err(format!("failed: {e}")),
                    _ => {}
                }
            }
            if !self.read(self.timeout).await? {
                return Err("read timed out".to_owned());
            }
        }
    }

    /// IDLE for `wait`, checking what comes, then DONE.
    pub async fn idle(&mut self, wait: Duration) -> Result<Done, String> {
        let tag = self
            .client
            .send(CommandBody::Idle)
            .map_err(|e| e.to_string())?;
        let until = Instant::now() + wait;
        let mut idling = false;
        let mut exists_seen = false;
        loop {
            self.flush().await?;
            while let Some(ev) = self.client.poll_event() {
                match ev {
                    Event::Idling => idling = true,
                    Event::Completed { tag: t, status, .. } if t == tag => {
                        return Ok(Done {
                            kind: status.kind,
                            text: status.text.to_string(),
                        });
                    }
                    Event::Data { data, .. } => {
                        self.data(data, Mode::Normal, &mut exists_seen);
                    }
                    Event::Closed { reason } => return Err(format!("closed: {reason}")),
                    Event::Failed(e) => return Err(format!("failed: {e}")),
                    _ => {}
                }
            }
            let now = Instant::now();
            if idling && now >= until {
                idling = false;
                self.client.idle_done().map_err(|e| e.to_string())?;
                continue;
            }
            let wait = if idling { until - now } else { self.timeout };
            if !self.read(wait).await? && !idling {
                return Err("read timed out".to_owned());
            }
        }
    }
}

/// APPEND of `message` with `flags` (a non-synchronizing literal: LITERAL+).
pub fn append<'a>(mailbox: &str, flags: Vec<Flag<'static>>, message: &'a [u8]) -> CommandBody<'a> {
    CommandBody::Append {
        mailbox: Mailbox::new(mailbox.to_owned()).unwrap_or_else(|_| Mailbox::inbox()),
        messages: vec![AppendMessage {
            flags: Some(flags),
            date: None,
            data: AppendData::Literal(
                Literal::new(Cow::Borrowed(message), LiteralMode::NonSync).unwrap_or_else(|_| {
                    Literal::binary(Cow::Borrowed(message), LiteralMode::NonSync)
                }),
            ),
        }],
    }
}
