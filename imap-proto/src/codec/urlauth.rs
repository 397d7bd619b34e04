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
    let (rest, urls) = one_or_more_after_sp(input, |i| {
        let (i, url) = astring(i)?;
        let (i, ()) = sp(i)?;
        let (i, mech) = mechanism(i)?;
        Ok((i, (url, mech)))
    })?;
    Ok((rest, CommandBody::GenUrlAuth { urls }))
}

/// `urlfetch = "URLFETCH" 1*(SP url-full)`, `url-full = astring`, after the name.
pub(crate) fn urlfetch(input: &[u8]) -> PResult<'_, CommandBody<'_>> {
    let (rest, urls) = one_or_more_after_sp(input, astring)?;
    Ok((rest, CommandBody::UrlFetch { urls }))
}

/// `1*(SP item)`: stops before the first SP not followed by an item only when one was read.
fn one_or_more_after_sp<'a, T>(
    input: &'a [u8],
    item: impl Fn(&'a [u8]) -> PResult<'a, T>,
) -> PResult<'a, Vec<T>> {
    let mut items = Vec::new();
    let mut rest = input;
    loop {
        let (r, ()) = match sp(rest) {
            Ok(ok) => ok,
            Err(_) if !items.is_empty() => break,
            Err(e) => return Err(e),
        };
        let (r, value) = item(r)?;
        items.push(value);
        rest = r;
    }
    Ok((rest, items))
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
