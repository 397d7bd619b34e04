//! `mailload --stress` against our mail server, started in-process, for a few seconds: ten
//! clients on two shared mailboxes doing random APPEND/STORE/EXPUNGE/COPY/MOVE/FETCH/IDLE,
//! each checking what it is told (MODSEQ never going down, keywords announced, EXISTS and
//! EXPUNGE adding up, UIDs increasing, no flag change lost, \Recent in one session). The
//! long runs are by hand: `bash benches/load.sh --stress 50 60`.

use std::{collections::HashMap, process::Command};

use examples::server::{self, Options};
use sansmail_server::passwd_file::Directory;

#[test]
fn ten_clients_see_no_violation() {
    let dir = std::env::temp_dir().join(format!("mailload-stress-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let directory = Directory {
        domains: vec!["example.org".into()],
        users: HashMap::from([("alice".into(), "secret".into())]),
        postmaster: "alice".into(),
        senders: HashMap::new(),
    };
    let mut options = Options::new(dir.clone(), "stress.example.org", directory);
    options.imap = Some("127.0.0.1:0".parse().unwrap());
    options.limits.per_ip = 64;
    let running = runtime.block_on(server::start(options)).unwrap();
    let imap = running.imap.unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_mailload"))
        .args(["--stress", "--label", "ours", "--imap", &imap])
        .args([
            "--clients",
            "10",
            "--seconds",
            "4",
            "--user",
            "alice:secret",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ours: 0 violations with 10 clients"),
        "{stdout}"
    );
    // The clients did work: writes of each kind, answered without errors.
    for kind in ["APPEND", "STORE", "EXPUNGE", "MOVE", "COPY", "FETCH"] {
        assert!(
            stdout.contains(&format!("| ours | IMAP stress | {kind} | 10 |")),
            "{kind}: {stdout}"
        );
    }
    assert!(stderr.contains(" 0 errors"), "{stderr}");
}
