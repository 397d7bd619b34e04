//! `protodump`: decode one direction of a protocol session, re-encode every message, and
//! report what does not decode.
//!
//! ```text
//! protodump smtp client|server [FILE]
//! protodump imap client|server [FILE]
//! protodump pop3 client [FILE]
//! protodump pop3 server [FILE] --client CLIENTFILE
//! ```
//!
//! The input (FILE, or stdin when FILE is absent or `-`) is read in chunks and fed to a
//! per-protocol [`StreamDecoder`]. The re-encoded form of every message that decodes goes to
//! stdout; for every message that does not, `error at byte N: <reason>` goes to stderr, where
//! N is the offset of the start of that message in the input, and decoding resumes after it
//! (a bad line is skipped through its LF). The last line on stderr is
//! `N messages, M errors`. Exit status: 0 without errors, 1 with errors, 2 for a usage error
//! or when the input cannot be read or the output written.
//!
//! Each protocol lives in its own module with its own argument parsing, so a protocol that
//! needs both directions at once (`protodump pop3 server FILE --client CLIENTFILE`: whether
//! a `+OK` starts a multi-line body depends on the command it answers) can take extra
//! arguments without touching the others.

pub mod imap;
pub mod pop3;
pub mod smtp;

use std::{
    ffi::OsString,
    fmt,
    fs::File,
    io::{self, Read, Write},
    path::PathBuf,
    process::ExitCode,
};

/// The usage text, printed with `--help` and after a usage error.
pub const USAGE: &str = "usage: protodump smtp client|server [FILE]
       protodump imap client|server [FILE]
       protodump pop3 client [FILE]
       protodump pop3 server [FILE] --client CLIENTFILE

Decodes one direction of a session (FILE, or stdin when FILE is absent or '-'),
writes every message re-encoded to stdout, and reports each message that does not
decode on stderr as 'error at byte N: <reason>'. The last line on stderr is
'N messages, M errors'. Exit status: 0 without errors, 1 with errors, 2 for usage
or I/O errors.

  smtp client   commands, DATA and BDAT payloads, SASL lines
  smtp server   replies
  imap client   commands with their literals, DONE after IDLE, SASL lines
  imap server   responses with their literals
  pop3 client   commands, SASL lines
  pop3 server   replies; CLIENTFILE holds the client's side of the same sessions,
                which tells which replies are multi-line
";

/// How many bytes the driver reads at a time.
const READ_CHUNK: usize = 64 * 1024;

/// The bytes a decoder is offered.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The unconsumed input buffered so far.
    pub bytes: &'a [u8],
    /// Offset of `bytes[0]` in the whole input.
    pub offset: u64,
    /// No more bytes will follow `bytes`.
    pub eof: bool,
}

/// The outcome of one [`StreamDecoder::decode`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Bytes of the input the decoder is done with.
    pub consumed: usize,
    /// What happened, if a message ended.
    pub event: Option<Event>,
}

impl Step {
    /// No message ended: `consumed` bytes were used. With nothing consumed, the decoder
    /// needs more input to go on.
    pub const fn more(consumed: usize) -> Self {
        Self {
            consumed,
            event: None,
        }
    }

    /// A message ended and decoded.
    pub const fn message(consumed: usize) -> Self {
        Self {
            consumed,
            event: Some(Event::Message),
        }
    }

    /// A message that starts at offset `at` did not decode.
    pub fn error(consumed: usize, at: u64, reason: impl fmt::Display) -> Self {
        Self {
            consumed,
            event: Some(Event::Error {
                at,
                reason: reason.to_string(),
            }),
        }
    }
}

/// A message boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message decoded; its re-encoding is in the output buffer.
    Message,
    /// A message did not decode. Whatever it left in the output buffer is discarded.
    Error {
        /// Offset of the start of the message in the whole input.
        at: u64,
        /// Why.
        reason: String,
    },
}

/// A decoder for one direction of a session, fed from a buffer that grows as input arrives.
///
/// A call may consume some bytes without ending a message (a DATA payload arrives in
/// pieces); the re-encoding accumulates in `out` until the message ends. A call that
/// consumes nothing and reports nothing asks for more input. At `eof` the decoder must
/// eventually consume everything, reporting a truncated message as an error.
pub trait StreamDecoder {
    /// Decodes from the start of `input`, appending re-encoded bytes to `out`.
    fn decode(&mut self, input: Input<'_>, out: &mut Vec<u8>) -> Step;
}

/// What a run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Messages decoded and re-encoded.
    pub messages: u64,
    /// Messages that did not decode.
    pub errors: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} messages, {} errors", self.messages, self.errors)
    }
}

