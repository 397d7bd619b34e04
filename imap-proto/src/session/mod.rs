//! Sans-IO session state machines.
//!
//! The same contract as the workspace's other protocol crates: feed bytes with
//! `handle_input`, drain `poll_event` and `poll_transmit`, answer decisions with explicit
//! calls, and pass time in.

pub mod client;
mod config;
pub mod contexts;
pub mod server;
pub mod view;

pub use config::ServerConfig;

// Both sessions keep the workspace's common contract, so one driver loop serves them.
sansmail_core::impl_session!(server::Server, client::Client);
