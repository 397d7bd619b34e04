//! Reading the server's responses and routing each to the command it answers.

use std::borrow::Cow;

use super::{ClientError, Event, Listing, Mode, Phase, Request, Sent, Stage, State};
use crate::{
    DecodeError,
    codec::{
        self, MultiLineReceiver,
        line::{Frame, find_line},
    },
    types::{
        capability::{Capabilities, Capability},
        command::Command,
        listing::{DropListing, ScanListing, UniqueIdListing},
        response::{Expect, Reply, Response, ResponseCode},
    },
};

/// What [`State::step`] did.
pub(super) enum Step {
    Continue,
    Idle,
    /// Message content was written to the data buffer.
    Data,
}

impl Sent {
    /// What the server's answer looks like.
    fn expect(&self) -> Expect {
        match self {
            Self::Capa => Expect::MultiLine,
            Self::AuthPlain { .. } => Expect::Sasl,
            Self::Request(r) => r.command().response_kind(),
            _ => Expect::SingleLine,
        }
    }
}

impl State {
    /// Processes input until an event, or until nothing more can be done.
    pub(super) fn step(&mut self, input: &[u8], data_out: &mut Vec<u8>) -> Step {
        if matches!(self.phase, Phase::Closed | Phase::AwaitTls) {
            return Step::Idle;
        }
        let buf = &input[self.pos.min(input.len())..];
        if let Mode::Body { rx, msg } = &mut self.mode {
            let msg = *msg;
            let (used, done) = rx.decode(buf, data_out);
            self.pos += used;
            if done {
                self.mode = Mode::Line;
                self.events.push_back(Event::MessageEnd { msg });
                self.send_next();
            }
            return if !data_out.is_empty() {
                Step::Data
            } else if done {
                Step::Continue
            } else {
                Step::Idle
            };
        }
        let expect = self.sent.front().map_or(Expect::SingleLine, Sent::expect);
        let limits = &self.config.limits;
        let max = match (&self.mode, expect) {
            (Mode::Line, Expect::Sasl) => limits.max_sasl_line.max(limits.max_response_line),
            _ => limits.max_response_line,
        };
        let (len, consumed) = match find_line(buf, max, self.scanned) {
            Frame::Partial => {
                self.scanned = buf.len();
                return Step::Idle;
            }
            Frame::TooLongSoFar => {
                self.fail(ClientError::Protocol(DecodeError::LineTooLong { max }));
                return Step::Continue;
            }
            Frame::Invalid { error, .. } => {
                let error = DecodeError::from(error);
                self.fail(ClientError::Protocol(error));
                return Step::Continue;
            }
            Frame::Line { len, consumed } => (len, consumed),
        };
        self.pos += consumed;
        self.scanned = 0;
        let line = &buf[..len];
        if let Mode::Listing { .. } = self.mode {
            self.listing_line(line, consumed);
            return Step::Continue;
        }
        match codec::parse_reply_line(line, expect) {
            Ok(reply) => self.on_reply(reply),
            // Text in Latin-1 or with controls: the status is what matters.
            Err(e) => match codec::parse_response_line_lossy(line) {
                Some(response) => self.on_reply(Reply::Single(response)),
                None => self.fail(ClientError::Protocol(e)),
            },
        }
        Step::Continue
    }

    fn listing_line(&mut self, line: &[u8], consumed: usize) {
        let Mode::Listing { listing, size } = &mut self.mode else {
            return;
        };
        if line == b"." {
            let done = std::mem::replace(&mut self.mode, Mode::Line);
            if let Mode::Listing { listing, .. } = done {
                self.listing_done(listing);
            }
            return;
        }
        *size += consumed;
        let max = match listing {
            // A few lines in practice; before TLS, CAPA comes from whoever is on the path.
            Listing::Capa(_) => MAX_CAPA.min(self.config.limits.max_response_size),
            _ => self.config.limits.max_response_size,
        };
        if *size > max {
            self.fail(ClientError::Protocol(DecodeError::ResponseTooLarge { max }));
            return;
        }
        let line = line.strip_prefix(b".").unwrap_or(line);
        let parsed = match listing {
            Listing::Capa(v) => {
                v.extend(capability_leniently(line));
                Ok(())
            }
            Listing::List(v) => codec::parse_scan_listing(line).map(|l| v.push(l)),
            Listing::Uidl(v) => {
                codec::parse_unique_id_listing(line).map(|l| v.push(l.into_owned()))
            }
        };
        if let Err(e) = parsed {
            self.fail(ClientError::Protocol(e));
        }
    }