/// Runs `decoder` over all of `input`: re-encoded messages to `out`, one line per error to
/// `err`. The summary line is left to the caller.
pub fn dump(
    decoder: &mut dyn StreamDecoder,
    mut input: impl Read,
    mut out: impl Write,
    mut err: impl Write,
) -> io::Result<Summary> {
    let mut summary = Summary::default();
    let mut chunk = vec![0; READ_CHUNK];
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut pos = 0;
    let mut offset = 0u64;
    let mut eof = false;
    let mut encoded = Vec::new();
    loop {
        let step = decoder.decode(
            Input {
                bytes: &buf[pos..],
                offset,
                eof,
            },
            &mut encoded,
        );
        debug_assert!(step.consumed <= buf.len() - pos);
        pos += step.consumed;
        offset += step.consumed as u64;
        match step.event {
            Some(Event::Message) => {
                out.write_all(&encoded)?;
                encoded.clear();
                summary.messages += 1;
            }
            Some(Event::Error { at, reason }) => {
                encoded.clear();
                summary.errors += 1;
                writeln!(err, "error at byte {at}: {reason}")?;
            }
            None if step.consumed > 0 => {}
            None if eof => {
                debug_assert_eq!(pos, buf.len(), "the decoder left input at the end");
                break;
            }
            None => {
                buf.drain(..pos);
                pos = 0;
                let n = loop {
                    match input.read(&mut chunk) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other?,
                    }
                };
                buf.extend_from_slice(&chunk[..n]);
                eof = n == 0;
            }
        }
    }
    out.flush()?;
    Ok(summary)
}

/// Which side of the session the input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// What a client sends.
    Client,
    /// What a server sends.
    Server,
}

/// A command line that does not fit the usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input.
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Source {
    /// `-` is stdin, anything else a path.
    pub fn from_arg(arg: OsString) -> Self {
        if arg == "-" {
            Self::Stdin
        } else {
            Self::File(arg.into())
        }
    }

    /// Opens the input.
    pub fn open(&self) -> io::Result<Box<dyn Read>> {
        Ok(match self {
            Self::Stdin => Box::new(io::stdin().lock()),
            Self::File(path) => Box::new(File::open(path)?),
        })
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stdin => f.write_str("stdin"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The common arguments `client|server [FILE]`, in this order. Used by protocols whose
/// input is one direction of a session.
pub fn direction_and_source(
    args: impl IntoIterator<Item = OsString>,
) -> Result<(Direction, Source), UsageError> {
    let mut args = args.into_iter();
    let direction = match args.next() {
        Some(d) if d == "client" => Direction::Client,
        Some(d) if d == "server" => Direction::Server,
        Some(d) => {
            return Err(UsageError(format!(
                "expected 'client' or 'server', not '{}'",
                d.to_string_lossy()
            )));
        }
        None => return Err(UsageError("expected 'client' or 'server'".into())),
    };
    let source = match args.next() {
        None => Source::Stdin,
        Some(a) if a != "-" && a.to_string_lossy().starts_with('-') => {
            return Err(UsageError(format!(
                "unknown option '{}'",
                a.to_string_lossy()
            )));
        }
        Some(a) => Source::from_arg(a),
    };
    if let Some(extra) = args.next() {
        return Err(UsageError(format!(
            "unexpected argument '{}'",
            extra.to_string_lossy()
        )));
    }
    Ok((direction, source))
}

/// Runs a decoder over `source`, writing to stdout and stderr, and returns the exit status.
pub fn run(decoder: &mut dyn StreamDecoder, source: &Source) -> ExitCode {
    let input = match source.open() {
        Ok(input) => input,
        Err(e) => {
            eprintln!("protodump: cannot open {source}: {e}");
            return ExitCode::from(2);
        }
    };
    let stdout = io::BufWriter::new(io::stdout().lock());
    let mut stderr = io::BufWriter::new(io::stderr().lock());
    let result = dump(decoder, input, stdout, &mut stderr);
    let status = match &result {
        Ok(summary) if summary.errors == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(_) => ExitCode::from(2),
    };
    // A failing stderr leaves nothing to report to.
    let _ = match result {
        Ok(summary) => writeln!(stderr, "{summary}"),
        Err(e) => writeln!(stderr, "protodump: {source}: {e}"),
    };
    let _ = stderr.flush();
    status
}

/// The entry point: `args` without the program name.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let mut args = args.into_iter().peekable();
    if args
        .peek()
        .is_some_and(|a| a == "-h" || a == "--help" || a == "help")
    {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = match args.next() {
        Some(p) if p == "smtp" => smtp::main(args),
        Some(p) if p == "imap" => imap::main(args),
        Some(p) if p == "pop3" => pop3::main(args),
        Some(p) => Err(UsageError(format!(
            "unknown protocol '{}'",
            p.to_string_lossy()
        ))),
        None => Err(UsageError("expected a protocol".into())),
    };
    result.unwrap_or_else(|e| {
        eprint!("protodump: {e}\n{USAGE}");
        ExitCode::from(2)
    })
}
