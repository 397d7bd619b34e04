//! Reading the server's replies: each routed, in order, to what the client waits for; the
//! set-up steps (EHLO, STARTTLS, AUTH) and the transaction's verdicts follow from them.

use super::{Client, ClientError, Event, Expect, Phase, Stage, TlsPolicy, Transaction};
use crate::{
    codec,
    session::{config::Protocol, replies},
    types::{
        capability::EhloReply,
        command::{AuthInitial, Command, HelloKind},
        reply::{Reply, ReplyCode},
        sasl::{Mechanism, Secret, base64_encode},
    },
};

impl Client {
    pub(super) fn hello(&mut self) {
        let (kind, expect) = match self.config.protocol {
            Protocol::Smtp => (HelloKind::Ehlo, Expect::Ehlo),
            Protocol::Lmtp => (HelloKind::Lhlo, Expect::Ehlo),
        };
        let host = self.config.hello_name.clone();
        self.send(&Command::Hello { kind, host }, expect);
    }

    pub(super) fn fail(&mut self, error: ClientError) {
        self.report_lmtp_finals_so_far();
        self.events.push_back(Event::Failed(error));
        self.phase = Phase::Closed;
        self.expect.clear();
    }

    pub(super) fn ready(&mut self) {
        self.phase = Phase::Idle;
        self.events.push_back(Event::Ready);
    }

