//! What a server offers and enforces.

use crate::{
    Limits,
    types::{capability::Capability, core::Atom, notify::NotifyEvent},
};

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
    pub auth_requires_tls: bool,
    /// Limits.
    pub limits: Limits,
    /// What `ID` (RFC 2971) answers, field by field (`name`, `vendor`, `version`, ...);
    /// `None` answers `* ID NIL`.
    pub id: Option<Vec<(String, String)>>,
    /// How many updating searches (RFC 5267 `RETURN (UPDATE)`) one session keeps at once;
    /// one more is answered `NO [NOUPDATE]`. RFC 5267 §4.3.1 asks for at least one.
    pub max_updating_searches: usize,
    /// The NOTIFY events (RFC 5465) the application reports, when `NOTIFY` is among the
    /// capabilities; a NOTIFY asking for another is refused with `NO [BADEVENT (these)]`.
    /// MessageNew's fetch attributes are ignored here.
    pub notify_events: Vec<NotifyEvent<'static>>,
}

impl ServerConfig {
    /// A configuration with RFC defaults for a server called `hostname`.
    pub fn new(hostname: &str) -> Self {
        Self {
            greeting: format!("{hostname} IMAP server ready"),
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
            auth_requires_tls: true,
            limits: Limits::default(),
            id: None,
            max_updating_searches: 8,
            notify_events: vec![
                NotifyEvent::MessageNew(Vec::new()),
                NotifyEvent::MessageExpunge,
                NotifyEvent::FlagChange,
                NotifyEvent::MailboxName,
                NotifyEvent::SubscriptionChange,
            ],
        }
    }
}

impl Default for ServerConfig {
    /// [`ServerConfig::new`] for `localhost`.
    fn default() -> Self {
        Self::new("localhost")
    }
}
