//! The DATA receiver's bulk fast paths deliver exactly what the byte-by-byte state machine
//! delivers, with the same flags, however the input is chunked: random messages full of the
//! irregular cases (bare CR and LF, dots at line starts, long lines, `CRLF.CRLF` lookalikes)
//! against a copy of the original state machine.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

use benches::{Rng, dot_stuff, realistic_message};
use sansmail_smtp::codec::{BareLineEndings, DataEnd, DataReceiver};

#[allow(dead_code)]
mod reference {
    use sansmail_smtp::codec::{BareLineEndings, DataEnd};
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum State {
        /// At the start of a line (after a real CRLF, or at the very beginning).
        LineStart,
        /// At the start of a line after a bare LF, under `Normalize`.
        BareLineStart,
        /// Saw `.` at the start of a line after a bare LF.
        BareDot,
        /// Saw `.` at the start of a line.
        Dot,
        /// Saw `.` CR at the start of a line.
        DotCr,
        /// Inside a line.
        Text,
        /// Saw CR inside a line.
        Cr,
        /// The end marker has been consumed.
        Done,
    }

    /// Receives DATA: removes dot-stuffing and finds the end marker, across any chunking.
    #[derive(Debug, Clone)]
    pub struct Reference {
        state: State,
        policy: BareLineEndings,
        max_size: u64,
        max_line: Option<usize>,
        line_len: usize,
        end: DataEnd,
    }

    impl Reference {
        /// A receiver that delivers at most `max_size` octets, and flags lines longer than
        /// `max_line` octets (CRLF included).
        pub fn new(policy: BareLineEndings, max_size: u64, max_line: Option<usize>) -> Self {
            Self {
                state: State::LineStart,
                policy,
                max_size,
                max_line,
                line_len: 0,
                end: DataEnd {
                    size: 0,
                    bare_line_ending: false,
                    too_large: false,
                    line_too_long: false,
                },
            }
        }

        /// Whether the end marker has been seen.
        pub fn is_done(&self) -> bool {
            self.state == State::Done
        }

        /// Consumes `input` up to and including the end marker, appending the unstuffed data to
        /// `out`. Returns the octets consumed and, once the marker has been seen, how the data
        /// ended. Octets after the marker are not consumed: they are the next command.
        pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, Option<DataEnd>) {
            let mut i = 0;
            while i < input.len() {
                match self.state {
                    State::Done => break,
                    State::Text => {
                        // The hot path: copy a run of ordinary octets at once.
                        let run =
                            memchr::memchr2(b'\r', b'\n', &input[i..]).unwrap_or(input.len() - i);
                        self.emit(out, &input[i..i + run]);
                        i += run;
                        if i < input.len() {
                            let b = input[i];
                            i += 1;
                            if b == b'\r' {
                                self.state = State::Cr;
                            } else {
                                self.bare(out, b"\n");
                            }
                        }
                    }
                    State::LineStart => {
                        let b = input[i];
                        i += 1;
                        match b {
                            b'.' => self.state = State::Dot,
                            b'\r' => self.state = State::Cr,
                            b'\n' => self.bare(out, b"\n"),
                            _ => {
                                self.emit(out, &[b]);
                                self.state = State::Text;
                            }
                        }
                    }
                    State::BareLineStart => {
                        if input[i] == b'.' {
                            i += 1;
                            self.state = State::BareDot;
                        } else {
                            self.state = State::Text;
                        }
                    }
                    State::BareDot => {
                        // A lone dot is data; any other dot here is stuffing.
                        if input[i] == b'\r' || input[i] == b'\n' {
                            self.emit(out, b".");
                        }
                        self.state = State::Text;
                    }
                    State::Dot => match input[i] {
                        b'\r' => {
                            i += 1;
                            self.state = State::DotCr;
                        }
                        b'\n' => {
                            // `CRLF "." LF`: not the end. Keep the dot as data.
                            i += 1;
                            self.emit(out, b".");
                            self.bare(out, b"\n");
                        }
                        _ => {
                            // A stuffed dot: drop it, the rest of the line is data.
                            self.state = State::Text;
                        }
                    },
                    State::DotCr => {
                        if input[i] == b'\n' {
                            i += 1;
                            self.state = State::Done;
                            return (i, Some(self.end));
                        }
                        // `CRLF "." CR` then something else: the dot is data, the CR is bare.
                        self.emit(out, b".");
                        self.bare(out, b"\r");
                    }
                    State::Cr => {
                        if input[i] == b'\n' {
                            i += 1;
                            self.newline(out);
                        } else {
                            self.bare(out, b"\r");
                        }
                    }
                }
            }
            (i, None)
        }

        /// Text within a line: counts toward the line length.
        fn emit(&mut self, out: &mut Vec<u8>, bytes: &[u8]) {
            self.line_len += bytes.len();
            if self.max_line.is_some_and(|max| self.line_len + 2 > max) {
                self.end.line_too_long = true;
            }
            self.push(out, bytes);
        }

