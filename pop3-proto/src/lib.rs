//! Sans-IO POP3 (RFC 1939, 2449, 2595, 5034, 6856): types, parsers, encoders and session state
//! machines.
//!
//! Not yet written; see the project's issue tracker. The crate exists so the workspace has its
//! final shape.
#![forbid(unsafe_code)]
