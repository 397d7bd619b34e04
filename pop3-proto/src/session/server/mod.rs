//! The server side of a POP3 session, without I/O.
//!
//! The session owns the protocol: the AUTHORIZATION → TRANSACTION → UPDATE states, command
//! order, CAPA, STLS, the SASL exchange, and the maildrop view (STAT, LIST, UIDL, DELE, RSET
//! and NOOP are answered without the application). It asks the application only what it
//! cannot know: whether credentials are good and the maildrop could be locked
//! ([`Event::Login`], [`Event::Apop`], [`Event::AuthExchange`]), a message's content
//! ([`Event::Retrieve`], then piece by piece [`Event::RetrieveMore`]) and whether the
//! deletions were committed at QUIT ([`Event::Commit`]).
//!
//! Output is bounded: once [`Limits::max_queued_output`](crate::Limits::max_queued_output)
//! octets wait in the transmit buffer, [`Server::poll_event`] takes no further command and
//! asks for no more content until [`Server::poll_transmit`] drains it.
//!
//! ```
//! use std::time::Instant;
//! use sansmail_pop3::{Uid, session::{Maildrop, ServerConfig, server::{Event, Server}}};
//!
//! let now = Instant::now();
//! let mut config = ServerConfig::new("pop.example.org");
//! config.auth_requires_tls = false;
//! let mut server = Server::new(config, now);
//! let mut wire = Vec::new();
//! server.poll_transmit(&mut wire);
//! assert_eq!(wire, b"+OK POP3 server ready\r\n");
//!
//! server.handle_input(now, b"USER alice\r\nPASS secret with spaces\r\nSTAT\r\n");
//! let Some(Event::Login { credentials, .. }) = server.poll_event() else { panic!() };
//! assert_eq!(credentials.password.expose(), "secret with spaces");
//! let mut maildrop = Maildrop::new();
//! maildrop.push(120, Uid::new("a1").unwrap());
//! server.accept_login(maildrop).unwrap();
//! assert!(server.poll_event().is_none());
//! wire.clear();
//! server.poll_transmit(&mut wire);
//! assert!(wire.ends_with(b"+OK 1 120\r\n"));
//! ```

use std::{collections::VecDeque, sync::Arc, time::Instant};

use sansmail_core::{CloseReason, clock::InputClock};

use super::{config::ServerConfig, maildrop::Maildrop, responses};
use crate::{
    codec::Stuffer,
    types::{
        command::MessageNumber,
        listing::Language,
        response::{Response, Status},
        sasl::Mechanism,
    },
};

mod commands;
mod event;

pub use event::{Event, LoginMethod};

/// A decision the application owes the session.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    /// Login, Apop or AuthExchange.
    Login {
        exchange: bool,
    },
    Retrieve {
        msg: MessageNumber,
        top: Option<u64>,
        size: u64,
    },
    /// Content is being streamed.
    Content {
        msg: MessageNumber,
        top: Option<u64>,
        /// Octets given with `message_data` so far.
        given: u64,
        /// An [`Event::RetrieveMore`] is out and not answered yet.
        asked: bool,
    },
    Commit,
}

/// The states of RFC 1939 §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Authorization,
    Transaction,
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
    AwaitTls,
    Closed,
}

