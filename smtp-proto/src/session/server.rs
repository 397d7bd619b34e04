//! The server side of an SMTP or LMTP session, without I/O.
//!
//! ```
//! use std::time::Instant;
//! use smtp_proto::session::server::{Event, Server};
//! use smtp_proto::session::ServerConfig;
//!
//! let now = Instant::now();
//! let mut server = Server::new(ServerConfig::new("mx.example.org"), now);
//! let mut wire = Vec::new();
//! server.poll_transmit(&mut wire);
//! assert!(wire.starts_with(b"220 mx.example.org"));
//!
//! server.handle_input(now, b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n");
//! assert!(matches!(server.poll_event(), Some(Event::Hello { .. })));
//! assert!(matches!(server.poll_event(), Some(Event::Mail { .. })));
//! server.accept().unwrap();
//! wire.clear();
//! server.poll_transmit(&mut wire);
//! assert!(wire.ends_with(b"250 2.1.0 Sender OK\r\n"));
//! ```

use std::{borrow::Cow, collections::VecDeque, time::Instant};

use super::{
    config::{Protocol, ServerConfig},
    replies,
};
use crate::{
    DecodeError,
    codec::{
        self, ChunkReceiver, DataEnd, DataReceiver, SaslLine,
        line::{Frame, find_line},
    },
    types::{
        address::{DomainPart, ForwardPath, ReversePath},
        capability::{Capability, EhloReply},
        command::{AuthInitial, Command, HelloKind},
        params::{Body, MailParams, RcptParams},
        reply::Reply,
        sasl::{Credentials, Mechanism, base64_decode, base64_encode},
    },
};

/// What happened in the session. Events that ask for a decision say so; until it is given,
/// `poll_event` returns `None` and no further input is processed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// HELO, EHLO or LHLO was answered. Any transaction in progress was reset.
    Hello {
        /// Which verb.
        kind: HelloKind,
        /// The name the client gave.
        host: DomainPart<'static>,
    },
    /// **Decision**: MAIL FROM. Answer with [`Server::accept`] or [`Server::reject`].
    Mail {
        /// The sender.
        from: ReversePath<'static>,
        /// The parameters, already checked against the advertised extensions.
        params: MailParams<'static>,
    },
    /// **Decision**: RCPT TO. Answer with [`Server::accept`] or [`Server::reject`].
    Rcpt {
        /// The recipient.
        to: ForwardPath<'static>,
        /// The parameters.
        params: RcptParams<'static>,
    },
    /// **Decision**: the client wants to send the message (DATA, or the first BDAT).
    /// [`Server::accept`] lets it; [`Server::reject`] refuses (BDAT data is then skipped).
    DataStart,
    /// Message data, unstuffed (after DATA) or as sent (BDAT). Append it to the message being
    /// received.
    MessageData(Vec<u8>),
    /// **Decision**: the message is complete. Make it durable, then answer: once in SMTP,
    /// once per accepted recipient in LMTP, in RCPT order.
    MessageEnd {
        /// Octets received.
        size: u64,
        /// How many answers are expected.
        replies: usize,
    },
    /// The message being received was refused by the session (bare line endings, size,
    /// line length) and has been answered; discard what was received.
    MessageAborted {
        /// The reply that was sent.
        reply: Reply<'static>,
    },
    /// The transaction in progress was dropped (RSET, HELO/EHLO, STARTTLS, AUTH reset).
    /// Discard any message data received for it.
    TransactionReset,
    /// **Decision**: credentials from AUTH PLAIN or LOGIN. [`Server::accept`] or
    /// [`Server::reject`].
    Auth {
        /// The mechanism used.
        mechanism: Mechanism<'static>,
        /// What the client sent.
        credentials: Credentials,
    },
    /// **Decision**: an exchange for a mechanism the application runs. Answer with
    /// [`Server::auth_challenge`], [`Server::accept`] or [`Server::reject`].
    AuthExchange {
        /// The mechanism.
        mechanism: Mechanism<'static>,
        /// The client's data: the initial response, then each response. `None` when AUTH
        /// came without an initial response.
        response: Option<Vec<u8>>,
    },
    /// STARTTLS was accepted and its `220` queued. Flush the transmit buffer, run the TLS
    /// handshake, then call [`Server::tls_established`]. Input buffered so far is discarded.
    StartTls,
}

/// A decision the application owes the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Mail { smtputf8: bool, binary: bool },
    Rcpt,
    DataStart { bdat: Option<(u64, bool)> },
    MessageEnd { replies: usize },
    Auth,
    AuthExchange,
}

/// What the session does with the next input.
#[derive(Debug, Clone)]
enum Mode {
    Commands,
    /// Discarding the rest of an overlong line.
    SkipLine {
        sasl: bool,
    },
    Sasl(SaslState),
    Data(DataReceiver),
    Chunk {
        rx: ChunkReceiver,
        last: bool,
    },
    /// Skipping a refused BDAT chunk; the reply goes out once it has been read, `copies`
    /// times (in LMTP, a refused `BDAT ... LAST` is answered once per accepted recipient,
    /// as the end of DATA is).
    SkipChunk {
        rx: ChunkReceiver,
        reply: Reply<'static>,
        copies: usize,
    },
    AwaitTls,
    Closed,
}

