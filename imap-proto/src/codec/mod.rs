//! Framing, parsing and encoding: pure functions over bytes.

pub(crate) mod core;
mod encode;
pub mod frame;

pub use encode::{EncodeBuf, LiteralMark};
