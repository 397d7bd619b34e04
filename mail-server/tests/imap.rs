//! The IMAP service end to end on loopback, over a memory store: what a client sees across
//! sessions that share a mailbox.

mod common;

use std::{net::SocketAddr, sync::Arc};

use sansmail_server::{
    imap::{self, ImapService},
    listener::{ConnectionLimits, Gate},
};
use sansmail_store::{AccountName, MailStore, memory::MemoryStore};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

async fn start() -> SocketAddr {
    start_with(Arc::new(MemoryStore::new())).await
}

async fn start_with(store: Arc<MemoryStore>) -> SocketAddr {
    store
        .create_account(&AccountName::try_from("alice").unwrap())
        .await
        .unwrap();
    let auth = common::alice_only();
    let gate = Gate::new(ConnectionLimits::default());
    let service = ImapService::new("imap.example", auth, store, gate);
    imap::spawn("127.0.0.1:0".parse().unwrap(), Arc::new(service))
        .await
        .unwrap()
}

/// A client that writes command lines and reads the lines up to the tagged answer.
struct Raw {
    reader: BufReader<TcpStream>,
    tags: u32,
}

impl Raw {
    /// Connected and logged in as alice.
    async fn login(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut c = Self {
            reader: BufReader::new(stream),
            tags: 0,
        };
        let greeting = c.line().await;
        assert!(greeting.starts_with("* OK"), "{greeting}");
        c.ok("LOGIN alice secret").await;
        c
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).await.unwrap();
        assert!(line.ends_with("\r\n"), "{line:?}");
        line.truncate(line.len() - 2);
        line
    }

    /// Sends `command` under a fresh tag; the untagged lines before its tagged answer, and
    /// that answer without the tag.
    async fn command(&mut self, command: &str) -> (Vec<String>, String) {
        self.tags += 1;
        let tag = format!("t{}", self.tags);
        let stream = self.reader.get_mut();
        stream
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .await
            .unwrap();
        let mut lines = Vec::new();
        loop {
            let line = self.line().await;
            if let Some(done) = line.strip_prefix(&format!("{tag} ")) {
                return (lines, done.to_owned());
            }
            lines.push(line);
        }
    }

    /// As [`command`](Self::command), which must succeed: its untagged lines.
    async fn ok(&mut self, command: &str) -> Vec<String> {
        let (lines, done) = self.command(command).await;
        assert!(done.starts_with("OK"), "{command}: {done} after {lines:?}");
        lines
    }
}

/// IMAP4rev1 `\Recent` (RFC 3501 §2.3.2): EXAMINE shows the recent messages as recent
/// without claiming them; the SELECT after it claims them, and an EXAMINE after that sees
/// none (Dovecot answers the same).
#[tokio::test]
async fn examine_sees_recent_messages_without_claiming_them() {
    let addr = start().await;
    let mut c = Raw::login(addr).await;
    c.ok("CREATE T27").await;
    for i in 1..=2 {
        c.ok(&format!("APPEND T27 {{9+}}\r\nSubject {i}")).await;
    }

    let mut examiner = Raw::login(addr).await;
    let selected = examiner.ok("EXAMINE T27").await;
    assert!(selected.contains(&"* 2 RECENT".to_owned()), "{selected:?}");
    let flags = examiner.ok("FETCH 1:* FLAGS").await;
    assert_eq!(
        flags,
        [
            "* 1 FETCH (FLAGS (\\Recent))",
            "* 2 FETCH (FLAGS (\\Recent))"
        ]
    );
    assert_eq!(examiner.ok("SEARCH RECENT").await, ["* SEARCH 1 2"]);

    // Still recent for the first session to SELECT.
    let selected = c.ok("SELECT T27").await;
    assert!(selected.contains(&"* 2 RECENT".to_owned()), "{selected:?}");
    assert_eq!(c.ok("SEARCH RECENT").await, ["* SEARCH 1 2"]);

    let mut late = Raw::login(addr).await;
    let selected = late.ok("EXAMINE T27").await;
    assert!(selected.contains(&"* 0 RECENT".to_owned()), "{selected:?}");
    assert_eq!(
        late.ok("FETCH 1:* FLAGS").await,
        ["* 1 FETCH (FLAGS ())", "* 2 FETCH (FLAGS ())"]
    );
    assert_eq!(late.ok("SEARCH RECENT").await, ["* SEARCH"]);
}

