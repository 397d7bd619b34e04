//! The mail server, all listeners on one `mail-store` Maildir store under `./mail-data`. By
//! default on 127.0.0.1: SMTP 2525, submission 2587 (AUTH required), SMTPS 2465, IMAP 2143,
//! IMAPS 2993, POP3 2110, POP3S 2995. The plaintext ports offer STARTTLS (STLS for POP3).
//! Without `cert`/`key` a self-signed certificate is generated at first start and kept as
//! `<data-dir>/tls/cert.pem` and `key.pem`.
//!
//! ```text
//! mailserver [--config FILE] [--check-config] [--KEY VALUE]...
//! ```
//!
//! Every setting is a key of the configuration file (TOML, `mailserver.toml` in the
//! repository lists them all with their defaults) and a flag: `--max-connections 64` is
//! `max-connections = 64`. Flags override the file. See `examples::config::Settings`.
//!
//! On the real ports: `run-as` (with `run-as-group`) binds every listener as root, then
//! becomes that user before any thread starts; under systemd socket activation
//! (`LISTEN_FDS`) the listeners serve the sockets handed over, matched by name
//! (`FileDescriptorName=`) or else by address (`contrib/` has the units).
//!
//! Signals: `SIGHUP` reloads the file, the users files and the certificate (a reload that
//! fails keeps what is in force and logs why); `SIGTERM` and Ctrl-C shut down gracefully:
//! no new connections, idle ones are told so and closed, deliveries in progress finish (for
//! up to 30 s).

use std::{path::PathBuf, process::ExitCode, time::Duration};

use examples::{
    config::{CommandLine, ConfigError, ConfigFile, LogFormat, Settings, resolve},
    service,
};

/// A line on standard output, for whoever started the server (tests read the addresses from
/// it). Unlike `println!`, a reader that went away does not stop the server.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn usage() -> String {
    let mut out = String::from(
        "usage: mailserver [--config FILE] [--check-config] [--KEY VALUE]...\n\
         Every key of the configuration file is a flag (see mailserver.toml):\n",
    );
    for key in Settings::keys() {
        out.push_str("  --");
        out.push_str(key);
        out.push('\n');
    }
    out
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

/// The settings from the command line and the file it names.
fn load(cli: &CommandLine) -> Result<Settings, ConfigError> {
    let file = cli.config.as_deref().map(ConfigFile::read).transpose()?;
    resolve(file.as_ref(), &cli.flags)
}

fn init_logs(settings: &Settings) {
    let builder = tracing_subscriber::fmt()
        .with_max_level(settings.log.0)
        .with_writer(std::io::stderr)
        .with_target(false);
    match settings.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}

fn main() -> ExitCode {
    let cli = match CommandLine::parse(std::env::args().skip(1)) {
        Ok(cli) => cli,
        Err(e) if e.0.is_empty() => {
            say!("{}", usage().trim_end());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}\n{}", usage());
            return ExitCode::from(2);
        }
    };
    let settings = match load(&cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mailserver: {e}");
            return ExitCode::from(2);
        }
    };
    let demo = demo_password();
    let options = match settings.server_options(Some(&demo)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("mailserver: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.check {
        say!("configuration ok");
        return ExitCode::SUCCESS;
    }
    init_logs(&settings);
    match service::raise_open_file_limit() {
        Ok(n) if n < 4096 => {
            tracing::warn!(
                open_files = n,
                "the open-file limit is low for a mail server"
            );
        }
        Ok(n) => tracing::debug!(open_files = n, "open-file limit"),
        Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
    }
    if options.directory.users.contains_key("demo")
        && settings.accounts(None).is_ok_and(|u| u.is_empty())
    {
        say!(
            "no user configured: demo account demo@{} with password {demo}",
            options.directory.domains[0]
        );
    }
    // The sockets first, while the privileged ports can be had: from systemd, or bound now
    // if the process is to drop root; then the user changes, before any thread exists.
    let listeners = settings.listeners();
    let mut sockets = match service::activated_sockets(&listeners) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(user) = &settings.run_as {
        let dropped =
            service::RunAs::lookup(user, settings.run_as_group.as_deref()).and_then(|r| {
                service::bind_remaining(&listeners, &mut sockets)?;
                r.drop_privileges(&settings.data_dir)?;
                Ok(r)
            });
        match dropped {
            Ok(r) => tracing::info!(user = %r.user, uid = %r.uid, gid = %r.gid, "running as"),
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(&cli, &settings, options, sockets, &demo))
}

/// Starts the listeners on `sockets` (binding those without one) and serves until `SIGTERM`
/// or Ctrl-C, reloading at each `SIGHUP`.
async fn serve(
    cli: &CommandLine,
    settings: &Settings,
    options: examples::server::Options,
    sockets: Vec<(String, std::net::TcpListener)>,
    demo: &str,
) -> ExitCode {
    let running = match examples::server::start_with(options, sockets).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    // Before anyone learns the addresses: a SIGHUP from then on reloads.
    let mut signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot wait for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &settings.pid_file
        && let Err(e) = std::fs::write(path, format!("{}\n", std::process::id()))
    {
        tracing::error!("pid-file {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    say!("mail store: {}", settings.data_dir.display());
    for (what, addr) in [
        ("smtp", running.smtp),
        ("submission", running.submission),
        ("smtps", running.smtps),
        ("lmtp", running.lmtp),
        ("imap", running.imap),
        ("imaps", running.imaps),
        ("pop3", running.pop3),
        ("pop3s", running.pop3s),
        ("metrics", running.metrics),
    ] {
        match addr {
            Some(a) => say!("{what} listening on {a}"),
            None => say!("{what} off"),
        }
    }
    for (record, new) in &running.dkim_records {
        let what = if *new {
            "new DKIM key; publish"
        } else {
            "DKIM"
        };
        say!("{what}: {}", record.zone_line());
    }
    while let Signal::Reload = signals.next().await {
        reload(cli, demo, &running).await;
    }
    say!("shutting down");
    let left = running.shutdown(Duration::from_secs(30)).await;
    if left > 0 {
        tracing::warn!("{left} connections still busy after 30 s; closing them");
    }
    if let Some(path) = &settings.pid_file {
        let _ = std::fs::remove_file(path);
    }
    say!("stopped");
    ExitCode::SUCCESS
}

/// `SIGHUP`: the file and the users files again, with the same flags over them.
async fn reload(cli: &CommandLine, demo: &str, running: &examples::server::Running) {
    let config = cli.config.as_ref().map_or_else(PathBuf::new, Clone::clone);
    tracing::info!(config = %config.display(), "reloading");
    let result = async {
        let settings = load(cli).map_err(|e| e.to_string())?;
        let options = settings
            .server_options(Some(demo))
            .map_err(|e| e.to_string())?;
        running.reload(options).await.map_err(|e| e.to_string())
    };
    match result.await {
        Ok(()) => tracing::info!("reloaded: users, certificate and limits in force"),
        Err(e) => tracing::error!("reload failed, the configuration in force stays: {e}"),
    }
}

enum Signal {
    Reload,
    Stop,
}

/// SIGHUP, SIGTERM and SIGINT (Ctrl-C).
struct Signals {
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                hup: signal(SignalKind::hangup())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.hup.recv() => Signal::Reload,
                _ = self.term.recv() => Signal::Stop,
                _ = tokio::signal::ctrl_c() => Signal::Stop,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Stop
        }
    }
}
