//! The outbound queue: messages accepted for recipients elsewhere, kept durably until each
//! recipient is delivered, bounced or expired.
//!
//! [`QueueStore`] is the storage interface (blocking calls: run them on a blocking pool);
//! [`DiskQueue`] is the embedded default, a directory of two files per message:
//!
//! - `<id>.eml`: the message as it will be sent (the `Received:` field this server added,
//!   then the client's octets, CRLF line ends), written once and never changed;
//! - `<id>.json`: the [`QueueEntry`] (envelope, DSN parameters, each recipient's state,
//!   attempts, when to try next), replaced atomically at each change.
//!
//! Committing writes the message, fsyncs it, then the entry (temporary file, fsync, rename,
//! fsync of the directory): the entry's rename is the moment the message is queued. After a
//! crash, a message file without its entry is removed at [`DiskQueue::open`] (its client got
//! no `250`), temporary files too. A delivery outcome is written (fsynced) as soon as the
//! peer answered, so a restart does not send again what was acknowledged, except in SMTP's
//! own window between the peer's `250` and that write (RFC 1047).

use std::{
    fs::{self, File},
    io::{self, Read, Write},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use sansmail_store::Upload;
use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch (the queue's clock, as stored).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How the message body is encoded, from `MAIL FROM`'s `BODY=` (RFC 6152, RFC 3030): what a
/// next hop must offer to take it unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BodyType {
    /// 7-bit (no `BODY=`, or `BODY=7BIT`): any peer takes it.
    #[default]
    SevenBit,
    /// `BODY=8BITMIME`: the peer must offer 8BITMIME.
    EightBit,
    /// `BODY=BINARYMIME`: the peer must offer BINARYMIME and CHUNKING.
    Binary,
}

/// `RET=` (RFC 3461 §4.3): what a DSN returns of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Return {
    /// `RET=FULL`: the whole message.
    Full,
    /// `RET=HDRS`: its header only.
    Headers,
}

/// `NOTIFY=` (RFC 3461 §4.1) of one recipient. Without the parameter a DSN is sent on failure
/// and may be sent on delay (§4.1: "as if NOTIFY=FAILURE,DELAY").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notify {
    /// `SUCCESS`: a DSN when delivered (or relayed to a peer without DSN).
    pub success: bool,
    /// `FAILURE`: a DSN when it fails.
    pub failure: bool,
    /// `DELAY`: a DSN when it is delayed.
    pub delay: bool,
}

impl Default for Notify {
    /// No `NOTIFY=`: failure and delay.
    fn default() -> Self {
        Self {
            success: false,
            failure: true,
            delay: true,
        }
    }
}

impl Notify {
    /// `NOTIFY=NEVER`.
    pub const NEVER: Self = Self {
        success: false,
        failure: false,
        delay: false,
    };
}

/// Where one recipient stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum RecipientState {
    /// Not delivered yet: tried again at the entry's `next_attempt`.
    Pending,
    /// The next hop took it (`2xx`), or it was delivered here.
    Delivered,
    /// Refused for good (`5xx`), or given up after the queue lifetime: a DSN was due.
    Failed,
}

/// One recipient of a queued message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedRecipient {
    /// The address (`user@domain`, as given in `RCPT TO`, without the angle brackets).
    pub address: String,
    /// `NOTIFY=`, or `None` when the client gave none.
    #[serde(default)]
    pub notify: Option<Notify>,
    /// `ORCPT=` as received: `addr-type;xtext` (RFC 3461 §4.2), passed on and reported.
    #[serde(default)]
    pub orcpt: Option<String>,
    /// Delivered, failed or still pending.
    #[serde(flatten)]
    pub state: RecipientState,
    /// The last reply (or the reason it failed: a connection error, no MX), for the DSN's
    /// `Diagnostic-Code` and the operator.
    #[serde(default)]
    pub last_reply: Option<String>,
    /// The host that gave it (`Remote-MTA`).
    #[serde(default)]
    pub remote_mta: Option<String>,
    /// The RFC 3463 status of the outcome (`2.0.0`, `5.1.1`, `4.4.1`).
    #[serde(default)]
    pub status: Option<String>,
    /// A DSN (success or failure) about this recipient was queued already.
    #[serde(default)]
    pub reported: bool,
}

impl QueuedRecipient {
    /// A pending recipient without DSN parameters.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            notify: None,
            orcpt: None,
            state: RecipientState::Pending,
            last_reply: None,
            remote_mta: None,
            status: None,
            reported: false,
        }
    }

    /// The domain part of the address, lower-cased (`""` for an address without one).
    pub fn domain(&self) -> String {
        self.address
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// `NOTIFY=` as it applies (the default when the client gave none).
    pub fn notify(&self) -> Notify {
        self.notify.unwrap_or_default()
    }
}