#[derive(Debug, Clone)]
enum SaslState {
    Plain,
    LoginUser,
    LoginPassword(String),
    App(Mechanism<'static>),
}

#[derive(Debug, Clone, Default)]
struct Transaction {
    smtputf8: bool,
    binary: bool,
    rcpts_tried: usize,
    rcpts_accepted: usize,
    data_started: bool,
    received: u64,
    /// A BDAT chunk of this transaction was refused: the chunks still in the pipeline are
    /// skipped and answered with this reply, up to the LAST one.
    refused: Option<Reply<'static>>,
}

/// Events that borrow nothing, queued behind the one being returned.
#[derive(Debug)]
enum Queued {
    MessageEnd { size: u64, replies: usize },
    MessageAborted(Reply<'static>),
    TransactionReset,
    StartTls,
}

/// Everything but the input buffer, so an event can borrow the input while this changes.
#[derive(Debug)]
struct State {
    config: ServerConfig,
    mode: Mode,
    hello: Option<HelloKind>,
    transaction: Option<Transaction>,
    authenticated: bool,
    tls: bool,
    pending: Option<Pending>,
    /// The mechanism of an exchange the application runs.
    auth_mechanism: Option<Mechanism<'static>>,
    queued: VecDeque<Queued>,
    /// Octets of the input buffer already processed.
    pos: usize,
    /// Octets after `pos` known to hold no LF.
    scanned: usize,
    errors: usize,
    transmit: Vec<u8>,
    /// Where the timeouts count from: the end of the last complete command, message or
    /// chunk, moved forward by the time partial input earns (see [`Limits::min_input_rate`]).
    ///
    /// [`Limits::min_input_rate`]: crate::Limits::min_input_rate
    last_activity: Instant,
    /// When input last arrived.
    last_input: Instant,
}

/// The server session.
#[derive(Debug)]
pub struct Server {
    input: Vec<u8>,
    data_out: Vec<u8>,
    state: State,
}

/// The application called a method that does not fit the session's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No decision is pending.
    #[error("no decision is pending")]
    NothingPending,
    /// `reject` needs a 4xx or 5xx reply, `accept_with` a 2xx one.
    #[error("reply code does not fit: {0}")]
    WrongReplyCode(&'static str),
    /// The call does not fit the pending decision.
    #[error("not valid for the pending decision")]
    WrongDecision,
    /// `tls_established` without a STARTTLS.
    #[error("no STARTTLS is in progress")]
    NoStartTls,
}

impl Server {
    /// A new session; the greeting is queued for transmission.
    pub fn new(config: ServerConfig, now: Instant) -> Self {
        let mut state = State {
            tls: config.implicit_tls,
            config,
            mode: Mode::Commands,
            hello: None,
            transaction: None,
            authenticated: false,
            pending: None,
            auth_mechanism: None,
            queued: VecDeque::new(),
            pos: 0,
            scanned: 0,
            errors: 0,
            transmit: Vec::new(),
            last_activity: now,
            last_input: now,
        };
        let banner = match state.config.protocol {
            Protocol::Smtp => "ESMTP ready",
            Protocol::Lmtp => "LMTP ready",
        };
        let greeting = format!("{} {banner}", state.config.hostname);
        match Reply::new(crate::ReplyCode::SERVICE_READY, None, greeting) {
            Ok(reply) => state.send(&reply),
            Err(_) => state.send(&replies::r(220, (2, 0, 0), "ESMTP ready")),
        }
        Self {
            input: Vec::new(),
            data_out: Vec::new(),
            state,
        }
    }

    /// Feeds bytes read from the client. Drain [`Server::poll_event`] and
    /// [`Server::poll_transmit`] afterwards. The session buffers what it cannot process yet;
    /// feed more only after draining events, so the buffer stays bounded by one read plus one
    /// line.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.state.earn(now, data.len());
        if matches!(self.state.mode, Mode::AwaitTls | Mode::Closed) {
            return;
        }
        self.input.extend_from_slice(data);
    }

    /// When [`Server::handle_timeout`] should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let limits = &self.state.config.limits;
        match self.state.mode {
            Mode::Closed | Mode::AwaitTls => None,
            Mode::Data(_) | Mode::Chunk { .. } | Mode::SkipChunk { .. } => {
                Some(self.state.last_activity + limits.data_timeout)
            }
            _ => Some(self.state.last_activity + limits.command_timeout),
        }
    }

