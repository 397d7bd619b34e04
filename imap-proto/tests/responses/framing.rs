//! Framing: every strict prefix is incomplete; every split point and byte-at-a-time input
//! gives the same responses as the whole stream.

use sansmail_imap::{
    codec::{
        DecodeError, ResponseDecoder, ResponseOptions, SyntaxError, SyntaxErrorKind,
        decode_response,
        frame::{FrameError, FrameLimits},
    },
    types::response::Response,
};

use super::common::chunkings;

/// A sample of every kind of message, literals included.
pub const SAMPLES: &[&[u8]] = &[
    b"* OK [CAPABILITY IMAP4rev2 AUTH=PLAIN] ready\r\n",
    b"a1 OK [READ-WRITE] SELECT completed\r\n",
    b"a2 NO see {5}\r\n",
    b"+ \r\n",
    b"+ dGVzdA==\r\n",
    b"* 3 EXISTS\r\n",
    b"* 1 RECENT\r\n",
    b"* 7 EXPUNGE\r\n",
    b"* FLAGS (\\Seen \\Answered $Junk)\r\n",
    b"* LIST (\\HasNoChildren) \"/\" {5}\r\nA/B C\r\n",
    b"* STATUS INBOX (MESSAGES 3 UIDNEXT 4)\r\n",
    b"* ESEARCH (TAG \"a\") UID ALL 1:3,5 MODSEQ 9\r\n",
    b"* SEARCH 1 2 (MODSEQ 3)\r\n",
    b"* VANISHED (EARLIER) 1:5\r\n",
    b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n",
    b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n",
    b"* METADATA INBOX (/private/x {3}\r\nabc /shared/y NIL)\r\n",
    b"* 1 FETCH (UID 9 BODY[] {12}\r\nSubject: x\r\n FLAGS (\\Seen))\r\n",
    b"* 2 FETCH (BODY[HEADER] {0}\r\n BODY[TEXT] {3}\r\n{2})\r\n",
    b"* 3 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 21 2 NIL NIL NIL NIL))\r\n",
    b"* BYE Logging out\r\n",
];

fn decode_all(stream: &[u8]) -> Vec<Response<'static>> {
    let opts = ResponseOptions::default();
    let mut out = Vec::new();
    let mut input = stream;
    while !input.is_empty() {
        let (rest, r) = decode_response(input, &opts).unwrap();
        out.push(r.into_owned());
        input = rest;
    }
    out
}

/// The first messages of the corpus.
fn corpus_head(n: usize) -> Vec<&'static [u8]> {
    let corpus: &'static [u8] = include_bytes!("../fixtures/imap-server-stream.txt");
    let opts = ResponseOptions::default();
    let mut out = Vec::new();
    let mut input = corpus;
    while out.len() < n {
        let (rest, _) = decode_response(input, &opts).unwrap();
        out.push(&input[..input.len() - rest.len()]);
        input = rest;
    }
    out
}

#[test]
fn every_strict_prefix_is_incomplete() {
    let opts = ResponseOptions::default();
    for msg in SAMPLES.iter().copied().chain(corpus_head(12)) {
        for i in 0..msg.len() {
            assert_eq!(
                decode_response(&msg[..i], &opts).map(|_| ()),
                Err(DecodeError::Incomplete),
                "prefix {i} of {:?}",
                String::from_utf8_lossy(msg)
            );
        }
        let (rest, _) = decode_response(msg, &opts).unwrap();
        assert!(rest.is_empty());
    }
}

/// Feeds `chunks` into a resumable decoder, one chunk at a time.
fn decode_chunked(chunks: &[&[u8]]) -> Vec<Response<'static>> {
    let mut dec = ResponseDecoder::new(ResponseOptions::default());
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match dec.decode(&buf) {
                Ok((len, r)) => {
                    out.push(r.into_owned());
                    buf.drain(..len);
                }
                Err(DecodeError::Incomplete) => break,
                Err(e) => panic!("{e}"),
            }
        }
    }
    assert!(buf.is_empty());
    out
}

#[test]
fn every_split_and_byte_at_a_time_gives_the_same_responses() {
    let stream = SAMPLES.concat();
    let whole = decode_all(&stream);
    assert_eq!(whole.len(), SAMPLES.len());
    for chunks in chunkings(&stream) {
        assert_eq!(decode_chunked(&chunks), whole);
    }
}

#[test]
fn corpus_byte_at_a_time() {
    let corpus: &[u8] = include_bytes!("../fixtures/imap-server-stream.txt");
    let whole = decode_all(corpus);
    let chunks: Vec<&[u8]> = corpus.chunks(1).collect();
    assert_eq!(decode_chunked(&chunks), whole);
    let chunks: Vec<&[u8]> = corpus.chunks(7).collect();
    assert_eq!(decode_chunked(&chunks), whole);
}

#[test]
fn frame_errors_and_resynchronization() {
    let opts = ResponseOptions {
        limits: FrameLimits {
            max_line: 64,
            ..FrameLimits::default()
        },
        ..ResponseOptions::default()
    };
    let long = [&b"* OK "[..], &[b'x'; 100], b"\r\n* 1 EXISTS\r\n"].concat();
    let err = decode_response(&long, &opts).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Frame {
                error: FrameError::LineTooLong { max: 64 },
                ..
            }
        ),
        "{err:?}"
    );
    let (_, r) = decode_response(&long[err.skip()..], &opts).unwrap();
    assert_eq!(
        r,
        super::common::data(sansmail_imap::types::response::Data::Exists(1))
    );

    let bare = b"* 1 EXISTS\n* 2 EXISTS\r\n";
    let err = decode_response(bare, &opts).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Frame {
                error: FrameError::BareLf,
                skip: 11
            }
        ),
        "{err:?}"
    );

    // A syntax error reports where, and how much to skip.
    let bad = b"* 1 EXIST\r\n* 2 EXISTS\r\n";
    let err = decode_response(bad, &opts).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Syntax {
            error: SyntaxError {
                kind: SyntaxErrorKind::Syntax,
                tag: None,
                offset: 4,
                expected: "EXISTS, RECENT, EXPUNGE or FETCH",
            },
            skip: 11
        }
    );
    assert!(decode_response(&bad[err.skip()..], &opts).is_ok());
}
