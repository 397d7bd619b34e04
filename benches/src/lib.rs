//! Criterion benchmarks comparing the workspace's parsers with the crates users would pick
//! instead, and the `mailload` load generator. The benchmarks live in `benches/`; this library
//! holds what they share: the corpus, how it is cut into messages, and generated messages.
//!
//! The corpus is the one under `examples/tests/fixtures/` (exact copies of the shared sample
//! traffic), read through a path relative to this crate so nothing is duplicated.
#![forbid(unsafe_code)]

use std::path::PathBuf;

/// Where the sample protocol traffic lives.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/tests/fixtures")
}

/// Reads one corpus file (`smtp-client-stream.txt`, ...).
///
/// # Panics
/// If the file is missing: the benchmarks cannot run without it.
pub fn corpus(name: &str) -> Vec<u8> {
    let path = corpus_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The command lines of an SMTP client stream, each with its CRLF, in order; the message
/// data after `DATA` (through `CRLF . CRLF`) and the chunks after `BDAT n` are skipped.
///
/// # Panics
/// If the stream is cut short inside a payload or a line.
pub fn smtp_command_lines(stream: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut pos = 0;
    while pos < stream.len() {
        let lf = memchr(b'\n', &stream[pos..]).expect("the stream ends with a line end");
        let line = &stream[pos..=pos + lf];
        pos += lf + 1;
        lines.push(line);
        let body = line.strip_suffix(b"\r\n").unwrap_or(line);
        if body.eq_ignore_ascii_case(b"DATA") {
            // The data ends at CRLF "." CRLF; an empty message is "." CRLF at once.
            if stream[pos..].starts_with(b".\r\n") {
                pos += 3;
            } else {
                let end = find(&stream[pos..], b"\r\n.\r\n").expect("DATA ends with CRLF.CRLF");
                pos += end + 5;
            }
        } else if body.len() > 5 && body[..5].eq_ignore_ascii_case(b"BDAT ") {
            let size: usize = std::str::from_utf8(&body[5..])
                .ok()
                .and_then(|a| a.split(' ').next())
                .and_then(|n| n.parse().ok())
                .expect("BDAT chunk-size");
            pos += size;
        }
    }
    lines
}

/// The lines of a stream, each with its line end (for POP3 commands).
pub fn lines(stream: &[u8]) -> Vec<&[u8]> {
    stream.split_inclusive(|&b| b == b'\n').collect()
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A small deterministic generator (xorshift64*), so every run measures the same bytes.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (zero is replaced).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % n as u64).unwrap_or(0)
    }
}

const WORDS: &[&str] = &[
    "the",
    "mail",
    "server",
    "of",
    "and",
    "to",
    "message",
    "a",
    "in",
    "quarterly",
    "report",
    "is",
    "for",
    "meeting",
    "please",
    "find",
    "attached",
    "thanks",
    "regards",
    "on",
    "with",
    "we",
    "budget",
    "review",
    "that",
    "it",
    "will",
    "be",
    "schedule",
    "team",
    "project",
    "update",
    "Monday",
    "deadline",
    "client",
    "invoice",
    "delivery",
    "status",
    "next",
    "week",
];

/// A realistic message of about `size` octets with CRLF line ends, unstuffed: Received and
/// other headers, a multipart/alternative text (plain and quoted-printable HTML, with lines
/// that start with `.`), and a base64 attachment with 76-character lines filling the rest.
pub fn realistic_message(size: usize, seed: u64) -> Vec<u8> {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = Rng::new(seed);
    let mut m = Vec::with_capacity(size + 1024);
    for hop in 0..4 {
        m.extend_from_slice(
            format!(
                "Received: from relay{hop}.example.net (relay{hop}.example.net [192.0.2.{hop}])\r\n\tby mx.example.com (Postfix) with ESMTPS id 4Zx{hop}Q2abcd\r\n\tfor <alice@example.com>; Thu, 26 Nov 2026 10:00:0{hop} +0000\r\n"
            )
            .as_bytes(),
        );
    }
    m.extend_from_slice(
        b"From: Bob Example <bob@example.org>\r\nTo: Alice Example <alice@example.com>\r\n\
Subject: Quarterly report and the meeting notes\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <report.2026.11.26@example.org>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\nThis is a multi-part message in MIME format.\r\n\
--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n\
--inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    );
    let text_end = m.len() + size / 6;
    while m.len() < text_end {
        text_line(&mut rng, &mut m, "");
    }
    m.extend_from_slice(
        b"\r\n--inner\r\nContent-Type: text/html; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\n<html><body>\r\n",
    );
    let html_end = m.len() + size / 6;
    while m.len() < html_end {
        text_line(&mut rng, &mut m, "<p>");
    }
    m.extend_from_slice(
        b"</body></html>\r\n\r\n--inner--\r\n\r\n--outer\r\n\
Content-Type: application/pdf; name=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"report.pdf\"\r\n\r\n",
    );
    while m.len() + 90 < size {
        for _ in 0..76 {
            m.push(B64[rng.below(64)]);
        }
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"\r\n--outer--\r\n");
    m
}

/// One line of prose, 20 to 78 characters; one line in 40 starts with a dot and one in 12 is
/// empty.
fn text_line(rng: &mut Rng, m: &mut Vec<u8>, prefix: &str) {
    match rng.below(40) {
        0 => m.extend_from_slice(b"."),
        1..=3 => {
            m.extend_from_slice(b"\r\n");
            return;
        }
        _ => {}
    }
    m.extend_from_slice(prefix.as_bytes());
    let len = 20 + rng.below(59);
    let start = m.len();
    while m.len() - start < len {
        if m.len() > start {
            m.push(b' ');
        }
        m.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes());
    }
    m.extend_from_slice(b"\r\n");
}

/// Dot-stuffs `message` (CRLF lines) and appends the end-of-data marker, as a client sends
/// it after DATA (RFC 5321 §4.5.2).
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 50 + 5);
    let mut line_start = true;
    for &b in message {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    if !line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_lines_skip_payloads() {
        let s = b"EHLO a\r\nDATA\r\n..x\r\n.\r\nDATA\r\n.\r\nBDAT 5 LAST\r\nQUIT\rQUIT\r\n";
        let l = smtp_command_lines(s);
        assert_eq!(
            l,
            [
                &b"EHLO a\r\n"[..],
                b"DATA\r\n",
                b"DATA\r\n",
                b"BDAT 5 LAST\r\n",
                b"QUIT\r\n"
            ]
        );
    }

    #[test]
    fn message_is_stuffed_and_sized() {
        let m = realistic_message(1 << 20, 1);
        assert!(m.len() > (1 << 20) - 200 && m.len() <= (1 << 20) + 100);
        assert!(m.windows(2).filter(|w| w == b"\r\n").count() > 10_000);
        let s = dot_stuff(&m);
        assert!(s.ends_with(b"\r\n.\r\n"));
        assert!(s.windows(3).any(|w| w == b"\n.."));
    }
}
