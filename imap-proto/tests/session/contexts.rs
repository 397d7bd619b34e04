//! Updating searches (RFC 5267 CONTEXT=SEARCH, CONTEXT=SORT) and the return option rules of
//! RFC 9394 PARTIAL, as the server session enforces and tells them. The application is
//! scripted per test: it answers each search and hands the session each new result.

use std::time::Instant;

use sansmail_imap::{
    session::{
        ServerConfig,
        server::{Event, Server},
        view::Update,
    },
    types::{
        capability::Capability,
        command::CommandBody,
        response::{Data, StatusKind},
        search::SearchKey,
    },
};

struct Session {
    server: Server,
    now: Instant,
}

impl Session {
    /// Logged in, INBOX (UIDs 1..=4) selected; CONTEXT=SEARCH and CONTEXT=SORT offered when
    /// `contexts`, at most `limit` updating searches.
    fn selected(contexts: bool, limit: usize) -> Self {
        let mut config = ServerConfig::default();
        config.auth_requires_tls = false;
        config.max_updating_searches = limit;
        if contexts {
            config.capabilities.extend([
                Capability::ContextSearch,
                Capability::ContextSort,
                Capability::Partial,
            ]);
        }
        let now = Instant::now();
        let mut s = Self {
            server: Server::new(config, now),
            now,
        };
        s.out();
        s.input(b"a1 LOGIN alice secret\r\n");
        assert!(matches!(s.server.poll_event(), Some(Event::Login { .. })));
        s.server.accept().unwrap();
        s.input(b"a2 SELECT INBOX\r\n");
        s.command();
        s.server.select(vec![1, 2, 3, 4]).unwrap();
        s.server.send_data(Data::Exists(4));
        s.server
            .complete(StatusKind::Ok, None, "SELECT completed")
            .unwrap();
        assert!(s.out().ends_with("a2 OK SELECT completed\r\n"));
        s
    }

    fn input(&mut self, data: &[u8]) {
        self.server.handle_input(self.now, data);
    }

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

    /// Runs a search the application answers with `result` (UIDs), starting its updates;
    /// whether the session took them.
    fn search(&mut self, line: &str, result: Vec<u32>) -> (bool, String) {
        self.input(format!("{line}\r\n").as_bytes());
        self.command();
        let started = self.server.start_updating(result).unwrap();
        self.server.complete(StatusKind::Ok, None, "done").unwrap();
        (started, self.out())
    }

    /// A command the session answers itself.
    fn answered(&mut self, line: &str) -> String {
        self.input(format!("{line}\r\n").as_bytes());
        assert!(
            self.server.poll_event().is_none(),
            "{line} reached the application"
        );
        self.out()
    }
}

#[test]
fn additions_follow_exists_and_removals_precede_expunge() {
    let mut s = Session::selected(true, 8);
    let (started, out) = s.search("b1 SEARCH RETURN (UPDATE COUNT) UNSEEN", vec![2, 4]);
    assert!(started);
    assert_eq!(out, "b1 OK done\r\n");
    let search = s.server.updating_searches().next().unwrap();
    assert_eq!((search.tag.as_str(), search.uid), ("b1", false));
    assert_eq!(search.keys, [SearchKey::Unseen]);
    // A delivery that matches: ADDTO after the EXISTS that numbers it (§4.3.3).
    s.server.push_update(Update::New(vec![5])).unwrap();
    s.server.refresh_search("b1", vec![2, 4, 5]).unwrap();
    assert_eq!(
        s.answered("n1 NOOP"),
        "* 5 EXISTS\r\n* ESEARCH (TAG \"b1\") ADDTO (0 5)\r\nn1 OK NOOP completed\r\n"
    );
    // An expunge: REMOVEFROM while its number is still valid (§4.3.4).
    s.server
        .push_update(Update::Expunged {
            uids: vec![2],
            modseq: None,
        })
        .unwrap();
    s.server.refresh_search("b1", vec![4, 5]).unwrap();
    assert_eq!(
        s.answered("n2 NOOP"),
        "* ESEARCH (TAG \"b1\") REMOVEFROM (0 2)\r\n* 2 EXPUNGE\r\nn2 OK NOOP completed\r\n"
    );
    // A flag change that makes a message stop matching; numbers are those after the expunge.
    s.server.refresh_search("b1", vec![5]).unwrap();
    assert_eq!(
        s.answered("n3 NOOP"),
        "* ESEARCH (TAG \"b1\") REMOVEFROM (0 3)\r\nn3 OK NOOP completed\r\n"
    );
    // Nothing changed: nothing told.
    s.server.refresh_search("b1", vec![5]).unwrap();
    assert_eq!(s.answered("n4 NOOP"), "n4 OK NOOP completed\r\n");
}

