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

pub use sansmail_core::InvalidInput;

/// Validates with `parser`, which must consume the whole input.
pub(crate) fn validate<'a, O>(
    what: &'static str,
    input: &'a str,
    parser: impl FnOnce(&'a str) -> crate::grammar::PResult<'a, O>,
) -> Result<O, InvalidInput> {
    crate::grammar::all_consuming(input, parser).map_err(|e| InvalidInput::new(what, e.expected))
}
