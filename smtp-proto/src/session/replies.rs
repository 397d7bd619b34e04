//! The standard replies the sessions send, in one place so their wording stays consistent.
//! Applications use them to answer decisions (`server.reject(replies::auth_failed())`).

use crate::types::reply::{EnhancedStatus, Reply, ReplyCode};

/// A reply with static text.
pub(crate) fn r(code: u16, status: (u8, u16, u16), text: &'static str) -> Reply<'static> {
    Reply::new_static(
        ReplyCode::new_unchecked(code),
        Some(EnhancedStatus::new_unchecked(status.0, status.1, status.2)),
        text,
    )
}

/// `250 2.0.0`: ok.
pub fn ok() -> Reply<'static> {
    r(250, (2, 0, 0), "OK")
}
/// `250 2.1.0`: sender ok.
pub fn sender_ok() -> Reply<'static> {
    r(250, (2, 1, 0), "Sender OK")
}
/// `250 2.1.5`: recipient ok.
pub fn recipient_ok() -> Reply<'static> {
    r(250, (2, 1, 5), "Recipient OK")
}
/// The reply: start data.
pub fn start_data() -> Reply<'static> {
    Reply::new_static(
        ReplyCode::START_MAIL_INPUT,
        None,
        "End data with <CR><LF>.<CR><LF>",
    )
}
/// `250 2.0.0`: message accepted.
pub fn message_accepted() -> Reply<'static> {
    r(250, (2, 0, 0), "Message accepted for delivery")
}
/// `503 5.5.1` with `text`.
pub fn bad_sequence(text: &'static str) -> Reply<'static> {
    r(503, (5, 5, 1), text)
}
/// `502 5.5.1` with `text`.
pub fn not_implemented(text: &'static str) -> Reply<'static> {
    r(502, (5, 5, 1), text)
}
/// `555 5.5.4`: param not supported.
pub fn param_not_supported() -> Reply<'static> {
    r(555, (5, 5, 4), "Unsupported parameter")
}
/// `552 5.3.4`: too large.
pub fn too_large() -> Reply<'static> {
    r(
        552,
        (5, 3, 4),
        "Message size exceeds fixed maximum message size",
    )
}
/// `550 5.6.0`: bare line ending.
pub fn bare_line_ending() -> Reply<'static> {
    r(
        550,
        (5, 6, 0),
        "Bare CR or LF in message data not allowed (RFC 5321 section 2.3.8)",
    )
}
/// `550 5.6.0`: data line too long.
pub fn data_line_too_long() -> Reply<'static> {
    r(
        550,
        (5, 6, 0),
        "Message line longer than allowed (RFC 5321 section 4.5.3.1.6)",
    )
}
/// `452 4.5.3`: too many recipients.
pub fn too_many_recipients() -> Reply<'static> {
    r(452, (4, 5, 3), "Too many recipients")
}
/// `553 5.6.7`: utf8 not permitted.
pub fn utf8_not_permitted() -> Reply<'static> {
    r(553, (5, 6, 7), "Non-ASCII address requires SMTPUTF8")
}
/// `530 5.7.0`: auth required.
pub fn auth_required() -> Reply<'static> {
    r(530, (5, 7, 0), "Authentication required")
}
/// `538 5.7.11`: encryption required.
pub fn encryption_required() -> Reply<'static> {
    r(
        538,
        (5, 7, 11),
        "Encryption required for requested authentication mechanism",
    )
}
/// `235 2.7.0`: auth succeeded.
pub fn auth_succeeded() -> Reply<'static> {
    r(235, (2, 7, 0), "Authentication successful")
}
/// `535 5.7.8`: auth failed.
pub fn auth_failed() -> Reply<'static> {
    r(535, (5, 7, 8), "Authentication credentials invalid")
}
/// `454 4.7.0`: temporary authentication failure (RFC 4954 §6): the server cannot check
/// credentials now, e.g. after too many failures from the client's address.
pub fn temp_auth_failure() -> Reply<'static> {
    r(
        454,
        (4, 7, 0),
        "Temporary authentication failure, try again later",
    )
}
/// `501 5.0.0`: auth cancelled.
pub fn auth_cancelled() -> Reply<'static> {
    r(501, (5, 0, 0), "Authentication cancelled")
}
/// `501 5.5.2`: auth bad response.
pub fn auth_bad_response() -> Reply<'static> {
    r(501, (5, 5, 2), "Invalid SASL response")
}
/// `500 5.5.6`: auth line too long.
pub fn auth_line_too_long() -> Reply<'static> {
    r(500, (5, 5, 6), "Authentication exchange line is too long")
}
/// `504 5.5.4`: unknown mechanism.
pub fn unknown_mechanism() -> Reply<'static> {
    r(504, (5, 5, 4), "Unrecognized authentication type")
}
/// `220 2.0.0`: tls ready.
pub fn tls_ready() -> Reply<'static> {
    r(220, (2, 0, 0), "Ready to start TLS")
}
/// `252 2.5.0`: cannot vrfy.
pub fn cannot_vrfy() -> Reply<'static> {
    r(
        252,
        (2, 5, 0),
        "Cannot VRFY user, but will accept message and attempt delivery",
    )
}
/// `214 2.0.0`: help.
pub fn help() -> Reply<'static> {
    r(214, (2, 0, 0), "See RFC 5321")
}
/// `421 4.7.0`: too many errors.
pub fn too_many_errors() -> Reply<'static> {
    r(421, (4, 7, 0), "Too many errors, closing connection")
}
/// `421 4.3.0`: after a refused chunk too large to read and discard.
pub fn chunk_too_large_to_skip() -> Reply<'static> {
    r(
        421,
        (4, 3, 0),
        "Chunk too large to skip, closing connection",
    )
}
/// `421 4.4.2`: timeout.
pub fn timeout() -> Reply<'static> {
    r(421, (4, 4, 2), "Timeout exceeded, closing connection")
}
/// `421 4.3.2`: the server is shutting down.
pub fn shutting_down() -> Reply<'static> {
    r(421, (4, 3, 2), "Server shutting down, try again later")
}
/// `221 2.0.0`: closing.
pub fn closing() -> Reply<'static> {
    r(221, (2, 0, 0), "Bye")
}
/// `334` with `text` (base64).
pub fn sasl_prompt(text: &'static str) -> Reply<'static> {
    Reply::new_static(ReplyCode::AUTH_CONTINUE, None, text)
}
