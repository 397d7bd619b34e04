//! `protodump pop3 client [FILE]` and `protodump pop3 server [FILE] --client CLIENTFILE`.
//!
//! The client stream is command lines, and SASL lines after an `AUTH` whose exchange is not
//! complete yet. The server stream is replies, and whether a `+OK` starts a multi-line body
//! depends on the command it answers, so the server stream is read together with the
//! client's: the greeting first, then one reply per command, as
//! [`Command::response_kind`] says, a SASL line of the client's after each `+ ` challenge,
//! and a new greeting after the answer to each QUIT (streams that hold several sessions back
//! to back).
//!
//! Multi-line bodies are unstuffed and re-stuffed in chunks as they arrive. The lines of
//! CAPA, LIST, UIDL and LANG listings are parsed and re-encoded one by one; message content
//! (RETR, TOP) is passed through.

use std::{
    ffi::OsString,
    fmt,
    io::{self, Read},
    process::ExitCode,
};

use pop3_proto::{
    Command, DecodeError, Expect, Limits, Reply,
    codec::{
        self, MultiLineReceiver, SaslLine, Stuffer,
        line::{Frame, find_line},
    },
    types::sasl::base64_decode,
};

use super::{Direction, Input, Source, Step, StreamDecoder, UsageError, direction_and_source, run};

/// `protodump pop3 ...`: `args` starts after `pop3`.
pub fn main(args: impl IntoIterator<Item = OsString>) -> Result<ExitCode, UsageError> {
    let (args, client) = take_client_option(args)?;
    let (direction, source) = direction_and_source(args)?;
    match (direction, client) {
        (Direction::Client, None) => Ok(run(&mut ClientDecoder::default(), &source)),
        (Direction::Client, Some(_)) => {
            Err(UsageError("--client is for 'pop3 server' only".into()))
        }
        (Direction::Server, None) => Err(UsageError(
            "'pop3 server' needs --client CLIENTFILE: the client's commands tell which \
             responses are multi-line"
                .into(),
        )),
        (Direction::Server, Some(client)) => {
            if client == Source::Stdin && source == Source::Stdin {
                return Err(UsageError(
                    "the server stream and the client stream cannot both be stdin".into(),
                ));
            }
            let commands = match read_all(&client) {
                Ok(commands) => commands,
                Err(e) => {
                    eprintln!("protodump: cannot read {client}: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            Ok(run(&mut ServerDecoder::new(commands), &source))
        }
    }
}

/// Removes `--client CLIENTFILE` (or `--client=CLIENTFILE`) from `args`, wherever it is.
fn take_client_option(
    args: impl IntoIterator<Item = OsString>,
) -> Result<(Vec<OsString>, Option<Source>), UsageError> {
    let mut rest = Vec::new();
    let mut client = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let value = if arg == "--client" {
            Some(
                args.next()
                    .ok_or_else(|| UsageError("--client needs a file".into()))?,
            )
        } else {
            arg.to_str()
                .and_then(|a| a.strip_prefix("--client="))
                .map(OsString::from)
        };
        match value {
            Some(_) if client.is_some() => {
                return Err(UsageError("--client given twice".into()));
            }
            Some(value) => client = Some(Source::from_arg(value)),
            None => rest.push(arg),
        }
    }
    Ok((rest, client))
}

/// The whole client stream: it is read before the server's, and only its command lines are
/// kept in memory.
fn read_all(source: &Source) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    source.open()?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// What the client stream holds next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    /// A command line.
    Command,
    /// SASL response lines after `AUTH`: this many more at most (a `*` line ends sooner).
    Sasl { lines_left: u8 },
    /// The rest of an overlong line, already reported: dropped up to its LF. If it was a SASL
    /// line, the exchange is over.
    SkipLine,
}

/// Decodes what a POP3 client sends, without the server's side: how many SASL lines follow
/// an `AUTH` is assumed from its mechanism.
#[derive(Debug)]
pub struct ClientDecoder {
    limits: Limits,
    state: ClientState,
    /// Bytes at the start of the input known to hold no LF.
    scanned: usize,
}

impl Default for ClientDecoder {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl ClientDecoder {
    /// A decoder enforcing `limits` (line and argument lengths).
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: ClientState::Command,
            scanned: 0,
        }
    }

    /// Decodes and re-encodes a command line; sets up what follows it.
    fn command_line(&mut self, line: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let command = codec::parse_command_line(line, &self.limits).map_err(|e| e.to_string())?;
        codec::encode_command(&command, out).map_err(|e| format!("cannot re-encode: {e}"))?;
        if let Command::Auth { mechanism, initial } = &command {
            // How many lines a client sends, counting the initial response: PLAIN sends one,
            // LOGIN the user name and then the password, and for any other mechanism one is
            // assumed (the server's challenges, which would say, are not in this stream).
            let lines: u8 = if mechanism.as_str().eq_ignore_ascii_case("LOGIN") {
                2
            } else {
                1
            };
            if let lines_left @ 1.. = lines.saturating_sub(u8::from(initial.is_some())) {
                self.state = ClientState::Sasl { lines_left };
            }
        }
        Ok(())
    }

    /// Decodes and re-encodes one line of a SASL exchange, of which `lines_left` remain.
    fn sasl_line(&mut self, line: &[u8], lines_left: u8, out: &mut Vec<u8>) -> Result<(), String> {
        match codec::parse_sasl_line(line).map_err(|e| e.to_string())? {
            SaslLine::Cancel => codec::encode_sasl_response(None, out),
            SaslLine::Response(b64) => {
                let data = base64_decode(b64.expose()).ok_or("invalid base64")?;
                codec::encode_sasl_response(Some(&data), out);
                if lines_left > 1 {
                    self.state = ClientState::Sasl {
                        lines_left: lines_left - 1,
                    };
                }
            }
        }
        Ok(())
    }
}

