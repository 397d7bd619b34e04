//! FETCH responses streamed in pieces (`Server::fetch_begin`, `fetch_literal`,
//! `message_data`, `fetch_end`, `Event::FetchMore`): every split of the literal gives the
//! octets a whole response gives, pieces are asked only once the output was taken, pipelined
//! FETCHes to a client that reads nothing cost one limit's worth, and nothing (not even the
//! session's own BYE) goes between a literal's octets.

use std::time::Instant;

use sansmail_imap::{
    codec::{EncodeBuf, ResponseOptions, decode_response, encode_response},
    session::{
        ServerConfig,
        server::{ApiError, Event, Server},
        view::MessageState,
    },
    types::{
        command::CommandBody,
        core::{Atom, IString, Literal, LiteralMode, Text},
        fetch::{FetchItem, LiteralItem},
        flag::Flag,
        response::{Data, Response, Status, StatusKind},
        section::Section,
    },
};

fn state() -> MessageState {
    MessageState {
        flags: vec![Flag::Seen],
        modseq: Some(7),
    }
}

fn whole_section() -> Section<'static> {
    Section {
        part: Vec::new(),
        text: None,
    }
}

fn body_item() -> LiteralItem<'static> {
    LiteralItem::BodySection {
        section: whole_section(),
        origin: None,
    }
}

/// A logged-in session with INBOX (UIDs 10, 11) selected, its output so far drained.
fn selected(limit: usize) -> Server {
    selected_with(limit, false)
}

/// [`selected`], with IMAP4rev2 enabled first when `rev2`.
fn selected_with(limit: usize, rev2: bool) -> Server {
    let mut config = ServerConfig::default();
    config.auth_requires_tls = false;
    config.limits.max_queued_output = limit;
    let now = Instant::now();
    let mut server = Server::new(config, now);
    drain(&mut server);
    server.handle_input(now, b"a LOGIN alice secret\r\n");
    assert!(matches!(server.poll_event(), Some(Event::Login { .. })));
    server.accept().unwrap();
    drain(&mut server);
    if rev2 {
        server.handle_input(now, b"e ENABLE IMAP4rev2\r\n");
        let event = server.poll_event();
        assert!(matches!(event, Some(Event::Enabled(_))), "{event:?}");
        drain(&mut server);
    }
    server.handle_input(now, b"b SELECT INBOX\r\n");
    let Some(Event::Command(cmd)) = server.poll_event() else {
        panic!("no SELECT")
    };
    assert!(matches!(cmd.body, CommandBody::Select { .. }));
    server.select(vec![10, 11]).unwrap();
    server.send_data(Data::Flags(vec![Flag::Seen]));
    server.send_data(Data::Exists(2));
    server.complete(StatusKind::Ok, None, "selected").unwrap();
    drain(&mut server);
    server
}

fn drain(server: &mut Server) -> Vec<u8> {
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    out
}

/// Takes the next FETCH command.
fn fetch_command(server: &mut Server) {
    match server.poll_event() {
        Some(Event::Command(cmd)) => assert!(matches!(cmd.body, CommandBody::Fetch { .. })),
        other => panic!("expected FETCH, got {other:?}"),
    }
}

