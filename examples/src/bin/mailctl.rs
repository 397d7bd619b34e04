//! `mailctl`: send and read mail with the workspace's client sessions.
//!
//! ```text
//! mailctl send [CONN] --from ADDR --to ADDR... [--hello NAME] [FILE|-]
//! mailctl imap list [CONN]
//! mailctl imap fetch [CONN] [--mailbox NAME] [--uid N] [--out DIR]
//! mailctl imap watch [CONN] [--mailbox NAME] [--count N]
//! mailctl imap flag [CONN] [--mailbox NAME] --uid N [--add FLAG]... [--remove FLAG]...
//! mailctl pop3 fetch [CONN] --maildir DIR [--delete]
//! mailctl hash-password [--password PASSWORD]
//! mailctl migrate --user NAME --from STORE --to STORE
//! mailctl admin add-user|set-password NAME [--password PASSWORD] ADMIN
//! mailctl admin remove-user NAME ADMIN
//! mailctl admin set-quota NAME [--storage SIZE] [--messages N] ADMIN
//! mailctl admin list ADMIN
//! mailctl queue list|show ID|retry [ID]|delete ID (--config FILE | --data-dir DIR)
//!
//! ADMIN: --config FILE (the server's: its first users file, data-dir, store, pid-file)
//!        or --users FILE [--data-dir DIR]
//!
//! CONN: [--host HOST] [--port PORT] [--tls starttls|implicit|none] [--ca PEM | --insecure]
//!       [--user NAME] [--password PASSWORD] [--timeout SECONDS]
//! ```
//!
//! `--tls starttls` (the default) fails unless the server offers STARTTLS/STLS; `implicit`
//! is TLS from the first byte. Without `--ca` or `--insecure`, TLS servers are checked
//! against `./mail-data/tls/cert.pem` (the mailserver's self-signed certificate) when it
//! exists. Default ports are the mailserver's: submission 2587 (SMTPS 2465), IMAP 2143
//! (IMAPS 2993), POP3 2110 (POP3S 2995). The password can also come from `MAILCTL_PASSWORD`.
//! `hash-password` prints an Argon2id hash for a `mailserver --users` file (the password
//! from `--password`, `MAILCTL_PASSWORD` or the first line of standard input).
//! `migrate` copies an account between stores (STORE: a `postgres://` URL, or a Maildir data
//! folder, `maildir:DIR` or `DIR`): mailboxes, flags, keywords and UIDs where possible
//! (`sansmail_store::migrate`). Stop the servers on both stores first.
//! `admin` edits the users file in place (checked with the server's parser, replaced
//! atomically) and then sends the server in the configuration's `pid-file` a `SIGHUP`;
//! `list` shows each account with the octets and messages its mail takes.
//! `queue` shows the outbound queue (`list`, `show ID`), makes messages due now (`retry`,
//! all of them without an ID) or removes one without a bounce (`delete ID`); the server
//! acts on the change at its next scan of the queue (within a minute). A password comes
//! from `--password`, `MAILCTL_PASSWORD` or the first line of standard input.

use std::{
    io::{Read, Write},
    path::PathBuf,
    process::ExitCode,
    time::Duration,
};

use sansmail_server::passwd_file::{self, UsersFile};
use sansmail_store::{AccountName, StoreError, migrate};

use examples::{
    mailctl::{Endpoint, Security, imap, pop3, smtp},
    server,
    tls::Verify,
};

const USAGE: &str = "usage:
  mailctl send [CONN] --from ADDR --to ADDR... [--hello NAME] [FILE|-]
  mailctl imap list [CONN]
  mailctl imap fetch [CONN] [--mailbox NAME] [--uid N] [--out DIR]
  mailctl imap watch [CONN] [--mailbox NAME] [--count N]
  mailctl imap flag [CONN] [--mailbox NAME] --uid N [--add FLAG]... [--remove FLAG]...
  mailctl pop3 fetch [CONN] --maildir DIR [--delete]
  mailctl hash-password [--password PASSWORD]
  mailctl migrate --user NAME --from STORE --to STORE
  mailctl admin add-user|set-password NAME [--password PASSWORD] ADMIN
  mailctl admin remove-user NAME ADMIN
  mailctl admin set-quota NAME [--storage SIZE] [--messages N] ADMIN
  mailctl admin list ADMIN
  mailctl queue list|show ID|retry [ID]|delete ID (--config FILE | --data-dir DIR)
