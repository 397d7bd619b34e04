//! SASL (RFC 4954): mechanism names, secrets that do not leak into logs, and base64.

pub(crate) use sansmail_core::is_mechanism;
pub use sansmail_core::{Credentials, Mechanism, Secret, base64_decode, base64_encode, is_base64};
