//! The server side of an IMAP session, without I/O.
//!
//! The session frames input (deciding each synchronizing literal with the application),
//! checks every command against the connection state, answers what needs no mailbox itself
//! (CAPABILITY, NOOP, CHECK, LOGOUT, STARTTLS, ENABLE, the AUTHENTICATE exchange, IDLE's
//! continuation) and hands the rest to the application as events. The application answers
//! with untagged data and one completion. The selected mailbox's numbering lives in the
//! session's [`MailboxView`], so changes pushed from other sessions reach the client only
//! where RFC 9051 §7.4.1 allows: never an EXPUNGE during FETCH, STORE or SEARCH, at once
//! during IDLE, and between commands under a NOTIFY (RFC 5465) with a `selected` group
//! (expunges held under `selected-delayed`). NOTIFY's own checks, and what it lets the
//! application send unasked, are in `notify`.

use std::{sync::Arc, time::Instant};

use sansmail_core::base64_encode;
use sansmail_core::{CloseReason, clock::InputClock};

use super::{
    config::ServerConfig,
    contexts::{Context, UpdatingSearch},
    view::{MailboxView, MessageState, Update},
};
use crate::{
    codec::{
        EncodeBuf,
        frame::{FrameLimits, Framer, Side},
    },
    types::{
        capability::Capability,
        command::State,
        core::{Atom, Tag},
        fetch::FetchItem,
        response::{Data, Response, StatusKind},
        response_code::ResponseCode,
    },
};

pub use event::Event;
pub use sansmail_core::Credentials;

mod commands;
mod event;
mod input;
mod mailbox;
mod notify;
mod output;
mod stream;
mod updating;

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
    /// RESETKEY: its OK names the URLAUTH mechanisms (RFC 4467 §8, URLMECH).
    ResetKey,
    /// NOTIFY: its set takes effect when completed with OK.
    Notify,
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
    /// COMPRESS was answered: what follows in `input` is compressed, for the driver.
    AwaitDeflate,
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
    /// `deflate_established` without a COMPRESS.
    #[error("no COMPRESS is in progress")]
    NoCompress,
    /// A streamed FETCH response is open: end it with [`Server::fetch_end`] first.
    #[error("a streamed FETCH response is open")]
    FetchOpen,
    /// No streamed FETCH response (or no literal in it) is open.
    #[error("no streamed FETCH response or literal is open")]
    NoFetch,
    /// The literal in progress has octets left to give.
    #[error("the streamed literal is not complete")]
    LiteralIncomplete,
    /// No updating search has this tag.
    #[error("no updating search has this tag")]
    NoSuchSearch,
    /// More octets than the literal in progress announced.
    #[error("more octets than the streamed literal announced")]
    LiteralOverrun,
    /// No NOTIFY is in effect: nothing may be sent unasked.
    #[error("no NOTIFY is in effect")]
    NotifyOff,
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
    /// Why the session closed, once it has.
    closed: Option<CloseReason>,
    config: Arc<ServerConfig>,
    framer: Framer,
    mode: Mode,
    conn: State,
    tls: bool,
    /// COMPRESS=DEFLATE is active (RFC 4978): a second COMPRESS is refused.
    deflate: bool,
    pending: Option<Pending>,
    queued: Vec<Event>,
    view: Option<MailboxView>,
    /// A view given by `select` while SELECT is pending.
    next_view: Option<MailboxView>,
    /// What the client was told of the selected mailbox's flags and mod-sequences.
    told: mailbox::Told,
    enabled: Vec<Capability<'static>>,
    /// Who logged in, when the application said ([`Server::accept_user`]): the only user
    /// whose URLs GENURLAUTH authorizes.
    user: Option<String>,
    saved_search: Vec<u32>,
    /// The command in progress saves its result for `$` (`RETURN (SAVE)`): a NO empties
    /// `$` (RFC 5182 §2.1).
    saving_search: bool,
    /// The SEARCH or SORT being answered asked for UPDATE (RFC 5267 §4.3).
    updating: Option<UpdatingSearch>,
    /// Octets of `input` already consumed.
    pos: usize,
    /// The command being read has announced a synchronizing literal: only its first is
    /// looked at for an APPEND's mailbox (each look parses the command so far).
    announced: bool,
    errors: usize,
    /// Command lines taken, valid or not (for the application's connection records).
    commands: u64,
    transmit: EncodeBuf,
    /// A FETCH response being streamed.
    stream: Option<stream::Streaming>,
    /// The NOTIFY in effect (RFC 5465), and one waiting for its command's completion.
    notify: notify::NotifyState,
    /// Where the timeouts count from: the end of the last complete command or continuation
    /// line, moved forward by the time partial input earns (see
    /// [`Limits::min_input_rate`](super::config::Limits::min_input_rate)).
    clock: InputClock,
}

