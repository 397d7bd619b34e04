//! URLAUTH (RFC 4467) over the socket against the `mailserver` wiring: GENURLAUTH then
//! URLFETCH by another user returns the message or the part the URL names, and every URL
//! that is not valid for the fetcher now gives NIL: a changed token, an expired URL, a
//! `user+X` URL fetched by someone else, a URL whose key RESETKEY forgot. CATENATE takes an
//! authorized URL of another user's message (RFC 4469 §4).

mod common;

use common::{Raw, TestServer, start};

const MESSAGE: &str = "From: a@example.org\r\nSubject: urlauth\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
first part\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b--\r\n";

fn login(server: &TestServer, user: &str, password: &str) -> Raw {
    let mut c = Raw::connect(server.imap);
    c.command("l0", &format!("LOGIN {user} {password}"));
    c
}

/// The URLs of `* GENURLAUTH` for `rumps` (each authorized with INTERNAL).
fn genurlauth(c: &mut Raw, tag: &str, rumps: &[&str]) -> Vec<String> {
    let args: Vec<String> = rumps.iter().map(|r| format!("\"{r}\" INTERNAL")).collect();
    let lines = c.command(tag, &format!("GENURLAUTH {}", args.join(" ")));
    let data = lines
        .iter()
        .find_map(|l| l.strip_prefix("* GENURLAUTH "))
        .unwrap_or_else(|| panic!("no GENURLAUTH data: {lines:?}"));
    let urls: Vec<String> = data
        .split(' ')
        .map(|u| u.trim_matches('"').to_owned())
        .collect();
    assert_eq!(urls.len(), rumps.len(), "{lines:?}");
    for (url, rump) in urls.iter().zip(rumps) {
        let token = url
            .strip_prefix(&format!("{rump}:INTERNAL:"))
            .unwrap_or_else(|| panic!("{url} does not extend {rump}"));
        assert!(
            token.len() >= 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
            "{url}"
        );
    }
    urls
}

/// What `* URLFETCH` gives for one URL: `None` for NIL.
fn urlfetch(c: &mut Raw, tag: &str, url: &str) -> Option<String> {
    let lines = c.command(tag, &format!("URLFETCH \"{url}\""));
    let start = lines
        .iter()
        .position(|l| l.starts_with("* URLFETCH "))
        .unwrap_or_else(|| panic!("no URLFETCH data: {lines:?}"));
    let first = &lines[start];
    // The URL comes back as given (quoted here), then the data.
    let value = first
        .strip_prefix(&format!("* URLFETCH \"{url}\" "))
        .or_else(|| first.strip_prefix(&format!("* URLFETCH {url} ")))
        .unwrap_or_else(|| panic!("not the URL asked for: {first}"));
    if value == "NIL" {
        return None;
    }
    if let Some(quoted) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        return Some(quoted.replace("\\\"", "\"").replace("\\\\", "\\"));
    }
    let len: usize = value
        .strip_prefix('{')
        .and_then(|n| n.strip_suffix('}'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("neither NIL, a string nor a literal: {first}"));
    // The literal's lines, up to the tagged completion.
    let data = lines[start + 1..lines.len() - 1].join("\r\n");
    assert!(data.len() >= len, "{lines:?}");
    Some(data[..len].to_owned())
}

fn rump(path: &str, rest: &str) -> String {
    format!("imap://alice@mail.example.org/{path}{rest}")
}

#[test]
fn genurlauth_then_urlfetch_by_another_user() {
    let server = start("urlauth-fetch");
    server.deliver(&["alice@example.org"], MESSAGE.as_bytes());
    let mut alice = login(&server, "alice", "secret");
    let mut bob = login(&server, "bob", "hunter2");

    let caps = alice.command("a1", "CAPABILITY");
    assert!(caps[0].contains(" URLAUTH"), "{caps:?}");
    let selected = alice.command("a2", "SELECT INBOX");
    assert!(
        selected
            .iter()
            .any(|l| l.starts_with("* OK [URLMECH INTERNAL]")),
        "{selected:?}"
    );

    let whole = rump("INBOX", "/;UID=1;URLAUTH=authuser");
    let part = rump("INBOX", "/;UID=1/;SECTION=2;URLAUTH=anonymous");
    let partial = rump("INBOX", "/;UID=1/;SECTION=1/;PARTIAL=6.4;URLAUTH=authuser");
    let urls = genurlauth(&mut alice, "a3", &[&whole, &part, &partial]);

    assert_eq!(urlfetch(&mut bob, "b1", &urls[0]).as_deref(), Some(MESSAGE));
    assert_eq!(
        urlfetch(&mut bob, "b2", &urls[1]).as_deref(),
        Some("second part")
    );
    assert_eq!(urlfetch(&mut bob, "b3", &urls[2]).as_deref(), Some("part"));
    // The owner may fetch too; fetching sets no \Seen (BODY.PEEK).
    assert_eq!(
        urlfetch(&mut alice, "a4", &urls[0]).as_deref(),
        Some(MESSAGE)
    );
    let flags = alice.command("a5", "FETCH 1 (FLAGS)");
    assert!(!flags[0].contains("\\Seen"), "{flags:?}");

    // A changed token, the rump alone, or a relative URL: NIL.
    let mut changed = urls[0].clone();
    let last = changed.pop().unwrap();
    changed.push(if last == '0' { '1' } else { '0' });
    assert_eq!(urlfetch(&mut bob, "b4", &changed), None);
    assert_eq!(urlfetch(&mut bob, "b5", &whole), None);
    assert_eq!(urlfetch(&mut bob, "b6", "/INBOX/;UID=1"), None);
    // A token is for its rump only: another message, the same token.
    let other = urls[0].replacen(";UID=1", ";UID=2", 1);
    assert_eq!(urlfetch(&mut bob, "b7", &other), None);
}

