//! The server session's output is bounded: pipelined commands are answered only while the
//! client takes the answers (`Limits::max_queued_output`), and a message's content is asked
//! for piece by piece ([`Event::RetrieveMore`]) with byte-stuffing and TOP's line count right
//! across every piece boundary.

use std::time::Instant;

use sansmail_pop3::{
    Limits, Uid,
    session::{
        Maildrop, ServerConfig,
        server::{Event, Server},
    },
};

fn config(limit: usize) -> ServerConfig {
    let mut c = ServerConfig::new("pop.test");
    c.auth_requires_tls = false;
    let mut limits = Limits::default();
    limits.max_queued_output = limit;
    c.limits = limits;
    c
}

/// A session logged in to a maildrop of messages of these sizes.
fn logged_in(limit: usize, sizes: &[u64]) -> Server {
    let now = Instant::now();
    let mut server = Server::new(config(limit), now);
    server.handle_input(now, b"USER alice\r\nPASS secret\r\n");
    // With no room for output, each answer must be taken before the next command runs.
    let mut taken = Vec::new();
    for _ in 0..3 {
        if let Some(event) = server.poll_event() {
            assert!(matches!(event, Event::Login { .. }), "{event:?}");
            break;
        }
        server.poll_transmit(&mut taken);
    }
    let mut drop = Maildrop::new();
    for (i, &size) in sizes.iter().enumerate() {
        drop.push(size, Uid::new(format!("u{i}")).unwrap());
    }
    server.accept_login(drop).unwrap();
    assert!(server.poll_event().is_none());
    server.poll_transmit(&mut taken);
    let taken = String::from_utf8(taken).unwrap();
    assert!(
        taken.starts_with("+OK POP3 server ready\r\n+OK\r\n+OK alice's maildrop"),
        "{taken}"
    );
    server
}

/// How the application hands over a message.
#[derive(Clone, Copy)]
enum Give {
    /// Everything in one `message_data` at `Retrieve`.
    Whole,
    /// The first `n` octets at `Retrieve`, each next `n` at `RetrieveMore`.
    Pieces(usize),
    /// The first piece is `[..n]`, the rest at the one `RetrieveMore`.
    SplitAt(usize),
}

/// Drives the session as a driver and an application would: answers every event, takes the
/// output after each `None`, and stops once neither events nor output come. Returns the
/// output and how many times `poll_event` had to be asked again after a drain.
fn run(server: &mut Server, body: &[u8], give: Give) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut rounds = 0;
    let piece = |first: bool, offset: usize| -> &[u8] {
        let end = match give {
            Give::Pieces(n) => offset.saturating_add(n).min(body.len()),
            Give::SplitAt(n) if first => n.min(body.len()),
            Give::Whole | Give::SplitAt(_) => body.len(),
        };
        &body[offset.min(body.len())..end]
    };
    loop {
        while let Some(event) = server.poll_event() {
            let (first, offset) = match event {
                Event::Retrieve { .. } => (true, 0),
                Event::RetrieveMore { offset, .. } => (false, usize::try_from(offset).unwrap()),
                other => panic!("unexpected {other:?}"),
            };
            let data = piece(first, offset);
            let more = server.message_data(data).unwrap();
            if !more || offset + data.len() == body.len() {
                server.message_end().unwrap();
            }
        }
        let before = out.len();
        server.poll_transmit(&mut out);
        if out.len() == before {
            return (out, rounds);
        }
        rounds += 1;
    }
}

/// The answer to `RETR` or `TOP` of `body`, stuffed by hand: every line ends in CRLF, lines
/// starting with `.` get another, and TOP keeps the header, the blank line and `top` lines.
fn expected(body: &[u8], top: Option<usize>) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(rest.len());
        lines.push(&rest[..end]);
        rest = &rest[end..];
        if rest.starts_with(b"\r\n") {
            rest = &rest[2..];
        } else if !rest.is_empty() {
            rest = &rest[1..];
        }
    }
    if let Some(n) = top {
        let blank = lines
            .iter()
            .position(|l| l.is_empty())
            .unwrap_or(lines.len());
        lines.truncate((blank + 1 + n).min(lines.len()));
    }
    let mut out = match top {
        None => format!("+OK {} octets\r\n", body.len()).into_bytes(),
        Some(_) => b"+OK\r\n".to_vec(),
    };
    for l in lines {
        if l.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(l);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// A message whose lines start with dots in every way, with CRLF, LF and bare CR line ends,
/// and no line end at the very end.
const DOTTY: &[u8] = b"Subject: dots\r\nX: y\n\r\n.\r\n..\r\n.x\n\n. \r.\r\nplain .\r\n...\r\n.";

#[test]
fn every_split_of_a_retrieved_message_is_stuffed_alike() {
    for top in [None, Some(0), Some(1), Some(2), Some(3), Some(5), Some(100)] {
        let want = expected(DOTTY, top);
        let command = match top {
            None => "RETR 1\r\n".to_owned(),
            Some(n) => format!("TOP 1 {n}\r\n"),
        };
        let mut gives = vec![Give::Whole];
        gives.extend((0..=DOTTY.len()).map(Give::SplitAt));
        gives.extend((1..=7).map(Give::Pieces));
        for give in gives {
            let mut server = logged_in(64 * 1024, &[DOTTY.len() as u64]);
            server.handle_input(Instant::now(), command.as_bytes());
            let (out, _) = run(&mut server, DOTTY, give);
            let label = match give {
                Give::Whole => "whole".to_owned(),
                Give::Pieces(n) => format!("pieces of {n}"),
                Give::SplitAt(n) => format!("split at {n}"),
            };
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&want),
                "{command:?} {label}"
            );
        }
    }
}

