//! Framing, parsing and encoding: pure functions over bytes.

mod command;
mod command_args;
pub(crate) mod core;
mod encode;
mod encode_command;
mod encode_response;
mod fetch;
pub mod frame;
mod notify;
pub mod response;
pub(crate) mod search;
pub mod transcript;
mod urlauth;

pub use command::{
    CommandOptions, append_literal_mailbox, decode_command, parse_command, parse_idle_done,
    parse_sasl_response,
};
pub use encode::{EncodeBuf, LiteralMark};
pub use encode_command::{encode_command, encode_idle_done, encode_sasl_response};
pub use encode_response::{encode_greeting, encode_response};
pub(crate) use encode_response::{fetch_open, literal_head};
pub use response::{
    Leniency, ResponseDecoder, ResponseOptions, decode_greeting, decode_response, parse_greeting,
    parse_response,
};

pub use crate::error::{DecodeError, SyntaxError, SyntaxErrorKind};