    /// Closes the session with `421 4.4.2` if the client has been silent too long.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| now >= t) {
            self.state.send(&replies::timeout());
            self.state.close();
        }
    }

    /// Moves the bytes to send to the client into `out`.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.state.transmit);
    }

    /// Ends the session with `421 4.3.2` because the server is shutting down (RFC 5321 §3.8).
    /// A transaction in progress is dropped; the client sends it again later.
    pub fn shutdown(&mut self) {
        if !matches!(self.state.mode, Mode::Closed) {
            self.state.send(&replies::shutting_down());
            self.state.close();
        }
    }

    /// Whether the session is over; close the connection once the transmit buffer is sent.
    pub fn is_closed(&self) -> bool {
        matches!(self.state.mode, Mode::Closed)
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.state.tls
    }

    /// Octets of input held by the session (for memory accounting: bounded by one read plus
    /// one line, however long the peer's line).
    pub fn buffered_len(&self) -> usize {
        self.input.len() + self.data_out.len()
    }

    /// Whether the client has authenticated.
    pub fn is_authenticated(&self) -> bool {
        self.state.authenticated
    }

    /// The next event, if any. See [`Event`].
    pub fn poll_event(&mut self) -> Option<Event> {
        // Release what the previous event borrowed.
        self.data_out.clear();
        if self.state.pos > 0 {
            self.input.drain(..self.state.pos);
            self.state.pos = 0;
        }
        let Self {
            input,
            data_out,
            state,
        } = self;
        loop {
            if let Some(q) = state.queued.pop_front() {
                return Some(state.dequeue(q));
            }
            if state.pending.is_some() {
                return None;
            }
            if let Mode::Data(rx) = &mut state.mode {
                let (used, end) = rx.decode(&input[state.pos..], data_out);
                state.pos += used;
                if let Some(end) = end {
                    state.mode = Mode::Commands;
                    state.progress();
                    state.data_ended(end);
                } else if used == 0 {
                    return None;
                }
                if !data_out.is_empty() {
                    return Some(Event::MessageData(std::mem::take(data_out)));
                }
                continue;
            }
            match state.step(input) {
                Step::Continue => {}
                Step::Idle => return None,
                Step::Event(e) => return Some(e),
            }
        }
    }

    /// Accepts the pending decision with its usual positive reply.
    pub fn accept(&mut self) -> Result<(), ApiError> {
        let reply = match self.state.pending.ok_or(ApiError::NothingPending)? {
            Pending::Mail { .. } => replies::sender_ok(),
            Pending::Rcpt => replies::recipient_ok(),
            Pending::DataStart { bdat: None } => replies::start_data(),
            Pending::DataStart { bdat: Some(_) } => return self.accept_with(&replies::ok()),
            Pending::MessageEnd { .. } => replies::message_accepted(),
            Pending::Auth | Pending::AuthExchange => replies::auth_succeeded(),
        };
        self.accept_with(&reply)
    }

    /// Accepts the pending decision with `reply`, which must be positive (2xx; 354 for DATA).
    pub fn accept_with(&mut self, reply: &Reply<'_>) -> Result<(), ApiError> {
        let pending = self.state.pending.ok_or(ApiError::NothingPending)?;
        let code = reply.code();
        let fits = match pending {
            Pending::DataStart { bdat: None } => code == crate::ReplyCode::START_MAIL_INPUT,
            _ => code.is_positive(),
        };
        if !fits {
            return Err(ApiError::WrongReplyCode("accept needs 2xx (354 for DATA)"));
        }
        let s = &mut self.state;
        match pending {
            Pending::Mail { smtputf8, binary } => {
                s.pending = None;
                s.send(reply);
                s.transaction = Some(Transaction {
                    smtputf8,
                    binary,
                    ..Transaction::default()
                });
            }
            Pending::Rcpt => {
                s.pending = None;
                s.send(reply);
                if let Some(t) = &mut s.transaction {
                    t.rcpts_accepted += 1;
                }
            }
            Pending::DataStart { bdat } => {
                s.pending = None;
                if let Some(t) = &mut s.transaction {
                    t.data_started = true;
                }
                match bdat {
                    None => {
                        s.send(reply);
                        s.mode = Mode::Data(DataReceiver::new(
                            s.config.bare_line_endings,
                            s.config.limits.max_message_size,
                            s.config.limits.max_text_line,
                        ));
                    }
                    // The BDAT reply is sent once its chunk has been read.
                    Some((size, last)) => s.start_chunk(size, last),
                }
            }
            Pending::MessageEnd { replies } => {
                s.send(reply);
                s.answered_message(replies);
            }
            Pending::Auth | Pending::AuthExchange => {
                s.pending = None;
                s.authenticated = true;
                s.send(reply);
            }
        }
        Ok(())
    }

    /// Refuses the pending decision with `reply`, which must be negative (4xx or 5xx).
    pub fn reject(&mut self, reply: Reply<'_>) -> Result<(), ApiError> {
        let pending = self.state.pending.ok_or(ApiError::NothingPending)?;
        if !reply.code().is_negative() {
            return Err(ApiError::WrongReplyCode("reject needs 4xx or 5xx"));
        }
        let s = &mut self.state;
        match pending {
            Pending::Rcpt => {
                s.pending = None;
                s.send(&reply);
            }
            Pending::DataStart {
                bdat: Some((size, last)),
            } => {
                s.pending = None;
                s.skip_refused_chunk(size, last, reply.into_owned());
            }
            Pending::MessageEnd { replies } => {
                s.send(&reply);
                s.answered_message(replies);
            }
            Pending::Mail { .. }
            | Pending::DataStart { bdat: None }
            | Pending::Auth
            | Pending::AuthExchange => {
                s.pending = None;
                s.send(&reply);
                if matches!(pending, Pending::DataStart { .. }) {
                    s.transaction = None;
                }
            }
        }
        Ok(())
    }

    /// Sends a SASL challenge (`334` and `challenge` in base64) for an
    /// [`Event::AuthExchange`]; the client's answer comes as the next `AuthExchange`.
    pub fn auth_challenge(&mut self, challenge: &[u8]) -> Result<(), ApiError> {
        let s = &mut self.state;
        if s.pending != Some(Pending::AuthExchange) {
            return Err(ApiError::WrongDecision);
        }
        s.pending = None;
        let text = base64_encode(challenge);
        if let Ok(reply) = Reply::new(crate::ReplyCode::AUTH_CONTINUE, None, text) {
            s.send(&reply);
        }
        if let Some(mech) = s.auth_mechanism.clone() {
            s.mode = Mode::Sasl(SaslState::App(mech));
        }
        Ok(())
    }

    /// The TLS handshake after [`Event::StartTls`] succeeded: the session starts over
    /// (RFC 3207 §4.2), waiting for a new EHLO.
    pub fn tls_established(&mut self) -> Result<(), ApiError> {
        if !matches!(self.state.mode, Mode::AwaitTls) {
            return Err(ApiError::NoStartTls);
        }
        self.input.clear();
        let s = &mut self.state;
        s.pos = 0;
        s.scanned = 0;
        s.tls = true;
        s.hello = None;
        s.transaction = None;
        s.authenticated = false;
        s.mode = Mode::Commands;
        Ok(())
    }
}

