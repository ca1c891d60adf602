//! Snappy *framing format* stream layers (what Go's `snappy.NewReader`/`NewWriter` speak):
//! a stream identifier chunk `ff 06 00 00 "sNaPpY"`, then compressed (`0x00`) or
//! uncompressed (`0x01`) chunks of at most 64 KiB of data, each with the masked CRC-32C of
//! the uncompressed data.
//!
//! The reader needs the stream identifier first, verifies every checksum, rejects reserved
//! chunk types and oversized chunks, and never holds more than one chunk (≤ 64 KiB decoded)
//! in memory, so a peer cannot make it allocate more than that.
//! The writer emits the stream identifier once, then one or more chunks per flush.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::crc32c::masked;
use super::drain;

/// Largest amount of data in one chunk.
const MAX_BLOCK: usize = 65536;
/// Chunk header: type byte and 24-bit little-endian length.
const HEADER: usize = 4;
/// The stream identifier chunk.
const STREAM_ID: &[u8; 10] = b"\xff\x06\x00\x00sNaPpY";

fn max_chunk_len() -> usize {
    4 + snap::raw::max_compress_len(MAX_BLOCK)
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("snappy: {what}"))
}

/// Decodes a snappy framing stream read from `inner`.
#[derive(Debug)]
pub struct SnappyReader<R> {
    inner: R,
    /// Raw bytes from `inner` not yet decoded.
    raw: Vec<u8>,
    /// Decoded data of the current chunk, served from `pos`.
    decoded: Vec<u8>,
    pos: usize,
    seen_stream_id: bool,
    decoder: snap::raw::Decoder,
    eof: bool,
}

impl<R> SnappyReader<R> {
    /// A reader expecting a stream identifier as the first chunk.
    pub fn new(inner: R) -> SnappyReader<R> {
        SnappyReader {
            inner,
            raw: Vec::with_capacity(16 * 1024),
            decoded: Vec::new(),
            pos: 0,
            seen_stream_id: false,
            decoder: snap::raw::Decoder::new(),
            eof: false,
        }
    }

    /// Decodes one complete chunk at the front of `raw`, if there is one. `Ok(true)` when a
    /// chunk was consumed (data may or may not have been produced).
    fn decode_chunk(&mut self) -> io::Result<bool> {
        if self.raw.len() < HEADER {
            return Ok(false);
        }
        let kind = self.raw[0];
        let len = usize::from(self.raw[1])
            | usize::from(self.raw[2]) << 8
            | usize::from(self.raw[3]) << 16;
        if len > max_chunk_len() {
            return Err(corrupt("chunk too large"));
        }
        if self.raw.len() < HEADER + len {
            return Ok(false);
        }
        let body = &self.raw[HEADER..HEADER + len];
        if kind != 0xff && !self.seen_stream_id {
            return Err(corrupt("missing stream identifier"));
        }
        match kind {
            0xff => {
                if body != &STREAM_ID[HEADER..] {
                    return Err(corrupt("bad stream identifier"));
                }
                self.seen_stream_id = true;
            }
            0x00 | 0x01 => {
                if len < 4 {
                    return Err(corrupt("chunk too short"));
                }
                let crc = u32::from_le_bytes([body[0], body[1], body[2], body[3]]);
                let data = &body[4..];
                self.decoded.clear();
                self.pos = 0;
                if kind == 0x00 {
                    let n =
                        snap::raw::decompress_len(data).map_err(|_| corrupt("corrupt input"))?;
                    if n > MAX_BLOCK {
                        return Err(corrupt("block too large"));
                    }
                    self.decoded.resize(n, 0);
                    let got = self
                        .decoder
                        .decompress(data, &mut self.decoded)
                        .map_err(|_| corrupt("corrupt input"))?;
                    self.decoded.truncate(got);
                } else {
                    if data.len() > MAX_BLOCK {
                        return Err(corrupt("block too large"));
                    }
                    self.decoded.extend_from_slice(data);
                }
                if masked(&self.decoded) != crc {
                    self.decoded.clear();
                    return Err(corrupt("checksum mismatch"));
                }
            }
            0x02..=0x7f => return Err(corrupt("unsupported chunk type")),
            // 0x80..=0xfe: skippable chunks and padding
            _ => {}
        }
        self.raw.drain(..HEADER + len);
        Ok(true)
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for SnappyReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.pos < this.decoded.len() {
                let n = (this.decoded.len() - this.pos).min(buf.remaining());
                buf.put_slice(&this.decoded[this.pos..this.pos + n]);
                this.pos += n;
                return Poll::Ready(Ok(()));
            }
            if this.decode_chunk()? {
                continue;
            }
            if this.eof {
                if this.raw.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "unexpected EOF",
                )));
            }
            let start = this.raw.len();
            this.raw.resize(start + 16 * 1024, 0);
            let mut rb = ReadBuf::new(&mut this.raw[start..]);
            let res = Pin::new(&mut this.inner).poll_read(cx, &mut rb);
            let n = rb.filled().len();
            this.raw.truncate(start + n);
            ready!(res)?;
            if n == 0 {
                this.eof = true;
            }
        }
    }
}