/// A mailbox named `NIL` (any case) goes out quoted in LIST and STATUS, as Dovecot sends it:
/// a bare NIL is a valid astring, but many parsers read it as nil.
#[tokio::test]
async fn mailbox_named_nil_is_sent_quoted() {
    let addr = start().await;
    let mut c = Raw::login(addr).await;
    for name in ["NIL", "nil"] {
        c.ok(&format!("CREATE {name}")).await;
        assert_eq!(
            c.ok(&format!("LIST \"\" \"{name}\"")).await,
            [format!("* LIST (\\HasNoChildren) \"/\" \"{name}\"")]
        );
        assert_eq!(
            c.ok(&format!("STATUS {name} (MESSAGES)")).await,
            [format!("* STATUS \"{name}\" (MESSAGES 0)")]
        );
    }
}

/// A FETCH answers an attribute asked for twice once; partial ranges of a large part each
/// carry their octets; and items that would build many times the message in memory are
/// refused with `NO [LIMIT]` (RFC 9051 §7.1) instead of built. Before, every item held a
/// copy of the whole part: a 19 KB command grew the server by gigabytes.
#[tokio::test]
async fn fetch_items_are_bounded_by_the_message() {
    let addr = start().await;
    let mut c = Raw::login(addr).await;
    let line = format!("{}\r\n", "a".repeat(76));
    let mut message = String::from(
        "Subject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\n",
    );
    for _ in 0..26_000 {
        message.push_str(&line);
    }
    message.push_str("--b--\r\n");
    c.ok(&format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()))
        .await;
    c.ok("SELECT INBOX").await;

    let twice = c
        .ok("FETCH 1 (BODY.PEEK[1]<0.10> BODY.PEEK[1]<0.10> BODY.PEEK[1]<78.10>)")
        .await;
    assert_eq!(
        twice,
        ["* 1 FETCH (BODY[1]<0> \"aaaaaaaaaa\" BODY[1]<78> \"aaaaaaaaaa\")"]
    );

    let ranges: Vec<String> = (0..300)
        .map(|i| format!("BODY.PEEK[1]<{}.10>", i * 78))
        .collect();
    let answer = c.ok(&format!("FETCH 1 ({})", ranges.join(" "))).await;
    assert_eq!(answer.len(), 1, "{answer:?}");
    assert_eq!(answer[0].matches(" \"aaaaaaaaaa\"").count(), 300);
    assert!(answer[0].contains("BODY[1]<23322> \"aaaaaaaaaa\""));

    // Eight ranges of about 2 MB each of a 2 MB message.
    let large: Vec<String> = (1..=8)
        .map(|i| format!("BODY.PEEK[1]<{i}.4000000>"))
        .collect();
    let (lines, done) = c.command(&format!("FETCH 1 ({})", large.join(" "))).await;
    assert!(done.starts_with("NO [LIMIT]"), "{done} after {lines:?}");
    assert!(lines.is_empty(), "{lines:?}");
    c.ok("NOOP").await;
    // Without PEEK the refused FETCH still set \Seen: the client is told so.
    let large: Vec<String> = (1..=8).map(|i| format!("BODY[1]<{i}.4000000>")).collect();
    let (lines, done) = c
        .command(&format!("FETCH 1 (FLAGS {})", large.join(" ")))
        .await;
    assert!(done.starts_with("NO [LIMIT]"), "{done}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("* 1 FETCH (UID 1 FLAGS (\\Seen")),
        "{lines:?}"
    );
    // Answered, the FETCH response carries the new flags, and nothing follows it.
    c.ok("APPEND INBOX {9+}\r\nSubject 2").await;
    let answer = c.ok("FETCH 2 (FLAGS BODY[TEXT])").await;
    assert!(
        answer.iter().any(|l| l.contains("FLAGS (\\Seen")),
        "{answer:?}"
    );
    assert_eq!(c.ok("NOOP").await, Vec::<String>::new());
}

/// COPY of messages another session expunged, not yet told: none left to copy is `NO
/// [EXPUNGEISSUED]`, as Dovecot answers; some left are copied, COPYUID naming them, and the
/// client is told the rest no longer exist (RFC 2180 §4.4.1, RFC 5530). Before, an OK
/// without COPYUID said a copy was made that was not.
#[tokio::test]
async fn copy_of_expunged_messages_says_so() {
    let addr = start().await;
    let mut a = Raw::login(addr).await;
    a.ok("CREATE Other").await;
    for i in 1..=3 {
        a.ok(&format!("APPEND INBOX {{9+}}\r\nSubject {i}")).await;
    }
    a.ok("SELECT INBOX").await;
    let mut b = Raw::login(addr).await;
    b.ok("SELECT INBOX").await;
    b.ok("UID STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    b.ok("EXPUNGE").await;

    let (lines, done) = a.command("COPY 1 Other").await;
    assert!(
        done.starts_with("NO [EXPUNGEISSUED]"),
        "{done} after {lines:?}"
    );
    assert!(lines.contains(&"* 1 EXPUNGE".to_owned()), "{lines:?}");

    b.ok("UID STORE 3 +FLAGS.SILENT (\\Deleted)").await;
    b.ok("EXPUNGE").await;
    let (lines, done) = a.command("COPY 1:2 Other").await;
    assert!(done.starts_with("OK [COPYUID "), "{done} after {lines:?}");
    assert!(done.contains(" 2 1]"), "only UID 2 copied: {done}");
    assert!(
        lines.iter().any(|l| l.starts_with("* OK [EXPUNGEISSUED]")),
        "{lines:?}"
    );
    assert_eq!(
        b.ok("STATUS Other (MESSAGES)").await,
        ["* STATUS Other (MESSAGES 1)"]
    );
    // By UID, one that is gone is ignored without an error (RFC 9051 §6.4.9).
    b.ok("UID STORE 2 +FLAGS.SILENT (\\Deleted)").await;
    b.ok("EXPUNGE").await;
    let (lines, done) = a.command("UID COPY 2 Other").await;
    assert!(done.starts_with("OK"), "{done} after {lines:?}");
    assert_eq!(
        b.ok("STATUS Other (MESSAGES)").await,
        ["* STATUS Other (MESSAGES 1)"]
    );
}

/// IMAP4rev1 `\Recent` (RFC 3501 §2.3.2) for a session's own APPEND and COPY into its
/// selected mailbox: it is the first told of the new messages, in the command's response,
/// so they are recent there, not in another session that has the mailbox selected (as
/// Dovecot answers). Before, the other session, told by the store's event, claimed them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn own_append_and_copy_are_recent_in_the_session() {
    let addr = start().await;
    let mut a = Raw::login(addr).await;
    a.ok("CREATE R").await;
    a.ok("SELECT R").await;
    let mut others = Vec::new();
    for _ in 0..3 {
        let mut c = Raw::login(addr).await;
        c.ok("SELECT R").await;
        // Idling, each is told of every arrival at once and would claim it.
        c.reader.get_mut().write_all(b"i IDLE\r\n").await.unwrap();
        assert!(c.line().await.starts_with("+ "));
        others.push(c);
    }
    for n in 1..=10u32 {
        let appended = a.ok("APPEND R {9+}\r\nSubject 1").await;
        let recent = format!("* {} RECENT", 2 * n - 1);
        assert!(appended.contains(&recent), "{n}: {appended:?}");
        let copied = a.ok(&format!("COPY {} R", 2 * n - 1)).await;
        let recent = format!("* {} RECENT", 2 * n);
        assert!(copied.contains(&recent), "{n}: {copied:?}");
    }
    for mut c in others {
        c.reader.get_mut().write_all(b"DONE\r\n").await.unwrap();
        loop {
            let line = c.line().await;
            assert!(
                !line.ends_with(" RECENT") || line == "* 0 RECENT",
                "another session claimed: {line}"
            );
            if line.starts_with("i OK") {
                break;
            }
        }
        let mut searched = c.ok("SEARCH RECENT").await;
        searched.retain(|l| l.starts_with("* SEARCH"));
        assert_eq!(searched, ["* SEARCH"]);
    }
}

/// A message that cannot be stored is refused before the client sends it: no `+` for an
/// APPEND into a mailbox that does not exist (RFC 9051 §6.3.12 `TRYCREATE`) or over the
/// quota (RFC 9208 `OVERQUOTA`), as Dovecot answers; a later message of a MULTIAPPEND and
/// CATENATE's `TEXT` parts are asked about too. Literals that are not message data (a
/// mailbox name) and messages that fit get their `+`.
#[tokio::test]
async fn append_is_refused_before_its_literal() {
    let store = Arc::new(MemoryStore::new());
    let addr = start_with(store.clone()).await;
    let alice = AccountName::try_from("alice").unwrap();
    let limits = sansmail_store::QuotaLimits {
        storage_bytes: Some(10_000),
        messages: None,
    };
    store.set_quota(&alice, limits).await.unwrap();
    let mut a = Raw::login(addr).await;
    // With a limit the root is named, with its QUOTA line (RFC 9208 §4.3.2).
    let roots = a.ok("GETQUOTAROOT INBOX").await;
    assert_eq!(roots[0], "* QUOTAROOT INBOX \"\"", "{roots:?}");
    assert!(
        roots[1].starts_with("* QUOTA \"\" (STORAGE 0 "),
        "{roots:?}"
    );
    a.ok("CREATE Box").await;
    let mut exchange = async |sent: &[u8]| {
        a.reader.get_mut().write_all(sent).await.unwrap();
        a.line().await
    };
    let refused = exchange(b"a1 APPEND Nope {5}\r\n").await;
    assert!(refused.starts_with("a1 NO [TRYCREATE]"), "{refused}");
    let refused = exchange(b"a2 APPEND Box (\\Seen) {20000}\r\n").await;
    assert!(refused.starts_with("a2 NO [OVERQUOTA]"), "{refused}");
    let refused = exchange(b"a3 APPEND Box CATENATE (TEXT {20000}\r\n").await;
    assert!(refused.starts_with("a3 NO [OVERQUOTA]"), "{refused}");
    // A later message of a MULTIAPPEND, when it is the command's first synchronizing
    // literal (only that one is looked at: each look parses the command so far).
    let second = exchange(b"a4 APPEND Box {5+}\r\nHi!\r\n {20000}\r\n").await;
    assert!(second.starts_with("a4 NO [OVERQUOTA]"), "{second}");
    // A mailbox name as a literal is no message: it gets its `+`, and so does the message
    // after it (not the command's first literal); storing it is refused.
    assert!(exchange(b"a5 APPEND {3}\r\n").await.starts_with("+ "));
    assert!(exchange(b"Box {20000}\r\n").await.starts_with("+ "));
    let big = [vec![b'x'; 20000], b"\r\n".to_vec()].concat();
    let stored = exchange(&big).await;
    assert!(stored.starts_with("a5 NO [OVERQUOTA]"), "{stored}");
    // The session goes on; a message that fits is taken.
    assert!(exchange(b"a6 APPEND Box {5}\r\n").await.starts_with("+ "));
    let done = exchange(b"Hi!\r\n\r\n").await;
    assert!(done.starts_with("a6 OK [APPENDUID"), "{done}");
}

/// Deleting the selected mailbox ends the session after the tagged OK, as Dovecot does
/// (and as another session's DELETE of it does): no IMAP response tells a client that it
/// left the Selected state. Before, the session went back to Authenticated silently and the
/// client's next FETCH got BAD.
#[tokio::test]
async fn deleting_the_selected_mailbox_says_bye() {
    use tokio::io::AsyncReadExt;
    let addr = start().await;
    let mut a = Raw::login(addr).await;
    a.ok("CREATE Gone").await;
    a.ok("APPEND Gone {5+}\r\nHi!\r\n").await;
    a.ok("SELECT Gone").await;
    let (untagged, done) = a.command("DELETE Gone").await;
    assert!(done.starts_with("OK"), "{done} after {untagged:?}");
    let wait = std::time::Duration::from_secs(10);
    let bye = tokio::time::timeout(wait, a.line()).await;
    let bye = bye.expect("no BYE after deleting the selected mailbox");
    assert!(bye.starts_with("* BYE "), "{bye}");
    let mut rest = Vec::new();
    a.reader.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    // Deleting a mailbox that is not selected leaves the session as it was.
    let mut b = Raw::login(addr).await;
    b.ok("CREATE Other").await;
    b.ok("SELECT INBOX").await;
    b.ok("DELETE Other").await;
    b.ok("SEARCH ALL").await;
}

/// `message/global` (RFC 6532) has `body-type-msg`'s layout (envelope, body, lines) only
/// under IMAP4rev2 (RFC 9051 §9 `media-message`); IMAP4rev1's grammar gives that layout to
/// `message/rfc822` alone, so a rev1 client gets `body-type-basic`, as Dovecot answers.
/// Before, a rev1 client got an envelope where its parser expects the MD5 field.
#[tokio::test]
async fn message_global_is_basic_for_imap4rev1() {
    let addr = start().await;
    let msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
               Content-Type: message/global\r\n\r\nSubject: glob\r\n\r\nhi\r\n--b--\r\n";
    let mut a = Raw::login(addr).await;
    a.ok(&format!("APPEND INBOX {{{}+}}\r\n{msg}", msg.len()))
        .await;
    a.ok("SELECT INBOX").await;
    let rev1 = a.ok("FETCH 1 BODYSTRUCTURE").await.join("\n");
    assert!(
        rev1.contains(r#"("message" "global" NIL NIL NIL "7bit" 19 NIL NIL NIL NIL)"#),
        "{rev1}"
    );
    let mut b = Raw::login(addr).await;
    b.ok("ENABLE IMAP4rev2").await;
    b.ok("SELECT INBOX").await;
    let rev2 = b.ok("FETCH 1 BODYSTRUCTURE").await.join("\n");
    assert!(
        rev2.contains(r#"("message" "global" NIL NIL NIL "7bit" 19 (NIL "glob" "#),
        "{rev2}"
    );
}
