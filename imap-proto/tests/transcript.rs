//! `codec::transcript`: one direction of an IMAP session decoded from its bytes alone.
//! Known answers, errors with their offsets and the resynchronisation after them, and the
//! same results however the input is cut.

use proptest::prelude::*;
use sansmail_imap::codec::{
    CommandOptions, ResponseOptions,
    frame::{FrameError, FrameLimits},
    transcript::{
        ClientDecoder, ClientItem, ServerDecoder, ServerItem, TranscriptError, TranscriptErrorKind,
    },
};

/// What a decoder found: an item as `Debug` shows it, or an error as it displays.
type Found = Result<String, String>;

/// Feeds `stream` to `decode` cut at `cuts` (ascending offsets), with `more_follows` false
/// for the last piece only, and collects what it finds.
fn feed<F>(stream: &[u8], cuts: &[usize], mut decode: F) -> Vec<Found>
where
    F: FnMut(&[u8], bool) -> (usize, Option<Found>),
{
    let mut found = Vec::new();
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
            match item {
                Some(item) => found.push(item),
                None if consumed == 0 => break,
                None => {}
            }
        }
    }
    assert_eq!(pos, buf.len(), "input left at the end");
    found
}

fn shown<I: std::fmt::Debug>(found: Option<Result<I, TranscriptError>>) -> Option<Found> {
    found.map(|r| r.map(|i| format!("{i:?}")).map_err(|e| e.to_string()))
}

fn client_with(limits: FrameLimits, stream: &[u8], cuts: &[usize]) -> Vec<Found> {
    let mut decoder = ClientDecoder::new(CommandOptions::default(), limits);
    feed(stream, cuts, |input, more| {
        let step = decoder.decode(input, more);
        (step.consumed, shown(step.found))
    })
}

fn client(stream: &[u8], cuts: &[usize]) -> Vec<Found> {
    client_with(FrameLimits::default(), stream, cuts)
}

fn server_with(opts: ResponseOptions, stream: &[u8], cuts: &[usize]) -> Vec<Found> {
    let mut decoder = ServerDecoder::new(opts);
    feed(stream, cuts, |input, more| {
        let step = decoder.decode(input, more);
        (step.consumed, shown(step.found))
    })
}

