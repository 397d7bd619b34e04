//! The error of the crates' validating constructors.

use std::fmt;

/// A value given to a constructor does not match the grammar it must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvalidInput {
    /// Which kind of value, e.g. `"domain"`.
    pub what: &'static str,
    /// What the grammar wants, e.g. `"1 to 20 of A-Z 0-9 - _"`.
    pub expected: &'static str,
}

impl InvalidInput {
    /// A `what` that is not `expected`.
    pub const fn new(what: &'static str, expected: &'static str) -> Self {
        Self { what, expected }
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: expected {}", self.what, self.expected)
    }
}

impl std::error::Error for InvalidInput {}
