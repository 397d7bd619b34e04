//! The vocabulary of the storage API: account names and sessions, UIDs, modseqs and sets of
//! UIDs, flags and keywords, special-use roles and internal dates.
//!
//! Every type validates on construction, so a value that exists is a valid one.

mod flags;
mod internal_date;
mod session;
mod special_use;
mod uid;

pub use self::{
    flags::{Flag, FlagOp, Flags, Keyword},
    internal_date::InternalDate,
    session::{AccountName, Session, SessionId},
    special_use::SpecialUse,
    uid::{ModSeq, Uid, UidSet, UidValidity},
};
