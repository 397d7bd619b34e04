//! The client side of an SMTP or LMTP session, without I/O.
//!
//! The client drives greeting → EHLO (HELO if EHLO is refused) → STARTTLS → AUTH, then one
//! transaction per [`Client::send_mail`]: MAIL, RCPT…, and DATA or BDAT. It pipelines MAIL and
//! RCPT (and DATA) when the server offers PIPELINING, uses BDAT when it offers CHUNKING and
//! PIPELINING, and reads every reply in order.

use std::{collections::VecDeque, time::Duration, time::Instant};

use super::config::Protocol;
use crate::{
    DecodeError,
    codec::{self, CrlfNormalizer, DotStuffer, ReplyLimits},
    types::{
        address::{DomainPart, ForwardPath, ReversePath},
        capability::EhloReply,
        command::{AuthInitial, Command, HelloKind},
        params::{MailParams, RcptParams},
        reply::{Reply, ReplyCode},
        sasl::{Credentials, Mechanism, Secret, base64_encode},
    },
};

pub use mail_core::TlsPolicy;

/// A client session's configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The name given in EHLO/HELO/LHLO.
    pub hello_name: DomainPart<'static>,
    /// SMTP or LMTP.
    pub protocol: Protocol,
    /// STARTTLS policy.
    pub starttls: TlsPolicy,
    /// The connection is TLS from the start (implicit TLS).
    pub implicit_tls: bool,
    /// Credentials for AUTH (PLAIN preferred, then LOGIN). AUTH is required when set.
    pub credentials: Option<Credentials>,
    /// Pipeline MAIL/RCPT/DATA when the server offers PIPELINING.
    pub pipelining: bool,
    /// Use BDAT when the server offers CHUNKING (and PIPELINING).
    pub chunking: bool,
    /// Limits on the replies accepted.
    pub reply_limits: ReplyLimits,
    /// How long to wait for a reply (RFC 5321 §4.5.3.2: 5 minutes for most commands).
    pub reply_timeout: Duration,
    /// How long to wait for the reply after the message data (RFC 5321 §4.5.3.2.6: 10 minutes).
    pub data_end_timeout: Duration,
}

impl ClientConfig {
    /// Defaults for a client that introduces itself as `hello_name`.
    pub fn new(hello_name: DomainPart<'static>) -> Self {
        Self {
            hello_name,
            protocol: Protocol::Smtp,
            starttls: TlsPolicy::Opportunistic,
            implicit_tls: false,
            credentials: None,
            pipelining: true,
            chunking: true,
            reply_limits: ReplyLimits::default(),
            reply_timeout: Duration::from_secs(5 * 60),
            data_end_timeout: Duration::from_secs(10 * 60),
        }
    }
}

/// One transaction: a sender and its recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The sender.
    pub from: ReversePath<'static>,
    /// MAIL parameters. SIZE and the DSN parameters are dropped when the server does not
    /// offer the extension; others are sent as given.
    pub params: MailParams<'static>,
    /// The recipients and their parameters.
    pub recipients: Vec<(ForwardPath<'static>, RcptParams<'static>)>,
}

impl Envelope {
    /// An envelope from `from` to `recipients`, without parameters.
    pub fn new(
        from: ReversePath<'static>,
        recipients: impl IntoIterator<Item = ForwardPath<'static>>,
    ) -> Self {
        Self {
            from,
            params: MailParams::default(),
            recipients: recipients
                .into_iter()
                .map(|to| (to, RcptParams::default()))
                .collect(),
        }
    }
}

/// Which step a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The server's greeting.
    Greeting,
    /// EHLO, HELO or LHLO.
    Hello,
    /// STARTTLS.
    StartTls,
    /// AUTH.
    Auth,
    /// MAIL FROM.
    Mail,
    /// DATA or BDAT.
    Data,
    /// The reply after the message data.
    Message,
}

