//! Decoding commands, response lines and multi-line bodies performs no heap allocation: the
//! values borrow from the input. The workspace's counting allocator (`alloc-counter`, per
//! thread, so parallel tests do not disturb the count) measures it.

use std::hint::black_box;

use sansmail_pop3::{
    Command, Expect, Reply,
    codec::{self, MultiLineReceiver, SaslLine, Stuffer},
};

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

use alloc_counter::allocations_during;

/// The counter works: without this, a zero below would prove nothing.
#[test]
fn the_counter_sees_allocations() {
    let (v, n) = allocations_during(|| black_box(vec![0u8; 64]));
    assert_eq!(v.len(), 64);
    assert_eq!(n, 1);
    // Through the library too: owning a command copies its arguments.
    let (cmd, n) = allocations_during(|| {
        codec::decode_command(black_box(b"USER alice\r\n")).map(|(_, c)| c.into_owned())
    });
    assert!(cmd.is_ok());
    assert_eq!(n, 1);
    // And a capability line with parameters collects them.
    let (cap, n) = allocations_during(|| codec::parse_capability(black_box(b"SASL PLAIN LOGIN")));
    assert!(cap.is_ok());
    assert!(n >= 1);
}

const COMMANDS: &[&[u8]] = &[
    b"USER mrose\r\n",
    b"PASS secret with spaces\r\n",
    b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
    b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
    b"AUTH PLAIN =\r\n",
    b"AUTH SCRAM-SHA-256\r\n",
    b"AUTH\r\n",
    b"QUIT\r\n",
    b"STAT\r\n",
    b"LIST\r\n",
    b"LIST 1\r\n",
    b"RETR 1\r\n",
    b"DELE 4294967295\r\n",
    b"NOOP\r\n",
    b"RSET\r\n",
    b"TOP 1 10\r\n",
    b"UIDL\r\n",
    b"UIDL 12\r\n",
    b"CAPA\r\n",
    b"STLS\r\n",
    b"UTF8\r\n",
    b"LANG\r\n",
    b"LANG en-US\r\n",
];

#[test]
fn decoding_commands_does_not_allocate() {
    let mut allocating = Vec::new();
    for &line in COMMANDS {
        let (res, n) = allocations_during(|| codec::decode_command(black_box(line)));
        let (rest, cmd) =
            res.unwrap_or_else(|e| panic!("{:?}: {e:?}", String::from_utf8_lossy(line)));
        assert!(rest.is_empty());
        assert!(!matches!(cmd, Command::Noop) || line == b"NOOP\r\n");
        if n != 0 {
            allocating.push((String::from_utf8_lossy(line).into_owned(), n));
        }
    }
    assert!(allocating.is_empty(), "{allocating:#?}");
}

#[test]
fn decoding_pipelined_commands_does_not_allocate() {
    let stream: Vec<u8> = COMMANDS.concat();
    let (count, n) = allocations_during(|| {
        let mut input = black_box(&stream[..]);
        let mut count = 0;
        while !input.is_empty() {
            let (rest, cmd) = codec::decode_command(input).unwrap();
            black_box(&cmd);
            input = rest;
            count += 1;
        }
        count
    });
    assert_eq!(count, COMMANDS.len());
    assert_eq!(n, 0);
}

#[test]
fn refusing_bad_lines_does_not_allocate() {
    for line in [
        &b"FOO bar\r\n"[..],
        b"RETR 0\r\n",
        b"RETR x\r\n",
        b"USER a b\r\n",
        b"STAT\n",
        b"TOP 1 -5\r\n",
        b"NOOP",
    ] {
        let (res, n) = allocations_during(|| codec::decode_command(black_box(line)));
        assert!(res.is_err());
        assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(line));
    }
}

#[test]
fn decoding_responses_does_not_allocate() {
    let cases: &[(&[u8], Expect)] = &[
        (
            b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
            Expect::SingleLine,
        ),
        (b"-ERR [IN-USE] locked\r\n", Expect::SingleLine),
        (b"-ERR [X-UNKNOWN/CODE] kept\r\n", Expect::SingleLine),
        (b"+ VXNlcm5hbWU6\r\n", Expect::Sasl),
        (
            b"+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n",
            Expect::MultiLine,
        ),
        (
            b"+OK\r\nSubject: x\r\n\r\n..dot\r\n.\r\n",
            Expect::MultiLine,
        ),
    ];
    for &(wire, expect) in cases {
        let (res, n) = allocations_during(|| codec::decode_response(black_box(wire), expect));
        let (rest, reply) = res.unwrap();
        assert!(rest.is_empty());
        assert!(!matches!(reply, Reply::Single(_)) || expect != Expect::MultiLine);
        assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(wire));
    }
    let (listing, n) = allocations_during(|| {
        codec::parse_unique_id_listing(black_box(b"1 whqtswO00WBw418f9t5JxYwZ"))
    });
    assert!(listing.is_ok());
    assert_eq!(n, 0);
}

#[test]
fn sasl_lines_and_bodies_do_not_allocate() {
    let (res, n) =
        allocations_during(|| codec::decode_sasl_line(black_box(b"dXNlcm5hbWU=\r\n"), 1000));
    assert!(matches!(res, Ok((_, SaslLine::Response(_)))));
    assert_eq!(n, 0);

    // With the output buffers reserved up front, stuffing and unstuffing allocate nothing.
    let data = b"Subject: x\r\n\r\n.leading dot\r\nbody\r\n";
    let mut wire = Vec::with_capacity(4 * data.len());
    let mut tx = Stuffer::new();
    let ((), n) = allocations_during(|| {
        tx.encode(black_box(data), &mut wire);
        tx.finish(&mut wire);
    });
    assert_eq!(n, 0);
    assert_eq!(wire, b"Subject: x\r\n\r\n..leading dot\r\nbody\r\n.\r\n");
    let mut out = Vec::with_capacity(wire.len());
    let mut rx = MultiLineReceiver::new();
    let ((used, done), n) = allocations_during(|| rx.decode(black_box(&wire), &mut out));
    assert_eq!(n, 0);
    assert!(done);
    assert_eq!(used, wire.len());
    assert_eq!(out, data);
}
