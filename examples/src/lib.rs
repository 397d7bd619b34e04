//! The example binaries' wiring: `mailserver` (command line, accounts, certificates, the
//! `mail-server` listeners on a Maildir store), `mailctl` (the protocol crates' client
//! drivers on a command line) and `protodump`.
#![forbid(unsafe_code)]
pub mod admin;
pub mod config;
pub mod mailctl;
pub mod protodump;
pub mod queue;
pub mod server;
pub mod service;
pub mod tls;
