//! `codec::transcript`: one direction of an SMTP session decoded from its bytes alone.
//! Known answers, errors with their offsets and the resynchronisation after them, and the
//! same results however the input is cut.

use proptest::prelude::*;
use sansmail_smtp::{
    Command, DecodeError, Limits,
    codec::{
        ReplyLimits,
        transcript::{
            ClientDecoder, ClientItem, ServerDecoder, ServerItem, Step, TranscriptError,
            TranscriptErrorKind,
        },
    },
};

/// What a decoder found, owned, with the pieces of a payload joined.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// An item, as `Debug` shows it.
    Item(String),
    /// Consecutive pieces of message data or of a BDAT chunk.
    Data(Vec<u8>),
    /// An error.
    Error(TranscriptError),
}

/// Feeds `stream` to `decode` cut at `cuts` (ascending offsets), with `more_follows` false
/// for the last piece only, and collects what it finds.
fn feed<F>(stream: &[u8], cuts: &[usize], mut decode: F) -> Vec<Found>
where
    F: FnMut(&[u8], bool) -> (usize, Option<Result<Found, TranscriptError>>),
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
        let more_follows = i + 1 < ends.len();
        loop {
            let (consumed, item) = decode(&buf[pos..], more_follows);
            pos += consumed;
            match (item, found.last_mut()) {
                (Some(Ok(Found::Data(d))), Some(Found::Data(last))) => last.extend_from_slice(&d),
                (Some(item), _) => found.push(item.unwrap_or_else(Found::Error)),
                (None, _) if consumed == 0 => break,
                (None, _) => {}
            }
        }
    }
    assert_eq!(pos, buf.len(), "input left at the end");
    found
}

fn client_found(step: Step<ClientItem<'_>>) -> (usize, Option<Result<Found, TranscriptError>>) {
    let found = step.found.map(|r| {
        r.map(|item| match item {
            ClientItem::Data(d) | ClientItem::Chunk(d) => Found::Data(d.to_vec()),
            other => Found::Item(format!("{other:?}")),
        })
    });
    (step.consumed, found)
}

fn client(stream: &[u8], cuts: &[usize]) -> Vec<Found> {
    client_with(Limits::default(), stream, cuts)
}

fn client_with(limits: Limits, stream: &[u8], cuts: &[usize]) -> Vec<Found> {
    let mut decoder = ClientDecoder::new(limits);
    feed(stream, cuts, |input, more| {
        client_found(decoder.decode(input, more))
    })
}

fn server(stream: &[u8], cuts: &[usize]) -> Vec<Found> {
    server_with(ReplyLimits::default(), stream, cuts)
}

fn server_with(limits: ReplyLimits, stream: &[u8], cuts: &[usize]) -> Vec<Found> {
    let mut decoder = ServerDecoder::new(limits);
    feed(stream, cuts, |input, more| {
        let step = decoder.decode(input, more);
        let found = step
            .found
            .map(|r| r.map(|item| Found::Item(format!("{item:?}"))));
        (step.consumed, found)
    })
}

fn item(item: &ClientItem<'_>) -> Found {
    Found::Item(format!("{item:?}"))
}

fn command(line: &[u8]) -> Found {
    let (_, command) = sansmail_smtp::codec::decode_command(line).unwrap();
    item(&ClientItem::Command(command))
}

fn error(at: usize, kind: impl Into<TranscriptErrorKind>) -> Found {
    Found::Error(TranscriptError {
        at: at as u64,
        kind: kind.into(),
    })
}

