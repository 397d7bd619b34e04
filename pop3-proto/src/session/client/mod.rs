//! The client side of a POP3 session, without I/O.
//!
//! The client drives greeting → CAPA → STLS → login (APOP, AUTH PLAIN or USER/PASS), then
//! sends the requests the application makes ([`Client::stat`], [`Client::list`],
//! [`Client::retr`], …) and routes every response, in order, to an [`Event`]. When the server
//! offers PIPELINING, requests go out as soon as they are made; otherwise one at a time.
//! Message content arrives in chunks ([`Event::MessageData`]), unstuffed, so a large message
//! never sits whole in the session.
//!
//! ```
//! use std::time::Instant;
//! use sansmail_pop3::{Credentials, session::client::{Client, ClientConfig, Event, TlsPolicy}};
//!
//! let now = Instant::now();
//! let mut config = ClientConfig::new(Some(Credentials::new("alice", "secret")));
//! config.capa = false;
//! // A password in plaintext only when asked for: on loopback, say.
//! config.starttls = TlsPolicy::Never;
//! let mut client = Client::new(config, now);
//! client.handle_input(now, b"+OK POP3 server ready\r\n");
//! assert!(matches!(client.poll_event(), Some(Event::Greeting(_))));
//! let mut wire = Vec::new();
//! client.poll_transmit(&mut wire);
//! assert_eq!(wire, b"USER alice\r\n");
//! ```

use std::{borrow::Cow, collections::VecDeque, time::Instant};

use crate::{
    codec::{self, MultiLineReceiver},
    types::{
        capability::{Capabilities, Capability},
        command::{AuthInitial, Command, MessageNumber},
        listing::{ScanListing, UniqueIdListing},
        sasl::{Mechanism, Secret, base64_encode},
    },
};

mod read;
mod types;

pub use types::{ClientConfig, ClientError, Event, Request, Stage, TlsPolicy};

/// The ways of sending the password itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PasswordMethod {
    /// `AUTH PLAIN` (RFC 5034).
    SaslPlain,
    /// `USER` and `PASS` (RFC 1939 §7).
    User,
}

/// What a sent command waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sent {
    Greeting,
    Capa,
    Stls,
    Utf8,
    User,
    Pass,
    Apop,
    /// AUTH PLAIN; `ir` says whether the initial response went with it.
    AuthPlain {
        ir: bool,
    },
    Request(Request),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Working through greeting, CAPA, STLS and login.
    Setup,
    /// Taking requests.
    Ready,
    /// QUIT was requested: no more requests.
    Quitting,
    AwaitTls,
    Closed,
}

/// The API was used out of order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The session is not in the state this call needs.
    #[error("not valid now: {0}")]
    WrongState(&'static str),
}

