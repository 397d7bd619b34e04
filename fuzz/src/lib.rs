//! Shared pieces of the fuzz targets: structured inputs, chunking and a seeded random source
//! for the "application" that answers a session's decisions.
//!
//! Every structured input has a fixed-size header followed by the raw bytes, so seed files are
//! the header (see [`SESSION_HEADER`], [`CHUNKED_HEADER`]) followed by real protocol traffic.

use arbitrary::Arbitrary;

/// Bytes before the data in a [`SessionInput`]: seed (8), flags (1), chunk sizes (8).
pub const SESSION_HEADER: usize = 17;
/// Bytes before the data in a [`ChunkedInput`]: flags (1), chunk sizes (8).
pub const CHUNKED_HEADER: usize = 9;

/// Input of the session targets: a seed for the application's random answers, flags that
/// pick a configuration, chunk sizes, and the peer's bytes.
#[derive(Arbitrary, Debug)]
pub struct SessionInput {
    /// Seeds [`Rng`], which the harness uses for the application's decisions.
    pub seed: u64,
    /// Configuration bits; each target documents its own.
    pub flags: u8,
    /// Chunk sizes, used in turn (see [`chunk_len`]).
    pub chunks: [u8; 8],
    /// What the peer sends.
    pub data: Vec<u8>,
}

/// Input of the framing targets: flags, chunk sizes and bytes.
#[derive(Arbitrary, Debug)]
pub struct ChunkedInput {
    /// Configuration bits; each target documents its own.
    pub flags: u8,
    /// Chunk sizes, used in turn (see [`chunk_len`]).
    pub chunks: [u8; 8],
    /// The bytes.
    pub data: Vec<u8>,
}

/// The length a chunk-size byte stands for: 0 is a large read (4096), otherwise the value,
/// so `1` trickles byte by byte.
pub fn chunk_len(b: u8) -> usize {
    if b == 0 { 4096 } else { usize::from(b) }
}

/// Splits `data` into pieces whose sizes cycle through `sizes`.
pub fn split<'a>(data: &'a [u8], sizes: &[u8; 8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < data.len() {
        let n = chunk_len(sizes[i % sizes.len()]).min(data.len() - at);
        out.push(&data[at..at + n]);
        at += n;
        i += 1;
    }
    out
}

/// The largest chunk [`split`] can produce.
pub const MAX_CHUNK: usize = 4096;

/// SplitMix64: small, seeded, good enough for choosing answers.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability 1/2.
    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// True with probability `num`/`den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next_u64() % den < num
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Up to `max` random bytes drawn from `alphabet`.
    pub fn bytes_from(&mut self, alphabet: &[u8], max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| *self.pick(alphabet)).collect()
    }
}

/// Message-like content for the data a harness sends: text, bare CR and LF, dots at line
/// starts, `CRLF.CRLF` inside.
pub const CONTENT_ALPHABET: &[u8] = b"ab .\r\n\r\n..\x00\xff";

/// The offset just past the first `CRLF "." CRLF` of `data`, where the data is taken to
/// start at a line start (after the command's CRLF): the end marker of DATA and of a POP3
/// multi-line body.
pub fn end_marker(data: &[u8]) -> Option<usize> {
    if data.starts_with(b".\r\n") {
        return Some(3);
    }
    data.windows(5)
        .position(|w| w == b"\r\n.\r\n")
        .map(|i| i + 5)
}

/// Turns every bare CR and bare LF into CRLF and gives a last line without a line end its
/// CRLF, as the stuffers do.
pub fn normalize_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 2);
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if data.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Whether every CR in `data` is followed by LF and every LF preceded by CR.
pub fn only_crlf(data: &[u8]) -> bool {
    data.iter().enumerate().all(|(i, &b)| match b {
        b'\r' => data.get(i + 1) == Some(&b'\n'),
        b'\n' => i > 0 && data[i - 1] == b'\r',
        _ => true,
    })
}

/// The input after the first LF, or `None` without one: where a reader resynchronizes.
pub fn after_lf(data: &[u8]) -> Option<&[u8]> {
    data.iter()
        .position(|&b| b == b'\n')
        .map(|i| &data[i + 1..])
}

/// One direction of a simulated connection between a client and a server session: what one
/// side transmits, delivered to the other in chunks whose sizes cycle through the input's.
pub struct Wire {
    bytes: std::collections::VecDeque<u8>,
    scratch: Vec<u8>,
    sizes: [u8; 8],
    next: usize,
    /// Printed before each chunk when tracing (`C` or `S`).
    label: &'static str,
    trace: bool,
}

impl Wire {
    /// An empty wire whose chunks follow `sizes` (see [`chunk_len`]).
    pub fn new(sizes: [u8; 8], label: &'static str, trace: bool) -> Self {
        Self {
            bytes: std::collections::VecDeque::new(),
            scratch: Vec::new(),
            sizes,
            next: 0,
            label,
            trace,
        }
    }

    /// Puts on the wire what `transmit` (a session's `poll_transmit`) writes.
    pub fn fill(&mut self, transmit: impl FnOnce(&mut Vec<u8>)) {
        self.scratch.clear();
        transmit(&mut self.scratch);
        self.bytes.extend(self.scratch.drain(..));
    }

    /// Hands the next chunk to `receive` (the other side's `handle_input`); `false` when the
    /// wire is empty.
    pub fn deliver(&mut self, receive: impl FnOnce(&[u8])) -> bool {
        if self.bytes.is_empty() {
            return false;
        }
        self.next += 1;
        let n = chunk_len(self.sizes[self.next % 8]).min(self.bytes.len());
        let piece: Vec<u8> = self.bytes.drain(..n).collect();
        if self.trace {
            eprintln!("{}: {:?}", self.label, String::from_utf8_lossy(&piece));
        }
        receive(&piece);
        true
    }

    /// Nothing is in transit.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Deadlock detection for a client and server joined by [`Wire`]s: three rounds in a row in
/// which neither side did anything fail the run.
#[derive(Debug, Default)]
pub struct Stall {
    idle_rounds: u32,
}

impl Stall {
    /// Ends a round; panics on the third one in a row without progress.
    pub fn round(&mut self, progressed: bool) {
        if progressed {
            self.idle_rounds = 0;
        } else {
            self.idle_rounds += 1;
            assert!(
                self.idle_rounds < 3,
                "deadlock: neither side has anything to do"
            );
        }
    }
}
