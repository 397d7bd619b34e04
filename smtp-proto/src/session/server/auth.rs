//! AUTH (RFC 4954): PLAIN and LOGIN run by the session, other mechanisms handed to the
//! application as an exchange of challenges and responses.

use super::{Event, Mode, Pending, SaslState, State, Step};
use crate::{
    codec::{self, SaslLine},
    session::replies,
    types::{
        command::AuthInitial,
        sasl::{Credentials, Mechanism, base64_decode},
    },
};

impl State {
    pub(super) fn auth(
        &mut self,
        mechanism: &Mechanism<'_>,
        initial: Option<AuthInitial<'_>>,
    ) -> Step {
        if let Some(reply) = self.auth_refusal(mechanism) {
            // Client errors, counted as bad commands are (Postfix counts them too).
            self.error(&reply);
            return Step::Continue;
        }
        let initial = match initial {
            None => None,
            Some(AuthInitial::Empty) => Some(Vec::new()),
            Some(AuthInitial::Base64(b)) => match base64_decode(b.expose()) {
                Some(d) => Some(d),
                None => {
                    self.error(&replies::auth_bad_response());
                    return Step::Continue;
                }
            },
        };
        let mechanism = mechanism.clone().into_owned();
        if mechanism == Mechanism::PLAIN {
            match initial {
                Some(data) => self.plain(&data),
                None => {
                    self.send(&replies::sasl_prompt(""));
                    self.mode = Mode::Sasl(SaslState::Plain);
                    Step::Continue
                }
            }
        } else if mechanism == Mechanism::LOGIN {
            match initial {
                Some(user) => self.login_user(&user),
                None => {
                    self.send(&replies::sasl_prompt("VXNlcm5hbWU6"));
                    self.mode = Mode::Sasl(SaslState::LoginUser);
                    Step::Continue
                }
            }
        } else {
            self.auth_mechanism = Some(mechanism.clone());
            self.pending = Some(Pending::AuthExchange);
            Step::Event(Event::AuthExchange {
                mechanism,
                response: initial,
            })
        }
    }

    /// Why AUTH with `mechanism` is refused in this state, if it is.
    fn auth_refusal(&self, mechanism: &Mechanism<'_>) -> Option<crate::Reply<'static>> {
        let offered = &self.config.extensions.auth;
        if offered.is_empty() {
            Some(replies::not_implemented("AUTH not available"))
        } else if self.authenticated {
            Some(replies::bad_sequence("Already authenticated"))
        } else if self.transaction.is_some() {
            Some(replies::bad_sequence(
                "AUTH not allowed during a transaction",
            ))
        } else if self.hello.is_none() {
            Some(replies::bad_sequence("Send EHLO first"))
        } else if self.config.auth_requires_tls && !self.tls {
            Some(replies::encryption_required())
        } else if !offered.contains(mechanism) {
            Some(replies::unknown_mechanism())
        } else {
            None
        }
    }

    /// AUTH whose initial response is not base64 (the codec refused the line): refused as
    /// AUTH with that mechanism would be, else as a SASL response that does not decode
    /// (`501 5.5.2`, RFC 4954 §4).
    pub(super) fn auth_undecodable(&mut self, mechanism: &Mechanism<'_>) -> Step {
        let reply = self
            .auth_refusal(mechanism)
            .unwrap_or_else(replies::auth_bad_response);
        self.error(&reply);
        Step::Continue
    }

    pub(super) fn plain(&mut self, message: &[u8]) -> Step {
        match Credentials::from_plain(message) {
            Some(credentials) => {
                self.pending = Some(Pending::Auth);
                Step::Event(Event::Auth {
                    mechanism: Mechanism::PLAIN,
                    credentials,
                })
            }
            None => {
                self.error(&replies::auth_bad_response());
                Step::Continue
            }
        }
    }

    pub(super) fn login_user(&mut self, user: &[u8]) -> Step {
        match String::from_utf8(user.to_vec()) {
            Ok(user) if !user.is_empty() => {
                self.send(&replies::sasl_prompt("UGFzc3dvcmQ6"));
                self.mode = Mode::Sasl(SaslState::LoginPassword(user));
            }
            _ => self.error(&replies::auth_bad_response()),
        }
        Step::Continue
    }

    pub(super) fn sasl_line(&mut self, state: SaslState, line: &[u8]) -> Step {
        let data = match codec::parse_sasl_line(line) {
            Ok(SaslLine::Cancel) => {
                // Counted: `AUTH LOGIN` then `*` could otherwise go on for ever.
                self.error(&replies::auth_cancelled());
                return Step::Continue;
            }
            Ok(SaslLine::Response(b)) => base64_decode(b.expose()),
            Err(_) => None,
        };
        let Some(data) = data else {
            self.error(&replies::auth_bad_response());
            return Step::Continue;
        };
        match state {
            SaslState::Plain => self.plain(&data),
            SaslState::LoginUser => self.login_user(&data),
            SaslState::LoginPassword(authcid) => match String::from_utf8(data) {
                Ok(password) => {
                    self.pending = Some(Pending::Auth);
                    Step::Event(Event::Auth {
                        mechanism: Mechanism::LOGIN,
                        credentials: Credentials {
                            authzid: None,
                            authcid,
                            password: crate::Secret::new(password),
                        },
                    })
                }
                Err(_) => {
                    self.error(&replies::auth_bad_response());
                    Step::Continue
                }
            },
            SaslState::App(mechanism) => {
                self.pending = Some(Pending::AuthExchange);
                Step::Event(Event::AuthExchange {
                    mechanism,
                    response: Some(data),
                })
            }
        }
    }
}