/// A multi-line answer being collected.
#[derive(Debug)]
enum Listing {
    Capa(Vec<Capability<'static>>),
    List(Vec<ScanListing>),
    Uidl(Vec<UniqueIdListing<'static>>),
}

/// How the next input is read.
#[derive(Debug)]
enum Mode {
    /// The first line of the next response.
    Line,
    /// The lines of a CAPA, LIST or UIDL answer; `size` counts octets against the limit.
    Listing { listing: Listing, size: usize },
    /// Message content.
    Body {
        rx: MultiLineReceiver,
        msg: MessageNumber,
    },
}

/// Everything but the buffers, so an event can borrow the data buffer while this changes.
#[derive(Debug)]
struct State {
    config: ClientConfig,
    phase: Phase,
    mode: Mode,
    /// Commands sent and not yet answered, in order.
    sent: VecDeque<Sent>,
    /// Requests made but not sent (without pipelining).
    queue: VecDeque<Request>,
    events: VecDeque<Event>,
    capabilities: Option<Capabilities<'static>>,
    timestamp: Option<String>,
    /// The refusal of a password method that APOP was tried after: APOP is the last try,
    /// and if it is refused too, this is the refusal reported.
    password_refused: Option<crate::Response<'static>>,
    tls: bool,
    /// The application chose plaintext ([`TlsPolicy::Never`]): the password may go without
    /// TLS. (The policy itself becomes `Never` once an opportunistic STLS failed.)
    clear_login: bool,
    utf8: bool,
    authenticated: bool,
    transmit: Vec<u8>,
    pos: usize,
    scanned: usize,
    /// When the server last sent something; `None` after a command went out, until
    /// `handle_timeout` tells the time.
    last_activity: Option<Instant>,
    created: Instant,
}

/// The client session.
#[derive(Debug)]
pub struct Client {
    input: Vec<u8>,
    data_out: Vec<u8>,
    state: State,
}

impl Client {
    /// A new session, waiting for the server's greeting.
    pub fn new(config: ClientConfig, now: Instant) -> Self {
        Self {
            input: Vec::new(),
            data_out: Vec::new(),
            state: State {
                tls: config.implicit_tls,
                clear_login: config.starttls == TlsPolicy::Never,
                config,
                phase: Phase::Setup,
                mode: Mode::Line,
                sent: VecDeque::from([Sent::Greeting]),
                queue: VecDeque::new(),
                events: VecDeque::new(),
                capabilities: None,
                timestamp: None,
                password_refused: None,
                utf8: false,
                authenticated: false,
                transmit: Vec::new(),
                pos: 0,
                scanned: 0,
                last_activity: Some(now),
                created: now,
            },
        }
    }

    /// The server's capabilities, once known.
    pub fn capabilities(&self) -> Option<&Capabilities<'static>> {
        self.state.capabilities.as_ref()
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.state.tls
    }

    /// Whether the login succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.state.authenticated
    }

    /// Whether UTF8 mode is on (RFC 6856).
    pub fn is_utf8(&self) -> bool {
        self.state.utf8
    }

    /// The limits in force.
    pub fn limits(&self) -> &crate::Limits {
        &self.state.config.limits
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.state.phase == Phase::Closed
    }

