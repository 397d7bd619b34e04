//! The client session at STARTTLS: responses the server (or anyone on the path) put behind
//! the `OK` in plaintext are discarded, nothing can be sent until the handshake is done,
//! and the capabilities learnt before it are forgotten.

use std::time::Instant;

use sansmail_imap::{
    session::client::{ApiError, Client, ClientConfig, Event},
    types::{capability::Capability, command::CommandBody, response::StatusKind},
};

#[test]
fn input_behind_starttls_ok_is_discarded() {
    let now = Instant::now();
    let mut c = Client::new(ClientConfig::default(), now);
    c.handle_input(
        now,
        b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n",
    );
    assert!(matches!(c.poll_event(), Some(Event::Greeting(_))));
    // Without set-up configured, the application drives STARTTLS itself.
    assert_eq!(c.poll_event(), Some(Event::Ready));
    assert!(c.has(&Capability::StartTls));
    let tag = c.send(CommandBody::StartTls).unwrap();
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    assert_eq!(out, format!("{tag} STARTTLS\r\n").into_bytes());
    // The OK, then injected plaintext in the same read; more before the handshake.
    c.handle_input(
        now,
        format!("{tag} OK Begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n* BYE injected\r\n")
            .as_bytes(),
    );
    c.handle_input(now, b"* OK [ALERT] still injected\r\n");
    // The handshake is asked for, as in the set-up, then the command's completion.
    assert_eq!(c.poll_event(), Some(Event::StartTls));
    match c.poll_event() {
        Some(Event::Completed { status, .. }) => assert_eq!(status.kind, StatusKind::Ok),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.poll_event(), None);
    assert!(!c.is_closed());
    assert!(matches!(
        c.send(CommandBody::Capability),
        Err(ApiError::Busy(_))
    ));
    c.tls_established().unwrap();
    assert!(c.capabilities().is_empty());
    assert_eq!(c.tls_established(), Err(ApiError::NoStartTls));
    // Not twice: a second handshake would start inside the first.
    assert_eq!(c.send(CommandBody::StartTls), Err(ApiError::AlreadyTls));
    // Over TLS the session goes on.
    let tag = c.send(CommandBody::Capability).unwrap();
    c.handle_input(
        now,
        format!("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n").as_bytes(),
    );
    assert!(matches!(c.poll_event(), Some(Event::Data { .. })));
    assert!(matches!(c.poll_event(), Some(Event::Completed { .. })));
    assert!(!c.has(&Capability::StartTls));
}

#[test]
fn refused_starttls_changes_nothing() {
    let now = Instant::now();
    let mut c = Client::new(ClientConfig::default(), now);
    c.handle_input(now, b"* OK ready\r\n");
    assert!(matches!(c.poll_event(), Some(Event::Greeting(_))));
    assert_eq!(c.poll_event(), Some(Event::Ready));
    let tag = c.send(CommandBody::StartTls).unwrap();
    c.handle_input(
        now,
        format!("{tag} BAD no TLS here\r\n* OK still here\r\n").as_bytes(),
    );
    assert!(matches!(c.poll_event(), Some(Event::Completed { .. })));
    assert!(matches!(c.poll_event(), Some(Event::Untagged(_))));
    assert_eq!(c.tls_established(), Err(ApiError::NoStartTls));
    assert!(c.send(CommandBody::Noop).is_ok());
}
