//! Sans-IO session state machines.
//!
//! Both sides follow the same contract: feed bytes with `handle_input`, then drain
//! `poll_event` and `poll_transmit` until both are empty; answer the decisions the events ask
//! for with explicit calls. Time is an argument, never read from the OS.

pub mod client;
mod config;
pub mod replies;
pub mod server;

pub use config::{Extensions, Protocol, ServerConfig};

/// Both sessions keep the workspace's common contract, so one driver loop serves them.
macro_rules! impl_session {
    ($($t:ty),*) => {$(
        impl mail_core::Session for $t {
            fn handle_input(&mut self, now: std::time::Instant, data: &[u8]) {
                <$t>::handle_input(self, now, data);
            }
            fn poll_transmit(&mut self, out: &mut Vec<u8>) {
                <$t>::poll_transmit(self, out);
            }
            fn poll_timeout(&self) -> Option<std::time::Instant> {
                <$t>::poll_timeout(self)
            }
            fn handle_timeout(&mut self, now: std::time::Instant) {
                <$t>::handle_timeout(self, now);
            }
            fn is_closed(&self) -> bool {
                <$t>::is_closed(self)
            }
        }
    )*};
}

impl_session!(server::Server, client::Client);
