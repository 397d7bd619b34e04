//! Decoding typical command lines performs no heap allocation: the values borrow from the
//! input. The workspace's counting allocator (`alloc-counter`, per thread, so parallel tests
//! do not disturb the count) measures it.

use std::hint::black_box;

use sansmail_smtp::{
    Command,
    codec::{self, BareLineEndings, DataReceiver, DotStuffer, SaslLine},
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
    let (s, n) = allocations_during(|| {
        let mut s = String::new();
        for i in 0..100 {
            s.push_str(black_box(&i.to_string()));
        }
        s
    });
    assert!(!s.is_empty());
    assert!(n > 100, "{n}");
    // Through the library too: an unknown parameter is pushed onto a Vec.
    let (res, n) = allocations_during(|| {
        codec::decode_command(black_box(b"MAIL FROM:<a@b.example> X-FOO=1\r\n"))
    });
    assert!(res.is_ok());
    assert_eq!(n, 1);
}

const TYPICAL: &[&[u8]] = &[
    b"EHLO client.example.com\r\n",
    b"EHLO [192.0.2.1]\r\n",
    b"EHLO [IPv6:2001:db8::1]\r\n",
    b"HELO client.example.com\r\n",
    b"LHLO client.example.com\r\n",
    b"MAIL FROM:<alice@example.com>\r\n",
    b"MAIL FROM:<> RET=HDRS ENVID=QQ314159\r\n",
    b"MAIL FROM:<alice@example.com> SIZE=123456 BODY=8BITMIME ENVID=QQ+2B314159 RET=FULL\r\n",
    b"MAIL FROM:<\"john x\"@example.com> SMTPUTF8 BODY=BINARYMIME\r\n",
    b"MAIL FROM:<@a.example,@b.example:u@c.example> AUTH=<> REQUIRETLS MT-PRIORITY=-3\r\n",
    b"MAIL FROM:<a@b.example> BY=120;RT HOLDFOR=3600\r\n",
    b"MAIL FROM:<a@b.example> HOLDUNTIL=2026-12-31T23:59:59Z\r\n",
    b"RCPT TO:<bob@example.org>\r\n",
    b"RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40example.org\r\n",
    b"RCPT TO:<bob@example.org> NOTIFY=NEVER\r\n",
    b"RCPT TO:<Postmaster>\r\n",
    b"DATA\r\n",
    b"BDAT 4096\r\n",
    b"BDAT 1000 LAST\r\n",
    b"RSET\r\n",
    b"NOOP\r\n",
    b"NOOP keepalive\r\n",
    b"VRFY smith\r\n",
    b"HELP MAIL\r\n",
    b"STARTTLS\r\n",
    b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
    b"AUTH LOGIN\r\n",
    b"AUTH PLAIN =\r\n",
    b"ETRN @example.com\r\n",
    b"QUIT\r\n",
];

#[test]
fn decoding_typical_commands_does_not_allocate() {
    let mut allocating = Vec::new();
    for &line in TYPICAL {
        let (res, n) = allocations_during(|| codec::decode_command(black_box(line)));
        let (rest, cmd) =
            res.unwrap_or_else(|e| panic!("{:?}: {e:?}", String::from_utf8_lossy(line)));
        assert!(rest.is_empty());
        assert!(!matches!(cmd, Command::Noop { arg: Some(ref a) } if a.is_empty()));
        if n != 0 {
            allocating.push((String::from_utf8_lossy(line).into_owned(), n));
        }
    }
    assert!(allocating.is_empty(), "{allocating:#?}");
}

#[test]
fn decoding_pipelined_commands_does_not_allocate() {
    let stream: Vec<u8> = TYPICAL.concat();
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
    assert_eq!(count, TYPICAL.len());
    assert_eq!(n, 0);
}

#[test]
fn refusing_bad_lines_does_not_allocate() {
    for line in [
        &b"FOO bar\r\n"[..],
        b"MAIL FROM:<a@b.example> SIZE=x\r\n",
        b"MAIL FROM:<a@b.example> SIZE=1 SIZE=2\r\n",
        b"RCPT TO:<>\r\n",
        b"QUIT\n",
        b"BDAT 18446744073709551616\r\n",
        b"NOOP",
    ] {
        let (res, n) = allocations_during(|| codec::decode_command(black_box(line)));
        assert!(res.is_err());
        assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(line));
    }
}

#[test]
fn sasl_lines_and_data_do_not_allocate() {
    let (res, n) =
        allocations_during(|| codec::decode_sasl_line(black_box(b"dXNlcm5hbWU=\r\n"), 12 * 1024));
    assert!(matches!(res, Ok((_, SaslLine::Response(_)))));
    assert_eq!(n, 0);

    // With the output buffer reserved up front, unstuffing and stuffing allocate nothing.
    let wire = b"Subject: x\r\n\r\n..leading dot\r\nbody\r\n.\r\nQUIT\r\n";
    let mut out = Vec::with_capacity(wire.len());
    let mut rx = DataReceiver::new(BareLineEndings::Reject, 1 << 20, Some(1000));
    let ((consumed, end), n) = allocations_during(|| rx.decode(black_box(wire), &mut out));
    assert_eq!(n, 0);
    assert_eq!(consumed, wire.len() - 6);
    assert!(end.is_some());
    assert_eq!(out, b"Subject: x\r\n\r\n.leading dot\r\nbody\r\n");

    let mut stuffed = Vec::with_capacity(4 * out.len());
    let mut tx = DotStuffer::new();
    let ((), n) = allocations_during(|| {
        tx.encode(black_box(&out), &mut stuffed);
        tx.finish(&mut stuffed);
    });
    assert_eq!(n, 0);
    assert_eq!(stuffed, &wire[..consumed]);
}
