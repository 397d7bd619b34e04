//! Debian's Dovecot as the reference server: IMAP and POP3 on free loopback ports,
//! alice:secret, her Maildir with the given messages. Needs root (to hand the mail folder to
//! the dovecot user), as CI runs; `.ci/run` installs dovecot-imapd and dovecot-pop3d.

use std::{
    fs,
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct Dovecot {
    conf: PathBuf,
    child: Child,
    /// Its IMAP port.
    pub imap: u16,
    /// Its POP3 port.
    pub pop3: u16,
    /// The folder of the users' Maildirs (`<mail_root>/alice/Maildir`).
    pub mail_root: PathBuf,
    /// The test's folder (configuration, log, mail), removed at drop.
    pub dir: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Dovecot {
    /// Dovecot with IMAP and POP3 on loopback, alice:secret, her Maildir under the test's
    /// folder with `messages` in it.
    pub fn start(name: &str, messages: &[&[u8]]) -> Self {
        Self::start_with(name, messages, "")
    }

    /// [`Dovecot::start`], with `extra` appended to the configuration (`mail_plugins =
    /// notify` for NOTIFY).
    pub fn start_with(name: &str, messages: &[&[u8]], extra: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("dovecot-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let mail_root = dir.join("mail");
        let maildir = mail_root.join("alice/Maildir");
        fs::create_dir_all(&mail_root).unwrap();
        for m in messages {
            examples::mailctl::maildir_deliver(&maildir, m).unwrap();
        }
        let status = Command::new("chown")
            .args(["-R", "dovecot:dovecot"])
            .arg(&mail_root)
            .status()
            .unwrap();
        assert!(status.success(), "chown needs root");
        let (imap, pop3) = (free_port(), free_port());
        fs::write(dir.join("passwd"), "alice:{PLAIN}secret\n").unwrap();
        let conf = dir.join("dovecot.conf");
        fs::write(
            &conf,
            format!(
                r"instance_name = test-{pid}-{imap}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 100
mail_location = maildir:{root}/%u/Maildir
mailbox_idle_check_interval = 1 secs
pop3_uidl_format = %08Xu%08Xv
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
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
{extra}
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
            .expect("start dovecot (.ci/run installs dovecot-imapd and dovecot-pop3d)");
        let deadline = Instant::now() + Duration::from_secs(20);
        for port in [imap, pop3] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "dovecot did not listen: {}",
                    fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Self {
            conf,
            child,
            imap,
            pop3,
            mail_root,
            dir,
        }
    }

    /// What Dovecot logged.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
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
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}
