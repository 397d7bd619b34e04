use std::{collections::BTreeMap, path::Path, time::Duration};

use super::*;

fn flags(args: &[&str]) -> BTreeMap<String, Vec<String>> {
    CommandLine::parse(args.iter().map(|s| (*s).to_owned()))
        .unwrap()
        .flags
}

fn file(text: &str) -> Result<ConfigFile, ConfigError> {
    ConfigFile::parse(Path::new("mail.toml"), text)
}

#[test]
fn defaults_are_what_cargo_run_starts() {
    let s = resolve(None, &BTreeMap::new()).unwrap();
    assert_eq!(s, Settings::default());
    assert_eq!(s.smtp.addr(), Some("127.0.0.1:2525".parse().unwrap()));
    assert_eq!(s.lmtp, Listen::Off);
    assert_eq!(s.metrics, Listen::Off);
    assert_eq!((s.pid_file, s.run_as), (None, None));
}

#[test]
fn every_key_is_a_flag_and_flags_override_the_file() {
    let f = file(
        "smtp = \"0.0.0.0:25\"\nmax-connections = 100\ndomain = [\"a.example\", \"b.example\"]\n\
         idle-timeout = \"5m\"\nmax-message-size = \"10M\"\nallow-plaintext-loopback = false\n\
         log-format = \"json\"\n",
    )
    .unwrap();
    let s = resolve(Some(&f), &BTreeMap::new()).unwrap();
    assert_eq!(s.smtp.addr(), Some("0.0.0.0:25".parse().unwrap()));
    assert_eq!(s.max_connections, 100);
    assert_eq!(s.domain, ["a.example", "b.example"]);
    assert_eq!(s.idle_timeout, Some(Seconds(Duration::from_secs(300))));
    assert_eq!(s.max_message_size, Some(Octets(10 << 20)));
    assert_eq!(s.allow_plaintext_loopback, YesNo(false));
    assert_eq!(s.log_format, LogFormat::Json);
    let over = flags(&[
        "--max-connections",
        "7",
        "--domain",
        "c.example",
        "--allow-plaintext-loopback=yes",
        "--smtp",
        "none",
    ]);
    let s = resolve(Some(&f), &over).unwrap();
    assert_eq!(s.max_connections, 7);
    assert_eq!(s.domain, ["c.example"], "a flag replaces the file's list");
    assert_eq!(s.allow_plaintext_loopback, YesNo(true));
    assert_eq!(s.smtp, Listen::Off);
    assert_eq!(s.log_format, LogFormat::Json, "the file's value stays");
    let repeated = resolve(None, &flags(&["--user", "a:x", "--user", "B:y:z"])).unwrap();
    let names: Vec<_> = repeated
        .user
        .iter()
        .map(|u| (&*u.name, &*u.password))
        .collect();
    assert_eq!(names, [("a", "x"), ("b", "y:z")]);
    // A single-valued flag given twice: the last one counts.
    let twice = flags(&[
        "--imap",
        "127.0.0.1:1",
        "--imap",
        "none",
        "--hostname",
        "a",
        "--hostname",
        "b",
    ]);
    let twice = resolve(None, &twice).unwrap();
    assert_eq!((twice.imap, &*twice.hostname), (Listen::Off, "b"));
    // Every key has a flag: each is accepted on the command line.
    for key in Settings::keys() {
        let err = resolve(None, &flags(&[&format!("--{key}"), "%bad%"])).err();
        if let Some(e) = err {
            assert!(!e.0.contains("unknown option"), "--{key}: {e}");
            let from_check = ["cert and key go together", "run-as-group needs run-as"];
            assert!(
                e.0.starts_with(&format!("--{key} %bad%: ")) || from_check.contains(&&*e.0),
                "--{key}: {e}"
            );
        }
    }
    assert!(Settings::keys().len() >= 28, "{:?}", Settings::keys());
}