/// A queued message: its envelope and where each recipient stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// The queue id (letters and digits), also the file names' stem.
    pub id: String,
    /// The envelope sender without angle brackets; empty for the null sender `<>`.
    pub sender: String,
    /// `ENVID=` as received (xtext), passed on and reported in a DSN.
    #[serde(default)]
    pub envid: Option<String>,
    /// `RET=`.
    #[serde(default)]
    pub ret: Option<Return>,
    /// `BODY=`.
    #[serde(default)]
    pub body: BodyType,
    /// `SMTPUTF8` was given: the next hop must offer SMTPUTF8.
    #[serde(default)]
    pub smtputf8: bool,
    /// The message's size in octets.
    pub size: u64,
    /// When it was queued (Unix seconds): the queue lifetime and delay warnings count from it.
    pub queued_at: u64,
    /// Who handed it over (for a DSN's `Received-From-MTA`): the client's HELO name and
    /// address, `dns; host ([ip])` style.
    #[serde(default)]
    pub received_from: Option<String>,
    /// The recipients, in `RCPT` order.
    pub recipients: Vec<QueuedRecipient>,
    /// Delivery attempts made so far.
    #[serde(default)]
    pub attempts: u32,
    /// When to try the pending recipients next (Unix seconds).
    pub next_attempt: u64,
    /// The last attempt (Unix seconds), if any.
    #[serde(default)]
    pub last_attempt: Option<u64>,
    /// A delay DSN was queued already (one per message).
    #[serde(default)]
    pub delay_reported: bool,
}

impl QueueEntry {
    /// A new entry from `sender` to `recipients`, due at once; [`QueueStore::commit`] gives
    /// it its id.
    pub fn new(sender: impl Into<String>, recipients: Vec<QueuedRecipient>) -> Self {
        let now = unix_now();
        Self {
            id: String::new(),
            sender: sender.into(),
            envid: None,
            ret: None,
            body: BodyType::SevenBit,
            smtputf8: false,
            size: 0,
            queued_at: now,
            received_from: None,
            recipients,
            attempts: 0,
            next_attempt: now,
            last_attempt: None,
            delay_reported: false,
        }
    }

    /// Recipients still to deliver.
    pub fn pending(&self) -> impl Iterator<Item = &QueuedRecipient> {
        self.recipients
            .iter()
            .filter(|r| r.state == RecipientState::Pending)
    }

    /// Whether every recipient is delivered or failed, and reported: the entry can go. A
    /// DSN that could not be queued (a full disk) keeps its entry for the next try.
    pub fn is_done(&self) -> bool {
        self.recipients
            .iter()
            .all(|r| r.state != RecipientState::Pending && r.reported)
    }
}

/// A valid queue id: 1 to 64 ASCII letters and digits (so it is safe as a file name).
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn invalid_id(id: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a queue id: {id:?}"),
    )
}

/// Where queued messages are kept. The calls block (file or database I/O): call them from a
/// blocking pool (`tokio::task::spawn_blocking`). Every call that returns `Ok` is durable.
pub trait QueueStore: Send + Sync + 'static {
    /// A spool for the next message's octets, written as they arrive (the same type the
    /// mail store takes, so one message can go to both). Nothing is queued until
    /// [`QueueStore::commit`].
    fn spool(&self) -> Upload;

    /// Queues `message` with `entry`, giving the entry its id (returned). Durable when `Ok`:
    /// only then may the client be told `250`.
    fn commit(&self, message: Upload, entry: &mut QueueEntry) -> io::Result<String>;

    /// Every queued entry, in no particular order. An entry that cannot be read is logged and
    /// skipped.
    fn entries(&self) -> io::Result<Vec<QueueEntry>>;

    /// One entry, or `None` if there is none with that id.
    fn entry(&self, id: &str) -> io::Result<Option<QueueEntry>>;

    /// The message octets of an entry.
    fn message(&self, id: &str) -> io::Result<Vec<u8>>;

    /// Replaces an entry's state (after an attempt); durable when `Ok`.
    fn update(&self, entry: &QueueEntry) -> io::Result<()>;

    /// Removes an entry and its message; durable when `Ok`. Removing one that is gone is `Ok`.
    fn remove(&self, id: &str) -> io::Result<()>;
}