ADMIN: --config FILE | --users FILE [--data-dir DIR]
CONN: [--host HOST] [--port PORT] [--tls starttls|implicit|none] [--ca PEM | --insecure]
      [--user NAME] [--password PASSWORD] [--timeout SECONDS]";

#[derive(Default)]
struct Args {
    host: Option<String>,
    port: Option<u16>,
    tls: Option<Security>,
    ca: Option<PathBuf>,
    insecure: bool,
    user: Option<String>,
    password: Option<String>,
    timeout: Option<u64>,
    from: Option<String>,
    to: Vec<String>,
    hello: Option<String>,
    mailbox: Option<String>,
    uid: Option<u32>,
    out: Option<PathBuf>,
    count: Option<usize>,
    add: Vec<String>,
    remove: Vec<String>,
    maildir: Option<PathBuf>,
    delete: bool,
    file: Option<String>,
    config: Option<PathBuf>,
    users: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    storage: Option<u64>,
    messages: Option<u64>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args::default();
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        let number = |v: String| -> Result<u64, String> {
            v.parse().map_err(|_| format!("{flag} {v}: not a number"))
        };
        match flag.as_str() {
            "--host" => a.host = Some(value()?),
            "--port" => {
                a.port = Some(u16::try_from(number(value()?)?).map_err(|e| e.to_string())?);
            }
            "--tls" => {
                let v = value()?;
                a.tls = Some(
                    Security::parse(&v)
                        .ok_or_else(|| format!("--tls {v}: starttls, implicit or none"))?,
                );
            }
            "--ca" => a.ca = Some(PathBuf::from(value()?)),
            "--insecure" | "-k" => a.insecure = true,
            "--user" => a.user = Some(value()?),
            "--password" => a.password = Some(value()?),
            "--timeout" => a.timeout = Some(number(value()?)?),
            "--from" => a.from = Some(value()?),
            "--to" => a.to.push(value()?),
            "--hello" => a.hello = Some(value()?),
            "--mailbox" => a.mailbox = Some(value()?),
            "--uid" => a.uid = Some(u32::try_from(number(value()?)?).map_err(|e| e.to_string())?),
            "--out" => a.out = Some(PathBuf::from(value()?)),
            "--count" => {
                a.count = Some(usize::try_from(number(value()?)?).map_err(|e| e.to_string())?);
            }
            "--add" => a.add.push(value()?),
            "--remove" => a.remove.push(value()?),
            "--maildir" => a.maildir = Some(PathBuf::from(value()?)),
            "--delete" => a.delete = true,
            "--config" => a.config = Some(PathBuf::from(value()?)),
            "--users" => a.users = Some(PathBuf::from(value()?)),
            "--data-dir" => a.data_dir = Some(PathBuf::from(value()?)),
            "--storage" => {
                let v = value()?;
                let examples::config::Octets(n) =
                    v.parse().map_err(|e| format!("--storage: {e}"))?;
                a.storage = Some(n);
            }
            "--messages" => a.messages = Some(number(value()?)?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            f if f.starts_with("--") => return Err(format!("unknown option {f}\n{USAGE}")),
            _ if a.file.is_none() => a.file = Some(flag),
            f => return Err(format!("unexpected argument {f}\n{USAGE}")),
        }
    }
    Ok(a)
}

