//! The mailserver binary as an operator runs it: started from the example configuration
//! file, reloaded with `SIGHUP` while sessions stay open, logging one line per connection,
//! scraped for metrics, administered with `mailctl admin`, started as root and dropping to
//! an unprivileged user, and handed its sockets by socket activation.

#![allow(clippy::unwrap_used)]

mod deploy_support;

use std::{collections::BTreeMap, os::unix::fs::MetadataExt, path::Path, time::Duration};

use deploy_support::{Imap, Mailserver, Tmp, hash, http_get, wait_for};

/// `cargo run --release -- --config mailserver.toml`, as the README says: the file in the
/// repository, unchanged, from a fresh directory. It listens where the defaults do.
#[test]
fn the_example_configuration_runs_as_it_is() {
    let dir = Tmp::new("example-toml");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mailserver.toml");
    let server = Mailserver::start_in(dir.path(), &["--config", example.to_str().unwrap()]);
    assert_eq!(server.addr("smtp"), Some("127.0.0.1:2525".parse().unwrap()));
    assert_eq!(
        server.addr("imaps"),
        Some("127.0.0.1:2993".parse().unwrap())
    );
    assert_eq!(server.addr("lmtp"), None);
    let password = server.demo_password().expect("a demo account is announced");
    assert!(dir.path().join("mail-data/demo/Maildir").is_dir());
    let mut imap = Imap::connect(server.addr("imap").unwrap());
    imap.ok(&format!("LOGIN demo {password}"));
    imap.ok("SELECT INBOX");
    imap.ok("LOGOUT");
    // The check mode validates without starting anything.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailserver"))
        .args(["--config", example.to_str().unwrap(), "--check-config"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "configuration ok\n");
}

#[test]
fn a_bad_configuration_stops_the_server_naming_file_line_and_key() {
    let dir = Tmp::new("bad-toml");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "hostname = \"mx\"\nimap = \"127.0.0.1\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailserver"))
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:2: key `imap`: expected an address",
            config.display()
        )),
        "{err}"
    );
    std::fs::write(&config, "imap-port = 143\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailserver"))
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":1: key `imap-port`: unknown field `imap-port`"),
        "{err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailserver"))
        .args(["--max-connections", "zero"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--max-connections zero: expected a number"),
        "{err}"
    );
}

/// A password changed in the users file and a `SIGHUP`: the IMAP session logged in with the
/// old password stays open and keeps working; new logins need the new password. A reload
/// that fails (a broken file) keeps the configuration in force.
#[test]
fn sighup_changes_a_password_while_an_imap_session_stays_open() {
    let dir = Tmp::new("reload");
    let users = dir.path().join("users");
    std::fs::write(&users, format!("alice:{}\n", hash("old-password"))).unwrap();
    let config = dir.path().join("mail.toml");
    let write_config = |max: usize| {
        std::fs::write(
            &config,
            format!(
                "data-dir = \"{}\"\nusers = \"{}\"\ndomain = \"example.org\"\n\
                 smtp = \"127.0.0.1:0\"\nsubmission = \"none\"\nsmtps = \"none\"\n\
                 imap = \"127.0.0.1:0\"\nimaps = \"none\"\npop3 = \"127.0.0.1:0\"\n\
                 pop3s = \"none\"\nmax-connections-per-ip = {max}\n",
                dir.path().join("data").display(),
                users.display()
            ),
        )
        .unwrap();
    };
    write_config(32);
    let server = Mailserver::start(&["--config", config.to_str().unwrap()]);
    let imap_addr = server.addr("imap").unwrap();
    let mut open = Imap::connect(imap_addr);
    open.ok("LOGIN alice old-password");
    open.ok("SELECT INBOX");

    std::fs::write(
        &users,
        format!("alice:{}\nbob:{}\n", hash("new-password"), hash("b")),
    )
    .unwrap();
    server.reload_and_wait("reloaded");
    // The open session goes on.
    open.ok("NOOP");
    open.ok("SELECT INBOX");
    // New logins: the new password only, and the new user.
    let mut fresh = Imap::connect(imap_addr);
    fresh.no("LOGIN alice old-password");
    fresh.ok("LOGIN alice new-password");
    Imap::connect(imap_addr).ok("LOGIN bob b");
    assert!(
        dir.path().join("data/bob/Maildir").is_dir(),
        "bob's mailbox made at reload"
    );

    // A broken users file: the reload fails, the old users stay.
    std::fs::write(&users, "alice:not-a-hash\n").unwrap();
    server.reload_and_wait("reload failed");
    assert!(
        server
            .stderr()
            .contains("users:1: user alice: not a password hash")
    );
    Imap::connect(imap_addr).ok("LOGIN alice new-password");
    // Limits: one connection per address now; the open ones stay.
    std::fs::write(&users, format!("alice:{}\n", hash("new-password"))).unwrap();
    write_config(1);
    server.reload_and_wait("reloaded");
    let mut refused = Imap::connect_raw(imap_addr);
    let greeting = refused.line();
    assert!(greeting.starts_with("* BYE"), "{greeting}");
    open.ok("NOOP");
    open.ok("LOGOUT");
}

