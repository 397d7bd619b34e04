//! A message opened for reading in pieces ([`MailStore::open_message`](crate::MailStore::open_message)).

use std::{fmt, future::Future, io, pin::Pin, sync::Arc};

use crate::{error::Result, exec::Executor};

/// Where an open message's octets come from: a backend's handle on the message as it was
/// when opened (an open file outlives its directory entry).
pub trait ReadAt: Send + Sync + 'static {
    /// Octets `offset..offset + len` of the message as it is served, fewer only at its end.
    /// May block on the disk.
    fn read_at(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>>;
}

impl ReadAt for Arc<[u8]> {
    fn read_at(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        Ok(piece(self, offset, len))
    }
}

/// Octets `offset..offset + len` of `data`, fewer at its end.
pub(crate) fn piece(data: &[u8], offset: u64, len: usize) -> Vec<u8> {
    let start = usize::try_from(offset).map_or(data.len(), |o| o.min(data.len()));
    let end = start.saturating_add(len).min(data.len());
    data[start..end].to_vec()
}

/// Reads octets `offset..offset + len` when asked, for a backend whose reads are
/// asynchronous ([`MessageReader::from_pieces`]).
pub type ReadPiece = Box<
    dyn FnMut(u64, usize) -> Pin<Box<dyn Future<Output = Result<Vec<u8>>> + Send>> + Send + Sync,
>;

enum Source {
    /// `None` while a read runs on the executor (or after one was dropped unfinished).
    Blocking(Option<Box<dyn ReadAt>>, Option<Executor>),
    Pieces(ReadPiece),
}

/// A message opened for reading in pieces: each read gives octets of the message as it was
/// when opened, also after another session has expunged it meanwhile (a POP3 RETR or an
/// IMAP FETCH of a large message, while another client expunges it, still sends it whole),
/// unless it was made [`from_pieces`](Self::from_pieces).
pub struct MessageReader {
    source: Source,
    size: u64,
}

impl fmt::Debug for MessageReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageReader")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl MessageReader {
    /// The message held in memory.
    pub fn from_bytes(data: impl Into<Arc<[u8]>>) -> Self {
        let data: Arc<[u8]> = data.into();
        Self::new(data.len() as u64, Box::new(data), None)
    }

    /// A message of `size` octets (as served) read from `source`, on `exec` if given (the
    /// store's executor, for a source that reads the disk), else on the polling task.
    pub fn new(size: u64, source: Box<dyn ReadAt>, exec: Option<Executor>) -> Self {
        Self {
            source: Source::Blocking(Some(source), exec),
            size,
        }
    }

    /// A message of `size` octets whose pieces `read` fetches as they are asked for, from a
    /// backend that cannot hold the message open: an expunge meanwhile makes the next read
    /// fail with [`StoreError::NoSuchMessage`](crate::StoreError::NoSuchMessage).
    pub fn from_pieces(size: u64, read: ReadPiece) -> Self {
        Self {
            source: Source::Pieces(read),
            size,
        }
    }

    /// The message's size as served.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Octets `offset..offset + len`: fewer only at the end of the message, none past it.
    pub async fn read(&mut self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let len = usize::try_from(self.size.saturating_sub(offset)).map_or(len, |l| l.min(len));
        if len == 0 {
            return Ok(Vec::new());
        }
        let (slot, exec) = match &mut self.source {
            Source::Pieces(read) => return read(offset, len).await,
            Source::Blocking(slot, exec) => (slot, exec),
        };
        let Some(mut source) = slot.take() else {
            return Err(io::Error::other("message reader used after a cancelled read").into());
        };
        let (source, data) = match exec {
            None => {
                let data = source.read_at(offset, len);
                (source, data)
            }
            Some(exec) => {
                exec.run(move || {
                    let data = source.read_at(offset, len);
                    (source, data)
                })
                .await?
            }
        };
        *slot = Some(source);
        Ok(data?)
    }
}
