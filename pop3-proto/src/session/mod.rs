//! Sans-IO session state machines.
//!
//! Both sides follow the same contract: feed bytes with `handle_input`, then drain
//! `poll_event` and `poll_transmit` until both are empty; answer the decisions the events ask
//! for with explicit calls. Time is an argument, never read from the OS.

pub mod client;
mod config;
mod maildrop;
pub mod responses;
pub mod server;

pub use config::ServerConfig;
pub use maildrop::{Deletions, Maildrop};

// Both sessions keep the workspace's common contract, so one driver loop serves them.
sansmail_core::impl_session!(server::Server, client::Client);