/// Encodes everything written into a snappy framing stream on `inner`. Data is held until
/// 64 KiB accumulate or the writer is flushed; a flush emits it as one chunk and flushes
/// `inner`.
#[derive(Debug)]
pub struct SnappyWriter<W> {
    inner: W,
    /// Uncompressed data not yet framed (< 64 KiB).
    pending: Vec<u8>,
    /// Framed bytes not yet written to `inner`, from `out_pos`.
    out: Vec<u8>,
    out_pos: usize,
    wrote_stream_id: bool,
    encoder: snap::raw::Encoder,
}

impl<W> SnappyWriter<W> {
    /// A writer that starts the stream with the stream identifier.
    pub fn new(inner: W) -> SnappyWriter<W> {
        SnappyWriter {
            inner,
            pending: Vec::with_capacity(MAX_BLOCK),
            out: Vec::new(),
            out_pos: 0,
            wrote_stream_id: false,
            encoder: snap::raw::Encoder::new(),
        }
    }

    /// Frames `pending` as one chunk (compressed unless that saves less than 1/8, as Go's
    /// writer decides).
    fn frame_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if !self.wrote_stream_id {
            self.out.extend_from_slice(STREAM_ID);
            self.wrote_stream_id = true;
        }
        let crc = masked(&self.pending);
        let mut compressed = vec![0u8; snap::raw::max_compress_len(self.pending.len())];
        let n = self
            .encoder
            .compress(&self.pending, &mut compressed)
            .map_err(io::Error::other)?;
        let (kind, data) = if n >= self.pending.len() - self.pending.len() / 8 {
            (0x01u8, &self.pending[..])
        } else {
            (0x00u8, &compressed[..n])
        };
        let len = 4 + data.len();
        self.out
            .extend_from_slice(&[kind, len as u8, (len >> 8) as u8, (len >> 16) as u8]);
        self.out.extend_from_slice(&crc.to_le_bytes());
        self.out.extend_from_slice(data);
        self.pending.clear();
        Ok(())
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for SnappyWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.out.len() - this.out_pos >= MAX_BLOCK {
            ready!(drain(&mut this.inner, &mut this.out, &mut this.out_pos, cx))?;
        }
        let n = (MAX_BLOCK - this.pending.len()).min(buf.len());
        this.pending.extend_from_slice(&buf[..n]);
        if this.pending.len() == MAX_BLOCK {
            this.frame_pending()?;
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.frame_pending()?;
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

    fn encode(data: &[u8], flush_every: usize) -> Vec<u8> {
        rt().block_on(async {
            let mut w = SnappyWriter::new(Vec::new());
            for part in data.chunks(flush_every.max(1)) {
                w.write_all(part).await.expect("write");
                w.flush().await.expect("flush");
            }
            w.inner
        })
    }

    fn decode(stream: &[u8]) -> io::Result<Vec<u8>> {
        rt().block_on(async {
            let mut r = SnappyReader::new(stream);
            let mut out = Vec::new();
            r.read_to_end(&mut out).await.map(|_| out)
        })
    }

    #[test]
    fn round_trip_and_matches_snap_crate() {
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 997) as u8)
            .collect();
        for every in [1, 100, 65535, 65536, 65537, 300_000] {
            let part = &data[..every.min(100_000)];
            let s = encode(part, every);
            assert!(s.starts_with(STREAM_ID));
            assert_eq!(decode(&s).expect("decode"), part);
        }
        let stream = encode(&data, 70_000);
        assert_eq!(decode(&stream).expect("decode"), data);
        // the reference implementation of the format agrees
        let mut theirs = Vec::new();
        std::io::Read::read_to_end(&mut snap::read::FrameDecoder::new(&stream[..]), &mut theirs)
            .expect("snap decode");
        assert_eq!(theirs, data);
        let mut enc = snap::write::FrameEncoder::new(Vec::new());
        std::io::Write::write_all(&mut enc, &data).expect("snap encode");
        let theirs = enc.into_inner().expect("snap finish");
        assert_eq!(decode(&theirs).expect("decode snap's"), data);
    }

    #[test]
    fn rejects_bad_streams() {
        let good = encode(b"hello hello hello hello", 100);
        // no stream identifier
        assert!(decode(&good[10..]).is_err());
        // flipped payload byte -> checksum mismatch
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(decode(&bad).is_err());
        // truncated chunk
        assert!(decode(&good[..good.len() - 2]).is_err());
        // reserved unskippable chunk type
        let mut r = STREAM_ID.to_vec();
        r.extend_from_slice(&[0x02, 0, 0, 0]);
        assert!(decode(&r).is_err());
        // skippable chunk and padding are ignored
        let mut s = STREAM_ID.to_vec();
        s.extend_from_slice(&[0x80, 2, 0, 0, 9, 9, 0xfe, 0, 0, 0]);
        s.extend_from_slice(&good[10..]);
        assert_eq!(decode(&s).expect("skippable"), b"hello hello hello hello");
        // huge declared length
        let mut h = STREAM_ID.to_vec();
        h.extend_from_slice(&[0x00, 0xff, 0xff, 0xff]);
        assert!(decode(&h).is_err());
        // compressed block claiming more than 64 KiB
        let mut big = STREAM_ID.to_vec();
        let block = [0x80, 0x80, 0x08, 0x00]; // varint 131072, then garbage
        let len = 4 + block.len();
        big.extend_from_slice(&[0x00, len as u8, 0, 0, 0, 0, 0, 0]);
        big.extend_from_slice(&block);
        assert!(decode(&big).is_err());
        // garbage of every prefix length never panics
        for cut in 0..good.len() {
            let _ = decode(&good[..cut]);
        }
    }
}