    fn listing_done(&mut self, listing: Listing) {
        self.sent.pop_front();
        match listing {
            Listing::Capa(caps) => {
                let caps = Capabilities(caps);
                self.events.push_back(Event::Capabilities(caps.clone()));
                self.capabilities = Some(caps);
                self.after_capabilities();
            }
            Listing::List(v) => self.events.push_back(Event::List(v)),
            Listing::Uidl(v) => self.events.push_back(Event::Uidl(v)),
        }
        self.send_next();
    }

    fn on_reply(&mut self, reply: Reply<'_>) {
        let Some(sent) = self.sent.front().cloned() else {
            self.fail(ClientError::Unexpected(reply_text(&reply)));
            return;
        };
        let response = match reply {
            Reply::Single(r) => r.into_owned(),
            Reply::Continue(c) => {
                // Only AUTH PLAIN without an initial response asks for one.
                if sent == (Sent::AuthPlain { ir: false }) {
                    let plain = self
                        .config
                        .credentials
                        .as_ref()
                        .map(crate::Credentials::to_plain)
                        .unwrap_or_default();
                    codec::encode_sasl_response(Some(&plain), &mut self.transmit);
                    self.last_activity = None;
                    self.sent[0] = Sent::AuthPlain { ir: true };
                } else {
                    self.fail(ClientError::Unexpected(format!("+ {}", c.as_str())));
                }
                return;
            }
            Reply::MultiLine { .. } => return,
        };
        // A positive multi-line answer continues with its body: keep it in `sent`.
        if response.is_ok() && sent.expect() == Expect::MultiLine {
            self.start_body(&sent, response);
            return;
        }
        self.sent.pop_front();
        match sent {
            Sent::Request(request) => {
                self.on_request_reply(request, response);
                self.send_next();
            }
            _ => self.on_setup_reply(&sent, response),
        }
    }

    fn start_body(&mut self, sent: &Sent, response: Response<'static>) {
        self.mode = match sent {
            Sent::Capa => Mode::Listing {
                listing: Listing::Capa(Vec::new()),
                size: 0,
            },
            Sent::Request(Request::List(None)) => Mode::Listing {
                listing: Listing::List(Vec::new()),
                size: 0,
            },
            Sent::Request(Request::Uidl(None)) => Mode::Listing {
                listing: Listing::Uidl(Vec::new()),
                size: 0,
            },
            Sent::Request(Request::Retr(msg) | Request::Top(msg, _)) => {
                self.sent.pop_front();
                self.events.push_back(Event::MessageStart {
                    msg: *msg,
                    response,
                });
                Mode::Body {
                    rx: MultiLineReceiver::new(),
                    msg: *msg,
                }
            }
            _ => Mode::Line,
        };
    }

