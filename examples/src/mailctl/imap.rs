//! `mailctl imap list|fetch|watch|flag`.

use std::{io, time::Instant};

use imap_proto::{
    codec::{CommandOptions, parse_command},
    session::client::{Client, ClientConfig, Event},
    types::{
        command::CommandBody,
        core::{AString, Tag},
        fetch::FetchItem,
        flag::Flag,
        mailbox::Mailbox,
        response::{Data, Status, StatusKind},
    },
};

use super::{Conn, Endpoint, Security, fail};

/// A logged-in IMAP session.
pub struct Session {
    conn: Conn,
    client: Client,
    out: Vec<u8>,
    /// Untagged data nobody asked for (EXISTS while idling).
    news: Vec<Data<'static>>,
}

/// A command's untagged data and its tagged status.
type Answer = (Vec<Data<'static>>, Status<'static>);

/// Builds a command from its text (after the tag) with the crate's parser; the callers
/// put only validated numbers and flags into it.
fn command(text: &str) -> io::Result<CommandBody<'static>> {
    let line = format!("x {text}\r\n");
    parse_command(line.as_bytes(), &CommandOptions::default())
        .map(|c| c.into_owned().body)
        .map_err(|e| fail(format!("{text}: {e:?}")))
}

fn mailbox(name: &str) -> io::Result<Mailbox<'static>> {
    Mailbox::new(name.to_owned()).map_err(|e| fail(format!("mailbox {name}: {e}")))
}

impl Session {
    /// Connects, runs STARTTLS if asked, and logs in.
    pub async fn open(ep: &Endpoint) -> io::Result<Self> {
        let conn = Conn::open(ep).await?;
        let mut s = Self {
            conn,
            client: Client::new(ClientConfig::default(), Instant::now()),
            out: Vec::new(),
            news: Vec::new(),
        };
        // The greeting.
        loop {
            if let Some(ev) = s.client.poll_event() {
                match ev {
                    Event::Greeting(status) if status.kind == StatusKind::Bye => {
                        return Err(fail(format!("server said BYE: {}", status.text)));
                    }
                    Event::Greeting(_) => break,
                    Event::Closed { reason } => return Err(fail(reason)),
                    _ => continue,
                }
            }
            s.read().await?;
        }
        if ep.security == Security::StartTls {
            let (_, status) = s.run(CommandBody::StartTls).await?;
            if status.kind != StatusKind::Ok {
                return Err(fail(format!("STARTTLS refused: {}", status.text)));
            }
            // The session discarded whatever followed the OK; the handshake reads only its
            // own records.
            s.conn.start_tls().await?;
            s.client.tls_established().map_err(io::Error::other)?;
            // Capabilities learnt before TLS are forgotten (RFC 9051 §6.2.1): ask again.
            s.run(CommandBody::Capability).await?;
        }
        if let Some((user, password)) = &ep.login {
            let body = CommandBody::Login {
                username: AString::try_from(user.as_str())
                    .map_err(|e| fail(format!("user: {e}")))?
                    .into_owned(),
                password: imap_proto::types::command::Secret::new(
                    AString::try_from(password.as_str())
                        .map_err(|e| fail(format!("password: {e}")))?
                        .into_owned(),
                ),
            };
            let (_, status) = s.run(body).await?;
            if status.kind != StatusKind::Ok {
                return Err(fail(format!("login failed: {}", status.text)));
            }
        }
        Ok(s)
    }

    /// Sends and flushes what the session queued, then reads once (with a timeout).
    async fn read(&mut self) -> io::Result<()> {
        self.client.poll_transmit(&mut self.out);
        self.conn.write(&mut self.out).await?;
        match self.conn.read(None).await? {
            None => Err(fail("timed out waiting for the server")),
            Some([]) => Err(fail("the server closed the connection")),
            Some(data) => {
                self.client.handle_input(Instant::now(), data);
                Ok(())
            }
        }
    }

