//! The client's own connection set-up (CAPABILITY, STARTTLS, AUTHENTICATE PLAIN or LOGIN) and
//! its response timeout, driven with scripted server lines.

use std::time::{Duration, Instant};

use sansmail_core::{Credentials, TlsPolicy};
use sansmail_imap::{
    session::client::{Client, ClientConfig, ClientError, Event, Stage},
    types::{
        command::{CommandBody, State},
        mailbox::Mailbox,
    },
};

fn alice() -> ClientConfig {
    ClientConfig::new(Some(Credentials::new("alice", "secret")))
}

/// What the client sends next, as text.
fn sent(c: &mut Client) -> String {
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    String::from_utf8(out).unwrap()
}

fn events(c: &mut Client) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

#[test]
fn capability_starttls_capability_then_sasl_ir_login() {
    let now = Instant::now();
    let mut c = Client::new(alice(), now);
    c.handle_input(now, b"* OK ready\r\n");
    assert!(matches!(events(&mut c)[..], [Event::Greeting(_)]));
    assert_eq!(sent(&mut c), "A0001 CAPABILITY\r\n");
    c.handle_input(
        now,
        b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\nA0001 OK done\r\n",
    );
    // The set-up's own commands are not reported.
    assert!(events(&mut c).is_empty());
    assert_eq!(sent(&mut c), "A0002 STARTTLS\r\n");
    c.handle_input(now, b"A0002 OK go ahead\r\n* OK injected\r\n");
    assert_eq!(events(&mut c), [Event::StartTls]);
    assert!(c.send(CommandBody::Noop).is_err());
    c.tls_established().unwrap();
    assert!(c.is_tls());
    assert_eq!(sent(&mut c), "A0003 CAPABILITY\r\n");
    c.handle_input(
        now,
        b"* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\nA0003 OK done\r\n",
    );
    assert_eq!(
        sent(&mut c),
        "A0004 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n"
    );
    c.handle_input(now, b"A0004 OK [CAPABILITY IMAP4rev1 IDLE MOVE] in\r\n");
    assert_eq!(events(&mut c), [Event::Ready]);
    assert_eq!(c.state(), State::Authenticated);
    assert!(c.is_ready());
    assert_eq!(c.capabilities().len(), 3);
    // Now the application's commands go out.
    c.send(CommandBody::Noop).unwrap();
    assert_eq!(sent(&mut c), "A0005 NOOP\r\n");
}

#[test]
fn login_when_plain_is_not_offered_and_capabilities_asked_after_it() {
    let now = Instant::now();
    let mut config = alice();
    config.starttls = TlsPolicy::Never;
    let mut c = Client::new(config, now);
    c.handle_input(now, b"* OK [CAPABILITY IMAP4rev1] ready\r\n");
    assert_eq!(sent(&mut c), "A0001 LOGIN alice secret\r\n");
    c.handle_input(now, b"A0001 OK logged in\r\n");
    // The OK said no capabilities: they are asked, since login changes them.
    assert_eq!(sent(&mut c), "A0002 CAPABILITY\r\n");
    c.handle_input(now, b"* CAPABILITY IMAP4rev1 IDLE\r\nA0002 OK done\r\n");
    assert!(matches!(
        events(&mut c)[..],
        [Event::Greeting(_), Event::Ready]
    ));
}

