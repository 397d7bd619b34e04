//! What a server sends: the greeting, and a reply to each of the client's commands.

use std::ops::Range;

use super::{Step, TranscriptError, TranscriptErrorKind, skip_line};
use crate::{
    DecodeError, Limits,
    codec::{
        self, MultiLineReceiver,
        line::{Frame, find_line},
    },
    types::{
        capability::Capability,
        command::Command,
        listing::{Language, ScanListing, UniqueIdListing},
        response::{Continuation, Expect, Reply, Response},
    },
};

/// What a [`ServerDecoder`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerItem<'a> {
    /// A single-line response: the greeting, a `-ERR`, a `+OK` to a single-line command, the
    /// end of an AUTH exchange.
    Response(Response<'a>),
    /// A SASL challenge during AUTH: `"+" SP [base64]`.
    Challenge(Continuation<'a>),
    /// The `+OK` that starts a multi-line reply; its body follows, up to
    /// [`ServerItem::MultiLineEnd`].
    MultiLineStart(Response<'a>),
    /// A piece of message content (the answer to RETR or TOP, or to any other command whose
    /// body is not a listing), unstuffed.
    Content(&'a [u8]),
    /// A line of the answer to CAPA.
    Capability(Capability<'a>),
    /// A line of the answer to LIST without argument.
    ScanListing(ScanListing),
    /// A line of the answer to UIDL without argument.
    UniqueIdListing(UniqueIdListing<'a>),
    /// A line of the answer to LANG without argument.
    Language(Language<'a>),
    /// The `.` line that ends a multi-line reply.
    MultiLineEnd,
}

impl ServerItem<'_> {
    /// Whether the item completes a message: a single-line reply or the end of a multi-line
    /// one, not its first line or a piece of its body.
    pub fn ends_message(&self) -> bool {
        matches!(
            self,
            Self::Response(_) | Self::Challenge(_) | Self::MultiLineEnd
        )
    }
}

/// What a multi-line body holds, by the command it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    /// Message content (RETR, TOP) or anything else: passed on in pieces.
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

    /// The command whose answer it is, for errors.
    fn command(self) -> &'static str {
        match self {
            Self::Content => "message content",
            Self::Capabilities => "CAPA",
            Self::ScanListings => "LIST",
            Self::UniqueIds => "UIDL",
            Self::Languages => "LANG",
        }
    }

    /// Parses one unstuffed line of a listing, without its CRLF.
    fn parse(self, line: &[u8]) -> Result<ServerItem<'_>, DecodeError> {
        Ok(match self {
            Self::Content => ServerItem::Content(line),
            Self::Capabilities => ServerItem::Capability(codec::parse_capability(line)?),
            Self::ScanListings => ServerItem::ScanListing(codec::parse_scan_listing(line)?),
            Self::UniqueIds => ServerItem::UniqueIdListing(codec::parse_unique_id_listing(line)?),
            Self::Languages => ServerItem::Language(codec::parse_language(line)?),
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
        let start = self.pos;
        match find_line(&self.bytes[start..], max, 0) {
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
struct Body {
    /// Offset of the reply's first line.
    start: u64,
    kind: BodyKind,
    receiver: MultiLineReceiver,
    /// The unstuffed piece of content being reported (or dropped).
    data: Vec<u8>,
    /// Unstuffed octets of a listing: the lines before `reported` were reported.
    listing: Vec<u8>,
    reported: usize,
    /// Octets after `reported` known to hold no CRLF.
    searched: usize,
    /// Listing lines found so far.
    lines: usize,
    /// The last octet of content was a CR.
    after_cr: bool,
    /// An error was reported: the rest of the body is only consumed.
    skipping: bool,
    /// Once the body is over: `true` at its `.` line, `false` when the input ended first.
    over: Option<bool>,
    /// The end was reported.
    finished: bool,
}

/// What a body found: an item, or what is wrong with the body.
type BodyFound<'a> = Option<Result<ServerItem<'a>, TranscriptErrorKind>>;

impl Body {
    fn new(start: u64, kind: BodyKind, skipping: bool) -> Self {
        Self {
            start,
            kind,
            receiver: MultiLineReceiver::new(),
            data: Vec::new(),
            listing: Vec::new(),
            reported: 0,
            searched: 0,
            lines: 0,
            after_cr: false,
            skipping,
            over: None,
            finished: false,
        }
    }

    /// Whether nothing is left to report: the next reply follows.
    fn is_over(&self) -> bool {
        self.finished || (self.skipping && self.over.is_some())
    }

    /// Decodes the next piece of the body: a listing line already gathered, or from `input`.
    /// Returns the octets consumed and what was found.
    fn next<'a>(
        &'a mut self,
        input: &'a [u8],
        eof: bool,
        max_line: usize,
    ) -> (usize, BodyFound<'a>) {
        let listing = self.kind != BodyKind::Content;
        let mut line = if listing && !self.skipping {
            self.next_line(max_line)
        } else {
            None
        };
        let mut consumed = 0;
        if line.is_none() && self.over.is_none() {
            self.data.clear();
            self.listing.drain(..self.reported);
            self.reported = 0;
            let out = if listing && !self.skipping {
                &mut self.listing
            } else {
                &mut self.data
            };
            let done;
            (consumed, done) = self.receiver.decode(input, out);
            if done || eof {
                self.over = Some(done);
            }
            if !self.skipping {
                if listing {
                    line = self.next_line(max_line);
                } else if !self.data.is_empty() {
                    return match self.check_line_endings() {
                        Ok(()) => (consumed, Some(Ok(ServerItem::Content(&self.data)))),
                        Err(kind) => (consumed, Some(Err(kind))),
                    };
                }
            }
        }
        let found = match line {
            Some(Ok(range)) => match self.kind.parse(&self.listing[range]) {
                Ok(item) => Some(Ok(item)),
                Err(error) => {
                    self.skipping = true;
                    Some(Err(TranscriptErrorKind::Listing {
                        command: self.kind.command(),
                        line: self.lines,
                        error,
                    }))
                }
            },
            Some(Err(kind)) => Some(Err(kind)),
            None => match self.over {
                // Over, and already reported.
                Some(_) if self.skipping => None,
                Some(done) => {
                    self.finished = true;
                    Some(if done {
                        Ok(ServerItem::MultiLineEnd)
                    } else {
                        Err(TranscriptErrorKind::UnterminatedBody)
                    })
                }
                None => None,
            },
        };
        (consumed, found)
    }

    /// The next complete listing line gathered, as a range of `listing` without its CRLF, or
    /// the error for a line over `max_line` (the rest of the body is then skipped).
    fn next_line(&mut self, max_line: usize) -> Option<Result<Range<usize>, TranscriptErrorKind>> {
        let rest = &self.listing[self.reported..];
        let Some(len) = memchr::memmem::find(&rest[self.searched..], b"\r\n") else {
            // A CR at the end may be followed by the LF.
            self.searched = rest.len().saturating_sub(1);
            return (rest.len() >= max_line).then(|| Err(self.too_long(self.lines + 1, max_line)));
        };
        let len = self.searched + len;
        let start = self.reported;
        self.reported += len + 2;
        self.searched = 0;
        self.lines += 1;
        if len + 2 > max_line {
            return Some(Err(self.too_long(self.lines, max_line)));
        }
        Some(Ok(start..start + len))
    }

    fn too_long(&mut self, line: usize, max: usize) -> TranscriptErrorKind {
        self.skipping = true;
        TranscriptErrorKind::Listing {
            command: self.kind.command(),
            line,
            error: DecodeError::LineTooLong { max },
        }
    }

    /// Checks that every CR and LF of `data` (and of the content before it) is part of a
    /// CRLF: only CRLF ends a line, and a stuffer would turn a bare one into one.
    fn check_line_endings(&mut self) -> Result<(), TranscriptErrorKind> {
        let data = &self.data;
        let bare = (self.after_cr && data.first() != Some(&b'\n'))
            || memchr::memchr2_iter(b'\r', b'\n', data).any(|i| match data[i] {
                b'\r' => data.get(i + 1).is_some_and(|&b| b != b'\n'),
                _ if i == 0 => !self.after_cr,
                _ => data[i - 1] != b'\r',
            });
        self.after_cr = data.last() == Some(&b'\r');
        if bare {
            self.skipping = true;
            return Err(TranscriptErrorKind::BareLineEndingInContent);
        }
        Ok(())
    }
}

/// What the server stream holds next.
#[derive(Debug)]
enum State {
    /// The first line of a reply.
    Reply,
    /// The body of a multi-line reply.
    Body(Box<Body>),
    /// The rest of an overlong line, already reported: dropped through its LF.
    SkipLine,
}

/// Decodes what a POP3 server sends, reading the client's stream to know what each reply
/// answers. See [the module](super).
#[derive(Debug)]
pub struct ServerDecoder {
    limits: Limits,
    client: ClientLines,
    state: State,
    /// Offset in the whole stream of the next octet to decode.
    offset: u64,
    /// What the reply being framed answers, once that is decided.
    answering: Option<Answers>,
    /// The next reply is a greeting: at the start, and after the answer to QUIT.
    greeting_due: bool,
    /// The last reply was a SASL challenge: the client's next line is a SASL line.
    challenged: bool,
    /// Octets at the start of the input known to hold no LF.
    scanned: usize,
}

impl ServerDecoder {
    /// A decoder for the replies to `client`, all of the client's side of the same sessions,
    /// enforcing `limits` on both streams.
    pub fn new(client: Vec<u8>, limits: Limits) -> Self {
        Self {
            limits,
            client: ClientLines {
                bytes: client,
                pos: 0,
            },
            state: State::Reply,
            offset: 0,
            answering: None,
            greeting_due: true,
            challenged: false,
            scanned: 0,
        }
    }

    /// Octets consumed so far: the offset in the whole stream of the input's first octet on
    /// the next call.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Decodes from the start of `input`, the octets not consumed yet; `more_follows` is
    /// `false` once nothing will be appended to it (a reply cut short is then an error).
    pub fn decode<'a>(&'a mut self, input: &'a [u8], more_follows: bool) -> Step<ServerItem<'a>> {
        let eof = !more_follows;
        if matches!(&self.state, State::Body(body) if body.is_over()) {
            self.state = State::Reply;
        }
        let step = match self.state {
            State::Reply => self.reply(input, eof),
            State::Body(_) => return self.body(input, eof),
            State::SkipLine => {
                let (consumed, done) = skip_line(input);
                if done {
                    self.state = State::Reply;
                }
                Step::more(consumed)
            }
        };
        self.offset += step.consumed as u64;
        step
    }

    /// Decodes the next piece of a multi-line body.
    fn body<'a>(&'a mut self, input: &'a [u8], eof: bool) -> Step<ServerItem<'a>> {
        let State::Body(body) = &mut self.state else {
            return Step::more(0);
        };
        let at = body.start;
        let (consumed, found) = body.next(input, eof, self.limits.max_response_line);
        self.offset += consumed as u64;
        Step {
            consumed,
            found: found.map(|found| found.map_err(|kind| TranscriptError { at, kind })),
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

    /// Frames the first line of a reply and parses it; sets up the body.
    fn reply<'a>(&mut self, input: &'a [u8], eof: bool) -> Step<ServerItem<'a>> {
        if input.is_empty() {
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
        let frame = find_line(input, max, self.scanned);
        if frame == Frame::Partial && !eof {
            self.scanned = input.len();
            return Step::more(0);
        }
        // The reply is over, whatever it held.
        self.scanned = 0;
        self.answering = None;
        if let Answers::Command { quit: true, .. } = answers {
            self.greeting_due = true;
        }
        let at = self.offset;
        let (len, consumed) = match frame {
            Frame::Line { len, consumed } => (len, consumed),
            Frame::Invalid { error, consumed } => {
                return Step::error(consumed, at, DecodeError::from(error));
            }
            Frame::TooLongSoFar => {
                self.state = State::SkipLine;
                return Step::error(input.len(), at, DecodeError::LineTooLong { max });
            }
            Frame::Partial => {
                return Step::error(input.len(), at, TranscriptErrorKind::UnterminatedLine);
            }
        };
        let line = &input[..len];
        let body = match answers {
            Answers::Nothing => {
                return Step::error(consumed, at, TranscriptErrorKind::ReplyWithoutCommand);
            }
            Answers::Command { body, .. } => body,
            _ => BodyKind::Content,
        };
        match codec::parse_reply_line(line, expect) {
            Ok(Reply::Single(response)) if expect == Expect::MultiLine && response.is_ok() => {
                self.state = State::Body(Box::new(Body::new(at, body, false)));
                Step::item(consumed, ServerItem::MultiLineStart(response))
            }
            // `parse_reply_line` gives no `MultiLine`.
            Ok(Reply::Single(response) | Reply::MultiLine { response, .. }) => {
                Step::item(consumed, ServerItem::Response(response))
            }
            Ok(Reply::Continue(challenge)) => {
                self.challenged = true;
                Step::item(consumed, ServerItem::Challenge(challenge))
            }
            // A body follows a `+OK` even when the rest of the line is bad: it goes with the
            // reply.
            Err(e) if expect == Expect::MultiLine && starts_with_ok(line) => {
                self.state = State::Body(Box::new(Body::new(at, body, true)));
                Step::error(consumed, at, e)
            }
            Err(e) => Step::error(consumed, at, e),
        }
    }
}

fn starts_with_ok(line: &[u8]) -> bool {
    line.get(..3)
        .is_some_and(|s| s.eq_ignore_ascii_case(b"+OK"))
}
