//! The two halves of a connection: reading frames and writing buffered commands.
//!
//! They are separate types so that a reader task and a writer task can run concurrently
//! (e.g. pipelined publishing, where one task writes `PUB`s and another counts `OK`s). Both
//! are generic over the byte stream so tests can use in-memory pipes; the defaults are the
//! halves of a [`tokio::net::TcpStream`].

use bytes::{Buf, BytesMut};
use nsq_protocol::MessageId;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::command;
use crate::error::Error;
use crate::frame::{Frame, FrameDecoder};

/// Default smallest amount of free space offered to each socket read.
pub const DEFAULT_READ_CHUNK: usize = 64 * 1024;

/// Reads and decodes frames from the server.
///
/// Invariant: bytes are consumed only as whole frames; after an error the reader must not be
/// used again (the stream position is unknown).
#[derive(Debug)]
pub struct FrameReader<R = OwnedReadHalf> {
    rd: R,
    buf: BytesMut,
    decoder: FrameDecoder,
    chunk: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// Wraps a byte stream positioned at a frame boundary.
    pub fn new(rd: R) -> FrameReader<R> {
        FrameReader::with_read_chunk(rd, DEFAULT_READ_CHUNK)
    }

    /// Like [`FrameReader::new`], offering at least `chunk` bytes of room to each read.
    /// Small chunks keep many idle connections cheap; large ones mean fewer syscalls.
    pub fn with_read_chunk(rd: R, chunk: usize) -> FrameReader<R> {
        let chunk = chunk.max(64);
        FrameReader {
            rd,
            buf: BytesMut::new(),
            decoder: FrameDecoder::default(),
            chunk,
        }
    }

    /// The next frame, reading from the socket as needed. [`Error::Closed`] at a clean EOF
    /// between frames; [`Error::Protocol`] when EOF cuts a frame.
    pub async fn next_frame(&mut self) -> Result<Frame, Error> {
        loop {
            if let Some(f) = self.decoder.decode(&mut self.buf)? {
                return Ok(f);
            }
            let want = self
                .decoder
                .needed(&self.buf)
                .map_or(0, |n| n.saturating_sub(self.buf.len()));
            self.buf.reserve(want.max(self.chunk));
            let n = self.rd.read_buf(&mut self.buf).await?;
            if n == 0 {
                return Err(if self.buf.is_empty() {
                    Error::Closed
                } else {
                    Error::Protocol(format!("EOF inside a frame ({} bytes)", self.buf.len()))
                });
            }
        }
    }

    /// A frame that is already fully buffered, without touching the socket. Consumers use
    /// `None` as the signal to flush their pending FINs before blocking on the next read.
    pub fn buffered_frame(&mut self) -> Result<Option<Frame>, Error> {
        self.decoder.decode(&mut self.buf)
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &R {
        &self.rd
    }
}

/// Buffers commands and writes them on [`CommandWriter::flush`].
///
/// Invariant: nothing reaches the socket before `flush`, and `flush` writes every buffered
/// byte in order or fails.
#[derive(Debug)]
pub struct CommandWriter<W = OwnedWriteHalf> {
    wr: W,
    buf: BytesMut,
}

impl<W: AsyncWrite + Unpin> CommandWriter<W> {
    /// Wraps a byte stream.
    pub fn new(wr: W) -> CommandWriter<W> {
        CommandWriter {
            wr,
            buf: BytesMut::new(),
        }
    }

    /// Bytes buffered and not yet flushed.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Direct access to the buffer, to append commands with [`crate::command`].
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Writes everything buffered and flushes the stream.
    ///
    /// Cancel-safe: bytes leave the buffer only once the stream accepted them, so a flush
    /// abandoned by a timeout or `select!` neither loses nor repeats a byte.
    pub async fn flush(&mut self) -> Result<(), Error> {
        while !self.buf.is_empty() {
            let n = self.wr.write(&self.buf).await?;
            if n == 0 {
                return Err(Error::Io(std::io::ErrorKind::WriteZero.into()));
            }
            self.buf.advance(n);
        }
        self.wr.flush().await?;
        Ok(())
    }

    /// Shuts the write direction down after flushing (the server sees EOF).
    pub async fn shutdown(&mut self) -> Result<(), Error> {
        self.flush().await?;
        self.wr.shutdown().await?;
        Ok(())
    }

    /// Buffers `SUB`.
    pub fn sub(&mut self, topic: &str, channel: &str) {
        command::sub(&mut self.buf, topic, channel);
    }

    /// Buffers `RDY`.
    pub fn rdy(&mut self, count: u64) {
        command::rdy(&mut self.buf, count);
    }

    /// Buffers `FIN`.
    pub fn fin(&mut self, id: &MessageId) {
        command::fin(&mut self.buf, id);
    }

    /// Buffers `REQ` with a requeue delay in ms.
    pub fn req(&mut self, id: &MessageId, timeout_ms: u64) {
        command::req(&mut self.buf, id, timeout_ms);
    }

    /// Buffers `TOUCH`.
    pub fn touch(&mut self, id: &MessageId) {
        command::touch(&mut self.buf, id);
    }

    /// Buffers `NOP`.
    pub fn nop(&mut self) {
        command::nop(&mut self.buf);
    }

    /// Buffers `CLS`.
    pub fn cls(&mut self) {
        command::cls(&mut self.buf);
    }

    /// Buffers `PUB`.
    pub fn publish(&mut self, topic: &str, body: &[u8]) {
        command::publish(&mut self.buf, topic, body);
    }

    /// Buffers `MPUB`.
    pub fn multi_publish<B: AsRef<[u8]>>(&mut self, topic: &str, bodies: &[B]) {
        command::multi_publish(&mut self.buf, topic, bodies);
    }

    /// Buffers `DPUB`.
    pub fn deferred_publish(&mut self, topic: &str, defer_ms: u64, body: &[u8]) {
        command::deferred_publish(&mut self.buf, topic, defer_ms, body);
    }

    /// Buffers `AUTH` with the secret.
    pub fn auth(&mut self, secret: &[u8]) {
        command::auth(&mut self.buf, secret);
    }

    /// Buffers `IDENTIFY` with a JSON body.
    pub fn identify(&mut self, json: &[u8]) {
        command::identify(&mut self.buf, json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsq_protocol::frame::frame_bytes;
    use nsq_protocol::FrameType;

    #[tokio::test]
    async fn reader_handles_split_and_eof() {
        let (mut a, b) = tokio::io::duplex(7);
        let mut r = FrameReader::new(b);
        let w = tokio::spawn(async move {
            let mut bytes = frame_bytes(FrameType::Response, b"OK");
            bytes.extend(frame_bytes(FrameType::Error, b"E_INVALID x"));
            bytes.extend([0, 0, 0, 9, 0]);
            a.write_all(&bytes).await.expect("write");
        });
        assert_eq!(
            r.next_frame().await.expect("ok"),
            Frame::Response("OK".into())
        );
        assert_eq!(
            r.next_frame().await.expect("err"),
            Frame::Error("E_INVALID x".into())
        );
        w.await.expect("join");
        assert!(matches!(r.next_frame().await, Err(Error::Protocol(_))));
    }

    #[tokio::test]
    async fn writer_buffers_until_flush() {
        let (a, mut b) = tokio::io::duplex(1024);
        let mut w = CommandWriter::new(a);
        w.nop();
        w.rdy(1);
        assert_eq!(w.pending(), 10);
        w.flush().await.expect("flush");
        assert_eq!(w.pending(), 0);
        let mut got = [0u8; 10];
        b.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"NOP\nRDY 1\n");
    }
}
