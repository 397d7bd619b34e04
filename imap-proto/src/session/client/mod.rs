//! The client side of an IMAP session, without I/O.
//!
//! The client tags commands, sends each up to its first synchronizing literal and the rest
//! once the server's `+` arrives (or at once, as `{n+}`, when LITERAL+ is advertised, or
//! LITERAL- and the literal is at most 4096 octets), routes untagged responses to the oldest
//! command in flight, tracks the connection state and the capabilities, and runs IDLE and
//! AUTHENTICATE PLAIN.
//!
//! Configured with [`ClientConfig::new`], it also sets the connection up as the SMTP and POP3
//! clients of this workspace do: after the greeting it asks CAPABILITY when the greeting did
//! not say, upgrades with STARTTLS as [`ClientConfig::starttls`] says, logs in with
//! AUTHENTICATE PLAIN (SASL-IR when offered) or LOGIN, and reports [`Event::Ready`]. With
//! [`ClientConfig::default`] the application does all of that itself.
//!
//! ```
//! use std::time::Instant;
//! use sansmail_imap::session::client::{Client, ClientConfig, Event};
//! use sansmail_core::{Credentials, TlsPolicy};
//!
//! let now = Instant::now();
//! let mut config = ClientConfig::new(Some(Credentials::new("alice", "secret")));
//! config.starttls = TlsPolicy::Never;
//! let mut client = Client::new(config, now);
//! client.handle_input(now, b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] ready\r\n");
//! assert!(matches!(client.poll_event(), Some(Event::Greeting(_))));
//! let mut wire = Vec::new();
//! client.poll_transmit(&mut wire);
//! assert_eq!(wire, b"A0001 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n");
//! client.handle_input(now, b"A0001 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n");
//! assert!(matches!(client.poll_event(), Some(Event::Ready)));
//! ```

mod setup;
mod types;

use std::{collections::VecDeque, time::Instant};

pub use sansmail_core::{Credentials, TlsPolicy};

use self::setup::Setup;
use crate::{
    codec::{
        CommandOptions, DecodeError, EncodeBuf, ResponseDecoder, encode_command, encode_idle_done,
        frame::LiteralMode,
    },
    types::{
        capability::Capability,
        command::{Command, CommandBody, SaslResponse, State},
        core::Tag,
        response::{Data, Response, Status, StatusKind},
        response_code::ResponseCode,
    },
};

pub use types::{ApiError, ClientConfig, ClientError, Event, Stage};

#[derive(Debug)]
struct InFlight {
    tag: Tag<'static>,
    name: &'static str,
    body: Kind,
    /// Sent by the set-up: its data and completion are the session's, not the application's.
    internal: bool,
    /// [`Client::announcements`] when it was sent.
    announcements: u64,
}

/// What completing a command does to the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Login,
    Select,
    Close,
    Logout,
    Idle,
    StartTls,
    Compress,
    Capability,
    Other,
}

/// The client session.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    decoder: ResponseDecoder,
    input: Vec<u8>,
    transmit: Vec<u8>,
    /// The rest of a command held back until the server's `+`, split at each literal.
    held: VecDeque<Vec<u8>>,
    held_tag: Option<Tag<'static>>,
    in_flight: VecDeque<InFlight>,
    events: VecDeque<Event>,
    state: State,
    greeted: bool,
    capabilities: Vec<Capability<'static>>,
    /// How many times the server has announced its capabilities (CAPABILITY data or code):
    /// a login answered without one leaves those from before it stale.
    announcements: u64,
    idle: Option<Tag<'static>>,
    /// The server accepted IDLE: no answer is awaited until DONE.
    idling: bool,
    /// [`Client::idle_done`] was called before the server's `+`: DONE answers that `+`
    /// (RFC 2177 §3), and is never sent if IDLE is refused.
    done_pending: bool,
    /// The set-up's AUTHENTICATE PLAIN went without an initial response: the one `+` the
    /// set-up answers, with the credentials.
    setup_challenge: bool,
    /// STARTTLS was accepted: input is discarded until [`Client::tls_established`].
    await_tls: bool,
    /// COMPRESS was answered OK: the rest of the input is compressed, for the driver.
    await_deflate: bool,
    /// COMPRESS=DEFLATE is active.
    deflate: bool,
    tls: bool,
    /// UTF8=ACCEPT was enabled: mailbox names travel as UTF-8.
    utf8: bool,
    setup: Setup,
    next_tag: u32,
    closed: bool,
    last_activity: Instant,
    /// A command went out while nothing was in flight: the response timeout starts over at
    /// the next [`Client::handle_timeout`] (requests carry no clock).
    restart_clock: bool,
}