#[derive(Debug, Clone)]
enum SaslState {
    Plain,
    App(Mechanism<'static>),
}

/// Events that borrow nothing from the input, queued behind the one being returned.
#[derive(Debug, Clone, Copy)]
enum Queued {
    Retrieve {
        msg: MessageNumber,
        top: Option<u64>,
    },
    Commit,
    StartTls,
    Utf8Enabled,
}

/// Everything but the input buffer, so an event can borrow the input while this changes.
#[derive(Debug)]
struct State {
    /// Why the session closed, once it has.
    closed: Option<CloseReason>,
    config: Arc<ServerConfig>,
    phase: Phase,
    mode: Mode,
    pending: Option<Pending>,
    /// The name given with USER, until PASS.
    user: Option<String>,
    /// The name of the login in progress, for the `+OK` text.
    login_name: Option<String>,
    maildrop: Option<Maildrop>,
    stuffer: Stuffer,
    queued: VecDeque<Queued>,
    /// Octets of the input buffer already processed.
    pos: usize,
    /// Octets after `pos` known to hold no LF.
    scanned: usize,
    errors: usize,
    /// Command lines taken, valid or not (for the application's connection records).
    commands: u64,
    auth_failures: usize,
    tls: bool,
    utf8: bool,
    language: Option<usize>,
    transmit: Vec<u8>,
    /// Where the idle timeout counts from: the end of the last complete command line, moved
    /// forward by the time partial input earns (see [`Limits::min_input_rate`]); `None`
    /// right after the application answered a decision, until `handle_timeout` tells the
    /// time.
    ///
    /// [`Limits::min_input_rate`]: crate::Limits::min_input_rate
    clock: InputClock,
    created: Instant,
}

/// The server session.
#[derive(Debug)]
pub struct Server {
    input: Vec<u8>,
    /// The APOP timestamp, outside [`State`] so that an event can borrow it.
    timestamp: Option<String>,
    state: State,
}

/// The application called a method that does not fit the session's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No decision is pending.
    #[error("no decision is pending")]
    NothingPending,
    /// The call does not fit the pending decision.
    #[error("not valid for the pending decision")]
    WrongDecision,
    /// `reject` needs a `-ERR` response.
    #[error("reject needs a -ERR response")]
    NotAnError,
    /// The response is longer than the first-line limit (RFC 2449 §4: 512 octets).
    #[error("response longer than the response line limit")]
    ResponseTooLong,
    /// `tls_established` without a STLS.
    #[error("no STLS is in progress")]
    NoStartTls,
}

impl Server {
    /// A new session; the greeting is queued for transmission.
    pub fn new(config: impl Into<Arc<ServerConfig>>, now: Instant) -> Self {
        let config = config.into();
        let timestamp = config
            .apop_timestamp
            .clone()
            .filter(|t| crate::apop::is_timestamp(t));
        let mut state = State {
            phase: Phase::Authorization,
            mode: Mode::Commands,
            pending: None,
            user: None,
            login_name: None,
            maildrop: None,
            stuffer: Stuffer::new(),
            queued: VecDeque::new(),
            pos: 0,
            scanned: 0,
            errors: 0,
            commands: 0,
            closed: None,
            auth_failures: 0,
            tls: config.implicit_tls,
            utf8: false,
            language: None,
            transmit: Vec::new(),
            clock: InputClock::new(now),
            created: now,
            config,
        };
        // A greeting that cannot be sent falls back to the default, keeping the timestamp.
        let text = match crate::Text::new(state.config.greeting.as_str()) {
            Ok(t) if !t.as_str().starts_with('[') => t.as_str().to_owned(),
            _ => "POP3 server ready".to_owned(),
        };
        let greeting = match &timestamp {
            Some(ts) => format!("{text} {ts}"),
            None => text,
        };
        state.send(&responses::formatted(
            Status::Ok,
            greeting,
            "POP3 server ready",
        ));
        Self {
            input: Vec::new(),
            timestamp,
            state,
        }
    }

