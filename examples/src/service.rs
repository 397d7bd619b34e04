//! Running as a system service on the real ports: the listeners' sockets come from systemd
//! (socket activation) or are bound while the process is still root, and then the process
//! becomes an unprivileged user (`run-as`) before the tokio runtime starts any thread.
//!
//! Socket activation follows sd_listen_fds(3): `LISTEN_FDS` sockets from descriptor 3 on,
//! for this process if `LISTEN_PID` says so, named by `LISTEN_FDNAMES`. A socket named after
//! a listener (`FileDescriptorName=imap`) serves it; one with another name (one `.socket`
//! unit for all ports names them all alike) serves the listener configured at its address.

use std::{
    io,
    net::{SocketAddr, TcpListener},
    path::Path,
};

use nix::unistd::{Gid, Group, Uid, User};

/// Every listener, by the name used in the configuration, the logs and `LISTEN_FDNAMES`.
pub const LISTENERS: [&str; 9] = [
    "smtp",
    "submission",
    "smtps",
    "lmtp",
    "imap",
    "imaps",
    "pop3",
    "pop3s",
    "metrics",
];

/// A listener's name and configured address (`None`: off).
pub type Configured = (&'static str, Option<SocketAddr>);

/// The sockets systemd handed over, each with the listener it serves; none when the process
/// was not socket-activated. A socket that fits no listener is an error naming it.
pub fn activated_sockets(configured: &[Configured]) -> io::Result<Vec<(String, TcpListener)>> {
    let mut fds = listenfd::ListenFd::from_env();
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    let names: Vec<&str> = names.split(':').collect();
    let mut out: Vec<(String, TcpListener)> = Vec::new();
    for i in 0..fds.len() {
        let socket = fds
            .take_tcp_listener(i)
            .map_err(|e| io::Error::new(e.kind(), format!("socket-activated fd {}: {e}", i + 3)))?
            .ok_or_else(|| io::Error::other(format!("socket-activated fd {} is gone", i + 3)))?;
        let local = socket.local_addr()?;
        let named = names
            .get(i)
            .and_then(|n| LISTENERS.iter().find(|l| **l == *n));
        let by_address = || {
            configured
                .iter()
                .find(|(_, addr)| *addr == Some(local))
                .map(|(name, _)| name)
        };
        let Some(listener) = named.or_else(by_address) else {
            return Err(io::Error::other(format!(
                "socket-activated fd {} ({local}, named {:?}) is no listener's: name it after \
                 one (FileDescriptorName=imap) or configure a listener at {local}",
                i + 3,
                names.get(i).copied().unwrap_or_default()
            )));
        };
        if out.iter().any(|(n, _)| n == listener) {
            return Err(io::Error::other(format!(
                "two socket-activated sockets for {listener}"
            )));
        }
        out.push(((*listener).to_owned(), socket));
    }
    Ok(out)
}

/// Binds every configured listener that has no socket in `sockets` yet (while the process
/// may still bind the privileged ports), adding it there.
pub fn bind_remaining(
    configured: &[Configured],
    sockets: &mut Vec<(String, TcpListener)>,
) -> io::Result<()> {
    for (name, addr) in configured {
        let Some(addr) = addr else { continue };
        if sockets.iter().any(|(n, _)| n == name) {
            continue;
        }
        let socket = TcpListener::bind(addr).map_err(|e| {
            io::Error::new(e.kind(), format!("{name} cannot listen on {addr}: {e}"))
        })?;
        sockets.push(((*name).to_owned(), socket));
    }
    Ok(())
}

/// Who the process became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// The user's name.
    pub user: String,
    /// Its id.
    pub uid: Uid,
    /// The group's id.
    pub gid: Gid,
}

impl RunAs {
    /// Looks `user` and `group` (else the user's own group) up, before anything is bound.
    pub fn lookup(user: &str, group: Option<&str>) -> io::Result<Self> {
        let account = User::from_name(user)
            .map_err(os(format!("run-as: looking up user {user}")))?
            .ok_or_else(|| io::Error::other(format!("run-as: no user {user}")))?;
        let gid = match group {
            Some(g) => {
                Group::from_name(g)
                    .map_err(os(format!("run-as-group: looking up group {g}")))?
                    .ok_or_else(|| io::Error::other(format!("run-as-group: no group {g}")))?
                    .gid
            }
            None => account.gid,
        };
        Ok(Self {
            user: account.name,
            uid: account.uid,
            gid,
        })
    }

    /// Becomes this user for good: the supplementary groups replaced by its group alone,
    /// then the group id, then the user id (real, effective and saved), and a check that
    /// root cannot be had back. `data_dir` is created for the user if it does not exist
    /// yet. Call it before any thread starts: the change then holds for every thread the
    /// process makes afterwards.
    ///
    /// Already that user (started by systemd with `User=`): nothing to do.
    pub fn drop_privileges(&self, data_dir: &Path) -> io::Result<()> {
        if Uid::effective() == self.uid && Gid::effective() == self.gid {
            return Ok(());
        }
        if !Uid::effective().is_root() {
            return Err(io::Error::other(format!(
                "run-as {}: only root can change its user (running as uid {})",
                self.user,
                Uid::effective()
            )));
        }
        if !data_dir.exists() {
            std::fs::create_dir_all(data_dir)?;
            nix::unistd::chown(data_dir, Some(self.uid), Some(self.gid))
                .map_err(os(format!("chown {}", data_dir.display())))?;
        }
        nix::unistd::setgroups(&[self.gid]).map_err(os("run-as: setgroups".to_owned()))?;
        nix::unistd::setgid(self.gid).map_err(os("run-as: setgid".to_owned()))?;
        nix::unistd::setuid(self.uid).map_err(os("run-as: setuid".to_owned()))?;
        if nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
            return Err(io::Error::other(
                "run-as: root could be had back after setuid",
            ));
        }
        Ok(())
    }
}

/// The most open files asked for, whatever the hard limit allows.
const MAX_OPEN_FILES: u64 = 1 << 20;

/// Raises the soft limit on open files to the hard one (at most 2^20) and
/// returns the limit now in force. The Maildir store keeps each loaded account's lock file
/// and each loaded mailbox's journal open, and every connection is one more descriptor: the
/// soft limit of 1,024 that a login shell gives runs out at about two hundred users with a
/// few folders each, and then every new connection and message file fails.
pub fn raise_open_file_limit() -> io::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) =
        getrlimit(Resource::RLIMIT_NOFILE).map_err(os("getrlimit(RLIMIT_NOFILE)".to_owned()))?;
    let want = hard.min(MAX_OPEN_FILES);
    if want <= soft {
        return Ok(soft);
    }
    setrlimit(Resource::RLIMIT_NOFILE, want, hard)
        .map_err(os("setrlimit(RLIMIT_NOFILE)".to_owned()))?;
    Ok(want)
}

/// An OS error with what was being done.
fn os(what: String) -> impl FnOnce(nix::Error) -> io::Error {
    move |e| io::Error::other(format!("{what}: {e}"))
}