/// Not boxed: an event is returned at most once per `poll_event`, and boxing would allocate.
#[allow(clippy::large_enum_variant)]
enum Step {
    Continue,
    Idle,
    Event(Event),
}

impl State {
    fn send(&mut self, reply: &Reply<'_>) {
        codec::encode_reply(reply, &mut self.transmit);
    }

    /// `len` octets arrived at `now`: they move the timeouts' start forward by the time they
    /// earn at the minimum rate, up to `now`. Only a complete command, message or chunk
    /// ([`State::progress`]) restarts them.
    fn earn(&mut self, now: Instant, len: usize) {
        self.last_input = now;
        let per_octet = 1_000_000_000u64
            .checked_div(self.config.limits.min_input_rate)
            .unwrap_or(0);
        let earned = std::time::Duration::from_nanos((len as u64).saturating_mul(per_octet));
        self.last_activity = self
            .last_activity
            .checked_add(earned)
            .map_or(now, |t| t.min(now));
    }

    /// A command line, message or chunk is complete: the timeouts restart from when its
    /// last octets arrived.
    fn progress(&mut self) {
        self.last_activity = self.last_input;
    }

    fn close(&mut self) {
        self.mode = Mode::Closed;
        self.pending = None;
        self.queued.clear();
    }

    fn dequeue(&mut self, q: Queued) -> Event {
        match q {
            Queued::MessageEnd { size, replies } => {
                self.pending = Some(Pending::MessageEnd { replies });
                Event::MessageEnd { size, replies }
            }
            Queued::MessageAborted(reply) => Event::MessageAborted { reply },
            Queued::TransactionReset => Event::TransactionReset,
            Queued::StartTls => Event::StartTls,
        }
    }

    /// Replies owed after the message data: one, or one per accepted recipient in LMTP.
    fn replies_owed(&self) -> usize {
        match self.config.protocol {
            Protocol::Smtp => 1,
            Protocol::Lmtp => self
                .transaction
                .as_ref()
                .map_or(1, |t| t.rcpts_accepted.max(1)),
        }
    }

    fn answered_message(&mut self, replies: usize) {
        if replies > 1 {
            self.pending = Some(Pending::MessageEnd {
                replies: replies - 1,
            });
        } else {
            self.pending = None;
            self.transaction = None;
        }
    }

    fn abort_message(&mut self, reply: Reply<'static>) {
        for _ in 0..self.replies_owed() {
            self.send(&reply);
        }
        self.transaction = None;
        self.queued.push_back(Queued::MessageAborted(reply));
    }