impl StreamDecoder for ClientDecoder {
    fn decode(&mut self, input: Input<'_>, out: &mut Vec<u8>) -> Step {
        let sasl = match self.state {
            ClientState::Command => None,
            ClientState::Sasl { lines_left } => Some(lines_left),
            ClientState::SkipLine => {
                return skip_line(input.bytes, &mut self.state, ClientState::Command);
            }
        };
        let max = if sasl.is_some() {
            self.limits.max_sasl_line
        } else {
            self.limits.max_command_line
        };
        let frame = find_line(input.bytes, max, self.scanned);
        if frame != Frame::Partial {
            self.scanned = 0;
            // Whatever the line holds, a bad one or a `*` ends a SASL exchange.
            self.state = ClientState::Command;
        }
        match frame {
            Frame::Line { len, consumed } => {
                let line = &input.bytes[..len];
                let result = match sasl {
                    Some(lines_left) => self.sasl_line(line, lines_left, out),
                    None => self.command_line(line, out),
                };
                match result {
                    Ok(()) => Step::message(consumed),
                    Err(reason) => Step::error(consumed, input.offset, reason),
                }
            }
            Frame::Invalid { error, consumed } => Step::error(consumed, input.offset, error),
            Frame::TooLongSoFar => {
                self.state = ClientState::SkipLine;
                Step::error(
                    input.bytes.len(),
                    input.offset,
                    DecodeError::LineTooLong { max },
                )
            }
            Frame::Partial if input.eof && !input.bytes.is_empty() => {
                self.scanned = 0;
                self.state = ClientState::Command;
                Step::error(
                    input.bytes.len(),
                    input.offset,
                    "input ends inside a line (no CRLF)",
                )
            }
            Frame::Partial => {
                self.scanned = input.bytes.len();
                Step::more(0)
            }
        }
    }
}

/// What a multi-line body holds, by the command it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    /// Message content (RETR, TOP) or anything else: passed through.
    Content,
    /// CAPA: capabilities.
    Capabilities,
    /// LIST: scan listings.
    ScanListings,
    /// UIDL: unique-id listings.
    UniqueIds,
    /// LANG: languages.
    Languages,
}

impl BodyKind {
    fn of(command: &Command<'_>) -> Self {
        match command {
            Command::Capa => Self::Capabilities,
            Command::List { msg: None } => Self::ScanListings,
            Command::Uidl { msg: None } => Self::UniqueIds,
            Command::Lang { range: None } => Self::Languages,
            _ => Self::Content,
        }
    }

