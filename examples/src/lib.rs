//! Thin drivers shared by the example binaries: sockets in, sans-IO sessions, `mail-store` out.
#![forbid(unsafe_code)]
pub mod auth;
pub mod imap_server;
pub mod listener;
pub mod mailctl;
pub mod pop3_server;
pub mod protodump;
pub mod server;
pub mod smtp_server;
pub mod store_glue;
pub mod tls;