    fn data_ended(&mut self, end: DataEnd) {
        if end.bare_line_ending {
            self.abort_message(replies::bare_line_ending());
        } else if end.too_large {
            self.abort_message(replies::too_large());
        } else if end.line_too_long {
            self.abort_message(replies::data_line_too_long());
        } else {
            let replies = self.replies_owed();
            self.queued.push_back(Queued::MessageEnd {
                size: end.size,
                replies,
            });
        }
    }

    fn reset_transaction(&mut self) {
        if self.transaction.take().is_some() {
            self.queued.push_back(Queued::TransactionReset);
        }
    }

    /// A bad command: answered, counted, and the session closed after too many.
    fn error(&mut self, reply: &Reply<'_>) {
        self.send(reply);
        self.errors += 1;
        if self.errors >= self.config.limits.max_errors {
            self.send(&replies::too_many_errors());
            self.close();
        }
    }

    /// Skips a chunk of a transaction whose data was refused and answers it with `reply`:
    /// the transaction ends with its LAST chunk, which in LMTP is answered once per accepted
    /// recipient (the client waits for that many replies after `BDAT ... LAST`).
    fn skip_refused_chunk(&mut self, size: u64, last: bool, reply: Reply<'static>) {
        let copies = if last { self.replies_owed() } else { 1 };
        if last {
            self.transaction = None;
        } else if let Some(t) = &mut self.transaction {
            t.refused = Some(reply.clone());
        }
        self.mode = Mode::SkipChunk {
            rx: ChunkReceiver::new(size),
            reply,
            copies,
        };
    }

    fn start_chunk(&mut self, size: u64, last: bool) {
        self.mode = Mode::Chunk {
            rx: ChunkReceiver::new(size),
            last,
        };
    }

    /// Processes input until an event, or until nothing more can be done.
    fn step(&mut self, input: &[u8]) -> Step {
        let buf = &input[self.pos..];
        match &mut self.mode {
            Mode::Closed | Mode::AwaitTls => Step::Idle,
            // Handled by the caller, which owns the output buffer.
            Mode::Data(_) => Step::Continue,
            Mode::SkipLine { sasl } => {
                let sasl = *sasl;
                let Some(lf) = memchr::memchr(b'\n', buf) else {
                    self.pos += buf.len();
                    return Step::Idle;
                };
                self.pos += lf + 1;
                self.mode = Mode::Commands;
                self.progress();
                if sasl {
                    self.send(&replies::auth_line_too_long());
                } else {
                    self.error(&DecodeError::LineTooLong { max: 0 }.to_reply());
                }
                Step::Continue
            }
            Mode::Chunk { rx, last } => {
                let last = *last;
                let chunk = rx.take(buf);
                let done = rx.remaining() == 0;
                self.pos += chunk.len();
                if let Some(t) = &mut self.transaction {
                    t.received += chunk.len() as u64;
                }
                if done {
                    self.mode = Mode::Commands;
                    self.progress();
                    if last {
                        let size = self.transaction.as_ref().map_or(0, |t| t.received);
                        let replies = self.replies_owed();
                        self.queued.push_back(Queued::MessageEnd { size, replies });
                    } else {
                        self.send(&replies::ok());
                    }
                }
                if chunk.is_empty() {
                    if done { Step::Continue } else { Step::Idle }
                } else {
                    Step::Event(Event::MessageData(chunk.to_vec()))
                }
            }
            Mode::SkipChunk { rx, reply, copies } => {
                let skipped = rx.take(buf).len();
                self.pos += skipped;
                if rx.remaining() > 0 {
                    return Step::Idle;
                }
                let (reply, copies) = (reply.clone(), *copies);
                self.mode = Mode::Commands;
                self.progress();
                for _ in 1..copies {
                    self.send(&reply);
                }
                self.error(&reply);
                Step::Continue
            }
            Mode::Commands | Mode::Sasl(_) => {
                let sasl = matches!(self.mode, Mode::Sasl(_));
                let limits = &self.config.limits;
                let max = if sasl {
                    limits.max_sasl_line
                } else {
                    codec::command_line_limit(buf, limits)
                };
                match find_line(buf, max, self.scanned) {
                    Frame::Partial => {
                        self.scanned = buf.len();
                        Step::Idle
                    }
                    Frame::TooLongSoFar => {
                        self.pos += buf.len();
                        self.scanned = 0;
                        self.mode = Mode::SkipLine { sasl };
                        Step::Idle
                    }
                    Frame::Invalid { error, consumed } => {
                        self.pos += consumed;
                        self.scanned = 0;
                        self.progress();
                        if sasl {
                            self.mode = Mode::Commands;
                            self.send(&if matches!(error, DecodeError::LineTooLong { .. }) {
                                replies::auth_line_too_long()
                            } else {
                                replies::auth_bad_response()
                            });
                        } else {
                            self.error(&error.to_reply());
                        }
                        Step::Continue
                    }
                    Frame::Line { len, consumed } => {
                        self.pos += consumed;
                        self.scanned = 0;
                        self.progress();
                        let line = &buf[..len];
                        if let Mode::Sasl(state) = &self.mode {
                            let state = state.clone();
                            self.mode = Mode::Commands;
                            self.sasl_line(state, line)
                        } else {
                            let step = match codec::parse_command_line(line) {
                                Ok(cmd) => self.command(cmd),
                                Err(e) => {
                                    self.error(&e.to_reply());
                                    Step::Continue
                                }
                            };
                            if matches!(self.mode, Mode::AwaitTls) {
                                // Bytes pipelined behind STARTTLS are dropped.
                                self.pos = input.len();
                            }
                            step
                        }
                    }
                }
            }
        }
    }

