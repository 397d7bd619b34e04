//! Helpers shared by the response tests.
#![allow(dead_code)]

use std::borrow::Cow;

use sansmail_imap::{
    codec::{EncodeBuf, ResponseOptions, encode_response, frame::LiteralMode, parse_response},
    types::{
        core::{AString, Atom, IString, Literal, NString, Tag, Text},
        mailbox::Mailbox,
        response::{Continue, Data, Response, Status, StatusKind},
        response_code::ResponseCode,
        sequence::{SeqItem, SeqNum, SequenceSet},
    },
};

/// Parses one framed message with `opts`, panicking with the error.
pub fn parse_with<'a>(msg: &'a [u8], opts: &ResponseOptions) -> Response<'a> {
    parse_response(msg, opts)
        .unwrap_or_else(|e| panic!("{e} in {:?}", String::from_utf8_lossy(msg)))
}

/// Parses one framed message under the default (strict) options.
pub fn parse(msg: &[u8]) -> Response<'_> {
    parse_with(msg, &ResponseOptions::default())
}

/// Encodes a response under `opts`.
pub fn encode_with(resp: &Response<'_>, opts: &ResponseOptions) -> Vec<u8> {
    let mut out = EncodeBuf::new();
    encode_response(resp, opts, &mut out);
    out.bytes
}

/// Encodes a response under the default options.
pub fn encode(resp: &Response<'_>) -> Vec<u8> {
    encode_with(resp, &ResponseOptions::default())
}

/// Parses `wire`, compares with `expected`, checks `parse(encode(expected)) == expected`, and,
/// when `identical`, that the encoder writes `wire` back.
pub fn check_with(wire: &[u8], expected: &Response<'_>, identical: bool, opts: &ResponseOptions) {
    let got = parse_with(wire, opts);
    assert_eq!(
        &got,
        expected,
        "parsing {:?}",
        String::from_utf8_lossy(wire)
    );
    let bytes = encode_with(expected, opts);
    if identical {
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(wire),
            "re-encoding"
        );
    }
    assert_eq!(
        &parse_with(&bytes, opts),
        expected,
        "round trip of {:?}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(&got.clone().into_owned(), expected);
}

/// [`check_with`] under the default options.
pub fn check(wire: &[u8], expected: &Response<'_>, identical: bool) {
    check_with(wire, expected, identical, &ResponseOptions::default());
}

pub fn text(s: &'static str) -> Text<'static> {
    Text::new(s).unwrap()
}

pub fn q(s: &'static str) -> IString<'static> {
    IString::Quoted(Cow::Borrowed(s))
}

#[allow(clippy::unnecessary_wraps)] // reads better where an `NString` is wanted
pub fn nq(s: &'static str) -> NString<'static> {
    Some(q(s))
}

pub fn lit(s: &'static [u8]) -> IString<'static> {
    IString::Literal(Literal::new(s, LiteralMode::Sync).unwrap())
}

pub fn aa(s: &'static str) -> AString<'static> {
    AString::Atom(Cow::Borrowed(s))
}

pub fn aq(s: &'static str) -> AString<'static> {
    AString::String(q(s))
}

pub fn atom(s: &'static str) -> Atom<'static> {
    Atom::new(s).unwrap()
}

/// A mailbox received as an atom (modified UTF-7).
pub fn mbox(s: &'static str) -> Mailbox<'static> {
    Mailbox::from_wire(aa(s), false).unwrap()
}

/// A mailbox received as a quoted string (modified UTF-7).
pub fn mbox_q(s: &'static str) -> Mailbox<'static> {
    Mailbox::from_wire(aq(s), false).unwrap()
}

/// A sequence set from its text (`1:3,5,7:*`).
pub fn set(s: &str) -> SequenceSet {
    let num = |n: &str| {
        if n == "*" {
            SeqNum::Largest
        } else {
            SeqNum::Value(n.parse().unwrap())
        }
    };
    let items = s
        .split(',')
        .map(|i| match i.split_once(':') {
            Some((a, b)) => SeqItem::Range(num(a), num(b)),
            None => SeqItem::Single(num(i)),
        })
        .collect();
    SequenceSet::new(items).unwrap()
}

pub fn untagged(
    kind: StatusKind,
    code: Option<ResponseCode<'static>>,
    t: &'static str,
) -> Response<'static> {
    Response::Status(Status::untagged(kind, code, text(t)))
}

pub fn tagged(
    tag: &'static str,
    kind: StatusKind,
    code: Option<ResponseCode<'static>>,
    t: &'static str,
) -> Response<'static> {
    Response::Status(Status::tagged(Tag::new(tag).unwrap(), kind, code, text(t)).unwrap())
}

pub fn ok_code(code: ResponseCode<'static>, t: &'static str) -> Response<'static> {
    untagged(StatusKind::Ok, Some(code), t)
}

pub fn cont(code: Option<ResponseCode<'static>>, t: &'static str) -> Response<'static> {
    Response::Continue(Continue {
        code,
        text: text(t),
    })
}

pub fn data(d: Data<'static>) -> Response<'static> {
    Response::Data(d)
}

/// Every input split in two at every index, and one byte at a time.
pub fn chunkings(input: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut out = Vec::new();
    for i in 0..=input.len() {
        out.push(vec![&input[..i], &input[i..]]);
    }
    out.push(input.chunks(1).collect());
    out
}
