//! What a session tells its client about a mailbox other sessions change at the same time:
//! never a state older than one told, new keywords announced before use, `\Recent` in
//! exactly the claiming session, expunges before EXISTS, HIGHESTMODSEQ when CONDSTORE is
//! turned on with a mailbox selected. The application here is scripted per test.

use std::time::Instant;

use sansmail_imap::{
    session::{
        ServerConfig,
        server::{Event, Server},
        view::{MessageState, Update},
    },
    types::{
        command::CommandBody,
        core::{Atom, Text},
        fetch::FetchItem,
        flag::Flag,
        response::{Data, Response, Status, StatusKind},
        response_code::ResponseCode,
    },
};

fn kw(name: &str) -> Flag<'static> {
    Flag::Keyword(Atom::new(name.to_owned()).unwrap())
}

fn state(flags: Vec<Flag<'static>>, modseq: u64) -> MessageState {
    MessageState {
        flags,
        modseq: Some(modseq),
    }
}

struct Session {
    server: Server,
    now: Instant,
}

impl Session {
    /// Logged in, INBOX (UIDs 1..=4) selected with FLAGS, PERMANENTFLAGS and HIGHESTMODSEQ 10
    /// as mail-server sends them; `recent` claimed at SELECT.
    fn selected(enable: &str, recent: &[u32]) -> Self {
        let mut config = ServerConfig::default();
        config.auth_requires_tls = false;
        let now = Instant::now();
        let mut s = Self {
            server: Server::new(config, now),
            now,
        };
        s.out();
        s.input(b"a1 LOGIN alice secret\r\n");
        assert!(matches!(s.server.poll_event(), Some(Event::Login { .. })));
        s.server.accept().unwrap();
        if !enable.is_empty() {
            s.input(format!("a2 ENABLE {enable}\r\n").as_bytes());
            while s.server.poll_event().is_some() {}
        }
        s.input(b"a3 SELECT INBOX\r\n");
        s.command();
        s.server.select(vec![1, 2, 3, 4]).unwrap();
        s.server.claim_recent(recent.iter().copied()).unwrap();
        s.server
            .send_data(Data::Flags(vec![Flag::Seen, Flag::Deleted, kw("$Label4")]));
        s.server.send_data(Data::Exists(4));
        s.server
            .send_data(Data::Recent(u32::try_from(recent.len()).unwrap()));
        let ok = |code| {
            Response::Status(Status::untagged(
                StatusKind::Ok,
                Some(code),
                Text::new("x").unwrap(),
            ))
        };
        s.server.send(&ok(ResponseCode::PermanentFlags(vec![
            Flag::Seen,
            Flag::Deleted,
            kw("$Label4"),
            Flag::Wildcard,
        ])));
        s.server.send(&ok(ResponseCode::HighestModSeq(10)));
        s.server
            .complete(
                StatusKind::Ok,
                Some(ResponseCode::ReadWrite),
                "SELECT completed",
            )
            .unwrap();
        let out = s.out();
        assert!(out.contains("a3 OK [READ-WRITE]"), "{out}");
        s
    }

    fn input(&mut self, data: &[u8]) {
        self.server.handle_input(self.now, data);
    }