/// The certificate files replaced (a renewal) and a `SIGHUP`: new TLS connections get the
/// new certificate.
#[test]
fn sighup_reloads_the_certificate() {
    let dir = Tmp::new("cert-reload");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let first = sansmail_core::tls::SelfSigned::generate(&["localhost"]).unwrap();
    std::fs::write(&cert, &first.cert_pem).unwrap();
    std::fs::write(&key, &first.key_pem).unwrap();
    let server = Mailserver::start_on_any_ports(&[
        "--data-dir",
        dir.path().join("data").to_str().unwrap(),
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--imaps",
        "127.0.0.1:0",
        "--user",
        "alice:secret",
    ]);
    let imaps = server.addr("imaps").unwrap();
    assert_eq!(
        deploy_support::peer_certificate(imaps),
        deploy_support::der(&first.cert_pem)
    );
    let second = sansmail_core::tls::SelfSigned::generate(&["localhost"]).unwrap();
    std::fs::write(&cert, &second.cert_pem).unwrap();
    std::fs::write(&key, &second.key_pem).unwrap();
    server.reload_and_wait("reloaded");
    assert_eq!(
        deploy_support::peer_certificate(imaps),
        deploy_support::der(&second.cert_pem)
    );
    // A key that is not the certificate's: refused, the second stays.
    std::fs::write(&key, &first.key_pem).unwrap();
    server.reload_and_wait("reload failed");
    assert_eq!(
        deploy_support::peer_certificate(imaps),
        deploy_support::der(&second.cert_pem)
    );
}

