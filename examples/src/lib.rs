//! Thin drivers shared by the example binaries: sockets in, sans-IO sessions, files out.
#![forbid(unsafe_code)]
pub mod maildir;
pub mod protodump;
pub mod smtp_server;
