//! The POP3 vocabulary as Rust types.
//!
//! Values borrow from the decoded input (`Cow::Borrowed`) and offer `into_owned()`.
//! Constructors validate, so a value that exists can always be encoded.

pub mod capability;
pub mod command;
pub mod listing;
pub mod response;
pub mod sasl;

use std::{borrow::Cow, fmt};

pub use sansmail_core::InvalidInput;

/// Free text on one line, as in response text, `IMPLEMENTATION` and language descriptions:
/// HT, SP, printable ASCII and (RFC 6856) UTF-8, never CR, LF or another control character.
///
/// ```text
/// text = *( HTAB / %x20-7E / UTF8-non-ascii )
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text<'a>(Cow<'a, str>);

impl<'a> Text<'a> {
    /// Validates the text.
    pub fn new(text: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let text = text.into();
        if crate::grammar::is_text(&text) {
            Ok(Self(text))
        } else {
            Err(InvalidInput::new(
                "text",
                "HT, SP, printable ASCII and UTF-8 only",
            ))
        }
    }

    pub(crate) fn from_parsed(text: impl Into<Cow<'a, str>>) -> Self {
        Self(text.into())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Text<'static> {
        Text(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Detaches a `Cow` from the input it borrows.
pub(crate) fn own(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}