fn pos(stream: &[u8], needle: &[u8]) -> usize {
    stream
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

/// Every split point, and one octet at a time, give what the whole stream gives.
fn assert_cut_anywhere(stream: &[u8], decode: fn(&[u8], &[usize]) -> Vec<Found>) -> Vec<Found> {
    let whole = decode(stream, &[]);
    for at in 0..=stream.len() {
        assert_eq!(decode(stream, &[at]), whole, "cut at {at}");
    }
    let every: Vec<usize> = (1..stream.len()).collect();
    assert_eq!(decode(stream, &every), whole, "one octet at a time");
    whole
}

#[test]
fn data_ends_only_at_crlf_dot_crlf() {
    // A stuffed dot, a line that is a lone (stuffed) dot, a dot followed by text, and
    // `CRLF.CRLF` inside a BDAT chunk: none ends anything early.
    let stream = b"MAIL FROM:<a@b.example>\r\nDATA\r\n..hidden\r\n..\r\n. x\r\nend\r\n.\r\n\
        BDAT 9\r\nab\r\n.\r\ncdBDAT 0 LAST\r\nQUIT\r\n";
    let found = assert_cut_anywhere(stream, client);
    assert_eq!(
        found,
        [
            command(b"MAIL FROM:<a@b.example>\r\n"),
            command(b"DATA\r\n"),
            Found::Data(b".hidden\r\n.\r\n x\r\nend\r\n".to_vec()),
            item(&ClientItem::DataEnd { size: 21 }),
            command(b"BDAT 9\r\n"),
            Found::Data(b"ab\r\n.\r\ncd".to_vec()),
            item(&ClientItem::ChunkEnd),
            command(b"BDAT 0 LAST\r\n"),
            item(&ClientItem::ChunkEnd),
            command(b"QUIT\r\n"),
        ]
    );
}

#[test]
fn data_with_end_marker_lookalikes_is_refused_at_its_start() {
    // `LF.LF`, `LF.CRLF` and `CRLF.LF` (SMTP smuggling) do not end the data; the bare line
    // endings refuse it, once, at the real end.
    let stream = b"DATA\r\na\n.\nRCPT TO:<x@y.example>\n.\r\nb\r\n.\nc\r\n.\r\nNOOP\r\n";
    let found = assert_cut_anywhere(stream, client);
    assert_eq!(
        found,
        [
            command(b"DATA\r\n"),
            Found::Data(b"a\n.\nRCPT TO:<x@y.example>\n.\r\nb\r\n.\nc\r\n".to_vec()),
            error(6, TranscriptErrorKind::BareLineEndingInData),
            command(b"NOOP\r\n"),
        ]
    );
}

#[test]
fn data_limits() {
    let mut limits = Limits::default();
    limits.max_message_size = 4;
    let found = client_with(limits, b"DATA\r\n123456\r\n.\r\nQUIT\r\n", &[]);
    assert_eq!(
        found[2],
        error(6, TranscriptErrorKind::DataTooLarge { max: 4 })
    );
    assert_eq!(found[3], command(b"QUIT\r\n"));
    let mut limits = Limits::default();
    limits.max_text_line = Some(5);
    let found = client_with(limits, b"DATA\r\n123456\r\n.\r\nQUIT\r\n", &[]);
    assert_eq!(
        found[2],
        error(6, TranscriptErrorKind::DataLineTooLong { max: 5 })
    );
}

#[test]
fn sasl_lines_follow_auth() {
    let stream = b"AUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\n\
        AUTH PLAIN AGEAYg==\r\n\
        AUTH PLAIN\r\n*\r\n\
        AUTH LOGIN dXNlcg==\r\ncGFzcw==\r\n\
        AUTH LOGIN\r\n*\r\n\
        AUTH XOAUTH2\r\nbm90IGJhc2U2NA==\r\nQUIT\r\n";
    let found = assert_cut_anywhere(stream, client);
    let sasl = |data: Option<&[u8]>| {
        item(&ClientItem::SaslResponse(
            data.map(|d| sansmail_smtp::Secret::new(d.to_vec())),
        ))
    };
    assert_eq!(
        found,
        [
            command(b"AUTH LOGIN\r\n"),
            sasl(Some(b"user")),
            sasl(Some(b"pass")),
            command(b"AUTH PLAIN AGEAYg==\r\n"),
            command(b"AUTH PLAIN\r\n"),
            sasl(None),
            command(b"AUTH LOGIN dXNlcg==\r\n"),
            sasl(Some(b"pass")),
            command(b"AUTH LOGIN\r\n"),
            // `*` ends the exchange at once.
            sasl(None),
            command(b"AUTH XOAUTH2\r\n"),
            sasl(Some(b"not base64")),
            command(b"QUIT\r\n"),
        ]
    );
    // The decoded values, not only their shape.
    let mut decoder = ClientDecoder::default();
    let _ = decoder.decode(b"AUTH LOGIN\r\n", true);
    let step = decoder.decode(b"dXNlcg==\r\n", true);
    let Some(Ok(ClientItem::SaslResponse(Some(data)))) = step.found else {
        panic!("{step:?}")
    };
    assert_eq!(data.expose(), b"user");
}

#[test]
fn bad_lines_are_reported_where_they_start_and_skipped() {
    let stream = b"EHLO a.example\r\n\
        MAIL FROM:<a@b.example> SIZE=x\r\n\
        bare LF\n\
        AUTH XOAUTH2\r\nnot base64!\r\n\
        GARBAGE\r\n\
        QUIT\r\nBDAT 10\r\nabc";
    let found = assert_cut_anywhere(stream, client);
    assert_eq!(
        found,
        [
            command(b"EHLO a.example\r\n"),
            error(
                pos(stream, b"MAIL"),
                DecodeError::Syntax {
                    at: 24,
                    expected: "SIZE=1*20DIGIT"
                }
            ),
            error(pos(stream, b"bare"), DecodeError::BareLineEnding),
            command(b"AUTH XOAUTH2\r\n"),
            error(
                pos(stream, b"not base64"),
                DecodeError::Syntax {
                    at: 0,
                    expected: "base64 or '*'"
                }
            ),
            error(pos(stream, b"GARBAGE"), DecodeError::UnknownCommand),
            command(b"QUIT\r\n"),
            command(b"BDAT 10\r\n"),
            Found::Data(b"abc".to_vec()),
            error(
                stream.len() - 3,
                TranscriptErrorKind::UnterminatedChunk {
                    received: 3,
                    size: 10
                }
            ),
        ]
    );
    assert_eq!(
        found[1].clone(),
        error(
            16,
            DecodeError::Syntax {
                at: 24,
                expected: "SIZE=1*20DIGIT"
            }
        )
    );
}

#[test]
fn truncated_input_is_an_error_not_a_hang() {
    assert_eq!(
        assert_cut_anywhere(b"NOOP\r\nQUI", client),
        [
            command(b"NOOP\r\n"),
            error(6, TranscriptErrorKind::UnterminatedLine)
        ]
    );
    assert_eq!(
        assert_cut_anywhere(b"DATA\r\nab\r\n.", client),
        [
            command(b"DATA\r\n"),
            Found::Data(b"ab\r\n".to_vec()),
            error(6, TranscriptErrorKind::UnterminatedData)
        ]
    );
    assert_eq!(assert_cut_anywhere(b"", client), []);
}

#[test]
fn overlong_line_is_reported_once_however_it_arrives() {
    let mut stream = b"NOOP\r\nVRFY ".to_vec();
    stream.extend_from_slice(&[b'x'; 5000]);
    stream.extend_from_slice(b"\r\nQUIT\r\n");
    let expected = [
        command(b"NOOP\r\n"),
        error(6, DecodeError::LineTooLong { max: 512 }),
        command(b"QUIT\r\n"),
    ];
    for piece in [stream.len(), 100, 7, 1] {
        let cuts: Vec<usize> = (piece..stream.len()).step_by(piece).collect();
        assert_eq!(client(&stream, &cuts), expected, "pieces of {piece}");
    }
}

#[test]
fn trickled_input_is_scanned_once() {
    // A SASL line of a megabyte and a message of 200 000 octets, one octet at a time:
    // rescanning the line on every call would take hours.
    let mut limits = Limits::default();
    limits.max_sasl_line = 2_000_000;
    let mut stream = b"AUTH PLAIN\r\n".to_vec();
    stream.extend(std::iter::repeat_n(b'A', 1_000_000));
    stream.extend_from_slice(b"\r\nDATA\r\n");
    for _ in 0..2000 {
        stream.extend_from_slice(&[b'y'; 98]);
        stream.extend_from_slice(b"\r\n");
    }
    stream.extend_from_slice(b".\r\n");
    let every: Vec<usize> = (1..stream.len()).collect();
    let found = client_with(limits, &stream, &every);
    assert_eq!(found.len(), 5, "{:?}", &found[..found.len().min(6)]);
    assert_eq!(found[4], item(&ClientItem::DataEnd { size: 200_000 }));
}

#[test]
fn offsets_count_the_whole_stream() {
    let mut decoder = ClientDecoder::default();
    let stream = b"NOOP\r\nNOPE\r\n";
    let step = decoder.decode(stream, false);
    assert_eq!((step.consumed, decoder.offset()), (6, 6));
    let step = decoder.decode(&stream[6..], false);
    let Some(Err(e)) = step.found else {
        panic!("{step:?}")
    };
    assert_eq!(e.to_string(), "at byte 6: unrecognized command");
    assert!(decoder.decode(&[], false).needs_input());
}

#[test]
fn items_that_end_messages() {
    assert!(ClientItem::Command(Command::Quit).ends_message());
    assert!(ClientItem::DataEnd { size: 0 }.ends_message());
    assert!(ClientItem::ChunkEnd.ends_message());
    assert!(!ClientItem::Data(b"x").ends_message());
    assert!(!ClientItem::Chunk(b"x").ends_message());
}

#[test]
fn replies_single_and_multi_line() {
    let stream = b"220 mx.example ESMTP\r\n250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n\
        354 \r\n250 2.0.0 ok\r\n";
    let found = assert_cut_anywhere(stream, server);
    assert_eq!(found.len(), 4);
    let mut decoder = ServerDecoder::default();
    let _ = decoder.decode(stream, false);
    let step = decoder.decode(&stream[22..], false);
    let Some(Ok(ServerItem::Reply(reply))) = step.found else {
        panic!("{step:?}")
    };
    assert_eq!(reply.code().get(), 250);
    assert!(reply.lines().eq(["mx.example", "PIPELINING", "SIZE 1000"]));
    assert!(ServerItem::Reply(reply).ends_message());
}

#[test]
fn bad_replies_are_reported_where_they_start_and_skipped() {
    // Offsets: 0 "220", 8 "garbage", 17 "250-a", 24 "251 c", 31 "250 x", 38 "354".
    let stream = b"220 ok\r\ngarbage\r\n250-a\r\n251 c\r\n250 x\r\n354 no crlf";
    let found = assert_cut_anywhere(stream, server);
    let errors: Vec<_> = found
        .iter()
        .filter_map(|f| match f {
            Found::Error(e) => Some(e.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        [
            "at byte 8: expected a reply code",
            "at byte 17: syntax error at byte 7: expected the same reply code on every line",
            "at byte 38: input ends inside a reply",
        ]
    );
    assert_eq!(found.len(), 5);
}

#[test]
fn overlong_or_too_many_reply_lines_are_one_error() {
    let mut stream = b"250-ok\r\n250-".to_vec();
    stream.extend_from_slice(&[b'x'; 5000]);
    stream.extend_from_slice(b"\r\n250 end\r\n221 bye\r\n");
    for piece in [stream.len(), 100, 1] {
        let cuts: Vec<usize> = (piece..stream.len()).step_by(piece).collect();
        let found = server(&stream, &cuts);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0], error(0, DecodeError::LineTooLong { max: 4096 }));
    }
    let mut stream = b"250-line\r\n".repeat(300);
    stream.extend_from_slice(b"250 last\r\n221 bye\r\n");
    let found = server_with(ReplyLimits::default(), &stream, &[64]);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0], error(0, DecodeError::ReplyTooLarge));
}

