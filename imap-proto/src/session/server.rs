//! The server side of an IMAP session, without I/O.
//!
//! The session frames input (deciding each synchronizing literal with the application),
//! checks every command against the connection state, answers what needs no mailbox itself
//! (CAPABILITY, NOOP, CHECK, LOGOUT, STARTTLS, ENABLE, the AUTHENTICATE exchange, IDLE's
//! continuation) and hands the rest to the application as events. The application answers
//! with untagged data and one completion. The selected mailbox's numbering lives in the
//! session's [`MailboxView`], so changes pushed from other sessions reach the client only
//! where RFC 9051 §7.4.1 allows: never an EXPUNGE during FETCH, STORE or SEARCH, at once
//! during IDLE.

use std::{borrow::Cow, time::Instant};

use mail_core::{base64_decode, base64_encode};

use super::{
    config::ServerConfig,
    view::{MailboxView, Notice, Update},
};
use crate::{
    codec::{
        CommandOptions, EncodeBuf, ResponseOptions, encode_response,
        frame::{FrameError, Framed, Framer, Side},
        parse_command, parse_idle_done, parse_sasl_response,
    },
    types::{
        capability::Capability,
        command::{Command, CommandBody, SaslResponse, State},
        core::{Atom, IString, Tag, Text},
        fetch::FetchItem,
        flag::Flag,
        response::{Continue, Data, Response, Status, StatusKind},
        response_code::ResponseCode,
    },
};

pub use mail_core::Credentials;

/// What happened in the session. **Decision** events wait for an answer; until then
/// `poll_event` returns `None` and no further input is read.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// **Decision**: a synchronizing literal of `len` octets was announced. Answer with
    /// [`Server::accept_literal`] (the client is told to send it) or
    /// [`Server::reject_literal`] (the command fails; the client will not send it).
    LiteralAnnounced {
        /// The command's tag, if it could be read.
        tag: Option<Tag<'static>>,
        /// The announced size.
        len: u64,
    },
    /// **Decision**: a command for the application. Send untagged data with
    /// [`Server::send`], then finish with [`Server::complete`]. For SELECT and EXAMINE, call
    /// [`Server::select`] before completing with OK.
    Command(Command<'static>),
    /// **Decision**: LOGIN or AUTHENTICATE PLAIN. [`Server::accept`] or [`Server::reject`].
    Login {
        /// What the client sent.
        credentials: Credentials,
    },
    /// **Decision**: AUTHENTICATE with a mechanism the application runs. Answer with
    /// [`Server::auth_challenge`], [`Server::accept`] or [`Server::reject`].
    AuthExchange {
        /// The mechanism.
        mechanism: Atom<'static>,
        /// The client's data: the initial response, then each response.
        response: Option<Vec<u8>>,
    },
    /// **Decision**: IDLE. [`Server::accept`] starts it (updates pushed with
    /// [`Server::push_update`] then go out at once); [`Server::reject`] refuses it.
    Idle,
    /// The client ended IDLE; the session has answered it.
    IdleDone,
    /// ENABLE turned these extensions on (already answered).
    Enabled(Vec<Capability<'static>>),
    /// STARTTLS was accepted: flush the transmit buffer, run the handshake, then call
    /// [`Server::tls_established`].
    StartTls,
    /// The selected mailbox was closed by CLOSE, UNSELECT or a failed SELECT (a SELECT of
    /// another mailbox replaces it without this event). For CLOSE, the application expunges
    /// before completing.
    Deselected,
    /// LOGOUT was answered; close the connection once the transmit buffer is sent.
    Logout,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Literal {
        tag: Option<Tag<'static>>,
        line_end: usize,
    },
    Command {
        tag: Tag<'static>,
        kind: Kind,
    },
    Login {
        tag: Tag<'static>,
    },
    AuthExchange {
        tag: Tag<'static>,
    },
    Idle {
        tag: Tag<'static>,
    },
}

/// What completing a command does to the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Select {
        read_only: bool,
    },
    Close,
    /// FETCH, STORE, SEARCH, SORT, THREAD by sequence number: no EXPUNGE while answering.
    NoExpunge,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Commands,
    /// In IDLE: waiting for DONE.
    Idling {
        tag: Tag<'static>,
    },
    /// In an AUTHENTICATE exchange: waiting for the client's response line.
    Sasl {
        tag: Tag<'static>,
        mechanism: Option<Atom<'static>>,
    },
    /// Discarding the rest of a line longer than the limit, already answered with BAD.
    SkipLine,
    AwaitTls,
    Closed,
}

/// The application used the API out of order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No decision of this kind is pending.
    #[error("no such decision is pending")]
    NothingPending,
    /// The status does not fit (`complete` takes OK, NO or BAD).
    #[error("a tagged status is OK, NO or BAD")]
    BadStatus,
    /// SELECT or EXAMINE completed with OK before [`Server::select`].
    #[error("call select() before completing SELECT/EXAMINE with OK")]
    NoView,
    /// Nothing is selected.
    #[error("no mailbox is selected")]
    NotSelected,
    /// `tls_established` without a STARTTLS.
    #[error("no STARTTLS is in progress")]
    NoStartTls,
}

/// The server session.
#[derive(Debug)]
pub struct Server {
    input: Vec<u8>,
    state: Inner,
}

