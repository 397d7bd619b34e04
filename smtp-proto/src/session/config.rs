//! What a server offers and enforces.

use crate::{Limits, codec::BareLineEndings, types::sasl::Mechanism};

/// SMTP or LMTP (RFC 2033).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// SMTP/ESMTP: HELO and EHLO, one reply after the message data.
    #[default]
    Smtp,
    /// LMTP: LHLO only, one reply per accepted recipient after the message data.
    Lmtp,
}

/// The service extensions a server advertises and accepts. `SIZE` is always advertised, from
/// [`Limits::max_message_size`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct Extensions {
    /// `PIPELINING` (RFC 2920)
    pub pipelining: bool,
    /// `8BITMIME` (RFC 6152)
    pub eight_bit_mime: bool,
    /// `SMTPUTF8` (RFC 6531)
    pub smtputf8: bool,
    /// `CHUNKING` (RFC 3030)
    pub chunking: bool,
    /// `BINARYMIME` (RFC 3030); needs `chunking`.
    pub binary_mime: bool,
    /// `DSN` (RFC 3461): accepts RET, ENVID, NOTIFY and ORCPT.
    pub dsn: bool,
    /// `ENHANCEDSTATUSCODES` (RFC 2034)
    pub enhanced_status_codes: bool,
    /// `REQUIRETLS` (RFC 8689), advertised once TLS is active.
    pub requiretls: bool,
    /// SASL mechanisms for `AUTH` (RFC 4954). PLAIN and LOGIN are run by the session; any
    /// other is handed to the application as an exchange of challenges and responses.
    pub auth: Vec<Mechanism<'static>>,
}

impl Default for Extensions {
    fn default() -> Self {
        Self {
            pipelining: true,
            eight_bit_mime: true,
            smtputf8: true,
            chunking: true,
            binary_mime: true,
            dsn: true,
            enhanced_status_codes: true,
            requiretls: false,
            auth: Vec::new(),
        }
    }
}

/// A server session's configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The name the server gives in its greeting and EHLO reply.
    pub hostname: String,
    /// SMTP or LMTP.
    pub protocol: Protocol,
    /// Advertised extensions.
    pub extensions: Extensions,
    /// Limits on lines, sizes, recipients, errors and time.
    pub limits: Limits,
    /// Offer STARTTLS (RFC 3207) until TLS is active.
    pub starttls: bool,
    /// What to do with bare CR and LF in message data.
    pub bare_line_endings: BareLineEndings,
    /// Refuse AUTH with `538 5.7.11` until TLS is active.
    pub auth_requires_tls: bool,
    /// Refuse MAIL with `530 5.7.0` until the client has authenticated (submission, RFC 6409).
    pub require_auth: bool,
    /// The connection is TLS from the start (implicit TLS, RFC 8314).
    pub implicit_tls: bool,
    /// Hand MAIL/RCPT parameters this crate does not know to the application instead of
    /// answering `555 5.5.4` (RFC 5321 §4.1.1.11).
    pub accept_unknown_params: bool,
    /// Take the MAIL and RCPT lines that Postfix takes by default (its
    /// `strict_rfc821_envelopes = no`) where RFC 5321's grammar does not: spaces after
    /// `FROM:`/`TO:`, a path without its angle brackets, more than one space between
    /// parameters, spaces at the end. Old mailers, scripts and appliances send them. The
    /// line is read as if written by the grammar; nothing else changes. The same for the
    /// HELO, EHLO and LHLO names Postfix takes: labels with `_` (hosts named by Windows or
    /// DHCP), a trailing `.` (dropped), an address literal after HELO. On by default.
    pub lenient_envelope: bool,
}

impl ServerConfig {
    /// A configuration with RFC defaults for a server called `hostname`.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            protocol: Protocol::Smtp,
            extensions: Extensions::default(),
            limits: Limits::default(),
            starttls: false,
            bare_line_endings: BareLineEndings::Reject,
            auth_requires_tls: true,
            require_auth: false,
            implicit_tls: false,
            accept_unknown_params: false,
            lenient_envelope: true,
        }
    }
}
