//! `protodump smtp|imap|pop3 client|server [FILE]` (and `--client CLIENTFILE` for
//! `pop3 server`): decode one direction of a session, re-encode every message to stdout,
//! report what does not decode on stderr. See [`examples::protodump`].

use std::process::ExitCode;

fn main() -> ExitCode {
    examples::protodump::main(std::env::args_os().skip(1))
}
