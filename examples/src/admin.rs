//! `mailctl admin`: the accounts listed with what their mail takes, and the running server
//! told to reload (`SIGHUP` to the process in its `pid-file`). The users file itself is
//! edited with [`sansmail_server::passwd_file::UsersFile`].

use std::path::Path;

use sansmail_store::{AccountName, MailStore, Session};

use crate::{config::Settings, server};

/// An account's size in its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Octets of its messages.
    pub octets: u64,
    /// Its messages.
    pub messages: u64,
}

/// What `name`'s mail takes: in PostgreSQL the store's own count; in a Maildir the files
/// of its folders (read without the store, so while the server runs and holds it).
pub async fn usage(settings: &Settings, name: &str) -> Result<Option<Usage>, String> {
    match settings.store.as_deref() {
        Some(url) if server::is_postgres_url(url) => {
            let store = server::open_location(url)
                .await
                .map_err(|e| e.to_string())?;
            let account = AccountName::try_from(name).map_err(|e| e.to_string())?;
            if !store
                .account_exists(&account)
                .await
                .map_err(|e| e.to_string())?
            {
                return Ok(None);
            }
            let q = store
                .quota(&Session::new(account))
                .await
                .map_err(|e| e.to_string())?;
            Ok(Some(Usage {
                octets: q.used_bytes,
                messages: q.used_messages,
            }))
        }
        _ => {
            let root = settings.data_dir.join(name.to_lowercase()).join("Maildir");
            if !root.is_dir() {
                return Ok(None);
            }
            let mut usage = Usage {
                octets: 0,
                messages: 0,
            };
            maildir_usage(&root, &mut usage).map_err(|e| format!("{}: {e}", root.display()))?;
            Ok(Some(usage))
        }
    }
}

/// Adds the messages of a Maildir++ tree: `cur/` and `new/` of the top folder and of each
/// `.Child` folder.
fn maildir_usage(root: &Path, usage: &mut Usage) -> std::io::Result<()> {
    let mut folders = vec![root.to_owned()];
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') && entry.file_type()?.is_dir() {
            folders.push(entry.path());
        }
    }
    for folder in folders {
        for sub in ["cur", "new"] {
            let Ok(files) = std::fs::read_dir(folder.join(sub)) else {
                continue;
            };
            for file in files {
                let meta = file?.metadata()?;
                if meta.is_file() {
                    usage.octets += meta.len();
                    usage.messages += 1;
                }
            }
        }
    }
    Ok(())
}

/// Sends `SIGHUP` to the server whose process id is in `pid_file`; the id.
pub fn signal_reload(pid_file: &Path) -> Result<i32, String> {
    let shown = pid_file.display();
    let text = std::fs::read_to_string(pid_file).map_err(|e| format!("{shown}: {e}"))?;
    let pid: i32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{shown}: not a process id: {:?}", text.trim()))?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .map_err(|e| format!("signalling process {pid} ({shown}): {e}"))?;
    Ok(pid)
}

/// `1.5 MiB`-style sizes for the listing.
pub fn human(octets: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    // Precision past 2^52 octets does not show in one decimal.
    #[allow(clippy::cast_precision_loss)]
    let mut value = octets as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{octets} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sizes_read_as_people_do() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(3 << 30), "3.0 GiB");
    }
}
