//! The client side of an SMTP or LMTP session, without I/O.
//!
//! The client drives greeting → EHLO (HELO if EHLO is refused) → STARTTLS → AUTH, then one
//! transaction per [`Client::send_mail`]: MAIL, RCPT…, and DATA or BDAT. It pipelines MAIL and
//! RCPT (and DATA) when the server offers PIPELINING, uses BDAT when it offers CHUNKING and
//! PIPELINING, and reads every reply in order.

use std::{collections::VecDeque, time::Instant};

mod read;
mod types;

use super::config::Protocol;
use crate::{
    DecodeError,
    codec::{self, CrlfNormalizer, DotStuffer},
    types::{capability::EhloReply, command::Command, reply::Reply},
};

pub use types::{ClientConfig, ClientError, Envelope, Event, Stage, TlsPolicy};

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
    /// Without PIPELINING a BDAT chunk waits for the last one's reply (RFC 3030 §4.2): the
    /// message goes as one chunk, `BDAT n LAST`.
    one_chunk: bool,
    /// BODY=BINARYMIME: the data goes out exactly as given.
    binary: bool,
    failed: bool,
    finals: Vec<(usize, Reply<'static>)>,
}

impl Transaction {
    /// Records a final reply for the next accepted recipient (SMTP's one reply: the first),
    /// unless the data already failed.
    fn push_final(&mut self, reply: Reply<'static>) {
        let index = self.accepted.get(self.finals.len()).copied().unwrap_or(0);
        if !self.failed {
            self.finals.push((index, reply));
        }
    }
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
    /// The application chose plaintext ([`TlsPolicy::Never`]): credentials may go without
    /// TLS. (The policy itself becomes `Never` once an opportunistic STARTTLS failed.)
    clear_login: bool,
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
        let max_line = config.max_line;
        Self {
            tls: config.implicit_tls,
            clear_login: config.starttls == TlsPolicy::Never,
            config,
            input: Vec::new(),
            transmit: Vec::new(),
            expect: VecDeque::from([Expect::Greeting]),
            events: VecDeque::new(),
            phase: Phase::Busy,
            ehlo: None,
            authenticated: false,
            transaction: None,
            stuffer: max_line.map_or_else(DotStuffer::new, DotStuffer::with_line_limit),
            normalizer: max_line
                .map_or_else(CrlfNormalizer::default, CrlfNormalizer::with_line_limit),
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
    ///
    /// Only a complete reply restarts the reply timeout: a server that sends its reply an
    /// octet at a time has the timeout for all of it, not for each octet.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if matches!(self.phase, Phase::Closed | Phase::AwaitTls) {
            return;
        }
        self.input.extend_from_slice(data);
        let mut used = 0;
        while !matches!(self.phase, Phase::Closed | Phase::AwaitTls) {
            match codec::decode_reply_with(&self.input[used..], self.config.reply_limits) {
                Ok((rest, reply)) => {
                    self.last_activity = now;
                    self.restart_clock = false;
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
            // The reply to BDAT LAST is the verdict on the message, as after DATA's dot.
            Expect::DataEnd | Expect::Bdat { last: true } => self.config.data_end_timeout,
            _ => self.config.reply_timeout,
        };
        match self.phase {
            // Due at once: handle_timeout starts the clock at its `now`.
            Phase::Busy if self.restart_clock => Some(self.last_activity),
            Phase::Busy => Some(self.last_activity + wait),
            _ => None,
        }
    }

    /// The server closed the connection, or it broke. The session is closed; in LMTP the
    /// final replies that came before are reported first (see [`Event::Sent`]).
    pub fn connection_closed(&mut self) {
        if self.is_closed() {
            return;
        }
        self.report_lmtp_finals_so_far();
        self.phase = Phase::Closed;
        self.expect.clear();
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
            && size > limit
        {
            self.events
                .push_back(Event::TransactionFailed(ClientError::TooLarge {
                    size,
                    limit,
                }));
            self.events.push_back(Event::Ready);
            return Ok(());
        }
        let mut params = envelope.params.clone();
        let beyond_ascii = |m: Option<&crate::Mailbox<'_>>| m.is_some_and(|m| !m.is_ascii());
        params.smtputf8 |= beyond_ascii(envelope.from.mailbox())
            || envelope
                .recipients
                .iter()
                .any(|(to, _)| beyond_ascii(to.mailbox()));
        let binary = params.body == Some(crate::types::params::Body::BinaryMime);
        let missing = match params.body {
            Some(crate::types::params::Body::EightBitMime) if !has("8BITMIME") => Some("8BITMIME"),
            _ if binary && !(has("BINARYMIME") && has("CHUNKING") && self.config.chunking) => {
                Some("BINARYMIME and CHUNKING")
            }
            _ if params.smtputf8 && !has("SMTPUTF8") => Some("SMTPUTF8"),
            _ => None,
        };
        if let Some(extension) = missing {
            self.events
                .push_back(Event::TransactionFailed(ClientError::NotOffered(extension)));
            self.events.push_back(Event::Ready);
            return Ok(());
        }
        if !has("SIZE") {
            params.size = None;
        }
        let dsn = has("DSN");
        if !dsn {
            params.ret = None;
            params.envid = None;
        }
        let pipelining = self.config.pipelining && has("PIPELINING");
        // BINARYMIME needs BDAT (RFC 3030 §3), with PIPELINING or without it.
        let bdat = self.config.chunking && has("CHUNKING") && (pipelining || binary);
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
            one_chunk: bdat && !pipelining,
            binary,
            ..Transaction::default()
        });
        self.phase = Phase::Busy;
        if pipelining {
            // The first reply awaited counts from now, not from the last one received.
            self.restart_clock |= self.expect.is_empty();
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
        if let Some(t) = self.transaction.as_ref().filter(|t| t.bdat) {
            // RFC 3030 §2: after a refused chunk the sender MUST NOT send another; the
            // rest of the message goes nowhere.
            if t.failed {
                return Ok(());
            }
            if !t.one_chunk && !self.held_chunk.is_empty() {
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
        if let Some(t) = self.transaction.as_mut().filter(|t| t.bdat && t.failed) {
            // A chunk was refused: no `BDAT ... LAST` (RFC 3030 §2); the refusal is the
            // verdict, and RSET clears what the server holds.
            let reply = std::mem::take(&mut t.finals)
                .into_iter()
                .next()
                .map(|(_, r)| r);
            self.held_chunk.clear();
            // Back to a message's start (what it would have written goes nowhere).
            self.normalizer.finish(&mut Vec::new());
            let error = match reply {
                Some(reply) => ClientError::Rejected {
                    stage: Stage::Data,
                    reply,
                },
                None => ClientError::NoValidRecipients,
            };
            self.finish_transaction_with(error);
        } else if self.transaction.as_ref().is_some_and(|t| t.bdat) {
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
        self.restart_clock |= self.expect.is_empty();
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
}