    /// Feeds bytes read from the server. Drain [`Client::poll_event`] and
    /// [`Client::poll_transmit`] afterwards.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.state.last_activity = Some(now);
        if matches!(self.state.phase, Phase::Closed | Phase::AwaitTls) {
            return;
        }
        self.input.extend_from_slice(data);
    }

    /// When [`Client::handle_timeout`] should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let s = &self.state;
        // A message's content is awaited until its final `.` as any answer is.
        let awaiting = !s.sent.is_empty() || matches!(s.mode, Mode::Body { .. });
        if !awaiting || matches!(s.phase, Phase::Closed | Phase::AwaitTls) {
            return None;
        }
        Some(
            s.last_activity
                .map_or(s.created, |t| t + s.config.limits.response_timeout),
        )
    }

    /// Fails the session if the server has not answered in time.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.poll_timeout() else {
            return;
        };
        if self.state.last_activity.is_none() {
            self.state.last_activity = Some(now);
        } else if now >= deadline {
            self.state.fail(ClientError::Timeout);
        }
    }

    /// Moves the bytes to send to the server into `out`.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.state.transmit);
    }

    /// The next event, if any. See [`Event`].
    pub fn poll_event(&mut self) -> Option<Event> {
        // Release what the previous event borrowed.
        self.data_out.clear();
        if self.state.pos > 0 {
            self.input.drain(..self.state.pos.min(self.input.len()));
            self.state.pos = 0;
        }
        let Self {
            input,
            data_out,
            state,
        } = self;
        loop {
            if let Some(e) = state.events.pop_front() {
                return Some(e);
            }
            match state.step(input, data_out) {
                read::Step::Continue => {}
                read::Step::Idle => return None,
                read::Step::Data => return Some(Event::MessageData(std::mem::take(data_out))),
            }
        }
    }

    /// The TLS handshake after [`Event::StartTls`] succeeded: CAPA is asked again.
    pub fn tls_established(&mut self) -> Result<(), ApiError> {
        let s = &mut self.state;
        if s.phase != Phase::AwaitTls {
            return Err(ApiError::WrongState("no STLS in progress"));
        }
        self.input.clear();
        s.pos = 0;
        s.scanned = 0;
        s.tls = true;
        s.capabilities = None;
        s.phase = Phase::Setup;
        s.ask_capabilities();
        Ok(())
    }

    /// Asks for the drop listing ([`Event::Stat`]).
    pub fn stat(&mut self) -> Result<(), ApiError> {
        self.state.request(Request::Stat)
    }

    /// Asks for the scan listing of one message ([`Event::Scan`]) or all
    /// ([`Event::List`]).
    pub fn list(&mut self, msg: Option<MessageNumber>) -> Result<(), ApiError> {
        self.state.request(Request::List(msg))
    }

    /// Asks for the unique-id of one message ([`Event::UniqueId`]) or all
    /// ([`Event::Uidl`]).
    pub fn uidl(&mut self, msg: Option<MessageNumber>) -> Result<(), ApiError> {
        self.state.request(Request::Uidl(msg))
    }

    /// Retrieves a message ([`Event::MessageStart`], [`Event::MessageData`]…,
    /// [`Event::MessageEnd`]).
    pub fn retr(&mut self, msg: MessageNumber) -> Result<(), ApiError> {
        self.state.request(Request::Retr(msg))
    }

    /// Retrieves a message's header and first `lines` body lines, like [`Client::retr`].
    pub fn top(&mut self, msg: MessageNumber, lines: u64) -> Result<(), ApiError> {
        self.state.request(Request::Top(msg, lines))
    }

    /// Marks a message as deleted ([`Event::Deleted`]); it is removed at QUIT.
    pub fn dele(&mut self, msg: MessageNumber) -> Result<(), ApiError> {
        self.state.request(Request::Dele(msg))
    }

    /// Unmarks the deleted messages ([`Event::Reset`]).
    pub fn rset(&mut self) -> Result<(), ApiError> {
        self.state.request(Request::Rset)
    }

    /// Keeps the session alive ([`Event::Noop`]).
    pub fn noop(&mut self) -> Result<(), ApiError> {
        self.state.request(Request::Noop)
    }

    /// Ends the session ([`Event::Closed`]): after login, the server removes the messages
    /// marked as deleted. Valid while [`Event::Ready`] holds; requests made before are
    /// answered first.
    pub fn quit(&mut self) -> Result<(), ApiError> {
        self.state.request(Request::Quit)?;
        self.state.phase = Phase::Quitting;
        Ok(())
    }
}

impl State {
    fn send(&mut self, command: &Command<'_>, sent: Sent) {
        // Only the credentials can hold what a command cannot carry (a space in a user
        // name, a control in a password): fail rather than wait for a reply to nothing.
        if let Err(e) = codec::encode_command(command, &mut self.transmit) {
            self.fail(ClientError::Unsendable(e));
            return;
        }
        self.sent.push_back(sent);
        self.last_activity = None;
    }

    fn fail(&mut self, error: ClientError) {
        self.events.push_back(Event::Failed(error));
        self.phase = Phase::Closed;
        self.sent.clear();
        self.queue.clear();
    }

    fn request(&mut self, request: Request) -> Result<(), ApiError> {
        if self.phase != Phase::Ready {
            return Err(ApiError::WrongState(
                "requests need the Ready state, before quit",
            ));
        }
        let pipelining = self.config.pipelining
            && self
                .capabilities
                .as_ref()
                .is_some_and(Capabilities::pipelining);
        // Without pipelining nothing goes while an answer is still coming, a message's
        // body included (RFC 2449 §6.6).
        let answering = !self.sent.is_empty() || matches!(self.mode, Mode::Body { .. });
        if pipelining || (!answering && self.queue.is_empty()) {
            self.send(&request.command(), Sent::Request(request));
        } else {
            self.queue.push_back(request);
        }
        Ok(())
    }

