//! The server side of an SMTP or LMTP session, without I/O.
//!
//! ```
//! use std::time::Instant;
//! use sansmail_smtp::session::server::{Event, Server};
//! use sansmail_smtp::session::ServerConfig;
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

use std::{collections::VecDeque, sync::Arc, time::Instant};

use sansmail_core::{CloseReason, clock::InputClock};

use super::{
    config::{Protocol, ServerConfig},
    replies,
};
use crate::{
    codec::{self, ChunkReceiver, DataReceiver},
    types::{
        address::{DomainPart, ForwardPath, ReversePath},
        command::HelloKind,
        params::{MailParams, RcptParams},
        reply::Reply,
        sasl::{Credentials, Mechanism, base64_encode},
    },
};

mod auth;
mod commands;
mod input;
mod transaction;

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
    /// as the end of DATA is). `counted`: the reply counts toward `max_errors` (not for
    /// the chunks of a transaction that could not take them: a client that pipelines
    /// sends them before it sees the first refusal, RFC 3030 §2).
    SkipChunk {
        rx: ChunkReceiver,
        reply: Reply<'static>,
        copies: usize,
        counted: bool,
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
    /// Why the session closed, once it has.
    closed: Option<CloseReason>,
    config: Arc<ServerConfig>,
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
    /// Command lines taken, valid or not (for the application's connection records).
    commands: u64,
    transmit: Vec<u8>,
    /// Where the timeouts count from: the end of the last complete command, message or
    /// chunk, moved forward by the time partial input earns (see [`Limits::min_input_rate`]).
    ///
    /// [`Limits::min_input_rate`]: crate::Limits::min_input_rate
    clock: InputClock,
    /// When the session started: a deadline already past, to be asked for a call that
    /// restarts the paused clock.
    created: Instant,
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
    pub fn new(config: impl Into<Arc<ServerConfig>>, now: Instant) -> Self {
        let config = config.into();
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
            commands: 0,
            closed: None,
            transmit: Vec::new(),
            clock: InputClock::new(now),
            created: now,
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

    /// When [`Server::handle_timeout`] should be called next, if ever. None while a
    /// decision is pending: the time the application takes does not count against the
    /// client, and the timeouts restart once it has answered.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let s = &self.state;
        let limits = &s.config.limits;
        if matches!(s.mode, Mode::Closed | Mode::AwaitTls) || s.pending.is_some() {
            return None;
        }
        // Right after a decision the time is unknown: ask for a call now to learn it.
        let Some(start) = s.clock.start() else {
            return Some(s.created);
        };
        Some(match s.mode {
            Mode::Data(_) | Mode::Chunk { .. } | Mode::SkipChunk { .. } => {
                start + limits.data_timeout
            }
            _ => start + limits.command_timeout,
        })
    }

    /// Closes the session with `421 4.4.2` if the client has been silent too long.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.poll_timeout() else {
            return;
        };
        if self.state.clock.start().is_none() {
            self.state.clock.resume(now);
        } else if now >= deadline {
            self.state.send(&replies::timeout());
            self.state.close(CloseReason::Timeout);
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
            self.state.close(CloseReason::Shutdown);
        }
    }

    /// Why the session ended, once it has (it stays the same afterwards).
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.state.closed.as_ref()
    }

    /// Whether the session is over; close the connection once the transmit buffer is sent.
    pub fn is_closed(&self) -> bool {
        matches!(self.state.mode, Mode::Closed)
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.state.tls
    }

    /// Command lines the session took so far, valid or not (SASL responses and message
    /// data are not commands), for the application's connection records.
    pub fn commands(&self) -> u64 {
        self.state.commands
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
        s.clock.pause();
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
                // Postfix's rule: the count is of errors made without delivering mail.
                s.errors = 0;
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
    ///
    /// In SMTP a refusal counts toward [`Limits::max_errors`](crate::Limits::max_errors), as
    /// a bad command does (as Postfix's `smtpd_hard_error_limit`: a client guessing
    /// recipients or passwords is cut off), except a refused BDAT chunk, whose reply waits
    /// for the chunk. A message accepted after its data sets the count back to zero. LMTP's
    /// clients are the site's own MTAs, relaying refusals to their senders: not counted.
    pub fn reject(&mut self, reply: &Reply<'_>) -> Result<(), ApiError> {
        let pending = self.state.pending.ok_or(ApiError::NothingPending)?;
        if !reply.code().is_negative() {
            return Err(ApiError::WrongReplyCode("reject needs 4xx or 5xx"));
        }
        let counted = self.state.config.protocol == Protocol::Smtp
            && !matches!(pending, Pending::DataStart { bdat: Some(_) });
        let s = &mut self.state;
        s.clock.pause();
        match pending {
            Pending::Rcpt => {
                s.pending = None;
                s.send(reply);
            }
            Pending::DataStart {
                bdat: Some((size, last)),
            } => {
                s.pending = None;
                s.skip_refused_chunk(size, last, reply.clone().into_owned());
            }
            Pending::MessageEnd { replies } => {
                s.send(reply);
                s.answered_message(replies);
            }
            Pending::Mail { .. }
            | Pending::DataStart { bdat: None }
            | Pending::Auth
            | Pending::AuthExchange => {
                s.pending = None;
                s.send(reply);
                if matches!(pending, Pending::DataStart { .. }) {
                    s.transaction = None;
                }
            }
        }
        if counted {
            s.count_error();
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
        s.clock.pause();
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

    fn close(&mut self, why: CloseReason) {
        self.mode = Mode::Closed;
        self.pending = None;
        self.queued.clear();
        self.closed.get_or_insert(why);
    }

    /// A bad command: answered, counted, and the session closed after too many.
    fn error(&mut self, reply: &Reply<'_>) {
        self.send(reply);
        self.count_error();
    }

    /// A command the session itself refuses: answered; one out of sequence (`503`) counts
    /// toward `max_errors`, as Postfix counts it, so that a client repeating commands the
    /// state does not allow is closed.
    fn refuse(&mut self, reply: &Reply<'_>) {
        if reply.code() == crate::ReplyCode::BAD_SEQUENCE {
            self.error(reply);
        } else {
            self.send(reply);
        }
    }

    /// Counts an error that has been answered; closes the session after too many.
    fn count_error(&mut self) {
        self.errors += 1;
        if self.errors >= self.config.limits.max_errors {
            self.send(&replies::too_many_errors());
            self.close(CloseReason::TooManyErrors);
        }
    }
}
