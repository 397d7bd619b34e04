//! The IMAP vocabulary as Rust types.
//!
//! Values borrow from the decoded input where they can and offer `into_owned()`.
//! Constructors validate, so a value that exists can always be encoded.

pub mod body;
pub mod capability;
pub mod command;
pub mod core;
pub mod datetime;
pub mod envelope;
pub mod fetch;
pub mod fetch_attr;
pub mod flag;
pub mod mailbox;
pub mod notify;
pub mod objectid;
pub mod response;
pub mod response_code;
pub mod response_data;
pub mod search;
pub mod section;
pub mod sequence;
pub mod status;

pub use sansmail_core::InvalidInput;
