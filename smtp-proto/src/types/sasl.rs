//! SASL (RFC 4954): mechanism names, secrets that do not leak into logs, and base64.

pub(crate) use sansmail_core::is_mechanism;
pub use sansmail_core::{
    Credentials, InvalidMechanism, Mechanism, Secret, base64_decode, base64_encode, is_base64,
};

use super::InvalidInput;

impl From<sansmail_core::InvalidMechanism> for InvalidInput {
    fn from(_: sansmail_core::InvalidMechanism) -> Self {
        InvalidInput::new("SASL mechanism", "1 to 20 of A-Z 0-9 - _")
    }
}