        /// Any delivered octets: counts toward the size.
        fn push(&mut self, out: &mut Vec<u8>, bytes: &[u8]) {
            let room = self.max_size.saturating_sub(self.end.size);
            let take = usize::try_from(room).map_or(bytes.len(), |r| r.min(bytes.len()));
            out.extend_from_slice(&bytes[..take]);
            self.end.size += take as u64;
            if take < bytes.len() {
                self.end.too_large = true;
            }
        }

        /// A real CRLF: the next octet starts a line.
        fn newline(&mut self, out: &mut Vec<u8>) {
            self.push(out, b"\r\n");
            self.line_len = 0;
            self.state = State::LineStart;
        }

        /// A bare CR or LF: flagged, or normalized to CRLF (a bare LF then starts a line that
        /// can be stuffed but never ends the data).
        fn bare(&mut self, out: &mut Vec<u8>, raw: &'static [u8]) {
            self.line_len = 0;
            self.state = State::Text;
            match self.policy {
                BareLineEndings::Reject => {
                    self.end.bare_line_ending = true;
                    self.push(out, raw);
                }
                BareLineEndings::Normalize => {
                    self.push(out, b"\r\n");
                    if raw == b"\n" {
                        self.state = State::BareLineStart;
                    }
                }
            }
        }
    }
}

fn run_ours(
    chunks: &[&[u8]],
    policy: BareLineEndings,
    max: u64,
    line: Option<usize>,
) -> (Vec<u8>, usize, Option<DataEnd>) {
    let mut rx = DataReceiver::new(policy, max, line);
    let mut out = Vec::new();
    let mut used = 0;
    for c in chunks {
        let (n, end) = rx.decode(c, &mut out);
        used += n;
        if end.is_some() {
            return (out, used, end);
        }
    }
    (out, used, None)
}

fn run_reference(
    chunks: &[&[u8]],
    policy: BareLineEndings,
    max: u64,
    line: Option<usize>,
) -> (Vec<u8>, usize, Option<DataEnd>) {
    let mut rx = reference::Reference::new(policy, max, line);
    let mut out = Vec::new();
    let mut used = 0;
    for c in chunks {
        let (n, end) = rx.decode(c, &mut out);
        used += n;
        if end.is_some() {
            return (out, used, end);
        }
    }
    (out, used, None)
}

const PIECES: &[&[u8]] = &[
    b"\r\n",
    b"\r\n",
    b"\r\n",
    b"abc",
    b"hello world",
    b".",
    b"..",
    b"\n",
    b"\r",
    b"\r\n.\r\n",
    b"\r\n.\n",
    b"\n.\r\n",
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    b"\r\r\n",
    b"\r\n..",
    b" ",
];

#[test]
fn bulk_paths_match_the_state_machine() {
    let mut rng = Rng::new(42);
    for case in 0..3000 {
        let mut wire = Vec::new();
        let n = 1 + rng.below(200);
        for _ in 0..n {
            wire.extend_from_slice(PIECES[rng.below(PIECES.len())]);
        }
        if case % 3 == 0 {
            wire.extend_from_slice(b"\r\n.\r\nNEXT");
        }
        let policy = if case % 2 == 0 {
            BareLineEndings::Reject
        } else {
            BareLineEndings::Normalize
        };
        let line = match case % 4 {
            0 => None,
            1 => Some(1000),
            _ => Some(3 + rng.below(60)),
        };
        let max = if case % 5 == 0 {
            rng.below(wire.len() + 1) as u64
        } else {
            u64::MAX
        };
        // Whole, and cut at random points.
        let mut cuts = vec![0, wire.len()];
        for _ in 0..rng.below(6) {
            cuts.push(rng.below(wire.len() + 1));
        }
        cuts.sort_unstable();
        let chunks: Vec<&[u8]> = cuts.windows(2).map(|w| &wire[w[0]..w[1]]).collect();
        for chunks in [vec![&wire[..]], chunks] {
            assert_eq!(
                run_ours(&chunks, policy, max, line),
                run_reference(&chunks, policy, max, line),
                "case {case}: {:?}",
                String::from_utf8_lossy(&wire)
            );
        }
    }
}

#[test]
fn a_large_realistic_message_matches() {
    let message = realistic_message(300_000, 9);
    let mut wire = dot_stuff(&message);
    wire.extend_from_slice(b"QUIT\r\n");
    for line in [None, Some(1000), Some(60)] {
        let ours = run_ours(&[&wire], BareLineEndings::Reject, u64::MAX, line);
        assert_eq!(
            ours,
            run_reference(&[&wire], BareLineEndings::Reject, u64::MAX, line)
        );
        assert_eq!(ours.0, message);
    }
}
