//! Reading part of a message file ([`RangeRead`]): a seek for the files this store wrote,
//! one pass in bounded reads for files other programs wrote with bare LF line ends.

use std::{
    fs::File,
    io::{self, Read, Seek, SeekFrom},
};

use super::{FileRef, disk::Disk};
use crate::{engine::RangeRead, error::Result, reader::ReadAt, types::AccountName};

/// Octets read at a time while converting line ends on the way.
const SCAN_CHUNK: usize = 64 * 1024;

impl RangeRead for Disk {
    fn read_range(
        &self,
        a: &AccountName,
        mailbox: &str,
        blob: &FileRef,
        size: u64,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>> {
        let dir = self.mailbox_dir(a, mailbox);
        let mut file = File::open(Self::locate(&dir, blob)?)?;
        // Files this store wrote hold what it serves (CRLF, or binary content as it came),
        // so a served offset is a file offset. A file with bare LFs is served with CRLF: it
        // is longer served than stored, and an offset is found by converting from the start.
        if blob.raw || file.metadata()?.len() == size {
            file.seek(SeekFrom::Start(offset))?;
            let mut out = Vec::with_capacity(len.min(SCAN_CHUNK));
            file.take(len as u64).read_to_end(&mut out)?;
            return Ok(out);
        }
        Ok(crlf_range(file, offset, len, SCAN_CHUNK)?)
    }

    fn open(
        &self,
        a: &AccountName,
        mailbox: &str,
        blob: &FileRef,
        size: u64,
    ) -> Result<Box<dyn ReadAt>> {
        let dir = self.mailbox_dir(a, mailbox);
        let file = File::open(Self::locate(&dir, blob)?)?;
        let as_stored = blob.raw || file.metadata()?.len() == size;
        Ok(Box::new(OpenFile {
            file,
            as_stored,
            cursor: Cursor::default(),
        }))
    }
}

/// A message file held open: an expunge unlinks it, and it stays readable.
struct OpenFile {
    file: File,
    /// The file holds what is served (see [`RangeRead::read_range`]).
    as_stored: bool,
    /// Where the last conversion of a file with bare LFs stopped: the next piece goes on
    /// from there instead of converting from the start again.
    cursor: Cursor,
}

impl ReadAt for OpenFile {
    fn read_at(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        if self.as_stored {
            self.file.seek(SeekFrom::Start(offset))?;
            let mut out = Vec::with_capacity(len.min(SCAN_CHUNK));
            (&mut self.file).take(len as u64).read_to_end(&mut out)?;
            return Ok(out);
        }
        if offset < self.cursor.served {
            self.cursor = Cursor::default();
        }
        self.file.seek(SeekFrom::Start(self.cursor.stored))?;
        crlf_range_from(&mut self.file, &mut self.cursor, offset, len, SCAN_CHUNK)
    }
}

/// A point in converting bare LFs to CRLF: the next stored octet, the octets served before
/// it, and the stored octet before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cursor {
    stored: u64,
    served: u64,
    prev: u8,
}

/// Octets `offset..offset + len` of `input` with every bare LF served as CRLF (as
/// [`to_crlf`](crate::engine::to_crlf) makes it), reading `chunk` octets at a time and
/// holding no more than the result.
fn crlf_range(input: impl Read, offset: u64, len: usize, chunk: usize) -> io::Result<Vec<u8>> {
    crlf_range_from(input, &mut Cursor::default(), offset, len, chunk)
}

/// [`crlf_range`] from `at`, where `input` is positioned, with `at` moved past the last
/// stored octet served whole (a bare LF whose CR ended the range is read again next time).
fn crlf_range_from(
    mut input: impl Read,
    at: &mut Cursor,
    offset: u64,
    len: usize,
    chunk: usize,
) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len.min(chunk));
    let mut buf = vec![0u8; chunk.max(1)];
    let mut c = *at;
    let emit = |b: u8, c: &mut Cursor, out: &mut Vec<u8>| {
        if c.served >= offset {
            out.push(b);
        }
        c.served += 1;
    };
    'reading: while out.len() < len {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for &b in &buf[..n] {
            let before = c;
            if b == b'\n' && c.prev != b'\r' {
                emit(b'\r', &mut c, &mut out);
            }
            emit(b, &mut c, &mut out);
            c.prev = b;
            c.stored += 1;
            if out.len() >= len {
                *at = if out.len() > len { before } else { c };
                break 'reading;
            }
        }
        *at = c;
    }
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{Cursor, crlf_range, crlf_range_from};
    use crate::engine::to_crlf;

    /// A reader that hands out at most `step` octets per read, to cut reads everywhere.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn every_range_of_a_file_with_bare_lfs_is_what_converting_it_whole_serves() {
        let stored: &[u8] = b"\nA: b\n\r\nmixed\r\n\n\r\r\nend\n";
        let served = to_crlf(stored).unwrap();
        for step in [1, 2, 3, 64] {
            for chunk in [1, 2, 5, 4096] {
                for offset in 0..=served.len() + 2 {
                    for len in 0..=served.len() + 2 {
                        let input = Trickle { data: stored, step };
                        let got = crlf_range(input, offset as u64, len, chunk).unwrap();
                        let start = offset.min(served.len());
                        let end = (offset + len).min(served.len());
                        assert_eq!(
                            got,
                            &served[start..end],
                            "offset {offset} len {len} step {step} chunk {chunk}"
                        );
                    }
                }
            }
        }
    }

    /// Consecutive pieces read on from where the last one stopped, whatever the piece and
    /// chunk sizes (a piece ending between a bare LF's CR and LF included), give what
    /// converting the whole file serves.
    #[test]
    fn pieces_read_on_from_the_cursor() {
        let stored: &[u8] = b"\nA: b\n\r\nmixed\r\n\n\r\r\nend\n\n";
        let served = to_crlf(stored).unwrap();
        for piece in 1..=served.len() + 1 {
            for chunk in [1, 3, 4096] {
                let mut cursor = Cursor::default();
                let mut got = Vec::new();
                loop {
                    let at = usize::try_from(cursor.stored).unwrap();
                    let input = &stored[at..];
                    let p = crlf_range_from(input, &mut cursor, got.len() as u64, piece, chunk)
                        .unwrap();
                    assert!(cursor.served <= (got.len() + p.len()) as u64);
                    got.extend_from_slice(&p);
                    if p.len() < piece {
                        break;
                    }
                }
                assert_eq!(got, served, "pieces of {piece}, chunks of {chunk}");
            }
        }
    }
}