/// The framer's limits before login (`authenticated` false) or after.
fn frame_limits(config: &ServerConfig, authenticated: bool) -> FrameLimits {
    let all = config.limits.frame;
    let mut limits = if authenticated {
        all
    } else {
        let before = config.limits.unauthenticated_frame;
        FrameLimits {
            max_line: before.max_line.min(all.max_line),
            max_literal: before.max_literal.min(all.max_literal),
            max_nonsync_literal: before.max_nonsync_literal.min(all.max_nonsync_literal),
            max_message: before.max_message.min(all.max_message),
        }
    };
    // Non-synchronizing literals: as large as others under LITERAL+, at most 4096 octets
    // under LITERAL- (RFC 7888 §5), none at all without either.
    limits.max_nonsync_literal = if config.capabilities.contains(&Capability::LiteralPlus) {
        limits.max_literal.min(limits.max_nonsync_literal)
    } else if config.capabilities.contains(&Capability::LiteralMinus) {
        limits.max_literal.min(4096)
    } else {
        0
    };
    limits
}

impl Server {
    /// A new session; the greeting (`* OK [CAPABILITY ...]`) is queued.
    pub fn new(config: impl Into<Arc<ServerConfig>>, now: Instant) -> Self {
        let config = config.into();
        let framer = Framer::new(Side::Server, frame_limits(&config, false));
        let mut state = Inner {
            tls: config.implicit_tls,
            deflate: false,
            framer,
            config,
            mode: Mode::Commands,
            conn: State::NotAuthenticated,
            pending: None,
            queued: Vec::new(),
            view: None,
            next_view: None,
            told: mailbox::Told::default(),
            enabled: Vec::new(),
            user: None,
            saved_search: Vec::new(),
            saving_search: false,
            updating: None,
            pos: 0,
            errors: 0,
            commands: 0,
            announced: false,
            closed: None,
            transmit: EncodeBuf::new(),
            stream: None,
            notify: notify::NotifyState::default(),
            clock: InputClock::new(now),
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
        if self.state.stream.is_some() {
            // Sending a message is no silence of the client's; one that stops reading is the
            // driver's send timeout's to end.
            return None;
        }
        match (&self.state.mode, self.state.conn) {
            (Mode::Closed | Mode::AwaitTls | Mode::AwaitDeflate, _) => None,
            (_, State::NotAuthenticated) => self
                .state
                .clock
                .start()
                .map(|t| t + l.unauthenticated_timeout),
            _ => self.state.clock.start().map(|t| t + l.autologout_timeout),
        }
    }

    /// Logs the client out with `* BYE` if it has been silent too long.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| now >= t) {
            if self.state.end_stream_for_close() {
                self.state
                    .status(None, StatusKind::Bye, None, "Autologout; idle for too long");
            }
            self.state.close(CloseReason::Timeout);
        }
    }

    /// Ends the session with `* BYE` because the server is shutting down (RFC 9051 §7.1.5).
    pub fn shutdown(&mut self) {
        if self.state.mode != Mode::Closed {
            // In the middle of a streamed literal a BYE would read as its octets.
            if self.state.end_stream_for_close() {
                self.state
                    .status(None, StatusKind::Bye, None, "Server shutting down");
            }
            self.state.close(CloseReason::Shutdown);
        }
    }

    /// Why the session ended, once it has (it stays the same afterwards).
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.state.closed.as_ref()
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

    /// Whether mailbox names and LIST patterns are UTF-8 rather than modified UTF-7: after
    /// `ENABLE UTF8=ACCEPT` (RFC 6855 §3) or `ENABLE IMAP4rev2` (RFC 9051 §5.1). Pass it to
    /// [`ListMailbox::to_name`](crate::types::command::ListMailbox::to_name).
    pub fn utf8_names(&self) -> bool {
        self.state.utf8()
    }

    /// The selected mailbox as the client knows it.
    pub fn view(&self) -> Option<&MailboxView> {
        self.state.view.as_ref()
    }

    /// The selected mailbox is gone by the command in progress (a DELETE of it: Dovecot
    /// closes it first): the session leaves the Selected state as after UNSELECT, and the
    /// next command that needs a mailbox is refused. An [`Event::Deselected`] follows.
    pub fn deselect(&mut self) -> Result<(), ApiError> {
        if !matches!(self.state.pending, Some(Pending::Command { .. })) {
            return Err(ApiError::NothingPending);
        }
        self.state.deselect();
        Ok(())
    }

    /// The UIDs saved by the last `SEARCH RETURN (SAVE)` (RFC 5182), for resolving `$`.
    pub fn saved_search(&self) -> &[u32] {
        &self.state.saved_search
    }

    /// Saves a search result for `$`.
    pub fn save_search(&mut self, uids: Vec<u32>) {
        self.state.saved_search = uids;
    }

    /// Command lines the session took so far, valid or not (SASL responses and message
    /// data are not commands), for the application's connection records.
    pub fn commands(&self) -> u64 {
        self.state.commands
    }

    /// Octets of input held by the session and not taken yet (bounded by one read plus one
    /// message).
    pub fn buffered_len(&self) -> usize {
        self.input.len().saturating_sub(self.state.pos)
    }

    /// Octets queued for the client and not yet taken with [`Server::poll_transmit`].
    pub fn queued_output(&self) -> usize {
        self.state.transmit.bytes.len()
    }

    /// The next event.
    ///
    /// `None` also while more than [`Limits::max_queued_output`] octets are queued: drain
    /// [`Server::poll_transmit`] and ask again before reading more input, since commands
    /// already received may be waiting.
    ///
    /// [`Limits::max_queued_output`]: crate::Limits::max_queued_output
    pub fn poll_event(&mut self) -> Option<Event> {
        // What was taken goes once it is at least half the buffer, so that each octet is
        // moved at most once however many commands one read brought (a decompressed read
        // may bring a million).
        let pos = self.state.pos.min(self.input.len());
        if pos > 0 && pos * 2 >= self.input.len() {
            self.input.drain(..pos);
            self.state.pos = 0;
        }
        // Backpressure: no new answer while the client has not taken the last ones.
        if self.state.over_output_limit() {
            return None;
        }
        if let Some(more) = self.state.fetch_more() {
            return Some(more);
        }
        if !self.state.queued.is_empty() {
            return Some(self.state.queued.remove(0));
        }
        let Self { input, state } = self;
        loop {
            if state.pending.is_some()
                || matches!(
                    state.mode,
                    Mode::Closed | Mode::AwaitTls | Mode::AwaitDeflate
                )
            {
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
            // Commands the session answers itself (CAPABILITY, NOOP before login...) wait
            // for the client to take their answers too.
            if state.over_output_limit() {
                return None;
            }
        }
    }

    /// Sends an untagged response for the command being answered.
    pub fn send(&mut self, response: &Response<'_>) {
        self.state.send(response);
    }

    /// Sends untagged data. A FETCH response about a message whose flags changed and are
    /// not told yet gets them added (RFC 9051 §6.4.5); prefer [`Server::send_fetch`], which
    /// also keeps the client from seeing a state older than one it was told.
    pub fn send_data(&mut self, data: Data<'_>) {
        match data {
            Data::Fetch { seq, items } => self.state.send_fetch(seq, items, None),
            data => self.state.send(&Response::Data(data)),
        }
    }

    /// Sends a FETCH response about message `seq`, with the message's flags and
    /// mod-sequence as the application read them (`state`), so that the client never sees
    /// a message go back to an older state:
    ///
    /// - a change to the message queued by [`Server::push_update`] that `state` includes
    ///   is dropped (a response without FLAGS then carries `state`'s flags); a newer one
    ///   goes out after the response, or in it when the response has no FLAGS;
    /// - a change older than `state` pushed later is told as `state`.
    ///
    /// The session also adds `\Recent` (IMAP4rev1) to the FLAGS of a message recent in
    /// this session, and announces keywords the client was not told of with FLAGS and
    /// PERMANENTFLAGS first (RFC 9051 §7.3.5).
    pub fn send_fetch(&mut self, seq: u32, items: Vec<FetchItem<'_>>, state: MessageState) {
        self.state.send_fetch(seq, items, Some(state));
    }

    /// Tells the session a state of a message the application changed without telling the
    /// client (`STORE .SILENT`): a change made elsewhere that it includes and that is queued
    /// or pushed later is told as this state, so the client learns of the other change
    /// without losing its own (RFC 3501 §6.4.6: an external change is reported even after
    /// .SILENT).
    pub fn note_state(&mut self, uid: u32, state: MessageState) -> Result<(), ApiError> {
        let view = self.state.view.as_mut().ok_or(ApiError::NotSelected)?;
        if let Some(m) = state.modseq {
            view.learn(uid, state.flags, m);
        }
        Ok(())
    }

    /// Marks messages `\Recent` in this session (IMAP4rev1: it is the first session told
    /// of them; the application arbitrates between sessions). For the mailbox a pending
    /// SELECT opens (after [`Server::select`]) or the selected one. The session adds
    /// `\Recent` to their FLAGS and sends `* n RECENT` when the count the client knows
    /// changes.
    pub fn claim_recent(&mut self, uids: impl IntoIterator<Item = u32>) -> Result<(), ApiError> {
        let s = &mut self.state;
        let Some(view) = s.next_view.as_mut().or(s.view.as_mut()) else {
            return Err(ApiError::NotSelected);
        };
        view.claim_recent(uids);
        Ok(())
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
    /// (expunges not before that of a FETCH, STORE or SEARCH). Past
    /// [`Limits::max_untold_changes`](crate::Limits::max_untold_changes) messages waiting,
    /// the session ends with `* BYE`.
    pub fn push_update(&mut self, update: Update) -> Result<(), ApiError> {
        let view = self.state.view.as_mut().ok_or(ApiError::NotSelected)?;
        view.push(update);
        if matches!(self.state.mode, Mode::Idling { .. }) {
            self.state.tell_updates(true);
        } else if let Some(expunges) = self.state.notify_selected_now() {
            self.state.tell_updates(expunges);
        }
        let untold = self.state.view.as_ref().map_or(0, MailboxView::untold);
        if untold > self.state.config.limits.max_untold_changes && self.state.mode != Mode::Closed {
            if self.state.end_stream_for_close() {
                let text = "Too many changes waiting to be told; select the mailbox again";
                self.state.status(None, StatusKind::Bye, None, text);
            }
            self.state.close(CloseReason::Backlog);
        }
        Ok(())
    }

    /// Starts the updating search being answered (a SEARCH or SORT with `RETURN (UPDATE)`,
    /// RFC 5267 §4.3) with its `result`: UIDs in the command's order (mailbox order for a
    /// SEARCH, sort order for a SORT). From now on, each result given to
    /// [`Server::refresh_search`] is told to the client as ADDTO and REMOVEFROM.
    ///
    /// `Ok(false)` when the session already keeps
    /// [`ServerConfig::max_updating_searches`](super::ServerConfig::max_updating_searches):
    /// it then tells the client `* NO [NOUPDATE "tag"]` (§4.3.1); the other return options
    /// are answered as usual.
    pub fn start_updating(&mut self, result: Vec<u32>) -> Result<bool, ApiError> {
        let s = &mut self.state;
        let search = s.updating.take().ok_or(ApiError::NothingPending)?;
        let limit = s.config.max_updating_searches;
        let view = s.view.as_mut().ok_or(ApiError::NotSelected)?;
        if view.contexts.len() >= limit {
            let code = ResponseCode::NoUpdate(search.tag.clone());
            s.status(
                None,
                StatusKind::No,
                Some(code),
                "Too many updating searches",
            );
            return Ok(false);
        }
        view.contexts.push(Context::new(search, result));
        Ok(true)
    }

    /// The updating searches of the selected mailbox, for the application to evaluate again
    /// when the mailbox changes.
    pub fn updating_searches(&self) -> impl Iterator<Item = &UpdatingSearch> {
        self.state
            .view
            .iter()
            .flat_map(|v| v.contexts.iter().map(|c| &c.search))
    }

    /// The result of the updating search `tag` now, as UIDs in its order, including
    /// messages the client is not told of yet. The difference from what the client knows
    /// goes out with the other updates: at once in IDLE, otherwise when updates may be
    /// told.
    pub fn refresh_search(&mut self, tag: &str, result: Vec<u32>) -> Result<(), ApiError> {
        let view = self.state.view.as_mut().ok_or(ApiError::NotSelected)?;
        let context = view
            .contexts
            .iter_mut()
            .find(|c| c.search.tag.as_str() == tag)
            .ok_or(ApiError::NoSuchSearch)?;
        context.set_target(result);
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
        if self.state.stream.is_some() {
            return Err(ApiError::FetchOpen);
        }
        let s = &mut self.state;
        if std::mem::take(&mut s.saving_search) && kind == StatusKind::No {
            s.saved_search.clear();
        }
        match what {
            Kind::Select { .. } => {
                if kind == StatusKind::Ok {
                    let view = s.next_view.take().ok_or(ApiError::NoView)?;
                    s.view = Some(view);
                    s.conn = State::Selected;
                    // RFC 5182 §2.1: `$` of another mailbox means nothing here.
                    s.saved_search.clear();
                    // RFC 4467 §3: a URLAUTH server names the mailbox's mechanisms.
                    if s.config.capabilities.contains(&Capability::UrlAuth) {
                        s.status(
                            None,
                            StatusKind::Ok,
                            Some(ResponseCode::UrlMech(Vec::new())),
                            "URLAUTH mechanisms",
                        );
                    }
                } else {
                    s.next_view = None;
                    s.deselect();
                }
            }
            Kind::Close if kind == StatusKind::Ok => s.deselect(),
            Kind::NoExpunge => s.tell_updates(false),
            Kind::Notify => {
                s.notify.completed(kind == StatusKind::Ok);
                s.tell_updates(true);
            }
            Kind::Close | Kind::ResetKey | Kind::Other => s.tell_updates(true),
        }
        let mut code = match (what, kind, code) {
            (Kind::ResetKey, StatusKind::Ok, None) => Some(ResponseCode::UrlMech(Vec::new())),
            (_, _, code) => code,
        };
        if let Some(floor) = s.held_expunge_floor() {
            if code.is_none() {
                code = Some(ResponseCode::HighestModSeq(floor));
            } else {
                s.status(
                    None,
                    StatusKind::Ok,
                    Some(ResponseCode::HighestModSeq(floor)),
                    "Expunges wait",
                );
            }
        }
        s.pending = None;
        s.updating = None;
        s.status(Some(tag), kind, code, text);
        Ok(())
    }

    /// Accepts a pending login, literal or IDLE.
    pub fn accept(&mut self) -> Result<(), ApiError> {
        let s = &mut self.state;
        match s.pending.take() {
            Some(Pending::Login { tag } | Pending::AuthExchange { tag }) => {
                s.conn = State::Authenticated;
                s.framer.set_limits(frame_limits(&s.config, true));
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

    /// Accepts a pending login (LOGIN or AUTHENTICATE) of `user`, the identity the
    /// application authorized: as [`accept`](Self::accept), and from now on GENURLAUTH
    /// authorizes only URLs of `user` (RFC 4467 §6.1).
    pub fn accept_user(&mut self, user: &str) -> Result<(), ApiError> {
        if !matches!(
            self.state.pending,
            Some(Pending::Login { .. } | Pending::AuthExchange { .. })
        ) {
            return Err(ApiError::NothingPending);
        }
        self.state.user = Some(user.to_owned());
        self.accept()
    }

    /// The user given to [`accept_user`](Self::accept_user), once logged in.
    pub fn user(&self) -> Option<&str> {
        self.state.user.as_deref()
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
        s.announced = false;
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

    /// The driver compresses from now on, after [`Event::Compress`]; returns the octets the
    /// session had taken past the COMPRESS command, which the client sent compressed: feed
    /// them back through the decompressor.
    pub fn deflate_established(&mut self) -> Result<Vec<u8>, ApiError> {
        if self.state.mode != Mode::AwaitDeflate {
            return Err(ApiError::NoCompress);
        }
        let rest = self
            .input
            .get(self.state.pos..)
            .unwrap_or_default()
            .to_vec();
        self.input.clear();
        self.state.pos = 0;
        self.state.framer.reset();
        self.state.mode = Mode::Commands;
        Ok(rest)
    }
}

enum Step {
    Continue,
    Idle,
    Event(Event),
}
