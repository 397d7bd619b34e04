//! `protodump`: the binary end to end, and the SMTP, IMAP and POP3 stream decoders fed in
//! arbitrary pieces.

use std::{
    io::{self, Read, Write},
    process::{Command, Output, Stdio},
};

use examples::protodump::{
    StreamDecoder, Summary, dump, imap, pop3,
    smtp::{ClientDecoder, ServerDecoder},
};

const CLIENT: &[u8] = include_bytes!("fixtures/smtp-client-stream.txt");
const SERVER: &[u8] = include_bytes!("fixtures/smtp-server-stream.txt");
const IMAP_CLIENT: &[u8] = include_bytes!("fixtures/imap-client-stream.txt");
const IMAP_SERVER: &[u8] = include_bytes!("fixtures/imap-server-stream.txt");
const POP3_CLIENT: &[u8] = include_bytes!("fixtures/pop3-client-stream.txt");
const POP3_SERVER: &[u8] = include_bytes!("fixtures/pop3-server-stream.txt");

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn protodump(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_protodump"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn protodump");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        // Write from another thread so a full stdout pipe cannot deadlock the test.
        std::thread::spawn(move || pipe.write_all(&input).expect("write stdin"));
    }
    child.wait_with_output().expect("wait for protodump")
}

fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn last_stderr_line(output: &Output) -> String {
    stderr_lines(output).pop().unwrap_or_default()
}

/// Inserts `extra` after the `nth` occurrence of `after` (which must end at a message
/// boundary); returns the new stream and the offset of `extra` in it.
fn insert_after(stream: &[u8], after: &[u8], nth: usize, extra: &[u8]) -> (Vec<u8>, usize) {
    let at = stream
        .windows(after.len())
        .enumerate()
        .filter(|(_, w)| *w == after)
        .nth(nth)
        .map(|(i, _)| i + after.len())
        .expect("marker in the stream");
    let mut out = stream[..at].to_vec();
    out.extend_from_slice(extra);
    out.extend_from_slice(&stream[at..]);
    (out, at)
}

