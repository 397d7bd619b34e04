//! Object identifiers (RFC 8474 OBJECTID): MAILBOXID, EMAILID and THREADID values.

use std::{borrow::Cow, fmt};

use super::InvalidInput;

/// `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ObjectId<'a>(Cow<'a, str>);

/// Whether `b` may appear in an `objectid`.
pub const fn is_objectid_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

impl<'a> ObjectId<'a> {
    /// Validates an object id: 1 to 255 letters, digits, `_` or `-`.
    pub fn new(s: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let s = s.into();
        if (1..=255).contains(&s.len()) && s.bytes().all(is_objectid_char) {
            Ok(Self(s))
        } else {
            Err(InvalidInput::new(
                "objectid",
                "1*255(ALPHA / DIGIT / \"_\" / \"-\")",
            ))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ObjectId<'static> {
        ObjectId(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Debug for ObjectId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({:?})", self.0)
    }
}

impl fmt::Display for ObjectId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates() {
        assert!(ObjectId::new("M6d99ac3275bb4e").is_ok());
        assert!(ObjectId::new("a_b-c").is_ok());
        assert!(ObjectId::new("").is_err());
        assert!(ObjectId::new("a b").is_err());
        assert!(ObjectId::new("x".repeat(256)).is_err());
    }
}
