//! A second IMAP server, built in a few lines from the crates' public API alone (`mail-server`
//! on `mail-store`'s memory backend, with its own `Accounts`), answers SEARCH, SORT, THREAD and
//! `FETCH BODY[1.HEADER.FIELDS (SUBJECT)]` exactly as `mailserver` does on the same
//! messages: what a server needs is in the published crates, not in `examples/`.

mod common;

use std::{net::SocketAddr, sync::Arc};

use common::{Raw, start};
use sansmail_core::Credentials;
use sansmail_server::{
    auth::{Accounts, Authenticator, Refusal, ThrottleConfig},
    imap::{self, ImapService},
    listener::{ConnectionLimits, Gate},
};
use sansmail_smtp::ForwardPath;
use sansmail_store::{AccountName, MailStore, memory::MemoryStore};

/// The second server's whole policy: one user.
struct OneUser;

impl Accounts for OneUser {
    fn verify(&self, c: &Credentials) -> Option<AccountName> {
        (c.authcid == "alice" && c.password.expose() == "secret")
            .then(|| AccountName::try_from("alice").ok())
            .flatten()
    }

    fn recipient(&self, _: &ForwardPath<'_>) -> Result<AccountName, Refusal> {
        Err(Refusal::NotLocal)
    }
}

/// The second server: an IMAP listener on a memory store, on `runtime`.
fn second_server(runtime: &tokio::runtime::Runtime) -> SocketAddr {
    runtime.block_on(async {
        let store = Arc::new(MemoryStore::new());
        let alice = AccountName::try_from("alice").unwrap();
        store.create_account(&alice).await.unwrap();
        let auth = Arc::new(Authenticator::new(
            Arc::new(OneUser),
            ThrottleConfig::default(),
        ));
        let gate = Gate::new(ConnectionLimits::default());
        let service = ImapService::new("second.example", auth, store, gate);
        imap::spawn("127.0.0.1:0".parse().unwrap(), Arc::new(service))
            .await
            .unwrap()
    })
}

/// The same messages for both: a thread with replies, forwards and a missing parent, mixed
/// dates and zones, a multipart whose first part is a message/rfc822.
const MESSAGES: &[(&str, &str)] = &[
    (
        "01-Mar-2024 10:00:00 +0000",
        "From: Carol <carol@example.org>\r\nTo: alice@example.org\r\nSubject: Hello world\r\nDate: Fri, 1 Mar 2024 10:00:00 +0000\r\nMessage-ID: <a@x>\r\n\r\nfirst\r\n",
    ),
    (
        "02-Mar-2024 09:00:00 +0100",
        "From: bob@example.org\r\nTo: alice@example.org\r\nSubject: Re: Hello world\r\nDate: Sat, 2 Mar 2024 09:00:00 +0100\r\nMessage-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\nReferences: <a@x>\r\n\r\nreply\r\n",
    ),
    (
        "28-Feb-2024 23:00:00 -0500",
        "From: \"Zed\" <zed@example.net>\r\nTo: bob@example.org\r\nCc: carol@example.org\r\nSubject: [list] Fwd: budget\r\nDate: Wed, 28 Feb 2024 23:00:00 -0500\r\nMessage-ID: <c@x>\r\nReferences: <missing@x>\r\n\r\nforwarded\r\n",
    ),
    (
        "03-Mar-2024 12:00:00 +0000",
        "From: alice@example.org\r\nTo: carol@example.org\r\nSubject: budget\r\nDate: Sun, 3 Mar 2024 12:00:00 +0000\r\nMessage-ID: <d@x>\r\nReferences: <missing@x> <c@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner subject\r\nFrom: x@example.org\r\n\r\ninner body\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b1--\r\n",
    ),
    (
        "03-Mar-2024 12:00:00 +0000",
        "From: Bob <bob@example.org>\r\nSubject: hello WORLD\r\n\r\nno date, no id\r\n",
    ),
];

const COMMANDS: &[&str] = &[
    "SEARCH ALL",
    "UID SEARCH FROM \"bob\"",
    "SEARCH SUBJECT hello",
    "SEARCH OR SEEN SUBJECT budget",
    "SEARCH SENTSINCE 1-Mar-2024 NOT FROM carol",
    "SEARCH BODY forwarded",
    "SEARCH TEXT \"inner\"",
    "SORT (SUBJECT DATE) UTF-8 ALL",
    "UID SORT (REVERSE ARRIVAL) UTF-8 ALL",
    "SORT (FROM REVERSE SIZE) US-ASCII ALL",
    "SORT (CC TO) UTF-8 SUBJECT budget",
    "THREAD REFERENCES UTF-8 ALL",
    "UID THREAD ORDEREDSUBJECT UTF-8 ALL",
    "FETCH 1:* (BODY.PEEK[1.HEADER.FIELDS (SUBJECT)])",
    "FETCH 4 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY.PEEK[2])",
];

/// Logs in, appends the messages, selects INBOX and returns every command's responses.
fn answers(addr: SocketAddr) -> Vec<Vec<String>> {
    let mut c = Raw::connect(addr);
    c.command("l", "LOGIN alice secret");
    for (i, (date, raw)) in MESSAGES.iter().enumerate() {
        c.send(&format!("p{i} APPEND INBOX \"{date}\" {{{}}}", raw.len()));
        assert!(c.line().starts_with('+'));
        // The literal, then the CRLF that ends the command.
        c.send(raw);
        let done = c.until(&format!("p{i} "));
        assert!(done.last().unwrap().contains(" OK "), "{done:?}");
    }
    c.command("s", "SELECT INBOX");
    COMMANDS
        .iter()
        .enumerate()
        .map(|(i, cmd)| c.command(&format!("c{i}"), cmd))
        .collect()
}

#[test]
fn a_server_from_the_crates_answers_as_mailserver_does() {
    let mailserver = start("second-server");
    let second = second_server(&mailserver.runtime);
    let ours = answers(mailserver.imap);
    let theirs = answers(second);
    for ((cmd, a), b) in COMMANDS.iter().zip(&ours).zip(&theirs) {
        assert_eq!(a, b, "{cmd}");
        // Each command found something: the comparison is not between two empty answers.
        assert!(a.len() > 1, "{cmd}: {a:?}");
    }
    if std::env::var_os("SHOW").is_some() {
        for (cmd, a) in COMMANDS.iter().zip(&ours) {
            eprintln!("{cmd}\n  {a:?}");
        }
    }
    // Spot checks that the answers are the right ones, not only the same ones.
    assert_eq!(ours[0][0], "* SEARCH 1 2 3 4 5");
    assert_eq!(ours[2][0], "* SEARCH 1 2 5");
    assert!(ours[11][0].starts_with("* THREAD "), "{:?}", ours[11]);
    assert!(
        ours[13]
            .iter()
            .any(|l| l.contains("Subject: inner subject")),
        "{:?}",
        ours[13]
    );
}
