//! The parse error the protocol crates' nom parsers share: where the input went wrong and
//! what the grammar expected there, which their decode errors report as an offset and a
//! production name.

use nom::error::{ErrorKind, ParseError};

/// Where parsing failed (the unparsed rest of the input) and what was expected there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected<I> {
    /// The input from the point of failure on.
    pub input: I,
    /// What the grammar wanted there, e.g. `"a domain"`.
    pub expected: &'static str,
}

impl<I> ParseError<I> for Expected<I> {
    fn from_error_kind(input: I, _kind: ErrorKind) -> Self {
        Self {
            input,
            expected: "valid syntax",
        }
    }

    fn append(_input: I, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

/// A nom result with [`Expected`] as its error.
pub type PResult<I, O> = nom::IResult<I, O, Expected<I>>;

/// Fails at `input` saying `expected` was wanted there.
#[inline]
pub fn fail<I, O>(input: I, expected: &'static str) -> PResult<I, O> {
    Err(nom::Err::Error(Expected { input, expected }))
}

/// Runs `parser`; on failure, reports `expected` at the position where it started.
#[inline]
pub fn expect<I: Clone, O>(
    input: I,
    expected: &'static str,
    parser: impl FnOnce(I) -> PResult<I, O>,
) -> PResult<I, O> {
    parser(input.clone()).map_err(|e| {
        e.map(|_| Expected {
            input: input.clone(),
            expected,
        })
    })
}