#[test]
fn an_expunge_leaves_the_result_even_before_a_new_one_is_computed() {
    let mut s = Session::selected(true, 8);
    s.search("b1 UID SEARCH RETURN (UPDATE) ALL", vec![1, 2, 3, 4]);
    s.server
        .push_update(Update::Expunged {
            uids: vec![3],
            modseq: None,
        })
        .unwrap();
    // During a FETCH the expunge waits, and so does its REMOVEFROM.
    s.input(b"f1 FETCH 1 FLAGS\r\n");
    s.command();
    s.server.complete(StatusKind::Ok, None, "done").unwrap();
    assert_eq!(s.out(), "f1 OK done\r\n");
    assert_eq!(
        s.answered("n1 NOOP"),
        "* ESEARCH (TAG \"b1\") UID REMOVEFROM (0 3)\r\n* 3 EXPUNGE\r\nn1 OK NOOP completed\r\n"
    );
}

#[test]
fn sorted_results_are_updated_at_their_positions() {
    let mut s = Session::selected(true, 8);
    s.search(
        "b2 UID SORT RETURN (UPDATE) (REVERSE ARRIVAL) UTF-8 ALL",
        vec![4, 3, 2, 1],
    );
    assert!(s.server.updating_searches().next().unwrap().sort.is_some());
    s.server.push_update(Update::New(vec![5, 6])).unwrap();
    s.server
        .refresh_search("b2", vec![6, 5, 4, 3, 2, 1])
        .unwrap();
    assert_eq!(
        s.answered("n1 NOOP"),
        "* 6 EXISTS\r\n* ESEARCH (TAG \"b2\") UID ADDTO (1 6,5)\r\nn1 OK NOOP completed\r\n"
    );
    s.server.refresh_search("b2", vec![6, 5, 3, 1]).unwrap();
    assert_eq!(
        s.answered("n2 NOOP"),
        // 4 at position 3 of 6 5 4 3 2 1, then 2 at position 4 of 6 5 3 2 1.
        "* ESEARCH (TAG \"b2\") UID REMOVEFROM (3 4 4 2)\r\nn2 OK NOOP completed\r\n"
    );
}

#[test]
fn idle_hears_updates_at_once() {
    let mut s = Session::selected(true, 8);
    s.search("b1 SEARCH RETURN (UPDATE) SEEN", vec![]);
    s.input(b"i1 IDLE\r\n");
    assert!(matches!(s.server.poll_event(), Some(Event::Idle)));
    s.server.accept().unwrap();
    s.out();
    s.server.refresh_search("b1", vec![1, 2]).unwrap();
    assert_eq!(s.out(), "* ESEARCH (TAG \"b1\") ADDTO (0 1:2)\r\n");
}

#[test]
fn cancelupdate_stops_updates_and_refuses_unknown_tags() {
    let mut s = Session::selected(true, 8);
    s.search("b1 SEARCH RETURN (UPDATE) ALL", vec![1, 2, 3, 4]);
    assert_eq!(
        s.answered("c1 CANCELUPDATE \"b1\" \"zz\""),
        "c1 NO No updating search has tag zz\r\n"
    );
    assert_eq!(s.server.updating_searches().count(), 1);
    s.server.refresh_search("b1", vec![1]).unwrap();
    assert_eq!(
        s.answered("c2 CANCELUPDATE \"b1\""),
        "c2 OK CANCELUPDATE completed\r\n"
    );
    assert_eq!(s.server.updating_searches().count(), 0);
    assert!(s.server.refresh_search("b1", vec![1]).is_err());
    assert_eq!(s.answered("n1 NOOP"), "n1 OK NOOP completed\r\n");
}

