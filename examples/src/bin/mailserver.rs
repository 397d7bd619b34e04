//! The mail server: SMTP on 127.0.0.1:2525, IMAP on 127.0.0.1:2143 and POP3 on
//! 127.0.0.1:2110 by default, all on one `mail-store` Maildir store under `./mail-data`.
//!
//! ```text
//! mailserver [--smtp ADDR|none] [--imap ADDR|none] [--pop3 ADDR|none] [--data-dir DIR]
//!            [--hostname NAME] [--domain DOMAIN]... [--user NAME:PASSWORD]...
//! ```

use std::{collections::HashMap, net::SocketAddr, path::PathBuf, process::ExitCode};

use examples::{
    server::{self, Options as ServerOptions},
    store_glue::Directory,
};

struct Options {
    smtp: Option<SocketAddr>,
    imap: Option<SocketAddr>,
    pop3: Option<SocketAddr>,
    data_dir: PathBuf,
    hostname: String,
    domains: Vec<String>,
    users: Vec<(String, String)>,
}

const USAGE: &str = "usage: mailserver [--smtp ADDR|none] [--imap ADDR|none] \
                     [--pop3 ADDR|none] [--data-dir DIR] [--hostname NAME] \
                     [--domain DOMAIN]... [--user NAME:PASSWORD]...";

/// `ADDR` or `none`.
fn listen_addr(flag: &str, v: &str) -> Result<Option<SocketAddr>, String> {
    if v == "none" {
        Ok(None)
    } else {
        v.parse().map(Some).map_err(|e| format!("{flag} {v}: {e}"))
    }
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        smtp: Some(SocketAddr::from(([127, 0, 0, 1], 2525))),
        imap: Some(SocketAddr::from(([127, 0, 0, 1], 2143))),
        pop3: Some(SocketAddr::from(([127, 0, 0, 1], 2110))),
        data_dir: PathBuf::from("./mail-data"),
        hostname: "localhost".to_owned(),
        domains: Vec::new(),
        users: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--smtp" => o.smtp = listen_addr(&flag, &value()?)?,
            "--imap" => o.imap = listen_addr(&flag, &value()?)?,
            "--pop3" => o.pop3 = listen_addr(&flag, &value()?)?,
            "--data-dir" => o.data_dir = PathBuf::from(value()?),
            "--hostname" => o.hostname = value()?,
            "--domain" => o.domains.push(value()?.to_lowercase()),
            "--user" => {
                let v = value()?;
                let (name, password) = v
                    .split_once(':')
                    .ok_or_else(|| format!("--user {v}: expected NAME:PASSWORD"))?;
                o.users.push((name.to_lowercase(), password.to_owned()));
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn demo_password() -> String {
    // Not a secret worth a CSPRNG: a demo account on loopback, printed at start.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos()
        ^ std::process::id().rotate_left(16);
    format!("demo-{seed:08x}")
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut o = match parse_args() {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    if o.domains.is_empty() {
        o.domains = vec!["localhost".to_owned(), "example.org".to_owned()];
    }
    if o.users.is_empty() {
        let password = demo_password();
        println!(
            "no --user given: demo account demo@{} with password {password}",
            o.domains[0]
        );
        o.users.push(("demo".to_owned(), password));
    }
    let directory = Directory {
        domains: o.domains.clone(),
        postmaster: o.users[0].0.clone(),
        users: o.users.into_iter().collect::<HashMap<_, _>>(),
    };
    let running = match server::start(ServerOptions {
        smtp: o.smtp,
        imap: o.imap,
        pop3: o.pop3,
        data_dir: o.data_dir.clone(),
        hostname: o.hostname,
        directory,
    })
    .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("mail store: {}", o.data_dir.display());
    for (what, addr) in [
        ("smtp", running.smtp),
        ("imap", running.imap),
        ("pop3", running.pop3),
    ] {
        match addr {
            Some(a) => println!("{what} listening on {a}"),
            None => println!("{what} off"),
        }
    }
    match tokio::signal::ctrl_c().await {
        Ok(()) => println!("shutting down"),
        Err(e) => eprintln!("cannot wait for Ctrl-C: {e}"),
    }
    ExitCode::SUCCESS
}
