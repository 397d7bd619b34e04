//! The client side of an IMAP session, without I/O.
//!
//! The client tags commands, sends each up to its first synchronizing literal and the rest
//! once the server's `+` arrives (or at once, as `{n+}`, when LITERAL+ is advertised, or
//! LITERAL- and the literal is at most 4096 octets), routes untagged responses to the oldest
//! command in flight, tracks the connection state and the capabilities, and runs IDLE and
//! AUTHENTICATE PLAIN.

use std::{collections::VecDeque, time::Instant};

use crate::{
    codec::{
        CommandOptions, EncodeBuf, ResponseDecoder, ResponseError, ResponseOptions, encode_command,
        encode_idle_done, frame::LiteralMode,
    },
    types::{
        capability::Capability,
        command::{Command, CommandBody, SaslResponse, State},
        core::Tag,
        response::{Continue, Data, Response, Status, StatusKind},
        response_code::ResponseCode,
    },
};

/// A client session's configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The letters before the tag's number (`A` gives `A0001`).
    pub tag_prefix: String,
    /// How responses are parsed (limits, leniencies).
    pub response_options: ResponseOptions,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            tag_prefix: "A".to_owned(),
            response_options: ResponseOptions::default(),
        }
    }
}

/// What happened in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server's greeting: `OK`, `PREAUTH` (already authenticated) or `BYE`.
    Greeting(Status<'static>),
    /// Untagged data, with the tag of the oldest command in flight (`None` if none is:
    /// unsolicited news such as EXISTS).
    Data {
        /// The command it is taken to answer.
        tag: Option<Tag<'static>>,
        /// The data.
        data: Data<'static>,
    },
    /// An untagged status (`* OK [UIDVALIDITY ...]`, `* NO ...`, `* BAD ...`).
    Untagged(Status<'static>),
    /// A command finished.
    Completed {
        /// Its tag.
        tag: Tag<'static>,
        /// Its name (`UID FETCH`, ...).
        name: &'static str,
        /// The tagged status.
        status: Status<'static>,
    },
    /// The server accepted IDLE; updates arrive as `Data` until [`Client::idle_done`].
    Idling,
    /// A continuation request no literal or exchange of the session was waiting for (an
    /// AUTHENTICATE exchange the application runs).
    Continue(Continue<'static>),
    /// The server said BYE or the session failed; close the connection.
    Closed {
        /// The BYE or the error.
        reason: String,
    },
}

/// The API was used out of order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The session is closed.
    #[error("the session is closed")]
    Closed,
    /// A command is waiting for a continuation, or IDLE is running.
    #[error("not now: {0}")]
    Busy(&'static str),
    /// No IDLE is running.
    #[error("no IDLE is running")]
    NotIdling,
    /// `tls_established` without a STARTTLS the server accepted.
    #[error("no STARTTLS is in progress")]
    NoStartTls,
}

#[derive(Debug)]
struct InFlight {
    tag: Tag<'static>,
    name: &'static str,
    body: Kind,
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
    idle: Option<Tag<'static>>,
    /// STARTTLS was accepted: input is discarded until [`Client::tls_established`].
    await_tls: bool,
    /// UTF8=ACCEPT was enabled: mailbox names travel as UTF-8.
    utf8: bool,
    next_tag: u32,
    closed: bool,
    last_activity: Instant,
}

impl Client {
    /// A new session, waiting for the greeting.
    pub fn new(config: ClientConfig, now: Instant) -> Self {
        Self {
            decoder: ResponseDecoder::new(config.response_options),
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
            idle: None,
            await_tls: false,
            utf8: false,
            next_tag: 1,
            closed: false,
            last_activity: now,
        }
    }

    /// The connection state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The capabilities last announced.
    pub fn capabilities(&self) -> &[Capability<'static>] {
        &self.capabilities
    }

    /// Whether the server announced `cap`.
    pub fn has(&self, cap: &Capability<'_>) -> bool {
        self.capabilities.iter().any(|c| c == cap)
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

    /// Sends a command; returns its tag. Literals go out as the server allows.
    pub fn send(&mut self, body: CommandBody<'_>) -> Result<Tag<'static>, ApiError> {
        if self.closed {
            return Err(ApiError::Closed);
        }
        if self.await_tls {
            return Err(ApiError::Busy(
                "the TLS handshake after STARTTLS comes first",
            ));
        }
        if !self.held.is_empty() || self.idle.is_some() {
            return Err(ApiError::Busy(
                "a command waits for a continuation, or IDLE runs",
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
        }
        self.in_flight.push_back(InFlight {
            tag: tag.clone(),
            name,
            body: kind,
        });
        Ok(tag)
    }

    /// Ends IDLE with `DONE`.
    pub fn idle_done(&mut self) -> Result<(), ApiError> {
        if self.idle.take().is_none() {
            return Err(ApiError::NotIdling);
        }
        let mut buf = EncodeBuf::new();
        encode_idle_done(&mut buf);
        self.transmit.append(&mut buf.bytes);
        Ok(())
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
    /// learnt before it are forgotten (RFC 9051 §6.2.1): ask CAPABILITY again.
    pub fn tls_established(&mut self) -> Result<(), ApiError> {
        if !self.await_tls {
            return Err(ApiError::NoStartTls);
        }
        self.await_tls = false;
        self.input.clear();
        self.decoder = ResponseDecoder::new(*self.decoder.options());
        self.capabilities.clear();
        Ok(())
    }

    /// Feeds bytes from the server and processes every complete response. After the `OK`
    /// to STARTTLS, the rest of the input is discarded until [`Client::tls_established`]:
    /// anything there was sent in plaintext before the handshake, where anyone on the path
    /// could have put it (the client side of CVE-2011-0411).
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.last_activity = now;
        if self.closed || self.await_tls {
            return;
        }
        self.input.extend_from_slice(data);
        let mut used = 0;
        while !self.closed {
            match self.decoder.decode(&self.input[used..]) {
                Ok((n, response)) => {
                    let response = response.into_owned();
                    used += n;
                    self.on_response(response);
                    if self.await_tls {
                        used = self.input.len();
                        break;
                    }
                }
                Err(ResponseError::Incomplete) => break,
                Err(e) => {
                    self.close(format!("invalid response: {e}"));
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

    fn learn(&mut self, code: Option<&ResponseCode<'static>>) {
        if let Some(ResponseCode::Capability(caps)) = code {
            self.capabilities.clone_from(caps);
        }
    }

    fn on_response(&mut self, response: Response<'static>) {
        match response {
            Response::Status(status) if !self.greeted => {
                self.greeted = true;
                self.learn(status.code.as_ref());
                match status.kind {
                    StatusKind::PreAuth => self.state = State::Authenticated,
                    StatusKind::Bye => {
                        let reason = status.text.as_str().to_owned();
                        self.events.push_back(Event::Greeting(status));
                        self.close(reason);
                        return;
                    }
                    _ => {}
                }
                self.events.push_back(Event::Greeting(status));
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
                    Data::Capability(caps) => self.capabilities.clone_from(caps),
                    Data::Enabled(caps) if caps.contains(&Capability::Utf8Accept) => {
                        self.utf8 = true;
                        let mut opts = *self.decoder.options();
                        opts.utf8 = true;
                        self.decoder.set_options(opts);
                    }
                    _ => {}
                }
                let tag = self.in_flight.front().map(|c| c.tag.clone());
                self.events.push_back(Event::Data { tag, data });
            }
            Response::Continue(cont) => {
                if let Some(piece) = self.held.pop_front() {
                    self.transmit.extend_from_slice(&piece);
                    if self.held.is_empty() {
                        self.held_tag = None;
                    }
                } else if self.idle.is_some()
                    && self.in_flight.back().is_some_and(|c| c.body == Kind::Idle)
                {
                    self.events.push_back(Event::Idling);
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
            self.close(format!("tagged response for unknown command {tag}"));
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
        }
        self.learn(status.code.as_ref());
        let ok = status.kind == StatusKind::Ok;
        match cmd.body {
            _ if refused_early => {}
            Kind::Login if ok => self.state = State::Authenticated,
            Kind::Select if ok => self.state = State::Selected,
            Kind::Select | Kind::Close
                if self.state == State::Selected && (ok || cmd.body == Kind::Select) =>
            {
                self.state = State::Authenticated;
            }
            Kind::StartTls if ok => self.await_tls = true,
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
        self.events.push_back(Event::Completed {
            tag,
            name: cmd.name,
            status,
        });
    }
}
