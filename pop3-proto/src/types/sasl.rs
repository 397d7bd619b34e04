//! SASL (RFC 5034): mechanism names, secrets that do not leak into logs, base64, and the
//! credentials of a USER/PASS or PLAIN login.

pub(crate) use mail_core::is_mechanism;
pub use mail_core::{
    Credentials, InvalidMechanism, Mechanism, Secret, base64_decode, base64_encode, is_base64,
};

use super::InvalidInput;

impl From<mail_core::InvalidMechanism> for InvalidInput {
    fn from(_: mail_core::InvalidMechanism) -> Self {
        InvalidInput::new("SASL mechanism", "1 to 20 of A-Z 0-9 - _")
    }
}
