//! Each command against the session's state and the advertised extensions (RFC 5321 §4.1,
//! RFC 1870, 2920, 3030, 3207, 3461, 6152, 6531).

use std::borrow::Cow;

use sansmail_core::CloseReason;

use super::{Event, Mode, Pending, Queued, State, Step};
use crate::session::{config::Protocol, replies};
use crate::{
    codec::ChunkReceiver,
    types::{
        address::{DomainPart, ForwardPath, ReversePath},
        capability::{Capability, EhloReply},
        command::{Command, HelloKind},
        params::{Body, MailParams, RcptParams},
        reply::Reply,
    },
};

impl State {
    pub(super) fn command(&mut self, cmd: Command<'_>) -> Step {
        match cmd {
            Command::Hello { kind, host } => self.hello(kind, host),
            Command::Mail { from, params } => self.mail(from, params),
            Command::Rcpt { to, params } => self.rcpt(to, params),
            Command::Data => self.data(),
            Command::Bdat { size, last } => self.bdat(size, last),
            Command::Rset => {
                self.reset_transaction();
                self.send(&replies::ok());
                Step::Continue
            }
            Command::Noop { .. } => {
                self.send(&replies::ok());
                Step::Continue
            }
            Command::Quit => {
                self.send(&replies::closing());
                self.reset_transaction();
                self.close(CloseReason::Quit);
                Step::Continue
            }
            Command::Vrfy { .. } => {
                self.send(&replies::cannot_vrfy());
                Step::Continue
            }
            Command::Expn { .. } => {
                self.send(&replies::not_implemented("EXPN not available"));
                Step::Continue
            }
            Command::Etrn { .. } => {
                self.send(&replies::not_implemented("ETRN not available"));
                Step::Continue
            }
            Command::Help { .. } => {
                self.send(&replies::help());
                Step::Continue
            }
            Command::StartTls => self.starttls(),
            Command::Auth { mechanism, initial } => self.auth(&mechanism, initial),
        }
    }