    /// Runs one command to its completion.
    pub async fn run(&mut self, body: CommandBody<'_>) -> io::Result<Answer> {
        let tag = self.client.send(body).map_err(io::Error::other)?;
        self.wait(&tag).await
    }

    async fn wait(&mut self, tag: &Tag<'static>) -> io::Result<Answer> {
        let mut data = Vec::new();
        loop {
            while let Some(ev) = self.client.poll_event() {
                match ev {
                    Event::Data {
                        tag: Some(t),
                        data: d,
                    } if &t == tag => data.push(d),
                    Event::Data { data: d, .. } => self.news.push(d),
                    Event::Completed { tag: t, status, .. } if &t == tag => {
                        return Ok((data, status));
                    }
                    Event::Closed { reason } => return Err(fail(reason)),
                    _ => {}
                }
            }
            self.read().await?;
        }
    }

    /// Runs a command that must succeed.
    async fn ok(&mut self, body: CommandBody<'_>, what: &str) -> io::Result<Vec<Data<'static>>> {
        let (data, status) = self.run(body).await?;
        if status.kind != StatusKind::Ok {
            return Err(fail(format!("{what}: {:?} {}", status.kind, status.text)));
        }
        Ok(data)
    }

    /// LOGOUT.
    pub async fn logout(mut self) -> io::Result<()> {
        let _ = self.run(CommandBody::Logout).await;
        self.conn.close().await;
        Ok(())
    }

    /// Every mailbox's name.
    pub async fn list(&mut self) -> io::Result<Vec<String>> {
        let data = self.ok(command(r#"LIST "" "*""#)?, "LIST").await?;
        Ok(data
            .into_iter()
            .filter_map(|d| match d {
                Data::List(l) => Some(l.mailbox.name().to_owned()),
                _ => None,
            })
            .collect())
    }

    /// Selects `name` (EXAMINE when `read_only`).
    pub async fn select(&mut self, name: &str, read_only: bool) -> io::Result<()> {
        let mailbox = mailbox(name)?;
        let body = if read_only {
            CommandBody::Examine {
                mailbox,
                params: Vec::new(),
            }
        } else {
            CommandBody::Select {
                mailbox,
                params: Vec::new(),
            }
        };
        self.ok(body, "SELECT").await.map(drop)
    }

    /// UID FETCH of `set` (a UID, `n:*`, `1:*`) with `items`; per message its UID and items.
    async fn fetch_items(
        &mut self,
        set: &str,
        items: &str,
    ) -> io::Result<Vec<(u32, Vec<FetchItem<'static>>)>> {
        let data = self
            .ok(command(&format!("UID FETCH {set} ({items})"))?, "FETCH")
            .await?;
        let mut out = Vec::new();
        for d in data {
            if let Data::Fetch { items, .. } = d {
                let uid = items.iter().find_map(|i| match i {
                    FetchItem::Uid(u) => Some(*u),
                    _ => None,
                });
                if let Some(uid) = uid {
                    out.push((uid, items));
                }
            }
        }
        Ok(out)
    }

    /// The full messages: one UID, or every message (`None`), without setting `\Seen`.
    pub async fn fetch(&mut self, uid: Option<u32>) -> io::Result<Vec<(u32, Vec<u8>)>> {
        let set = uid.map_or_else(|| "1:*".to_owned(), |u| u.to_string());
        let messages = self.fetch_items(&set, "UID BODY.PEEK[]").await?;
        Ok(messages
            .into_iter()
            .filter(|(u, _)| uid.is_none_or(|want| want == *u))
            .filter_map(|(u, items)| {
                items.into_iter().find_map(|i| match i {
                    FetchItem::BodySection { data, .. } => {
                        Some((u, data.map(|d| d.as_bytes().to_vec()).unwrap_or_default()))
                    }
                    _ => None,
                })
            })
            .collect())
    }

    /// Adds and removes flags on one message; its flags afterwards.
    pub async fn flag(
        &mut self,
        uid: u32,
        add: &[String],
        remove: &[String],
    ) -> io::Result<String> {
        for (sign, flags) in [("+", add), ("-", remove)] {
            if flags.is_empty() {
                continue;
            }
            for f in flags {
                Flag::parse(f).map_err(|e| fail(format!("flag {f}: {e}")))?;
            }
            let text = format!("UID STORE {uid} {sign}FLAGS.SILENT ({})", flags.join(" "));
            self.ok(command(&text)?, "STORE").await?;
        }
        let messages = self.fetch_items(&uid.to_string(), "UID FLAGS").await?;
        let flags = messages
            .into_iter()
            .filter(|(u, _)| *u == uid)
            .flat_map(|(_, items)| items)
            .find_map(|i| match i {
                FetchItem::Flags(f) => Some(
                    f.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            })
            .ok_or_else(|| fail(format!("no message with UID {uid}")))?;
        Ok(flags)
    }

    /// The highest UID in the selected mailbox (0 when empty).
    async fn highest_uid(&mut self) -> io::Result<u32> {
        let messages = self.fetch_items("1:*", "UID").await?;
        Ok(messages.iter().map(|(u, _)| *u).max().unwrap_or(0))
    }

    /// IDLE in the selected mailbox: `on_idle()` once the server first accepts IDLE (from
    /// then on nothing is missed); for each message that arrives, `on_new(uid, header)` with
    /// its From and Subject header lines. Returns after `limit` messages (never when `None`).
    pub async fn watch(
        &mut self,
        limit: Option<usize>,
        on_idle: impl FnOnce(),
        mut on_new: impl FnMut(u32, &str),
    ) -> io::Result<()> {
        let mut on_idle = Some(on_idle);
        let mut seen = self.highest_uid().await?;
        let mut count = 0;
        loop {
            if limit.is_some_and(|l| count >= l) {
                return Ok(());
            }
            let tag = self
                .client
                .send(CommandBody::Idle)
                .map_err(io::Error::other)?;
            let mut idling = false;
            let mut news = false;
            // Until the server reports a change.
            while !news {
                while let Some(ev) = self.client.poll_event() {
                    match ev {
                        Event::Idling => {
                            idling = true;
                            if let Some(f) = on_idle.take() {
                                f();
                            }
                        }
                        Event::Data {
                            data: Data::Exists(_),
                            ..
                        } => news = true,
                        Event::Completed { tag: t, status, .. } if t == tag => {
                            return Err(fail(format!("IDLE ended: {}", status.text)));
                        }
                        Event::Closed { reason } => return Err(fail(reason)),
                        _ => {}
                    }
                }
                self.client.poll_transmit(&mut self.out);
                self.conn.write(&mut self.out).await?;
                if news {
                    break;
                }
                let data = if idling {
                    self.conn.read_forever().await?
                } else {
                    match self.conn.read(None).await? {
                        Some(d) => d,
                        None => return Err(fail("timed out waiting for IDLE")),
                    }
                };
                if data.is_empty() {
                    return Err(fail("the server closed the connection"));
                }
                self.client.handle_input(Instant::now(), data);
            }
            self.client.idle_done().map_err(io::Error::other)?;
            self.wait(&tag).await?;
            self.news.clear();
            let items = "UID BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]";
            let messages = self.fetch_items(&format!("{}:*", seen + 1), items).await?;
            for (uid, items) in messages {
                if uid <= seen {
                    continue;
                }
                let header = items
                    .into_iter()
                    .find_map(|i| match i {
                        FetchItem::BodySection { data, .. } => {
                            data.map(|d| String::from_utf8_lossy(d.as_bytes()).into_owned())
                        }
                        _ => None,
                    })
                    .unwrap_or_default();
                on_new(uid, &header);
                seen = seen.max(uid);
                count += 1;
            }
        }
    }
}
