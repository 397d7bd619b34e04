//! LMTP with CHUNKING: after `BDAT ... LAST` the server answers once per accepted recipient
//! (RFC 2033 §4.2, as after DATA's dot), also when it refuses the data, and the client takes
//! those replies per recipient. Found by the `smtp_pair` fuzz target: a refused `BDAT LAST`
//! was answered once and our client waited for the other replies forever; and a refusal for
//! the first recipient failed the whole transaction although the others were accepted.

use std::time::Instant;

use sansmail_smtp::{
    DomainPart, ForwardPath, MailParams, Mailbox, RcptParams, Reply, ReplyCode, ReversePath,
    session::{
        Protocol, ServerConfig,
        client::{Client, ClientConfig, Envelope, Event as CEvent},
        server::{Event as SEvent, Server},
    },
};

fn busy() -> Reply<'static> {
    Reply::new(ReplyCode::MAILBOX_BUSY, None, "Try again later").unwrap()
}

fn lmtp_server() -> Server {
    let mut config = ServerConfig::new("lmtp.example.org");
    config.protocol = Protocol::Lmtp;
    let mut server = Server::new(config, Instant::now());
    server.poll_transmit(&mut Vec::new());
    server
}

/// Feeds `input`; the application accepts MAIL and RCPT and refuses the message data.
/// Returns the reply codes.
fn refuse_data(server: &mut Server, input: &[u8]) -> Vec<u16> {
    server.handle_input(Instant::now(), input);
    while let Some(event) = server.poll_event() {
        match event {
            SEvent::Mail { .. } | SEvent::Rcpt { .. } => server.accept().unwrap(),
            SEvent::DataStart => server.reject(&busy()).unwrap(),
            SEvent::MessageData(_) | SEvent::MessageEnd { .. } => {
                panic!("refused data was delivered")
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter(|l| l.as_bytes().get(3) != Some(&b'-'))
        .map(|l| l[..3].parse().unwrap())
        .collect()
}

#[test]
fn refused_bdat_last_is_answered_once_per_recipient() {
    let mut server = lmtp_server();
    let codes = refuse_data(
        &mut server,
        b"LHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nRCPT TO:<c@x.org>\r\nBDAT 3 LAST\r\nabc",
    );
    assert_eq!(codes, [250, 250, 250, 250, 450, 450]);
    // The transaction is over: a new one starts.
    assert_eq!(refuse_data(&mut server, b"MAIL FROM:<a@x.org>\r\n"), [250]);
}

#[test]
fn chunks_after_a_refused_one_are_skipped_and_last_answered_per_recipient() {
    let mut server = lmtp_server();
    let codes = refuse_data(
        &mut server,
        b"LHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nRCPT TO:<c@x.org>\r\n\
          BDAT 2\r\nabBDAT 2\r\ncdBDAT 1 LAST\r\neNOOP\r\n",
    );
    assert_eq!(codes, [250, 250, 250, 250, 450, 450, 450, 450, 250]);
    // A client that gives up after the refusal and starts over is not "nested".
    let mut server = lmtp_server();
    let codes = refuse_data(
        &mut server,
        b"LHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBDAT 2\r\nabMAIL FROM:<a@x.org>\r\n",
    );
    assert_eq!(codes, [250, 250, 250, 450, 250]);
}

/// After its data was refused the transaction is over for the client: RCPT is out of
/// sequence (it used to reach the application and be accepted).
#[test]
fn rcpt_after_a_refused_chunk_is_out_of_sequence() {
    let mut server = lmtp_server();
    let codes = refuse_data(
        &mut server,
        b"LHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nBDAT 2\r\nabRCPT TO:<c@x.org>\r\n",
    );
    assert_eq!(codes, [250, 250, 250, 450, 503]);
}

#[test]
fn smtp_refused_bdat_last_is_answered_once() {
    let mut config = ServerConfig::new("mx.example.org");
    config.protocol = Protocol::Smtp;
    let mut server = Server::new(config, Instant::now());
    server.poll_transmit(&mut Vec::new());
    let codes = refuse_data(
        &mut server,
        b"EHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nRCPT TO:<c@x.org>\r\nBDAT 3 LAST\r\nabc",
    );
    assert_eq!(codes, [250, 250, 250, 250, 450]);
}

fn envelope() -> Envelope {
    let rcpt = |s: &str| {
        (
            ForwardPath::Mailbox(Mailbox::try_from(s).unwrap().into_owned()),
            RcptParams::default(),
        )
    };
    Envelope {
        from: ReversePath::Mailbox(Mailbox::try_from("a@x.org").unwrap().into_owned()),
        params: MailParams::default(),
        recipients: vec![rcpt("b@x.org"), rcpt("c@x.org")],
    }
}

/// Runs our LMTP client against our LMTP server (BDAT), the server's application answering
/// the data with `data` and the message with `finals`; returns the client's events.
fn pair(accept_data: bool, finals: &[bool]) -> Vec<CEvent> {
    pair_with(Protocol::Lmtp, true, accept_data, finals)
}

/// [`pair`] for either protocol, with BDAT (`chunking`) or DATA.
fn pair_with(
    protocol: Protocol,
    chunking: bool,
    accept_data: bool,
    finals: &[bool],
) -> Vec<CEvent> {
    let now = Instant::now();
    let mut server_config = ServerConfig::new("lmtp.example.org");
    server_config.protocol = protocol;
    server_config.extensions.chunking = chunking;
    let mut server = Server::new(server_config, now);
    server.poll_transmit(&mut Vec::new());
    let mut config = ClientConfig::new(DomainPart::try_from("c.example").unwrap());
    config.protocol = protocol;
    let mut client = Client::new(config, now);
    client.handle_input(now, b"220 lmtp.example.org ready\r\n");
    let mut events = Vec::new();
    let mut sent = false;
    for _ in 0..100 {
        let mut progress = false;
        while let Some(e) = client.poll_event() {
            progress = true;
            match &e {
                CEvent::Ready if !sent => {
                    sent = true;
                    client.send_mail(&envelope()).unwrap();
                }
                CEvent::Ready => client.quit().unwrap(),
                CEvent::SendData => {
                    client.send_data(b"Subject: x\r\n\r\nhi\r\n").unwrap();
                    client.end_data().unwrap();
                }
                _ => {}
            }
            events.push(e);
        }
        let mut buf = Vec::new();
        client.poll_transmit(&mut buf);
        if !buf.is_empty() {
            progress = true;
            server.handle_input(now, &buf);
        }
        while let Some(e) = server.poll_event() {
            progress = true;
            match e {
                SEvent::Mail { .. } | SEvent::Rcpt { .. } => server.accept().unwrap(),
                SEvent::DataStart if accept_data => server.accept().unwrap(),
                SEvent::DataStart => server.reject(&busy()).unwrap(),
                SEvent::MessageEnd { replies, .. } => {
                    assert_eq!(replies, finals.len());
                    for &ok in finals {
                        if ok {
                            server.accept().unwrap();
                        } else {
                            server.reject(&busy()).unwrap();
                        }
                    }
                }
                _ => {}
            }
        }
        let mut buf = Vec::new();
        server.poll_transmit(&mut buf);
        if !buf.is_empty() {
            progress = true;
            client.handle_input(now, &buf);
        }
        if client.is_closed() {
            events.extend(std::iter::from_fn(|| client.poll_event()));
            return events;
        }
        assert!(progress, "the pair is stuck; client events: {events:?}");
    }
    panic!("the pair did not finish: {events:?}");
}

fn final_codes(events: &[CEvent]) -> Option<Vec<(usize, u16)>> {
    events.iter().find_map(|e| match e {
        CEvent::Sent { replies } => {
            Some(replies.iter().map(|(i, r)| (*i, r.code().get())).collect())
        }
        _ => None,
    })
}

#[test]
fn pair_refused_bdat_last_ends_the_transaction() {
    let events = pair(false, &[]);
    assert_eq!(final_codes(&events), Some(vec![(0, 450), (1, 450)]));
    assert!(matches!(events.last(), Some(CEvent::Closed)), "{events:?}");
}

#[test]
fn pair_first_recipient_refused_after_bdat_last_is_that_recipient_only() {
    let events = pair(true, &[false, true]);
    assert_eq!(final_codes(&events), Some(vec![(0, 450), (1, 250)]));
    let events = pair(true, &[true, false]);
    assert_eq!(final_codes(&events), Some(vec![(0, 250), (1, 450)]));
}

/// In SMTP too, the verdict on a complete message is `Sent`, positive or not, whether the
/// message went with DATA or BDAT; a refusal before it was complete is `TransactionFailed`.
#[test]
fn smtp_verdict_after_data_or_bdat_last_is_sent() {
    for chunking in [false, true] {
        let events = pair_with(Protocol::Smtp, chunking, true, &[false]);
        assert_eq!(
            final_codes(&events),
            Some(vec![(0, 450)]),
            "chunking {chunking}"
        );
        let events = pair_with(Protocol::Smtp, chunking, true, &[true]);
        assert_eq!(
            final_codes(&events),
            Some(vec![(0, 250)]),
            "chunking {chunking}"
        );
        let events = pair_with(Protocol::Smtp, chunking, false, &[]);
        if chunking {
            // The one chunk is `BDAT n LAST`: its refusal is the verdict.
            assert_eq!(final_codes(&events), Some(vec![(0, 450)]), "{events:?}");
        } else {
            // Refused at DATA: the message never went.
            assert_eq!(final_codes(&events), None, "{events:?}");
            assert!(
                events
                    .iter()
                    .any(|e| matches!(e, CEvent::TransactionFailed(_))),
                "{events:?}"
            );
        }
    }
}

/// RFC 2033 §4.2: LMTP's DATA after no successful RCPT MUST fail with 503 (SMTP's 554 is
/// RFC 2920's suggestion), BDAT alike.
#[test]
fn data_without_a_valid_recipient_is_503() {
    let mut server = lmtp_server();
    server.handle_input(
        Instant::now(),
        b"LHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nBDAT 1 LAST\r\nx",
    );
    while let Some(event) = server.poll_event() {
        match event {
            SEvent::Mail { .. } => server.accept().unwrap(),
            SEvent::Rcpt { .. } => server.reject(&busy()).unwrap(),
            SEvent::DataStart | SEvent::MessageData(_) | SEvent::MessageEnd { .. } => {
                panic!("data without a recipient")
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    let text = String::from_utf8(out).unwrap();
    let codes: Vec<&str> = text
        .lines()
        .filter(|l| l.as_bytes().get(3) != Some(&b'-'))
        .map(|l| &l[..3])
        .collect();
    assert_eq!(codes, ["250", "250", "450", "503", "503"], "{text}");
}

/// RFC 3030 §2: a refused BDAT leaves the transaction indeterminate; the client sends RSET
/// before the next command (after a refused chunk, and after a refused `BDAT ... LAST`).
#[test]
fn a_refused_chunk_is_followed_by_rset() {
    let now = Instant::now();
    for refuse_first in [true, false] {
        let mut client = Client::new(
            ClientConfig::new(DomainPart::try_from("c.example").unwrap()),
            now,
        );
        let mut wire = Vec::new();
        client.handle_input(now, b"220 mx.example ready\r\n");
        client.handle_input(now, b"250-mx.example\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
        while client.poll_event().is_some() {}
        let mut env = envelope();
        env.recipients.truncate(1);
        client.send_mail(&env).unwrap();
        client.handle_input(now, b"250 ok\r\n250 ok\r\n");
        assert!(std::iter::from_fn(|| client.poll_event()).any(|e| e == CEvent::SendData));
        client.send_data(b"Subject: x\r\n\r\n").unwrap();
        client.send_data(b"body\r\n").unwrap();
        client.end_data().unwrap();
        client.poll_transmit(&mut wire);
        let replies: &[u8] = if refuse_first {
            b"552 5.3.4 too big\r\n503 5.5.1 no transaction\r\n"
        } else {
            b"250 ok\r\n554 5.7.1 refused\r\n"
        };
        client.handle_input(now, replies);
        let events: Vec<CEvent> = std::iter::from_fn(|| client.poll_event()).collect();
        assert!(!events.contains(&CEvent::Ready), "{events:?}");
        wire.clear();
        client.poll_transmit(&mut wire);
        assert_eq!(wire, b"RSET\r\n", "{}", String::from_utf8_lossy(&wire));
        client.handle_input(now, b"250 ok\r\n");
        assert!(std::iter::from_fn(|| client.poll_event()).any(|e| e == CEvent::Ready));
    }
}

/// An LMTP server that answers the first recipient after the data and then closes (or stops
/// answering): that recipient has the message and is reported so, the others as temporary
/// failures, so that a retry does not deliver to the first one twice (RFC 2033 §4.2).
#[test]
fn finals_before_a_lost_connection_are_reported() {
    for timeout in [false, true] {
        let now = Instant::now();
        let mut config = ClientConfig::new(DomainPart::try_from("c.example").unwrap());
        config.protocol = Protocol::Lmtp;
        let mut client = Client::new(config, now);
        client.handle_input(now, b"220 lmtp.example.org ready\r\n");
        let mut envelope = envelope();
        envelope.recipients.push(envelope.recipients[0].clone());
        let mut events = Vec::new();
        let mut answered_data = false;
        for _ in 0..20 {
            while let Some(e) = client.poll_event() {
                match &e {
                    CEvent::Ready => client.send_mail(&envelope).unwrap(),
                    CEvent::SendData => {
                        client.send_data(b"Subject: x\r\n\r\nhi\r\n").unwrap();
                        client.end_data().unwrap();
                    }
                    _ => {}
                }
                events.push(e);
            }
            let mut wire = Vec::new();
            client.poll_transmit(&mut wire);
            let reply: &[u8] = match wire.get(..4) {
                Some(b"LHLO") => b"250 lmtp.example.org\r\n",
                Some(b"MAIL" | b"RCPT") => b"250 2.1.0 ok\r\n",
                Some(b"DATA") => b"354 go on\r\n",
                Some(_) if wire.ends_with(b"\r\n.\r\n") && !answered_data => {
                    answered_data = true;
                    b"250 2.0.0 delivered to b\r\n"
                }
                _ => b"",
            };
            client.handle_input(now, reply);
        }
        assert!(answered_data, "{events:?}");
        if timeout {
            client.handle_timeout(now + std::time::Duration::from_secs(3600));
            client.handle_timeout(now + std::time::Duration::from_secs(7200));
        } else {
            client.connection_closed();
        }
        assert!(client.is_closed());
        events.extend(std::iter::from_fn(|| client.poll_event()));
        let sent = events.iter().find_map(|e| match e {
            CEvent::Sent { replies } => Some(replies),
            _ => None,
        });
        let replies = sent.unwrap_or_else(|| panic!("no Sent: {events:?}"));
        let codes: Vec<(usize, u16)> = replies.iter().map(|(i, r)| (*i, r.code().get())).collect();
        assert_eq!(codes, [(0, 250), (1, 421), (2, 421)], "timeout: {timeout}");
        assert_eq!(
            matches!(events.last(), Some(CEvent::Failed(_))),
            timeout,
            "{events:?}"
        );
    }
}