    fn command(&mut self, cmd: Command<'_>) -> Step {
        match cmd {
            Command::Hello { kind, host } => self.hello(kind, host),
            Command::Mail { from, params } => self.mail(from, params),
            Command::Rcpt { to, params } => self.rcpt(to, params),
            Command::Data => self.data(),
            Command::Bdat { size, last } => self.bdat(size, last),
            Command::Rset => {
                self.reset_transaction();
                self.send(&replies::ok());
                Step::Continue
            }
            Command::Noop { .. } => {
                self.send(&replies::ok());
                Step::Continue
            }
            Command::Quit => {
                self.send(&replies::closing());
                self.reset_transaction();
                self.mode = Mode::Closed;
                self.pending = None;
                Step::Continue
            }
            Command::Vrfy { .. } => {
                self.send(&replies::cannot_vrfy());
                Step::Continue
            }
            Command::Expn { .. } => {
                self.send(&replies::not_implemented("EXPN not available"));
                Step::Continue
            }
            Command::Etrn { .. } => {
                self.send(&replies::not_implemented("ETRN not available"));
                Step::Continue
            }
            Command::Help { .. } => {
                self.send(&replies::help());
                Step::Continue
            }
            Command::StartTls => self.starttls(),
            Command::Auth { mechanism, initial } => self.auth(&mechanism, initial),
        }
    }