#[test]
fn unknown_keys_and_bad_values_name_the_file_line_and_key() {
    let e = file("hostname = \"mx\"\n\nmax-conections = 5\n").unwrap_err();
    assert!(
        e.0.starts_with("mail.toml:3: key `max-conections`: unknown field"),
        "{e}"
    );
    let e = file("# comment\nmax-connections = \"many\"\n").unwrap_err();
    assert!(
        e.0.starts_with("mail.toml:2: key `max-connections`: "),
        "{e}"
    );
    let e = file("imap = \"localhost\"\n").unwrap_err();
    assert!(
        e.0.starts_with("mail.toml:1: key `imap`: expected an address"),
        "{e}"
    );
    let e = file("log = \"loud\"\n").unwrap_err();
    assert!(e.0.contains(":1: key `log`: expected error, warn"), "{e}");
    let e = file("hostname = \n").unwrap_err();
    assert!(e.0.starts_with("mail.toml:1:"), "{e}");
    let e = resolve(None, &flags(&["--max-conections", "5"])).unwrap_err();
    assert_eq!(e.0, "unknown option --max-conections");
    let e = resolve(None, &flags(&["--max-connections", "lots"])).unwrap_err();
    assert_eq!(e.0, "--max-connections lots: expected a number");
    let e = resolve(None, &flags(&["--log-format", "xml"])).unwrap_err();
    assert!(
        e.0.starts_with("--log-format xml: unknown variant `xml`"),
        "{e}"
    );
    let e = resolve(None, &flags(&["--cert", "c.pem"])).unwrap_err();
    assert_eq!(e.0, "cert and key go together");
    assert!(CommandLine::parse(["--smtp".to_owned()]).is_err());
    assert!(CommandLine::parse(["stray".to_owned()]).is_err());
}

#[test]
fn the_example_file_in_the_repository_is_valid_and_runs_as_cargo_run_does() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mailserver.toml");
    let f = ConfigFile::read(&path).unwrap();
    let s = resolve(Some(&f), &BTreeMap::new()).unwrap();
    let d = Settings::default();
    assert_eq!((s.smtp, s.imap, s.pop3s), (d.smtp, d.imap, d.pop3s));
    assert_eq!(s.data_dir, d.data_dir);
    // Every key appears in it, set or commented out, so the file documents them all.
    let text = std::fs::read_to_string(&path).unwrap();
    for key in Settings::keys() {
        let present = text.lines().any(|l| {
            l.trim_start_matches(['#', ' '])
                .starts_with(&format!("{key} ="))
        });
        assert!(present, "mailserver.toml does not mention {key}");
    }
}

/// `max-message-size` bounds IMAP APPEND as it bounds SMTP (the APPENDLIMIT follows), and
/// the login throttle is set from its three keys, `login-lockout-after = 0` turning the
/// lockout off.
#[test]
fn message_size_and_login_throttle_reach_the_listeners() {
    let s = resolve(
        None,
        &flags(&[
            "--max-message-size",
            "1000000",
            "--login-delay-after",
            "5",
            "--login-lockout-after",
            "0",
            "--login-lockout-time",
            "60",
        ]),
    )
    .unwrap();
    let o = s.server_options(None).unwrap();
    assert_eq!(o.smtp_limits.max_message_size, 1_000_000);
    let frame = o.imap_limits.frame;
    assert_eq!(frame.max_literal.min(frame.max_message), 1_000_000);
    assert!(frame.max_nonsync_literal <= 1_000_000);
    assert_eq!(o.throttle.slow_after, 5);
    assert_eq!(o.throttle.refuse_after, u32::MAX);
    assert_eq!(o.throttle.forget_after, Duration::from_secs(60));
    let large = resolve(None, &flags(&["--max-message-size", "200M"])).unwrap();
    let frame = large.server_options(None).unwrap().imap_limits.frame;
    assert_eq!(frame.max_literal.min(frame.max_message), 200 << 20);
}