/// The log: one line per connection close with protocol, peer, account, TLS version,
/// commands, octets, duration and outcome; logins and failures with protocol and account;
/// nothing at INFO for a client that leaves without TLS `close_notify`. In JSON here.
#[test]
fn json_logs_have_one_record_per_connection_and_logins_with_their_account() {
    let dir = Tmp::new("logs");
    let server = Mailserver::start_on_any_ports(&[
        "--data-dir",
        dir.path().join("data").to_str().unwrap(),
        "--user",
        "alice:secret",
        "--domain",
        "example.org",
        "--log-format",
        "json",
    ]);
    let mut imap = Imap::connect(server.addr("imap").unwrap());
    imap.no("LOGIN alice wrong");
    imap.ok("LOGIN alice secret");
    imap.ok("SELECT INBOX");
    imap.ok("LOGOUT");
    drop(imap);
    let mut pop = Imap::connect_raw(server.addr("pop3").unwrap());
    pop.line();
    for (cmd, ok) in [
        ("USER alice", true),
        ("PASS secret", true),
        ("STAT", true),
        ("QUIT", true),
    ] {
        pop.send(cmd);
        assert_eq!(pop.line().starts_with("+OK"), ok);
    }
    // An implicit-TLS client that goes away without close_notify.
    deploy_support::tls_and_vanish(server.addr("imaps").unwrap());
    let records = wait_for(Duration::from_secs(10), || {
        let logs = deploy_support::json_lines(&server.stderr());
        let closed: Vec<_> = logs
            .iter()
            .filter(|l| l["message"] == "connection closed")
            .cloned()
            .collect();
        (closed.len() >= 3).then_some((logs, closed))
    });
    let (logs, closed) = records.expect("three connection records");
    let imap_close = closed
        .iter()
        .find(|l| l["protocol"] == "imap" && l["listener"] == "imap")
        .unwrap();
    assert_eq!(imap_close["account"], "alice");
    assert_eq!(imap_close["outcome"], "quit");
    assert_eq!(imap_close["commands"], 4);
    assert_eq!(imap_close["tls"], "none");
    assert!(imap_close["bytes_in"].as_u64().unwrap() > 40);
    assert!(imap_close["bytes_out"].as_u64().unwrap() > 100);
    assert!(imap_close["duration_ms"].is_u64());
    assert!(
        imap_close["peer"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_eq!(imap_close["level"], "INFO");
    let pop_close = closed.iter().find(|l| l["protocol"] == "pop3").unwrap();
    assert_eq!(
        (&pop_close["account"], &pop_close["outcome"]),
        (&"alice".into(), &"quit".into())
    );
    let tls_close = closed.iter().find(|l| l["listener"] == "imaps").unwrap();
    assert_eq!(tls_close["tls"], "TLSv1.3");
    assert_eq!(tls_close["outcome"], "disconnected");
    let logins: Vec<_> = logs
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("login"))
        })
        .map(|l| {
            (
                l["message"].as_str().unwrap(),
                l["protocol"].as_str().unwrap(),
                l["account"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        logins,
        [
            ("login failed", "imap", "alice"),
            ("login", "imap", "alice"),
            ("login", "pop3", "alice")
        ]
    );
    let text = server.stderr();
    assert!(
        !text.contains("docs.rs"),
        "no rustls URL in the log:\n{text}"
    );
    let info_or_more: Vec<_> = logs
        .iter()
        .filter(|l| l["level"] != "DEBUG" && l["level"] != "TRACE")
        .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
        .filter(|m| {
            !["listening", "connection closed", "login", "login failed"].contains(&m.as_str())
        })
        .collect();
    assert!(
        info_or_more.is_empty(),
        "routine behaviour logged: {info_or_more:?}"
    );
}

/// The metrics endpoint scraped while real clients (Python's smtplib, imaplib and poplib)
/// use the server: connections, logins, deliveries and rejections, octets and the store's
/// latency show up with the right counts.
#[test]
fn the_metrics_endpoint_counts_what_clients_did() {
    let dir = Tmp::new("metrics");
    let server = Mailserver::start_on_any_ports(&[
        "--data-dir",
        dir.path().join("data").to_str().unwrap(),
        "--user",
        "alice:secret",
        "--domain",
        "example.org",
        "--metrics",
        "127.0.0.1:0",
    ]);
    let metrics = server.addr("metrics").unwrap();
    let before = http_get(metrics, "/metrics");
    assert!(before.starts_with("HTTP/1.1 200 OK"), "{before}");
    let script = format!(
        r#"
import smtplib, imaplib, poplib
s = smtplib.SMTP("127.0.0.1", {smtp})
s.ehlo("client.test")
s.sendmail("a@example.net", ["alice@example.org"], b"Subject: t\r\n\r\nhello\r\n")
try:
    s.sendmail("a@example.net", ["nobody@example.org"], b"Subject: t\r\n\r\nhello\r\n")
except smtplib.SMTPRecipientsRefused:
    pass
try:
    s.sendmail("a@example.net", ["someone@elsewhere.test"], b"Subject: t\r\n\r\nhello\r\n")
except smtplib.SMTPRecipientsRefused:
    pass
s.quit()
m = imaplib.IMAP4("127.0.0.1", {imap})
try:
    m.login("alice", "wrong")
except imaplib.IMAP4.error:
    pass
m.login("alice", "secret")
m.select("INBOX")
m.fetch("1", "(BODY.PEEK[])")
m.logout()
p = poplib.POP3("127.0.0.1", {pop3})
p.user("alice"); p.pass_("secret"); p.stat(); p.quit()
"#,
        smtp = server.addr("smtp").unwrap().port(),
        imap = server.addr("imap").unwrap().port(),
        pop3 = server.addr("pop3").unwrap().port(),
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = wait_for(Duration::from_secs(10), || {
        let text = http_get(metrics, "/metrics");
        text.contains(
            "sansmail_sessions_total{listener=\"pop3\",protocol=\"pop3\",outcome=\"quit\"} 1",
        )
        .then_some(text)
    })
    .expect("the POP3 session counted");
    let value = |series: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    assert_eq!(
        value(r#"sansmail_connections_total{listener="smtp",protocol="smtp"}"#),
        1
    );
    assert_eq!(
        value(r#"sansmail_connections_total{listener="imap",protocol="imap"}"#),
        1
    );
    assert_eq!(
        value(r#"sansmail_connections_open{listener="imap",protocol="imap"}"#),
        0
    );
    assert_eq!(
        value(r#"sansmail_messages_delivered_total{listener="smtp",protocol="smtp"}"#),
        1
    );
    assert_eq!(
        value(
            r#"sansmail_messages_rejected_total{listener="smtp",protocol="smtp",reason="no_such_user"}"#
        ),
        1
    );
    assert_eq!(
        value(
            r#"sansmail_messages_rejected_total{listener="smtp",protocol="smtp",reason="relay_denied"}"#
        ),
        1
    );
    assert_eq!(
        value(r#"sansmail_logins_total{listener="imap",protocol="imap",result="ok"}"#),
        1
    );
    assert_eq!(
        value(r#"sansmail_logins_total{listener="imap",protocol="imap",result="failed"}"#),
        1
    );
    assert_eq!(
        value(r#"sansmail_logins_total{listener="pop3",protocol="pop3",result="ok"}"#),
        1
    );
    assert!(value(r#"sansmail_received_bytes_total{listener="smtp",protocol="smtp"}"#) > 100);
    assert!(value(r#"sansmail_sent_bytes_total{listener="imap",protocol="imap"}"#) > 100);
    assert_eq!(
        value(r#"sansmail_store_operation_seconds_count{op="deliver"}"#),
        1
    );
    assert!(value(r#"sansmail_store_operation_seconds_count{op="fetch"}"#) >= 1);
    assert_eq!(
        value(r#"sansmail_store_operation_seconds_bucket{op="deliver",le="+Inf"}"#),
        1
    );
    assert!(http_get(metrics, "/nothing").starts_with("HTTP/1.1 404"));
}

/// The process-wide identity lines of `/proc/PID/task/*/status` (`Uid`, `Gid`, `Groups`,
/// `CapEff`), one set per thread.
/// The soft and hard limits on open files of process `pid`.
fn open_file_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let n: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (n[0], n[1])
}

/// Started from a shell whose soft limit on open files is low (1,024 is usual; 256 here),
/// the server raises it to the hard limit: the store holds a descriptor for each loaded
/// account and mailbox, and a low limit would run out at a few hundred users.
#[test]
fn the_open_file_limit_is_raised_to_the_hard_one() {
    let dir = Tmp::new("nofile");
    let data = dir.path().join("data");
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "ulimit -Sn 256 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_mailserver"))
        .args(Mailserver::any_ports())
        .arg("--data-dir")
        .arg(&data);
    let server = Mailserver::spawn(&mut cmd);
    let (soft, hard) = open_file_limits(server.pid());
    assert!(soft > 256, "the soft limit stayed at {soft}");
    assert_eq!(soft, hard.min(1 << 20));
}

fn identities(pid: u32) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        out.push(
            status
                .lines()
                .filter(|l| {
                    ["Uid:", "Gid:", "Groups:", "CapEff:"]
                        .iter()
                        .any(|k| l.starts_with(k))
                })
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect(),
        );
    }
    out
}

/// As root, `run-as nobody`: the server binds a port below 1024, then every thread runs as
/// nobody/nogroup with no capability, and it still serves (mail written as nobody into a
/// data folder made for it) and reloads. CI runs as root; elsewhere this says it skipped.
#[test]
fn run_as_binds_a_privileged_port_then_drops_root() {
    if !nix::unistd::Uid::effective().is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the tests as root"
        );
        eprintln!("skipped: dropping privileges needs root");
        return;
    }
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let dir = Tmp::new("run-as");
    let data = dir.path().join("data");
    // A free port below 1024.
    let port = (600..1000)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .unwrap();
    let imap = format!("127.0.0.1:{port}");
    let server = Mailserver::start_on_any_ports(&[
        "--run-as",
        "nobody",
        "--imap",
        &imap,
        "--smtp",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--user",
        "alice:secret",
        "--domain",
        "example.org",
    ]);
    assert_eq!(server.addr("imap"), Some(imap.parse().unwrap()));
    let (uid, gid) = (nobody.uid.as_raw(), nobody.gid.as_raw());
    let want = [
        format!("Uid: {uid} {uid} {uid} {uid}"),
        format!("Gid: {gid} {gid} {gid} {gid}"),
        format!("Groups: {gid}"),
        "CapEff: 0000000000000000".to_owned(),
    ];
    let threads = identities(server.pid());
    assert!(threads.len() > 1, "the runtime's threads: {threads:?}");
    for t in &threads {
        assert_eq!(t, &want, "every thread dropped root");
    }
    let mut c = Imap::connect(server.addr("imap").unwrap());
    c.ok("LOGIN alice secret");
    c.ok("SELECT INBOX");
    c.send("a APPEND INBOX {15+}\r\nSubject: x\r\n\r\nx");
    let done = std::iter::repeat_with(|| c.line())
        .find(|l| l.starts_with("a ") || l.is_empty())
        .unwrap();
    assert!(done.starts_with("a OK"), "{done}");
    assert_eq!(std::fs::metadata(&data).unwrap().uid(), uid);
    assert_eq!(
        std::fs::metadata(data.join("alice/Maildir")).unwrap().uid(),
        uid
    );
    server.reload_and_wait("reloaded");
    c.ok("NOOP");
    // A user that does not exist stops the server before it binds anything.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailserver"))
        .args([
            "--run-as",
            "no-such-user-here",
            "--smtp",
            &imap,
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run-as: no user no-such-user-here"), "{err}");
}

/// Socket activation as systemd does it (sd_listen_fds(3)): the sockets at descriptors 3
/// and 4, `LISTEN_PID` the server's own, `LISTEN_FDNAMES` naming the first `imap` and the
/// second after its unit. The named one serves IMAP although the configuration turns IMAP
/// off; the other serves the listener configured at its address (which the server would
/// fail to bind, being taken). A socket that fits no listener stops the server.
#[test]
fn socket_activation_serves_the_handed_sockets() {
    let dir = Tmp::new("activation");
    // Python binds, moves the sockets to 3 and 4 and execs the server in its place (so
    // LISTEN_PID is the server's).
    let exec = |names: &str, smtp_at_second: bool| {
        let script = format!(
            r#"
import os, socket, sys
socks = [socket.socket(), socket.socket()]
for i, s in enumerate(socks):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0)); s.listen(16)
    os.dup2(s.fileno(), 3 + i)
    os.set_inheritable(3 + i, True)
second = socks[1].getsockname()[1]
args = sys.argv[1:] + (["--smtp", "127.0.0.1:%d" % second] if {smtp} else [])
os.environ.update(LISTEN_FDS="2", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="{names}")
os.execv(args[0], args)
"#,
            smtp = if smtp_at_second { "True" } else { "False" },
        );
        let mut cmd = std::process::Command::new("python3");
        cmd.args(["-c", &script, env!("CARGO_BIN_EXE_mailserver")])
            .args(["--imap", "none", "--submission", "none", "--smtps", "none"])
            .args(["--imaps", "none", "--pop3", "none", "--pop3s", "none"])
            .args(["--user", "alice:secret", "--data-dir"])
            .arg(dir.path().join("data"));
        cmd
    };
    let server = Mailserver::spawn(&mut exec("imap:mailserver.socket", true));
    let imap = server.addr("imap").expect("IMAP on the socket named imap");
    let smtp = server
        .addr("smtp")
        .expect("SMTP on the socket at its address");
    assert_ne!(imap, smtp);
    let mut c = Imap::connect(imap);
    c.ok("LOGIN alice secret");
    let mut s = Imap::connect_raw(smtp);
    let greeting = s.line();
    assert!(greeting.starts_with("220 "), "{greeting}");
    drop(server);

    let out = exec("imap:mailserver.socket", false).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("socket-activated fd 4") && err.contains("is no listener's"),
        "{err}"
    );
}

/// contrib/: the units pass `systemd-analyze verify` (where systemd is installed; with the
/// binary built here as ExecStart) without a warning, and contrib/mailserver.toml is valid
/// and puts its listeners at the socket unit's addresses, so each socket finds its listener.
#[test]
fn the_systemd_units_verify_and_match_the_contrib_configuration() {
    let contrib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib");
    let file = examples::config::ConfigFile::read(&contrib.join("mailserver.toml")).unwrap();
    let settings = examples::config::resolve(Some(&file), &BTreeMap::new()).unwrap();
    let socket = std::fs::read_to_string(contrib.join("mailserver.socket")).unwrap();
    let mut streams: Vec<std::net::SocketAddr> = socket
        .lines()
        .filter_map(|l| l.strip_prefix("ListenStream="))
        .map(|a| a.parse().unwrap())
        .collect();
    let mut configured: Vec<std::net::SocketAddr> = settings
        .listeners()
        .iter()
        .filter(|(name, _)| *name != "metrics")
        .filter_map(|(_, a)| *a)
        .collect();
    streams.sort();
    configured.sort();
    assert_eq!(streams, configured);
    assert_eq!(streams.len(), 7);

    if std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped systemd-analyze verify: systemd-analyze is not installed");
        return;
    }
    let dir = Tmp::new("units");
    let service = std::fs::read_to_string(contrib.join("mailserver.service")).unwrap();
    assert!(service.contains("ExecStart=/usr/local/bin/mailserver "));
    let service = service.replace(
        "/usr/local/bin/mailserver",
        env!("CARGO_BIN_EXE_mailserver"),
    );
    std::fs::write(dir.path().join("mailserver.service"), service).unwrap();
    std::fs::write(dir.path().join("mailserver.socket"), socket).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(dir.path().join("mailserver.socket"))
        .arg(dir.path().join("mailserver.service"))
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

/// Runs `mailctl ARGS`; its standard output, after asserting it succeeded (or failed).
fn mailctl(args: &[&str], ok: bool) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailctl"))
        .args(args)
        .env_remove("MAILCTL_PASSWORD")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.success(), ok, "mailctl {args:?}: {text}");
    text
}

/// `mailctl admin` on the users file of a running server: each change is written, the
/// server (found through its pid-file) reloads, and the next login or append sees it; the
/// listing shows each account's mail.
#[test]
fn mailctl_admin_changes_users_and_quotas_of_a_running_server() {
    let dir = Tmp::new("admin");
    let users = dir.path().join("users");
    std::fs::write(&users, format!("alice:{}\n", hash("a"))).unwrap();
    let config = dir.path().join("mail.toml");
    std::fs::write(
        &config,
        format!(
            "data-dir = \"{}\"\nusers = \"{}\"\npid-file = \"{}\"\ndomain = \"example.org\"\n\
             smtp = \"127.0.0.1:0\"\nsubmission = \"none\"\nsmtps = \"none\"\n\
             imap = \"127.0.0.1:0\"\nimaps = \"none\"\npop3 = \"none\"\npop3s = \"none\"\n",
            dir.path().join("data").display(),
            users.display(),
            dir.path().join("pid").display(),
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let server = Mailserver::start(&["--config", cfg]);
    let imap = server.addr("imap").unwrap();
    let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
    assert_eq!(pid.trim(), server.pid().to_string());
    let reloads = || server.stderr().matches("reloaded:").count();
    let admin = |args: &[&str]| {
        let before = reloads();
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend(["--config", cfg]);
        let out = mailctl(&all, true);
        assert!(out.contains("reload signalled"), "{out}");
        wait_for(Duration::from_secs(10), || {
            (reloads() > before).then_some(())
        })
        .expect("the server reloaded");
    };

    admin(&["add-user", "carol", "--password", "c1"]);
    Imap::connect(imap).ok("LOGIN carol c1");
    admin(&["set-password", "carol", "--password", "c2"]);
    Imap::connect(imap).no("LOGIN carol c1");
    let mut carol = Imap::connect(imap);
    carol.ok("LOGIN carol c2");
    admin(&["set-quota", "carol", "--storage", "1K"]);
    let big = "x".repeat(2000);
    carol.send(&format!("q APPEND INBOX {{{}+}}\r\n{big}", big.len()));
    let refused = std::iter::repeat_with(|| carol.line())
        .find(|l| l.starts_with("q ") || l.is_empty())
        .unwrap();
    assert!(refused.starts_with("q NO [OVERQUOTA]"), "{refused}");

    let mut smtp = Imap::connect_raw(server.addr("smtp").unwrap());
    smtp.line();
    for line in [
        "EHLO client.test",
        "MAIL FROM:<x@example.net>",
        "RCPT TO:<alice@example.org>",
        "DATA",
        "Subject: hi\r\n\r\nhello\r\n.",
    ] {
        smtp.send(line);
        let mut reply = smtp.line();
        while reply.as_bytes().get(3) == Some(&b'-') {
            reply = smtp.line();
        }
        assert!(reply.starts_with('2') || reply.starts_with('3'), "{reply}");
    }
    let listing = mailctl(&["admin", "list", "--config", cfg], true);
    let row = |name: &str| -> Vec<String> {
        listing
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{listing}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(row("alice")[3], "1", "{listing}");
    assert!(row("alice")[1].parse::<u64>().unwrap() > 20, "{listing}");
    assert_eq!(row("carol")[1..], ["0", "B", "0"], "{listing}");

    admin(&["remove-user", "carol"]);
    Imap::connect(imap).no("LOGIN carol c2");
    let out = mailctl(&["admin", "remove-user", "carol", "--config", cfg], false);
    assert!(out.contains("no user carol"), "{out}");
    assert!(
        !std::fs::read_to_string(&users).unwrap().contains("carol"),
        "carol's line is gone"
    );
}
