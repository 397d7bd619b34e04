//! The input clock of a server session: when its timeouts started, such that a client that
//! trickles its input (slowloris) keeps the session only as long as it sends at a minimum
//! rate, and a complete command restarts the timeouts.

use std::time::{Duration, Instant};

/// When a server session's timeouts (idle, command, data) started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputClock {
    /// The timeouts' start; `None` while the session waits on the application, which does
    /// not count against the client: the clock restarts at the next call.
    start: Option<Instant>,
    /// When the last octets arrived.
    last_input: Instant,
}

impl InputClock {
    /// A clock started at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            start: Some(now),
            last_input: now,
        }
    }

    /// When the timeouts started, or `None` while they are paused.
    pub fn start(&self) -> Option<Instant> {
        self.start
    }

    /// `len` octets arrived at `now`: they move the timeouts' start forward by the time they
    /// earn at `min_rate` octets per second (0: no credit), never past `now`. Only
    /// [`progress`](Self::progress) restarts the timeouts.
    pub fn earn(&mut self, now: Instant, len: usize, min_rate: u64) {
        self.last_input = now;
        let per_octet = 1_000_000_000u64.checked_div(min_rate).unwrap_or(0);
        let earned = Duration::from_nanos((len as u64).saturating_mul(per_octet));
        let from = self.start.unwrap_or(now);
        self.start = Some(from.checked_add(earned).map_or(now, |t| t.min(now)));
    }

    /// A command, line, message or chunk is complete: the timeouts restart from when its
    /// last octets arrived, or from when the session last resumed if that is later (a
    /// command pipelined behind one the application took long over, a RETR of a large
    /// message, was read long before its turn came). While paused they stay paused: they
    /// restart at the next call that knows the time.
    pub fn progress(&mut self) {
        if let Some(start) = self.start {
            self.start = Some(start.max(self.last_input));
        }
    }

    /// The session waits on the application: the timeouts pause until [`resume`].
    ///
    /// [`resume`]: Self::resume
    pub fn pause(&mut self) {
        self.start = None;
    }

    /// The session no longer waits on the application: paused timeouts restart at `now`.
    pub fn resume(&mut self, now: Instant) {
        if self.start.is_none() {
            self.start = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trickled_octets_earn_time_at_the_minimum_rate_only() {
        let t0 = Instant::now();
        let mut clock = InputClock::new(t0);
        // 10 octets at 1 octet per second earn 10 s, but never more than has passed.
        clock.earn(t0 + Duration::from_secs(60), 10, 1);
        assert_eq!(clock.start(), Some(t0 + Duration::from_secs(10)));
        clock.earn(t0 + Duration::from_secs(61), 1000, 1);
        assert_eq!(clock.start(), Some(t0 + Duration::from_secs(61)));
        // No rate: octets earn nothing.
        let mut strict = InputClock::new(t0);
        strict.earn(t0 + Duration::from_secs(5), 1 << 20, 0);
        assert_eq!(strict.start(), Some(t0));
        strict.progress();
        assert_eq!(strict.start(), Some(t0 + Duration::from_secs(5)));
    }

    #[test]
    fn waiting_on_the_application_does_not_count() {
        let t0 = Instant::now();
        let mut clock = InputClock::new(t0);
        clock.pause();
        assert_eq!(clock.start(), None);
        clock.resume(t0 + Duration::from_secs(30));
        assert_eq!(clock.start(), Some(t0 + Duration::from_secs(30)));
        // Resuming a running clock changes nothing.
        clock.resume(t0 + Duration::from_secs(40));
        assert_eq!(clock.start(), Some(t0 + Duration::from_secs(30)));
    }

    /// A command that arrived with the one before it, and whose turn comes after the
    /// application took its time over that one, restarts the timeouts from when the
    /// session resumed, not from when its octets arrived.
    #[test]
    fn a_pipelined_command_after_a_long_wait_restarts_from_the_resume() {
        let t0 = Instant::now();
        let mut clock = InputClock::new(t0);
        clock.earn(t0, 20, 0);
        clock.progress();
        clock.pause();
        clock.progress();
        assert_eq!(
            clock.start(),
            None,
            "the pause holds until the time is known"
        );
        clock.resume(t0 + Duration::from_secs(750));
        clock.progress();
        assert_eq!(clock.start(), Some(t0 + Duration::from_secs(750)));
        // Octets that arrive later still count from their arrival.
        clock.earn(t0 + Duration::from_secs(800), 6, 0);
        clock.progress();
        assert_eq!(clock.start(), Some(t0 + Duration::from_secs(800)));
    }
}
