//! `codec::transcript`: one direction of a POP3 session decoded from its bytes alone, the
//! server's together with the client's. Known answers, errors with their offsets and the
//! resynchronisation after them, and the same results however the input is cut.

use proptest::prelude::*;
use sansmail_pop3::{
    DecodeError, Limits,
    codec::transcript::{
        ClientDecoder, ClientItem, ServerDecoder, ServerItem, TranscriptError, TranscriptErrorKind,
    },
};

/// What a decoder found, owned, with the pieces of message content joined.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// An item, as `Debug` shows it.
    Item(String),
    /// Consecutive pieces of message content.
    Content(Vec<u8>),
    /// An error.
    Error(TranscriptError),
}

/// Feeds `stream` to `decode` cut at `cuts` (ascending offsets), with `more_follows` false
/// for the last piece only, and collects what it finds.
fn feed<F>(stream: &[u8], cuts: &[usize], mut decode: F) -> Vec<Found>
where
    F: FnMut(&[u8], bool) -> (usize, Option<Found>),
{
    let mut found: Vec<Found> = Vec::new();
    let (mut buf, mut pos, mut fed) = (Vec::new(), 0, 0);
    let ends = cuts
        .iter()
        .copied()
        .chain([stream.len()])
        .collect::<Vec<_>>();
    for (i, &end) in ends.iter().enumerate() {
        buf.extend_from_slice(&stream[fed..end]);
        fed = end;
        loop {
            let (consumed, item) = decode(&buf[pos..], i + 1 < ends.len());
            pos += consumed;
            match (item, found.last_mut()) {
                (Some(Found::Content(d)), Some(Found::Content(last))) => last.extend_from_slice(&d),
                // How much content passed before the error depends on where the input was
                // cut: the error stands for all of it.
                (Some(e @ Found::Error(_)), Some(Found::Content(_))) => {
                    found.pop();
                    found.push(e);
                }
                (Some(item), _) => found.push(item),
                (None, _) if consumed == 0 => break,
                (None, _) => {}
            }
        }
    }
    assert_eq!(pos, buf.len(), "input left at the end");
    found
}

fn client(stream: &[u8], cuts: &[usize]) -> Vec<Found> {
    let mut decoder = ClientDecoder::default();
    feed(stream, cuts, |input, more| {
        let step = decoder.decode(input, more);
        let found = step.found.map(|r| match r {
            Ok(item) => Found::Item(format!("{item:?}")),
            Err(e) => Found::Error(e),
        });
        (step.consumed, found)
    })
}

fn server(client: &[u8], stream: &[u8], cuts: &[usize]) -> Vec<Found> {
    server_with(Limits::default(), client, stream, cuts)
}

fn server_with(limits: Limits, client: &[u8], stream: &[u8], cuts: &[usize]) -> Vec<Found> {
    let mut decoder = ServerDecoder::new(client.to_vec(), limits);
    feed(stream, cuts, |input, more| {
        let step = decoder.decode(input, more);
        let found = step.found.map(|r| match r {
            Ok(ServerItem::Content(piece)) => Found::Content(piece.to_vec()),
            Ok(item) => Found::Item(format!("{item:?}")),
            Err(e) => Found::Error(e),
        });
        (step.consumed, found)
    })
}

/// Every split point, and one octet at a time, give what the whole stream gives.
fn assert_cut_anywhere(
    stream: &[u8],
    decode: impl Fn(&[u8], &[usize]) -> Vec<Found>,
) -> Vec<Found> {
    let whole = decode(stream, &[]);
    for at in 0..=stream.len() {
        assert_eq!(decode(stream, &[at]), whole, "cut at {at}");
    }
    let every: Vec<usize> = (1..stream.len()).collect();
    assert_eq!(decode(stream, &every), whole, "one octet at a time");
    whole
}

fn error(at: usize, kind: impl Into<TranscriptErrorKind>) -> Found {
    Found::Error(TranscriptError {
        at: at as u64,
        kind: kind.into(),
    })
}

