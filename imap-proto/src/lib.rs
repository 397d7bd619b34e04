//! Sans-IO IMAP4rev1/IMAP4rev2: types, parsers, encoders and session state machines.
//!
//! Not yet written; see the project's issue tracker. The crate exists so the workspace has its
//! final shape.
#![forbid(unsafe_code)]
