//! Raw DEFLATE (RFC 1951) in both directions of a connection, as IMAP's COMPRESS=DEFLATE
//! (RFC 4978) runs it: no zlib header, and every batch of output ended with a sync flush so
//! that the peer can decode all of it without waiting for more.
//!
//! Sans-IO: [`Deflate`] turns octets into octets; [`Transport`](crate::transport::Transport)
//! runs it between a session and the socket once COMPRESS was agreed.

use std::io;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The most plain octets [`Deflate::decompress`] hands over at once: a small compressed read
/// can stand for a thousand times as much (a "zip bomb"), which the session then meets
/// piece by piece under its own limits instead of as one allocation.
pub const PIECE: usize = 16 * 1024;

/// The compressor for what is sent and the decompressor for what arrives.
pub struct Deflate {
    tx: Compress,
    rx: Decompress,
    piece: Vec<u8>,
    /// What arrived and was not decompressed yet ([`Deflate::inflate`] stops at its budget),
    /// from `held_at` on.
    held: Vec<u8>,
    held_at: usize,
    /// The last piece came out full: the decompressor may hold more for it.
    more: bool,
}

impl std::fmt::Debug for Deflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The codec states are opaque; their counters say how far each direction got.
        f.debug_struct("Deflate")
            .field("sent", &self.tx.total_in())
            .field("received", &self.rx.total_out())
            .finish_non_exhaustive()
    }
}

impl Default for Deflate {
    fn default() -> Self {
        Self::new()
    }
}

fn corrupt(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("compressed input is not valid DEFLATE: {e}"),
    )
}

impl Deflate {
    /// Both directions at their start, compressing at zlib's default level.
    pub fn new() -> Self {
        Self {
            tx: Compress::new(Compression::default(), false),
            rx: Decompress::new(false),
            piece: Vec::with_capacity(PIECE),
            held: Vec::new(),
            held_at: 0,
            more: false,
        }
    }

    /// Appends `plain`, compressed, to `wire`, ending with a sync flush: the peer can decode
    /// everything up to here from what `wire` holds.
    pub fn compress(&mut self, plain: &[u8], wire: &mut Vec<u8>) -> io::Result<()> {
        let mut rest = plain;
        loop {
            // Room for the worst case of what is left plus the flush marker.
            wire.reserve(rest.len() / 2 + 64);
            let before = self.tx.total_in();
            self.tx
                .compress_vec(rest, wire, FlushCompress::Sync)
                .map_err(io::Error::other)?;
            let taken = usize::try_from(self.tx.total_in() - before).unwrap_or(rest.len());
            rest = &rest[taken.min(rest.len())..];
            // Done once all input is taken and the flush left spare room in `wire` (a full
            // buffer may mean more flush output is waiting).
            if rest.is_empty() && wire.len() < wire.capacity() {
                return Ok(());
            }
        }
    }

    /// Decompresses `wire` (what arrived), handing the plain octets to `sink` in pieces of
    /// at most [`PIECE`] octets. Fails on input that is not raw DEFLATE, or that ends the
    /// stream (RFC 4978 has no end: a final block is a protocol error).
    pub fn decompress(&mut self, wire: &[u8], sink: impl FnMut(&[u8])) -> io::Result<()> {
        self.receive(wire);
        self.inflate(usize::MAX, sink)
    }

    /// Keeps `wire` (what arrived) for [`inflate`](Self::inflate).
    pub fn receive(&mut self, wire: &[u8]) {
        self.held.extend_from_slice(wire);
    }

    /// Whether [`inflate`](Self::inflate) has more to give without more input.
    pub fn has_input(&self) -> bool {
        self.held_at < self.held.len() || self.more
    }

