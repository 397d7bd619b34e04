//! Configurable limits, with the RFC defaults.

use std::time::Duration;

/// Limits that protect a session from hostile or broken peers.
///
/// Every limit yields the protocol's proper reply when exceeded; none of them panics or lets
/// memory grow with the input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4: 512).
    pub max_command_line: usize,
    /// Longest MAIL or RCPT line, CRLF included: the 512 octets of a command line plus what
    /// the parameters of the extensions add (RFC 5321 §4.5.3.1.4; SIZE, DSN's ENVID and
    /// ORCPT, RFC 3461 §4: 100 and 500; AUTH=, RFC 4954 §5: 500). Postfix's
    /// `line_length_limit` is 2048.
    pub max_mail_rcpt_line: usize,
    /// Longest line of message text, CRLF included, past which the message is refused
    /// (`550 5.6.0`). `None`, the default, refuses none: RFC 5321 §4.5.3.1 asks receivers
    /// to impose no length limit where they can, and Postfix and Dovecot take longer lines,
    /// which real senders write. `Some(1000)` is the limit §4.5.3.1.6 sets for senders.
    /// Memory does not depend on it: data is unstuffed as it streams.
    pub max_text_line: Option<usize>,
    /// Longest SASL response line. OAuth bearer tokens need several kilobytes.
    pub max_sasl_line: usize,
    /// Largest message accepted, in octets after dot-unstuffing. Advertised as `SIZE`.
    pub max_message_size: u64,
    /// Most recipients in one transaction (RFC 5321 §4.5.3.1.8: at least 100).
    pub max_recipients: usize,
    /// The number of errors at which the server closes the connection with `421`: bad
    /// commands and, in SMTP, the application's refusals
    /// ([`Server::reject`](crate::session::server::Server::reject)), counted since the last
    /// message accepted. 20 by default, the default of Postfix's `smtpd_hard_error_limit`.
    pub max_errors: usize,
    /// Largest reply a client accepts, in octets over all its lines.
    pub max_reply_size: usize,
    /// Most lines in one reply.
    pub max_reply_lines: usize,
    /// Server: how long to wait for the next command (RFC 5321 §4.5.3.2.7: 5 minutes).
    pub command_timeout: Duration,
    /// Server: how long to wait for more message data (RFC 5321 §4.5.3.2.7 applies to both).
    pub data_timeout: Duration,
    /// Server: the slowest input that keeps a session alive, in octets per second. The
    /// timeouts restart when a command line, a message or a BDAT chunk is complete; octets
    /// of one that is not complete yet only earn `1/min_input_rate` seconds each, never more
    /// than the timeout. A peer trickling a line that never ends or a message byte by byte
    /// (slowloris) runs out of time. `0`: partial input earns nothing. Postfix's
    /// `smtpd_min_data_rate` is 500 as well.
    pub min_input_rate: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_command_line: 512,
            max_mail_rcpt_line: 2048,
            max_text_line: None,
            max_sasl_line: 12 * 1024,
            max_message_size: 35 * 1024 * 1024,
            max_recipients: 100,
            max_errors: 20,
            max_reply_size: 64 * 1024,
            max_reply_lines: 256,
            command_timeout: Duration::from_secs(5 * 60),
            data_timeout: Duration::from_secs(5 * 60),
            min_input_rate: 500,
        }
    }
}
