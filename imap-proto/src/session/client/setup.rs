//! The connection set-up the client runs itself when it has credentials or a STARTTLS
//! policy: CAPABILITY when unknown, STARTTLS as the policy says, then AUTHENTICATE PLAIN
//! (RFC 4616, with SASL-IR when offered, RFC 4959) or LOGIN, then [`Event::Ready`].
//!
//! Each step is chosen from what is known now (TLS active? authenticated? what the server
//! offers?), not from a fixed script, so PREAUTH, implicit TLS and capabilities announced in
//! the greeting or in the login's `OK` skip what they make needless.

use sansmail_core::{TlsPolicy, base64_encode};

use super::{Client, ClientError, Event, Kind, Stage};
use crate::types::{
    capability::Capability,
    command::{CommandBody, SaslResponse, Secret, State},
    core::{AString, Atom},
    response::{Status, StatusKind},
};

/// Where the set-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Setup {
    /// Waiting for the greeting, or for the next step to be chosen.
    Pending,
    /// A step the session sent is in flight.
    InFlight,
    /// STARTTLS was accepted; the handshake comes next.
    AwaitTls,
    /// STARTTLS was refused and the policy allows plaintext: not asked again.
    PlaintextAccepted,
    /// [`Event::Ready`] was reported.
    Done,
}

impl Setup {
    pub(super) fn is_done(self) -> bool {
        self == Self::Done
    }
}

impl Client {
    /// Takes the next step of the set-up, or reports it done.
    pub(super) fn advance_setup(&mut self) {
        if self.closed || matches!(self.setup, Setup::Done | Setup::InFlight) || !self.greeted {
            return;
        }
        let unauthenticated = self.state == State::NotAuthenticated;
        let wants_tls = self.config.starttls != TlsPolicy::Never
            && !self.tls
            && unauthenticated
            && self.setup != Setup::PlaintextAccepted;
        let wants_login = self.config.credentials.is_some() && unauthenticated;
        if (wants_tls || wants_login) && self.capabilities.is_empty() {
            return self.setup_send(CommandBody::Capability);
        }
        if wants_tls {
            if self.has(&Capability::StartTls) {
                return self.setup_send(CommandBody::StartTls);
            }
            if self.config.starttls == TlsPolicy::Required {
                return self.fail(ClientError::TlsNotOffered);
            }
        }
        // No password in the clear unless the application chose plaintext (RFC 8314).
        if wants_login && !self.tls && self.config.starttls != TlsPolicy::Never {
            return self.fail(ClientError::TlsNotOffered);
        }
        if wants_login {
            return match self.login_command() {
                Some(body) => self.setup_send(body),
                None => self.fail(ClientError::NoLoginMethod),
            };
        }
        self.setup = Setup::Done;
        self.events.push_back(Event::Ready);
    }

    /// AUTHENTICATE PLAIN when offered (the initial response inline with SASL-IR), LOGIN
    /// unless LOGINDISABLED; `None` when neither is possible.
    fn login_command(&self) -> Option<CommandBody<'static>> {
        let creds = self.config.credentials.as_ref()?;
        if self.has(&Capability::Auth(Atom::from_parsed("PLAIN"))) {
            let initial = self.has(&Capability::SaslIr).then(|| {
                SaslResponse::Base64(Secret::new(base64_encode(&creds.to_plain()).into()))
            });
            return Some(CommandBody::Authenticate {
                mechanism: Atom::from_parsed("PLAIN"),
                initial,
            });
        }
        if self.has(&Capability::LoginDisabled) {
            return None;
        }
        let username = AString::from_bytes(creds.authcid.clone().into_bytes()).ok()?;
        let password = AString::from_bytes(creds.password.expose().clone().into_bytes()).ok()?;
        Some(CommandBody::Login {
            username,
            password: Secret::new(password),
        })
    }

    fn setup_send(&mut self, body: CommandBody<'static>) {
        self.setup_challenge = matches!(body, CommandBody::Authenticate { initial: None, .. });
        match self.send_command(body, true) {
            Ok(_) => self.setup = Setup::InFlight,
            Err(e) => self.fail(ClientError::Protocol(format!("set-up: {e}"))),
        }
    }

    /// A `+` while a set-up command is in flight. Only the challenge of the set-up's
    /// AUTHENTICATE PLAIN sent without initial response is answered with the credentials,
    /// once; a further challenge cancels the exchange, and a `+` to any other command
    /// (CAPABILITY, STARTTLS: before TLS, perhaps not from the server) fails the session
    /// rather than have the credentials go out.
    pub(super) fn setup_continue(&mut self) {
        let authenticating = self
            .in_flight
            .front()
            .is_some_and(|c| c.body == Kind::Login);
        match &self.config.credentials {
            Some(creds) if std::mem::take(&mut self.setup_challenge) => {
                let plain = base64_encode(&creds.to_plain());
                self.sasl_response(&SaslResponse::Base64(Secret::new(plain.into())));
            }
            _ if authenticating => self.sasl_response(&SaslResponse::Cancel),
            _ => self.fail(ClientError::Protocol(
                "continuation request to a command that takes none".to_owned(),
            )),
        }
    }

    /// A step of the set-up was answered.
    pub(super) fn setup_completed(&mut self, kind: Kind, status: Status<'static>) {
        let ok = status.kind == StatusKind::Ok;
        self.setup = Setup::Pending;
        match kind {
            Kind::StartTls if ok => {
                self.setup = Setup::AwaitTls;
                self.events.push_back(Event::StartTls);
            }
            Kind::StartTls if self.config.starttls == TlsPolicy::Required => {
                self.fail(ClientError::Rejected {
                    stage: Stage::StartTls,
                    status,
                });
            }
            Kind::StartTls => {
                self.setup = Setup::PlaintextAccepted;
                self.advance_setup();
            }
            Kind::Login if !ok => self.fail(ClientError::Rejected {
                stage: Stage::Login,
                status,
            }),
            // Capabilities change with login; ask unless the server said them (`completed`
            // dropped the old ones).
            Kind::Login if self.capabilities.is_empty() => {
                self.setup_send(CommandBody::Capability);
            }
            Kind::Capability if !ok => self.fail(ClientError::Rejected {
                stage: Stage::Capability,
                status,
            }),
            _ => self.advance_setup(),
        }
    }
}