    /// The next event, which must be a command for the application.
    fn command(&mut self) -> CommandBody<'static> {
        match self.server.poll_event() {
            Some(Event::Command(cmd)) => cmd.body,
            other => panic!("expected a command, got {other:?}"),
        }
    }

    fn out(&mut self) -> String {
        let mut out = Vec::new();
        self.server.poll_transmit(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// A command the session answers itself (NOOP).
    fn noop(&mut self) -> String {
        self.input(b"n NOOP\r\n");
        assert!(self.server.poll_event().is_none());
        self.out()
    }
}

/// The transcript: another session's older change, queued, must not go out after
/// this session's STORE told a newer state (MODSEQ 13, then 11 was sent).
#[test]
fn a_queued_older_change_never_follows_a_newer_state() {
    let mut s = Session::selected("CONDSTORE", &[]);
    let before = vec![Flag::Answered, Flag::Flagged, kw("$Label4")];
    // Another session's change at modseq 11, not told yet.
    s.server
        .push_update(Update::Flags {
            uid: 3,
            flags: before.clone(),
            modseq: Some(11),
        })
        .unwrap();
    s.input(b"a4 STORE 3 +FLAGS (\\Deleted)\r\n");
    s.command();
    let after = vec![Flag::Answered, Flag::Flagged, Flag::Deleted, kw("$Label4")];
    s.server.send_fetch(
        3,
        vec![FetchItem::Flags(after.clone()), FetchItem::ModSeq(13)],
        state(after.clone(), 13),
    );
    s.server
        .complete(StatusKind::Ok, None, "STORE completed")
        .unwrap();
    assert_eq!(
        s.out(),
        "* 3 FETCH (FLAGS (\\Answered \\Flagged \\Deleted $Label4) MODSEQ (13))\r\na4 OK STORE completed\r\n"
    );
    // Pushed after the answer: still older than what the client has.
    s.server
        .push_update(Update::Flags {
            uid: 3,
            flags: before,
            modseq: Some(12),
        })
        .unwrap();
    assert_eq!(s.noop(), "n OK NOOP completed\r\n");
    // A newer one goes out.
    s.server
        .push_update(Update::Flags {
            uid: 3,
            flags: vec![Flag::Seen],
            modseq: Some(14),
        })
        .unwrap();
    assert_eq!(
        s.noop(),
        "* 3 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (14))\r\nn OK NOOP completed\r\n"
    );
}

/// The same with an application that writes MODSEQ into a FETCH through `send_data`.
#[test]
fn a_modseq_sent_in_a_fetch_counts_as_told() {
    let mut s = Session::selected("CONDSTORE", &[]);
    s.server
        .push_update(Update::Flags {
            uid: 2,
            flags: vec![Flag::Seen],
            modseq: Some(11),
        })
        .unwrap();
    s.input(b"a4 FETCH 2 (FLAGS MODSEQ)\r\n");
    s.command();
    s.server.send_data(Data::Fetch {
        seq: 2,
        items: vec![
            FetchItem::Flags(vec![Flag::Seen, Flag::Deleted]),
            FetchItem::ModSeq(12),
        ],
    });
    s.server
        .complete(StatusKind::Ok, None, "FETCH completed")
        .unwrap();
    let out = s.out();
    assert!(!out.contains("MODSEQ (11)"), "{out}");
}

/// `STORE .SILENT`: the client is told of an older change made elsewhere as the state that
/// includes its own change, never as the older state that would undo it.
#[test]
fn silent_store_then_an_older_change() {
    let mut s = Session::selected("", &[]);
    s.input(b"a4 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    s.command();
    s.server
        .note_state(1, state(vec![Flag::Seen, Flag::Deleted], 13))
        .unwrap();
    s.server
        .complete(StatusKind::Ok, None, "STORE completed")
        .unwrap();
    assert_eq!(s.out(), "a4 OK STORE completed\r\n");
    // Another session set \Seen at 12, before this STORE; its event arrives now.
    s.server
        .push_update(Update::Flags {
            uid: 1,
            flags: vec![Flag::Seen],
            modseq: Some(12),
        })
        .unwrap();
    assert_eq!(
        s.noop(),
        "* 1 FETCH (UID 1 FLAGS (\\Seen \\Deleted))\r\nn OK NOOP completed\r\n"
    );
}

/// A FETCH without FLAGS about a message with a queued change the application's state
/// already includes carries that state's flags, and the stale change is dropped. Under
/// CONDSTORE it says the UID too, as for any change made elsewhere (RFC 7162 §3.2.4).
#[test]
fn fetch_without_flags_carries_the_newer_state() {
    let mut s = Session::selected("CONDSTORE", &[]);
    s.server
        .push_update(Update::Flags {
            uid: 1,
            flags: vec![Flag::Seen],
            modseq: Some(11),
        })
        .unwrap();
    s.input(b"a4 FETCH 1 (MODSEQ)\r\n");
    s.command();
    s.server.send_fetch(
        1,
        vec![FetchItem::ModSeq(12)],
        state(vec![Flag::Seen, Flag::Deleted], 12),
    );
    s.server
        .complete(StatusKind::Ok, None, "FETCH completed")
        .unwrap();
    assert_eq!(
        s.out(),
        "* 1 FETCH (MODSEQ (12) FLAGS (\\Seen \\Deleted) UID 1)\r\na4 OK FETCH completed\r\n"
    );
}

/// RFC 9051 §7.3.5: a keyword new to the mailbox is announced in FLAGS (and PERMANENTFLAGS)
/// before a FETCH carries it, in this session's STORE answer and in other sessions' updates.
#[test]
fn new_keywords_are_announced_first() {
    let mut s = Session::selected("", &[1]);
    s.input(b"a4 STORE 1 +FLAGS ($kw1)\r\n");
    s.command();
    s.server.send_fetch(
        1,
        vec![FetchItem::Flags(vec![kw("$kw1")])],
        state(vec![kw("$kw1")], 11),
    );
    s.server
        .complete(StatusKind::Ok, None, "STORE completed")
        .unwrap();
    assert_eq!(
        s.out(),
        "* FLAGS (\\Seen \\Deleted $Label4 $kw1)\r\n\
         * OK [PERMANENTFLAGS (\\Seen \\Deleted $Label4 $kw1 \\*)] Flags permitted\r\n\
         * 1 FETCH (FLAGS (\\Recent $kw1))\r\n\
         a4 OK STORE completed\r\n"
    );
    // Known now (whatever its case): no second announcement.
    s.server
        .push_update(Update::Flags {
            uid: 2,
            flags: vec![kw("$KW1"), kw("$kw2")],
            modseq: Some(12),
        })
        .unwrap();
    assert_eq!(
        s.noop(),
        "* FLAGS (\\Seen \\Deleted $Label4 $kw1 $kw2)\r\n\
         * OK [PERMANENTFLAGS (\\Seen \\Deleted $Label4 $kw1 $kw2 \\*)] Flags permitted\r\n\
         * 2 FETCH (UID 2 FLAGS ($KW1 $kw2))\r\n\
         n OK NOOP completed\r\n"
    );
}

/// IMAP4rev1 `\Recent`: a new message this session claimed is announced with RECENT after
/// EXISTS and carries `\Recent`; one another session claimed does not, and RECENT is sent
/// only when the count changes (as Dovecot does).
#[test]
fn recent_is_announced_for_the_claiming_session() {
    let mut s = Session::selected("", &[]);
    s.server.push_update(Update::New(vec![5])).unwrap();
    s.server.claim_recent([5]).unwrap();
    assert_eq!(
        s.noop(),
        "* 5 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed\r\n"
    );
    // Claimed elsewhere: EXISTS only.
    s.server.push_update(Update::New(vec![6])).unwrap();
    assert_eq!(s.noop(), "* 6 EXISTS\r\nn OK NOOP completed\r\n");
    s.input(b"a5 FETCH 5:6 (FLAGS)\r\n");
    s.command();
    s.server.send_fetch(
        5,
        vec![FetchItem::Flags(vec![Flag::Seen])],
        state(vec![Flag::Seen], 20),
    );
    s.server
        .send_fetch(6, vec![FetchItem::Flags(vec![])], state(vec![], 21));
    s.server
        .complete(StatusKind::Ok, None, "FETCH completed")
        .unwrap();
    assert_eq!(
        s.out(),
        "* 5 FETCH (FLAGS (\\Seen \\Recent))\r\n* 6 FETCH (FLAGS ())\r\na5 OK FETCH completed\r\n"
    );
    // Expunging the recent message changes the count.
    s.server
        .push_update(Update::Expunged {
            uids: vec![5],
            modseq: None,
        })
        .unwrap();
    assert_eq!(
        s.noop(),
        "* 5 EXPUNGE\r\n* 0 RECENT\r\nn OK NOOP completed\r\n"
    );
}

/// IMAP4rev2 has no `\Recent` and no RECENT response.
#[test]
fn no_recent_under_imap4rev2() {
    let mut s = Session::selected("IMAP4rev2", &[]);
    s.server.push_update(Update::New(vec![5])).unwrap();
    s.server.claim_recent([5]).unwrap();
    assert_eq!(s.noop(), "* 5 EXISTS\r\nn OK NOOP completed\r\n");
}

/// MOVE into the selected mailbox: the source's EXPUNGE before the copy's EXISTS, whatever
/// order the application pushed them in.
#[test]
fn move_within_the_mailbox_expunges_first() {
    let mut s = Session::selected("", &[]);
    s.input(b"a4 MOVE 1 INBOX\r\n");
    s.command();
    s.server.push_update(Update::New(vec![5])).unwrap();
    s.server
        .push_update(Update::Expunged {
            uids: vec![1],
            modseq: None,
        })
        .unwrap();
    s.server
        .complete(StatusKind::Ok, None, "MOVE completed")
        .unwrap();
    assert_eq!(
        s.out(),
        "* 1 EXPUNGE\r\n* 4 EXISTS\r\na4 OK MOVE completed\r\n"
    );
}

/// RFC 7162 §3.1: the first CONDSTORE-enabling command with a mailbox selected gets
/// HIGHESTMODSEQ before its own responses; later ones do not.
#[test]
fn implicit_condstore_sends_highestmodseq() {
    let mut s = Session::selected("", &[]);
    s.input(b"a4 FETCH 1 (MODSEQ)\r\n");
    s.command();
    s.server
        .send_fetch(1, vec![FetchItem::ModSeq(9)], state(vec![], 9));
    s.server
        .complete(StatusKind::Ok, None, "FETCH completed")
        .unwrap();
    assert_eq!(
        s.out(),
        "* OK [HIGHESTMODSEQ 10] Highest\r\n* 1 FETCH (MODSEQ (9))\r\na4 OK FETCH completed\r\n"
    );
    s.input(b"a5 FETCH 1 (MODSEQ)\r\n");
    s.command();
    s.server
        .complete(StatusKind::Ok, None, "FETCH completed")
        .unwrap();
    assert_eq!(s.out(), "a5 OK FETCH completed\r\n");
}

/// RFC 7162 §3.2.10: while an expunge waits (a FETCH by sequence number, RFC 9051 §7.4.1)
/// and the client is told higher mod-sequences, the command ends with HIGHESTMODSEQ below
/// the expunge's, so a client that resynchronizes from what it last saw still learns of it.
/// Once the expunge is told, completions say nothing more.
#[test]
fn a_waiting_expunge_holds_highestmodseq_below_it() {
    let mut s = Session::selected("CONDSTORE", &[]);
    s.server
        .push_update(Update::Expunged {
            uids: vec![1],
            modseq: Some(15),
        })
        .unwrap();
    s.server
        .push_update(Update::Flags {
            uid: 3,
            flags: vec![Flag::Flagged],
            modseq: Some(17),
        })
        .unwrap();
    s.input(b"a4 FETCH 2 (FLAGS)\r\n");
    s.command();
    s.server
        .send_fetch(2, vec![FetchItem::Flags(vec![])], state(vec![], 9));
    s.server
        .complete(StatusKind::Ok, None, "FETCH completed")
        .unwrap();
    let out = s.out();
    assert!(out.contains("MODSEQ (17)"), "{out}");
    assert!(
        out.ends_with("a4 OK [HIGHESTMODSEQ 14] FETCH completed\r\n"),
        "{out}"
    );
    // With a code of its own, the floor goes out untagged before it.
    s.input(b"a5 FETCH 2 (FLAGS)\r\n");
    s.command();
    s.server
        .complete(
            StatusKind::Ok,
            Some(ResponseCode::ExpungeIssued),
            "FETCH completed",
        )
        .unwrap();
    let out = s.out();
    assert!(
        out.contains("* OK [HIGHESTMODSEQ 14]")
            && out.ends_with("a5 OK [EXPUNGEISSUED] FETCH completed\r\n"),
        "{out}"
    );
    let out = s.noop();
    assert!(out.starts_with("* 1 EXPUNGE\r\n"), "{out}");
    assert!(out.ends_with("n OK NOOP completed\r\n"), "{out}");
}
