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
        Ok(Box::new(OpenFile { file, as_stored }))
    }
}

/// A message file held open: an expunge unlinks it, and it stays readable.
struct OpenFile {
    file: File,
    /// The file holds what is served (see [`RangeRead::read_range`]).
    as_stored: bool,
}

impl ReadAt for OpenFile {
    fn read_at(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        if self.as_stored {
            self.file.seek(SeekFrom::Start(offset))?;
            let mut out = Vec::with_capacity(len.min(SCAN_CHUNK));
            (&mut self.file).take(len as u64).read_to_end(&mut out)?;
            return Ok(out);
        }
        self.file.seek(SeekFrom::Start(0))?;
        crlf_range(&mut self.file, offset, len, SCAN_CHUNK)
    }
}

/// Octets `offset..offset + len` of `input` with every bare LF served as CRLF (as
/// [`to_crlf`](crate::engine::to_crlf) makes it), reading `chunk` octets at a time and
/// holding no more than the result.
fn crlf_range(mut input: impl Read, offset: u64, len: usize, chunk: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len.min(chunk));
    let mut buf = vec![0u8; chunk.max(1)];
    // Served octets before the next one.
    let mut served = 0u64;
    let mut prev = 0u8;
    let mut emit = |b: u8, out: &mut Vec<u8>| {
        if served >= offset {
            out.push(b);
        }
        served += 1;
    };
    while out.len() < len {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for &b in &buf[..n] {
            if b == b'\n' && prev != b'\r' {
                emit(b'\r', &mut out);
            }
            emit(b, &mut out);
            prev = b;
            if out.len() >= len {
                break;
            }
        }
    }
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::crlf_range;
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
}