    /// Parses one unstuffed listing line (without CRLF) and appends its re-encoding.
    fn reencode(self, line: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
        match self {
            Self::Content => out.extend_from_slice(line),
            Self::Capabilities => codec::encode_capability(&codec::parse_capability(line)?, out),
            Self::ScanListings => {
                codec::encode_scan_listing(&codec::parse_scan_listing(line)?, out);
            }
            Self::UniqueIds => {
                codec::encode_unique_id_listing(&codec::parse_unique_id_listing(line)?, out);
            }
            Self::Languages => codec::encode_language(&codec::parse_language(line)?, out),
        }
        Ok(())
    }
}

impl fmt::Display for BodyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Content => "message content",
            Self::Capabilities => "CAPA",
            Self::ScanListings => "LIST",
            Self::UniqueIds => "UIDL",
            Self::Languages => "LANG",
        })
    }
}

/// What the reply being decoded answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answers {
    /// Nothing: it is the greeting.
    Greeting,
    /// A command line (one that did not decode is answered with a single line).
    Command {
        expect: Expect,
        body: BodyKind,
        quit: bool,
    },
    /// A SASL line, after a challenge.
    SaslLine,
    /// Nothing is left in the client stream to answer.
    Nothing,
}

impl Answers {
    fn expect(self) -> Expect {
        match self {
            Self::Greeting | Self::Nothing => Expect::SingleLine,
            Self::Command { expect, .. } => expect,
            Self::SaslLine => Expect::Sasl,
        }
    }
}

/// The client stream, read a line at a time as the server's replies call for it.
#[derive(Debug)]
struct ClientLines {
    bytes: Vec<u8>,
    pos: usize,
}

impl ClientLines {
    /// The next line, without CRLF; `Err` for a line that cannot be framed (too long, bare
    /// CR or LF), which a server answers with `-ERR`. `None` at the end: a last line without
    /// its CRLF was never answered.
    fn next_line(&mut self, max: usize) -> Option<Result<&[u8], ()>> {
        let rest = &self.bytes[self.pos..];
        let start = self.pos;
        match find_line(rest, max, 0) {
            Frame::Line { len, consumed } => {
                self.pos += consumed;
                Some(Ok(&self.bytes[start..start + len]))
            }
            Frame::Invalid { consumed, .. } => {
                self.pos += consumed;
                Some(Err(()))
            }
            // No LF in the rest of the stream at all.
            Frame::TooLongSoFar => {
                self.pos = self.bytes.len();
                Some(Err(()))
            }
            Frame::Partial => {
                self.pos = self.bytes.len();
                None
            }
        }
    }

    /// What the next command line asks for.
    fn command(&mut self, limits: &Limits) -> Answers {
        let single = Answers::Command {
            expect: Expect::SingleLine,
            body: BodyKind::Content,
            quit: false,
        };
        match self.next_line(limits.max_command_line) {
            None => Answers::Nothing,
            Some(Err(())) => single,
            Some(Ok(line)) => match codec::parse_command_line(line, limits) {
                Ok(command) => Answers::Command {
                    expect: command.response_kind(),
                    body: BodyKind::of(&command),
                    quit: command == Command::Quit,
                },
                Err(_) => single,
            },
        }
    }

    /// Takes the SASL line that answers a challenge. Whatever it holds, the server answers it.
    fn sasl_line(&mut self, limits: &Limits) -> Answers {
        match self.next_line(limits.max_sasl_line) {
            None => Answers::Nothing,
            Some(_) => Answers::SaslLine,
        }
    }
}

/// A multi-line body being decoded.
#[derive(Debug)]
struct BodyState {
    /// Offset of the reply's first line.
    start: u64,
    kind: BodyKind,
    receiver: MultiLineReceiver,
    stuffer: Stuffer,
    /// The unstuffed listing line being gathered.
    line: Vec<u8>,
    /// The last octet of content was a CR.
    after_cr: bool,
    /// Why the reply is refused, once that is known: the rest of the body is only consumed.
    error: Option<String>,
    /// Listing lines decoded so far.
    lines: usize,
}

