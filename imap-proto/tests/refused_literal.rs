//! A command the server refuses before its synchronizing literal (tagged NO instead of `+`)
//! was never run: the client's state must not change. Found by the `imap_pair` fuzz target:
//! a refused `EXAMINE {10}` made our client think the mailbox was closed while our server
//! kept it selected.

use std::time::Instant;

use sansmail_imap::{
    codec::{CommandOptions, parse_command},
    session::client::{Client, ClientConfig, Event},
    types::command::{CommandBody, State},
};

fn body(line: &'static [u8]) -> CommandBody<'static> {
    parse_command(line, &CommandOptions::default())
        .unwrap()
        .body
}

/// A client with INBOX selected, talking to a server without LITERAL+.
fn selected() -> Client {
    let now = Instant::now();
    let mut client = Client::new(ClientConfig::default(), now);
    client.handle_input(now, b"* OK [CAPABILITY IMAP4rev1] ready\r\n");
    client.send(body(b"x LOGIN alice secret\r\n")).unwrap();
    client.handle_input(now, b"A0001 OK done\r\n");
    client.send(body(b"x SELECT INBOX\r\n")).unwrap();
    client.handle_input(now, b"* 1 EXISTS\r\nA0002 OK [READ-WRITE] done\r\n");
    assert_eq!(client.state(), State::Selected);
    while client.poll_event().is_some() {}
    client.poll_transmit(&mut Vec::new());
    client
}

#[test]
fn select_refused_before_its_literal_keeps_the_mailbox_selected() {
    let now = Instant::now();
    let mut client = selected();
    client
        .send(body(b"x EXAMINE {10}\r\nSent Items\r\n"))
        .unwrap();
    let mut out = Vec::new();
    client.poll_transmit(&mut out);
    assert_eq!(out, b"A0003 EXAMINE {10}\r\n");
    client.handle_input(now, b"A0003 NO [TOOBIG] Literal too large\r\n");
    assert!(matches!(client.poll_event(), Some(Event::Completed { .. })));
    assert_eq!(client.state(), State::Selected);
    // The literal is not sent, and the next command goes out.
    client.send(body(b"x NOOP\r\n")).unwrap();
    out.clear();
    client.poll_transmit(&mut out);
    assert_eq!(out, b"A0004 NOOP\r\n");
}

#[test]
fn select_that_ran_and_failed_closes_the_mailbox() {
    let now = Instant::now();
    let mut client = selected();
    client
        .send(body(b"x EXAMINE {10}\r\nSent Items\r\n"))
        .unwrap();
    client.handle_input(now, b"+ go ahead\r\n");
    let mut out = Vec::new();
    client.poll_transmit(&mut out);
    assert_eq!(out, b"A0003 EXAMINE {10}\r\nSent Items\r\n");
    client.handle_input(now, b"A0003 NO [NONEXISTENT] No such mailbox\r\n");
    assert_eq!(client.state(), State::Authenticated);
}