#[test]
fn too_many_updating_searches_get_noupdate_and_a_reused_tag_bad() {
    let mut s = Session::selected(true, 1);
    assert!(s.search("b1 SEARCH RETURN (UPDATE) ALL", vec![1]).0);
    let (started, out) = s.search("b2 SEARCH RETURN (UPDATE COUNT) ALL", vec![1]);
    assert!(!started);
    assert_eq!(
        out,
        "* NO [NOUPDATE \"b2\"] Too many updating searches\r\nb2 OK done\r\n"
    );
    // §4.3: UPDATE under the tag of a search still updating is a BAD.
    assert_eq!(
        s.answered("b1 SEARCH RETURN (UPDATE) ALL"),
        "b1 BAD Tag reuse: a search with this tag is still updating\r\n"
    );
}

#[test]
fn partial_and_all_exclude_each_other() {
    let mut s = Session::selected(true, 8);
    for line in [
        "p1 SEARCH RETURN (PARTIAL 1:5 ALL) ALL",
        "p2 UID SEARCH RETURN (PARTIAL 1:5 PARTIAL -1:-5) ALL",
        "p3 SORT RETURN (ALL PARTIAL 1:2) (DATE) UTF-8 ALL",
    ] {
        let tag = line.split(' ').next().unwrap();
        assert_eq!(
            s.answered(line),
            format!("{tag} BAD Only one of PARTIAL and ALL may be given\r\n")
        );
    }
    // One PARTIAL with the others is fine.
    s.input(b"p4 SEARCH RETURN (PARTIAL -1:-5 COUNT MIN) ALL\r\n");
    assert!(matches!(s.command(), CommandBody::Search { .. }));
}

#[test]
fn fetch_partial_is_for_uid_fetch() {
    let mut s = Session::selected(true, 8);
    assert_eq!(
        s.answered("f1 FETCH 1:* (FLAGS) (PARTIAL 1:2)"),
        "f1 BAD PARTIAL is valid in UID FETCH only\r\n"
    );
    s.input(b"f2 UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)\r\n");
    assert!(matches!(s.command(), CommandBody::Fetch { .. }));
    let mut s = Session::selected(false, 8);
    assert_eq!(
        s.answered("f3 UID FETCH 1:* (FLAGS) (PARTIAL 1:2)"),
        "f3 BAD PARTIAL is not offered\r\n"
    );
}

#[test]
fn context_options_need_the_capability() {
    let mut s = Session::selected(false, 8);
    assert_eq!(
        s.answered("b1 SEARCH RETURN (UPDATE) ALL"),
        "b1 BAD CONTEXT and UPDATE are not offered here\r\n"
    );
    assert_eq!(
        s.answered("b2 SEARCH RETURN (PARTIAL 1:2) ALL"),
        "b2 BAD PARTIAL is not offered\r\n"
    );
    assert_eq!(
        s.answered("b3 CANCELUPDATE \"b1\""),
        "b3 NO No updating search has tag b1\r\n"
    );
}

#[test]
fn updates_end_with_the_selection() {
    let mut s = Session::selected(true, 8);
    s.search("b1 SEARCH RETURN (UPDATE) ALL", vec![1, 2, 3, 4]);
    s.input(b"u1 UNSELECT\r\n");
    s.command();
    s.server.complete(StatusKind::Ok, None, "done").unwrap();
    assert!(matches!(s.server.poll_event(), Some(Event::Deselected)));
    s.out();
    assert_eq!(s.server.updating_searches().count(), 0);
    // Its tag is free again once a mailbox is selected anew.
    s.input(b"a3 SELECT INBOX\r\n");
    s.command();
    s.server.select(vec![1, 2]).unwrap();
    s.server.complete(StatusKind::Ok, None, "done").unwrap();
    s.out();
    assert!(s.search("b1 SEARCH RETURN (UPDATE) ALL", vec![1]).0);
}