/// The shape of each thing found: the item's variant, `content`, or `error`.
fn shapes(found: &[Found]) -> Vec<&str> {
    found
        .iter()
        .map(|f| match f {
            Found::Item(s) => s.split(['(', ' ']).next().unwrap_or_default(),
            Found::Content(_) => "content",
            Found::Error(_) => "error",
        })
        .collect()
}

fn pos(stream: &[u8], needle: &[u8]) -> usize {
    stream
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[test]
fn whether_a_reply_is_multi_line_depends_on_the_command() {
    let client = b"CAPA\r\nLIST\r\nLIST 1\r\nUIDL\r\nLANG\r\nRETR 1\r\nTOP 1 0\r\nRETR 9\r\nSTAT\r\nQUIT\r\n";
    let stream = b"+OK hi\r\n\
        +OK caps\r\nTOP\r\nSASL PLAIN LOGIN\r\n.\r\n\
        +OK\r\n1 10\r\n2 20\r\n.\r\n\
        +OK 1 10\r\n\
        +OK\r\n1 abc\r\n.\r\n\
        +OK\r\nen English\r\n.\r\n\
        +OK 12 octets\r\n..a\r\n..\r\n\r\n.\r\n\
        +OK\r\nSubject: x\r\n\r\n.\r\n\
        -ERR no such message\r\n\
        +OK 2 30\r\n\
        +OK bye\r\n";
    let found = assert_cut_anywhere(stream, |s, c| server(client, s, c));
    assert_eq!(
        shapes(&found),
        [
            "Response",
            "MultiLineStart",
            "Capability",
            "Capability",
            "MultiLineEnd",
            "MultiLineStart",
            "ScanListing",
            "ScanListing",
            "MultiLineEnd",
            "Response",
            "MultiLineStart",
            "UniqueIdListing",
            "MultiLineEnd",
            "MultiLineStart",
            "Language",
            "MultiLineEnd",
            "MultiLineStart",
            "content",
            "MultiLineEnd",
            "MultiLineStart",
            "content",
            "MultiLineEnd",
            "Response",
            "Response",
            "Response",
        ]
    );
    // Content is unstuffed: a lone dot and a blank line inside do not end it.
    assert_eq!(found[17], Found::Content(b".a\r\n.\r\n\r\n".to_vec()));
    // The listing lines are parsed.
    let mut decoder = ServerDecoder::new(b"LIST\r\n".to_vec(), Limits::default());
    let _ = decoder.decode(b"+OK hi\r\n", true);
    let _ = decoder.decode(b"+OK\r\n1 10\r\n.\r\n", true);
    let step = decoder.decode(b"1 10\r\n.\r\n", true);
    let Some(Ok(ServerItem::ScanListing(listing))) = step.found else {
        panic!("{step:?}")
    };
    assert_eq!((listing.msg.get(), listing.size), (1, 10));
    assert!(!ServerItem::ScanListing(listing).ends_message());
    assert!(ServerItem::MultiLineEnd.ends_message());
}

#[test]
fn sasl_challenges_take_the_clients_lines() {
    let client = b"AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n\
        AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n\
        CAPA\r\nQUIT\r\nSTAT\r\n";
    let stream = b"+OK hi\r\n\
        + \r\n+OK in\r\n\
        + VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n-ERR no\r\n\
        +OK\r\nUSER\r\n.\r\n\
        +OK bye\r\n\
        +OK again\r\n+OK 1 2\r\n+OK extra\r\n";
    let found = assert_cut_anywhere(stream, |s, c| server(client, s, c));
    assert_eq!(
        shapes(&found),
        [
            "Response",
            "Challenge",
            "Response",
            "Challenge",
            "Challenge",
            "Response",
            "MultiLineStart",
            "Capability",
            "MultiLineEnd",
            "Response",
            // After QUIT's answer, the next session's greeting.
            "Response",
            "Response",
            "error",
        ]
    );
    assert_eq!(
        found[12],
        error(
            pos(stream, b"+OK extra"),
            TranscriptErrorKind::ReplyWithoutCommand
        )
    );
}

#[test]
fn bad_replies_are_reported_where_they_start_and_skipped() {
    let client = b"LIST\r\nbogus\r\nRETR 1\r\nCAPA\r\nUIDL\r\nNOOP\r\n";
    let stream = b"+OK hi\r\n\
        +OK\r\n1 10\r\nx y\r\n3 30\r\n.\r\n\
        -ERR what\r\n\
        +OK 5 octets\r\nbare\nLF\r\n.\r\n\
        +OK \x01\r\nTOP\r\n.\r\n\
        +OK\r\n1 abc\r\n.\r\n\
        +OK";
    let found = assert_cut_anywhere(stream, |s, c| server(client, s, c));
    let errors: Vec<_> = found
        .iter()
        .filter_map(|f| match f {
            Found::Error(e) => Some(*e),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        [
            TranscriptError {
                at: pos(stream, b"+OK\r\n1 10") as u64,
                kind: TranscriptErrorKind::Listing {
                    command: "LIST",
                    line: 2,
                    error: DecodeError::Syntax {
                        at: 0,
                        expected: "message number"
                    }
                }
            },
            TranscriptError {
                at: pos(stream, b"+OK 5") as u64,
                kind: TranscriptErrorKind::BareLineEndingInContent
            },
            TranscriptError {
                at: pos(stream, b"+OK \x01") as u64,
                kind: TranscriptErrorKind::Decode(DecodeError::Syntax {
                    at: 4,
                    expected: "text of printable characters"
                })
            },
            TranscriptError {
                at: (stream.len() - 3) as u64,
                kind: TranscriptErrorKind::UnterminatedLine
            },
        ],
        "{found:?}"
    );
    assert_eq!(
        shapes(&found),
        [
            "Response",
            "MultiLineStart",
            "ScanListing",
            "error",
            "Response",
            "MultiLineStart",
            "error",
            "error",
            "MultiLineStart",
            "UniqueIdListing",
            "MultiLineEnd",
            "error"
        ]
    );
}

#[test]
fn truncated_and_overlong_bodies() {
    let found = assert_cut_anywhere(b"+OK hi\r\n+OK 2 octets\r\nab\r\n", |s, c| {
        server(b"RETR 1\r\n", s, c)
    });
    assert_eq!(
        found,
        [
            Found::Item("Response(Response { status: Ok, code: None, text: Some(Text(\"hi\")) })".into()),
            Found::Item("MultiLineStart(Response { status: Ok, code: None, text: Some(Text(\"2 octets\")) })".into()),
            error(8, TranscriptErrorKind::UnterminatedBody),
        ]
    );
    // A listing line longer than the response line limit, whole or not yet ended.
    let mut long = b"+OK hi\r\n+OK\r\nSASL ".to_vec();
    long.extend_from_slice(&[b'A'; 600]);
    long.extend_from_slice(b"\r\n.\r\n+OK bye\r\n");
    for cuts in [vec![], vec![300], (1..long.len()).collect()] {
        let found = server(b"CAPA\r\nQUIT\r\n", &long, &cuts);
        assert_eq!(
            shapes(&found),
            ["Response", "MultiLineStart", "error", "Response"]
        );
        assert_eq!(
            found[2],
            error(
                8,
                TranscriptErrorKind::Listing {
                    command: "CAPA",
                    line: 1,
                    error: DecodeError::LineTooLong { max: 512 }
                }
            )
        );
    }
}

#[test]
fn client_lines_of_every_kind() {
    let stream = b"CAPA\r\nAUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n\
        AUTH LOGIN\r\nYWxpY2U=\r\n*\r\nAUTH\r\nbogus\r\nLIST 0\r\nQUIT";
    let found = assert_cut_anywhere(stream, client);
    assert_eq!(
        shapes(&found),
        [
            "Command",
            "Command",
            "SaslResponse",
            "Command",
            "SaslResponse",
            "SaslResponse",
            "Command",
            "error",
            "error",
            "error"
        ]
    );
    assert_eq!(found[7], error(71, DecodeError::UnknownCommand));
    assert_eq!(
        found[8],
        error(
            78,
            DecodeError::Syntax {
                at: 5,
                expected: "message number from 1 to 4294967295"
            }
        )
    );
    assert_eq!(found[9], error(86, TranscriptErrorKind::UnterminatedLine));
    let mut decoder = ClientDecoder::default();
    let _ = decoder.decode(b"AUTH PLAIN\r\n", true);
    let step = decoder.decode(b"AGFsaWNlAHNlY3JldA==\r\n", true);
    let Some(Ok(ClientItem::SaslResponse(Some(data)))) = step.found else {
        panic!("{step:?}")
    };
    assert_eq!(data.expose(), b"\0alice\0secret");
}

#[test]
fn overlong_command_line_is_reported_once_however_it_arrives() {
    let mut stream = b"NOOP\r\nUSER ".to_vec();
    stream.extend_from_slice(&[b'x'; 500]);
    stream.extend_from_slice(b"\r\nQUIT\r\n");
    for piece in [stream.len(), 30, 1] {
        let cuts: Vec<usize> = (piece..stream.len()).step_by(piece).collect();
        let found = client(&stream, &cuts);
        assert_eq!(shapes(&found), ["Command", "error", "Command"]);
        assert_eq!(found[1], error(6, DecodeError::LineTooLong { max: 255 }));
    }
}

#[test]
fn trickled_content_is_scanned_once() {
    let mut stream = b"+OK hi\r\n+OK\r\n".to_vec();
    for _ in 0..20_000 {
        stream.extend_from_slice(b".some line of content\r\n");
    }
    stream.extend_from_slice(b".\r\n");
    let every: Vec<usize> = (1..stream.len()).collect();
    let found = server(b"RETR 1\r\n", &stream, &every);
    assert_eq!(
        shapes(&found),
        ["Response", "MultiLineStart", "content", "MultiLineEnd"]
    );
    assert_eq!(
        found[2],
        Found::Content(b"some line of content\r\n".repeat(20_000))
    );
}

/// Protocol fragments, good and bad, that streams are made of.
const TOKENS: &[&str] = &[
    "+OK hi\r\n",
    "+OK\r\n",
    "-ERR no\r\n",
    "+ \r\n",
    "+ VXNlcg==\r\n",
    "1 10\r\n",
    "2 abc\r\n",
    "SASL PLAIN\r\n",
    "en English\r\n",
    ".\r\n",
    "..x\r\n",
    "\r\n",
    "\n",
    "\r",
    ".",
    "x",
    " ",
];

/// Client streams the server streams answer.
const CLIENTS: &[&str] = &[
    "CAPA\r\nLIST\r\nUIDL\r\nLANG\r\nRETR 1\r\nTOP 1 2\r\nSTAT\r\nQUIT\r\nLIST\r\n",
    "AUTH PLAIN\r\nAGEAYg==\r\nAUTH LOGIN\r\nYQ==\r\nYg==\r\nRETR 1\r\nbogus\r\nQUIT\r\nCAPA\r\n",
    "RETR 1\r\nRETR 2\r\nRETR 3\r\nRETR 4\r\n",
];

proptest! {
    #[test]
    fn any_stream_cut_anywhere_decodes_the_same(
        tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..40),
        commands in proptest::sample::select(CLIENTS),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let stream = tokens.concat().into_bytes();
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        let commands = commands.as_bytes();
        prop_assert_eq!(server(commands, &stream, &cuts), server(commands, &stream, &[]));
        prop_assert_eq!(client(&stream, &cuts), client(&stream, &[]));
    }
}