    /// Feeds bytes read from the client. Drain [`Server::poll_event`] and
    /// [`Server::poll_transmit`] afterwards. The session buffers what it cannot process yet;
    /// feed more only once `poll_event` gives `None` with the transmit buffer drained, so the
    /// buffer stays bounded by one read plus one line.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.state.earn(now, data.len());
        if matches!(self.state.mode, Mode::AwaitTls | Mode::Closed) {
            return;
        }
        self.input.extend_from_slice(data);
    }

    /// When [`Server::handle_timeout`] should be called next, if ever. While the session
    /// waits for the application, the client's silence does not count.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let s = &self.state;
        if matches!(s.mode, Mode::AwaitTls | Mode::Closed) || s.pending.is_some() {
            return None;
        }
        // Right after a decision the time is unknown: ask for a call now to learn it.
        Some(
            s.clock
                .start()
                .map_or(s.created, |t| t + s.config.limits.idle_timeout),
        )
    }

    /// Closes the session with `-ERR` if the client has been silent longer than the idle
    /// timeout (RFC 1939 §3: at least 10 minutes). No UPDATE happens: nothing is deleted.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.poll_timeout() else {
            return;
        };
        if self.state.clock.start().is_none() {
            self.state.clock.resume(now);
        } else if now >= deadline {
            self.state.send(&responses::timeout());
            self.state.close(CloseReason::Timeout);
        }
    }

    /// Moves the bytes to send to the client into `out`.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.state.transmit);
    }

    /// Whether the session is over; close the connection once the transmit buffer is sent.
    /// If it ended without an [`Event::Commit`], nothing is to be deleted; release the lock.
    pub fn is_closed(&self) -> bool {
        matches!(self.state.mode, Mode::Closed)
    }

    /// Ends the session now, without UPDATE (for example when the store fails in the middle
    /// of a message, after which no valid response can follow).
    pub fn close(&mut self) {
        self.state.close(CloseReason::Application);
    }

    /// Why the session ended, once it has (it stays the same afterwards).
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.state.closed.as_ref()
    }

    /// Ends the session with `-ERR [SYS/TEMP]` because the server is shutting down: no
    /// UPDATE state, so nothing marked with DELE is deleted (RFC 1939 §6 deletes only at a
    /// QUIT the client sent).
    ///
    /// In the middle of a message's content no response can follow (it would read as
    /// content): the session closes without one, and the client sees the message cut short.
    pub fn shutdown(&mut self) {
        if matches!(self.state.mode, Mode::Closed) {
            return;
        }
        if !matches!(self.state.pending, Some(Pending::Content { .. })) {
            self.state.send(&responses::shutting_down());
        }
        self.state.close(CloseReason::Shutdown);
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.state.tls
    }

    /// Whether the client has logged in (the TRANSACTION state).
    pub fn is_authenticated(&self) -> bool {
        self.state.phase == Phase::Transaction
    }

    /// Whether the client enabled UTF8 mode (RFC 6856 §2).
    pub fn is_utf8(&self) -> bool {
        self.state.utf8
    }

    /// The language chosen with LANG (RFC 6856 §3), if any.
    pub fn language(&self) -> Option<&Language<'static>> {
        self.state
            .language
            .and_then(|i| self.state.config.languages.get(i))
    }

    /// The maildrop view, after login.
    pub fn maildrop(&self) -> Option<&Maildrop> {
        self.state.maildrop.as_ref()
    }

    /// Command lines the session took so far, valid or not (SASL responses and message
    /// data are not commands), for the application's connection records.
    pub fn commands(&self) -> u64 {
        self.state.commands
    }

    /// Octets of client input held by the session, not yet processed.
    pub fn buffered_len(&self) -> usize {
        self.input.len() - self.state.pos
    }

    /// Octets queued for the client and not yet taken with [`Server::poll_transmit`].
    pub fn queued_output(&self) -> usize {
        self.state.transmit.len()
    }

    /// The next event, if any. See [`Event`].
    ///
    /// `None` also while more than [`Limits::max_queued_output`] octets are queued: drain
    /// [`Server::poll_transmit`] and ask again before reading more input, since commands
    /// already received may be waiting.
    ///
    /// [`Limits::max_queued_output`]: crate::Limits::max_queued_output
    pub fn poll_event(&mut self) -> Option<Event> {
        // Release what the previous event borrowed.
        if self.state.pos > 0 {
            self.input.drain(..self.state.pos.min(self.input.len()));
            self.state.pos = 0;
        }
        let Self {
            input,
            timestamp,
            state,
        } = self;
        let timestamp = timestamp.as_deref();
        loop {
            // Backpressure: no new answer while the client has not taken the last ones.
            if state.transmit.len() > state.config.limits.max_queued_output {
                return None;
            }
            if let Some(q) = state.queued.pop_front() {
                return Some(state.dequeue(q));
            }
            match &mut state.pending {
                Some(Pending::Content {
                    msg,
                    top,
                    given,
                    asked,
                }) if !*asked => {
                    *asked = true;
                    return Some(Event::RetrieveMore {
                        msg: *msg,
                        top: *top,
                        offset: *given,
                    });
                }
                Some(_) => return None,
                None => {}
            }
            match state.step(input, timestamp) {
                Step::Continue => {}
                Step::Idle => return None,
                Step::Event(e) => return Some(e),
            }
        }
    }

    /// Accepts the pending decision: a RETR/TOP (sends the `+OK`; the content follows with
    /// [`Server::message_data`], now or at [`Event::RetrieveMore`]) or a commit at QUIT
    /// (signs off and closes).
    pub fn accept(&mut self) -> Result<(), ApiError> {
        let s = &mut self.state;
        match s.pending.clone().ok_or(ApiError::NothingPending)? {
            Pending::Retrieve { msg, top, size } => {
                s.send(&match top {
                    None => responses::formatted(
                        Status::Ok,
                        format!("{size} octets"),
                        "message follows",
                    ),
                    Some(_) => responses::ok(),
                });
                s.stuffer = top.map_or_else(Stuffer::new, Stuffer::top);
                s.pending = Some(Pending::Content {
                    msg,
                    top,
                    given: 0,
                    asked: false,
                });
                Ok(())
            }
            Pending::Commit => {
                let left = s.maildrop.as_ref().map_or(0, |m| m.stat().count);
                let state = if left == 0 {
                    "(maildrop empty)".to_owned()
                } else {
                    format!("({left} messages left)")
                };
                let text = format!("{} POP3 server signing off {state}", s.config.hostname);
                s.send(&responses::formatted(
                    Status::Ok,
                    text,
                    "POP3 server signing off",
                ));
                s.close(CloseReason::Quit);
                Ok(())
            }
            Pending::Login { .. } | Pending::Content { .. } => Err(ApiError::WrongDecision),
        }
    }

    /// Accepts a login ([`Event::Login`], [`Event::Apop`], or the end of an
    /// [`Event::AuthExchange`]): the maildrop is locked and these are its messages. The
    /// session enters the TRANSACTION state.
    pub fn accept_login(&mut self, maildrop: Maildrop) -> Result<(), ApiError> {
        let s = &mut self.state;
        if !matches!(s.pending, Some(Pending::Login { .. })) {
            return Err(s
                .pending
                .as_ref()
                .map_or(ApiError::NothingPending, |_| ApiError::WrongDecision));
        }
        let stat = maildrop.stat();
        let owner = s
            .login_name
            .take()
            .filter(|n| n.chars().count() <= 40)
            .map_or_else(String::new, |n| format!("{n}'s "));
        s.send(&responses::formatted(
            Status::Ok,
            format!(
                "{owner}maildrop has {} messages ({} octets)",
                stat.count, stat.size
            ),
            "maildrop locked and ready",
        ));
        s.pending = None;
        s.clock.pause();
        s.end_sasl();
        // The bad commands before login were counted against the connection's getting a
        // login at all; the logged-in session starts a count of its own.
        s.errors = 0;
        s.phase = Phase::Transaction;
        s.maildrop = Some(maildrop);
        Ok(())
    }

    /// Refuses the pending decision with `response`, which must be `-ERR`. A refused login
    /// counts toward [`Limits::max_auth_failures`](crate::Limits::max_auth_failures); a
    /// refused commit closes the session.
    pub fn reject(&mut self, response: &Response<'_>) -> Result<(), ApiError> {
        let s = &mut self.state;
        let pending = s.pending.clone().ok_or(ApiError::NothingPending)?;
        if response.is_ok() {
            return Err(ApiError::NotAnError);
        }
        let mut line = Vec::new();
        crate::codec::encode_response(response, &mut line);
        if line.len() > s.config.limits.max_response_line {
            return Err(ApiError::ResponseTooLong);
        }
        if matches!(pending, Pending::Content { .. }) {
            return Err(ApiError::WrongDecision);
        }
        s.transmit.extend_from_slice(&line);
        s.pending = None;
        s.clock.pause();
        s.end_sasl();
        match pending {
            Pending::Login { .. } => {
                s.login_name = None;
                s.auth_failures += 1;
                if s.auth_failures >= s.config.limits.max_auth_failures {
                    s.close(CloseReason::TooManyErrors);
                }
            }
            Pending::Commit => s.close(CloseReason::Quit),
            Pending::Retrieve { .. } | Pending::Content { .. } => {}
        }
        Ok(())
    }

    /// Sends a SASL challenge (`+ ` and `challenge` in base64) for an
    /// [`Event::AuthExchange`]; the client's answer comes as the next `AuthExchange`.
    pub fn auth_challenge(&mut self, challenge: &[u8]) -> Result<(), ApiError> {
        let s = &mut self.state;
        let (Some(Pending::Login { exchange: true }), Mode::Sasl(_)) = (&s.pending, &s.mode) else {
            return Err(ApiError::WrongDecision);
        };
        s.pending = None;
        s.clock.pause();
        let c = crate::types::response::Continuation::new(challenge);
        crate::codec::encode_continuation(&c, &mut s.transmit);
        Ok(())
    }

    /// Sends a piece of the message for the pending [`Event::Retrieve`] (the `+OK` goes
    /// first if [`Server::accept`] was not called). Line ends may be CRLF or LF; lines
    /// starting with `.` are stuffed, and line ends and dots split across pieces are handled.
    /// Returns whether more content is wanted: `false` once TOP has its lines.
    ///
    /// Give the whole message now, or one piece per [`Event::RetrieveMore`] so that a large
    /// message is never held whole: the session asks for the next piece once the previous
    /// ones have been taken with [`Server::poll_transmit`].
    pub fn message_data(&mut self, data: &[u8]) -> Result<bool, ApiError> {
        if matches!(self.state.pending, Some(Pending::Retrieve { .. })) {
            self.accept()?;
        }
        let s = &mut self.state;
        let Some(Pending::Content { given, asked, .. }) = &mut s.pending else {
            return Err(ApiError::WrongDecision);
        };
        *given = given.saturating_add(data.len() as u64);
        *asked = false;
        Ok(s.stuffer.encode(data, &mut s.transmit))
    }

    /// Ends the message for the pending [`Event::Retrieve`]: a CRLF if its last line has
    /// none, then the terminating `.` CRLF.
    pub fn message_end(&mut self) -> Result<(), ApiError> {
        if matches!(self.state.pending, Some(Pending::Retrieve { .. })) {
            self.accept()?;
        }
        let s = &mut self.state;
        if !matches!(s.pending, Some(Pending::Content { .. })) {
            return Err(ApiError::WrongDecision);
        }
        s.stuffer.finish(&mut s.transmit);
        s.pending = None;
        s.clock.pause();
        Ok(())
    }

    /// The TLS handshake after [`Event::StartTls`] succeeded. The session stays in the
    /// AUTHORIZATION state; anything the client sent before is forgotten (RFC 2595 §4).
    pub fn tls_established(&mut self) -> Result<(), ApiError> {
        if !matches!(self.state.mode, Mode::AwaitTls) {
            return Err(ApiError::NoStartTls);
        }
        self.input.clear();
        let s = &mut self.state;
        s.pos = 0;
        s.scanned = 0;
        s.tls = true;
        s.user = None;
        s.mode = Mode::Commands;
        s.clock.pause();
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
    fn send(&mut self, response: &Response<'_>) {
        crate::codec::encode_response(response, &mut self.transmit);
    }

    /// `len` octets arrived at `now`: they move the idle timeout's start forward by the time
    /// they earn at the minimum rate, up to `now`. Only a complete line
    /// ([`State::progress`]) restarts it.
    fn earn(&mut self, now: Instant, len: usize) {
        self.clock.earn(now, len, self.config.limits.min_input_rate);
    }

    /// A command line is complete: the idle timeout restarts from when its last octets
    /// arrived.
    fn progress(&mut self) {
        self.clock.progress();
    }

    /// Leaves a SASL exchange the application was running.
    fn end_sasl(&mut self) {
        if matches!(self.mode, Mode::Sasl(_)) {
            self.mode = Mode::Commands;
        }
    }

    fn close(&mut self, why: CloseReason) {
        self.mode = Mode::Closed;
        self.pending = None;
        self.queued.clear();
        self.closed.get_or_insert(why);
    }

    fn dequeue(&mut self, q: Queued) -> Event {
        match q {
            Queued::StartTls => Event::StartTls,
            Queued::Utf8Enabled => Event::Utf8Enabled,
            Queued::Commit => {
                self.pending = Some(Pending::Commit);
                let deletions = self
                    .maildrop
                    .as_ref()
                    .map(Maildrop::deletions)
                    .unwrap_or_default();
                Event::Commit { deletions }
            }
            Queued::Retrieve { msg, top } => {
                let (size, uid) = self
                    .maildrop
                    .as_ref()
                    .and_then(|m| m.live(msg))
                    .map_or((0, String::new()), |(size, uid)| (size, uid.to_owned()));
                self.pending = Some(Pending::Retrieve { msg, top, size });
                Event::Retrieve {
                    msg,
                    uid,
                    size,
                    top,
                }
            }
        }
    }
}