/// The embedded queue: a directory of `<id>.eml` and `<id>.json` files (see the module
/// documentation), with `tmp/` for messages being received.
#[derive(Debug)]
pub struct DiskQueue {
    dir: PathBuf,
    tmp: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new id: time, a counter and the process id, in hex (unique on this host).
fn new_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xFFFF;
    format!(
        "{:x}{:05x}{n:04x}{:x}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id()
    )
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl DiskQueue {
    /// Opens (creating it) the queue in `dir`, removing what a crash left half-done: files in
    /// `tmp/`, and messages whose entry was never written.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        let tmp = dir.join("tmp");
        fs::create_dir_all(&tmp)?;
        for e in fs::read_dir(&tmp)? {
            let e = e?;
            if e.file_type()?.is_file() {
                fs::remove_file(e.path())?;
            }
        }
        let mut removed = false;
        for e in fs::read_dir(&dir)? {
            let path = e?.path();
            let (Some(stem), Some(ext)) = (
                path.file_stem().and_then(|s| s.to_str()),
                path.extension().and_then(|s| s.to_str()),
            ) else {
                continue;
            };
            let orphan = match ext {
                "eml" => !dir.join(format!("{stem}.json")).exists(),
                "tmp" => true,
                _ => false,
            };
            if orphan {
                tracing::info!(
                    id = stem,
                    "queue: removing a message whose entry was never written"
                );
                fs::remove_file(&path)?;
                removed = true;
            }
        }
        if removed {
            sync_dir(&dir)?;
        }
        Ok(Self { dir, tmp })
    }

    /// The queue in `dir` as it is, for a tool beside a running server (`mailctl queue`):
    /// nothing is removed, since what looks half-done may be the server writing it now.
    pub fn attach(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        let tmp = dir.join("tmp");
        if !tmp.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no queue here", dir.display()),
            ));
        }
        Ok(Self { dir, tmp })
    }

    /// The queue's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str, ext: &str) -> io::Result<PathBuf> {
        if !valid_id(id) {
            return Err(invalid_id(id));
        }
        Ok(self.dir.join(format!("{id}.{ext}")))
    }

    /// Writes `entry` to `<id>.json` atomically and durably.
    fn write_entry(&self, entry: &QueueEntry) -> io::Result<()> {
        let path = self.path(&entry.id, "json")?;
        // Per process: `mailctl` may rewrite an entry while the server does.
        let tmp = self.path(&entry.id, &format!("{}.tmp", std::process::id()))?;
        let json = serde_json::to_vec_pretty(entry).map_err(io::Error::other)?;
        let res = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &path)?;
            sync_dir(&self.dir)
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res
    }

    fn read_entry(path: &Path) -> io::Result<QueueEntry> {
        let bytes = fs::read(path)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }
}

impl QueueStore for DiskQueue {
    fn spool(&self) -> Upload {
        Upload::spilling_to(&self.tmp)
    }

    fn commit(&self, mut message: Upload, entry: &mut QueueEntry) -> io::Result<String> {
        let id = new_id();
        let eml = self.path(&id, "eml")?;
        entry.id.clone_from(&id);
        entry.size = message.len();
        let res = (|| {
            match message.finish_file()? {
                // Spilled into tmp/ (same file system): fsynced, moved into place.
                Some(spooled) => fs::rename(spooled, &eml)?,
                None => {
                    let mut f = File::options().write(true).create_new(true).open(&eml)?;
                    f.write_all(&message.bytes()?)?;
                    f.sync_all()?;
                }
            }
            self.write_entry(entry)
        })();
        if let Err(e) = res {
            let _ = fs::remove_file(&eml);
            return Err(e);
        }
        Ok(id)
    }

    fn entries(&self) -> io::Result<Vec<QueueEntry>> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir)? {
            let path = e?.path();
            if path.extension().and_then(|s| s.to_str()) != Some("json") {
                continue;
            }
            match Self::read_entry(&path) {
                Ok(entry) => out.push(entry),
                // Removed meanwhile (delivered): not an error.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::error!("queue: cannot read {}: {e}", path.display()),
            }
        }
        Ok(out)
    }

    fn entry(&self, id: &str) -> io::Result<Option<QueueEntry>> {
        match Self::read_entry(&self.path(id, "json")?) {
            Ok(e) => Ok(Some(e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn message(&self, id: &str) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        File::open(self.path(id, "eml")?)?.read_to_end(&mut v)?;
        Ok(v)
    }

    fn update(&self, entry: &QueueEntry) -> io::Result<()> {
        // An entry removed meanwhile (`mailctl queue delete`) is not brought back.
        if !self.path(&entry.id, "eml")?.exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("queue entry {} was removed", entry.id),
            ));
        }
        self.write_entry(entry)
    }

    fn remove(&self, id: &str) -> io::Result<()> {
        // The entry first: without it the message file is an orphan `open` removes.
        match fs::remove_file(self.path(id, "json")?) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        match fs::remove_file(self.path(id, "eml")?) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        sync_dir(&self.dir)
    }
}

