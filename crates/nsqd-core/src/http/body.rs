//! Streaming request bodies with the reference's size limits.
//!
//! The reference reads bodies through `io.LimitReader(max+1)` and decides from how much it
//! got; [`BodyStream`] gives handlers the same view while never holding more than the limit
//! in memory: they pull chunks or exact byte counts as the peer sends them. Whatever a
//! handler leaves unread is drained (up to [`DRAIN_LIMIT`]) before the answer, as Go's
//! server does, so a client still sending its body gets the answer instead of a reset.

use std::pin::Pin;

use bytes::{Buf, Bytes, BytesMut};
use nsq_http::axum::body::{Body, HttpBody};

/// How much of an unread body is discarded before answering (Go's
/// `maxPostHandlerReadBytes`).
pub const DRAIN_LIMIT: u64 = 256 << 10;

/// A request body read incrementally.
///
/// Invariant: `pending` holds bytes received but not yet handed out; `total` counts every
/// byte handed out so far.
pub struct BodyStream {
    body: Body,
    pending: Bytes,
    ended: bool,
    total: u64,
}

/// The connection failed while the body was being read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to read body - {0}")]
pub struct ReadError(pub String);

impl BodyStream {
    /// Takes over a request body.
    pub fn new(body: Body) -> BodyStream {
        BodyStream {
            body,
            pending: Bytes::new(),
            ended: false,
            total: 0,
        }
    }

    /// Bytes handed out so far.
    pub fn consumed(&self) -> u64 {
        self.total
    }

    /// The next piece of the body (of any non-zero size), or `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ReadError> {
        if !self.pending.is_empty() {
            let b = std::mem::take(&mut self.pending);
            self.total += b.len() as u64;
            return Ok(Some(b));
        }
        while !self.ended {
            let frame = std::future::poll_fn(|cx| Pin::new(&mut self.body).poll_frame(cx)).await;
            match frame {
                None => self.ended = true,
                Some(Err(e)) => return Err(ReadError(e.to_string())),
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data() {
                        if !data.is_empty() {
                            self.total += data.len() as u64;
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    /// Exactly `n` bytes, or `None` if the body ends first (like Go's `io.ReadFull`).
    pub async fn exact(&mut self, n: usize) -> Result<Option<Bytes>, ReadError> {
        if self.pending.len() >= n {
            self.total += n as u64;
            return Ok(Some(self.pending.split_to(n)));
        }
        let mut out = BytesMut::with_capacity(n);
        while out.len() < n {
            let Some(mut c) = self.chunk().await? else {
                return Ok(None);
            };
            let want = n - out.len();
            if c.len() > want {
                let rest = c.split_off(want);
                // Not handed out after all: give it back.
                self.total -= rest.len() as u64;
                self.pending = rest;
            }
            out.extend_from_slice(c.chunk());
        }
        Ok(Some(out.freeze()))
    }

    /// The whole body if it is at most `limit` bytes, `None` as soon as it is longer (the
    /// bytes read so far are dropped; the rest stays unread).
    pub async fn up_to(&mut self, limit: usize) -> Result<Option<Bytes>, ReadError> {
        let mut out = BytesMut::new();
        while let Some(c) = self.chunk().await? {
            if out.len() + c.len() > limit {
                return Ok(None);
            }
            out.extend_from_slice(&c);
        }
        Ok(Some(out.freeze()))
    }

    /// Reads and discards what is left of the body, up to `limit` more bytes, so the
    /// response can be read by a client still sending (Go's server does the same with up to
    /// 256 KiB of an unread body before it answers). Errors end the draining silently.
    pub async fn drain(&mut self, limit: u64) {
        let mut n = 0u64;
        while n < limit {
            match self.chunk().await {
                Ok(Some(c)) => n += c.len() as u64,
                _ => return,
            }
        }
    }

    /// A big-endian `i32` (Go's `binary.Read` into an int32), or `None` if the body ends.
    pub async fn read_i32(&mut self) -> Result<Option<i32>, ReadError> {
        Ok(self
            .exact(4)
            .await?
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exact_reads_and_leftovers() {
        let mut b = BodyStream::new(Body::from(&b"\x00\x00\x00\x02abcdef"[..]));
        assert_eq!(b.read_i32().await, Ok(Some(2)));
        assert_eq!(b.consumed(), 4);
        assert_eq!(b.exact(2).await, Ok(Some(Bytes::from_static(b"ab"))));
        assert_eq!(b.chunk().await, Ok(Some(Bytes::from_static(b"cdef"))));
        assert_eq!(b.consumed(), 10);
        assert_eq!(b.chunk().await, Ok(None));
        assert_eq!(b.exact(1).await, Ok(None));
    }

    #[tokio::test]
    async fn limited_reads() {
        let mut b = BodyStream::new(Body::from(&b"abcd"[..]));
        assert_eq!(b.up_to(4).await, Ok(Some(Bytes::from_static(b"abcd"))));
        let mut b = BodyStream::new(Body::from(&b"abcde"[..]));
        assert_eq!(b.up_to(4).await, Ok(None));
        b.drain(DRAIN_LIMIT).await;
        assert_eq!(b.chunk().await, Ok(None));
    }

    #[tokio::test]
    async fn short_body() {
        let mut b = BodyStream::new(Body::from(&b"\x00\x01"[..]));
        assert_eq!(b.read_i32().await, Ok(None));
    }
}