/// Why the session or a transaction failed. Server replies are kept whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused a step.
    #[error("server refused {stage:?}: {reply}")]
    Rejected {
        /// The step.
        stage: Stage,
        /// The server's reply.
        reply: Reply<'static>,
    },
    /// Every recipient was refused; the replies are in the `Recipient` events.
    #[error("all recipients were refused")]
    NoValidRecipients,
    /// TLS is required but the server does not offer STARTTLS.
    #[error("the server does not offer STARTTLS")]
    TlsNotOffered,
    /// Credentials are set but the server offers neither PLAIN nor LOGIN.
    #[error("the server offers no usable AUTH mechanism")]
    AuthNotOffered,
    /// The message is larger than the server's SIZE limit.
    #[error("message of {size} octets exceeds the server's limit of {limit}")]
    TooLarge {
        /// The declared size.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// The server sent something that is not a valid reply.
    #[error("invalid reply: {0}")]
    Protocol(DecodeError),
    /// The server sent a reply nobody asked for, or one out of place.
    #[error("unexpected reply: {0}")]
    Unexpected(Reply<'static>),
    /// No reply in time.
    #[error("timed out waiting for the server")]
    Timeout,
}

/// What happened in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server's EHLO reply (after TLS, the second one).
    Capabilities(EhloReply<'static>),
    /// STARTTLS was accepted: run the TLS handshake now, then call
    /// [`Client::tls_established`].
    StartTls,
    /// AUTH succeeded.
    Authenticated,
    /// The session is ready for [`Client::send_mail`] or [`Client::quit`].
    Ready,
    /// The server's answer to one recipient, by index into the envelope.
    Recipient {
        /// Index into [`Envelope::recipients`].
        index: usize,
        /// The reply.
        reply: Reply<'static>,
    },
    /// The server waits for the message: call [`Client::send_data`], then
    /// [`Client::end_data`].
    SendData,
    /// The whole message was transferred and the server gave its verdict: in SMTP one reply;
    /// in LMTP one per accepted recipient, in envelope order (the indices are those of the
    /// accepted recipients). A verdict may be negative (a `5xx` after DATA's dot or BDAT
    /// LAST): check each reply's code. Refusals before the message was complete (MAIL, every
    /// RCPT, DATA itself, an earlier BDAT chunk) are [`Event::TransactionFailed`] instead.
    Sent {
        /// The final replies with the recipient index they answer (SMTP: the first
        /// accepted one).
        replies: Vec<(usize, Reply<'static>)>,
    },
    /// The transaction failed; the session is ready for another (`Ready` follows).
    TransactionFailed(ClientError),
    /// The session failed and is closed.
    Failed(ClientError),
    /// QUIT was answered; close the connection.
    Closed,
}

/// A reply the client waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    AuthPlain,
    AuthLoginUser,
    AuthLoginPassword,
    AuthDone,
    Mail,
    Rcpt(usize),
    Data,
    Bdat { last: bool },
    DataEnd,
    Rset,
    Quit,
}

#[derive(Debug)]
enum Phase {
    /// Working through the connection set-up or a transaction.
    Busy,
    /// Waiting for the application to start a transaction or quit.
    Idle,
    /// Waiting for the application's message data.
    Data,
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
    /// The envelope could not be encoded.
    #[error(transparent)]
    Encode(#[from] codec::EncodeError),
    /// The envelope has no recipient.
    #[error("the envelope has no recipients")]
    NoRecipients,
}

#[derive(Debug, Default)]
struct Transaction {
    rcpts: usize,
    accepted: Vec<usize>,
    mail_failed: Option<Reply<'static>>,
    rcpts_pending: usize,
    bdat: bool,
    /// BODY=BINARYMIME: the data goes out exactly as given.
    binary: bool,
    failed: bool,
    finals: Vec<(usize, Reply<'static>)>,
}

/// The client session.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    input: Vec<u8>,
    transmit: Vec<u8>,
    expect: VecDeque<Expect>,
    events: VecDeque<Event>,
    phase: Phase,
    tls: bool,
    ehlo: Option<EhloReply<'static>>,
    authenticated: bool,
    transaction: Option<Transaction>,
    stuffer: DotStuffer,
    normalizer: CrlfNormalizer,
    /// A BDAT chunk held back so that the last one can carry LAST.
    held_chunk: Vec<u8>,
    /// Without pipelining: the transaction's commands not yet sent.
    pending_commands: VecDeque<Command<'static>>,
    last_activity: Instant,
    /// Something went out while nothing was awaited (a transaction started long after the
    /// last reply): the reply timeout starts over at the next [`Client::handle_timeout`],
    /// since requests carry no clock.
    restart_clock: bool,
}

impl Client {
    /// A new session, waiting for the server's greeting.
    pub fn new(config: ClientConfig, now: Instant) -> Self {
        Self {
            tls: config.implicit_tls,
            config,
            input: Vec::new(),
            transmit: Vec::new(),
            expect: VecDeque::from([Expect::Greeting]),
            events: VecDeque::new(),
            phase: Phase::Busy,
            ehlo: None,
            authenticated: false,
            transaction: None,
            stuffer: DotStuffer::new(),
            normalizer: CrlfNormalizer::default(),
            held_chunk: Vec::new(),
            pending_commands: VecDeque::new(),
            last_activity: now,
            restart_clock: false,
        }
    }

    /// The server's capabilities, once known.
    pub fn capabilities(&self) -> Option<&EhloReply<'static>> {
        self.ehlo.as_ref()
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Feeds bytes read from the server, then processes every complete reply.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.last_activity = now;
        self.restart_clock = false;
        if matches!(self.phase, Phase::Closed | Phase::AwaitTls) {
            return;
        }
        self.input.extend_from_slice(data);
        let mut used = 0;
        while !matches!(self.phase, Phase::Closed | Phase::AwaitTls) {
            match codec::decode_reply_with(&self.input[used..], self.config.reply_limits) {
                Ok((rest, reply)) => {
                    let reply = reply.into_owned();
                    used = self.input.len() - rest.len();
                    self.on_reply(reply);
                }
                Err(DecodeError::Incomplete) => break,
                Err(e) => {
                    self.fail(ClientError::Protocol(e));
                    break;
                }
            }
        }
        self.input.drain(..used.min(self.input.len()));
        if matches!(self.phase, Phase::AwaitTls) {
            // The server must not send anything between its 220 and the handshake.
            self.input.clear();
        }
    }

    /// When [`Client::handle_timeout`] should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let wait = match self.expect.front()? {
            Expect::DataEnd => self.config.data_end_timeout,
            _ => self.config.reply_timeout,
        };
        match self.phase {
            // Due at once: handle_timeout starts the clock at its `now`.
            Phase::Busy if self.restart_clock => Some(self.last_activity),
            Phase::Busy => Some(self.last_activity + wait),
            _ => None,
        }
    }

    /// Fails the session if the server has not answered in time.
    pub fn handle_timeout(&mut self, now: Instant) {
        if std::mem::take(&mut self.restart_clock) {
            self.last_activity = now;
            return;
        }
        if self.poll_timeout().is_some_and(|t| now >= t) {
            self.fail(ClientError::Timeout);
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Moves the bytes to send to the server into `out`.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.transmit);
    }

    /// The TLS handshake after [`Event::StartTls`] succeeded: EHLO is sent again.
    pub fn tls_established(&mut self) -> Result<(), ApiError> {
        if !matches!(self.phase, Phase::AwaitTls) {
            return Err(ApiError::WrongState("no STARTTLS in progress"));
        }
        self.tls = true;
        self.ehlo = None;
        self.phase = Phase::Busy;
        self.hello();
        Ok(())
    }

    /// Starts a transaction. Valid after [`Event::Ready`].
    pub fn send_mail(&mut self, envelope: &Envelope) -> Result<(), ApiError> {
        if !matches!(self.phase, Phase::Idle) {
            return Err(ApiError::WrongState("send_mail needs the Ready state"));
        }
        if envelope.recipients.is_empty() {
            return Err(ApiError::NoRecipients);
        }
        let ehlo = self.ehlo.as_ref();
        let has = |k: &str| ehlo.is_some_and(|e| e.has(k));
        if let (Some(size), Some(limit)) =
            (envelope.params.size, ehlo.and_then(EhloReply::size_limit))
        {
            if size > limit {
                self.events
                    .push_back(Event::TransactionFailed(ClientError::TooLarge {
                        size,
                        limit,
                    }));
                self.events.push_back(Event::Ready);
                return Ok(());
            }
        }
        let mut params = envelope.params.clone();
        if !has("SIZE") {
            params.size = None;
        }
        let dsn = has("DSN");
        if !dsn {
            params.ret = None;
            params.envid = None;
        }
        let pipelining = self.config.pipelining && has("PIPELINING");
        let bdat = self.config.chunking && pipelining && has("CHUNKING");
        let start = self.transmit.len();
        let mut commands = vec![Command::Mail {
            from: envelope.from.clone(),
            params,
        }];
        for (to, p) in &envelope.recipients {
            let mut p = p.clone();
            if !dsn {
                p.notify = None;
                p.orcpt = None;
            }
            commands.push(Command::Rcpt {
                to: to.clone(),
                params: p,
            });
        }
        let mut encoded = Vec::new();
        for c in &commands {
            codec::encode_command(c, &mut encoded)
                .inspect_err(|_| self.transmit.truncate(start))?;
        }
        self.transaction = Some(Transaction {
            rcpts: envelope.recipients.len(),
            rcpts_pending: envelope.recipients.len(),
            bdat,
            binary: envelope.params.body == Some(crate::types::params::Body::BinaryMime),
            ..Transaction::default()
        });
        self.phase = Phase::Busy;
        if pipelining {
            self.transmit.extend_from_slice(&encoded);
            self.expect.push_back(Expect::Mail);
            self.expect
                .extend((0..envelope.recipients.len()).map(Expect::Rcpt));
            if !bdat {
                self.send(&Command::Data, Expect::Data);
            }
        } else {
            // One command at a time: keep the rest for after each reply.
            self.pending_commands = commands.into_iter().map(Command::into_owned).collect();
            self.send_next_pending();
        }
        Ok(())
    }

    /// Sends a piece of the message. Valid after [`Event::SendData`]. Line endings are made
    /// CRLF; with DATA, lines starting with `.` are stuffed.
    pub fn send_data(&mut self, data: &[u8]) -> Result<(), ApiError> {
        if !matches!(self.phase, Phase::Data) {
            return Err(ApiError::WrongState("send_data needs the SendData state"));
        }
        if self.transaction.as_ref().is_some_and(|t| t.bdat) {
            if !self.held_chunk.is_empty() {
                self.flush_chunk(false);
            }
            if self.transaction.as_ref().is_some_and(|t| t.binary) {
                self.held_chunk.extend_from_slice(data);
            } else {
                self.normalizer.encode(data, &mut self.held_chunk);
            }
        } else {
            self.stuffer.encode(data, &mut self.transmit);
        }
        Ok(())
    }

    /// Ends the message and waits for the server's verdict.
    pub fn end_data(&mut self) -> Result<(), ApiError> {
        if !matches!(self.phase, Phase::Data) {
            return Err(ApiError::WrongState("end_data needs the SendData state"));
        }
        self.phase = Phase::Busy;
        if self.transaction.as_ref().is_some_and(|t| t.bdat) {
            if !self.transaction.as_ref().is_some_and(|t| t.binary) {
                self.normalizer.finish(&mut self.held_chunk);
            }
            self.flush_chunk(true);
        } else {
            self.stuffer.finish(&mut self.transmit);
            self.expect_finals();
        }
        // However long the data took to produce, the verdict is awaited from now.
        self.restart_clock = true;
        Ok(())
    }

    /// Ends the session. Valid after [`Event::Ready`].
    pub fn quit(&mut self) -> Result<(), ApiError> {
        if !matches!(self.phase, Phase::Idle) {
            return Err(ApiError::WrongState("quit needs the Ready state"));
        }
        self.phase = Phase::Busy;
        self.send(&Command::Quit, Expect::Quit);
        Ok(())
    }

    fn flush_chunk(&mut self, last: bool) {
        let chunk = std::mem::take(&mut self.held_chunk);
        let _ = codec::encode_command(
            &Command::Bdat {
                size: chunk.len() as u64,
                last,
            },
            &mut self.transmit,
        );
        self.transmit.extend_from_slice(&chunk);
        self.expect.push_back(Expect::Bdat { last });
        if last {
            self.expect_finals_after_bdat();
        }
    }

    /// LMTP answers once per accepted recipient after the data; SMTP once.
    fn expect_finals(&mut self) {
        let n = match self.config.protocol {
            Protocol::Smtp => 1,
            Protocol::Lmtp => self
                .transaction
                .as_ref()
                .map_or(1, |t| t.accepted.len().max(1)),
        };
        self.expect.extend(std::iter::repeat_n(Expect::DataEnd, n));
    }

    /// With BDAT, the reply to `BDAT … LAST` is the first (SMTP: only) final reply.
    fn expect_finals_after_bdat(&mut self) {
        if self.config.protocol == Protocol::Lmtp {
            let n = self
                .transaction
                .as_ref()
                .map_or(1, |t| t.accepted.len().max(1));
            self.expect
                .extend(std::iter::repeat_n(Expect::DataEnd, n - 1));
        }
    }

    fn send(&mut self, command: &Command<'_>, expect: Expect) {
        let _ = codec::encode_command(command, &mut self.transmit);
        self.restart_clock |= self.expect.is_empty();
        self.expect.push_back(expect);
    }

    fn send_next_pending(&mut self) {
        let Some(cmd) = self.pending_commands.pop_front() else {
            return;
        };
        let expect = match &cmd {
            Command::Mail { .. } => Expect::Mail,
            _ => {
                let t = self.transaction.as_ref().map_or(0, |t| t.rcpts);
                Expect::Rcpt(t - 1 - self.pending_commands.len())
            }
        };
        self.send(&cmd, expect);
    }

    fn hello(&mut self) {
        let (kind, expect) = match self.config.protocol {
            Protocol::Smtp => (HelloKind::Ehlo, Expect::Ehlo),
            Protocol::Lmtp => (HelloKind::Lhlo, Expect::Ehlo),
        };
        let host = self.config.hello_name.clone();
        self.send(&Command::Hello { kind, host }, expect);
    }

    fn fail(&mut self, error: ClientError) {
        self.events.push_back(Event::Failed(error));
        self.phase = Phase::Closed;
        self.expect.clear();
    }

    fn ready(&mut self) {
        self.phase = Phase::Idle;
        self.events.push_back(Event::Ready);
    }

    /// After EHLO (and after TLS and AUTH): the next set-up step, or ready.
    fn after_hello(&mut self) {
        let offers_tls = self.ehlo.as_ref().is_some_and(|e| e.has("STARTTLS"));
        if !self.tls && self.config.starttls != TlsPolicy::Never {
            if offers_tls {
                self.send(&Command::StartTls, Expect::StartTls);
                return;
            }
            if self.config.starttls == TlsPolicy::Required {
                self.fail(ClientError::TlsNotOffered);
                return;
            }
        }
        if let (Some(creds), false) = (&self.config.credentials, self.authenticated) {
            let mechs = self
                .ehlo
                .as_ref()
                .map(EhloReply::auth_mechanisms)
                .unwrap_or_default();
            if mechs.contains(&Mechanism::PLAIN) {
                let ir = base64_encode(&creds.to_plain());
                let cmd = Command::Auth {
                    mechanism: Mechanism::PLAIN,
                    initial: Some(AuthInitial::Base64(Secret::new(ir.into()))),
                };
                self.send(&cmd, Expect::AuthPlain);
            } else if mechs.contains(&Mechanism::LOGIN) {
                let cmd = Command::Auth {
                    mechanism: Mechanism::LOGIN,
                    initial: None,
                };
                self.send(&cmd, Expect::AuthLoginUser);
            } else {
                self.fail(ClientError::AuthNotOffered);
            }
            return;
        }
        self.ready();
    }

    fn sasl_response(&mut self, data: &[u8], expect: Expect) {
        codec::encode_sasl_response(Some(data), &mut self.transmit);
        self.expect.push_back(expect);
    }

    fn on_reply(&mut self, reply: Reply<'static>) {
        let Some(expect) = self.expect.pop_front() else {
            // RFC 5321 §3.8: a server may send 421 at any time before closing.
            if reply.code() == ReplyCode::SERVICE_NOT_AVAILABLE {
                self.fail(ClientError::Rejected {
                    stage: Stage::Greeting,
                    reply,
                });
            } else {
                self.fail(ClientError::Unexpected(reply));
            }
            return;
        };
        let code = reply.code();
        let rejected = |stage| ClientError::Rejected {
            stage,
            reply: reply.clone(),
        };
        match expect {
            Expect::Greeting => {
                if code == ReplyCode::SERVICE_READY {
                    self.hello();
                } else {
                    self.fail(rejected(Stage::Greeting));
                }
            }
            Expect::Ehlo => {
                if code == ReplyCode::OK {
                    match EhloReply::from_reply(&reply) {
                        Ok(e) => {
                            let e = e.into_owned();
                            self.events.push_back(Event::Capabilities(e.clone()));
                            self.ehlo = Some(e);
                            self.after_hello();
                        }
                        Err(_) => self.fail(ClientError::Unexpected(reply)),
                    }
                } else if code.get() / 100 == 5 && self.config.protocol == Protocol::Smtp {
                    // RFC 5321 §3.2: fall back to HELO.
                    let host = self.config.hello_name.clone();
                    self.send(
                        &Command::Hello {
                            kind: HelloKind::Helo,
                            host,
                        },
                        Expect::Helo,
                    );
                } else {
                    self.fail(rejected(Stage::Hello));
                }
            }
            Expect::Helo => {
                if code == ReplyCode::OK {
                    self.ehlo = None;
                    self.after_hello();
                } else {
                    self.fail(rejected(Stage::Hello));
                }
            }
            Expect::StartTls => {
                if code == ReplyCode::SERVICE_READY {
                    self.phase = Phase::AwaitTls;
                    self.events.push_back(Event::StartTls);
                } else if self.config.starttls == TlsPolicy::Required {
                    self.fail(rejected(Stage::StartTls));
                } else {
                    // Opportunistic: carry on in plaintext.
                    self.config.starttls = TlsPolicy::Never;
                    self.after_hello();
                }
            }
            Expect::AuthPlain
            | Expect::AuthLoginUser
            | Expect::AuthLoginPassword
            | Expect::AuthDone => {
                self.on_auth_reply(expect, reply);
            }
            Expect::Mail => {
                if !code.is_positive() {
                    if let Some(t) = &mut self.transaction {
                        t.mail_failed = Some(reply);
                    }
                    // Without pipelining nothing else was sent: end the transaction now.
                    if self.expect.is_empty() {
                        self.pending_commands.clear();
                        self.finish_failed_transaction();
                    }
                } else {
                    self.send_next_pending();
                }
            }
            Expect::Rcpt(index) => {
                if let Some(t) = &mut self.transaction {
                    t.rcpts_pending -= 1;
                    if code.is_positive() {
                        t.accepted.push(index);
                    }
                }
                self.events.push_back(Event::Recipient { index, reply });
                self.send_next_pending();
                self.after_rcpts();
            }
            Expect::Data => {
                let t = self.transaction.as_ref();
                let usable = t.is_some_and(|t| t.mail_failed.is_none() && !t.accepted.is_empty());
                if code == ReplyCode::START_MAIL_INPUT {
                    if usable {
                        self.phase = Phase::Data;
                        self.events.push_back(Event::SendData);
                    } else {
                        // RFC 2920 §3.1: DATA accepted without recipients; send an empty
                        // message so nothing is delivered, then end the transaction.
                        self.transmit.extend_from_slice(b".\r\n");
                        self.expect.push_back(Expect::Rset);
                        self.mark_failed();
                    }
                } else if usable {
                    self.finish_transaction_with(rejected(Stage::Data));
                } else {
                    self.finish_failed_transaction();
                }
            }
            Expect::Bdat { last } => {
                // The reply to `BDAT ... LAST` is the verdict on the whole message, like the
                // reply after DATA's dot (in LMTP the first recipient's): reported in `Sent`,
                // positive or not. A refused earlier chunk means the message never arrived
                // whole: the transaction failed.
                if !code.is_positive() && !last {
                    // Any later BDAT replies and finals are still to come; collect them as
                    // a failure.
                    if let Some(t) = &mut self.transaction {
                        t.failed = true;
                        t.finals.push((0, reply.clone()));
                    }
                }
                if last {
                    self.on_final(reply);
                }
            }
            Expect::DataEnd => self.on_final(reply),
            Expect::Rset => {
                if self.expect.is_empty() {
                    self.ready();
                }
            }
            Expect::Quit => {
                self.phase = Phase::Closed;
                self.events.push_back(Event::Closed);
            }
        }
    }

    fn on_auth_reply(&mut self, expect: Expect, reply: Reply<'static>) {
        let code = reply.code();
        let Some(creds) = self.config.credentials.clone() else {
            self.fail(ClientError::Unexpected(reply));
            return;
        };
        match (expect, code) {
            (_, ReplyCode::AUTH_SUCCEEDED) => {
                self.authenticated = true;
                self.events.push_back(Event::Authenticated);
                self.ready();
            }
            (Expect::AuthPlain, ReplyCode::AUTH_CONTINUE) => {
                self.sasl_response(&creds.to_plain(), Expect::AuthDone);
            }
            (Expect::AuthLoginUser, ReplyCode::AUTH_CONTINUE) => {
                self.sasl_response(creds.authcid.as_bytes(), Expect::AuthLoginPassword);
            }
            (Expect::AuthLoginPassword, ReplyCode::AUTH_CONTINUE) => {
                self.sasl_response(creds.password.expose().as_bytes(), Expect::AuthDone);
            }
            _ => self.fail(ClientError::Rejected {
                stage: Stage::Auth,
                reply,
            }),
        }
    }

    /// Once every RCPT is answered: with BDAT, start the data now (there is no DATA reply).
    fn after_rcpts(&mut self) {
        let Some(t) = &self.transaction else { return };
        if t.rcpts_pending > 0 || !self.pending_commands.is_empty() {
            return;
        }
        if t.mail_failed.is_some() || t.accepted.is_empty() {
            if !self.expect.contains(&Expect::Data) {
                self.finish_failed_transaction();
            }
            return;
        }
        if t.bdat {
            self.phase = Phase::Data;
            self.events.push_back(Event::SendData);
        } else if !self.expect.contains(&Expect::Data) {
            self.send(&Command::Data, Expect::Data);
        }
    }

    fn mark_failed(&mut self) {
        let error = match self.transaction.take() {
            Some(Transaction {
                mail_failed: Some(reply),
                ..
            }) => ClientError::Rejected {
                stage: Stage::Mail,
                reply,
            },
            _ => ClientError::NoValidRecipients,
        };
        self.events.push_back(Event::TransactionFailed(error));
    }

    /// MAIL or every RCPT failed: report it and reset the server's state.
    fn finish_failed_transaction(&mut self) {
        self.mark_failed();
        self.send(&Command::Rset, Expect::Rset);
        self.phase = Phase::Busy;
    }

    fn finish_transaction_with(&mut self, error: ClientError) {
        self.transaction = None;
        self.events.push_back(Event::TransactionFailed(error));
        self.send(&Command::Rset, Expect::Rset);
    }

    fn on_final(&mut self, reply: Reply<'static>) {
        let Some(t) = &mut self.transaction else {
            self.fail(ClientError::Unexpected(reply));
            return;
        };
        let index = t.accepted.get(t.finals.len()).copied().unwrap_or(0);
        if !t.failed {
            t.finals.push((index, reply));
        }
        if self.expect.contains(&Expect::DataEnd) {
            return;
        }
        let Some(t) = self.transaction.take() else {
            return;
        };
        if t.failed {
            let reply = t.finals.into_iter().next().map(|(_, r)| r);
            let error = match reply {
                Some(reply) => ClientError::Rejected {
                    stage: Stage::Data,
                    reply,
                },
                None => ClientError::NoValidRecipients,
            };
            self.events.push_back(Event::TransactionFailed(error));
        } else {
            self.events.push_back(Event::Sent { replies: t.finals });
        }
        self.ready();
    }
}