fn server(stream: &[u8], cuts: &[usize]) -> Vec<Found> {
    server_with(ResponseOptions::default(), stream, cuts)
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

/// What the client decoder shows for the command `message`.
fn command(message: &[u8]) -> String {
    let command = sansmail_imap::codec::parse_command(message, &CommandOptions::default()).unwrap();
    format!("{:?}", ClientItem::Command(command))
}

fn errors(found: &[Found]) -> Vec<&str> {
    found
        .iter()
        .filter_map(|f| f.as_ref().err())
        .map(String::as_str)
        .collect()
}

fn pos(stream: &[u8], needle: &[u8]) -> usize {
    stream
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[test]
fn commands_with_literals_of_every_kind() {
    let stream = b"a1 LOGIN {3}\r\nbob {2+}\r\npw\r\n\
        a2 APPEND INBOX ~{5}\r\n\0\r\n\r\n\r\n\
        a3 APPEND INBOX {12}\r\nx\r\n.\r\nDONE\r\n\r\n\
        a4 NOOP\r\n";
    let found = assert_cut_anywhere(stream, client);
    assert_eq!(
        found,
        [
            Ok(command(b"a1 LOGIN {3}\r\nbob {2+}\r\npw\r\n")),
            Ok(command(b"a2 APPEND INBOX ~{5}\r\n\0\r\n\r\n\r\n")),
            Ok(command(b"a3 APPEND INBOX {12}\r\nx\r\n.\r\nDONE\r\n\r\n")),
            Ok(command(b"a4 NOOP\r\n")),
        ]
    );
    // The literals' octets are in the values.
    let mut decoder = ClientDecoder::default();
    let step = decoder.decode(stream, false);
    let Some(Ok(ClientItem::Command(login))) = step.found else {
        panic!("{step:?}")
    };
    assert_eq!(step.consumed, 28);
    assert!(format!("{login:?}").contains("bob"));
}

#[test]
fn done_after_idle_and_sasl_lines_after_authenticate() {
    let stream = b"a1 IDLE\r\nDONE\r\n\
        a2 AUTHENTICATE PLAIN\r\nAGJvYgBwdw==\r\n\
        a3 AUTHENTICATE PLAIN AGJvYgBwdw==\r\n\
        a4 AUTHENTICATE LOGIN\r\nYm9i\r\ncHc=\r\n\
        a5 AUTHENTICATE LOGIN\r\n*\r\n\
        a6 IDLE\r\na7 NOOP\r\n\
        a8 NOOP\r\n";
    let found = assert_cut_anywhere(stream, client);
    let shapes: Vec<&str> = found
        .iter()
        .map(|f| match f {
            Ok(s) if s.starts_with("Command") => "command",
            Ok(s) if s == "IdleDone" => "done",
            Ok(s) if s.starts_with("SaslResponse(Base64") => "sasl",
            Ok(s) if s == "SaslResponse(Cancel)" => "cancel",
            Ok(s) => panic!("{s}"),
            Err(_) => "error",
        })
        .collect();
    assert_eq!(
        shapes,
        [
            "command", "done", "command", "sasl", "command", "command", "sasl", "sasl", "command",
            "cancel", "command", "error", "command"
        ]
    );
    // After IDLE, the next line is DONE, whatever it holds.
    assert_eq!(
        errors(&found),
        [format!(
            "at byte {}: syntax error: expected DONE CRLF at octet 0",
            pos(stream, b"a7")
        )]
    );
}

#[test]
fn bad_messages_are_reported_where_they_start_and_skipped() {
    let stream = b"a1 NOOP\r\n\
        GARBAGE in the middle\r\n\
        a2 AUTHENTICATE XOAUTH2\r\nnot base64!\r\n\
        a3 NOOP\n\
        a4 SELECT INBOX extra\r\n\
        a5 APPEND INBOX {99999999999}\r\n\
        a6 NOOP\r\n\
        a7 LOGIN {5}\r\nab";
    let found = assert_cut_anywhere(stream, client);
    assert_eq!(
        errors(&found),
        [
            format!(
                "at byte {}: unknown command: expected a command name at octet 8",
                pos(stream, b"GARBAGE")
            ),
            format!(
                "at byte {}: syntax error: expected base64 or \"*\" at octet 0",
                pos(stream, b"not base64")
            ),
            format!("at byte {}: line ends with a bare LF", pos(stream, b"a3")),
            format!(
                "at byte {}: syntax error: expected '(' at octet 16",
                pos(stream, b"a4")
            ),
            format!(
                "at byte {}: literal of 99999999999 octets exceeds the limit of 67108864",
                pos(stream, b"a5")
            ),
            format!(
                "at byte {}: input ends inside a literal or the line after it",
                pos(stream, b"a7")
            ),
        ]
    );
    assert_eq!(found.len(), 9);
    assert_eq!(found[7], Ok(command(b"a6 NOOP\r\n")));
}

#[test]
fn truncated_line_is_an_error() {
    let found = assert_cut_anywhere(b"a1 NOOP\r\na2 NO", client);
    assert_eq!(
        errors(&found),
        ["at byte 9: input ends inside a line (no CRLF)"]
    );
    let found = assert_cut_anywhere(b"a1 IDLE\r\nDO", client);
    assert_eq!(
        errors(&found),
        ["at byte 9: input ends inside a line (no CRLF)"]
    );
}

#[test]
fn overlong_lines_are_reported_once_however_they_arrive() {
    let limits = FrameLimits {
        max_line: 100,
        ..FrameLimits::default()
    };
    let mut stream = b"a1 NOOP\r\na2 SELECT ".to_vec();
    stream.extend_from_slice(&[b'x'; 500]);
    stream.extend_from_slice(b"\r\na3 IDLE\r\n");
    stream.extend_from_slice(&[b'y'; 500]);
    stream.extend_from_slice(b"\r\na4 LOGOUT\r\n");
    let opts = ResponseOptions {
        limits,
        ..ResponseOptions::default()
    };
    let responses = String::from_utf8(stream.clone())
        .unwrap()
        .replace("a1 NOOP", "* 1 EXISTS")
        .replace("a2 SELECT", "* OK")
        .replace("a3 IDLE", "+ idling")
        .replace("a4 LOGOUT", "a4 OK bye");
    for piece in [stream.len(), 30, 1] {
        let cuts: Vec<usize> = (piece..stream.len()).step_by(piece).collect();
        let found = client_with(limits, &stream, &cuts);
        assert_eq!(
            errors(&found),
            [
                "at byte 9: line longer than 100 octets",
                // After IDLE: the DONE line is too long, and IDLE is over.
                "at byte 530: line longer than 100 octets"
            ],
            "pieces of {piece}"
        );
        assert_eq!(found.len(), 5);
        assert_eq!(found[4], Ok(command(b"a4 LOGOUT\r\n")));
        let cuts: Vec<usize> = (piece..responses.len()).step_by(piece).collect();
        let found = server_with(opts, responses.as_bytes(), &cuts);
        assert_eq!(found.len(), 5, "{found:?}");
        assert_eq!(
            found[1],
            Err("at byte 12: line longer than 100 octets".into())
        );
    }
}

#[test]
fn responses_with_literals_a_greeting_among_them() {
    let stream = b"* PREAUTH [CAPABILITY IMAP4rev1] welcome\r\n\
        * 1 FETCH (UID 7 BODY[] {5}\r\nab\r\nc)\r\n\
        * 2 FETCH (BINARY[] ~{3}\r\n\0\r\n)\r\n\
        * OK see {5}\r\n\
        a1 OK done\r\n";
    let found = assert_cut_anywhere(stream, server);
    assert_eq!(found.len(), 5, "{found:?}");
    assert!(
        found
            .iter()
            .all(|f| f.as_ref().unwrap().starts_with("Response("))
    );
    let mut decoder = ServerDecoder::default();
    let step = decoder.decode(&stream[42..], false);
    let Some(Ok(ServerItem::Response(response))) = step.found else {
        panic!("{step:?}")
    };
    assert!(
        format!("{response:?}").contains("ab\\r\\nc"),
        "{response:?}"
    );
    assert!(ServerItem::Response(response).ends_message());
}

#[test]
fn bad_responses_are_reported_where_they_start_and_skipped() {
    let stream = b"* 1 EXISTS\r\ngarbage\r\n* 2 FETCH (BODY[] {2}\r\nab";
    let found = assert_cut_anywhere(stream, server);
    let errors = errors(&found);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("at byte 12: syntax error"),
        "{errors:?}"
    );
    assert_eq!(
        errors[1],
        "at byte 21: input ends inside a literal or the line after it"
    );
}

#[test]
fn error_kinds_are_typed() {
    let mut decoder = ClientDecoder::default();
    let step = decoder.decode(b"a1 NOOP\n", false);
    assert_eq!(step.consumed, 8);
    let Some(Err(e)) = step.found else {
        panic!("{step:?}")
    };
    assert_eq!(e.at, 0);
    assert_eq!(e.kind, TranscriptErrorKind::Frame(FrameError::BareLf));
    assert!(decoder.decode(b"", false).needs_input());
    assert_eq!(decoder.offset(), 8);
}

#[test]
fn trickled_literal_is_scanned_once() {
    // A literal of 4 MB and a line of 60 000 octets, one octet at a time.
    let mut stream = b"a1 APPEND INBOX {4000000}\r\n".to_vec();
    stream.extend(std::iter::repeat_n(b'x', 4_000_000));
    stream.extend_from_slice(b"\r\na2 SELECT ");
    stream.extend(std::iter::repeat_n(b'y', 60_000));
    stream.extend_from_slice(b"\r\n");
    let every: Vec<usize> = (1..stream.len()).collect();
    let found = client(&stream, &every);
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(Result::is_ok));
}

/// Protocol fragments, good and bad, that streams are made of.
const TOKENS: &[&str] = &[
    "a1 NOOP\r\n",
    "a2 LOGIN {3}\r\n",
    "a3 APPEND INBOX {5+}\r\n",
    "~{2}\r\n",
    "bob",
    "a4 IDLE\r\n",
    "DONE\r\n",
    "a5 AUTHENTICATE LOGIN\r\n",
    "Ym9i\r\n",
    "*\r\n",
    "* 1 EXISTS\r\n",
    "* OK x\r\n",
    "* 1 FETCH (BODY[] {2}\r\n",
    ")\r\n",
    "+ go\r\n",
    "a1 OK done\r\n",
    "\r\n",
    "\n",
    "x",
    " ",
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