    /// After EHLO (and after TLS and AUTH): the next set-up step, or ready.
    pub(super) fn after_hello(&mut self) {
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
        if self.config.credentials.is_some()
            && !self.authenticated
            && !self.tls
            && !self.clear_login
        {
            // No password in the clear unless the application chose plaintext.
            self.fail(ClientError::TlsNotOffered);
            return;
        }
        if let (Some(creds), false) = (&self.config.credentials, self.authenticated) {
            let offers = |m: &Mechanism<'_>| self.ehlo.as_ref().is_some_and(|e| e.offers_auth(m));
            if offers(&Mechanism::PLAIN) {
                let ir = base64_encode(&creds.to_plain());
                // RFC 4954 §4: no initial response that would take the line past 512
                // octets; it follows the server's 334 instead.
                let fits = "AUTH PLAIN ".len() + ir.len() + 2 <= 512;
                let cmd = Command::Auth {
                    mechanism: Mechanism::PLAIN,
                    initial: fits.then(|| AuthInitial::Base64(Secret::new(ir.into()))),
                };
                self.send(&cmd, Expect::AuthPlain);
            } else if offers(&Mechanism::LOGIN) {
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

    pub(super) fn sasl_response(&mut self, data: &[u8], expect: Expect) {
        codec::encode_sasl_response(Some(data), &mut self.transmit);
        self.expect.push_back(expect);
    }

    pub(super) fn on_reply(&mut self, reply: Reply<'static>) {
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
        if code == ReplyCode::SERVICE_NOT_AVAILABLE && !matches!(expect, Expect::Quit) {
            self.closing(expect, reply);
            return;
        }
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
                    // A 250 that is no EHLO reply of the grammar (no domain, enhanced
                    // codes) still says hello, with the extensions it names.
                    let e = EhloReply::from_reply(&reply).map_or_else(
                        |_| EhloReply::from_reply_leniently(&reply),
                        EhloReply::into_owned,
                    );
                    self.events.push_back(Event::Capabilities(e.clone()));
                    self.ehlo = Some(e);
                    self.after_hello();
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
                } else if usable && code.is_positive() {
                    // Only 354 goes on to the message (RFC 5321 §4.3.2): a 250 here would
                    // read as the verdict on a message never sent.
                    self.finish_transaction_with(ClientError::Unexpected(reply));
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

    /// `421` in answer to anything: the server is closing the channel (RFC 5321 §3.8). The
    /// session fails at once and sends nothing more; a recipient's `421` is its reply, and
    /// in LMTP a `421` after the data is that recipient's verdict (the others' are reported
    /// as unknown, see [`Event::Sent`]).
    fn closing(&mut self, expect: Expect, reply: Reply<'static>) {
        let stage = match expect {
            Expect::Greeting => Stage::Greeting,
            Expect::Ehlo | Expect::Helo => Stage::Hello,
            Expect::StartTls => Stage::StartTls,
            Expect::AuthPlain
            | Expect::AuthLoginUser
            | Expect::AuthLoginPassword
            | Expect::AuthDone => Stage::Auth,
            Expect::Mail | Expect::Rset | Expect::Quit => Stage::Mail,
            Expect::Rcpt(_) => Stage::Rcpt,
            Expect::Data | Expect::Bdat { last: false } => Stage::Data,
            Expect::DataEnd | Expect::Bdat { last: true } => Stage::Message,
        };
        match expect {
            Expect::Rcpt(index) => self.events.push_back(Event::Recipient {
                index,
                reply: reply.clone(),
            }),
            Expect::DataEnd | Expect::Bdat { last: true }
                if self.config.protocol == Protocol::Lmtp =>
            {
                if let Some(t) = &mut self.transaction {
                    t.push_final(reply.clone());
                }
            }
            _ => {}
        }
        self.pending_commands.clear();
        self.fail(ClientError::Rejected { stage, reply });
    }

    pub(super) fn on_auth_reply(&mut self, expect: Expect, reply: Reply<'static>) {
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
    pub(super) fn after_rcpts(&mut self) {
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

    pub(super) fn mark_failed(&mut self) {
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
    pub(super) fn finish_failed_transaction(&mut self) {
        self.mark_failed();
        self.send(&Command::Rset, Expect::Rset);
        self.phase = Phase::Busy;
    }

    pub(super) fn finish_transaction_with(&mut self, error: ClientError) {
        self.transaction = None;
        self.events.push_back(Event::TransactionFailed(error));
        self.send(&Command::Rset, Expect::Rset);
    }

    /// LMTP answers the data once per recipient: when the session fails after some of those
    /// replies, the recipients they accepted have the message. They are reported in a
    /// `Sent`, with the recipients still unanswered as temporary failures (RFC 2033 §4.2:
    /// their delivery is unknown, so the message is sent to them again), so that a retry
    /// does not deliver twice to the others.
    pub(super) fn report_lmtp_finals_so_far(&mut self) {
        if self.config.protocol != Protocol::Lmtp {
            return;
        }
        let Some(t) = self
            .transaction
            .take_if(|t| !t.failed && !t.finals.is_empty())
        else {
            return;
        };
        let mut replies = t.finals;
        let lost = || {
            replies::r(
                421,
                (4, 4, 2),
                "Connection lost before this recipient's reply",
            )
        };
        replies.extend(t.accepted.iter().skip(replies.len()).map(|&i| (i, lost())));
        self.events.push_back(Event::Sent { replies });
    }

    pub(super) fn on_final(&mut self, reply: Reply<'static>) {
        let Some(t) = &mut self.transaction else {
            self.fail(ClientError::Unexpected(reply));
            return;
        };
        t.push_final(reply);
        if self.expect.contains(&Expect::DataEnd) {
            return;
        }
        let Some(t) = self.transaction.take() else {
            return;
        };
        // After a refused DATA or chunk, or a message refused at its end in SMTP, RSET
        // clears the transaction before the next command: RFC 3030 §2 leaves it
        // indeterminate after BDAT, and Postfix keeps it after a refused end of data
        // (`nested MAIL command` for the next MAIL), which Python's smtplib also resets.
        let reset = t.failed
            || self.config.protocol == Protocol::Smtp
                && t.finals.iter().any(|(_, r)| !r.code().is_positive());
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
        if reset {
            self.send(&Command::Rset, Expect::Rset);
        } else {
            self.ready();
        }
    }
}