/// Everything but the input buffer, so that an event can borrow the input.
#[derive(Debug)]
struct Inner {
    config: ServerConfig,
    framer: Framer,
    mode: Mode,
    conn: State,
    tls: bool,
    pending: Option<Pending>,
    queued: Vec<Event>,
    view: Option<MailboxView>,
    /// A view given by `select` while SELECT is pending.
    next_view: Option<MailboxView>,
    enabled: Vec<Capability<'static>>,
    saved_search: Vec<u32>,
    /// Octets of `input` already consumed.
    pos: usize,
    bad_commands: usize,
    transmit: EncodeBuf,
    /// Where the timeouts count from: the end of the last complete command or continuation
    /// line, moved forward by the time partial input earns (see
    /// [`Limits::min_input_rate`](super::config::Limits::min_input_rate)).
    last_activity: Instant,
    /// When input last arrived.
    last_input: Instant,
}

impl Server {
    /// A new session; the greeting (`* OK [CAPABILITY ...]`) is queued.
    pub fn new(config: ServerConfig, now: Instant) -> Self {
        let mut limits = config.limits.frame;
        // Non-synchronizing literals: unlimited under LITERAL+, at most 4096 octets under
        // LITERAL- (RFC 7888 §5), none at all without either.
        limits.max_nonsync_literal = if config.capabilities.contains(&Capability::LiteralPlus) {
            limits.max_literal
        } else if config.capabilities.contains(&Capability::LiteralMinus) {
            4096
        } else {
            0
        };
        let framer = Framer::new(Side::Server, limits);
        let mut state = Inner {
            tls: config.implicit_tls,
            framer,
            config,
            mode: Mode::Commands,
            conn: State::NotAuthenticated,
            pending: None,
            queued: Vec::new(),
            view: None,
            next_view: None,
            enabled: Vec::new(),
            saved_search: Vec::new(),
            pos: 0,
            bad_commands: 0,
            transmit: EncodeBuf::new(),
            last_activity: now,
            last_input: now,
        };
        let caps = state.capabilities();
        let text = state.config.greeting.clone();
        state.status(
            None,
            StatusKind::Ok,
            Some(ResponseCode::Capability(caps)),
            &text,
        );
        Self {
            input: Vec::new(),
            state,
        }
    }

