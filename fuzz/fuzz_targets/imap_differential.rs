//! imap-codec's `arbitrary` commands, responses and greetings, encoded by imap-codec, must
//! decode with ours, with the same tag (and, for status responses, the same kind). What
//! imap-codec generates that this crate deliberately does not take is listed in
//! `unsupported_*` with the reason.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use imap_codec::{
    CommandCodec, GreetingCodec, ResponseCodec,
    encode::Encoder,
    imap_types::{
        command::{Command as TheirCommand, CommandBody},
        fetch::MacroOrMessageDataItemNames,
        response::{Greeting as TheirGreeting, Response as TheirResponse},
    },
};
use libfuzzer_sys::fuzz_target;
use sansmail_imap::{
    codec::{self, CommandOptions, ResponseOptions, SyntaxErrorKind, frame::FrameError},
    error::DecodeError,
    types::response::Response,
};

/// Commands that this crate does not take, by what makes them so.
fn unsupported_command(cmd: &TheirCommand<'_>, _wire: &[u8]) -> Option<&'static str> {
    match &cmd.body {
        CommandBody::Status { item_names, .. } if item_names.is_empty() => {
            Some("RFC 9051 STATUS takes at least one status-att; imap-codec sends `()`")
        }
        CommandBody::Fetch {
            macro_or_item_names: MacroOrMessageDataItemNames::MessageDataItemNames(items),
            ..
        } if items.is_empty() => {
            Some("RFC 9051 FETCH takes at least one fetch-att; imap-codec sends `()`")
        }
        _ => None,
    }
}

/// Our refusals that are deliberate, whatever imap-codec generates: the `expected` text of
/// the error, with the reason.
const DELIBERATE: &[&str] = &[
    // A mailbox name holding CR, LF or NUL (in a literal the grammar allows it) cannot name
    // a Maildir folder or travel in modified UTF-7 safely.
    "a mailbox name without CR, LF or NUL",
    // RFC 9051 `number64` is at most 2^63 - 1; imap-codec generates any u64.
    "a number below 2^63",
];

/// Responses that this crate does not take, by what makes them so.
fn unsupported_response(_resp: &TheirResponse<'_>, _wire: &[u8]) -> Option<&'static str> {
    None
}

/// Limits are ours to set: a line, literal or message over them, or nesting deeper than
/// `max_depth`, is refused whatever generated it.
fn over_limit(e: &FrameError) -> bool {
    matches!(
        e,
        FrameError::LineTooLong { .. }
            | FrameError::LiteralTooLarge { .. }
            | FrameError::MessageTooLarge { .. }
    )
}

fn deliberate_command(e: &DecodeError) -> bool {
    match e {
        DecodeError::Syntax { error, .. } => {
            error.kind == SyntaxErrorKind::TooDeep || DELIBERATE.contains(&error.expected)
        }
        DecodeError::Frame { error, .. } => over_limit(error),
        _ => false,
    }
}

/// Responses refuse what commands refuse, the same way.
fn deliberate_response(e: &DecodeError) -> bool {
    deliberate_command(e)
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(which) = u8::arbitrary(&mut u) else {
        return;
    };
    match which % 3 {
        0 => {
            let Ok(cmd) = TheirCommand::arbitrary(&mut u) else {
                return;
            };
            let wire = CommandCodec::default().encode(&cmd).dump();
            if unsupported_command(&cmd, &wire).is_some() {
                return;
            }
            for opts in [
                CommandOptions::default(),
                CommandOptions {
                    utf8: true,
                    ..CommandOptions::default()
                },
            ] {
                match codec::decode_command(&wire, &opts) {
                    Ok((rest, ours)) => {
                        assert!(
                            rest.is_empty(),
                            "left over: {:?}",
                            String::from_utf8_lossy(rest)
                        );
                        assert_eq!(ours.tag.as_str(), cmd.tag.inner(), "tag differs");
                    }
                    Err(e) if deliberate_command(&e) => {}
                    Err(e) => panic!(
                        "imap-codec's {:?} does not decode: {e:?}\n{cmd:?}",
                        String::from_utf8_lossy(&wire)
                    ),
                }
            }
        }
        1 => {
            let Ok(resp) = TheirResponse::arbitrary(&mut u) else {
                return;
            };
            let wire = ResponseCodec::default().encode(&resp).dump();
            if unsupported_response(&resp, &wire).is_some() {
                return;
            }
            let opts = ResponseOptions::default();
            match codec::decode_response(&wire, &opts) {
                Ok((rest, ours)) => {
                    assert!(
                        rest.is_empty(),
                        "left over: {:?}",
                        String::from_utf8_lossy(rest)
                    );
                    if let (TheirResponse::Status(s), Response::Status(o)) = (&resp, &ours) {
                        assert_eq!(
                            s.tag().map(|t| t.inner()),
                            o.tag.as_ref().map(|t| t.as_str())
                        );
                    }
                }
                Err(e) if deliberate_response(&e) => {}
                Err(e) => panic!(
                    "imap-codec's {:?} does not decode: {e:?}\n{resp:?}",
                    String::from_utf8_lossy(&wire)
                ),
            }
        }
        _ => {
            let Ok(greeting) = TheirGreeting::arbitrary(&mut u) else {
                return;
            };
            let wire = GreetingCodec::default().encode(&greeting).dump();
            if let Err(e) = codec::decode_greeting(&wire, &ResponseOptions::default())
                && !deliberate_response(&e)
            {
                panic!(
                    "imap-codec's {:?} does not decode: {e:?}\n{greeting:?}",
                    String::from_utf8_lossy(&wire)
                );
            }
        }
    }
});