/// What a whole response about message 1 with `data` as its BODY[] says.
fn whole_response(items: &[FetchItem<'static>], data: &[u8]) -> Vec<u8> {
    let mut items = items.to_vec();
    let data = Literal::new(data.to_vec(), LiteralMode::Sync).unwrap();
    items.push(FetchItem::BodySection {
        section: whole_section(),
        origin: None,
        data: Some(IString::Literal(data)),
    });
    let mut out = EncodeBuf::new();
    encode_response(
        &Response::Data(Data::Fetch { seq: 1, items }),
        &ResponseOptions::default(),
        &mut out,
    );
    out.bytes
}

fn message() -> Vec<u8> {
    let mut m = b"Subject: streamed\r\nFrom: a@example.org\r\n\r\n".to_vec();
    for i in 0..9 {
        m.extend_from_slice(format!("line {i} of the body\r\n").as_bytes());
    }
    m
}

/// Streams `message` as BODY[] of message 1 in the pieces `cuts` makes, answering each
/// FetchMore with the next one, and returns the response's octets.
fn stream(
    server: &mut Server,
    items: Vec<FetchItem<'static>>,
    msg: &[u8],
    cuts: &[usize],
) -> Vec<u8> {
    server.fetch_begin(1, items, state()).unwrap();
    server
        .fetch_literal(&body_item(), msg.len() as u64)
        .unwrap();
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(msg.len());
    let mut pieces = bounds.windows(2).map(|w| &msg[w[0]..w[1]]);
    let mut out = Vec::new();
    let mut given = 0u64;
    if let Some(first) = pieces.next() {
        server.message_data(first).unwrap();
        given += first.len() as u64;
    }
    for piece in pieces {
        // Asked only once what was given is taken.
        out.extend(drain(server));
        match server.poll_event() {
            Some(Event::FetchMore { seq: 1, offset }) => assert_eq!(offset, given),
            other => panic!("expected FetchMore, got {other:?}"),
        }
        assert!(server.poll_event().is_none(), "asked twice");
        server.message_data(piece).unwrap();
        given += piece.len() as u64;
    }
    server.fetch_end().unwrap();
    server.complete(StatusKind::Ok, None, "FETCH done").unwrap();
    out.extend(drain(server));
    out
}

/// The whole response and the completion.
fn answered(items: &[FetchItem<'static>], msg: &[u8]) -> Vec<u8> {
    let mut want = whole_response(items, msg);
    want.extend_from_slice(b"c OK FETCH done\r\n");
    want
}

#[test]
fn every_split_into_two_and_three_pieces_gives_the_whole_response() {
    let msg = message();
    let items = vec![FetchItem::Uid(10), FetchItem::Flags(vec![Flag::Seen])];
    let want = answered(&items, &msg);
    let mut server = selected(1 << 20);
    for a in 0..=msg.len() {
        server.handle_input(Instant::now(), b"c FETCH 1 (UID FLAGS BODY[])\r\n");
        fetch_command(&mut server);
        let got = stream(&mut server, items.clone(), &msg, &[a]);
        assert_eq!(got, want, "split at {a}");
    }
    for a in (0..=msg.len()).step_by(7) {
        for b in a..=msg.len() {
            server.handle_input(Instant::now(), b"c FETCH 1 (UID FLAGS BODY[])\r\n");
            fetch_command(&mut server);
            let got = stream(&mut server, items.clone(), &msg, &[a, b]);
            assert_eq!(got, want, "split at {a} and {b}");
        }
    }
}

#[test]
fn every_piece_size_gives_the_whole_response_and_a_client_reads_it() {
    let msg = message();
    let want = answered(&[], &msg);
    let mut server = selected(0);
    for size in 1..=msg.len() + 1 {
        server.handle_input(Instant::now(), b"c FETCH 1 BODY.PEEK[]\r\n");
        fetch_command(&mut server);
        let cuts: Vec<usize> = (size..msg.len()).step_by(size).collect();
        let got = stream(&mut server, Vec::new(), &msg, &cuts);
        assert_eq!(got, want, "pieces of {size}");
        // The client's parser takes it as one FETCH with the message.
        let (rest, response) = decode_response(&got, &ResponseOptions::default()).unwrap();
        let Response::Data(Data::Fetch { seq: 1, items }) = response else {
            panic!("not a FETCH: {response:?}")
        };
        let [
            FetchItem::BodySection {
                data: Some(data), ..
            },
        ] = &items[..]
        else {
            panic!("{items:?}")
        };
        assert_eq!(data.as_bytes(), &msg[..]);
        assert_eq!(rest, b"c OK FETCH done\r\n");
    }
}

#[test]
fn an_empty_literal_and_several_literals_in_one_response() {
    let mut server = selected(1 << 20);
    server.handle_input(Instant::now(), b"c FETCH 2 (BODY[]<500.10> RFC822)\r\n");
    fetch_command(&mut server);
    server.fetch_begin(2, Vec::new(), state()).unwrap();
    let partial = LiteralItem::BodySection {
        section: whole_section(),
        origin: Some(500),
    };
    server.fetch_literal(&partial, 0).unwrap();
    server.fetch_literal(&LiteralItem::Rfc822, 3).unwrap();
    server.message_data(b"abc").unwrap();
    server.fetch_end().unwrap();
    server.complete(StatusKind::Ok, None, "done").unwrap();
    assert_eq!(
        String::from_utf8(drain(&mut server)).unwrap(),
        "* 2 FETCH (BODY[]<500> {0}\r\n RFC822 {3}\r\nabc)\r\nc OK done\r\n"
    );
}

#[test]
fn nul_becomes_0x80_except_in_a_literal8() {
    let mut server = selected(1 << 20);
    server.handle_input(Instant::now(), b"c FETCH 1 (BODY.PEEK[] BINARY.PEEK[])\r\n");
    fetch_command(&mut server);
    server.fetch_begin(1, Vec::new(), state()).unwrap();
    server.fetch_literal(&body_item(), 3).unwrap();
    server.message_data(b"a\0b").unwrap();
    let binary = LiteralItem::Binary {
        part: Vec::new(),
        origin: None,
    };
    server.fetch_literal(&binary, 3).unwrap();
    server.message_data(b"a\0b").unwrap();
    server.fetch_end().unwrap();
    server.complete(StatusKind::Ok, None, "done").unwrap();
    assert_eq!(
        drain(&mut server),
        b"* 1 FETCH (BODY[] {3}\r\na\x80b BINARY[] ~{3}\r\na\0b)\r\nc OK done\r\n"
    );
}

#[test]
fn misuse_is_refused_without_output() {
    let mut server = selected(1 << 20);
    // Nothing pending.
    assert_eq!(
        server.fetch_begin(1, Vec::new(), state()),
        Err(ApiError::NothingPending)
    );
    assert_eq!(server.message_data(b"x"), Err(ApiError::NoFetch));
    server.handle_input(Instant::now(), b"c FETCH 1 BODY[]\r\n");
    fetch_command(&mut server);
    assert_eq!(server.fetch_end(), Err(ApiError::NoFetch));
    server.fetch_begin(1, Vec::new(), state()).unwrap();
    assert_eq!(
        server.fetch_begin(1, Vec::new(), state()),
        Err(ApiError::FetchOpen)
    );
    // No literal started yet.
    assert_eq!(server.message_data(b"x"), Err(ApiError::NoFetch));
    server.fetch_literal(&body_item(), 4).unwrap();
    assert_eq!(server.message_data(b"12345"), Err(ApiError::LiteralOverrun));
    server.message_data(b"12").unwrap();
    assert_eq!(server.fetch_end(), Err(ApiError::LiteralIncomplete));
    assert_eq!(
        server.fetch_literal(&body_item(), 1),
        Err(ApiError::LiteralIncomplete)
    );
    assert_eq!(
        server.complete(StatusKind::Ok, None, "early"),
        Err(ApiError::FetchOpen)
    );
    assert!(server.is_fetch_open());
    server.message_data(b"34").unwrap();
    server.fetch_end().unwrap();
    assert!(!server.is_fetch_open());
    server.complete(StatusKind::Ok, None, "done").unwrap();
    assert_eq!(
        String::from_utf8(drain(&mut server)).unwrap(),
        "* 1 FETCH (BODY[] {4}\r\n1234)\r\nc OK done\r\n"
    );
}

#[test]
fn responses_sent_while_open_follow_the_response() {
    let mut server = selected(1 << 20);
    server.handle_input(Instant::now(), b"c FETCH 1:2 BODY[]\r\n");
    fetch_command(&mut server);
    server.fetch_begin(1, Vec::new(), state()).unwrap();
    server.fetch_literal(&body_item(), 2).unwrap();
    server.message_data(b"a").unwrap();
    server.send(&Response::Status(Status::untagged(
        StatusKind::Ok,
        None,
        Text::new("between").unwrap(),
    )));
    server.send_fetch(2, vec![FetchItem::Uid(11)], state());
    server.message_data(b"b").unwrap();
    server.fetch_end().unwrap();
    server.complete(StatusKind::Ok, None, "done").unwrap();
    assert_eq!(
        String::from_utf8(drain(&mut server)).unwrap(),
        "* 1 FETCH (BODY[] {2}\r\nab)\r\n* OK between\r\n* 2 FETCH (UID 11)\r\nc OK done\r\n"
    );
}

#[test]
fn shutdown_in_the_middle_of_a_literal_closes_without_a_word() {
    let mut server = selected(1 << 20);
    server.handle_input(Instant::now(), b"c FETCH 1 BODY[]\r\n");
    fetch_command(&mut server);
    server.fetch_begin(1, Vec::new(), state()).unwrap();
    server.fetch_literal(&body_item(), 4).unwrap();
    server.message_data(b"ab").unwrap();
    assert!(
        server.poll_timeout().is_none(),
        "no autologout while sending"
    );
    server.shutdown();
    assert!(server.is_closed());
    assert_eq!(drain(&mut server), b"* 1 FETCH (BODY[] {4}\r\nab");
    assert!(server.poll_event().is_none());

    // After a complete literal the response ends first, then BYE.
    let mut server = selected(1 << 20);
    server.handle_input(Instant::now(), b"c FETCH 1 BODY[]\r\n");
    fetch_command(&mut server);
    server
        .fetch_begin(1, vec![FetchItem::Uid(10)], state())
        .unwrap();
    server.fetch_literal(&body_item(), 2).unwrap();
    server.message_data(b"ab").unwrap();
    server.shutdown();
    assert_eq!(
        String::from_utf8(drain(&mut server)).unwrap(),
        "* 1 FETCH (UID 10 BODY[] {2}\r\nab)\r\n* BYE Server shutting down\r\n"
    );

    // The application gives up in the middle (a store failure): the session closes.
    let mut server = selected(1 << 20);
    server.handle_input(Instant::now(), b"c FETCH 1 BODY[]\r\n");
    fetch_command(&mut server);
    server.fetch_begin(1, Vec::new(), state()).unwrap();
    server.fetch_literal(&body_item(), 2).unwrap();
    server.close();
    assert!(server.is_closed());
    assert_eq!(drain(&mut server), b"* 1 FETCH (BODY[] {2}\r\n");
}

/// A client pipelines FETCH 1 BODY[] 2000 times and reads nothing: the session takes the
/// next command only once the output is below the limit, so what is queued never exceeds
/// the limit plus one piece plus one response's start, and once read, every answer is
/// byte for byte the whole response.
#[test]
fn pipelined_fetches_are_taken_a_limit_at_a_time() {
    const LIMIT: usize = 1000;
    const PIECE: usize = 64;
    let msg = message();
    let want = answered(&[], &msg);
    let mut server = selected(LIMIT);
    let script = "c FETCH 1 BODY.PEEK[]\r\n".repeat(2000);
    server.handle_input(Instant::now(), script.as_bytes());
    let mut out = Vec::new();
    let mut max_queued = 0;
    let mut done = 0;
    let mut given = 0usize;
    loop {
        let Some(event) = server.poll_event() else {
            // The driver sends, then asks again.
            if server.queued_output() == 0 {
                break;
            }
            out.extend(drain(&mut server));
            continue;
        };
        match event {
            Event::Command(cmd) => {
                assert!(matches!(cmd.body, CommandBody::Fetch { .. }));
                assert!(
                    server.queued_output() <= LIMIT,
                    "a command was taken over the limit"
                );
                server.fetch_begin(1, Vec::new(), state()).unwrap();
                server
                    .fetch_literal(&body_item(), msg.len() as u64)
                    .unwrap();
                given = PIECE.min(msg.len());
                server.message_data(&msg[..given]).unwrap();
            }
            Event::FetchMore { offset, .. } => {
                assert_eq!(offset, given as u64);
                let end = (given + PIECE).min(msg.len());
                server.message_data(&msg[given..end]).unwrap();
                given = end;
            }
            other => panic!("unexpected {other:?}"),
        }
        if given == msg.len() && server.is_fetch_open() {
            server.fetch_end().unwrap();
            server.complete(StatusKind::Ok, None, "FETCH done").unwrap();
            done += 1;
        }
        max_queued = max_queued.max(server.queued_output());
    }
    assert_eq!(done, 2000);
    assert!(
        max_queued <= LIMIT + PIECE + 64,
        "queued {max_queued} octets"
    );
    assert_eq!(out, want.repeat(2000));
}

#[test]
fn items_get_the_views_checks_and_imap4rev2_rewriting() {
    let mut server = selected(1 << 20);
    server.claim_recent([10]).unwrap();
    server.handle_input(Instant::now(), b"c FETCH 1 (FLAGS BODY[])\r\n");
    fetch_command(&mut server);
    // A new keyword is announced before the response; \Recent is added.
    let flags = vec![Flag::Seen, Flag::Keyword(Atom::new("$Label").unwrap())];
    server
        .fetch_begin(1, vec![FetchItem::Flags(flags)], state())
        .unwrap();
    server.fetch_literal(&body_item(), 1).unwrap();
    server.message_data(b"x").unwrap();
    server.fetch_end().unwrap();
    server.complete(StatusKind::Ok, None, "done").unwrap();
    let out = String::from_utf8(drain(&mut server)).unwrap();
    assert!(out.starts_with("* FLAGS (\\Seen $Label)\r\n"), "{out}");
    assert!(
        out.contains("* 1 FETCH (FLAGS (\\Seen \\Recent $Label) BODY[] {1}\r\nx)\r\n"),
        "{out}"
    );

    let mut server = selected_with(1 << 20, true);
    server.claim_recent([10]).unwrap();
    server.handle_input(Instant::now(), b"c FETCH 1 (FLAGS BODY[])\r\n");
    fetch_command(&mut server);
    server
        .fetch_begin(1, vec![FetchItem::Flags(vec![Flag::Seen])], state())
        .unwrap();
    server.fetch_literal(&body_item(), 1).unwrap();
    server.message_data(b"x").unwrap();
    server.fetch_end().unwrap();
    server.complete(StatusKind::Ok, None, "done").unwrap();
    assert_eq!(
        String::from_utf8(drain(&mut server)).unwrap(),
        "* 1 FETCH (FLAGS (\\Seen) BODY[] {1}\r\nx)\r\nc OK done\r\n"
    );
}

/// Backpressure holds for whole responses too: with answers larger than the limit, each
/// pipelined command is taken only once what the last one queued was taken.
#[test]
fn pipelined_commands_wait_for_whole_responses_to_be_taken() {
    const LIMIT: usize = 100;
    let msg = message();
    assert!(msg.len() > LIMIT);
    let mut server = selected(LIMIT);
    server.handle_input(Instant::now(), "c FETCH 1 BODY[]\r\n".repeat(50).as_bytes());
    let mut taken = 0;
    let mut out = Vec::new();
    loop {
        match server.poll_event() {
            Some(Event::Command(_)) => {
                assert_eq!(
                    server.queued_output(),
                    0,
                    "a command was taken over the limit"
                );
                let data = Literal::new(msg.clone(), LiteralMode::Sync).unwrap();
                server.send_fetch(
                    1,
                    vec![FetchItem::BodySection {
                        section: whole_section(),
                        origin: None,
                        data: Some(IString::Literal(data)),
                    }],
                    state(),
                );
                server.complete(StatusKind::Ok, None, "FETCH done").unwrap();
                taken += 1;
                // Not one more command until the answer is taken.
                assert!(server.poll_event().is_none());
            }
            Some(other) => panic!("unexpected {other:?}"),
            None if server.queued_output() > 0 => out.extend(drain(&mut server)),
            None => break,
        }
    }
    assert_eq!(taken, 50);
    assert_eq!(out, answered(&[], &msg).repeat(50));
}