    pub(super) fn capabilities(&self) -> Vec<Capability<'static>> {
        let e = &self.config.extensions;
        let mut caps = vec![Capability::Size(Some(self.config.limits.max_message_size))];
        let flags = [
            (e.pipelining, Capability::Pipelining),
            (e.eight_bit_mime, Capability::EightBitMime),
            (e.smtputf8, Capability::SmtpUtf8),
            (e.chunking, Capability::Chunking),
            (e.chunking && e.binary_mime, Capability::BinaryMime),
            (e.dsn, Capability::Dsn),
            (e.enhanced_status_codes, Capability::EnhancedStatusCodes),
            (self.config.starttls && !self.tls, Capability::StartTls),
            (e.requiretls && self.tls, Capability::RequireTls),
        ];
        caps.extend(flags.into_iter().filter_map(|(on, c)| on.then_some(c)));
        // AUTH that would be refused until TLS is not offered before it (as Postfix's
        // smtpd_tls_auth_only): a client trusting the list would send its password in the
        // clear before hearing 538 (RFC 4954 §4).
        let auth_now = self.tls || !self.config.auth_requires_tls;
        if !e.auth.is_empty() && !self.authenticated && auth_now {
            caps.push(Capability::Auth(e.auth.clone()));
        }
        caps
    }

    pub(super) fn hello(&mut self, kind: HelloKind, host: DomainPart<'_>) -> Step {
        let lmtp = self.config.protocol == Protocol::Lmtp;
        if lmtp != (kind == HelloKind::Lhlo) {
            self.error(&replies::r(500, (5, 5, 1), "Command unrecognized"));
            return Step::Continue;
        }
        self.reset_transaction();
        self.hello = Some(kind);
        let reply = if kind == HelloKind::Helo {
            Reply::new(crate::ReplyCode::OK, None, self.config.hostname.clone())
        } else {
            EhloReply {
                domain: Cow::Borrowed(self.config.hostname.as_str()),
                greeting: None,
                capabilities: self.capabilities(),
            }
            .to_reply()
        };
        match reply {
            Ok(r) => self.send(&r),
            Err(_) => self.send(&replies::ok()),
        }
        Step::Event(Event::Hello {
            kind,
            host: host.into_owned(),
        })
    }

    /// Checks parameters against what was advertised (RFC 5321 §4.1.1.11: `555` otherwise).
    pub(super) fn mail_params_supported(&self, p: &MailParams<'_>) -> bool {
        let e = &self.config.extensions;
        let body_ok = match p.body {
            None | Some(Body::SevenBit) => true,
            Some(Body::EightBitMime) => e.eight_bit_mime,
            Some(Body::BinaryMime) => e.binary_mime && e.chunking,
        };
        body_ok
            && (!p.smtputf8 || e.smtputf8)
            && (e.dsn || (p.ret.is_none() && p.envid.is_none()))
            && (p.auth.is_none() || !e.auth.is_empty())
            && (!p.requiretls || (e.requiretls && self.tls))
            && p.mt_priority.is_none()
            && p.by.is_none()
            && p.hold.is_none()
            && (p.unknown.is_empty() || self.config.accept_unknown_params)
    }

    pub(super) fn mail(&mut self, from: ReversePath<'_>, params: MailParams<'_>) -> Step {
        let reply = if self.hello.is_none() {
            Some(replies::bad_sequence("Send HELO/EHLO first"))
        } else if self
            .transaction
            .as_ref()
            .is_some_and(|t| t.refused.is_none())
        {
            // (A transaction whose BDAT data was refused is over for the client.)
            Some(replies::bad_sequence("Nested MAIL command"))
        } else if self.config.require_auth && !self.authenticated {
            Some(replies::auth_required())
        } else if params
            .size
            .is_some_and(|s| s > self.config.limits.max_message_size)
        {
            Some(replies::too_large())
        } else if !self.mail_params_supported(&params)
            || self.hello == Some(HelloKind::Helo) && !params.is_empty()
        {
            Some(replies::param_not_supported())
        } else if !params.smtputf8 && from.mailbox().is_some_and(|m| !m.is_ascii()) {
            Some(replies::utf8_not_permitted())
        } else {
            None
        };
        if let Some(reply) = reply {
            self.refuse(&reply);
            return Step::Continue;
        }
        self.pending = Some(Pending::Mail {
            smtputf8: params.smtputf8,
            binary: params.body == Some(Body::BinaryMime),
        });
        Step::Event(Event::Mail {
            from: from.into_owned(),
            params: params.into_owned(),
        })
    }

    pub(super) fn rcpt(&mut self, to: ForwardPath<'_>, params: RcptParams<'_>) -> Step {
        let e = &self.config.extensions;
        // Parameters come with the extensions EHLO offered; after HELO there are none, for
        // RCPT as for MAIL (RFC 5321 §4.1.1.11: 555).
        let supported = (e.dsn || (params.notify.is_none() && params.orcpt.is_none()))
            && (params.unknown.is_empty() || self.config.accept_unknown_params)
            && (self.hello != Some(HelloKind::Helo) || params.is_empty());
        let reply = match &mut self.transaction {
            None => Some(replies::bad_sequence("Need MAIL command")),
            Some(t) if t.data_started => {
                Some(replies::bad_sequence("RCPT not allowed during BDAT"))
            }
            // Its data was refused: the transaction is over for the client.
            Some(t) if t.refused.is_some() => Some(replies::bad_sequence("Need MAIL command")),
            Some(t) => {
                t.rcpts_tried += 1;
                if t.rcpts_accepted >= self.config.limits.max_recipients {
                    Some(replies::too_many_recipients())
                } else if !supported {
                    Some(replies::param_not_supported())
                } else if !t.smtputf8 && to.mailbox().is_some_and(|m| !m.is_ascii()) {
                    Some(replies::utf8_not_permitted())
                } else {
                    None
                }
            }
        };
        if let Some(reply) = reply {
            self.refuse(&reply);
            return Step::Continue;
        }
        self.pending = Some(Pending::Rcpt);
        Step::Event(Event::Rcpt {
            to: to.into_owned(),
            params: params.into_owned(),
        })
    }

    /// Why the transaction cannot take message data now, if it cannot.
    pub(super) fn data_refusal(&self) -> Option<Reply<'static>> {
        match &self.transaction {
            None => Some(replies::bad_sequence("Need MAIL command")),
            // RFC 2033 §4.2: LMTP MUST answer 503; for SMTP RFC 2920 §3.1 suggests 554.
            Some(t) if t.rcpts_accepted == 0 && t.rcpts_tried > 0 => {
                let code = if self.config.protocol == Protocol::Lmtp {
                    503
                } else {
                    554
                };
                Some(replies::r(code, (5, 5, 1), "No valid recipients"))
            }
            Some(t) if t.rcpts_accepted == 0 => Some(replies::bad_sequence("Need RCPT command")),
            Some(_) => None,
        }
    }

    pub(super) fn data(&mut self) -> Step {
        let refusal = self.data_refusal().or_else(|| match &self.transaction {
            Some(t) if t.refused.is_some() => Some(replies::bad_sequence("Need MAIL command")),
            Some(t) if t.binary => Some(replies::bad_sequence("BINARYMIME requires BDAT")),
            Some(t) if t.data_started => Some(replies::bad_sequence("DATA not allowed after BDAT")),
            _ => None,
        });
        if let Some(reply) = refusal {
            self.refuse(&reply);
            return Step::Continue;
        }
        self.pending = Some(Pending::DataStart { bdat: None });
        Step::Event(Event::DataStart)
    }

    /// `BDAT size [LAST]`. A chunk that cannot be taken is still read (and discarded),
    /// so that the octets never run as commands, and answered when it has been; the
    /// chunks behind it up to LAST get the same answer (RFC 3030 §2). Reading costs no
    /// memory, and a client that trickles them runs into the session's timeouts. Only a
    /// chunk larger than any message may be is refused at once, and the connection closed.
    pub(super) fn bdat(&mut self, size: u64, last: bool) -> Step {
        let max = self.config.limits.max_message_size;
        if size > max.saturating_mul(2) {
            // Refused as any chunk over the limit is, but not read to stay in step: that
            // could take forever (BDAT 2^63). The 421 says why the connection ends (RFC
            // 5321 §3.8). A chunk up to twice the limit is skipped below, as Postfix does.
            self.send(&replies::too_large());
            self.send(&replies::chunk_too_large_to_skip());
            self.reset_transaction();
            self.close(CloseReason::Protocol(
                "BDAT chunk larger than twice the message size limit",
            ));
            return Step::Continue;
        }
        let chunking = self.config.extensions.chunking;
        let refusal = if chunking {
            self.data_refusal()
        } else {
            Some(replies::not_implemented("BDAT not available"))
        };
        let refused = self.transaction.as_ref().and_then(|t| t.refused.clone());
        if let (Some(reply), None) = (refused, &refusal) {
            self.skip_refused_chunk(size, last, reply);
            return Step::Continue;
        }
        if let Some(reply) = refusal {
            if chunking && self.transaction.is_some() {
                // No recipient to take it: the transaction fails with this chunk.
                self.skip_refused_chunk(size, last, reply);
            } else {
                self.mode = Mode::SkipChunk {
                    rx: ChunkReceiver::new(size),
                    reply,
                    copies: 1,
                    // Behind a refused MAIL a pipelining client's chunks come as they do
                    // behind a refused chunk; only BDAT where there is none is an error.
                    counted: !chunking,
                };
                self.transaction = None;
            }
            return Step::Continue;
        }
        let received = self.transaction.as_ref().map_or(0, |t| t.received);
        if received.saturating_add(size) > max {
            let reply = replies::too_large();
            if self.transaction.as_ref().is_some_and(|t| t.data_started) {
                // The application has the chunks before this one.
                self.queued.push_back(Queued::MessageAborted(reply.clone()));
            }
            self.skip_refused_chunk(size, last, reply);
            return Step::Continue;
        }
        if self.transaction.as_ref().is_some_and(|t| t.data_started) {
            self.start_chunk(size, last);
            return Step::Continue;
        }
        self.pending = Some(Pending::DataStart {
            bdat: Some((size, last)),
        });
        Step::Event(Event::DataStart)
    }

    pub(super) fn starttls(&mut self) -> Step {
        if !self.config.starttls || self.tls {
            self.send(&replies::not_implemented("STARTTLS not available"));
            return Step::Continue;
        }
        if self.transaction.is_some() {
            self.refuse(&replies::bad_sequence(
                "STARTTLS not allowed during a transaction",
            ));
            return Step::Continue;
        }
        self.send(&replies::tls_ready());
        // Anything pipelined behind STARTTLS is plaintext injected before the handshake
        // (CVE-2011-0411): discard it.
        self.mode = Mode::AwaitTls;
        self.queued.push_back(Queued::StartTls);
        Step::Continue
    }
}
