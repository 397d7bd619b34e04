//! Reading input and answering commands: the server's protocol rules.

use std::borrow::Cow;

use sansmail_core::CloseReason;

use super::{Event, LoginMethod, Mode, Pending, Phase, Queued, SaslState, State, Step};
use crate::{
    DecodeError,
    codec::{
        self, SaslLine,
        line::{Frame, LineError, find_line},
    },
    session::{maildrop::DeleteError, responses},
    types::{
        capability::Capability,
        command::{AuthInitial, Command, MessageNumber},
        response::{Continuation, Response, Status},
        sasl::{Credentials, Mechanism, Secret, base64_decode},
    },
};

impl State {
    /// A bad command: answered, counted, and the session closed after too many.
    fn error(&mut self, response: &Response<'_>) {
        self.errors += 1;
        if self.errors >= self.config.limits.max_errors {
            self.send(&responses::too_many_errors());
            self.close(CloseReason::TooManyErrors);
        } else {
            self.send(response);
        }
    }

    fn ok(&mut self, text: String) {
        self.send(&responses::formatted(Status::Ok, text, "OK"));
    }

    /// Processes input until an event, or until nothing more can be done.
    pub(super) fn step(&mut self, input: &[u8], timestamp: Option<&str>) -> Step {
        let buf = &input[self.pos.min(input.len())..];
        match &self.mode {
            Mode::Closed | Mode::AwaitTls => Step::Idle,
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
                    self.send(&responses::auth_line_too_long());
                } else {
                    let max = self.config.limits.max_command_line;
                    self.error(&DecodeError::LineTooLong { max }.to_response());
                }
                Step::Continue
            }
            Mode::Commands | Mode::Sasl(_) => {
                let sasl = matches!(self.mode, Mode::Sasl(_));
                let limits = &self.config.limits;
                let max = if sasl {
                    limits.max_sasl_line
                } else {
                    limits.max_command_line
                };
                let frame = match find_line(buf, max, self.scanned) {
                    // A line ended by LF alone, with no CR in it, is taken as Dovecot takes
                    // it (`nc` without -C, scripts): POP3 carries no message data from the
                    // client, so there is nothing to smuggle. A CR inside a line is still
                    // refused.
                    Frame::Invalid {
                        error: LineError::BareLineEnding,
                        consumed,
                    } if !buf[..consumed].contains(&b'\r') => Frame::Line {
                        len: consumed - 1,
                        consumed,
                    },
                    frame => frame,
                };
                match frame {
                    Frame::Partial => {
                        self.scanned = buf.len();
                        Step::Idle
                    }
                    Frame::TooLongSoFar => {
                        // Drop what is buffered: memory stays flat however long the line.
                        self.pos += buf.len();
                        self.scanned = 0;
                        self.mode = Mode::SkipLine { sasl };
                        Step::Idle
                    }
                    Frame::Invalid { error, consumed } => {
                        let error = DecodeError::from(error);
                        self.pos += consumed;
                        self.scanned = 0;
                        self.progress();
                        if sasl {
                            self.mode = Mode::Commands;
                            self.send(&if matches!(error, DecodeError::LineTooLong { .. }) {
                                responses::auth_line_too_long()
                            } else {
                                responses::auth_bad_response()
                            });
                        } else {
                            self.error(&error.to_response());
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
                            return self.sasl_line(state, line);
                        }
                        self.commands += 1;
                        let step = match codec::parse_command_line(line, &self.config.limits) {
                            Ok(cmd) => self.command(cmd, timestamp),
                            Err(e) => {
                                self.error(&e.to_response());
                                Step::Continue
                            }
                        };
                        if matches!(self.mode, Mode::AwaitTls) {
                            // Bytes pipelined behind STLS are plaintext injected before the
                            // handshake (CVE-2011-0411 class): drop them.
                            self.pos = input.len();
                        }
                        step
                    }
                }
            }
        }
    }

    fn command(&mut self, cmd: Command<'_>, timestamp: Option<&str>) -> Step {
        match (self.phase, cmd) {
            (_, Command::Capa) => self.capa(),
            (_, Command::Quit) => self.quit(),
            (_, Command::Lang { range }) => self.lang(range.as_deref()),
            (Phase::Authorization, Command::User { name }) => self.user(&name),
            (Phase::Authorization, Command::Pass { password }) => self.pass(password),
            (Phase::Authorization, Command::Apop { name, digest }) => {
                self.apop(name, digest, timestamp)
            }
            (Phase::Authorization, Command::Auth { mechanism, initial }) => {
                self.auth(&mechanism, initial)
            }
            (Phase::Authorization, Command::AuthList) => {
                let mechs = self.usable_mechanisms();
                self.send(&responses::r(Status::Ok, None, "SASL mechanisms follow"));
                for m in mechs {
                    self.transmit.extend_from_slice(m.as_str().as_bytes());
                    self.transmit.extend_from_slice(b"\r\n");
                }
                self.transmit.extend_from_slice(b".\r\n");
                Step::Continue
            }
            (Phase::Authorization, Command::Stls) => self.stls(),
            (Phase::Authorization, Command::Utf8) => self.utf8(),
            (Phase::Transaction, cmd) => {
                self.transaction(&cmd);
                Step::Continue
            }
            // Before login a command of the other states counts as a bad one: a client
            // sending NOOP every few minutes would otherwise hold a connection for ever
            // without trying a password (Dovecot's login counts them too).
            (Phase::Authorization, _) => {
                self.error(&responses::wrong_state());
                Step::Continue
            }
        }
    }

    /// Whether a user name or password given to USER, PASS or APOP may hold non-ASCII
    /// characters (RFC 6856 §2).
    fn credentials_allowed(&self, s: &str) -> bool {
        s.is_ascii() || (self.config.utf8 && self.config.utf8_user)
    }

    fn plaintext_allowed(&self) -> bool {
        self.tls || !self.config.auth_requires_tls
    }

    /// The SASL mechanisms that may be used now: PLAIN needs TLS unless allowed without.
    fn usable_mechanisms(&self) -> Vec<Mechanism<'static>> {
        let plain_ok = self.plaintext_allowed();
        self.config
            .sasl
            .iter()
            .filter(|m| plain_ok || **m != Mechanism::PLAIN)
            .cloned()
            .collect()
    }

    fn capabilities(&self) -> Vec<Capability<'static>> {
        let c = &self.config;
        let auth = self.phase == Phase::Authorization;
        let mut caps = vec![Capability::Top, Capability::Uidl];
        if c.user_pass && self.plaintext_allowed() {
            caps.push(Capability::User);
        }
        let mechs = self.usable_mechanisms();
        if !mechs.is_empty() {
            caps.push(Capability::Sasl(mechs));
        }
        caps.extend([Capability::RespCodes, Capability::AuthRespCode]);
        if c.pipelining {
            caps.push(Capability::Pipelining);
        }
        if c.starttls && !self.tls && auth {
            caps.push(Capability::Stls);
        }
        if c.utf8 {
            caps.push(Capability::Utf8 { user: c.utf8_user });
        }
        if !c.languages.is_empty() {
            caps.push(Capability::Lang);
        }
        caps.extend(c.extra_capabilities.iter().cloned());
        caps
    }

    fn capa(&mut self) -> Step {
        let caps = self.capabilities();
        self.send(&responses::r(Status::Ok, None, "Capability list follows"));
        for c in &caps {
            codec::encode_capability(c, &mut self.transmit);
        }
        self.transmit.extend_from_slice(b".\r\n");
        Step::Continue
    }

    fn quit(&mut self) -> Step {
        match self.phase {
            Phase::Authorization => {
                let text = format!("{} POP3 server signing off", self.config.hostname);
                self.ok(text);
                self.close(CloseReason::Quit);
            }
            // The UPDATE state: the application commits the deletions.
            Phase::Transaction => self.queued.push_back(Queued::Commit),
        }
        Step::Continue
    }

    fn lang(&mut self, range: Option<&str>) -> Step {
        if self.config.languages.is_empty() {
            self.send(&responses::not_available("LANG not available"));
            return Step::Continue;
        }
        let Some(range) = range else {
            self.send(&responses::r(Status::Ok, None, "Language listing follows"));
            for l in &self.config.languages {
                codec::encode_language(l, &mut self.transmit);
            }
            self.transmit.extend_from_slice(b".\r\n");
            return Step::Continue;
        };
        let found = if range == "*" {
            Some(0)
        } else {
            self.config
                .languages
                .iter()
                .position(|l| l.tag().eq_ignore_ascii_case(range))
        };
        match found {
            Some(i) => {
                self.language = Some(i);
                let tag = self.config.languages[i].tag().to_owned();
                self.ok(format!("{tag} Language changed"));
            }
            None => self.send(&responses::r(Status::Err, None, "Unknown language")),
        }
        Step::Continue
    }

    fn user(&mut self, name: &str) -> Step {
        let refusal = if !self.config.user_pass {
            Some(responses::not_available("USER not available"))
        } else if !self.plaintext_allowed() {
            Some(responses::tls_required())
        } else if !self.credentials_allowed(name) {
            Some(responses::not_available("UTF-8 user names not accepted"))
        } else {
            None
        };
        match refusal {
            Some(r) => self.send(&r),
            None => {
                self.user = Some(name.to_owned());
                self.send(&responses::ok());
            }
        }
        Step::Continue
    }

    fn pass(&mut self, password: Secret<Cow<'_, str>>) -> Step {
        let Some(user) = self.user.take() else {
            self.send(&responses::not_available("Send USER first"));
            return Step::Continue;
        };
        if !self.credentials_allowed(password.expose()) {
            self.send(&responses::not_available("UTF-8 passwords not accepted"));
            return Step::Continue;
        }
        self.login_name = Some(user.clone());
        self.pending = Some(Pending::Login { exchange: false });
        Step::Event(Event::Login {
            method: LoginMethod::UserPass,
            credentials: Credentials::new(user, password.into_inner().into_owned()),
        })
    }

    fn apop(&mut self, name: Cow<'_, str>, digest: Cow<'_, str>, timestamp: Option<&str>) -> Step {
        let Some(timestamp) = timestamp else {
            self.send(&responses::not_available("APOP not available"));
            return Step::Continue;
        };
        if !self.credentials_allowed(&name) {
            self.send(&responses::not_available("UTF-8 user names not accepted"));
            return Step::Continue;
        }
        self.user = None;
        self.login_name = Some(name.clone().into_owned());
        self.pending = Some(Pending::Login { exchange: false });
        Step::Event(Event::Apop {
            name: name.into_owned(),
            digest: digest.into_owned(),
            timestamp: timestamp.to_owned(),
        })
    }

    fn auth(&mut self, mechanism: &Mechanism<'_>, initial: Option<AuthInitial<'_>>) -> Step {
        if !self.config.sasl.contains(mechanism) {
            self.send(&responses::unknown_mechanism());
            return Step::Continue;
        }
        if *mechanism == Mechanism::PLAIN && !self.plaintext_allowed() {
            self.send(&responses::tls_required());
            return Step::Continue;
        }
        self.user = None;
        let initial = match initial {
            None => None,
            Some(AuthInitial::Empty) => Some(Vec::new()),
            // Validated as base64 by the parser.
            Some(AuthInitial::Base64(b)) => Some(base64_decode(b.expose()).unwrap_or_default()),
        };
        if *mechanism == Mechanism::PLAIN {
            return match initial {
                Some(data) => self.plain(&data),
                None => {
                    codec::encode_continuation(&Continuation::new(b""), &mut self.transmit);
                    self.mode = Mode::Sasl(SaslState::Plain);
                    Step::Continue
                }
            };
        }
        let mechanism = mechanism.clone().into_owned();
        self.mode = Mode::Sasl(SaslState::App(mechanism.clone()));
        self.pending = Some(Pending::Login { exchange: true });
        Step::Event(Event::AuthExchange {
            mechanism,
            response: initial,
        })
    }

    /// AUTH PLAIN's message. Its names and password are UTF-8 by definition (RFC 4616 §2),
    /// whatever `utf8_user` says of USER and PASS (RFC 6856 §3 is about those).
    fn plain(&mut self, message: &[u8]) -> Step {
        match Credentials::from_plain(message) {
            Some(c) => {
                self.login_name = Some(c.authcid.clone());
                self.pending = Some(Pending::Login { exchange: false });
                Step::Event(Event::Login {
                    method: LoginMethod::Plain,
                    credentials: c,
                })
            }
            None => {
                self.send(&responses::auth_bad_response());
                Step::Continue
            }
        }
    }

    fn sasl_line(&mut self, state: SaslState, line: &[u8]) -> Step {
        let data = match codec::parse_sasl_line(line) {
            Ok(SaslLine::Cancel) => {
                self.send(&responses::auth_cancelled());
                return Step::Continue;
            }
            Ok(SaslLine::Response(b)) => base64_decode(b.expose()),
            Err(_) => None,
        };
        let Some(data) = data else {
            self.send(&responses::auth_bad_response());
            return Step::Continue;
        };
        match state {
            SaslState::Plain => self.plain(&data),
            SaslState::App(mechanism) => {
                self.mode = Mode::Sasl(SaslState::App(mechanism.clone()));
                self.pending = Some(Pending::Login { exchange: true });
                Step::Event(Event::AuthExchange {
                    mechanism,
                    response: Some(data),
                })
            }
        }
    }

    fn stls(&mut self) -> Step {
        if !self.config.starttls || self.tls {
            self.send(&responses::not_available("STLS not available"));
            return Step::Continue;
        }
        self.send(&responses::r(Status::Ok, None, "Begin TLS negotiation"));
        self.mode = Mode::AwaitTls;
        self.queued.push_back(Queued::StartTls);
        Step::Continue
    }

    fn utf8(&mut self) -> Step {
        if !self.config.utf8 {
            self.send(&responses::not_available("UTF8 not available"));
            return Step::Continue;
        }
        self.utf8 = true;
        self.send(&responses::r(Status::Ok, None, "UTF8 enabled"));
        self.queued.push_back(Queued::Utf8Enabled);
        Step::Continue
    }

    /// A command in the TRANSACTION state, answered from the maildrop view.
    fn transaction(&mut self, cmd: &Command<'_>) {
        let Some(maildrop) = &mut self.maildrop else {
            self.send(&responses::wrong_state());
            return;
        };
        let mut out = std::mem::take(&mut self.transmit);
        let live = |m: MessageNumber| maildrop.live(m);
        let response = match cmd {
            Command::Stat => {
                let s = maildrop.stat();
                Some(format!("{} {}", s.count, s.size))
            }
            Command::List { msg: None } => {
                let s = maildrop.stat();
                let first = format!("{} messages ({} octets)", s.count, s.size);
                codec::encode_response(&responses::formatted(Status::Ok, first, "OK"), &mut out);
                for (msg, size, _) in maildrop.iter_live() {
                    codec::encode_scan_listing(&crate::ScanListing { msg, size }, &mut out);
                }
                out.extend_from_slice(b".\r\n");
                None
            }
            Command::Uidl { msg: None } => {
                codec::encode_response(&responses::ok(), &mut out);
                for (msg, _, uid) in maildrop.iter_live() {
                    use std::io::Write as _;
                    let _ = write!(out, "{msg} {uid}\r\n");
                }
                out.extend_from_slice(b".\r\n");
                None
            }
            Command::List { msg: Some(m) } => Some(match live(*m) {
                Some((size, _)) => format!("{m} {size}"),
                None => String::new(),
            }),
            Command::Uidl { msg: Some(m) } => Some(match live(*m) {
                Some((_, uid)) => format!("{m} {uid}"),
                None => String::new(),
            }),
            Command::Retr { msg } | Command::Top { msg, .. } => {
                let top = match cmd {
                    Command::Top { lines, .. } => Some(*lines),
                    _ => None,
                };
                if live(*msg).is_some() {
                    self.queued.push_back(Queued::Retrieve { msg: *msg, top });
                    None
                } else {
                    Some(String::new())
                }
            }
            Command::Dele { msg } => {
                let r = match maildrop.delete(*msg) {
                    Ok(()) => responses::formatted(
                        Status::Ok,
                        format!("message {msg} deleted"),
                        "message deleted",
                    ),
                    Err(DeleteError::AlreadyDeleted) => responses::formatted(
                        Status::Err,
                        format!("message {msg} already deleted"),
                        "message already deleted",
                    ),
                    Err(DeleteError::NoSuchMessage) => responses::no_such_message(),
                };
                codec::encode_response(&r, &mut out);
                None
            }
            Command::Rset => {
                maildrop.reset();
                let s = maildrop.stat();
                Some(format!(
                    "maildrop has {} messages ({} octets)",
                    s.count, s.size
                ))
            }
            Command::Noop => {
                codec::encode_response(&responses::ok(), &mut out);
                None
            }
            _ => {
                codec::encode_response(&responses::wrong_state(), &mut out);
                None
            }
        };
        self.transmit = out;
        // An empty text stands for "no such message".
        match response {
            Some(text) if text.is_empty() => self.send(&responses::no_such_message()),
            Some(text) => self.ok(text),
            None => {}
        }
    }
}