impl BodyState {
    fn new(start: u64, kind: BodyKind, error: Option<String>) -> Self {
        Self {
            start,
            kind,
            receiver: MultiLineReceiver::new(),
            stuffer: Stuffer::new(),
            line: Vec::new(),
            after_cr: false,
            error,
            lines: 0,
        }
    }

    /// Takes the next piece of unstuffed body and appends its re-encoding to `out`.
    fn take(&mut self, data: &[u8], max_line: usize, out: &mut Vec<u8>) {
        if self.error.is_some() {
            return;
        }
        if self.kind == BodyKind::Content {
            // Only CRLF ends a line; the stuffer would turn a bare CR or LF into one.
            for &b in data {
                if (b == b'\n') != self.after_cr {
                    self.error = Some("bare CR or LF in message content".into());
                    return;
                }
                self.after_cr = b == b'\r';
            }
            self.stuffer.encode(data, out);
            return;
        }
        self.line.extend_from_slice(data);
        let mut done = 0;
        let mut encoded = Vec::new();
        while let Some(i) = self.line[done..].windows(2).position(|w| w == b"\r\n") {
            let line = &self.line[done..done + i];
            self.lines += 1;
            let result = if i + 2 > max_line {
                Err(DecodeError::LineTooLong { max: max_line })
            } else {
                self.kind.reencode(line, &mut encoded)
            };
            if let Err(e) = result {
                self.error = Some(format!("{} line {}: {e}", self.kind, self.lines));
                return;
            }
            self.stuffer.encode(&encoded, out);
            encoded.clear();
            done += i + 2;
        }
        self.line.drain(..done);
        if self.line.len() >= max_line {
            self.error = Some(format!(
                "{} line {}: {}",
                self.kind,
                self.lines + 1,
                DecodeError::LineTooLong { max: max_line }
            ));
        }
    }
}

/// What the server stream holds next.
#[derive(Debug)]
enum ServerState {
    /// The first line of a reply.
    Reply,
    /// The body of a multi-line reply.
    Body(Box<BodyState>),
    /// The rest of an overlong line, already reported: dropped up to its LF.
    SkipLine,
}

/// Decodes what a POP3 server sends, reading the client's stream to know what each reply
/// answers.
#[derive(Debug)]
pub struct ServerDecoder {
    limits: Limits,
    client: ClientLines,
    state: ServerState,
    /// What the reply being framed answers, once that is decided.
    answering: Option<Answers>,
    /// The next reply is a greeting: at the start, and after the answer to QUIT.
    greeting_due: bool,
    /// The last reply was a SASL challenge: the client's next line is a SASL line.
    challenged: bool,
    /// Bytes at the start of the input known to hold no LF.
    scanned: usize,
    /// Unstuffed body between the receiver and the stuffer.
    scratch: Vec<u8>,
}

impl ServerDecoder {
    /// A decoder for the replies to the client stream `client` (all of it).
    pub fn new(client: Vec<u8>) -> Self {
        Self::with_limits(client, Limits::default())
    }

    /// A decoder enforcing `limits` on both streams.
    pub fn with_limits(client: Vec<u8>, limits: Limits) -> Self {
        Self {
            limits,
            client: ClientLines {
                bytes: client,
                pos: 0,
            },
            state: ServerState::Reply,
            answering: None,
            greeting_due: true,
            challenged: false,
            scanned: 0,
            scratch: Vec::new(),
        }
    }

    /// Decides what the next reply answers, consuming from the client stream.
    fn next_answers(&mut self) -> Answers {
        if std::mem::take(&mut self.greeting_due) {
            Answers::Greeting
        } else if std::mem::take(&mut self.challenged) {
            self.client.sasl_line(&self.limits)
        } else {
            self.client.command(&self.limits)
        }
    }

    /// The reply being framed is over, whatever it held: returns what it answered.
    fn end_reply(&mut self) -> Answers {
        let answers = self.answering.take().unwrap_or(Answers::Nothing);
        if let Answers::Command { quit: true, .. } = answers {
            self.greeting_due = true;
        }
        answers
    }

