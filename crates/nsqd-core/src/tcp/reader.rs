//! Buffered command reading with the reference's limits.
//!
//! One buffer per connection; lines and bodies are split off it without copying, so the
//! bodies of pipelined PUBs share the allocation of the read that brought them. A line longer
//! than 16 KiB (including `\n`) is a protocol violation that closes the connection silently.
//! Every read honours the current command's deadline (2 × heartbeat interval).

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use super::transport::ConnReader;
use nsq_protocol::MAX_LINE_LEN;

/// Why reading stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The peer closed the connection.
    #[error("EOF")]
    Eof,
    /// No complete command before the deadline.
    #[error("read deadline exceeded")]
    Timeout,
    /// A line exceeded 16 KiB.
    #[error("bufio.Scanner: token too long")]
    LineTooLong,
    /// Socket error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A buffered reader over the connection's read side.
pub struct CommandReader {
    io: ConnReader,
    buf: BytesMut,
    /// Deadline for completing the current command; `None` = no deadline.
    pub deadline: Option<Instant>,
}

impl CommandReader {
    /// Wraps a read side; `prefetched` are bytes already read from it.
    pub fn new(io: ConnReader, prefetched: &[u8]) -> CommandReader {
        let mut buf = BytesMut::with_capacity(16 * 1024);
        buf.extend_from_slice(prefetched);
        CommandReader {
            io,
            buf,
            deadline: None,
        }
    }

    /// Replaces the read side (TLS/compression upgrade), returning the old one and any
    /// bytes already buffered from it.
    pub fn swap_io(&mut self, io: ConnReader) -> (ConnReader, BytesMut) {
        let old = std::mem::replace(&mut self.io, io);
        (old, std::mem::take(&mut self.buf))
    }

    /// True iff a complete line is already buffered (more pipelined commands to run before
    /// blocking on the socket).
    pub fn has_buffered_line(&self) -> bool {
        self.buf[..self.buf.len().min(MAX_LINE_LEN)].contains(&b'\n')
    }

    /// True iff at least `n` bytes are buffered.
    pub fn has_buffered(&self, n: usize) -> bool {
        self.buf.len() >= n
    }

    /// Reads more bytes from the socket; at least one or an error.
    pub async fn fill(&mut self) -> Result<(), ReadError> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(16 * 1024);
        }
        let read = self.io.read_buf(&mut self.buf);
        let n = match self.deadline {
            Some(d) => tokio::time::timeout_at(d, read)
                .await
                .map_err(|_| ReadError::Timeout)??,
            None => read.await?,
        };
        if n == 0 {
            return Err(ReadError::Eof);
        }
        Ok(())
    }

    /// Takes the next line (without `\n`) if one is buffered; errors if the buffered data
    /// already proves the line too long.
    pub fn take_line(&mut self) -> Result<Option<BytesMut>, ReadError> {
        let window = self.buf.len().min(MAX_LINE_LEN);
        if let Some(pos) = self.buf[..window].iter().position(|&b| b == b'\n') {
            let mut line = self.buf.split_to(pos + 1);
            line.truncate(pos);
            return Ok(Some(line));
        }
        if self.buf.len() >= MAX_LINE_LEN {
            return Err(ReadError::LineTooLong);
        }
        Ok(None)
    }

    /// Takes a 4-byte big-endian signed integer if buffered.
    pub fn take_i32(&mut self) -> Option<i32> {
        if self.buf.len() < 4 {
            return None;
        }
        Some(self.buf.get_i32())
    }

    /// Takes `n` bytes if buffered.
    pub fn take_bytes(&mut self, n: usize) -> Option<Bytes> {
        if self.buf.len() < n {
            return None;
        }
        Some(self.buf.split_to(n).freeze())
    }

    /// Makes room for a body of `n` bytes so it arrives in one allocation.
    pub fn reserve_for(&mut self, n: usize) {
        if self.buf.len() < n {
            self.buf.reserve(n - self.buf.len());
        }
    }
}