#[test]
fn expiry_access_identifiers_and_resetkey() {
    let server = start("urlauth-access");
    server.deliver(&["alice@example.org"], MESSAGE.as_bytes());
    let mut alice = login(&server, "alice", "secret");
    let mut bob = login(&server, "bob", "hunter2");
    let first = |s: &Option<String>| s.as_deref().map(|m| m.starts_with("From: a@"));

    let expired = rump(
        "INBOX",
        "/;UID=1;EXPIRE=2000-01-01T00:00:00Z;URLAUTH=authuser",
    );
    let later = rump(
        "INBOX",
        "/;UID=1;EXPIRE=2999-01-01T00:00:00+01:00;URLAUTH=authuser",
    );
    let only_alice = rump("INBOX", "/;UID=1;URLAUTH=user+alice");
    let only_bob = rump("INBOX", "/;UID=1;URLAUTH=user+bob");
    let submit_bob = rump("INBOX", "/;UID=1;URLAUTH=submit+bob");
    let anonymous = rump("INBOX", "/;UID=1;URLAUTH=anonymous");
    let urls = genurlauth(
        &mut alice,
        "a1",
        &[
            &expired,
            &later,
            &only_alice,
            &only_bob,
            &submit_bob,
            &anonymous,
        ],
    );
    assert_eq!(urlfetch(&mut bob, "b1", &urls[0]), None, "expired");
    assert_eq!(first(&urlfetch(&mut bob, "b2", &urls[1])), Some(true));
    assert_eq!(urlfetch(&mut bob, "b3", &urls[2]), None, "user+alice");
    assert_eq!(first(&urlfetch(&mut alice, "a2", &urls[2])), Some(true));
    assert_eq!(first(&urlfetch(&mut bob, "b4", &urls[3])), Some(true));
    assert_eq!(urlfetch(&mut alice, "a3", &urls[3]), None, "user+bob");
    assert_eq!(first(&urlfetch(&mut bob, "b5", &urls[4])), Some(true));
    assert_eq!(urlfetch(&mut alice, "a4", &urls[4]), None, "submit+bob");
    assert_eq!(first(&urlfetch(&mut bob, "b6", &urls[5])), Some(true));

    // RESETKEY of the mailbox: every URL made before is dead; new ones work.
    let reset = alice.command("a5", "RESETKEY INBOX");
    assert!(
        reset
            .last()
            .unwrap()
            .starts_with("a5 OK [URLMECH INTERNAL]"),
        "{reset:?}"
    );
    assert_eq!(urlfetch(&mut bob, "b7", &urls[5]), None, "after RESETKEY");
    let again = genurlauth(&mut alice, "a6", &[&anonymous]);
    assert_ne!(again[0], urls[5], "a new key");
    assert_eq!(first(&urlfetch(&mut bob, "b8", &again[0])), Some(true));
    // RESETKEY without a mailbox: all of alice's keys.
    alice.command("a7", "RESETKEY");
    assert_eq!(urlfetch(&mut bob, "b9", &again[0]), None, "after RESETKEY");
}

#[test]
fn genurlauth_refusals() {
    let server = start("urlauth-refusals");
    let mut alice = login(&server, "alice", "secret");
    let refused = |c: &mut Raw, tag: &str, command: &str, status: &str| {
        c.send(&format!("{tag} {command}"));
        let lines = c.until(&format!("{tag} "));
        assert!(
            lines
                .last()
                .unwrap()
                .starts_with(&format!("{tag} {status}")),
            "{command}: {lines:?}"
        );
    };
    let no_mailbox = rump("Nowhere", "/;UID=1;URLAUTH=anonymous");
    refused(
        &mut alice,
        "a1",
        &format!("GENURLAUTH \"{no_mailbox}\" INTERNAL"),
        "NO",
    );
    let no_urlauth = rump("INBOX", "/;UID=1");
    refused(
        &mut alice,
        "a2",
        &format!("GENURLAUTH \"{no_urlauth}\" INTERNAL"),
        "BAD",
    );
    refused(
        &mut alice,
        "a3",
        "GENURLAUTH \"imap://bob@mail.example.org/INBOX/;UID=1;URLAUTH=anonymous\" INTERNAL",
        "BAD",
    );
    refused(
        &mut alice,
        "a4",
        &format!(
            "GENURLAUTH \"{}\" XSAMPLE",
            rump("INBOX", "/;UID=1;URLAUTH=anonymous")
        ),
        "BAD",
    );
    refused(&mut alice, "a5", "RESETKEY Nowhere", "NO");
    // Before login, none of the three.
    let mut anon = Raw::connect(server.imap);
    refused(&mut anon, "c1", "URLFETCH x", "BAD");
}

