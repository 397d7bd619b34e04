//! The storage trait shared by IMAP, POP3 and SMTP delivery, with its backends.
//!
//! Not yet written; see the project's issue tracker. The crate exists so the workspace has its
//! final shape.
#![forbid(unsafe_code)]