    /// Feeds bytes from the client; then drain [`Server::poll_event`] and
    /// [`Server::poll_transmit`].
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.state.earn(now, data.len());
        if matches!(self.state.mode, Mode::AwaitTls | Mode::Closed) {
            return;
        }
        self.input.extend_from_slice(data);
    }

    /// Moves the bytes to send into `out`.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.state.transmit.bytes);
        self.state.transmit.literals.clear();
    }

    /// When [`Server::handle_timeout`] should be called (RFC 9051 §5.4 autologout).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let l = &self.state.config.limits;
        match (&self.state.mode, self.state.conn) {
            (Mode::Closed | Mode::AwaitTls, _) => None,
            (_, State::NotAuthenticated) => {
                Some(self.state.last_activity + l.unauthenticated_timeout)
            }
            _ => Some(self.state.last_activity + l.autologout_timeout),
        }
    }

    /// Logs the client out with `* BYE` if it has been silent too long.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| now >= t) {
            self.state
                .status(None, StatusKind::Bye, None, "Autologout; idle for too long");
            self.state.close();
        }
    }

    /// Ends the session with `* BYE` because the server is shutting down (RFC 9051 §7.1.5).
    pub fn shutdown(&mut self) {
        if self.state.mode != Mode::Closed {
            self.state
                .status(None, StatusKind::Bye, None, "Server shutting down");
            self.state.close();
        }
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.state.mode == Mode::Closed
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.state.tls
    }

    /// The connection state.
    pub fn connection_state(&self) -> State {
        self.state.conn
    }

    /// Turns on an extension the application saw used (for example CONDSTORE by a command
    /// the session does not inspect), if it is offered.
    pub fn enable(&mut self, cap: Capability<'static>) {
        self.state.enable_implicitly(cap);
    }

    /// Whether an extension is on: by ENABLE, or CONDSTORE by its first use.
    pub fn is_enabled(&self, cap: &Capability<'_>) -> bool {
        self.state.enabled.iter().any(|c| c == cap)
    }

    /// The selected mailbox as the client knows it.
    pub fn view(&self) -> Option<&MailboxView> {
        self.state.view.as_ref()
    }

    /// The UIDs saved by the last `SEARCH RETURN (SAVE)` (RFC 5182), for resolving `$`.
    pub fn saved_search(&self) -> &[u32] {
        &self.state.saved_search
    }

    /// Saves a search result for `$`.
    pub fn save_search(&mut self, uids: Vec<u32>) {
        self.state.saved_search = uids;
    }

    /// Octets of input held by the session (bounded by one read plus one message).
    pub fn buffered_len(&self) -> usize {
        self.input.len()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.state.pos > 0 {
            let pos = self.state.pos.min(self.input.len());
            self.input.drain(..pos);
            self.state.pos = 0;
        }
        if !self.state.queued.is_empty() {
            return Some(self.state.queued.remove(0));
        }
        let Self { input, state } = self;
        loop {
            if state.pending.is_some() || matches!(state.mode, Mode::Closed | Mode::AwaitTls) {
                return None;
            }
            match state.step(input) {
                Step::Continue => {}
                Step::Idle => return None,
                Step::Event(e) => return Some(e),
            }
            if !state.queued.is_empty() {
                return Some(state.queued.remove(0));
            }
        }
    }

    /// Sends an untagged response for the command being answered.
    pub fn send(&mut self, response: &Response<'_>) {
        self.state.send(response);
    }

    /// Sends untagged data.
    pub fn send_data(&mut self, data: Data<'_>) {
        self.state.send(&Response::Data(data));
    }

    /// Gives the session the mailbox a pending SELECT or EXAMINE opens (its UIDs in order).
    /// Send the SELECT responses (FLAGS, EXISTS, UIDVALIDITY, ...) and complete with OK.
    pub fn select(&mut self, uids: Vec<u32>) -> Result<(), ApiError> {
        match &self.state.pending {
            Some(Pending::Command {
                kind: Kind::Select { read_only },
                ..
            }) => {
                self.state.next_view = Some(MailboxView::new(uids, *read_only));
                Ok(())
            }
            _ => Err(ApiError::NothingPending),
        }
    }

    /// Queues a change made elsewhere to the selected mailbox. It reaches the client when
    /// the rules allow: at once in IDLE, otherwise before the next command's completion
    /// (expunges not before that of a FETCH, STORE or SEARCH).
    pub fn push_update(&mut self, update: Update) -> Result<(), ApiError> {
        let view = self.state.view.as_mut().ok_or(ApiError::NotSelected)?;
        view.push(update);
        if matches!(self.state.mode, Mode::Idling { .. }) {
            self.state.tell_updates(true);
        }
        Ok(())
    }

    /// Finishes the command being answered: any updates that may go out now, then
    /// `tag OK/NO/BAD [code] text`, and the state change the command implies.
    pub fn complete(
        &mut self,
        kind: StatusKind,
        code: Option<ResponseCode<'_>>,
        text: &str,
    ) -> Result<(), ApiError> {
        if !matches!(kind, StatusKind::Ok | StatusKind::No | StatusKind::Bad) {
            return Err(ApiError::BadStatus);
        }
        let Some(Pending::Command { tag, kind: what }) = self.state.pending.clone() else {
            return Err(ApiError::NothingPending);
        };
        let s = &mut self.state;
        match what {
            Kind::Select { .. } => {
                if kind == StatusKind::Ok {
                    let view = s.next_view.take().ok_or(ApiError::NoView)?;
                    s.view = Some(view);
                    s.conn = State::Selected;
                } else {
                    s.next_view = None;
                    s.deselect();
                }
            }
            Kind::Close if kind == StatusKind::Ok => s.deselect(),
            Kind::NoExpunge => s.tell_updates(false),
            Kind::Close | Kind::Other => s.tell_updates(true),
        }
        s.pending = None;
        s.status(Some(tag), kind, code, text);
        Ok(())
    }

    /// Accepts a pending login, literal or IDLE.
    pub fn accept(&mut self) -> Result<(), ApiError> {
        let s = &mut self.state;
        match s.pending.take() {
            Some(Pending::Login { tag } | Pending::AuthExchange { tag }) => {
                s.conn = State::Authenticated;
                s.mode = Mode::Commands;
                let caps = s.capabilities();
                s.status(
                    Some(tag),
                    StatusKind::Ok,
                    Some(ResponseCode::Capability(caps)),
                    "Logged in",
                );
                Ok(())
            }
            Some(Pending::Idle { tag }) => {
                s.mode = Mode::Idling { tag };
                s.continuation("idling");
                s.tell_updates(true);
                Ok(())
            }
            Some(Pending::Literal { .. }) => {
                s.continuation("Ready for literal data");
                Ok(())
            }
            other => {
                s.pending = other;
                Err(ApiError::NothingPending)
            }
        }
    }

    /// Accepts a pending synchronizing literal.
    pub fn accept_literal(&mut self) -> Result<(), ApiError> {
        match self.state.pending {
            Some(Pending::Literal { .. }) => self.accept(),
            _ => Err(ApiError::NothingPending),
        }
    }

    /// Refuses a pending synchronizing literal: `tag NO [code] text` (or `BAD` without a
    /// tag); the command is dropped.
    pub fn reject_literal(
        &mut self,
        code: Option<ResponseCode<'_>>,
        text: &str,
    ) -> Result<(), ApiError> {
        let s = &mut self.state;
        let Some(Pending::Literal { tag, line_end }) = s.pending.take() else {
            return Err(ApiError::NothingPending);
        };
        s.pos = line_end;
        s.framer.reset();
        match tag {
            Some(tag) => s.status(Some(tag), StatusKind::No, code, text),
            None => s.status(None, StatusKind::Bad, code, text),
        }
        Ok(())
    }

    /// Refuses a pending login (`NO [AUTHENTICATIONFAILED]` is usual) or IDLE.
    pub fn reject(&mut self, code: Option<ResponseCode<'_>>, text: &str) -> Result<(), ApiError> {
        let s = &mut self.state;
        match s.pending.take() {
            Some(
                Pending::Login { tag } | Pending::AuthExchange { tag } | Pending::Idle { tag },
            ) => {
                s.mode = Mode::Commands;
                s.status(Some(tag), StatusKind::No, code, text);
                Ok(())
            }
            other => {
                s.pending = other;
                Err(ApiError::NothingPending)
            }
        }
    }

    /// Sends a SASL challenge for an [`Event::AuthExchange`].
    pub fn auth_challenge(&mut self, challenge: &[u8]) -> Result<(), ApiError> {
        let s = &mut self.state;
        let Some(Pending::AuthExchange { tag }) = s.pending.take() else {
            return Err(ApiError::NothingPending);
        };
        let mechanism = match &s.mode {
            Mode::Sasl { mechanism, .. } => mechanism.clone(),
            _ => None,
        };
        s.continuation(&base64_encode(challenge));
        s.mode = Mode::Sasl { tag, mechanism };
        Ok(())
    }

    /// The TLS handshake after [`Event::StartTls`] succeeded.
    pub fn tls_established(&mut self) -> Result<(), ApiError> {
        if self.state.mode != Mode::AwaitTls {
            return Err(ApiError::NoStartTls);
        }
        self.input.clear();
        self.state.pos = 0;
        self.state.framer.reset();
        self.state.tls = true;
        self.state.mode = Mode::Commands;
        Ok(())
    }
}