impl Client {
    /// A new session, waiting for the greeting.
    pub fn new(config: ClientConfig, now: Instant) -> Self {
        Self {
            decoder: ResponseDecoder::new(config.response_options),
            tls: config.implicit_tls,
            setup: Setup::Pending,
            config,
            input: Vec::new(),
            transmit: Vec::new(),
            held: VecDeque::new(),
            held_tag: None,
            in_flight: VecDeque::new(),
            events: VecDeque::new(),
            state: State::NotAuthenticated,
            greeted: false,
            capabilities: Vec::new(),
            announcements: 0,
            idle: None,
            idling: false,
            done_pending: false,
            setup_challenge: false,
            await_tls: false,
            await_deflate: false,
            deflate: false,
            utf8: false,
            next_tag: 1,
            closed: false,
            last_activity: now,
            restart_clock: false,
        }
    }

    /// The connection state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The capabilities last announced. Empty after a LOGIN or AUTHENTICATE whose `OK` did
    /// not carry them, until a CAPABILITY command has asked again (the set-up and
    /// `ImapClient::run` ask themselves).
    pub fn capabilities(&self) -> &[Capability<'static>] {
        &self.capabilities
    }

    /// Whether the server announced `cap`.
    pub fn has(&self, cap: &Capability<'_>) -> bool {
        self.capabilities.iter().any(|c| c == cap)
    }

