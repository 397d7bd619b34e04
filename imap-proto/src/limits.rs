//! Limits on input, errors and time.

use std::time::Duration;

use crate::codec::frame::FrameLimits;

/// Limits on input, errors and time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Line, literal and message limits of the framer.
    pub frame: FrameLimits,
    /// Server: the framer's limits before login, each capped by `frame`'s. What a client
    /// needs then (LOGIN, AUTHENTICATE, ID, STARTTLS) is small, so that a client nobody has
    /// authenticated cannot make the session hold an APPEND's worth of octets (default:
    /// literals of 16 KiB and messages of 64 KiB).
    pub unauthenticated_frame: FrameLimits,
    /// Invalid commands (BAD) tolerated before `* BYE`.
    pub max_errors: usize,
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
    /// Server: octets of output queued and not yet taken with `poll_transmit` above which
    /// the session takes no further command and asks for no more of a streamed FETCH
    /// literal ([`Event::FetchMore`](crate::session::server::Event::FetchMore)). A client
    /// that pipelines `FETCH 1 BODY[]` and reads none of the answers then costs this plus
    /// one piece, not one message per command it sent.
    pub max_queued_output: usize,
    /// Server: messages whose arrival, expunge or flag change a selected session holds
    /// untold, above which it ends with `* BYE` ([`CloseReason::Backlog`]). Expunges wait
    /// for a command that may report them, so a client that only sends FETCH (or nothing,
    /// until the autologout) while other sessions change the mailbox would otherwise hold
    /// every change for good.
    ///
    /// [`CloseReason::Backlog`]: sansmail_core::CloseReason::Backlog
    pub max_untold_changes: usize,
    /// Server: `BODY` and `TEXT` keys in one SEARCH, SORT or THREAD, nested ones included,
    /// above which the command is refused with `NO [LIMIT]`. Each is a pass over every
    /// message's octets: without a bound one command line of `NOT BODY x` keys costs
    /// minutes of CPU over a large mailbox. Other keys read the index or the header only.
    pub max_body_search_keys: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            frame: FrameLimits::default(),
            unauthenticated_frame: FrameLimits {
                max_literal: 16 * 1024,
                max_nonsync_literal: 16 * 1024,
                max_message: 64 * 1024,
                ..FrameLimits::default()
            },
            max_errors: 20,
            unauthenticated_timeout: Duration::from_secs(5 * 60),
            autologout_timeout: Duration::from_secs(30 * 60),
            min_input_rate: 500,
            max_queued_output: 64 * 1024,
            max_untold_changes: 1 << 17,
            max_body_search_keys: 64,
        }
    }
}