    fn on_setup_reply(&mut self, sent: &Sent, response: Response<'static>) {
        let ok = response.is_ok();
        match sent {
            Sent::Greeting => {
                if ok {
                    self.timestamp = response.timestamp().map(str::to_owned);
                    self.events.push_back(Event::Greeting(response));
                    self.ask_capabilities();
                } else {
                    self.fail(ClientError::Rejected {
                        stage: Stage::Greeting,
                        response,
                    });
                }
            }
            // A server without CAPA (RFC 1939 only): capabilities unknown.
            Sent::Capa => self.after_capabilities(),
            Sent::Stls => {
                if ok {
                    self.phase = super::Phase::AwaitTls;
                    self.events.push_back(Event::StartTls);
                } else if self.config.starttls == super::TlsPolicy::Required {
                    self.fail(ClientError::Rejected {
                        stage: Stage::StartTls,
                        response,
                    });
                } else {
                    self.config.starttls = super::TlsPolicy::Never;
                    self.after_capabilities();
                }
            }
            Sent::Utf8 => {
                self.utf8 = ok;
                self.login();
            }
            Sent::User if ok => {
                let password = self
                    .config
                    .credentials
                    .as_ref()
                    .map(|c| crate::Secret::new(Cow::Owned(c.password.expose().clone())))
                    .unwrap_or_default();
                self.send(&Command::Pass { password }, Sent::Pass);
            }
            Sent::Pass | Sent::Apop | Sent::AuthPlain { .. } if ok => {
                self.authenticated = true;
                self.events.push_back(Event::Authenticated(response));
                self.ready();
            }
            // APOP refused (a server keeping only password hashes refuses every APOP): the
            // next method, as other clients fall back.
            Sent::Apop
                if self.password_method().is_some()
                    && (self.tls || self.clear_login)
                    && self.password_refused.is_none() =>
            {
                self.timestamp = None;
                self.login();
            }
            // Under TLS the password went first. A server without CAPA cannot say that it
            // keeps only APOP secrets, and refuses the password without a reason code: APOP
            // last, once.
            Sent::User | Sent::Pass | Sent::AuthPlain { .. }
                if self.tls
                    && self.config.apop
                    && self.capabilities.is_none()
                    && self.password_refused.is_none()
                    && self.timestamp.is_some()
                    && response.code().is_none_or(|c| *c == ResponseCode::Auth) =>
            {
                let ts = self.timestamp.clone().unwrap_or_default();
                self.password_refused = Some(response);
                self.send_apop(&ts);
            }
            // The refusal reported is the password's when APOP was only the last try.
            Sent::User | Sent::Pass | Sent::Apop | Sent::AuthPlain { .. } => {
                let response = self.password_refused.take().unwrap_or(response);
                self.fail(ClientError::Rejected {
                    stage: Stage::Login,
                    response,
                });
            }
            Sent::Request(_) => {}
        }
    }

    fn on_request_reply(&mut self, request: Request, response: Response<'static>) {
        if request == Request::Quit {
            self.phase = Phase::Closed;
            self.queue.clear();
            self.events.push_back(Event::Closed {
                committed: response.is_ok(),
                response,
            });
            return;
        }
        if !response.is_ok() {
            self.events.push_back(Event::Refused { request, response });
            return;
        }
        let event = match request {
            Request::Stat => DropListing::from_response(&response).map(Event::Stat),
            Request::List(Some(_)) => ScanListing::from_response(&response).map(Event::Scan),
            Request::Uidl(Some(_)) => {
                UniqueIdListing::from_response(&response).map(|u| Event::UniqueId(u.into_owned()))
            }
            Request::Dele(msg) => Some(Event::Deleted(msg)),
            Request::Rset => Some(Event::Reset),
            Request::Noop => Some(Event::Noop),
            // Multi-line answers are handled by `start_body`.
            Request::List(None)
            | Request::Uidl(None)
            | Request::Retr(_)
            | Request::Top(..)
            | Request::Quit => None,
        };
        match event {
            Some(e) => self.events.push_back(e),
            None => self.fail(ClientError::Unexpected(response.to_string())),
        }
    }
}

/// The most octets of a CAPA answer taken (as the SMTP client takes of an EHLO reply).
const MAX_CAPA: usize = 64 * 1024;

/// A CAPA line, with runs of spaces and tabs read as one space. A line that is still no
/// capability is left out, as a capability the client does not know is (RFC 2449 §5): one
/// odd line does not end the session.
fn capability_leniently(line: &[u8]) -> Option<Capability<'static>> {
    if let Ok(c) = codec::parse_capability(line) {
        return Some(c.into_owned());
    }
    let words: Vec<&str> = std::str::from_utf8(line)
        .ok()?
        .split_ascii_whitespace()
        .collect();
    codec::parse_capability(words.join(" ").as_bytes())
        .ok()
        .map(Capability::into_owned)
}

fn reply_text(reply: &Reply<'_>) -> String {
    let mut out = Vec::new();
    codec::encode_reply(reply, &mut out);
    String::from_utf8_lossy(&out).trim_end().to_owned()
}