enum Step {
    Continue,
    Idle,
    Event(Event),
}

const ENABLEABLE: &[Capability<'static>] = &[
    Capability::CondStore,
    Capability::QResync,
    Capability::Utf8Accept,
    Capability::Imap4Rev2,
];

impl Inner {
    fn utf8(&self) -> bool {
        self.enabled.contains(&Capability::Utf8Accept)
            || self.enabled.contains(&Capability::Imap4Rev2)
    }

    fn response_options(&self) -> ResponseOptions {
        ResponseOptions {
            utf8: self.utf8(),
            ..ResponseOptions::default()
        }
    }

    fn send(&mut self, response: &Response<'_>) {
        if let Response::Data(Data::Fetch { seq, items }) = response
            && let Some(folded) = self.fold_flags(*seq, items)
        {
            return self.send(&Response::Data(Data::Fetch {
                seq: *seq,
                items: folded,
            }));
        }
        let opts = self.response_options();
        let response = if self.enabled.contains(&Capability::Imap4Rev2) {
            match rev2_response(response) {
                Some(r) => r,
                None => return,
            }
        } else {
            Cow::Borrowed(response)
        };
        encode_response(&response, &opts, &mut self.transmit);
    }

    /// A FETCH response about a message whose flags changed and are not told yet (the
    /// `\Seen` a body fetch set, pushed as an update by the application): the response with
    /// FLAGS (and MODSEQ under CONDSTORE) added, the queued change taken. `None` to send the
    /// response as it is.
    fn fold_flags<'a>(&mut self, seq: u32, items: &[FetchItem<'a>]) -> Option<Vec<FetchItem<'a>>> {
        if items.iter().any(|i| matches!(i, FetchItem::Flags(_))) {
            return None;
        }
        let condstore = self.enabled.contains(&Capability::CondStore);
        let view = self.view.as_mut()?;
        let uid = view.uid(seq)?;
        let (flags, modseq) = view.take_flags(uid)?;
        let mut items = items.to_vec();
        items.push(FetchItem::Flags(flags));
        if let (true, Some(m)) = (condstore, modseq)
            && !items.iter().any(|i| matches!(i, FetchItem::ModSeq(_)))
        {
            items.push(FetchItem::ModSeq(m));
        }
        Some(items)
    }

    fn status(
        &mut self,
        tag: Option<Tag<'_>>,
        kind: StatusKind,
        code: Option<ResponseCode<'_>>,
        text: &str,
    ) {
        let text =
            Text::new(Cow::Borrowed(text)).unwrap_or_else(|_| Text::from_parsed("invalid text"));
        self.send(&Response::Status(Status {
            tag,
            kind,
            code,
            text,
        }));
    }

    fn continuation(&mut self, text: &str) {
        let text = Text::new(Cow::Borrowed(text)).unwrap_or_else(|_| Text::from_parsed(""));
        self.send(&Response::Continue(Continue::new(text)));
    }

    fn close(&mut self) {
        self.mode = Mode::Closed;
        self.conn = State::Logout;
        self.pending = None;
    }

    fn deselect(&mut self) {
        if self.view.take().is_some() {
            self.queued.push(Event::Deselected);
        }
        if self.conn == State::Selected {
            self.conn = State::Authenticated;
        }
    }

    /// Turns an extension on without ENABLE (CONDSTORE by its first use, RFC 7162 §3.1),
    /// if it is offered.
    fn enable_implicitly(&mut self, cap: Capability<'static>) {
        if self.config.capabilities.contains(&cap) && !self.enabled.contains(&cap) {
            self.enabled.push(cap);
        }
    }

    /// The capabilities to advertise now.
    fn capabilities(&self) -> Vec<Capability<'static>> {
        let c = &self.config;
        let mut caps = c.capabilities.clone();
        if self.conn == State::NotAuthenticated {
            if c.starttls && !self.tls {
                caps.push(Capability::StartTls);
            }
            if self.login_allowed() {
                caps.extend(c.auth_mechanisms.iter().cloned().map(Capability::Auth));
                caps.push(Capability::SaslIr);
            } else {
                caps.push(Capability::LoginDisabled);
            }
        }
        caps
    }

    fn login_allowed(&self) -> bool {
        self.tls || !self.config.plaintext_auth_requires_tls
    }

    /// Tells the client the queued changes that may be told now.
    fn tell_updates(&mut self, expunges_allowed: bool) {
        let vanished = self.enabled.contains(&Capability::QResync);
        let condstore = vanished || self.enabled.contains(&Capability::CondStore);
        let Some(view) = self.view.as_mut() else {
            return;
        };
        for notice in view.drain(expunges_allowed, vanished) {
            let data = match notice {
                Notice::Exists(n) => Data::Exists(n),
                Notice::Expunge(seq) => Data::Expunge(seq),
                Notice::Vanished(uids) => Data::Vanished {
                    earlier: false,
                    uids,
                },
                Notice::Flags {
                    seq,
                    uid,
                    flags,
                    modseq,
                } => {
                    let mut items = vec![FetchItem::Uid(uid), FetchItem::Flags(flags)];
                    if let (true, Some(m)) = (condstore, modseq) {
                        items.push(FetchItem::ModSeq(m));
                    }
                    Data::Fetch { seq, items }
                }
            };
            self.send(&Response::Data(data));
        }
    }

    fn bad(&mut self, tag: Option<Tag<'_>>, text: &str) {
        self.status(tag, StatusKind::Bad, None, text);
        self.bad_commands += 1;
        if self.bad_commands >= self.config.limits.max_bad_commands {
            self.status(None, StatusKind::Bye, None, "Too many invalid commands");
            self.close();
        }
    }

    /// `len` octets arrived at `now`: they move the timeouts' start forward by the time they
    /// earn at the minimum rate, up to `now`. Only a complete command or line
    /// ([`Inner::progress`]) restarts them.
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

    /// A command or line is complete: the timeouts restart from when its last octets
    /// arrived.
    fn progress(&mut self) {
        self.last_activity = self.last_input;
    }

    fn step(&mut self, input: &[u8]) -> Step {
        let buf = &input[self.pos..];
        match &self.mode {
            Mode::Closed | Mode::AwaitTls => Step::Idle,
            Mode::Idling { .. } | Mode::Sasl { .. } => self.line_step(buf),
            Mode::SkipLine => match memchr::memchr(b'\n', buf) {
                Some(lf) => {
                    self.pos += lf + 1;
                    self.mode = Mode::Commands;
                    self.progress();
                    Step::Continue
                }
                None => {
                    self.pos += buf.len();
                    Step::Idle
                }
            },
            Mode::Commands => match self.framer.next(buf) {
                Framed::Incomplete => Step::Idle,
                Framed::LiteralAnnounced { len, line_end } => {
                    let tag = crate::codec::core::tag(buf)
                        .ok()
                        .map(|(_, t)| t.into_owned());
                    self.pending = Some(Pending::Literal {
                        tag: tag.clone(),
                        line_end: self.pos + line_end,
                    });
                    Step::Event(Event::LiteralAnnounced { tag, len })
                }
                Framed::Invalid { error, skip } => {
                    self.framer.reset();
                    self.pos += skip;
                    self.progress();
                    let tag = crate::codec::core::tag(buf)
                        .ok()
                        .map(|(_, t)| t.into_owned());
                    match error {
                        FrameError::LiteralTooLarge {
                            mode: crate::codec::frame::LiteralMode::NonSync,
                            ..
                        }
                        | FrameError::MessageTooLarge { .. } => {
                            // The octets are already on their way and cannot be told apart
                            // from commands: end the session (RFC 7888 §4).
                            self.status(
                                None,
                                StatusKind::Bye,
                                Some(ResponseCode::TooBig),
                                "Literal too large",
                            );
                            self.close();
                        }
                        FrameError::LiteralTooLarge { .. } => {
                            self.status(
                                tag,
                                StatusKind::No,
                                Some(ResponseCode::TooBig),
                                "Literal too large",
                            );
                        }
                        FrameError::LineTooLong { .. } => {
                            // Without its line end yet, the rest of the line is skipped
                            // when it comes: it is no command of its own.
                            if skip > 0 && buf.get(skip - 1) != Some(&b'\n') {
                                self.mode = Mode::SkipLine;
                            }
                            self.bad(tag, "Line too long");
                        }
                        FrameError::BareLf => self.bad(tag, "Lines end with CRLF"),
                    }
                    Step::Continue
                }
                Framed::Complete { len } => {
                    self.framer.reset();
                    self.pos += len;
                    self.progress();
                    let opts = CommandOptions {
                        utf8: self.utf8(),
                        ..CommandOptions::default()
                    };
                    match parse_command(&buf[..len], &opts) {
                        Ok(cmd) => self.command(cmd),
                        Err(e) => {
                            let text = format!("{e}");
                            self.bad(e.tag, &text);
                            Step::Continue
                        }
                    }
                }
            },
        }
    }

    /// IDLE's DONE and AUTHENTICATE's responses are plain lines.
    fn line_step(&mut self, buf: &[u8]) -> Step {
        let Some(lf) = memchr::memchr(b'\n', buf) else {
            if buf.len() > self.config.limits.frame.max_line {
                self.pos += buf.len();
                self.status(None, StatusKind::Bye, None, "Line too long");
                self.close();
            }
            return Step::Idle;
        };
        let line = &buf[..=lf];
        self.pos += lf + 1;
        self.progress();
        match std::mem::replace(&mut self.mode, Mode::Commands) {
            Mode::Idling { tag } => {
                if parse_idle_done(line).is_ok() {
                    self.tell_updates(true);
                    self.status(Some(tag), StatusKind::Ok, None, "IDLE terminated");
                    Step::Event(Event::IdleDone)
                } else {
                    self.bad(Some(tag), "Expected DONE");
                    Step::Continue
                }
            }
            Mode::Sasl { tag, mechanism } => match parse_sasl_response(line) {
                Ok(SaslResponse::Cancel) => {
                    self.status(Some(tag), StatusKind::Bad, None, "Authentication cancelled");
                    Step::Continue
                }
                Ok(SaslResponse::Base64(data)) => {
                    let Some(bytes) = base64_decode(data.expose()) else {
                        self.status(Some(tag), StatusKind::Bad, None, "Invalid base64");
                        return Step::Continue;
                    };
                    self.sasl_data(tag, mechanism, bytes)
                }
                Ok(SaslResponse::Empty) => self.sasl_data(tag, mechanism, Vec::new()),
                Err(_) => {
                    self.status(Some(tag), StatusKind::Bad, None, "Invalid SASL response");
                    Step::Continue
                }
            },
            other => {
                self.mode = other;
                Step::Continue
            }
        }
    }

    /// A SASL response: PLAIN is decoded here, others go to the application.
    fn sasl_data(
        &mut self,
        tag: Tag<'static>,
        mechanism: Option<Atom<'static>>,
        data: Vec<u8>,
    ) -> Step {
        match mechanism {
            None => match Credentials::from_plain(&data) {
                Some(credentials) => {
                    self.pending = Some(Pending::Login { tag });
                    Step::Event(Event::Login { credentials })
                }
                None => {
                    self.status(Some(tag), StatusKind::Bad, None, "Invalid PLAIN message");
                    Step::Continue
                }
            },
            Some(mechanism) => {
                self.mode = Mode::Sasl {
                    tag: tag.clone(),
                    mechanism: Some(mechanism.clone()),
                };
                self.pending = Some(Pending::AuthExchange { tag });
                Step::Event(Event::AuthExchange {
                    mechanism,
                    response: Some(data),
                })
            }
        }
    }

    fn command(&mut self, mut cmd: Command<'_>) -> Step {
        if !cmd.body.valid_in(self.conn) {
            self.bad(Some(cmd.tag), "Command not valid in this state");
            return Step::Continue;
        }
        if let Some(refusal) = self.refusal_until_enabled(&cmd.body) {
            self.bad(Some(cmd.tag), refusal);
            return Step::Continue;
        }
        if let CommandBody::Search { return_opts, .. } = &mut cmd.body
            && return_opts.is_none()
            && self.enabled.contains(&Capability::Imap4Rev2)
        {
            // IMAP4rev2 answers every SEARCH with ESEARCH, `ALL` when no return option is
            // given (RFC 9051 §6.4.4).
            *return_opts = Some(Vec::new());
        }
        let tag = cmd.tag.clone().into_owned();
        match &cmd.body {
            CommandBody::Capability => {
                let caps = self.capabilities();
                self.send(&Response::Data(Data::Capability(caps)));
                self.status(Some(tag), StatusKind::Ok, None, "CAPABILITY completed");
                Step::Continue
            }
            CommandBody::Noop | CommandBody::Check => {
                self.tell_updates(true);
                self.status(Some(tag), StatusKind::Ok, None, "NOOP completed");
                Step::Continue
            }
            CommandBody::Logout => {
                self.status(None, StatusKind::Bye, None, "Logging out");
                self.status(Some(tag), StatusKind::Ok, None, "LOGOUT completed");
                self.close();
                self.queued.push(Event::Logout);
                Step::Continue
            }
            CommandBody::StartTls => {
                if !self.config.starttls || self.tls {
                    self.bad(Some(tag), "STARTTLS not available");
                    return Step::Continue;
                }
                self.status(Some(tag), StatusKind::Ok, None, "Begin TLS negotiation now");
                // Bytes pipelined behind STARTTLS were sent in plaintext before the
                // handshake (CVE-2011-0411 class): drop them.
                self.pos = usize::MAX;
                self.mode = Mode::AwaitTls;
                self.queued.push(Event::StartTls);
                Step::Continue
            }
            CommandBody::Login { username, password } => {
                if !self.login_allowed() {
                    self.status(
                        Some(tag),
                        StatusKind::No,
                        Some(ResponseCode::PrivacyRequired),
                        "Use STARTTLS first",
                    );
                    return Step::Continue;
                }
                let credentials =
                    Credentials::new(username.to_str_lossy(), password.expose().to_str_lossy());
                self.pending = Some(Pending::Login { tag });
                Step::Event(Event::Login { credentials })
            }
            CommandBody::Authenticate { mechanism, initial } => {
                self.authenticate(tag, mechanism, initial.as_ref())
            }
            CommandBody::Enable { capabilities } => {
                let mut newly = Vec::new();
                for cap in capabilities {
                    let cap = cap.clone().into_owned();
                    let offered =
                        ENABLEABLE.contains(&cap) && self.config.capabilities.contains(&cap);
                    if offered && !self.enabled.contains(&cap) {
                        // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
                        if cap == Capability::QResync
                            && !self.enabled.contains(&Capability::CondStore)
                        {
                            self.enabled.push(Capability::CondStore);
                        }
                        self.enabled.push(cap.clone());
                        newly.push(cap);
                    }
                }
                self.send(&Response::Data(Data::Enabled(newly.clone())));
                self.status(Some(tag), StatusKind::Ok, None, "ENABLE completed");
                if !newly.is_empty() {
                    self.queued.push(Event::Enabled(newly));
                }
                Step::Continue
            }
            CommandBody::Idle => {
                self.pending = Some(Pending::Idle { tag });
                Step::Event(Event::Idle)
            }
            // RFC 2971: valid in every state; what the server says of itself is configured.
            CommandBody::Id { .. } => {
                let fields = self.config.id.as_ref().map(|fields| {
                    fields
                        .iter()
                        .filter_map(|(k, v)| {
                            let k = IString::from_bytes(k.as_bytes().to_vec()).ok()?;
                            Some((k, IString::from_bytes(v.as_bytes().to_vec()).ok()))
                        })
                        .collect()
                });
                self.send(&Response::Data(Data::Id(fields)));
                self.status(Some(tag), StatusKind::Ok, None, "ID completed");
                Step::Continue
            }
            body if self.past_last_message(body) => {
                // RFC 9051 §6.4: a sequence number past the last message is a BAD; UID sets
                // may name what does not exist.
                self.bad(Some(tag), "Invalid message sequence number");
                Step::Continue
            }
            body => {
                let kind = match body {
                    CommandBody::Select { .. } => Kind::Select { read_only: false },
                    CommandBody::Examine { .. } => Kind::Select { read_only: true },
                    CommandBody::Close | CommandBody::Unselect => Kind::Close,
                    CommandBody::Fetch { uid: false, .. }
                    | CommandBody::Store { uid: false, .. }
                    | CommandBody::Search { uid: false, .. }
                    | CommandBody::Sort { uid: false, .. }
                    | CommandBody::Thread { uid: false, .. } => Kind::NoExpunge,
                    _ => Kind::Other,
                };
                if matches!(kind, Kind::Select { .. }) {
                    // Selecting closes the current mailbox first (RFC 9051 §6.3.2); the
                    // command itself tells the application, so no Deselected event.
                    let was_selected = self.view.take().is_some();
                    if self.conn == State::Selected {
                        self.conn = State::Authenticated;
                    }
                    // `* OK [CLOSED]` separates the old mailbox's responses from the new
                    // one's (RFC 7162 §3.2.11 for CONDSTORE and QRESYNC servers, RFC 9051
                    // §6.3.2).
                    let c = &self.config.capabilities;
                    if was_selected
                        && (c.contains(&Capability::CondStore)
                            || c.contains(&Capability::QResync)
                            || c.contains(&Capability::Imap4Rev2))
                    {
                        self.status(
                            None,
                            StatusKind::Ok,
                            Some(ResponseCode::Closed),
                            "Previous mailbox closed",
                        );
                    }
                }
                if enables_condstore(body) {
                    self.enable_implicitly(Capability::CondStore);
                }
                self.pending = Some(Pending::Command { tag, kind });
                Step::Event(Event::Command(cmd.into_owned()))
            }
        }
    }

    /// Whether a command's sequence-number set names a number past the last message the
    /// client knows (a range counts only when both ends are past it: `5:*` is fine).
    fn past_last_message(&self, body: &CommandBody<'_>) -> bool {
        use crate::types::sequence::{SeqItem, SeqNum, SequenceSet};
        let (CommandBody::Fetch {
            uid: false, set, ..
        }
        | CommandBody::Store {
            uid: false, set, ..
        }
        | CommandBody::Copy {
            uid: false, set, ..
        }
        | CommandBody::Move {
            uid: false, set, ..
        }) = body
        else {
            return false;
        };
        let len = self.view.as_ref().map_or(0, MailboxView::len);
        let past = |n: &SeqNum| matches!(n, SeqNum::Value(v) if *v > len);
        match set {
            SequenceSet::Items(items) => items.iter().any(|i| match i {
                SeqItem::Single(n) => past(n),
                SeqItem::Range(a, b) => past(a) && past(b),
            }),
            SequenceSet::Saved => false,
        }
    }

    /// Why a command using an extension that must be enabled first is refused: `SELECT/EXAMINE
    /// (QRESYNC ...)` needs `ENABLE QRESYNC` (RFC 7162 §3.2.5); the FETCH modifier
    /// `VANISHED` needs it too, and is valid only in UID FETCH with `CHANGEDSINCE` (§3.2.6);
    /// APPEND's `UTF8 (...)` needs `ENABLE UTF8=ACCEPT` (RFC 6855 §4).
    fn refusal_until_enabled(&self, body: &CommandBody<'_>) -> Option<&'static str> {
        use crate::types::command::SelectParam;
        let enabled = self.enabled.contains(&Capability::QResync);
        match body {
            CommandBody::Select { params, .. } | CommandBody::Examine { params, .. }
                if !enabled && params.iter().any(|p| matches!(p, SelectParam::QResync(_))) =>
            {
                Some("QRESYNC is not enabled")
            }
            // RFC 6855 §4: APPEND's `UTF8 (literal8)` only after ENABLE UTF8=ACCEPT.
            CommandBody::Append { messages, .. }
                if !self.enabled.contains(&Capability::Utf8Accept)
                    && messages
                        .iter()
                        .any(|m| matches!(m.data, crate::types::command::AppendData::Utf8(_))) =>
            {
                Some("UTF8 needs ENABLE UTF8=ACCEPT")
            }
            CommandBody::Fetch { uid, modifiers, .. } if modifiers.vanished => {
                if !enabled {
                    Some("VANISHED needs ENABLE QRESYNC")
                } else if !*uid || modifiers.changed_since.is_none() {
                    Some("VANISHED is valid in UID FETCH with CHANGEDSINCE only")
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    fn authenticate(
        &mut self,
        tag: Tag<'static>,
        mechanism: &Atom<'_>,
        initial: Option<&SaslResponse<'_>>,
    ) -> Step {
        if !self.login_allowed() {
            self.status(
                Some(tag),
                StatusKind::No,
                Some(ResponseCode::PrivacyRequired),
                "Use STARTTLS first",
            );
            return Step::Continue;
        }
        let Some(offered) = self
            .config
            .auth_mechanisms
            .iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(mechanism.as_str()))
            .cloned()
        else {
            self.status(
                Some(tag),
                StatusKind::No,
                None,
                "Unsupported authentication mechanism",
            );
            return Step::Continue;
        };
        let app_mechanism = (!offered.as_str().eq_ignore_ascii_case("PLAIN")).then_some(offered);
        let initial = match initial {
            None => None,
            Some(SaslResponse::Empty) => Some(Vec::new()),
            Some(SaslResponse::Base64(d)) => match base64_decode(d.expose()) {
                Some(b) => Some(b),
                None => {
                    self.status(Some(tag), StatusKind::Bad, None, "Invalid base64");
                    return Step::Continue;
                }
            },
            Some(SaslResponse::Cancel) => {
                self.status(Some(tag), StatusKind::Bad, None, "Authentication cancelled");
                return Step::Continue;
            }
        };
        match (initial, app_mechanism) {
            (Some(data), mechanism) => self.sasl_data(tag, mechanism, data),
            (None, None) => {
                self.continuation("");
                self.mode = Mode::Sasl {
                    tag,
                    mechanism: None,
                };
                Step::Continue
            }
            (None, Some(mechanism)) => {
                self.mode = Mode::Sasl {
                    tag: tag.clone(),
                    mechanism: Some(mechanism.clone()),
                };
                self.pending = Some(Pending::AuthExchange { tag });
                Step::Event(Event::AuthExchange {
                    mechanism,
                    response: None,
                })
            }
        }
    }
}

/// What IMAP4rev2 makes of a response an application wrote for either revision: `None` to
/// leave it out. RFC 9051 has no `\Recent` flag, no `RECENT` response and no `UNSEEN`
/// response code (Appendix E, items 6 and 7): once a client enabled IMAP4rev2 they are left
/// out of what the application sends.
fn rev2_response<'r, 'a>(response: &'r Response<'a>) -> Option<Cow<'r, Response<'a>>> {
    let no_recent = |flags: &[Flag<'a>]| -> Vec<Flag<'a>> {
        flags
            .iter()
            .filter(|f| **f != Flag::Recent)
            .cloned()
            .collect()
    };
    match response {
        Response::Data(Data::Recent(_))
        | Response::Status(Status {
            tag: None,
            code: Some(ResponseCode::Unseen(_)),
            ..
        }) => None,
        Response::Data(Data::Flags(flags)) if flags.contains(&Flag::Recent) => {
            Some(Cow::Owned(Response::Data(Data::Flags(no_recent(flags)))))
        }
        Response::Status(
            status @ Status {
                code: Some(ResponseCode::PermanentFlags(flags)),
                ..
            },
        ) if flags.contains(&Flag::Recent) => Some(Cow::Owned(Response::Status(Status {
            code: Some(ResponseCode::PermanentFlags(no_recent(flags))),
            ..status.clone()
        }))),
        Response::Data(Data::Fetch { seq, items })
            if items
                .iter()
                .any(|i| matches!(i, FetchItem::Flags(f) if f.contains(&Flag::Recent))) =>
        {
            let items = items
                .iter()
                .map(|i| match i {
                    FetchItem::Flags(f) => FetchItem::Flags(no_recent(f)),
                    other => other.clone(),
                })
                .collect();
            Some(Cow::Owned(Response::Data(Data::Fetch { seq: *seq, items })))
        }
        _ => Some(Cow::Borrowed(response)),
    }
}

/// Whether a command turns CONDSTORE on by using it (RFC 7162 §3.1): SELECT/EXAMINE
/// (CONDSTORE), STATUS HIGHESTMODSEQ, FETCH MODSEQ or CHANGEDSINCE, SEARCH MODSEQ, STORE
/// UNCHANGEDSINCE.
fn enables_condstore(body: &CommandBody<'_>) -> bool {
    use crate::types::{
        command::SelectParam,
        fetch_attr::{FetchAttr, FetchItems},
        search::SearchKey,
        status::StatusAttr,
    };
    match body {
        CommandBody::Select { params, .. } | CommandBody::Examine { params, .. } => {
            params.iter().any(|p| matches!(p, SelectParam::CondStore))
        }
        CommandBody::Status { attrs, .. } => attrs.contains(&StatusAttr::HighestModSeq),
        CommandBody::Fetch {
            items, modifiers, ..
        } => {
            modifiers.changed_since.is_some()
                || match items {
                    FetchItems::Single(a) => *a == FetchAttr::ModSeq,
                    FetchItems::List(v) => v.contains(&FetchAttr::ModSeq),
                    FetchItems::Macro(_) => false,
                }
        }
        CommandBody::Search { criteria, .. } => criteria.iter().any(SearchKey::uses_modseq),
        CommandBody::Store {
            unchanged_since, ..
        } => unchanged_since.is_some(),
        _ => false,
    }
}
