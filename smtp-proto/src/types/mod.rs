//! The SMTP vocabulary as Rust types.
//!
//! Values borrow from the decoded input (`Cow::Borrowed`) and offer `into_owned()`.
//! Constructors validate, so a value that exists can always be encoded.

pub mod address;
pub mod capability;
pub mod command;
pub mod params;
pub mod reply;
pub mod sasl;
pub mod xtext;

/// A value given to a constructor does not match the grammar it must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct InvalidInput {
    /// Which kind of value.
    pub what: &'static str,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl InvalidInput {
    pub(crate) const fn new(what: &'static str, reason: &'static str) -> Self {
        Self { what, reason }
    }
}

/// Validates with `parser`, which must consume the whole input.
pub(crate) fn validate<'a, O>(
    what: &'static str,
    input: &'a str,
    parser: impl FnOnce(&'a str) -> crate::codec::grammar::PResult<'a, O>,
) -> Result<O, InvalidInput> {
    crate::codec::grammar::all_consuming(input, parser)
        .map_err(|e| InvalidInput::new(what, e.expected))
}
