//! What a server offers and enforces.

use std::time::Duration;

use crate::{
    codec::frame::FrameLimits,
    types::{capability::Capability, core::Atom},
};

/// Limits on input, errors and time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Line, literal and message limits of the framer.
    pub frame: FrameLimits,
    /// Invalid commands tolerated before `* BYE`.
    pub max_bad_commands: usize,
    /// Silence allowed before login.
    pub unauthenticated_timeout: Duration,
    /// Silence allowed after login: at least 30 minutes (RFC 9051 §5.4).
    pub autologout_timeout: Duration,
    /// The slowest input that keeps a session alive, in octets per second. The timeouts
    /// restart when a command (its literals included) or a continuation line is complete;
    /// octets of one that is not complete yet only earn `1/min_input_rate` seconds each,
    /// never more than the timeout, so a peer trickling a line or literal that never ends
    /// (slowloris) runs out of time. `0`: partial input earns nothing.
    pub min_input_rate: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            frame: FrameLimits::default(),
            max_bad_commands: 20,
            unauthenticated_timeout: Duration::from_secs(5 * 60),
            autologout_timeout: Duration::from_secs(30 * 60),
            min_input_rate: 500,
        }
    }
}

/// A server session's configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The greeting's text.
    pub greeting: String,
    /// Capabilities advertised in every state (IMAP4rev1, IMAP4rev2, IDLE, ...). Those of
    /// them that ENABLE can turn on (CONDSTORE, QRESYNC, UTF8=ACCEPT, IMAP4rev2) are enabled
    /// on request. STARTTLS, LOGINDISABLED, AUTH= and SASL-IR are added by the session.
    pub capabilities: Vec<Capability<'static>>,
    /// SASL mechanisms for AUTHENTICATE. PLAIN is run by the session; others are handed to
    /// the application.
    pub auth_mechanisms: Vec<Atom<'static>>,
    /// Offer STARTTLS.
    pub starttls: bool,
    /// The connection is TLS from the start (implicit TLS, port 993).
    pub implicit_tls: bool,
    /// Refuse LOGIN and AUTHENTICATE (and advertise LOGINDISABLED) until TLS is active.
    pub plaintext_auth_requires_tls: bool,
    /// Limits.
    pub limits: Limits,
    /// What `ID` (RFC 2971) answers, field by field (`name`, `vendor`, `version`, ...);
    /// `None` answers `* ID NIL`.
    pub id: Option<Vec<(String, String)>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            greeting: "IMAP server ready".to_owned(),
            capabilities: vec![
                Capability::Imap4Rev1,
                Capability::Imap4Rev2,
                Capability::LiteralPlus,
                Capability::Idle,
                Capability::Namespace,
                Capability::Enable,
                Capability::Id,
                Capability::UidPlus,
                Capability::Move,
                Capability::Unselect,
                Capability::Children,
                Capability::SpecialUse,
                Capability::CondStore,
                Capability::QResync,
                Capability::ESearch,
            ],
            auth_mechanisms: vec![Atom::from_parsed("PLAIN")],
            starttls: false,
            implicit_tls: false,
            plaintext_auth_requires_tls: true,
            limits: Limits::default(),
            id: None,
        }
    }
}
