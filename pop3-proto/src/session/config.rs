//! What a server offers and enforces.

use crate::{
    Limits,
    types::{capability::Capability, listing::Language, sasl::Mechanism},
};

/// A server session's configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The name the server gives when signing off (`+OK dewey POP3 server signing off`).
    pub hostname: String,
    /// The greeting text, before the APOP timestamp (`+OK POP3 server ready <…>`).
    pub greeting: String,
    /// The APOP timestamp for this connection, like `<pid.clock@hostname>` (RFC 1939 §7): it
    /// must be unique per connection, so the application makes it (the crate has no clock).
    /// `None`, or a value that is not `"<" 1*VCHAR ">"` with an `@`, disables APOP. A
    /// configuration shared by several connections (one `Arc` given to each) would give them
    /// all the same timestamp, which lets a captured APOP digest be replayed: set it on a copy
    /// per connection, or leave it `None` in a shared one.
    pub apop_timestamp: Option<String>,
    /// Limits on lines, arguments, errors and time.
    pub limits: Limits,
    /// Accept USER and PASS (advertised as `USER`).
    pub user_pass: bool,
    /// SASL mechanisms for AUTH (RFC 5034), advertised as `SASL`. PLAIN is run by the session;
    /// any other is handed to the application as an exchange of challenges and responses.
    pub sasl: Vec<Mechanism<'static>>,
    /// Offer STLS (RFC 2595) until TLS is active.
    pub starttls: bool,
    /// The connection is TLS from the start (POP3S, RFC 8314).
    pub implicit_tls: bool,
    /// Refuse USER/PASS and AUTH PLAIN until TLS is active (RFC 2595 §2.2). APOP and other
    /// SASL mechanisms do not send the password and stay available.
    pub auth_requires_tls: bool,
    /// Advertise `PIPELINING` (RFC 2449 §6.6). The session always answers pipelined commands
    /// in order; this only tells clients they may send them.
    pub pipelining: bool,
    /// Offer the UTF8 command (RFC 6856 §2).
    pub utf8: bool,
    /// With `utf8`: accept UTF-8 in user names and passwords (`UTF8 USER`). Without it,
    /// non-ASCII credentials are refused.
    pub utf8_user: bool,
    /// Languages for LANG (RFC 6856 §3); the first is the default. Empty: no LANG. The
    /// session answers LANG itself; [`Server::language`](super::server::Server::language)
    /// tells the application which one was chosen.
    pub languages: Vec<Language<'static>>,
    /// More capabilities to announce as they are: `EXPIRE`, `LOGIN-DELAY` (the application
    /// enforces them, answering `-ERR [LOGIN-DELAY]`), `IMPLEMENTATION`, …
    pub extra_capabilities: Vec<Capability<'static>>,
}

impl ServerConfig {
    /// A configuration with RFC defaults for a server called `hostname`.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            greeting: "POP3 server ready".to_owned(),
            apop_timestamp: None,
            limits: Limits::default(),
            user_pass: true,
            sasl: vec![Mechanism::PLAIN],
            starttls: false,
            implicit_tls: false,
            auth_requires_tls: true,
            pipelining: true,
            utf8: false,
            utf8_user: false,
            languages: Vec::new(),
            extra_capabilities: Vec::new(),
        }
    }
}