#[test]
fn plain_without_sasl_ir_answers_the_continuation() {
    let now = Instant::now();
    let mut config = alice();
    config.starttls = TlsPolicy::Never;
    let mut c = Client::new(config, now);
    c.handle_input(now, b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n");
    assert_eq!(sent(&mut c), "A0001 AUTHENTICATE PLAIN\r\n");
    c.handle_input(now, b"+ \r\n");
    assert_eq!(sent(&mut c), "AGFsaWNlAHNlY3JldA==\r\n");
    c.handle_input(now, b"A0001 OK [CAPABILITY IMAP4rev1] in\r\n");
    assert!(matches!(
        events(&mut c)[..],
        [Event::Greeting(_), Event::Ready]
    ));
}

#[test]
fn failures_of_the_set_up() {
    let now = Instant::now();
    let fail = |config: ClientConfig, script: &[&[u8]]| {
        let mut c = Client::new(config, now);
        for line in script {
            c.handle_input(now, line);
            sent(&mut c);
        }
        assert!(c.is_closed());
        events(&mut c)
            .into_iter()
            .find_map(|e| match e {
                Event::Failed(e) => Some(e),
                _ => None,
            })
            .unwrap()
    };
    let mut required = alice();
    required.starttls = TlsPolicy::Required;
    assert_eq!(
        fail(
            required,
            &[b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n"]
        ),
        ClientError::TlsNotOffered
    );
    let mut plain = alice();
    plain.starttls = TlsPolicy::Never;
    assert_eq!(
        fail(
            plain.clone(),
            &[b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] hi\r\n"]
        ),
        ClientError::NoLoginMethod
    );
    assert!(matches!(
        fail(
            plain.clone(),
            &[
                b"* OK [CAPABILITY IMAP4rev1] hi\r\n",
                b"A0001 NO [AUTHENTICATIONFAILED] no\r\n"
            ]
        ),
        ClientError::Rejected {
            stage: Stage::Login,
            ..
        }
    ));
    assert!(matches!(
        fail(plain, &[b"* BYE too busy\r\n"]),
        ClientError::Rejected {
            stage: Stage::Greeting,
            ..
        }
    ));
}

#[test]
fn refused_starttls_goes_on_in_plaintext_without_a_password() {
    let now = Instant::now();
    let mut c = Client::new(ClientConfig::new(None), now);
    c.handle_input(now, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n");
    assert_eq!(sent(&mut c), "A0001 STARTTLS\r\n");
    c.handle_input(now, b"A0001 NO not today\r\n");
    assert!(matches!(
        events(&mut c)[..],
        [Event::Greeting(_), Event::Ready]
    ));
    // With one, opportunistic TLS sends it only over TLS (RFC 8314): refused or missing
    // STARTTLS ends the session, as it would under Required.
    let mut c = Client::new(alice(), now);
    c.handle_input(now, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n");
    assert_eq!(sent(&mut c), "A0001 STARTTLS\r\n");
    c.handle_input(now, b"A0001 NO not today\r\n");
    assert_eq!(sent(&mut c), "");
    assert!(matches!(
        events(&mut c)[..],
        [
            Event::Greeting(_),
            Event::Failed(ClientError::TlsNotOffered)
        ]
    ));
    let mut c = Client::new(alice(), now);
    c.handle_input(now, b"* OK [CAPABILITY IMAP4rev1] hi\r\n");
    assert_eq!(sent(&mut c), "");
    assert!(c.is_closed());
    // Chosen plaintext logs in.
    let mut config = alice();
    config.starttls = TlsPolicy::Never;
    let mut c = Client::new(config, now);
    c.handle_input(now, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n");
    assert_eq!(sent(&mut c), "A0001 LOGIN alice secret\r\n");
}

#[test]
fn preauth_skips_the_login() {
    let now = Instant::now();
    let mut c = Client::new(alice(), now);
    c.handle_input(now, b"* PREAUTH [CAPABILITY IMAP4rev1] welcome\r\n");
    assert_eq!(sent(&mut c), "");
    assert!(matches!(
        events(&mut c)[..],
        [Event::Greeting(_), Event::Ready]
    ));
}

#[test]
fn response_timeout_but_not_while_idling_nor_between_commands() {
    let t0 = Instant::now();
    let mut config = ClientConfig::default();
    config.response_timeout = Duration::from_secs(10);
    let mut c = Client::new(config, t0);
    // The greeting is awaited.
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    c.handle_input(t0, b"* OK hi\r\n");
    events(&mut c);
    assert_eq!(c.poll_timeout(), None);
    // An hour later a command goes out: its clock starts then, not at the last input.
    let later = t0 + Duration::from_secs(3600);
    c.send(CommandBody::Noop).unwrap();
    let due = c.poll_timeout().unwrap();
    assert!(due <= later);
    c.handle_timeout(later);
    assert!(!c.is_closed());
    assert_eq!(c.poll_timeout(), Some(later + Duration::from_secs(10)));
    c.handle_input(later, b"A0001 OK done\r\n");
    events(&mut c);
    // IDLE: no timeout once the server accepted it.
    c.send(CommandBody::Idle).unwrap();
    c.handle_input(later, b"+ idling\r\n");
    assert!(events(&mut c).contains(&Event::Idling));
    assert_eq!(c.poll_timeout(), None);
    c.handle_timeout(later + Duration::from_secs(7200));
    assert!(!c.is_closed());
    // After DONE the answer is awaited, and not forever.
    c.idle_done().unwrap();
    let done_at = later + Duration::from_secs(7200);
    c.handle_timeout(done_at);
    c.handle_timeout(done_at + Duration::from_secs(11));
    assert!(c.is_closed());
    assert_eq!(events(&mut c), [Event::Failed(ClientError::Timeout)]);
}

/// RFC 9051 §7.1.4: a client that requires TLS closes on a PREAUTH greeting in plaintext,
/// where STARTTLS is no longer possible (the downgrade of CVE-2020-12398).
#[test]
fn preauth_in_plaintext_fails_when_tls_is_required() {
    let now = Instant::now();
    let mut config = alice();
    config.starttls = TlsPolicy::Required;
    let mut c = Client::new(config, now);
    c.handle_input(
        now,
        b"* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome\r\n",
    );
    assert!(matches!(
        events(&mut c)[..],
        [
            Event::Greeting(_),
            Event::Failed(ClientError::TlsNotOffered)
        ]
    ));
    assert_eq!(sent(&mut c), "");
    assert!(c.is_closed());
    // With implicit TLS, PREAUTH is fine.
    let mut config = alice();
    config.starttls = TlsPolicy::Required;
    config.implicit_tls = true;
    let mut c = Client::new(config, now);
    c.handle_input(now, b"* PREAUTH welcome\r\n");
    assert!(matches!(
        events(&mut c)[..],
        [Event::Greeting(_), Event::Ready]
    ));
}

/// A `+` to the set-up's CAPABILITY or STARTTLS (before TLS: anyone on the path may have
/// sent it) does not draw the credentials; only AUTHENTICATE PLAIN's one challenge does.
#[test]
fn credentials_answer_only_the_authenticate_challenge() {
    let now = Instant::now();
    let mut config = alice();
    config.starttls = TlsPolicy::Required;
    let mut c = Client::new(config, now);
    c.handle_input(now, b"* OK ready\r\n");
    assert_eq!(sent(&mut c), "A0001 CAPABILITY\r\n");
    c.handle_input(now, b"+ \r\n");
    assert_eq!(sent(&mut c), "");
    assert!(matches!(
        events(&mut c)[..],
        [Event::Greeting(_), Event::Failed(ClientError::Protocol(_))]
    ));

    // A second challenge to AUTHENTICATE PLAIN cancels the exchange.
    let mut config = alice();
    config.starttls = TlsPolicy::Never;
    let mut c = Client::new(config, now);
    c.handle_input(now, b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n");
    assert_eq!(sent(&mut c), "A0001 AUTHENTICATE PLAIN\r\n");
    c.handle_input(now, b"+ \r\n");
    assert_eq!(sent(&mut c), "AGFsaWNlAHNlY3JldA==\r\n");
    c.handle_input(now, b"+ again\r\n");
    assert_eq!(sent(&mut c), "*\r\n");
}

/// RFC 9051 §2.2.2: a client accepts any response. The ready-made configuration parses
/// what real servers send (Gmail's code without text, Exchange's trailing space), and an
/// untagged response that still does not parse is reported and skipped.
#[test]
fn real_servers_responses_do_not_end_the_session() {
    let now = Instant::now();
    let mut config = ClientConfig::new(None);
    config.starttls = TlsPolicy::Never;
    let mut c = Client::new(config, now);
    c.handle_input(now, b"* OK ready\r\n");
    events(&mut c);
    let tag = c.send(CommandBody::Noop).unwrap();
    sent(&mut c);
    c.handle_input(
        now,
        b"* OK [HIGHESTMODSEQ 9]\r\n* SEARCH 1 2 \r\n* 1 FETCH (FLAGS (\\Seen) junk\r\nA0001 OK done\r\n",
    );
    let ev = events(&mut c);
    assert!(
        matches!(&ev[0], Event::Untagged(s) if s.code.is_some()),
        "{ev:?}"
    );
    assert!(matches!(&ev[1], Event::Data { .. }), "{ev:?}");
    assert!(
        matches!(&ev[2], Event::Unparsed { response, .. } if response.starts_with(b"* 1 FETCH")),
        "{ev:?}"
    );
    assert!(
        matches!(&ev[3], Event::Completed { tag: t, .. } if *t == tag),
        "{ev:?}"
    );
    assert!(!c.is_closed());
    // A tagged response that does not parse still ends it.
    c.send(CommandBody::Noop).unwrap();
    c.handle_input(now, b"A0002 WHAT\r\n");
    assert!(matches!(events(&mut c)[..], [Event::Failed(_)]));
}

/// A `* SEARCH` answer for a large mailbox is one line far past a command's limits (10,000
/// UIDs of 7 digits here, 80 KB): it is data, not the end of the session. Capability names
/// in lower case are known; a SELECT that fails, with NO or BAD, leaves no mailbox selected
/// (RFC 9051 §6.3.2).
#[test]
fn large_answers_lower_case_capabilities_and_refused_select() {
    let now = Instant::now();
    let mut c = Client::new(alice(), now);
    c.handle_input(
        now,
        b"* OK [CAPABILITY IMAP4rev1 starttls auth=plain sasl-ir] ready\r\n",
    );
    events(&mut c);
    assert_eq!(sent(&mut c), "A0001 STARTTLS\r\n");
    c.handle_input(now, b"A0001 OK begin TLS\r\n");
    events(&mut c);
    c.tls_established().unwrap();
    assert_eq!(sent(&mut c), "A0002 CAPABILITY\r\n");
    c.handle_input(
        now,
        b"* CAPABILITY IMAP4rev1 auth=plain sasl-ir\r\nA0002 OK\r\n",
    );
    events(&mut c);
    assert_eq!(
        sent(&mut c),
        "A0003 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n"
    );
    c.handle_input(now, b"A0003 OK [CAPABILITY IMAP4rev1 move] in\r\n");
    events(&mut c);
    assert_eq!(c.state(), State::Authenticated);

    let tag = c.send(CommandBody::Noop).unwrap();
    sent(&mut c);
    let mut search = b"* SEARCH".to_vec();
    for uid in 1_000_000..1_010_000 {
        search.extend_from_slice(format!(" {uid}").as_bytes());
    }
    search.extend_from_slice(format!("\r\n{tag} OK done\r\n").as_bytes());
    c.handle_input(now, &search);
    let ev = events(&mut c);
    assert!(matches!(&ev[0], Event::Data { .. }), "{:?}", &ev[..1]);
    assert!(matches!(&ev[1], Event::Completed { .. }), "{ev:?}");

    let select = |c: &mut Client, answer: &[u8]| {
        let tag = c
            .send(CommandBody::Select {
                mailbox: Mailbox::inbox(),
                params: vec![],
            })
            .unwrap();
        sent(c);
        c.handle_input(now, format!("{tag} ").as_bytes());
        c.handle_input(now, answer);
        events(c);
    };
    select(&mut c, b"OK [READ-WRITE] done\r\n");
    assert_eq!(c.state(), State::Selected);
    select(&mut c, b"BAD what\r\n");
    assert_eq!(c.state(), State::Authenticated);
    select(&mut c, b"OK [READ-WRITE] done\r\n");
    assert_eq!(c.state(), State::Selected);
    select(&mut c, b"NO no such mailbox\r\n");
    assert_eq!(c.state(), State::Authenticated);
}

/// DONE answers IDLE's `+` (RFC 2177 §3): asked for before it, DONE waits for it, and is
/// never sent when IDLE is refused (the server would read it as a command).
#[test]
fn done_waits_for_the_continuation() {
    let now = Instant::now();
    let mut c = Client::new(ClientConfig::default(), now);
    c.handle_input(now, b"* OK ready\r\n");
    events(&mut c);
    c.send(CommandBody::Idle).unwrap();
    assert_eq!(sent(&mut c), "A0001 IDLE\r\n");
    c.idle_done().unwrap();
    assert_eq!(sent(&mut c), "");
    assert!(c.send(CommandBody::Noop).is_err());
    c.handle_input(now, b"A0001 BAD unknown command\r\n");
    assert_eq!(sent(&mut c), "");
    assert!(matches!(events(&mut c)[..], [Event::Completed { .. }]));
    // Accepted late: DONE goes with the `+`.
    c.send(CommandBody::Idle).unwrap();
    sent(&mut c);
    c.idle_done().unwrap();
    c.handle_input(now, b"+ idling\r\n");
    assert_eq!(sent(&mut c), "DONE\r\n");
    c.handle_input(now, b"A0002 OK done\r\n");
    assert!(matches!(events(&mut c)[..], [Event::Completed { .. }]));
    c.send(CommandBody::Noop).unwrap();
}

/// IMAP4rev2 puts UTF-8 in force (RFC 9051 §5.1): names go as UTF-8, and a name learnt
/// in modified UTF-7 before is sent in UTF-8 from then on.
#[test]
fn imap4rev2_switches_names_to_utf8() {
    use sansmail_imap::types::{capability::Capability, mailbox::Mailbox};
    let now = Instant::now();
    let mut c = Client::new(ClientConfig::default(), now);
    c.handle_input(now, b"* OK ready\r\n");
    events(&mut c);
    c.send(CommandBody::Enable {
        capabilities: vec![Capability::Imap4Rev2],
    })
    .unwrap();
    sent(&mut c);
    c.handle_input(now, b"* ENABLED IMAP4rev2\r\nA0001 OK done\r\n");
    events(&mut c);
    c.send(CommandBody::Select {
        mailbox: Mailbox::new("Ärger").unwrap(),
        params: vec![],
    })
    .unwrap();
    assert_eq!(sent(&mut c), "A0002 SELECT \"Ärger\"\r\n");
    let learnt = Mailbox::from_wire(
        sansmail_imap::types::core::AString::from_bytes(&b"&AMQ-rger"[..]).unwrap(),
        false,
    )
    .unwrap();
    assert_eq!(learnt.name(), "Ärger");
    assert_eq!(learnt.to_wire(true).as_bytes(), "Ärger".as_bytes());
    assert_eq!(learnt.to_wire(false).as_bytes(), b"&AMQ-rger");
}

/// RFC 9051 §2.2.1: no command starts while an AUTHENTICATE exchange runs: the server's `+`
/// is the exchange's, not another command's literal.
#[test]
fn no_command_during_an_authenticate_exchange() {
    use sansmail_imap::types::core::Atom;
    let now = Instant::now();
    let mut c = Client::new(ClientConfig::default(), now);
    c.handle_input(now, b"* OK ready\r\n");
    events(&mut c);
    c.send(CommandBody::Authenticate {
        mechanism: Atom::new("XOAUTH2").unwrap(),
        initial: None,
    })
    .unwrap();
    assert_eq!(sent(&mut c), "A0001 AUTHENTICATE XOAUTH2\r\n");
    assert!(c.send(CommandBody::Noop).is_err());
    c.handle_input(now, b"+ \r\n");
    assert!(matches!(events(&mut c)[..], [Event::Continue(_)]));
    c.handle_input(now, b"A0001 NO denied\r\n");
    events(&mut c);
    c.send(CommandBody::Noop).unwrap();
    assert_eq!(sent(&mut c), "A0002 NOOP\r\n");
}