    /// Frames the first line of a reply, decodes and re-encodes it; sets up the body.
    fn reply(&mut self, input: Input<'_>, out: &mut Vec<u8>) -> Step {
        let bytes = input.bytes;
        if bytes.is_empty() {
            return Step::more(0);
        }
        let answers = match self.answering {
            Some(answers) => answers,
            None => {
                let answers = self.next_answers();
                self.answering = Some(answers);
                answers
            }
        };
        let expect = answers.expect();
        let max = if expect == Expect::Sasl {
            self.limits.max_sasl_line.max(self.limits.max_response_line)
        } else {
            self.limits.max_response_line
        };
        let frame = find_line(bytes, max, self.scanned);
        if frame == Frame::Partial && !input.eof {
            self.scanned = bytes.len();
            return Step::more(0);
        }
        self.scanned = 0;
        self.end_reply();
        let (len, consumed) = match frame {
            Frame::Line { len, consumed } => (len, consumed),
            Frame::Invalid { error, consumed } => {
                return Step::error(consumed, input.offset, error);
            }
            Frame::TooLongSoFar => {
                self.state = ServerState::SkipLine;
                return Step::error(bytes.len(), input.offset, DecodeError::LineTooLong { max });
            }
            Frame::Partial => {
                return Step::error(
                    bytes.len(),
                    input.offset,
                    "input ends inside a line (no CRLF)",
                );
            }
        };
        let line = &bytes[..len];
        if answers == Answers::Nothing {
            return Step::error(
                consumed,
                input.offset,
                "a reply without a command: the client stream has ended",
            );
        }
        let body = match answers {
            Answers::Command { body, .. } => body,
            _ => BodyKind::Content,
        };
        match codec::parse_reply_line(line, expect) {
            Ok(Reply::Single(response)) if expect == Expect::MultiLine && response.is_ok() => {
                codec::encode_response(&response, out);
                self.state = ServerState::Body(Box::new(BodyState::new(input.offset, body, None)));
                Step::more(consumed)
            }
            Ok(reply) => {
                codec::encode_reply(&reply, out);
                self.challenged = matches!(reply, Reply::Continue(_));
                Step::message(consumed)
            }
            // A body follows a `+OK` even when the rest of the line is bad: it goes with the
            // reply.
            Err(e) if expect == Expect::MultiLine && starts_with_ok(line) => {
                self.state = ServerState::Body(Box::new(BodyState::new(
                    input.offset,
                    body,
                    Some(e.to_string()),
                )));
                Step::more(consumed)
            }
            Err(e) => Step::error(consumed, input.offset, e),
        }
    }
}

fn starts_with_ok(line: &[u8]) -> bool {
    line.get(..3)
        .is_some_and(|s| s.eq_ignore_ascii_case(b"+OK"))
}

impl StreamDecoder for ServerDecoder {
    fn decode(&mut self, input: Input<'_>, out: &mut Vec<u8>) -> Step {
        let body = match &mut self.state {
            ServerState::Reply => return self.reply(input, out),
            ServerState::SkipLine => {
                return skip_line(input.bytes, &mut self.state, ServerState::Reply);
            }
            ServerState::Body(body) => body,
        };
        let (consumed, done) = body.receiver.decode(input.bytes, &mut self.scratch);
        body.take(&self.scratch, self.limits.max_response_line, out);
        self.scratch.clear();
        if done {
            body.stuffer.finish(out);
        } else if !input.eof {
            return Step::more(consumed);
        }
        let (start, error) = (body.start, body.error.take());
        self.state = ServerState::Reply;
        match error {
            None if done => Step::message(consumed),
            None => Step::error(
                consumed,
                start,
                "input ends inside a multi-line response (no '.' line)",
            ),
            Some(reason) => Step::error(consumed, start, reason),
        }
    }
}

/// Drops input up to and including an LF; then sets `state` to `after`.
fn skip_line<T>(bytes: &[u8], state: &mut T, after: T) -> Step {
    match bytes.iter().position(|&b| b == b'\n') {
        Some(lf) => {
            *state = after;
            Step::more(lf + 1)
        }
        None => Step::more(bytes.len()),
    }
}
