//! Raw DEFLATE (RFC 1951, no zlib or gzip header) stream layers, as Go's `compress/flate`
//! speaks them.
//!
//! The writer compresses as data arrives and, on every flush, ends what it has with a sync
//! flush (an empty stored block `00 00 ff ff`) so the peer can decode everything sent so
//! far. The reader inflates straight into the caller's buffer, so a small compressed input
//! can never make it allocate more than that buffer (no decompression bomb), and it reports
//! EOF after the final block.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::drain;

/// Compressed bytes read from the peer per refill.
const IN_BUF: usize = 16 * 1024;
/// Compressed output held before a write waits for the socket.
const OUT_HIGH_WATER: usize = 64 * 1024;

fn corrupt(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("flate: {e}"))
}

/// Inflates a raw DEFLATE stream read from `inner`.
#[derive(Debug)]
pub struct DeflateReader<R> {
    inner: R,
    z: Decompress,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    done: bool,
}

impl<R> DeflateReader<R> {
    /// A reader at the start of a raw DEFLATE stream.
    pub fn new(inner: R) -> DeflateReader<R> {
        DeflateReader {
            inner,
            z: Decompress::new(false),
            input: vec![0; IN_BUF],
            start: 0,
            end: 0,
            eof: false,
            done: false,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for DeflateReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if this.done {
                return Poll::Ready(Ok(()));
            }
            if this.start < this.end || this.eof {
                let before_in = this.z.total_in();
                let before_out = this.z.total_out();
                let status = this
                    .z
                    .decompress(
                        &this.input[this.start..this.end],
                        buf.initialize_unfilled(),
                        FlushDecompress::None,
                    )
                    .map_err(corrupt)?;
                let consumed = (this.z.total_in() - before_in) as usize;
                let produced = (this.z.total_out() - before_out) as usize;
                this.start += consumed;
                buf.advance(produced);
                if status == Status::StreamEnd {
                    this.done = true;
                }
                if produced > 0 || this.done {
                    return Poll::Ready(Ok(()));
                }
                if this.eof && consumed == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "unexpected EOF",
                    )));
                }
                if consumed > 0 && this.start < this.end {
                    continue;
                }
            }
            // Need more input: compact, then read.
            if this.start > 0 {
                this.input.copy_within(this.start..this.end, 0);
                this.end -= this.start;
                this.start = 0;
            }
            if this.end == this.input.len() {
                // A full buffer the inflater made no progress on cannot happen with a
                // streaming inflater; treat it as corrupt rather than grow without bound.
                return Poll::Ready(Err(corrupt("no progress")));
            }
            let mut rb = ReadBuf::new(&mut this.input[this.end..]);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            let n = rb.filled().len();
            if n == 0 {
                this.eof = true;
            }
            this.end += n;
        }
    }
}

/// Deflates everything written into a raw DEFLATE stream on `inner`; every flush ends with
/// a sync flush and flushes `inner`.
#[derive(Debug)]
pub struct DeflateWriter<W> {
    inner: W,
    z: Compress,
    out: Vec<u8>,
    out_pos: usize,
    /// Input was compressed since the last sync flush.
    dirty: bool,
}

impl<W> DeflateWriter<W> {
    /// A writer at `level` (clamped to 0..=9).
    pub fn new(inner: W, level: u32) -> DeflateWriter<W> {
        DeflateWriter {
            inner,
            z: Compress::new(Compression::new(level.min(9)), false),
            out: Vec::with_capacity(OUT_HIGH_WATER),
            out_pos: 0,
            dirty: false,
        }
    }

    /// Runs the compressor over `input` (all of it) with `flush`, appending to `out`.
    fn run(&mut self, mut input: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            if self.out.capacity() - self.out.len() < 4096 {
                self.out.reserve(input.len() / 2 + 8192);
            }
            let before = self.z.total_in();
            self.z
                .compress_vec(input, &mut self.out, flush)
                .map_err(io::Error::other)?;
            let consumed = (self.z.total_in() - before) as usize;
            input = &input[consumed..];
            // Done once all input is in and the compressor left output space unused (it had
            // nothing more to say for this flush mode).
            if input.is_empty() && self.out.len() < self.out.capacity() {
                return Ok(());
            }
        }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for DeflateWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.out.len() - this.out_pos >= OUT_HIGH_WATER {
            ready!(drain(&mut this.inner, &mut this.out, &mut this.out_pos, cx))?;
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        this.run(buf, FlushCompress::None)?;
        this.dirty = true;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.dirty {
            this.run(&[], FlushCompress::Sync)?;
            this.dirty = false;
        }
        ready!(drain(&mut this.inner, &mut this.out, &mut this.out_pos, cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn every_flush_is_decodable_on_its_own() {
        rt().block_on(async {
            let mut w = DeflateWriter::new(Vec::new(), 6);
            let mut inflater = flate2::Decompress::new(false);
            let mut seen = 0;
            for i in 0..50u32 {
                let msg = format!("message number {i} ").repeat(i as usize + 1);
                w.write_all(msg.as_bytes()).await.expect("write");
                w.flush().await.expect("flush");
                assert!(w.inner.ends_with(&[0, 0, 0xff, 0xff]));
                let mut out = Vec::with_capacity(msg.len() + 64);
                inflater
                    .decompress_vec(&w.inner[seen..], &mut out, FlushDecompress::Sync)
                    .expect("inflate");
                seen = w.inner.len();
                assert_eq!(out, msg.as_bytes());
            }
            // a flush with nothing new writes nothing
            let before = w.inner.len();
            w.flush().await.expect("flush");
            assert_eq!(w.inner.len(), before);
        });
    }

    #[test]
    fn reader_round_trip_small_buffers() {
        rt().block_on(async {
            let data: Vec<u8> = (0..200_000u32)
                .map(|i| (i % 13) as u8 + (i / 5000) as u8)
                .collect();
            let mut w = DeflateWriter::new(Vec::new(), 1);
            w.write_all(&data).await.expect("write");
            w.flush().await.expect("flush");
            let stream = w.inner;
            let mut r = DeflateReader::new(&stream[..]);
            let mut out = Vec::new();
            let mut chunk = [0u8; 7];
            loop {
                match r.read(&mut chunk).await {
                    Ok(0) => break,
                    Ok(n) => out.extend_from_slice(&chunk[..n]),
                    // the stream has no final block: the inflater reports EOF as unexpected
                    Err(e) => {
                        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
                        break;
                    }
                }
            }
            assert_eq!(out, data);
        });
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        rt().block_on(async {
            for garbage in [
                &b"\xff\xff\xff\xff\xff\xff"[..],
                b"GARBAGE GARBAGE\n",
                b"\x07",
            ] {
                let mut r = DeflateReader::new(garbage);
                let mut out = Vec::new();
                assert!(r.read_to_end(&mut out).await.is_err());
            }
        });
    }

    #[test]
    fn final_block_is_eof() {
        rt().block_on(async {
            let mut c = Compress::new(Compression::new(6), false);
            let mut stream = Vec::with_capacity(128);
            c.compress_vec(b"hello", &mut stream, FlushCompress::Finish)
                .expect("compress");
            let mut r = DeflateReader::new(&stream[..]);
            let mut out = Vec::new();
            r.read_to_end(&mut out).await.expect("read");
            assert_eq!(out, b"hello");
        });
    }
}