#[test]
fn client_corpus_round_trips() {
    let output = protodump(
        &["smtp", "client", &fixture("smtp-client-stream.txt")],
        None,
    );
    assert!(output.stdout == CLIENT, "re-encoded client stream differs");
    assert_eq!(last_stderr_line(&output), "2861 messages, 0 errors");
    assert_eq!(stderr_lines(&output).len(), 1);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn server_corpus_round_trips() {
    let output = protodump(
        &["smtp", "server", &fixture("smtp-server-stream.txt")],
        None,
    );
    assert!(output.stdout == SERVER, "re-encoded server stream differs");
    assert_eq!(last_stderr_line(&output), "3141 messages, 0 errors");
    assert_eq!(stderr_lines(&output).len(), 1);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn reads_stdin_without_file_or_with_dash() {
    for args in [&["smtp", "client"][..], &["smtp", "client", "-"]] {
        let output = protodump(args, Some(CLIENT));
        assert!(output.stdout == CLIENT, "re-encoded client stream differs");
        assert_eq!(last_stderr_line(&output), "2861 messages, 0 errors");
        assert_eq!(output.status.code(), Some(0));
    }
    let output = protodump(&["smtp", "server"], Some(SERVER));
    assert!(output.stdout == SERVER, "re-encoded server stream differs");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn client_garbage_line_is_reported_and_skipped() {
    // After the 150th QUIT: between two sessions, far from any DATA or BDAT payload.
    let (stream, at) = insert_after(CLIENT, b"\r\nQUIT\r\n", 150, b"GARBAGE in the middle\r\n");
    let output = protodump(&["smtp", "client"], Some(&stream));
    assert_eq!(
        stderr_lines(&output),
        [
            format!("error at byte {at}: unrecognized command"),
            "2861 messages, 1 errors".to_owned(),
        ]
    );
    // Everything else still decodes, and re-encodes to the original bytes.
    assert!(
        output.stdout == CLIENT,
        "the rest of the stream was not decoded"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn client_bad_lines_of_every_kind() {
    let stream = b"EHLO a.example\r\n\
        MAIL FROM:<a@b.example> SIZE=x\r\n\
        bare LF\n\
        AUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\n\
        AUTH PLAIN\r\n*\r\n\
        AUTH XOAUTH2\r\nnot base64!\r\n\
        DATA\r\nbare\nLF\r\n.\r\n\
        BDAT 3 LAST\r\n.\r\nRSET\r\n\
        QUIT\r\nBDAT 10\r\nabc";
    let output = protodump(&["smtp", "client"], Some(stream));
    let text = |s: &[u8]| String::from_utf8_lossy(s).into_owned();
    let pos = |needle: &[u8]| {
        stream
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("needle")
    };
    assert_eq!(
        stderr_lines(&output),
        [
            format!(
                "error at byte {}: syntax error at byte 24: expected SIZE=1*20DIGIT",
                pos(b"MAIL")
            ),
            format!(
                "error at byte {}: bare CR or LF in a command or reply line",
                pos(b"bare LF")
            ),
            format!(
                "error at byte {}: syntax error at byte 0: expected base64 or '*'",
                pos(b"not base64")
            ),
            format!(
                "error at byte {}: bare CR or LF in message data",
                pos(b"bare\nLF")
            ),
            format!(
                "error at byte {}: input ends after 3 of 10 BDAT octets",
                stream.len() - 3
            ),
            "13 messages, 5 errors".to_owned(),
        ],
        "{}",
        text(&output.stderr)
    );
    assert_eq!(
        text(&output.stdout),
        "EHLO a.example\r\n\
         AUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\n\
         AUTH PLAIN\r\n*\r\n\
         AUTH XOAUTH2\r\n\
         DATA\r\n\
         BDAT 3 LAST\r\n.\r\nRSET\r\n\
         QUIT\r\nBDAT 10\r\n"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn server_garbage_line_is_reported_and_skipped() {
    // After the 100th "221 2.0.0 Bye": between two sessions.
    let (stream, at) = insert_after(SERVER, b"221 2.0.0 Bye\r\n", 100, b"garbage\r\n");
    let output = protodump(&["smtp", "server"], Some(&stream));
    assert_eq!(
        stderr_lines(&output),
        [
            format!("error at byte {at}: expected a reply code"),
            "3141 messages, 1 errors".to_owned(),
        ]
    );
    assert!(
        output.stdout == SERVER,
        "the rest of the stream was not decoded"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn server_broken_multiline_reply_is_one_error() {
    // Offsets: 0 "220", 8 "250-a", 15 "250-b", 22 "251 c", 29 "250 2.0.0", 45 "354", 50 "250".
    let stream = b"220 ok\r\n250-a\r\n250-b\r\n251 c\r\n250 2.0.0 fine\r\n354\r\n250 no crlf";
    let output = protodump(&["smtp", "server"], Some(stream));
    assert_eq!(
        stderr_lines(&output),
        [
            "error at byte 8: syntax error at byte 14: expected the same reply code on every line",
            "error at byte 50: input ends inside a reply",
            "3 messages, 2 errors",
        ]
    );
    // A code-only line is re-encoded with its SP, as `encode_reply` always writes it.
    assert_eq!(output.stdout, b"220 ok\r\n250 2.0.0 fine\r\n354 \r\n");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["imap4"],
        &["smtp"],
        &["smtp", "both"],
        &["smtp", "client", "a", "b"],
        &["smtp", "client", "--bogus"],
    ] {
        let output = protodump(args, None);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("usage: protodump"),
            "{args:?}"
        );
    }
    let output = protodump(&["smtp", "client", "/nonexistent/protodump-input"], None);
    assert_eq!(output.status.code(), Some(2));
    let client = fixture("pop3-client-stream.txt");
    for args in [
        &["imap"][..],
        &["imap", "both"],
        &["imap", "server", "a", "b"],
        &["imap", "client", "--client", &client],
        // The server stream alone does not say which replies are multi-line.
        &["pop3", "server"],
        &["pop3", "server", &fixture("pop3-server-stream.txt")],
        &["pop3", "client", "--client", &client],
        &["pop3", "server", "--client"],
        &["pop3", "server", "--client", &client, "--client", &client],
        &["pop3", "server", "-", "--client", "-"],
    ] {
        let output = protodump(args, None);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("usage: protodump"),
            "{args:?}"
        );
    }
    let output = protodump(
        &["pop3", "server", "--client", "/nonexistent/protodump-input"],
        Some(POP3_SERVER),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let output = protodump(&["--help"], None);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("usage: protodump"));
}

/// A reader that hands out its input in pieces of the given sizes, cycling.
struct Pieces<'a> {
    input: &'a [u8],
    sizes: Vec<usize>,
    next: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.next % self.sizes.len()];
        self.next += 1;
        let n = size.min(buf.len()).min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

fn run_in_pieces(
    decoder: &mut dyn StreamDecoder,
    input: &[u8],
    sizes: Vec<usize>,
) -> (Vec<u8>, String, Summary) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let reader = Pieces {
        input,
        sizes,
        next: 0,
    };
    let summary = dump(decoder, reader, &mut out, &mut err).expect("in-memory I/O");
    (out, String::from_utf8(err).expect("UTF-8 errors"), summary)
}

type NewDecoder = fn() -> Box<dyn StreamDecoder>;

/// Piece sizes from a xorshift generator: 1 to 600 bytes.
fn random_sizes(seed: u64) -> Vec<usize> {
    let mut x = seed;
    (0..997)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            usize::try_from(x % 600).expect("small") + 1
        })
        .collect()
}

#[test]
fn decoders_do_not_depend_on_how_input_arrives() {
    let (garbled, _) = insert_after(CLIENT, b"\r\nQUIT\r\n", 7, b"NOPE\r\nMAIL FROM:<x\r\n");
    let cases: [(&[u8], NewDecoder, Summary); 3] = [
        (
            CLIENT,
            || Box::new(ClientDecoder::default()),
            Summary {
                messages: 2861,
                errors: 0,
            },
        ),
        (
            &garbled,
            || Box::new(ClientDecoder::default()),
            Summary {
                messages: 2861,
                errors: 2,
            },
        ),
        (
            SERVER,
            || Box::new(ServerDecoder::default()),
            Summary {
                messages: 3141,
                errors: 0,
            },
        ),
    ];
    for (input, decoder, expected) in cases {
        let (out, err, summary) = run_in_pieces(&mut *decoder(), input, vec![usize::MAX]);
        assert_eq!(summary, expected);
        for sizes in [vec![1], vec![2, 3, 5], random_sizes(1), random_sizes(42)] {
            let (o, e, s) = run_in_pieces(&mut *decoder(), input, sizes);
            assert!(o == out, "output depends on the pieces");
            assert_eq!(e, err);
            assert_eq!(s, summary);
        }
    }
}

#[test]
fn overlong_lines_are_skipped_whole() {
    // Longer than the 512-octet command line limit, arriving in pieces smaller than that.
    let mut stream = b"NOOP\r\nVRFY ".to_vec();
    stream.extend_from_slice(&[b'x'; 5000]);
    stream.extend_from_slice(b"\r\nQUIT\r\n");
    for sizes in [vec![usize::MAX], vec![100], vec![1]] {
        let (out, err, summary) = run_in_pieces(&mut ClientDecoder::default(), &stream, sizes);
        assert_eq!(out, b"NOOP\r\nQUIT\r\n");
        assert_eq!(err, "error at byte 6: line longer than 512 octets\n");
        assert_eq!(
            summary,
            Summary {
                messages: 2,
                errors: 1
            }
        );
    }

    let mut stream = b"250-ok\r\n250-".to_vec();
    stream.extend_from_slice(&[b'x'; 5000]);
    stream.extend_from_slice(b"\r\n250 end\r\n221 bye\r\n");
    for sizes in [vec![usize::MAX], vec![100], vec![1]] {
        let (out, err, summary) = run_in_pieces(&mut ServerDecoder::default(), &stream, sizes);
        assert_eq!(out, b"221 bye\r\n");
        assert_eq!(err, "error at byte 0: line longer than 4096 octets\n");
        assert_eq!(
            summary,
            Summary {
                messages: 1,
                errors: 1
            }
        );
    }
}

#[test]
fn reply_with_too_many_lines_is_one_error() {
    let mut stream = Vec::new();
    for _ in 0..300 {
        stream.extend_from_slice(b"250-line\r\n");
    }
    stream.extend_from_slice(b"250 last\r\n221 bye\r\n");
    let (out, err, summary) = run_in_pieces(&mut ServerDecoder::default(), &stream, vec![64]);
    assert_eq!(out, b"221 bye\r\n");
    assert_eq!(err, "error at byte 0: reply too large\n");
    assert_eq!(
        summary,
        Summary {
            messages: 1,
            errors: 1
        }
    );
}

/// Runs `args` over a corpus file and checks that it re-encodes to the same bytes with no
/// errors.
fn assert_round_trips(args: &[&str], original: &[u8], summary: &str) {
    let output = protodump(args, None);
    assert!(
        output.stdout == original,
        "re-encoded stream differs: {args:?}"
    );
    assert_eq!(stderr_lines(&output), [summary], "{args:?}");
    assert_eq!(output.status.code(), Some(0), "{args:?}");
}

#[test]
fn imap_corpus_round_trips() {
    // 300 sessions of 14 commands, and the DONE after each IDLE.
    assert_round_trips(
        &["imap", "client", &fixture("imap-client-stream.txt")],
        IMAP_CLIENT,
        "4500 messages, 0 errors",
    );
    assert_round_trips(
        &["imap", "server", &fixture("imap-server-stream.txt")],
        IMAP_SERVER,
        "792 messages, 0 errors",
    );
}

#[test]
fn pop3_corpus_round_trips() {
    // 300 sessions of 14 commands, 15 with USER and PASS in a third of them.
    assert_round_trips(
        &["pop3", "client", &fixture("pop3-client-stream.txt")],
        POP3_CLIENT,
        "4300 messages, 0 errors",
    );
    // Those replies, and a greeting for each session.
    let client = fixture("pop3-client-stream.txt");
    let server = fixture("pop3-server-stream.txt");
    assert_round_trips(
        &["pop3", "server", &server, "--client", &client],
        POP3_SERVER,
        "4600 messages, 0 errors",
    );
    let output = protodump(
        &["pop3", "server", &format!("--client={client}")],
        Some(POP3_SERVER),
    );
    assert!(output.stdout == POP3_SERVER, "re-encoded stream differs");
    assert_eq!(stderr_lines(&output), ["4600 messages, 0 errors"]);
}

#[test]
fn imap_client_garbage_line_is_reported_and_skipped() {
    // After the 150th LOGOUT: between two sessions.
    let (stream, at) = insert_after(
        IMAP_CLIENT,
        b" LOGOUT\r\n",
        150,
        b"GARBAGE in the middle\r\n",
    );
    let output = protodump(&["imap", "client"], Some(&stream));
    assert_eq!(
        stderr_lines(&output),
        [
            format!("error at byte {at}: unknown command: expected a command name at octet 8"),
            "4500 messages, 1 errors".to_owned(),
        ]
    );
    assert!(
        output.stdout == IMAP_CLIENT,
        "the rest of the stream was not decoded"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn imap_server_garbage_line_is_reported_and_skipped() {
    // After the 50th response that ends in a literal.
    let (stream, at) = insert_after(IMAP_SERVER, b"\r\n\r\n)\r\n", 50, b"garbage\r\n");
    let output = protodump(&["imap", "server"], Some(&stream));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("error at byte {at}: syntax error")),
        "{lines:?}"
    );
    assert_eq!(lines[1], "792 messages, 1 errors");
    assert!(
        output.stdout == IMAP_SERVER,
        "the rest of the stream was not decoded"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn imap_client_lines_of_every_kind() {
    let stream = b"a1 LOGIN {3}\r\nbob {2+}\r\npw\r\n\
        a2 AUTHENTICATE PLAIN\r\nAGJvYgBwdw==\r\n\
        a3 AUTHENTICATE PLAIN AGJvYgBwdw==\r\n\
        a4 AUTHENTICATE LOGIN\r\nYm9i\r\n*\r\n\
        a5 AUTHENTICATE XOAUTH2\r\nnot base64!\r\n\
        a6 IDLE\r\nDONE\r\n\
        a7 IDLE\r\na8 NOOP\r\n\
        a9 NOOP\n\
        a10 SELECT INBOX extra\r\n\
        a11 NOOP\r\n";
    let output = protodump(&["imap", "client"], Some(stream));
    let pos = |needle: &[u8]| {
        stream
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("needle")
    };
    assert_eq!(
        stderr_lines(&output),
        [
            format!(
                "error at byte {}: syntax error: expected base64 or \"*\" at octet 0",
                pos(b"not base64")
            ),
            // After IDLE, the next line is DONE.
            format!(
                "error at byte {}: syntax error: expected DONE CRLF at octet 0",
                pos(b"a8 NOOP")
            ),
            format!("error at byte {}: line ends with a bare LF", pos(b"a9")),
            format!(
                "error at byte {}: syntax error: expected '(' at octet 17",
                pos(b"a10")
            ),
            "12 messages, 4 errors".to_owned(),
        ],
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "a1 LOGIN {3}\r\nbob {2+}\r\npw\r\n\
         a2 AUTHENTICATE PLAIN\r\nAGJvYgBwdw==\r\n\
         a3 AUTHENTICATE PLAIN AGJvYgBwdw==\r\n\
         a4 AUTHENTICATE LOGIN\r\nYm9i\r\n*\r\n\
         a5 AUTHENTICATE XOAUTH2\r\n\
         a6 IDLE\r\nDONE\r\n\
         a7 IDLE\r\n\
         a11 NOOP\r\n"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn truncated_literal_is_an_error_not_a_hang() {
    // Inside the first APPEND's literal, and inside the first FETCH literal.
    let cut = |stream: &[u8], line: &[u8], into_literal: usize| {
        let start = stream
            .windows(line.len())
            .position(|w| w == line)
            .expect("line");
        let lf = start
            + stream[start..]
                .iter()
                .position(|&b| b == b'\n')
                .expect("LF");
        (stream[..=lf + into_literal].to_vec(), start)
    };
    let reason = "input ends inside a literal or the line after it";
    let (stream, at) = cut(IMAP_CLIENT, b"A0012 APPEND", 50);
    let output = protodump(&["imap", "client"], Some(&stream));
    assert_eq!(
        stderr_lines(&output),
        [
            format!("error at byte {at}: {reason}"),
            // A0001 to A0011, and the DONE after IDLE.
            "12 messages, 1 errors".to_owned()
        ]
    );
    assert!(output.stdout == IMAP_CLIENT[..at], "messages before it");
    assert_eq!(output.status.code(), Some(1));

    let (stream, at) = cut(IMAP_SERVER, b"* 1 FETCH (UID 1000 BODY[", 20);
    let output = protodump(&["imap", "server"], Some(&stream));
    assert_eq!(
        stderr_lines(&output),
        [
            format!("error at byte {at}: {reason}"),
            "1 messages, 1 errors".to_owned()
        ]
    );
    assert_eq!(output.status.code(), Some(1));

    // A synchronizing literal, and the line after a literal, fed one octet at a time.
    let stream = b"a1 LOGIN {5}\r\nab";
    let (out, err, summary) = run_in_pieces(&mut imap::ClientDecoder::default(), stream, vec![1]);
    assert!(out.is_empty());
    assert_eq!(err, format!("error at byte 0: {reason}\n"));
    assert_eq!(
        summary,
        Summary {
            messages: 0,
            errors: 1
        }
    );
    let stream = b"* 1 EXISTS\r\n* 2 FETCH (BODY[] {2}\r\nab";
    let (out, err, _) = run_in_pieces(&mut imap::ServerDecoder::default(), stream, vec![1]);
    assert_eq!(out, b"* 1 EXISTS\r\n");
    assert_eq!(err, format!("error at byte 12: {reason}\n"));
}

#[test]
fn pop3_server_follows_the_client() {
    let client = b"AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n\
        AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n\
        CAPA\r\nLIST\r\nbogus\r\nRETR 1\r\nQUIT\r\nSTAT\r\n";
    let server = b"+OK hi\r\n\
        + \r\n+OK in\r\n\
        + VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n-ERR no\r\n\
        +OK caps\r\nTOP\r\nSASL PLAIN\r\n.\r\n\
        +OK\r\n1 10\r\nx y\r\n.\r\n\
        -ERR what\r\n\
        +OK 5 octets\r\nbare\nLF\r\n.\r\n\
        +OK bye\r\n\
        +OK again\r\n+OK 1 2\r\n+OK extra\r\n";
    let pos = |needle: &[u8]| {
        server
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("needle")
    };
    let (out, err, summary) = run_in_pieces(
        &mut pop3::ServerDecoder::new(client.to_vec()),
        server,
        vec![3],
    );
    assert_eq!(
        err,
        format!(
            "error at byte {}: LIST line 2: syntax error at octet 0: expected message number\n\
             error at byte {}: bare CR or LF in message content\n\
             error at byte {}: a reply without a command: the client stream has ended\n",
            pos(b"+OK\r\n1 10"),
            pos(b"+OK 5 octets"),
            pos(b"+OK extra"),
        )
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        "+OK hi\r\n\
         + \r\n+OK in\r\n\
         + VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n-ERR no\r\n\
         +OK caps\r\nTOP\r\nSASL PLAIN\r\n.\r\n\
         -ERR what\r\n\
         +OK bye\r\n\
         +OK again\r\n+OK 1 2\r\n"
    );
    assert_eq!(
        summary,
        Summary {
            messages: 11,
            errors: 3
        }
    );

    // A body cut short.
    let (out, err, _) = run_in_pieces(
        &mut pop3::ServerDecoder::new(b"RETR 1\r\n".to_vec()),
        b"+OK hi\r\n+OK 2 octets\r\nab\r\n",
        vec![usize::MAX],
    );
    assert_eq!(out, b"+OK hi\r\n");
    assert_eq!(
        err,
        "error at byte 8: input ends inside a multi-line response (no '.' line)\n"
    );
}

#[test]
fn pop3_client_lines_of_every_kind() {
    let stream = b"CAPA\r\nAUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n\
        AUTH LOGIN\r\nYWxpY2U=\r\n*\r\nAUTH\r\nbogus\r\nLIST 0\r\nQUIT";
    let (out, err, summary) = run_in_pieces(&mut pop3::ClientDecoder::default(), stream, vec![2]);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "CAPA\r\nAUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n\
         AUTH LOGIN\r\nYWxpY2U=\r\n*\r\nAUTH\r\n"
    );
    assert_eq!(
        err,
        "error at byte 71: unrecognized command\n\
         error at byte 78: syntax error at octet 5: expected message number from 1 to 4294967295\n\
         error at byte 86: input ends inside a line (no CRLF)\n"
    );
    assert_eq!(
        summary,
        Summary {
            messages: 7,
            errors: 3
        }
    );
}

#[test]
fn imap_and_pop3_decoders_do_not_depend_on_how_input_arrives() {
    let (garbled, _) = insert_after(IMAP_CLIENT, b" LOGOUT\r\n", 7, b"NOPE\r\na NOOP x\r\n");
    let cases: [(&[u8], NewDecoder, Summary); 5] = [
        (
            &garbled,
            || Box::new(imap::ClientDecoder::default()),
            Summary {
                messages: 4500,
                errors: 2,
            },
        ),
        (
            IMAP_SERVER,
            || Box::new(imap::ServerDecoder::default()),
            Summary {
                messages: 792,
                errors: 0,
            },
        ),
        (
            &IMAP_SERVER[..IMAP_SERVER.len() - 1000],
            || Box::new(imap::ServerDecoder::default()),
            Summary {
                messages: 790,
                errors: 1,
            },
        ),
        (
            POP3_CLIENT,
            || Box::new(pop3::ClientDecoder::default()),
            Summary {
                messages: 4300,
                errors: 0,
            },
        ),
        (
            POP3_SERVER,
            || Box::new(pop3::ServerDecoder::new(POP3_CLIENT.to_vec())),
            Summary {
                messages: 4600,
                errors: 0,
            },
        ),
    ];
    for (input, decoder, expected) in cases {
        let (out, err, summary) = run_in_pieces(&mut *decoder(), input, vec![usize::MAX]);
        assert_eq!(summary, expected);
        for sizes in [vec![1], vec![2, 3, 5], random_sizes(7)] {
            let (o, e, s) = run_in_pieces(&mut *decoder(), input, sizes);
            assert!(o == out, "output depends on the pieces");
            assert_eq!(e, err);
            assert_eq!(s, summary);
        }
    }
}

#[test]
fn imap_and_pop3_overlong_lines_are_skipped_whole() {
    use sansmail_imap::codec::{CommandOptions, ResponseOptions, frame::FrameLimits};
    let limits = FrameLimits {
        max_line: 100,
        ..FrameLimits::default()
    };
    let mut stream = b"a1 NOOP\r\na2 SELECT ".to_vec();
    stream.extend_from_slice(&[b'x'; 500]);
    stream.extend_from_slice(b"\r\na3 LOGOUT\r\n");
    for sizes in [vec![usize::MAX], vec![30], vec![1]] {
        let mut decoder = imap::ClientDecoder::new(CommandOptions::default(), limits);
        let (out, err, summary) = run_in_pieces(&mut decoder, &stream, sizes.clone());
        assert_eq!(out, b"a1 NOOP\r\na3 LOGOUT\r\n");
        assert_eq!(err, "error at byte 9: line longer than 100 octets\n");
        assert_eq!(
            summary,
            Summary {
                messages: 2,
                errors: 1
            }
        );

        let mut decoder = imap::ServerDecoder::new(ResponseOptions {
            limits,
            ..ResponseOptions::default()
        });
        let server = String::from_utf8(stream.clone())
            .unwrap()
            .replace("a1 NOOP", "* 1 EXISTS")
            .replace("a2 SELECT", "* OK")
            .replace("a3 LOGOUT", "a3 OK bye");
        let (out, err, _) = run_in_pieces(&mut decoder, server.as_bytes(), sizes.clone());
        assert_eq!(out, b"* 1 EXISTS\r\na3 OK bye\r\n");
        assert_eq!(err, "error at byte 12: line longer than 100 octets\n");

        let pop3 = String::from_utf8(stream.clone())
            .unwrap()
            .replace("a1 NOOP", "NOOP")
            .replace("a2 SELECT", "USER")
            .replace("a3 LOGOUT", "QUIT");
        let (out, err, _) = run_in_pieces(
            &mut pop3::ClientDecoder::default(),
            pop3.as_bytes(),
            sizes.clone(),
        );
        assert_eq!(out, b"NOOP\r\nQUIT\r\n");
        assert_eq!(err, "error at byte 6: line longer than 255 octets\n");
    }
}