    /// Without pipelining: sends the next queued request once the last one is answered.
    fn send_next(&mut self) {
        if self.sent.is_empty()
            && let Some(r) = self.queue.pop_front()
        {
            self.send(&r.command(), Sent::Request(r));
        }
    }

    fn ask_capabilities(&mut self) {
        if self.config.capa {
            self.send(&Command::Capa, Sent::Capa);
        } else {
            self.after_capabilities();
        }
    }

    /// After CAPA: STLS, UTF8, then login.
    fn after_capabilities(&mut self) {
        let caps = self.capabilities.clone().unwrap_or_default();
        if !self.tls && self.config.starttls != TlsPolicy::Never {
            if caps.stls() {
                self.send(&Command::Stls, Sent::Stls);
                return;
            }
            if self.config.starttls == TlsPolicy::Required {
                self.fail(ClientError::TlsNotOffered);
                return;
            }
        }
        if self.config.utf8 && !self.utf8 && caps.has("UTF8") {
            self.send(&Command::Utf8, Sent::Utf8);
            return;
        }
        self.login();
    }

    fn ready(&mut self) {
        self.phase = Phase::Ready;
        self.events.push_back(Event::Ready);
    }

    fn login(&mut self) {
        let Some(creds) = self.config.credentials.clone() else {
            self.ready();
            return;
        };
        let method = self.password_method();
        // APOP sends a digest of the password and a timestamp the greeting chose: whoever
        // wrote the greeting (a man in the middle, who also removed STLS) can search for
        // the password offline. So without TLS it goes only where the application chose
        // plaintext, and there first, keeping the password itself off the wire. Under TLS
        // a password method comes first: it works with servers keeping only hashes (APOP
        // follows a refused password only where the capabilities are unknown).
        let apop = self.timestamp.clone().filter(|_| {
            self.config.apop
                && if self.tls {
                    method.is_none()
                } else {
                    self.clear_login
                }
        });
        if let Some(ts) = apop {
            self.send_apop(&ts);
        } else if !self.tls && !self.clear_login {
            // No password in the clear unless the application chose plaintext (RFC 8314).
            self.fail(ClientError::TlsNotOffered);
        } else if method == Some(PasswordMethod::SaslPlain) {
            let ir = base64_encode(&creds.to_plain());
            // RFC 5034 §4: no initial response if the command would exceed 255 octets.
            let with_ir = "AUTH PLAIN ".len() + ir.len() + 2 <= 255;
            let cmd = Command::Auth {
                mechanism: Mechanism::PLAIN,
                initial: with_ir.then(|| AuthInitial::Base64(Secret::new(ir.into()))),
            };
            self.send(&cmd, Sent::AuthPlain { ir: with_ir });
        } else if method == Some(PasswordMethod::User) {
            let cmd = Command::User {
                name: Cow::Owned(creds.authcid.clone()),
            };
            self.send(&cmd, Sent::User);
        } else {
            self.fail(ClientError::NoLoginMethod);
        }
    }

    /// APOP with the greeting's timestamp `ts`.
    pub(super) fn send_apop(&mut self, ts: &str) {
        let Some(creds) = self.config.credentials.clone() else {
            return;
        };
        let digest = crate::apop::digest(ts, creds.password.expose());
        let cmd = Command::Apop {
            name: Cow::Owned(creds.authcid),
            digest: digest.into(),
        };
        self.send(&cmd, Sent::Apop);
    }

    /// How the password itself can be sent: AUTH PLAIN when offered (and allowed), USER
    /// when offered or when the capabilities are unknown (RFC 1939 servers without CAPA).
    pub(super) fn password_method(&self) -> Option<PasswordMethod> {
        match &self.capabilities {
            Some(caps) if self.config.sasl_plain && caps.sasl().contains(&Mechanism::PLAIN) => {
                Some(PasswordMethod::SaslPlain)
            }
            Some(caps) if !caps.user() => None,
            _ => Some(PasswordMethod::User),
        }
    }
}
