//! `protodump`: decode one direction of a protocol session with the protocol crates'
//! `codec::transcript` decoders, re-encode every message, and report what does not decode.
//! See [`USAGE`].

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

/// The outcome of one [`StreamDecoder::decode`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Bytes of the input the decoder is done with.
    pub consumed: usize,
    /// What happened. `None` with nothing consumed: more input is needed.
    pub event: Option<Event>,
}

/// What a decoder found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A piece of a message decoded; its re-encoding is in the output buffer.
    Piece,
    /// A message ended and decoded; its re-encoding is in the output buffer.
    Message,
    /// A message did not decode: `at byte N: reason`. What it left in the output buffer is
    /// discarded.
    Error(String),
}

/// A decoder for one direction of a session that re-encodes what it decodes.
pub trait StreamDecoder {
    /// Decodes from the start of `input` (`eof`: nothing follows it), appending re-encoded
    /// bytes to `out`.
    fn decode(&mut self, input: &[u8], eof: bool, out: &mut Vec<u8>) -> Step;
}

/// Turns what a crate's transcript decoder found into a [`Step`]. `encode` appends an item's
/// re-encoding to `out` and says whether the item ended a message; when it cannot, the reason
/// is reported at `at`, the offset of the input's first byte.
pub fn reencode<I, E: fmt::Display>(
    at: u64,
    consumed: usize,
    found: Option<Result<I, E>>,
    encode: impl FnOnce(I) -> Result<bool, String>,
) -> Step {
    let event = found.map(|found| match found {
        Err(e) => Event::Error(e.to_string()),
        Ok(item) => match encode(item) {
            Ok(true) => Event::Message,
            Ok(false) => Event::Piece,
            Err(e) => Event::Error(format!("at byte {at}: cannot re-encode: {e}")),
        },
    });
    Step { consumed, event }
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
    let (mut buf, mut pos, mut eof) = (Vec::with_capacity(READ_CHUNK), 0, false);
    let mut encoded = Vec::new();
    loop {
        let step = decoder.decode(&buf[pos..], eof, &mut encoded);
        pos += step.consumed;
        match step.event {
            Some(Event::Piece) => {}
            Some(Event::Message) => {
                out.write_all(&encoded)?;
                encoded.clear();
                summary.messages += 1;
            }
            Some(Event::Error(e)) => {
                encoded.clear();
                summary.errors += 1;
                writeln!(err, "error {e}")?;
            }
            None if step.consumed > 0 => {}
            None if eof => break,
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

/// Why a command line does not fit the usage.
pub type UsageError = String;

/// Where the input comes from: a file, or stdin (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source(pub Option<PathBuf>);

impl Source {
    /// `-` is stdin, anything else a path.
    pub fn from_arg(arg: OsString) -> Self {
        Self((arg != "-").then(|| arg.into()))
    }

    /// Opens the input.
    pub fn open(&self) -> io::Result<Box<dyn Read>> {
        Ok(match &self.0 {
            None => Box::new(io::stdin().lock()),
            Some(path) => Box::new(File::open(path)?),
        })
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("stdin"),
            Some(path) => write!(f, "{}", path.display()),
        }
    }
}

/// `client|server [FILE]`, for a protocol whose directions decode apart.
fn one_direction<C: StreamDecoder, S: StreamDecoder>(
    args: impl IntoIterator<Item = OsString>,
    client: fn() -> C,
    server: fn() -> S,
) -> Result<ExitCode, UsageError> {
    Ok(match direction_and_source(args)? {
        (Direction::Client, source) => run(&mut client(), &source),
        (Direction::Server, source) => run(&mut server(), &source),
    })
}

/// The common arguments `client|server [FILE]`, in this order.
pub fn direction_and_source(
    args: impl IntoIterator<Item = OsString>,
) -> Result<(Direction, Source), UsageError> {
    let mut args = args.into_iter();
    let direction = match args.next() {
        Some(d) if d == "client" => Direction::Client,
        Some(d) if d == "server" => Direction::Server,
        Some(d) => {
            let d = d.to_string_lossy();
            return Err(format!("expected 'client' or 'server', not '{d}'"));
        }
        None => return Err("expected 'client' or 'server'".into()),
    };
    let source = match args.next() {
        None => Source(None),
        Some(a) if a != "-" && a.to_string_lossy().starts_with('-') => {
            let a = a.to_string_lossy();
            return Err(format!("unknown option '{a}'"));
        }
        Some(a) => Source::from_arg(a),
    };
    if let Some(extra) = args.next() {
        let extra = extra.to_string_lossy();
        return Err(format!("unexpected argument '{extra}'"));
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
    // A failing stderr leaves nothing to report to.
    let _ = match &result {
        Ok(summary) => writeln!(stderr, "{summary}"),
        Err(e) => writeln!(stderr, "protodump: {source}: {e}"),
    };
    let _ = stderr.flush();
    match result {
        Ok(summary) if summary.errors == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(_) => ExitCode::from(2),
    }
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
        Some(p) if p == "smtp" => one_direction(
            args,
            smtp::ClientDecoder::default,
            smtp::ServerDecoder::default,
        ),
        Some(p) if p == "imap" => one_direction(
            args,
            imap::ClientDecoder::default,
            imap::ServerDecoder::default,
        ),
        Some(p) if p == "pop3" => pop3::main(args),
        Some(p) => Err(format!("unknown protocol '{}'", p.to_string_lossy())),
        None => Err("expected a protocol".into()),
    };
    result.unwrap_or_else(|e| {
        eprint!("protodump: {e}\n{USAGE}");
        ExitCode::from(2)
    })
}
