//! Reading the client: command lines, DATA (dot-unstuffed, ending only at CRLF.CRLF), BDAT
//! chunks of exactly their size, SASL lines, and the input clock that keeps a trickling client
//! (slowloris) from holding the session.

use std::time::Instant;

use super::{Event, Mode, Queued, State, Step};
use crate::{
    AddressLiteral, Command, DecodeError, Domain, DomainPart, HelloKind, Mechanism,
    codec::{
        self,
        line::{Frame, find_line},
    },
    session::replies,
};

impl State {
    /// `len` octets arrived at `now`: they move the timeouts' start forward by the time they
    /// earn at the minimum rate, up to `now`. Only a complete command, message or chunk
    /// ([`State::progress`]) restarts them.
    pub(super) fn earn(&mut self, now: Instant, len: usize) {
        self.clock.earn(now, len, self.config.limits.min_input_rate);
    }

    /// A command line, message or chunk is complete: the timeouts restart from when its
    /// last octets arrived.
    pub(super) fn progress(&mut self) {
        self.clock.progress();
    }

    /// Processes input until an event, or until nothing more can be done.
    pub(super) fn step(&mut self, input: &[u8]) -> Step {
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
                    self.error(&replies::auth_line_too_long());
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
            Mode::SkipChunk {
                rx,
                reply,
                copies,
                counted,
            } => {
                let skipped = rx.take(buf).len();
                self.pos += skipped;
                if rx.remaining() > 0 {
                    return Step::Idle;
                }
                let (reply, copies, counted) = (reply.clone(), *copies, *counted);
                self.mode = Mode::Commands;
                self.progress();
                for _ in 1..copies {
                    self.send(&reply);
                }
                if counted {
                    self.error(&reply);
                } else {
                    self.send(&reply);
                }
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
                        let error = DecodeError::from(error);
                        self.pos += consumed;
                        self.scanned = 0;
                        self.progress();
                        if sasl {
                            self.mode = Mode::Commands;
                            self.error(&if matches!(error, DecodeError::LineTooLong { .. }) {
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
                            self.commands += 1;
                            let step = match codec::parse_command_line(line) {
                                Ok(cmd) => self.command(cmd),
                                Err(e) => self.tolerate(line, &e),
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
}

impl State {
    /// A command line the codec refuses: run as what it means if it is one a receiver
    /// tolerates, else refused. Trailing white space always (RFC 5321 §4.1.1: receivers
    /// SHOULD tolerate it); what Postfix takes besides under
    /// [`lenient_envelope`](crate::session::ServerConfig::lenient_envelope).
    fn tolerate(&mut self, line: &[u8], e: &DecodeError) -> Step {
        if let DecodeError::Syntax { expected, .. } = e
            && *expected == codec::command::INITIAL_RESPONSE
            && let Some(mechanism) = auth_mechanism(line)
        {
            return self.auth_undecodable(&mechanism);
        }
        let syntax = matches!(e, DecodeError::Syntax { .. });
        // `HELP\t` is no verb to the codec.
        let trimmed = trim_white_end(line);
        if (syntax || matches!(e, DecodeError::UnknownCommand))
            && trimmed.len() < line.len()
            && let Ok(cmd) = codec::parse_command_line(trimmed)
        {
            return self.command(cmd);
        }
        if !syntax || !self.config.lenient_envelope {
            self.error(&refusal(line, e));
            return Step::Continue;
        }
        let regular = as_the_grammar_writes(trimmed);
        if let Some(Ok(cmd)) = regular.as_deref().map(codec::parse_command_line) {
            return self.command(cmd);
        }
        match loose_hello(line) {
            Some(cmd) => self.command(cmd),
            None => {
                self.error(&refusal(line, e));
                Step::Continue
            }
        }
    }
}

/// The mechanism of an `AUTH mechanism initial-response` line.
fn auth_mechanism(line: &[u8]) -> Option<Mechanism<'_>> {
    let mut words = line.splitn(3, |&b| b == b' ');
    let (_, name) = (words.next()?, words.next()?);
    Mechanism::new(std::str::from_utf8(name).ok()?).ok()
}

/// `line` without the SP and HTAB at its end.
fn trim_white_end(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    &line[..end]
}

/// A MAIL or RCPT line as RFC 5321 writes what Postfix also takes: no space after `FROM:`
/// or `TO:`, the path in angle brackets, one space between parameters and none at the end
/// ([`ServerConfig::lenient_envelope`](crate::session::ServerConfig::lenient_envelope)).
/// `None` for other lines, and when there is nothing to change.
fn as_the_grammar_writes(line: &[u8]) -> Option<Vec<u8>> {
    let verb = line.get(..5)?.to_ascii_uppercase();
    if verb != b"MAIL " && verb != b"RCPT " {
        return None;
    }
    let colon = line.iter().position(|&b| b == b':')?;
    let mut out = line[..=colon].to_vec();
    let mut rest = line[colon + 1..].trim_ascii_start();
    if rest.is_empty() {
        return None;
    }
    // The path: to its `>` (outside a quoted local part), or to the first space.
    let end = if rest.first() == Some(&b'<') {
        let mut quoted = false;
        let mut escaped = false;
        let close = rest.iter().position(|&b| {
            let at_end = b == b'>' && !quoted;
            match b {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                _ => {}
            }
            at_end
        })?;
        out.extend_from_slice(&rest[..=close]);
        close + 1
    } else {
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        out.push(b'<');
        out.extend_from_slice(&rest[..end]);
        out.push(b'>');
        end
    };
    rest = &rest[end..];
    for param in rest.split(|&b| b == b' ').filter(|p| !p.is_empty()) {
        out.push(b' ');
        out.extend_from_slice(param);
    }
    (out != line).then_some(out)
}

/// A HELO, EHLO or LHLO whose name RFC 5321's grammar refuses but Postfix takes (its
/// `valid_hostname`, and address literals after HELO): labels with `_`, which hosts named
/// by Windows and by DHCP send, a name ending in the root's `.` (dropped: it names the same
/// host), an address literal after HELO, spaces around the name. `None` for anything else,
/// which keeps its `501`. (After EHLO and LHLO an address literal is the grammar's already;
/// one it refuses is refused here too, as `AddressLiteral` checks it.)
fn loose_hello(line: &[u8]) -> Option<Command<'_>> {
    let kind = match line.get(..4)?.to_ascii_uppercase().as_slice() {
        b"HELO" => HelloKind::Helo,
        b"EHLO" => HelloKind::Ehlo,
        b"LHLO" => HelloKind::Lhlo,
        _ => return None,
    };
    let name = std::str::from_utf8(line.get(4..)?.strip_prefix(b" ")?.trim_ascii()).ok()?;
    let host = if let Some(inner) = name.strip_prefix('[') {
        DomainPart::Literal(AddressLiteral::from_inner(inner.strip_suffix(']')?).ok()?)
    } else {
        let name = name.strip_suffix('.').unwrap_or(name);
        let label = |l: &str| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if name.len() > 255 || !name.split('.').all(label) {
            return None;
        }
        DomainPart::Domain(Domain::from_parsed(name))
    };
    Some(Command::Hello { kind, host })
}

/// The reply to a command line that does not parse: for an error in the path of MAIL or
/// RCPT, RFC 3463's address codes (X.1.7 bad sender, X.1.3 bad recipient address syntax,
/// as Postfix answers), else [`DecodeError::to_reply`].
fn refusal(line: &[u8], e: &DecodeError) -> crate::Reply<'static> {
    if let DecodeError::Syntax { at, .. } = e {
        let verb = line.get(..4).map(<[u8]>::to_ascii_uppercase);
        let (status, text) = match verb.as_deref() {
            Some(b"MAIL") => ((5, 1, 7), "Bad sender address syntax"),
            Some(b"RCPT") => ((5, 1, 3), "Bad recipient address syntax"),
            _ => return e.to_reply(),
        };
        // The path runs from after `FROM:`/`TO:` to its `>`: an error there is the
        // address's (one before the colon is the command's).
        let path_start = line.iter().position(|&b| b == b':');
        let path_end = line.iter().position(|&b| b == b'>');
        if path_start.is_some_and(|start| *at > start) && path_end.is_none_or(|end| *at <= end) {
            return replies::r(501, status, text);
        }
    }
    e.to_reply()
}