    /// Whether UTF-8 is in force (IMAP4rev2, or UTF8=ACCEPT enabled): mailbox names go as
    /// UTF-8 rather than modified UTF-7.
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether the set-up is done ([`Event::Ready`] was reported).
    pub fn is_ready(&self) -> bool {
        self.setup.is_done()
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// When the last input arrived.
    pub fn last_activity(&self) -> Instant {
        self.last_activity
    }

    /// Moves the bytes to send into `out`.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.transmit);
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Client::handle_timeout`] should be called: while the greeting or an answer is
    /// awaited, [`ClientConfig::response_timeout`] after the last input. Never during IDLE
    /// (the application decides how long to idle) or between commands.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let waiting = !self.greeted
            || self
                .in_flight
                .iter()
                .any(|c| !(c.body == Kind::Idle && self.idling));
        if self.closed || self.await_tls || self.await_deflate || !waiting {
            return None;
        }
        if self.restart_clock {
            // Due at once: handle_timeout starts the clock at its `now`.
            return Some(self.last_activity);
        }
        Some(self.last_activity + self.config.response_timeout)
    }

    /// Fails the session with [`ClientError::Timeout`] if the server has not answered in
    /// time.
    pub fn handle_timeout(&mut self, now: Instant) {
        if std::mem::take(&mut self.restart_clock) {
            self.last_activity = now;
            return;
        }
        if self.poll_timeout().is_some_and(|t| now >= t) {
            self.fail(ClientError::Timeout);
        }
    }

    /// Sends a command; returns its tag. Literals go out as the server allows.
    pub fn send(&mut self, body: CommandBody<'_>) -> Result<Tag<'static>, ApiError> {
        if !self.setup.is_done() {
            return Err(ApiError::Busy("the connection set-up comes first"));
        }
        if self.tls && matches!(body, CommandBody::StartTls) {
            return Err(ApiError::AlreadyTls);
        }
        self.send_command(body, false)
    }

    fn send_command(
        &mut self,
        body: CommandBody<'_>,
        internal: bool,
    ) -> Result<Tag<'static>, ApiError> {
        if self.closed {
            return Err(ApiError::Closed);
        }
        if self.await_tls {
            return Err(ApiError::Busy(
                "the TLS handshake after STARTTLS comes first",
            ));
        }
        if self.await_deflate {
            return Err(ApiError::Busy(
                "the switch to DEFLATE after COMPRESS comes first",
            ));
        }
        // RFC 9051 §2.2.1: a command and its continuations are done before the next; an
        // AUTHENTICATE exchange answers the server's `+` lines until its tagged result.
        let authenticating = self.in_flight.iter().any(|c| c.name == "AUTHENTICATE");
        if !self.held.is_empty() || self.idle.is_some() || self.done_pending || authenticating {
            return Err(ApiError::Busy(
                "a command waits for a continuation, an AUTHENTICATE exchange or IDLE runs",
            ));
        }
        let tag = Tag::new(format!("{}{:04}", self.config.tag_prefix, self.next_tag))
            .map_err(|_| ApiError::Busy("invalid tag prefix"))?;
        self.next_tag += 1;
        let kind = match &body {
            CommandBody::Login { .. } | CommandBody::Authenticate { .. } => Kind::Login,
            CommandBody::Select { .. } | CommandBody::Examine { .. } => Kind::Select,
            CommandBody::Close | CommandBody::Unselect => Kind::Close,
            CommandBody::Logout => Kind::Logout,
            CommandBody::Idle => Kind::Idle,
            CommandBody::StartTls => Kind::StartTls,
            CommandBody::Compress { .. } => Kind::Compress,
            CommandBody::Capability => Kind::Capability,
            _ => Kind::Other,
        };
        let name = body.name();
        let cmd = Command::new(tag.clone(), body);
        let mut buf = EncodeBuf::new();
        let opts = CommandOptions {
            utf8: self.utf8,
            ..CommandOptions::default()
        };
        encode_command(&cmd, &opts, &mut buf);
        self.queue(buf, &tag);
        if kind == Kind::Idle {
            self.idle = Some(tag.clone());
            self.idling = false;
        }
        if self.in_flight.is_empty() {
            self.restart_clock = true;
        }
        self.in_flight.push_back(InFlight {
            tag: tag.clone(),
            name,
            body: kind,
            internal,
            announcements: self.announcements,
        });
        Ok(tag)
    }

    /// Ends IDLE with `DONE`.
    pub fn idle_done(&mut self) -> Result<(), ApiError> {
        if self.idle.take().is_none() {
            return Err(ApiError::NotIdling);
        }
        if !std::mem::take(&mut self.idling) {
            // Not accepted yet: DONE goes with the `+`, or not at all.
            self.done_pending = true;
            return Ok(());
        }
        self.send_done();
        Ok(())
    }

    fn send_done(&mut self) {
        // The answer to IDLE is awaited from now.
        self.restart_clock = true;
        let mut buf = EncodeBuf::new();
        encode_idle_done(&mut buf);
        self.transmit.append(&mut buf.bytes);
    }

    /// Answers a continuation in an AUTHENTICATE exchange the application runs.
    pub fn sasl_response(&mut self, response: &SaslResponse<'_>) {
        let mut buf = EncodeBuf::new();
        crate::codec::encode_sasl_response(response, &mut buf);
        self.transmit.append(&mut buf.bytes);
    }

    /// Splits an encoded command at its literals: synchronizing ones wait for `+` unless
    /// the server lets them go as `{n+}`.
    fn queue(&mut self, buf: EncodeBuf, tag: &Tag<'static>) {
        let literal_plus = self.has(&Capability::LiteralPlus);
        let literal_minus = self.has(&Capability::LiteralMinus);
        let mut bytes = buf.bytes;
        let mut cut_points = Vec::new();
        let mut shift = 0usize;
        for mark in &buf.literals {
            if mark.mode != LiteralMode::Sync {
                continue;
            }
            let start = mark.data_start + shift;
            let header_end = start - 2; // before CRLF
            let open = bytes[..header_end]
                .iter()
                .rposition(|&b| b == b'{')
                .unwrap_or(header_end);
            let len: u64 = std::str::from_utf8(&bytes[open + 1..header_end - 1])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(u64::MAX);
            if literal_plus || (literal_minus && len <= 4096) {
                // `{n}` becomes `{n+}`.
                bytes.insert(header_end - 1, b'+');
                shift += 1;
            } else {
                cut_points.push(start);
            }
        }
        let mut rest = bytes;
        let mut pieces = Vec::new();
        for cut in cut_points.iter().rev() {
            pieces.push(rest.split_off(*cut));
        }
        pieces.reverse();
        self.transmit.extend_from_slice(&rest);
        if !pieces.is_empty() {
            self.held = pieces.into();
            self.held_tag = Some(tag.clone());
        }
    }

    /// The TLS handshake after STARTTLS (answered `OK`) succeeded. The capabilities
    /// learnt before it are forgotten (RFC 9051 §6.2.1); the set-up asks CAPABILITY again,
    /// an application that sent STARTTLS itself should too.
    pub fn tls_established(&mut self) -> Result<(), ApiError> {
        if !self.await_tls {
            return Err(ApiError::NoStartTls);
        }
        self.await_tls = false;
        self.tls = true;
        self.input.clear();
        self.decoder = ResponseDecoder::new(*self.decoder.options());
        self.capabilities.clear();
        self.advance_setup();
        Ok(())
    }

    /// The driver compresses from now on, after [`Event::Compress`]: returns the input
    /// already taken past the tagged OK, which the server sent compressed, to be fed back
    /// through the decompressor.
    pub fn deflate_established(&mut self) -> Result<Vec<u8>, ApiError> {
        if !self.await_deflate {
            return Err(ApiError::NoCompress);
        }
        self.await_deflate = false;
        self.deflate = true;
        self.decoder = ResponseDecoder::new(*self.decoder.options());
        Ok(std::mem::take(&mut self.input))
    }

    /// Whether COMPRESS=DEFLATE is active on this connection.
    pub fn is_deflate(&self) -> bool {
        self.deflate
    }

    /// Feeds bytes from the server and processes every complete response. After the `OK`
    /// to STARTTLS, the rest of the input is discarded until [`Client::tls_established`]:
    /// anything there was sent in plaintext before the handshake, where anyone on the path
    /// could have put it (the client side of CVE-2011-0411).
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.last_activity = now;
        self.restart_clock = false;
        if self.closed || self.await_tls {
            return;
        }
        self.input.extend_from_slice(data);
        let mut used = 0;
        while !self.closed && !self.await_deflate {
            match self.decoder.decode(&self.input[used..]) {
                Ok((n, response)) => {
                    let response = response.into_owned();
                    used += n;
                    self.on_response(response);
                    if self.await_tls {
                        used = self.input.len();
                        break;
                    }
                    if self.await_deflate {
                        // Kept for `deflate_established`: compressed already.
                        break;
                    }
                }
                Err(DecodeError::Incomplete) => break,
                // An untagged response this parser cannot read is skipped, not fatal: a
                // client must accept any response at all times (RFC 9051 §2.2.2), and the
                // command it belongs to still completes.
                Err(DecodeError::Syntax { error, skip })
                    if self.greeted && skip > 0 && self.input[used..].starts_with(b"* ") =>
                {
                    let end = (used + skip).min(self.input.len());
                    self.events.push_back(Event::Unparsed {
                        response: self.input[used..end].to_vec(),
                        error: error.to_string(),
                    });
                    used = end;
                }
                Err(e) => {
                    self.fail(ClientError::Protocol(e.to_string()));
                    break;
                }
            }
        }
        self.input.drain(..used.min(self.input.len()));
    }

    fn close(&mut self, reason: String) {
        self.closed = true;
        self.state = State::Logout;
        self.events.push_back(Event::Closed { reason });
    }

    fn fail(&mut self, error: ClientError) {
        if !self.closed {
            self.closed = true;
            self.state = State::Logout;
            self.events.push_back(Event::Failed(error));
        }
    }

    fn learn(&mut self, code: Option<&ResponseCode<'static>>) {
        if let Some(ResponseCode::Capability(caps)) = code {
            self.capabilities.clone_from(caps);
            self.announcements += 1;
        }
    }

    fn on_response(&mut self, response: Response<'static>) {
        match response {
            Response::Status(status) if !self.greeted => {
                self.greeted = true;
                self.learn(status.code.as_ref());
                match status.kind {
                    // RFC 9051 §7.1.4: PREAUTH in plaintext leaves no way to STARTTLS; a
                    // client that requires TLS closes the connection.
                    StatusKind::PreAuth
                        if !self.tls && self.config.starttls == TlsPolicy::Required =>
                    {
                        self.events.push_back(Event::Greeting(status));
                        self.fail(ClientError::TlsNotOffered);
                        return;
                    }
                    StatusKind::PreAuth => self.state = State::Authenticated,
                    StatusKind::Bye => {
                        self.events.push_back(Event::Greeting(status.clone()));
                        self.fail(ClientError::Rejected {
                            stage: Stage::Greeting,
                            status,
                        });
                        return;
                    }
                    _ => {}
                }
                self.events.push_back(Event::Greeting(status));
                self.advance_setup();
            }
            Response::Status(status) if status.tag.is_none() => {
                self.learn(status.code.as_ref());
                if status.kind == StatusKind::Bye {
                    let reason = status.text.as_str().to_owned();
                    self.events.push_back(Event::Untagged(status));
                    // A BYE before LOGOUT's OK: wait for the OK if LOGOUT is in flight.
                    if !self.in_flight.iter().any(|c| c.body == Kind::Logout) {
                        self.close(reason);
                    }
                } else {
                    self.events.push_back(Event::Untagged(status));
                }
            }
            Response::Status(status) => self.completed(status),
            Response::Data(data) => {
                match &data {
                    Data::Capability(caps) => {
                        self.capabilities.clone_from(caps);
                        self.announcements += 1;
                    }
                    // IMAP4rev2 puts UTF-8 in force as UTF8=ACCEPT does (RFC 9051 §5.1).
                    Data::Enabled(caps)
                        if caps.iter().any(|c| {
                            matches!(c, Capability::Utf8Accept | Capability::Imap4Rev2)
                        }) =>
                    {
                        self.utf8 = true;
                        let mut opts = *self.decoder.options();
                        opts.utf8 = true;
                        self.decoder.set_options(opts);
                    }
                    _ => {}
                }
                let front = self.in_flight.front();
                if front.is_some_and(|c| c.internal) {
                    return;
                }
                let tag = front.map(|c| c.tag.clone());
                self.events.push_back(Event::Data { tag, data });
            }
            Response::Continue(cont) => {
                if let Some(piece) = self.held.pop_front() {
                    self.transmit.extend_from_slice(&piece);
                    if self.held.is_empty() {
                        self.held_tag = None;
                    }
                } else if self.done_pending
                    && self.in_flight.back().is_some_and(|c| c.body == Kind::Idle)
                {
                    self.done_pending = false;
                    self.send_done();
                } else if self.idle.is_some()
                    && self.in_flight.back().is_some_and(|c| c.body == Kind::Idle)
                {
                    self.idling = true;
                    self.events.push_back(Event::Idling);
                } else if self.in_flight.front().is_some_and(|c| c.internal) {
                    self.setup_continue();
                } else {
                    self.events.push_back(Event::Continue(cont));
                }
            }
        }
    }

    fn completed(&mut self, status: Status<'static>) {
        let Some(tag) = status.tag.clone() else {
            return;
        };
        let Some(i) = self.in_flight.iter().position(|c| c.tag == tag) else {
            self.fail(ClientError::Protocol(format!(
                "tagged response for unknown command {tag}"
            )));
            return;
        };
        let Some(cmd) = self.in_flight.remove(i) else {
            return;
        };
        // The server refused the command before its literal: don't send the rest. The
        // command was never run, so it changes no state (a refused SELECT leaves the
        // selected mailbox selected, as the server sees it).
        let refused_early = self.held_tag.as_ref() == Some(&tag);
        if refused_early {
            self.held.clear();
            self.held_tag = None;
        }
        if self.idle.as_ref() == Some(&tag) {
            self.idle = None;
            self.idling = false;
        }
        if cmd.body == Kind::Idle {
            self.done_pending = false;
        }
        self.learn(status.code.as_ref());
        let ok = status.kind == StatusKind::Ok;
        match cmd.body {
            _ if refused_early => {}
            Kind::Login if ok => {
                self.state = State::Authenticated;
                // RFC 9051 §6.2.2, §6.2.3: a login may change the capabilities, and the
                // server may say the new ones (in its OK, or untagged before it, as Gmail
                // does). Otherwise those from before are stale.
                if self.announcements == cmd.announcements {
                    self.capabilities.clear();
                }
            }
            Kind::Select if ok => self.state = State::Selected,
            // A SELECT that fails, with NO or BAD, leaves no mailbox selected (RFC 9051
            // §6.3.2), as this crate's server does.
            Kind::Select | Kind::Close
                if self.state == State::Selected && (ok || cmd.body == Kind::Select) =>
            {
                self.state = State::Authenticated;
            }
            Kind::StartTls if ok => {
                self.await_tls = true;
                // The set-up's asks for the handshake itself; the application's, as it does:
                // the handshake is for the application (or the driver) to run, its
                // `Completed` follows.
                if !cmd.internal {
                    self.events.push_back(Event::StartTls);
                }
            }
            Kind::Compress if ok => {
                // RFC 4978 §3: the server compresses right after this CRLF.
                self.await_deflate = true;
                self.events.push_back(Event::Compress);
            }
            Kind::Logout => {
                self.events.push_back(Event::Completed {
                    tag,
                    name: cmd.name,
                    status,
                });
                self.close("logged out".to_owned());
                return;
            }
            _ => {}
        }
        if cmd.internal {
            self.setup_completed(cmd.body, status);
        } else {
            self.events.push_back(Event::Completed {
                tag,
                name: cmd.name,
                status,
            });
        }
    }
}