/// Under `any_text` the transcript frames replies whose lines end in LF alone as the
/// client's session reads them, whatever the cuts; strict, each such line is an error.
#[test]
fn lenient_reply_lines_frame_as_the_session_reads_them() {
    let stream = b"250-a\n250 b\r\n221 bye\n";
    let limits = ReplyLimits {
        any_text: true,
        ..ReplyLimits::default()
    };
    let (_, first) = sansmail_smtp::codec::decode_reply_with(stream, limits).unwrap();
    for piece in [stream.len(), 3, 1] {
        let cuts: Vec<usize> = (piece..stream.len()).step_by(piece).collect();
        let found = server_with(limits, stream, &cuts);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            found[0],
            Found::Item(format!("{:?}", ServerItem::Reply(first.clone())))
        );
    }
    let strict = server(stream, &[]);
    assert!(matches!(&strict[0], Found::Error(_)), "{strict:?}");
}

/// Protocol fragments, good and bad, that streams are made of.
const TOKENS: &[&str] = &[
    "EHLO a.example\r\n",
    "MAIL FROM:<a@b.example>\r\n",
    "DATA\r\n",
    "BDAT 5\r\n",
    "BDAT 0 LAST\r\n",
    "AUTH LOGIN\r\n",
    "AUTH PLAIN\r\n",
    "dXNlcg==\r\n",
    "*\r\n",
    "QUIT\r\n",
    ".\r\n",
    "..x\r\n",
    "\r\n",
    "\n",
    "\r",
    ".",
    "x",
    "250-a\r\n",
    "250 b\r\n",
    "251 c\r\n",
    "garbage\r\n",
    "{5}\r\n",
];

proptest! {
    #[test]
    fn any_stream_cut_anywhere_decodes_the_same(
        tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..40),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let stream = tokens.concat().into_bytes();
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(client(&stream, &cuts), client(&stream, &[]));
        prop_assert_eq!(server(&stream, &cuts), server(&stream, &[]));
    }
}
