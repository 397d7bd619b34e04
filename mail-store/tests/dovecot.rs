//! Differential test against Debian's Dovecot (`apt-get install -y dovecot-imapd`): Dovecot
//! serves a Maildir our backend wrote and sees the same messages and flags; then our backend
//! opens what Dovecot changed (APPEND, STORE, EXPUNGE, CREATE) and serves the same.
//!
//! Dovecot runs unprivileged on loopback with its own configuration in a temporary
//! directory; IMAP is driven with Python's imaplib (`python3 -c`). The test is skipped, with
//! a message, when `dovecot` or `python3` is not installed.

mod common;

use std::{
    collections::BTreeMap,
    fs,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{TempDir, maildir_store};
use sansmail_store::{
    AccountName, AppendItem, FetchQuery, Flag, Flags, Keyword, MailStore, Recipient, Session,
    SpecialUse, UidSet, block_on,
    maildir::MaildirStore,
    mime::{BodyKind, BodyStructure},
};

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Dovecot {
    conf: PathBuf,
    child: Child,
    port: u16,
}

impl Dovecot {
    fn start(dir: &Path, mail_root: &Path) -> Dovecot {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        fs::write(dir.join("passwd"), "alice:{PLAIN}secret\n").unwrap();
        let conf = dir.join("dovecot.conf");
        fs::write(
            &conf,
            format!(
                r"instance_name = mailstore-test-{pid}-{port}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 100
mail_location = maildir:{root}/%u/Maildir
namespace inbox {{
  inbox = yes
  separator = .
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
",
                pid = std::process::id(),
                d = dir.display(),
                root = mail_root.display(),
            ),
        )
        .unwrap();
        let child = Command::new("dovecot")
            .arg("-c")
            .arg(&conf)
            .arg("-F")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dovecot");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "dovecot did not listen: {}",
                fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Dovecot { conf, child, port }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("dovecot")
            .arg("-c")
            .arg(&self.conf)
            .arg("stop")
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Python: dump every mailbox as {name: [[subject, [flags]], ...]} in UID order.
const DUMP: &str = r#"
import imaplib, json, re, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login('alice', 'secret')
out = {}
bs = {}
typ, boxes = M.list('""', '*')
for line in boxes:
    name = line.decode().rsplit(' ', 1)[1].strip('"')
    M.select('"%s"' % name, readonly=True)
    typ, data = M.uid('FETCH', '1:*', '(FLAGS RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
    msgs = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta = item[0].decode()
        flags = re.search(r'FLAGS \(([^)]*)\)', meta).group(1).split()
        size = int(re.search(r'RFC822.SIZE (\d+)', meta).group(1))
        subject = item[1].decode().split(':', 1)[1].strip()
        bs[subject] = re.search(r'BODYSTRUCTURE (\(.*\)) BODY\[', meta).group(1)
        msgs.append([subject, sorted(f for f in flags if f != '\\Recent'), size])
    out[name] = msgs
print(json.dumps({'boxes': out, 'bodystructure': bs}))
M.logout()
"#;

/// Python: change things through Dovecot.
const CHANGE: &str = r"
import imaplib, sys, time
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login('alice', 'secret')
def msg(s):
    return ('From: dove@example.org\r\nSubject: %s\r\nMessage-ID: <%s@dove>\r\n\r\nwritten by dovecot\r\n' % (s, s)).encode()
assert M.create('Dove')[0] == 'OK'
assert M.append('Dove', r'(\Seen)', imaplib.Time2Internaldate(time.time()), msg('dove-1'))[0] == 'OK'
assert M.append('Dove', r'(\Flagged $Label1)', imaplib.Time2Internaldate(time.time()), msg('dove-2'))[0] == 'OK'
assert M.append('INBOX', None, imaplib.Time2Internaldate(time.time()), msg('dove-inbox'))[0] == 'OK'
mp = b'From: d@example.org\r\nSubject: dove-multipart\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\ntext\r\n--b\r\nContent-Type: text/html; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>html</p>\r\n--b--\r\n'
assert M.append('Dove', None, imaplib.Time2Internaldate(time.time()), mp)[0] == 'OK'
M.select('INBOX')
typ, data = M.uid('SEARCH', None, 'SUBJECT', 'plain')
uid = data[0].split()[0]
assert M.uid('STORE', uid, '+FLAGS', r'(\Seen \Answered $Label2)')[0] == 'OK'
typ, data = M.uid('SEARCH', None, 'DELETED')
assert len(data[0].split()) == 1, data
assert M.expunge()[0] == 'OK'
M.logout()
print('ok')
";

fn python(script: &str, port: u16) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(port.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn message(subject: &str) -> Vec<u8> {
    format!("From: alice@example.org\r\nTo: bob@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@ours>\r\n\r\nwritten by mail-store\r\n").into_bytes()
}

fn imap_flags(f: &Flags) -> Vec<String> {
    let mut v: Vec<String> = f
        .system()
        .map(|f| f.as_str().to_owned())
        .chain(f.keywords().iter().map(|k| k.as_str().to_owned()))
        .collect();
    v.sort();
    v
}

type Dump = BTreeMap<String, Vec<(String, Vec<String>, u64)>>;

/// What our store holds, in the same shape as the Python dump.
fn ours(store: &MaildirStore, s: &Session) -> Dump {
    let mut out = Dump::new();
    for m in block_on(store.list(s, "*", sansmail_store::ListScope::All)).unwrap() {
        let q = FetchQuery {
            envelope: true,
            ..FetchQuery::default()
        };
        let msgs = block_on(store.fetch(s, &m.name, &UidSet::all(), q)).unwrap();
        out.insert(
            m.name,
            msgs.into_iter()
                .map(|f| {
                    (
                        f.envelope.unwrap().subject.clone().unwrap(),
                        imap_flags(&f.flags),
                        f.size,
                    )
                })
                .collect(),
        );
    }
    out
}

fn parse_dump(json: &str) -> (Dump, BTreeMap<String, String>) {
    #[derive(serde::Deserialize)]
    struct Out {
        boxes: Dump,
        bodystructure: BTreeMap<String, String>,
    }
    let o: Out = serde_json::from_str(json).unwrap();
    (o.boxes, o.bodystructure)
}

/// The `"encoding" size [lines]` of every leaf, as BODYSTRUCTURE writes them.
fn leaves(b: &BodyStructure, out: &mut Vec<String>) {
    match &b.kind {
        BodyKind::Multipart(children) => children.iter().for_each(|c| leaves(c, out)),
        BodyKind::Message { body, .. } => {
            leaves(body, out);
            out.push(format!("{}", b.lines.unwrap_or(0)));
        }
        BodyKind::Text => out.push(format!(
            "\"{}\" {} {}",
            b.encoding,
            b.size,
            b.lines.unwrap_or(0)
        )),
        BodyKind::Basic => out.push(format!("\"{}\" {}", b.encoding, b.size)),
    }
}

/// Our BODYSTRUCTURE data has the sizes and line counts Dovecot reports, leaf by leaf.
fn check_bodystructures(mail_root: &Path, dovecot: &BTreeMap<String, String>) {
    let store = maildir_store(mail_root);
    let s = Session::new(AccountName::try_from("alice").unwrap());
    let q = FetchQuery {
        envelope: true,
        body_structure: true,
        ..FetchQuery::default()
    };
    let mut checked = 0;
    for m in block_on(store.list(&s, "*", sansmail_store::ListScope::All)).unwrap() {
        for f in block_on(store.fetch(&s, &m.name, &UidSet::all(), q)).unwrap() {
            let subject = f.envelope.as_ref().unwrap().subject.clone().unwrap();
            let theirs = dovecot[&subject].to_ascii_lowercase();
            let mut mine = Vec::new();
            leaves(f.body_structure.as_ref().unwrap(), &mut mine);
            let mut at = 0;
            for leaf in mine {
                let leaf = leaf.to_ascii_lowercase();
                let found = theirs[at..].find(&leaf);
                assert!(
                    found.is_some(),
                    "{subject}: {leaf} not in Dovecot's {theirs} after {at}"
                );
                at += found.unwrap() + leaf.len();
                checked += 1;
            }
        }
    }
    assert!(checked >= 6, "only {checked} leaves compared");
}

fn without_forwarded(mut d: Dump) -> Dump {
    for msgs in d.values_mut() {
        for m in msgs {
            m.1.retain(|f| f != "$Forwarded");
        }
    }
    d
}

/// Whether Dovecot can be run here: installed, with python3, as root (to hand it a Maildir).
/// CI installs Dovecot and runs as root (.ci/run): there the tests must run, not skip.
fn can_run_dovecot() -> bool {
    let must_run = std::env::var_os("CI").is_some();
    if !have("dovecot") || !have("python3") {
        assert!(
            !must_run,
            "dovecot or python3 missing under CI: .ci/run must install them"
        );
        eprintln!("SKIPPED: dovecot or python3 not installed (apt-get install -y dovecot-imapd)");
        return false;
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    if uid != "0" {
        assert!(
            !must_run,
            "CI runs as root; the Dovecot test cannot run otherwise"
        );
        eprintln!("SKIPPED: needs root to hand the Maildir to the dovecot user");
        return false;
    }
    true
}

/// Gives the mail folder to the `dovecot` user, whom the server runs as.
fn hand_to_dovecot(mail_root: &Path) {
    let status = Command::new("chown")
        .args(["-R", "dovecot:dovecot"])
        .arg(mail_root)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Python: a Maildir made by Dovecot alone: a subscribed folder, three messages of which the
/// second is expunged; prints UIDVALIDITY, UIDNEXT and the UIDs.
const DOVECOT_FIRST: &str = r"
import imaplib, json, re, sys, time
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login('alice', 'secret')
assert M.create('Work')[0] == 'OK'
assert M.subscribe('Work')[0] == 'OK'
for i in range(3):
    assert M.append('INBOX', None, imaplib.Time2Internaldate(time.time()), ('Subject: d%d\r\n\r\nbody\r\n' % i).encode())[0] == 'OK'
M.select('INBOX')
assert M.uid('STORE', '2', '+FLAGS', r'(\Deleted)')[0] == 'OK'
assert M.expunge()[0] == 'OK'
M.close()
typ, d = M.status('INBOX', '(UIDVALIDITY UIDNEXT)')
s = d[0].decode()
typ, u = M.select('INBOX', readonly=True)
typ, u = M.uid('SEARCH', None, 'ALL')
print(json.dumps({'uidvalidity': int(re.search(r'UIDVALIDITY (\d+)', s).group(1)),
                  'uidnext': int(re.search(r'UIDNEXT (\d+)', s).group(1)),
                  'uids': [int(x) for x in u[0].split()]}))
M.logout()
";

/// What [`DOVECOT_FIRST`] prints.
#[derive(serde::Deserialize)]
struct Theirs {
    uidvalidity: u32,
    uidnext: u32,
    uids: Vec<u32>,
}

/// A Maildir Dovecot made, opened here: its UIDVALIDITY, UIDs and UIDNEXT are kept (read
/// from `dovecot-uidlist`; so are POP3 UIDLs, made of them as Dovecot makes its own), and
/// so are its subscriptions.
#[test]
fn a_maildir_from_dovecot_keeps_its_uids_and_subscriptions() {
    if !can_run_dovecot() {
        return;
    }
    let tmp = TempDir::new("dovecot-first");
    let mail_root = tmp.path().join("mail");
    fs::create_dir_all(&mail_root).unwrap();
    hand_to_dovecot(&mail_root);
    let theirs: Theirs = {
        let dovecot = Dovecot::start(tmp.path(), &mail_root);
        serde_json::from_str(&python(DOVECOT_FIRST, dovecot.port)).unwrap()
    };
    assert_eq!(theirs.uids, [1, 3]);
    let store = maildir_store(&mail_root);
    let alice = AccountName::try_from("alice").unwrap();
    let s = Session::new(alice);
    let status = block_on(store.status(&s, "INBOX")).unwrap();
    assert_eq!(status.uidvalidity.get(), theirs.uidvalidity);
    assert_eq!(status.uidnext.get(), theirs.uidnext);
    let uids: Vec<u32> = block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::default()))
        .unwrap()
        .iter()
        .map(|m| m.uid.get())
        .collect();
    assert_eq!(uids, theirs.uids);
    let subscribed: Vec<String> =
        block_on(store.list(&s, "*", sansmail_store::ListScope::Subscribed))
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
    assert_eq!(subscribed, ["Work"]);
    // What arrives now comes after what Dovecot gave out.
    let mut up = store.upload();
    up.write(&message("after")).unwrap();
    block_on(store.append(&s, "INBOX", vec![AppendItem::new(up)])).unwrap();
    let last = block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::default()))
        .unwrap()
        .last()
        .map(|m| m.uid.get());
    assert_eq!(last, Some(theirs.uidnext));
}

#[test]
fn dovecot_reads_our_maildir_and_we_read_dovecots() {
    if !can_run_dovecot() {
        return;
    }
    let tmp = TempDir::new("dovecot");
    let mail_root = tmp.path().join("mail");
    let alice = AccountName::try_from("alice").unwrap();
    let s = Session::new(alice.clone());
    let fwd = Keyword::try_from("$Forwarded").unwrap();
    let expected_before = {
        let store = maildir_store(&mail_root);
        block_on(store.create_account(&alice)).unwrap();
        block_on(store.create_mailbox(&s, "Work.Ärger", Some(SpecialUse::Archive))).unwrap();
        let items = [
            ("plain", Flags::new()),
            ("seen", Flags::new().with(Flag::Seen)),
            (
                "answered-flagged",
                Flags::new()
                    .with(Flag::Answered)
                    .with(Flag::Flagged)
                    .with_keyword(fwd.clone()),
            ),
            (
                "deleted-draft",
                Flags::new().with(Flag::Deleted).with(Flag::Draft),
            ),
        ];
        for (subject, flags) in items {
            let mut up = store.upload();
            up.write(&message(subject)).unwrap();
            block_on(store.append(
                &s,
                "INBOX",
                vec![AppendItem {
                    data: up,
                    flags,
                    internal_date: None,
                }],
            ))
            .unwrap();
        }
        let multipart = b"From: a@example.org\r\nSubject: multipart\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nfirst line\r\nsecond line\r\n\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: b@example.org\r\n\r\ninner body\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--XX--\r\n";
        let mut up = store.upload();
        up.write(multipart).unwrap();
        block_on(store.append(&s, "INBOX", vec![AppendItem::new(up)])).unwrap();
        let mut up = store.upload();
        up.write(&message("in-folder")).unwrap();
        block_on(store.append(
            &s,
            "Work.Ärger",
            vec![AppendItem {
                data: up,
                flags: Flags::new().with(Flag::Seen),
                internal_date: None,
            }],
        ))
        .unwrap();
        let mut up = store.upload();
        up.write(&message("delivered")).unwrap();
        assert!(block_on(store.deliver(up, &[Recipient::inbox(alice.clone())]))[0].is_ok());
        ours(&store, &s)
    };
    hand_to_dovecot(&mail_root);

    // Dovecot sees our messages and flags.
    let dump: Dump = {
        let dovecot = Dovecot::start(tmp.path(), &mail_root);
        let (raw, bodystructures) = parse_dump(&python(DUMP, dovecot.port));
        drop(dovecot);
        check_bodystructures(&mail_root, &bodystructures);
        // Dovecot names folders in modified UTF-7 on the wire.
        raw.into_iter()
            .map(|(k, v)| (k.replace("&AMQ-", "Ä"), v))
            .collect()
    };
    // "Work" exists as a parent folder. Dovecot 2.3 shows no IMAP flag for the Maildir `P`
    // letter that we write for $Forwarded, so that keyword is left out of the comparison.
    let mut expected = without_forwarded(expected_before.clone());
    expected.entry("Work".into()).or_default();
    assert_eq!(dump, expected, "Dovecot's view of our Maildir");

    // Dovecot changes things; then we open what it wrote.
    {
        let dovecot = Dovecot::start(tmp.path(), &mail_root);
        assert_eq!(python(CHANGE, dovecot.port).trim(), "ok");
        let (after, bodystructures) = parse_dump(&python(DUMP, dovecot.port));
        drop(dovecot);
        // Dovecot stored its messages with LF line ends; we serve CRLF and count as it does.
        check_bodystructures(&mail_root, &bodystructures);
        let after: Dump = after
            .into_iter()
            .map(|(k, v)| (k.replace("&AMQ-", "Ä"), v))
            .collect();
        let store = maildir_store(&mail_root);
        let s = Session::new(alice.clone());
        let mine = ours(&store, &s);
        assert_eq!(
            without_forwarded(mine.clone()),
            after,
            "our view of Dovecot's Maildir"
        );
        let kept = mine["INBOX"]
            .iter()
            .find(|m| m.0 == "answered-flagged")
            .unwrap();
        assert!(
            kept.1.contains(&"$Forwarded".to_owned()),
            "P survives Dovecot's renames"
        );
        // The messages we had keep their UIDs (our index survived Dovecot's changes).
        let inbox = block_on(store.fetch(
            &s,
            "INBOX",
            &UidSet::all(),
            FetchQuery {
                envelope: true,
                ..FetchQuery::default()
            },
        ))
        .unwrap();
        assert_eq!(inbox[0].uid.get(), 1);
        assert_eq!(
            inbox[0].envelope.as_ref().unwrap().subject.as_deref(),
            Some("plain")
        );
        assert!(inbox[0].flags.has_keyword("$Label2"));
        let dove = &mine["Dove"];
        assert_eq!(dove.len(), 3);
        assert_eq!(
            dove[1].1,
            vec!["$Label1".to_owned(), "\\Flagged".to_owned()]
        );
        assert!(mine["INBOX"].iter().all(|m| m.0 != "deleted-draft"));
        assert!(mine["INBOX"].iter().any(|m| m.0 == "dove-inbox"));
    }
}
