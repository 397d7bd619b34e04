//! The server session against scripted clients, with a small in-memory mailbox as the
//! application.

use std::time::Instant;

use sansmail_imap::{
    session::{
        ServerConfig,
        server::{ApiError, Server},
        view::Update,
    },
    types::{
        capability::Capability,
        core::Text,
        flag::Flag,
        response::{Data, Response, Status, StatusKind},
        response_code::ResponseCode,
    },
};

use crate::session::app::App;

struct Session {
    server: Server,
    app: App,
    now: Instant,
}

impl Session {
    fn new(config: ServerConfig) -> (Self, String) {
        let now = Instant::now();
        let mut s = Self {
            server: Server::new(config, now),
            app: App::new(),
            now,
        };
        let greeting = s.out();
        (s, greeting)
    }

    fn plain() -> Self {
        let mut config = ServerConfig::default();
        config.auth_requires_tls = false;
        Self::new(config).0
    }

    fn out(&mut self) -> String {
        let mut out = Vec::new();
        self.server.poll_transmit(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn feed(&mut self, input: &[u8]) -> String {
        self.server.handle_input(self.now, input);
        self.app.handle(&mut self.server);
        self.out()
    }

    fn login_select(&mut self) {
        let out = self.feed(b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n");
        assert!(out.contains("a2 OK [READ-WRITE]"), "{out}");
    }
}

#[test]
fn greeting_advertises_capabilities() {
    let (_, greeting) = Session::new(ServerConfig::default());
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 "),
        "{greeting}"
    );
    assert!(
        greeting.contains("LOGINDISABLED"),
        "plaintext login is off by default: {greeting}"
    );
    assert!(!greeting.contains("AUTH=PLAIN"));
    assert!(greeting.ends_with("\r\n"));
}

#[test]
fn login_requires_tls_by_default() {
    let (mut s, _) = Session::new(ServerConfig::default());
    let out = s.feed(b"a1 LOGIN alice secret\r\n");
    assert_eq!(out, "a1 NO [PRIVACYREQUIRED] Use STARTTLS first\r\n");
    assert!(s.app.events.iter().all(|e| !e.contains("Login")));
}

/// A password that is not UTF-8 is refused, not made U+FFFD (two Latin-1 passwords would
/// be the same one); the application never sees it.
#[test]
fn login_with_octets_that_are_not_utf8_is_refused() {
    let mut s = Session::plain();
    let out = s.feed(b"a1 LOGIN alice {4}\r\n");
    assert!(out.starts_with('+'), "{out}");
    let out = s.feed(b"p\xe4ss\r\n");
    assert_eq!(
        out,
        "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    );
    assert!(s.app.events.iter().all(|e| !e.contains("Login")));
    assert!(s.feed(b"a2 LOGIN alice secret\r\n").starts_with("a2 OK"));
}

#[test]
fn login_and_state_rules() {
    let mut s = Session::plain();
    assert_eq!(
        s.feed(b"a0 SELECT INBOX\r\n"),
        "a0 BAD Command not valid in this state\r\n"
    );
    assert!(
        s.feed(b"a1 LOGIN alice wrong\r\n")
            .starts_with("a1 NO [AUTHENTICATIONFAILED]")
    );
    let out = s.feed(b"a2 LOGIN alice secret\r\n");
    assert!(out.starts_with("a2 OK [CAPABILITY "), "{out}");
    assert!(!out.contains("LOGINDISABLED"));
    assert_eq!(
        s.feed(b"a3 FETCH 1 FLAGS\r\n"),
        "a3 BAD Command not valid in this state\r\n"
    );
    assert_eq!(
        s.feed(b"a4 LOGIN alice secret\r\n"),
        "a4 BAD Command not valid in this state\r\n"
    );
}

#[test]
fn select_fetch_and_logout() {
    let mut s = Session::plain();
    s.login_select();
    let out = s.feed(b"a3 FETCH 2:* (FLAGS)\r\n");
    assert_eq!(
        out,
        "* 2 FETCH (UID 20 FLAGS (\\Seen))\r\n* 3 FETCH (UID 30 FLAGS ())\r\na3 OK FETCH completed\r\n"
    );
    let out = s.feed(b"a4 UID FETCH 25:* FLAGS\r\n");
    assert_eq!(
        out,
        "* 3 FETCH (UID 30 FLAGS ())\r\na4 OK FETCH completed\r\n"
    );
    let out = s.feed(b"a5 LOGOUT\r\n");
    assert_eq!(out, "* BYE Logging out\r\na5 OK LOGOUT completed\r\n");
    assert!(s.server.is_closed());
}

#[test]
fn failed_select_deselects() {
    let mut s = Session::plain();
    s.login_select();
    // The old mailbox is closed whether or not the new one opens (RFC 9051 §6.3.2).
    assert!(
        s.feed(b"a3 SELECT Nope\r\n")
            .starts_with("* OK [CLOSED] Previous mailbox closed\r\na3 NO [NONEXISTENT]")
    );
    assert!(s.server.view().is_none());
    assert_eq!(
        s.feed(b"a4 FETCH 1 FLAGS\r\n"),
        "a4 BAD Command not valid in this state\r\n"
    );
}

#[test]
fn expunges_wait_for_a_command_that_allows_them() {
    let mut s = Session::plain();
    s.login_select();
    s.server
        .push_update(Update::Expunged {
            uids: vec![20],
            modseq: None,
        })
        .unwrap();
    s.server
        .push_update(Update::Flags {
            uid: 30,
            flags: vec![Flag::Seen],
            modseq: None,
        })
        .unwrap();
    // FETCH by sequence number: the flag change may go out, the expunge may not, and the
    // numbering stays as the client knows it.
    let out = s.feed(b"a3 FETCH 3 FLAGS\r\n");
    assert_eq!(
        out,
        "* 3 FETCH (UID 30 FLAGS ())\r\n* 3 FETCH (UID 30 FLAGS (\\Seen))\r\na3 OK FETCH completed\r\n"
    );
    // NOOP may tell it.
    assert_eq!(
        s.feed(b"a4 NOOP\r\n"),
        "* 2 EXPUNGE\r\na4 OK NOOP completed\r\n"
    );
    assert_eq!(s.server.view().unwrap().uids(), [10, 30]);
    assert_eq!(
        s.feed(b"a5 FETCH 2 FLAGS\r\n"),
        "* 2 FETCH (UID 30 FLAGS ())\r\na5 OK FETCH completed\r\n"
    );
}

/// ENABLED names each capability the client asked for that this ENABLE turned on (RFC 5161
/// §3.2, RFC 9051 §7.2.1): CONDSTORE too when QRESYNC brought it in, once however often asked,
/// not again once enabled. Dovecot: `* ENABLED QRESYNC CONDSTORE`.
#[test]
fn enabled_lists_what_this_enable_turned_on() {
    let enable = |steps: &[(&str, &str)]| {
        let mut s = Session::plain();
        s.feed(b"a1 LOGIN alice secret\r\n");
        for (args, enabled) in steps {
            assert_eq!(
                s.feed(format!("a2 ENABLE {args}\r\n").as_bytes()),
                format!("* ENABLED{enabled}\r\na2 OK ENABLE completed\r\n"),
                "ENABLE {args}"
            );
        }
    };
    enable(&[
        ("QRESYNC CONDSTORE", " QRESYNC CONDSTORE"),
        ("CONDSTORE QRESYNC", ""),
    ]);
    enable(&[("QRESYNC", " QRESYNC"), ("CONDSTORE", "")]);
    enable(&[(
        "CONDSTORE CONDSTORE X-UNKNOWN QRESYNC",
        " CONDSTORE QRESYNC",
    )]);
    enable(&[
        ("CONDSTORE", " CONDSTORE"),
        ("QRESYNC CONDSTORE", " QRESYNC"),
    ]);
}

#[test]
fn qresync_tells_expunges_as_vanished() {
    let mut s = Session::plain();
    s.feed(b"a1 LOGIN alice secret\r\n");
    assert_eq!(
        s.feed(b"a2 ENABLE QRESYNC\r\n"),
        "* ENABLED QRESYNC\r\na2 OK ENABLE completed\r\n"
    );
    assert!(
        s.server.is_enabled(&Capability::CondStore),
        "QRESYNC implies CONDSTORE"
    );
    s.feed(b"a3 SELECT INBOX\r\n");
    s.server
        .push_update(Update::Expunged {
            uids: vec![10, 20],
            modseq: None,
        })
        .unwrap();
    s.server
        .push_update(Update::Flags {
            uid: 30,
            flags: vec![],
            modseq: Some(77),
        })
        .unwrap();
    assert_eq!(
        s.feed(b"a4 NOOP\r\n"),
        "* VANISHED 10,20\r\n* 1 FETCH (UID 30 FLAGS () MODSEQ (77))\r\na4 OK NOOP completed\r\n"
    );
}

#[test]
fn idle_pushes_updates_at_once() {
    let mut s = Session::plain();
    s.login_select();
    assert_eq!(s.feed(b"a3 IDLE\r\n"), "+ idling\r\n");
    s.server.push_update(Update::New(vec![40, 41])).unwrap();
    assert_eq!(s.out(), "* 5 EXISTS\r\n");
    s.server
        .push_update(Update::Expunged {
            uids: vec![10],
            modseq: None,
        })
        .unwrap();
    assert_eq!(s.out(), "* 1 EXPUNGE\r\n");
    assert_eq!(s.feed(b"DONE\r\n"), "a3 OK IDLE terminated\r\n");
    assert!(s.app.events.iter().any(|e| e == "IdleDone"));
    assert_eq!(s.server.view().unwrap().uids(), [20, 30, 40, 41]);
}

#[test]
fn synchronizing_literal_is_a_decision() {
    let mut s = Session::plain();
    s.feed(b"a1 LOGIN alice secret\r\n");
    assert_eq!(
        s.feed(b"a2 APPEND INBOX {5}\r\n"),
        "+ Ready for literal data\r\n"
    );
    assert!(
        s.app
            .events
            .iter()
            .any(|e| e.contains("LiteralAnnounced") && e.contains("len: 5"))
    );
    assert_eq!(s.feed(b"hello\r\n"), "a2 OK APPEND completed\r\n");
    assert_eq!(s.app.appended, [b"hello".to_vec()]);
    // Refused: the client does not send the octets; the next command is read normally.
    s.app.accept_literals = false;
    assert_eq!(
        s.feed(b"a3 APPEND INBOX {5}\r\n"),
        "a3 NO [TOOBIG] No literals today\r\n"
    );
    assert_eq!(s.feed(b"a4 NOOP\r\n"), "a4 OK NOOP completed\r\n");
    // LITERAL+: no decision, no continuation.
    s.app.accept_literals = true;
    assert_eq!(
        s.feed(b"a5 APPEND INBOX {3+}\r\nabc\r\n"),
        "a5 OK APPEND completed\r\n"
    );
}

#[test]
fn literal_bomb_costs_nothing() {
    let mut s = Session::plain();
    s.feed(b"a1 LOGIN alice secret\r\n");
    let out = s.feed(b"a2 APPEND INBOX {4294967295}\r\n");
    assert_eq!(out, "a2 NO [TOOBIG] Literal too large\r\n");
    assert!(s.server.buffered_len() < 100);
    let out = s.feed(b"a3 APPEND INBOX {4294967295+}\r\n");
    assert_eq!(out, "* BYE [TOOBIG] Literal too large\r\n");
    assert!(s.server.is_closed());
}

#[test]
fn long_line_is_refused_with_memory_flat() {
    let mut s = Session::plain();
    let chunk = vec![b'a'; 32 * 1024];
    let mut out = String::new();
    for _ in 0..8 {
        out.push_str(&s.feed(&chunk));
        assert!(s.server.buffered_len() <= 64 * 1024 + chunk.len());
    }
    assert!(
        out.starts_with("* BAD Line too long") || out.contains("BAD Line too long"),
        "{out}"
    );
}

/// The rest of an overlong line is skipped up to its end, not read as commands: wherever the
/// reads cut the line, one BAD answers it, and a command at the cut does not run.
#[test]
fn long_line_rest_is_skipped_not_run() {
    let mut s = Session::plain();
    let mut head = b"a1 NOOP ".to_vec();
    head.resize(70_000, b'x');
    let out = s.feed(&head);
    assert_eq!(out, "a1 BAD Line too long\r\n");
    // A read that cuts the line before what looks like a command.
    assert_eq!(s.feed(b"a2 LOGOUT"), "");
    assert_eq!(s.feed(&vec![b'y'; 200_000]), "");
    assert_eq!(
        s.feed(b" a3 LOGOUT\r\na4 NOOP\r\n"),
        "a4 OK NOOP completed\r\n"
    );
    assert!(!s.server.is_closed());
}

/// Slowloris: octets of a command that never completes, a line or a literal, do not restart
/// the autologout timer; each earns 1/min_input_rate s (2 ms at 500 octets/s). A complete
/// command does.
#[test]
fn trickled_input_does_not_restart_the_timeouts() {
    let second = std::time::Duration::from_secs(1);
    let mut s = Session::plain();
    let start = s.now;
    s.now = start + 100 * second;
    assert_eq!(s.feed(b"a1 NOOP\r\n"), "a1 OK NOOP completed\r\n");
    let from = s.now;
    assert_eq!(s.server.poll_timeout(), Some(from + 300 * second));
    // One octet every 10 s of a line that never ends.
    for i in 1..=29u32 {
        s.now = from + i * 10 * second;
        assert_eq!(s.feed(b"x"), "");
        s.server.handle_timeout(s.now);
        assert!(!s.server.is_closed(), "closed early at octet {i}");
    }
    let deadline = from + 300 * second + 29 * 2 * second / 1000;
    assert_eq!(s.server.poll_timeout(), Some(deadline));
    s.server.handle_timeout(deadline);
    assert!(
        s.server.is_closed(),
        "a peer trickling an endless line stays"
    );
    assert!(s.out().starts_with("* BYE "));

    // Lines of a literal are no commands: a trickled APPEND runs out of time as well.
    let mut s = Session::plain();
    s.feed(b"a1 LOGIN alice secret\r\n");
    let from = s.now;
    s.feed(b"a2 APPEND INBOX {100000+}\r\n");
    for i in 1..=200u32 {
        s.now = from + i * 10 * second;
        s.feed(b"ab\r\n");
        s.server.handle_timeout(s.now);
        if s.server.is_closed() {
            break;
        }
    }
    assert!(s.server.is_closed(), "a peer trickling a literal stays");
    let took = s.now - from;
    assert!(took > 1790 * second && took < 1900 * second, "{took:?}");
}

#[test]
fn nesting_bomb_is_bad_not_a_crash() {
    let mut s = Session::plain();
    s.login_select();
    let mut cmd = b"a3 SEARCH ".to_vec();
    cmd.extend(std::iter::repeat_n(b'(', 50_000));
    cmd.extend_from_slice(b"ALL");
    cmd.extend(std::iter::repeat_n(b')', 50_000));
    cmd.extend_from_slice(b"\r\n");
    let out = s.feed(&cmd);
    assert!(out.starts_with("a3 BAD"), "{}", &out[..out.len().min(200)]);
}

#[test]
fn starttls_discards_pipelined_commands() {
    let mut config = ServerConfig::default();
    config.starttls = true;
    let (mut s, greeting) = Session::new(config);
    assert!(greeting.contains("STARTTLS"));
    let out = s.feed(b"a1 STARTTLS\r\na2 LOGIN alice secret\r\n");
    assert_eq!(out, "a1 OK Begin TLS negotiation now\r\n");
    assert!(s.app.events.iter().any(|e| e == "StartTls"));
    assert!(
        s.feed(b"a3 NOOP\r\n").is_empty(),
        "nothing is read before the handshake"
    );
    s.server.tls_established().unwrap();
    assert!(
        !s.app.events.iter().any(|e| e.contains("Login")),
        "injected LOGIN never ran"
    );
    let out = s.feed(b"a4 CAPABILITY\r\n");
    assert!(
        !out.contains("STARTTLS") && out.contains("AUTH=PLAIN"),
        "{out}"
    );
    assert!(s.feed(b"a5 LOGIN alice secret\r\n").starts_with("a5 OK"));
}

#[test]
fn authenticate_plain_with_and_without_initial_response() {
    let mut s = Session::plain();
    // "\0alice\0secret"
    assert!(
        s.feed(b"a1 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n")
            .starts_with("a1 OK [CAPABILITY")
    );
    let mut s = Session::plain();
    assert_eq!(s.feed(b"a1 AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    assert_eq!(s.feed(b"*\r\n"), "a1 BAD Authentication cancelled\r\n");
    assert_eq!(s.feed(b"a2 AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    assert!(
        s.feed(b"AGFsaWNlAHdyb25n\r\n")
            .starts_with("a2 NO [AUTHENTICATIONFAILED]")
    );
    assert!(s.feed(b"a3 AUTHENTICATE CRAM-MD5\r\n").starts_with("a3 NO"));
}

#[test]
fn every_split_of_a_session_gives_the_same_output() {
    let input: &[u8] = b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\na3 FETCH 1:* FLAGS\r\na4 APPEND INBOX {3+}\r\nabc\r\na5 IDLE\r\nDONE\r\na6 LOGOUT\r\n";
    let whole = {
        let mut s = Session::plain();
        s.feed(input)
    };
    assert!(whole.ends_with("a6 OK LOGOUT completed\r\n"), "{whole}");
    for split in 0..input.len() {
        let mut s = Session::plain();
        let mut out = s.feed(&input[..split]);
        out.push_str(&s.feed(&input[split..]));
        assert_eq!(out, whole, "split at {split}");
    }
}

#[test]
fn unknown_and_garbage_commands_get_bad_then_bye() {
    let mut s = Session::plain();
    let out = s.feed(b"a1 FROBNICATE\r\n");
    assert!(out.starts_with("a1 BAD"), "{out}");
    let out = s.feed(b"+++\r\n");
    assert!(out.starts_with("* BAD"), "{out}");
    let mut out = String::new();
    for i in 0..30 {
        out.push_str(&s.feed(format!("x{i} NOPE\r\n").as_bytes()));
    }
    assert!(out.contains("* BYE Too many invalid commands"));
    assert!(s.server.is_closed());
}

/// `x` is a prefix of the tag token `x+4`, not its tag: a `x BAD` could complete a command
/// the client has outstanding under `x` (RFC 9051 §9 `tag`; Dovecot: `* BAD Error in IMAP tag`).
#[test]
fn invalid_tag_is_answered_untagged() {
    let mut s = Session::plain();
    for line in ["x+4 NOOP", "x{5 NOOP", "x\"6", "x%7", "x*8", "x\\10"] {
        let out = s.feed(format!("{line}\r\n").as_bytes());
        assert!(out.starts_with("* BAD "), "{line}: {out}");
    }
    let out = s.feed(b"abc\r\n");
    assert!(out.starts_with("abc BAD "), "{out}");
}

#[test]
fn append_literal_content_is_passed_whole() {
    let mut s = Session::plain();
    s.feed(b"a1 LOGIN alice secret\r\n");
    let body = b"Subject: x\r\n\r\nline with ) and \" and {3}\r\n";
    let mut cmd = format!("a2 APPEND INBOX (\\Seen) {{{}+}}\r\n", body.len()).into_bytes();
    cmd.extend_from_slice(body);
    cmd.extend_from_slice(b"\r\n");
    assert_eq!(s.feed(&cmd), "a2 OK APPEND completed\r\n");
    assert_eq!(s.app.appended, [body.to_vec()]);
}

#[test]
fn literal_minus_caps_non_synchronizing_literals() {
    let mut config = ServerConfig::default();
    config.auth_requires_tls = false;
    config
        .capabilities
        .retain(|c| *c != Capability::LiteralPlus);
    config.capabilities.push(Capability::LiteralMinus);
    let (mut s, greeting) = Session::new(config);
    assert!(greeting.contains("LITERAL-"));
    s.feed(b"a1 LOGIN alice secret\r\n");
    let mut small = b"a2 APPEND INBOX {4096+}\r\n".to_vec();
    small.extend(std::iter::repeat_n(b'x', 4096));
    small.extend_from_slice(b"\r\n");
    assert_eq!(s.feed(&small), "a2 OK APPEND completed\r\n");
    let out = s.feed(b"a3 APPEND INBOX {4097+}\r\n");
    assert_eq!(out, "* BYE [TOOBIG] Literal too large\r\n");
}

#[test]
fn condstore_is_enabled_by_its_first_use() {
    let mut s = Session::plain();
    s.feed(b"a1 LOGIN alice secret\r\n");
    assert!(!s.server.is_enabled(&Capability::CondStore));
    assert!(s.feed(b"a2 SELECT INBOX (CONDSTORE)\r\n").contains("a2 OK"));
    assert!(s.server.is_enabled(&Capability::CondStore), "RFC 7162 §3.1");
    s.server
        .push_update(Update::Flags {
            uid: 10,
            flags: vec![Flag::Seen],
            modseq: Some(5),
        })
        .unwrap();
    assert_eq!(
        s.feed(b"a3 NOOP\r\n"),
        "* 1 FETCH (UID 10 FLAGS (\\Seen) MODSEQ (5))\r\na3 OK NOOP completed\r\n"
    );
    let mut s = Session::plain();
    s.login_select();
    s.feed(b"a3 UID STORE 10 (UNCHANGEDSINCE 4) +FLAGS (\\Seen)\r\n");
    assert!(s.server.is_enabled(&Capability::CondStore));
}

#[test]
fn selecting_another_mailbox_replaces_the_selection_without_deselected() {
    let mut s = Session::plain();
    s.login_select();
    assert!(s.feed(b"a3 SELECT INBOX\r\n").contains("a3 OK"));
    assert!(
        !s.app.events.iter().any(|e| e == "Deselected"),
        "{:?}",
        s.app.events
    );
    assert!(s.server.view().is_some());
    s.feed(b"a4 CLOSE\r\n");
    assert!(s.app.events.iter().any(|e| e == "Deselected"));
    assert!(s.server.view().is_none());
}

#[test]
fn selecting_another_mailbox_says_closed_first() {
    let mut s = Session::plain();
    s.login_select();
    let out = s.feed(b"a3 EXAMINE INBOX\r\n");
    assert!(
        out.starts_with("* OK [CLOSED] Previous mailbox closed\r\n* FLAGS"),
        "{out}"
    );
    // Nothing was selected before a failed SELECT's successor: no CLOSED.
    s.feed(b"a4 SELECT Nowhere\r\n");
    let out = s.feed(b"a5 SELECT INBOX\r\n");
    assert!(!out.contains("CLOSED"), "{out}");
    // A server offering neither CONDSTORE, QRESYNC nor IMAP4rev2 does not send it.
    let mut config = ServerConfig::default();
    config.auth_requires_tls = false;
    config.capabilities = vec![Capability::Imap4Rev1];
    let (mut s, _) = Session::new(config);
    s.login_select();
    assert!(!s.feed(b"a3 SELECT INBOX\r\n").contains("CLOSED"));
}

#[test]
fn qresync_commands_need_enable_qresync() {
    let mut s = Session::plain();
    s.login_select();
    assert_eq!(
        s.feed(b"a3 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n"),
        "a3 BAD QRESYNC is not enabled\r\n"
    );
    assert_eq!(
        s.feed(b"a4 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n"),
        "a4 BAD VANISHED needs ENABLE QRESYNC\r\n"
    );
    s.feed(b"a5 UNSELECT\r\n");
    assert!(s.feed(b"a5 ENABLE QRESYNC\r\n").contains("a5 OK"));
    let out = s.feed(b"a6 SELECT INBOX (QRESYNC (67890007 20050715194045000))\r\n");
    assert!(out.contains("a6 OK"), "{out}");
    assert_eq!(
        s.feed(b"a7 FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n"),
        "a7 BAD VANISHED is valid in UID FETCH with CHANGEDSINCE only\r\n"
    );
    assert!(
        s.feed(b"a8 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n")
            .contains("a8 OK")
    );
    let last = s.app.events.last().unwrap();
    assert!(last.contains("vanished: true"), "{last}");
}

#[test]
fn imap4rev2_drops_recent_and_answers_search_with_esearch() {
    let mut s = Session::plain();
    s.feed(b"a1 LOGIN alice secret\r\n");
    assert_eq!(
        s.feed(b"a2 ENABLE IMAP4rev2\r\n"),
        "* ENABLED IMAP4rev2\r\na2 OK ENABLE completed\r\n"
    );
    s.feed(b"a3 SELECT INBOX\r\n");
    // What an application written for IMAP4rev1 sends loses \Recent, RECENT and UNSEEN.
    s.feed(b"a4 NOOP\r\n");
    s.server.send_data(Data::Recent(2));
    s.server
        .send_data(Data::Flags(vec![Flag::Seen, Flag::Recent]));
    s.server.send(&Response::Status(Status::untagged(
        StatusKind::Ok,
        Some(ResponseCode::Unseen(1)),
        Text::new("First unseen").unwrap(),
    )));
    s.server
        .push_update(Update::Flags {
            uid: 10,
            flags: vec![Flag::Recent, Flag::Flagged],
            modseq: None,
        })
        .unwrap();
    assert_eq!(
        s.feed(b"a5 NOOP\r\n"),
        "* FLAGS (\\Seen)\r\n* 1 FETCH (UID 10 FLAGS (\\Flagged))\r\na5 OK NOOP completed\r\n"
    );
    // SEARCH without RETURN reaches the application as RETURN () (ESEARCH ALL).
    s.feed(b"a6 SEARCH UNSEEN\r\n");
    let last = s.app.events.last().unwrap();
    assert!(last.contains("return_opts: Some([])"), "{last}");
    // Without IMAP4rev2 nothing changes.
    let mut s = Session::plain();
    s.login_select();
    s.server.send_data(Data::Recent(2));
    s.feed(b"a6 SEARCH UNSEEN\r\n");
    assert!(s.app.events.last().unwrap().contains("return_opts: None"));
    assert!(s.out().is_empty());
    s.server.send_data(Data::Recent(2));
    assert_eq!(s.out(), "* 2 RECENT\r\n");
}

#[test]
fn append_utf8_needs_enable_utf8_accept() {
    let mut config = ServerConfig::default();
    config.auth_requires_tls = false;
    config.capabilities.push(Capability::Utf8Accept);
    let (mut s, _) = Session::new(config);
    s.feed(b"a1 LOGIN alice secret\r\n");
    assert_eq!(
        s.feed(b"a2 APPEND INBOX UTF8 (~{5+}\r\nhello)\r\n"),
        "a2 BAD UTF8 needs ENABLE UTF8=ACCEPT\r\n"
    );
    assert!(s.app.appended.is_empty());
    s.feed(b"a3 ENABLE UTF8=ACCEPT\r\n");
    assert!(
        s.feed(b"a4 APPEND INBOX UTF8 (~{5+}\r\nhello)\r\n")
            .contains("a4 OK")
    );
    assert_eq!(s.app.appended, [b"hello".to_vec()]);
}

/// RFC 6855 §3: once UTF8=ACCEPT is enabled, a SEARCH with CHARSET is refused; before,
/// and without one, it runs.
#[test]
fn search_charset_is_bad_once_utf8_is_enabled() {
    let mut config = ServerConfig::default();
    config.auth_requires_tls = false;
    config.capabilities.push(Capability::Utf8Accept);
    let (mut s, _) = Session::new(config.clone());
    s.login_select();
    assert!(!s.feed(b"a3 SEARCH CHARSET UTF-8 ALL\r\n").contains("BAD"));
    // ENABLE comes before SELECT (RFC 5161 §3.1).
    let (mut s, _) = Session::new(config);
    s.feed(b"a1 LOGIN alice secret\r\na4 ENABLE UTF8=ACCEPT\r\na2 SELECT INBOX\r\n");
    assert_eq!(
        s.feed(b"a5 SEARCH CHARSET UTF-8 ALL\r\n"),
        "a5 BAD No CHARSET once UTF8=ACCEPT is enabled\r\n"
    );
    assert!(!s.feed(b"a6 SEARCH ALL\r\n").contains("BAD"));
}

#[test]
fn sequence_numbers_past_the_last_message_are_bad() {
    let mut s = Session::plain();
    s.login_select();
    let bad = "BAD Invalid message sequence number\r\n";
    assert_eq!(s.feed(b"a3 FETCH 4 FLAGS\r\n"), format!("a3 {bad}"));
    assert_eq!(
        s.feed(b"a4 STORE 2,7 +FLAGS (\\Seen)\r\n"),
        format!("a4 {bad}")
    );
    assert_eq!(s.feed(b"a5 COPY 4:5 Trash\r\n"), format!("a5 {bad}"));
    // A range with one end past the last message names it too (RFC 9051 §9; Dovecot
    // answers BAD as well).
    assert_eq!(s.feed(b"a6 FETCH 3:9 FLAGS\r\n"), format!("a6 {bad}"));
    // `n:*` is fine up to the last message; past it, it is `last:n`, past the end too
    // (Dovecot answers BAD alike: examples/tests/imap_rules.rs). UID sets may name what
    // does not exist.
    assert!(
        s.feed(b"a7 FETCH 2:* FLAGS\r\n")
            .ends_with("a7 OK FETCH completed\r\n")
    );
    assert_eq!(s.feed(b"a8 FETCH 9:* FLAGS\r\n"), format!("a8 {bad}"));
    assert!(
        s.feed(b"a9 UID FETCH 99 FLAGS\r\n")
            .ends_with("a9 OK FETCH completed\r\n")
    );
    // None of the refused ones reached the application.
    let fetches = s.app.events.iter().filter(|e| e.contains("Fetch")).count();
    assert_eq!(fetches, 2);
}

/// RFC 9051 §9: in an empty mailbox every sequence number, `*` included, is past the last
/// message.
#[test]
fn sequence_sets_of_an_empty_mailbox_are_bad() {
    let mut s = Session::plain();
    s.app.messages.clear();
    s.login_select();
    let bad = "BAD Invalid message sequence number\r\n";
    assert_eq!(s.feed(b"a3 FETCH 1:* FLAGS\r\n"), format!("a3 {bad}"));
    assert_eq!(s.feed(b"a4 FETCH * FLAGS\r\n"), format!("a4 {bad}"));
    assert!(
        s.feed(b"a5 UID FETCH 1:* FLAGS\r\n")
            .ends_with("a5 OK FETCH completed\r\n")
    );
}

#[test]
fn id_is_answered_by_the_session_in_every_state() {
    let mut config = ServerConfig::default();
    config.id = Some(vec![("name".into(), "test server".into())]);
    let (mut s, _) = Session::new(config);
    assert_eq!(
        s.feed(b"a1 ID (\"name\" \"client\")\r\n"),
        "* ID (\"name\" \"test server\")\r\na1 OK ID completed\r\n"
    );
    let mut s = Session::plain();
    s.login_select();
    assert_eq!(
        s.feed(b"a3 ID NIL\r\n"),
        "* ID NIL\r\na3 OK ID completed\r\n"
    );
    assert!(!s.app.events.iter().any(|e| e.contains("Id")));
}

/// Flags a FETCH changed (`\Seen` set by BODY[]) travel in that message's FETCH response,
/// not as a second response after it (RFC 9051 §6.4.5).
#[test]
fn flags_changed_by_a_fetch_go_out_with_its_response() {
    use sansmail_imap::types::fetch::FetchItem;
    let mut s = Session::plain();
    s.login_select();
    s.server
        .handle_input(s.now, b"a3 FETCH 1 (BODY.PEEK[] UID)\r\n");
    assert!(s.server.poll_event().is_some());
    s.server
        .push_update(Update::Flags {
            uid: 10,
            flags: vec![Flag::Seen],
            modseq: Some(7),
        })
        .unwrap();
    s.server.send_data(Data::Fetch {
        seq: 1,
        items: vec![FetchItem::Uid(10)],
    });
    s.server
        .complete(StatusKind::Ok, None, "FETCH completed")
        .unwrap();
    assert_eq!(
        s.out(),
        "* 1 FETCH (UID 10 FLAGS (\\Seen))\r\na3 OK FETCH completed\r\n"
    );
}

/// A closed session keeps why it closed.
#[test]
fn the_reason_a_session_closed_stays() {
    use sansmail_core::CloseReason;
    let mut s = Session::plain();
    s.feed(b"a1 LOGOUT\r\n");
    assert_eq!(s.server.close_reason(), Some(&CloseReason::Quit));
    s.server.shutdown();
    assert_eq!(s.server.close_reason(), Some(&CloseReason::Quit));
    let mut s = Session::plain();
    s.feed(&b"a1 FOO\r\n".repeat(25));
    assert_eq!(s.server.close_reason(), Some(&CloseReason::TooManyErrors));
    let mut s = Session::plain();
    s.server
        .handle_timeout(s.now + std::time::Duration::from_secs(24 * 3600));
    assert_eq!(s.server.close_reason(), Some(&CloseReason::Timeout));
    let mut s = Session::plain();
    s.server.shutdown();
    assert_eq!(s.server.close_reason(), Some(&CloseReason::Shutdown));
    assert_eq!(Session::plain().server.close_reason(), None);
}

/// COMPRESS=DEFLATE (RFC 4978): offered only when configured, valid only after login, only
/// DEFLATE, only once; nothing behind the command is parsed, it is handed back (compressed,
/// for the driver's decompressor).
#[test]
fn compress_deflate_rules() {
    let mut s = Session::plain();
    s.feed(b"a1 LOGIN alice secret\r\n");
    assert_eq!(
        s.feed(b"a2 COMPRESS DEFLATE\r\n"),
        "a2 BAD COMPRESS not available\r\n"
    );

    let mut config = ServerConfig::default();
    config.auth_requires_tls = false;
    config.capabilities.push(Capability::CompressDeflate);
    let (mut s, greeting) = Session::new(config);
    assert!(greeting.contains(" COMPRESS=DEFLATE"), "{greeting}");
    assert_eq!(
        s.feed(b"a0 COMPRESS DEFLATE\r\n"),
        "a0 BAD Command not valid in this state\r\n"
    );
    s.feed(b"a1 LOGIN alice secret\r\n");
    assert_eq!(
        s.feed(b"a2 COMPRESS GZIP\r\n"),
        "a2 NO Unknown compression algorithm\r\n"
    );
    let out = s.feed(b"a3 COMPRESS deflate\r\n\x01\x02compressed");
    assert_eq!(out, "a3 OK DEFLATE active\r\n");
    assert_eq!(s.app.events.last().map(String::as_str), Some("Compress"));
    assert_eq!(
        s.feed(b"a4 NOOP\r\n"),
        "",
        "nothing parsed before the switch"
    );
    assert_eq!(
        s.server.deflate_established().unwrap(),
        b"\x01\x02compresseda4 NOOP\r\n"
    );
    assert_eq!(s.server.deflate_established(), Err(ApiError::NoCompress));
    assert_eq!(
        s.feed(b"a5 COMPRESS DEFLATE\r\n"),
        "a5 NO [COMPRESSIONACTIVE] DEFLATE active already\r\n"
    );
    assert_eq!(s.feed(b"a6 NOOP\r\n"), "a6 OK NOOP completed\r\n");
}

/// Before login, literals are held to `Limits::unauthenticated_frame` (16 KiB by default):
/// a LOGIN announcing 20,000 octets is refused before they are sent, or the connection
/// closed if they are already on their way; after login an APPEND of that size is welcome.
#[test]
fn literals_before_login_are_small() {
    let mut s = Session::plain();
    let out = s.feed(b"a1 LOGIN {20000}\r\n");
    assert_eq!(out, "a1 NO [TOOBIG] Literal too large\r\n");
    let out = s.feed(b"a2 LOGIN {5}\r\n");
    assert_eq!(out, "+ Ready for literal data\r\n");
    let out = s.feed(b"alice secret\r\n");
    assert!(out.contains("a2 OK"), "{out}");
    let out = s.feed(b"a3 APPEND INBOX {20000}\r\n");
    assert!(out.starts_with("+ "), "{out}");

    let mut s = Session::plain();
    let out = s.feed(b"a1 LOGIN {20000+}\r\n");
    assert!(out.starts_with("* BYE [TOOBIG]"), "{out}");
}

/// Commands the session answers itself wait for the client to take their answers, as those
/// the application answers do: a read bringing thousands of CAPABILITY commands (a
/// decompressed read may bring a million) queues at most `max_queued_output` and one answer
/// more, and the rest are answered as the client reads.
#[test]
fn answers_the_session_gives_itself_wait_for_the_client() {
    let mut s = Session::plain();
    let n = 20_000;
    let flood = b"a CAPABILITY\r\n".repeat(n);
    s.server.handle_input(s.now, &flood);
    s.app.handle(&mut s.server);
    let limit = ServerConfig::default().limits.max_queued_output;
    let queued = s.server.queued_output();
    assert!(queued <= limit + 1024, "{queued} octets queued");
    let mut answered = 0;
    loop {
        let out = s.out();
        if out.is_empty() {
            break;
        }
        answered += out.matches("a OK").count();
        s.app.handle(&mut s.server);
        assert!(s.server.queued_output() <= limit + 1024);
    }
    assert_eq!(answered, n);
    assert_eq!(s.server.buffered_len(), 0);
}

/// Expunges wait for a command that may report them; a client that only sends FETCH while
/// other sessions append and expunge would have the session hold every change for good.
/// Past `max_untold_changes` messages waiting, the session ends with BYE.
#[test]
fn a_backlog_of_untold_changes_ends_the_session() {
    let mut config = ServerConfig::default();
    config.auth_requires_tls = false;
    config.limits.max_untold_changes = 10;
    let (mut s, _) = Session::new(config);
    s.login_select();
    let first = 10_000;
    for uid in first..first + 5 {
        s.server.push_update(Update::New(vec![uid])).unwrap();
        s.server
            .push_update(Update::Expunged {
                uids: vec![uid],
                modseq: None,
            })
            .unwrap();
        let out = s.feed(b"f FETCH 1 FLAGS\r\n");
        assert!(out.contains("f OK"), "{out}");
        assert!(!out.contains("EXPUNGE"), "{out}");
    }
    // Five expunges held: five more are still told later, six are too many.
    assert!(!s.server.is_closed());
    s.server
        .push_update(Update::Expunged {
            uids: (first..first + 5).collect(),
            modseq: None,
        })
        .unwrap();
    assert!(!s.server.is_closed());
    s.server
        .push_update(Update::Expunged {
            uids: vec![first],
            modseq: None,
        })
        .unwrap();
    let out = s.out();
    assert!(out.starts_with("* BYE "), "{out}");
    assert!(s.server.is_closed());
    assert_eq!(
        s.server.close_reason(),
        Some(&sansmail_core::CloseReason::Backlog)
    );
}
