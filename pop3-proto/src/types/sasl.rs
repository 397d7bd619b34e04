//! SASL (RFC 5034): mechanism names, secrets that do not leak into logs, base64, and the
//! credentials of a USER/PASS or PLAIN login.

pub(crate) use sansmail_core::is_mechanism;
pub use sansmail_core::{Credentials, Mechanism, Secret, base64_decode, base64_encode, is_base64};
