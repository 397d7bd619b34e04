//! Framing, parsing and encoding: pure functions over bytes.
//!
//! Decoders return `Ok((rest, message))`, `Err(DecodeError::Incomplete)` when more input is
//! needed, or another [`DecodeError`] when the input can never become valid.

pub(crate) mod command;
mod data;
mod encode;
pub mod line;
mod line_ends;
mod one_pass;
pub(crate) mod reply;
pub mod transcript;

pub use command::SaslLine;
pub use data::{BareLineEndings, ChunkReceiver, CrlfNormalizer, DataEnd, DataReceiver, DotStuffer};
pub use encode::{EncodeError, encode_command, encode_reply, encode_sasl_response};
pub use reply::{ReplyLimits, decode_reply_with};

use crate::{DecodeError, Limits, grammar, types::command::Command, types::reply::Reply};

/// The line limit that applies to a command line starting with `prefix`: the AUTH command
/// may carry an initial response as long as a SASL line (RFC 4954 §4), MAIL and RCPT their
/// extensions' parameters (`max_mail_rcpt_line`), every other command `max_command_line`
/// (RFC 5321 §4.5.3.1.4).
#[inline]
pub fn command_line_limit(prefix: &[u8], limits: &Limits) -> usize {
    // The verb in any case, read as one word (see `command::word4`), then the SP.
    if prefix.get(4) != Some(&b' ') {
        return limits.max_command_line;
    }
    match command::word4(prefix, 0) {
        Some(command::AUTH) => limits.max_sasl_line.max(limits.max_command_line),
        Some(command::MAIL | command::RCPT) => {
            limits.max_mail_rcpt_line.max(limits.max_command_line)
        }
        _ => limits.max_command_line,
    }
}

/// Decodes the command line at the start of `input` under the default [`Limits`].
pub fn decode_command(input: &[u8]) -> Result<(&[u8], Command<'_>), DecodeError> {
    decode_command_with(input, &Limits::default())
}

/// Decodes the command line at the start of `input`.
#[inline]
pub fn decode_command_with<'a>(
    input: &'a [u8],
    limits: &Limits,
) -> Result<(&'a [u8], Command<'a>), DecodeError> {
    let max = command_line_limit(input, limits);
    one_pass::command(
        input,
        one_pass::End::Crlf { max },
        |n, cmd| Ok((input.get(n..).unwrap_or_default(), cmd)),
        || {
            let (line, rest) = line::split_line(input, max)?;
            command::command(line, input, |cmd| (rest, cmd))
        },
    )
}

/// Parses one command line, without its CRLF.
#[inline]
pub fn parse_command_line(line: &[u8]) -> Result<Command<'_>, DecodeError> {
    one_pass::command(
        line,
        one_pass::End::Slice,
        |_, cmd| Ok(cmd),
        || command::command(line, line, |cmd| cmd),
    )
}

/// Decodes the reply at the start of `input` under the default [`ReplyLimits`].
pub fn decode_reply(input: &[u8]) -> Result<(&[u8], Reply<'_>), DecodeError> {
    decode_reply_with(input, ReplyLimits::default())
}

/// Parses one line of a SASL exchange, without its CRLF: base64 or `*`.
pub fn parse_sasl_line(line: &[u8]) -> Result<SaslLine<'_>, DecodeError> {
    let text = std::str::from_utf8(line).map_err(|e| DecodeError::Syntax {
        at: e.valid_up_to(),
        expected: "base64 or '*'",
    })?;
    grammar::all_consuming(text, command::sasl_line).map_err(|p| DecodeError::Syntax {
        at: text.len() - p.input.len(),
        expected: p.expected,
    })
}

/// Decodes the SASL line at the start of `input`.
pub fn decode_sasl_line(
    input: &[u8],
    max_line: usize,
) -> Result<(&[u8], SaslLine<'_>), DecodeError> {
    let (line, rest) = line::split_line(input, max_line)?;
    Ok((rest, parse_sasl_line(line)?))
}