    /// Decompresses what was received, handing the plain octets to `sink` in pieces of at
    /// most [`PIECE`] octets, and stops once `budget` octets went out (the rest waits for
    /// the next call): 16 KiB that arrived may stand for 16 MB, which the reader takes a
    /// budget at a time, after the session answered what it had. Fails as
    /// [`decompress`](Self::decompress) does.
    pub fn inflate(&mut self, budget: usize, mut sink: impl FnMut(&[u8])) -> io::Result<()> {
        let mut given = 0usize;
        while given < budget {
            self.piece.clear();
            let rest = self.held.get(self.held_at..).unwrap_or_default();
            let before = self.rx.total_in();
            let status = self
                .rx
                .decompress_vec(rest, &mut self.piece, FlushDecompress::Sync)
                .map_err(corrupt)?;
            let taken = usize::try_from(self.rx.total_in() - before).unwrap_or(rest.len());
            self.held_at = (self.held_at + taken).min(self.held.len());
            let all_taken = self.held_at == self.held.len();
            if all_taken {
                self.held.clear();
                self.held_at = 0;
            }
            let produced = self.piece.len();
            if produced > 0 {
                sink(&self.piece);
                given = given.saturating_add(produced);
            }
            match status {
                Status::StreamEnd => return Err(corrupt("the stream ended")),
                // All input taken and the piece not full: nothing more comes out of it.
                _ if all_taken && produced < PIECE => {
                    self.more = false;
                    return Ok(());
                }
                // No progress either way: the decompressor needs input it does not have.
                Status::BufError if taken == 0 && produced == 0 => {
                    self.more = false;
                    return Ok(());
                }
                _ => self.more = true,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unzip(wire: &[u8]) -> Vec<u8> {
        let mut d = Deflate::new();
        let mut plain = Vec::new();
        d.decompress(wire, |p| plain.extend_from_slice(p)).unwrap();
        plain
    }

    #[test]
    fn each_flush_is_decodable_on_its_own() {
        let mut a = Deflate::new();
        let mut b = Deflate::new();
        let mut got = Vec::new();
        for line in ["a1 NOOP\r\n", "a2 SELECT INBOX\r\n", ""] {
            let mut wire = Vec::new();
            a.compress(line.as_bytes(), &mut wire).unwrap();
            // A sync flush ends with an empty stored block.
            assert!(wire.ends_with(&[0, 0, 0xff, 0xff]), "{wire:?}");
            let mut this = Vec::new();
            b.decompress(&wire, |p| this.extend_from_slice(p)).unwrap();
            assert_eq!(this, line.as_bytes());
            got.extend(this);
        }
        assert_eq!(got, b"a1 NOOP\r\na2 SELECT INBOX\r\n");
    }

    #[test]
    fn large_and_split_input_round_trips() {
        let plain: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut wire = Vec::new();
        Deflate::new().compress(&plain, &mut wire).unwrap();
        assert!(wire.len() < plain.len());
        // Fed a few octets at a time, as reads may split it.
        let mut d = Deflate::new();
        let mut got = Vec::new();
        for chunk in wire.chunks(7) {
            d.decompress(chunk, |p| got.extend_from_slice(p)).unwrap();
        }
        assert_eq!(got.len(), plain.len());
        assert!(got == plain);
    }

    #[test]
    fn a_bomb_comes_out_in_bounded_pieces() {
        let plain = vec![b'x'; 8 * 1024 * 1024];
        let mut wire = Vec::new();
        Deflate::new().compress(&plain, &mut wire).unwrap();
        assert!(wire.len() < 64 * 1024, "{}", wire.len());
        let (mut pieces, mut total, mut largest) = (0, 0, 0);
        Deflate::new()
            .decompress(&wire, |p| {
                pieces += 1;
                total += p.len();
                largest = largest.max(p.len());
            })
            .unwrap();
        assert_eq!(total, plain.len());
        assert!(largest <= PIECE && pieces >= plain.len() / PIECE);
    }

    /// What arrived comes out a budget at a time, all of it in the end, whether the budget
    /// ends inside the input or inside what the decompressor holds for it.
    #[test]
    fn a_bomb_comes_out_a_budget_at_a_time() {
        let plain: Vec<u8> = b"a CAPABILITY\r\n".repeat(600_000);
        let mut wire = Vec::new();
        Deflate::new().compress(&plain, &mut wire).unwrap();
        assert!(wire.len() < 64 * 1024, "{}", wire.len());
        let budget = 4 * PIECE;
        let mut d = Deflate::new();
        let mut got = Vec::new();
        let mut calls = 0;
        for chunk in wire.chunks(16 * 1024) {
            d.receive(chunk);
            while d.has_input() {
                let before = got.len();
                d.inflate(budget, |p| got.extend_from_slice(p)).unwrap();
                assert!(
                    got.len() - before <= budget + PIECE,
                    "{}",
                    got.len() - before
                );
                calls += 1;
            }
        }
        assert!(got == plain, "{} of {}", got.len(), plain.len());
        assert!(calls >= plain.len() / (budget + PIECE), "{calls}");
    }

    #[test]
    fn garbage_and_a_final_block_are_errors() {
        let mut d = Deflate::new();
        let err = d.decompress(&[0xff; 16], |_| {}).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        // A complete stream (final block set) is not what COMPRESS sends.
        let mut c = Compress::new(Compression::default(), false);
        let mut wire = Vec::with_capacity(64);
        c.compress_vec(b"x", &mut wire, FlushCompress::Finish)
            .unwrap();
        assert_eq!(
            Deflate::new().decompress(&wire, |_| {}).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(unzip(&[]), b"");
    }
}
