//! The standard responses the sessions send, in one place so their wording stays consistent.
//! Applications use them to answer decisions (`server.reject(&responses::in_use())`).

use std::borrow::Cow;

use crate::types::response::{Response, ResponseCode, Status};

/// A response with static text known to be valid.
pub(crate) fn r(
    status: Status,
    code: Option<ResponseCode<'static>>,
    text: &'static str,
) -> Response<'static> {
    Response::from_parts_unchecked(status, code, Some(Cow::Borrowed(text)))
}

/// A response with generated text; `fallback` if the text turns out not to be valid (a
/// configured host name with control characters).
pub(crate) fn formatted(status: Status, text: String, fallback: &'static str) -> Response<'static> {
    Response::new(
        status,
        None,
        crate::Text::new(text)
            .ok()
            .or_else(|| crate::Text::new(fallback).ok()),
    )
    .unwrap_or_else(|_| r(status, None, fallback))
}

/// `+OK` without text.
pub fn ok() -> Response<'static> {
    Response::from_parts_unchecked(Status::Ok, None, None)
}
/// `-ERR [AUTH] Authentication failed` (RFC 3206 §5): wrong credentials.
pub fn auth_failed() -> Response<'static> {
    r(
        Status::Err,
        Some(ResponseCode::Auth),
        "Authentication failed",
    )
}
/// `-ERR [IN-USE] Maildrop is locked by another session` (RFC 2449 §8.1.1).
pub fn in_use() -> Response<'static> {
    r(
        Status::Err,
        Some(ResponseCode::InUse),
        "Maildrop is locked by another session",
    )
}
/// `-ERR [LOGIN-DELAY] Logging in too soon` (RFC 2449 §8.1.2).
pub fn login_delay() -> Response<'static> {
    r(
        Status::Err,
        Some(ResponseCode::LoginDelay),
        "Logging in too soon after the last login",
    )
}
/// `-ERR [SYS/TEMP] Server shutting down, try again later` (RFC 3206 §4).
pub fn shutting_down() -> Response<'static> {
    r(
        Status::Err,
        Some(ResponseCode::SysTemp),
        "Server shutting down, try again later",
    )
}
/// `-ERR [SYS/TEMP] Temporary failure, try again later` (RFC 3206 §4).
pub fn sys_temp() -> Response<'static> {
    r(
        Status::Err,
        Some(ResponseCode::SysTemp),
        "Temporary failure, try again later",
    )
}
/// `-ERR [SYS/PERM] Permanent failure` (RFC 3206 §4).
pub fn sys_perm() -> Response<'static> {
    r(
        Status::Err,
        Some(ResponseCode::SysPerm),
        "Permanent failure, contact your administrator",
    )
}
/// `-ERR [SYS/TEMP] Some deleted messages not removed`: the deletions could not be committed
/// at QUIT (RFC 1939 §6).
pub fn commit_failed() -> Response<'static> {
    r(
        Status::Err,
        Some(ResponseCode::SysTemp),
        "Some deleted messages not removed",
    )
}
/// `-ERR [SYS/TEMP] Message unavailable`: the store could not produce a message.
pub fn message_unavailable() -> Response<'static> {
    r(
        Status::Err,
        Some(ResponseCode::SysTemp),
        "Message unavailable, try again later",
    )
}
/// `-ERR [UTF8] Message needs UTF8 mode` (RFC 6856 §2).
pub fn needs_utf8() -> Response<'static> {
    r(
        Status::Err,
        Some(ResponseCode::Utf8),
        "Message needs UTF8 mode",
    )
}
/// `-ERR Message was deleted by another session`: gone for good (no `[SYS/TEMP]`: trying
/// again will not bring it back).
pub fn message_expunged() -> Response<'static> {
    r(Status::Err, None, "Message was deleted by another session")
}
/// `-ERR no such message`
pub fn no_such_message() -> Response<'static> {
    r(Status::Err, None, "no such message")
}
/// `-ERR Command not valid in this state`
pub fn wrong_state() -> Response<'static> {
    r(Status::Err, None, "Command not valid in this state")
}
/// `-ERR` for a command that is known but not offered.
pub fn not_available(text: &'static str) -> Response<'static> {
    r(Status::Err, None, text)
}
/// `-ERR Plaintext authentication disallowed without TLS`
pub fn tls_required() -> Response<'static> {
    r(
        Status::Err,
        None,
        "Plaintext authentication disallowed without TLS, use STLS",
    )
}
/// `-ERR Authentication cancelled` (RFC 5034 §4: the client sent `*`).
pub fn auth_cancelled() -> Response<'static> {
    r(Status::Err, None, "Authentication cancelled")
}
/// `-ERR Invalid SASL response`
pub fn auth_bad_response() -> Response<'static> {
    r(Status::Err, None, "Invalid SASL response")
}
/// `-ERR Authentication line too long`
pub fn auth_line_too_long() -> Response<'static> {
    r(Status::Err, None, "Authentication line too long")
}
/// `-ERR Unsupported authentication mechanism` (RFC 5034 §4).
pub fn unknown_mechanism() -> Response<'static> {
    r(Status::Err, None, "Unsupported authentication mechanism")
}
/// `-ERR Too many bad commands, closing connection`
pub fn too_many_errors() -> Response<'static> {
    r(
        Status::Err,
        None,
        "Too many bad commands, closing connection",
    )
}
/// `-ERR Disconnected for inactivity`
pub fn timeout() -> Response<'static> {
    r(Status::Err, None, "Disconnected for inactivity")
}