    fn capabilities(&self) -> Vec<Capability<'static>> {
        let e = &self.config.extensions;
        let mut caps = vec![Capability::Size(Some(self.config.limits.max_message_size))];
        let flags = [
            (e.pipelining, Capability::Pipelining),
            (e.eight_bit_mime, Capability::EightBitMime),
            (e.smtputf8, Capability::SmtpUtf8),
            (e.chunking, Capability::Chunking),
            (e.chunking && e.binary_mime, Capability::BinaryMime),
            (e.dsn, Capability::Dsn),
            (e.enhanced_status_codes, Capability::EnhancedStatusCodes),
            (e.starttls && !self.tls, Capability::StartTls),
            (e.requiretls && self.tls, Capability::RequireTls),
        ];
        caps.extend(flags.into_iter().filter_map(|(on, c)| on.then_some(c)));
        if !e.auth.is_empty() && !self.authenticated {
            caps.push(Capability::Auth(e.auth.clone()));
        }
        caps
    }

    fn hello(&mut self, kind: HelloKind, host: DomainPart<'_>) -> Step {
        let lmtp = self.config.protocol == Protocol::Lmtp;
        if lmtp != (kind == HelloKind::Lhlo) {
            self.error(&replies::r(500, (5, 5, 1), "Command unrecognized"));
            return Step::Continue;
        }
        self.reset_transaction();
        self.hello = Some(kind);
        let reply = if kind == HelloKind::Helo {
            Reply::new(crate::ReplyCode::OK, None, self.config.hostname.clone())
        } else {
            EhloReply {
                domain: Cow::Borrowed(self.config.hostname.as_str()),
                greeting: None,
                capabilities: self.capabilities(),
            }
            .to_reply()
        };
        match reply {
            Ok(r) => self.send(&r),
            Err(_) => self.send(&replies::ok()),
        }
        Step::Event(Event::Hello {
            kind,
            host: host.into_owned(),
        })
    }

    /// Checks parameters against what was advertised (RFC 5321 §4.1.1.11: `555` otherwise).
    fn mail_params_supported(&self, p: &MailParams<'_>) -> bool {
        let e = &self.config.extensions;
        let body_ok = match p.body {
            None | Some(Body::SevenBit) => true,
            Some(Body::EightBitMime) => e.eight_bit_mime,
            Some(Body::BinaryMime) => e.binary_mime && e.chunking,
        };
        body_ok
            && (!p.smtputf8 || e.smtputf8)
            && (e.dsn || (p.ret.is_none() && p.envid.is_none()))
            && (p.auth.is_none() || !e.auth.is_empty())
            && (!p.requiretls || (e.requiretls && self.tls))
            && p.mt_priority.is_none()
            && p.by.is_none()
            && p.hold.is_none()
            && (p.unknown.is_empty() || self.config.accept_unknown_params)
    }

    fn mail(&mut self, from: ReversePath<'_>, params: MailParams<'_>) -> Step {
        let reply = if self.hello.is_none() {
            Some(replies::bad_sequence("Send HELO/EHLO first"))
        } else if self
            .transaction
            .as_ref()
            .is_some_and(|t| t.refused.is_none())
        {
            // (A transaction whose BDAT data was refused is over for the client.)
            Some(replies::bad_sequence("Nested MAIL command"))
        } else if self.config.require_auth && !self.authenticated {
            Some(replies::auth_required())
        } else if params
            .size
            .is_some_and(|s| s > self.config.limits.max_message_size)
        {
            Some(replies::too_large())
        } else if !self.mail_params_supported(&params)
            || self.hello == Some(HelloKind::Helo) && !params.is_empty()
        {
            Some(replies::param_not_supported())
        } else if !params.smtputf8 && from.mailbox().is_some_and(|m| !m.is_ascii()) {
            Some(replies::utf8_not_permitted())
        } else {
            None
        };
        if let Some(reply) = reply {
            self.send(&reply);
            return Step::Continue;
        }
        self.pending = Some(Pending::Mail {
            smtputf8: params.smtputf8,
            binary: params.body == Some(Body::BinaryMime),
        });
        Step::Event(Event::Mail {
            from: from.into_owned(),
            params: params.into_owned(),
        })
    }

    fn rcpt(&mut self, to: ForwardPath<'_>, params: RcptParams<'_>) -> Step {
        let e = &self.config.extensions;
        let supported = (e.dsn || (params.notify.is_none() && params.orcpt.is_none()))
            && (params.unknown.is_empty() || self.config.accept_unknown_params);
        let reply = match &mut self.transaction {
            None => Some(replies::bad_sequence("Need MAIL command")),
            Some(t) if t.data_started => {
                Some(replies::bad_sequence("RCPT not allowed during BDAT"))
            }
            Some(t) => {
                t.rcpts_tried += 1;
                if t.rcpts_accepted >= self.config.limits.max_recipients {
                    Some(replies::too_many_recipients())
                } else if !supported {
                    Some(replies::param_not_supported())
                } else if !t.smtputf8 && to.mailbox().is_some_and(|m| !m.is_ascii()) {
                    Some(replies::utf8_not_permitted())
                } else {
                    None
                }
            }
        };
        if let Some(reply) = reply {
            self.send(&reply);
            return Step::Continue;
        }
        self.pending = Some(Pending::Rcpt);
        Step::Event(Event::Rcpt {
            to: to.into_owned(),
            params: params.into_owned(),
        })
    }

    /// Why the transaction cannot take message data now, if it cannot.
    fn data_refusal(&self) -> Option<Reply<'static>> {
        match &self.transaction {
            None => Some(replies::bad_sequence("Need MAIL command")),
            Some(t) if t.rcpts_accepted == 0 && t.rcpts_tried > 0 => {
                Some(replies::r(554, (5, 5, 1), "No valid recipients"))
            }
            Some(t) if t.rcpts_accepted == 0 => Some(replies::bad_sequence("Need RCPT command")),
            Some(_) => None,
        }
    }

    fn data(&mut self) -> Step {
        let refusal = self.data_refusal().or_else(|| match &self.transaction {
            Some(t) if t.refused.is_some() => Some(replies::bad_sequence("Need MAIL command")),
            Some(t) if t.binary => Some(replies::bad_sequence("BINARYMIME requires BDAT")),
            Some(t) if t.data_started => Some(replies::bad_sequence("DATA not allowed after BDAT")),
            _ => None,
        });
        if let Some(reply) = refusal {
            self.send(&reply);
            return Step::Continue;
        }
        self.pending = Some(Pending::DataStart { bdat: None });
        Step::Event(Event::DataStart)
    }

    fn bdat(&mut self, size: u64, last: bool) -> Step {
        let received = self.transaction.as_ref().map_or(0, |t| t.received);
        if received.saturating_add(size) > self.config.limits.max_message_size {
            // The chunk cannot be accepted, and reading it to resynchronize could take
            // forever (BDAT 2^63): refuse and close.
            self.send(&replies::too_large());
            self.reset_transaction();
            self.close();
            return Step::Continue;
        }
        let refusal = if self.config.extensions.chunking {
            self.data_refusal()
        } else {
            Some(replies::not_implemented("BDAT not available"))
        };
        let refused = self.transaction.as_ref().and_then(|t| t.refused.clone());
        if let (Some(reply), None) = (refused, &refusal) {
            self.skip_refused_chunk(size, last, reply);
            return Step::Continue;
        }
        if let Some(reply) = refusal {
            self.mode = Mode::SkipChunk {
                rx: ChunkReceiver::new(size),
                reply,
                copies: 1,
            };
            self.transaction = None;
            return Step::Continue;
        }
        if self.transaction.as_ref().is_some_and(|t| t.data_started) {
            self.start_chunk(size, last);
            return Step::Continue;
        }
        self.pending = Some(Pending::DataStart {
            bdat: Some((size, last)),
        });
        Step::Event(Event::DataStart)
    }

    fn starttls(&mut self) -> Step {
        if !self.config.extensions.starttls || self.tls {
            self.send(&replies::not_implemented("STARTTLS not available"));
            return Step::Continue;
        }
        if self.transaction.is_some() {
            self.send(&replies::bad_sequence(
                "STARTTLS not allowed during a transaction",
            ));
            return Step::Continue;
        }
        self.send(&replies::tls_ready());
        // Anything pipelined behind STARTTLS is plaintext injected before the handshake
        // (CVE-2011-0411): discard it.
        self.mode = Mode::AwaitTls;
        self.queued.push_back(Queued::StartTls);
        Step::Continue
    }

    fn auth(&mut self, mechanism: &Mechanism<'_>, initial: Option<AuthInitial<'_>>) -> Step {
        let offered = &self.config.extensions.auth;
        let refusal = if offered.is_empty() {
            Some(replies::not_implemented("AUTH not available"))
        } else if self.authenticated {
            Some(replies::bad_sequence("Already authenticated"))
        } else if self.transaction.is_some() {
            Some(replies::bad_sequence(
                "AUTH not allowed during a transaction",
            ))
        } else if self.hello.is_none() {
            Some(replies::bad_sequence("Send EHLO first"))
        } else if self.config.auth_requires_tls && !self.tls {
            Some(replies::encryption_required())
        } else if !offered.contains(mechanism) {
            Some(replies::unknown_mechanism())
        } else {
            None
        };
        if let Some(reply) = refusal {
            self.send(&reply);
            return Step::Continue;
        }
        let initial = match initial {
            None => None,
            Some(AuthInitial::Empty) => Some(Vec::new()),
            Some(AuthInitial::Base64(b)) => match base64_decode(b.expose()) {
                Some(d) => Some(d),
                None => {
                    self.send(&replies::auth_bad_response());
                    return Step::Continue;
                }
            },
        };
        let mechanism = mechanism.clone().into_owned();
        if mechanism == Mechanism::PLAIN {
            match initial {
                Some(data) => self.plain(&data),
                None => {
                    self.send(&replies::sasl_prompt(""));
                    self.mode = Mode::Sasl(SaslState::Plain);
                    Step::Continue
                }
            }
        } else if mechanism == Mechanism::LOGIN {
            match initial {
                Some(user) => self.login_user(&user),
                None => {
                    self.send(&replies::sasl_prompt("VXNlcm5hbWU6"));
                    self.mode = Mode::Sasl(SaslState::LoginUser);
                    Step::Continue
                }
            }
        } else {
            self.auth_mechanism = Some(mechanism.clone());
            self.pending = Some(Pending::AuthExchange);
            Step::Event(Event::AuthExchange {
                mechanism,
                response: initial,
            })
        }
    }

    fn plain(&mut self, message: &[u8]) -> Step {
        match Credentials::from_plain(message) {
            Some(credentials) => {
                self.pending = Some(Pending::Auth);
                Step::Event(Event::Auth {
                    mechanism: Mechanism::PLAIN,
                    credentials,
                })
            }
            None => {
                self.send(&replies::auth_bad_response());
                Step::Continue
            }
        }
    }

    fn login_user(&mut self, user: &[u8]) -> Step {
        match String::from_utf8(user.to_vec()) {
            Ok(user) if !user.is_empty() => {
                self.send(&replies::sasl_prompt("UGFzc3dvcmQ6"));
                self.mode = Mode::Sasl(SaslState::LoginPassword(user));
            }
            _ => self.send(&replies::auth_bad_response()),
        }
        Step::Continue
    }

    fn sasl_line(&mut self, state: SaslState, line: &[u8]) -> Step {
        let data = match codec::parse_sasl_line(line) {
            Ok(SaslLine::Cancel) => {
                self.send(&replies::auth_cancelled());
                return Step::Continue;
            }
            Ok(SaslLine::Response(b)) => base64_decode(b.expose()),
            Err(_) => None,
        };
        let Some(data) = data else {
            self.send(&replies::auth_bad_response());
            return Step::Continue;
        };
        match state {
            SaslState::Plain => self.plain(&data),
            SaslState::LoginUser => self.login_user(&data),
            SaslState::LoginPassword(authcid) => match String::from_utf8(data) {
                Ok(password) => {
                    self.pending = Some(Pending::Auth);
                    Step::Event(Event::Auth {
                        mechanism: Mechanism::LOGIN,
                        credentials: Credentials {
                            authzid: None,
                            authcid,
                            password: crate::Secret::new(password),
                        },
                    })
                }
                Err(_) => {
                    self.send(&replies::auth_bad_response());
                    Step::Continue
                }
            },
            SaslState::App(mechanism) => {
                self.pending = Some(Pending::AuthExchange);
                Step::Event(Event::AuthExchange {
                    mechanism,
                    response: Some(data),
                })
            }
        }
    }
}
