//! URLAUTH's commands (RFC 4467 §9): RESETKEY, GENURLAUTH and URLFETCH.

use super::{
    command::{CommandOptions, mailbox},
    core::{PResult, ascii, astring, fail, sp},
};
use crate::types::{command::CommandBody, core::Atom};

/// `resetkey = "RESETKEY" [SP mailbox *(SP mechanism)]`, after the name.
pub(crate) fn resetkey<'a>(input: &'a [u8], opts: &CommandOptions) -> PResult<'a, CommandBody<'a>> {
    let Ok((mut rest, ())) = sp(input) else {
        return Ok((
            input,
            CommandBody::ResetKey {
                mailbox: None,
                mechanisms: Vec::new(),
            },
        ));
    };
    let m;
    (rest, m) = mailbox(rest, opts)?;
    let mut mechanisms = Vec::new();
    while let Ok((r, ())) = sp(rest) {
        let (r, mech) = mechanism(r)?;
        mechanisms.push(mech);
        rest = r;
    }
    Ok((
        rest,
        CommandBody::ResetKey {
            mailbox: Some(m),
            mechanisms,
        },
    ))
}

/// `genurlauth = "GENURLAUTH" 1*(SP url-rump SP mechanism)`, `url-rump = astring`, after
/// the name.
pub(crate) fn genurlauth(input: &[u8]) -> PResult<'_, CommandBody<'_>> {
    let mut urls = Vec::new();
    let mut rest = input;
    loop {
        let (r, ()) = match sp(rest) {
            Ok(ok) => ok,
            Err(_) if !urls.is_empty() => break,
            Err(e) => return Err(e),
        };
        let (r, url) = astring(r)?;
        let (r, ()) = sp(r)?;
        let (r, mech) = mechanism(r)?;
        urls.push((url, mech));
        rest = r;
    }
    Ok((rest, CommandBody::GenUrlAuth { urls }))
}

/// `urlfetch = "URLFETCH" 1*(SP url-full)`, `url-full = astring`, after the name.
pub(crate) fn urlfetch(input: &[u8]) -> PResult<'_, CommandBody<'_>> {
    let mut urls = Vec::new();
    let mut rest = input;
    loop {
        let (r, ()) = match sp(rest) {
            Ok(ok) => ok,
            Err(_) if !urls.is_empty() => break,
            Err(e) => return Err(e),
        };
        let (r, url) = astring(r)?;
        urls.push(url);
        rest = r;
    }
    Ok((rest, CommandBody::UrlFetch { urls }))
}

/// `mechanism = "INTERNAL" / 1*(ALPHA / DIGIT / "-" / ".")`
pub(crate) fn mechanism(input: &[u8]) -> PResult<'_, Atom<'_>> {
    let end = input
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.')))
        .unwrap_or(input.len());
    if end == 0 {
        return fail(input, "a URLAUTH mechanism");
    }
    Ok((&input[end..], Atom::from_parsed(ascii(&input[..end]))))
}
