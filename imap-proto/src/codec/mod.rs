//! Framing, parsing and encoding: pure functions over bytes.

mod command;
mod command_args;
pub(crate) mod core;
mod encode;
mod encode_command;
mod fetch;
pub mod frame;
mod search;

pub use command::{
    CommandError, CommandErrorKind, CommandOptions, decode_command, parse_command, parse_idle_done,
    parse_sasl_response,
};
pub use encode::{EncodeBuf, LiteralMark};
pub use encode_command::{encode_command, encode_idle_done, encode_sasl_response};
