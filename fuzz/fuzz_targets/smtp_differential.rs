//! Our SMTP decoders against Stalwart's `smtp-proto` 0.2, line by line. Where both accept a
//! command they must agree on its meaning (verb, paths, SIZE, BDAT size and LAST, HELO host),
//! and where Stalwart reads our canonical re-encoding of a command we accepted, it must read
//! the same meaning. For replies, where both accept, the codes agree.
//!
//! Stalwart is more lenient than we are (we are strict by default), so a line only Stalwart
//! accepts is not a failure; a line only we accept is not either (it may lack a parameter).
//! Addresses are compared where their text is comparable: Stalwart drops quotes from quoted
//! local parts and reads `<Postmaster>` as the null path.
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use sansmail_smtp::{Command, DomainPart, Mailbox, codec};
use stalwart_smtp::{Request, response::parser::ResponseReceiver};

/// Stalwart's address for our mailbox, where comparable.
fn comparable(m: &Mailbox<'_>) -> Option<String> {
    (!m.local_part().is_quoted() && matches!(m.domain(), DomainPart::Domain(_)))
        .then(|| m.to_string())
}

fn compare(ours: &Command<'_>, theirs: &Request<Cow<'_, str>>, line: &[u8]) {
    let ctx = || String::from_utf8_lossy(line).into_owned();
    assert_eq!(ours.verb(), theirs.name(), "verb differs for {:?}", ctx());
    match (ours, theirs) {
        (
            Command::Hello { host, .. },
            Request::Ehlo { host: h } | Request::Helo { host: h } | Request::Lhlo { host: h },
        ) => {
            if let DomainPart::Domain(d) = host {
                assert_eq!(d.as_str(), h.as_ref(), "host differs for {:?}", ctx());
            }
        }
        (Command::Mail { from, params }, Request::Mail { from: f }) => {
            match from.mailbox() {
                None => assert_eq!(f.address, "", "null path differs for {:?}", ctx()),
                Some(m) => {
                    if let Some(a) = comparable(m) {
                        assert_eq!(a, f.address, "sender differs for {:?}", ctx());
                    }
                }
            }
            if let Some(size) = params.size {
                if let Ok(size) = usize::try_from(size) {
                    assert_eq!(size, f.size, "SIZE differs for {:?}", ctx());
                }
            }
        }
        (Command::Rcpt { to, .. }, Request::Rcpt { to: t }) => match to.mailbox() {
            None => assert_eq!(t.address, "", "Postmaster differs for {:?}", ctx()),
            Some(m) => {
                if let Some(a) = comparable(m) {
                    assert_eq!(a, t.address, "recipient differs for {:?}", ctx());
                }
            }
        },
        (
            Command::Bdat { size, last },
            Request::Bdat {
                chunk_size,
                is_last,
            },
        ) => {
            assert_eq!(
                Ok(*chunk_size),
                usize::try_from(*size),
                "BDAT size differs for {:?}",
                ctx()
            );
            assert_eq!(last, is_last, "LAST differs for {:?}", ctx());
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Some(lf) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..=lf];
        rest = &rest[lf + 1..];
        if !line.ends_with(b"\r\n") {
            continue;
        }
        let ours = codec::decode_command(line);
        let theirs = Request::parse(&mut line.iter());
        if let (Ok((_, o)), Ok(t)) = (&ours, &theirs) {
            compare(o, t, line);
        }
        if let Ok((_, o)) = &ours {
            let mut wire = Vec::new();
            if codec::encode_command(o, &mut wire).is_ok() {
                if let Ok(t) = Request::parse(&mut wire.iter()) {
                    compare(o, &t, &wire);
                }
            }
        }
    }

    // Replies: where both read one, the codes agree.
    if let Ok((_, reply)) = codec::decode_reply(data) {
        let mut rx = ResponseReceiver::default();
        if let Ok(theirs) = rx.parse(&mut data.iter()) {
            assert_eq!(reply.code().get(), theirs.code, "reply code differs");
        }
    }
});
