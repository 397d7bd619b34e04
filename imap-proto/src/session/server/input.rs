//! Reading the client: the framer, lines of IDLE and AUTHENTICATE, and the input clock
//! that keeps a trickling client (slowloris) from holding the session.

use std::time::Instant;

use sansmail_core::{CloseReason, Credentials, base64_decode};

use super::{Event, Inner, Mode, Pending, State, Step};
use crate::{
    DecodeError,
    codec::{
        CommandOptions, append_literal_mailbox,
        frame::{FrameError, Framed},
        parse_command, parse_idle_done, parse_sasl_response,
    },
    types::{
        command::SaslResponse,
        core::{Atom, Tag},
        mailbox::Mailbox,
        response::StatusKind,
    },
};

impl Inner {
    /// How the session's commands are parsed now.
    fn command_options(&self) -> CommandOptions {
        CommandOptions {
            utf8: self.utf8(),
            ..CommandOptions::default()
        }
    }

    /// `len` octets arrived at `now`: they move the timeouts' start forward by the time they
    /// earn at the minimum rate, up to `now`. Only a complete command or line
    /// ([`Inner::progress`]) restarts them.
    pub(super) fn earn(&mut self, now: Instant, len: usize) {
        self.clock.earn(now, len, self.config.limits.min_input_rate);
    }

    /// A command or line is complete: the timeouts restart from when its last octets
    /// arrived.
    pub(super) fn progress(&mut self) {
        self.clock.progress();
    }

    pub(super) fn step(&mut self, input: &[u8]) -> Step {
        let buf = &input[self.pos..];
        match &self.mode {
            Mode::Closed | Mode::AwaitTls | Mode::AwaitDeflate => Step::Idle,
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
                    let tag = crate::codec::core::whole_tag(buf).map(Tag::into_owned);
                    // The command's first synchronizing literal only, past login: a look
                    // at each would parse the command again for every literal it holds.
                    // Not when its octets already follow (a client that did not wait for
                    // `+`): refused, they would be read as commands.
                    let look = !std::mem::replace(&mut self.announced, true)
                        && matches!(self.conn, State::Authenticated | State::Selected)
                        && buf.len() == line_end;
                    let opts = self.command_options();
                    let append_to = look
                        .then(|| append_literal_mailbox(&buf[..line_end], &opts))
                        .flatten()
                        .map(Mailbox::into_owned);
                    self.pending = Some(Pending::Literal {
                        tag: tag.clone(),
                        line_end: self.pos + line_end,
                    });
                    Step::Event(Event::LiteralAnnounced {
                        tag,
                        len,
                        append_to,
                    })
                }
                Framed::Invalid { error, skip } => {
                    self.framer.reset();
                    self.announced = false;
                    self.pos += skip;
                    self.progress();
                    let tag = crate::codec::core::whole_tag(buf).map(Tag::into_owned);
                    // Without its line end yet, the rest of an overlong line is skipped
                    // when it comes: it is no command of its own.
                    if matches!(error, FrameError::LineTooLong { .. })
                        && skip > 0
                        && buf.get(skip - 1) != Some(&b'\n')
                    {
                        self.mode = Mode::SkipLine;
                    }
                    self.refuse(&DecodeError::Frame { error, skip }, tag.as_ref());
                    Step::Continue
                }
                Framed::Complete { len } => {
                    self.framer.reset();
                    self.announced = false;
                    self.pos += len;
                    self.progress();
                    let opts = self.command_options();
                    self.commands += 1;
                    match parse_command(&buf[..len], &opts) {
                        Ok(cmd) => self.command(cmd),
                        Err(error) => {
                            self.refuse(&DecodeError::Syntax { error, skip: len }, None);
                            Step::Continue
                        }
                    }
                }
            },
        }
    }

    /// IDLE's DONE and AUTHENTICATE's responses are plain lines.
    pub(super) fn line_step(&mut self, buf: &[u8]) -> Step {
        let Some(lf) = memchr::memchr(b'\n', buf) else {
            if buf.len() > self.config.limits.frame.max_line {
                self.pos += buf.len();
                self.status(None, StatusKind::Bye, None, "Line too long");
                self.close(CloseReason::Protocol("a continuation line over the limit"));
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
    pub(super) fn sasl_data(
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
}