#[test]
fn content_is_asked_for_once_what_was_given_is_taken() {
    let body: Vec<u8> = b"Subject: big\r\n\r\n"
        .iter()
        .copied()
        .chain(b".dot and some text\r\n".repeat(10_000))
        .collect();
    let mut server = logged_in(16 * 1024, &[body.len() as u64]);
    let now = Instant::now();
    server.handle_input(now, b"RETR 1\r\nSTAT\r\n");
    let Some(Event::Retrieve { msg, top: None, .. }) = server.poll_event() else {
        panic!("RETR")
    };
    server.accept().unwrap();
    // Accepting without content: the first piece is asked for, from the start.
    let Some(Event::RetrieveMore { offset: 0, .. }) = server.poll_event() else {
        panic!("asked for the first piece")
    };
    assert!(server.poll_event().is_none(), "asked once until answered");
    assert!(server.message_data(&body[..40_000]).unwrap());
    assert!(server.queued_output() > 40_000);
    assert!(
        server.poll_event().is_none(),
        "nothing more while over the limit"
    );
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    assert_eq!(server.queued_output(), 0);
    let Some(Event::RetrieveMore {
        msg: m,
        top: None,
        offset: 40_000,
    }) = server.poll_event()
    else {
        panic!("the next piece starts where the last ended")
    };
    assert_eq!(m, msg);
    server.message_data(&body[40_000..]).unwrap();
    server.poll_transmit(&mut out);
    let Some(Event::RetrieveMore { offset, .. }) = server.poll_event() else {
        panic!("asked until the end is given")
    };
    assert_eq!(offset, body.len() as u64);
    server.message_end().unwrap();
    // STAT, pipelined behind, is answered only now.
    assert!(server.poll_event().is_none());
    server.poll_transmit(&mut out);
    let want = [expected(&body, None), b"+OK 1 200016\r\n".to_vec()].concat();
    assert_eq!(out, want);
}

#[test]
fn pipelined_listings_are_answered_only_as_they_are_taken() {
    let sizes = vec![123_456u64; 2000];
    let commands = b"LIST\r\nUIDL\r\n".repeat(1300);
    let limit = 64 * 1024;
    let mut server = logged_in(limit, &sizes);
    server.handle_input(Instant::now(), &commands);
    assert!(server.poll_event().is_none());
    let listing = 2000 * "2000 123456\r\n".len();
    let queued = server.queued_output();
    assert!(
        queued > limit && queued <= limit + 2 * listing,
        "{queued} octets queued after the first round"
    );
    assert!(server.buffered_len() > 0, "the rest waits, unanswered");
    // What was queued so far is taken first, then the rest round by round.
    let (out, rounds) = run(&mut server, b"", Give::Whole);
    assert!(rounds > 100, "{rounds}");
    // The same answers as with no limit at all.
    let mut unbounded = logged_in(usize::MAX, &sizes);
    unbounded.handle_input(Instant::now(), &commands);
    assert!(unbounded.poll_event().is_none());
    let mut all = Vec::new();
    unbounded.poll_transmit(&mut all);
    assert!(all.len() > 50 * 1024 * 1024, "{}", all.len());
    assert!(out == all, "answers differ from the unbounded session's");
    assert_eq!(server.buffered_len(), 0);
}

#[test]
fn with_no_room_each_command_waits_for_the_last_answer_to_be_taken() {
    let mut server = logged_in(0, &[10, 20]);
    server.handle_input(Instant::now(), b"STAT\r\nLIST 1\r\nNOOP\r\nUIDL 2\r\n");
    let mut answers = Vec::new();
    loop {
        assert!(server.poll_event().is_none());
        let mut out = Vec::new();
        server.poll_transmit(&mut out);
        if out.is_empty() {
            break;
        }
        answers.push(String::from_utf8(out).unwrap());
    }
    assert_eq!(
        answers,
        ["+OK 2 30\r\n", "+OK 1 10\r\n", "+OK\r\n", "+OK 2 u1\r\n"]
    );
}

#[test]
fn top_says_when_it_has_its_lines_in_the_middle_of_a_piece() {
    let body = b"A: b\r\n\r\none\r\ntwo\r\nthree\r\n";
    let mut server = logged_in(64 * 1024, &[body.len() as u64]);
    server.handle_input(Instant::now(), b"TOP 1 2\r\n");
    assert!(matches!(
        server.poll_event(),
        Some(Event::Retrieve { top: Some(2), .. })
    ));
    assert!(server.message_data(&body[..12]).unwrap());
    assert!(!server.message_data(&body[12..]).unwrap());
    server.message_end().unwrap();
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    assert_eq!(out, b"+OK\r\nA: b\r\n\r\none\r\ntwo\r\n.\r\n");
}

#[test]
fn shutdown_in_the_middle_of_a_message_adds_no_line_to_it() {
    let mut server = logged_in(64 * 1024, &[100]);
    server.handle_input(Instant::now(), b"RETR 1\r\n");
    assert!(matches!(server.poll_event(), Some(Event::Retrieve { .. })));
    server.message_data(b"Subject: half\r\n\r\nfirst").unwrap();
    server.shutdown();
    assert!(server.is_closed());
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    assert_eq!(out, b"+OK 100 octets\r\nSubject: half\r\n\r\nfirst");
    // Between commands, it says why.
    let mut idle = logged_in(64 * 1024, &[100]);
    idle.shutdown();
    let mut out = Vec::new();
    idle.poll_transmit(&mut out);
    assert!(out.starts_with(b"-ERR [SYS/TEMP]"), "{out:?}");
}