#[cfg(test)]
mod tests {

    /// An entry stays until every recipient is settled and reported: a DSN that could not
    /// be queued is tried again, not lost with the entry.
    #[test]
    fn an_entry_is_done_once_everything_is_reported() {
        let mut e = QueueEntry::new(
            "alice@example.org",
            vec![QueuedRecipient::new("b@x.example")],
        );
        assert!(!e.is_done());
        e.recipients[0].state = RecipientState::Failed;
        assert!(!e.is_done(), "its DSN is not queued yet");
        e.recipients[0].reported = true;
        assert!(e.is_done());
    }
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("queue-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn entry() -> QueueEntry {
        let mut r = QueuedRecipient::new("bob@example.net");
        r.notify = Some(Notify {
            success: true,
            failure: true,
            delay: false,
        });
        r.orcpt = Some("rfc822;bob@example.net".into());
        let mut e = QueueEntry::new("alice@example.org", vec![r]);
        e.envid = Some("QQ314159".into());
        e.ret = Some(Return::Headers);
        e.body = BodyType::EightBit;
        e
    }

    #[test]
    fn commit_survives_reopen_and_orphans_go() {
        let dir = temp_dir("commit");
        let q = DiskQueue::open(&dir).unwrap();
        let mut small = q.spool();
        small.write(b"Subject: small\r\n\r\nhi\r\n").unwrap();
        let mut e1 = entry();
        let id1 = q.commit(small, &mut e1).unwrap();
        let mut big = q.spool();
        let body = vec![b'x'; 300_000];
        big.write(&body).unwrap();
        let mut e2 = entry();
        let id2 = q.commit(big, &mut e2).unwrap();
        assert_ne!(id1, id2);
        assert!(valid_id(&id1) && valid_id(&id2));
        assert_eq!(e1.size, 22);
        // A crash after the message but before its entry, and one mid-receive.
        fs::write(dir.join("deadbeef.eml"), b"half").unwrap();
        fs::write(dir.join("tmp").join("spooling"), b"half").unwrap();
        drop(q);

        // A tool beside the server sees the queue and removes nothing: to it, those may be
        // what the server is writing now.
        let beside = DiskQueue::attach(&dir).unwrap();
        assert_eq!(beside.entries().unwrap().len(), 2);
        assert!(dir.join("deadbeef.eml").exists());
        assert!(dir.join("tmp").join("spooling").exists());
        assert!(DiskQueue::attach(dir.join("nowhere")).is_err());

        let q = DiskQueue::open(&dir).unwrap();
        assert!(!dir.join("deadbeef.eml").exists());
        assert_eq!(fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
        let mut ids: Vec<String> = q.entries().unwrap().into_iter().map(|e| e.id).collect();
        ids.sort();
        let mut want = vec![id1.clone(), id2.clone()];
        want.sort();
        assert_eq!(ids, want);
        assert_eq!(q.entry(&id1).unwrap().unwrap(), e1);
        assert_eq!(q.message(&id1).unwrap(), b"Subject: small\r\n\r\nhi\r\n");
        assert_eq!(q.message(&id2).unwrap(), body);

        let mut changed = e1.clone();
        changed.recipients[0].state = RecipientState::Delivered;
        changed.attempts = 1;
        q.update(&changed).unwrap();
        assert_eq!(q.entry(&id1).unwrap().unwrap(), changed);

        q.remove(&id1).unwrap();
        q.remove(&id1).unwrap();
        assert!(q.entry(&id1).unwrap().is_none());
        assert!(
            q.update(&changed).is_err(),
            "a removed entry is not brought back"
        );
        assert!(q.entry(&id1).unwrap().is_none());
        assert!(q.message("../etc").is_err());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn defaults_follow_rfc_3461() {
        let r = QueuedRecipient::new("x@Example.NET");
        assert_eq!(r.domain(), "example.net");
        assert!(r.notify().failure && r.notify().delay && !r.notify().success);
        let json = r#"{"address":"a@b","state":"pending"}"#;
        let r: QueuedRecipient = serde_json::from_str(json).unwrap();
        assert_eq!(r.state, RecipientState::Pending);
    }
}