#[test]
fn catenate_takes_an_authorized_url() {
    let server = start("urlauth-catenate");
    server.deliver(&["alice@example.org"], MESSAGE.as_bytes());
    let mut alice = login(&server, "alice", "secret");
    let mut bob = login(&server, "bob", "hunter2");
    let part = rump("INBOX", "/;UID=1/;SECTION=1;URLAUTH=user+bob");
    let url = genurlauth(&mut alice, "a1", &[&part]).remove(0);
    let header = "Subject: forwarded\r\n\r\n";
    bob.send(&format!(
        "b1 APPEND INBOX CATENATE (TEXT {{{}+}}",
        header.len()
    ));
    bob.send_bytes(header.as_bytes());
    bob.send(&format!(" URL \"{url}\")"));
    let lines = bob.until("b1 ");
    assert!(lines.last().unwrap().starts_with("b1 OK"), "{lines:?}");
    let stored = server.messages("bob", "INBOX");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].content.as_deref(),
        Some(format!("{header}first part").as_bytes())
    );
    // Alice's own message is not bob's to name without authorization.
    bob.send(&format!(
        "b2 APPEND INBOX CATENATE (URL \"{}\")",
        rump("INBOX", "/;UID=1")
    ));
    let lines = bob.until("b2 ");
    assert!(lines.last().unwrap().starts_with("b2 NO"), "{lines:?}");
}

/// The client driver's calls against the server: `genurlauth`, `urlfetch` (data and `None`
/// for NIL) and `resetkey`.
#[test]
fn client_driver_calls() {
    use sansmail_imap::{
        session::client::{ClientConfig, Credentials, TlsPolicy},
        tokio::client::ImapClient,
    };
    let server = start("urlauth-client");
    server.deliver(&["alice@example.org"], MESSAGE.as_bytes());
    let port = server.imap.port();
    let connect = |user: &'static str, password: &'static str| async move {
        let mut config = ClientConfig::new(Some(Credentials::new(user, password)));
        config.starttls = TlsPolicy::Never;
        ImapClient::connect("127.0.0.1", port, config, None)
            .await
            .unwrap()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut alice = connect("alice", "secret").await;
        let mut bob = connect("bob", "hunter2").await;
        let part = rump("INBOX", "/;UID=1/;SECTION=1;URLAUTH=user+bob");
        let urls = alice.genurlauth(&[&part]).await.unwrap();
        assert_eq!(urls.len(), 1);
        assert!(
            urls[0].starts_with(&format!("{part}:INTERNAL:")),
            "{urls:?}"
        );
        let fetched = bob.urlfetch(&[&urls[0], &part]).await.unwrap();
        assert_eq!(
            fetched,
            vec![
                (urls[0].clone(), Some(b"first part".to_vec())),
                (part.clone(), None),
            ]
        );
        alice.resetkey(Some("INBOX")).await.unwrap();
        let fetched = bob.urlfetch(&[&urls[0]]).await.unwrap();
        assert_eq!(fetched, vec![(urls[0].clone(), None)]);
        assert!(alice.resetkey(Some("Nowhere")).await.is_err());
        alice.logout().await.unwrap();
        bob.logout().await.unwrap();
    });
}

/// Each URL part reads its whole message, however little it takes: a command naming one
/// large message a few hundred times is refused (NO [LIMIT]) once its URLs have read 256
/// MiB, instead of reading it a few hundred times over.
#[test]
fn url_parts_read_a_bounded_amount() {
    let server = start("urlauth-budget");
    let big = format!(
        "Subject: big\r\n\r\n{}",
        format!("{}\r\n", "x".repeat(1022)).repeat(4096)
    );
    server.deliver(&["alice@example.org"], big.as_bytes());
    let mut alice = login(&server, "alice", "secret");
    alice.command("a0", "SELECT INBOX");
    let parts = " URL \";UID=1/;PARTIAL=0.1\"".repeat(70);
    alice.send(&format!(
        "a1 APPEND Drafts CATENATE ({})",
        parts.trim_start()
    ));
    let lines = alice.until("a1 ");
    assert!(
        lines.last().unwrap().starts_with("a1 NO [LIMIT]"),
        "{lines:?}"
    );
    assert!(server.messages("alice", "Drafts").is_empty());
    // A few parts of it are fine.
    let parts = " URL \";UID=1/;PARTIAL=0.1\"".repeat(3);
    alice.send(&format!(
        "a2 APPEND Drafts CATENATE ({})",
        parts.trim_start()
    ));
    let lines = alice.until("a2 ");
    assert!(lines.last().unwrap().starts_with("a2 OK"), "{lines:?}");
}
