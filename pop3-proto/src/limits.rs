//! Configurable limits, with the RFC defaults.

use std::time::Duration;

/// Limits that protect a session or decoder from hostile or broken peers.
///
/// Every limit yields the protocol's proper response when exceeded (`-ERR` for a server, a
/// failed session for a client); none of them panics or lets memory grow with the input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest command line, CRLF included (RFC 2449 §4: 255 octets). The AUTH command with
    /// an initial response is subject to it too (RFC 5034 §4).
    pub max_command_line: usize,
    /// Longest argument in characters. RFC 1939 said 40; RFC 2449 §4 raised the command line
    /// to 255 octets, and login names (full addresses) are often longer than 40, which
    /// Dovecot takes: by default the line limit is the one that binds. `PASS` takes the rest
    /// of the line and the AUTH initial response is base64, so neither is subject to it.
    pub max_argument: usize,
    /// Longest first line of a response, CRLF included (RFC 2449 §4: 512 octets). Also the
    /// limit for each line of a CAPA, LIST, UIDL or LANG listing.
    pub max_response_line: usize,
    /// Longest line of a SASL exchange after `AUTH` (client responses and `+` challenges).
    /// RFC 5034 sets no limit; OAuth bearer tokens need several kilobytes.
    pub max_sasl_line: usize,
    /// Largest multi-line response decoded whole (CAPA, LIST, UIDL, …), in octets. Message
    /// content (RETR, TOP) is streamed in chunks and not subject to it.
    pub max_response_size: usize,
    /// Server: bad commands tolerated before the connection is closed.
    pub max_errors: usize,
    /// Server: failed authentication attempts before the connection is closed.
    pub max_auth_failures: usize,
    /// Server: how long the client may stay silent (RFC 1939 §3: at least 10 minutes).
    pub idle_timeout: Duration,
    /// Server: the slowest input that keeps a session alive, in octets per second. The idle
    /// timeout restarts when a command line is complete; octets of a line that is not
    /// complete yet only earn `1/min_input_rate` seconds each, never more than the timeout,
    /// so a peer trickling a line that never ends (slowloris) runs out of time. `0`: partial
    /// input earns nothing.
    pub min_input_rate: u64,
    /// Client: how long to wait for a response.
    pub response_timeout: Duration,
    /// Server: octets of output queued and not yet taken with `poll_transmit` above which
    /// the session takes no further command and asks for no more message content. A client
    /// that pipelines commands (`RETR` after `RETR`, `LIST` after `LIST`) and reads none of
    /// the answers then costs this plus one answer, not one answer per command it sent.
    pub max_queued_output: usize,
    /// Client: the largest message content (RETR, TOP) the tokio client's `retr` and `top`
    /// collect; a larger one fails with [`DecodeError::ResponseTooLarge`](crate::DecodeError).
    /// The session itself hands content out in pieces and holds none of it.
    pub max_message_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Limits {
    /// The defaults, as a constant the decoders read without building a value per call.
    pub(crate) const DEFAULT: Self = Self {
        max_command_line: 255,
        max_argument: 255,
        max_response_line: 512,
        max_sasl_line: 12 * 1024,
        max_response_size: 32 * 1024 * 1024,
        max_errors: 10,
        max_auth_failures: 3,
        idle_timeout: Duration::from_secs(10 * 60),
        min_input_rate: 500,
        response_timeout: Duration::from_secs(10 * 60),
        max_queued_output: 64 * 1024,
        max_message_size: 256 * 1024 * 1024,
    };
}