/// The endpoint for a protocol whose plaintext and implicit-TLS ports are given.
fn endpoint(a: &Args, plain: u16, implicit: u16) -> Endpoint {
    let security = a.tls.unwrap_or(Security::StartTls);
    let verify = if a.insecure {
        Verify::Insecure
    } else if let Some(ca) = &a.ca {
        Verify::CaFile(ca.clone())
    } else {
        Verify::CaFile(PathBuf::from("./mail-data/tls/cert.pem"))
    };
    let password = a
        .password
        .clone()
        .or_else(|| std::env::var("MAILCTL_PASSWORD").ok());
    Endpoint {
        host: a.host.clone().unwrap_or_else(|| "127.0.0.1".to_owned()),
        port: a.port.unwrap_or(if security == Security::Implicit {
            implicit
        } else {
            plain
        }),
        security,
        verify,
        login: a.user.clone().map(|u| (u, password.unwrap_or_default())),
        timeout: Duration::from_secs(a.timeout.unwrap_or(60)),
    }
}

async fn run(command: &[String], a: Args) -> Result<(), String> {
    let e = |e: std::io::Error| e.to_string();
    match command {
        [c] if c == "send" => {
            let ep = endpoint(&a, 2587, 2465);
            let mut content = Vec::new();
            match a.file.as_deref() {
                None | Some("-") => std::io::stdin()
                    .read_to_end(&mut content)
                    .map_err(|e| format!("stdin: {e}"))?,
                Some(path) => {
                    content = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
                    content.len()
                }
            };
            let message = smtp::Message {
                from: a.from.clone().ok_or("send needs --from")?,
                to: a.to.clone(),
                hello: a.hello.clone().unwrap_or_else(|| "localhost".to_owned()),
                content,
            };
            let outcome = smtp::send(&ep, &message).await.map_err(e)?;
            for (to, reply) in &outcome.refused {
                eprintln!("refused {to}: {}", reply.trim_end());
            }
            println!("sent: {}", outcome.reply);
        }
        [proto, sub] if proto == "imap" => {
            let ep = endpoint(&a, 2143, 2993);
            let mut session = imap::Session::open(&ep).await.map_err(e)?;
            let mailbox = a.mailbox.as_deref().unwrap_or("INBOX");
            match sub.as_str() {
                "list" => {
                    for name in session.list().await.map_err(e)? {
                        println!("{name}");
                    }
                }
                "fetch" => {
                    session.select(mailbox, true).await.map_err(e)?;
                    let messages = session.fetch(a.uid).await.map_err(e)?;
                    if a.uid.is_some() && messages.is_empty() {
                        return Err(format!("no message with UID {}", a.uid.unwrap_or(0)));
                    }
                    write_messages(&messages, a.out.as_deref(), a.uid.is_some())?;
                }
                "watch" => {
                    session.select(mailbox, true).await.map_err(e)?;
                    let on_idle = || {
                        println!("watching {mailbox}");
                        let _ = std::io::stdout().flush();
                    };
                    session
                        .watch(a.count, on_idle, |uid, header| {
                            let summary: Vec<&str> =
                                header.lines().filter(|l| !l.is_empty()).collect();
                            println!("new UID {uid}: {}", summary.join(" | "));
                            let _ = std::io::stdout().flush();
                        })
                        .await
                        .map_err(e)?;
                }
                "flag" => {
                    let uid = a.uid.ok_or("imap flag needs --uid")?;
                    session.select(mailbox, false).await.map_err(e)?;
                    let flags = session.flag(uid, &a.add, &a.remove).await.map_err(e)?;
                    println!("UID {uid} FLAGS ({flags})");
                }
                other => return Err(format!("unknown imap command {other}\n{USAGE}")),
            }
            session.logout().await.map_err(e)?;
        }
        [proto, sub] if proto == "pop3" && sub == "fetch" => {
            let ep = endpoint(&a, 2110, 2995);
            let maildir = a.maildir.clone().ok_or("pop3 fetch needs --maildir")?;
            let r = pop3::fetch(&ep, &maildir, a.delete).await.map_err(e)?;
            println!(
                "{} messages saved, {} deleted on the server",
                r.saved, r.deleted
            );
        }
        [c] if c == "migrate" => {
            let user = a.user.clone().ok_or("migrate needs --user NAME")?;
            let from = a.from.clone().ok_or("migrate needs --from STORE")?;
            let to = a.to.first().cloned().ok_or("migrate needs --to STORE")?;
            let account = AccountName::try_from(user.as_str()).map_err(|e| e.to_string())?;
            let what = |s: &str, e: StoreError| format!("{s}: {e}");
            let src = server::open_location(&from)
                .await
                .map_err(|e| what(&from, e))?;
            let dst = server::open_location(&to).await.map_err(|e| what(&to, e))?;
            let done = migrate::migrate_account(&src, &dst, &account)
                .await
                .map_err(|e| format!("migrate {user}: {e}"))?;
            println!(
                "{user}: {} mailboxes, {} messages, {} subscriptions copied",
                done.mailboxes, done.messages, done.subscriptions
            );
            if !done.renumbered.is_empty() {
                println!("new UIDs in: {}", done.renumbered.join(", "));
            }
        }
        [c, sub] if c == "admin" => admin(sub, &a).await?,
        [c, sub] if c == "queue" => queue(sub, &a)?,
        [c] if c == "hash-password" => {
            let password = match a
                .password
                .clone()
                .or_else(|| std::env::var("MAILCTL_PASSWORD").ok())
            {
                Some(p) => p,
                None => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .map_err(|e| format!("stdin: {e}"))?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            if password.is_empty() {
                return Err("hash-password: the password is empty".to_owned());
            }
            println!("{}", passwd_file::hash_password(&password).map_err(e)?);
        }
        _ => return Err(USAGE.to_owned()),
    }
    Ok(())
}

/// One message to stdout as it is; several as an mboxrd stream; or each into `dir` as
/// `<uid>.eml`.
fn write_messages(
    messages: &[(u32, Vec<u8>)],
    dir: Option<&std::path::Path>,
    single: bool,
) -> Result<(), String> {
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (uid, content) in messages {
            let path = dir.join(format!("{uid}.eml"));
            std::fs::write(&path, content).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("{}", path.display());
        }
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| e.to_string();
    if single {
        for (_, content) in messages {
            out.write_all(content).map_err(io)?;
        }
        return out.flush().map_err(io);
    }
    for (_, content) in messages {
        out.write_all(b"From mailctl Thu Jan  1 00:00:00 1970\n")
            .map_err(io)?;
        for line in content.split_inclusive(|&b| b == b'\n') {
            let body = without_gt(line);
            if body.starts_with(b"From ") {
                out.write_all(b">").map_err(io)?;
            }
            out.write_all(line).map_err(io)?;
        }
        if !content.ends_with(b"\n") {
            out.write_all(b"\n").map_err(io)?;
        }
        out.write_all(b"\n").map_err(io)?;
    }
    out.flush().map_err(io)
}

/// `>`-quoting of mboxrd: a line that is `From ` after any number of `>` gets one more.
fn without_gt(line: &[u8]) -> &[u8] {
    let n = line.iter().take_while(|&&b| b == b'>').count();
    &line[n..]
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1).peekable();
    let mut command = Vec::new();
    while let Some(word) = argv.next_if(|w| !w.starts_with('-')) {
        command.push(word);
        if command.len() == 2 || command.first().is_some_and(|c| c == "send") {
            break;
        }
    }
    let args = match parse(argv) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(&command, args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("mailctl: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The password for `add-user` and `set-password`: `--password`, `MAILCTL_PASSWORD` or the
/// first line of standard input.
fn new_password(a: &Args) -> Result<String, String> {
    if let Some(p) = a
        .password
        .clone()
        .or_else(|| std::env::var("MAILCTL_PASSWORD").ok())
    {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("stdin: {e}"))?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        return Err("no password: give --password, MAILCTL_PASSWORD or a line on stdin".into());
    }
    Ok(p)
}

/// `mailctl queue SUB` on the queue of the configuration's (or `--data-dir`'s) data folder.
fn queue(sub: &str, a: &Args) -> Result<(), String> {
    use examples::{config, queue};
    let data_dir = match (&a.data_dir, &a.config) {
        (Some(dir), _) => dir.clone(),
        (None, Some(path)) => {
            let file = config::ConfigFile::read(path).map_err(|e| e.to_string())?;
            config::resolve(Some(&file), &std::collections::BTreeMap::new())
                .map_err(|e| e.to_string())?
                .data_dir
        }
        (None, None) => config::Settings::default().data_dir,
    };
    let id = || {
        a.file
            .clone()
            .ok_or(format!("queue {sub} needs a queue id"))
    };
    match sub {
        "list" => print!("{}", queue::list(&data_dir)?),
        "show" => print!("{}", queue::show(&data_dir, &id()?)?),
        "retry" => {
            for id in queue::retry(&data_dir, a.file.as_deref())? {
                println!("{id}: due now");
            }
        }
        "delete" => {
            let id = id()?;
            queue::delete(&data_dir, &id)?;
            println!("{id}: deleted");
        }
        other => return Err(format!("unknown queue command {other}\n{USAGE}")),
    }
    Ok(())
}

/// `mailctl admin SUB`: the users file edited, then a reload signalled; or the listing.
async fn admin(sub: &str, a: &Args) -> Result<(), String> {
    use examples::{admin, config};
    let mut settings = match &a.config {
        Some(path) => {
            let file = config::ConfigFile::read(path).map_err(|e| e.to_string())?;
            config::resolve(Some(&file), &std::collections::BTreeMap::new())
                .map_err(|e| e.to_string())?
        }
        None => config::Settings::default(),
    };
    if let Some(users) = &a.users {
        settings.users = vec![users.clone()];
    }
    if let Some(dir) = &a.data_dir {
        settings.data_dir.clone_from(dir);
    }
    let path = settings
        .users
        .first()
        .cloned()
        .ok_or("admin needs a users file: --users FILE, or --config FILE with `users`")?;
    let text = |e: passwd_file::Error| e.to_string();
    let mut file = UsersFile::read(&path).map_err(text)?;
    let name = || {
        a.file
            .clone()
            .ok_or(format!("admin {sub} needs a user name"))
    };
    match sub {
        "list" => {
            println!("{:<24} {:>12} {:>10}", "ACCOUNT", "SIZE", "MESSAGES");
            for user in file.names().map_err(text)? {
                match admin::usage(&settings, &user).await? {
                    Some(u) => println!(
                        "{user:<24} {:>12} {:>10}",
                        admin::human(u.octets),
                        u.messages
                    ),
                    None => println!("{user:<24} {:>12} {:>10}", "-", "-"),
                }
            }
            return Ok(());
        }
        "add-user" => file.add(&name()?, &new_password(a)?).map_err(text)?,
        "remove-user" => file.remove(&name()?).map_err(text)?,
        "set-password" => file
            .set_password(&name()?, &new_password(a)?)
            .map_err(text)?,
        "set-quota" => file
            .set_quota(
                &name()?,
                sansmail_store::QuotaLimits {
                    storage_bytes: a.storage.filter(|n| *n > 0),
                    messages: a.messages.filter(|n| *n > 0),
                },
            )
            .map_err(text)?,
        other => return Err(format!("unknown admin command {other}\n{USAGE}")),
    }
    file.write().map_err(text)?;
    println!(
        "{}: {sub} {}",
        path.display(),
        a.file.as_deref().unwrap_or("")
    );
    match &settings.pid_file {
        Some(pid_file) if pid_file.exists() => {
            let pid = admin::signal_reload(pid_file)?;
            println!("reload signalled to process {pid}");
        }
        _ => println!("no pid-file of a running server: it reads the change at its next start"),
    }
    Ok(())
}
